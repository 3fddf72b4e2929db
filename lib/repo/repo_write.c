/*
 * The write pipeline: blobs into packs, packs into the store, then the index.
 *
 * repo_blob_put names a blob by the keyed hash of its plaintext
 * (crypto_hmac_digest) and stops there if the index or the pack being
 * filled knows the id already (deduplication).  A new blob becomes a job:
 * pool_submit hands it to the sealing workers (opool), which compress,
 * seal and, unless turned off, open it again to verify it (seal_job); with
 * no workers, the calling thread does the same.  Jobs come back in the
 * order they went in (pool_drain) and retire appends each sealed blob to
 * the pack writer; a pack that reaches the target size is finished by
 * write_pack (its header sealed, the pack named by the SHA-256 of its
 * bytes, its blobs added to the index in memory) and queued for the one
 * writer thread (wq_push), which puts it into the store while chunking and
 * sealing go on; at most two packs wait, and their buffers come back
 * (wq_spare) for the next packs to fill.  repo_flush drains the workers,
 * writes the last pack, waits until the writer has stored every pack
 * (wq_wait), and only then writes the index file that names them: an index
 * never names a pack that is not durably in the store.
 */
#include <sys/types.h>

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
#include "repo/prune.h"
#include "repo/repo.h"
#include "repo/repo_impl.h"
#include "xmalloc.h"

#define BLOB_MAX PACK_BLOB_RAW_MAX

/* One thread's contexts for turning plaintext into a sealed blob. */
struct sealer {
	struct crypto_aead *aead;
	struct compress *cz;
	uint8_t *vbuf, *dbuf; /* verification: sealed copy, plaintext */
	size_t vcap, dcap;
};

/* A blob on its way into a pack. */
struct job {
	uint8_t id[IDX_ID_LEN];
	uint8_t type;
	int verify;
	int level;         /* zstd level for this blob */
	uint8_t *in, *out; /* plaintext copy, sealed blob */
	size_t n, outlen, in_cap, out_cap;
	int failed;
	struct err err;
};

static struct sealer *
sealer_new(const struct repo *r, struct err *e)
{
	struct sealer *z = xcalloc(1, sizeof(*z));

	if ((z->aead = crypto_aead_new(key_master_blob_key(r->master), e)) ==
	        NULL ||
	    (z->cz = compress_new(r->level, e)) == NULL) {
		crypto_aead_free(z->aead);
		free(z);
		return (NULL);
	}
	return (z);
}

void
repo_sealer_free(struct sealer *z)
{
	if (z == NULL)
		return;
	crypto_aead_free(z->aead);
	compress_free(z->cz);
	free(z->vbuf);
	free(z->dbuf);
	free(z);
}

/*
 * Compress, seal and (with j->verify) check one blob.  The check opens the
 * sealed copy and compares what comes out with the plaintext the id was
 * computed from: a compressor or memory fault cannot pass it, and it costs
 * less than hashing again.
 */
