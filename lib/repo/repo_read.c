/*
 * Reading blobs back: one at a time, read ahead by threads, or checked
 * from sealed bytes the caller already holds.
 */
#include <sys/types.h>

#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "repo/compress.h"
#include "repo/lock.h"
#include "repo/opool.h"
#include "repo/pack.h"
#include "repo/repo.h"
#include "repo/repo_impl.h"
#include "xmalloc.h"

/*
 * Open a sealed blob in buf (len bytes) and return its plaintext, checked
 * against id, type and raw length, and (mac not NULL) its keyed hash.
 * auth (REPO_READ_AUTH_ONLY): only authenticated, its type and the length
 * it declares checked; *out is NULL and *outlen the raw length.  buf is
 * used as scratch.  The contexts belong to the calling thread.
 */
static int
open_blob_with(struct crypto_aead *aead, struct compress *cz,
    struct crypto_hmac *mac, int auth, const uint8_t id[IDX_ID_LEN],
    uint8_t type, uint32_t raw_length, uint8_t *buf, size_t len, uint8_t **out,
    size_t *outlen, struct err *e)
{
	uint8_t *payload = buf + CRYPTO_NONCE_LEN, *plain = NULL;
	uint8_t digest[CRYPTO_HASH_LEN];
	size_t plen, n;
	unsigned method, btype;

	*out = NULL;
	if (len < CRYPTO_AEAD_OVERHEAD + 1)
		return (err_set(e, ERR_CORRUPT, "sealed blob too short"));
	if (crypto_aead_open(aead, buf, len, id, IDX_ID_LEN, payload, e) == -1)
		return (-1);
	plen = len - CRYPTO_AEAD_OVERHEAD;
	method = payload[0] & 0x0f;
	btype = payload[0] >> 4;
	if (btype != type)
		return (err_set(e, ERR_CORRUPT, "blob type %u, expected %u",
		    btype, type));
	if (auth && method == COMPRESS_ZSTD) {
		uint64_t declared;

		if (compress_declared(payload + 1, plen - 1, &declared, e) ==
		    -1)
			return (-1);
		if (declared != COMPRESS_UNDECLARED) {
			if (declared != raw_length)
				return (err_set(e, ERR_CORRUPT,
				    "blob declares %llu bytes, index says %u",
				    (unsigned long long)declared, raw_length));
			*outlen = raw_length;
			return (0);
		}
		/* Only decompressing tells its length. */
	}
	if (method == COMPRESS_RAW) {
		n = plen - 1;
		if (n != raw_length)
			return (err_set(e, ERR_CORRUPT,
			    "blob holds %zu bytes, index says %u", n,
			    raw_length));
		if (auth) {
			*outlen = n;
			return (0);
		}
		plain = xmalloc(n ? n : 1);
		memcpy(plain, payload + 1, n);
	} else if (method == COMPRESS_ZSTD) {
		if (compress_decode_alloc(cz, payload + 1, plen - 1, raw_length,
		        &plain, &n, e) == -1)
			return (-1);
		if (n != raw_length) {
			free(plain);
			return (err_set(e, ERR_CORRUPT,
			    "blob decompresses to %zu bytes, index says %u", n,
			    raw_length));
		}
	} else
		return (err_set(e, ERR_CORRUPT,
		    "blob uses unknown compression %u", method));
	if (auth) {
		freezero(plain, n); /* a frame that did not declare it */
		*outlen = n;
		return (0);
	}
	if (mac != NULL) {
		crypto_hmac_digest(mac, plain, n, digest);
		if (!crypto_equal(digest, id, IDX_ID_LEN)) {
			free(plain);
			return (err_set(e, ERR_CORRUPT,
			    "blob content does not match its id"));
		}
	}
	*out = plain;
	*outlen = n;
	return (0);
}

static int
open_blob(struct repo *r, const uint8_t id[IDX_ID_LEN], uint8_t type,
    uint32_t raw_length, uint8_t *buf, size_t len, uint8_t **out,
    size_t *outlen, struct err *e)
{
	return (open_blob_with(r->blob_aead, r->cz, r->idmac, 0, id, type,
	    raw_length, buf, len, out, outlen, e));
}

/* A copy that failed this way may leave another copy to read. */
static int
try_next_copy(const struct err *e)
{
	return (e->class == ERR_CORRUPT ||
	    (e->class == ERR_IO && e->sys_errno == ENOENT));
}

/*
 * Fetch and open one blob with the given contexts: authenticated, its
 * type, length and keyed hash checked.  When a copy fails that (or its
 * pack is gone), the next location the index knows is tried before the
 * blob is called damaged; the error is then the first copy's.  The index
 * is only read, so workers may call this while the repository's own
 * thread waits.
 */
