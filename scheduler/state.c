/*
 * The state database (state.h): runs and steps in SQLite.  Each write is
 * a transaction of its own; readers and writers wait on each other
 * through the busy timeout rather than failing.
 */
#include "scheduler/state.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "xmalloc.h"

#define BUSY_MS 30000 /* another coffer writing: wait this long */

struct state {
	sqlite3 *db;
	char *path;
};

static const char schema_v1[] = "CREATE TABLE runs ("
                                " id INTEGER PRIMARY KEY,"
                                " job TEXT NOT NULL,"
                                " started INTEGER NOT NULL,"
                                " ended INTEGER,"
                                " status TEXT NOT NULL,"
                                " trigger TEXT NOT NULL);"
                                "CREATE INDEX runs_job ON runs (job, started);"
                                "CREATE TABLE steps ("
                                " run INTEGER NOT NULL REFERENCES runs (id),"
                                " seq INTEGER NOT NULL,"
                                " step TEXT NOT NULL,"
                                " status TEXT NOT NULL,"
                                " duration REAL NOT NULL,"
                                " error_class TEXT,"
                                " message TEXT,"
                                " bytes INTEGER NOT NULL,"
                                " PRIMARY KEY (run, seq));"
                                "PRAGMA user_version = 1;";

/* Version 1 to 2: what the scheduler needs (state.h). */
static const char migrate_v2[] = "ALTER TABLE runs ADD COLUMN slot INTEGER;"
                                 "ALTER TABLE runs ADD COLUMN pid INTEGER;"
                                 "ALTER TABLE runs ADD COLUMN boot_id TEXT;"
                                 "ALTER TABLE runs ADD COLUMN pid_start "
                                 "INTEGER;"
                                 "ALTER TABLE runs ADD COLUMN error_class "
                                 "TEXT;"
                                 "ALTER TABLE runs ADD COLUMN message TEXT;"
                                 "CREATE INDEX runs_status ON runs (status);"
                                 "PRAGMA user_version = 2;";

/* Version 2 to 3: drills (state.h). */
static const char migrate_v3[] = "ALTER TABLE runs ADD COLUMN kind TEXT NOT "
                                 "NULL DEFAULT 'job';"
                                 "ALTER TABLE runs ADD COLUMN rto REAL;"
                                 "ALTER TABLE runs ADD COLUMN rpo INTEGER;"
                                 "ALTER TABLE runs ADD COLUMN snapshot TEXT;"
                                 "ALTER TABLE runs ADD COLUMN consistent "
                                 "INTEGER;"
                                 "PRAGMA user_version = 3;";

/* Version 3 to 4: each measured fact kept over time (state.h), for the
 * growth coffer report shows; metrics_facts keeps only the latest. */
static const char migrate_v4[] = "CREATE TABLE fact_history ("
                                 " kind TEXT NOT NULL,"
                                 " name TEXT NOT NULL,"
                                 " key TEXT NOT NULL,"
                                 " value INTEGER NOT NULL,"
                                 " measured INTEGER NOT NULL);"
                                 "CREATE INDEX fact_history_key ON "
                                 "fact_history (kind, key, measured);"
                                 "PRAGMA user_version = 4;";

