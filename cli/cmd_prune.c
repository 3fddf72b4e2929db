/*
 * coffer prune: two-phase garbage collection (repo/prune.h).  The engine
 * plans and does; this file parses, prints the plan and asks.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fmt.h"
#include "repo/forget.h"
#include "repo/prune.h"
#include "repo_opts.h"
#include "value.h"
#include "xmalloc.h"

struct prune_args {
	const char *repo;
	double max_unused;
	uint64_t max_repack;
	int dry_run, yes;
	const char *apply;
};

/* value_parse_percent, as --max-unused takes it. */
static int
percent_opt(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	(void)opts;
	(void)next;
	if (value_parse_percent(arg, field) == -1)
		return (err_set(e, ERR_USAGE,
		    "'%s' is not a percentage from 0%% to 100%% (5%%, 0.5%%)",
		    arg));
	return (0);
}

#define A(x) offsetof(struct prune_args, x)
static const struct opt prune_opts_table[] = {
	CLI_OPT_REPO(struct prune_args, repo),
	{ "max-unused", 0, OPT_FUNC, A(max_unused), "PCT", 0, 0, 0,
	    percent_opt },
	{ "max-repack-size", 0, OPT_SIZE, A(max_repack), "SIZE", 0, INT64_MAX,
	    0, NULL },
	{ "dry-run", 'n', OPT_FLAG, A(dry_run), NULL, 0, 0, 0, NULL },
	{ "yes", 0, OPT_FLAG, A(yes), NULL, 0, 0, 0, NULL },
	{ "apply", 0, OPT_STR, A(apply), "PLAN", 0, 0, OPT_NONEMPTY, NULL },
	OPT_END,
};

static const struct opt_rel prune_rels[] = {
	{ OPT_EXCLUDES, "apply", "dry-run max-unused max-repack-size",
	    "--apply does what the plan says, with its options" },
	OPT_REL_END,
};

static const struct opt_spec prune_spec = { prune_opts_table, prune_rels };

/* ---------------------------------------------------------------- output */

static void
line_size(const char *what, uint64_t n, uint64_t bytes)
{
	char s[32];

	fmt_size(bytes, s, sizeof(s));
	printf("  %-34s %6llu pack%s, %s\n", what, (unsigned long long)n,
	    n == 1 ? " " : "s", s);
}

static void
print_plan(const struct prune_result *res, int dry_run)
{
	const struct prune_totals *t = &res->t;
	char a[32], b[32];

	printf("%llu snapshots need %llu blobs (%llu trees)\n",
	    (unsigned long long)res->snapshots,
	    (unsigned long long)res->blobs_needed,
	    (unsigned long long)res->trees);
	if (res->records_due.n + res->records_waiting.n > 0) {
		printf("earlier prunes: %zu record%s past the margin, %zu "
		       "within it\n",
		    res->records_due.n, res->records_due.n == 1 ? "" : "s",
		    res->records_waiting.n);
		line_size(dry_run ? "packs to delete now:" : "packs deleted:",
		    res->due_packs.n, res->due_bytes);
		if (res->rescued.n > 0)
			printf("  %-34s %6zu (a snapshot needs them again)\n",
			    "packs rescued:", res->rescued.n);
	}
	fmt_size(t->bytes_used, a, sizeof(a));
	fmt_size(t->bytes_unused, b, sizeof(b));
	printf("blobs: %llu used (%s), %llu unused (%s)\n",
	    (unsigned long long)t->blobs_used, a,
	    (unsigned long long)t->blobs_unused, b);
	line_size("packs kept:", t->packs[PRUNE_KEEP], t->bytes[PRUNE_KEEP]);
	line_size("packs to repack:", t->packs[PRUNE_REPACK],
	    t->bytes[PRUNE_REPACK]);
	line_size("packs marked for deletion:", t->packs[PRUNE_DELETE],
	    t->bytes[PRUNE_DELETE]);
	if (t->packs[PRUNE_YOUNG] > 0)
		line_size("packs in no index, left (young):",
		    t->packs[PRUNE_YOUNG], t->bytes[PRUNE_YOUNG]);
	if (t->packs[PRUNE_MARKED] > 0)
		line_size("packs marked by an earlier prune:",
		    t->packs[PRUNE_MARKED], t->bytes[PRUNE_MARKED]);
	if (res->forgotten.n > 0)
		printf("forgotten snapshots to remove: %zu\n",
		    res->forgotten.n);
}