static int
get_blob_with(struct repo *r, struct crypto_aead *aead, struct compress *cz,
    struct crypto_hmac *mac, int auth, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type type, uint8_t **out, size_t *n, struct err *e)
{
	const struct idx_entry *ent = idx_find(r->idx, id);
	char hex[REPO_HEX_LEN + 1];
	struct err first;
	unsigned copies = 0;

	*out = NULL;
	*n = 0;
	crypto_hex_encode(id, IDX_ID_LEN, hex);
	if (ent == NULL) {
		if (r->nbad_idx > 0)
			return (err_set(e, ERR_CORRUPT,
			    "blob %.16s is not in the index (%zu index "
			    "file%s could not be read: run coffer check)",
			    hex, r->nbad_idx, r->nbad_idx == 1 ? "" : "s"));
		return (err_set(e, ERR_CORRUPT,
		    "blob %.16s is not in the index (missing pack?)", hex));
	}
	err_clear(&first);
	for (; ent != NULL; ent = idx_find_next(r->idx, ent), copies++) {
		char name[128];
		uint8_t *buf;
		struct err ce;
		int rc;

		if (ent->type != type) {
			err_set(&ce, ERR_CORRUPT,
			    "blob %.16s is indexed as type %u, expected %u",
			    hex, ent->type, type);
			goto failed;
		}
		repo_pack_name(idx_pack_id(r->idx, ent->pack), name,
		    sizeof(name));
		buf = xmalloc(ent->length ? ent->length : 1);
		rc = stor_get_range(r->st, name, ent->offset, ent->length, buf,
		         &ce) == -1 ||
		    open_blob_with(aead, cz, mac, auth, id, ent->type,
		        ent->raw_length, buf, ent->length, out, n, &ce) == -1;
		/* A failed open may leave plaintext in buf. */
		freezero(buf, ent->length ? ent->length : 1);
		if (rc == 0)
			return (0);
		err_wrap(&ce, "blob %.16s in %s", hex, name);
failed:
		if (copies == 0)
			first = ce;
		if (!try_next_copy(&ce)) {
			*e = ce;
			return (-1);
		}
	}
	*e = first;
	if (copies > 1)
		err_wrap(e, "%u copies indexed, none intact; the first",
		    copies);
	return (-1);
}

static int pf_take(struct repo *, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type, uint8_t **out, size_t *n);

int
repo_blob_get(struct repo *r, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type type, uint8_t **out, size_t *n, struct err *e)
{
	if (r->pf != NULL && pf_take(r, id, type, out, n) == 0)
		return (0);
	return (get_blob_with(r, r->blob_aead, r->cz, r->idmac, 0, id, type,
	    out, n, e));
}

/* One reader thread's contexts. */
struct rctx {
	struct crypto_aead *aead;
	struct compress *cz;
	struct crypto_hmac *mac;
};

/*
 * Readers' jobs are batches: blobs asked for one after the other that lie
 * close together in one pack (as the snapshot that wrote them left them)
 * are fetched with one get_range and opened one by one on the reader that
 * fetched them.  One request instead of one per blob is what a store
 * across a network needs, and one hand-off instead of one per blob is
 * what many small files need.  The limits keep a job's memory small; a
 * blob larger than them is a job of its own, as before.
 */
#define RJOB_BLOBS 32            /* blobs in one job, at most */
#define RJOB_GAP   (64u << 10)   /* bytes of other blobs read over, at most */
#define RJOB_SPAN  (1024u << 10) /* sealed bytes one job fetches, at most */
#define RJOB_RAW   (2048u << 10) /* plaintext one job holds, at most */

/*
 * One blob of a job: where its first copy lies (for repo_unseal_verify:
 * where in the job's bytes, and its type), then what it opened to.
 */
struct rblob {
	uint8_t id[IDX_ID_LEN];
	uint8_t type;
	uint32_t offset, length, raw_length;
	uint8_t *out;
	size_t len;
	int failed;
	struct err err;
};

struct rjob {
	uint8_t type;
	uint8_t auth; /* REPO_READ_AUTH_ONLY: b[].out stays NULL */
	/* For repo_unseal_verify: the blobs' sealed bytes, one after the
	 * other. */
	uint8_t *in;
	size_t inlen, in_cap;
	int from_buf;
	struct repo *r;
	/* b[0 .. n): with n > 1, all in pack, fetched as [off, end). */
	uint32_t pack;
	uint64_t off, end;
	size_t n, taken, raw;
	struct rblob b[RJOB_BLOBS];
};

static void
rctx_clear(struct rctx *c)
{
	crypto_aead_free(c->aead);
	compress_free(c->cz);
	crypto_hmac_free(c->mac);
	memset(c, 0, sizeof(*c));
}

