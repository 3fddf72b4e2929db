/*
 * coffer forget: apply a keep policy (scheduler/retention.h) or forget
 * named snapshots, moving their manifests aside (repo/forget.h); --undo
 * brings one back.  The engine decides; this file parses, prints and asks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "esc.h"
#include "fmt.h"
#include "repo/forget.h"
#include "repo/manifest.h"
#include "repo/oplog.h"
#include "repo/snapsel.h"
#include "repo_opts.h"
#include "scheduler/retention_plan.h"
#include "value.h"
#include "xmalloc.h"

/* The options; the keep counts from the command line go over a job's. */
struct forget_args {
	const char *repo, *job, *undo;
	int keep[6]; /* last, hourly, daily, weekly, monthly, yearly */
	uint64_t within;
	struct opt_strv tags;
	unsigned group_by;
	int dry_run, yes;
};

/* retention_parse_group_by names --group-by in its message. */
static int
group_by_opt(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	(void)opts;
	(void)next;
	return (retention_parse_group_by(arg, field, e));
}

#define A(x) offsetof(struct forget_args, x)
#define KEEP(name, i)                                                          \
	{                                                                      \
		name, 0, OPT_INT, A(keep) + (i) * sizeof(int), "N", 0,         \
		    INT32_MAX, 0, NULL                                         \
	}
static const struct opt forget_opts[] = {
	CLI_OPT_REPO(struct forget_args, repo),
	KEEP("keep-last", 0),
	KEEP("keep-hourly", 1),
	KEEP("keep-daily", 2),
	KEEP("keep-weekly", 3),
	KEEP("keep-monthly", 4),
	KEEP("keep-yearly", 5),
	{ "keep-within", 0, OPT_DURATION, A(within), "DURATION", 0,
	    36500 * 86400LL, 0, NULL },
	{ "keep-tag", 0, OPT_STRV, A(tags), "TAG[,TAG...]", 0, 0, 0, NULL },
	{ "group-by", 0, OPT_FUNC, A(group_by), "KEYS", 0, 0, OPT_NAMED,
	    group_by_opt },
	{ "dry-run", 'n', OPT_FLAG, A(dry_run), NULL, 0, 0, 0, NULL },
	{ "yes", 0, OPT_FLAG, A(yes), NULL, 0, 0, 0, NULL },
	{ "job", 0, OPT_STR, A(job), "NAME", 0, 0, 0, NULL },
	{ "undo", 0, OPT_STR, A(undo), "ID", 0, 0, 0, NULL },
	OPT_END,
};

#define KEEP_RULES                                                             \
	"keep-last keep-hourly keep-daily keep-weekly keep-monthly "           \
	"keep-yearly keep-within keep-tag"

static const struct opt_rel forget_rels[] = {
	{ OPT_EXCLUDES, "undo", KEEP_RULES " job dry-run",
	    "--undo brings one snapshot back" },
	OPT_REL_END,
};

static const struct opt_spec forget_spec = { forget_opts, forget_rels };

/* ---------------------------------------------------------------- output */

static void
print_group_head(const struct retention_plan *p, size_t first)
{
	const struct manifest *m = &p->list->v[first].m;
	char *s;

	fputs("group", stdout);
	if (p->group_by == 0)
		fputs(" (all snapshots)", stdout);
	if (p->group_by & RETENTION_GROUP_HOST) {
		s = esc_str(m->host, strlen(m->host));
		printf(" host %s", s[0] ? s : "-");
		free(s);
	}
	if (p->group_by & RETENTION_GROUP_PATHS) {
		s = fmt_join_esc(m->paths, m->npaths);
		printf(" paths %s", s);
		free(s);
	}
	if (p->group_by & RETENTION_GROUP_SOURCES) {
		s = fmt_join_esc(p->sources[first], m->nsources);
		printf(" sources %s", s);
		free(s);
	}
	if (p->group_by & RETENTION_GROUP_TAGS) {
		s = fmt_join_esc(m->tags, m->ntags);
		printf(" tags %s", s);
		free(s);
	}
	fputs(":\n", stdout);
}

