/*
 * coffer snapshot: file trees, or named sources (from the config or ad hoc
 * database options), into a repository.
 */
#include <sys/stat.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conninfo.h"
#include "fmt.h"
#include "progress.h"
#include "repo/compress.h"
#include "repo_opts.h"
#include "snapshot/snapshot.h"
#include "snapshot/sources.h"
#include "xmalloc.h"

enum {
	OPT_TAG = CLI_OPT_CMD_BASE,
	OPT_EXCLUDE,
	OPT_ONE_FS,
	OPT_NO_CACHE,
	OPT_CACHE_DIR,
	OPT_NO_VERIFY,
	OPT_COMPRESSION,
	OPT_SOURCE,
	OPT_JOB,
	OPT_POSTGRES,
	OPT_MYSQL,
	OPT_DEFAULTS_FILE,
	OPT_SQLITE,
	OPT_COMMAND,
	OPT_NAME
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

/* The sources being built from the options and the config. */
struct srcv {
	struct snap_source *v;
	size_t n;
	char **owned; /* names made up for ad-hoc sources */
	size_t nowned;
};

static struct snap_source *
srcv_push(struct srcv *sv, const char *type)
{
	struct snap_source *x;

	sv->v = xreallocarray(sv->v, sv->n + 1, sizeof(*sv->v));
	x = &sv->v[sv->n++];
	memset(x, 0, sizeof(*x));
	x->type = type;
	return (x);
}

static const char *
srcv_own(struct srcv *sv, char *s)
{
	sv->owned = xreallocarray(sv->owned, sv->nowned + 1, sizeof(char *));
	sv->owned[sv->nowned++] = s;
	return (s);
}

static void
srcv_free(struct srcv *sv)
{
	for (size_t i = 0; i < sv->nowned; i++)
		free(sv->owned[i]);
	free(sv->owned);
	free(sv->v);
}

/* A [source NAME] of the config as a snap_source. */
static int
source_from_config(const struct config *cfg, const char *name, struct srcv *sv,
    struct err *e)
{
	const struct config_section *sec;
	struct snap_source *x;
	const char *const *items;
	uint64_t secs;
	int64_t lvl;
	int b;