static int
rctx_init(struct repo *r, struct rctx *c, struct err *e)
{
	memset(c, 0, sizeof(*c));
	if ((c->aead = crypto_aead_new(key_master_blob_key(r->master), e)) ==
	        NULL ||
	    (c->cz = compress_new(r->level, e)) == NULL ||
	    (c->mac = crypto_hmac_new(key_master_id_key(r->master),
	         KEY_SECRET_LEN, e)) == NULL) {
		rctx_clear(c);
		return (-1);
	}
	return (0);
}

/*
 * Fetch a batch's span once and open each blob in it.  A blob the span
 * cannot give (the fetch failed, or that copy fails to open) goes the
 * one-blob way, which tries every copy the index knows and words the
 * error as for any single read.
 */
static void
read_span(struct rctx *c, struct rjob *j)
{
	struct repo *r = j->r;
	size_t len = (size_t)(j->end - j->off);
	uint8_t *buf = NULL;
	char name[128];
	struct err fe;
	int got = 0;

	if (j->n > 1) {
		repo_pack_name(idx_pack_id(r->idx, j->pack), name,
		    sizeof(name));
		buf = xmalloc(len);
		got = stor_get_range(r->st, name, j->off, len, buf, &fe) == 0;
	}
	for (size_t k = 0; k < j->n; k++) {
		struct rblob *b = &j->b[k];

		if (got &&
		    open_blob_with(c->aead, c->cz, c->mac, j->auth, b->id,
		        j->type, b->raw_length, buf + (b->offset - j->off),
		        b->length, &b->out, &b->len, &b->err) == 0)
			continue;
		b->failed = get_blob_with(r, c->aead, c->cz, c->mac, j->auth,
		                b->id, (enum idx_blob_type)j->type, &b->out,
		                &b->len, &b->err) == -1;
	}
	/* Opened in place: plaintext may be left in it. */
	freezero(buf, len);
}

/* Readers' job: fetch (or take) sealed blobs and open them. */
static void
read_fn(void *ctx, void *job)
{
	struct rctx *c = ctx;
	struct rjob *j = job;
	struct rblob *b = &j->b[0];

	if (j->from_buf) {
		/* Verified only: nothing of them is kept. */
		for (size_t k = 0; k < j->n; k++, b++) {
			b->failed =
			    open_blob_with(c->aead, c->cz, c->mac, 0, b->id,
			        b->type, b->raw_length, j->in + b->offset,
			        b->length, &b->out, &b->len, &b->err) == -1;
			freezero(b->out, b->len);
			b->out = NULL;
			b->len = 0;
		}
		wipe(j->in, j->inlen);
	} else
		read_span(c, j);
}

/* Free what a job's blobs opened to, from the first not yet handed on. */
static void
rjob_release(struct rjob *j)
{
	for (size_t k = j->taken; k < j->n; k++) {
		freezero(j->b[k].out, j->b[k].len);
		j->b[k].out = NULL;
	}
}

static void
rjob_cleanup(void *job)
{
	struct rjob *j = job;

	rjob_release(j);
	free(j->in);
}

static void pf_free(struct repo *);

void
repo_readers_free(struct repo *r)
{
	pf_free(r);
	opool_free(r->rpool, rjob_cleanup);
	r->rpool = NULL;
	free(r->ahead);
	r->ahead = NULL;
	r->ahead_head = r->nahead = r->nring = 0;
	for (size_t i = 0; i < r->nrctx; i++)
		rctx_clear(&r->rctx[i]);
	free(r->rctx);
	r->rctx = NULL;
	r->nrctx = 0;
}

/*
 * How many readers: one per CPU, and for a store across a network as
 * many as it serves requests at once, since a reader there mostly waits
 * for its answer (with 2 CPUs and transfers = 4, two readers left two of
 * the four connections idle).
 */
static size_t
readers_wanted(const struct repo *r)
{
	size_t nth, net;

	if (r->nworkers >= 0)
		return ((size_t)r->nworkers);
	nth = repo_default_workers();
	net = (size_t)stor_transfers(r->st);
	return (nth > 0 && net > nth ? (net > 16 ? 16 : net) : nth);
}

/* Start the readers unless there are some, or none are wanted. */
static int
ensure_rpool(struct repo *r, struct err *e)
{
	void **ctxs;
	size_t nth;

	if (r->rpool != NULL)
		return (0);
	if ((nth = readers_wanted(r)) == 0)
		return (0);
	r->rctx = xcalloc(nth, sizeof(*r->rctx));
	for (; r->nrctx < nth; r->nrctx++)
		if (rctx_init(r, &r->rctx[r->nrctx], e) == -1)
			goto fail;
	ctxs = xcalloc(nth, sizeof(*ctxs));
	for (size_t i = 0; i < nth; i++)
		ctxs[i] = &r->rctx[i];
	/* Read ahead a few jobs per thread: memory stays small. */
	r->rpool =
	    opool_new(nth, 3 * nth + 1, sizeof(struct rjob), read_fn, ctxs, e);
	free(ctxs);
	if (r->rpool == NULL)
		goto fail;
	return (0);
fail:
	repo_readers_free(r);
	return (-1);
}

