/*
 * The scheduler's state: a SQLite database, state.db in the state
 * directory, holding every job run and its steps (coffer scheduler
 * history).  WAL mode with a busy timeout, so that two coffer processes
 * can share it; each write is one transaction, so a crash leaves either
 * the whole write or none of it.  The schema's version is the database's
 * user_version: 1 had runs and steps; 2 adds to each run the due time it
 * ran for (slot), who ran it (pid, the host's boot id, the process's start
 * time: to tell a run whose process died) and a run's own error class and
 * message (a skipped or crashed run has no steps); 3 adds each run's kind
 * ("job", or "drill": a restore drill, its stages recorded as steps) and
 * what a drill measured (RTO, RPO, the snapshot and its consistency
 * time); 4 keeps every measured fact over time (fact_history: a
 * repository's size after each step that changed it), for coffer report.
 * An older database is migrated in place when opened (ALTER TABLE, one
 * transaction).  A job and a drill may share a name: every query about a
 * job looks only at runs of kind "job".  A job's prune runs (its
 * prune_schedule: scheduler/job.h) are of kind "prune", under the job's
 * name; state_running and state_steps_latest see them with the job's, the
 * rest looks at them only when asked by kind.
 */
#ifndef COFFER_STATE_H
#define COFFER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct config;
struct state;

#define STATE_SCHEMA_VERSION 4
#define STATE_FILE           "state.db"

/* One step of a run, as recorded. */
struct state_step {
	const char *step;        /* "snapshot", "forget", "replicate", "check",
	                            "prune" */
	const char *status;      /* "ok", "failed", "skipped" */
	double duration;         /* seconds */
	const char *error_class; /* err_class_name, "timeout"; NULL: none */
	const char *message;     /* one line; NULL: none */
	uint64_t bytes;          /* bytes added (snapshot: stored; replicate:
	                            sent; check: read) */
};

/* One run, as recorded. */
struct state_run {
	int64_t id;
	const char *job;
	int64_t started, ended;  /* Unix seconds; ended 0: never ended (the
	                            run is still going or its process died) */
	const char *status;      /* "running", "ok", "failed", "skipped" */
	const char *trigger;     /* "manual", "schedule" */
	int64_t slot;            /* the due time it ran for; 0: none (manual) */
	int64_t pid;             /* the process running it; 0: not known */
	const char *boot_id;     /* the host's boot id then; NULL: not known */
	int64_t pid_start;       /* that process's start (clock ticks after
	                            boot, /proc/PID/stat); 0: not known */
	const char *error_class; /* the run's own: "crashed"; NULL: none */
	const char *message;     /* the run's own: why it was skipped, what
	                            is known of a crash; NULL: none */
	const char *kind;        /* "job" (NULL when adding: "job"), "drill",
	                            "prune" */
	/* A drill's measurements: */
	int has_rto, has_rpo;
	double rto;           /* seconds from start to validated */
	int64_t rpo;          /* seconds: start - consistent */
	const char *snapshot; /* the snapshot restored; NULL: none */
	int64_t consistent;   /* its consistency time; 0: none */
};

/*
 * The state directory: [global] state_dir when the file sets it (cfg may
 * be NULL), else /var/lib/coffer for root, else $XDG_STATE_HOME/coffer,
 * else ~/.local/state/coffer.  A new string; NULL when none can be told
 * (no HOME).
 */
char *state_dir_default(const struct config *cfg);

/*
 * Open (creating dir 0700 and the database 0600 when missing) the state
 * database in dir into *out.  ERR_IO naming the path when it cannot be
 * made or opened; ERR_CORRUPT when its schema is newer than this coffer
 * knows.
 */
int state_open(const char *dir, struct state **out, struct err *);

/* mkdir -p dir, each directory it makes mode 0700. */
int state_mkdir(const char *dir, struct err *e);

/* Close; NULL is fine. */
void state_close(struct state *);

/* Record the start of a run of job: status "running"; *id its id. */
int state_run_begin(struct state *, const char *job, int64_t started,
    const char *trigger, int64_t *id, struct err *);

/*
 * Record a run as run says (job, started, status, trigger, slot, pid,
 * boot_id, pid_start, error_class, message; ended when not 0); *id its
 * id.  For a run that starts ("running") or one that never ran
 * ("skipped", ended = started).
 */
int state_run_add(struct state *, const struct state_run *run, int64_t *id,
    struct err *);

/*
 * The runs of job (NULL: every job), of kind "job" or "prune", still
 * marked "running", oldest first,
 * into *runs (*n of them; free with state_runs_free).  Their strings are
 * copies.
 */
int state_running(struct state *, const char *job, struct state_run **runs,
    size_t *n, struct err *);
/* The same for the runs of kind ("job", which takes "prune" too; "drill"). */
int state_running_kind(struct state *, const char *kind, const char *job,
    struct state_run **runs, size_t *n, struct err *);
void state_runs_free(struct state_run *runs, size_t n);

/*
 * Mark run id, if it is still "running", "failed" with error class
 * "crashed" and message: its process died without recording its end.
 * *changed (may be NULL) is 1 if it was, 0 if the run had ended meanwhile.
 */
int state_run_crashed(struct state *, int64_t id, const char *message,
    int *changed, struct err *);

/*
 * Record a whole run (one that has ended: a drill's) with its n steps in
 * one transaction; *id its id.
 */
int state_run_record(struct state *, const struct state_run *run,
    const struct state_step *steps, size_t n, int64_t *id, struct err *);

/*
 * Record the end of run run->id, recorded "running" before (a drill's):
 * its started, ended, status, error_class, message and measurements as
 * run says, and its n steps, in one transaction.
 */
