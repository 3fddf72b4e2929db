/*
 * A job's run (job.h): resolve it, take its lock, fork the process that
 * runs its steps and watch it against the timeout, then call its hook and
 * record the run.  The steps themselves run in run_steps, in the child.
 */
#include "scheduler/job.h"

#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "proc.h"
#include "replicate/replicate.h"
#include "repo/check.h"
#include "repo/forget.h"
#include "repo/lock.h"
#include "repo/manifest.h"
#include "repo/oplog.h"
#include "repo/prune.h"
#include "repo/repo.h"
#include "repo/snapsel.h"
#include "scheduler/metrics.h"
#include "scheduler/retention.h"
#include "scheduler/retention_plan.h"
#include "scheduler/state.h"
#include "snapshot/job.h"
#include "snapshot/snapshot.h"
#include "xmalloc.h"

static const char *const step_names[JOB_NSTEPS] = { "snapshot", "forget",
	"replicate", "check", "prune" };

const char *
job_step_name(enum job_step s)
{
	return (s < JOB_NSTEPS ? step_names[s] : "?");
}

const char *
job_status_name(enum job_status s)
{
	switch (s) {
	case JOB_OK:
		return ("ok");
	case JOB_FAILED:
		return ("failed");
	default:
		return ("skipped");
	}
}

int
job_step_gate(const struct job_result *r, enum job_step s, char *why,
    size_t whylen)
{
	const struct job_step_result *snap = &r->steps[JOB_STEP_SNAPSHOT];
	const char *w = NULL;

	/* A prune run has its one step: nothing before it to wait for. */
	if (!r->steps[s].configured)
		w = "not configured";
	else if (s != JOB_STEP_SNAPSHOT && s != JOB_STEP_PRUNE &&
	    snap->status != JOB_OK)
		w = snap->locked ? "the snapshot was skipped: the repository "
		                   "is locked"
		                 : "the snapshot failed";
	if (w != NULL && why != NULL)
		snprintf(why, whylen, "%s", w);
	return (w == NULL);
}

void
job_check_slice(double percent, uint64_t count, uint32_t *slice,
    uint32_t *slices)
{
	double s = percent > 0 ? 100.0 / percent : 1;

	/* Slices of at least percent each: floor, and at least one. */
	if (s < 1)
		s = 1;
	if (s > 1000000)
		s = 1000000;
	*slices = (uint32_t)s;
	*slice = (uint32_t)(count % *slices) + 1;
}

int
job_exit_status(const struct job_result *r)
{
	if (r->failed_step < 0)
		return (r->locked ? EXIT_LOCKED : EXIT_OK);
	return (r->steps[r->failed_step].exit_status);
}

const char *
job_run_status(const struct job_result *r)
{
	if (r->failed_step >= 0)
		return ("failed");
	return (r->locked ? "skipped" : "ok");
}

unsigned
job_lock_wait(const struct config *cfg, const struct config_section *sec)
{
	uint64_t v = JOB_LOCK_WAIT_DEFAULT;

	if (sec != NULL && config_key_line(sec, "lock_wait") > 0)
		(void)config_get_duration(sec, "lock_wait", &v);
	else if (cfg != NULL &&
	    config_key_line(config_global(cfg), "lock_wait") > 0)
		(void)config_get_duration(config_global(cfg), "lock_wait", &v);
	return (v > UINT32_MAX ? UINT32_MAX : (unsigned)v);
}

int
job_err_locked(const struct err *e)
{
	return (e->class == ERR_LOCKED && err_has(e, ERR_F_LOCK));
}

/* ------------------------------------------------------- in the child */

struct run {
	const struct config *cfg;
	const char *name;
	const struct config_section *sec;
	const struct snap_job *sj;
	const struct job_opts *o;
	struct job_result *res;
	uint64_t checks;          /* earlier runs whose check step ran */
	unsigned lock_wait;       /* job_lock_wait */
	int fd;                   /* to the parent */
	struct metrics_sample ms; /* after the step that ended last */
};

/* One record to the parent: a step started (done 0) or ended. */
struct job_msg {
	int step, done;
	struct job_step_result r;
	char snapshot_id[65];
	struct metrics_sample ms; /* done: what the step changed */
};

