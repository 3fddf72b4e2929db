/*
 * The state database: made 0700/0600 with its schema version, runs and
 * steps written and read back in order, the history's filters, the check
 * counter, a newer schema refused, and a writer that dies inside its
 * transaction leaving nothing of it behind.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "err.h"
#include "scheduler/state.h"

static char dir[64], sdir[96], db[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/coffer-state-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sdir, sizeof(sdir), "%s/a/b", dir);
	snprintf(db, sizeof(db), "%s/%s", sdir, STATE_FILE);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct seen {
	int nruns;
	char text[4096];
};

static int
collect(void *arg, const struct state_run *run, const struct state_step *st,
    size_t n, struct err *e)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	(void)e;
	s->nruns++;
	snprintf(s->text + len, sizeof(s->text) - len, "%s@%lld:%s:%s;",
	    run->job, (long long)run->started, run->status, run->trigger);
	for (size_t i = 0; i < n; i++) {
		len = strlen(s->text);
		snprintf(s->text + len, sizeof(s->text) - len,
		    " %s=%s/%s/%s/%llu;", st[i].step, st[i].status,
		    st[i].error_class ? st[i].error_class : "-",
		    st[i].message ? st[i].message : "-",
		    (unsigned long long)st[i].bytes);
	}
	return (0);
}

static const struct state_step steps2[] = {
	{ "snapshot", "ok", 1.5, NULL, "saved", 100 },
	{ "replicate", "failed", 0.5, "net", "cut", 7 },
	{ "check", "ok", 0.1, NULL, NULL, 0 },
};

/* A run whose check was skipped: it does not count for the slice. */
static const struct state_step steps1[] = {
	{ "snapshot", "ok", 1.5, NULL, "saved", 100 },
	{ "check", "skipped", 0, NULL, "the snapshot failed", 0 },
};

