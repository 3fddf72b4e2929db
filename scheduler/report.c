/*
 * The KPI report's figures (report.h): one pass over the state
 * database's history, the config's limits, and the scheduler's own
 * overdue/failed view (tick.h) for what needs attention.
 */
#include "scheduler/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "schedule.h"
#include "scheduler/state.h"
#include "scheduler/tick.h"
#include "xmalloc.h"

struct build {
	struct report *r;
	size_t cap, repocap;
	int64_t *last_snapshot; /* per item: start of the newest run whose
	                           snapshot step was ok; 0: none */
};

static void
series_add(struct report_series *s, int64_t t, double v)
{
	/* Grown one at a time: a 90-day window holds hundreds, not more. */
	s->p = xreallocarray(s->p, s->n + 1, sizeof(*s->p));
	s->p[s->n].t = t;
	s->p[s->n].v = v;
	s->n++;
}

static struct report_item *
item_find(struct report *r, const char *kind, const char *name)
{
	for (size_t i = 0; i < r->nitems; i++)
		if (strcmp(r->items[i].kind, kind) == 0 &&
		    strcmp(r->items[i].name, name) == 0)
			return (&r->items[i]);
	return (NULL);
}

static struct report_item *
item_add(struct build *b, const char *kind, const char *name)
{
	struct report *r = b->r;
	struct report_item *it;

	if (r->nitems == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		r->items = xreallocarray(r->items, b->cap, sizeof(*r->items));
		b->last_snapshot = xreallocarray(b->last_snapshot, b->cap,
		    sizeof(*b->last_snapshot));
	}
	b->last_snapshot[r->nitems] = 0;
	it = &r->items[r->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = strcmp(kind, "drill") == 0 ? "drill" : "job";
	it->name = xstrdup(name);
	it->rpo_now = -1;
	it->duration_first = it->duration_second = -1;
	it->day_ok = xcalloc(r->ndays ? r->ndays : 1, sizeof(*it->day_ok));
	it->day_failed =
	    xcalloc(r->ndays ? r->ndays : 1, sizeof(*it->day_failed));
	return (it);
}

/* The [job]s and [drill]s of cfg, in file order, with their limits. */
static int
items_from_config(struct build *b, const struct config *cfg, struct err *e)
{
	static const enum config_type types[] = { CONFIG_JOB, CONFIG_DRILL };

	for (size_t k = 0; k < 2; k++) {
		const struct config_section *sec = NULL;

		while ((sec = config_next(cfg, sec, types[k])) != NULL) {
			struct report_item *it = item_add(b,
			    types[k] == CONFIG_DRILL ? "drill" : "job",
			    config_section_name(sec));
			const char *text = config_get_str(sec, "schedule");
			struct schedule *s = NULL;

			it->in_config = 1;
			if (text != NULL) {
				if (schedule_parse(text, &s, e) == -1)
					return (-1);
				it->schedule = xstrdup(text);
				it->interval = schedule_interval_hint(s);
				schedule_free(s);
			}
			if (types[k] == CONFIG_JOB) {
				/* status's overdue rule, in integers */
				it->rpo_limit = it->interval * 3 / 2;
				continue;
			}
			(void)config_get_duration(sec, "max_rpo",
			    &it->rpo_limit);
			(void)config_get_duration(sec, "max_rto",
			    &it->rto_limit);
		}
	}
	return (0);
}

static void
failure_add(struct report_item *it, const struct state_run *run,
    const struct state_step *steps, size_t n)
{
	struct report_failure *f;

	if (it->nfail == REPORT_FAILURES_MAX) {
		memmove(&it->fail[0], &it->fail[1],
		    (REPORT_FAILURES_MAX - 1) * sizeof(it->fail[0]));
		it->nfail--;
	}
	f = &it->fail[it->nfail++];
	memset(f, 0, sizeof(*f));
	f->id = run->id;
	f->started = run->started;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(steps[i].status, "failed") != 0)
			continue;
		snprintf(f->step, sizeof(f->step), "%s", steps[i].step);
		snprintf(f->class, sizeof(f->class), "%s",
		    steps[i].error_class ? steps[i].error_class : "");
		snprintf(f->message, sizeof(f->message), "%s",
		    steps[i].message ? steps[i].message : "");
		return;
	}
	snprintf(f->class, sizeof(f->class), "%s",
	    run->error_class ? run->error_class : "");
	snprintf(f->message, sizeof(f->message), "%s",
	    run->message ? run->message : "");
}

static int
snapshot_ok(const struct state_step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(steps[i].step, "snapshot") == 0 &&
		    strcmp(steps[i].status, "ok") == 0)
			return (1);
	return (0);
}

