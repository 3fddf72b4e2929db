/*
 * Which repository a replication copies from and to, when the config's
 * jobs say it: the one place that reads a job's replicate = NAME, for
 * `coffer replicate` and (later) the scheduler; and how many files it
 * keeps in flight by the repositories' transfers = N.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "replicate/replicate.h"

/*
 * The source when only the target is named: the repository of the jobs
 * whose replicate = to, if they agree on one.
 */
static int
source_from_jobs(const struct config *cfg, const char *to, const char **from,
    struct err *e)
{
	const struct config_section *s = NULL;
	const char *found = NULL;

	while (cfg != NULL && (s = config_next(cfg, s, CONFIG_JOB)) != NULL) {
		const char *r = config_get_str(s, "replicate");
		const char *repo = config_get_str(s, "repository");

		if (r == NULL || repo == NULL || strcmp(r, to) != 0)
			continue;
		if (found != NULL && strcmp(found, repo) != 0)
			return (err_set(e, ERR_USAGE,
			    "jobs replicating to '%s' have different "
			    "repositories ('%s', '%s'): give --from",
			    to, found, repo));
		found = repo;
	}
	if (found == NULL && cfg == NULL)
		return (err_set(e, ERR_USAGE,
		    "no job replicates to %s: no configuration file was read "
		    "(give -c FILE, or --from REPO)",
		    to));
	if (found == NULL)
		return (err_set(e, ERR_USAGE,
		    "no [job] in %s has replicate = %s: give --from REPO",
		    config_file(cfg), to));
	*from = found;
	return (0);
}

int
repl_job_resolve(const struct config *cfg, const char *name, const char *from,
    const char **fromp, const char **top, struct err *e)
{
	const struct config_section *job;
	const char *to = name;

	*fromp = *top = NULL;
	/* NAME of a [job] (and of no [repository]): that job's copy. */
	if (from == NULL && cfg != NULL &&
	    config_section_find(cfg, CONFIG_REPOSITORY, name) == NULL &&
	    (job = config_section_find(cfg, CONFIG_JOB, name)) != NULL) {
		if ((to = config_get_str(job, "replicate")) == NULL)
			return (err_set(e, ERR_USAGE,
			    "[job %s] has no replicate = NAME", name));
		from = config_get_str(job, "repository");
	}
	if (from == NULL && source_from_jobs(cfg, to, &from, e) == -1)
		return (-1);
	if (strcmp(from, to) == 0)
		return (err_set(e, ERR_USAGE, "--from and --to are both '%s'",
		    from));
	*fromp = from;
	*top = to;
	return (0);
}

int
repl_jobs_default(const struct config *cfg, const char *from, const char *to)
{
	const char *names[2] = { from, to };
	int jobs = 0;

	for (int i = 0; i < 2 && cfg != NULL; i++) {
		const struct config_section *sec;
		const char *loc;
		int64_t v;

		/* A path or URL is used as is: no section, no setting. */
		if (names[i] == NULL || strchr(names[i], '/') != NULL ||
		    strcmp(names[i], ".") == 0 ||
		    (sec = config_section_find(cfg, CONFIG_REPOSITORY,
		         names[i])) == NULL)
			continue;
		if ((loc = config_get_str(sec, "path")) == NULL)
			loc = config_get_str(sec, "url");
		if (loc == NULL || strncmp(loc, "sftp://", 7) != 0 ||
		    config_get_int(sec, "transfers", &v) == -1)
			continue;
		if (v > jobs && v <= REPL_JOBS_MAX)
			jobs = (int)v;
	}
	return (jobs);
}
