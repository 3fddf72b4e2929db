/*
 * Repository locks: shared for snapshot, restore and check, exclusive for
 * key changes and prune.  A lock is a small plaintext JSON file
 * locks/<64 hex> (doc/FORMAT.md, "Locks") naming host, process and times,
 * refreshed while held.  A lock whose process is provably gone is ignored
 * and removed; one that cannot be judged (another host) is stale after
 * its deadline by both our clock and the store's file times (so that a
 * wrong clock on either side never makes a live lock stale), and then
 * reported with the fix, never broken silently.
 */
#ifndef COFFER_LOCK_H
#define COFFER_LOCK_H

#include <signal.h>
#include <time.h>

#include "err.h"
#include "store/store.h"

enum lock_mode {
	LOCK_SHARED = 0,    /* any number at once, no exclusive */
	LOCK_EXCLUSIVE = 1, /* no other lock at all */
};

enum lock_state {
	LOCK_LIVE = 0,  /* its process runs, or cannot be judged and the
	                   deadline has not passed: it counts */
	LOCK_STALE,     /* cannot be judged (another host or PID namespace)
	                   and past its deadline by our clock and by the
	                   store's time of its file: still counts, and the
	                   conflict message says how to remove it */
	LOCK_DEAD,      /* same host, process provably gone: ignored and
	                   removed by lock_acquire */
	LOCK_UNREADABLE /* not a lock this version can read: blocks
	                   exclusive locks only, never removed unasked */
};

struct lock;

#define LOCK_STALE_AFTER_DEFAULT 1800  /* seconds */
#define LOCK_FILE_MAX            65536 /* larger files are unreadable */

struct lock_opts {
	/* What the holder does ("snapshot", "prune"); NULL = "coffer". */
	const char *command;
	/*
	 * Seconds after its last refresh at which a lock that cannot be
	 * judged counts as stale; the holder refreshes every third of it.
	 * 0 = LOCK_STALE_AFTER_DEFAULT.
	 */
	unsigned stale_after;
	/* Seconds to wait for conflicting locks to go; 0 = fail at once. */
	unsigned wait;
	/* This host's name; NULL = gethostname().  For tests. */
	const char *hostname;
	/* The wall clock for lock times; NULL = time().  For tests. */
	time_t (*now)(void);
	/*
	 * Told one line for each thing worth a log line that is not an
	 * error: a dead lock removed, an unreadable lock ignored, a wait
	 * begun.  NULL = say nothing.
	 */
	void (*notice)(void *arg, const char *msg);
	void *notice_arg;
	/* Waiting stops with ERR_INTERRUPTED once *interrupted; NULL = never.
	 */
	volatile sig_atomic_t *interrupted;
	/*
	 * Told, for a process that may have to end abruptly (xmalloc.h's
	 * out of memory) and then still remove its lock file: held(arg,
	 * lk, st, name) each time lk's current file in st becomes name
	 * (written, or written again by a refresh), and with name NULL
	 * once lk no longer has one (removed, released, freed).  st is the
	 * store lock_acquire was given.  NULL = nobody is told.
	 */
	void (*held)(void *arg, const struct lock *lk, struct stor *st,
	    const char *name);
	void *held_arg;
};

/* What lock_list reports about one lock file. */
struct lock_info {
	const char *name; /* "locks/<id>" */
	enum lock_state state;
	const char *reason; /* why dead, stale or unreadable; else NULL */
	/* The rest is zero / NULL when state is LOCK_UNREADABLE. */
	enum lock_mode mode;
	const char *hostname;
	const char *username;
	const char *command;
	long pid;
	time_t created;
	time_t refreshed;
	time_t deadline; /* refreshed + stale_after */
};

struct lock;

/*
 * Take a lock of the given mode on the repository in st (opts may be
 * NULL for defaults).  Writes our lock file, then reads every other lock:
 * a live or stale exclusive lock conflicts with anything, a live or stale
 * shared lock with an exclusive request; an unreadable one with an
 * exclusive request.  Dead locks found on the way are removed (a notice
 * each).  On conflict our file is removed and, with opts->wait, the
 * attempt repeated with backoff and jitter until the wait is over; then
 * ERR_LOCKED with one line naming the holder (mode, command, pid, host,
 * user, since when) and, for a stale or unreadable lock, the command that
 * removes it.  Two processes racing may both fail; they never both win
 * incompatible locks.  A process never upgrades: holding shared, asking
 * for exclusive conflicts with itself.  st must outlive the lock.  Every
 * failure carries ERR_F_LOCK, so that a caller can tell a lock it could
 * not take (say, a read-only repository) from its own errors.
 */
int lock_acquire(struct stor *st, enum lock_mode, const struct lock_opts *,
    struct lock **out, struct err *);

/* True when a third of stale_after has passed since the last refresh. */
int lock_refresh_due(const struct lock *);

/*
 * Keep the lock fresh: when due, write it again under a new id, then
 * remove the old file (lock files are written once).  Does nothing (no
 * I/O) when not due, so it is fine to call between any two packs.  Fails
 * with ERR_LOCKED if our lock file was removed by someone else (an admin's
 * unlock --remove-stale): the lock is lost, and the caller must stop.  A
 * failed write keeps the old file, and the lock, for a later try.
 */
int lock_refresh(struct lock *, struct err *);

/*
 * Remove our lock file (and any earlier one a refresh could not remove).
 * After success the lock is no longer held (but still owes lock_free).
 * On failure, what could not be removed is kept; lock_free retries.
 */
int lock_release(struct lock *, struct err *);

/*
 * Release (best effort, errors dropped) if still held, and free.  In a
 * child forked while the lock was held, only frees: the lock stays with
 * the process that took it (refresh and release fail there).
 */
void lock_free(struct lock *);

/* "locks/<id>" of the file that currently holds the lock. */
const char *lock_name(const struct lock *);

/*
 * Read every lock file and call fn with what it says and its state as
 * seen from here (opts supply hostname and clock; may be NULL).  Removes
 * nothing of others'; to read the store's clock, when a lock looks stale
 * by ours, it writes a lock file of its own and removes it at once.  Stops at
 * fn's first non-zero result and returns it; -1 on a read error.  The strings
 * in the info live until fn returns.
 */
int lock_list(struct stor *st, const struct lock_opts *,
    int (*fn)(void *, const struct lock_info *), void *arg, struct err *);

/*
 * The admin's "unlock --remove-stale": remove every lock that is dead,
 * stale or unreadable, with a notice naming each, and count them in
 * *removed.  Live locks stay.  Returns -1 on the first failure (the count
 * says how many went before it).
 */
int lock_remove_stale(struct stor *st, const struct lock_opts *,
    unsigned *removed, struct err *);

/* "shared" / "exclusive". */
const char *lock_mode_name(enum lock_mode);

/* "live", "stale", "dead", "unreadable". */
const char *lock_state_name(enum lock_state);

#endif
