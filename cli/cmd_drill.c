/*
 * coffer drill run NAME: one [drill NAME] now (scheduler/drill.c runs
 * it, scheduler/drill_sched.c records it); this file opens the repository
 * for it and prints the stages, the RTO and RPO and the result.
 * coffer drill list: every [drill], its last result, RTO and RPO, from
 * the state database (scheduler/tick.c's tick_drill_status_get).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "repo_opts.h"
#include "scheduler/drill.h"
#include "scheduler/tick.h"
#include "xmalloc.h"

struct drill_args {
	int unused;
};

static const struct opt drill_opts_table[] = {
	OPT_END,
};

static const struct opt_spec drill_spec = { drill_opts_table, NULL };

static void
report_json(const struct drill_result *r)
{
	json_t *j = json_object(), *stages = json_array(),
	       *checks = json_array();

	json_object_set_new(j, "drill", json_string(r->name));
	json_object_set_new(j, "status", json_string(r->ok ? "ok" : "failed"));
	json_object_set_new(j, "started", json_integer(r->started));
	json_object_set_new(j, "ended", json_integer(r->ended));
	json_object_set_new(j, "snapshot",
	    r->snapshot_id[0] ? json_string(r->snapshot_id) : json_null());
	json_object_set_new(j, "source",
	    r->source[0] ? json_string(r->source) : json_null());
	json_object_set_new(j, "target_kind",
	    json_string(drill_target_name(r->target_kind)));
	json_object_set_new(j, "target", json_string(r->target));
	json_object_set_new(j, "rto",
	    r->rto_measured ? json_real(r->rto) : json_null());
	json_object_set_new(j, "rpo",
	    r->rpo_measured ? json_integer(r->rpo) : json_null());
	json_object_set_new(j, "max_rto",
	    r->max_rto ? json_integer((json_int_t)r->max_rto) : json_null());
	json_object_set_new(j, "max_rpo",
	    r->max_rpo ? json_integer((json_int_t)r->max_rpo) : json_null());
	json_object_set_new(j, "consistent",
	    r->consistent ? json_integer(r->consistent) : json_null());
	json_object_set_new(j, "bytes", json_integer((json_int_t)r->bytes));
	if (r->target_kind == DRILL_T_DIR)
		json_object_set_new(j, "entries",
		    json_integer((json_int_t)r->files));
	if (!r->ok) {
		json_object_set_new(j, "failed_stage",
		    json_string(
		        drill_stage_name((enum drill_stage)r->failed_stage)));
		json_object_set_new(j, "error_class",
		    json_string(
		        r->timeout ? "timeout" : err_class_name(r->class)));
		json_object_set_new(j, "message", json_string(r->msg));
	}
	for (int s = 0; s < DRILL_NSTAGES; s++) {
		const struct drill_stage_result *sr = &r->stages[s];
		json_t *o = json_object();

		json_object_set_new(o, "stage",
		    json_string(drill_stage_name((enum drill_stage)s)));
		json_object_set_new(o, "status",
		    json_string(drill_status_name(sr->status)));
		json_object_set_new(o, "duration", json_real(sr->duration));
		json_object_set_new(o, "message", json_string(sr->msg));
		json_array_append_new(stages, o);
	}
	json_object_set_new(j, "stages", stages);
	if (r->target_kind == DRILL_T_CHAIN) {
		json_t *steps = json_array();

		for (size_t i = 0; i < r->nsteps; i++) {
			const struct drill_step_result *st = &r->steps[i];
			json_t *o = json_object();

			json_object_set_new(o, "drill", json_string(st->name));
			json_object_set_new(o, "status",
			    json_string(!st->ran ? "not_run"
			            : st->ok     ? "ok"
			                         : "failed"));
			json_object_set_new(o, "duration",
			    st->ran ? json_real(st->duration) : json_null());
			json_object_set_new(o, "snapshot",
			    st->snapshot_id[0] ? json_string(st->snapshot_id)
			                       : json_null());
			json_object_set_new(o, "target_kind",
			    st->ran && st->snapshot_id[0]
			        ? json_string(
			              drill_target_name(st->target_kind))
			        : json_null());
			json_object_set_new(o, "target",
			    st->target[0] ? json_string(st->target)
			                  : json_null());
			json_object_set_new(o, "rto",
			    st->rto_measured ? json_real(st->rto)
			                     : json_null());
			json_object_set_new(o, "rpo",
			    st->rpo_measured ? json_integer(st->rpo)
			                     : json_null());
			if (st->ran && !st->ok)
				json_object_set_new(o, "failed_stage",
				    json_string(drill_stage_name(
				        (enum drill_stage)st->failed_stage)));
			json_object_set_new(o, "message",
			    st->msg[0] ? json_string(st->msg) : json_null());
			json_array_append_new(steps, o);
		}
		json_object_set_new(j, "steps", steps);
	}
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct drill_check_result *c = &r->checks[i];
		json_t *o = json_object();

		json_object_set_new(o, "stage",
		    json_string(drill_stage_name(c->stage)));
		json_object_set_new(o, "check", json_string(c->what));
		json_object_set_new(o, "ok", json_boolean(c->ok));
		json_object_set_new(o, "duration", json_real(c->duration));
		if (!c->ok)
			json_object_set_new(o, "message", json_string(c->msg));
		json_array_append_new(checks, o);
	}
	json_object_set_new(j, "checks", checks);
	json_object_set_new(j, "checks_run",
	    json_integer((json_int_t)r->nchecks_run));
	json_object_set_new(j, "checks_failed",
	    json_integer((json_int_t)r->nchecks_failed));
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
}

static void
report_text(const struct cli_ctx *ctx, const struct drill_result *r)
{
	char a[32], b[32];

	if (ctx->quiet && r->ok)
		return;
	printf("drill %s: %s\n", r->name, r->ok ? "ok" : "FAILED");
	if (r->snapshot_id[0] && r->target_kind != DRILL_T_CHAIN)
		printf("  snapshot %.8s%s%s to %s %s\n", r->snapshot_id,
		    r->source[0] ? ", source " : "", r->source,
		    drill_target_name(r->target_kind), r->target);
	/* A drill of steps: a line per step, then its own limits. */
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct drill_step_result *st = &r->steps[i];
		char m[ERR_MSG_MAX + 128];

		fmt_dur(st->duration, a, sizeof(a));
		if (st->ran && st->ok)
			snprintf(m, sizeof(m), "snapshot %.8s to %s %s",
			    st->snapshot_id, drill_target_name(st->target_kind),
			    st->target);
		else
			snprintf(m, sizeof(m), "%s", st->msg);
		printf("  %-10s %-8s %9s  %s\n", st->name,
		    !st->ran     ? "not run"
		        : st->ok ? "ok"
		                 : "FAILED",
		    st->ran ? a : "", m);
	}
	for (int s = r->nsteps > 0 ? DRILL_RTO : 0; s < DRILL_NSTAGES; s++) {
		const struct drill_stage_result *sr = &r->stages[s];

		fmt_dur(sr->duration, a, sizeof(a));
		printf("  %-10s %-8s %9s  %s\n",
		    drill_stage_name((enum drill_stage)s),
		    sr->status == DRILL_FAILED ? "FAILED"
		                               : drill_status_name(sr->status),
		    s < DRILL_RTO ? a : "", sr->msg);
	}
	if (r->rto_measured)
		fmt_dur(r->rto, a, sizeof(a));
	else
		snprintf(a, sizeof(a), "not measured");
	if (r->rpo_measured)
		fmt_dur((double)r->rpo, b, sizeof(b));
	else
		snprintf(b, sizeof(b), "not measured");
	printf("  RTO %s, RPO %s\n", a, b);
	fflush(stdout);
}

