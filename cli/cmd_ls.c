/*
 * coffer ls: list a directory of a snapshot (or the whole tree below it),
 * like ls(1), from the snapshot's trees alone: no file data is read.
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
#include "xmalloc.h"

struct ls {
	struct cli_ctx *ctx;
	int lng;      /* -l */
	size_t count; /* entries printed */
};

/* An owner or group column: the name, else the number. */
static void
print_owner(const char *name, uint32_t id)
{
	size_t w;

	if (name == NULL || name[0] == '\0') {
		printf(" %-8lu", (unsigned long)id);
		return;
	}
	putchar(' ');
	esc_fwrite(stdout, name, strlen(name));
	w = esc_width(name, strlen(name));
	if (w < 8)
		printf("%*s", (int)(8 - w), "");
}

/* shown: the name (a directory's listing) or the full path. */
static void
print_entry(struct ls *ls, const struct fs_node *n, const char *path,
    const char *shown)
{
	char mode[11], when[64], size[48];

	if (ls->ctx->json) {
		json_t *j = fmt_json_node(n, path);

		fputs(ls->count > 0 ? ",\n" : "\n", stdout);
		json_dumpf(j, stdout, JSON_COMPACT);
		json_decref(j);
		ls->count++;
		return;
	}
	ls->count++;
	if (ls->lng) {
		fmt_mode(n->type, n->mode, mode);
		fputs(mode, stdout);
		print_owner(n->user, n->uid);
		print_owner(n->group, n->gid);
		if (n->type == FS_CHR || n->type == FS_BLK)
			snprintf(size, sizeof(size), "%u, %u", n->rdev_major,
			    n->rdev_minor);
		else
			snprintf(size, sizeof(size), "%llu",
			    (unsigned long long)n->size);
		fmt_time(n->mtime.sec, when, sizeof(when));
		printf(" %10s %s ", size, when);
	}
	esc_fwrite(stdout, shown, strlen(shown));
	if (ls->lng && n->type == FS_SYMLINK && n->symlink != NULL) {
		fputs(" -> ", stdout);
		esc_fwrite(stdout, n->symlink, strlen(n->symlink));
	}
	putchar('\n');
}

static int
stop(struct ls *ls, struct err *e)
{
	if (*ls->ctx->interrupted)
		return (err_set(e, ERR_INTERRUPTED, "interrupted"));
	return (fmt_stdout_check(e));
}

/* Everything below the directory dir (path: its path, "" for the root). */
static int
list_recursive(struct ls *ls, struct tree_reader *tr, const struct fs_node *dir,
    const char *path, struct err *e)
{
	struct tree_iter *it;
	const struct fs_node *n;
	const char *p;
	int rc;

	it = tree_iter_new(tr,
	    (dir->flags & FS_NODE_HAS_SUBTREE) ? dir->subtree : NULL, path);
	while ((rc = tree_iter_next(it, &n, &p, e)) == 1) {
		print_entry(ls, n, p, p);
		if (stop(ls, e) == -1) {
			rc = -1;
			break;
		}
	}
	tree_iter_free(it);
	return (rc);
}

/* The entries of the directory dir, by name. */
static int
list_dir(struct ls *ls, struct tree_reader *tr, const struct fs_node *dir,
    const char *path, struct err *e)
{
	struct tree_dir d;
	char *full;
	int rc = 0;

	if (tree_load_dir(tr, dir, &d, e) == -1)
		return (-1);
	for (size_t i = 0; i < d.n && rc == 0; i++) {
		full = xasprintf("%s/%s", path, d.nodes[i].name);
		print_entry(ls, &d.nodes[i], full, d.nodes[i].name);
		free(full);
		rc = stop(ls, e);
	}
	tree_dir_clear(&d);
	return (rc);
}

struct ls_args {
	const char *repo;
	int no_lock, lng, recursive;
	struct timespec before;
};

#define A(x) offsetof(struct ls_args, x)
static const struct opt ls_opts[] = {
	CLI_OPT_REPO(struct ls_args, repo),
	{ "no-lock", 0, OPT_FLAG, A(no_lock), NULL, 0, 0, 0, NULL },
	{ "long", 'l', OPT_FLAG, A(lng), NULL, 0, 0, 0, NULL },
	{ "recursive", 'R', OPT_FLAG, A(recursive), NULL, 0, 0, 0, NULL },
	CLI_OPT_BEFORE_TIME(struct ls_args, before),
	OPT_END,
};

static const struct opt_spec ls_spec = { ls_opts, NULL };

int
cmd_ls(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("ls");
	struct tree_reader *tr = NULL;
	struct snapsel *list = NULL;
	const struct manifest *m;
	struct ls_args o;
	struct repo *r = NULL;
	struct fs_node node;
	struct ls ls;
	const char *snap, *path = "/", *prefix;
	char *clean = NULL, *shown;
	opt_given_t given;
	size_t at;
	int found, rc = EXIT_USAGE;
	struct err e;

	err_clear(&e);
	memset(&node, 0, sizeof(node));
	memset(&ls, 0, sizeof(ls));
	memset(&o, 0, sizeof(o));
	ls.ctx = ctx;
	if (opt_parse(ctx, cmd, &ls_spec, argc, argv, &o, &given) == -1)
		return (EXIT_USAGE);
	ls.lng = o.lng;
	if (o.no_lock)
		ctx->lock = CLI_LOCK_NONE;
	if (optind == argc)
		return (cli_usage_error(cmd,
		    "which snapshot? give SNAP "
		    "('latest' or an id)"));
	if (opt_no_more(cmd, argc, argv, optind + 2) == -1)
		return (EXIT_USAGE);
	snap = argv[optind];
	if (argc - optind == 2)
		path = argv[optind + 1];
	rc = EXIT_ERROR;
	/* The same paths as restore --include: checked before the repo. */
	if (tree_path_clean(path, &clean, &e) == -1)
		goto out;
	/* Listed paths are "/" NAME below the root, "/etc/" NAME below /etc. */
	prefix = strcmp(clean, "/") == 0 ? "" : clean;
	if (cli_open_repo(ctx, o.repo, NULL, &r, &e) == -1 ||
	    cli_snapshot_pick(ctx, r, snap,
	        opt_is_given(&ls_spec, given, "before") ? &o.before : NULL,
	        &list, &at, &e) == -1)
		goto out;
	m = &list->v[at].m;
	tr = tree_reader_new(r);
	if ((found = tree_find(tr, m->tree, clean, &node, &e)) == -1)
		goto out;
	if (found == 1) {
		shown = esc_str(path, strlen(path));
		err_set(&e, ERR_USAGE, "no %s in snapshot %.8s", shown, m->id);
		free(shown);
		goto out;
	}
	if (ctx->json)
		fputs("[", stdout);
	if (node.type != FS_DIR)
		print_entry(&ls, &node, clean, clean);
	else if (o.recursive) {
		if (list_recursive(&ls, tr, &node, prefix, &e) == -1)
			goto out;
	} else if (list_dir(&ls, tr, &node, prefix, &e) == -1)
		goto out;
	if (ctx->json)
		fputs("\n]\n", stdout);
	if (fmt_stdout_check(&e) == -1)
		goto out;
	rc = EXIT_OK;
out:
	if (rc == EXIT_ERROR)
		rc = cli_report(ctx, &e);
	fs_node_clear(&node);
	tree_reader_free(tr);
	snapsel_free(list);
	repo_close(r);
	free(clean);
	return (rc);
}
