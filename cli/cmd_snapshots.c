/*
 * coffer snapshots: list a repository's snapshots, oldest first (in the
 * order repo/snapsel.h trusts), as a table or JSON, optionally only those
 * with some tags, hosts or paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "esc.h"
#include "fmt.h"
#include "repo/manifest.h"
#include "repo/snapsel.h"
#include "repo_opts.h"
#include "xmalloc.h"

/* The options; the filters: a snapshot shows when it matches all. */
struct snapshots_args {
	const char *repo;
	int no_lock;
	struct opt_strv tags;  /* each "a,b": all of one of them */
	struct opt_strv hosts; /* its host is one of these */
	struct opt_strv jobs;  /* taken by one of these jobs */
	struct opt_strv paths; /* it has every one of these */
};

static int
path_opt(void *opts, void *field, const char *arg, const char *next,
    struct err *e)
{
	struct opt_strv *s = field;

	(void)opts;
	(void)next;
	if (arg[0] != '/')
		return (
		    err_set(e, ERR_USAGE, "'%s' is not an absolute path", arg));
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = arg;
	return (0);
}

#define A(x) offsetof(struct snapshots_args, x)
static const struct opt snapshots_opts[] = {
	CLI_OPT_REPO(struct snapshots_args, repo),
	{ "no-lock", 0, OPT_FLAG, A(no_lock), NULL, 0, 0, 0, NULL },
	{ "tag", 0, OPT_STRV, A(tags), "TAG[,TAG...]", 0, 0, 0, NULL },
	{ "host", 0, OPT_STRV, A(hosts), "HOST", 0, 0, 0, NULL },
	{ "job", 0, OPT_STRV, A(jobs), "NAME", 0, 0, 0, NULL },
	{ "path", 0, OPT_FUNC, A(paths), "PATH", 0, 0, 0, path_opt },
	OPT_END,
};

static const struct opt_spec snapshots_spec = { snapshots_opts, NULL };

/* ---------------------------------------------------------------- JSON */

static json_t *
uint_json(uint64_t v)
{
	return (
	    v > INT64_MAX ? json_real((double)v) : json_integer((json_int_t)v));
}

static json_t *
str_or_null(const char *s)
{
	return (s ? fmt_json_bytes(s, strlen(s)) : json_null());
}

