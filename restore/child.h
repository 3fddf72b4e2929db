/*
 * Child programs for database restores (pg_restore, psql, mariadb): run
 * from an argv array with posix_spawnp (no shell), secrets only in the
 * environment it is given, standard input a pipe the caller feeds, and
 * standard error read on a thread so that the child never blocks on it,
 * each line handed to a callback and the last ones kept for the message.
 */
#ifndef COFFER_RESTORE_CHILD_H
#define COFFER_RESTORE_CHILD_H

#include <signal.h>
#include <stddef.h>

#include "err.h"

struct rst_child;

/* Where a child's stdin or stdout goes, besides a descriptor of ours. */
#define RST_CHILD_NULL (-2) /* /dev/null */
#define RST_CHILD_PIPE (-3) /* a pipe: rst_child_in / rst_child_out */

struct rst_child_spec {
	/* argv[0] is looked up in PATH; NULL-terminated. */
	const char *const *argv;
	/* "NAME=value" set in the child's environment (NULL-terminated, or
	 * NULL); the rest of ours is inherited. */
	const char *const *env;
	int in, out; /* RST_CHILD_NULL, RST_CHILD_PIPE or a descriptor */
	/* Each line the child writes to stderr, on the reader thread. */
	void (*line)(void *arg, const char *line);
	void *line_arg;
};

/*
 * Start the child.  A program that is not installed is ERR_IO with
 * sys_errno ENOENT, naming it.
 */
int rst_child_start(const struct rst_child_spec *, struct rst_child **out,
    struct err *);

/* The write end of its stdin / read end of its stdout (RST_CHILD_PIPE),
 * or -1. */
int rst_child_in(const struct rst_child *);
int rst_child_out(const struct rst_child *);

/* Close our end of its stdin: the child sees the end of its input. */
void rst_child_close_in(struct rst_child *);

/*
 * Wait for the child to end; *status is its exit status, or 128 + the
 * signal that killed it.  Once *interrupted is set (may be NULL) the
 * child is killed and the wait ends with ERR_INTERRUPTED.
 */
int rst_child_wait(struct rst_child *, volatile sig_atomic_t *interrupted,
    int *status, struct err *);

/* Kill the child (SIGKILL) and reap it; nothing if it has ended. */
void rst_child_kill(struct rst_child *);

/*
 * What the child said last, for a message: its last stderr line that
 * reports an error ("error:", "ERROR", "FATAL"), else its last line, or
 * "" (valid until rst_child_free; after rst_child_wait).
 */
const char *rst_child_tail(const struct rst_child *);

/* "NAME exited with status N: <tail>" (ERR_IO); returns -1. */
int rst_child_failed(const struct rst_child *, int status, struct err *);

/* Kill (if still running), reap and free; NULL is fine. */
void rst_child_free(struct rst_child *);

/* True if prog is an executable file in PATH. */
int rst_child_have(const char *prog);

#endif
