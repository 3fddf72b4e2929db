/*
 * Snapshot manifests as JSON sealed under the file key.
 */
#include "repo/manifest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "xmalloc.h"

#define MANIFEST_VERSION 1

void
manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
strv_add(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
}

void
manifest_clear(struct manifest *m)
{
	free(m->host);
	free(m->user);
	free(m->program);
	free(m->job);
	strv_free(m->tags, m->ntags);
	strv_free(m->paths, m->npaths);
	strv_free(m->inconsistent, m->ninconsistent);
	for (size_t i = 0; i < m->nskipped; i++) {
		free(m->skipped[i].path);
		free(m->skipped[i].error);
	}
	free(m->skipped);
	for (size_t i = 0; i < m->nsources; i++) {
		struct manifest_source *x = &m->sources[i];

		free(x->name);
		free(x->type);
		free(x->status);
		free(x->error);
		free(x->server_version);
		free(x->database);
		free(x->encoding);
		free(x->lc_collate);
		free(x->lc_ctype);
		free(x->path);
		free(x->dump);
	}
	free(m->sources);
	manifest_init(m);
}

static char *
dup_or_null(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

struct manifest_source *
manifest_add_source(struct manifest *m, const struct manifest_source *src)
{
	struct manifest_source *x;

	m->sources =
	    xreallocarray(m->sources, m->nsources + 1, sizeof(*m->sources));
	x = &m->sources[m->nsources++];
	*x = *src;
	x->name = dup_or_null(src->name);
	x->type = dup_or_null(src->type);
	x->status = dup_or_null(src->status);
	x->error = dup_or_null(src->error);
	x->server_version = dup_or_null(src->server_version);
	x->database = dup_or_null(src->database);
	x->encoding = dup_or_null(src->encoding);
	x->lc_collate = dup_or_null(src->lc_collate);
	x->lc_ctype = dup_or_null(src->lc_ctype);
	x->path = dup_or_null(src->path);
	x->dump = dup_or_null(src->dump);
	return (x);
}

const struct manifest_source *
manifest_find_source(const struct manifest *m, const char *name)
{
	for (size_t i = 0; i < m->nsources; i++)
		if (strcmp(m->sources[i].name, name) == 0)
			return (&m->sources[i]);
	return (NULL);
}

void
manifest_add_tag(struct manifest *m, const char *s)
{
	strv_add(&m->tags, &m->ntags, s);
}

void
manifest_add_path(struct manifest *m, const char *s)
{
	strv_add(&m->paths, &m->npaths, s);
}

void
manifest_add_inconsistent(struct manifest *m, const char *s)
{
	strv_add(&m->inconsistent, &m->ninconsistent, s);
}

void
manifest_add_skipped(struct manifest *m, const char *path, const char *error)
{
	m->skipped =
	    xreallocarray(m->skipped, m->nskipped + 1, sizeof(*m->skipped));
	m->skipped[m->nskipped].path = xstrdup(path);
	m->skipped[m->nskipped].error = xstrdup(error);
	m->nskipped++;
}

/*
 * A path as a JSON string.  Paths are bytes: one that is not UTF-8 is
 * stored as a NUL (which no path holds) followed by its base64, so it
 * comes back exactly.  doc/FORMAT.md, "Snapshots".
 */
static int
utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return (0);
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (p[i + j] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += k + 1;
	}
	return (1);
}

static json_t *
path_json(const char *s)
{
	size_t n = strlen(s);
	char *b;
	json_t *j;

	if (utf8_valid((const unsigned char *)s, n))
		return (json_stringn(s, n));
	b = xmalloc(CRYPTO_B64_LEN(n) + 2);
	b[0] = '\0';
	crypto_b64_encode(s, n, b + 1);
	j = json_stringn_nocheck(b, strlen(b + 1) + 1);
	free(b);
	return (j);
}

/* The reverse of path_json; NULL if malformed (a NUL elsewhere, bad b64). */
static char *
path_from_json(json_t *x)
{
	const char *v = json_string_value(x);
	size_t n = json_string_length(x), got;
	char *out;
	struct err e;

	if (n == 0 || v[0] != '\0')
		return (memchr(v, '\0', n) ? NULL : xstrdup(v));
	out = xmalloc(n);
	if (crypto_b64_decode(v + 1, n - 1, out, n, &got, &e) == -1 ||
	    memchr(out, '\0', got) != NULL) {
		free(out);
		return (NULL);
	}
	out[got] = '\0';
	return (out);
}