/* state_history's callback: one run into its item. */
static int
add_run(void *arg, const struct state_run *run, const struct state_step *steps,
    size_t n, struct err *e)
{
	struct build *b = arg;
	struct report *r = b->r;
	struct report_item *it;
	int64_t *snap;
	int drill = run->kind != NULL && strcmp(run->kind, "drill") == 0;
	int ok;

	(void)e;
	if ((it = item_find(r, drill ? "drill" : "job", run->job)) == NULL)
		it = item_add(b, drill ? "drill" : "job", run->job);
	snap = &b->last_snapshot[it - r->items];
	if (run->started < r->start || run->started > r->now) {
		if (!drill && snapshot_ok(steps, n) && run->started <= r->now)
			*snap = run->started;
		return (0);
	}
	if (strcmp(run->status, "skipped") == 0) {
		it->skipped++;
		return (0);
	}
	if (strcmp(run->status, "ok") != 0 &&
	    strcmp(run->status, "failed") != 0)
		return (0); /* still running */
	ok = strcmp(run->status, "ok") == 0;
	it->runs++;
	it->last_started = run->started;
	snprintf(it->last_status, sizeof(it->last_status), "%s", run->status);
	{
		size_t d = (size_t)((run->started - r->start) / 86400);

		if (d >= r->ndays)
			d = r->ndays - 1;
		if (ok)
			it->day_ok[d]++;
		else
			it->day_failed[d]++;
	}
	if (ok) {
		it->ok++;
		if (run->ended >= run->started)
			series_add(&it->duration, run->started,
			    (double)(run->ended - run->started));
	} else {
		it->failed++;
		failure_add(it, run, steps, n);
	}
	if (drill) {
		if (run->has_rpo)
			series_add(&it->rpo, run->started, (double)run->rpo);
		if (run->has_rto)
			series_add(&it->rto, run->started, run->rto);
		return (0);
	}
	/* The age of the newest snapshot when this run started. */
	if (*snap != 0)
		series_add(&it->rpo, run->started,
		    (double)(run->started - *snap));
	if (snapshot_ok(steps, n))
		*snap = run->started;
	return (0);
}

static void
series_max(const struct report_series *s, uint64_t limit, int *has, double *max,
    size_t *over)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!*has || s->p[i].v > *max)
			*max = s->p[i].v;
		*has = 1;
		if (limit > 0 && s->p[i].v > (double)limit)
			(*over)++;
	}
}

/* Drop what only the history names and the window does not hold: a job
 * removed from the config long ago. */
static void
prune_items(struct build *b)
{
	struct report *r = b->r;
	size_t k = 0;

	for (size_t i = 0; i < r->nitems; i++) {
		struct report_item *it = &r->items[i];

		if (!it->in_config && it->runs == 0 && it->skipped == 0) {
			free(it->name);
			free(it->day_ok);
			free(it->day_failed);
			continue;
		}
		r->items[k] = *it;
		b->last_snapshot[k] = b->last_snapshot[i];
		k++;
	}
	r->nitems = k;
}

static void
finish(struct build *b)
{
	struct report *r = b->r;
	int64_t mid = r->start + (r->now - r->start) / 2;

	prune_items(b);

	for (size_t i = 0; i < r->nitems; i++) {
		struct report_item *it = &r->items[i];
		double sum[2] = { 0, 0 };
		size_t cnt[2] = { 0, 0 };

		if (strcmp(it->kind, "job") == 0 && b->last_snapshot[i] != 0) {
			it->rpo_now = r->now - b->last_snapshot[i];
			series_add(&it->rpo, r->now, (double)it->rpo_now);
		}
		series_max(&it->rpo, it->rpo_limit, &it->has_rpo_max,
		    &it->rpo_max, &it->rpo_over);
		series_max(&it->rto, it->rto_limit, &it->has_rto_max,
		    &it->rto_max, &it->rto_over);
		for (size_t k = 0; k < it->duration.n; k++) {
			int h = it->duration.p[k].t >= mid;

			sum[h] += it->duration.p[k].v;
			cnt[h]++;
		}
		it->has_duration = it->duration.n > 0;
		if (cnt[0] > 0)
			it->duration_first = sum[0] / (double)cnt[0];
		if (cnt[1] > 0)
			it->duration_second = sum[1] / (double)cnt[1];
	}
}

/* The scheduler's overdue/failed view (coffer scheduler status's rule). */
static int
attention(struct report *r, const struct config *cfg, const char *dir,
    struct log *log, struct err *e)
{
	struct tick_status *v = NULL;
	struct tick_drill_status *dv = NULL;
	size_t n = 0, dn = 0;
	int rc = -1;

