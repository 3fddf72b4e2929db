/*
 * One run of a [job NAME] (coffer job run, and the scheduler): its steps
 * in order, each through its engine's own entry point, under the job's
 * timeout and lock, with its on_failure / on_success hooks, recorded in
 * the state database (state.h).
 *
 * Steps and the rule for which runs after a failure (job_step_gate):
 *   snapshot   always first (snap_job_resolve + snap_job_run);
 *   forget     when the job sets a keep_* key, only after a successful
 *              snapshot (a failed night never removes an old snapshot);
 *              never prunes;
 *   replicate  when replicate = NAME, only after a successful snapshot
 *              (a failed forget does not stop it);
 *   check      when check = N%, only after a successful snapshot (a
 *              failed forget or replicate does not stop it: it checks the
 *              local repository).  It reads slice K of S of the packs, S =
 *              floor(100 / N) (at least 1), K = 1 + (the number of earlier
 *              runs of this job whose check step ran) mod S: every pack is
 *              read within S <= 100 / N runs.
 * A timeout or an interrupt stops the running step; the steps after it
 * are skipped.
 *
 * Prune runs.  A job's prune_schedule (and `coffer job run NAME --prune`)
 * runs one step of its own, in a run of its own (kind "prune" in the
 * state database, named after the job):
 *   prune      prune_run on the job's repository, locked exclusive, with
 *              the engine's defaults (max_unused PRUNE_MAX_UNUSED_DEFAULT,
 *              no repack limit, the two-phase margin of repo/prune.h).
 * It holds the job's lock, so a job's prune never runs beside its own
 * snapshot, and has the job's timeout and hooks.
 *
 * The repository's lock.  A step waits up to the job's lock wait
 * (job_lock_wait) for a conflicting repository lock.  When the wait ends
 * without it (ERR_LOCKED from lock_acquire, marked ERR_F_LOCK) the step is
 * not a failure: it is skipped, with locked set and error class "locked".
 * When the first step of a run (snapshot, or prune) is skipped so, nothing
 * ran: the steps after it are skipped as locked too, and the run is
 * recorded "skipped" (it does not count as the due time's run, so the
 * next tick tries again), fires neither hook and does not move the last
 * success.  A later step skipped so leaves the run's status to the others.
 */
#ifndef COFFER_SCHED_JOB_H
#define COFFER_SCHED_JOB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct config;
struct config_section;
struct log;
struct repo;
struct state;
struct stor;

enum job_step {
	JOB_STEP_SNAPSHOT = 0,
	JOB_STEP_FORGET,
	JOB_STEP_REPLICATE,
	JOB_STEP_CHECK,
	JOB_STEP_PRUNE, /* a prune run's only step */
	JOB_NSTEPS
};

enum job_status {
	JOB_SKIPPED =
	    0, /* not run: not configured, or a step it needs failed */
	JOB_OK,
	JOB_FAILED,
};

struct job_step_result {
	enum job_status status;
	int ran;              /* the step was started */
	int configured;       /* the job asks for it */
	double duration;      /* seconds */
	enum err_class class; /* failed: its class */
	int exit_status;      /* failed: the exit status it stands for */
	int timeout;          /* failed: stopped by the job's timeout */
	int locked; /* skipped: the repository's lock was held by another
	               process for the whole lock wait */
	char msg[ERR_MSG_MAX]; /* failed: one line; skipped: why */
	uint64_t bytes; /* snapshot: stored; replicate: sent; check: read */
};

struct job_result {
	struct job_step_result steps[JOB_NSTEPS];
	int ok;           /* every step that ran succeeded */
	int failed_step;  /* the first failed step, or -1 */
	int busy;         /* another run of the job holds its lock */
	char holder[128]; /* busy: "pid N since TIME", from the lock file */
	int declined;     /* opts->admit said no: nothing ran or was recorded */
	int prune;        /* a prune run (opts->prune) */
	int locked;       /* the run's first step was skipped as locked: nothing
	                     ran, the run is recorded "skipped" */
	int64_t run_id;   /* in the state database */
	int64_t started, ended;
	char snapshot_id[65]; /* the snapshot taken, or "" */
};

/*
 * How job_run reaches repositories: the caller (cli/) resolves a name or
 * location, its passphrase and transport settings.  Called in the process
 * that runs the steps.
 */
struct job_opts {
	/* Open repository name (a [repository] NAME of cfg) with its key,
	 * locked exclusive or shared, waiting up to lock_wait seconds for a
	 * conflicting lock (lock_opts.wait); REPO_OPEN_* flags. */
	int (*open_repo)(void *arg, const char *name, int exclusive, int flags,
	    unsigned lock_wait, struct repo **out, struct err *e);
	/* Open the store of name without the key (create: make it). */
	int (*open_store)(void *arg, const char *name, int create,
	    struct stor **out, struct err *e);
	void *arg;
	const char *cache_dir; /* the files cache; NULL: none */
	const char *state_dir; /* NULL: state_dir_default */
	const char *trigger;   /* "manual" or "schedule" */
	struct log *log;
	volatile sig_atomic_t *interrupted; /* may be NULL */
	/* The scheduler's: the time to record as the run's start (0: now;
	 * its end is that plus the time the run took), and the due time it
	 * runs for (0: none). */
	int64_t now, slot;
	/* When not NULL: called with the job's lock held and its stale runs
	 * marked (job_reap), before anything is recorded, with admit_arg and
	 * the state database.  1: run; 0: do not (res->declined, job_run
	 * returns 0); -1 with e: fail.  The scheduler checks here, where no
	 * other run of the job can start or end, that the due time it saw is
	 * still not run. */
	int (*admit)(void *arg, struct state *st, struct err *e);
	void *admit_arg;
	/* Run the job's prune step alone, as a prune run (see above). */
	int prune;
};

