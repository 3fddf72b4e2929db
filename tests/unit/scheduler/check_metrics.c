/*
 * The metrics file's text (scheduler/metrics.c): label values escaped as
 * the exposition format asks, families in their fixed order with HELP and
 * TYPE, series sorted by label values, values printed exactly; and the
 * picture built from a real state database: last_success moves only on
 * success, a skipped step counts 0, durations and bytes from the runs that
 * have them, the replication lag from the recorded facts, and a running
 * job's finished steps laid over it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "err.h"
#include "scheduler/metrics.h"
#include "scheduler/state.h"

static char *
render(const struct metrics_set *s)
{
	size_t len;
	char *t = metrics_render(s, &len);

	ck_assert_uint_eq(strlen(t), len);
	return (t);
}

START_TEST(test_escape_label_values)
{
	struct metrics_set *s = metrics_set_new();
	char *t;

	metrics_set_put(s, METRICS_JOB_LAST_STATUS, "a\"b\\c\nd", "x", 1);
	metrics_set_put(s, METRICS_REPOSITORY_SIZE, "r\\", NULL, 2);
	t = render(s);
	ck_assert_msg(strstr(t,
	                  "\ncoffer_job_last_status{job=\"a\\\"b\\\\c"
	                  "\\nd\",step=\"x\"} 1\n") != NULL,
	    "%s", t);
	ck_assert_msg(strstr(t,
	                  "\ncoffer_repository_size_bytes{repository="
	                  "\"r\\\\\"} 2\n") != NULL,
	    "%s", t);
	/* No raw newline inside a sample line: every line starts with the
	 * name of a family or with '#'. */
	for (char *l = t; *l != '\0'; l = strchr(l, '\n') + 1)
		ck_assert_msg(l[0] == '#' || strncmp(l, "coffer_", 7) == 0,
		    "line: %.40s", l);
	free(t);
	metrics_set_free(s);
}
END_TEST

START_TEST(test_order)
{
	static const char *const names[] = {
		"coffer_job_last_success_timestamp_seconds",
		"coffer_job_last_run_timestamp_seconds",
		"coffer_job_last_status",
		"coffer_job_duration_seconds",
		"coffer_snapshot_added_bytes",
		"coffer_repository_size_bytes",
		"coffer_repository_snapshots",
		"coffer_replicate_lag_seconds",
		"coffer_drill_last_success_timestamp_seconds",
		"coffer_drill_last_status",
		"coffer_drill_rto_seconds",
		"coffer_drill_rpo_seconds",
	};
	struct metrics_set *s = metrics_set_new();
	const char *p;
	char *t, want[256];

	/* Put in the reverse order of what is printed. */
	metrics_set_put(s, METRICS_REPLICATE_LAG, "b", NULL, 1);
	metrics_set_put(s, METRICS_JOB_LAST_STATUS, "b", "snapshot", 1);
	metrics_set_put(s, METRICS_JOB_LAST_STATUS, "a", "snapshot", 1);
	metrics_set_put(s, METRICS_JOB_LAST_STATUS, "a", "check", 0);
	metrics_set_put(s, METRICS_JOB_LAST_STATUS, "B", "x", 1);
	metrics_set_put(s, METRICS_JOB_LAST_SUCCESS, "z", NULL, 5);
	metrics_set_put(s, METRICS_JOB_LAST_SUCCESS, "a", NULL, 6);
	t = render(s);
	/* Every family, in order, HELP then TYPE gauge. */
	p = t;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *h;

		snprintf(want, sizeof(want), "# HELP %s ", names[i]);
		ck_assert_msg((h = strstr(p, want)) != NULL, "%s after %s",
		    want, p);
		snprintf(want, sizeof(want), "\n# TYPE %s gauge\n", names[i]);
		ck_assert_msg(strstr(h, want) == strchr(h, '\n'), "%s", h);
		p = h + 1;
	}
	/* Series by label values, bytewise ("B" before "a"). */
	ck_assert_msg(
	    strstr(t,
	        "coffer_job_last_success_timestamp_seconds{job=\"a\"} 6\n"
	        "coffer_job_last_success_timestamp_seconds{job=\"z\"} 5\n") !=
	        NULL,
	    "%s", t);
	ck_assert_msg(
	    strstr(t,
	        "gauge\n"
	        "coffer_job_last_status{job=\"B\",step=\"x\"} 1\n"
	        "coffer_job_last_status{job=\"a\",step=\"check\"} 0\n"
	        "coffer_job_last_status{job=\"a\",step=\"snapshot\"} 1\n"
	        "coffer_job_last_status{job=\"b\",step=\"snapshot\"} 1\n"
	        "# HELP coffer_job_duration_seconds") != NULL,
	    "%s", t);
	ck_assert_msg(
	    strstr(t,
	        "coffer_replicate_lag_seconds{job=\"b\"} 1\n"
	        "# HELP coffer_drill_last_success_timestamp_seconds") != NULL,
	    "%s", t);
	free(t);
	metrics_set_free(s);
}
END_TEST

