/*
 * Repository-to-repository copy without the key: send the files the
 * target lacks, in an order that keeps the target a valid repository at
 * every moment, checking each against its SHA-256 name before it leaves.
 */
#ifndef COFFER_REPLICATE_H
#define COFFER_REPLICATE_H

#include <signal.h>
#include <stdint.h>

#include "err.h"

struct config;
struct stor;
struct lock;
struct progress;

#define REPL_JOBS_DEFAULT 4 /* files in flight at once */
#define REPL_JOBS_MAX     64

struct repl_opts {
	int jobs;    /* parallel transfers; 0: REPL_JOBS_DEFAULT */
	int dry_run; /* list and count, send nothing */
	int verify;  /* read back every file the target already has, hash it */
	/* Each file that would be sent, in dry-run mode (may be NULL). */
	void (*listed)(void *, const char *name, uint64_t size);
	/* One line per problem that does not stop the run (may be NULL). */
	void (*notice)(void *, const char *msg);
	void *arg;                 /* for listed and notice */
	struct progress *progress; /* bytes sent; may be NULL */
	struct lock *src_lock; /* refreshed while the run lasts; may be NULL */
	volatile sig_atomic_t *interrupted; /* may be NULL */
};

struct repl_stats {
	uint64_t files_sent, bytes_sent;       /* or would be, with dry_run */
	uint64_t files_present, bytes_present; /* already on the target */
	uint64_t files_rotten;   /* source files whose hash is not their name */
	uint64_t files_mismatch; /* target files that differ from the source */
	uint64_t files_skipped;  /* source files that are no repository file */
	uint64_t files_verified; /* target files read back with verify */
	uint64_t files_gone;     /* the target removed them on purpose */
	int config_sent;         /* the target got its config in this run */
	int refused;             /* the configs differ: nothing was done */
	double seconds;
};

/*
 * Copy what dst lacks from src: keys/, then config (only when dst has
 * none), then data/, index/, snapshots/, log/ (the operations log), each
 * kind complete before the next starts.  When both have a config they
 * must be the same bytes, else nothing is sent and stats->refused is set:
 * ERR_CORRUPT when the two share a repository file (dst is a copy whose
 * config was replaced), ERR_USAGE when not (another repository).  Locks
 * and temp files are not copied; nothing on dst is ever removed or
 * replaced (files are published with STOR_NOREPLACE).  What dst removed
 * on purpose stays away (counted in files_gone): a snapshot named in its
 * gone/ or forgotten/ always, a pack or index file named in gone/ only
 * while no other index file or snapshot is sent (doc/FORMAT.md, "Gone").
 * A file dst already has is counted as present when its size matches
 * (and, with verify, its hash).
 *
 * Each file is streamed (stor_put_stream): a worker holds a buffer of
 * STOR_STREAM_BUF bytes, and the file's SHA-256 is checked against its
 * name before dst publishes it.  A source file whose SHA-256 is not its
 * name, or that is larger than its kind can be (KEY_FILE_MAX, a pack's
 * 4 GiB - 1, REPO_FILE_MAX for index files, snapshots and log records), or
 * a target file that differs from the source, is reported through notice
 * and not sent; the run goes on, and at the end returns -1 with
 * ERR_CORRUPT.  Any other failure (network, no space, interrupted) stops
 * the run at once with that error; what was published stays, and a
 * re-run sends the rest.
 * *stats is filled in either case.  dst may be NULL with dry_run: a
 * target that does not exist yet.
 */
int repl_run(struct stor *src, struct stor *dst, const struct repl_opts *,
    struct repl_stats *stats, struct err *);

/*
 * Compare the config file of st with that of ref, a repository st should
 * be a copy of, byte for byte (a config is sealed and written once, so a
 * copy has the same bytes).  0 when equal; -1 with ERR_CORRUPT when they
 * differ (the message says how to put ref's back), ERR_NOREPO when either
 * has none, or the error of reading one.
 */
int repl_config_compare(struct stor *st, struct stor *ref, struct err *);

/*
 * Where `coffer replicate` copies from and to (replicate/job.c), given
 * name (the NAME or --to, never NULL), from (--from, or NULL) and the
 * config (may be NULL):
 *  - name is a [job] and no [repository] (and from is NULL): from its
 *    repository to its replicate (ERR_USAGE when it has none);
 *  - else to name, from from or, when NULL, from the repository of the
 *    jobs whose replicate = name (ERR_USAGE when none has it, or they
 *    name different repositories).
 * ERR_USAGE too when the two are the same.  *fromp and *top point into
 * the config or the arguments; both NULL on failure.
 */
int repl_job_resolve(const struct config *cfg, const char *name,
    const char *from, const char **fromp, const char **top, struct err *);

/*
 * How many files `coffer replicate` keeps in flight when -j is not given
 * (replicate/job.c): the larger transfers = N of the two sides that are
 * the NAME of an sftp:// [repository NAME] in cfg (each transfer is an
 * SSH session; more would only wait, each holding a pack in memory), else
 * 0, the engine's default (repl_opts.jobs).  A path, a URL, or a name the
 * config lacks counts for nothing here.  cfg may be NULL.
 */
int repl_jobs_default(const struct config *cfg, const char *from,
    const char *to);

#endif
