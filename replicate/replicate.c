/*
 * coffer replicate's engine: list both stores once, compare the sorted
 * lists in memory, and send what the target lacks kind by kind through a
 * small pool of threads, each streaming one file through a buffer of
 * STOR_STREAM_BUF bytes and hashing it as it passes.
 */
#include "replicate.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "progress.h"
#include "repo/forget.h"
#include "repo/key.h"
#include "repo/lock.h"
#include "repo/pack.h"
#include "repo/prune.h"
#include "repo/repo.h"
#include "store/store.h"
#include "xmalloc.h"

/* The kinds in the order they are sent; config goes after keys. */
enum kind { K_KEYS, K_DATA, K_INDEX, K_SNAPSHOTS, K_LOG, K_COUNT };
static const char *const kind_dir[K_COUNT] = { "keys", "data", "index",
	"snapshots", "log" };
/* The largest file of each kind that coffer reads; larger is no file of its. */
static const uint64_t kind_max[K_COUNT] = { KEY_FILE_MAX, PACK_LEN_MAX,
	REPO_FILE_MAX, REPO_FILE_MAX, REPO_FILE_MAX };
static const char *const kind_what[K_COUNT] = { "key file", "pack",
	"index file", "snapshot", "log record" };

struct fent {
	char *name;
	uint64_t size;
};

struct flist {
	struct fent *v;
	size_t n, cap;
};

/* One thing for a worker to do: send a file, or verify the target's. */
struct item {
	const struct fent *f;
	int verify;
};

struct pool {
	struct stor *src, *dst;
	const struct repl_opts *o;
	struct repl_stats *st;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item *items;
	size_t n, next;
	int running;      /* workers not yet finished */
	int stop;         /* a fatal error: take no more items */
	struct err fatal; /* the first fatal error */
};

static int
collect(void *arg, const char *name, uint64_t size)
{
	struct flist *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n].name = xstrdup(name);
	l->v[l->n].size = size;
	l->n++;
	return (0);
}

static void
flist_free(struct flist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
fent_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct fent *)a)->name,
	    ((const struct fent *)b)->name));
}

static int
list_store(struct stor *s, struct flist *l, struct err *e)
{
	for (int k = 0; k < K_COUNT; k++)
		if (stor_list(s, kind_dir[k], collect, l, e) != 0)
			return (err_wrap(e, "list %s", stor_location(s)));
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), fent_cmp);
	return (0);
}

static int
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (i == 64);
}

/* The kind of a repository file name, or -1 for anything else. */
static int
kind_of(const char *name)
{
	const char *p;

	if (strncmp(name, "data/", 5) == 0) {
		p = name + 5;
		return (strlen(p) == 67 && p[2] == '/' && p[0] == p[3] &&
		            p[1] == p[4] && is_hex64(p + 3)
		        ? K_DATA
		        : -1);
	}
	for (int k = 0; k < K_COUNT; k++) {
		size_t dl = strlen(kind_dir[k]);

		if (k != K_DATA && strncmp(name, kind_dir[k], dl) == 0 &&
		    name[dl] == '/' && is_hex64(name + dl + 1))
			return (k);
	}
	return (-1);
}

/* The 64 hex digits a repository file is named by. */
static const char *
hash_part(const char *name)
{
	return (strrchr(name, '/') + 1);
}

/* Does the hash in ctx (which is reset) match the file's name? */
static int
hash_matches(struct crypto_sha256_ctx *ctx, const char *name)
{
	uint8_t h[CRYPTO_HASH_LEN];
	char hex[2 * CRYPTO_HASH_LEN + 1];

	crypto_sha256_final(ctx, h);
	crypto_hex_encode(h, sizeof(h), hex);
	return (strcmp(hex, hash_part(name)) == 0);
}

/* Report a problem that does not stop the run; called with mu held. */
static void notice(struct pool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
notice(struct pool *p, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->o->notice != NULL)
		p->o->notice(p->o->arg, msg);
}

static void
set_fatal(struct pool *p, const struct err *e)
{
	if (!p->stop) {
		p->fatal = *e;
		p->stop = 1;
	}
}

/*
 * Read back the target's copy of a file it already has (of the source's
 * size, which the listing showed) and hash it, a buffer at a time.
 */