START_TEST(test_values)
{
	struct metrics_set *s = metrics_set_new();
	char *t;

	metrics_set_put(s, METRICS_JOB_LAST_RUN, "a", NULL, 1796626722);
	metrics_set_put(s, METRICS_JOB_DURATION, "a", "snapshot", 0.125);
	metrics_set_put(s, METRICS_JOB_DURATION, "a", "check", 1.0 / 3);
	metrics_set_put(s, METRICS_REPLICATE_LAG, "a", NULL, INFINITY);
	metrics_set_put(s, METRICS_SNAPSHOT_ADDED_BYTES, "a", NULL,
	    4503599627370496.0); /* 2^52: exact, no exponent */
	/* A second put replaces the value. */
	metrics_set_put(s, METRICS_REPOSITORY_SNAPSHOTS, "r", NULL, 1);
	metrics_set_put(s, METRICS_REPOSITORY_SNAPSHOTS, "r", NULL, 7);
	t = render(s);
	ck_assert_ptr_nonnull(strstr(t, "{job=\"a\"} 1796626722\n"));
	ck_assert_ptr_nonnull(strstr(t, "step=\"snapshot\"} 0.125\n"));
	ck_assert_ptr_nonnull(strstr(t, "step=\"check\"} 0.333333333\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "coffer_replicate_lag_seconds{job=\"a\"} +Inf\n"));
	ck_assert_ptr_nonnull(strstr(t, "{job=\"a\"} 4503599627370496\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "coffer_repository_snapshots{repository=\"r\"} 7\n"));
	ck_assert_ptr_null(strstr(t, "{repository=\"r\"} 1\n"));
	free(t);
	metrics_set_free(s);
}
END_TEST

/* ------------------------------------------------ from a state database */

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/coffer-metrics-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
run(struct state *st, const char *job, int64_t t0, int64_t t1,
    const char *status, const struct state_step *steps, size_t n)
{
	struct err e;
	int64_t id;

	err_clear(&e);
	ck_assert_int_eq(state_run_begin(st, job, t0, "manual", &id, &e), 0);
	ck_assert_int_eq(state_run_end(st, id, t1, status, steps, n, &e), 0);
}

static int
has(const char *t, const char *line)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "\n%s\n", line);
	return (strstr(t, buf) != NULL);
}

#define HAS(t, l) ck_assert_msg(has((t), (l)), "no '%s' in:\n%s", (l), (t))
#define HASNT(t, l)                                                            \
	ck_assert_msg(!has((t), (l)), "'%s' should not be in:\n%s", (l), (t))

