/*
 * The operations log: records as compact JSON, sealed whole under the
 * file key like manifests (repo_file_put with dir "log": associated data
 * "coffer log 1"), one file per record.
 */
#include "repo/oplog.h"

#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"
#include "repo/manifest.h"
#include "xmalloc.h"

/* ---------------------------------------------------------------- actor */

/* Characters an argument may hold and still be shown unquoted. */
#define PLAIN_CHARS                                                            \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"       \
	"_@%+=:,./-"

/*
 * s escaped, then quoted as sh(1) would need it ('it'\''s') when it is
 * empty or holds anything but PLAIN_CHARS.
 */
static char *
show_arg(const char *s)
{
	size_t n = strlen(s), at = 0;
	char *t = esc_str(s, n), *q;

	if (n > 0 && strspn(s, PLAIN_CHARS) == n)
		return (t);
	n = strlen(t);
	q = xmalloc(4 * n + 3);
	q[at++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '\'') {
			memcpy(q + at, "'\\''", 4);
			at += 4;
		} else
			q[at++] = t[i];
	}
	q[at++] = '\'';
	q[at] = '\0';
	free(t);
	return (q);
}

struct oplog_actor *
oplog_actor_new(int argc, char *const *argv,
    void (*warn)(void *arg, const char *msg), void *warn_arg)
{
	struct oplog_actor *a = xcalloc(1, sizeof(*a));
	char host[256], *cmd, *s;
	const char *su;
	struct passwd *pw;
	size_t len, at;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	a->host = xstrdup(host);
	pw = getpwuid(getuid());
	a->user = xstrdup(pw != NULL ? pw->pw_name : "");
	if ((su = getenv("SUDO_USER")) != NULL && su[0] != '\0')
		a->sudo_user = xstrndup(su, OPLOG_STR_MAX);
	a->pid = (int64_t)getpid();
	cmd = xmalloc(OPLOG_CMD_MAX + 1);
	at = (size_t)snprintf(cmd, OPLOG_CMD_MAX + 1, "coffer");
	for (int i = 1; i < argc && at < OPLOG_CMD_MAX; i++) {
		s = show_arg(argv[i]);
		len = strlen(s);
		if (at + 1 + len > OPLOG_CMD_MAX) {
			free(s);
			break;
		}
		cmd[at++] = ' ';
		memcpy(cmd + at, s, len);
		at += len;
		cmd[at] = '\0';
		free(s);
	}
	a->command = cmd;
	a->warn = warn;
	a->warn_arg = warn_arg;
	return (a);
}

void
oplog_actor_free(struct oplog_actor *a)
{
	if (a == NULL)
		return;
	free(a->host);
	free(a->user);
	free(a->sudo_user);
	free(a->command);
	free(a);
}

/* ---------------------------------------------------------------- encode */

/* A JSON string of at most max bytes of s: escaped unless valid UTF-8. */
static json_t *
str_json(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	json_t *j;
	char *t;

	if ((j = json_stringn(s, n)) != NULL)
		return (j);
	t = esc_str(s, n);
	j = json_string(t);
	free(t);
	return (j);
}

static int
is_id(const char *s)
{
	return (strlen(s) == REPO_HEX_LEN &&
	    strspn(s, "0123456789abcdef") == REPO_HEX_LEN);
}

static json_t *
ids_json(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		if (v[i] != NULL && is_id(v[i]))
			json_array_append_new(a, json_string(v[i]));
	return (a);
}