/* The next free slot of the readers' ring, emptied for a new job. */
static struct rjob *
rjob_slot(struct repo *r)
{
	struct rjob *j = opool_at(r->rpool, opool_count(r->rpool));

	j->r = r;
	j->n = j->taken = j->raw = 0;
	j->from_buf = 0;
	j->auth = 0;
	return (j);
}

/* Add blob id (first copy ent, or NULL) to j, which has room. */
static void
rjob_add(struct rjob *j, const uint8_t id[IDX_ID_LEN],
    const struct idx_entry *ent)
{
	struct rblob *b = &j->b[j->n++];

	memcpy(b->id, id, IDX_ID_LEN);
	b->offset = ent != NULL ? ent->offset : 0;
	b->length = ent != NULL ? ent->length : 0;
	b->raw_length = ent != NULL ? ent->raw_length : 0;
	b->out = NULL;
	b->len = 0;
	b->failed = 0;
	if (ent == NULL)
		return;
	if (j->n == 1) {
		j->pack = ent->pack;
		j->off = ent->offset;
	}
	j->end = (uint64_t)ent->offset + ent->length;
	j->raw += ent->raw_length;
}

/* May ent (first copy of a blob of the job's type) join j's span? */
static int
rjob_joins(const struct rjob *j, const struct idx_entry *ent)
{
	uint64_t end = (uint64_t)ent->offset + ent->length;

	return (j->n > 0 && j->n < RJOB_BLOBS && ent->type == j->type &&
	    ent->pack == j->pack && ent->offset >= j->end &&
	    ent->offset - j->end <= RJOB_GAP && end - j->off <= RJOB_SPAN &&
	    j->raw + ent->raw_length <= RJOB_RAW);
}

/* Where rjob_fill takes ids from: an array of one type, or r->ahead. */
struct rsrc {
	const uint8_t (*ids)[IDX_ID_LEN];
	const struct repo_ahead *ahead;
	uint8_t type;
	uint8_t auth; /* for ids only: what is read ahead is read whole */
};

/*
 * Queue jobs for the blobs of s from i on while the ring has room; the
 * index of the first blob not queued.
 */
static size_t rjob_fill(struct repo *r, const struct rsrc *s, size_t i,
    size_t n);

/* Take every job out of the readers' ring, so the next call starts empty. */
static void
readers_drain(struct repo *r)
{
	struct rjob *j;

	while ((j = opool_head(r->rpool, 1)) != NULL) {
		rjob_release(j);
		opool_pop(r->rpool);
	}
	r->nring = 0;
}

/*
 * Hand the next blob of the ring's head j, done, to fn as blob i; take j
 * out when it has handed on all its blobs.
 */
static int
rjob_hand(struct repo *r, struct rjob *j, size_t i,
    int (*fn)(void *, size_t, const uint8_t *, size_t, struct err *), void *arg,
    struct err *e)
{
	struct rblob *b = &j->b[j->taken];
	int rc;

	if (b->failed) {
		*e = b->err;
		rc = -1;
	} else
		rc = fn(arg, i, b->out, b->len, e);
	freezero(b->out, b->len);
	b->out = NULL;
	j->taken++;
	r->nring--;
	if (j->taken == j->n) {
		opool_pop(r->rpool);
	}
	return (rc);
}

/*
 * Read-ahead across calls (repo_read_ahead): announced ids wait in
 * r->ahead until the readers' ring has room; the ring then holds, in
 * order, the blobs the next calls are expected to ask for.  At most
 * REPO_AHEAD_MAX are announced and not yet taken, so memory stays the
 * ring's few jobs plus this many ids.
 */
#define REPO_AHEAD_MAX 256

struct repo_ahead {
	uint8_t id[IDX_ID_LEN];
	uint8_t type;
};

static const uint8_t *
rsrc_id(const struct rsrc *s, size_t i)
{
	return (s->ids != NULL ? s->ids[i] : s->ahead[i].id);
}

static uint8_t
rsrc_type(const struct rsrc *s, size_t i)
{
	return (s->ids != NULL ? s->type : s->ahead[i].type);
}

static size_t
rjob_fill(struct repo *r, const struct rsrc *s, size_t i, size_t n)
{
	while (i < n && opool_count(r->rpool) < opool_cap(r->rpool)) {
		struct rjob *j = rjob_slot(r);
		const struct idx_entry *ent = idx_find(r->idx, rsrc_id(s, i));

		j->type = rsrc_type(s, i);
		j->auth = s->auth;
		/* A blob the index gets wrong is read alone: its error is
		 * the one-blob read's. */
		rjob_add(j, rsrc_id(s, i),
		    ent != NULL && ent->type == j->type ? ent : NULL);
		i++;
		while (ent != NULL && ent->type == j->type && i < n &&
		    rsrc_type(s, i) == j->type) {
			const struct idx_entry *x =
			    idx_find(r->idx, rsrc_id(s, i));

			if (x == NULL || !rjob_joins(j, x))
				break;
			rjob_add(j, rsrc_id(s, i), x);
			i++;
		}
		r->nring += j->n;
		opool_push(r->rpool);
	}
	return (i);
}

