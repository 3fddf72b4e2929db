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
#include "scheduler/job.h"
#include "snapshot/job.h"
#include "snapshot/snapshot.h"
#include "snapshot/sources.h"
#include "snapshot/tar.h"
#include "xmalloc.h"

struct snapshot_args {
	const char *repo, *cache_dir, *job, *defaults, *from_tar;
	struct opt_strv tags, excl, names, pgs, mys, sqls, cmds, cmdnames;
	int one_fs, no_cache, no_verify, compression;
};

/* --command CMD --name NAME: each name right after its command. */
static int
name_opt(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	struct snapshot_args *a = opts;
	struct opt_strv *s = field;

	(void)next;
	if (s->n + 1 != a->cmds.n)
		return (err_set(e, ERR_USAGE,
		    "give each NAME right after the --command it names"));
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = arg;
	return (0);
}

#define A(x) offsetof(struct snapshot_args, x)
static const struct opt snapshot_opts[] = {
	CLI_OPT_REPO(struct snapshot_args, repo),
	{ "tag", 0, OPT_STRV, A(tags), "TAG", 0, 0, 0, NULL },
	{ "exclude", 0, OPT_STRV, A(excl), "PATTERN", 0, 0, 0, NULL },
	{ "one-file-system", 0, OPT_FLAG, A(one_fs), NULL, 0, 0, 0, NULL },
	{ "no-cache", 0, OPT_FLAG, A(no_cache), NULL, 0, 0, 0, NULL },
	{ "cache-dir", 0, OPT_STR, A(cache_dir), "DIR", 0, 0, 0, NULL },
	{ "no-verify-before-write", 0, OPT_FLAG, A(no_verify), NULL, 0, 0, 0,
	    NULL },
	{ "source", 0, OPT_STRV, A(names), "NAME", 0, 0, 0, NULL },
	{ "job", 0, OPT_STR, A(job), "NAME", 0, 0, 0, NULL },
	{ "postgres", 0, OPT_STRV, A(pgs), "CONNINFO", 0, 0, 0, NULL },
	{ "mysql", 0, OPT_STRV, A(mys), "DB", 0, 0, 0, NULL },
	{ "defaults-file", 0, OPT_STR, A(defaults), "F", 0, 0, 0, NULL },
	{ "sqlite", 0, OPT_STRV, A(sqls), "PATH", 0, 0, 0, NULL },
	{ "command", 0, OPT_STRV, A(cmds), "CMD", 0, 0, 0, NULL },
	{ "name", 0, OPT_FUNC, A(cmdnames), "NAME", 0, 0, 0, name_opt },
	{ "compression", 0, OPT_ZSTD, A(compression), "N", 0, 0, 0, NULL },
	{ "from-tar", 0, OPT_STR, A(from_tar), "FILE", 0, 0, OPT_NONEMPTY,
	    NULL },
	OPT_END,
};

static const struct opt_rel snapshot_rels[] = {
	{ OPT_NEEDS, "defaults-file", "mysql", NULL },
	{ OPT_EXCLUDES, "job", "source", "--job runs the job's sources" },
	{ OPT_EXCLUDES, "from-tar",
	    "source job postgres mysql sqlite command exclude "
	    "one-file-system",
	    "a tar stream is the snapshot's one source" },
	OPT_REL_END,
};

static const struct opt_spec snapshot_spec = { snapshot_opts, snapshot_rels };