static void
print_summary(const struct prune_result *res)
{
	const struct prune_totals *t = &res->t;
	char now[32], later[32], copied[32];

	fmt_size(res->due_bytes, now, sizeof(now));
	fmt_size(t->bytes[PRUNE_DELETE] + t->bytes[PRUNE_REPACK], later,
	    sizeof(later));
	fmt_size(res->repack_written, copied, sizeof(copied));
	printf("repacked %llu pack%s (%llu blobs, %s copied); marked %llu "
	       "pack%s; deleted %zu pack%s\n",
	    (unsigned long long)t->packs[PRUNE_REPACK],
	    t->packs[PRUNE_REPACK] == 1 ? "" : "s",
	    (unsigned long long)res->repacked_blobs, copied,
	    (unsigned long long)(t->packs[PRUNE_DELETE] +
	        t->packs[PRUNE_REPACK]),
	    t->packs[PRUNE_DELETE] + t->packs[PRUNE_REPACK] == 1 ? "" : "s",
	    res->due_packs.n, res->due_packs.n == 1 ? "" : "s");
	printf("freed %s now; %s more after the margin (%llu s), by the next "
	       "prune\n",
	    now, later, (unsigned long long)res->margin);
}

static json_t *
names_json(const struct prune_names *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return (a);
}

static json_t *
packs_json(const struct prune_result *res, enum prune_action act)
{
	json_t *a = json_array();
	char hex[REPO_HEX_LEN + 1];

	for (size_t i = 0; i < res->npacks; i++) {
		if (res->packs[i].action != act)
			continue;
		crypto_hex_encode(res->packs[i].id, IDX_ID_LEN, hex);
		json_array_append_new(a, json_string(hex));
	}
	return (a);
}

static json_t *
plan_json(const struct prune_result *res, const struct prune_opts *po,
    int dry_run)
{
	const struct prune_totals *t = &res->t;
	json_t *j = json_object(), *p2 = json_object(), *p1 = json_object();

	json_object_set_new(j, "dry_run", json_boolean(dry_run));
	json_object_set_new(j, "fingerprint", json_string(res->fingerprint));
	json_object_set_new(j, "max_unused", json_real(po->max_unused));
	json_object_set_new(j, "max_repack",
	    po->max_repack == UINT64_MAX
	        ? json_null()
	        : json_integer((json_int_t)po->max_repack));
	json_object_set_new(j, "margin", json_integer((json_int_t)res->margin));
	json_object_set_new(j, "snapshots",
	    json_integer((json_int_t)res->snapshots));
	json_object_set_new(j, "blobs_needed",
	    json_integer((json_int_t)res->blobs_needed));
	json_object_set_new(p2, "records_due", names_json(&res->records_due));
	json_object_set_new(p2, "records_waiting",
	    names_json(&res->records_waiting));
	json_object_set_new(p2, "delete_packs", names_json(&res->due_packs));
	json_object_set_new(p2, "delete_index", names_json(&res->due_index));
	json_object_set_new(p2, "rescued", names_json(&res->rescued));
	json_object_set_new(p2, "bytes_freed",
	    json_integer((json_int_t)res->due_bytes));
	json_object_set_new(j, "earlier", p2);
	json_object_set_new(p1, "delete", packs_json(res, PRUNE_DELETE));
	json_object_set_new(p1, "repack", packs_json(res, PRUNE_REPACK));
	json_object_set_new(p1, "young", packs_json(res, PRUNE_YOUNG));
	json_object_set_new(p1, "packs_kept",
	    json_integer((json_int_t)t->packs[PRUNE_KEEP]));
	json_object_set_new(p1, "packs_marked_earlier",
	    json_integer((json_int_t)t->packs[PRUNE_MARKED]));
	json_object_set_new(p1, "blobs_used",
	    json_integer((json_int_t)t->blobs_used));
	json_object_set_new(p1, "blobs_unused",
	    json_integer((json_int_t)t->blobs_unused));
	json_object_set_new(p1, "bytes_used",
	    json_integer((json_int_t)t->bytes_used));
	json_object_set_new(p1, "bytes_unused",
	    json_integer((json_int_t)t->bytes_unused));
	json_object_set_new(p1, "repack_copy",
	    json_integer((json_int_t)t->repack_copy));
	json_object_set_new(p1, "bytes_freed_later",
	    json_integer(
	        (json_int_t)(t->bytes[PRUNE_DELETE] + t->bytes[PRUNE_REPACK])));
	json_object_set_new(p1, "index_replaced",
	    names_json(&res->index_replaced));
	json_object_set_new(p1, "forgotten", names_json(&res->forgotten));
	json_object_set_new(j, "plan", p1);
	if (res->done) {
		json_t *d = json_object();

		json_object_set_new(d, "record",
		    res->record[0] ? json_string(res->record) : json_null());
		json_object_set_new(d, "repacked_blobs",
		    json_integer((json_int_t)res->repacked_blobs));
		json_object_set_new(d, "repack_written",
		    json_integer((json_int_t)res->repack_written));
		json_object_set_new(d, "index_written",
		    json_integer((json_int_t)res->index_written));
		json_object_set_new(j, "done", d);
	}
	return (j);
}

