/*
 * coffer snapshot: file trees into a repository.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "progress.h"
#include "repo_opts.h"
#include "snapshot/snapshot.h"
#include "xmalloc.h"

enum {
	OPT_TAG = CLI_OPT_CMD_BASE,
	OPT_EXCLUDE,
	OPT_ONE_FS,
	OPT_NO_CACHE,
	OPT_CACHE_DIR,
	OPT_NO_VERIFY
};

struct strv {
	const char **v;
	size_t n;
};

static void
strv_push(struct strv *s, const char *x)
{
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = x;
}

/* Where the files cache lives: option, config, then the usual places. */
static char *
cache_dir(const char *opt, const struct config *cfg)
{
	const char *x;

	if (opt != NULL)
		return (xstrdup(opt));
	if (cfg != NULL && config_key_line(config_global(cfg), "cache_dir") > 0)
		return (
		    xstrdup(config_get_str(config_global(cfg), "cache_dir")));
	if (geteuid() == 0)
		return (xstrdup("/var/cache/coffer"));
	if ((x = getenv("XDG_CACHE_HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/coffer", x));
	if ((x = getenv("HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/.cache/coffer", x));
	return (NULL);
}

static void
report(struct cli_ctx *ctx, const struct manifest *m)
{
	char b1[32], b2[32], b3[32];

	if (ctx->json) {
		char *js = manifest_encode(m);
		json_t *j = json_loads(js, 0, NULL);

		json_object_set_new(j, "id", json_string(m->id));
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
		free(js);
		return;
	}
	if (ctx->quiet)
		return;
	fmt_size(m->bytes, b1, sizeof(b1));
	fmt_size(m->raw_new, b2, sizeof(b2));
	fmt_size(m->stored_new, b3, sizeof(b3));
	printf("snapshot %.8s saved: %llu files, %llu dirs, %s; added %s "
	       "(%s stored) in %.1f s\n",
	    m->id, (unsigned long long)m->files, (unsigned long long)m->dirs,
	    b1, b2, b3, m->duration);
}

int
cmd_snapshot(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		CLI_REPO_LONG,
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "one-file-system", no_argument, NULL, OPT_ONE_FS },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
		{ "no-verify-before-write", no_argument, NULL, OPT_NO_VERIFY },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("snapshot");
	struct strv tags = { NULL, 0 }, excl = { NULL, 0 };
	const char *arg = NULL, *cache_opt = NULL;
	int one_fs = 0, no_cache = 0, no_verify = 0, ch, rc = EXIT_USAGE;
	struct snap_opts so;
	struct config *cfg = NULL;
	struct repo *r = NULL;
	struct manifest m;
	struct err e;
	char *cdir = NULL;

	err_clear(&e);
	manifest_init(&m);
	memset(&so, 0, sizeof(so));
	while ((ch = cli_getopt(ctx, cmd, argc, argv,
	            CLI_COMMON_SHORT "r:", longopts)) != -1) {
		switch (ch) {
		case 'r':
			arg = optarg;
			break;
		case OPT_TAG:
			strv_push(&tags, optarg);
			break;
		case OPT_EXCLUDE:
			strv_push(&excl, optarg);
			break;
		case OPT_ONE_FS:
			one_fs = 1;
			break;
		case OPT_NO_CACHE:
			no_cache = 1;
			break;
		case OPT_CACHE_DIR:
			cache_opt = optarg;
			break;
		case OPT_NO_VERIFY:
			no_verify = 1;
			break;
		default:
			goto done;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error(cmd, "give the paths to snapshot");
		goto done;
	}
	if (cli_open_repo(ctx, arg, &cfg, &r, &e) == -1)
		goto out;
	if (no_verify)
		repo_set_verify_before_write(r, 0);
	if (!no_cache)
		cdir = cache_dir(cache_opt, cfg);
	so.paths = (const char *const *)argv + optind;
	so.npaths = (size_t)(argc - optind);
	so.exclude = excl.v;
	so.nexclude = excl.n;
	so.tags = tags.v;
	so.ntags = tags.n;
	so.one_file_system = one_fs;
	so.cache_dir = cdir;
	so.log = ctx->log;
	so.interrupted = ctx->interrupted;
	so.progress = progress_new(STDERR_FILENO, "snapshot", 0,
	    isatty(STDERR_FILENO) && !ctx->quiet && !ctx->json);
	if (snap_run(r, &so, &m, &e) == -1) {
		progress_free(so.progress);
		goto out;
	}
	progress_done(so.progress);
	progress_free(so.progress);
	report(ctx, &m);
	if (m.nskipped > 0 || m.ninconsistent > 0) {
		log_warn(ctx->log,
		    "snapshot %.8s is partial: %zu entries skipped, %zu files "
		    "changed while read (listed above)",
		    m.id, m.nskipped, m.ninconsistent);
		rc = EXIT_PARTIAL;
	} else
		rc = EXIT_OK;
	goto done;
out:
	rc = cli_report(ctx, &e);
done:
	manifest_clear(&m);
	repo_close(r);
	config_free(cfg);
	free(cdir);
	free(tags.v);
	free(excl.v);
	return (rc);
}
