/*
 * The scheduler's decisions and its tick (tick.h): the due rule as a pure
 * function of the schedule, the last run and the time, and a tick that
 * applies it to every job, one after another, through job_run.
 */
#include "scheduler/tick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "schedule.h"
#include "scheduler/drill.h"
#include "scheduler/job.h"
#include "scheduler/state.h"
#include "xmalloc.h"

int
tick_decide(const struct schedule *s, const char *tz, uint64_t jitter,
    int64_t last_start, int64_t now, struct tick_decision *d, struct err *e)
{
	time_t slot, next, t;
	uint64_t m = 0;

	memset(d, 0, sizeof(*d));
	if (schedule_prev(s, tz, (time_t)(now - (int64_t)jitter), &slot, e) ==
	        -1 ||
	    schedule_next(s, tz, slot, &next, e) == -1)
		return (-1);
	d->slot = (int64_t)slot;
	d->due_at = d->slot + (int64_t)jitter;
	d->next_at = (int64_t)next + (int64_t)jitter;
	if (last_start == 0) {
		d->due = d->first = 1;
		return (0);
	}
	if (last_start >= d->slot)
		return (0);
	d->due = 1;
	/* The due times in (last_start, slot]: at least slot itself. */
	t = (time_t)last_start;
	while (m < TICK_MISSED_MAX) {
		if (schedule_next(s, tz, t, &t, e) == -1)
			return (-1);
		if ((int64_t)t > d->slot)
			break;
		m++;
	}
	d->missed = m > 0 ? m : 1;
	return (0);
}

static void
fmt_when(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)t);
}

/* A job's (or drill's) schedule, zone and jitter as the config gives
 * them. */
struct sjob {
	const char *kind; /* "job", "prune" (a job's prune_schedule), "drill" */
	const char *name;
	const struct config_section *sec;
	struct schedule *sched; /* NULL: no schedule */
	const char *tz;
	uint64_t jitter;
};

/* With prune, a [job]'s prune_schedule (same zone and jitter). */
static int
sjob_load_as(const struct config_section *sec, const char *host, int prune,
    struct sjob *j, struct err *e)
{
	const char *text;
	uint64_t max = 0;

	memset(j, 0, sizeof(*j));
	j->sec = sec;
	j->name = config_section_name(sec);
	j->kind = config_section_type(sec) == CONFIG_DRILL ? "drill"
	    : prune                                        ? "prune"
	                                                   : "job";
	/* A drill has neither: local time, no jitter. */
	if (config_section_type(sec) != CONFIG_DRILL)
		j->tz = config_get_str(sec, "timezone");
	if ((text = config_get_str(sec,
	         prune ? "prune_schedule" : "schedule")) == NULL)
		return (0);
	/* config_load checked it: a refusal here is a bug. */
	if (schedule_parse(text, &j->sched, e) == -1)
		return (-1);
	if (config_section_type(sec) == CONFIG_DRILL)
		return (0);
	(void)config_get_duration(sec, "jitter", &max);
	j->jitter = schedule_jitter(j->name, host, max);
	return (0);
}

static int
sjob_load(const struct config_section *sec, const char *host, struct sjob *j,
    struct err *e)
{
	return (sjob_load_as(sec, host, 0, j, e));
}

static void
sjob_clear(struct sjob *j)
{
	schedule_free(j->sched);
	j->sched = NULL;
}

static void
host_name(const char *given, char *buf, size_t size)
{
	if (given != NULL) {
		snprintf(buf, size, "%s", given);
		return;
	}
	if (gethostname(buf, size) == -1)
		snprintf(buf, size, "localhost");
	buf[size - 1] = '\0';
}

static char *
state_dir_of(const struct config *cfg, const char *given, struct err *e)
{
	char *dir = given != NULL ? xstrdup(given) : state_dir_default(cfg);

	if (dir == NULL)
		err_set(e, ERR_CONFIG,
		    "no state directory: set state_dir in [global], or HOME");
	return (dir);
}

/*
 * The latest start of a run that counts for j's due time: its own runs',
 * and for a prune those of every job on the same repository (the same
 * [repository] name), so that a repository is pruned once per due time
 * however many of its jobs have a prune_schedule.  *by (may be NULL): the
 * job whose prune that was.
 */