static void
print_json(const struct prune_result *res, const struct prune_opts *po,
    int dry_run)
{
	json_t *j = plan_json(res, po, dry_run);

	fmt_json_print(j);
	json_decref(j);
}

/* ---------------------------------------------------------------- --apply */

/* What a plan file must hold, and what must be the same now. */
static const char *const plan_members[] = { "margin", "fingerprint",
	"earlier/records_due", "earlier/delete_packs", "earlier/delete_index",
	"earlier/rescued", "plan/delete", "plan/repack", "plan/young",
	"plan/index_replaced", "plan/forgotten" };

struct applying {
	struct cli_ctx *ctx;
	const char *file;
	json_t *plan;
	struct prune_opts *po;
};

static json_t *
member(json_t *j, const char *path)
{
	const char *slash = strchr(path, '/');
	char head[32];

	if (slash == NULL)
		return (json_object_get(j, path));
	snprintf(head, sizeof(head), "%.*s", (int)(slash - path), path);
	return (json_object_get(json_object_get(j, head), slash + 1));
}

/*
 * Read the plan FILE that `prune --dry-run --json` wrote, and take its
 * options into po.
 */
static int
plan_load(const char *file, json_t **out, struct prune_opts *po, struct err *e)
{
	json_error_t je;
	json_t *j, *v;

	*out = NULL;
	if ((j = json_load_file(file, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return (err_set(e, ERR_USAGE,
		    "%s: %s (line %d): not a plan; write one with 'coffer "
		    "prune --dry-run --json > FILE'",
		    file, je.text, je.line));
	v = json_object_get(j, "max_repack");
	if (!json_is_true(json_object_get(j, "dry_run")) ||
	    !json_is_number(json_object_get(j, "max_unused")) ||
	    !(json_is_null(v) || json_is_integer(v)) ||
	    (json_is_integer(v) && json_integer_value(v) < 0))
		goto bad;
	for (size_t i = 0; i < sizeof(plan_members) / sizeof(*plan_members);
	     i++)
		if (member(j, plan_members[i]) == NULL)
			goto bad;
	po->max_unused = json_number_value(json_object_get(j, "max_unused"));
	po->max_repack =
	    json_is_null(v) ? UINT64_MAX : (uint64_t)json_integer_value(v);
	*out = j;
	return (0);
bad:
	json_decref(j);
	return (err_set(e, ERR_USAGE,
	    "%s: not a plan of 'coffer prune --dry-run --json' (a member is "
	    "missing or wrong); write a new one",
	    file));
}

/* The plan made now must be the plan in the file, or nothing is done. */
static int
plan_approve(void *arg, const struct prune_result *res, struct err *e)
{
	struct applying *ap = arg;
	json_t *now = plan_json(res, ap->po, 1);
	const char *differs = NULL;

	for (size_t i = 0; i < sizeof(plan_members) / sizeof(*plan_members);
	     i++)
		if (!json_equal(member(now, plan_members[i]),
		        member(ap->plan, plan_members[i]))) {
			differs = plan_members[i];
			break;
		}
	json_decref(now);
	if (differs == NULL)
		return (0);
	return (err_set(e, ERR_USAGE,
	    "%s: the repository changed since this plan was made (%s "
	    "differs): nothing was changed; review a new plan from 'coffer "
	    "prune --dry-run --json'",
	    ap->file,
	    strcmp(differs, "fingerprint") == 0
	        ? "its snapshots, index files or prune records"
	        : differs));
}

static void
apply_note(void *arg, const char *msg)
{
	struct applying *ap = arg;

	log_warn(ap->ctx->log, "%s", msg);
}

/* ---------------------------------------------------------------- doing */

/* On a terminal, after the plan: go ahead?  Elsewhere no one to ask. */
static int
confirm(void)
{
	char line[32];
	FILE *tty;
	int yes;

	if (!isatty(STDIN_FILENO) || (tty = fopen("/dev/tty", "r+")) == NULL)
		return (1);
	fflush(stdout);
	fputs("prune? [y/N] ", tty);
	fflush(tty);
	yes = fgets(line, sizeof(line), tty) != NULL &&
	    (strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0);
	fclose(tty);
	return (yes);
}

static void
on_note(void *arg, const char *msg)
{
	struct cli_ctx *ctx = arg;

	log_warn(ctx->log, "%s", msg);
}

/* Probe the store for removals before taking a lock or a passphrase. */
static int
probe(struct cli_ctx *ctx, const char *arg, struct err *e)
{
	struct config *cfg = NULL;
	struct stor *st = NULL;
	int rc = -1;

	if (cli_load_config(ctx, &cfg, e) == -1 ||
	    cli_open_store(ctx, cfg, arg, 0, &st, e) == -1 ||
	    forget_probe(st, e) == -1)
		goto out;
	rc = 0;
out:
	stor_close(st);
	config_free(cfg);
	return (rc);
}

/* Something to do beyond what a dry run shows? */
static int
has_work(const struct prune_result *res)
{
	return (res->due_packs.n + res->due_index.n + res->forgotten.n > 0 ||
	    res->t.packs[PRUNE_DELETE] + res->t.packs[PRUNE_REPACK] > 0);
}

int
cmd_prune(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("prune");
	struct prune_result *res = NULL;
	struct prune_opts po;
	struct prune_args a;
	struct applying ap;
	struct repo *r = NULL;
	struct err e;
	int rc = EXIT_USAGE;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	memset(&ap, 0, sizeof(ap));
	a.max_unused = PRUNE_MAX_UNUSED_DEFAULT;
	a.max_repack = UINT64_MAX;
	if (opt_parse(ctx, cmd, &prune_spec, argc, argv, &a, NULL) == -1 ||
	    opt_no_more(cmd, argc, argv, optind) == -1)
		goto out;
	rc = EXIT_ERROR;
	memset(&po, 0, sizeof(po));
	po.max_unused = a.max_unused;
	po.max_repack = a.max_repack;
	po.interrupted = ctx->interrupted;
	po.note = on_note;
	po.arg = ctx;
	if (a.apply != NULL) {
		/* Reviewed already: executed as it is, or not at all. */
		if (plan_load(a.apply, &ap.plan, &po, &e) == -1) {
			rc = cli_report(ctx, &e);
			goto out;
		}
		ap.ctx = ctx;
		ap.file = a.apply;
		ap.po = &po;
		po.approve = plan_approve;
		po.note = apply_note;
		po.arg = &ap;
		a.yes = 1;
	}
	/* Nothing else may read or write while index files are replaced. */
	ctx->lock = CLI_LOCK_EXCLUSIVE;
	if (probe(ctx, a.repo, &e) == -1)
		goto out;
	if (cli_open_repo(ctx, a.repo, NULL, &r, &e) == -1) {
		/* Its lock file is the first thing a prune writes. */
		if (e.class == ERR_NOSPACE)
			err_wrap(&e,
			    "prune needs about 4 KiB free for its lock file, "
			    "then deletes before it writes; free that much");
		goto out;
	}
	/* The plan first, shown and confirmed on a terminal (and a dry run
	 * is only that); without anyone to ask, the run plans for itself. */
	if (a.dry_run || (!a.yes && isatty(STDIN_FILENO))) {
		po.dry_run = 1;
		if (prune_run(r, &po, &res, &e) == -1)
			goto out;
		if (!ctx->json && !ctx->quiet)
			print_plan(res, 1);
		if (a.dry_run || !has_work(res)) {
			if (ctx->json)
				print_json(res, &po, a.dry_run);
			else if (!ctx->quiet)
				printf(a.dry_run
				        ? "dry run: nothing was changed\n"
				        : "nothing to prune\n");
			rc = fmt_stdout_check(&e) == -1 ? EXIT_ERROR : EXIT_OK;
			goto out;
		}
		if (!confirm()) {
			log_error(ctx->log,
			    "not confirmed: nothing was changed");
			goto out;
		}
		prune_result_free(res);
		res = NULL;
	}
	po.dry_run = 0;
	if (prune_run(r, &po, &res, &e) == -1) {
		if (ctx->json && res != NULL)
			print_json(res, &po, 0);
		goto out;
	}
	if (ctx->json)
		print_json(res, &po, 0);
	else if (!ctx->quiet) {
		if (a.yes || !isatty(STDIN_FILENO))
			print_plan(res, 0);
		print_summary(res);
	}
	if (fmt_stdout_check(&e) == -1)
		goto out;
	rc = EXIT_OK;
out:
	if (rc == EXIT_ERROR && e.class != ERR_NONE)
		rc = cli_report(ctx, &e);
	prune_result_free(res);
	repo_close(r);
	json_decref(ap.plan);
	opt_free(&prune_spec, &a);
	return (rc);
}