static void
list_json(const struct tick_drill_status *v, size_t n, int64_t now)
{
	json_t *top = json_object(), *a = json_array();

	json_object_set_new(top, "now", json_integer(now));
	for (size_t i = 0; i < n; i++) {
		const struct tick_drill_status *d = &v[i];
		json_t *j = json_object();

		json_object_set_new(j, "drill", json_string(d->drill));
		json_object_set_new(j, "schedule",
		    d->schedule ? json_string(d->schedule) : json_null());
		json_object_set_new(j, "last_status",
		    d->has_last ? json_string(d->last_status) : json_null());
		json_object_set_new(j, "last_run",
		    d->has_last ? json_integer(d->last_started) : json_null());
		json_object_set_new(j, "failed_stage",
		    d->last_stage[0] ? json_string(d->last_stage)
		                     : json_null());
		json_object_set_new(j, "message",
		    d->last_message[0] ? json_string(d->last_message)
		                       : json_null());
		json_object_set_new(j, "snapshot",
		    d->last_snapshot[0] ? json_string(d->last_snapshot)
		                        : json_null());
		json_object_set_new(j, "rto",
		    d->last_has_rto ? json_real(d->last_rto) : json_null());
		json_object_set_new(j, "rpo_measured",
		    d->last_has_rpo ? json_integer(d->last_rpo) : json_null());
		json_object_set_new(j, "last_success",
		    fmt_json_time(d->last_ok));
		json_object_set_new(j, "rpo",
		    d->rpo >= 0 ? json_integer(d->rpo) : json_null());
		json_object_set_new(j, "next_due", fmt_json_time(d->next_at));
		json_object_set_new(j, "overdue", json_boolean(d->overdue));
		json_object_set_new(j, "failed", json_boolean(d->failed));
		json_array_append_new(a, j);
	}
	json_object_set_new(top, "drills", a);
	json_dumpf(top, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(top);
}

static void
list_text(const struct tick_drill_status *v, size_t n)
{
	char t[32], rto[32], rpo[32];

	printf("%-16s %-8s %-19s %10s %10s  %s\n", "DRILL", "LAST", "LAST RUN",
	    "RTO", "RPO NOW", "SCHEDULE");
	for (size_t i = 0; i < n; i++) {
		const struct tick_drill_status *d = &v[i];

		fmt_time_local(d->has_last ? d->last_started : 0, t, sizeof(t));
		if (d->last_has_rto)
			fmt_dur(d->last_rto, rto, sizeof(rto));
		else
			snprintf(rto, sizeof(rto), "-");
		if (d->rpo >= 0)
			fmt_dur((double)d->rpo, rpo, sizeof(rpo));
		else
			snprintf(rpo, sizeof(rpo), "-");
		printf("%-16s %-8s %-19s %10s %10s  %s\n", d->drill,
		    d->has_last ? (d->failed ? "FAILED" : d->last_status)
		                : "never",
		    t, rto, rpo, d->schedule ? d->schedule : "by hand");
		if (d->failed)
			printf("  %s: %s\n", d->last_stage, d->last_message);
	}
}

static int
drill_list(struct cli_ctx *ctx, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct tick_drill_status *v = NULL;
	struct config *cfg = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0;
	int rc = -1;
	struct err e;

	err_clear(&e);
	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	if (cli_load_config(ctx, &cfg, &e) == -1)
		goto out;
	if (cfg == NULL) {
		err_set(&e, ERR_USAGE,
		    "no config file (%s, or -c FILE) with [drill] sections",
		    CLI_DEFAULT_CONFIG);
		goto out;
	}
	if (tick_drill_status_get(cfg, NULL, now, &v, &n, &e) == -1)
		goto out;
	if (ctx->json)
		list_json(v, n, now);
	else if (!ctx->quiet)
		list_text(v, n);
	if (fflush(stdout) == EOF) {
		err_sys(&e, ERR_IO, "standard output");
		goto out;
	}
	rc = EXIT_OK;
out:
	tick_drill_status_free(v, n);
	config_free(cfg);
	return (rc == -1 ? cli_report(ctx, &e) : rc);
}

int
cmd_drill(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("drill");
	struct drill_args a;
	struct drill_opts o;
	struct drill_rec_opts ro;
	struct drill_rec_result rr;
	struct drill_result *res = NULL;
	struct config *cfg = NULL;
	const char *name;
	int rc = EXIT_USAGE;
	struct err e;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	memset(&ro, 0, sizeof(ro));
	if (opt_parse(ctx, cmd, &drill_spec, argc, argv, &a, NULL) == -1)
		return (EXIT_USAGE);
	if (optind >= argc)
		return (
		    cli_usage_error(cmd, "give a subcommand: run NAME, list"));
	if (strcmp(argv[optind], "list") == 0) {
		optind++;
		rc = drill_list(ctx, cmd, argc, argv);
		opt_free(&drill_spec, &a);
		return (rc);
	}
	if (strcmp(argv[optind], "run") != 0)
		return (cli_usage_error(cmd,
		    "unknown subcommand '%s' (there is: run NAME, list)",
		    argv[optind]));
	optind++;
	if (optind >= argc)
		return (
		    cli_usage_error(cmd, "give the NAME of a [drill NAME]"));
	name = argv[optind++];
	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	if (cli_load_config(ctx, &cfg, &e) == -1)
		goto out;
	if (cfg == NULL) {
		err_set(&e, ERR_USAGE,
		    "drill %s: no config file (%s, or -c FILE) to find it in",
		    name, CLI_DEFAULT_CONFIG);
		goto out;
	}
	res = xcalloc(1, sizeof(*res));
	cli_drill_opts(ctx, &o);
	ro.trigger = "manual";
	if (drill_run_recorded(cfg, name, &o, &ro, res, &rr, &e) == -1)
		goto out;
	if (ctx->json)
		report_json(res);
	else
		report_text(ctx, res);
	if (res->ok)
		rc = EXIT_OK;
	else if (res->class == ERR_INTERRUPTED && !res->timeout)
		rc = EXIT_INTERRUPTED;
	else
		rc = EXIT_ATTENTION;
	goto done;
out:
	rc = cli_report(ctx, &e);
done:
	free(res);
	config_free(cfg);
	opt_free(&drill_spec, &a);
	return (rc);
}
