/*
 * coffer scheduler SUBCOMMAND: tick (run what is due, from cron), run (the
 * same as a foreground daemon), status (each job's state, for monitoring)
 * and history (the runs recorded).  The decisions are scheduler/tick.c's,
 * the runs scheduler/job.c's; this file parses, opens repositories for
 * the jobs, handles the daemon's signals and prints.  The subcommands are
 * rows of one table (subs[]): a new one is a function and a row.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fmt.h"
#include "repo/snapsel.h"
#include "repo_opts.h"
#include "scheduler/drill.h"
#include "scheduler/job.h"
#include "scheduler/state.h"
#include "scheduler/tick.h"
#include "store/store.h"
#include "xmalloc.h"

struct sched_args {
	uint64_t since;
	const char *now;
	const char *job;
};

#define A(x) offsetof(struct sched_args, x)
static const struct opt sched_opts[] = {
	{ "since", 0, OPT_DURATION, A(since), "DURATION", 1, INT32_MAX, 0,
	    NULL },
	{ "now", 0, OPT_STR, A(now), "TIME", 0, 0, OPT_NONEMPTY, NULL },
	{ "job", 0, OPT_STR, A(job), "NAME", 0, 0, OPT_NONEMPTY, NULL },
	OPT_END,
};

static const struct opt_spec sched_spec = { sched_opts, NULL };

/* The daemon's signals (coffer scheduler run): stop, reload. */
static volatile sig_atomic_t daemon_stop, daemon_hup;

/* ------------------------------------------------ shared by the subs */

/* --now TIME, or the clock when not given (0). */
static int
parse_now(const struct sched_args *a, int64_t *now, struct err *e)
{
	struct timespec ts;

	*now = 0;
	if (a->now == NULL)
		return (0);
	if (snapsel_parse_time(a->now, time(NULL), &ts, e) == -1)
		return (err_wrap(e, "--now"));
	*now = (int64_t)ts.tv_sec;
	return (0);
}

static int
need_config(struct cli_ctx *ctx, struct config **cfg, struct err *e)
{
	if (cli_load_config(ctx, cfg, e) == -1)
		return (-1);
	if (*cfg == NULL)
		return (err_set(e, ERR_USAGE,
		    "no config file (%s, or -c FILE) with [job] sections",
		    CLI_DEFAULT_CONFIG));
	return (0);
}

/* ------------------------------------------------------------ history */

