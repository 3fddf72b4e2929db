/*
 * The metrics file (metrics.h): a set of samples built from the state
 * database, rendered in Prometheus's text format, published with afile;
 * and the measurements a job's worker takes after a step.
 */
#include "scheduler/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afile.h"
#include "config.h"
#include "log.h"
#include "scheduler/state.h"
#include "store/store.h"
#include "xmalloc.h"

static const struct {
	const char *name;
	const char *help;
	int nlabels;
	const char *label[2];
} families[METRICS_NFAMILIES] = {
	[METRICS_JOB_LAST_SUCCESS] = { "coffer_job_last_success_timestamp_"
	                               "seconds",
	    "End of the job's newest run that succeeded (Unix time; 0: none).",
	    1, { "job", NULL } },
	[METRICS_JOB_LAST_RUN] = { "coffer_job_last_run_timestamp_seconds",
	    "Start of the job's newest run (Unix time).", 1, { "job", NULL } },
	[METRICS_JOB_LAST_STATUS] = { "coffer_job_last_status",
	    "1 if the step succeeded in the job's newest run, 0 if it failed "
	    "or was skipped, 2 if it was skipped because the repository "
	    "stayed locked for lock_wait.",
	    2, { "job", "step" } },
	[METRICS_JOB_DURATION] = { "coffer_job_duration_seconds",
	    "How long the step took in the newest run that ran it.", 2,
	    { "job", "step" } },
	[METRICS_SNAPSHOT_ADDED_BYTES] = { "coffer_snapshot_added_bytes",
	    "Bytes the job's newest successful snapshot stored (new data, "
	    "after deduplication and compression).",
	    1, { "job", NULL } },
	[METRICS_REPOSITORY_SIZE] = { "coffer_repository_size_bytes",
	    "Bytes of the repository's files, as last measured.", 1,
	    { "repository", NULL } },
	[METRICS_REPOSITORY_SNAPSHOTS] = { "coffer_repository_snapshots",
	    "Snapshots in the repository, as last measured.", 1,
	    { "repository", NULL } },
	[METRICS_REPLICATE_LAG] = { "coffer_replicate_lag_seconds",
	    "Store time of the repository's newest snapshot minus that of the "
	    "newest one the replicate target holds (+Inf: none).",
	    1, { "job", NULL } },
	[METRICS_DRILL_LAST_SUCCESS] = { "coffer_drill_last_success_timestamp_"
	                                 "seconds",
	    "End of the drill's newest run that passed (Unix time; 0: none).",
	    1, { "drill", NULL } },
	[METRICS_DRILL_LAST_STATUS] = { "coffer_drill_last_status",
	    "1 if the drill's newest run passed, 0 if it failed.", 1,
	    { "drill", NULL } },
	[METRICS_DRILL_RTO] = { "coffer_drill_rto_seconds",
	    "Recovery time the drill's newest run measured: from its start to "
	    "the restore validated.",
	    1, { "drill", NULL } },
	[METRICS_DRILL_RPO] = { "coffer_drill_rpo_seconds",
	    "Age of the data the drill's newest run restored: its start minus "
	    "the snapshot's consistency time.",
	    1, { "drill", NULL } },
};

/* ------------------------------------------------------------ the set */

struct sample {
	enum metrics_family fam;
	char *l1, *l2;
	double v;
};

struct metrics_set {
	struct sample *v;
	size_t n, cap;
};

struct metrics_set *
metrics_set_new(void)
{
	return (xcalloc(1, sizeof(struct metrics_set)));
}

void
metrics_set_free(struct metrics_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].l1);
		free(s->v[i].l2);
	}
	free(s->v);
	free(s);
}

static int
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

static struct sample *
find(const struct metrics_set *s, enum metrics_family fam, const char *l1,
    const char *l2)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].fam == fam && streq(s->v[i].l1, l1) &&
		    streq(s->v[i].l2, l2))
			return (&s->v[i]);
	return (NULL);
}

void
metrics_set_put(struct metrics_set *s, enum metrics_family fam, const char *l1,
    const char *l2, double v)
{
	struct sample *x;

	if (families[fam].nlabels < 2)
		l2 = NULL;
	if ((x = find(s, fam, l1, l2)) == NULL) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 32;
			s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		}
		x = &s->v[s->n++];
		x->fam = fam;
		x->l1 = xstrdup(l1 != NULL ? l1 : "");
		x->l2 = l2 != NULL ? xstrdup(l2) : NULL;
	}
	x->v = v;
}

/* ------------------------------------------------------ the rendering */