char *
state_dir_default(const struct config *cfg)
{
	const char *x;

	if (cfg != NULL && config_key_line(config_global(cfg), "state_dir") > 0)
		return (
		    xstrdup(config_get_str(config_global(cfg), "state_dir")));
	if (geteuid() == 0)
		return (xstrdup("/var/lib/coffer"));
	if ((x = getenv("XDG_STATE_HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/coffer", x));
	if ((x = getenv("HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/.local/state/coffer", x));
	return (NULL);
}

static int
db_err(struct state *st, struct err *e, const char *what)
{
	return (err_set(e, ERR_IO, "state database %s: %s: %s", st->path, what,
	    sqlite3_errmsg(st->db)));
}

static int
exec(struct state *st, const char *sql, struct err *e)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return (db_err(st, e, "write"));
	return (0);
}

/* mkdir -p, each new directory 0700. */
static int
mkdirs(const char *dir, struct err *e)
{
	char *p = xstrdup(dir);
	int rc = -1;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST) {
			err_sys(e, ERR_IO, "state directory %s: mkdir %s", dir,
			    p);
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	rc = 0;
out:
	free(p);
	return (rc);
}

int
state_mkdir(const char *dir, struct err *e)
{
	return (mkdirs(dir, e));
}

int
state_open(const char *dir, struct state **out, struct err *e)
{
	struct state *st = xcalloc(1, sizeof(*st));
	sqlite3_stmt *q = NULL;
	int fd = -1, rc = -1, ver;

	*out = NULL;
	st->path = xasprintf("%s/%s", dir, STATE_FILE);
	if (mkdirs(dir, e) == -1)
		goto out;
	/* Made here, so that it is 0600 whatever the umask; SQLite gives
	 * its -wal and -shm files the same mode. */
	if ((fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		err_sys(e, ERR_IO, "state database %s", st->path);
		goto out;
	}
	/*
	 * Closed before SQLite opens it: a close() of any descriptor of the
	 * file drops every POSIX lock this process holds on it, SQLite's
	 * shared lock too.  Another process closing its connection would
	 * then think itself the last one, checkpoint and delete the -wal
	 * file under us, and our later writes would go where no reader
	 * looks.
	 */
	close(fd);
	fd = -1;
	if (sqlite3_open_v2(st->path, &st->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
	        NULL) != SQLITE_OK) {
		db_err(st, e, "open");
		goto out;
	}
	sqlite3_busy_timeout(st->db, BUSY_MS);
	if (exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
	        e) == -1)
		goto out;
	if (exec(st, "BEGIN IMMEDIATE", e) == -1)
		goto out;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) !=
	        SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		db_err(st, e, "read");
		goto rollback;
	}
	ver = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (ver > STATE_SCHEMA_VERSION) {
		err_set(e, ERR_CORRUPT,
		    "state database %s has schema version %d; this coffer "
		    "knows up to %d: use a newer coffer",
		    st->path, ver, STATE_SCHEMA_VERSION);
		goto rollback;
	}
	if (ver == 0) {
		if (exec(st, schema_v1, e) == -1)
			goto rollback;
		ver = 1;
	}
	if (ver == 1) {
		if (exec(st, migrate_v2, e) == -1)
			goto rollback;
		ver = 2;
	}
	if (ver == 2) {
		if (exec(st, migrate_v3, e) == -1)
			goto rollback;
		ver = 3;
	}
	if (ver == 3 && exec(st, migrate_v4, e) == -1)
		goto rollback;
	if (exec(st, "COMMIT", e) == -1)
		goto rollback;
	*out = st;
	st = NULL;
	rc = 0;
	goto out;
rollback:
	(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(q);
	if (fd != -1)
		close(fd);
	state_close(st);
	return (rc);
}

void
state_close(struct state *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

static void
bind_text_or_null(sqlite3_stmt *q, int i, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, i);
}

static void
bind_int_or_null(sqlite3_stmt *q, int i, int64_t v)
{
	if (v != 0)
		sqlite3_bind_int64(q, i, v);
	else
		sqlite3_bind_null(q, i);
}

int
state_run_add(struct state *st, const struct state_run *run, int64_t *id,
    struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db,
	        "INSERT INTO runs (job, started, ended, status, trigger, slot, "
	        "pid, boot_id, pid_start, error_class, message, kind, rto, "
	        "rpo, snapshot, consistent) "
	        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "write");
		goto out;
	}
	sqlite3_bind_text(q, 1, run->job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, run->started);
	bind_int_or_null(q, 3, run->ended);
	sqlite3_bind_text(q, 4, run->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, run->trigger, -1, SQLITE_STATIC);
	bind_int_or_null(q, 6, run->slot);
	bind_int_or_null(q, 7, run->pid);
	bind_text_or_null(q, 8, run->boot_id);
	bind_int_or_null(q, 9, run->pid_start);
	bind_text_or_null(q, 10, run->error_class);
	bind_text_or_null(q, 11, run->message);
	sqlite3_bind_text(q, 12, run->kind != NULL ? run->kind : "job", -1,
	    SQLITE_STATIC);
	if (run->has_rto)
		sqlite3_bind_double(q, 13, run->rto);
	else
		sqlite3_bind_null(q, 13);
	if (run->has_rpo)
		sqlite3_bind_int64(q, 14, run->rpo);
	else
		sqlite3_bind_null(q, 14);
	bind_text_or_null(q, 15, run->snapshot);
	bind_int_or_null(q, 16, run->consistent);
	if (sqlite3_step(q) != SQLITE_DONE) {
		db_err(st, e, "write");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(st->db);
	rc = 0;
out:
	sqlite3_finalize(q);
	return (rc);
}

