/*
 * A drill run recorded (drill.h, drill_run_recorded): the drill's lock,
 * drill_run, the run and its stages in the state database, the metrics
 * file.  The one way `coffer drill run` and the scheduler run a drill.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "scheduler/drill.h"
#include "scheduler/job.h"
#include "scheduler/metrics.h"
#include "scheduler/state.h"
#include "xmalloc.h"

/* The run and its stages into the state database st. */
static int
record(struct state *st, const struct drill_rec_opts *ro,
    const struct drill_result *res, int64_t *id, struct err *e)
{
	struct state_step steps[DRILL_NSTAGES];
	struct state_run run;

	memset(&run, 0, sizeof(run));
	memset(steps, 0, sizeof(steps));
	run.job = res->name;
	run.kind = "drill";
	run.started = ro->now != 0 ? ro->now : res->started;
	run.ended = run.started + (res->ended - res->started);
	run.status = res->ok ? "ok" : "failed";
	run.trigger = ro->trigger != NULL ? ro->trigger : "manual";
	run.slot = ro->slot;
	run.pid = (int64_t)getpid();
	run.has_rto = res->rto_measured;
	run.rto = res->rto;
	run.has_rpo = res->rpo_measured;
	run.rpo = res->rpo;
	run.snapshot = res->snapshot_id[0] ? res->snapshot_id : NULL;
	run.consistent = res->consistent;
	for (int s = 0; s < DRILL_NSTAGES; s++) {
		const struct drill_stage_result *sr = &res->stages[s];

		steps[s].step = drill_stage_name((enum drill_stage)s);
		steps[s].status = drill_status_name(sr->status);
		steps[s].duration = sr->duration;
		steps[s].message = sr->msg[0] ? sr->msg : NULL;
		if (s == res->failed_stage)
			steps[s].error_class = res->timeout
			    ? "timeout"
			    : err_class_name(res->class);
		if (s == DRILL_RESTORE)
			steps[s].bytes = res->bytes;
	}
	return (state_run_record(st, &run, steps, DRILL_NSTAGES, id, e));
}

int
drill_run_recorded(const struct config *cfg, const char *name,
    const struct drill_opts *o, const struct drill_rec_opts *ro,
    struct drill_result *res, struct drill_rec_result *rr, struct err *e)
{
	struct state *st = NULL;
	char *dir = NULL;
	int lockfd = -1, rc = -1, r;
	struct err re;

	memset(rr, 0, sizeof(*rr));
	err_clear(&re);
	dir = ro->state_dir != NULL ? xstrdup(ro->state_dir)
	                            : state_dir_default(cfg);
	if (dir == NULL) {
		if (ro->admit != NULL) {
			err_set(e, ERR_CONFIG,
			    "no state directory: set state_dir in [global], "
			    "or HOME");
			goto out;
		}
		log_error(o->log,
		    "drill %s: not recorded: no state directory (set "
		    "state_dir in [global], or HOME)",
		    name);
		rc = drill_run(cfg, name, o, res, e);
		goto out;
	}
	if (state_mkdir(dir, e) == -1 ||
	    sched_lock(dir, "drill", name, &lockfd, &rr->busy, rr->holder,
	        sizeof(rr->holder), e) == -1)
		goto out;
	if (ro->admit != NULL) {
		if (state_open(dir, &st, e) == -1 ||
		    (r = ro->admit(ro->admit_arg, st, e)) == -1)
			goto out;
		if (r == 0) {
			rr->declined = 1;
			rc = 0;
			goto out;
		}
		/* Not held across drill_run's fork. */
		state_close(st);
		st = NULL;
	}
	if (drill_run(cfg, name, o, res, e) == -1)
		goto out;
	rc = 0;
	/* Recorded before the lock goes: another tick that gets it then
	 * sees this run. */
	if (state_open(dir, &st, &re) == -1 ||
	    record(st, ro, res, &rr->run_id, &re) == -1) {
		log_error(o->log, "drill %s: not recorded: %s", name, re.msg);
		goto out;
	}
	rr->recorded = 1;
	if (metrics_write(cfg, st, NULL, NULL, 0, 0, &re) == -1)
		log_warn(o->log, "drill %s: %s", name, re.msg);
out:
	state_close(st);
	if (lockfd != -1)
		close(lockfd); /* closing drops the flock */
	free(dir);
	return (rc);
}