static int
last_start_of(const struct config *cfg, struct state *st, const struct sjob *j,
    int64_t *last, const char **by, struct err *e)
{
	const struct config_section *sec = NULL;
	const char *repo;
	struct state_summary sum;

	if (state_summary_kind(st, j->kind, j->name, &sum, e) == -1)
		return (-1);
	*last = sum.last_start;
	if (by != NULL)
		*by = j->name;
	if (strcmp(j->kind, "prune") != 0 ||
	    (repo = config_get_str(j->sec, "repository")) == NULL)
		return (0);
	while ((sec = config_next(cfg, sec, CONFIG_JOB)) != NULL) {
		const char *r = config_get_str(sec, "repository");

		if (sec == j->sec || r == NULL || strcmp(r, repo) != 0)
			continue;
		if (state_summary_kind(st, "prune", config_section_name(sec),
		        &sum, e) == -1)
			return (-1);
		if (sum.last_start > *last) {
			*last = sum.last_start;
			if (by != NULL)
				*by = config_section_name(sec);
		}
	}
	return (0);
}

/* Under the job's lock (job_run's admit): is the slot still not run? */
struct admit {
	const struct config *cfg;
	const struct sjob *j;
	int64_t now;
};

static int
admit(void *arg, struct state *st, struct err *e)
{
	struct admit *a = arg;
	struct tick_decision d;
	int64_t last;

	if (last_start_of(a->cfg, st, a->j, &last, NULL, e) == -1 ||
	    tick_decide(a->j->sched, a->j->tz, a->j->jitter, last, a->now, &d,
	        e) == -1)
		return (-1);
	return (d.due);
}

static void
first_failure(struct tick_result *res, int status)
{
	if (res->exit_status == 0)
		res->exit_status = status;
}

/* The lock of j is taken: record the skip once for its due time. */
static int
record_skip(struct state *st, const struct sjob *j, int64_t now,
    const struct tick_decision *d, const char *holder, struct log *log,
    struct err *e)
{
	struct state_run rec;
	char msg[256];
	int64_t id;
	int yes;

	snprintf(msg, sizeof(msg), "still running (%s)", holder);
	if (state_skip_recorded_kind(st, j->kind, j->name, d->slot, &yes, e) ==
	    -1)
		return (-1);
	if (yes) {
		log_debug(log, "%s %s: skipped: %s", j->kind, j->name, msg);
		return (0);
	}
	memset(&rec, 0, sizeof(rec));
	rec.job = j->name;
	rec.kind = j->kind;
	rec.started = rec.ended = now;
	rec.status = "skipped";
	rec.trigger = "schedule";
	rec.slot = d->slot;
	rec.message = msg;
	if (state_run_add(st, &rec, &id, e) == -1)
		return (-1);
	log_warn(log, "%s %s: skipped: %s", j->kind, j->name, msg);
	return (0);
}

static void
log_due(struct log *log, const struct sjob *j, const struct tick_decision *d,
    int64_t last_start)
{
	char when[48], last[48];

	fmt_when(d->due_at, when, sizeof(when));
	if (d->first)
		log_info(log,
		    "%s %s: due: no run of it is recorded (due time %s)",
		    j->kind, j->name, when);
	else if (d->missed > 1) {
		fmt_when(last_start, last, sizeof(last));
		log_warn(log,
		    "%s %s: due: %s%llu due times passed since its last run "
		    "at %s (the machine was off or no tick ran); running it "
		    "once",
		    j->kind, j->name,
		    d->missed >= TICK_MISSED_MAX ? "at least " : "",
		    (unsigned long long)d->missed, last);
	} else
		log_info(log, "%s %s: due at %s", j->kind, j->name, when);
}

static void
log_result(struct log *log, const struct sjob *j, const struct job_result *jr)
{
	const struct job_step_result *sr;

	if (jr->ok) {
		log_info(log, "%s %s: ok (run %lld)", j->kind, j->name,
		    (long long)jr->run_id);
		return;
	}
	if (jr->locked) {
		sr = &jr->steps[jr->prune ? JOB_STEP_PRUNE : JOB_STEP_SNAPSHOT];
		log_warn(log,
		    "%s %s: skipped: locked (run %lld; the next tick tries "
		    "again): %s",
		    j->kind, j->name, (long long)jr->run_id, sr->msg);
		return;
	}
	sr = &jr->steps[jr->failed_step];
	log_error(log, "%s %s: failed (run %lld): %s: %s", j->kind, j->name,
	    (long long)jr->run_id,
	    job_step_name((enum job_step)jr->failed_step), sr->msg);
}

