/*
 * The scheduler (coffer scheduler tick, run, status): which [job]s are due,
 * running them one after another through job_run, and each job's state
 * for monitoring.
 *
 * The rule.  A job's due times are those of its schedule in its timezone
 * (lib/schedule.h, with its DST rules), each delayed by its jitter j (fixed
 * for the job and host, schedule_jitter).  At time now the job's slot is
 * the most recent due time d with d + j <= now (schedule_prev of now - j).
 * The job is due when no run of it started at or after d: a run of any
 * trigger counts (a `coffer job run` after the due time stands for the
 * slot, as systemd's Persistent=true counts the last trigger), and of any
 * outcome (a failed run is not retried before the next due time); runs
 * recorded "skipped" do not count.  A job that has never run is due at
 * once, at the first tick after it was added (Persistent=true), however
 * long ago its last due time was.  After downtime over several due times
 * the job is due once; the decision says how many were missed.
 *
 * Exactly once.  The decision is made from the state database, then made
 * again by job_run's admit callback with the job's lock held (no other run
 * of the job can start or end then), so two ticks that both decided "due"
 * run the job once: the second finds the lock taken ("skipped: still
 * running", recorded once per due time) or, should the first have ended
 * already, the slot run.  A run still going does not count in the first
 * decision, so a tick while the job runs reports it as skipped.  There is
 * no scheduler-wide lock: a long job does not hold back the other jobs of
 * another tick.
 *
 * Drills.  A [drill] with a schedule is decided by the same rule (in local
 * time, without jitter), over the drill's own runs, after the jobs of the
 * same tick, and run through drill_run_recorded (drill.h) under the
 * drill's lock with the same re-decision: a drill whose lock another run
 * holds is recorded "skipped" with "still running (...)", once per due
 * time.
 */
#ifndef COFFER_TICK_H
#define COFFER_TICK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct config;
struct drill_opts;
struct job_opts;
struct log;
struct schedule;

/* Due times counted for the log, at most (missed stops there). */
#define TICK_MISSED_MAX 10000

/* What tick_decide found. */
struct tick_decision {
	int due;         /* a tick at now runs the job */
	int first;       /* due because no run of it is recorded */
	int64_t slot;    /* the most recent due time d with d + jitter <=
	                    now; 0: none in the nine years before */
	int64_t due_at;  /* slot + jitter */
	int64_t next_at; /* the first due time + jitter after now */
	uint64_t missed; /* due: due times since the last run up to slot
	                    (1 on time; more after downtime), at most
	                    TICK_MISSED_MAX; 0 when first */
};

/*
 * The pure decision (see above) for schedule s in zone tz (NULL: local
 * time), a jitter of jitter seconds (already schedule_jitter's value),
 * the latest start of a run that counts (0: none), at time now, into *d.
 * 0, or -1 with e from schedule_prev/next.  Switches TZ (schedule.h).
 */
int tick_decide(const struct schedule *s, const char *tz, uint64_t jitter,
    int64_t last_start, int64_t now, struct tick_decision *d, struct err *e);

/* What a tick does. */
struct tick_opts {
	/* The template of every job_run: open_repo, open_store, arg,
	 * cache_dir, log, interrupted (trigger, now, slot and admit are
	 * the tick's). */
	const struct job_opts *job;
	int64_t now;      /* 0: the clock, read before each job */
	const char *only; /* a job name: only it (it must have a schedule) */
	const char *host; /* for the jitter; NULL: gethostname */
	const char *state_dir; /* NULL: state_dir_default */
	struct log *log;
	volatile sig_atomic_t *interrupted; /* stop between jobs; may be NULL */
	/* The template of every drill run (open_repo, arg, log,
	 * interrupted); NULL: drills are not run. */
	const struct drill_opts *drill;
};

/* What it did. */
struct tick_result {
	size_t ran, ok, failed, skipped; /* runs of jobs and drills;
	                                    skipped: still running */
	int exit_status; /* 0, or the first failure's (job_exit_status, a
	                    failed drill's TICK_DRILL_FAILED, or an error's
	                    err_exit_status) */
	int64_t next_at; /* the earliest next due time (with jitter) of the
	                    jobs with a schedule; 0: none */
};

