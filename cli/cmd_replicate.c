/*
 * coffer replicate: copy what one repository lacks from another (local
 * path or sftp://), without the key.  The engine is replicate/replicate.c,
 * and repl_job_resolve says what --from/--to/NAME mean; this file opens
 * the two, takes the source's lock and reports.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "opt.h"
#include "progress.h"
#include "replicate/replicate.h"
#include "repo/lock.h"
#include "repo_opts.h"
#include "store/store.h"

struct replicate_args {
	const char *from, *to;
	int jobs, dry_run, verify, no_lock;
};

#define A(x) offsetof(struct replicate_args, x)
static const struct opt replicate_opts[] = {
	{ "from", 0, OPT_STR, A(from), "REPO", 0, 0, 0, NULL },
	{ "to", 0, OPT_STR, A(to), "REPO", 0, 0, 0, NULL },
	{ "jobs", 'j', OPT_INT, A(jobs), "N", 1, REPL_JOBS_MAX, 0, NULL },
	{ "dry-run", 'n', OPT_FLAG, A(dry_run), NULL, 0, 0, 0, NULL },
	{ "verify", 0, OPT_FLAG, A(verify), NULL, 0, 0, 0, NULL },
	{ "no-lock", 0, OPT_FLAG, A(no_lock), NULL, 0, 0, 0, NULL },
	OPT_END,
};

static const struct opt_spec replicate_spec = { replicate_opts, NULL };

struct out {
	struct cli_ctx *ctx;
	json_t *problems;
};

static void
on_notice(void *arg, const char *msg)
{
	struct out *o = arg;

	log_warn(o->ctx->log, "%s", msg);
	if (o->problems != NULL)
		json_array_append_new(o->problems, json_string(msg));
}

static void
on_listed(void *arg, const char *name, uint64_t size)
{
	struct out *o = arg;

	if (!o->ctx->json && !o->ctx->quiet)
		printf("%s %llu\n", name, (unsigned long long)size);
}

static void
lock_notice(void *arg, const char *msg)
{
	struct cli_ctx *ctx = arg;

	log_info(ctx->log, "%s", msg);
}

static void
report(struct cli_ctx *ctx, const struct repl_stats *s, int dry_run,
    json_t *problems, const char *from, const char *to)
{
	char sent[32], present[32];
	double mbs =
	    s->seconds > 0 ? (double)s->bytes_sent / 1e6 / s->seconds : 0;

	if (ctx->json) {
		json_t *j = json_pack(
		    "{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:f, s:f, s:O}",
		    "from", from, "to", to, "dry_run", dry_run, "files_sent",
		    (json_int_t)s->files_sent, "bytes_sent",
		    (json_int_t)s->bytes_sent, "files_present",
		    (json_int_t)s->files_present, "bytes_present",
		    (json_int_t)s->bytes_present, "files_rotten",
		    (json_int_t)s->files_rotten, "files_mismatch",
		    (json_int_t)s->files_mismatch, "files_skipped",
		    (json_int_t)s->files_skipped, "files_gone",
		    (json_int_t)s->files_gone, "files_verified",
		    (json_int_t)s->files_verified, "seconds", s->seconds,
		    "mb_per_s", mbs, "problems", problems);

		fmt_json_print(j);
		json_decref(j);
		return;
	}
	if (ctx->quiet)
		return;
	fmt_size(s->bytes_sent, sent, sizeof(sent));
	fmt_size(s->bytes_present, present, sizeof(present));
	if (dry_run)
		printf("would send %llu files, %s; %llu files (%s) already "
		       "there",
		    (unsigned long long)s->files_sent, sent,
		    (unsigned long long)s->files_present, present);
	else
		printf("sent %llu files, %s in %.1f s (%.1f MB/s); %llu files "
		       "(%s) already there%s",
		    (unsigned long long)s->files_sent, sent, s->seconds, mbs,
		    (unsigned long long)s->files_present, present,
		    s->files_verified > 0 ? ", verified" : "");
	if (s->files_gone > 0)
		printf("; %llu the target pruned stay away",
		    (unsigned long long)s->files_gone);
	printf("\n");
	fflush(stdout);
}

int
cmd_replicate(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("replicate");
	struct config *cfg = NULL;
	struct stor *src = NULL, *dst = NULL;
	struct lock *lk = NULL;
	struct progress *pg = NULL;
	struct replicate_args a;
	struct repl_opts ro;
	struct repl_stats rs;
	struct out o = { ctx, NULL };
	const char *from, *to;
	int rc = EXIT_ERROR, ran = 0;
	struct err e;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	memset(&ro, 0, sizeof(ro));
	memset(&rs, 0, sizeof(rs));
	if (opt_parse(ctx, cmd, &replicate_spec, argc, argv, &a, NULL) == -1)
		return (EXIT_USAGE);
	from = a.from;
	to = a.to;
	ro.jobs = a.jobs;
	ro.dry_run = a.dry_run;
	ro.verify = a.verify;
	if (optind < argc) {
		if (to != NULL)
			return (cli_usage_error(cmd,
			    "give the target once: --to or NAME, not both"));
		to = argv[optind++];
	}
	if (opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	if (to == NULL)
		return (cli_usage_error(cmd,
		    "no target: give --to REPO or the NAME of a [repository "
		    "NAME]"));
	if (cli_load_config(ctx, &cfg, &e) == -1)
		goto out;
	if (repl_job_resolve(cfg, to, from, &from, &to, &e) == -1)
		goto out;
	if (ro.jobs == 0)
		ro.jobs = repl_jobs_default(cfg, from, to);
	if (cli_open_store(ctx, cfg, from, 0, &src, &e) == -1)
		goto out;
	if (cli_open_store(ctx, cfg, to, !ro.dry_run, &dst, &e) == -1) {
		/* A dry run creates nothing: a missing target is empty. */
		if (!ro.dry_run ||
		    (e.sys_errno != ENOENT && e.class != ERR_NOREPO))
			goto out;
		err_clear(&e);
	}
	if (!a.no_lock && !ro.dry_run) {
		struct lock_opts lo;

		memset(&lo, 0, sizeof(lo));
		lo.command = "replicate";
		lo.wait = ctx->lock_wait;
		lo.notice = lock_notice;
		lo.notice_arg = ctx;
		lo.interrupted = ctx->interrupted;
		lo.held = cli_lock_held;
		if (lock_acquire(src, LOCK_SHARED, &lo, &lk, &e) == -1) {
			err_wrap(&e,
			    "lock %s (a source that cannot be written, "
			    "such as an append-only off-site copy, needs "
			    "--no-lock)",
			    stor_location(src));
			goto out;
		}
	}
	if (ctx->json)
		o.problems = json_array();
	pg = progress_new(STDERR_FILENO, "replicate", 0,
	    isatty(STDERR_FILENO) && !ctx->quiet && !ctx->json && !ro.dry_run);
	ro.listed = on_listed;
	ro.notice = on_notice;
	ro.arg = &o;
	ro.progress = pg;
	ro.src_lock = lk;
	ro.interrupted = ctx->interrupted;
	ran = 1;
	if (repl_run(src, dst, &ro, &rs, &e) == -1)
		goto out;
	if (lk != NULL && lock_release(lk, &e) == -1)
		goto out;
	rc = EXIT_OK;
out:
	if (pg != NULL && (rc == EXIT_OK || e.class == ERR_CORRUPT))
		progress_done(pg);
	progress_free(pg);
	if (ran && !rs.refused && (rc == EXIT_OK || e.class == ERR_CORRUPT))
		report(ctx, &rs, ro.dry_run, o.problems, from, to);
	/* The one file the backup key could swap: see doc/OFFSITE.md. */
	if (rs.config_sent && (rc == EXIT_OK || e.class == ERR_CORRUPT) &&
	    strncmp(stor_location(dst), "sftp://", 7) == 0)
		log_info(ctx->log,
		    "%s got its config now: on an append-only host, make it "
		    "root's and read-only (chown root:root config; chmod 0444 "
		    "config; doc/OFFSITE.md, \"The "
		    "config file\")",
		    stor_location(dst));
	if (rc != EXIT_OK)
		rc = cli_report(ctx, &e);
	json_decref(o.problems);
	lock_free(lk);
	stor_close(src);
	stor_close(dst);
	config_free(cfg);
	return (rc);
}
