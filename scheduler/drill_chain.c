/*
 * A drill of steps (drill.h, coffer.conf(5) "steps"): the drills it names
 * run in turn as one drill.  Each step is a whole drill_run_at (its own
 * snapshot selection, target, checks, limits, cleanup and on_failure
 * hook); the first that fails stops the chain, the rest are not run.  The
 * chain's RTO is the wall time from its start to the last step's
 * validation, its RPO the worst step's; its own max_rto and max_rpo apply
 * to those, and its on_failure hook runs when any of it failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "scheduler/drill.h"
#include "scheduler/drill_impl.h"
#include "xmalloc.h"

/* The step's outcome from its drill's result r (it ran). */
static void
step_from(struct drill_step_result *st, const struct drill_result *r,
    double duration)
{
	st->ran = 1;
	st->ok = r->ok;
	st->failed_stage = r->failed_stage;
	st->class = r->class;
	st->timeout = r->timeout;
	st->duration = duration;
	st->rto_measured = r->rto_measured;
	st->rto = r->rto;
	st->rpo_measured = r->rpo_measured;
	st->rpo = r->rpo;
	st->target_kind = r->target_kind;
	snprintf(st->snapshot_id, sizeof(st->snapshot_id), "%s",
	    r->snapshot_id);
	snprintf(st->target, sizeof(st->target), "%.255s", r->target);
	if (!r->ok)
		snprintf(st->msg, sizeof(st->msg), "%s: %.480s",
		    drill_stage_name((enum drill_stage)r->failed_stage),
		    r->msg);
}

/* The chain's stages restore to check, summed up from its steps. */
static void
sum_stages(struct run *u, struct drill_result *const *subs, size_t n)
{
	struct drill_result *res = u->res;

	for (int s = DRILL_RESTORE; s <= DRILL_CHECK; s++) {
		struct drill_stage_result *sr = &res->stages[s];
		size_t ok = 0;

		sr->duration = 0;
		for (size_t i = 0; i < n; i++) {
			if (subs[i] == NULL)
				continue;
			sr->duration += subs[i]->stages[s].duration;
			ok += subs[i]->stages[s].status == DRILL_OK;
		}
		sr->status = ok > 0 ? DRILL_OK : DRILL_SKIPPED;
		if (ok > 0)
			snprintf(sr->msg, sizeof(sr->msg),
			    "ok in %zu of %zu steps", ok, res->nsteps);
		else
			snprintf(sr->msg, sizeof(sr->msg),
			    "not done in any step");
	}
}

int
drill_chain_run(const struct config *cfg, const struct config_section *sec,
    const struct drill_opts *o, const char *leftovers, struct drill_result *res,
    struct err *e)
{
	struct drill_result *subs[CONFIG_DRILL_STEPS_MAX];
	const char *name = config_section_name(sec);
	const char *const *steps;
	uint64_t hook_timeout = 0;
	struct timespec t0;
	struct run u;
	size_t n = config_get_list(sec, "steps", &steps), failed = SIZE_MAX;
	double last_valid = 0;
	int all_valid = 1;

	(void)e; /* a step that cannot run is the chain's failure */
	memset(res, 0, sizeof(*res));
	memset(subs, 0, sizeof(subs));
	memset(&u, 0, sizeof(u));
	u.o = o;
	u.res = res;
	if (n > CONFIG_DRILL_STEPS_MAX)
		n = CONFIG_DRILL_STEPS_MAX; /* config_load refuses more */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	res->failed_stage = -1;
	res->started = (int64_t)time(NULL);
	res->target_kind = DRILL_T_CHAIN;
	(void)config_get_duration(sec, "max_rto", &res->max_rto);
	(void)config_get_duration(sec, "max_rpo", &res->max_rpo);
	(void)config_get_duration(sec, "hook_timeout", &hook_timeout);
	snprintf(res->name, sizeof(res->name), "%s", name);
	res->nsteps = n;
	/* COFFER_DRILL_TARGET of a chain: its steps, "a, b". */
	for (size_t i = 0, len = 0; i < n; i++) {
		struct drill_step_result *st = &res->steps[i];
		int w;

		snprintf(st->name, sizeof(st->name), "%s", steps[i]);
		w = snprintf(res->target + len, sizeof(res->target) - len,
		    "%s%.64s", i > 0 ? ", " : "", steps[i]);
		if (w > 0 && (size_t)w < sizeof(res->target) - len)
			len += (size_t)w;
	}