static int
seal_job(struct sealer *z, struct job *j, struct err *e)
{
	enum compress_method method;
	size_t clen, need = j->n + 1 + CRYPTO_AEAD_OVERHEAD;
	uint8_t *body, hdr;

	repo_grow(&j->out, &j->out_cap, need);
	body = j->out + CRYPTO_NONCE_LEN + 1;
	if (compress_set_level(z->cz, j->level, e) == -1 ||
	    compress_encode(z->cz, j->in, j->n, body, &clen, &method, e) == -1)
		return (-1);
	if (method == COMPRESS_RAW) {
		memcpy(body, j->in, j->n);
		clen = j->n;
	}
	hdr = (uint8_t)(method | (unsigned)j->type << 4);
	body[-1] = hdr;
	if (crypto_aead_seal(z->aead, body - 1, clen + 1, j->id, IDX_ID_LEN,
	        j->out, e) == -1)
		return (-1);
	j->outlen = clen + 1 + CRYPTO_AEAD_OVERHEAD;
	if (j->verify) {
		uint8_t *pl;
		size_t got;

		repo_grow(&z->vbuf, &z->vcap, j->outlen);
		memcpy(z->vbuf, j->out, j->outlen);
		pl = z->vbuf + CRYPTO_NONCE_LEN;
		if (crypto_aead_open(z->aead, z->vbuf, j->outlen, j->id,
		        IDX_ID_LEN, pl, e) == -1)
			goto bad;
		if (pl[0] != hdr)
			goto bad;
		if (method == COMPRESS_RAW) {
			if (memcmp(pl + 1, j->in, j->n) != 0)
				goto bad;
		} else {
			repo_grow(&z->dbuf, &z->dcap, j->n + 1);
			if (compress_decode(z->cz, pl + 1, clen, z->dbuf, j->n,
			        &got, e) == -1 ||
			    got != j->n || memcmp(z->dbuf, j->in, j->n) != 0)
				goto bad;
		}
	}
	return (0);
bad:
	return (err_set(e, ERR_INTERNAL,
	    "verify before write failed: a sealed blob did not give back its "
	    "plaintext (memory or compressor fault?); nothing was written"));
}

/* Sealing workers' job: compress, seal and verify one blob. */
static void
seal_fn(void *ctx, void *job)
{
	struct job *j = job;

	j->failed = seal_job(ctx, j, &j->err) == -1;
}

static void
job_cleanup(void *job)
{
	struct job *j = job;

	free(j->in);
	free(j->out);
}

void
repo_sealers_free(struct repo *r)
{
	opool_free(r->pool, job_cleanup);
	r->pool = NULL;
	for (size_t i = 0; i < r->nsealers; i++)
		repo_sealer_free(r->sealers[i]);
	free(r->sealers);
	r->sealers = NULL;
	r->nsealers = 0;
}

static int
pool_new(struct repo *r, size_t nth, struct err *e)
{
	r->sealers = xcalloc(nth, sizeof(*r->sealers));
	for (; r->nsealers < nth; r->nsealers++)
		if ((r->sealers[r->nsealers] = sealer_new(r, e)) == NULL)
			goto fail;
	/* Enough queued work to keep every worker busy, and no more:
	 * memory stays a few chunks per worker. */
	if ((r->pool = opool_new(nth, 2 * nth + 2, sizeof(struct job), seal_fn,
	         (void *const *)r->sealers, e)) == NULL)
		goto fail;
	return (0);
fail:
	repo_sealers_free(r);
	return (-1);
}

/*
 * Packs are handed to one writer thread, so that the time the store takes
 * (write, fsync, rename, fsync of the directory) overlaps with chunking and
 * compressing.  Two packs may wait; repo_flush waits for all of them before
 * it writes the index that names them.
 */
struct wq_item {
	char name[128];
	uint8_t *buf;
	size_t len, cap;
};

#define WQ_SPARES 1

struct wq {
	struct stor *st;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wq_item item[2];
	size_t head, count;
	struct wq_item spare[WQ_SPARES]; /* stored packs' buffers, for reuse */
	size_t nspare;
	int stop, failed;
	struct err err;
	pthread_t th;
};

static void *
wq_writer(void *arg)
{
	struct wq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct wq_item it;
		struct err le;
		int rc;

		while (!q->stop && q->count == 0)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->count == 0)
			break;
		it = q->item[q->head];
		pthread_mutex_unlock(&q->mu);
		rc = stor_put(q->st, it.name, it.buf, it.len, STOR_NOREPLACE,
		    &le);
		pthread_mutex_lock(&q->mu);
		if (q->nspare < WQ_SPARES)
			q->spare[q->nspare++] = it;
		else
			free(it.buf);
		/* An existing name holds the same bytes: nothing to do. */
		if (rc == -1 && le.sys_errno != EEXIST && !q->failed) {
			q->failed = 1;
			q->err = le;
		}
		q->head = (q->head + 1) % 2;
		q->count--;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return (NULL);
}