START_TEST(test_from_state)
{
	const struct state_step ok1[] = {
		{ "snapshot", "ok", 2.5, NULL, "saved", 1000 },
		{ "replicate", "ok", 1.25, NULL, NULL, 900 },
	};
	const struct state_step failed2[] = {
		{ "snapshot", "failed", 0.5, "io", "no source", 0 },
		{ "replicate", "skipped", 0, NULL, "the snapshot failed", 0 },
	};
	const struct state_step other[] = {
		{ "snapshot", "ok", 3, NULL, NULL, 77 },
	};
	struct metrics_set *s = metrics_set_new();
	struct state *st = NULL;
	struct err e;
	char *t;

	err_clear(&e);
	ck_assert_int_eq(state_open(dir, &st, &e), 0);
	run(st, "nightly", 100, 110, "ok", ok1, 2);
	run(st, "nightly", 200, 205, "failed", failed2, 2);
	/* A run that has not ended counts as run, not as success. */
	run(st, "other", 300, 0, "running", NULL, 0);
	run(st, "other", 50, 60, "ok", other, 1);
	ck_assert_int_eq(state_fact_set(st, "repository", "local", "size",
	                     12345, 1, &e),
	    0);
	ck_assert_int_eq(state_fact_set(st, "repository", "local", "snapshots",
	                     3, 1, &e),
	    0);
	ck_assert_int_eq(state_fact_set(st, "repository", "local", "size",
	                     23456, 2, &e),
	    0);
	ck_assert_int_eq(state_fact_set(st, "replicate", "nightly",
	                     "src_newest", 500, 1, &e),
	    0);
	ck_assert_int_eq(state_fact_set(st, "replicate", "nightly",
	                     "dst_newest", 440, 1, &e),
	    0);
	ck_assert_int_eq(state_fact_set(st, "replicate", "other", "src_newest",
	                     500, 1, &e),
	    0);
	ck_assert_int_eq(metrics_from_state(st, NULL, s, &e), 0);
	t = render(s);
	/* nightly: success from run 1, run and statuses from run 2. */
	HAS(t,
	    "coffer_job_last_success_timestamp_seconds{job=\"nightly\"} "
	    "110");
	HAS(t, "coffer_job_last_run_timestamp_seconds{job=\"nightly\"} 200");
	HAS(t, "coffer_job_last_status{job=\"nightly\",step=\"snapshot\"} 0");
	HAS(t, "coffer_job_last_status{job=\"nightly\",step=\"replicate\"} 0");
	HAS(t,
	    "coffer_job_duration_seconds{job=\"nightly\",step=\"snapshot\"} "
	    "0.5");
	/* Skipped in run 2: its duration is run 1's. */
	HAS(t,
	    "coffer_job_duration_seconds{job=\"nightly\",step="
	    "\"replicate\"} 1.25");
	HAS(t, "coffer_snapshot_added_bytes{job=\"nightly\"} 1000");
	/* other: started at 300 (running), succeeded at 60. */
	HAS(t, "coffer_job_last_run_timestamp_seconds{job=\"other\"} 300");
	HAS(t, "coffer_job_last_success_timestamp_seconds{job=\"other\"} 60");
	HAS(t, "coffer_repository_size_bytes{repository=\"local\"} 23456");
	HAS(t, "coffer_repository_snapshots{repository=\"local\"} 3");
	HAS(t, "coffer_replicate_lag_seconds{job=\"nightly\"} 60");
	/* The target was never reached: it holds none. */
	HAS(t, "coffer_replicate_lag_seconds{job=\"other\"} +Inf");
	free(t);
	metrics_set_free(s);

	/* A running third run of nightly: its snapshot ended ok, the rest
	 * is not decided yet; last_success stays until the run ends ok. */
	{
		struct job_result res;

		memset(&res, 0, sizeof(res));
		res.failed_step = -1;
		res.started = 400;
		res.steps[JOB_STEP_SNAPSHOT].configured = 1;
		res.steps[JOB_STEP_SNAPSHOT].ran = 1;
		res.steps[JOB_STEP_SNAPSHOT].status = JOB_OK;
		res.steps[JOB_STEP_SNAPSHOT].duration = 4;
		res.steps[JOB_STEP_SNAPSHOT].bytes = 4242;
		res.steps[JOB_STEP_REPLICATE].configured = 1;
		s = metrics_set_new();
		ck_assert_int_eq(metrics_from_state(st, NULL, s, &e), 0);
		metrics_overlay(s, "nightly", &res, JOB_STEP_SNAPSHOT, 0);
		t = render(s);
		HAS(t,
		    "coffer_job_last_run_timestamp_seconds{job=\"nightly\"} "
		    "400");
		HAS(t,
		    "coffer_job_last_success_timestamp_seconds{job="
		    "\"nightly\"} 110");
		HAS(t,
		    "coffer_job_last_status{job=\"nightly\",step="
		    "\"snapshot\"} 1");
		HAS(t,
		    "coffer_job_last_status{job=\"nightly\",step="
		    "\"replicate\"} 0");
		HAS(t, "coffer_snapshot_added_bytes{job=\"nightly\"} 4242");
		free(t);
		metrics_set_free(s);

		/* It ends: replicate ran ok too; last_success is its end. */
		res.steps[JOB_STEP_REPLICATE].ran = 1;
		res.steps[JOB_STEP_REPLICATE].status = JOB_OK;
		res.ok = 1;
		res.ended = 420;
		s = metrics_set_new();
		ck_assert_int_eq(metrics_from_state(st, NULL, s, &e), 0);
		metrics_overlay(s, "nightly", &res, JOB_NSTEPS - 1, 1);
		t = render(s);
		HAS(t,
		    "coffer_job_last_success_timestamp_seconds{job="
		    "\"nightly\"} 420");
		HAS(t,
		    "coffer_job_last_status{job=\"nightly\",step="
		    "\"replicate\"} 1");
		HASNT(t,
		    "coffer_job_last_status{job=\"nightly\",step="
		    "\"check\"} 0");
		free(t);
		metrics_set_free(s);
	}
	state_close(st);
}
END_TEST