int
state_run_begin(struct state *st, const char *job, int64_t started,
    const char *trigger, int64_t *id, struct err *e)
{
	struct state_run run;

	memset(&run, 0, sizeof(run));
	run.job = job;
	run.started = started;
	run.status = "running";
	run.trigger = trigger;
	return (state_run_add(st, &run, id, e));
}

/* The n steps of run id, inside the caller's transaction. */
static int
steps_insert(struct state *st, int64_t id, const struct state_step *steps,
    size_t n, struct err *e)
{
	sqlite3_stmt *ins = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db,
	        "INSERT INTO steps (run, seq, step, status, duration, "
	        "error_class, message, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	        -1, &ins, NULL) != SQLITE_OK) {
		db_err(st, e, "write");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, id);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)i);
		sqlite3_bind_text(ins, 3, steps[i].step, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, steps[i].status, -1, SQLITE_STATIC);
		sqlite3_bind_double(ins, 5, steps[i].duration);
		bind_text_or_null(ins, 6, steps[i].error_class);
		bind_text_or_null(ins, 7, steps[i].message);
		sqlite3_bind_int64(ins, 8, (sqlite3_int64)steps[i].bytes);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			db_err(st, e, "write");
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(ins);
	return (rc);
}

int
state_run_end(struct state *st, int64_t id, int64_t ended, const char *status,
    const struct state_step *steps, size_t n, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (exec(st, "BEGIN IMMEDIATE", e) == -1)
		return (-1);
	if (sqlite3_prepare_v2(st->db,
	        "UPDATE runs SET ended = ?, status = ? WHERE id = ?", -1, &q,
	        NULL) != SQLITE_OK) {
		db_err(st, e, "write");
		goto out;
	}
	sqlite3_bind_int64(q, 1, ended);
	sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, id);
	if (sqlite3_step(q) != SQLITE_DONE) {
		db_err(st, e, "write");
		goto out;
	}
	if (steps_insert(st, id, steps, n, e) == -1)
		goto out;
	if (exec(st, "COMMIT", e) == -1)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(q);
	/* Nothing of a failed write stays: the transaction goes whole. */
	if (rc == -1)
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return (rc);
}

int
state_run_finish(struct state *st, const struct state_run *run,
    const struct state_step *steps, size_t n, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (exec(st, "BEGIN IMMEDIATE", e) == -1)
		return (-1);
	if (sqlite3_prepare_v2(st->db,
	        "UPDATE runs SET started = ?, ended = ?, status = ?, "
	        "error_class = ?, message = ?, rto = ?, rpo = ?, snapshot = ?, "
	        "consistent = ? WHERE id = ?",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "write");
		goto out;
	}
	sqlite3_bind_int64(q, 1, run->started);
	bind_int_or_null(q, 2, run->ended);
	sqlite3_bind_text(q, 3, run->status, -1, SQLITE_STATIC);
	bind_text_or_null(q, 4, run->error_class);
	bind_text_or_null(q, 5, run->message);
	if (run->has_rto)
		sqlite3_bind_double(q, 6, run->rto);
	else
		sqlite3_bind_null(q, 6);
	if (run->has_rpo)
		sqlite3_bind_int64(q, 7, run->rpo);
	else
		sqlite3_bind_null(q, 7);
	bind_text_or_null(q, 8, run->snapshot);
	bind_int_or_null(q, 9, run->consistent);
	sqlite3_bind_int64(q, 10, run->id);
	if (sqlite3_step(q) != SQLITE_DONE) {
		db_err(st, e, "write");
		goto out;
	}
	if (steps_insert(st, run->id, steps, n, e) == -1 ||
	    exec(st, "COMMIT", e) == -1)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(q);
	if (rc == -1)
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return (rc);
}