static json_t *
strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, path_json(v[i]));
	return (a);
}

static void
ts_format(const struct timespec *ts, char *buf, size_t size)
{
	struct tm tm;
	time_t t = ts->tv_sec;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts->tv_nsec);
}

static int
ts_parse(const char *s, struct timespec *ts)
{
	struct tm tm;
	long ns;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%9ldZ%n", &tm.tm_year,
	        &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	        &ns, &n) != 7 ||
	    s[n] != '\0' || ns < 0 || ns > 999999999 || tm.tm_mon < 1 ||
	    tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
		return (-1);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = ns;
	return (0);
}

static json_t *
opt_json(const char *s)
{
	return (s != NULL ? path_json(s) : json_null());
}

static json_t *
sources_json(const struct manifest *m)
{
	json_t *a = json_array();

	for (size_t i = 0; i < m->nsources; i++) {
		const struct manifest_source *x = &m->sources[i];
		char t0[64], t1[64];

		ts_format(&x->start, t0, sizeof(t0));
		ts_format(&x->end, t1, sizeof(t1));
		json_t *o = json_pack("{s:o, s:s, s:s, s:o, s:s, s:s, s:o, "
		                      "s:o, s:o, s:o, s:I}",
		    "name", path_json(x->name), "type", x->type, "status",
		    x->status, "error", opt_json(x->error), "start", t0, "end",
		    t1, "server_version", opt_json(x->server_version),
		    "database", opt_json(x->database), "path",
		    opt_json(x->path), "dump", opt_json(x->dump), "bytes",
		    (json_int_t)x->bytes);

		/* Optional members: only when known. */
		if (x->encoding != NULL)
			json_object_set_new(o, "encoding",
			    path_json(x->encoding));
		if (x->lc_collate != NULL)
			json_object_set_new(o, "lc_collate",
			    path_json(x->lc_collate));
		if (x->lc_ctype != NULL)
			json_object_set_new(o, "lc_ctype",
			    path_json(x->lc_ctype));
		json_array_append_new(a, o);
	}
	return (a);
}

char *
manifest_encode(const struct manifest *m)
{
	char when[64], tree[REPO_HEX_LEN + 1], *s;
	json_t *j, *sk = json_array();

	ts_format(&m->time, when, sizeof(when));
	crypto_hex_encode(m->tree, IDX_ID_LEN, tree);
	for (size_t i = 0; i < m->nskipped; i++)
		json_array_append_new(sk,
		    json_pack("{s:o, s:o}", "path",
		        path_json(m->skipped[i].path), "error",
		        path_json(m->skipped[i].error)));
	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s*, "
	              "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}, "
	              "s:o, s:o}",
	    "version", MANIFEST_VERSION, "time", when, "host",
	    m->host ? m->host : "", "user", m->user ? m->user : "", "program",
	    m->program ? m->program : "", "tags", strv_json(m->tags, m->ntags),
	    "paths", strv_json(m->paths, m->npaths), "tree", tree, "parent",
	    m->parent[0] ? m->parent : NULL, "summary", "files",
	    (json_int_t)m->files, "dirs", (json_int_t)m->dirs, "others",
	    (json_int_t)m->others, "bytes", (json_int_t)m->bytes, "bytes_read",
	    (json_int_t)m->bytes_read, "blobs_new", (json_int_t)m->blobs_new,
	    "raw_new", (json_int_t)m->raw_new, "stored_new",
	    (json_int_t)m->stored_new, "duration", m->duration, "inconsistent",
	    strv_json(m->inconsistent, m->ninconsistent), "skipped", sk);
	if (j != NULL && m->nsources > 0)
		json_object_set_new(j, "sources", sources_json(m));
	if (j != NULL && m->job != NULL)
		json_object_set_new(j, "job", json_string(m->job));
	if (j == NULL ||
	    (s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9))) ==
	        NULL) {
		fprintf(stderr, "coffer: cannot encode a snapshot manifest\n");
		abort();
	}
	json_decref(j);
	return (s);
}

