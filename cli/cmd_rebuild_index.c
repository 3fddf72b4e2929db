/*
 * coffer rebuild-index: the index from the packs' own headers.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "repo_opts.h"

struct rebuild_args {
	const char *repo;
};

static const struct opt rebuild_opts[] = {
	CLI_OPT_REPO(struct rebuild_args, repo),
	OPT_END,
};

static const struct opt_spec rebuild_spec = { rebuild_opts, NULL };

int
cmd_rebuild_index(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("rebuild-index");
	struct repo_rebuild_stats st;
	struct rebuild_args a;
	struct repo *r = NULL;
	struct err e;
	int rc;

	err_clear(&e);
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &rebuild_spec, argc, argv, &a, NULL) == -1 ||
	    opt_no_more(cmd, argc, argv, optind) == -1)
		return (EXIT_USAGE);
	/* It replaces index files: nobody else may read or write meanwhile. */
	ctx->lock = CLI_LOCK_EXCLUSIVE;
	if (cli_open_repo_flags(ctx, a.repo, REPO_OPEN_SKIP_BAD_INDEX, NULL, &r,
	        &e) == -1 ||
	    repo_rebuild_index(r, &st, &e) == -1) {
		rc = cli_report(ctx, &e);
		goto out;
	}
	if (st.packs_bad > 0)
		log_error(ctx->log,
		    "%zu damaged pack%s left out of the index (first: %s); "
		    "their blobs are lost unless another copy of the "
		    "repository has them",
		    st.packs_bad, st.packs_bad == 1 ? "" : "s", st.first_bad);
	if (ctx->json) {
		json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I}", "packs",
		    (json_int_t)st.packs, "packs_damaged",
		    (json_int_t)st.packs_bad, "blobs", (json_int_t)st.blobs,
		    "index_written", (json_int_t)st.index_written,
		    "index_removed", (json_int_t)st.index_removed);

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else if (!ctx->quiet)
		printf("indexed %zu blobs in %zu packs: %zu index file%s "
		       "written, %zu old one%s removed\n",
		    st.blobs, st.packs, st.index_written,
		    st.index_written == 1 ? "" : "s", st.index_removed,
		    st.index_removed == 1 ? "" : "s");
	rc = st.packs_bad > 0 ? EXIT_CORRUPT : EXIT_OK;
out:
	repo_close(r);
	return (rc);
}