int
state_run_record(struct state *st, const struct state_run *run,
    const struct state_step *steps, size_t n, int64_t *id, struct err *e)
{
	int rc = -1;

	if (exec(st, "BEGIN IMMEDIATE", e) == -1)
		return (-1);
	if (state_run_add(st, run, id, e) == -1 ||
	    steps_insert(st, *id, steps, n, e) == -1 ||
	    exec(st, "COMMIT", e) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return (rc);
}

int
state_step_count(struct state *st, const char *job, const char *step,
    uint64_t *n, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db,
	        "SELECT count(*) FROM steps JOIN runs ON runs.id = steps.run "
	        "WHERE runs.job = ? AND runs.kind = 'job' AND steps.step = ? "
	        "AND steps.status <> 'skipped'",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "read");
		goto out;
	}
	sqlite3_bind_text(q, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, step, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW) {
		db_err(st, e, "read");
		goto out;
	}
	*n = (uint64_t)sqlite3_column_int64(q, 0);
	rc = 0;
out:
	sqlite3_finalize(q);
	return (rc);
}

static const char *
col_text(sqlite3_stmt *q, int i)
{
	return ((const char *)sqlite3_column_text(q, i));
}

/* A step's strings live only until the next row: keep copies. */
static char *
col_dup(sqlite3_stmt *q, int i)
{
	const char *s = col_text(q, i);

	return (s != NULL ? xstrdup(s) : NULL);
}

/* The columns run_row reads, in its order. */
#define RUN_COLS                                                               \
	"id, job, started, coalesce(ended, 0), status, trigger, "              \
	"coalesce(slot, 0), coalesce(pid, 0), boot_id, "                       \
	"coalesce(pid_start, 0), error_class, message, kind, rto, rpo, "       \
	"snapshot, coalesce(consistent, 0)"

/* A row of RUN_COLS; its strings live until the next step. */
static void
run_row(sqlite3_stmt *q, struct state_run *run)
{
	run->id = sqlite3_column_int64(q, 0);
	run->job = col_text(q, 1);
	run->started = sqlite3_column_int64(q, 2);
	run->ended = sqlite3_column_int64(q, 3);
	run->status = col_text(q, 4);
	run->trigger = col_text(q, 5);
	run->slot = sqlite3_column_int64(q, 6);
	run->pid = sqlite3_column_int64(q, 7);
	run->boot_id = col_text(q, 8);
	run->pid_start = sqlite3_column_int64(q, 9);
	run->error_class = col_text(q, 10);
	run->message = col_text(q, 11);
	run->kind = col_text(q, 12);
	run->has_rto = sqlite3_column_type(q, 13) != SQLITE_NULL;
	run->rto = sqlite3_column_double(q, 13);
	run->has_rpo = sqlite3_column_type(q, 14) != SQLITE_NULL;
	run->rpo = sqlite3_column_int64(q, 14);
	run->snapshot = col_text(q, 15);
	run->consistent = sqlite3_column_int64(q, 16);
}

static void
steps_clear(struct state_step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)steps[i].step);
		free((char *)steps[i].status);
		free((char *)steps[i].error_class);
		free((char *)steps[i].message);
	}
}

