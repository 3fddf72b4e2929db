/*
 * coffer report's figures (scheduler/report.c) on a small history written
 * through state.h, every expected number worked out by hand below: runs,
 * success rate, failures and their reasons, RPO at each run against 1.5 x
 * the interval, a drill's RTO and RPO against max_rto and max_rpo, the
 * duration halves, runs per day, repository sizes, and the attention
 * flags of coffer scheduler status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "config.h"
#include "scheduler/report.h"
#include "scheduler/state.h"
#include "tutil.h"

#define D 86400
/* 2026-12-07T12:00:00Z */
#define NOW ((int64_t)1796644800)
/* The window: ten days back from NOW. */
#define S (NOW - 10 * D)

static char *dir, *sdir;
static struct config *cfg;

static void
setup(void)
{
	char *path, *text;
	struct err e;

	dir = tutil_mkdtemp();
	sdir = tutil_path(dir, "state");
	path = tutil_path(dir, "coffer.conf");
	text = NULL;
	ck_assert_int_ge(asprintf(&text,
	                     "[global]\nstate_dir = %s\n\n"
	                     "[repository local]\npath = %s/r\n\n"
	                     "[repository off]\npath = %s/o\n\n"
	                     "[source f]\ntype = files\npaths = %s\n\n"
	                     "[job nightly]\nschedule = daily 02:30\n"
	                     "sources = f\nrepository = local\n"
	                     "replicate = off\n\n"
	                     "[drill nightly]\nrepository = off\n"
	                     "source = f\ntarget = %s/t\nmax_rto = 100s\n"
	                     "max_rpo = 1h\n",
	                     sdir, dir, dir, dir, dir),
	    0);
	tutil_write_file(path, text, strlen(text), 0600);
	err_clear(&e);
	ck_assert_msg(config_load(path, &cfg, &e) == 0, "%s", e.msg);
	free(text);
	free(path);
}

static void
teardown(void)
{
	config_free(cfg);
	tutil_rmtree(dir);
	free(dir);
	free(sdir);
}

static void
job_run(struct state *st, const char *job, int64_t t0, int64_t t1,
    const char *status, const char *snap, const char *repl, const char *class,
    const char *msg)
{
	struct state_step steps[2];
	struct state_run run;
	struct err e;
	int64_t id;

	memset(&run, 0, sizeof(run));
	memset(steps, 0, sizeof(steps));
	run.job = job;
	run.started = t0;
	run.ended = t1;
	run.status = status;
	run.trigger = "schedule";
	steps[0].step = "snapshot";
	steps[0].status = snap;
	steps[1].step = "replicate";
	steps[1].status = repl;
	if (strcmp(snap, "failed") == 0) {
		steps[0].error_class = class;
		steps[0].message = msg;
	} else if (strcmp(repl, "failed") == 0) {
		steps[1].error_class = class;
		steps[1].message = msg;
	}
	err_clear(&e);
	ck_assert_int_eq(state_run_record(st, &run, steps, 2, &id, &e), 0);
}

static void
drill_run(struct state *st, int64_t t0, int ok, double rto, int64_t rpo)
{
	struct state_step step;
	struct state_run run;
	struct err e;
	int64_t id;

	memset(&run, 0, sizeof(run));
	memset(&step, 0, sizeof(step));
	run.job = "nightly";
	run.kind = "drill";
	run.started = t0;
	run.ended = t0 + 60;
	run.status = ok ? "ok" : "failed";
	run.trigger = "manual";
	run.has_rto = run.has_rpo = 1;
	run.rto = rto;
	run.rpo = rpo;
	step.step = "rto";
	step.status = ok ? "ok" : "failed";
	step.error_class = ok ? NULL : "check";
	step.message = ok ? NULL : "RTO 150.0 s exceeds max_rto 1m40s";
	err_clear(&e);
	ck_assert_int_eq(state_run_record(st, &run, &step, 1, &id, &e), 0);
}