static int
print_run(void *arg, const struct state_run *run,
    const struct state_step *steps, size_t n, struct err *e)
{
	struct cli_ctx *ctx = arg;
	char t0[32], t1[32], status[300];

	(void)e;
	if (ctx->json) {
		json_t *j = json_object(), *a = json_array();

		json_object_set_new(j, "id", json_integer(run->id));
		json_object_set_new(j, "job", json_string(run->job));
		json_object_set_new(j, "kind", json_string(run->kind));
		if (strcmp(run->kind, "drill") == 0) {
			json_object_set_new(j, "rto",
			    run->has_rto ? json_real(run->rto) : json_null());
			json_object_set_new(j, "rpo",
			    run->has_rpo ? json_integer(run->rpo)
			                 : json_null());
			json_object_set_new(j, "snapshot",
			    run->snapshot ? json_string(run->snapshot)
			                  : json_null());
			json_object_set_new(j, "consistent",
			    fmt_json_time(run->consistent));
		}
		json_object_set_new(j, "started", json_integer(run->started));
		json_object_set_new(j, "ended",
		    run->ended ? json_integer(run->ended) : json_null());
		json_object_set_new(j, "status", json_string(run->status));
		json_object_set_new(j, "trigger", json_string(run->trigger));
		json_object_set_new(j, "slot",
		    run->slot ? json_integer(run->slot) : json_null());
		json_object_set_new(j, "error_class",
		    run->error_class ? json_string(run->error_class)
		                     : json_null());
		json_object_set_new(j, "message",
		    run->message ? json_string(run->message) : json_null());
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();

			json_object_set_new(o, "step",
			    json_string(steps[i].step));
			json_object_set_new(o, "status",
			    json_string(steps[i].status));
			json_object_set_new(o, "duration",
			    json_real(steps[i].duration));
			json_object_set_new(o, "bytes",
			    json_integer((json_int_t)steps[i].bytes));
			json_object_set_new(o, "error_class",
			    steps[i].error_class
			        ? json_string(steps[i].error_class)
			        : json_null());
			json_object_set_new(o, "message",
			    steps[i].message ? json_string(steps[i].message)
			                     : json_null());
			json_array_append_new(a, o);
		}
		json_object_set_new(j, "steps", a);
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
		return (0);
	}
	fmt_time_local(run->started, t0, sizeof(t0));
	fmt_time_local(run->ended, t1, sizeof(t1));
	/* A run's own outcome: "skipped: still running (...)", "failed:
	 * crashed: ...". */
	snprintf(status, sizeof(status), "%s%s%s%s%s", run->status,
	    run->error_class ? ": " : "",
	    run->error_class ? run->error_class : "", run->message ? ": " : "",
	    run->message ? run->message : "");
	if (strcmp(run->kind, "drill") == 0) {
		char rto[32], rpo[32];

		if (run->has_rto)
			snprintf(rto, sizeof(rto), "%.1f s", run->rto);
		else
			snprintf(rto, sizeof(rto), "-");
		fmt_span(run->has_rpo ? run->rpo : -1, rpo, sizeof(rpo));
		printf("drill %-10s %s  %-7s (%s, run %lld, ended %s)  RTO "
		       "%s, RPO %s\n",
		    run->job, t0, status, run->trigger, (long long)run->id, t1,
		    rto, rpo);
	} else if (strcmp(run->kind, "prune") == 0)
		printf("prune %-10s %s  %-7s (%s, run %lld, ended %s)\n",
		    run->job, t0, status, run->trigger, (long long)run->id, t1);
	else
		printf("%-16s %s  %-7s (%s, run %lld, ended %s)\n", run->job,
		    t0, status, run->trigger, (long long)run->id, t1);
	for (size_t i = 0; i < n; i++)
		printf("  %-10s %-8s %7.1f s  %s%s%s\n", steps[i].step,
		    steps[i].status, steps[i].duration,
		    steps[i].error_class ? steps[i].error_class : "",
		    steps[i].error_class ? ": " : "",
		    steps[i].message ? steps[i].message : "");
	return (0);
}

static int
sub_history(struct cli_ctx *ctx, const struct cli_cmd *cmd,
    const struct sched_args *a, int argc, char **argv, struct err *e)
{
	struct config *cfg = NULL;
	struct state *st = NULL;
	const char *job = NULL;
	char *dir = NULL;
	int64_t since = 0;
	int rc = -1;

	if (optind < argc)
		job = argv[optind++];
	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	if (a->since > 0)
		since = (int64_t)time(NULL) - (int64_t)a->since;
	if (cli_load_config(ctx, &cfg, e) == -1)
		goto out;
	if ((dir = state_dir_default(cfg)) == NULL) {
		err_set(e, ERR_CONFIG,
		    "no state directory: set state_dir in [global], or HOME");
		goto out;
	}
	if (state_open(dir, &st, e) == -1 ||
	    state_history(st, job, since, print_run, ctx, e) == -1)
		goto out;
	if (fflush(stdout) == EOF) {
		err_sys(e, ERR_IO, "standard output");
		goto out;
	}
	rc = EXIT_OK;
out:
	state_close(st);
	config_free(cfg);
	free(dir);
	return (rc == -1 ? cli_report(ctx, e) : rc);
}

/* --------------------------------------------------------------- tick */

static int
sub_tick(struct cli_ctx *ctx, const struct cli_cmd *cmd,
    const struct sched_args *a, int argc, char **argv, struct err *e)
{
	struct tick_opts to;
	struct tick_result res;
	struct job_opts jo;
	struct drill_opts dro;
	struct config *cfg = NULL;
	char *cdir = NULL;
	int64_t now;
	int rc = -1;

	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	if (parse_now(a, &now, e) == -1 || need_config(ctx, &cfg, e) == -1)
		goto out;
	cdir = cli_cache_dir(NULL, cfg);
	cli_job_opts(ctx, cdir, &jo);
	cli_drill_opts(ctx, &dro);
	memset(&to, 0, sizeof(to));
	to.job = &jo;
	to.drill = &dro;
	to.now = now;
	to.only = a->job;
	to.log = ctx->log;
	to.interrupted = ctx->interrupted;
	if (tick_run(cfg, &to, &res, e) == -1)
		goto out;
	rc = res.exit_status;
out:
	config_free(cfg);
	free(cdir);
	return (rc == -1 ? cli_report(ctx, e) : rc);
}

