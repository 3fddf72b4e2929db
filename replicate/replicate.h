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
	double seconds;
};

/*
 * Copy what dst lacks from src: keys/, then config (only when dst has
 * none; when both have one they must be the same bytes, i.e. the same
 * repository, else ERR_USAGE and nothing is sent), then data/, index/,
 * snapshots/, each kind complete before the next starts.  Locks and
 * temp files are not copied; nothing on dst is ever removed or replaced
 * (files are published with STOR_NOREPLACE).  A file dst already has is
 * counted as present when its size matches (and, with verify, its hash).
 *
 * A source file whose SHA-256 is not its name, or a target file that
 * differs from the source, is reported through notice and not sent; the
 * run goes on, and at the end returns -1 with ERR_CORRUPT.  Any other
 * failure (network, no space, interrupted) stops the run at once with
 * that error; what was published stays, and a re-run sends the rest.
 * *stats is filled in either case.  dst may be NULL with dry_run: a
 * target that does not exist yet.
 */
int repl_run(struct stor *src, struct stor *dst, const struct repl_opts *,
    struct repl_stats *stats, struct err *);

#endif
