/*
 * Restore drills (coffer drill run, coffer.conf(5) "Section [drill
 * NAME]"): restore a snapshot on purpose to a target that is not
 * production, prove the result with checks, measure the recovery time
 * (RTO) and the age of the data restored (RPO), and leave nothing behind.
 *
 * A run, drill_run:
 *   - resolve the [drill NAME] (target, source, limits) and refuse a
 *     target that looks like production before anything is written;
 *   - make a private work directory, and fork a worker that does the
 *     stages below in it, so that a timeout, ^C or SIGTERM stops it (and
 *     every program it started, a scratch postmaster included:
 *     proc_kill_descendants) while the caller stays to clean up;
 *   - restore: choose the snapshot (snapsel: latest, oldest, random or
 *     an id; with a source, among the snapshots that hold it), then
 *       DIR               rst_to_dir into the directory (empty or absent);
 *       sqlite            the source's file into the work directory;
 *       postgres-scratch  initdb + pg_ctl a cluster in the work directory
 *                         (as drill_user when root), then pg_restore
 *                         --create (and the globals when the snapshot
 *                         has them);
 *       postgres:CONNINFO the same into a new database on a standing
 *                         test server;
 *       mysql-scratch     mariadb-install-db + mariadbd in the work
 *                         directory on a socket only (as drill_user when
 *                         root), then the dump into a new database;
 *       mysql:DB          the same into a new database DB on a standing
 *                         test server (defaults_file);
 *   - verify: DIR every restored entry against the snapshot's tree
 *     (type, bytes by their keyed chunk ids, mode, owner, mtime, symlink
 *     target) and no entry more; sqlite PRAGMA integrity_check; postgres
 *     amcheck's bt_index_check on every btree index when the server has
 *     the extension; MariaDB mariadb-check of every table;
 *   - sql_check: each statement of sql_checks; check: the checks command;
 *   - rto, rpo: the limits max_rto and max_rpo.
 * Then, pass or fail: the database made is dropped, the scratch cluster
 * stopped, what was written to the directory removed, the work directory
 * removed; on failure the on_failure hook runs.
 *
 * A drill with steps (drill_chain.c) runs the drills it names in turn, as
 * above, until one fails, and measures its RTO and RPO over them.
 */
#ifndef COFFER_SCHED_DRILL_H
#define COFFER_SCHED_DRILL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

struct log;
struct manifest;
struct repo;

/* The stages, in order; their names are COFFER_STEP's values. */
enum drill_stage {
	DRILL_RESTORE = 0,
	DRILL_VERIFY,
	DRILL_SQL_CHECK,
	DRILL_CHECK,
	DRILL_RTO,
	DRILL_RPO,
	DRILL_NSTAGES
};

enum drill_status {
	DRILL_SKIPPED = 0, /* not run: not configured, or nothing to check */
	DRILL_OK,
	DRILL_FAILED,
};

/* What the target is: config_drill_target's kinds. */
enum drill_target {
	DRILL_T_DIR = CONFIG_DRILL_DIR,
	DRILL_T_SQLITE = CONFIG_DRILL_SQLITE,
	DRILL_T_PG_SCRATCH = CONFIG_DRILL_PG_SCRATCH,
	DRILL_T_PG = CONFIG_DRILL_PG,
	DRILL_T_MY_SCRATCH = CONFIG_DRILL_MY_SCRATCH,
	DRILL_T_MY = CONFIG_DRILL_MY,
	DRILL_T_SSH = CONFIG_DRILL_SSH,
	DRILL_T_CHAIN = 100, /* a drill of steps: other drills in turn */
};

#define DRILL_CHECKS_MAX 32  /* checks recorded one by one; more: counted */
#define DRILL_WHAT_MAX   160 /* a check's description */

struct drill_stage_result {
	enum drill_status status;
	double duration;       /* seconds */
	char msg[ERR_MSG_MAX]; /* one line: what it did, or why it failed */
};

/* One check: an SQL statement, the checks command, a verification. */
struct drill_check_result {
	enum drill_stage stage;
	int ok;
	double duration;
	char what[DRILL_WHAT_MAX]; /* the statement, the command... */
	char msg[256];             /* failed: why */
};