/* ---------------------------------------------------------------- run */

static void
on_daemon_signal(int sig)
{
	if (sig == SIGHUP)
		daemon_hup = 1;
	else
		daemon_stop = 1;
}

/* Sleep until t (Unix seconds) or a signal; at most CAP seconds. */
#define DAEMON_SLEEP_CAP 60
static void
daemon_sleep(int64_t until)
{
	int64_t now = (int64_t)time(NULL), s = until - now;
	struct timespec ts;

	if (s < 1)
		s = 1;
	if (s > DAEMON_SLEEP_CAP)
		s = DAEMON_SLEEP_CAP;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = 0;
	/* No SA_RESTART: a signal ends the sleep. */
	if (!daemon_stop && !daemon_hup)
		(void)nanosleep(&ts, NULL);
}

static int
sub_run(struct cli_ctx *ctx, const struct cli_cmd *cmd,
    const struct sched_args *a, int argc, char **argv, struct err *e)
{
	struct tick_opts to;
	struct tick_result res;
	struct job_opts jo;
	struct drill_opts dro;
	struct sigaction sa;
	struct config *cfg = NULL, *ncfg = NULL;
	char *cdir = NULL;
	int rc = -1;

	(void)a;
	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	/* Our own handlers: SIGHUP reloads instead of interrupting, and a
	 * SIGTERM that stops us is how a daemon ends, not a failure. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_daemon_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	ctx->interrupted = &daemon_stop;
	if (need_config(ctx, &cfg, e) == -1)
		goto out;
	log_info(ctx->log, "scheduler: started (pid %ld, config %s)",
	    (long)getpid(), config_file(cfg));
	for (;;) {
		if (daemon_hup) {
			daemon_hup = 0;
			err_clear(e);
			if (need_config(ctx, &ncfg, e) == -1)
				log_error(ctx->log,
				    "scheduler: configuration not reloaded, "
				    "the old one stays: %s",
				    e->msg);
			else {
				config_free(cfg);
				cfg = ncfg;
				ncfg = NULL;
				log_info(ctx->log,
				    "scheduler: configuration reloaded");
			}
		}
		free(cdir);
		cdir = cli_cache_dir(NULL, cfg);
		cli_job_opts(ctx, cdir, &jo);
		cli_drill_opts(ctx, &dro);
		dro.interrupted = &daemon_stop;
		memset(&to, 0, sizeof(to));
		to.job = &jo;
		to.drill = &dro;
		to.log = ctx->log;
		to.interrupted = &daemon_stop;
		err_clear(e);
		if (tick_run(cfg, &to, &res, e) == -1) {
			/* The state database may come back: go on. */
			log_error(ctx->log, "scheduler: %s", e->msg);
			res.next_at = 0;
		}
		if (daemon_stop)
			break;
		daemon_sleep(
		    res.next_at != 0 ? res.next_at : (int64_t)time(NULL) + 60);
		if (daemon_stop)
			break;
	}
	log_info(ctx->log, "scheduler: stopped by a signal");
	rc = EXIT_OK;
out:
	config_free(cfg);
	config_free(ncfg);
	free(cdir);
	return (rc == -1 ? cli_report(ctx, e) : rc);
}

/* ------------------------------------------------------------- status */