/* Move announced ids into the ring while it has room. */
static void
ahead_feed(struct repo *r)
{
	struct rsrc s = { NULL, r->ahead, 0, 0 };

	r->ahead_head = rjob_fill(r, &s, r->ahead_head, r->nahead);
	if (r->ahead_head == r->nahead)
		r->ahead_head = r->nahead = 0;
}

/* The caller wants something else: forget what was read ahead. */
static void
ahead_drop(struct repo *r)
{
	r->ahead_head = r->nahead = 0;
	if (r->rpool != NULL)
		readers_drain(r);
}

size_t
repo_read_ahead_room(const struct repo *r)
{
	size_t pending = r->nahead - r->ahead_head + r->nring;

	return (pending < REPO_AHEAD_MAX ? REPO_AHEAD_MAX - pending : 0);
}

void
repo_read_ahead(struct repo *r, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    enum idx_blob_type type)
{
	struct err e;
	size_t room = repo_read_ahead_room(r);

	if (n == 0 || room == 0 || ensure_rpool(r, &e) == -1 ||
	    r->rpool == NULL)
		return; /* a hint: the reads themselves report what fails */
	if (n > room)
		n = room;
	if (r->ahead == NULL)
		r->ahead = xcalloc(REPO_AHEAD_MAX, sizeof(*r->ahead));
	if (r->ahead_head > 0) {
		memmove(r->ahead, r->ahead + r->ahead_head,
		    (r->nahead - r->ahead_head) * sizeof(*r->ahead));
		r->nahead -= r->ahead_head;
		r->ahead_head = 0;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(r->ahead[r->nahead].id, ids[i], IDX_ID_LEN);
		r->ahead[r->nahead++].type = (uint8_t)type;
	}
	ahead_feed(r);
}

/* The ring's head job, waiting for it; its next blob is b[taken]. */
static struct rjob *
ring_head(struct repo *r)
{
	return (opool_count(r->rpool) > 0 ? opool_head(r->rpool, 1) : NULL);
}

/*
 * Hand ids[0..n) to fn from what was read ahead, as long as the ring's
 * next blob is the one asked for, opened as asked (auth: authenticated
 * only).  *taken: how many were; rc as fn's or the read's.  On a
 * mismatch, what was read ahead is dropped.
 */
static int
take_ahead(struct repo *r, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    enum idx_blob_type type, int auth,
    int (*fn)(void *, size_t, const uint8_t *, size_t, struct err *), void *arg,
    size_t *taken, struct err *e)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		struct rjob *j;

		ahead_feed(r);
		j = ring_head(r);
		if (j == NULL || j->type != (uint8_t)type || j->auth != auth ||
		    memcmp(j->b[j->taken].id, ids[i], IDX_ID_LEN) != 0) {
			ahead_drop(r);
			break;
		}
		rc = rjob_hand(r, j, i, fn, arg, e);
	}
	if (rc == -1)
		i--;
	*taken = i;
	return (rc);
}

/* repo_blobs_read of ids[from..n), on the readers when there are some. */
static int
blobs_read_from(struct repo *r, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    size_t from, enum idx_blob_type type, int auth,
    int (*fn)(void *, size_t, const uint8_t *, size_t, struct err *), void *arg,
    struct err *e)
{
	struct rsrc s = { ids, NULL, (uint8_t)type, (uint8_t)auth };
	size_t next = from, i;
	int rc = 0;

	if (n - from > 1 && ensure_rpool(r, e) == -1)
		return (-1);
	if (r->rpool == NULL || n - from <= 1) {
		/* One blob, or no threads: no hand-off to pay for. */
		for (i = from; i < n; i++) {
			uint8_t *b;
			size_t len;

			if (get_blob_with(r, r->blob_aead, r->cz, r->idmac,
			        auth, ids[i], type, &b, &len, e) == -1)
				return (-1);
			rc = fn(arg, i, b, len, e);
			freezero(b, len);
			if (rc == -1)
				return (-1);
		}
		return (0);
	}
	for (i = from; i < n && rc == 0; i++) {
		next = rjob_fill(r, &s, next, n);
		rc = rjob_hand(r, ring_head(r), i, fn, arg, e);
	}
	readers_drain(r);
	return (rc);
}

int
repo_blobs_read(struct repo *r, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    enum idx_blob_type type, int flags,
    int (*fn)(void *, size_t, const uint8_t *, size_t, struct err *), void *arg,
    struct err *e)
{
	int auth = (flags & REPO_READ_AUTH_ONLY) != 0;
	size_t taken = 0;