static int
verify_one(struct pool *p, const struct fent *f, struct err *e)
{
	struct crypto_sha256_ctx *ctx = NULL;
	uint8_t *buf = NULL;
	uint64_t off = 0;
	int ok = 0, rc = -1;

	if ((ctx = crypto_sha256_new(e)) == NULL)
		goto out;
	buf = xmalloc(STOR_STREAM_BUF);
	while (off < f->size) {
		size_t n = f->size - off < STOR_STREAM_BUF
		    ? (size_t)(f->size - off)
		    : STOR_STREAM_BUF;

		if (stor_get_range(p->dst, f->name, off, n, buf, e) == -1)
			break;
		crypto_sha256_update(ctx, buf, n);
		off += n;
	}
	if (off < f->size) {
		if (e->class != ERR_CORRUPT) { /* not just shorter */
			err_wrap(e, "verify %s", f->name);
			goto out;
		}
		err_clear(e);
	} else
		ok = hash_matches(ctx, f->name);
	rc = 0;
	pthread_mutex_lock(&p->mu);
	p->st->files_verified++;
	if (!ok) {
		p->st->files_mismatch++;
		notice(p,
		    "%s: damaged on the target %s (its SHA-256 is not its "
		    "name); it is never replaced: move it aside on the "
		    "target host and replicate again",
		    f->name, stor_location(p->dst));
	}
	pthread_mutex_unlock(&p->mu);
out:
	free(buf);
	crypto_sha256_free(ctx);
	return (rc);
}

/* The name was taken meanwhile: present if the size matches. */
static int
already_there(struct pool *p, const struct fent *f, uint64_t len, struct err *e)
{
	uint64_t size = 0;
	int r;

	if ((r = stor_stat(p->dst, f->name, &size, e)) == -1)
		return (err_wrap(e, "%s", f->name));
	pthread_mutex_lock(&p->mu);
	if (r == 0 && size == len) {
		p->st->files_present++;
		p->st->bytes_present += size;
	} else {
		p->st->files_mismatch++;
		notice(p,
		    "%s: the target has another file of that name (%llu "
		    "bytes, the source's has %llu); it is never replaced",
		    f->name, (unsigned long long)size, (unsigned long long)len);
	}
	pthread_mutex_unlock(&p->mu);
	return (0);
}

/*
 * A source file on its way to the target: stor_put_stream pulls it from
 * the source a buffer at a time, and the hash of what passed is compared
 * with the name before the target publishes it.
 */
struct src_reader {
	struct pool *p;
	const struct fent *f;
	struct crypto_sha256_ctx *ctx;
	uint64_t hashed;  /* bytes hashed in this attempt */
	uint64_t counted; /* bytes counted in the progress, over attempts */
	int src_failed;   /* reading the source failed (e says why) */
	int rotten;       /* the bytes are not what the name says */
};

static int
src_read(void *arg, uint64_t off, uint8_t *buf, size_t len, struct err *e)
{
	struct src_reader *sr = arg;
	struct pool *p = sr->p;

	if (off == 0 && sr->hashed > 0) { /* the target starts over */
		uint8_t scratch[CRYPTO_HASH_LEN];

		crypto_sha256_final(sr->ctx, scratch);
		sr->hashed = 0;
	}
	if (off != sr->hashed)
		return (err_set(e, ERR_INTERNAL,
		    "%s: asked for bytes at %llu after %llu", sr->f->name,
		    (unsigned long long)off, (unsigned long long)sr->hashed));
	if (stor_get_range(p->src, sr->f->name, off, len, buf, e) == -1) {
		sr->src_failed = 1;
		return (-1);
	}
	crypto_sha256_update(sr->ctx, buf, len);
	sr->hashed += len;
	if (sr->hashed > sr->counted) {
		pthread_mutex_lock(&p->mu);
		progress_add(p->o->progress, sr->hashed - sr->counted);
		pthread_mutex_unlock(&p->mu);
		sr->counted = sr->hashed;
	}
	return (0);
}