static json_t *
drills_json(const struct tick_drill_status *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct tick_drill_status *d = &v[i];
		json_t *j = json_object(), *l = json_null();

		json_object_set_new(j, "drill", json_string(d->drill));
		json_object_set_new(j, "schedule",
		    d->schedule ? json_string(d->schedule) : json_null());
		json_object_set_new(j, "interval",
		    d->interval ? json_integer((json_int_t)d->interval)
		                : json_null());
		if (d->has_last) {
			l = json_object();
			json_object_set_new(l, "id", json_integer(d->last_id));
			json_object_set_new(l, "started",
			    json_integer(d->last_started));
			json_object_set_new(l, "ended",
			    fmt_json_time(d->last_ended));
			json_object_set_new(l, "status",
			    json_string(d->last_status));
			json_object_set_new(l, "snapshot",
			    d->last_snapshot[0] ? json_string(d->last_snapshot)
			                        : json_null());
			json_object_set_new(l, "rto",
			    d->last_has_rto ? json_real(d->last_rto)
			                    : json_null());
			json_object_set_new(l, "rpo",
			    d->last_has_rpo ? json_integer(d->last_rpo)
			                    : json_null());
			json_object_set_new(l, "failed_stage",
			    d->last_stage[0] ? json_string(d->last_stage)
			                     : json_null());
			json_object_set_new(l, "error_class",
			    d->last_class[0] ? json_string(d->last_class)
			                     : json_null());
			json_object_set_new(l, "message",
			    d->last_message[0] ? json_string(d->last_message)
			                       : json_null());
		}
		json_object_set_new(j, "last_run", l);
		json_object_set_new(j, "last_success",
		    fmt_json_time(d->last_ok));
		json_object_set_new(j, "rpo",
		    d->rpo >= 0 ? json_integer(d->rpo) : json_null());
		json_object_set_new(j, "due", json_boolean(d->due));
		json_object_set_new(j, "next_due", fmt_json_time(d->next_at));
		json_object_set_new(j, "overdue", json_boolean(d->overdue));
		json_object_set_new(j, "failed", json_boolean(d->failed));
		json_array_append_new(a, j);
	}
	return (a);
}

