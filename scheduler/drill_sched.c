/*
 * A drill run recorded (drill.h, drill_run_recorded): the drill's lock,
 * what an interrupted run left removed, the run "running" in the state
 * database, drill_run, the run's end and stages, the metrics file.  The
 * one way `coffer drill run` and the scheduler run a drill.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "scheduler/drill.h"
#include "scheduler/drill_impl.h"
#include "scheduler/job.h"
#include "scheduler/metrics.h"
#include "scheduler/state.h"
#include "xmalloc.h"

/* The run and its stages into the state database st: run id when it was
 * recorded running, else a new one (*id). */
static int
record(struct state *st, const struct drill_rec_opts *ro,
    const struct drill_result *res, int64_t *id, struct err *e)
{
	struct state_step steps[CONFIG_DRILL_STEPS_MAX + 2];
	char msgs[CONFIG_DRILL_STEPS_MAX][ERR_MSG_MAX + 96];
	struct state_run run;
	size_t n = 0;

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
	/* A drill of steps: a row per step (its drill's name), then the
	 * chain's own limits. */
	for (size_t i = 0; i < res->nsteps; i++, n++) {
		const struct drill_step_result *sp = &res->steps[i];

		steps[n].step = sp->name;
		steps[n].status = !sp->ran ? "skipped"
		    : sp->ok               ? "ok"
		                           : "failed";
		steps[n].duration = sp->duration;
		if (sp->ran && !sp->ok)
			steps[n].error_class =
			    sp->timeout ? "timeout" : err_class_name(sp->class);
		if (sp->ran && sp->ok)
			snprintf(msgs[i], sizeof(msgs[i]),
			    "snapshot %.8s to %s %s", sp->snapshot_id,
			    drill_target_name(sp->target_kind), sp->target);
		else
			snprintf(msgs[i], sizeof(msgs[i]), "%s", sp->msg);
		steps[n].message = msgs[i];
	}
	for (int s = res->nsteps > 0 ? DRILL_RTO : 0; s < DRILL_NSTAGES;
	     s++, n++) {
		const struct drill_stage_result *sr = &res->stages[s];

		steps[n].step = drill_stage_name((enum drill_stage)s);
		steps[n].status = drill_status_name(sr->status);
		steps[n].duration = sr->duration;
		steps[n].message = sr->msg[0] ? sr->msg : NULL;
		if (s == res->failed_stage)
			steps[n].error_class = res->timeout
			    ? "timeout"
			    : err_class_name(res->class);
		if (s == DRILL_RESTORE)
			steps[n].bytes = res->bytes;
	}
	if (*id != 0) {
		run.id = *id;
		return (state_run_finish(st, &run, steps, n, e));
	}
	return (state_run_record(st, &run, steps, n, id, e));
}

/* STATE_DIR/drill-NAME.work: the work directory of the run going on. */
static char *
leftovers_path(const char *dir, const char *name)
{
	return (xasprintf("%s/drill-%s.work", dir, name));
}

/* Is pid gone, or a zombie (dead, waiting for its parent)? */
static int
gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int dead = 1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (1);
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		dead = p[2] == 'Z';
	fclose(f);
	return (dead);
}

/* Is pid's working directory work or below it? */
static int
works_in(pid_t pid, const char *work)
{
	char link[64], cwd[PATH_MAX];
	size_t len = strlen(work);
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%ld/cwd", (long)pid);
	if ((n = readlink(link, cwd, sizeof(cwd) - 1)) <= 0)
		return (0);
	cwd[n] = '\0';
	return (strncmp(cwd, work, len) == 0 &&
	    (cwd[len] == '\0' || cwd[len] == '/'));
}

/*
 * SIGKILL every process that works in work: a scratch server's processes
 * (postgres, mariadbd) chdir to their data directory in there.  How many;
 * waits up to 10 s for them to go.
 */
#define REAP_MAX 1024
static size_t
kill_in(const char *work)
{
	pid_t *pids = xcalloc(REAP_MAX, sizeof(*pids));
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir("/proc")) != NULL) {
		while ((de = readdir(d)) != NULL && n < REAP_MAX) {
			char *end;
			long v = strtol(de->d_name, &end, 10);

			if (end == de->d_name || *end != '\0' || v <= 1 ||
			    v == (long)getpid())
				continue;
			if (works_in((pid_t)v, work) && !gone((pid_t)v) &&
			    kill((pid_t)v, SIGKILL) == 0)
				pids[n++] = (pid_t)v;
		}
		closedir(d);
	}
	for (int t = 0; t < 100; t++) {
		size_t left = 0;

		for (size_t i = 0; i < n; i++)
			left += !gone(pids[i]);
		if (left == 0)
			break;
		(void)usleep(100000);
	}
	free(pids);
	return (n);
}