static int
src_done(void *arg, struct err *e)
{
	struct src_reader *sr = arg;

	if (hash_matches(sr->ctx, sr->f->name))
		return (0);
	sr->rotten = 1;
	return (err_set(e, ERR_CORRUPT, "%s: its SHA-256 is not its name",
	    sr->f->name));
}

static int
send_one(struct pool *p, const struct fent *f, struct err *e)
{
	struct src_reader sr;
	struct stor_reader rd = { src_read, src_done, &sr };
	int rc = -1;

	memset(&sr, 0, sizeof(sr));
	sr.p = p;
	sr.f = f;
	if ((sr.ctx = crypto_sha256_new(e)) == NULL)
		goto out;
	if (stor_put_stream(p->dst, f->name, f->size, &rd, STOR_NOREPLACE, e) ==
	    -1) {
		/* Shorter than listed, or not its name: rotten, not fatal. */
		if (sr.rotten || (sr.src_failed && e->class == ERR_CORRUPT)) {
			err_clear(e);
			goto rotten;
		}
		if (sr.src_failed) {
			err_wrap(e, "read %s", f->name);
			goto out;
		}
		if (e->sys_errno != EEXIST) {
			err_wrap(e, "send %s", f->name);
			goto out;
		}
		err_clear(e);
		rc = already_there(p, f, f->size, e);
		goto out;
	}
	pthread_mutex_lock(&p->mu);
	p->st->files_sent++;
	p->st->bytes_sent += f->size;
	pthread_mutex_unlock(&p->mu);
	rc = 0;
	goto out;
rotten:
	pthread_mutex_lock(&p->mu);
	p->st->files_rotten++;
	notice(p,
	    "%s: damaged in the source %s (its SHA-256 is not its name); "
	    "not sent",
	    f->name, stor_location(p->src));
	pthread_mutex_unlock(&p->mu);
	rc = 0;
out:
	crypto_sha256_free(sr.ctx);
	return (rc);
}

static void *
worker(void *arg)
{
	struct pool *p = arg;
	struct item *it;
	struct err e;
	int r;

	err_clear(&e);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (!p->stop && p->o->interrupted != NULL &&
		    *p->o->interrupted) {
			err_set(&e, ERR_INTERRUPTED, "interrupted");
			set_fatal(p, &e);
		}
		if (p->stop || p->next >= p->n) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		it = &p->items[p->next++];
		pthread_mutex_unlock(&p->mu);
		r = it->verify ? verify_one(p, it->f, &e)
		               : send_one(p, it->f, &e);
		if (r == -1) {
			pthread_mutex_lock(&p->mu);
			set_fatal(p, &e);
			pthread_mutex_unlock(&p->mu);
			break;
		}
	}
	pthread_mutex_lock(&p->mu);
	p->running--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return (NULL);
}

/*
 * Do every item with up to jobs threads and wait for all of them; the
 * calling thread keeps the source's lock fresh meanwhile.
 */