int state_run_finish(struct state *, const struct state_run *run,
    const struct state_step *steps, size_t n, struct err *);

/* What the scheduler needs of a job's past. */
struct state_summary {
	int64_t last_start;       /* the latest start of an ended run ("ok" or
	                             "failed"); 0: none */
	int64_t last_ok;          /* the latest start of an "ok" run; 0: none */
	int64_t last_snapshot_ok; /* the latest start of a run whose
	                             snapshot step was ok; 0: none */
	int64_t last_id; /* the latest run that was not skipped; 0: none */
	int64_t last_ok_consistent; /* the consistency time recorded by the
	                               latest "ok" run (drills); 0: none */
};

/* The summary of job's runs into *out. */
int state_summary(struct state *, const char *job, struct state_summary *out,
    struct err *);

/* The same for the runs of kind ("job", "drill") called name. */
int state_summary_kind(struct state *, const char *kind, const char *name,
    struct state_summary *out, struct err *);

/* Is a skipped run of job recorded for the due time slot?  *yes. */
int state_skip_recorded(struct state *, const char *job, int64_t slot, int *yes,
    struct err *);

/* The same for the runs of kind called name. */
int state_skip_recorded_kind(struct state *, const char *kind, const char *name,
    int64_t slot, int *yes, struct err *);

/*
 * For the metrics file: for each drill with an ended run ("ok" or
 * "failed"), by name, what its newest runs say.
 */
struct state_drill_latest {
	const char *drill;
	int64_t last_start;   /* start of the newest ended run */
	int last_ok;          /* that run was "ok" */
	int64_t last_success; /* end of the newest "ok" run; 0: none */
	int has_rto, has_rpo; /* of the newest run that measured them */
	double rto;
	int64_t rpo;
};
typedef int (*state_drill_fn)(void *arg, const struct state_drill_latest *,
    struct err *e);
int state_drills_latest(struct state *, state_drill_fn fn, void *arg,
    struct err *);

/*
 * Run id to fn, as state_history hands runs over (with its steps); fn is
 * not called when there is no such run.
 */
typedef int (*state_run_fn)(void *arg, const struct state_run *,
    const struct state_step *steps, size_t nsteps, struct err *e);
int state_run_get(struct state *, int64_t id, state_run_fn fn, void *arg,
    struct err *);

/*
 * Record the end of run id: its status and its n steps, in one
 * transaction.
 */
int state_run_end(struct state *, int64_t id, int64_t ended, const char *status,
    const struct state_step *steps, size_t n, struct err *);

/*
 * How many runs of job have a step named step that was not skipped: the
 * counter the check step's rotating slice is chosen from.
 */
int state_step_count(struct state *, const char *job, const char *step,
    uint64_t *n, struct err *);

/*
 * Each run started at or after since (Unix seconds; 0: all), of job (NULL:
 * every job), oldest first, to fn with its steps in order.  fn returns 0
 * to go on, -1 (with e filled) to stop, which the call returns.
 */
int state_history(struct state *, const char *job, int64_t since,
    state_run_fn fn, void *arg, struct err *);

/*
 * For the metrics file (scheduler/metrics.h).  fn(arg, job, last_run,
 * last_success, e) for each job with runs, by name: last_run the start of
 * its newest run that is running or ended ("running", "ok", "failed"),
 * last_success the end of its newest run that ended "ok" (0: none).  fn
 * returns 0 to go on, -1 to stop, which the call returns.
 */
typedef int (*state_job_fn)(void *arg, const char *job, int64_t last_run,
    int64_t last_success, struct err *e);
int state_jobs_latest(struct state *, state_job_fn fn, void *arg, struct err *);

/* Which rows state_steps_latest looks at. */
#define STATE_LATEST_ANY 0 /* any status */
#define STATE_LATEST_RAN 1 /* not "skipped" */
#define STATE_LATEST_OK  2 /* "ok" */

/*
 * For each job and step name, by job then step: the step's row (of the
 * kind which says) in the newest run of the job (of kind "job" or
 * "prune") that ended ("ok", "failed", or "skipped": a run skipped as
 * locked records its steps) and has one, to fn(arg, job, step, e).  fn returns
 * 0 to go on, -1 to stop, which the call returns.
 */
typedef int (*state_step_fn)(void *arg, const char *job,
    const struct state_step *step, struct err *e);
int state_steps_latest(struct state *, int which, state_step_fn fn, void *arg,
    struct err *);

/*
 * Facts the metrics file keeps between runs (a repository's size, a
 * job's replication times): value under (kind, name, key), replacing the
 * one there, with when it was measured.  Kept in a table of their own,
 * metrics_facts, made on first use; the same write (one transaction)
 * appends it to fact_history, which keeps every value.
 */
int state_fact_set(struct state *, const char *kind, const char *name,
    const char *key, int64_t value, int64_t measured, struct err *);

/* Each fact of kind, by name then key, to fn; fn as above. */
typedef int (*state_fact_fn)(void *arg, const char *name, const char *key,
    int64_t value, struct err *e);
int state_facts(struct state *, const char *kind, state_fact_fn fn, void *arg,
    struct err *);

/*
 * The values of key among the facts of kind measured at or after since,
 * as fact_history keeps them, by name then time, to fn(arg, name, value,
 * measured, e); fn as above.
 */
typedef int (*state_fact_point_fn)(void *arg, const char *name, int64_t value,
    int64_t measured, struct err *e);
int state_fact_history(struct state *, const char *kind, const char *key,
    int64_t since, state_fact_point_fn fn, void *arg, struct err *);

#endif
