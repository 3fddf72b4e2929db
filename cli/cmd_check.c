/*
 * coffer check: verify a repository's structure, and with --read-data (or
 * a subset) every byte of its packs; print each problem as one line, then
 * a summary, or everything as JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replicate/replicate.h"
#include "repo/check.h"
#include "repo_opts.h"
#include "store/store.h"

struct check_args {
	const char *repo, *ref;
	int no_lock, all;
	struct check_opts o; /* --read-data-subset's slice or share */
};

/* check_parse_subset names the option in its message. */
static int
subset_opt(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	(void)opts;
	(void)next;
	return (check_parse_subset(arg, field, e));
}

#define A(x) offsetof(struct check_args, x)
static const struct opt check_opts[] = {
	CLI_OPT_REPO(struct check_args, repo),
	{ "no-lock", 0, OPT_FLAG, A(no_lock), NULL, 0, 0, 0, NULL },
	{ "read-data", 0, OPT_FLAG, A(all), NULL, 0, 0, 0, NULL },
	{ "read-data-subset", 0, OPT_FUNC, A(o), "N%|K/N", 0, 0, OPT_NAMED,
	    subset_opt },
	{ "compare-config", 0, OPT_STR, A(ref), "REF", 0, 0, 0, NULL },
	OPT_END,
};

static const struct opt_rel check_rels[] = {
	{ OPT_EXCLUDES, "read-data", "read-data-subset", NULL },
	OPT_REL_END,
};

static const struct opt_spec check_spec = { check_opts, check_rels };

struct out {
	struct cli_ctx *ctx;
	struct repo *r;
	int progress; /* a progress line may be on stderr */
};

/* Between packs: keep the shared lock fresh, or stop if it was lost. */
static int
refresh(void *arg, struct err *e)
{
	struct out *out = arg;

	return (repo_lock_refresh(out->r, e));
}

/* Each problem as it is found: one log line, file first. */
static void
print_problem(void *arg, const struct check_problem *p)
{
	struct out *out = arg;
	struct cli_ctx *ctx = out->ctx;

	if (ctx->json)
		return;
	/* Clear the progress line; its next redraw puts it back below. */
	if (out->progress)
		fputs("\r\033[K", stderr);
	log_msg(ctx->log, p->severity == CHECK_ERROR ? LOGL_ERROR : LOGL_WARN,
	    "%s: %s; %s", p->file, p->what, p->fix);
}

static void
human(char *buf, size_t size, uint64_t n)
{
	if (n < 1024)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else if (n < (1u << 20))
		snprintf(buf, size, "%.1f KiB", (double)n / 1024);
	else if (n < (1ull << 30))
		snprintf(buf, size, "%.1f MiB", (double)n / (1 << 20));
	else
		snprintf(buf, size, "%.1f GiB", (double)n / (1 << 30));
}

/* "1 pack", "2 packs". */
static const char *
count(char *buf, size_t size, uint64_t n, const char *what)
{
	snprintf(buf, size, "%llu %s%s", (unsigned long long)n, what,
	    n == 1 ? "" : "s");
	return (buf);
}

static void
print_summary(const struct check_report *rep, const struct check_opts *o)
{
	const struct check_stats *s = &rep->stats;
	char a[48], b[48], c[48], d[48], f[48], g[48], size[32];

	printf("checked %s, %s, %s, %s, %s, %s\n",
	    count(a, sizeof(a), s->key_files, "key file"),
	    count(b, sizeof(b), s->index_files, "index file"),
	    count(c, sizeof(c), s->packs, "pack"),
	    count(d, sizeof(d), s->snapshots, "snapshot"),
	    count(f, sizeof(f), s->trees, "tree"),
	    count(g, sizeof(g), s->data_refs, "data reference"));
	if (s->snapshots_forgotten > 0)
		printf("%s forgotten (not checked; 'coffer forget --undo ID' "
		       "brings one back until prune)\n",
		    count(a, sizeof(a), s->snapshots_forgotten, "snapshot"));
	if (o->data != CHECK_DATA_NONE) {
		human(size, sizeof(size), s->pack_bytes_read);
		printf("read %llu of %s (%s), %s\n",
		    (unsigned long long)s->packs_read,
		    count(a, sizeof(a), s->packs, "pack"), size,
		    count(b, sizeof(b), s->blobs_read, "blob"));
	}
	if (s->errors == 0 && s->warnings == 0)
		printf("no problems found\n");
	else if (s->errors == 0)
		printf("no errors, %s (see above)\n",
		    count(a, sizeof(a), s->warnings, "warning"));
	else
		printf("%s, %s: %s (see above)\n",
		    count(a, sizeof(a), s->errors, "error"),
		    count(b, sizeof(b), s->warnings, "warning"),
		    check_report_exit_status(rep) == EXIT_CORRUPT
		        ? "the repository is damaged"
		        : "some files could not be checked");
}

/* A line for each promise of store.h the repository's store does not keep. */
static void
print_caps(struct stor *st)
{
	unsigned caps = stor_caps(st);

	for (unsigned bit = 1; bit & STOR_CAPS_ALL; bit <<= 1)
		if (!(caps & bit))
			printf("store lacks %s: %s\n", stor_cap_name(bit),
			    stor_cap_lack(bit));
}

