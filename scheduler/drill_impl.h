/*
 * What the files of a drill share (drill.h is the interface): the
 * resolved [drill] section, the memory the worker and the parent share,
 * a run's context, and each target's stages.  drill.c runs a drill;
 * drill_files.c has the directory and sqlite targets, drill_pg.c the
 * PostgreSQL ones, drill_mysql.c the MariaDB ones.  Not for use outside
 * scheduler/drill*.c.
 */
#ifndef COFFER_SCHED_DRILL_IMPL_H
#define COFFER_SCHED_DRILL_IMPL_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "repo/idx.h"
#include "scheduler/drill.h"

struct log;
struct repo;
struct stor;
struct tarhash;
struct manifest;
struct rst_selection;

/* Entries (or events) a stage names one by one on the log. */
#define VERIFY_LOG_MAX 20

/*
 * A drill's work directory is TMPDIR/coffer-drill-NAME.XXXXXX: an admin
 * (and the next run) can tell what made it.
 */
#define DRILL_WORK_PREFIX "coffer-drill-"

/* The [drill NAME] section, resolved (drill.c, resolve). */
struct spec {
	const char *name;
	const struct config_section *sec;
	const char *repository, *snapshot, *source, *src_type;
	const char *target; /* the value as written */
	enum drill_target kind;
	const char *arg; /* DIR: the path; PG: the conninfo */
	char **sql;
	size_t nsql;
	const char *checks, *on_failure, *drill_user;
	const char *defaults_file;    /* mysql:DB: the client option file */
	struct config_ssh_target ssh; /* ssh: where */
	const char *identity, *identity_pass, *known_hosts; /* ssh: how */
	uint64_t max_rto, max_rpo, timeout, hook_timeout;
};

/*
 * What the worker tells the parent, in memory both see (MAP_SHARED): the
 * result as it grows, and what it made that the parent must remove if the
 * worker cannot (it was killed).  Read by the parent only once the worker
 * is gone.
 */
struct shared {
	struct drill_result res;
	int done;     /* the worker reached its end */
	int running;  /* the stage running, or -1 */
	int cluster;  /* a scratch cluster may be running */
	int db_made;  /* PG, mysql:DB: the drill's database may exist */
	pid_t server; /* mysql-scratch: mariadbd's pid, 0: none */
	int remote;   /* ssh: the remote directory may exist */
	char dbname[256];
	char maint[2048]; /* PG: where to drop it from */
};

/* Everything the parent and the worker both use. */
struct run {
	struct spec *sp;
	const struct drill_opts *o;
	struct shared *sh;
	struct drill_result *res; /* &sh->res */
	char *work;               /* the private work directory */
	char *pgbin;              /* PG scratch: initdb's directory */
	char *data;               /* PG scratch: the cluster */
	char *sock;               /* PG scratch: its socket directory */
	char *cnf;                /* mysql: the client option file, or NULL */
	char *mydir;              /* mysql-scratch: its directory */
	char *mariadbd;           /* mysql-scratch: the server program */
	uid_t uid;                /* scratch: who runs the server */
	gid_t gid;
	char user[64]; /* "" when it is us */
	struct timespec t0;
	char dbname[256];
	const char *leftovers;  /* drill_run_at's, or NULL */
	int dir_noted, existed; /* DIR: named in leftovers; it existed */
	struct stor *ssh;       /* ssh: the worker's session */
	struct tarhash *th;     /* ssh: the files the stream carried */
};

/* ------------------------------------------------------------ drill.c */

/*
 * drill_run, and when leftovers is not NULL: the path of the work
 * directory is written to that file as soon as it is made, and the file
 * removed once the run cleaned up, so that after a kill -9 the next run
 * finds what to remove (drill_sched.c).
 */
int drill_run_at(const struct config *cfg, const char *name,
    const struct drill_opts *o, const char *leftovers, struct drill_result *res,
    struct err *e);

/* The limits max_rto and max_rpo, once the rest is known: the rto and
 * rpo stages. */
void drill_limits(struct run *u);
/* The on_failure hook of a failed drill (res), when there is one. */
void drill_hook(const char *on_failure, uint64_t hook_timeout,
    const struct drill_result *res, struct log *log);
/* Seconds since t0 (CLOCK_MONOTONIC). */
double drill_elapsed(const struct timespec *t0);
/* Replace control characters: messages are one line. */
void drill_one_line(char *s);