/* One step of a drill of steps: the drill it ran, as it ended. */
struct drill_step_result {
	char name[CONFIG_NAME_MAX + 1];
	int ran;              /* 0: not run (an earlier step failed) */
	int ok;               /* ran: passed */
	int failed_stage;     /* failed: the step's first failed stage */
	enum err_class class; /* failed: its class */
	int timeout;          /* failed: stopped by the step's timeout */
	double duration;      /* ran: seconds, the step's whole run */
	int rto_measured, rpo_measured;
	double rto;
	int64_t rpo;
	char snapshot_id[65];
	enum drill_target target_kind;
	char target[256];
	char msg[ERR_MSG_MAX]; /* failed: why; not run: which step failed */
};

/*
 * Everything a run found, for the caller to print and for a recorder
 * (state database, metrics) to store.
 */
struct drill_result {
	int ok;                /* every stage passed */
	int failed_stage;      /* the first failed stage, or -1 */
	enum err_class class;  /* failed: its class (ERR_INTERRUPTED on a
	                          timeout or interrupt) */
	int timeout;           /* failed: stopped by the drill's timeout */
	char msg[ERR_MSG_MAX]; /* failed: the failed stage's message */
	char name[CONFIG_NAME_MAX + 1];
	char snapshot_id[65];             /* "" when none was chosen */
	char source[CONFIG_NAME_MAX + 1]; /* "" when none */
	enum drill_target target_kind;
	char target[1024]; /* the directory, database (conninfo) or file the
	                      checks saw: COFFER_DRILL_TARGET */
	int64_t started;   /* wall clock, seconds */
	int64_t ended;
	int64_t consistent; /* the snapshot's consistency time; 0: none */
	int rto_measured;   /* the restore and every check ended */
	double rto;         /* seconds from start to validated */
	int rpo_measured;   /* a snapshot was chosen */
	int64_t rpo;        /* seconds: started - consistent */
	uint64_t max_rto, max_rpo; /* the limits, 0: none */
	uint64_t bytes;            /* restored: file data or dump bytes */
	uint64_t files;            /* DIR: entries restored and verified */
	struct drill_stage_result stages[DRILL_NSTAGES];
	struct drill_check_result checks[DRILL_CHECKS_MAX];
	size_t nchecks; /* recorded in checks (<= DRILL_CHECKS_MAX) */
	size_t nchecks_run, nchecks_failed; /* all of them */
	/* A drill of steps (target_kind DRILL_T_CHAIN): its steps, in
	 * order.  Its stages restore to check sum up theirs; its RTO runs
	 * from its start to the last step's validation, its RPO is the
	 * worst step's (snapshot_id and consistent that step's). */
	size_t nsteps;
	struct drill_step_result steps[CONFIG_DRILL_STEPS_MAX];
};

struct drill_opts {
	/*
	 * Open the [repository] name of the config with its key, under a
	 * shared lock (flags: REPO_OPEN_*); called in the worker.
	 */
	int (*open_repo)(void *arg, const char *name, int flags,
	    struct repo **out, struct err *e);
	void *arg;
	struct log *log;
	volatile sig_atomic_t *interrupted; /* may be NULL */
};

/*
 * Run the [drill name] of cfg (see above) into *res.  Returns 0 when the
 * drill ran, passed or failed (res says; a refused target is a failed
 * restore stage); -1 when it could not be run at all: no such drill
 * (ERR_USAGE), a section that does not fit together (ERR_CONFIG,
 * "FILE:LINE: ..."), no work directory (ERR_IO).  The on_failure hook runs
 * (lib/proc, within hook_timeout) with COFFER_DRILL, COFFER_STATUS
 * "failed", COFFER_STEP the failed stage's name and COFFER_ERROR its
 * message on one line.
 */
#define DRILL_KILL_GRACE 5
int drill_run(const struct config *cfg, const char *name,
    const struct drill_opts *o, struct drill_result *res, struct err *e);

/*
 * How a drill run is recorded (drill_record): who ran it and for which
 * due time, and the scheduler's check under the drill's lock.
 */
struct state;
struct drill_rec_opts {
	const char *trigger;   /* "manual" (NULL) or "schedule" */
	int64_t now;           /* the start to record (0: the drill's own;
	                          its end is that plus the time it took) */
	int64_t slot;          /* the due time it runs for; 0: none */
	const char *state_dir; /* NULL: state_dir_default */
	/* When not NULL: called with the drill's lock held, before it runs:
	 * 1 run it, 0 do not (declined), -1 fail (as job_opts's admit). */
	int (*admit)(void *arg, struct state *st, struct err *e);
	void *admit_arg;
};