static void
history(void)
{
	struct state_run skip;
	struct state *st = NULL;
	struct err e;
	int64_t id;

	err_clear(&e);
	ck_assert_int_eq(state_open(sdir, &st, &e), 0);
	/* Before the window: counts only as the newest snapshot. */
	job_run(st, "nightly", S - D, S - D + 50, "ok", "ok", "ok", NULL, NULL);
	/* Day 0: ok, 100 s; the snapshot before it is a day and an hour old. */
	job_run(st, "nightly", S + 3600, S + 3700, "ok", "ok", "ok", NULL,
	    NULL);
	/* Day 1: no snapshot; RPO a day. */
	job_run(st, "nightly", S + D + 3600, S + D + 3610, "failed", "failed",
	    "skipped", "io", "disk full");
	/* Day 2: a snapshot, then replication failed; RPO two days. */
	job_run(st, "nightly", S + 2 * D + 3600, S + 2 * D + 3900, "failed",
	    "ok", "failed", "net", "connection refused");
	memset(&skip, 0, sizeof(skip));
	skip.job = "nightly";
	skip.started = skip.ended = S + 2 * D + 7200;
	skip.status = "skipped";
	skip.trigger = "schedule";
	skip.message = "still running";
	ck_assert_int_eq(state_run_add(st, &skip, &id, &e), 0);
	/* Day 8: ok, 300 s; RPO six days. */
	job_run(st, "nightly", S + 8 * D + 3600, S + 8 * D + 3900, "ok", "ok",
	    "ok", NULL, NULL);
	/* Only in the history. */
	job_run(st, "ghost", S + 5 * D, S + 5 * D + 10, "ok", "ok", "ok", NULL,
	    NULL);
	/* The drill of the same name: a pass, then RTO over max_rto. */
	drill_run(st, S + 3 * D, 1, 50, 1800);
	drill_run(st, S + 4 * D, 0, 150, 7200);
	ck_assert_int_eq(state_fact_set(st, "repository", "local", "size", 100,
	                     S - 10, &e),
	    0);
	ck_assert_int_eq(state_fact_set(st, "repository", "local", "size", 200,
	                     S + 10, &e),
	    0);
	ck_assert_int_eq(state_fact_set(st, "repository", "local", "snapshots",
	                     7, S + 10, &e),
	    0);
	ck_assert_int_eq(state_fact_set(st, "repository", "local", "size", 300,
	                     S + D, &e),
	    0);
	ck_assert_int_eq(state_fact_set(st, "repository", "off", "size", 50,
	                     S + 5, &e),
	    0);
	state_close(st);
}

static void
point(const struct report_series *s, size_t i, int64_t t, double v)
{
	ck_assert_uint_gt(s->n, i);
	ck_assert_int_eq(s->p[i].t, t);
	ck_assert_double_eq_tol(s->p[i].v, v, 1e-9);
}