struct out {
	char *p;
	size_t len, cap;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		while (o->len + n + 1 > o->cap)
			o->cap = o->cap ? o->cap * 2 : 4096;
		o->p = xreallocarray(o->p, o->cap, 1);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A label value: \ " and newline escaped, as the format asks. */
static void
put_label_value(struct out *o, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			puts_(o, "\\\\");
		else if (*s == '"')
			puts_(o, "\\\"");
		else if (*s == '\n')
			puts_(o, "\\n");
		else
			put(o, s, 1);
	}
}

static void
put_value(struct out *o, double v)
{
	char buf[64];

	if (isnan(v))
		snprintf(buf, sizeof(buf), "NaN");
	else if (isinf(v))
		snprintf(buf, sizeof(buf), "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		snprintf(buf, sizeof(buf), "%.0f", v);
	else
		snprintf(buf, sizeof(buf), "%.9g", v);
	puts_(o, buf);
}

static int
cmp_sample(const void *a, const void *b)
{
	const struct sample *x = *(const struct sample *const *)a;
	const struct sample *y = *(const struct sample *const *)b;
	int c;

	if (x->fam != y->fam)
		return (x->fam < y->fam ? -1 : 1);
	if ((c = strcmp(x->l1, y->l1)) != 0)
		return (c);
	return (strcmp(x->l2 ? x->l2 : "", y->l2 ? y->l2 : ""));
}

char *
metrics_render(const struct metrics_set *s, size_t *len)
{
	const struct sample **v =
	    xreallocarray(NULL, s->n ? s->n : 1, sizeof(*v));
	struct out o = { NULL, 0, 0 };
	size_t i = 0;

	for (size_t k = 0; k < s->n; k++)
		v[k] = &s->v[k];
	qsort(v, s->n, sizeof(*v), cmp_sample);
	puts_(&o, "");
	for (int f = 0; f < METRICS_NFAMILIES; f++) {
		puts_(&o, "# HELP ");
		puts_(&o, families[f].name);
		puts_(&o, " ");
		puts_(&o, families[f].help); /* no \ or newline in it */
		puts_(&o, "\n# TYPE ");
		puts_(&o, families[f].name);
		puts_(&o, " gauge\n");
		for (; i < s->n && (int)v[i]->fam == f; i++) {
			puts_(&o, families[f].name);
			puts_(&o, "{");
			puts_(&o, families[f].label[0]);
			puts_(&o, "=\"");
			put_label_value(&o, v[i]->l1);
			puts_(&o, "\"");
			if (families[f].nlabels > 1) {
				puts_(&o, ",");
				puts_(&o, families[f].label[1]);
				puts_(&o, "=\"");
				put_label_value(&o, v[i]->l2 ? v[i]->l2 : "");
				puts_(&o, "\"");
			}
			puts_(&o, "} ");
			put_value(&o, v[i]->v);
			puts_(&o, "\n");
		}
	}
	free(v);
	*len = o.len;
	return (o.p);
}

/* -------------------------------------------------- from the database */

struct from {
	const struct config *cfg;
	struct metrics_set *s;
};

static int
is_job(const struct config *cfg, const char *name)
{
	return (
	    cfg == NULL || config_section_find(cfg, CONFIG_JOB, name) != NULL);
}

static int
put_job(void *arg, const char *job, int64_t last_run, int64_t last_success,
    struct err *e)
{
	struct from *f = arg;

	(void)e;
	if (!is_job(f->cfg, job) || last_run == 0)
		return (0);
	metrics_set_put(f->s, METRICS_JOB_LAST_RUN, job, NULL,
	    (double)last_run);
	metrics_set_put(f->s, METRICS_JOB_LAST_SUCCESS, job, NULL,
	    (double)last_success);
	return (0);
}

static int
put_status(void *arg, const char *job, const struct state_step *st,
    struct err *e)
{
	struct from *f = arg;

	(void)e;
	if (is_job(f->cfg, job))
		metrics_set_put(f->s, METRICS_JOB_LAST_STATUS, job, st->step,
		    metrics_status_value(st->status, st->error_class));
	return (0);
}

static int
put_duration(void *arg, const char *job, const struct state_step *st,
    struct err *e)
{
	struct from *f = arg;

	(void)e;
	if (is_job(f->cfg, job))
		metrics_set_put(f->s, METRICS_JOB_DURATION, job, st->step,
		    st->duration);
	return (0);
}

static int
put_bytes(void *arg, const char *job, const struct state_step *st,
    struct err *e)
{
	struct from *f = arg;

	(void)e;
	if (is_job(f->cfg, job) && strcmp(st->step, "snapshot") == 0)
		metrics_set_put(f->s, METRICS_SNAPSHOT_ADDED_BYTES, job, NULL,
		    (double)st->bytes);
	return (0);
}

static int
put_repo_fact(void *arg, const char *name, const char *key, int64_t value,
    struct err *e)
{
	struct from *f = arg;

	(void)e;
	if (f->cfg != NULL &&
	    config_section_find(f->cfg, CONFIG_REPOSITORY, name) == NULL)
		return (0);
	if (strcmp(key, "size") == 0)
		metrics_set_put(f->s, METRICS_REPOSITORY_SIZE, name, NULL,
		    (double)value);
	else if (strcmp(key, "snapshots") == 0)
		metrics_set_put(f->s, METRICS_REPOSITORY_SNAPSHOTS, name, NULL,
		    (double)value);
	return (0);
}

/* The replicate facts of one job come in key order: dst_newest, then
 * src_newest. */
struct lag {
	struct from *f;
	char *job;
	int have_src, have_dst;
	int64_t src, dst;
};

static void
lag_flush(struct lag *l)
{
	double v;

	if (l->job == NULL)
		return;
	if (l->have_src && is_job(l->f->cfg, l->job)) {
		if (l->src < 0)
			v = 0; /* nothing to copy */
		else if (!l->have_dst || l->dst < 0)
			v = INFINITY;
		else
			v = l->src > l->dst ? (double)(l->src - l->dst) : 0;
		metrics_set_put(l->f->s, METRICS_REPLICATE_LAG, l->job, NULL,
		    v);
	}
	free(l->job);
	l->job = NULL;
	l->have_src = l->have_dst = 0;
}

static int
put_lag_fact(void *arg, const char *name, const char *key, int64_t value,
    struct err *e)
{
	struct lag *l = arg;

	(void)e;
	if (l->job != NULL && strcmp(l->job, name) != 0)
		lag_flush(l);
	if (l->job == NULL)
		l->job = xstrdup(name);
	if (strcmp(key, "src_newest") == 0) {
		l->have_src = 1;
		l->src = value;
	} else if (strcmp(key, "dst_newest") == 0) {
		l->have_dst = 1;
		l->dst = value;
	}
	return (0);
}

static int
put_drill(void *arg, const struct state_drill_latest *d, struct err *e)
{
	struct from *f = arg;

	(void)e;
	if (f->cfg != NULL &&
	    config_section_find(f->cfg, CONFIG_DRILL, d->drill) == NULL)
		return (0);
	metrics_set_put(f->s, METRICS_DRILL_LAST_SUCCESS, d->drill, NULL,
	    (double)d->last_success);
	metrics_set_put(f->s, METRICS_DRILL_LAST_STATUS, d->drill, NULL,
	    d->last_ok ? 1 : 0);
	if (d->has_rto)
		metrics_set_put(f->s, METRICS_DRILL_RTO, d->drill, NULL,
		    d->rto);
	if (d->has_rpo)
		metrics_set_put(f->s, METRICS_DRILL_RPO, d->drill, NULL,
		    (double)d->rpo);
	return (0);
}

int
metrics_from_state(struct state *st, const struct config *cfg,
    struct metrics_set *s, struct err *e)
{
	struct from f = { cfg, s };
	struct lag l;
	int rc;

	memset(&l, 0, sizeof(l));
	l.f = &f;
	if (state_jobs_latest(st, put_job, &f, e) == -1 ||
	    state_steps_latest(st, STATE_LATEST_ANY, put_status, &f, e) == -1 ||
	    state_steps_latest(st, STATE_LATEST_RAN, put_duration, &f, e) ==
	        -1 ||
	    state_steps_latest(st, STATE_LATEST_OK, put_bytes, &f, e) == -1 ||
	    state_facts(st, "repository", put_repo_fact, &f, e) == -1 ||
	    state_drills_latest(st, put_drill, &f, e) == -1)
		return (-1);
	rc = state_facts(st, "replicate", put_lag_fact, &l, e);
	lag_flush(&l);
	return (rc);
}

int
metrics_status_value(const char *status, const char *error_class)
{
	if (strcmp(status, "ok") == 0)
		return (METRICS_STATUS_OK);
	if (strcmp(status, "skipped") == 0 && error_class != NULL &&
	    strcmp(error_class, err_class_name(ERR_LOCKED)) == 0)
		return (METRICS_STATUS_LOCKED);
	return (METRICS_STATUS_FAILED);
}

void
metrics_overlay(struct metrics_set *s, const char *job,
    const struct job_result *res, int upto, int final)
{
	/* A prune run is not the job's run, nor its success; a run skipped
	 * as locked did not run (the state database says the same). */
	int counts = !res->prune && !(final && res->locked);

	if (counts)
		metrics_set_put(s, METRICS_JOB_LAST_RUN, job, NULL,
		    (double)res->started);
	if (counts && final && res->ok)
		metrics_set_put(s, METRICS_JOB_LAST_SUCCESS, job, NULL,
		    (double)res->ended);
	else if (find(s, METRICS_JOB_LAST_SUCCESS, job, NULL) == NULL)
		metrics_set_put(s, METRICS_JOB_LAST_SUCCESS, job, NULL, 0);
	for (int i = 0; i <= upto && i < JOB_NSTEPS; i++) {
		const struct job_step_result *sr = &res->steps[i];
		const char *step = job_step_name((enum job_step)i);

		if (!sr->configured)
			continue;
		metrics_set_put(s, METRICS_JOB_LAST_STATUS, job, step,
		    sr->locked ? METRICS_STATUS_LOCKED
		        : sr->ran && sr->status == JOB_OK
		        ? METRICS_STATUS_OK
		        : METRICS_STATUS_FAILED);
		if (sr->ran)
			metrics_set_put(s, METRICS_JOB_DURATION, job, step,
			    sr->duration);
		if (i == JOB_STEP_SNAPSHOT && sr->ran && sr->status == JOB_OK)
			metrics_set_put(s, METRICS_SNAPSHOT_ADDED_BYTES, job,
			    NULL, (double)sr->bytes);
	}
}

static const char *
metrics_path(const struct config *cfg)
{
	return (cfg != NULL ? config_get_str(config_global(cfg), "metrics_file")
	                    : NULL);
}

int
metrics_write(const struct config *cfg, struct state *st, const char *job,
    const struct job_result *res, int upto, int final, struct err *e)
{
	const char *path = metrics_path(cfg);
	struct metrics_set *s = NULL;
	char *text = NULL;
	size_t len;
	int rc = -1;

	if (path == NULL)
		return (0);
	s = metrics_set_new();
	if (metrics_from_state(st, cfg, s, e) == -1)
		goto out;
	if (res != NULL)
		metrics_overlay(s, job, res, upto, final);
	text = metrics_render(s, &len);
	if (afile_write_all(path, text, len, 0644, 0, e) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		err_wrap(e, "metrics file %s", path);
	free(text);
	metrics_set_free(s);
	return (rc);
}

/* ---------------------------------------------------- the measurements */

static int
is_snapshot_name(const char *name)
{
	const char *b = strrchr(name, '/');

	b = b != NULL ? b + 1 : name;
	return (strlen(b) == 64 && strspn(b, "0123456789abcdef") == 64);
}

struct names {
	char **v;
	size_t n;
	uint64_t bytes;
};

static int
add_size(void *arg, const char *name, uint64_t size)
{
	struct names *l = arg;

	(void)name;
	l->bytes += size;
	return (0);
}

static int
add_name(void *arg, const char *name, uint64_t size)
{
	struct names *l = arg;

	l->bytes += size;
	if (!is_snapshot_name(name))
		return (0);
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(name);
	return (0);
}

static void
names_clear(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
cmp_str(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * A repository's size (the files of its layout, doc/FORMAT.md, without
 * locks) and its snapshots' names, sorted, into *l.
 */
static int
measure(struct stor *st, struct names *l, struct err *e)
{
	static const char *const dirs[] = { "keys", "data", "index",
		"forgotten", "log", "prune" };
	uint64_t size;
	int r;

	memset(l, 0, sizeof(*l));
	if ((r = stor_stat(st, "config", &size, e)) == -1)
		return (-1);
	if (r == 0)
		l->bytes += size;
	if (stor_list(st, "snapshots", add_name, l, e) == -1)
		return (-1);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (stor_list(st, dirs[i], add_size, l, e) == -1)
			return (-1);
	/* No snapshots yet: v is NULL, which qsort must not get. */
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	return (0);
}

void
metrics_probe(const struct config *cfg, const char *name, enum job_step s,
    const struct job_opts *o, struct metrics_sample *out)
{
	const struct config_section *sec;
	const char *repo, *to;
	struct stor *src = NULL, *dst = NULL;
	struct names ls, ld;
	struct err e;

	memset(out, 0, sizeof(*out));
	memset(&ls, 0, sizeof(ls));
	memset(&ld, 0, sizeof(ld));
	if (metrics_path(cfg) == NULL ||
	    (sec = config_section_find(cfg, CONFIG_JOB, name)) == NULL ||
	    (repo = config_get_str(sec, "repository")) == NULL)
		return;
	if (s == JOB_STEP_CHECK || (o->interrupted != NULL && *o->interrupted))
		return;
	to = config_get_str(sec, "replicate");
	err_clear(&e);
	if (o->open_store(o->arg, repo, 0, &src, &e) == -1 ||
	    measure(src, &ls, &e) == -1)
		goto out;
	if (s != JOB_STEP_REPLICATE) {
		out->what |= METRICS_S_REPO;
		out->repo_size = ls.bytes;
		out->repo_snapshots = ls.n;
		goto out;
	}
	if (to == NULL)
		goto out;
	out->what |= METRICS_S_SRC;
	out->src_newest = -1;
	for (size_t i = 0; i < ls.n; i++) {
		int64_t t;

		if (stor_mtime(src, ls.v[i], &t, &e) != 0)
			goto out;
		if (t > out->src_newest)
			out->src_newest = t;
	}
	/* A target out of reach: its side stays as last measured, so the
	 * lag grows with the source. */
	if (o->open_store(o->arg, to, 0, &dst, &e) == -1 ||
	    measure(dst, &ld, &e) == -1) {
		out->what &= ~(unsigned)METRICS_S_TARGET;
		goto out;
	}
	out->what |= METRICS_S_TARGET | METRICS_S_DST;
	out->target_size = ld.bytes;
	out->target_snapshots = ld.n;
	out->dst_newest = -1;
	for (size_t i = 0; i < ls.n; i++) {
		int64_t t;

		if (ld.n == 0 ||
		    bsearch(&ls.v[i], ld.v, ld.n, sizeof(*ld.v), cmp_str) ==
		        NULL)
			continue;
		if (stor_mtime(src, ls.v[i], &t, &e) != 0) {
			out->what &= ~(unsigned)METRICS_S_DST;
			goto out;
		}
		if (t > out->dst_newest)
			out->dst_newest = t;
	}
out:
	if (e.class != ERR_NONE)
		log_warn(o->log, "job %s: metrics: cannot measure after %s: %s",
		    name, job_step_name(s), e.msg);
	names_clear(&ls);
	names_clear(&ld);
	stor_close(src);
	stor_close(dst);
}

static int
record(struct state *st, const struct config *cfg, const char *job,
    const struct metrics_sample *m, struct err *e)
{
	const struct config_section *sec =
	    config_section_find(cfg, CONFIG_JOB, job);
	const char *repo = sec ? config_get_str(sec, "repository") : NULL;
	const char *to = sec ? config_get_str(sec, "replicate") : NULL;
	int64_t now = (int64_t)time(NULL);

	if ((m->what & METRICS_S_REPO) && repo != NULL &&
	    (state_fact_set(st, "repository", repo, "size",
	         (int64_t)m->repo_size, now, e) == -1 ||
	        state_fact_set(st, "repository", repo, "snapshots",
	            (int64_t)m->repo_snapshots, now, e) == -1))
		return (-1);
	if ((m->what & METRICS_S_TARGET) && to != NULL &&
	    (state_fact_set(st, "repository", to, "size",
	         (int64_t)m->target_size, now, e) == -1 ||
	        state_fact_set(st, "repository", to, "snapshots",
	            (int64_t)m->target_snapshots, now, e) == -1))
		return (-1);
	if ((m->what & METRICS_S_SRC) &&
	    state_fact_set(st, "replicate", job, "src_newest", m->src_newest,
	        now, e) == -1)
		return (-1);
	if ((m->what & METRICS_S_DST) &&
	    state_fact_set(st, "replicate", job, "dst_newest", m->dst_newest,
	        now, e) == -1)
		return (-1);
	return (0);
}

void
metrics_step(const struct metrics_hook *h, const struct job_result *res,
    enum job_step s, const struct metrics_sample *sample)
{
	struct err e;

	if (metrics_path(h->cfg) == NULL)
		return;
	err_clear(&e);
	if (record(h->st, h->cfg, h->job, sample, &e) == -1 ||
	    metrics_write(h->cfg, h->st, h->job, res, (int)s, 0, &e) == -1)
		log_warn(h->log, "job %s: metrics: %s", h->job, e.msg);
}

void
metrics_end(const struct metrics_hook *h, const struct job_result *res)
{
	struct err e;

	if (metrics_path(h->cfg) == NULL)
		return;
	err_clear(&e);
	if (metrics_write(h->cfg, h->st, h->job, res, JOB_NSTEPS - 1, 1, &e) ==
	    -1)
		log_warn(h->log, "job %s: metrics: %s", h->job, e.msg);
}
