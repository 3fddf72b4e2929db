/*
 * coffer scheduler history [JOB] [--since DURATION]: the runs recorded in
 * the state database (scheduler/state.c), oldest first, with each step.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "repo_opts.h"
#include "scheduler/state.h"
#include "xmalloc.h"

struct sched_args {
	uint64_t since;
};

#define A(x) offsetof(struct sched_args, x)
static const struct opt sched_opts[] = {
	{ "since", 0, OPT_DURATION, A(since), "DURATION", 1, INT32_MAX, 0,
	    NULL },
	OPT_END,
};

static const struct opt_spec sched_spec = { sched_opts, NULL };

static void
time_str(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, size, "-");
		return;
	}
	localtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static int
print_run(void *arg, const struct state_run *run,
    const struct state_step *steps, size_t n, struct err *e)
{
	struct cli_ctx *ctx = arg;
	char t0[32], t1[32];

	(void)e;
	if (ctx->json) {
		json_t *j = json_object(), *a = json_array();

		json_object_set_new(j, "id", json_integer(run->id));
		json_object_set_new(j, "job", json_string(run->job));
		json_object_set_new(j, "started", json_integer(run->started));
		json_object_set_new(j, "ended",
		    run->ended ? json_integer(run->ended) : json_null());
		json_object_set_new(j, "status", json_string(run->status));
		json_object_set_new(j, "trigger", json_string(run->trigger));
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
	time_str(run->started, t0, sizeof(t0));
	time_str(run->ended, t1, sizeof(t1));
	printf("%-16s %s  %-7s %-8s (%s, run %lld, ended %s)\n", run->job, t0,
	    run->status, "", run->trigger, (long long)run->id, t1);
	for (size_t i = 0; i < n; i++)
		printf("  %-10s %-8s %7.1f s  %s%s%s\n", steps[i].step,
		    steps[i].status, steps[i].duration,
		    steps[i].error_class ? steps[i].error_class : "",
		    steps[i].error_class ? ": " : "",
		    steps[i].message ? steps[i].message : "");
	return (0);
}

int
cmd_scheduler(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("scheduler");
	struct sched_args a;
	struct config *cfg = NULL;
	struct state *st = NULL;
	const char *job = NULL;
	char *dir = NULL;
	int64_t since = 0;
	int rc = EXIT_USAGE;
	struct err e;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	if (argc > 1 && strcmp(argv[1], "install") == 0)
		return (cmd_scheduler_install(ctx, argc - 1, argv + 1));
	if (opt_parse(ctx, cmd, &sched_spec, argc, argv, &a, NULL) == -1)
		return (EXIT_USAGE);
	if (optind >= argc)
		return (
		    cli_usage_error(cmd, "give a subcommand: history [JOB]"));
	if (strcmp(argv[optind], "history") != 0)
		return (cli_usage_error(cmd,
		    "unknown subcommand '%s' (there is: history [JOB])",
		    argv[optind]));
	optind++;
	if (optind < argc)
		job = argv[optind++];
	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	if (a.since > 0)
		since = (int64_t)time(NULL) - (int64_t)a.since;
	if (cli_load_config(ctx, &cfg, &e) == -1)
		goto out;
	if ((dir = state_dir_default(cfg)) == NULL) {
		err_set(&e, ERR_CONFIG,
		    "no state directory: set state_dir in [global], or HOME");
		goto out;
	}
	if (state_open(dir, &st, &e) == -1 ||
	    state_history(st, job, since, print_run, ctx, &e) == -1)
		goto out;
	if (fflush(stdout) == EOF) {
		err_sys(&e, ERR_IO, "standard output");
		goto out;
	}
	rc = EXIT_OK;
	goto done;
out:
	rc = cli_report(ctx, &e);
done:
	state_close(st);
	config_free(cfg);
	free(dir);
	return (rc);
}