	if (cfg == NULL ||
	    (sec = config_section_find(cfg, CONFIG_SOURCE, name)) == NULL)
		return (err_set(e, ERR_USAGE,
		    "no [source %s] in %s: name a source of the config "
		    "(coffer config --list shows them)",
		    name, cfg ? config_file(cfg) : "the config (none found)"));
	x = srcv_push(sv, config_get_str(sec, "type"));
	x->name = config_section_name(sec);
	x->npaths = config_get_list(sec, "paths", &items);
	x->paths = items;
	x->nexclude = config_get_list(sec, "exclude", &items);
	x->exclude = items;
	if (config_get_bool(sec, "one_file_system", &b) == 0)
		x->one_file_system = b;
	x->database = config_get_str(sec, "database");
	x->connection = config_get_str(sec, "connection");
	if (config_get_bool(sec, "globals", &b) == 0)
		x->globals = b;
	x->defaults_file = config_get_str(sec, "defaults_file");
	x->path = config_get_str(sec, "path");
	x->command = config_get_str(sec, "command");
	x->file_name = config_get_str(sec, "name");
	x->before = config_get_str(sec, "before");
	x->after = config_get_str(sec, "after");
	if (config_get_int(sec, "compression", &lvl) == 0)
		x->compression = (int)lvl;
	if (config_get_duration(sec, "hook_timeout", &secs) == 0)
		x->hook_timeout =
		    secs > UINT32_MAX ? UINT32_MAX : (unsigned)secs;
	if (strcmp(x->type, "postgres") == 0 &&
	    config_get_str(sec, "method") != NULL &&
	    strcmp(config_get_str(sec, "method"), "dump") != 0)
		return (config_err(e, sec, "method",
		    "method = %s is not supported yet; use method = dump",
		    config_get_str(sec, "method")));
	return (0);
}

/* "state" of "/var/lib/app/state.db". */
static char *
sqlite_name(const char *path)
{
	const char *b = strrchr(path, '/');
	char *n, *dot;

	n = xstrdup(b ? b + 1 : path);
	if ((dot = strrchr(n, '.')) != NULL && dot != n)
		*dot = '\0';
	return (n);
}

/* Without -r: the job's, COFFER_REPOSITORY, or the config's only one. */
static const char *
default_repo(const struct config *cfg, const struct config_section *job)
{
	const struct config_section *sec;

	if (job != NULL)
		return (config_get_str(job, "repository"));
	if (getenv("COFFER_REPOSITORY") != NULL || cfg == NULL)
		return (NULL);
	sec = config_next(cfg, NULL, CONFIG_REPOSITORY);
	if (sec != NULL && config_next(cfg, sec, CONFIG_REPOSITORY) == NULL)
		return (config_section_name(sec));
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
	for (size_t i = 0; i < m->nsources; i++) {
		const struct manifest_source *x = &m->sources[i];

		fmt_size(x->bytes, b1, sizeof(b1));
		if (strcmp(x->status, "ok") == 0)
			printf("  %-16s %-8s ok      %s%s%s\n", x->name,
			    x->type, b1, x->server_version ? "  server " : "",
			    x->server_version ? x->server_version : "");
		else
			printf("  %-16s %-8s FAILED  %s\n", x->name, x->type,
			    x->error ? x->error : "");
	}
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
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "job", required_argument, NULL, OPT_JOB },
		{ "postgres", required_argument, NULL, OPT_POSTGRES },
		{ "mysql", required_argument, NULL, OPT_MYSQL },
		{ "defaults-file", required_argument, NULL, OPT_DEFAULTS_FILE },
		{ "sqlite", required_argument, NULL, OPT_SQLITE },
		{ "command", required_argument, NULL, OPT_COMMAND },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "compression", required_argument, NULL, OPT_COMPRESSION },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("snapshot");
	struct strv tags = { NULL, 0 }, excl = { NULL, 0 }, names = { NULL, 0 },
	            pgs = { NULL, 0 }, mys = { NULL, 0 }, sqls = { NULL, 0 },
	            cmds = { NULL, 0 }, cmdnames = { NULL, 0 };
	const char *arg = NULL, *cache_opt = NULL, *job = NULL,
	           *defaults = NULL;
	const struct config_section *jsec = NULL;
	struct srcv sv = { NULL, 0, NULL, 0 };
	size_t nfailed = 0;
	int sources_mode, job_failed = 0;
	struct stat st;
	int one_fs = 0, no_cache = 0, no_verify = 0, ch, rc = EXIT_USAGE;
	struct snap_opts so;
	struct config *cfg = NULL, *scfg = NULL;
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
		case OPT_SOURCE:
			strv_push(&names, optarg);
			break;
		case OPT_JOB:
			job = optarg;
			break;
		case OPT_COMPRESSION:
			if (compress_level_parse(optarg, &so.compression, &e) ==
			    -1) {
				rc = cli_usage_error(cmd, "--compression: %s",
				    e.msg);
				goto done;
			}
			break;
		case OPT_POSTGRES:
			strv_push(&pgs, optarg);
			break;
		case OPT_MYSQL:
			strv_push(&mys, optarg);
			break;
		case OPT_DEFAULTS_FILE:
			defaults = optarg;
			break;
		case OPT_SQLITE:
			strv_push(&sqls, optarg);
			break;
		case OPT_COMMAND:
			strv_push(&cmds, optarg);
			break;
		case OPT_NAME:
			if (cmdnames.n + 1 != cmds.n) {
				rc = cli_usage_error(cmd,
				    "--name NAME follows the --command it "
				    "names");
				goto done;
			}
			strv_push(&cmdnames, optarg);
			break;
		default:
			goto done;
		}
	}
	sources_mode =
	    names.n + pgs.n + mys.n + sqls.n + cmds.n > 0 || job != NULL;
	if (!sources_mode && optind >= argc) {
		rc = cli_usage_error(cmd,
		    "give the paths to snapshot, or --source NAME");
		goto done;
	}
	if (cmdnames.n != cmds.n) {
		rc = cli_usage_error(cmd, "give each --command a --name NAME");
		goto done;
	}
	if (defaults != NULL && mys.n == 0) {
		rc = cli_usage_error(cmd, "--defaults-file goes with --mysql");
		goto done;
	}
	if (job != NULL && names.n > 0) {
		rc = cli_usage_error(cmd,
		    "--job runs the job's sources: leave out --source");
		goto done;
	}
	if (sources_mode) {
		const char *const *items;
		size_t nitems;

		if (cli_load_config(ctx, &cfg, &e) == -1)
			goto out;
		if (job != NULL) {
			if (cfg == NULL ||
			    (jsec = config_section_find(cfg, CONFIG_JOB,
			         job)) == NULL) {
				err_set(&e, ERR_USAGE, "no [job %s] in %s", job,
				    cfg ? config_file(cfg) : "the config");
				goto out;
			}
			nitems = config_get_list(jsec, "sources", &items);
			for (size_t i = 0; i < nitems; i++)
				if (source_from_config(cfg, items[i], &sv,
				        &e) == -1)
					goto out;
		}
		for (size_t i = 0; i < names.n; i++)
			if (source_from_config(cfg, names.v[i], &sv, &e) == -1)
				goto out;
		for (size_t i = 0; i < pgs.n; i++) {
			struct snap_source *x = srcv_push(&sv, "postgres");
			struct conninfo *ci = NULL;
			const char *db;

			if (conninfo_parse(pgs.v[i], &ci, &e) == -1) {
				rc = cli_usage_error(cmd, "--postgres: %s",
				    e.msg);
				goto done;
			}
			if ((db = conninfo_get(ci, "dbname")) == NULL ||
			    *db == '\0') {
				conninfo_free(ci);
				rc = cli_usage_error(cmd,
				    "--postgres names no database: give its "
				    "name, or add dbname=NAME");
				goto done;
			}
			x->name = x->database = srcv_own(&sv, xstrdup(db));
			x->connection = pgs.v[i];
			conninfo_free(ci);
		}
		for (size_t i = 0; i < mys.n; i++) {
			struct snap_source *x = srcv_push(&sv, "mysql");

			x->name = x->database = mys.v[i];
			x->defaults_file = defaults;
		}
		for (size_t i = 0; i < sqls.n; i++) {
			struct snap_source *x = srcv_push(&sv, "sqlite");

			x->name = srcv_own(&sv, sqlite_name(sqls.v[i]));
			x->path = sqls.v[i];
		}
		for (size_t i = 0; i < cmds.n; i++) {
			struct snap_source *x = srcv_push(&sv, "command");

			x->name = x->file_name = cmdnames.v[i];
			x->command = cmds.v[i];
		}
		if (optind < argc) {
			struct snap_source *x = srcv_push(&sv, "files");

			x->name = "files";
			x->paths = (const char *const *)argv + optind;
			x->npaths = (size_t)(argc - optind);
			x->exclude = excl.v;
			x->nexclude = excl.n;
			x->one_file_system = one_fs;
		}
		if (sv.n == 0) {
			err_set(&e, ERR_USAGE, "job %s names no sources", job);
			goto out;
		}
		for (size_t i = 0; i < sv.n; i++) {
			if (snap_source_check(&sv.v[i], &e) == -1)
				goto out;
			for (size_t k = 0; k < i; k++)
				if (strcmp(sv.v[i].name, sv.v[k].name) == 0) {
					rc = cli_usage_error(cmd,
					    "two sources are named %s: give "
					    "each its own name (config "
					    "sources, or --name)",
					    sv.v[i].name);
					goto done;
				}
		}
		if (arg == NULL)
			arg = default_repo(cfg, jsec);
		/* The sources point into this one: keep it till the end. */
		scfg = cfg;
		cfg = NULL;
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
	so.repository = arg ? arg : getenv("COFFER_REPOSITORY");
	if (cdir != NULL && stat(cdir, &st) == 0 && S_ISDIR(st.st_mode))
		so.tmp_dir = cdir;
	if (jsec != NULL && config_get_str(jsec, "before") != NULL) {
		struct snap_hook h;

		memset(&h, 0, sizeof(h));
		h.which = "before";
		h.command = config_get_str(jsec, "before");
		h.job = job;
		h.repository = so.repository;
		h.timeout = 300;
		h.interrupted = ctx->interrupted;
		if (snap_hook_run(&h, &e) == -1) {
			err_wrap(&e, "job %s", job);
			job_failed = 1;
		}
	}
	if (!job_failed &&
	    (sources_mode ? snap_sources(r, &so, sv.v, sv.n, &m, &nfailed, &e)
	                  : snap_run(r, &so, &m, &e)) == -1)
		job_failed = 1;
	if (jsec != NULL && config_get_str(jsec, "after") != NULL) {
		struct snap_hook h;
		struct err he;

		memset(&h, 0, sizeof(h));
		h.which = "after";
		h.command = config_get_str(jsec, "after");
		h.job = job;
		h.status = job_failed || nfailed > 0 ? "failed" : "ok";
		h.repository = so.repository;
		h.timeout = 300;
		err_clear(&he);
		if (snap_hook_run(&h, &he) == -1)
			log_warn(ctx->log, "job %s: %s", job, he.msg);
	}
	if (job_failed) {
		progress_free(so.progress);
		goto out;
	}
	progress_done(so.progress);
	progress_free(so.progress);
	report(ctx, &m);
	if (nfailed > 0) {
		log_warn(ctx->log,
		    "snapshot %.8s is partial: %zu of %zu sources failed "
		    "(named above)",
		    m.id, nfailed, m.nsources);
		rc = EXIT_PARTIAL;
	} else if (m.nskipped > 0 || m.ninconsistent > 0) {
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
	config_free(scfg);
	srcv_free(&sv);
	free(cdir);
	free(tags.v);
	free(excl.v);
	free(names.v);
	free(pgs.v);
	free(mys.v);
	free(sqls.v);
	free(cmds.v);
	free(cmdnames.v);
	return (rc);
}