START_TEST(test_figures)
{
	struct report_opts o;
	struct report *r = NULL;
	const struct report_item *j, *d, *g;
	struct err e;

	history();
	memset(&o, 0, sizeof(o));
	o.now = NOW;
	o.since = 10 * D;
	err_clear(&e);
	ck_assert_msg(report_build(cfg, &o, &r, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(r->start, S);
	ck_assert_uint_eq(r->ndays, 10);
	ck_assert_uint_eq(r->nitems, 3);
	j = &r->items[0];
	d = &r->items[1];
	g = &r->items[2];

	/* The job. */
	ck_assert_str_eq(j->kind, "job");
	ck_assert_str_eq(j->name, "nightly");
	ck_assert_int_eq(j->in_config, 1);
	ck_assert_uint_eq(j->interval, D);
	ck_assert_uint_eq(j->rpo_limit, 129600);
	ck_assert_uint_eq(j->runs, 4);
	ck_assert_uint_eq(j->ok, 2);
	ck_assert_uint_eq(j->failed, 2);
	ck_assert_uint_eq(j->skipped, 1);
	ck_assert_double_eq_tol(report_rate(j), 50.0, 1e-9);
	ck_assert_uint_eq(j->nfail, 2);
	ck_assert_int_eq(j->fail[0].started, S + D + 3600);
	ck_assert_str_eq(j->fail[0].step, "snapshot");
	ck_assert_str_eq(j->fail[0].class, "io");
	ck_assert_str_eq(j->fail[0].message, "disk full");
	ck_assert_str_eq(j->fail[1].step, "replicate");
	ck_assert_str_eq(j->fail[1].class, "net");
	ck_assert_str_eq(j->fail[1].message, "connection refused");
	ck_assert_uint_eq(j->rpo.n, 5);
	point(&j->rpo, 0, S + 3600, D + 3600);
	point(&j->rpo, 1, S + D + 3600, D);
	point(&j->rpo, 2, S + 2 * D + 3600, 2 * D);
	point(&j->rpo, 3, S + 8 * D + 3600, 6 * D);
	point(&j->rpo, 4, NOW, 2 * D - 3600);
	ck_assert_int_eq(j->rpo_now, 2 * D - 3600);
	ck_assert_double_eq_tol(j->rpo_max, 6 * D, 1e-9);
	ck_assert_uint_eq(j->rpo_over, 3);
	ck_assert_uint_eq(j->rto.n, 0);
	ck_assert_uint_eq(j->duration.n, 2);
	ck_assert_double_eq_tol(j->duration_first, 100, 1e-9);
	ck_assert_double_eq_tol(j->duration_second, 300, 1e-9);
	ck_assert_uint_eq(j->day_ok[0], 1);
	ck_assert_uint_eq(j->day_failed[1], 1);
	ck_assert_uint_eq(j->day_failed[2], 1);
	ck_assert_uint_eq(j->day_ok[8], 1);
	ck_assert_uint_eq(j->day_ok[9] + j->day_failed[9], 0);
	ck_assert_int_eq(j->last_started, S + 8 * D + 3600);
	ck_assert_str_eq(j->last_status, "ok");
	/* Its last ok run is 47 h old: more than 1.5 x a day. */
	ck_assert_int_eq(j->overdue, 1);
	ck_assert_int_eq(j->failed_last, 0);
	ck_assert_int_eq(j->attention, 1);

	/* The drill of the same name, kept apart. */
	ck_assert_str_eq(d->kind, "drill");
	ck_assert_str_eq(d->name, "nightly");
	ck_assert_uint_eq(d->rto_limit, 100);
	ck_assert_uint_eq(d->rpo_limit, 3600);
	ck_assert_uint_eq(d->runs, 2);
	ck_assert_uint_eq(d->ok, 1);
	ck_assert_uint_eq(d->failed, 1);
	ck_assert_uint_eq(d->nfail, 1);
	ck_assert_str_eq(d->fail[0].step, "rto");
	ck_assert_str_eq(d->fail[0].class, "check");
	point(&d->rto, 0, S + 3 * D, 50);
	point(&d->rto, 1, S + 4 * D, 150);
	point(&d->rpo, 0, S + 3 * D, 1800);
	point(&d->rpo, 1, S + 4 * D, 7200);
	ck_assert_uint_eq(d->rpo.n, 2);
	ck_assert_int_eq(d->rpo_now, -1);
	ck_assert_double_eq_tol(d->rto_max, 150, 1e-9);
	ck_assert_uint_eq(d->rto_over, 1);
	ck_assert_double_eq_tol(d->rpo_max, 7200, 1e-9);
	ck_assert_uint_eq(d->rpo_over, 1);
	ck_assert_double_eq_tol(d->duration_first, 60, 1e-9);
	ck_assert_double_eq_tol(d->duration_second, -1, 1e-9);
	ck_assert_int_eq(d->overdue, 0); /* no schedule */
	ck_assert_int_eq(d->failed_last, 1);
	ck_assert_int_eq(d->attention, 1);

	/* Only in the history: no limits, no attention. */
	ck_assert_str_eq(g->name, "ghost");
	ck_assert_int_eq(g->in_config, 0);
	ck_assert_uint_eq(g->runs, 1);
	ck_assert_uint_eq(g->rpo_limit, 0);
	ck_assert_int_eq(g->attention, 0);
	ck_assert_int_eq(r->attention, 1);

	/* Sizes in the window, by name then time. */
	ck_assert_uint_eq(r->nrepos, 2);
	ck_assert_str_eq(r->repos[0].name, "local");
	ck_assert_int_eq(r->repos[0].offsite, 0);
	ck_assert_uint_eq(r->repos[0].size.n, 2);
	point(&r->repos[0].size, 0, S + 10, 200);
	point(&r->repos[0].size, 1, S + D, 300);
	ck_assert_str_eq(r->repos[1].name, "off");
	ck_assert_int_eq(r->repos[1].offsite, 1);
	point(&r->repos[1].size, 0, S + 5, 50);
	report_free(r);
}
END_TEST

/* A window that holds nothing: no runs, no rate, no points. */
START_TEST(test_empty)
{
	struct report_opts o;
	struct report *r = NULL;
	struct err e;

	history();
	memset(&o, 0, sizeof(o));
	o.now = S - 2 * D;
	o.since = D;
	o.state_dir = sdir;
	err_clear(&e);
	ck_assert_msg(report_build(cfg, &o, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r->ndays, 1);
	ck_assert_uint_eq(r->items[0].runs, 0);
	ck_assert_double_eq_tol(report_rate(&r->items[0]), -1, 1e-9);
	ck_assert_uint_eq(r->items[0].rpo.n, 0);
	ck_assert_int_eq(r->items[0].rpo_now, -1);
	ck_assert_uint_eq(r->nrepos, 0);
	report_free(r);
}
END_TEST

Suite *report_suite(void);

Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_figures);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return (s);
}