static void
send_msg(struct run *u, enum job_step s, int done)
{
	struct job_msg m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.step = (int)s;
	m.done = done;
	m.r = u->res->steps[s];
	memcpy(m.snapshot_id, u->res->snapshot_id, sizeof(m.snapshot_id));
	m.ms = u->ms;
	/* Less than PIPE_BUF: written whole, or not at all. */
	do
		n = write(u->fd, &m, sizeof(m));
	while (n == -1 && errno == EINTR);
}

static void
step_fail(struct job_step_result *sr, const struct err *e)
{
	sr->status = JOB_FAILED;
	sr->class = e->class != ERR_NONE ? e->class : ERR_INTERNAL;
	sr->exit_status = err_exit_status(sr->class);
	snprintf(sr->msg, sizeof(sr->msg), "%s", e->msg);
}

static int
do_snapshot(struct run *u, struct job_step_result *sr, struct err *e)
{
	struct repo *r = NULL;
	struct snap_opts so;
	struct manifest m;
	struct stat st;
	size_t nfailed = 0;
	int rc = -1;

	manifest_init(&m);
	memset(&so, 0, sizeof(so));
	if (u->o->open_repo(u->o->arg, u->sj->repository, 0, 0, u->lock_wait,
	        &r, e) == -1)
		goto out;
	so.cache_dir = u->o->cache_dir;
	so.log = u->o->log;
	so.interrupted = u->o->interrupted;
	so.repository = u->sj->repository;
	if (so.cache_dir != NULL && stat(so.cache_dir, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		so.tmp_dir = so.cache_dir;
	if (snap_job_run(r, u->sj, &so, &m, &nfailed, e) == -1)
		goto out;
	snprintf(u->res->snapshot_id, sizeof(u->res->snapshot_id), "%s", m.id);
	sr->bytes = m.stored_new;
	if (nfailed > 0 || m.nskipped > 0) {
		const char *why = "";

		for (size_t i = 0; i < m.nsources; i++)
			if (strcmp(m.sources[i].status, "ok") != 0 &&
			    m.sources[i].error != NULL) {
				why = m.sources[i].error;
				break;
			}
		sr->status = JOB_FAILED;
		sr->class = ERR_IO;
		sr->exit_status = EXIT_PARTIAL;
		snprintf(sr->msg, sizeof(sr->msg),
		    "snapshot %.8s is partial: %zu of %zu sources failed, %zu "
		    "entries skipped%s%s",
		    m.id, nfailed, m.nsources, m.nskipped, why[0] ? ": " : "",
		    why);
		rc = 0;
		goto out;
	}
	snprintf(sr->msg, sizeof(sr->msg), "snapshot %.8s saved", m.id);
	rc = 0;
out:
	manifest_clear(&m);
	repo_close(r);
	return (rc);
}

static void
forget_note(void *arg, int warn, const char *msg)
{
	struct log *log = arg;

	if (warn)
		log_warn(log, "%s", msg);
	else
		log_info(log, "%s", msg);
}

static int
do_forget(struct run *u, struct job_step_result *sr, struct err *e)
{
	struct retention_policy pol;
	struct retention_plan *p = NULL;
	struct snapsel *list = NULL;
	struct repo *r = NULL;
	int rc = -1;

	memset(&pol, 0, sizeof(pol));
	retention_policy_from_job(u->sec, &pol);
	if (u->o->open_repo(u->o->arg, u->sj->repository, 0, 0, u->lock_wait,
	        &r, e) == -1)
		goto out;
	if (snapsel_list(r, time(NULL), &list, e) == -1)
		goto out;
	if (retention_plan_new(list, &pol, RETENTION_GROUP_DEFAULT, NULL, 0, &p,
	        e) == -1)
		goto out;
	if (retention_plan_apply(p, repo_store(r), u->o->interrupted,
	        forget_note, u->o->log, e) == -1)
		goto out;
	snprintf(sr->msg, sizeof(sr->msg), "forgot %zu snapshot%s", p->nmoved,
	    p->nmoved == 1 ? "" : "s");
	rc = 0;
out:
	oplog_record_snapshots(r, OPLOG_FORGET,
	    p != NULL ? (const char *const *)p->moved : NULL,
	    p != NULL ? p->nmoved : 0, rc == -1 ? e : NULL);
	retention_plan_free(p);
	repo_close(r);
	return (rc);
}

static void
lock_note(void *arg, const char *msg)
{
	log_info(arg, "%s", msg);
}

static void
repl_notice(void *arg, const char *msg)
{
	log_warn(arg, "replicate: %s", msg);
}

static int
do_replicate(struct run *u, struct job_step_result *sr, struct err *e)
{
	const char *to = config_get_str(u->sec, "replicate");
	struct stor *src = NULL, *dst = NULL;
	struct lock *lk = NULL;
	struct lock_opts lo;
	struct repl_opts ro;
	struct repl_stats rs;
	int rc = -1;

	memset(&lo, 0, sizeof(lo));
	memset(&ro, 0, sizeof(ro));
	memset(&rs, 0, sizeof(rs));
	if (u->o->open_store(u->o->arg, u->sj->repository, 0, &src, e) == -1 ||
	    u->o->open_store(u->o->arg, to, 1, &dst, e) == -1)
		goto out;
	lo.command = "replicate";
	lo.wait = u->lock_wait;
	lo.notice = lock_note;
	lo.notice_arg = u->o->log;
	lo.interrupted = u->o->interrupted;
	if (lock_acquire(src, LOCK_SHARED, &lo, &lk, e) == -1)
		goto out;
	ro.notice = repl_notice;
	ro.arg = u->o->log;
	ro.src_lock = lk;
	ro.interrupted = u->o->interrupted;
	if (repl_run(src, dst, &ro, &rs, e) == -1) {
		sr->bytes = rs.bytes_sent;
		goto out;
	}
	sr->bytes = rs.bytes_sent;
	if (lock_release(lk, e) == -1)
		goto out;
	snprintf(sr->msg, sizeof(sr->msg), "%llu files sent to %s",
	    (unsigned long long)rs.files_sent, to);
	rc = 0;
out:
	if (rc == -1)
		err_wrap(e, "replicate to %s", to);
	lock_free(lk);
	stor_close(src);
	stor_close(dst);
	return (rc);
}

static void
prune_note(void *arg, const char *msg)
{
	log_warn(arg, "prune: %s", msg);
}

/*
 * The job's repository pruned as `coffer prune --yes` would, with the
 * engine's defaults: no one reviews a scheduled plan, which is why the
 * engine's two phases and margin (repo/prune.h) are what keeps a running
 * snapshot's data.
 */
static int
do_prune(struct run *u, struct job_step_result *sr, struct err *e)
{
	struct prune_result *pr = NULL;
	struct prune_opts po;
	struct stor *st = NULL;
	struct repo *r = NULL;
	uint64_t marked;
	int rc = -1;

	/* An append-only store refuses before we leave a lock file there. */
	if (u->o->open_store(u->o->arg, u->sj->repository, 0, &st, e) == -1 ||
	    forget_probe(st, e) == -1)
		goto out;
	stor_close(st);
	st = NULL;
	if (u->o->open_repo(u->o->arg, u->sj->repository, 1, 0, u->lock_wait,
	        &r, e) == -1)
		goto out;
	memset(&po, 0, sizeof(po));
	po.max_unused = PRUNE_MAX_UNUSED_DEFAULT;
	po.max_repack = UINT64_MAX;
	po.interrupted = u->o->interrupted;
	po.note = prune_note;
	po.arg = u->o->log;
	if (prune_run(r, &po, &pr, e) == -1)
		goto out;
	marked = pr->t.packs[PRUNE_DELETE] + pr->t.packs[PRUNE_REPACK];
	sr->bytes = pr->due_bytes;
	snprintf(sr->msg, sizeof(sr->msg),
	    "pruned: %zu pack%s deleted (%llu bytes freed), %llu repacked, "
	    "%llu marked for deletion after %llu s, %zu forgotten snapshot%s "
	    "removed",
	    pr->due_packs.n, pr->due_packs.n == 1 ? "" : "s",
	    (unsigned long long)pr->due_bytes,
	    (unsigned long long)pr->t.packs[PRUNE_REPACK],
	    (unsigned long long)marked, (unsigned long long)pr->margin,
	    pr->forgotten.n, pr->forgotten.n == 1 ? "" : "s");
	rc = 0;
out:
	prune_result_free(pr);
	repo_close(r);
	stor_close(st);
	return (rc);
}

static int
check_tick(void *arg, struct err *e)
{
	return (repo_lock_refresh(arg, e));
}

static int
do_check(struct run *u, struct job_step_result *sr, struct err *e)
{
	struct check_report *rep = NULL;
	struct check_opts co;
	struct repo *r = NULL;
	double pct = 0;
	int rc = -1;

	memset(&co, 0, sizeof(co));
	(void)config_get_percent(u->sec, "check", &pct);
	co.data = CHECK_DATA_SLICE;
	job_check_slice(pct, u->checks, &co.slice, &co.slices);
	if (u->o->open_repo(u->o->arg, u->sj->repository, 0,
	        REPO_OPEN_SKIP_BAD_INDEX, u->lock_wait, &r, e) == -1)
		goto out;
	co.tick = check_tick;
	co.arg = r;
	co.interrupted = u->o->interrupted;
	if (check_run(r, &co, &rep, e) == -1)
		goto out;
	sr->bytes = rep->stats.pack_bytes_read;
	if (rep->stats.errors > 0) {
		const struct check_problem *p = NULL;

		for (size_t i = 0; i < rep->nproblems && p == NULL; i++)
			if (rep->problems[i].severity == CHECK_ERROR)
				p = &rep->problems[i];
		sr->status = JOB_FAILED;
		sr->class = p != NULL ? p->class : ERR_CORRUPT;
		sr->exit_status = check_report_exit_status(rep);
		snprintf(sr->msg, sizeof(sr->msg),
		    "check (packs slice %u/%u): %llu errors; first: %s: %s",
		    co.slice, co.slices, (unsigned long long)rep->stats.errors,
		    p != NULL ? p->file : "?", p != NULL ? p->what : "?");
		rc = 0;
		goto out;
	}
	snprintf(sr->msg, sizeof(sr->msg),
	    "check: no errors; packs slice %u/%u read (%llu packs)", co.slice,
	    co.slices, (unsigned long long)rep->stats.packs_read);
	rc = 0;
out:
	check_report_free(rep);
	repo_close(r);
	return (rc);
}

typedef int (*step_fn)(struct run *, struct job_step_result *, struct err *);

static void
run_steps(struct run *u)
{
	static const step_fn fns[JOB_NSTEPS] = { do_snapshot, do_forget,
		do_replicate, do_check, do_prune };
	struct timespec t0, t1;
	struct err e;

	for (int s = 0; s < JOB_NSTEPS; s++) {
		struct job_step_result *sr = &u->res->steps[s];

		if (!job_step_gate(u->res, (enum job_step)s, sr->msg,
		        sizeof(sr->msg))) {
			sr->status = JOB_SKIPPED;
			continue;
		}
		if (u->o->interrupted != NULL && *u->o->interrupted) {
			sr->status = JOB_SKIPPED;
			snprintf(sr->msg, sizeof(sr->msg), "interrupted");
			continue;
		}
		sr->ran = 1;
		send_msg(u, (enum job_step)s, 0);
		log_info(u->o->log, "job %s: %s", u->name, step_names[s]);
		err_clear(&e);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		sr->status = JOB_OK;
		if (fns[s](u, sr, &e) == 0)
			; /* sr says how it went */
		else if (job_err_locked(&e)) {
			/* Queued behind another process for lock_wait: not
			 * a failure; the next tick tries again. */
			sr->status = JOB_SKIPPED;
			sr->locked = 1;
			sr->class = ERR_LOCKED;
			snprintf(sr->msg, sizeof(sr->msg), "%s", e.msg);
			log_warn(u->o->log, "job %s: %s skipped: locked: %s",
			    u->name, step_names[s], e.msg);
		} else
			step_fail(sr, &e);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		sr->duration = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		metrics_probe(u->cfg, u->name, (enum job_step)s, u->o, &u->ms);
		send_msg(u, (enum job_step)s, 1);
	}
}

/* ------------------------------------------------------ in the parent */

static int64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

/*
 * Read the worker's records into res until it ends, sending it SIGTERM at
 * the deadline (or on an interrupt) and killing all below us after the
 * grace.  Returns the step that was running when it ended, or -1.
 */
static int
watch(pid_t pid, int fd, uint64_t timeout, volatile sig_atomic_t *intr,
    struct job_result *res, const struct metrics_hook *mh, int *timed_out,
    int *wstatus)
{
	int64_t deadline = timeout ? now_ms() + (int64_t)timeout * 1000 : 0;
	int64_t kill_at = 0;
	int running = -1, termed = 0;

	*timed_out = 0;
	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		struct job_msg m;
		int64_t t = now_ms();
		ssize_t n;

		if (!termed && deadline && t >= deadline)
			*timed_out = 1;
		if (!termed && (*timed_out || (intr != NULL && *intr))) {
			(void)kill(pid, SIGTERM);
			termed = 1;
			kill_at = t + JOB_KILL_GRACE * 1000;
		}
		if (termed && t >= kill_at)
			break;
		if (poll(&pf, 1, 200) <= 0)
			continue;
		n = read(fd, &m, sizeof(m));
		if (n == -1 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m))
			break; /* the end (or a torn record: the same) */
		if (m.step < 0 || m.step >= JOB_NSTEPS)
			continue;
		res->steps[m.step] = m.r;
		memcpy(res->snapshot_id, m.snapshot_id,
		    sizeof(res->snapshot_id));
		res->snapshot_id[sizeof(res->snapshot_id) - 1] = '\0';
		running = m.done ? -1 : m.step;
		if (m.done)
			metrics_step(mh, res, (enum job_step)m.step, &m.ms);
	}
	if (termed)
		proc_kill_descendants();
	while (waitpid(pid, wstatus, 0) == -1 && errno == EINTR)
		;
	if (termed)
		proc_kill_descendants();
	return (running);
}