/* The due [drill]s of cfg, after the jobs (tick.h). */
static void
drills_run(const struct config *cfg, const struct tick_opts *o,
    struct state *st, const char *dir, const char *host,
    struct tick_result *res)
{
	const struct config_section *sec = NULL;
	struct drill_result *dr = xcalloc(1, sizeof(*dr));
	struct sjob j;

	memset(&j, 0, sizeof(j));
	while ((sec = config_next(cfg, sec, CONFIG_DRILL)) != NULL) {
		struct drill_rec_opts ro;
		struct drill_rec_result rr;
		struct tick_decision d;
		struct state_summary sum;
		struct admit a;
		struct err je;
		int64_t now;

		if (o->interrupted != NULL && *o->interrupted)
			break;
		sjob_clear(&j);
		err_clear(&je);
		if (sjob_load(sec, host, &j, &je) == -1) {
			log_error(o->log, "drill %s: %s", j.name, je.msg);
			first_failure(res, err_exit_status(je.class));
			res->failed++;
			continue;
		}
		if (j.sched == NULL)
			continue;
		now = o->now != 0 ? o->now : (int64_t)time(NULL);
		if (state_summary_kind(st, "drill", j.name, &sum, &je) == -1 ||
		    tick_decide(j.sched, NULL, 0, sum.last_start, now, &d,
		        &je) == -1) {
			log_error(o->log, "drill %s: %s", j.name, je.msg);
			first_failure(res, err_exit_status(je.class));
			res->failed++;
			continue;
		}
		if (res->next_at == 0 || d.next_at < res->next_at)
			res->next_at = d.next_at;
		if (!d.due) {
			log_debug(o->log, "drill %s: not due", j.name);
			continue;
		}
		log_due(o->log, &j, &d, sum.last_start);
		memset(&ro, 0, sizeof(ro));
		ro.trigger = "schedule";
		ro.now = o->now;
		ro.slot = d.slot;
		ro.state_dir = dir;
		a.cfg = cfg;
		a.j = &j;
		a.now = now;
		ro.admit = admit;
		ro.admit_arg = &a;
		memset(dr, 0, sizeof(*dr));
		if (drill_run_recorded(cfg, j.name, o->drill, &ro, dr, &rr,
		        &je) == -1) {
			if (rr.busy) {
				res->skipped++;
				err_clear(&je);
				if (record_skip(st, &j, now, &d, rr.holder,
				        o->log, &je) == 0)
					continue;
			}
			log_error(o->log, "drill %s: %s", j.name, je.msg);
			first_failure(res, err_exit_status(je.class));
			res->failed++;
			continue;
		}
		if (rr.declined) {
			log_info(o->log,
			    "drill %s: its due time was run meanwhile (another "
			    "tick)",
			    j.name);
			continue;
		}
		res->ran++;
		if (dr->ok) {
			res->ok++;
			log_info(o->log, "drill %s: ok (run %lld)", j.name,
			    (long long)rr.run_id);
		} else {
			res->failed++;
			first_failure(res, TICK_DRILL_FAILED);
			log_error(o->log, "drill %s: failed (run %lld): %s: %s",
			    j.name, (long long)rr.run_id,
			    dr->failed_stage >= 0
			        ? drill_stage_name(
			              (enum drill_stage)dr->failed_stage)
			        : "drill",
			    dr->msg);
		}
	}
	sjob_clear(&j);
	free(dr);
}

/* Decide the job of sec (or with prune its prune_schedule) and run it if
 * due, into res; j is ours to load. */