START_TEST(test_never_succeeded)
{
	const struct state_step f[] = {
		{ "snapshot", "failed", 1, "io", NULL, 0 },
	};
	struct metrics_set *s = metrics_set_new();
	struct state *st = NULL;
	struct err e;
	char *t;

	err_clear(&e);
	ck_assert_int_eq(state_open(dir, &st, &e), 0);
	run(st, "j", 10, 20, "failed", f, 1);
	ck_assert_int_eq(metrics_from_state(st, NULL, s, &e), 0);
	t = render(s);
	/* 0, not absent: time() - 0 trips any "too old" alert. */
	HAS(t, "coffer_job_last_success_timestamp_seconds{job=\"j\"} 0");
	HASNT(t, "coffer_snapshot_added_bytes{job=\"j\"} 0");
	free(t);
	metrics_set_free(s);
	state_close(st);
}
END_TEST

/* A run of kind kind, recorded whole. */
static void
run_kind(struct state *st, const char *kind, const char *job, int64_t t0,
    int64_t t1, const char *status, const struct state_step *steps, size_t n)
{
	struct state_run r;
	struct err e;
	int64_t id;

	memset(&r, 0, sizeof(r));
	r.job = job;
	r.kind = kind;
	r.started = t0;
	r.ended = t1;
	r.status = status;
	r.trigger = "schedule";
	err_clear(&e);
	ck_assert_int_eq(state_run_record(st, &r, steps, n, &id, &e), 0);
}

/*
 * A prune run shows as step "prune" of its job and moves neither the
 * job's last run nor its last success; a step skipped as locked shows 2,
 * from the state database and laid over it alike.
 */