int
sched_lock(const char *dir, const char *kind, const char *name, int *fdp,
    int *busy, char *holder, size_t holdersize, struct err *e)
{
	char *path = xasprintf("%s/%s-%s.lock", dir, kind, name);
	char buf[128], when[32];
	struct tm tm;
	time_t now = time(NULL);
	ssize_t n;
	int fd, rc = -1;

	*fdp = -1;
	*busy = 0;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		err_sys(e, ERR_IO, "%s %s: lock file %s", kind, name, path);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK) {
			err_sys(e, ERR_IO, "%s %s: lock %s", kind, name, path);
			goto out;
		}
		/* The holder writes who it is just after it took the lock:
		 * wait a little for a whole line rather than say less. */
		for (int i = 0; i < 20; i++) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			if (strchr(buf, '\n') != NULL)
				break;
			(void)usleep(50000);
		}
		buf[strcspn(buf, "\n")] = '\0';
		*busy = 1;
		snprintf(holder, holdersize, "%s",
		    buf[0] ? buf : "pid unknown");
		err_set(e, ERR_LOCKED, "%s %s is already running (%s)", kind,
		    name, holder);
		goto out;
	}
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(buf, sizeof(buf), "pid %ld since %s\n", (long)getpid(),
	    when);
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		err_sys(e, ERR_IO, "%s %s: lock file %s", kind, name, path);
		goto out;
	}
	*fdp = fd;
	fd = -1;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(path);
	return (rc);
}

