/*
 * Jobs: a [job NAME] of the config, or ad-hoc sources, turned into the
 * list snap_sources takes, and the job's hooks run around it.  The one
 * place a job is read, so that `snapshot --job` and the scheduler agree.
 */
#include "snapshot/job.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"
#include "log.h"
#include "repo/oplog.h"
#include "xmalloc.h"

struct snap_job *
snap_job_new(const char *name)
{
	struct snap_job *job = xcalloc(1, sizeof(*job));

	job->name = name;
	return (job);
}

void
snap_job_free(struct snap_job *job)
{
	if (job == NULL)
		return;
	for (size_t i = 0; i < job->nowned; i++)
		free(job->owned[i]);
	free(job->owned);
	free(job->sources);
	free(job);
}

static struct snap_source *
push(struct snap_job *job, const char *type)
{
	struct snap_source *x;

	job->sources = xreallocarray(job->sources, job->nsources + 1,
	    sizeof(*job->sources));
	x = &job->sources[job->nsources++];
	memset(x, 0, sizeof(*x));
	x->type = type;
	return (x);
}

static const char *
own(struct snap_job *job, char *s)
{
	job->owned =
	    xreallocarray(job->owned, job->nowned + 1, sizeof(*job->owned));
	job->owned[job->nowned++] = s;
	return (s);
}

static unsigned
seconds(const struct config_section *sec)
{
	uint64_t secs;

	if (config_get_duration(sec, "hook_timeout", &secs) == -1)
		return (0);
	return (secs > UINT32_MAX ? UINT32_MAX : (unsigned)secs);
}

int
snap_job_add_source(struct snap_job *job, const struct config *cfg,
    const char *name, struct err *e)
{
	const struct config_section *sec;
	struct snap_source *x;
	const char *const *items;
	const char *method;
	int64_t lvl;
	int b;

	if (cfg == NULL ||
	    (sec = config_section_find(cfg, CONFIG_SOURCE, name)) == NULL)
		return (err_set(e, ERR_USAGE,
		    "no [source %s] in %s: name a source of the config "
		    "(coffer config --list shows them)",
		    name, cfg ? config_file(cfg) : "the config (none found)"));
	/* Refused before it joins the list: nothing of it runs. */
	method = config_get_str(sec, "method");
	if (strcmp(config_get_str(sec, "type"), "postgres") == 0 &&
	    method != NULL && strcmp(method, "dump") != 0)
		return (config_err(e, sec, "method",
		    "method = %s is not supported yet; use method = dump",
		    method));
	x = push(job, config_get_str(sec, "type"));
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
	x->hook_timeout = seconds(sec);
	return (0);
}

int
snap_job_resolve(const struct config *cfg, const char *name,
    struct snap_job **out, struct err *e)
{
	const struct config_section *sec;
	const char *const *items;
	struct snap_job *job = NULL;
	size_t n;
	int rc = -1;

	*out = NULL;
	if (config_job_find(cfg, name, &sec, e) == -1)
		return (-1);
	job = snap_job_new(config_section_name(sec));
	job->repository = config_get_str(sec, "repository");
	job->before = config_get_str(sec, "before");
	job->after = config_get_str(sec, "after");
	job->hook_timeout = seconds(sec);
	n = config_get_list(sec, "sources", &items);
	for (size_t i = 0; i < n; i++)
		if (snap_job_add_source(job, cfg, items[i], e) == -1)
			goto out;
	*out = job;
	job = NULL;
	rc = 0;
out:
	snap_job_free(job);
	return (rc);
}

int
snap_job_add_postgres(struct snap_job *job, const char *conninfo, struct err *e)
{
	struct snap_source *x;
	struct conninfo *ci = NULL;
	const char *db;

	if (conninfo_parse(conninfo, &ci, e) == -1)
		return (err_wrap(e, "--postgres"));
	if ((db = conninfo_get(ci, "dbname")) == NULL || *db == '\0') {
		conninfo_free(ci);
		return (err_set(e, ERR_USAGE,
		    "--postgres names no database: give its name, or add "
		    "dbname=NAME"));
	}
	x = push(job, "postgres");
	x->name = x->database = own(job, xstrdup(db));
	x->connection = conninfo;
	conninfo_free(ci);
	return (0);
}

