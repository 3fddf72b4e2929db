/*
 * Jobs: what one run of `coffer snapshot` takes, resolved once for the
 * command line and (later) the scheduler.  A [job NAME] of the config gives
 * its repository, its sources, its before and after hooks and their
 * timeout; ad-hoc sources (--source, --postgres, ..., paths) are added to
 * the same list.  snap_job_run runs the job's hooks around the snapshot.
 */
#ifndef COFFER_SNAP_JOB_H
#define COFFER_SNAP_JOB_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"
#include "snapshot/sources.h"

struct snap_job {
	const char *name;       /* the [job NAME]; NULL for ad-hoc sources */
	const char *repository; /* the job's repository = NAME; NULL: none */
	struct snap_source *sources;
	size_t nsources;
	const char *before, *after; /* the job's hooks; NULL: none */
	unsigned hook_timeout;      /* seconds, for both hooks; 0: none */
	char **owned;               /* strings the sources point into */
	size_t nowned;
};

/*
 * A new job with no sources and no hooks: name (not copied; may be NULL)
 * is what hooks see as COFFER_JOB.  Free with snap_job_free.
 */
struct snap_job *snap_job_new(const char *name);

/*
 * The [job name] of cfg as *out: its repository, each of its sources
 * (snap_job_add_source), its before and after hooks and its hook_timeout.
 * The job points into cfg, which must outlive it.  ERR_USAGE when cfg is
 * NULL or has no such job; a source's error as snap_job_add_source.
 */
int snap_job_resolve(const struct config *cfg, const char *name,
    struct snap_job **out, struct err *);

/*
 * Add the [source name] of cfg (pointing into cfg) to job.  ERR_USAGE
 * when cfg is NULL or has no such source; ERR_CONFIG for a postgres
 * method other than dump.
 */
int snap_job_add_source(struct snap_job *job, const struct config *cfg,
    const char *name, struct err *);

/*
 * Ad-hoc sources, as the options of `coffer snapshot` give them; the
 * strings are not copied.  A postgres source is named after the database
 * its libpq conninfo names (ERR_USAGE when it names none); an sqlite one
 * after its file without the extension ("state" of "/x/state.db"); a
 * files one "files".
 */
int snap_job_add_postgres(struct snap_job *job, const char *conninfo,
    struct err *);
void snap_job_add_mysql(struct snap_job *job, const char *database,
    const char *defaults_file);
void snap_job_add_sqlite(struct snap_job *job, const char *path);
void snap_job_add_command(struct snap_job *job, const char *command,
    const char *name);
void snap_job_add_files(struct snap_job *job, const char *const *paths,
    size_t npaths, const char *const *exclude, size_t nexclude,
    int one_file_system);

/*
 * Check job before anything runs: it has sources ("job NAME names no
 * sources"), each passes snap_source_check, no two share a name.
 * ERR_USAGE saying which.
 */
int snap_job_check(const struct snap_job *job, struct err *);

/*
 * Run job into r: its before hook (interruptible; when it fails, no
 * snapshot is taken and -1 is returned with "job NAME: before hook ..."),
 * then snap_sources with o, then its after hook, always, with
 * COFFER_STATUS "failed" when the snapshot or any source failed, "ok"
 * otherwise.  An after hook that fails is logged on o->log as a warning
 * and changes nothing.  Both hooks get COFFER_JOB and o->repository and
 * run within job->hook_timeout.  Returns as snap_sources does (*m and
 * *nfailed filled).
 */
int snap_job_run(struct repo *r, const struct snap_job *job,
    const struct snap_opts *o, struct manifest *m, size_t *nfailed,
    struct err *);

/* Free a job and what it owns; NULL is fine. */
void snap_job_free(struct snap_job *job);

#endif