static int
run_items(struct pool *p, struct item *items, size_t n, struct err *e)
{
	pthread_t tid[REPL_JOBS_MAX];
	int jobs = p->o->jobs > 0 ? p->o->jobs : REPL_JOBS_DEFAULT;
	int started = 0;

	if (n == 0)
		return (0);
	if (jobs > REPL_JOBS_MAX)
		jobs = REPL_JOBS_MAX;
	if ((size_t)jobs > n)
		jobs = (int)n;
	p->items = items;
	p->n = n;
	p->next = 0;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < jobs; i++) {
		if (pthread_create(&tid[i], NULL, worker, p) != 0)
			break;
		started++;
		p->running++;
	}
	if (started == 0) {
		pthread_mutex_unlock(&p->mu);
		return (err_set(e, ERR_INTERNAL, "cannot start a thread"));
	}
	while (p->running > 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (p->o->src_lock != NULL && !p->stop &&
		    lock_refresh_due(p->o->src_lock)) {
			struct err le;

			err_clear(&le);
			pthread_mutex_unlock(&p->mu);
			if (lock_refresh(p->o->src_lock, &le) == -1) {
				pthread_mutex_lock(&p->mu);
				set_fatal(p, &le);
			} else
				pthread_mutex_lock(&p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (p->stop) {
		/*
		 * As the store said it: each backend names where it failed
		 * (the local one the whole path, sftp the host), and a full
		 * disk keeps its class, ERR_NOSPACE, so it is not retried.
		 */
		*e = p->fatal;
		return (-1);
	}
	return (0);
}

/* Do the sorted lists name a repository file in common? */
static int
share_files(const struct flist *a, const struct flist *b)
{
	size_t j = 0;

	for (size_t i = 0; i < a->n; i++) {
		int c = 1;

		while (j < b->n && (c = strcmp(b->v[j].name, a->v[i].name)) < 0)
			j++;
		if (j < b->n && c == 0 && kind_of(a->v[i].name) != -1)
			return (1);
	}
	return (0);
}

/* The source's config; ERR_NOREPO without one. */
static int
source_config(struct stor *src, uint8_t **cfg, size_t *cfglen, struct err *e)
{
	if (stor_get(src, "config", REPO_CONFIG_MAX, cfg, cfglen, e) == 0)
		return (0);
	if (e->sys_errno == ENOENT)
		return (err_set(e, ERR_NOREPO,
		    "no repository at %s (it has no config file)",
		    stor_location(src)));
	return (err_wrap(e, "read the config of %s", stor_location(src)));
}

/*
 * The config: the target gets the source's, or must have the same.  Files
 * other than config are named by their hash, so a target that shares one
 * with the source is a copy of it, and a config that differs there was
 * replaced (the backup key may rename its own files: doc/OFFSITE.md).
 */
static int
config_step(struct pool *p, const struct flist *sl, const struct flist *dl,
    const uint8_t *cfg, size_t cfglen, int *send, struct err *e)
{
	uint8_t *theirs = NULL;
	size_t tlen = 0;
	int rc = -1;

	*send = 0;
	if (p->dst == NULL) { /* a dry run to a location not there yet */
		*send = 1;
		return (0);
	}
	if (stor_get(p->dst, "config", REPO_CONFIG_MAX, &theirs, &tlen, e) ==
	    -1) {
		if (e->sys_errno == ENOENT) {
			err_clear(e);
			*send = 1;
			rc = 0;
			goto out;
		}
		if (e->class != ERR_CORRUPT) {
			err_wrap(e, "read the config of %s",
			    stor_location(p->dst));
			goto out;
		}
		/* Too large to be a config: compared below as different. */
		err_clear(e);
	} else if (tlen == cfglen && memcmp(theirs, cfg, tlen) == 0) {
		rc = 0;
		goto out;
	}
	p->st->refused = 1;
	if (share_files(sl, dl))
		err_set(e, ERR_CORRUPT,
		    "the config of %s is not the one of %s, yet they share "
		    "repository files: it was replaced there; nothing was "
		    "sent. As root on that host, put back a copy of %s's "
		    "config and make it root's and read-only (chown root:root "
		    "config; chmod 0444 config: "
		    "doc/OFFSITE.md, \"The config file\")",
		    stor_location(p->dst), stor_location(p->src),
		    stor_location(p->src));
	else
		err_set(e, ERR_USAGE,
		    "%s is another repository than %s (their config files "
		    "differ); nothing was sent: replicate only into an empty "
		    "location or a copy of the same repository",
		    stor_location(p->dst), stor_location(p->src));
out:
	free(theirs);
	return (rc);
}

int
repl_config_compare(struct stor *st, struct stor *ref, struct err *e)
{
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	int rc = -1;

	if (source_config(st, &a, &alen, e) == -1 ||
	    source_config(ref, &b, &blen, e) == -1)
		goto out;
	if (alen != blen || memcmp(a, b, alen) != 0) {
		err_set(e, ERR_CORRUPT,
		    "the config of %s differs from the one of %s: if it is a "
		    "copy of that repository, its config was replaced; as "
		    "root on its host, put back a copy of the config of %s "
		    "and make it root's and read-only (chown root:root config; "
		    "chmod 0444 config: "
		    "doc/OFFSITE.md, \"The config file\")",
		    stor_location(st), stor_location(ref), stor_location(ref));
		goto out;
	}
	rc = 0;
out:
	free(a);
	free(b);
	return (rc);
}

/*
 * What the target removed on purpose (doc/FORMAT.md, "Gone"): the hashes
 * named in its gone/ (tombstones a prune leaves) and forgotten/ (snapshots
 * forgotten, not yet pruned), sorted.
 */
struct gone {
	struct flist l; /* names: the hash parts only */
};

static int
gone_collect(void *arg, const char *name, uint64_t size)
{
	const char *h = hash_part(name);

	return (is_hex64(h) ? collect(arg, h, size) : 0);
}

static int
gone_list(struct stor *dst, struct gone *g, struct err *e)
{
	memset(g, 0, sizeof(*g));
	if (dst == NULL)
		return (0);
	if (stor_list(dst, PRUNE_GONE_DIR, gone_collect, &g->l, e) != 0 ||
	    stor_list(dst, FORGET_DIR, gone_collect, &g->l, e) != 0) {
		if (e->sys_errno == EACCES)
			return (err_wrap(e,
			    "nothing was sent; the target's gone/ and "
			    "forgotten/ must be readable by this account "
			    "(doc/OFFSITE.md, \"Pruning the off-site "
			    "copy\")"));
		return (err_wrap(e, "list %s", stor_location(dst)));
	}
	if (g->l.n > 1)
		qsort(g->l.v, g->l.n, sizeof(*g->l.v), fent_cmp);
	return (0);
}

static int
gone_has(const struct gone *g, const char *name)
{
	struct fent key = { (char *)(uintptr_t)hash_part(name), 0 };

	return (g->l.n > 0 &&
	    bsearch(&key, g->l.v, g->l.n, sizeof(*g->l.v), fent_cmp) != NULL);
}

/*
 * May the file of kind k that the target lacks stay away because the
 * target removed it on purpose?  A snapshot always: nothing depends on
 * one.  A pack or an index file only while nothing new that could name it
 * is sent (honour: no snapshot and no index file but tombstoned ones): a
 * snapshot the source takes later may deduplicate against a pack the
 * source still indexes, and replicate cannot read which without the key,
 * so then the target gets every pack and index file the source has.
 */
static int
stays_gone(const struct gone *g, int honour, int k, const char *name)
{
	if (k != K_SNAPSHOTS && !(honour && (k == K_DATA || k == K_INDEX)))
		return (0);
	return (gone_has(g, name));
}

/*
 * Whether pack and index tombstones hold in this run (stays_gone): no
 * index file or snapshot of s that d lacks, except tombstoned ones.
 */
static int
honour_gone(const struct flist *s, const struct flist *d, const struct gone *g)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n; i++) {
		int c = 1;
		int k = kind_of(s->v[i].name);

		while (j < d->n && (c = strcmp(d->v[j].name, s->v[i].name)) < 0)
			j++;
		if ((k != K_INDEX && k != K_SNAPSHOTS) ||
		    (j < d->n && c == 0) || s->v[i].size > kind_max[k])
			continue;
		if (!gone_has(g, s->v[i].name))
			return (0);
	}
	return (1);
}

