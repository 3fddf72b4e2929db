/*
 * coffer diff: what changed from one snapshot to another, from their
 * trees alone.  Directories both snapshots share are skipped unread
 * (tree_diff), so the cost follows the size of the change, not of the
 * snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "fmt.h"
#include "repo/manifest.h"
#include "repo/snapsel.h"
#include "repo/tree.h"
#include "repo_opts.h"

struct diff {
	struct cli_ctx *ctx;
	uint64_t added, removed, modified, metadata;
};

static json_t *
what_json(unsigned changes)
{
	json_t *a = json_array();

	for (unsigned bit = 1; bit != 0 && bit <= TREE_CHG_META; bit <<= 1)
		if ((changes & bit) && tree_chg_name(bit) != NULL)
			json_array_append_new(a,
			    json_string(tree_chg_name(bit)));
	return (a);
}

static int
one(void *arg, const struct tree_delta *d, struct err *e)
{
	struct diff *df = arg;
	const struct fs_node *n = d->b != NULL ? d->b : d->a;
	uint64_t total = df->added + df->removed + df->modified + df->metadata;
	char kind[2] = { (char)d->kind, '\0' };

	switch (d->kind) {
	case TREE_ADDED:
		df->added++;
		break;
	case TREE_REMOVED:
		df->removed++;
		break;
	case TREE_MODIFIED:
		df->modified++;
		break;
	case TREE_METADATA:
		df->metadata++;
		break;
	}
	if (df->ctx->json) {
		json_t *j = json_object();

		json_object_set_new(j, "change", json_string(kind));
		fmt_json_set_bytes(j, "path", d->path, strlen(d->path));
		json_object_set_new(j, "type",
		    json_string(fs_type_name(n->type)));
		if (d->kind == TREE_MODIFIED || d->kind == TREE_METADATA)
			json_object_set_new(j, "what", what_json(d->changes));
		fputs(total > 0 ? ",\n" : "\n", stdout);
		json_dumpf(j, stdout, JSON_COMPACT);
		json_decref(j);
	} else {
		printf("%c ", (char)d->kind);
		esc_fwrite(stdout, d->path, strlen(d->path));
		/* Directories end in '/', as in the listing of a type change.
		 */
		if (n->type == FS_DIR)
			putchar('/');
		putchar('\n');
	}
	if (*df->ctx->interrupted)
		return (err_set(e, ERR_INTERRUPTED, "interrupted"));
	return (fmt_stdout_check(e));
}

struct diff_args {
	const char *repo;
	int no_lock, metadata;
};

#define A(x) offsetof(struct diff_args, x)
static const struct opt diff_opts[] = {
	CLI_OPT_REPO(struct diff_args, repo),
	{ "no-lock", 0, OPT_FLAG, A(no_lock), NULL, 0, 0, 0, NULL },
	{ "metadata", 0, OPT_FLAG, A(metadata), NULL, 0, 0, 0, NULL },
	OPT_END,
};

static const struct opt_spec diff_spec = { diff_opts, NULL };

int
cmd_diff(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("diff");
	struct tree_reader *tr = NULL;
	struct snapsel *list = NULL;
	struct diff_args o;
	struct repo *r = NULL;
	struct diff df;
	size_t a, b;
	int flags, rc = EXIT_USAGE;
	struct err e;

	err_clear(&e);
	memset(&df, 0, sizeof(df));
	memset(&o, 0, sizeof(o));
	df.ctx = ctx;
	if (opt_parse(ctx, cmd, &diff_spec, argc, argv, &o, NULL) == -1)
		return (EXIT_USAGE);
	flags = o.metadata ? TREE_DIFF_METADATA : 0;
	if (o.no_lock)
		ctx->lock = CLI_LOCK_NONE;
	if (argc - optind < 2)
		return (
		    cli_usage_error(cmd, "give two snapshots, SNAP1 SNAP2"));
	if (opt_no_more(cmd, argc, argv, optind + 2) == -1)
		return (EXIT_USAGE);
	rc = EXIT_ERROR;
	if (cli_open_repo(ctx, o.repo, NULL, &r, &e) == -1 ||
	    cli_snapshots(ctx, r, &list, &e) == -1 ||
	    snapsel_resolve(list, argv[optind], NULL, &a, &e) == -1 ||
	    snapsel_resolve(list, argv[optind + 1], NULL, &b, &e) == -1)
		goto out;
	tr = tree_reader_new(r);
	if (ctx->json)
		fputs("{\"changes\":[", stdout);
	if (tree_diff(tr, list->v[a].m.tree, list->v[b].m.tree, "", flags, one,
	        &df, &e) == -1)
		goto out;
	if (ctx->json) {
		printf("\n],\"added\":%llu,\"removed\":%llu,\"modified\":%llu",
		    (unsigned long long)df.added,
		    (unsigned long long)df.removed,
		    (unsigned long long)df.modified);
		if (flags & TREE_DIFF_METADATA)
			printf(",\"metadata\":%llu",
			    (unsigned long long)df.metadata);
		fputs("}\n", stdout);
	} else if (!ctx->quiet) {
		printf("%llu added, %llu removed, %llu modified",
		    (unsigned long long)df.added,
		    (unsigned long long)df.removed,
		    (unsigned long long)df.modified);
		if (flags & TREE_DIFF_METADATA)
			printf(", %llu metadata",
			    (unsigned long long)df.metadata);
		putchar('\n');
	}
	if (fmt_stdout_check(&e) == -1)
		goto out;
	rc = EXIT_OK;
out:
	if (rc == EXIT_ERROR)
		rc = cli_report(ctx, &e);
	tree_reader_free(tr);
	snapsel_free(list);
	repo_close(r);
	return (rc);
}