static void
print_json(const char *loc, struct stor *st, const struct check_report *rep)
{
	const struct check_stats *s = &rep->stats;
	json_t *j, *probs = json_array(), *lacks = json_array();
	unsigned caps = stor_caps(st);

	for (unsigned bit = 1; bit & STOR_CAPS_ALL; bit <<= 1)
		if (!(caps & bit))
			json_array_append_new(lacks,
			    json_string(stor_cap_name(bit)));

	for (size_t i = 0; i < rep->nproblems; i++) {
		const struct check_problem *p = &rep->problems[i];

		json_array_append_new(probs,
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "severity",
		        check_severity_name(p->severity), "class",
		        err_class_name(p->class), "file", p->file, "what",
		        p->what, "fix", p->fix));
	}
	j = json_pack(
	    "{s:s, s:b, s:I, s:I, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:I}}",
	    "repository", loc, "ok", s->errors == 0, "errors",
	    (json_int_t)s->errors, "warnings", (json_int_t)s->warnings,
	    "problems", probs, "store_lacks", lacks, "stats", "key_files",
	    (json_int_t)s->key_files, "key_files_damaged",
	    (json_int_t)s->key_files_damaged, "index_files",
	    (json_int_t)s->index_files, "index_files_damaged",
	    (json_int_t)s->index_files_damaged, "index_files_misnamed",
	    (json_int_t)s->index_files_misnamed, "blobs_indexed",
	    (json_int_t)s->blobs_indexed, "blobs_duplicate",
	    (json_int_t)s->blobs_duplicate, "packs", (json_int_t)s->packs,
	    "packs_indexed", (json_int_t)s->packs_indexed, "packs_missing",
	    (json_int_t)s->packs_missing, "packs_short",
	    (json_int_t)s->packs_short, "packs_unindexed",
	    (json_int_t)s->packs_unindexed, "packs_gaps",
	    (json_int_t)s->packs_gaps, "snapshots", (json_int_t)s->snapshots,
	    "snapshots_damaged", (json_int_t)s->snapshots_damaged,
	    "snapshots_forgotten", (json_int_t)s->snapshots_forgotten, "trees",
	    (json_int_t)s->trees, "data_refs", (json_int_t)s->data_refs,
	    "packs_read", (json_int_t)s->packs_read, "pack_bytes_read",
	    (json_int_t)s->pack_bytes_read, "blobs_read",
	    (json_int_t)s->blobs_read, "packs_damaged",
	    (json_int_t)s->packs_damaged);
	json_object_set_new(json_object_get(j, "stats"), "log_records",
	    json_integer((json_int_t)s->log_records));
	json_object_set_new(json_object_get(j, "stats"), "log_records_damaged",
	    json_integer((json_int_t)s->log_records_damaged));
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
}

/*
 * --compare-config REF: the config of the repository checked must be the
 * bytes of REF's, before anything trusts it (doc/OFFSITE.md).
 */
static int
compare_config(struct cli_ctx *ctx, const char *arg, const char *ref,
    struct err *e)
{
	struct config *cfg = NULL;
	struct stor *st = NULL, *rst = NULL;
	int rc = -1;

	if (cli_load_config(ctx, &cfg, e) == -1 ||
	    cli_open_store(ctx, cfg, arg, 0, &st, e) == -1 ||
	    cli_open_store(ctx, cfg, ref, 0, &rst, e) == -1 ||
	    repl_config_compare(st, rst, e) == -1)
		goto out;
	if (!ctx->json && !ctx->quiet)
		printf("config the same as that of %s\n", stor_location(rst));
	rc = 0;
out:
	stor_close(st);
	stor_close(rst);
	config_free(cfg);
	return (rc);
}

int
cmd_check(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("check");
	struct check_report *rep = NULL;
	struct check_args a;
	struct check_opts o;
	struct out out = { NULL, NULL, 0 };
	struct progress *prog = NULL;
	struct config *cfg = NULL;
	struct repo *r = NULL;
	const char *arg, *ref;
	struct err e;
	int rc = EXIT_USAGE;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &check_spec, argc, argv, &a, NULL) == -1 ||
	    opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	arg = a.repo;
	ref = a.ref;
	o = a.o;
	if (a.all)
		o.data = CHECK_DATA_ALL;
	if (a.no_lock)
		ctx->lock = CLI_LOCK_NONE;
	rc = EXIT_ERROR;
	if (ref != NULL && compare_config(ctx, arg, ref, &e) == -1)
		goto out;
	/* Shared (the default): prune must not remove packs under us. */
	if (ctx->lock != CLI_LOCK_NONE) /* --no-lock */
		ctx->lock = CLI_LOCK_SHARED;
	if (cli_open_repo_flags(ctx, arg, REPO_OPEN_SKIP_BAD_INDEX, &cfg, &r,
	        &e) == -1) {
		if (e.class == ERR_CORRUPT) {
			struct err why = e;

			err_set(&e, ERR_CORRUPT,
			    "%s; the repository cannot be opened: put back an "
			    "intact copy of that file from another copy of the "
			    "repository",
			    why.msg);
		}
		goto out;
	}
	out.ctx = ctx;
	out.r = r;
	out.progress = o.data != CHECK_DATA_NONE && isatty(STDERR_FILENO) &&
	    !ctx->quiet && !ctx->json;
	o.on_problem = print_problem;
	o.tick = refresh;
	o.arg = &out;
	o.interrupted = ctx->interrupted;
	if (out.progress)
		prog = progress_new(STDERR_FILENO, "reading packs", 0, 1);
	o.progress = prog;
	if (check_run(r, &o, &rep, &e) == -1)
		goto out;
	if (ctx->json)
		print_json(repo_location(r), repo_store(r), rep);
	else if (!ctx->quiet) {
		print_caps(repo_store(r));
		print_summary(rep, &o);
	}
	rc = check_report_exit_status(rep);
	err_clear(&e);
out:
	progress_free(prog);
	if (e.class != ERR_NONE)
		rc = cli_report(ctx, &e);
	check_report_free(rep);
	repo_close(r);
	config_free(cfg);
	return (rc);
}