static void
status_json(const struct tick_status *v, size_t n,
    const struct tick_drill_status *dv, size_t dn, int64_t now)
{
	json_t *top = json_object(), *jobs = json_array();

	json_object_set_new(top, "now", json_integer(now));
	for (size_t i = 0; i < n; i++) {
		const struct tick_status *s = &v[i];
		json_t *j = json_object(), *l = json_null();

		json_object_set_new(j, "job", json_string(s->job));
		json_object_set_new(j, "schedule",
		    s->schedule ? json_string(s->schedule) : json_null());
		json_object_set_new(j, "timezone",
		    s->tz ? json_string(s->tz) : json_null());
		json_object_set_new(j, "jitter",
		    json_integer((json_int_t)s->jitter));
		json_object_set_new(j, "interval",
		    s->interval ? json_integer((json_int_t)s->interval)
		                : json_null());
		if (s->has_last) {
			l = json_object();
			json_object_set_new(l, "id", json_integer(s->last_id));
			json_object_set_new(l, "started",
			    json_integer(s->last_started));
			json_object_set_new(l, "ended",
			    fmt_json_time(s->last_ended));
			json_object_set_new(l, "status",
			    json_string(s->last_status));
			json_object_set_new(l, "duration",
			    s->last_ended
			        ? json_integer(s->last_ended - s->last_started)
			        : json_null());
			json_object_set_new(l, "failed_step",
			    s->last_step[0] ? json_string(s->last_step)
			                    : json_null());
			json_object_set_new(l, "error_class",
			    s->last_class[0] ? json_string(s->last_class)
			                     : json_null());
			json_object_set_new(l, "message",
			    s->last_message[0] ? json_string(s->last_message)
			                       : json_null());
		}
		json_object_set_new(j, "last_run", l);
		json_object_set_new(j, "last_success",
		    fmt_json_time(s->last_ok));
		json_object_set_new(j, "last_snapshot",
		    fmt_json_time(s->last_snapshot_ok));
		json_object_set_new(j, "rpo",
		    s->rpo >= 0 ? json_integer(s->rpo) : json_null());
		json_object_set_new(j, "due", json_boolean(s->due));
		json_object_set_new(j, "next_due", fmt_json_time(s->next_at));
		json_object_set_new(j, "overdue", json_boolean(s->overdue));
		json_object_set_new(j, "failed", json_boolean(s->failed));
		json_array_append_new(jobs, j);
	}
	json_object_set_new(top, "jobs", jobs);
	json_object_set_new(top, "drills", drills_json(dv, dn));
	json_dumpf(top, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(top);
}

static void
status_text(const struct tick_status *v, size_t n, int64_t now)
{
	char a[48], b[48];

	for (size_t i = 0; i < n; i++) {
		const struct tick_status *s = &v[i];

		printf("%s%s%s\n", s->job, s->overdue ? "  OVERDUE" : "",
		    s->failed ? "  FAILED" : "");
		if (s->schedule != NULL) {
			fmt_span((int64_t)s->jitter, a, sizeof(a));
			printf("  schedule      %s (%s%s, jitter %s)\n",
			    s->schedule, s->tz ? "" : "local time",
			    s->tz ? s->tz : "", a);
		} else
			printf("  schedule      none: runs only by hand\n");
		if (s->has_last) {
			fmt_time_local(s->last_started, a, sizeof(a));
			fmt_span(s->last_ended ? s->last_ended - s->last_started
			                       : -1,
			    b, sizeof(b));
			printf("  last run      %s  %s%s%s  %s  (run %lld)\n",
			    a, s->last_status, s->last_step[0] ? " at " : "",
			    s->last_step, b, (long long)s->last_id);
			if (s->failed || strcmp(s->last_status, "running") != 0)
				if (s->last_class[0] || s->last_message[0])
					printf("                %s%s%s\n",
					    s->last_class,
					    s->last_class[0] ? ": " : "",
					    s->last_message);
		} else
			printf("  last run      none\n");
		fmt_time_local(s->last_ok, a, sizeof(a));
		printf("  last success  %s\n", a);
		if (s->schedule != NULL) {
			fmt_time_local(s->next_at, a, sizeof(a));
			printf("  next due      %s%s\n", a,
			    s->due ? " (due now: the next tick runs it)" : "");
		}
		fmt_span(s->rpo, a, sizeof(a));
		printf("  RPO now       %s\n", a);
		if (s->overdue) {
			fmt_span((int64_t)s->interval * 3 / 2, a, sizeof(a));
			if (s->last_ok == 0)
				printf(
				    "  OVERDUE: no successful run recorded\n");
			else {
				fmt_span(now - s->last_ok, b, sizeof(b));
				printf("  OVERDUE: no successful run for %s "
				       "(more than 1.5 x its interval: %s)\n",
				    b, a);
			}
		}
	}
}

static void
drills_text(const struct tick_drill_status *v, size_t n, int64_t now)
{
	char a[48], b[48];

	for (size_t i = 0; i < n; i++) {
		const struct tick_drill_status *d = &v[i];

		printf("drill %s%s%s\n", d->drill,
		    d->overdue ? "  OVERDUE" : "", d->failed ? "  FAILED" : "");
		if (d->schedule != NULL)
			printf("  schedule      %s (local time)\n",
			    d->schedule);
		else
			printf("  schedule      none: runs only by hand\n");
		if (d->has_last) {
			fmt_time_local(d->last_started, a, sizeof(a));
			printf("  last run      %s  %s%s%s  (run %lld)\n", a,
			    d->last_status, d->last_stage[0] ? " at " : "",
			    d->last_stage, (long long)d->last_id);
			if (d->failed)
				printf("                %s%s%s\n",
				    d->last_class, d->last_class[0] ? ": " : "",
				    d->last_message);
			if (d->last_has_rto)
				snprintf(a, sizeof(a), "%.1f s", d->last_rto);
			else
				snprintf(a, sizeof(a), "-");
			fmt_span(d->last_has_rpo ? d->last_rpo : -1, b,
			    sizeof(b));
			printf("  last RTO      %s, RPO %s\n", a, b);
		} else
			printf("  last run      none\n");
		fmt_time_local(d->last_ok, a, sizeof(a));
		printf("  last success  %s\n", a);
		if (d->schedule != NULL) {
			fmt_time_local(d->next_at, a, sizeof(a));
			printf("  next due      %s%s\n", a,
			    d->due ? " (due now: the next tick runs it)" : "");
		}
		fmt_span(d->rpo, a, sizeof(a));
		printf("  RPO now       %s\n", a);
		if (d->overdue) {
			if (d->last_ok == 0)
				printf("  OVERDUE: no passed drill recorded\n");
			else {
				fmt_span(now - d->last_ok, b, sizeof(b));
				fmt_span((int64_t)d->interval * 3 / 2, a,
				    sizeof(a));
				printf(
				    "  OVERDUE: no passed drill for %s (more "
				    "than 1.5 x its interval: %s)\n",
				    b, a);
			}
		}
	}
}

static int
sub_status(struct cli_ctx *ctx, const struct cli_cmd *cmd,
    const struct sched_args *a, int argc, char **argv, struct err *e)
{
	struct tick_status *v = NULL;
	struct tick_drill_status *dv = NULL;
	struct config *cfg = NULL;
	size_t n = 0, dn = 0;
	int64_t now;
	int rc = -1;

	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	if (parse_now(a, &now, e) == -1 || need_config(ctx, &cfg, e) == -1)
		goto out;
	if (now == 0)
		now = (int64_t)time(NULL);
	if (tick_status_get(cfg, NULL, NULL, now, ctx->log, &v, &n, e) == -1 ||
	    tick_drill_status_get(cfg, NULL, now, &dv, &dn, e) == -1)
		goto out;
	if (ctx->json)
		status_json(v, n, dv, dn, now);
	else if (!ctx->quiet) {
		status_text(v, n, now);
		drills_text(dv, dn, now);
	}
	if (fflush(stdout) == EOF) {
		err_sys(e, ERR_IO, "standard output");
		goto out;
	}
	rc = EXIT_OK;
	for (size_t i = 0; i < n; i++)
		if (v[i].overdue || v[i].failed)
			rc = EXIT_ATTENTION;
	for (size_t i = 0; i < dn; i++)
		if (dv[i].overdue || dv[i].failed)
			rc = EXIT_ATTENTION;
out:
	tick_status_free(v, n);
	tick_drill_status_free(dv, dn);
	config_free(cfg);
	return (rc == -1 ? cli_report(ctx, e) : rc);
}

/* ----------------------------------------------------------- dispatch */

struct sched_sub {
	const char *name;
	const char *opts; /* the long options it takes, space-separated */
	int (*run)(struct cli_ctx *, const struct cli_cmd *,
	    const struct sched_args *, int argc, char **argv, struct err *);
};

static const struct sched_sub subs[] = {
	{ "tick", "now job", sub_tick },
	{ "run", "", sub_run },
	{ "status", "now", sub_status },
	{ "history", "since", sub_history },
};

#define NSUBS (sizeof(subs) / sizeof(subs[0]))

/* Is word one of the space-separated words of list? */
static int
in_list(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n == len && strncmp(p, word, len) == 0)
			return (1);
		p += n;
		p += strspn(p, " ");
	}
	return (0);
}