static int
strv_from(json_t *a, char ***v, size_t *n, const char *what, struct err *e)
{
	size_t i;
	json_t *x;

	if (!json_is_array(a))
		return (err_set(e, ERR_CORRUPT, "snapshot: %s is not a list",
		    what));
	json_array_foreach(a, i, x)
	{
		char *s;

		if (!json_is_string(x) || (s = path_from_json(x)) == NULL)
			return (err_set(e, ERR_CORRUPT,
			    "snapshot: %s holds a bad string", what));
		*v = xreallocarray(*v, *n + 1, sizeof(char *));
		(*v)[(*n)++] = s;
	}
	return (0);
}

/* A string member or JSON null; -1 if it is something else. */
static int
opt_from(json_t *o, const char *key, char **out)
{
	json_t *x = json_object_get(o, key);

	*out = NULL;
	if (x == NULL || json_is_null(x))
		return (0);
	if (!json_is_string(x) || (*out = path_from_json(x)) == NULL)
		return (-1);
	return (0);
}

static int
sources_from(json_t *a, struct manifest *m, struct err *e)
{
	static const char *const types[] = { "files", "postgres", "mysql",
		"sqlite", "command" };
	size_t i;
	json_t *x;

	if (!json_is_array(a))
		return (
		    err_set(e, ERR_CORRUPT, "snapshot: sources is not a list"));
	json_array_foreach(a, i, x)
	{
		struct manifest_source src, *d;
		const char *type, *status, *t0, *t1;
		json_int_t bytes;
		size_t k;
		int ok;

		memset(&src, 0, sizeof(src));
		if (json_unpack(x, "{s:s, s:s, s:s, s:s, s:I}", "type", &type,
		        "status", &status, "start", &t0, "end", &t1, "bytes",
		        &bytes) == -1)
			return (err_set(e, ERR_CORRUPT,
			    "snapshot: bad source entry"));
		for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
			if (strcmp(type, types[k]) == 0)
				break;
		d = manifest_add_source(m, &src);
		d->type = xstrdup(type);
		d->status = xstrdup(status);
		d->bytes = (uint64_t)bytes;
		ok = k < sizeof(types) / sizeof(types[0]) &&
		    (strcmp(status, "ok") == 0 ||
		        strcmp(status, "failed") == 0) &&
		    bytes >= 0 && ts_parse(t0, &d->start) == 0 &&
		    ts_parse(t1, &d->end) == 0 &&
		    opt_from(x, "name", &d->name) == 0 && d->name != NULL &&
		    opt_from(x, "error", &d->error) == 0 &&
		    opt_from(x, "server_version", &d->server_version) == 0 &&
		    opt_from(x, "database", &d->database) == 0 &&
		    opt_from(x, "encoding", &d->encoding) == 0 &&
		    opt_from(x, "lc_collate", &d->lc_collate) == 0 &&
		    opt_from(x, "lc_ctype", &d->lc_ctype) == 0 &&
		    opt_from(x, "path", &d->path) == 0 &&
		    opt_from(x, "dump", &d->dump) == 0;
		if (!ok)
			return (err_set(e, ERR_CORRUPT,
			    "snapshot: bad source entry"));
	}
	return (0);
}