/* Bytes of the repository files in s that are not in d (both sorted). */
static uint64_t
missing_bytes(const struct flist *s, const struct flist *d,
    const struct gone *g, int honour)
{
	uint64_t sum = 0;
	size_t j = 0;

	for (size_t i = 0; i < s->n; i++) {
		int c = 1;
		int k = kind_of(s->v[i].name);

		while (j < d->n && (c = strcmp(d->v[j].name, s->v[i].name)) < 0)
			j++;
		if (!(j < d->n && c == 0) && k != -1 &&
		    s->v[i].size <= kind_max[k] &&
		    !stays_gone(g, honour, k, s->v[i].name))
			sum += s->v[i].size;
	}
	return (sum);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

int
repl_run(struct stor *src, struct stor *dst, const struct repl_opts *o,
    struct repl_stats *st, struct err *e)
{
	struct flist sl = { 0 }, dl = { 0 };
	struct gone gone = { { 0 } };
	struct item *items = NULL;
	struct pool p;
	uint8_t *cfg = NULL;
	size_t cfglen = 0, nitems;
	double t0 = now_s();
	int send_cfg = 0, honour, rc = -1;

	memset(st, 0, sizeof(*st));
	memset(&p, 0, sizeof(p));
	p.src = src;
	p.dst = dst;
	p.o = o;
	p.st = st;
	err_clear(&p.fatal);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);

	if (source_config(src, &cfg, &cfglen, e) == -1 ||
	    list_store(src, &sl, e) == -1 ||
	    (dst != NULL && list_store(dst, &dl, e) == -1) ||
	    config_step(&p, &sl, &dl, cfg, cfglen, &send_cfg, e) == -1 ||
	    gone_list(dst, &gone, e) == -1)
		goto out;
	honour = honour_gone(&sl, &dl, &gone);
	if (!send_cfg) { /* there, and the same: present like any other */
		st->files_present++;
		st->bytes_present += cfglen;
	}
	items = xcalloc(sl.n + 1, sizeof(*items));
	progress_set_total(o->progress, missing_bytes(&sl, &dl, &gone, honour));
	for (int k = 0; k < K_COUNT; k++) {
		size_t j = 0;

		nitems = 0;
		/* Both lists are sorted: one merge pass finds what is new. */
		for (size_t i = 0; i < sl.n; i++) {
			const struct fent *f = &sl.v[i];
			int c = 1;

			if (kind_of(f->name) != k) {
				if (k == 0 && kind_of(f->name) == -1) {
					st->files_skipped++;
					notice(&p,
					    "%s: not a repository file; not "
					    "copied",
					    f->name);
				}
				continue;
			}
			if (f->size > kind_max[k]) {
				st->files_rotten++;
				notice(&p,
				    "%s: %llu bytes, more than a %s can have "
				    "(%llu): damaged or not coffer's; not sent",
				    f->name, (unsigned long long)f->size,
				    kind_what[k],
				    (unsigned long long)kind_max[k]);
				continue;
			}
			while (
			    j < dl.n && (c = strcmp(dl.v[j].name, f->name)) < 0)
				j++;
			if (j < dl.n && c == 0) {
				if (dl.v[j].size != f->size) {
					st->files_mismatch++;
					notice(&p,
					    "%s: the target's copy has %llu "
					    "bytes, the source's %llu; it is "
					    "never replaced: move it aside on "
					    "the target host and replicate "
					    "again",
					    f->name,
					    (unsigned long long)dl.v[j].size,
					    (unsigned long long)f->size);
				} else {
					st->files_present++;
					st->bytes_present += f->size;
					if (o->verify && !o->dry_run)
						items[nitems++] =
						    (struct item){ f, 1 };
				}
				continue;
			}
			if (stays_gone(&gone, honour, k, f->name)) {
				st->files_gone++;
				continue;
			}
			if (o->dry_run) {
				st->files_sent++;
				st->bytes_sent += f->size;
				if (o->listed != NULL)
					o->listed(o->arg, f->name, f->size);
				continue;
			}
			items[nitems++] = (struct item){ f, 0 };
		}
		if (run_items(&p, items, nitems, e) == -1)
			goto out;
		/* After the keys, before any data: see doc/OFFSITE.md. */
		if (k == K_KEYS && send_cfg) {
			if (o->dry_run) {
				st->files_sent++;
				st->bytes_sent += cfglen;
				if (o->listed != NULL)
					o->listed(o->arg, "config", cfglen);
			} else if (stor_put(dst, "config", cfg, cfglen,
			               STOR_NOREPLACE, e) == -1) {
				err_wrap(e, "send config");
				goto out;
			} else {
				st->files_sent++;
				st->bytes_sent += cfglen;
				st->config_sent = 1;
			}
		}
	}
	if (st->files_rotten > 0 || st->files_mismatch > 0) {
		err_set(e, ERR_CORRUPT,
		    "%llu damaged file%s in the source not sent, %llu file%s "
		    "on the target differ%s from the source; everything "
		    "else was copied",
		    (unsigned long long)st->files_rotten,
		    st->files_rotten == 1 ? "" : "s",
		    (unsigned long long)st->files_mismatch,
		    st->files_mismatch == 1 ? "" : "s",
		    st->files_mismatch == 1 ? "s" : "");
		goto out;
	}
	rc = 0;
out:
	st->seconds = now_s() - t0;
	free(items);
	free(cfg);
	flist_free(&sl);
	flist_free(&dl);
	flist_free(&gone.l);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	return (rc);
}