struct drill_rec_result {
	int busy;         /* another run of the drill holds its lock */
	char holder[128]; /* busy: "pid N since TIME" */
	int declined;     /* admit said no: nothing ran or was recorded */
	int recorded;     /* the run is in the state database */
	int64_t run_id;   /* recorded: its id */
};

/*
 * Run the [drill name] of cfg with drill_run under the drill's lock
 * (flock on STATE_DIR/drill-NAME.lock) and record it in the state
 * database (state.h): a run of kind "drill", its stages as steps (bytes:
 * the restore's), its RTO, RPO, snapshot and consistency time; then
 * rewrite the metrics file (metrics.h) when cfg sets one.  `coffer drill
 * run` and the scheduler both run drills through here.  Returns what
 * drill_run returns; -1 with ERR_LOCKED "drill NAME is already running
 * (...)" and rr->busy when another run holds the lock.  A run that cannot
 * be recorded (no state directory, a database error) is an error in o's
 * log, not the drill's failure (rr->recorded 0).
 */
int drill_run_recorded(const struct config *cfg, const char *name,
    const struct drill_opts *o, const struct drill_rec_opts *ro,
    struct drill_result *res, struct drill_rec_result *rr, struct err *e);

/*
 * At a scheduler tick's start: for every [drill] of cfg whose lock (in the
 * state directory dir) is free, what a run that died without cleaning up
 * left, as its next run would remove it: the work directory it named and
 * the processes in it, and its runs still "running" in st marked failed,
 * interrupted.  Errors go to log.
 */
void drill_reap_all(const struct config *cfg, struct state *st, const char *dir,
    struct log *log);

/*
 * Check the [drill name] of cfg beyond what config_load checks: its
 * target against its source's type.  ERR_USAGE when there is no such
 * drill, ERR_CONFIG "FILE:LINE: ..." otherwise.
 */
int drill_check(const struct config *cfg, const char *name, struct err *e);

/* "restore", "verify", "sql_check", "check", "rto", "rpo". */
const char *drill_stage_name(enum drill_stage);

/* "ok", "failed", "skipped". */
const char *drill_status_name(enum drill_status);

/* "directory", "sqlite", "postgres-scratch", "postgres", "mysql-scratch",
 * "mysql", "ssh", "steps". */
const char *drill_target_name(enum drill_target);

/*
 * Is v a true value of an SQL check: 't', 'true' or '1', in any case?
 */
int drill_sql_true(const char *v);

/*
 * The output of psql -X -A -t -F US (one line per row, columns separated
 * by the unit separator 0x1f) for one check statement: 1 when it is one
 * row of one true value (drill_sql_true); else 0 with why filled ("2
 * rows", "3 columns", "the value is 'f'", "no row").
 */
#define DRILL_SQL_SEP "\x1f"
int drill_sql_output_ok(const char *out, char *why, size_t whylen);

/*
 * Split sql_checks into its statements: separated by ';', white space
 * around each trimmed, empty ones dropped.  *out (value_list_free) has *n
 * items.
 */
void drill_sql_split(const char *s, char ***out, size_t *n);

/*
 * Does a postgres:CONNINFO target, which the drill would restore into
 * database dbname, look like production: the same server (host or socket
 * directory, and port) and the same database as any [source] of type
 * postgres in cfg?  Both sides are read as libpq would, settings missing
 * from a connection string filled from PGHOST, PGPORT, PGDATABASE and the
 * defaults (the socket directory /var/run/postgresql, port 5432); a unix
 * socket directory and a loopback address (localhost, 127.0.0.1, ::1)
 * count as the same host.  1 with why ("the database gas on
 * 127.0.0.1:5432 of [source gasdb]") filled, 0 when not, -1 when
 * conninfo cannot be parsed (e).
 */
int drill_production(const struct config *cfg, const char *conninfo,
    const char *dbname, char *why, size_t whylen, struct err *e);

/*
 * The consistency time of what a drill restores from m: the recorded
 * start of the source called source (NULL: none, or not in m), else the
 * snapshot's own time; seconds since the epoch.
 */
int64_t drill_consistent_time(const struct manifest *m, const char *source);

#endif