START_TEST(test_prune_and_locked)
{
	const struct state_step ok1[] = {
		{ "snapshot", "ok", 2, NULL, "saved", 10 },
		{ "forget", "ok", 1, NULL, NULL, 0 },
	};
	const struct state_step pruned[] = {
		{ "prune", "ok", 3, NULL, "pruned", 500 },
	};
	const struct state_step locked[] = {
		{ "snapshot", "skipped", 0, "locked", "repository r is locked",
		    0 },
		{ "forget", "skipped", 0, "locked", "the snapshot was skipped",
		    0 },
	};
	struct metrics_set *s = metrics_set_new();
	struct state *st = NULL;
	struct job_result res;
	struct err e;
	char *t;

	err_clear(&e);
	ck_assert_int_eq(metrics_status_value("ok", NULL), 1);
	ck_assert_int_eq(metrics_status_value("failed", "io"), 0);
	ck_assert_int_eq(metrics_status_value("skipped", NULL), 0);
	ck_assert_int_eq(metrics_status_value("skipped", "locked"), 2);
	ck_assert_int_eq(state_open(dir, &st, &e), 0);
	run(st, "nightly", 100, 110, "ok", ok1, 2);
	run_kind(st, "prune", "nightly", 200, 230, "ok", pruned, 1);
	run_kind(st, "job", "nightly", 300, 301, "skipped", locked, 2);
	ck_assert_int_eq(metrics_from_state(st, NULL, s, &e), 0);
	t = render(s);
	HAS(t, "coffer_job_last_run_timestamp_seconds{job=\"nightly\"} 100");
	HAS(t,
	    "coffer_job_last_success_timestamp_seconds{job=\"nightly\"} "
	    "110");
	HAS(t, "coffer_job_last_status{job=\"nightly\",step=\"prune\"} 1");
	HAS(t, "coffer_job_duration_seconds{job=\"nightly\",step=\"prune\"} 3");
	HAS(t, "coffer_job_last_status{job=\"nightly\",step=\"snapshot\"} 2");
	HAS(t, "coffer_job_last_status{job=\"nightly\",step=\"forget\"} 2");
	/* The skipped run ran nothing: durations stay those of run 1. */
	HAS(t,
	    "coffer_job_duration_seconds{job=\"nightly\",step="
	    "\"snapshot\"} 2");
	free(t);
	metrics_set_free(s);

	/* A prune run ending ok over it: the job's times stay. */
	memset(&res, 0, sizeof(res));
	res.failed_step = -1;
	res.prune = 1;
	res.ok = 1;
	res.started = 400;
	res.ended = 410;
	res.steps[JOB_STEP_PRUNE].configured = 1;
	res.steps[JOB_STEP_PRUNE].ran = 1;
	res.steps[JOB_STEP_PRUNE].status = JOB_OK;
	s = metrics_set_new();
	ck_assert_int_eq(metrics_from_state(st, NULL, s, &e), 0);
	metrics_overlay(s, "nightly", &res, JOB_NSTEPS - 1, 1);
	t = render(s);
	HAS(t, "coffer_job_last_run_timestamp_seconds{job=\"nightly\"} 100");
	HAS(t,
	    "coffer_job_last_success_timestamp_seconds{job=\"nightly\"} "
	    "110");
	HASNT(t, "coffer_job_last_status{job=\"nightly\",step=\"snapshot\"} 0");
	free(t);
	metrics_set_free(s);

	/* A job run ended skipped as locked: 2, and no run, no success. */
	memset(&res, 0, sizeof(res));
	res.failed_step = -1;
	res.locked = 1;
	res.started = 500;
	res.ended = 560;
	res.steps[JOB_STEP_SNAPSHOT].configured = 1;
	res.steps[JOB_STEP_SNAPSHOT].status = JOB_SKIPPED;
	res.steps[JOB_STEP_SNAPSHOT].ran = 1;
	res.steps[JOB_STEP_SNAPSHOT].locked = 1;
	s = metrics_set_new();
	ck_assert_int_eq(metrics_from_state(st, NULL, s, &e), 0);
	metrics_overlay(s, "nightly", &res, JOB_NSTEPS - 1, 1);
	t = render(s);
	HAS(t, "coffer_job_last_run_timestamp_seconds{job=\"nightly\"} 100");
	HAS(t,
	    "coffer_job_last_success_timestamp_seconds{job=\"nightly\"} "
	    "110");
	HAS(t, "coffer_job_last_status{job=\"nightly\",step=\"snapshot\"} 2");
	free(t);
	metrics_set_free(s);
	state_close(st);
}
END_TEST

Suite *metrics_suite(void);

Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("render");
	TCase *db = tcase_create("state");

	tcase_add_test(tc, test_escape_label_values);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_values);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(db, setup, teardown);
	tcase_add_test(db, test_from_state);
	tcase_add_test(db, test_never_succeeded);
	tcase_add_test(db, test_prune_and_locked);
	suite_add_tcase(s, db);
	return (s);
}