char *
oplog_encode(const struct oplog_actor *a, const struct oplog_entry *ent,
    const struct timespec *now)
{
	int ok = ent->failure == NULL || ent->failure->class == ERR_NONE;
	json_t *j = json_object(), *c = json_object();
	char *s;

	json_object_set_new(j, "version", json_integer(OPLOG_VERSION));
	json_object_set_new(j, "time", json_integer((json_int_t)now->tv_sec));
	json_object_set_new(j, "time_ns",
	    json_integer((json_int_t)now->tv_nsec));
	json_object_set_new(j, "host", str_json(a->host, OPLOG_STR_MAX));
	json_object_set_new(j, "user", str_json(a->user, OPLOG_STR_MAX));
	json_object_set_new(j, "sudo_user",
	    a->sudo_user != NULL ? str_json(a->sudo_user, OPLOG_STR_MAX)
	                         : json_null());
	json_object_set_new(j, "pid", json_integer((json_int_t)a->pid));
	json_object_set_new(j, "coffer", json_string(COFFER_VERSION));
	json_object_set_new(j, "operation", str_json(ent->op, 64));
	json_object_set_new(j, "command", str_json(a->command, OPLOG_CMD_MAX));
	json_object_set_new(j, "outcome", json_string(ok ? "ok" : "failed"));
	if (!ok)
		json_object_set_new(j, "error",
		    json_pack("{s:s, s:o}", "class",
		        err_class_name(ent->failure->class), "message",
		        str_json(ent->failure->msg, OPLOG_STR_MAX)));
	json_object_set_new(j, "snapshots",
	    ids_json(ent->snapshots, ent->nsnapshots));
	json_object_set_new(j, "keys", ids_json(ent->keys, ent->nkeys));
	for (size_t i = 0; i < ent->ncounts; i++)
		json_object_set_new(c, ent->counts[i].name,
		    json_integer(ent->counts[i].value > INT64_MAX
		            ? INT64_MAX
		            : (json_int_t)ent->counts[i].value));
	json_object_set_new(j, "counts", c);
	if ((s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		fprintf(stderr, "coffer: cannot encode a log record\n");
		abort();
	}
	json_decref(j);
	return (s);
}

/* ---------------------------------------------------------------- decode */

void
oplog_rec_clear(struct oplog_rec *r)
{
	free(r->host);
	free(r->user);
	free(r->sudo_user);
	free(r->version);
	free(r->op);
	free(r->command);
	free(r->err_class);
	free(r->message);
	for (size_t i = 0; i < r->nsnapshots; i++)
		free(r->snapshots[i]);
	free(r->snapshots);
	for (size_t i = 0; i < r->nkeys; i++)
		free(r->keys[i]);
	free(r->keys);
	for (size_t i = 0; i < r->ncounts; i++)
		free((char *)r->counts[i].name);
	free(r->counts);
	memset(r, 0, sizeof(*r));
}

/* A string without NUL (jansson allows one inside with JSON_ALLOW_NUL). */
static int
str_from(json_t *x, char **out)
{
	if (!json_is_string(x) ||
	    strlen(json_string_value(x)) != json_string_length(x))
		return (-1);
	*out = xstrdup(json_string_value(x));
	return (0);
}

static int
ids_from(json_t *a, char ***v, size_t *n)
{
	size_t i;
	json_t *x;

	if (!json_is_array(a))
		return (-1);
	json_array_foreach(a, i, x)
	{
		if (!json_is_string(x) || !is_id(json_string_value(x)))
			return (-1);
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = xstrdup(json_string_value(x));
	}
	return (0);
}

int
oplog_decode(const char *text, size_t len, struct oplog_rec *r, struct err *e)
{
	json_t *j, *host, *user, *sudo, *op, *cmd, *ver, *snaps, *keys, *counts,
	    *err = NULL, *x, *msg;
	json_int_t version, sec, nsec, pid;
	json_error_t je;
	const char *outcome, *key;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return (err_set(e, ERR_CORRUPT, "log record: %s", je.text));
	if (json_unpack_ex(j, &je, 0, "{s:I}", "version", &version) == -1) {
		err_set(e, ERR_CORRUPT, "log record: %s", je.text);
		goto out;
	}
	if (version != OPLOG_VERSION) {
		err_set(e, ERR_CORRUPT,
		    "log record: version %lld is not supported",
		    (long long)version);
		goto out;
	}
	if (json_unpack_ex(j, &je, 0,
	        "{s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:s, s?o, "
	        "s:o, s:o, s:o}",
	        "time", &sec, "time_ns", &nsec, "host", &host, "user", &user,
	        "sudo_user", &sudo, "pid", &pid, "coffer", &ver, "operation",
	        &op, "command", &cmd, "outcome", &outcome, "error", &err,
	        "snapshots", &snaps, "keys", &keys, "counts", &counts) == -1) {
		err_set(e, ERR_CORRUPT, "log record: %s", je.text);
		goto out;
	}
	if (sec < 0 || sec > 253402300799LL || nsec < 0 || nsec > 999999999) {
		err_set(e, ERR_CORRUPT, "log record: bad time");
		goto out;
	}
	r->time.tv_sec = (time_t)sec;
	r->time.tv_nsec = (long)nsec;
	r->pid = pid;
	if (str_from(host, &r->host) == -1 || str_from(user, &r->user) == -1 ||
	    (!json_is_null(sudo) && str_from(sudo, &r->sudo_user) == -1) ||
	    str_from(ver, &r->version) == -1 || str_from(op, &r->op) == -1 ||
	    r->op[0] == '\0' || str_from(cmd, &r->command) == -1) {
		err_set(e, ERR_CORRUPT, "log record: a bad string");
		goto out;
	}
	if (strcmp(outcome, "ok") == 0 && err == NULL)
		r->ok = 1;
	else if (strcmp(outcome, "failed") != 0 || err == NULL ||
	    json_unpack(err, "{s:o, s:o}", "class", &x, "message", &msg) ==
	        -1 ||
	    str_from(x, &r->err_class) == -1 ||
	    str_from(msg, &r->message) == -1) {
		err_set(e, ERR_CORRUPT,
		    "log record: outcome is neither ok nor failed with an "
		    "error");
		goto out;
	}
	if (ids_from(snaps, &r->snapshots, &r->nsnapshots) == -1 ||
	    ids_from(keys, &r->keys, &r->nkeys) == -1) {
		err_set(e, ERR_CORRUPT, "log record: a bad id");
		goto out;
	}
	if (!json_is_object(counts)) {
		err_set(e, ERR_CORRUPT, "log record: counts is not an object");
		goto out;
	}
	json_object_foreach(counts, key, x)
	{
		if (!json_is_integer(x) || json_integer_value(x) < 0) {
			err_set(e, ERR_CORRUPT, "log record: bad count %s",
			    key);
			goto out;
		}
		r->counts = xreallocarray(r->counts, r->ncounts + 1,
		    sizeof(*r->counts));
		r->counts[r->ncounts].name = xstrdup(key);
		r->counts[r->ncounts++].value = (uint64_t)json_integer_value(x);
	}
	rc = 0;
out:
	if (rc == -1)
		oplog_rec_clear(r);
	json_decref(j);
	return (rc);
}

/* ---------------------------------------------------------------- files */

int
oplog_append(struct repo *r, const struct oplog_actor *a,
    const struct oplog_entry *ent, const struct timespec *now,
    char id[REPO_HEX_LEN + 1], struct err *e)
{
	char name[REPO_HEX_LEN + 1], *json = oplog_encode(a, ent, now);
	int rc;

	rc = repo_file_put(r, OPLOG_DIR, (const uint8_t *)json, strlen(json),
	    name, e);
	free(json);
	if (rc == -1)
		return (err_wrap(e, "operations log"));
	if (id != NULL)
		memcpy(id, name, sizeof(name));
	return (0);
}

void
oplog_record(struct repo *r, const struct oplog_entry *ent)
{
	const struct oplog_actor *a;
	struct timespec now;
	char msg[ERR_MSG_MAX + 128];
	struct err e;

	if (r == NULL || (a = repo_actor(r)) == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	err_clear(&e);
	if (oplog_append(r, a, ent, &now, NULL, &e) == 0 || a->warn == NULL)
		return;
	snprintf(msg, sizeof(msg),
	    "the %s was not recorded in the repository's log: %s", ent->op,
	    e.msg);
	a->warn(a->warn_arg, msg);
}

void
oplog_record_snapshot(struct repo *r, const char *op, const char *id,
    const struct err *failure)
{
	struct oplog_entry ent;

	memset(&ent, 0, sizeof(ent));
	ent.op = op;
	ent.failure = failure;
	ent.snapshots = &id;
	ent.nsnapshots = id != NULL ? 1 : 0;
	oplog_record(r, &ent);
}

void
oplog_record_snapshots(struct repo *r, const char *op, const char *const *ids,
    size_t n, const struct err *failure)
{
	struct oplog_count c = { "snapshots", n };
	struct oplog_entry ent;

	memset(&ent, 0, sizeof(ent));
	ent.op = op;
	ent.failure = failure;
	ent.snapshots = ids;
	ent.nsnapshots = n;
	ent.counts = &c;
	ent.ncounts = 1;
	oplog_record(r, &ent);
}

void
oplog_record_key(struct repo *r, const char *op, const char *id,
    const struct err *failure)
{
	struct oplog_entry ent;

	memset(&ent, 0, sizeof(ent));
	ent.op = op;
	ent.failure = failure;
	ent.keys = &id;
	ent.nkeys = id != NULL ? 1 : 0;
	oplog_record(r, &ent);
}

void
oplog_record_snap(struct repo *r, const struct manifest *m, size_t nfailed,
    const struct err *failure)
{
	const char *id = m->id[0] != '\0' ? m->id : NULL;
	struct oplog_count c[] = {
		{ "files", m->files },
		{ "bytes", m->bytes },
		{ "stored_new", m->stored_new },
		{ "sources_failed", nfailed },
		{ "skipped", m->nskipped },
	};
	struct oplog_entry ent;

	memset(&ent, 0, sizeof(ent));
	ent.op = OPLOG_SNAPSHOT;
	ent.failure = failure;
	ent.snapshots = &id;
	ent.nsnapshots = id != NULL ? 1 : 0;
	/* A snapshot that was not saved has no figures worth keeping. */
	ent.counts = c;
	ent.ncounts = id != NULL ? sizeof(c) / sizeof(c[0]) : 0;
	oplog_record(r, &ent);
}

int
oplog_load(struct repo *r, const char *id, struct oplog_rec *rec, struct err *e)
{
	uint8_t *plain = NULL;
	size_t n;
	int rc;

	memset(rec, 0, sizeof(*rec));
	if (repo_file_get(r, OPLOG_DIR, id, &plain, &n, e) == -1)
		return (-1);
	rc = oplog_decode((const char *)plain, n, rec, e);
	free(plain);
	if (rc == -1)
		return (err_wrap(e, OPLOG_DIR "/%s", id));
	memcpy(rec->id, id, REPO_HEX_LEN + 1);
	return (0);
}

struct gather {
	struct repo *r;
	struct oplog_list *l;
	size_t cap;
};

static int
gather_one(void *arg, const char *name, uint64_t size)
{
	struct gather *g = arg;
	struct oplog_list *l = g->l;
	const char *base = name + strlen(OPLOG_DIR "/");
	struct oplog_rec rec;
	struct oplog_bad *b;
	struct err le;

	(void)size;
	err_clear(&le);
	if (!is_id(base))
		err_set(&le, ERR_CORRUPT,
		    "%.80s: not a log record's name (64 hex digits)", name);
	else if (oplog_load(g->r, base, &rec, &le) == 0) {
		if (l->n == g->cap) {
			g->cap = g->cap ? 2 * g->cap : 64;
			l->v = xreallocarray(l->v, g->cap, sizeof(*l->v));
		}
		l->v[l->n++] = rec;
		return (0);
	}
	l->bad = xreallocarray(l->bad, l->nbad + 1, sizeof(*l->bad));
	b = &l->bad[l->nbad++];
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->err = le;
	return (0);
}

static int
by_time(const void *pa, const void *pb)
{
	const struct oplog_rec *a = pa, *b = pb;

	if (a->time.tv_sec != b->time.tv_sec)
		return (a->time.tv_sec < b->time.tv_sec ? -1 : 1);
	if (a->time.tv_nsec != b->time.tv_nsec)
		return (a->time.tv_nsec < b->time.tv_nsec ? -1 : 1);
	return (strcmp(a->id, b->id));
}

static int
by_name(const void *pa, const void *pb)
{
	return (strcmp(((const struct oplog_bad *)pa)->name,
	    ((const struct oplog_bad *)pb)->name));
}

int
oplog_list(struct repo *r, struct oplog_list **out, struct err *e)
{
	struct gather g;

	*out = NULL;
	g.r = r;
	g.l = xcalloc(1, sizeof(*g.l));
	g.cap = 0;
	if (stor_list(repo_store(r), OPLOG_DIR, gather_one, &g, e) != 0) {
		oplog_list_free(g.l);
		return (err_wrap(e, "list " OPLOG_DIR "/"));
	}
	if (g.l->n > 1)
		qsort(g.l->v, g.l->n, sizeof(*g.l->v), by_time);
	if (g.l->nbad > 1)
		qsort(g.l->bad, g.l->nbad, sizeof(*g.l->bad), by_name);
	*out = g.l;
	return (0);
}

void
oplog_list_free(struct oplog_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		oplog_rec_clear(&l->v[i]);
	free(l->v);
	free(l->bad);
	free(l);
}