/* The runs of job (NULL: all) since since, or run id alone (id not 0). */
static int
runs_each(struct state *st, const char *job, int64_t since, int64_t id,
    state_run_fn fn, void *arg, struct err *e)
{
	sqlite3_stmt *q = NULL, *sq = NULL;
	struct state_step *steps = NULL;
	size_t nsteps = 0, cap = 0;
	int rc = -1, r;

	/* One read transaction: a consistent picture while writers go on. */
	if (exec(st, "BEGIN", e) == -1)
		return (-1);
	if (sqlite3_prepare_v2(st->db,
	        "SELECT " RUN_COLS " FROM runs "
	        "WHERE (?1 IS NULL OR job = ?1) AND started >= ?2 "
	        "AND (?3 = 0 OR id = ?3) ORDER BY started, id",
	        -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
	        "SELECT step, status, duration, error_class, message, bytes "
	        "FROM steps WHERE run = ? ORDER BY seq",
	        -1, &sq, NULL) != SQLITE_OK) {
		db_err(st, e, "read");
		goto out;
	}
	if (job != NULL)
		sqlite3_bind_text(q, 1, job, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 1);
	sqlite3_bind_int64(q, 2, since);
	sqlite3_bind_int64(q, 3, id);
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct state_run run;

		run_row(q, &run);
		sqlite3_reset(sq);
		sqlite3_bind_int64(sq, 1, run.id);
		steps_clear(steps, nsteps);
		nsteps = 0;
		while ((r = sqlite3_step(sq)) == SQLITE_ROW) {
			struct state_step *s;

			if (nsteps == cap) {
				cap = cap ? cap * 2 : 8;
				steps =
				    xreallocarray(steps, cap, sizeof(*steps));
			}
			s = &steps[nsteps++];
			s->step = col_dup(sq, 0);
			s->status = col_dup(sq, 1);
			s->duration = sqlite3_column_double(sq, 2);
			s->error_class = col_dup(sq, 3);
			s->message = col_dup(sq, 4);
			s->bytes = (uint64_t)sqlite3_column_int64(sq, 5);
		}
		if (r != SQLITE_DONE) {
			db_err(st, e, "read");
			goto out;
		}
		if (fn(arg, &run, steps, nsteps, e) == -1)
			goto out;
	}
	if (r != SQLITE_DONE) {
		db_err(st, e, "read");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(q);
	sqlite3_finalize(sq);
	(void)sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	steps_clear(steps, nsteps);
	free(steps);
	return (rc);
}

int
state_history(struct state *st, const char *job, int64_t since, state_run_fn fn,
    void *arg, struct err *e)
{
	return (runs_each(st, job, since, 0, fn, arg, e));
}

int
state_run_get(struct state *st, int64_t id, state_run_fn fn, void *arg,
    struct err *e)
{
	return (runs_each(st, NULL, INT64_MIN, id, fn, arg, e));
}

int
state_running(struct state *st, const char *job, struct state_run **runsp,
    size_t *np, struct err *e)
{
	return (state_running_kind(st, "job", job, runsp, np, e));
}

int
state_running_kind(struct state *st, const char *kind, const char *job,
    struct state_run **runsp, size_t *np, struct err *e)
{
	struct state_run *runs = NULL;
	sqlite3_stmt *q = NULL;
	size_t n = 0, cap = 0;
	int rc = -1, r;

	*runsp = NULL;
	*np = 0;
	if (sqlite3_prepare_v2(st->db,
	        "SELECT " RUN_COLS " FROM runs WHERE status = 'running' "
	        "AND (kind = ?2 OR (?2 = 'job' AND kind = 'prune')) "
	        "AND (?1 IS NULL OR job = ?1) "
	        "ORDER BY started, id",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "read");
		goto out;
	}
	sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
	if (job != NULL)
		sqlite3_bind_text(q, 1, job, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 1);
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct state_run row;

		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			runs = xreallocarray(runs, cap, sizeof(*runs));
		}
		run_row(q, &row);
		runs[n] = row;
		runs[n].job = col_dup(q, 1);
		runs[n].status = col_dup(q, 4);
		runs[n].trigger = col_dup(q, 5);
		runs[n].boot_id = col_dup(q, 8);
		runs[n].error_class = col_dup(q, 10);
		runs[n].message = col_dup(q, 11);
		runs[n].kind = col_dup(q, 12);
		runs[n].snapshot = col_dup(q, 15);
		n++;
	}
	if (r != SQLITE_DONE) {
		db_err(st, e, "read");
		goto out;
	}
	*runsp = runs;
	*np = n;
	runs = NULL;
	n = 0;
	rc = 0;