/*
 * Where the files cache lives: option, config, then the usual places, in
 * the order the key hints use (a set XDG_CACHE_HOME wins even for root).
 */
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
	const struct cli_cmd *cmd = cli_find("snapshot");
	struct snapshot_args a;
	const char *arg;
	struct snap_job *sj = NULL;
	size_t nfailed = 0;
	int sources_mode;
	struct stat st;
	int rc = EXIT_USAGE, joblock = -1, busy = 0;
	struct snap_opts so;
	struct config *cfg = NULL, *scfg = NULL;
	struct repo *r = NULL;
	struct manifest m;
	struct err e;
	char *cdir = NULL;

	err_clear(&e);
	manifest_init(&m);
	memset(&so, 0, sizeof(so));
	memset(&a, 0, sizeof(a));
	if (opt_parse(ctx, cmd, &snapshot_spec, argc, argv, &a, NULL) == -1)
		goto done;
	arg = a.repo;
	so.compression = a.compression;
	sources_mode = a.job != NULL ||
	    a.names.n + a.pgs.n + a.mys.n + a.sqls.n + a.cmds.n > 0;
	if (a.from_tar != NULL && optind < argc) {
		rc = cli_usage_error(cmd,
		    "give --from-tar FILE or paths, not both: a tar stream is "
		    "the snapshot's one source");
		goto done;
	}
	if (!sources_mode && a.from_tar == NULL && optind >= argc) {
		rc = cli_usage_error(cmd,
		    "give the paths to snapshot, or --source NAME");
		goto done;
	}
	if (a.cmdnames.n != a.cmds.n) {
		rc = cli_usage_error(cmd, "give each --command a --name NAME");
		goto done;
	}
	if (sources_mode) {
		if (cli_load_config(ctx, &cfg, &e) == -1)
			goto out;
		if (a.job == NULL)
			sj = snap_job_new(NULL);
		else if (snap_job_resolve(cfg, a.job, &sj, &e) == -1)
			goto out;
		/* One run of a job at a time, by hand or by job run. */
		if (a.job != NULL &&
		    job_lock_acquire(cfg, a.job, &joblock, &busy, &e) == -1) {
			if (!busy)
				goto out;
			log_error(ctx->log, "%s", e.msg);
			rc = EXIT_JOB_RUNNING;
			goto done;
		}
		for (size_t i = 0; i < a.names.n; i++)
			if (snap_job_add_source(sj, cfg, a.names.v[i], &e) ==
			    -1)
				goto out;
		for (size_t i = 0; i < a.pgs.n; i++)
			if (snap_job_add_postgres(sj, a.pgs.v[i], &e) == -1) {
				rc = cli_usage_error(cmd, "%s", e.msg);
				goto done;
			}
		for (size_t i = 0; i < a.mys.n; i++)
			snap_job_add_mysql(sj, a.mys.v[i], a.defaults);
		for (size_t i = 0; i < a.sqls.n; i++)
			snap_job_add_sqlite(sj, a.sqls.v[i]);
		for (size_t i = 0; i < a.cmds.n; i++)
			snap_job_add_command(sj, a.cmds.v[i], a.cmdnames.v[i]);
		if (optind < argc)
			snap_job_add_files(sj,
			    (const char *const *)argv + optind,
			    (size_t)(argc - optind), a.excl.v, a.excl.n,
			    a.one_fs);
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
	if (a.no_verify)
		repo_set_verify_before_write(r, 0);
	if (!a.no_cache)
		cdir = cli_cache_dir(a.cache_dir, cfg);
	so.paths = (const char *const *)argv + optind;
	so.npaths = (size_t)(argc - optind);
	so.exclude = a.excl.v;
	so.nexclude = a.excl.n;
	so.tags = a.tags.v;
	so.ntags = a.tags.n;
	so.one_file_system = a.one_fs;
	so.cache_dir = cdir;
	so.log = ctx->log;
	so.interrupted = ctx->interrupted;
	so.progress = progress_new(STDERR_FILENO, "snapshot", 0,
	    isatty(STDERR_FILENO) && !ctx->quiet && !ctx->json);
	so.repository = arg ? arg : getenv("COFFER_REPOSITORY");
	if (cdir != NULL && stat(cdir, &st) == 0 && S_ISDIR(st.st_mode))
		so.tmp_dir = cdir;
	if ((sources_mode        ? snap_job_run(r, sj, &so, &m, &nfailed, &e)
	            : a.from_tar ? snap_tar_run(r, &so, a.from_tar, &m, &e)
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
	job_lock_release(joblock);
	free(cdir);
	opt_free(&snapshot_spec, &a);
	free(a.cmdnames.v); /* an OPT_FUNC field: opt_free leaves it */
	return (rc);
}
