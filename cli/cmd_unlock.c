/*
 * coffer unlock: show repository locks and remove those whose holder is
 * gone.  Needs no key: locks are plaintext.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "repo/lock.h"
#include "repo_opts.h"

struct unlock_args {
	const char *repo;
	int remove;
};

#define A(x) offsetof(struct unlock_args, x)
static const struct opt unlock_opts[] = {
	CLI_OPT_REPO(struct unlock_args, repo),
	{ "remove-stale", 0, OPT_FLAG, A(remove), NULL, 0, 0, 0, NULL },
	OPT_END,
};

static const struct opt_spec unlock_spec = { unlock_opts, NULL };

struct show {
	struct cli_ctx *ctx;
	json_t *arr;
	unsigned n;
};

static int
show_one(void *arg, const struct lock_info *li)
{
	struct show *s = arg;
	char when[32] = "-";
	struct tm tm;

	s->n++;
	if (li->refreshed > 0 && gmtime_r(&li->refreshed, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (s->arr != NULL) {
		json_array_append_new(s->arr,
		    json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:I, s:s?, s:I}",
		        "name", li->name, "state", lock_state_name(li->state),
		        "mode",
		        li->state == LOCK_UNREADABLE ? NULL
		                                     : lock_mode_name(li->mode),
		        "host", li->hostname, "command", li->command, "pid",
		        (json_int_t)li->pid, "reason", li->reason, "refreshed",
		        (json_int_t)li->refreshed));
		return (0);
	}
	printf("%.14s  %-10s %-9s %s pid %ld (%s) refreshed %s UTC%s%s\n",
	    li->name + strlen("locks/"), lock_state_name(li->state),
	    li->state == LOCK_UNREADABLE ? "-" : lock_mode_name(li->mode),
	    li->hostname ? li->hostname : "?", li->pid,
	    li->command ? li->command : "?", when, li->reason ? ": " : "",
	    li->reason ? li->reason : "");
	return (0);
}

static void
notice(void *arg, const char *msg)
{
	struct cli_ctx *ctx = arg;

	log_info(ctx->log, "%s", msg);
}

int
cmd_unlock(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("unlock");
	struct config *cfg = NULL;
	struct stor *st = NULL;
	struct lock_opts lo;
	struct show s = { ctx, NULL, 0 };
	struct unlock_args a;
	int remove, rc = EXIT_ERROR;
	unsigned removed = 0;
	struct err e;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &unlock_spec, argc, argv, &a, NULL) == -1 ||
	    opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	remove = a.remove;
	memset(&lo, 0, sizeof(lo));
	lo.command = "unlock";
	lo.notice = notice;
	lo.notice_arg = ctx;
	if (cli_load_config(ctx, &cfg, &e) == -1 ||
	    cli_open_store(ctx, cfg, a.repo, 0, &st, &e) == -1)
		goto out;
	if (remove && lock_remove_stale(st, &lo, &removed, &e) == -1)
		goto out;
	if (ctx->json)
		s.arr = json_array();
	if (lock_list(st, &lo, show_one, &s, &e) == -1)
		goto out;
	if (s.arr != NULL) {
		json_t *j = json_pack("{s:o, s:I}", "locks", s.arr, "removed",
		    (json_int_t)removed);

		s.arr = NULL;
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else if (!ctx->quiet) {
		if (remove)
			printf("removed %u lock%s\n", removed,
			    removed == 1 ? "" : "s");
		if (s.n == 0)
			printf("no locks\n");
	}
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		rc = cli_report(ctx, &e);
	json_decref(s.arr);
	stor_close(st);
	config_free(cfg);
	return (rc);
}