static void
tick_one(const struct config *cfg, const struct tick_opts *o, struct state *st,
    const char *dir, const char *host, const struct config_section *sec,
    int prune, struct sjob *j, struct tick_result *res)
{
	struct tick_decision d;
	struct job_opts jo;
	struct job_result jr;
	struct admit a;
	struct err je;
	const char *by = NULL;
	int64_t now, last;

	err_clear(&je);
	if (sjob_load_as(sec, host, prune, j, &je) == -1) {
		log_error(o->log, "%s %s: %s", j->kind, j->name, je.msg);
		first_failure(res, err_exit_status(je.class));
		res->failed++;
		return;
	}
	if (j->sched == NULL) {
		if (!prune)
			log_debug(o->log,
			    "job %s: no schedule (it runs only by hand)",
			    j->name);
		return;
	}
	now = o->now != 0 ? o->now : (int64_t)time(NULL);
	if (last_start_of(cfg, st, j, &last, &by, &je) == -1 ||
	    tick_decide(j->sched, j->tz, j->jitter, last, now, &d, &je) == -1) {
		log_error(o->log, "%s %s: %s", j->kind, j->name, je.msg);
		first_failure(res, err_exit_status(je.class));
		res->failed++;
		return;
	}
	if (res->next_at == 0 || d.next_at < res->next_at)
		res->next_at = d.next_at;
	if (!d.due) {
		char when[48];

		fmt_when(d.next_at, when, sizeof(when));
		if (by != NULL && strcmp(by, j->name) != 0)
			log_debug(o->log,
			    "prune %s: not due: job %s pruned repository %s "
			    "for this due time; next at %s",
			    j->name, by, config_get_str(sec, "repository"),
			    when);
		else
			log_debug(o->log, "%s %s: not due; next at %s", j->kind,
			    j->name, when);
		return;
	}
	log_due(o->log, j, &d, last);
	jo = *o->job;
	jo.trigger = "schedule";
	jo.now = o->now;
	jo.slot = d.slot;
	jo.state_dir = dir;
	jo.prune = prune;
	a.cfg = cfg;
	a.j = j;
	a.now = now;
	jo.admit = admit;
	jo.admit_arg = &a;
	if (job_run(cfg, j->name, &jo, &jr, &je) == -1) {
		if (jr.busy) {
			res->skipped++;
			err_clear(&je);
			if (record_skip(st, j, now, &d, jr.holder, o->log,
			        &je) == 0)
				return;
		}
		log_error(o->log, "%s %s: %s", j->kind, j->name, je.msg);
		first_failure(res, err_exit_status(je.class));
		res->failed++;
		return;
	}
	if (jr.declined) {
		log_info(o->log,
		    "%s %s: its due time was run meanwhile (another tick)",
		    j->kind, j->name);
		return;
	}
	log_result(o->log, j, &jr);
	if (jr.locked) {
		/* Not run: still due, for the next tick. */
		res->skipped++;
		return;
	}
	res->ran++;
	if (jr.ok)
		res->ok++;
	else {
		res->failed++;
		first_failure(res, job_exit_status(&jr));
	}
}

int
tick_run(const struct config *cfg, const struct tick_opts *o,
    struct tick_result *res, struct err *e)
{
	const struct config_section *sec = NULL;
	struct state *st = NULL;
	struct sjob j;
	char host[256], *dir = NULL;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&j, 0, sizeof(j));
	host_name(o->host, host, sizeof(host));
	if (o->only != NULL) {
		sec = config_section_find(cfg, CONFIG_JOB, o->only);
		if (sec == NULL) {
			err_set(e, ERR_USAGE, "no [job %s] in %s", o->only,
			    config_file(cfg));
			goto out;
		}
		if (config_get_str(sec, "schedule") == NULL &&
		    config_get_str(sec, "prune_schedule") == NULL) {
			err_set(e, ERR_USAGE,
			    "job %s has no schedule: run it with 'coffer job "
			    "run %s'",
			    o->only, o->only);
			goto out;
		}
		sec = NULL;
	}
	if ((dir = state_dir_of(cfg, o->state_dir, e)) == NULL ||
	    state_open(dir, &st, e) == -1 ||
	    job_reap(st, o->only, 0, o->log, NULL, e) == -1)
		goto out;
	/* Drills are reaped on every tick, not only when one is due. */
	drill_reap_all(cfg, st, dir, o->log);
	while ((sec = config_next(cfg, sec, CONFIG_JOB)) != NULL) {
		if (o->only != NULL &&
		    strcmp(config_section_name(sec), o->only) != 0)
			continue;
		/* The job, then its prune: the job's lock keeps them apart. */
		for (int prune = 0; prune <= 1; prune++) {
			if (o->interrupted != NULL && *o->interrupted)
				break;
			sjob_clear(&j);
			tick_one(cfg, o, st, dir, host, sec, prune, &j, res);
		}
		if (o->interrupted != NULL && *o->interrupted)
			break;
	}
	if (o->only == NULL && o->drill != NULL)
		drills_run(cfg, o, st, dir, host, res);
	rc = 0;