/* A stage's result (t: its start, NULL: no duration), one line. */
void drill_stage_set(struct run *u, enum drill_stage s, enum drill_status st,
    const struct timespec *t, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A failed stage from e; its class kept for the exit status. */
void drill_stage_fail(struct run *u, enum drill_stage s,
    const struct timespec *t, const struct err *e);
/* One check done (t: its start). */
void drill_check_add(struct run *u, enum drill_stage s, int ok,
    const struct timespec *t, const char *what, const char *msg);
/* Was the drill interrupted (^C, SIGTERM)? */
int drill_interrupted(const struct run *u);
/* A restore's keepalive: refresh the repository lock arg. */
int drill_refresh_lock(void *arg, struct err *e);
/* Refused before anything is written: the restore stage, failed. */
void drill_refuse(struct run *u, enum err_class c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Run a server program as u->user: through setpriv when we are root (no
 * PAM, no shell, no supplementary groups), else directly.
 */
int drill_as_user(const struct run *u, const char *const *args,
    const char *label, volatile sig_atomic_t *intr, unsigned timeout,
    struct err *e);

/*
 * Who runs a scratch server: us, or when root drill_user, by default
 * deflt when that user exists, else nobody; never root (server names the
 * server in that message).
 */
int drill_scratch_user(struct run *u, const char *deflt, const char *server,
    struct err *e);

/*
 * Name in u->leftovers what the run made that a kill would leave: the
 * work directory, the directory target, the remote directory (once
 * u->sh->remote).  Written aside and renamed.
 */
void drill_note(const struct run *u);

/* -------------------------------------------------------- drill_ssh.c */

/* The ssh: settings of the [drill] section sec into sp. */
int drill_ssh_spec(const struct config_section *sec, struct spec *sp,
    struct err *e);
/*
 * The restore stage for an ssh: target: refuse a remote PATH that is
 * there and not an empty directory, then stream the tar into tar -x
 * there, hashing every regular file on the way.
 */
int drill_restore_ssh(struct run *u, struct repo *r,
    const struct rst_selection *sel, struct err *e);
/* The verify stage: sha256sum of every file there against the stream. */
void drill_verify_ssh(struct run *u);
/* The check stage: the checks command run there. */
void drill_check_ssh(struct run *u);
/* The worker's session and hashes, gone. */
void drill_ssh_close(struct run *u);
/* rm -rf the remote PATH of sp (a new session; not interruptible). */
int drill_ssh_remove(const struct spec *sp, struct log *log, struct err *e);

/* ------------------------------------------------------ drill_chain.c */

/*
 * drill_run_at for a drill of steps, sec: each step with drill_run_at in
 * turn (leftovers naming each one's work while it runs) until one fails,
 * the rest not run; then the chain's limits and its on_failure hook.
 */
int drill_chain_run(const struct config *cfg, const struct config_section *sec,
    const struct drill_opts *o, const char *leftovers, struct drill_result *res,
    struct err *e);

/* ------------------------------------------------------ drill_files.c */

/* Remove path and all below it; with keep, only what is below it. */
int drill_rm_tree(const char *path, int keep, struct err *e);
/* Is the directory target absent (0), empty (1), or neither (-1, why)? */
int drill_dir_state(const char *path, char *why, size_t whylen);
/* The restore stage for a directory target. */
int drill_restore_dir(struct run *u, struct repo *r,
    const struct rst_selection *sel, struct err *e);
/* The restore stage for sqlite: the file into the work directory. */
int drill_restore_sqlite(struct run *u, struct repo *r,
    const struct rst_selection *sel, struct err *e);
/* The verify stage for a directory target: every entry of root. */
void drill_verify_dir(struct run *u, struct repo *r,
    const uint8_t root[IDX_ID_LEN]);
/* The verify stage for sqlite: PRAGMA integrity_check. */
void drill_verify_sqlite(struct run *u);
/* One SQL check on the restored SQLite file: 1 pass, 0 fail (why). */
int drill_sqlite_check(const char *path, const char *sql, char *why,
    size_t whylen);

/* --------------------------------------------------------- drill_pg.c */

/*
 * Set up a postgres-scratch or postgres:CONNINFO target before the
 * worker: 0, or 1 when refused (drill_refuse said why).
 */
int drill_pg_prepare(struct run *u, const struct config *cfg, struct err *e);
/* initdb and start the scratch cluster, listening only on a socket. */
int drill_pg_start(struct run *u, struct err *e);
/* Stop the scratch cluster, fast and without a checkpoint. */
void drill_pg_stop(struct run *u);
/* The restore stage for PostgreSQL targets. */
int drill_restore_pg(struct run *u, struct repo *r, const struct manifest *m,
    const struct rst_selection *sel, struct err *e);
/* The verify stage for PostgreSQL: amcheck when there is amcheck. */
void drill_verify_pg(struct run *u);
/* One SQL check on the restored database: 1 pass, 0 fail (why). */
int drill_pg_check(struct run *u, const char *sql, char *why, size_t whylen);
/* Drop the database the drill made on a test server, if it did. */
void drill_pg_drop(struct run *u);

/* ------------------------------------------------------ drill_mysql.c */

/*
 * Set up a mysql-scratch or mysql:DB target before the worker: 0, or 1
 * when refused (drill_refuse said why).
 */
int drill_my_prepare(struct run *u, const struct config *cfg, struct err *e);
/* mariadb-install-db and start mariadbd, listening only on a socket. */
int drill_my_start(struct run *u, struct err *e);
/* Stop the scratch mariadbd (SIGTERM, then the kill of cleanup). */
void drill_my_stop(struct run *u);
/* The restore stage for MariaDB targets. */
int drill_restore_my(struct run *u, struct repo *r, const struct manifest *m,
    const struct rst_selection *sel, struct err *e);
/* The verify stage for MariaDB: mariadb-check of every table. */
void drill_verify_my(struct run *u);
/* One SQL check on the restored database: 1 pass, 0 fail (why). */
int drill_my_check(struct run *u, const char *sql, char *why, size_t whylen);
/* Drop the database the drill made on a test server, if it did. */
void drill_my_drop(struct run *u);

#endif