	/* Every blob read whole is rehashed: REPO_READ_REHASH is implied. */
	if (r->rpool != NULL && (opool_count(r->rpool) > 0 || r->nahead > 0)) {
		if (take_ahead(r, ids, n, type, auth, fn, arg, &taken, e) == -1)
			return (-1);
		if (taken == n)
			return (0);
		/* The rest as usual; fn still counts from 0. */
		return (
		    blobs_read_from(r, ids, n, taken, type, auth, fn, arg, e));
	}
	return (blobs_read_from(r, ids, n, 0, type, auth, fn, arg, e));
}

int
repo_blob_unseal(struct repo *r, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type type, uint32_t raw_length, uint8_t *buf, size_t len,
    uint8_t **out, size_t *outlen, struct err *e)
{
	uint8_t *plain;
	size_t n;

	if (out != NULL) {
		*out = NULL;
		*outlen = 0;
	}
	if (open_blob(r, id, (uint8_t)type, raw_length, buf, len, &plain, &n,
	        e) == -1) {
		/* It may have been decrypted in place before a later test
		 * failed: leave none of it behind. */
		wipe(buf, len);
		return (-1);
	}
	if (out == NULL) {
		freezero(plain, n);
		return (0);
	}
	*out = plain;
	*outlen = n;
	return (0);
}

int
repo_pack_header_unseal(struct repo *r, const uint8_t *box, size_t len,
    uint8_t **plain, size_t *n, struct err *e)
{
	uint8_t *out;

	*plain = NULL;
	*n = 0;
	if (len < CRYPTO_AEAD_OVERHEAD)
		return (err_set(e, ERR_CORRUPT, "pack header: too short"));
	out = xmalloc(len - CRYPTO_AEAD_OVERHEAD + 1);
	if (crypto_aead_open(r->blob_aead, box, len, PACK_HDR_AAD,
	        strlen(PACK_HDR_AAD), out, e) == -1) {
		free(out);
		return (err_wrap(e, "pack header"));
	}
	*plain = out;
	*n = len - CRYPTO_AEAD_OVERHEAD;
	return (0);
}

int
repo_unseal_verify(struct repo *r,
    int (*next)(void *, uint8_t id[IDX_ID_LEN], uint8_t *type,
        uint32_t *raw_length, const uint8_t **sealed, size_t *len),
    void (*done)(void *, const uint8_t id[IDX_ID_LEN], const struct err *),
    void *arg, struct err *e)
{
	struct opool *p;
	int more = 1, rc = 0;

	if (ensure_rpool(r, e) == -1)
		return (-1);
	ahead_drop(r);
	if ((p = r->rpool) == NULL) {
		/* No threads: one at a time, here. */
		for (;;) {
			uint8_t id[IDX_ID_LEN], type, *copy;
			uint32_t raw;
			const uint8_t *sealed;
			size_t len;
			struct err be;

			if ((rc = next(arg, id, &type, &raw, &sealed, &len)) !=
			    0)
				return (rc == 1 ? 0 : -1);
			copy = xmalloc(len ? len : 1);
			memcpy(copy, sealed, len);
			done(arg, id,
			    repo_blob_unseal(r, id, type, raw, copy, len, NULL,
			        NULL, &be) == -1
			        ? &be
			        : NULL);
			free(copy);
		}
	}
	while (more || opool_count(p) > 0) {
		struct rjob *j;

		/* Keep the ring full while blobs come, a batch per job. */
		while (more && opool_count(p) < opool_cap(p)) {
			j = rjob_slot(r);
			j->from_buf = 1;
			j->inlen = 0;
			while (j->n < RJOB_BLOBS && j->inlen < RJOB_SPAN) {
				uint8_t id[IDX_ID_LEN], type;
				uint32_t raw;
				const uint8_t *sealed;
				size_t len;
				struct rblob *b;
				int k =
				    next(arg, id, &type, &raw, &sealed, &len);

				if (k != 0) {
					more = 0;
					if (k == -1)
						rc = -1;
					break;
				}
				rjob_add(j, id, NULL);
				b = &j->b[j->n - 1];
				b->type = type;
				b->raw_length = raw;
				b->offset = (uint32_t)j->inlen;
				b->length = (uint32_t)len;
				/* sealed lasts until the next call: copied.
				 * A quarter more, as repo_grow: a slot's
				 * buffer stays near its largest job (a
				 * doubling would hold 2x a 64 MiB chunk). */
				if (j->inlen + len + 1 > j->in_cap) {
					size_t need = j->inlen + len + 1;

					j->in_cap = need + need / 4;
					j->in =
					    xreallocarray(j->in, j->in_cap, 1);
				}
				memcpy(j->in + j->inlen, sealed, len);
				j->inlen += len;
			}
			if (j->n == 0)
				break;
			opool_push(p);
		}
		if ((j = opool_head(p, 1)) == NULL)
			break;
		for (size_t k = 0; k < j->n; k++)
			done(arg, j->b[k].id,
			    j->b[k].failed ? &j->b[k].err : NULL);
		opool_pop(p);
	}
	return (rc);
}

