/*
 * Named sources: one snapshot whose root holds one directory per source
 * (files trees, database dumps streamed from their dump programs, SQLite
 * backups, command output), each run between its before and after hooks
 * and recorded in the manifest's sources, failed ones included.
 * doc/FORMAT.md "Snapshots" and coffer-snapshot(1).
 */
#ifndef COFFER_SOURCES_H
#define COFFER_SOURCES_H

#include <signal.h>
#include <stddef.h>

#include "err.h"
#include "snapshot/snapshot.h"

struct snap_source {
	const char *name; /* the subtree's name: a config NAME */
	const char *type; /* files postgres mysql sqlite command */
	/* files */
	const char *const *paths;
	size_t npaths;
	const char *const *exclude;
	size_t nexclude;
	int one_file_system;
	/* postgres, mysql */
	const char *database;
	const char *connection; /* postgres: conninfo.h's forms; may be NULL */
	int globals;            /* postgres: pg_dumpall --globals-only */
	const char *defaults_file; /* mysql: client option file; may be NULL */
	const char *path;          /* sqlite: the database file */
	const char *command;       /* command: a shell command line */
	const char *file_name;     /* command: the file it is stored as */
	int compression; /* zstd level for its data; 0: see SNAP_DB_LEVEL */
	/* hooks (shell command lines, may be NULL) */
	const char *before, *after;
	unsigned hook_timeout; /* seconds; 0: none */
};

/*
 * The zstd level database dumps (postgres, mysql, sqlite) get unless their
 * source or the command line says otherwise: dumps are text-like and
 * chunks of a changed dump rarely survive, so what a second snapshot adds
 * is decided by compression (bench/RESULTS.md, "Database case").
 */
#define SNAP_DB_LEVEL 6

/*
 * Snapshot the sources (n >= 1, distinct valid names) into r with o's
 * tags, cache, log and interrupt flag.  Each source failure is logged as
 * "source NAME failed: ..." and recorded; *nfailed counts them.  Returns 0
 * when the snapshot was saved (with the sources that worked), -1 when
 * not: every source failed, interrupted, or a repository error.
 */
int snap_sources(struct repo *r, const struct snap_opts *o,
    const struct snap_source *src, size_t n, struct manifest *m,
    size_t *nfailed, struct err *);

/*
 * Check a source before anything runs: a connection string libpq would
 * refuse or that holds a password (lib/conninfo.h), a dbname that
 * disagrees with database, names coffer cannot store.  ERR_USAGE naming
 * the source.
 */
int snap_source_check(const struct snap_source *, struct err *);

/*
 * Run a hook (a shell command line) with COFFER_HOOK (before/after),
 * COFFER_SOURCE, COFFER_JOB, COFFER_STATUS and COFFER_REPOSITORY in its
 * environment (NULL values are left out), within timeout seconds (0:
 * none).  -1 with e "WHICH hook: ..." when it fails, times out or is
 * interrupted (interrupted may be NULL: after hooks always run).
 */
struct snap_hook {
	const char *which; /* "before" or "after" */
	const char *command;
	const char *source, *job, *status, *repository;
	unsigned timeout;
	volatile sig_atomic_t *interrupted;
};
int snap_hook_run(const struct snap_hook *, struct err *);

#endif
