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

#include "fmt.h"
#include "progress.h"
#include "repo/compress.h"
#include "repo_opts.h"
#include "snapshot/job.h"
#include "snapshot/snapshot.h"
#include "snapshot/sources.h"
#include "value.h"
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

/*
 * Where the files cache lives: option, config, then the usual places, in
 * the order the key hints use (a set XDG_CACHE_HOME wins even for root).
 */
static char *
cache_dir(const char *opt, const struct config *cfg)
{
	const char *x;

	if (opt != NULL)
		return (xstrdup(opt));
	if (cfg != NULL && config_key_line(config_global(cfg), "cache_dir") > 0)
		return (
		    xstrdup(config_get_str(config_global(cfg), "cache_dir")));
	if ((x = getenv("XDG_CACHE_HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/coffer", x));
	if (geteuid() == 0)
		return (xstrdup("/var/cache/coffer"));
	if ((x = getenv("HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/.cache/coffer", x));
	return (NULL);
}

/* Without -r: the job's, COFFER_REPOSITORY, or the config's only one. */
static const char *
default_repo(const struct config *cfg, const struct snap_job *job)
{
	const struct config_section *sec;

	if (job != NULL && job->name != NULL)
		return (job->repository);
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
	struct snap_job *sj = NULL;
	size_t nfailed = 0;
	int sources_mode;
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
		if (cli_load_config(ctx, &cfg, &e) == -1)
			goto out;
		if (job == NULL)
			sj = snap_job_new(NULL);
		else if (snap_job_resolve(cfg, job, &sj, &e) == -1)
			goto out;
		for (size_t i = 0; i < names.n; i++)
			if (snap_job_add_source(sj, cfg, names.v[i], &e) == -1)
				goto out;
		for (size_t i = 0; i < pgs.n; i++)
			if (snap_job_add_postgres(sj, pgs.v[i], &e) == -1) {
				rc = cli_usage_error(cmd, "%s", e.msg);
				goto done;
			}
		for (size_t i = 0; i < mys.n; i++)
			snap_job_add_mysql(sj, mys.v[i], defaults);
		for (size_t i = 0; i < sqls.n; i++)
			snap_job_add_sqlite(sj, sqls.v[i]);
		for (size_t i = 0; i < cmds.n; i++)
			snap_job_add_command(sj, cmds.v[i], cmdnames.v[i]);
		if (optind < argc)
			snap_job_add_files(sj,
			    (const char *const *)argv + optind,
			    (size_t)(argc - optind), excl.v, excl.n, one_fs);
		if (snap_job_check(sj, &e) == -1)
			goto out;
		if (arg == NULL)
			arg = default_repo(cfg, sj);
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
	if ((sources_mode ? snap_job_run(r, sj, &so, &m, &nfailed, &e)
	                  : snap_run(r, &so, &m, &e)) == -1) {
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
	snap_job_free(sj);
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
