/*
 * The Prometheus text file for node_exporter's textfile collector
 * ([global] metrics_file): rebuilt whole from the state database
 * (state.h) and written atomically (temp file + rename in its directory,
 * 0644) after every step of a job run and at its end, so that it survives
 * restarts and a dead scheduler shows as a timestamp that stops moving.
 *
 * The families, in this order, each with HELP and TYPE (all gauges):
 *   coffer_job_last_success_timestamp_seconds{job}  end of the newest run
 *       that ended ok (moves only on success)
 *   coffer_job_last_run_timestamp_seconds{job}      start of the newest run
 *   coffer_job_last_status{job,step}   1 ok, 0 failed or skipped, 2
 *       skipped because the repository stayed locked for the job's
 *       lock_wait (metrics_status_value), in the job's newest run (or
 *       prune run, for step "prune") that recorded the step (a step the
 *       job does not configure is not recorded, so it has no series)
 *   coffer_job_duration_seconds{job,step}   in the newest run the step ran
 *   coffer_snapshot_added_bytes{job}   bytes the newest successful
 *       snapshot step stored (new, after deduplication and compression)
 *   coffer_repository_size_bytes{repository}  bytes of its files (config,
 *       keys/, data/, index/, snapshots/, forgotten/; not locks or temp
 *       files), as measured after the last step that changed it
 *   coffer_repository_snapshots{repository}   files under snapshots/
 *   coffer_replicate_lag_seconds{job}  T_src - T_dst: T_src the time the
 *       newest snapshot of the job's repository was stored there (its
 *       file's modification time), T_dst that of the newest of those
 *       snapshots the replicate target held, as of the job's last
 *       replicate step; 0 when the target is up to date, +Inf when it
 *       holds none of them.
 *   coffer_drill_last_success_timestamp_seconds{drill}  end of the newest
 *       drill run that passed (moves only on success; 0: none)
 *   coffer_drill_last_status{drill}   1 the newest drill run passed, 0 it
 *       failed
 *   coffer_drill_rto_seconds{drill}   the RTO the newest run measured
 *       (from drill start to validated)
 *   coffer_drill_rpo_seconds{drill}   the RPO the newest run measured
 *       (drill start minus the restored snapshot's consistency time)
 * Jobs are those of the config that have runs, drills likewise;
 * repositories those of the config that were measured.  The file is also
 * rewritten after every drill run (drill_record).  Series are sorted by their
 * label values.
 */
#ifndef COFFER_SCHED_METRICS_H
#define COFFER_SCHED_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "scheduler/job.h"

struct config;
struct log;
struct state;

enum metrics_family {
	METRICS_JOB_LAST_SUCCESS = 0, /* {job} */
	METRICS_JOB_LAST_RUN,         /* {job} */
	METRICS_JOB_LAST_STATUS,      /* {job,step} */
	METRICS_JOB_DURATION,         /* {job,step} */
	METRICS_SNAPSHOT_ADDED_BYTES, /* {job} */
	METRICS_REPOSITORY_SIZE,      /* {repository} */
	METRICS_REPOSITORY_SNAPSHOTS, /* {repository} */
	METRICS_REPLICATE_LAG,        /* {job} */
	METRICS_DRILL_LAST_SUCCESS,   /* {drill} */
	METRICS_DRILL_LAST_STATUS,    /* {drill} */
	METRICS_DRILL_RTO,            /* {drill} */
	METRICS_DRILL_RPO,            /* {drill} */
	METRICS_NFAMILIES
};

/* A set of samples, by family and label values. */
struct metrics_set;

struct metrics_set *metrics_set_new(void);
void metrics_set_free(struct metrics_set *); /* NULL is fine */

/*
 * Set the sample of family fam with label values l1 (and l2 for the
 * families with two labels; else NULL) to v, replacing the one there.
 * The strings are copied.
 */
void metrics_set_put(struct metrics_set *, enum metrics_family fam,
    const char *l1, const char *l2, double v);

/*
 * The exposition text (Prometheus text format 0.0.4) of s: a new string,
 * *len its length.  Every family has its HELP and TYPE lines, those with
 * samples their samples, sorted by label values (bytes, in order);
 * label values escaped (backslash, double quote, newline), integral
 * values printed as integers, others with 9 significant digits, +Inf as
 * "+Inf".
 */
char *metrics_render(const struct metrics_set *s, size_t *len);

/*
 * What a step changed, measured in the worker after it (metrics_probe)
 * and handed to the parent with the step's result.  Fixed size: it
 * travels in the job's pipe records.
 */
#define METRICS_S_REPO   0x1 /* repo_size, repo_snapshots */
#define METRICS_S_TARGET 0x2 /* target_size, target_snapshots */
#define METRICS_S_SRC    0x4 /* src_newest */
#define METRICS_S_DST    0x8 /* dst_newest */
struct metrics_sample {
	unsigned what; /* METRICS_S_* */
	uint64_t repo_size, repo_snapshots;
	uint64_t target_size, target_snapshots;
	int64_t src_newest; /* Unix seconds; -1: no snapshot */
	int64_t dst_newest; /* -1: the target holds none of them */
};

/*
 * In the worker, after step s of job name ran: when cfg sets
 * metrics_file, measure through o's open_store what s changed: after
 * snapshot and forget the job's repository, after replicate the target
 * and both sides' newest snapshot.  What cannot be measured is left out
 * of *out (and logged as a warning); never fails.
 */
void metrics_probe(const struct config *cfg, const char *name, enum job_step s,
    const struct job_opts *o, struct metrics_sample *out);

/*
 * The state database's picture into s: the runs of the jobs of cfg, the
 * facts of its repositories (state.h).
 */
int metrics_from_state(struct state *st, const struct config *cfg,
    struct metrics_set *s, struct err *e);

/* coffer_job_last_status's values. */
#define METRICS_STATUS_FAILED 0 /* failed, or skipped after a failure */
#define METRICS_STATUS_OK     1
#define METRICS_STATUS_LOCKED 2 /* skipped: the repository stayed locked */

/* The value for a step recorded with status and error_class (state.h). */
int metrics_status_value(const char *status, const char *error_class);

/*
 * Lay the running job's result over s: the steps up to and including
 * upto (the ones decided), last_run res->started, and when final (the
 * run has ended) last_success res->ended if it succeeded; a prune run
 * (res->prune) and an ended run skipped as locked move neither.  For a state
 * database that has not caught up (a step mid-run, or a failed record).
 */
void metrics_overlay(struct metrics_set *s, const char *job,
    const struct job_result *res, int upto, int final);

/*
 * Write the file: metrics_from_state, metrics_overlay (when res is not
 * NULL), then afile_write_all(path, 0644).  The path is cfg's
 * metrics_file; nothing to do without one.
 */
int metrics_write(const struct config *cfg, struct state *st, const char *job,
    const struct job_result *res, int upto, int final, struct err *e);

/*
 * The job runner's calls (scheduler/job.c), in the parent, for the run
 * of job in cfg recorded in st: after step s ended, record sample's facts
 * and rewrite the file; at the end of the run (recorded), rewrite it.  A
 * failure is a warning in log, never the job's.  Nothing happens when cfg
 * sets no metrics_file.
 */
struct metrics_hook {
	const struct config *cfg;
	struct state *st;
	const char *job;
	struct log *log;
};
void metrics_step(const struct metrics_hook *, const struct job_result *res,
    enum job_step s, const struct metrics_sample *sample);
void metrics_end(const struct metrics_hook *, const struct job_result *res);

#endif
