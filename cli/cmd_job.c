/*
 * coffer job run NAME [--prune]: one [job NAME] now, all its steps, or
 * its prune run (scheduler/job.c decides them); this file opens
 * repositories for it and prints the result.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo_opts.h"
#include "scheduler/job.h"
#include "store/store.h"
#include "xmalloc.h"

struct job_args {
	int prune;
};

static const struct opt job_opts_table[] = {
	{ "prune", 0, OPT_FLAG, offsetof(struct job_args, prune), NULL, 0, 0, 0,
	    NULL },
	OPT_END,
};

static const struct opt_spec job_spec = { job_opts_table, NULL };

static void
report(struct cli_ctx *ctx, const char *name, const struct job_result *r)
{
	if (ctx->json) {
		json_t *j = json_object(), *steps = json_array();

		json_object_set_new(j, "job", json_string(name));
		json_object_set_new(j, "kind",
		    json_string(r->prune ? "prune" : "job"));
		json_object_set_new(j, "status",
		    json_string(job_run_status(r)));
		json_object_set_new(j, "run", json_integer(r->run_id));
		json_object_set_new(j, "started", json_integer(r->started));
		json_object_set_new(j, "ended", json_integer(r->ended));
		if (r->snapshot_id[0])
			json_object_set_new(j, "snapshot",
			    json_string(r->snapshot_id));
		for (int s = 0; s < JOB_NSTEPS; s++) {
			const struct job_step_result *sr = &r->steps[s];
			json_t *o;

			if (!sr->configured)
				continue;
			o = json_object();
			json_object_set_new(o, "step",
			    json_string(job_step_name((enum job_step)s)));
			json_object_set_new(o, "status",
			    json_string(job_status_name(sr->status)));
			json_object_set_new(o, "duration",
			    json_real(sr->duration));
			json_object_set_new(o, "bytes",
			    json_integer((json_int_t)sr->bytes));
			if (sr->status == JOB_FAILED || sr->locked)
				json_object_set_new(o, "error_class",
				    json_string(sr->timeout
				            ? "timeout"
				            : err_class_name(sr->class)));
			if (sr->msg[0])
				json_object_set_new(o, "message",
				    json_string(sr->msg));
			json_array_append_new(steps, o);
		}
		json_object_set_new(j, "steps", steps);
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
		return;
	}
	if (ctx->quiet && r->ok)
		return;
	printf("%s %s: %s\n", r->prune ? "prune" : "job", name,
	    r->ok           ? "ok"
	        : r->locked ? "skipped: the repository is locked"
	                    : "FAILED");
	for (int s = 0; s < JOB_NSTEPS; s++) {
		const struct job_step_result *sr = &r->steps[s];

		if (!sr->configured)
			continue;
		printf("  %-10s %-8s %7.1f s  %s%s\n",
		    job_step_name((enum job_step)s),
		    sr->status == JOB_FAILED ? "FAILED"
		                             : job_status_name(sr->status),
		    sr->duration, sr->locked ? "locked: " : "", sr->msg);
	}
	fflush(stdout);
}

int
cmd_job(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("job");
	struct job_args a;
	struct job_opts o;
	struct job_result res;
	struct config *cfg = NULL;
	const char *name;
	char *cdir = NULL;
	int rc = EXIT_USAGE;
	struct err e;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	if (opt_parse(ctx, cmd, &job_spec, argc, argv, &a, NULL) == -1)
		return (EXIT_USAGE);
	if (optind >= argc)
		return (cli_usage_error(cmd, "give a subcommand: run NAME"));
	if (strcmp(argv[optind], "run") != 0)
		return (cli_usage_error(cmd,
		    "unknown subcommand '%s' (there is: run NAME)",
		    argv[optind]));
	optind++;
	if (optind >= argc)
		return (cli_usage_error(cmd, "give the NAME of a [job NAME]"));
	name = argv[optind++];
	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	if (cli_load_config(ctx, &cfg, &e) == -1)
		goto out;
	if (cfg == NULL) {
		err_set(&e, ERR_USAGE,
		    "job %s: no config file (%s, or -c FILE) to find it in",
		    name, CLI_DEFAULT_CONFIG);
		goto out;
	}
	cdir = cli_cache_dir(NULL, cfg);
	cli_job_opts(ctx, cdir, &o);
	o.trigger = "manual";
	o.prune = a.prune;
	if (job_run(cfg, name, &o, &res, &e) == -1) {
		if (res.busy) {
			log_error(ctx->log, "%s", e.msg);
			rc = EXIT_JOB_RUNNING;
			goto done;
		}
		goto out;
	}
	report(ctx, name, &res);
	rc = job_exit_status(&res);
	goto done;
out:
	rc = cli_report(ctx, &e);
done:
	config_free(cfg);
	free(cdir);
	opt_free(&job_spec, &a);
	return (rc);
}