/* The [drill] whose target is target: name, or one of its steps; NULL. */
static const struct config_section *
target_of(const struct config *cfg, const char *name, const char *target)
{
	const struct config_section *sec =
	    config_section_find(cfg, CONFIG_DRILL, name);
	const char *const *steps, *t;
	size_t n;

	if (sec == NULL)
		return (NULL);
	if ((t = config_get_str(sec, "target")) != NULL &&
	    strcmp(t, target) == 0)
		return (sec);
	n = config_get_list(sec, "steps", &steps);
	for (size_t i = 0; i < n; i++) {
		sec = config_section_find(cfg, CONFIG_DRILL, steps[i]);
		t = sec != NULL ? config_get_str(sec, "target") : NULL;
		if (t != NULL && strcmp(t, target) == 0)
			return (sec);
	}
	return (NULL);
}

/* The remote directory a killed run named ("ssh TARGET"), removed there
 * if TARGET is still the drill's (or a step's). */
static void
reap_ssh(const struct config *cfg, const char *name, const char *target,
    struct log *log)
{
	const struct config_section *sec = target_of(cfg, name, target);
	struct spec sp;
	struct err e;

	if (sec == NULL)
		return;
	memset(&sp, 0, sizeof(sp));
	err_clear(&e);
	if (drill_ssh_spec(sec, &sp, &e) == -1 ||
	    drill_ssh_remove(&sp, log, &e) == -1)
		log_error(log,
		    "drill %s: could not remove what an interrupted run "
		    "restored to %s: %s",
		    name, target, e.msg);
	else
		log_warn(log,
		    "drill %s: removed what an interrupted run restored to %s",
		    name, target);
}

/*
 * The directory target a killed run named ("dir K PATH" in line), removed
 * (what is below it only, when it existed before: K 1) if it is still the
 * target of the drill (or of a step of it).
 */
static void
reap_dir(const struct config *cfg, const char *name, char *line,
    struct log *log)
{
	const char *path = line + 6;
	struct err e;
	int keep;

	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "ssh ", 4) == 0) {
		reap_ssh(cfg, name, line + 4, log);
		return;
	}
	if (strncmp(line, "dir ", 4) != 0 ||
	    (line[4] != '0' && line[4] != '1') || line[5] != ' ' ||
	    path[0] != '/' || target_of(cfg, name, path) == NULL)
		return;
	keep = line[4] == '1';
	err_clear(&e);
	if (drill_rm_tree(path, keep, &e) == -1)
		log_error(log,
		    "drill %s: could not remove what an interrupted run "
		    "restored: %s",
		    name, e.msg);
	else
		log_warn(log,
		    "drill %s: removed what an interrupted run restored "
		    "to %s",
		    name, path);
}

/*
 * With the drill's lock held, so that no run of it is going on (the rule
 * of sched_lock): what a run that died without cleaning up (kill -9, a
 * crash, the machine stopped) left.  The work directory it named in
 * drill-NAME.work and the processes working in it go; its runs still
 * "running" are marked failed, interrupted.
 */