/*
 * repo_prefetch: a few slots, filled by threads of their own with blobs
 * fetched and checked as repo_blob_get would, and taken out by id in any
 * order.  Slots of the latest call are fetched first (a walk of the
 * trees goes deeper before it goes on).
 */
#define PF_THREADS    2
#define PF_BYTES      (8u << 20) /* plaintext the slots hold, at most */
#define PF_MIN_NOFILE 64         /* RLIMIT_NOFILE below which none start */

enum pf_state { PF_FREE, PF_QUEUED, PF_RUNNING, PF_DONE };

struct pf_slot {
	uint8_t id[IDX_ID_LEN];
	uint8_t type;
	enum pf_state state;
	uint64_t call; /* which repo_prefetch call asked for it */
	size_t pos;    /* where in that call's list */
	uint32_t raw;  /* the index's plaintext length, in bytes */
	uint8_t *out;  /* PF_DONE: the plaintext, or NULL if it failed */
	size_t len;
};

struct pf_thread {
	struct repo_pf *pf;
	struct rctx ctx;
	pthread_t th;
};

struct repo_pf {
	struct repo *r;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct pf_slot s[REPO_PREFETCH_SLOTS];
	uint64_t calls;
	size_t bytes; /* raw of the slots in use */
	int stop;
	struct pf_thread t[PF_THREADS];
	size_t nth;
};

static void
pf_empty(struct repo_pf *pf, struct pf_slot *sl)
{
	freezero(sl->out, sl->len);
	sl->out = NULL;
	sl->len = 0;
	pf->bytes -= sl->raw;
	sl->state = PF_FREE;
}

/* The slot to fetch next: the latest call's, in its order.  Under mu. */
static struct pf_slot *
pf_next(struct repo_pf *pf)
{
	struct pf_slot *best = NULL;

	for (size_t i = 0; i < REPO_PREFETCH_SLOTS; i++) {
		struct pf_slot *sl = &pf->s[i];

		if (sl->state == PF_QUEUED &&
		    (best == NULL || sl->call > best->call ||
		        (sl->call == best->call && sl->pos < best->pos)))
			best = sl;
	}
	return (best);
}

static void *
pf_main(void *arg)
{
	struct pf_thread *t = arg;
	struct repo_pf *pf = t->pf;
	struct pf_slot *sl;

	pthread_mutex_lock(&pf->mu);
	for (;;) {
		uint8_t id[IDX_ID_LEN], *out;
		enum idx_blob_type type;
		struct err e;
		size_t len;

		while (!pf->stop && (sl = pf_next(pf)) == NULL)
			pthread_cond_wait(&pf->work, &pf->mu);
		if (pf->stop)
			break;
		sl->state = PF_RUNNING;
		memcpy(id, sl->id, IDX_ID_LEN);
		type = (enum idx_blob_type)sl->type;
		pthread_mutex_unlock(&pf->mu);
		if (get_blob_with(pf->r, t->ctx.aead, t->ctx.cz, t->ctx.mac, 0,
		        id, type, &out, &len, &e) == -1) {
			out = NULL;
			len = 0;
		}
		pthread_mutex_lock(&pf->mu);
		/* Only PF_DONE slots are emptied by others: sl is ours. */
		sl->out = out;
		sl->len = len;
		sl->state = PF_DONE;
		pthread_cond_broadcast(&pf->done);
	}
	pthread_mutex_unlock(&pf->mu);
	return (NULL);
}

static void
pf_free(struct repo *r)
{
	struct repo_pf *pf = r->pf;

	if (pf == NULL)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->stop = 1;
	pthread_cond_broadcast(&pf->work);
	pthread_mutex_unlock(&pf->mu);
	for (size_t i = 0; i < pf->nth; i++)
		pthread_join(pf->t[i].th, NULL);
	for (size_t i = 0; i < PF_THREADS; i++)
		rctx_clear(&pf->t[i].ctx);
	for (size_t i = 0; i < REPO_PREFETCH_SLOTS; i++)
		if (pf->s[i].state != PF_FREE)
			pf_empty(pf, &pf->s[i]);
	pthread_cond_destroy(&pf->work);
	pthread_cond_destroy(&pf->done);
	pthread_mutex_destroy(&pf->mu);
	free(pf);
	r->pf = NULL;
}