int
manifest_decode(const char *text, size_t len, struct manifest *m, struct err *e)
{
	json_t *j, *tags, *paths, *inc, *sk, *x;
	json_error_t je;
	json_int_t ver, files, dirs, others, bytes, bread, bnew, rnew, snew;
	const char *when, *host, *user, *prog, *tree, *parent = NULL;
	double dur;
	size_t i;
	int rc = -1;

	manifest_init(m);
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	         &je)) == NULL)
		return (err_set(e, ERR_CORRUPT, "snapshot: %s", je.text));
	if (json_unpack_ex(j, &je, 0,
	        "{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s?s, "
	        "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:F}, s:o, s:o}",
	        "version", &ver, "time", &when, "host", &host, "user", &user,
	        "program", &prog, "tags", &tags, "paths", &paths, "tree", &tree,
	        "parent", &parent, "summary", "files", &files, "dirs", &dirs,
	        "others", &others, "bytes", &bytes, "bytes_read", &bread,
	        "blobs_new", &bnew, "raw_new", &rnew, "stored_new", &snew,
	        "duration", &dur, "inconsistent", &inc, "skipped", &sk) == -1) {
		err_set(e, ERR_CORRUPT, "snapshot: %s", je.text);
		goto out;
	}
	if (ver != MANIFEST_VERSION) {
		err_set(e, ERR_CORRUPT,
		    "snapshot: format version %lld is not supported",
		    (long long)ver);
		goto out;
	}
	if (ts_parse(when, &m->time) == -1) {
		err_set(e, ERR_CORRUPT, "snapshot: bad time '%s'", when);
		goto out;
	}
	if (strlen(tree) != REPO_HEX_LEN ||
	    crypto_hex_decode(tree, REPO_HEX_LEN, m->tree, IDX_ID_LEN, e) ==
	        -1 ||
	    (parent != NULL && strlen(parent) != REPO_HEX_LEN)) {
		err_set(e, ERR_CORRUPT, "snapshot: bad tree or parent id");
		goto out;
	}
	if (parent != NULL)
		memcpy(m->parent, parent, REPO_HEX_LEN + 1);
	m->host = xstrdup(host);
	m->user = xstrdup(user);
	m->program = xstrdup(prog);
	if (strv_from(tags, &m->tags, &m->ntags, "tags", e) == -1 ||
	    strv_from(paths, &m->paths, &m->npaths, "paths", e) == -1 ||
	    strv_from(inc, &m->inconsistent, &m->ninconsistent, "inconsistent",
	        e) == -1)
		goto out;
	if (!json_is_array(sk)) {
		err_set(e, ERR_CORRUPT, "snapshot: skipped is not a list");
		goto out;
	}
	json_array_foreach(sk, i, x)
	{
		json_t *jp, *jm;
		char *p, *msg;

		if (json_unpack(x, "{s:o, s:o}", "path", &jp, "error", &jm) ==
		        -1 ||
		    !json_is_string(jp) || !json_is_string(jm)) {
			err_set(e, ERR_CORRUPT, "snapshot: bad skipped entry");
			goto out;
		}
		p = path_from_json(jp);
		msg = path_from_json(jm);
		if (p == NULL || msg == NULL) {
			free(p);
			free(msg);
			err_set(e, ERR_CORRUPT, "snapshot: bad skipped entry");
			goto out;
		}
		manifest_add_skipped(m, p, msg);
		free(p);
		free(msg);
	}
	if ((x = json_object_get(j, "sources")) != NULL &&
	    sources_from(x, m, e) == -1)
		goto out;
	if ((x = json_object_get(j, "job")) != NULL) {
		if (!json_is_string(x) || json_string_length(x) == 0 ||
		    json_string_length(x) > MANIFEST_JOB_MAX ||
		    strlen(json_string_value(x)) != json_string_length(x)) {
			err_set(e, ERR_CORRUPT, "snapshot: bad job name");
			goto out;
		}
		m->job = xstrdup(json_string_value(x));
	}
	if (files < 0 || dirs < 0 || others < 0 || bytes < 0 || bread < 0 ||
	    bnew < 0 || rnew < 0 || snew < 0) {
		err_set(e, ERR_CORRUPT, "snapshot: negative count");
		goto out;
	}
	m->files = (uint64_t)files;
	m->dirs = (uint64_t)dirs;
	m->others = (uint64_t)others;
	m->bytes = (uint64_t)bytes;
	m->bytes_read = (uint64_t)bread;
	m->blobs_new = (uint64_t)bnew;
	m->raw_new = (uint64_t)rnew;
	m->stored_new = (uint64_t)snew;
	m->duration = dur;
	rc = 0;
out:
	if (rc == -1)
		manifest_clear(m);
	json_decref(j);
	return (rc);
}

int
manifest_save(struct repo *r, struct manifest *m, struct err *e)
{
	char *json = manifest_encode(m);
	int rc;

	rc = repo_file_put(r, "snapshots", (const uint8_t *)json, strlen(json),
	    m->id, e);
	free(json);
	return (rc);
}

int
manifest_load(struct repo *r, const char *id, struct manifest *m, struct err *e)
{
	uint8_t *plain;
	size_t n;
	int rc;

	manifest_init(m);
	if (repo_file_get(r, "snapshots", id, &plain, &n, e) == -1)
		return (-1);
	rc = manifest_decode((const char *)plain, n, m, e);
	free(plain);
	if (rc == -1)
		return (err_wrap(e, "snapshot %.8s", id));
	memcpy(m->id, id, REPO_HEX_LEN);
	m->id[REPO_HEX_LEN] = '\0';
	return (0);
}

void
manifest_time_str(const struct manifest *m, char *buf, size_t size)
{
	struct tm tm;
	time_t t = m->time.tv_sec;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}