out:
	sqlite3_finalize(q);
	state_runs_free(runs, n);
	return (rc);
}

void
state_runs_free(struct state_run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)runs[i].job);
		free((char *)runs[i].status);
		free((char *)runs[i].trigger);
		free((char *)runs[i].boot_id);
		free((char *)runs[i].error_class);
		free((char *)runs[i].message);
		free((char *)runs[i].kind);
		free((char *)runs[i].snapshot);
	}
	free(runs);
}

int
state_run_crashed(struct state *st, int64_t id, const char *message,
    int *changed, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	/* Only while still "running": a run that ended meanwhile keeps its
	 * record (the check of its process raced with its end). */
	if (sqlite3_prepare_v2(st->db,
	        "UPDATE runs SET status = 'failed', error_class = 'crashed', "
	        "message = ? WHERE id = ? AND status = 'running'",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "write");
		goto out;
	}
	sqlite3_bind_text(q, 1, message, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, id);
	if (sqlite3_step(q) != SQLITE_DONE) {
		db_err(st, e, "write");
		goto out;
	}
	if (changed != NULL)
		*changed = sqlite3_changes(st->db) > 0;
	rc = 0;
out:
	sqlite3_finalize(q);
	return (rc);
}

/* One int64 (0 for NULL or no row) from sql with name bound to ?1, arg2
 * to ?2 and kind to ?3 (each statement names all three). */
static int
query_int(struct state *st, const char *sql, const char *kind, const char *name,
    int64_t arg2, int64_t *out, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1, r;

	*out = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "read");
		goto out;
	}
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, arg2);
	sqlite3_bind_text(q, 3, kind, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(q)) == SQLITE_ROW)
		*out = sqlite3_column_int64(q, 0);
	else if (r != SQLITE_DONE) {
		db_err(st, e, "read");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(q);
	return (rc);
}

int
state_summary_kind(struct state *st, const char *kind, const char *name,
    struct state_summary *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	if (query_int(st,
	        "SELECT coalesce(max(started), 0) FROM runs WHERE job = ?1 "
	        "AND ?2 = ?2 AND kind = ?3 AND status IN ('ok', 'failed')",
	        kind, name, 0, &out->last_start, e) == -1 ||
	    query_int(st,
	        "SELECT coalesce(max(started), 0) FROM runs WHERE job = ?1 "
	        "AND ?2 = ?2 AND kind = ?3 AND status = 'ok'",
	        kind, name, 0, &out->last_ok, e) == -1 ||
	    query_int(st,
	        "SELECT coalesce(max(runs.started), 0) FROM runs JOIN steps "
	        "ON steps.run = runs.id WHERE runs.job = ?1 AND ?2 = ?2 "
	        "AND runs.kind = ?3 "
	        "AND steps.step = 'snapshot' AND steps.status = 'ok'",
	        kind, name, 0, &out->last_snapshot_ok, e) == -1 ||
	    query_int(st,
	        "SELECT id FROM runs WHERE job = ?1 AND ?2 = ?2 AND kind = ?3 "
	        "AND status <> 'skipped' ORDER BY started DESC, id DESC "
	        "LIMIT 1",
	        kind, name, 0, &out->last_id, e) == -1 ||
	    query_int(st,
	        "SELECT coalesce(consistent, 0) FROM runs WHERE job = ?1 "
	        "AND ?2 = ?2 AND kind = ?3 AND status = 'ok' "
	        "ORDER BY started DESC, id DESC LIMIT 1",
	        kind, name, 0, &out->last_ok_consistent, e) == -1)
		return (-1);
	return (0);
}

int
state_summary(struct state *st, const char *job, struct state_summary *out,
    struct err *e)
{
	return (state_summary_kind(st, "job", job, out, e));
}

int
state_skip_recorded_kind(struct state *st, const char *kind, const char *name,
    int64_t slot, int *yes, struct err *e)
{
	int64_t n;

	if (query_int(st,
	        "SELECT count(*) FROM runs WHERE job = ?1 AND slot = ?2 "
	        "AND kind = ?3 AND status = 'skipped'",
	        kind, name, slot, &n, e) == -1)
		return (-1);
	*yes = n > 0;
	return (0);
}