/* The job's lock: STATE_DIR/job-NAME.lock (sched_lock). */
static int
job_lock(const char *dir, const char *name, int *fdp, struct job_result *res,
    struct err *e)
{
	return (sched_lock(dir, "job", name, fdp, &res->busy, res->holder,
	    sizeof(res->holder), e));
}

/* Replace control characters: COFFER_ERROR is one line. */
static void
one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void
run_hook(const struct config_section *sec, const char *name,
    const struct job_result *res, struct log *log)
{
	const char *hook = config_get_str(sec,
	    res->failed_step < 0 ? "on_success" : "on_failure");
	char vjob[CONFIG_NAME_MAX + 300], vstatus[32], vstep[32],
	    verr[ERR_MSG_MAX + 16];
	const char *env[5];
	struct proc_opts po;
	uint64_t secs = 0;
	struct err e;

	/* A run skipped as locked did nothing: the next tick tries again,
	 * and a repeat shows as overdue. */
	if (hook == NULL || res->locked)
		return;
	(void)config_get_duration(sec, "hook_timeout", &secs);
	snprintf(vjob, sizeof(vjob), "COFFER_JOB=%.*s", CONFIG_NAME_MAX, name);
	snprintf(vstatus, sizeof(vstatus), "COFFER_STATUS=%s",
	    res->failed_step < 0 ? "ok" : "failed");
	snprintf(vstep, sizeof(vstep), "COFFER_STEP=%s",
	    res->failed_step >= 0 ? step_names[res->failed_step]
	        : res->prune      ? step_names[JOB_STEP_PRUNE]
	                          : "");
	snprintf(verr, sizeof(verr), "COFFER_ERROR=%s",
	    res->failed_step < 0 ? "" : res->steps[res->failed_step].msg);
	one_line(verr);
	env[0] = vjob;
	env[1] = vstatus;
	env[2] = vstep;
	env[3] = verr;
	env[4] = NULL;
	memset(&po, 0, sizeof(po));
	po.shell = hook;
	po.label = res->failed_step < 0 ? "on_success hook" : "on_failure hook";
	po.env = env;
	po.out = PROC_TAIL;
	po.timeout = (unsigned)secs;
	err_clear(&e);
	if (proc_run(&po, &e) == -1)
		log_warn(log, "job %s: %s", name, e.msg);
}