int
cmd_scheduler(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("scheduler");
	const struct sched_sub *sub = NULL;
	struct sched_args a;
	opt_given_t given = 0;
	char names[128] = "";
	int rc;
	struct err e;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	/* install has options of its own (cli/cmd_scheduler_install.c). */
	if (argc > 1 && strcmp(argv[1], "install") == 0)
		return (cmd_scheduler_install(ctx, argc - 1, argv + 1));
	for (size_t i = 0; i < NSUBS; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
		    "%s%s", i ? ", " : "", subs[i].name);
	snprintf(names + strlen(names), sizeof(names) - strlen(names),
	    ", install");
	if (opt_parse(ctx, cmd, &sched_spec, argc, argv, &a, &given) == -1)
		return (EXIT_USAGE);
	if (optind >= argc)
		return (cli_usage_error(cmd, "give a subcommand: %s", names));
	for (size_t i = 0; i < NSUBS && sub == NULL; i++)
		if (strcmp(argv[optind], subs[i].name) == 0)
			sub = &subs[i];
	if (sub == NULL)
		return (cli_usage_error(cmd,
		    "unknown subcommand '%s' (there is: %s)", argv[optind],
		    names));
	for (size_t i = 0; sched_opts[i].name != NULL; i++)
		if (opt_is_given(&sched_spec, given, sched_opts[i].name) &&
		    !in_list(sub->opts, sched_opts[i].name))
			return (cli_usage_error(cmd,
			    "--%s does not go with 'scheduler %s'",
			    sched_opts[i].name, sub->name));
	optind++;
	rc = sub->run(ctx, cmd, &a, argc, argv, &e);
	opt_free(&sched_spec, &a);
	return (rc);
}