int
state_skip_recorded(struct state *st, const char *job, int64_t slot, int *yes,
    struct err *e)
{
	return (state_skip_recorded_kind(st, "job", job, slot, yes, e));
}

/* ------------------------------------------------ for the metrics file */

int
state_jobs_latest(struct state *st, state_job_fn fn, void *arg, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1, r;

	if (sqlite3_prepare_v2(st->db,
	        "SELECT job, coalesce(max(CASE WHEN status IN ('running', "
	        "'ok', 'failed') THEN started END), 0), "
	        "coalesce(max(CASE WHEN status = 'ok' THEN ended END), 0) "
	        "FROM runs WHERE kind = 'job' GROUP BY job ORDER BY job",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "read");
		goto out;
	}
	while ((r = sqlite3_step(q)) == SQLITE_ROW)
		if (fn(arg, col_text(q, 0), sqlite3_column_int64(q, 1),
		        sqlite3_column_int64(q, 2), e) == -1)
			goto out;
	if (r != SQLITE_DONE) {
		db_err(st, e, "read");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(q);
	return (rc);
}

int
state_steps_latest(struct state *st, int which, state_step_fn fn, void *arg,
    struct err *e)
{
	static const char *const filter[] = {
		[STATE_LATEST_ANY] = "1",
		[STATE_LATEST_RAN] = "s.status <> 'skipped'",
		[STATE_LATEST_OK] = "s.status = 'ok'",
	};
	sqlite3_stmt *q = NULL;
	char *sql;
	int rc = -1, r;

	if (which < STATE_LATEST_ANY || which > STATE_LATEST_OK)
		return (
		    err_set(e, ERR_INTERNAL, "state_steps_latest: %d", which));
	/* One pass over the steps: the newest run per (job, step), then
	 * its row.  Run ids grow with time. */
	sql = xasprintf("WITH latest AS (SELECT r.job AS job, s.step AS step, "
	                "max(r.id) AS run FROM steps s JOIN runs r ON r.id = "
	                "s.run WHERE r.status IN ('ok', 'failed', 'skipped') "
	                "AND r.kind IN ('job', 'prune') AND %s "
	                "GROUP BY r.job, s.step) "
	                "SELECT l.job, s.step, s.status, s.duration, "
	                "s.error_class, s.message, s.bytes FROM latest l "
	                "JOIN steps s ON s.run = l.run AND s.step = l.step "
	                "ORDER BY l.job, s.step",
	    filter[which]);
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "read");
		goto out;
	}
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct state_step s;

		s.step = col_text(q, 1);
		s.status = col_text(q, 2);
		s.duration = sqlite3_column_double(q, 3);
		s.error_class = col_text(q, 4);
		s.message = col_text(q, 5);
		s.bytes = (uint64_t)sqlite3_column_int64(q, 6);
		if (fn(arg, col_text(q, 0), &s, e) == -1)
			goto out;
	}
	if (r != SQLITE_DONE) {
		db_err(st, e, "read");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(q);
	free(sql);
	return (rc);
}

int
state_drills_latest(struct state *st, state_drill_fn fn, void *arg,
    struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1, r;

	if (sqlite3_prepare_v2(st->db,
	        "WITH d AS (SELECT * FROM runs WHERE kind = 'drill' AND "
	        "status IN ('ok', 'failed')) "
	        "SELECT job, max(started), "
	        "(SELECT status FROM d d2 WHERE d2.job = d.job "
	        "ORDER BY started DESC, id DESC LIMIT 1), "
	        "coalesce(max(CASE WHEN status = 'ok' THEN ended END), 0), "
	        "(SELECT rto FROM d d2 WHERE d2.job = d.job AND rto IS NOT "
	        "NULL "
	        "ORDER BY started DESC, id DESC LIMIT 1), "
	        "(SELECT rpo FROM d d2 WHERE d2.job = d.job AND rpo IS NOT "
	        "NULL "
	        "ORDER BY started DESC, id DESC LIMIT 1) "
	        "FROM d GROUP BY job ORDER BY job",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "read");
		goto out;
	}
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct state_drill_latest d;
		const char *status = col_text(q, 2);

		memset(&d, 0, sizeof(d));
		d.drill = col_text(q, 0);
		d.last_start = sqlite3_column_int64(q, 1);
		d.last_ok = status != NULL && strcmp(status, "ok") == 0;
		d.last_success = sqlite3_column_int64(q, 3);
		d.has_rto = sqlite3_column_type(q, 4) != SQLITE_NULL;
		d.rto = sqlite3_column_double(q, 4);
		d.has_rpo = sqlite3_column_type(q, 5) != SQLITE_NULL;
		d.rpo = sqlite3_column_int64(q, 5);
		if (fn(arg, &d, e) == -1)
			goto out;
	}
	if (r != SQLITE_DONE) {
		db_err(st, e, "read");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(q);
	return (rc);
}