static void
record(struct state *st, const char *name, struct job_result *res,
    struct log *log)
{
	struct state_step steps[JOB_NSTEPS];
	size_t n = 0;
	struct err e;

	for (int s = 0; s < JOB_NSTEPS; s++) {
		const struct job_step_result *sr = &res->steps[s];

		if (!sr->configured)
			continue;
		steps[n].step = step_names[s];
		steps[n].status = job_status_name(sr->status);
		steps[n].duration = sr->duration;
		steps[n].error_class = sr->locked ? err_class_name(ERR_LOCKED)
		    : sr->status != JOB_FAILED    ? NULL
		    : sr->timeout                 ? "timeout"
		                                  : err_class_name(sr->class);
		steps[n].message = sr->msg[0] ? sr->msg : NULL;
		steps[n].bytes = sr->bytes;
		n++;
	}
	err_clear(&e);
	if (state_run_end(st, res->run_id, res->ended, job_run_status(res),
	        steps, n, &e) == -1)
		log_error(log, "job %s: cannot record the run: %s", name,
		    e.msg);
}

/* The host's boot id (a UUID), or "" when /proc does not say. */
static void
boot_id(char *buf, size_t size)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)size, f) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* Process pid's start time (field 22 of /proc/PID/stat), or 0. */
static int64_t
pid_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (0);
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* After "(COMM)": state is field 3, starttime field 22. */
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1,
	        " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
	        "%*d %*d %*d %*d %llu",
	        &t) != 1)
		return (0);
	return ((int64_t)t);
}