static void
print_row(const struct retention_plan *p, size_t i)
{
	const struct snapsel_item *it = &p->list->v[i];
	unsigned r = p->res[i].reasons;
	char when[32];
	int first = 1;

	manifest_time_str(&it->m, when, sizeof(when));
	printf("  %-6s  %.8s  %s", r ? "keep" : "remove", it->m.id, when);
	if (!p->v[i].complete) {
		fputs("  (incomplete)", stdout);
		first = 0;
	}
	for (unsigned b = 1; b < (1u << RETENTION_REASONS); b <<= 1)
		if (r & b) {
			printf("%s%s", first ? "  " : " ",
			    retention_reason_name(b));
			first = 0;
		}
	putchar('\n');
}

static void
print_plan(const struct retention_plan *p)
{
	size_t n = p->list->n;

	if (p->named) {
		for (size_t i = 0; i < n; i++)
			if (p->res[i].reasons == 0)
				print_row(p, i);
		return;
	}
	for (size_t g = 0; g < p->ngroups; g++) {
		size_t first = SIZE_MAX;

		for (size_t i = 0; i < n; i++) {
			if (p->res[i].group != g)
				continue;
			if (first == SIZE_MAX) {
				first = i;
				print_group_head(p, i);
			}
			print_row(p, i);
		}
	}
	printf("%zu snapshot%s: keep %zu, remove %zu\n", n, n == 1 ? "" : "s",
	    n - p->nremove, p->nremove);
}

static json_t *
row_json(const struct retention_plan *p, size_t i)
{
	const struct snapsel_item *it = &p->list->v[i];
	json_t *o = json_object(), *why = json_array();
	unsigned r = p->res[i].reasons;
	char when[64];

	json_object_set_new(o, "id", json_string(it->m.id));
	json_object_set_new(o, "short_id", json_stringn(it->m.id, 8));
	fmt_time_iso(it->m.time.tv_sec, (uint32_t)it->m.time.tv_nsec, when,
	    sizeof(when));
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "complete", json_boolean(p->v[i].complete));
	json_object_set_new(o, "keep", json_boolean(r != 0));
	for (unsigned b = 1; b < (1u << RETENTION_REASONS); b <<= 1)
		if (r & b)
			json_array_append_new(why,
			    json_string(retention_reason_name(b)));
	json_object_set_new(o, "reasons", why);
	return (o);
}

static void
print_json(const struct retention_plan *p, int dry_run)
{
	json_t *j = json_object(), *groups = json_array(), *rm = json_array(),
	       *done = json_array();
	size_t n = p->list->n;

	json_object_set_new(j, "dry_run", json_boolean(dry_run));
	for (size_t g = 0; !p->named && g < p->ngroups; g++) {
		json_t *o = NULL, *a = json_array();

		for (size_t i = 0; i < n; i++) {
			const struct manifest *m = &p->list->v[i].m;

			if (p->res[i].group != g)
				continue;
			if (o == NULL) {
				o = json_object();
				if (p->group_by & RETENTION_GROUP_HOST)
					fmt_json_set_bytes(o, "host", m->host,
					    strlen(m->host));
				if (p->group_by & RETENTION_GROUP_PATHS)
					json_object_set_new(o, "paths",
					    fmt_json_strv(m->paths, m->npaths));
				if (p->group_by & RETENTION_GROUP_SOURCES)
					json_object_set_new(o, "sources",
					    fmt_json_strv(p->sources[i],
					        m->nsources));
				if (p->group_by & RETENTION_GROUP_TAGS)
					json_object_set_new(o, "tags",
					    fmt_json_strv(m->tags, m->ntags));
			}
			json_array_append_new(a, row_json(p, i));
		}
		json_object_set_new(o, "snapshots", a);
		json_array_append_new(groups, o);
	}
	if (!p->named)
		json_object_set_new(j, "groups", groups);
	else
		json_decref(groups);
	for (size_t i = 0; i < n; i++)
		if (p->res[i].reasons == 0)
			json_array_append_new(rm,
			    json_string(p->list->v[i].m.id));
	json_object_set_new(j, "remove", rm);
	for (size_t i = 0; i < p->nmoved; i++)
		json_array_append_new(done, json_string(p->moved[i]));
	json_object_set_new(j, "removed", done);
	fmt_json_print(j);
	json_decref(j);
}