/* Not in schema_v1: older state databases get it on first use, and a
 * coffer that does not know it leaves it alone. */
static int
facts_table(struct state *st, struct err *e)
{
	return (exec(st,
	    "CREATE TABLE IF NOT EXISTS metrics_facts ("
	    " kind TEXT NOT NULL,"
	    " name TEXT NOT NULL,"
	    " key TEXT NOT NULL,"
	    " value INTEGER NOT NULL,"
	    " measured INTEGER NOT NULL,"
	    " PRIMARY KEY (kind, name, key))",
	    e));
}

int
state_fact_set(struct state *st, const char *kind, const char *name,
    const char *key, int64_t value, int64_t measured, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (facts_table(st, e) == -1 || exec(st, "BEGIN IMMEDIATE", e) == -1)
		return (-1);
	if (sqlite3_prepare_v2(st->db,
	        "INSERT OR REPLACE INTO metrics_facts (kind, name, key, "
	        "value, measured) VALUES (?, ?, ?, ?, ?)",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "write");
		goto out;
	}
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, value);
	sqlite3_bind_int64(q, 5, measured);
	if (sqlite3_step(q) != SQLITE_DONE) {
		db_err(st, e, "write");
		goto out;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(st->db,
	        "INSERT INTO fact_history (kind, name, key, value, measured) "
	        "VALUES (?, ?, ?, ?, ?)",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "write");
		goto out;
	}
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, value);
	sqlite3_bind_int64(q, 5, measured);
	if (sqlite3_step(q) != SQLITE_DONE) {
		db_err(st, e, "write");
		goto out;
	}
	if (exec(st, "COMMIT", e) == -1)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(q);
	if (rc == -1)
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return (rc);
}

int
state_facts(struct state *st, const char *kind, state_fact_fn fn, void *arg,
    struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1, r;

	if (facts_table(st, e) == -1)
		return (-1);
	if (sqlite3_prepare_v2(st->db,
	        "SELECT name, key, value FROM metrics_facts WHERE kind = ? "
	        "ORDER BY name, key",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "read");
		goto out;
	}
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(q)) == SQLITE_ROW)
		if (fn(arg, col_text(q, 0), col_text(q, 1),
		        sqlite3_column_int64(q, 2), e) == -1)
			goto out;
	if (r != SQLITE_DONE) {
		db_err(st, e, "read");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(q);
	return (rc);
}

int
state_fact_history(struct state *st, const char *kind, const char *key,
    int64_t since, state_fact_point_fn fn, void *arg, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int rc = -1, r;

	if (sqlite3_prepare_v2(st->db,
	        "SELECT name, value, measured FROM fact_history WHERE "
	        "kind = ? AND key = ? AND measured >= ? "
	        "ORDER BY name, measured, rowid",
	        -1, &q, NULL) != SQLITE_OK) {
		db_err(st, e, "read");
		goto out;
	}
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, since);
	while ((r = sqlite3_step(q)) == SQLITE_ROW)
		if (fn(arg, col_text(q, 0), sqlite3_column_int64(q, 1),
		        sqlite3_column_int64(q, 2), e) == -1)
			goto out;
	if (r != SQLITE_DONE) {
		db_err(st, e, "read");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(q);
	return (rc);
}