	if (tick_status_get(cfg, dir, NULL, r->now, log, &v, &n, e) == -1 ||
	    tick_drill_status_get(cfg, dir, r->now, &dv, &dn, e) == -1)
		goto out;
	for (size_t i = 0; i < r->nitems; i++) {
		struct report_item *it = &r->items[i];

		for (size_t k = 0; strcmp(it->kind, "job") == 0 && k < n; k++)
			if (strcmp(v[k].job, it->name) == 0) {
				it->overdue = v[k].overdue;
				it->failed_last = v[k].failed;
			}
		for (size_t k = 0; strcmp(it->kind, "drill") == 0 && k < dn;
		     k++)
			if (strcmp(dv[k].drill, it->name) == 0) {
				it->overdue = dv[k].overdue;
				it->failed_last = dv[k].failed;
			}
		it->attention = it->overdue || it->failed_last;
		if (it->attention)
			r->attention = 1;
	}
	rc = 0;
out:
	tick_status_free(v, n);
	tick_drill_status_free(dv, dn);
	return (rc);
}

static int
add_size(void *arg, const char *name, int64_t value, int64_t measured,
    struct err *e)
{
	struct build *b = arg;
	struct report *r = b->r;
	struct report_repo *rp = NULL;

	(void)e;
	if (measured > r->now)
		return (0);
	/* By name, then time: a new name is a new repository. */
	if (r->nrepos > 0 && strcmp(r->repos[r->nrepos - 1].name, name) == 0)
		rp = &r->repos[r->nrepos - 1];
	else {
		if (r->nrepos == b->repocap) {
			b->repocap = b->repocap ? b->repocap * 2 : 4;
			r->repos = xreallocarray(r->repos, b->repocap,
			    sizeof(*r->repos));
		}
		rp = &r->repos[r->nrepos++];
		memset(rp, 0, sizeof(*rp));
		rp->name = xstrdup(name);
	}
	series_add(&rp->size, measured, (double)value);
	return (0);
}

static void
mark_offsite(struct report *r, const struct config *cfg)
{
	const struct config_section *sec = NULL;

	while ((sec = config_next(cfg, sec, CONFIG_JOB)) != NULL) {
		const char *to = config_get_str(sec, "replicate");

		for (size_t i = 0; to != NULL && i < r->nrepos; i++)
			if (strcmp(r->repos[i].name, to) == 0)
				r->repos[i].offsite = 1;
	}
}

int
report_build(const struct config *cfg, const struct report_opts *o,
    struct report **out, struct err *e)
{
	struct build b;
	struct state *st = NULL;
	char *dir = NULL;
	uint64_t since = o->since ? o->since : REPORT_SINCE_DEFAULT;
	int rc = -1;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	b.r = xcalloc(1, sizeof(*b.r));
	b.r->now = o->now ? o->now : (int64_t)time(NULL);
	b.r->start = b.r->now - (int64_t)since;
	b.r->ndays = (size_t)((since + 86399) / 86400);
	dir = o->state_dir ? xstrdup(o->state_dir) : state_dir_default(cfg);
	if (dir == NULL) {
		err_set(e, ERR_CONFIG,
		    "no state directory: set state_dir in [global], or HOME");
		goto out;
	}
	if (items_from_config(&b, cfg, e) == -1 ||
	    attention(b.r, cfg, dir, o->log, e) == -1 ||
	    state_open(dir, &st, e) == -1 ||
	    state_history(st, NULL, 0, add_run, &b, e) == -1 ||
	    state_fact_history(st, "repository", "size", b.r->start, add_size,
	        &b, e) == -1)
		goto out;
	finish(&b);
	mark_offsite(b.r, cfg);
	*out = b.r;
	b.r = NULL;
	rc = 0;
out:
	state_close(st);
	report_free(b.r);
	free(b.last_snapshot);
	free(dir);
	return (rc);
}

void
report_free(struct report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nitems; i++) {
		struct report_item *it = &r->items[i];

		free(it->name);
		free(it->schedule);
		free(it->rpo.p);
		free(it->rto.p);
		free(it->duration.p);
		free(it->day_ok);
		free(it->day_failed);
	}
	free(r->items);
	for (size_t i = 0; i < r->nrepos; i++) {
		free(r->repos[i].name);
		free(r->repos[i].size.p);
	}
	free(r->repos);
	free(r);
}

double
report_rate(const struct report_item *it)
{
	if (it->runs == 0)
		return (-1);
	return (100.0 * (double)it->ok / (double)it->runs);
}