static int
wq_push(struct repo *r, const char *name, uint8_t *buf, size_t len, size_t cap,
    struct err *e)
{
	struct wq *q = r->wq;

	if (q == NULL) {
		q = xcalloc(1, sizeof(*q));
		q->st = r->st;
		pthread_mutex_init(&q->mu, NULL);
		pthread_cond_init(&q->cv, NULL);
		if (pthread_create(&q->th, NULL, wq_writer, q) != 0) {
			pthread_mutex_destroy(&q->mu);
			pthread_cond_destroy(&q->cv);
			free(q);
			free(buf);
			return (err_set(e, ERR_INTERNAL,
			    "cannot start the pack writer thread"));
		}
		r->wq = q;
	}
	pthread_mutex_lock(&q->mu);
	while (q->count == 2 && !q->failed)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->failed) {
		*e = q->err;
		pthread_mutex_unlock(&q->mu);
		free(buf);
		return (-1);
	}
	snprintf(q->item[(q->head + q->count) % 2].name,
	    sizeof(q->item[0].name), "%s", name);
	q->item[(q->head + q->count) % 2].buf = buf;
	q->item[(q->head + q->count) % 2].len = len;
	q->item[(q->head + q->count) % 2].cap = cap;
	q->count++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return (0);
}

/* A stored pack's buffer for the pack writer to fill next, if one waits. */
static void
wq_spare(struct repo *r)
{
	struct wq *q = r->wq;
	struct wq_item it = { .buf = NULL };

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	if (q->nspare > 0)
		it = q->spare[--q->nspare];
	pthread_mutex_unlock(&q->mu);
	if (it.buf != NULL)
		pack_writer_recycle(r->pw, it.buf, it.cap);
}

/* Wait until every pack handed over is in the store (or one failed). */
static int
wq_wait(struct repo *r, struct err *e)
{
	struct wq *q = r->wq;
	int rc = 0;

	if (q == NULL)
		return (0);
	pthread_mutex_lock(&q->mu);
	while (q->count > 0 && !q->failed)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->failed) {
		*e = q->err;
		rc = -1;
	}
	pthread_mutex_unlock(&q->mu);
	return (rc);
}

void
repo_wq_free(struct wq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->th, NULL);
	while (q->nspare > 0)
		free(q->spare[--q->nspare].buf);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}