/* Is the process that recorded run gone? */
static int
run_gone(const struct state_run *run, const char *boot, char *why,
    size_t whylen)
{
	int64_t t;

	if (run->pid <= 0 || run->pid > INT32_MAX) {
		snprintf(why, whylen, "its process is not known");
		return (1);
	}
	if (run->boot_id != NULL && boot[0] != '\0' &&
	    strcmp(run->boot_id, boot) != 0) {
		snprintf(why, whylen,
		    "the host restarted while process %lld ran it",
		    (long long)run->pid);
		return (1);
	}
	if (kill((pid_t)run->pid, 0) == -1 && errno == ESRCH) {
		snprintf(why, whylen, "process %lld running it is gone",
		    (long long)run->pid);
		return (1);
	}
	t = pid_start_time((pid_t)run->pid);
	if (run->pid_start != 0 && t != 0 && t != run->pid_start) {
		snprintf(why, whylen,
		    "process %lld running it is gone (the pid is another "
		    "process's now)",
		    (long long)run->pid);
		return (1);
	}
	return (0);
}

int
job_reap(struct state *st, const char *name, int locked, struct log *log,
    size_t *np, struct err *e)
{
	struct state_run *runs = NULL;
	size_t n = 0, marked = 0;
	char boot[64], why[160], msg[256];
	int rc = -1, changed;

	if (np != NULL)
		*np = 0;
	boot_id(boot, sizeof(boot));
	if (state_running(st, name, &runs, &n, e) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		why[0] = '\0';
		if (!run_gone(&runs[i], boot, why, sizeof(why))) {
			if (!locked)
				continue;
			/* We hold its lock: the one that recorded it does
			 * not (a run holds the lock from before it is
			 * recorded until after its end is). */
			snprintf(why, sizeof(why),
			    "the job's lock is free, so process %lld no "
			    "longer runs it",
			    (long long)runs[i].pid);
		}
		snprintf(msg, sizeof(msg),
		    "ended without recording its result: %s (killed, or the "
		    "machine stopped)",
		    why);
		if (state_run_crashed(st, runs[i].id, msg, &changed, e) == -1)
			goto out;
		if (!changed)
			continue;
		marked++;
		{
			time_t t = (time_t)runs[i].started;
			struct tm tm;
			char when[32] = "?";

			if (localtime_r(&t, &tm) != NULL)
				strftime(when, sizeof(when),
				    "%Y-%m-%d %H:%M:%S", &tm);
			log_warn(log, "job %s: run %lld started %s crashed: %s",
			    runs[i].job, (long long)runs[i].id, when, msg);
		}
	}
	if (np != NULL)
		*np = marked;
	rc = 0;
out:
	state_runs_free(runs, n);
	return (rc);
}