	for (size_t i = 0; i < n; i++) {
		struct drill_step_result *st = &res->steps[i];
		struct drill_result *r;
		struct err se;
		double off;

		if (failed != SIZE_MAX) {
			snprintf(st->msg, sizeof(st->msg),
			    "not run: step %s failed", res->steps[failed].name);
			continue;
		}
		if (o->interrupted != NULL && *o->interrupted) {
			snprintf(st->msg, sizeof(st->msg),
			    "not run: interrupted");
			res->class = ERR_INTERRUPTED;
			failed = i;
			st->ran = 0;
			res->stages[DRILL_RESTORE].status = DRILL_FAILED;
			continue;
		}
		log_info(o->log, "drill %s: step %zu of %zu: drill %s", name,
		    i + 1, n, steps[i]);
		subs[i] = r = xcalloc(1, sizeof(*r));
		off = drill_elapsed(&t0);
		err_clear(&se);
		if (drill_run_at(cfg, steps[i], o, leftovers, r, &se) == -1) {
			/* It could not run at all: the chain's restore. */
			free(r);
			subs[i] = NULL;
			st->ran = 1;
			st->failed_stage = DRILL_RESTORE;
			st->class = se.class != ERR_NONE ? se.class : ERR_IO;
			st->duration = drill_elapsed(&t0) - off;
			snprintf(st->msg, sizeof(st->msg), "%s", se.msg);
			failed = i;
			continue;
		}
		step_from(st, r, drill_elapsed(&t0) - off);
		if (r->rto_measured)
			last_valid = off + r->rto;
		else
			all_valid = 0;
		if (r->rpo_measured &&
		    (!res->rpo_measured || r->rpo > res->rpo)) {
			res->rpo_measured = 1;
			res->rpo = r->rpo;
			res->consistent = r->consistent;
			snprintf(res->snapshot_id, sizeof(res->snapshot_id),
			    "%s", r->snapshot_id);
		}
		res->bytes += r->bytes;
		res->files += r->files;
		res->nchecks_run += r->nchecks_run;
		res->nchecks_failed += r->nchecks_failed;
		for (size_t c = 0;
		     c < r->nchecks && res->nchecks < DRILL_CHECKS_MAX; c++)
			res->checks[res->nchecks++] = r->checks[c];
		if (!r->ok)
			failed = i;
	}
	sum_stages(&u, subs, n);
	/* Validated when every step was: then the RTO ends at the last. */
	if (failed == SIZE_MAX && all_valid) {
		res->rto = last_valid;
		res->rto_measured = 1;
	}
	drill_limits(&u);
	if (failed != SIZE_MAX) {
		const struct drill_step_result *st = &res->steps[failed];
		int s = st->ran && st->failed_stage >= 0 ? st->failed_stage
		                                         : DRILL_RESTORE;

		char m[ERR_MSG_MAX];

		res->stages[s].status = DRILL_FAILED;
		snprintf(m, sizeof(m), "step %.64s: %.440s", st->name,
		    st->msg[0] != '\0' ? st->msg : "failed");
		drill_one_line(m);
		memcpy(res->stages[s].msg, m, sizeof(m));
		res->class = st->class != ERR_NONE ? st->class : res->class;
		res->timeout = st->timeout;
	}
	for (int s = 0; s < DRILL_NSTAGES; s++)
		if (res->stages[s].status == DRILL_FAILED) {
			res->failed_stage = s;
			break;
		}
	res->ok = res->failed_stage < 0;
	if (!res->ok) {
		snprintf(res->msg, sizeof(res->msg), "%s",
		    res->stages[res->failed_stage].msg);
		if (res->class == ERR_NONE)
			res->class = ERR_IO;
	} else
		res->class = ERR_NONE;
	res->ended = (int64_t)time(NULL);
	drill_hook(config_get_str(sec, "on_failure"), hook_timeout, res,
	    o->log);
	for (size_t i = 0; i < n; i++)
		free(subs[i]);
	return (0);
}