/*
 * Run the [job name] of cfg (see above) into *res.  The steps run in a
 * forked child process; the caller's process waits for it, and when the
 * job's timeout passes (or *interrupted is set) sends it SIGTERM, which
 * makes the running step stop (its child programs with it), and after a
 * grace of JOB_KILL_GRACE seconds kills it and everything it started.
 * Then the hook on_failure or on_success runs (lib/proc, within
 * hook_timeout, with COFFER_JOB, COFFER_STATUS "ok"/"failed",
 * COFFER_STEP the failed step ("prune" in a prune run, also on success),
 * COFFER_ERROR its message on one line; no hook for a run skipped as
 * locked) and the run is recorded in the state database.
 *
 * The run is recorded with this process's pid, start time and the host's
 * boot id, so that a run whose process died (kill -9, a crash, the machine
 * stopped) can be told from one that goes on (job_reap); the worker gets
 * SIGTERM should this process die.  Stale runs of the job are marked first.
 *
 * Returns 0 when the job ran, whatever its steps did (res says); -1 when it
 * could not: no such job or a bad one (ERR_USAGE, ERR_CONFIG), the state
 * database or the job lock cannot be had (ERR_IO), or another run of the
 * job holds the lock: ERR_LOCKED "job NAME is already running (pid N since
 * TIME)" with res->busy set.
 */
#define JOB_KILL_GRACE 5
int job_run(const struct config *cfg, const char *name,
    const struct job_opts *opts, struct job_result *res, struct err *e);

/*
 * The dependency rule: whether step s runs given the results of the
 * steps before it in r (and whether it is configured, r->steps[s].
 * configured).  1: run it; 0: skip it, with why (may be NULL) filled.
 */
int job_step_gate(const struct job_result *r, enum job_step s, char *why,
    size_t whylen);

/*
 * The slice check = percent reads on the run after count earlier checked
 * runs: *slice of *slices (1 <= *slice <= *slices).
 */
void job_check_slice(double percent, uint64_t count, uint32_t *slice,
    uint32_t *slices);

/*
 * How long a step of job sec waits for a conflicting repository lock, in
 * seconds: its lock_wait, else [global] lock_wait of cfg (cfg may be
 * NULL), else JOB_LOCK_WAIT_DEFAULT.
 */
#define JOB_LOCK_WAIT_DEFAULT 600
unsigned job_lock_wait(const struct config *cfg,
    const struct config_section *sec);

/*
 * Is e a repository lock that could not be had (another process held a
 * conflicting one for the whole wait): class ERR_LOCKED, marked ERR_F_LOCK
 * by lock_acquire?  Not a lock lost while held, nor a job's own lock.
 */
int job_err_locked(const struct err *e);

/* "snapshot", "forget", "replicate", "check", "prune". */
const char *job_step_name(enum job_step);

/* "ok", "failed", "skipped". */
const char *job_status_name(enum job_status);

/* The status a run is recorded with: "failed" when a step failed, else
 * "skipped" when it was skipped as locked (res->locked), else "ok". */
const char *job_run_status(const struct job_result *);

/* The exit status for a run: 0 when every step that ran succeeded, else
 * the first failed step's exit_status; EXIT_LOCKED (11) for a run skipped
 * as locked. */
int job_exit_status(const struct job_result *);

/*
 * Mark the runs of job name (NULL: every job) that are recorded "running"
 * but whose process is gone "failed" with error class "crashed"
 * (state_run_crashed), logging each.  A run is gone when the host booted
 * since it started (another boot id), or its pid is no longer a process
 * with the recorded start time; with locked set (the caller holds the
 * job's lock, as job_run does) every running run of the job is gone, also
 * one of an older coffer that recorded no pid.  *n (may be NULL): how many
 * were marked.
 */
int job_reap(struct state *st, const char *name, int locked, struct log *log,
    size_t *n, struct err *e);

/*
 * The lock job_run holds, for a job's snapshot started by hand
 * (`snapshot --job NAME`): two runs of one job must not both store its
 * data.  *fd is the lock (job_lock_release); when another run holds it,
 * *busy is set and ERR_LOCKED says "job NAME is already running (pid N
 * since TIME)".  The state directory (state_dir_default) is made if
 * missing.
 */
/*
 * The one lock of a scheduled thing (kind "job" or "drill"): flock on
 * DIR/KIND-NAME.lock, which holds "pid N since TIME" of its holder.  *fdp
 * is the lock (close it to release).  When another process holds it,
 * *busy is set, holder says who (waiting up to a second for the holder to
 * write that), and ERR_LOCKED says "KIND NAME is already running
 * (HOLDER)".
 */
int sched_lock(const char *dir, const char *kind, const char *name, int *fdp,
    int *busy, char *holder, size_t holdersize, struct err *e);

int job_lock_acquire(const struct config *cfg, const char *name, int *fd,
    int *busy, struct err *e);
void job_lock_release(int fd);

#endif