int
job_run(const struct config *cfg, const char *name, const struct job_opts *o,
    struct job_result *res, struct err *e)
{
	const struct config_section *sec;
	struct snap_job *sj = NULL;
	struct state *st = NULL;
	struct retention_policy pol;
	struct metrics_hook mh;
	char *dir = NULL;
	uint64_t timeout = 0, checks = 0;
	int lockfd = -1, pfd[2] = { -1, -1 }, rc = -1, timed_out = 0;
	int running, stopped, wstatus = 0;
	struct state_run rec;
	int64_t real_start = 0;
	char boot[64];
	pid_t pid, parent = getpid();

	memset(res, 0, sizeof(*res));
	res->failed_step = -1;
	if (snap_job_resolve(cfg, name, &sj, e) == -1 ||
	    snap_job_check(sj, e) == -1)
		goto out;
	sec = config_section_find(cfg, CONFIG_JOB, name);
	memset(&pol, 0, sizeof(pol));
	retention_policy_from_job(sec, &pol);
	res->prune = o->prune;
	if (o->prune)
		res->steps[JOB_STEP_PRUNE].configured = 1;
	else {
		res->steps[JOB_STEP_SNAPSHOT].configured = 1;
		res->steps[JOB_STEP_FORGET].configured =
		    retention_policy_set(&pol);
		res->steps[JOB_STEP_REPLICATE].configured =
		    config_get_str(sec, "replicate") != NULL;
		res->steps[JOB_STEP_CHECK].configured =
		    config_key_line(sec, "check") > 0;
	}
	(void)config_get_duration(sec, "timeout", &timeout);