static int
write_pack(struct repo *r, struct err *e)
{
	const struct pack_blob *bl;
	uint8_t *hdr = NULL, *box = NULL, *pack = NULL, pid[CRYPTO_HASH_LEN];
	size_t hlen, plen, pcap, nb;
	char name[128];
	uint32_t pn;
	int rc = -1;

	if (pack_writer_size(r->pw) == 0)
		return (0);
	pack_writer_header(r->pw, &hdr, &hlen);
	box = xmalloc(hlen + CRYPTO_AEAD_OVERHEAD);
	if (crypto_aead_seal(r->blob_aead, hdr, hlen, PACK_HDR_AAD,
	        strlen(PACK_HDR_AAD), box, e) == -1)
		goto out;
	if (pack_writer_finish(r->pw, box, hlen + CRYPTO_AEAD_OVERHEAD, &pack,
	        &plen, &pcap, e) == -1)
		goto out;
	crypto_sha256(pack, plen, pid);
	repo_pack_name(pid, name, sizeof(name));
	/* Indexed now, durable by the next repo_flush: it waits for it. */
	rc = wq_push(r, name, pack, plen, pcap, e);
	pack = NULL;
	if (rc == -1)
		goto out;
	wq_spare(r);
	rc = -1;
	pn = idx_pack_add(r->idx, pid);
	repo_pk_set(r, pn, REPO_PK_OWN);
	bl = pack_writer_blobs(r->pw);
	nb = pack_writer_count(r->pw);
	for (size_t i = 0; i < nb; i++) {
		struct idx_entry ent;

		memcpy(ent.id, bl[i].id, IDX_ID_LEN);
		ent.pack = pn;
		ent.offset = bl[i].offset;
		ent.length = bl[i].length;
		ent.raw_length = bl[i].raw_length;
		ent.type = bl[i].type;
		(void)idx_add(r->idx, &ent);
	}
	idx_free(r->pending);
	r->pending = idx_new();
	/* Blobs still with the workers stay known. */
	for (size_t k = 0; r->pool != NULL && k < opool_count(r->pool); k++) {
		struct idx_entry pend;
		const struct job *j = opool_at(r->pool, k);

		memset(&pend, 0, sizeof(pend));
		memcpy(pend.id, j->id, IDX_ID_LEN);
		(void)idx_add(r->pending, &pend);
	}
	r->stats.packs_written++;
	r->stats.pack_bytes_written += plen;
	/* Long runs keep their lock fresh; a lost lock stops the run. */
	if (r->lock != NULL && lock_refresh(r->lock, e) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		err_wrap(e, "write pack");
	free(hdr);
	free(box);
	free(pack);
	return (rc);
}

/* A finished job goes into the pack writer (and the pack out if full). */
static int
retire(struct repo *r, struct job *j, struct err *e)
{
	if (j->failed) {
		*e = j->err;
		return (-1);
	}
	if (pack_writer_add(r->pw, j->id, j->type, j->out, j->outlen,
	        (uint32_t)j->n, e) == -1)
		return (-1);
	r->stats.stored_new += j->outlen;
	if (pack_writer_size(r->pw) >= r->pack_size)
		return (write_pack(r, e));
	return (0);
}

/*
 * Retire finished jobs from the head of the ring: those already done, or
 * (until) at least one (wait_one), or all (wait_all).
 */
static int
pool_drain(struct repo *r, int wait_one, int wait_all, struct err *e)
{
	struct job *j;

	while ((j = opool_head(r->pool, wait_one || wait_all)) != NULL) {
		/* Pack writing may take a while: the workers go on. */
		int rc = retire(r, j, e);

		opool_pop(r->pool);
		wait_one = 0;
		if (rc == -1)
			return (-1);
	}
	return (0);
}

static int
pool_submit(struct repo *r, const uint8_t id[IDX_ID_LEN], uint8_t type,
    const uint8_t *data, size_t n, struct err *e)
{
	struct opool *p = r->pool;
	struct job *j;

	if (pool_drain(r, 0, 0, e) == -1)
		return (-1);
	while (opool_count(p) == opool_cap(p))
		if (pool_drain(r, 1, 0, e) == -1)
			return (-1);
	j = opool_at(p, opool_count(p));
	memcpy(j->id, id, IDX_ID_LEN);
	j->type = type;
	j->verify = r->verify;
	j->level = r->put_level ? r->put_level : r->level;
	repo_grow(&j->in, &j->in_cap, n ? n : 1);
	memcpy(j->in, data, n);
	j->n = n;
	j->failed = 0;
	opool_push(p);
	return (0);
}

int
repo_set_compression(struct repo *r, int level, struct err *e)
{
	struct compress *c;

	if (level != 0) { /* check it now, not in a worker */
		if ((c = compress_new(level, e)) == NULL)
			return (-1);
		compress_free(c);
	}
	r->put_level = level;
	return (0);
}

void
repo_set_workers(struct repo *r, int n)
{
	r->nworkers = n;
}

size_t
repo_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 1)
		return (0);
	return (n > 8 ? 8 : (size_t)n);
}