/* ---------------------------------------------------------------- doing */

/*
 * On a terminal, show the plan (done) and ask.  1: go ahead, 0: no.
 * Not on a terminal (cron) there is no one to ask.
 */
static int
confirm(size_t nremove)
{
	char line[32];
	FILE *tty;
	int yes;

	if (!isatty(STDIN_FILENO) || (tty = fopen("/dev/tty", "r+")) == NULL)
		return (1);
	fflush(stdout);
	fprintf(tty, "forget %zu snapshot%s? [y/N] ", nremove,
	    nremove == 1 ? "" : "s");
	fflush(tty);
	yes = fgets(line, sizeof(line), tty) != NULL &&
	    (strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0);
	fclose(tty);
	return (yes);
}

static void
on_note(void *arg, int warn, const char *msg)
{
	struct cli_ctx *ctx = arg;

	if (warn)
		log_warn(ctx->log, "%s", msg);
	else
		log_info(ctx->log, "%s", msg);
}

static int
undo(struct cli_ctx *ctx, struct repo *r, const char *sel, struct err *e)
{
	char **ids = NULL;
	size_t n = 0, at;
	int moved, rc = -1;

	if (forget_list(repo_store(r), &ids, &n, e) == -1 ||
	    forget_resolve(ids, n, sel, &at, e) == -1 ||
	    forget_undo(repo_store(r), ids[at], &moved, e) == -1) {
		oplog_record_snapshot(r, OPLOG_UNDO, NULL, e);
		goto out;
	}
	oplog_record_snapshot(r, OPLOG_UNDO, ids[at], NULL);
	if (ctx->json) {
		json_t *j = json_pack("{s:s}", "restored", ids[at]);

		fmt_json_print(j);
		json_decref(j);
	} else if (!ctx->quiet)
		printf("snapshot %.8s is back (%s)\n", ids[at], ids[at]);
	rc = 0;
out:
	forget_ids_free(ids, n);
	return (rc);
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

/* --job NAME: its repository (unless -r) and its keep_* keys. */
static int
job_policy(struct cli_ctx *ctx, const char *job, const char **arg,
    struct retention_policy *pol, char **repo_name, struct err *e)
{
	struct config *cfg = NULL;
	const struct config_section *sec;
	int rc = -1;

	if (cli_load_config(ctx, &cfg, e) == -1 ||
	    config_job_find(cfg, job, &sec, e) == -1)
		goto out;
	retention_policy_from_job(sec, pol);
	if (*arg == NULL) {
		*repo_name = xstrdup(config_get_str(sec, "repository"));
		*arg = *repo_name;
	}
	rc = 0;
out:
	config_free(cfg);
	return (rc);
}

int
cmd_forget(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("forget");
	struct retention_policy pol;
	struct forget_args o;
	struct retention_plan *p = NULL;
	struct snapsel *list = NULL;
	struct repo *r = NULL;
	const char *arg, *job, *undo_id;
	char *repo_name = NULL;
	opt_given_t given;
	int named, rc = EXIT_USAGE, dry_run, yes, policy_opts = 0, record = 0;
	struct err e;

	err_clear(&e);
	memset(&pol, 0, sizeof(pol));
	memset(&o, 0, sizeof(o));
	o.group_by = RETENTION_GROUP_DEFAULT;
	if (opt_parse(ctx, cmd, &forget_spec, argc, argv, &o, &given) == -1)
		goto out;
	arg = o.repo;
	job = o.job;
	undo_id = o.undo;
	dry_run = o.dry_run;
	yes = o.yes;
	for (const char *k = KEEP_RULES; *k != '\0'; k += strspn(k, " ")) {
		char name[32];
		size_t len = strcspn(k, " ");

		snprintf(name, sizeof(name), "%.*s", (int)len, k);
		if (opt_is_given(&forget_spec, given, name))
			policy_opts = 1;
		k += len;
	}
	named = optind != argc;
	if (undo_id != NULL && named) {
		rc = cli_usage_error(cmd,
		    "give --undo or SNAPSHOT..., not both");
		goto out;
	}
	if (named && (policy_opts || job != NULL)) {
		rc = cli_usage_error(cmd,
		    "give either SNAPSHOT... or keep rules (--keep-*, --job), "
		    "not both");
		goto out;
	}
	rc = EXIT_ERROR;
	if (job != NULL &&
	    job_policy(ctx, job, &arg, &pol, &repo_name, &e) == -1)
		goto out;
	{
		uint64_t *dst[6] = { &pol.last, &pol.hourly, &pol.daily,
			&pol.weekly, &pol.monthly, &pol.yearly };

		for (int k = 0; k < 6; k++)
			if (opt_is_given(&forget_spec, given,
			        forget_opts[1 + k].name))
				*dst[k] = (uint64_t)o.keep[k];
	}
	if (opt_is_given(&forget_spec, given, "keep-within"))
		pol.within = o.within;
	pol.tags = (char **)o.tags.v;
	pol.ntags = o.tags.n;
	/* An empty policy is refused before anything is opened. */
	if (undo_id == NULL && !named && !retention_policy_set(&pol)) {
		size_t ngroups;

		(void)retention_apply(NULL, 0, &pol, 0, NULL, &ngroups, &e);
		if (job != NULL)
			err_wrap(&e, "[job %s] sets no keep_* key", job);
		rc = cli_report(ctx, &e);
		goto out;
	}
	if (probe(ctx, arg, &e) == -1)
		goto out;
	if (cli_open_repo(ctx, arg, NULL, &r, &e) == -1) {
		if (e.class == ERR_NOSPACE) /* its lock file */
			err_wrap(&e,
			    "forget needs about 8 KiB free (its lock file and "
			    "a manifest's copy); free that much");
		goto out;
	}
	if (undo_id != NULL) {
		if (undo(ctx, r, undo_id, &e) == -1)
			goto out;
		rc = EXIT_OK;
		goto out;
	}
	/* From here on a real run is recorded, whatever becomes of it. */
	record = !dry_run;
	if (cli_snapshots(ctx, r, &list, &e) == -1)
		goto out;
	if (retention_plan_new(list, &pol, o.group_by, argv + optind,
	        (size_t)(argc - optind), &p, &e) == -1)
		goto out;
	if (!ctx->json && !ctx->quiet)
		print_plan(p);
	if (!dry_run && !yes && p->nremove > 0 && !confirm(p->nremove)) {
		log_error(ctx->log, "not confirmed: nothing was changed");
		rc = EXIT_ERROR;
		record = 0;
		goto out;
	}
	if (!dry_run &&
	    retention_plan_apply(p, repo_store(r), ctx->interrupted, on_note,
	        ctx, &e) == -1) {
		if (ctx->json)
			print_json(p, dry_run);
		goto out;
	}
	if (ctx->json)
		print_json(p, dry_run);
	else if (!ctx->quiet && dry_run)
		printf("dry run: nothing was changed\n");
	else if (!ctx->quiet && p->nremove > 0)
		printf(
		    "forgot %zu snapshot%s: 'coffer forget --undo ID' brings "
		    "one back until prune\n",
		    p->nmoved, p->nmoved == 1 ? "" : "s");
	if (fmt_stdout_check(&e) == -1)
		goto out;
	if (p->list->nbad > 0) {
		err_set(&e, ERR_CORRUPT,
		    "%zu snapshot file%s could not be read and %s left alone; "
		    "run 'coffer check'",
		    p->list->nbad, p->list->nbad == 1 ? "" : "s",
		    p->list->nbad == 1 ? "was" : "were");
		goto out;
	}
	rc = EXIT_OK;
out:
	if (record)
		oplog_record_snapshots(r, OPLOG_FORGET,
		    p != NULL ? (const char *const *)p->moved : NULL,
		    p != NULL ? p->nmoved : 0, rc == EXIT_OK ? NULL : &e);
	if (rc == EXIT_ERROR && e.class != ERR_NONE)
		rc = cli_report(ctx, &e);
	retention_plan_free(p);
	repo_close(r);
	opt_free(&forget_spec, &o);
	free(repo_name);
	return (rc);
}