	dir = o->state_dir != NULL ? xstrdup(o->state_dir)
	                           : state_dir_default(cfg);
	if (dir == NULL) {
		err_set(e, ERR_CONFIG,
		    "no state directory: set state_dir in [global], or HOME");
		goto out;
	}
	if (state_open(dir, &st, e) == -1)
		goto out;
	if (job_lock(dir, name, &lockfd, res, e) == -1)
		goto out;
	if (job_reap(st, name, 1, o->log, NULL, e) == -1)
		goto out;
	if (o->admit != NULL) {
		int go = o->admit(o->admit_arg, st, e);

		if (go == -1)
			goto out;
		if (go == 0) {
			res->declined = 1;
			rc = 0;
			goto out;
		}
	}
	if (state_step_count(st, name, "check", &checks, e) == -1)
		goto out;
	res->started = o->now != 0 ? o->now : (int64_t)time(NULL);
	real_start = (int64_t)time(NULL);
	boot_id(boot, sizeof(boot));
	memset(&rec, 0, sizeof(rec));
	rec.job = name;
	rec.kind = o->prune ? "prune" : NULL;
	rec.started = res->started;
	rec.status = "running";
	rec.trigger = o->trigger ? o->trigger : "manual";
	rec.slot = o->slot;
	rec.pid = (int64_t)getpid();
	rec.boot_id = boot[0] ? boot : NULL;
	rec.pid_start = pid_start_time(getpid());
	if (state_run_add(st, &rec, &res->run_id, e) == -1)
		goto out;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		err_sys(e, ERR_IO, "job %s: pipe", name);
		goto out;
	}
	/* What the worker leaves behind when killed comes to us. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		err_sys(e, ERR_IO, "job %s: fork", name);
		goto out;
	}
	if (pid == 0) {
		struct run u;

		/* Should the process that records the run die, stop the
		 * steps (SIGTERM: the running one ends cleanly) rather than
		 * go on unrecorded, holding the job's lock. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		if (getppid() != parent)
			_exit(1);
		close(pfd[0]);
		memset(&u, 0, sizeof(u));
		u.cfg = cfg;
		u.name = name;
		u.sec = sec;
		u.sj = sj;
		u.o = o;
		u.res = res;
		u.checks = checks;
		u.lock_wait = job_lock_wait(cfg, sec);
		u.fd = pfd[1];
		run_steps(&u);
		fflush(stdout);
		fflush(stderr);
		_exit(0);
	}
	close(pfd[1]);
	pfd[1] = -1;
	mh.cfg = cfg;
	mh.st = st;
	mh.job = name;
	mh.log = o->log;
	running = watch(pid, pfd[0], timeout, o->interrupted, res, &mh,
	    &timed_out, &wstatus);
	(void)prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);

	/* What the worker could not say itself. */
	stopped = running;
	if (timed_out && stopped < 0) {
		/* Between steps, or the step ended on the SIGTERM. */
		for (int s = 0; s < JOB_NSTEPS && stopped < 0; s++)
			if (res->steps[s].ran &&
			    res->steps[s].status == JOB_FAILED &&
			    res->steps[s].class == ERR_INTERRUPTED)
				stopped = s;
		for (int s = 0; s < JOB_NSTEPS && stopped < 0; s++)
			if (res->steps[s].configured && !res->steps[s].ran)
				stopped = s;
		for (int s = 0; s < JOB_NSTEPS; s++)
			if (stopped < 0 && res->steps[s].ran)
				stopped = s;
	}
	for (int s = 0; s < JOB_NSTEPS; s++) {
		struct job_step_result *sr = &res->steps[s];

		if (s == stopped && timed_out) {
			sr->status = JOB_FAILED;
			sr->timeout = 1;
			sr->class = ERR_INTERRUPTED;
			sr->exit_status = EXIT_ERROR;
			snprintf(sr->msg, sizeof(sr->msg),
			    "timeout: job %s ran past its timeout of %llu s; "
			    "%s was stopped",
			    name, (unsigned long long)timeout, step_names[s]);
		} else if (s == stopped) {
			sr->status = JOB_FAILED;
			sr->class = ERR_INTERNAL;
			sr->exit_status = EXIT_ERROR;
			snprintf(sr->msg, sizeof(sr->msg),
			    "%s ended without a result (the process running "
			    "it %s %d)",
			    step_names[s],
			    WIFSIGNALED(wstatus) ? "was killed by signal"
			                         : "exited with status",
			    WIFSIGNALED(wstatus) ? WTERMSIG(wstatus)
			                         : WEXITSTATUS(wstatus));
		} else if (!sr->ran && sr->configured &&
		    sr->status == JOB_SKIPPED && sr->msg[0] == '\0') {
			/* The worker tells only of the steps it started: say
			 * here why the gate kept the others. */
			if (!timed_out &&
			    !job_step_gate(res, (enum job_step)s, sr->msg,
			        sizeof(sr->msg))) {
				sr->locked =
				    res->steps[JOB_STEP_SNAPSHOT].locked;
				if (sr->locked)
					sr->class = ERR_LOCKED;
			} else
				snprintf(sr->msg, sizeof(sr->msg), "%s",
				    timed_out ? "timeout" : "not reached");
		}
	}
	for (int s = 0; s < JOB_NSTEPS; s++)
		if (res->steps[s].status == JOB_FAILED) {
			res->failed_step = s;
			break;
		}
	/* The run's first step skipped as locked: nothing ran. */
	res->locked =
	    res->steps[o->prune ? JOB_STEP_PRUNE : JOB_STEP_SNAPSHOT].locked;
	res->ok = res->failed_step < 0 && !res->locked;
	res->ended = res->started + ((int64_t)time(NULL) - real_start);
	run_hook(sec, name, res, o->log);
	record(st, name, res, o->log);
	metrics_end(&mh, res);
	rc = 0;
out:
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (lockfd != -1)
		close(lockfd);
	state_close(st);
	snap_job_free(sj);
	free(dir);
	return (rc);
}

int
job_lock_acquire(const struct config *cfg, const char *name, int *fd, int *busy,
    struct err *e)
{
	struct job_result res;
	char *dir = state_dir_default(cfg);
	int rc = -1;

	*fd = -1;
	*busy = 0;
	memset(&res, 0, sizeof(res));
	if (dir == NULL) {
		err_set(e, ERR_CONFIG,
		    "no state directory for the job lock: set state_dir in "
		    "[global], or HOME");
		goto out;
	}
	if (state_mkdir(dir, e) == -1)
		goto out;
	rc = job_lock(dir, name, fd, &res, e);
	*busy = res.busy;
out:
	free(dir);
	return (rc);
}

void
job_lock_release(int fd)
{
	if (fd != -1)
		(void)close(fd); /* closing drops the flock */
}