int
repo_blob_put(struct repo *r, enum idx_blob_type type, const uint8_t *p,
    size_t n, uint8_t id[IDX_ID_LEN], int *added, struct err *e)
{
	struct idx_entry pend;

	*added = 0;
	if (n > BLOB_MAX)
		return (err_set(e, ERR_INTERNAL,
		    "blob of %zu bytes is too large", n));
	crypto_hmac_digest(r->idmac, p, n, id);
	if (repo_blob_known(r, id)) {
		r->stats.blobs_known++;
		return (0);
	}
	*added = 1;
	r->stats.blobs_new++;
	r->stats.raw_new += n;
	/*
	 * Known from here on.  Added after pool_submit's draining, which may
	 * write a pack and so reset the pending set.
	 */
	memset(&pend, 0, sizeof(pend));
	memcpy(pend.id, id, IDX_ID_LEN);
	if (r->pool == NULL && r->inline_sealer == NULL) {
		size_t nth = r->nworkers < 0 ? repo_default_workers()
		                             : (size_t)r->nworkers;

		if (nth > 0 ? pool_new(r, nth, e) == -1
		            : (r->inline_sealer = sealer_new(r, e)) == NULL)
			return (-1);
	}
	if (r->pool != NULL) {
		if (pool_submit(r, id, (uint8_t)type, p, n, e) == -1)
			return (-1);
		(void)idx_add(r->pending, &pend);
		return (0);
	} else {
		struct job j;
		int rc;

		memset(&j, 0, sizeof(j));
		memcpy(j.id, id, IDX_ID_LEN);
		j.type = (uint8_t)type;
		j.verify = r->verify;
		j.level = r->put_level ? r->put_level : r->level;
		j.in = (uint8_t *)(uintptr_t)p; /* read only: not freed */
		j.n = n;
		(void)idx_add(r->pending, &pend);
		j.failed = seal_job(r->inline_sealer, &j, &j.err) == -1;
		rc = retire(r, &j, e);
		free(j.out);
		return (rc);
	}
}

/* Every blob put so far into a pack in the store. */
static int
flush_packs(struct repo *r, struct err *e)
{
	if (r->pool != NULL && pool_drain(r, 0, 1, e) == -1)
		return (-1);
	if (write_pack(r, e) == -1)
		return (-1);
	/* Packs, then the index that names them. */
	if (wq_wait(r, e) == -1)
		return (err_wrap(e, "write pack"));
	return (0);
}

int
repo_flush_packs(struct repo *r, struct err *e)
{
	if (flush_packs(r, e) == -1)
		return (-1);
	r->unindexed = idx_pack_count(r->idx); /* the caller's to index */
	return (0);
}

int
repo_blob_put_sealed(struct repo *r, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type type, const uint8_t *sealed, size_t len,
    uint32_t raw_length, struct err *e)
{
	/* Jobs of repo_blob_put go first, in order. */
	if (r->pool != NULL && pool_drain(r, 0, 1, e) == -1)
		return (-1);
	if (pack_writer_add(r->pw, id, (uint8_t)type, sealed, len, raw_length,
	        e) == -1)
		return (-1);
	r->stats.stored_new += len;
	if (pack_writer_size(r->pw) >= r->pack_size)
		return (write_pack(r, e));
	return (0);
}

static int
by_pack_id(const void *a, const void *b)
{
	return (memcmp(a, b, IDX_ID_LEN));
}

int
repo_prune_guard_begin(struct repo *r, struct err *e)
{
	uint8_t(*c)[IDX_ID_LEN] = NULL;
	size_t nc = 0;
	uint32_t np = idx_pack_count(r->idx);

	clock_gettime(CLOCK_BOOTTIME, &r->guard_t0);
	if (prune_candidates(r, &c, &nc, e) == -1)
		return (err_wrap(e, "read the prune records"));
	for (uint32_t p = 0; nc > 0 && p < np; p++)
		if (bsearch(idx_pack_id(r->idx, p), c, nc, IDX_ID_LEN,
		        by_pack_id) != NULL)
			repo_pk_set(r, p, REPO_PK_GONE);
	free(c);
	r->guard_begun = 1;
	return (0);
}