static void
reap(const struct config *cfg, struct state *st, const char *dir,
    const char *name, struct log *log)
{
	char *path = leftovers_path(dir, name), line[PATH_MAX], real[PATH_MAX];
	struct state_run *runs = NULL;
	size_t n = 0, killed;
	const char *base;
	struct err e;
	FILE *f;

	err_clear(&e);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		line[strcspn(line, "\n")] = '\0';
		base = strrchr(line, '/');
		/* Only what a drill names as its own. */
		if (line[0] == '/' && base != NULL &&
		    strncmp(base + 1, DRILL_WORK_PREFIX,
		        strlen(DRILL_WORK_PREFIX)) == 0 &&
		    realpath(line, real) != NULL) {
			killed = kill_in(real);
			if (drill_rm_tree(real, 0, &e) == -1)
				log_error(log,
				    "drill %s: could not remove what an "
				    "interrupted run left: %s",
				    name, e.msg);
			else
				log_warn(log,
				    "drill %s: removed the work directory %s "
				    "an interrupted run left (%zu processes "
				    "in it stopped)",
				    name, real, killed);
		}
		/* Then what it wrote outside its work directory. */
		while (fgets(real, sizeof(real), f) != NULL)
			reap_dir(cfg, name, real, log);
		fclose(f);
		(void)unlink(path);
	}
	if (st != NULL &&
	    state_running_kind(st, "drill", name, &runs, &n, &e) == -1)
		log_error(log, "drill %s: %s", name, e.msg);
	for (size_t i = 0; i < n; i++) {
		char msg[256];
		int changed = 0;

		snprintf(msg, sizeof(msg),
		    "interrupted: process %lld running it ended without "
		    "recording its result (killed, or the machine stopped)",
		    (long long)runs[i].pid);
		if (state_run_crashed(st, runs[i].id, msg, &changed, &e) == -1)
			log_error(log, "drill %s: %s", name, e.msg);
		else if (changed)
			log_warn(log, "drill %s: run %lld %s", name,
			    (long long)runs[i].id, msg);
	}
	state_runs_free(runs, n);
	free(path);
}

void
drill_reap_all(const struct config *cfg, struct state *st, const char *dir,
    struct log *log)
{
	const struct config_section *sec = NULL;

	while ((sec = config_next(cfg, sec, CONFIG_DRILL)) != NULL) {
		const char *name = config_section_name(sec);
		char holder[128];
		int fd, busy;
		struct err e;

		err_clear(&e);
		/* A drill whose lock is held is running: not ours to reap. */
		if (sched_lock(dir, "drill", name, &fd, &busy, holder,
		        sizeof(holder), &e) == -1) {
			if (!busy)
				log_error(log, "drill %s: %s", name, e.msg);
			continue;
		}
		reap(cfg, st, dir, name, log);
		close(fd); /* closing drops the flock */
	}
}

int
drill_run_recorded(const struct config *cfg, const char *name,
    const struct drill_opts *o, const struct drill_rec_opts *ro,
    struct drill_result *res, struct drill_rec_result *rr, struct err *e)
{
	struct state *st = NULL;
	char *dir = NULL, *left = NULL;
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
	if (state_open(dir, &st, &re) == -1) {
		if (ro->admit != NULL) {
			*e = re;
			goto out;
		}
		log_error(o->log, "drill %s: not recorded: %s", name, re.msg);
	}
	reap(cfg, st, dir, name, o->log);
	if (ro->admit != NULL) {
		if ((r = ro->admit(ro->admit_arg, st, e)) == -1)
			goto out;
		if (r == 0) {
			rr->declined = 1;
			rc = 0;
			goto out;
		}
	}
	/* A drill that cannot run at all is not a run to record. */
	if (drill_check(cfg, name, e) == -1)
		goto out;
	/* Recorded "running" first: a run killed from here on is found by
	 * the next one (reap), and told apart from one that never ran. */
	if (st != NULL) {
		struct state_run run;

		memset(&run, 0, sizeof(run));
		run.job = name;
		run.kind = "drill";
		run.started = ro->now != 0 ? ro->now : (int64_t)time(NULL);
		run.status = "running";
		run.trigger = ro->trigger != NULL ? ro->trigger : "manual";
		run.slot = ro->slot;
		run.pid = (int64_t)getpid();
		if (state_run_add(st, &run, &rr->run_id, &re) == -1) {
			log_error(o->log, "drill %s: not recorded: %s", name,
			    re.msg);
			rr->run_id = 0;
		}
	}
	/* Not held across drill_run's fork. */
	state_close(st);
	st = NULL;
	left = leftovers_path(dir, name);
	if (drill_run_at(cfg, name, o, left, res, e) == -1) {
		/* Ended before it ran (no work directory, no fork). */
		if (rr->run_id != 0 && state_open(dir, &st, &re) == 0) {
			struct state_run run;

			memset(&run, 0, sizeof(run));
			run.id = rr->run_id;
			run.started =
			    ro->now != 0 ? ro->now : (int64_t)time(NULL);
			run.ended = run.started;
			run.status = "failed";
			run.error_class = err_class_name(e->class);
			run.message = e->msg;
			if (state_run_finish(st, &run, NULL, 0, &re) == -1)
				log_error(o->log, "drill %s: %s", name, re.msg);
		}
		goto out;
	}
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
	free(left);
	return (rc);
}