/* The exit status a failed drill stands for (coffer drill run's). */
#define TICK_DRILL_FAILED 14

/*
 * One tick: mark the stale runs of every job (job_reap), reap what
 * interrupted drill runs left (drill_reap_all), then for each
 * [job] of cfg with a schedule (or only o->only), in the file's order,
 * decide and run it with job_run if due, logging each decision with the
 * job's name, then (without o->only, with o->drill) each [drill] with a
 * schedule the same way, into *res.  A job whose lock another run holds is
 * recorded "skipped" with message "still running (pid N since TIME)", once per
 * due time.  Returns 0 when the tick went through, whatever the jobs did (res
 * says); -1 with e when it could not (no state directory or database, an
 * unknown o->only or one without a schedule: ERR_USAGE).
 */
int tick_run(const struct config *cfg, const struct tick_opts *o,
    struct tick_result *res, struct err *e);

/* One job's state, for coffer scheduler status. */
struct tick_status {
	const char *job;      /* the section's name */
	const char *schedule; /* its text; NULL: none (runs by hand) */
	const char *tz;       /* NULL: the system's */
	uint64_t jitter;      /* seconds, as applied */
	uint64_t interval;    /* schedule_interval_hint; 0: no schedule */
	int has_last;         /* a run (not skipped) is recorded: */
	int64_t last_id, last_started, last_ended; /* ended 0: not ended */
	char last_status[16]; /* "running", "ok", "failed" */
	char last_class[32];  /* failed: the failed step's or the run's
	                         error class ("crashed", "timeout", ...) */
	char last_step[16];   /* failed: the first failed step, or "" */
	char last_message[512];
	int64_t last_ok;          /* start of the latest ok run; 0: none */
	int64_t last_snapshot_ok; /* start of the latest run whose snapshot
	                             was ok; 0: none */
	int64_t rpo;              /* now - last_snapshot_ok; -1: none */
	int due;                  /* a tick now would run it */
	int64_t next_at;          /* the due time (with jitter) the next run is
	                             for: past when due; 0: no schedule */
	int overdue;              /* scheduled, and no ok run started within
	                             1.5 x interval before now (or none ever) */
	int failed;               /* the last run failed */
};

/*
 * The state of every [job] of cfg at now (0: the clock), after marking
 * stale runs (job_reap), into *out (*n; free with tick_status_free).
 */
int tick_status_get(const struct config *cfg, const char *state_dir,
    const char *host, int64_t now, struct log *log, struct tick_status **out,
    size_t *n, struct err *e);
void tick_status_free(struct tick_status *, size_t n);

/* One drill's state, for coffer scheduler status and coffer drill list. */
struct tick_drill_status {
	const char *drill;    /* the section's name */
	const char *schedule; /* NULL: none (runs by hand) */
	uint64_t interval;    /* schedule_interval_hint; 0: no schedule */
	int has_last;         /* a run (not skipped) is recorded: */
	int64_t last_id, last_started, last_ended;
	char last_status[16]; /* "ok", "failed" */
	char last_stage[16];  /* failed: the first failed stage, or "" */
	char last_class[32];  /* failed: its error class */
	char last_message[512];
	char last_snapshot[65]; /* the snapshot it restored, or "" */
	int last_has_rto, last_has_rpo;
	double last_rto;  /* seconds */
	int64_t last_rpo; /* seconds */
	int64_t last_ok;  /* start of the latest passed run; 0: none */
	int64_t rpo;      /* now - the consistency time of the snapshot the
	                     latest passed run restored; -1: none */
	int due;          /* a tick now would run it */
	int64_t next_at;  /* as tick_status's; 0: no schedule */
	int overdue;      /* scheduled, and no passed run started within
	                     1.5 x interval before now (or none ever) */
	int failed;       /* the last run failed */
};

/*
 * The state of every [drill] of cfg at now (0: the clock) into *out (*n;
 * free with tick_drill_status_free).
 */
int tick_drill_status_get(const struct config *cfg, const char *state_dir,
    int64_t now, struct tick_drill_status **out, size_t *n, struct err *e);
void tick_drill_status_free(struct tick_drill_status *, size_t n);

#endif