out:
	sjob_clear(&j);
	state_close(st);
	free(dir);
	return (rc);
}

/* state_run_get's callback: the last run into the status. */
static int
last_run(void *arg, const struct state_run *run, const struct state_step *steps,
    size_t n, struct err *e)
{
	struct tick_status *ts = arg;

	(void)e;
	ts->has_last = 1;
	ts->last_id = run->id;
	ts->last_started = run->started;
	ts->last_ended = run->ended;
	snprintf(ts->last_status, sizeof(ts->last_status), "%s", run->status);
	if (run->error_class != NULL)
		snprintf(ts->last_class, sizeof(ts->last_class), "%s",
		    run->error_class);
	if (run->message != NULL)
		snprintf(ts->last_message, sizeof(ts->last_message), "%s",
		    run->message);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(steps[i].status, "failed") != 0)
			continue;
		snprintf(ts->last_step, sizeof(ts->last_step), "%s",
		    steps[i].step);
		if (steps[i].error_class != NULL)
			snprintf(ts->last_class, sizeof(ts->last_class), "%s",
			    steps[i].error_class);
		snprintf(ts->last_message, sizeof(ts->last_message), "%s",
		    steps[i].message != NULL ? steps[i].message : "");
		break;
	}
	return (0);
}

/*
 * What status says of a schedule (jobs and drills alike): its interval,
 * whether a tick at now runs it, the due time the next run is for, and
 * overdue: no successful run within 1.5 times the interval (or none yet),
 * which also catches a scheduler that stopped running.
 */
static int
due_view(const struct sjob *j, const char *tz, uint64_t jitter,
    int64_t last_start, int64_t last_ok, int64_t now, uint64_t *interval,
    int *due, int64_t *next_at, int *overdue, struct err *e)
{
	struct tick_decision d;

	*interval = schedule_interval_hint(j->sched);
	if (tick_decide(j->sched, tz, jitter, last_start, now, &d, e) == -1)
		return (-1);
	*due = d.due;
	/* Due: the due time the next tick runs it for. */
	*next_at = d.due ? d.due_at : d.next_at;
	/* 1.5 x interval, in integers: 3 x interval / 2. */
	*overdue = last_ok == 0 || (now - last_ok) * 2 > (int64_t)*interval * 3;
	return (0);
}

int
tick_status_get(const struct config *cfg, const char *state_dir,
    const char *host_given, int64_t now, struct log *log,
    struct tick_status **out, size_t *np, struct err *e)
{
	const struct config_section *sec = NULL;
	struct tick_status *v = NULL;
	struct state *st = NULL;
	struct sjob j;
	char host[256], *dir = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;

	*out = NULL;
	*np = 0;
	memset(&j, 0, sizeof(j));
	host_name(host_given, host, sizeof(host));
	if (now == 0)
		now = (int64_t)time(NULL);
	if ((dir = state_dir_of(cfg, state_dir, e)) == NULL ||
	    state_open(dir, &st, e) == -1 ||
	    job_reap(st, NULL, 0, log, NULL, e) == -1)
		goto out;
	while ((sec = config_next(cfg, sec, CONFIG_JOB)) != NULL) {
		struct state_summary sum;
		struct tick_status *ts;

		sjob_clear(&j);
		if (sjob_load(sec, host, &j, e) == -1)
			goto out;
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		ts = &v[n++];
		memset(ts, 0, sizeof(*ts));
		ts->job = j.name;
		ts->schedule = config_get_str(sec, "schedule");
		ts->tz = j.tz;
		ts->jitter = j.jitter;
		ts->rpo = -1;
		if (state_summary(st, j.name, &sum, e) == -1)
			goto out;
		if (sum.last_id != 0 &&
		    state_run_get(st, sum.last_id, last_run, ts, e) == -1)
			goto out;
		ts->last_ok = sum.last_ok;
		ts->last_snapshot_ok = sum.last_snapshot_ok;
		if (sum.last_snapshot_ok != 0)
			ts->rpo = now - sum.last_snapshot_ok;
		ts->failed =
		    ts->has_last && strcmp(ts->last_status, "failed") == 0;
		if (j.sched != NULL &&
		    due_view(&j, j.tz, j.jitter, sum.last_start, sum.last_ok,
		        now, &ts->interval, &ts->due, &ts->next_at,
		        &ts->overdue, e) == -1)
			goto out;
	}
	*out = v;
	*np = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	sjob_clear(&j);
	tick_status_free(v, n);
	state_close(st);
	free(dir);
	return (rc);
}