/* The manifest's sources, members as doc/FORMAT.md names them. */
static json_t *
sources_json(const struct manifest *m)
{
	json_t *a = json_array();
	char t[64];

	for (size_t i = 0; i < m->nsources; i++) {
		const struct manifest_source *x = &m->sources[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", str_or_null(x->name));
		json_object_set_new(o, "type", str_or_null(x->type));
		json_object_set_new(o, "status", str_or_null(x->status));
		json_object_set_new(o, "error", str_or_null(x->error));
		fmt_time_iso(x->start.tv_sec, (uint32_t)x->start.tv_nsec, t,
		    sizeof(t));
		json_object_set_new(o, "start", json_string(t));
		fmt_time_iso(x->end.tv_sec, (uint32_t)x->end.tv_nsec, t,
		    sizeof(t));
		json_object_set_new(o, "end", json_string(t));
		json_object_set_new(o, "server_version",
		    str_or_null(x->server_version));
		json_object_set_new(o, "database", str_or_null(x->database));
		if (x->encoding != NULL) {
			json_object_set_new(o, "encoding",
			    json_string(x->encoding));
			json_object_set_new(o, "lc_collate",
			    str_or_null(x->lc_collate));
			json_object_set_new(o, "lc_ctype",
			    str_or_null(x->lc_ctype));
		}
		json_object_set_new(o, "path", str_or_null(x->path));
		json_object_set_new(o, "dump", str_or_null(x->dump));
		json_object_set_new(o, "bytes", uint_json(x->bytes));
		json_array_append_new(a, o);
	}
	return (a);
}

static json_t *
manifest_json(const struct snapsel_item *it)
{
	const struct manifest *m = &it->m;
	char when[64], tree[REPO_HEX_LEN + 1];
	json_t *j = json_object(), *s = json_object(), *sk = json_array();

	json_object_set_new(j, "id", json_string(m->id));
	json_object_set_new(j, "short_id", json_stringn(m->id, 8));
	fmt_time_iso(m->time.tv_sec, (uint32_t)m->time.tv_nsec, when,
	    sizeof(when));
	json_object_set_new(j, "time", json_string(when));
	if (it->stored != INT64_MIN) {
		fmt_time_iso((time_t)it->stored, 0, when, sizeof(when));
		json_object_set_new(j, "stored", json_string(when));
	} else
		json_object_set_new(j, "stored", json_null());
	json_object_set_new(j, "dated_after_stored",
	    json_boolean(it->flags & SNAPSEL_LATE));
	json_object_set_new(j, "dated_in_future",
	    json_boolean(it->flags & SNAPSEL_FUTURE));
	fmt_json_set_bytes(j, "host", m->host, strlen(m->host));
	fmt_json_set_bytes(j, "user", m->user, strlen(m->user));
	fmt_json_set_bytes(j, "program", m->program, strlen(m->program));
	if (m->job != NULL)
		json_object_set_new(j, "job", json_string(m->job));
	else
		json_object_set_new(j, "job", json_null());
	json_object_set_new(j, "tags", fmt_json_strv(m->tags, m->ntags));
	json_object_set_new(j, "paths", fmt_json_strv(m->paths, m->npaths));
	crypto_hex_encode(m->tree, IDX_ID_LEN, tree);
	json_object_set_new(j, "tree", json_string(tree));
	json_object_set_new(j, "parent",
	    m->parent[0] ? json_string(m->parent) : json_null());
	json_object_set_new(s, "files", uint_json(m->files));
	json_object_set_new(s, "dirs", uint_json(m->dirs));
	json_object_set_new(s, "others", uint_json(m->others));
	json_object_set_new(s, "bytes", uint_json(m->bytes));
	json_object_set_new(s, "bytes_read", uint_json(m->bytes_read));
	json_object_set_new(s, "blobs_new", uint_json(m->blobs_new));
	json_object_set_new(s, "raw_new", uint_json(m->raw_new));
	json_object_set_new(s, "stored_new", uint_json(m->stored_new));
	json_object_set_new(s, "duration", json_real(m->duration));
	json_object_set_new(j, "summary", s);
	json_object_set_new(j, "inconsistent",
	    fmt_json_strv(m->inconsistent, m->ninconsistent));
	for (size_t i = 0; i < m->nskipped; i++) {
		json_t *x = json_object();

		fmt_json_set_bytes(x, "path", m->skipped[i].path,
		    strlen(m->skipped[i].path));
		fmt_json_set_bytes(x, "error", m->skipped[i].error,
		    strlen(m->skipped[i].error));
		json_array_append_new(sk, x);
	}
	json_object_set_new(j, "skipped", sk);
	if (m->nsources > 0)
		json_object_set_new(j, "sources", sources_json(m));
	return (j);
}

/* ---------------------------------------------------------------- table */

enum {
	COL_ID,
	COL_TIME,
	COL_HOST,
	COL_TAGS,
	COL_PATHS,
	COL_FILES,
	COL_SIZE,
	COL_ADDED,
	COL_FLAGS,
	NCOLS
};

static const char *const heading[NCOLS] = { "ID", "TIME", "HOST", "TAGS",
	"PATHS", "FILES", "SIZE", "ADDED", "" };

/* Numbers are aligned right, the rest left; flags, last, not at all. */
static const char align[NCOLS] = { 'l', 'l', 'l', 'l', 'l', 'r', 'r', 'r',
	'-' };
/* "failed: gasdb,billing" when sources failed: 1 with *out set. */
static int
failed_sources(const struct manifest *m, char **out)
{
	char **names = xcalloc(m->nsources + 1, sizeof(char *)), *list;
	size_t n = 0;

	for (size_t i = 0; i < m->nsources; i++)
		if (strcmp(m->sources[i].status, "ok") != 0)
			names[n++] = m->sources[i].name;
	if (n == 0) {
		free(names);
		return (0);
	}
	list = fmt_join_esc(names, n);
	*out = xasprintf("failed %s%s", list,
	    m->ninconsistent + m->nskipped > 0 ? ", more listed by --json"
	                                       : "");
	free(list);
	free(names);
	return (1);
}

static void
row(const struct snapsel_item *it, char *cell[NCOLS])
{
	const struct manifest *m = &it->m;
	char buf[64];

	cell[COL_ID] = xstrndup(m->id, 8);
	manifest_time_str(m, buf, sizeof(buf));
	cell[COL_TIME] = xstrdup(buf);
	cell[COL_HOST] =
	    m->host[0] ? esc_str(m->host, strlen(m->host)) : xstrdup("-");
	cell[COL_TAGS] = fmt_join_esc(m->tags, m->ntags);
	cell[COL_PATHS] = fmt_join_esc(m->paths, m->npaths);
	cell[COL_FILES] = xasprintf("%llu", (unsigned long long)m->files);
	fmt_size(m->bytes, buf, sizeof(buf));
	cell[COL_SIZE] = xstrdup(buf);
	fmt_size(m->stored_new, buf, sizeof(buf));
	cell[COL_ADDED] = xstrdup(buf);
	if (failed_sources(m, &cell[COL_FLAGS]))
		;
	else if (m->ninconsistent > 0 && m->nskipped > 0)
		cell[COL_FLAGS] = xasprintf("inconsistent %zu, skipped %zu",
		    m->ninconsistent, m->nskipped);
	else if (m->ninconsistent > 0)
		cell[COL_FLAGS] =
		    xasprintf("inconsistent %zu", m->ninconsistent);
	else if (m->nskipped > 0)
		cell[COL_FLAGS] = xasprintf("skipped %zu", m->nskipped);
	else
		cell[COL_FLAGS] = xstrdup("");
	/* A wrong date first: it decides where the row sits. */
	if (it->flags & (SNAPSEL_FUTURE | SNAPSEL_LATE)) {
		char *rest = cell[COL_FLAGS];

		cell[COL_FLAGS] = xasprintf("%s%s%s",
		    (it->flags & SNAPSEL_FUTURE) ? "dated in the future"
		                                 : "dated after it was stored",
		    rest[0] != '\0' ? "; " : "", rest);
		free(rest);
	}
}

static void
print_row(char *const cell[NCOLS], const size_t width[NCOLS])
{
	size_t w, last = NCOLS - 1;

	/* No trailing blanks: stop after the last non-empty cell. */
	while (last > 0 && cell[last][0] == '\0')
		last--;
	for (size_t c = 0; c <= last; c++) {
		w = esc_width(cell[c], strlen(cell[c]));
		if (c > 0)
			fputs("  ", stdout);
		if (align[c] == 'r')
			printf("%*s", (int)(width[c] - w), "");
		fputs(cell[c], stdout);
		if (align[c] == 'l' && c < last)
			printf("%*s", (int)(width[c] - w), "");
	}
	putchar('\n');
}

static void
print_table(struct snapsel_item *const *v, size_t n)
{
	char *(*cells)[NCOLS] = xreallocarray(NULL, n + 1, sizeof(*cells));
	size_t width[NCOLS] = { 0 }, w;

	for (size_t c = 0; c < NCOLS; c++)
		cells[0][c] = xstrdup(heading[c]);
	for (size_t i = 0; i < n; i++)
		row(v[i], cells[i + 1]);
	for (size_t i = 0; i <= n; i++)
		for (size_t c = 0; c < NCOLS; c++) {
			w = esc_width(cells[i][c], strlen(cells[i][c]));
			if (w > width[c])
				width[c] = w;
		}
	for (size_t i = 0; i <= n; i++) {
		print_row(cells[i], width);
		for (size_t c = 0; c < NCOLS; c++)
			free(cells[i][c]);
	}
	free(cells);
}

int
cmd_snapshots(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("snapshots");
	struct snapsel *list = NULL;
	struct snapsel_item **sel = NULL;
	struct snapshots_args f;
	struct snapsel_filter sf;
	struct repo *r = NULL;
	size_t nsel = 0;
	struct err e;
	int rc = EXIT_USAGE;

	err_clear(&e);
	memset(&f, 0, sizeof(f));
	if (opt_parse(ctx, cmd, &snapshots_spec, argc, argv, &f, NULL) == -1 ||
	    opt_no_more(cmd, argc, argv, optind) == -1)
		goto out;
	if (f.no_lock)
		ctx->lock = CLI_LOCK_NONE;
	sf.hosts = f.hosts.v;
	sf.nhosts = f.hosts.n;
	sf.paths = f.paths.v;
	sf.npaths = f.paths.n;
	sf.tags = f.tags.v;
	sf.ntags = f.tags.n;
	sf.jobs = f.jobs.v;
	sf.njobs = f.jobs.n;
	rc = EXIT_ERROR;
	if (cli_open_repo(ctx, f.repo, NULL, &r, &e) == -1 ||
	    cli_snapshots(ctx, r, &list, &e) == -1)
		goto out;
	sel = xreallocarray(NULL, list->n + 1, sizeof(*sel));
	nsel = snapsel_filter(list, &sf, sel);
	if (ctx->json) {
		json_t *a = json_array();

		for (size_t i = 0; i < nsel; i++)
			json_array_append_new(a, manifest_json(sel[i]));
		fmt_json_print(a);
		json_decref(a);
	} else {
		print_table(sel, nsel);
		if (!ctx->quiet)
			printf("%zu snapshot%s\n", nsel, nsel == 1 ? "" : "s");
	}
	if (fmt_stdout_check(&e) == -1)
		goto out;
	if (list->nbad > 0) {
		/* Listed what could be read; damage must not pass silently. */
		err_set(&e, ERR_CORRUPT,
		    "%zu snapshot file%s could not be read and %s left out; "
		    "run 'coffer check'",
		    list->nbad, list->nbad == 1 ? "" : "s",
		    list->nbad == 1 ? "is" : "are");
		goto out;
	}
	rc = EXIT_OK;
out:
	if (rc == EXIT_ERROR)
		rc = cli_report(ctx, &e);
	free(sel);
	snapsel_free(list);
	repo_close(r);
	opt_free(&snapshots_spec, &f);
	free(f.paths.v); /* an OPT_FUNC field: opt_free leaves it */
	return (rc);
}