static int
guard_check(struct repo *r, struct err *e)
{
	uint8_t(*c)[IDX_ID_LEN] = NULL;
	uint64_t margin;
	size_t nc = 0;
	double t0, t;
	char name[128];
	int rc = -1;

	if (prune_margin(&margin, e) == -1)
		return (-1);
	t0 = r->guard_begun
	    ? (double)r->guard_t0.tv_sec + (double)r->guard_t0.tv_nsec / 1e9
	    : -1e18;
	for (int pass = 0;; pass++) {
		uint32_t np = idx_pack_count(r->idx);
		struct timespec ts;
		int slow;

		clock_gettime(CLOCK_BOOTTIME, &ts);
		t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		slow = t - t0 >= (double)margin / 2;
		if (pass > 0 && (!slow || margin == 0))
			break;
		if (pass == 4) {
			err_set(e, ERR_LOCKED,
			    "the checks against a concurrent prune took longer "
			    "than half its margin (%llu s) each time: nothing "
			    "was committed; take the snapshot again",
			    (unsigned long long)margin);
			goto out;
		}
		free(c);
		c = NULL;
		if (prune_candidates(r, &c, &nc, e) == -1) {
			err_wrap(e, "read the prune records");
			goto out;
		}
		for (uint32_t p = 0; p < np; p++) {
			uint8_t st = repo_pk_get(r, p);
			uint64_t size;
			int k;

			if (!(st & (REPO_PK_USED | REPO_PK_OWN)))
				continue;
			repo_pack_name(idx_pack_id(r->idx, p), name,
			    sizeof(name));
			if (nc > 0 &&
			    bsearch(idx_pack_id(r->idx, p), c, nc, IDX_ID_LEN,
			        by_pack_id) != NULL) {
				err_set(e, ERR_LOCKED,
				    "a prune that ran meanwhile marked %s, "
				    "which this snapshot uses, for deletion: "
				    "nothing was committed; take the snapshot "
				    "again",
				    name);
				goto out;
			}
			if (!slow)
				continue;
			if ((k = stor_stat(r->st, name, &size, e)) == -1)
				goto out;
			if (k == 1) {
				err_set(e, ERR_LOCKED,
				    "%s, which this snapshot uses, was "
				    "deleted by a prune that ran meanwhile "
				    "(was a lock removed?): nothing was "
				    "committed; take the snapshot again",
				    name);
				goto out;
			}
		}
		/* Checked as of the listing: the clock restarts there. */
		t0 = t;
		r->guard_t0 = ts;
		r->guard_begun = 1;
		if (!slow)
			break;
	}
	rc = 0;
out:
	free(c);
	return (rc);
}

int
repo_prune_guard_commit(struct repo *r, struct err *e)
{
	/* Packs, the check, then the index: an index never names a pack
	 * that a prune deleted meanwhile. */
	if (flush_packs(r, e) == -1 || guard_check(r, e) == -1)
		return (-1);
	return (repo_flush(r, e));
}

int
repo_flush(struct repo *r, struct err *e)
{
	uint8_t *plain;
	size_t n;
	char name[REPO_HEX_LEN + 1], seen[REPO_HEX_LEN + sizeof("index/")];
	uint32_t to;
	int rc;

	if (flush_packs(r, e) == -1)
		return (-1);
	to = idx_pack_count(r->idx);
	if (to == r->unindexed)
		return (0);
	idx_encode(r->idx, r->unindexed, to, &plain, &n);
	rc = repo_file_put(r, "index", plain, n, name, e);
	free(plain);
	if (rc == -1)
		return (err_wrap(e, "write index"));
	snprintf(seen, sizeof(seen), "index/%s", name);
	repo_idx_seen_add(r, seen); /* not loaded again by a refresh */
	r->unindexed = to;
	return (0);
}