void
snap_job_add_mysql(struct snap_job *job, const char *database,
    const char *defaults_file)
{
	struct snap_source *x = push(job, "mysql");

	x->name = x->database = database;
	x->defaults_file = defaults_file;
}

void
snap_job_add_sqlite(struct snap_job *job, const char *path)
{
	struct snap_source *x = push(job, "sqlite");
	const char *b = strrchr(path, '/');
	char *n, *dot;

	n = xstrdup(b ? b + 1 : path);
	if ((dot = strrchr(n, '.')) != NULL && dot != n)
		*dot = '\0';
	x->name = own(job, n);
	x->path = path;
}

void
snap_job_add_command(struct snap_job *job, const char *command,
    const char *name)
{
	struct snap_source *x = push(job, "command");

	x->name = x->file_name = name;
	x->command = command;
}

void
snap_job_add_files(struct snap_job *job, const char *const *paths,
    size_t npaths, const char *const *exclude, size_t nexclude,
    int one_file_system)
{
	struct snap_source *x = push(job, "files");

	x->name = "files";
	x->paths = paths;
	x->npaths = npaths;
	x->exclude = exclude;
	x->nexclude = nexclude;
	x->one_file_system = one_file_system;
}

int
snap_job_check(const struct snap_job *job, struct err *e)
{
	if (job->nsources == 0) {
		if (job->name != NULL)
			return (err_set(e, ERR_USAGE, "job %s names no sources",
			    job->name));
		return (err_set(e, ERR_USAGE, "no sources to snapshot"));
	}
	for (size_t i = 0; i < job->nsources; i++) {
		if (snap_source_check(&job->sources[i], e) == -1)
			return (-1);
		for (size_t k = 0; k < i; k++)
			if (strcmp(job->sources[i].name,
			        job->sources[k].name) == 0)
				return (err_set(e, ERR_USAGE,
				    "two sources are named %s: give each its "
				    "own name (config sources, or --name)",
				    job->sources[i].name));
	}
	return (0);
}

static int
hook(const struct snap_job *job, const struct snap_opts *o, const char *which,
    const char *command, const char *status, struct err *e)
{
	struct snap_hook h;

	memset(&h, 0, sizeof(h));
	h.which = which;
	h.command = command;
	h.job = job->name;
	h.status = status;
	h.repository = o->repository;
	h.timeout = job->hook_timeout;
	/* An after hook always runs: an interrupt does not stop it. */
	h.interrupted = status == NULL ? o->interrupted : NULL;
	if (snap_hook_run(&h, e) == -1)
		return (err_wrap(e, "job %s", job->name));
	return (0);
}

int
snap_job_run(struct repo *r, const struct snap_job *job,
    const struct snap_opts *o, struct manifest *m, size_t *nfailed,
    struct err *e)
{
	struct snap_opts jo = *o;
	int rc = -1;

	*nfailed = 0;
	jo.job = job->name; /* recorded in the manifest */
	o = &jo;
	if (job->before != NULL &&
	    hook(job, o, "before", job->before, NULL, e) == -1)
		goto after;
	rc = snap_sources(r, o, job->sources, job->nsources, m, nfailed, e);
after:
	oplog_record_snap(r, m, *nfailed, rc == -1 ? e : NULL);
	if (job->after != NULL) {
		struct err he;

		err_clear(&he);
		if (hook(job, o, "after", job->after,
		        rc == -1 || *nfailed > 0 ? "failed" : "ok", &he) == -1)
			log_warn(o->log, "%s", he.msg);
	}
	return (rc);
}