/* Start the threads unless they run; -1 when there are none. */
static int
pf_start(struct repo *r)
{
	struct repo_pf *pf;
	struct rlimit rl;
	struct err e;

	if (r->pf != NULL)
		return (0);
	/*
	 * Each thread may hold a pack open: not under a low descriptor
	 * limit (`ulimit -n 32` and less), where a restore needs them for
	 * its directories and files.
	 */
	if (r->nworkers == 0 ||
	    (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	        rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < PF_MIN_NOFILE))
		return (-1);
	pf = xcalloc(1, sizeof(*pf));
	pf->r = r;
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->work, NULL);
	pthread_cond_init(&pf->done, NULL);
	r->pf = pf;
	for (; pf->nth < PF_THREADS; pf->nth++) {
		struct pf_thread *t = &pf->t[pf->nth];

		t->pf = pf;
		if (rctx_init(r, &t->ctx, &e) == -1 ||
		    pthread_create(&t->th, NULL, pf_main, t) != 0)
			break;
	}
	if (pf->nth == 0) {
		pf_free(r);
		return (-1);
	}
	return (0);
}

/* The slot holding id, or NULL.  Under mu. */
static struct pf_slot *
pf_find(struct repo_pf *pf, const uint8_t id[IDX_ID_LEN], uint8_t type)
{
	for (size_t i = 0; i < REPO_PREFETCH_SLOTS; i++) {
		struct pf_slot *sl = &pf->s[i];

		if (sl->state != PF_FREE && sl->type == type &&
		    memcmp(sl->id, id, IDX_ID_LEN) == 0)
			return (sl);
	}
	return (NULL);
}

/*
 * A slot for raw more bytes: a free one, else the fetched one of the
 * oldest call (a guess that was not taken).  Under mu.
 */
static struct pf_slot *
pf_room(struct repo_pf *pf, uint32_t raw)
{
	struct pf_slot *fr = NULL, *old;

	for (;;) {
		old = NULL;
		for (size_t i = 0; i < REPO_PREFETCH_SLOTS; i++) {
			struct pf_slot *sl = &pf->s[i];

			if (sl->state == PF_FREE && fr == NULL)
				fr = sl;
			if (sl->state == PF_DONE &&
			    (old == NULL || sl->call < old->call))
				old = sl;
		}
		if (fr != NULL && pf->bytes + raw <= PF_BYTES)
			return (fr);
		if (old == NULL)
			return (NULL);
		pf_empty(pf, old);
		fr = NULL;
	}
}

void
repo_prefetch(struct repo *r, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    enum idx_blob_type type)
{
	struct repo_pf *pf;
	uint64_t call;
	int queued = 0;

	if (n == 0 || pf_start(r) == -1)
		return;
	pf = r->pf;
	pthread_mutex_lock(&pf->mu);
	call = ++pf->calls;
	for (size_t i = 0; i < n && i < REPO_PREFETCH_SLOTS; i++) {
		const struct idx_entry *ent = idx_find(r->idx, ids[i]);
		struct pf_slot *sl;

		if ((sl = pf_find(pf, ids[i], (uint8_t)type)) != NULL) {
			if (sl->state == PF_QUEUED) {
				sl->call = call; /* asked for again: sooner */
				sl->pos = i;
				queued = 1;
			}
			continue;
		}
		if (ent == NULL || ent->raw_length > PF_BYTES / 8 ||
		    (sl = pf_room(pf, ent->raw_length)) == NULL)
			continue;
		memcpy(sl->id, ids[i], IDX_ID_LEN);
		sl->type = (uint8_t)type;
		sl->state = PF_QUEUED;
		sl->call = call;
		sl->pos = i;
		sl->raw = ent->raw_length;
		pf->bytes += sl->raw;
		queued = 1;
	}
	if (queued)
		pthread_cond_broadcast(&pf->work);
	pthread_mutex_unlock(&pf->mu);
}

/*
 * id from the slots, waiting while it is fetched: 0 and the plaintext, or
 * -1 if it is not there or failed (the caller then reads it itself, which
 * tries every copy and says why).
 */
static int
pf_take(struct repo *r, const uint8_t id[IDX_ID_LEN], enum idx_blob_type type,
    uint8_t **out, size_t *n)
{
	struct repo_pf *pf = r->pf;
	struct pf_slot *sl;
	int rc = -1;

	pthread_mutex_lock(&pf->mu);
	if ((sl = pf_find(pf, id, (uint8_t)type)) != NULL) {
		if (sl->state == PF_QUEUED) {
			/* Not started: cheaper read here than waited for. */
			pf_empty(pf, sl);
			sl = NULL;
		}
		while (sl != NULL && sl->state != PF_DONE)
			pthread_cond_wait(&pf->done, &pf->mu);
	}
	if (sl != NULL) {
		if (sl->out != NULL) {
			*out = sl->out;
			*n = sl->len;
			sl->out = NULL;
			sl->len = 0;
			rc = 0;
		}
		pf_empty(pf, sl);
	}
	pthread_mutex_unlock(&pf->mu);
	return (rc);
}