START_TEST(test_schema_and_modes)
{
	struct state *st = NULL;
	struct err e;
	struct stat sb;
	sqlite3 *h;
	sqlite3_stmt *q;

	err_clear(&e);
	ck_assert_int_eq(state_open(sdir, &st, &e), 0);
	state_close(st);
	ck_assert_int_eq(stat(sdir, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(db, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &q,
	                     NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(q, 0), STATE_SCHEMA_VERSION);
	sqlite3_finalize(q);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &q,
	                     NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	/* A newer schema is refused, not written over. */
	ck_assert_int_eq(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL,
	                     NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	ck_assert_int_eq(state_open(sdir, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_null(st);
}
END_TEST

START_TEST(test_runs_and_history)
{
	struct state *st = NULL;
	struct seen s;
	struct err e;
	int64_t id1, id2, id3;
	uint64_t n;

	err_clear(&e);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(state_open(sdir, &st, &e), 0);
	ck_assert_int_eq(state_run_begin(st, "nightly", 1000, "manual", &id1,
	                     &e),
	    0);
	ck_assert_int_eq(state_run_end(st, id1, 1010, "ok", steps1, 2, &e), 0);
	ck_assert_int_eq(state_run_begin(st, "other", 2000, "schedule", &id2,
	                     &e),
	    0);
	ck_assert_int_eq(state_run_begin(st, "nightly", 3000, "manual", &id3,
	                     &e),
	    0);
	ck_assert_int_eq(state_run_end(st, id3, 3010, "failed", steps2, 3, &e),
	    0);
	ck_assert_int_ne(id1, id3);
	/* Reopened: all of it is there, oldest first. */
	state_close(st);
	ck_assert_int_eq(state_open(sdir, &st, &e), 0);
	ck_assert_int_eq(state_history(st, NULL, 0, collect, &s, &e), 0);
	ck_assert_int_eq(s.nruns, 3);
	ck_assert_str_eq(s.text,
	    "nightly@1000:ok:manual; snapshot=ok/-/saved/100;"
	    " check=skipped/-/the snapshot failed/0;"
	    "other@2000:running:schedule;"
	    "nightly@3000:failed:manual; snapshot=ok/-/saved/100;"
	    " replicate=failed/net/cut/7; check=ok/-/-/0;");
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(state_history(st, "nightly", 1500, collect, &s, &e),
	    0);
	ck_assert_int_eq(s.nruns, 1);
	ck_assert_ptr_nonnull(strstr(s.text, "nightly@3000"));
	ck_assert_int_eq(state_step_count(st, "nightly", "check", &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(state_step_count(st, "nightly", "snapshot", &n, &e),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(state_step_count(st, "other", "check", &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	state_close(st);
}
END_TEST

/*
 * A process that dies between its writes and its COMMIT: the next opener
 * sees none of them, and the database stays whole.
 */
START_TEST(test_uncommitted_write_vanishes)
{
	struct state *st = NULL;
	struct seen s;
	struct err e;
	int64_t id;
	pid_t pid;
	int ws;

	err_clear(&e);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(state_open(sdir, &st, &e), 0);
	ck_assert_int_eq(state_run_begin(st, "nightly", 1000, "manual", &id,
	                     &e),
	    0);
	state_close(st);
	if ((pid = fork()) == 0) {
		sqlite3 *h;

		if (sqlite3_open(db, &h) != SQLITE_OK ||
		    sqlite3_exec(h,
		        "BEGIN IMMEDIATE;"
		        "UPDATE runs SET status = 'ok', ended = 5;"
		        "INSERT INTO steps VALUES (1, 0, 'snapshot', 'ok', 1, "
		        "NULL, 'half', 1);",
		        NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		_exit(0); /* no COMMIT, no close: a crash */
	}
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	ck_assert_int_eq(state_open(sdir, &st, &e), 0);
	ck_assert_int_eq(state_history(st, NULL, 0, collect, &s, &e), 0);
	ck_assert_str_eq(s.text, "nightly@1000:running:manual;");
	/* And the next write goes through. */
	ck_assert_int_eq(state_run_end(st, id, 1010, "ok", steps2, 1, &e), 0);
	state_close(st);
}
END_TEST

/*
 * A version 1 database (as coffer 1's job run left it) is migrated to 2
 * when opened: its runs kept, the new columns there; a "running" run with
 * no pid is marked crashed only through state_run_crashed, and only while
 * it is still running.  The scheduler's summary and skip queries.
 */
START_TEST(test_migrate_v1_and_summary)
{
	static const char v1[] =
	    "CREATE TABLE runs (id INTEGER PRIMARY KEY, job TEXT NOT NULL,"
	    " started INTEGER NOT NULL, ended INTEGER, status TEXT NOT NULL,"
	    " trigger TEXT NOT NULL);"
	    "CREATE INDEX runs_job ON runs (job, started);"
	    "CREATE TABLE steps (run INTEGER NOT NULL REFERENCES runs (id),"
	    " seq INTEGER NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL,"
	    " duration REAL NOT NULL, error_class TEXT, message TEXT,"
	    " bytes INTEGER NOT NULL, PRIMARY KEY (run, seq));"
	    "INSERT INTO runs VALUES (1, 'nightly', 1000, 1010, 'ok', "
	    "'manual');"
	    "INSERT INTO steps VALUES (1, 0, 'snapshot', 'ok', 1, NULL, "
	    "'saved', 5);"
	    "INSERT INTO runs VALUES (2, 'nightly', 2000, NULL, 'running', "
	    "'manual');"
	    "PRAGMA user_version = 1;";
	struct state_summary sum;
	struct state_run rec, *runs = NULL;
	struct state *st = NULL;
	struct seen s;
	struct err e;
	size_t n;
	int64_t id;
	int changed, yes;
	sqlite3 *h;

	err_clear(&e);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(state_mkdir(sdir, &e), 0);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	ck_assert_int_eq(state_open(sdir, &st, &e), 0);
	ck_assert_int_eq(state_running(st, "nightly", &runs, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(runs[0].id, 2);
	ck_assert_int_eq(runs[0].pid, 0);
	ck_assert_ptr_null(runs[0].boot_id);
	state_runs_free(runs, n);
	ck_assert_int_eq(state_summary(st, "nightly", &sum, &e), 0);
	ck_assert_int_eq(sum.last_start, 1000); /* not the running one */
	ck_assert_int_eq(sum.last_ok, 1000);
	ck_assert_int_eq(sum.last_snapshot_ok, 1000);
	ck_assert_int_eq(sum.last_id, 2);
	ck_assert_int_eq(state_run_crashed(st, 2, "gone", &changed, &e), 0);
	ck_assert_int_eq(changed, 1);
	ck_assert_int_eq(state_run_crashed(st, 2, "again", &changed, &e), 0);
	ck_assert_int_eq(changed, 0);
	ck_assert_int_eq(state_run_crashed(st, 1, "ok one", &changed, &e), 0);
	ck_assert_int_eq(changed, 0);
	ck_assert_int_eq(state_summary(st, "nightly", &sum, &e), 0);
	ck_assert_int_eq(sum.last_start, 2000); /* a failed run counts */
	ck_assert_int_eq(sum.last_ok, 1000);
	/* A skip: recorded once per due time, never a run that counts. */
	memset(&rec, 0, sizeof(rec));
	rec.job = "nightly";
	rec.started = rec.ended = 3000;
	rec.status = "skipped";
	rec.trigger = "schedule";
	rec.slot = 2900;
	rec.message = "still running (pid 7 since then)";
	ck_assert_int_eq(state_skip_recorded(st, "nightly", 2900, &yes, &e), 0);
	ck_assert_int_eq(yes, 0);
	ck_assert_int_eq(state_run_add(st, &rec, &id, &e), 0);
	ck_assert_int_eq(state_skip_recorded(st, "nightly", 2900, &yes, &e), 0);
	ck_assert_int_eq(yes, 1);
	ck_assert_int_eq(state_skip_recorded(st, "nightly", 2800, &yes, &e), 0);
	ck_assert_int_eq(yes, 0);
	ck_assert_int_eq(state_summary(st, "nightly", &sum, &e), 0);
	ck_assert_int_eq(sum.last_start, 2000);
	ck_assert_int_eq(sum.last_id, 2);
	state_close(st);
	/* Reopened: the newest version, the history whole. */
	ck_assert_int_eq(state_open(sdir, &st, &e), 0);
	ck_assert_int_eq(state_history(st, NULL, 0, collect, &s, &e), 0);
	ck_assert_str_eq(s.text,
	    "nightly@1000:ok:manual; snapshot=ok/-/saved/5;"
	    "nightly@2000:failed:manual;"
	    "nightly@3000:skipped:schedule;");
	state_close(st);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	{
		sqlite3_stmt *q;

		ck_assert_int_eq(sqlite3_prepare_v2(h,
		                     "SELECT error_class, message, slot FROM "
		                     "runs WHERE id = 2",
		                     -1, &q, NULL),
		    SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
		ck_assert_str_eq((const char *)sqlite3_column_text(q, 0),
		    "crashed");
		ck_assert_str_eq((const char *)sqlite3_column_text(q, 1),
		    "gone");
		ck_assert_int_eq(sqlite3_column_type(q, 2), SQLITE_NULL);
		sqlite3_finalize(q);
		ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA user_version",
		                     -1, &q, NULL),
		    SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
		ck_assert_int_eq(sqlite3_column_int(q, 0),
		    STATE_SCHEMA_VERSION);
		sqlite3_finalize(q);
	}
	sqlite3_close(h);
}
END_TEST

static int
drill_seen(void *arg, const struct state_drill_latest *d, struct err *e)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	(void)e;
	snprintf(s->text + len, sizeof(s->text) - len,
	    "%s:%lld:%d:%lld:%.1f:%lld;", d->drill, (long long)d->last_start,
	    d->last_ok, (long long)d->last_success, d->has_rto ? d->rto : -1.0,
	    d->has_rpo ? (long long)d->rpo : -1LL);
	return (0);
}

/* A drill's runs: their own kind, never a job's of the same name. */
START_TEST(test_drill_runs)
{
	struct state_step steps[2] = {
		{ "restore", "ok", 2.5, NULL, "restored", 99 },
		{ "verify", "failed", 1, "corrupt", "bad file", 0 },
	};
	struct state_summary sum;
	struct state_run run;
	struct state *st = NULL;
	struct seen s;
	struct err e;
	int64_t id;

	err_clear(&e);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(state_open(sdir, &st, &e), 0);
	memset(&run, 0, sizeof(run));
	run.job = "nightly";
	run.kind = "drill";
	run.started = 1000;
	run.ended = 1010;
	run.status = "ok";
	run.trigger = "schedule";
	run.has_rto = 1;
	run.rto = 9.5;
	run.has_rpo = 1;
	run.rpo = 300;
	run.snapshot = "abc";
	run.consistent = 700;
	ck_assert_int_eq(state_run_record(st, &run, steps, 1, &id, &e), 0);
	run.started = 2000;
	run.ended = 2005;
	run.status = "failed";
	run.has_rto = 0;
	run.rpo = 1500;
	run.consistent = 500;
	ck_assert_int_eq(state_run_record(st, &run, steps, 2, &id, &e), 0);
	/* Not a job's run. */
	ck_assert_int_eq(state_summary(st, "nightly", &sum, &e), 0);
	ck_assert_int_eq(sum.last_start, 0);
	ck_assert_int_eq(sum.last_id, 0);
	ck_assert_int_eq(state_summary_kind(st, "drill", "nightly", &sum, &e),
	    0);
	ck_assert_int_eq(sum.last_start, 2000);
	ck_assert_int_eq(sum.last_ok, 1000);
	ck_assert_int_eq(sum.last_id, id);
	ck_assert_int_eq(sum.last_ok_consistent, 700);
	ck_assert_int_eq(state_drills_latest(st, drill_seen, &s, &e), 0);
	ck_assert_str_eq(s.text, "nightly:2000:0:1010:9.5:1500;");
	s.text[0] = '\0';
	ck_assert_int_eq(state_history(st, NULL, 0, collect, &s, &e), 0);
	ck_assert_str_eq(s.text,
	    "nightly@1000:ok:schedule; restore=ok/-/restored/99;"
	    "nightly@2000:failed:schedule; restore=ok/-/restored/99; "
	    "verify=failed/corrupt/bad file/0;");
	state_close(st);
}
END_TEST

/* A process that opens and closes the database: its own state_open. */
static void
open_close_in_child(void)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		struct state *o = NULL;
		struct err e;

		_exit(state_open(sdir, &o, &e) == 0 ? (state_close(o), 0) : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* How many runs another process sees. */
static int
runs_seen_by_child(void)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		struct state *o = NULL;
		struct seen s;
		struct err e;

		memset(&s, 0, sizeof(s));
		if (state_open(sdir, &o, &e) == -1 ||
		    state_history(o, NULL, 0, collect, &s, &e) == -1)
			_exit(100);
		state_close(o);
		_exit(s.nruns);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return (WEXITSTATUS(status));
}

/*
 * A run written while another process opened and closed the database is
 * seen by a third: state_open must not leave SQLite's locks broken (a
 * close() of the file drops them all), or the second process deletes the
 * -wal file the first one still writes to.
 */
START_TEST(test_writes_seen_after_another_close)
{
	int up[2], down[2], status;
	char c;
	pid_t w;

	/* The writer is a process of its own: SQLite's lock bookkeeping is
	 * per process, and a fork of a process that has the database open
	 * would share it. */
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	ck_assert_int_ne(w = fork(), -1);
	if (w == 0) {
		struct state *st = NULL;
		struct err e;
		int64_t id;

		if (state_open(sdir, &st, &e) == -1 ||
		    state_run_begin(st, "a", 100, "manual", &id, &e) == -1 ||
		    write(up[1], "r", 1) != 1 || read(down[0], &c, 1) != 1 ||
		    state_run_begin(st, "a", 200, "manual", &id, &e) == -1 ||
		    write(up[1], "w", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(1);
		state_close(st);
		_exit(0);
	}
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	open_close_in_child();
	ck_assert_int_eq(write(down[1], "g", 1), 1);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	ck_assert_int_eq(runs_seen_by_child(), 2);
	ck_assert_int_eq(write(down[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(w, &status, 0), w);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(runs_seen_by_child(), 2);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}
END_TEST

START_TEST(test_dir_default)
{
	char *d;

	if (geteuid() == 0) {
		d = state_dir_default(NULL);
		ck_assert_str_eq(d, "/var/lib/coffer");
		free(d);
		return;
	}
	setenv("XDG_STATE_HOME", "/x/state", 1);
	d = state_dir_default(NULL);
	ck_assert_str_eq(d, "/x/state/coffer");
	free(d);
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/u", 1);
	d = state_dir_default(NULL);
	ck_assert_str_eq(d, "/home/u/.local/state/coffer");
	free(d);
}
END_TEST

Suite *state_suite(void);

Suite *
state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_schema_and_modes);
	suite_add_tcase(s, tc);
	tc = tcase_create("runs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_runs_and_history);
	tcase_add_test(tc, test_uncommitted_write_vanishes);
	tcase_add_test(tc, test_migrate_v1_and_summary);
	tcase_add_test(tc, test_writes_seen_after_another_close);
	tcase_add_test(tc, test_dir_default);
	tcase_add_test(tc, test_drill_runs);
	suite_add_tcase(s, tc);
	return (s);
}