void
tick_status_free(struct tick_status *v, size_t n)
{
	(void)n; /* the strings are the config's */
	free(v);
}

/* state_run_get's callback: a drill's last run into its status. */
static int
last_drill_run(void *arg, const struct state_run *run,
    const struct state_step *steps, size_t n, struct err *e)
{
	struct tick_drill_status *ds = arg;

	(void)e;
	ds->has_last = 1;
	ds->last_id = run->id;
	ds->last_started = run->started;
	ds->last_ended = run->ended;
	snprintf(ds->last_status, sizeof(ds->last_status), "%s", run->status);
	if (run->snapshot != NULL)
		snprintf(ds->last_snapshot, sizeof(ds->last_snapshot), "%s",
		    run->snapshot);
	ds->last_has_rto = run->has_rto;
	ds->last_rto = run->rto;
	ds->last_has_rpo = run->has_rpo;
	ds->last_rpo = run->rpo;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(steps[i].status, "failed") != 0)
			continue;
		snprintf(ds->last_stage, sizeof(ds->last_stage), "%s",
		    steps[i].step);
		if (steps[i].error_class != NULL)
			snprintf(ds->last_class, sizeof(ds->last_class), "%s",
			    steps[i].error_class);
		snprintf(ds->last_message, sizeof(ds->last_message), "%s",
		    steps[i].message != NULL ? steps[i].message : "");
		break;
	}
	return (0);
}

int
tick_drill_status_get(const struct config *cfg, const char *state_dir,
    int64_t now, struct tick_drill_status **out, size_t *np, struct err *e)
{
	const struct config_section *sec = NULL;
	struct tick_drill_status *v = NULL;
	struct state *st = NULL;
	struct sjob j;
	char *dir = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;

	*out = NULL;
	*np = 0;
	memset(&j, 0, sizeof(j));
	if (now == 0)
		now = (int64_t)time(NULL);
	if ((dir = state_dir_of(cfg, state_dir, e)) == NULL ||
	    state_open(dir, &st, e) == -1)
		goto out;
	while ((sec = config_next(cfg, sec, CONFIG_DRILL)) != NULL) {
		struct state_summary sum;
		struct tick_drill_status *ds;

		sjob_clear(&j);
		if (sjob_load(sec, NULL, &j, e) == -1)
			goto out;
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		ds = &v[n++];
		memset(ds, 0, sizeof(*ds));
		ds->drill = j.name;
		ds->schedule = config_get_str(sec, "schedule");
		ds->rpo = -1;
		if (state_summary_kind(st, "drill", j.name, &sum, e) == -1)
			goto out;
		if (sum.last_id != 0 &&
		    state_run_get(st, sum.last_id, last_drill_run, ds, e) == -1)
			goto out;
		ds->last_ok = sum.last_ok;
		if (sum.last_ok_consistent != 0)
			ds->rpo = now - sum.last_ok_consistent;
		ds->failed =
		    ds->has_last && strcmp(ds->last_status, "failed") == 0;
		if (j.sched != NULL &&
		    due_view(&j, NULL, 0, sum.last_start, sum.last_ok, now,
		        &ds->interval, &ds->due, &ds->next_at, &ds->overdue,
		        e) == -1)
			goto out;
	}
	*out = v;
	*np = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	sjob_clear(&j);
	tick_drill_status_free(v, n);
	state_close(st);
	free(dir);
	return (rc);
}

void
tick_drill_status_free(struct tick_drill_status *v, size_t n)
{
	(void)n; /* the strings are the config's */
	free(v);
}
