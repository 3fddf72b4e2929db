/*
 * The repository: opening with a key, the config, blobs in and out of
 * packs, index files, and whole sealed files.
 */
#include "repo/repo.h"

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
#include "xmalloc.h"

#define CONFIG_VERSION 1
#define PACK_HDR_AAD   "coffer pack header 1"
#define BLOB_MAX       PACK_BLOB_RAW_MAX

struct repo {
	struct stor *st;
	struct key_master *master;
	char id[REPO_HEX_LEN + 1];
	char key_id[REPO_HEX_LEN + 1];
	struct chunker_params cp;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	int level;
	int put_level; /* repo_set_compression; 0: level */
	uint32_t pack_size;
	int verify;

	struct crypto_hmac *idmac;
	struct crypto_aead *blob_aead, *file_aead;
	struct compress *cz;

	struct idx *idx;     /* every blob in a written pack */
	struct idx *pending; /* blobs in the pack being filled */
	uint32_t unindexed;  /* first pack number not yet in an index file */
	struct pack_writer *pw;

	struct repo_bad_file *bad_idx; /* index files left out */
	size_t nbad_idx;
	struct repo_bad_file *misnamed_idx; /* used, but renamed */
	size_t nmisnamed_idx;

	struct lock *lock;            /* NULL when opened without one */
	struct sealer *inline_sealer; /* used when there are no workers */
	struct opool *pool;           /* compress+seal+verify workers */
	struct opool *rpool;          /* read-ahead for repo_blobs_read */
	struct sealer **sealers;      /* one per sealing worker */
	struct rctx *rctx;            /* one per reader */
	size_t nsealers, nrctx;
	struct wq *wq; /* packs on their way to the store */
	int nworkers;  /* -1: as many as CPUs */
	struct repo_stats stats;
};

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

static const char *
file_aad(const char *dir, char *buf, size_t size)
{
	snprintf(buf, size, "coffer %s 1", dir);
	return (buf);
}

void
repo_pack_name(const uint8_t id[IDX_ID_LEN], char *out, size_t size)
{
	char hex[REPO_HEX_LEN + 1];

	crypto_hex_encode(id, IDX_ID_LEN, hex);
	snprintf(out, size, "data/%.2s/%s", hex, hex);
}

static void
grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (*cap >= need)
		return;
	*cap = need + need / 4;
	free(*buf);
	*buf = xmalloc(*cap);
}

/* Subkeys, contexts and gear table from the master key. */
static int
setup_crypto(struct repo *r, struct err *e)
{
	if ((r->idmac = crypto_hmac_new(key_master_id_key(r->master),
	         KEY_SECRET_LEN, e)) == NULL ||
	    (r->blob_aead = crypto_aead_new(key_master_blob_key(r->master),
	         e)) == NULL ||
	    (r->file_aead =
	            crypto_aead_new(key_master_file_key(r->master), e)) == NULL)
		return (-1);
	crypto_gear_table(key_master_gear_key(r->master), r->gear);
	return (0);
}

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

static void
sealer_free(struct sealer *z)
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

	grow(&j->out, &j->out_cap, need);
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

		grow(&z->vbuf, &z->vcap, j->outlen);
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
			grow(&z->dbuf, &z->dcap, j->n + 1);
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

static void
sealers_free(struct repo *r)
{
	opool_free(r->pool, job_cleanup);
	r->pool = NULL;
	for (size_t i = 0; i < r->nsealers; i++)
		sealer_free(r->sealers[i]);
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
	sealers_free(r);
	return (-1);
}

static struct repo *
repo_alloc(void)
{
	struct repo *r = xcalloc(1, sizeof(*r));

	r->verify = 1;
	r->nworkers = -1;
	r->idx = idx_new();
	r->pending = idx_new();
	r->pw = pack_writer_new();
	return (r);
}

static void readers_free(struct repo *);
static void wq_free(struct wq *);

void
repo_close(struct repo *r)
{
	if (r == NULL)
		return;
	sealers_free(r);
	readers_free(r);
	wq_free(r->wq);
	r->wq = NULL;
	lock_free(r->lock);
	stor_close(r->st);
	key_master_free(r->master);
	crypto_hmac_free(r->idmac);
	crypto_aead_free(r->blob_aead);
	crypto_aead_free(r->file_aead);
	compress_free(r->cz);
	idx_free(r->idx);
	idx_free(r->pending);
	pack_writer_free(r->pw);
	for (size_t i = 0; i < r->nbad_idx; i++)
		free(r->bad_idx[i].name);
	free(r->bad_idx);
	for (size_t i = 0; i < r->nmisnamed_idx; i++)
		free(r->misnamed_idx[i].name);
	free(r->misnamed_idx);
	sealer_free(r->inline_sealer);
	wipe(r->gear, sizeof(r->gear));
	free(r);
}

/* Seal plain under the file key with the label's associated data. */
static int
seal_file(struct repo *r, const char *label, const uint8_t *plain, size_t n,
    uint8_t **box, size_t *boxlen, struct err *e)
{
	char aad[64];

	*box = xmalloc(n + CRYPTO_AEAD_OVERHEAD);
	*boxlen = n + CRYPTO_AEAD_OVERHEAD;
	file_aad(label, aad, sizeof(aad));
	if (crypto_aead_seal(r->file_aead, plain, n, aad, strlen(aad), *box,
	        e) == -1) {
		free(*box);
		*box = NULL;
		return (-1);
	}
	return (0);
}

static int
unseal_file(struct repo *r, const char *label, const char *what,
    const uint8_t *box, size_t len, uint8_t **plain, size_t *n, struct err *e)
{
	char aad[64];
	uint8_t *out;

	*plain = NULL;
	if (len < CRYPTO_AEAD_OVERHEAD)
		return (err_set(e, ERR_CORRUPT, "%s: too short", what));
	out = xmalloc(len - CRYPTO_AEAD_OVERHEAD + 1);
	file_aad(label, aad, sizeof(aad));
	if (crypto_aead_open(r->file_aead, box, len, aad, strlen(aad), out,
	        e) == -1) {
		free(out);
		return (err_wrap(e, "%s", what));
	}
	*n = len - CRYPTO_AEAD_OVERHEAD;
	out[*n] = '\0'; /* convenient for JSON */
	*plain = out;
	return (0);
}

static int
put_config(struct repo *r, const char *json, struct err *e)
{
	uint8_t *box;
	size_t len;
	int rc;

	if (seal_file(r, "config", (const uint8_t *)json, strlen(json), &box,
	        &len, e) == -1)
		return (-1);
	rc = stor_put(r->st, "config", box, len, STOR_NOREPLACE, e);
	free(box);
	return (rc);
}

static char *
config_encode(const struct repo *r)
{
	json_t *j;
	char *s;

	j = json_pack("{s:i, s:s, s:{s:I, s:I, s:I, s:I}, s:i, s:I}", "version",
	    CONFIG_VERSION, "id", r->id, "chunker", "min",
	    (json_int_t)r->cp.min_size, "avg", (json_int_t)r->cp.avg_size,
	    "max", (json_int_t)r->cp.max_size, "norm",
	    (json_int_t)r->cp.norm_level, "compression", r->level, "pack_size",
	    (json_int_t)r->pack_size);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (s == NULL) {
		fprintf(stderr, "coffer: out of memory encoding JSON\n");
		abort();
	}
	return (s);
}

static int
config_decode(struct repo *r, const char *text, size_t len, struct err *e)
{
	json_t *j;
	json_error_t je;
	json_int_t ver, mn, avg, mx, norm, pack;
	int level;
	const char *id;
	int rc = -1;

	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return (err_set(e, ERR_CORRUPT, "config: %s", je.text));
	if (json_unpack_ex(j, &je, JSON_STRICT,
	        "{s:I, s:s, s:{s:I, s:I, s:I, s:I}, s:i, s:I}", "version", &ver,
	        "id", &id, "chunker", "min", &mn, "avg", &avg, "max", &mx,
	        "norm", &norm, "compression", &level, "pack_size",
	        &pack) == -1) {
		err_set(e, ERR_CORRUPT, "config: %s", je.text);
		goto out;
	}
	if (ver != CONFIG_VERSION) {
		err_set(e, ERR_CORRUPT,
		    "config: format version %lld is not supported (this coffer "
		    "reads %d)",
		    (long long)ver, CONFIG_VERSION);
		goto out;
	}
	if (strlen(id) != REPO_HEX_LEN || mn < 0 || mn > UINT32_MAX ||
	    avg < 0 || avg > UINT32_MAX || mx < 0 || mx > UINT32_MAX ||
	    norm < 0 || norm > UINT32_MAX || pack < PACK_TARGET_MIN ||
	    pack > PACK_TARGET_MAX || level < -7 ||
	    level > COMPRESS_LEVEL_MAX) {
		err_set(e, ERR_CORRUPT, "config: a value is out of range");
		goto out;
	}
	memcpy(r->id, id, sizeof(r->id));
	r->cp.min_size = (uint32_t)mn;
	r->cp.avg_size = (uint32_t)avg;
	r->cp.max_size = (uint32_t)mx;
	r->cp.norm_level = (uint32_t)norm;
	if (chunker_params_check(&r->cp, e) == -1) {
		e->class = ERR_CORRUPT;
		err_wrap(e, "config");
		goto out;
	}
	r->level = level;
	r->pack_size = (uint32_t)pack;
	rc = 0;
out:
	json_decref(j);
	return (rc);
}

static int
put_key_file(struct repo *r, const void *secret, size_t secretlen,
    enum key_kind kind, const struct key_scrypt *params,
    const struct key_file_meta *meta, char idout[REPO_HEX_LEN + 1],
    struct err *e)
{
	uint8_t hash[CRYPTO_HASH_LEN];
	char *json = NULL, hex[REPO_HEX_LEN + 1], *path = NULL;
	size_t len;
	int rc = -1;

	if (key_file_create(r->master, secret, secretlen, kind, params, meta,
	        &json, &len, e) == -1)
		goto out;
	crypto_sha256(json, len, hash);
	crypto_hex_encode(hash, sizeof(hash), hex);
	path = xasprintf("keys/%s", hex);
	if (stor_put(r->st, path, (const uint8_t *)json, len, STOR_NOREPLACE,
	        e) == -1)
		goto out;
	if (idout != NULL)
		memcpy(idout, hex, sizeof(hex));
	rc = 0;
out:
	free(path);
	free(json);
	return (rc);
}

static int
count_entry(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	(*(size_t *)arg)++;
	return (0);
}

int
repo_init(const char *location, const struct repo_init_opts *o,
    const void *secret, size_t secretlen, enum key_kind kind, struct repo **out,
    struct err *e)
{
	struct repo *r = repo_alloc();
	uint8_t rid[REPO_ID_LEN];

	if (out != NULL)
		*out = NULL;
	char *cfg = NULL;
	uint64_t size;
	size_t nfiles = 0;
	int rc = -1;

	if (stor_open_opts(location, o->stor, 1, &r->st, e) == -1)
		goto out;
	switch (stor_stat(r->st, "config", &size, e)) {
	case -1:
		goto out;
	case 0:
		err_set(e, ERR_USAGE, "a repository already exists at %s",
		    location);
		goto out;
	}
	/* Refuse to scatter a repository among someone else's files. */
	if (stor_list(r->st, "keys", count_entry, &nfiles, e) == -1 ||
	    stor_list(r->st, "data", count_entry, &nfiles, e) == -1)
		goto out;
	if (nfiles > 0) {
		err_set(e, ERR_USAGE,
		    "%s holds repository files but no config (an interrupted "
		    "init?); remove it or choose another location",
		    location);
		goto out;
	}
	if (o->chunker.avg_size == 0)
		chunker_params_default(&r->cp);
	else
		r->cp = o->chunker;
	if (chunker_params_check(&r->cp, e) == -1)
		goto out;
	r->level = o->compression ? o->compression : COMPRESS_LEVEL_DEFAULT;
	if ((r->cz = compress_new(r->level, e)) == NULL)
		goto out;
	r->pack_size = o->pack_size ? o->pack_size : REPO_PACK_SIZE_DEFAULT;
	if (r->pack_size < PACK_TARGET_MIN || r->pack_size > PACK_TARGET_MAX) {
		err_set(e, ERR_USAGE, "pack size must be 1 MiB to 1 GiB");
		goto out;
	}
	if (crypto_random(rid, sizeof(rid), e) == -1)
		goto out;
	crypto_hex_encode(rid, sizeof(rid), r->id);
	if ((r->master = key_master_new(e)) == NULL || setup_crypto(r, e) == -1)
		goto out;
	/* Key first, config last: the config is what makes a repository. */
	if (put_key_file(r, secret, secretlen, kind, o->scrypt, &o->meta,
	        r->key_id, e) == -1)
		goto out;
	cfg = config_encode(r);
	if (put_config(r, cfg, e) == -1)
		goto out;
	r->unindexed = idx_pack_count(r->idx);
	if (out != NULL) {
		*out = r;
		r = NULL;
	}
	rc = 0;
out:
	free(cfg);
	if (rc == -1)
		err_wrap(e, "init %s", location);
	repo_close(r);
	return (rc);
}

int
repo_file_put(struct repo *r, const char *dir, const uint8_t *plain, size_t n,
    char name[REPO_HEX_LEN + 1], struct err *e)
{
	uint8_t *box = NULL, hash[CRYPTO_HASH_LEN];
	char *path = NULL;
	size_t len;
	int rc = -1;

	if (seal_file(r, dir, plain, n, &box, &len, e) == -1)
		goto out;
	crypto_sha256(box, len, hash);
	crypto_hex_encode(hash, sizeof(hash), name);
	path = xasprintf("%s/%s", dir, name);
	if (stor_put(r->st, path, box, len, STOR_NOREPLACE, e) == -1)
		goto out;
	rc = 0;
out:
	free(path);
	free(box);
	return (rc);
}

int
repo_file_get(struct repo *r, const char *dir, const char *name,
    uint8_t **plain, size_t *n, struct err *e)
{
	uint8_t *box = NULL, hash[CRYPTO_HASH_LEN];
	char hex[REPO_HEX_LEN + 1], *path;
	size_t len;
	int rc = -1;

	*plain = NULL;
	*n = 0;
	path = xasprintf("%s/%s", dir, name);
	if (stor_get(r->st, path, REPO_FILE_MAX, &box, &len, e) == -1)
		goto out;
	/* The name is the hash of the bytes: a check that needs no key. */
	crypto_sha256(box, len, hash);
	crypto_hex_encode(hash, sizeof(hash), hex);
	if (strcmp(hex, name) != 0) {
		err_set(e, ERR_CORRUPT, "%s: content does not match its name",
		    path);
		goto out;
	}
	rc = unseal_file(r, dir, path, box, len, plain, n, e);
out:
	free(box);
	free(path);
	return (rc);
}

/* A 64-hex-digit secret may be a machine key: those files cost no KDF. */
static int
looks_machine(const void *secret, size_t len)
{
	const char *s = secret;

	if (len != KEY_MACHINE_HEXLEN)
		return (0);
	for (size_t i = 0; i < len; i++)
		if (strchr("0123456789abcdefABCDEF", s[i]) == NULL ||
		    s[i] == '\0')
			return (0);
	return (1);
}

struct name_list {
	char **names;
	size_t n, cap;
};

static int
collect_name(void *arg, const char *name, uint64_t size)
{
	struct name_list *l = arg;

	(void)size;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->names = xreallocarray(l->names, l->cap, sizeof(char *));
	}
	l->names[l->n++] = xstrdup(name);
	return (0);
}

static void
name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = l->cap = 0;
}

static int is_hex(const char *, size_t);
static int get_key_file(struct repo *, const char *, uint8_t **, size_t *,
    struct err *);

/* Key files an open left out for the KDF budget, for its message. */
struct skipped {
	size_t n;
	char names[4 * (sizeof("keys/12345678, ") - 1) + 1];
};

static void
skipped_add(struct skipped *s, const char *id)
{
	size_t at = strlen(s->names);

	if (s->n++ < 4)
		snprintf(s->names + at, sizeof(s->names) - at, "%skeys/%.8s",
		    at > 0 ? ", " : "", id);
}

/*
 * Try key file keys/<id> (checked against its name) with secret, unless
 * its KDF cost exceeds *budget, which it is then added to s; what it costs
 * is taken from *budget.  0 when it opened (*kind: its kind); -1 with e
 * otherwise: ERR_KEY when the secret does not open it (or it was
 * skipped), anything else when it is damaged or unreadable.
 */
static int
try_key(struct repo *r, const char *id, const void *secret, size_t secretlen,
    uint64_t *budget, struct skipped *s, enum key_kind *kind, struct err *e)
{
	struct key_file_info info;
	uint8_t *json = NULL;
	uint64_t cost = 0;
	size_t len;
	int rc = -1;

	if (get_key_file(r, id, &json, &len, e) == -1 ||
	    key_file_info(json, len, &info, e) == -1)
		goto out;
	if (info.kind == KEY_KIND_PASSPHRASE)
		cost = key_scrypt_cost(&info.scrypt);
	if (cost > *budget) {
		skipped_add(s, id);
		err_set(e, ERR_KEY, "keys/%s: beyond the KDF budget", id);
		goto out;
	}
	*budget -= cost;
	if (key_file_open(json, len, secret, secretlen, &r->master, e) == -1)
		goto out;
	snprintf(r->key_id, sizeof(r->key_id), "%s", id);
	*kind = info.kind;
	rc = 0;
out:
	free(json);
	return (rc);
}

/*
 * Find the key file that secret opens: the one the local hint names
 * first, then the others in key_plan's order within the KDF budget, so
 * that files planted in keys/ cost a bounded time.  tag names the
 * repository for the hint (the SHA-256 of its config file); NULL: none.
 * The hint is for passphrases: a secret that may be a machine key tries
 * the machine key files first anyway, at no KDF cost, and a machine key
 * that opened is not recorded (a cron job's machine key and a person's
 * passphrase on one host would otherwise take turns in the hint).
 */
static int
open_key(struct repo *r, const char *tag, const void *secret, size_t secretlen,
    struct err *e)
{
	struct name_list keys = { NULL, 0, 0 };
	struct skipped skip = { 0, "" };
	struct key_cand *cand = NULL;
	int machine = looks_machine(secret, secretlen), rc = -1;
	size_t bad = 0, tried = 0, ncand = 0;
	char hint[KEY_ID_HEXLEN + 1] = "";
	enum key_kind kind = KEY_KIND_MACHINE;
	uint64_t budget;
	struct err ke;

	if (key_kdf_budget(&budget, e) == -1)
		goto out;
	if (stor_list(r->st, "keys", collect_name, &keys, e) == -1)
		goto out;
	if (keys.n == 0) {
		err_set(e, ERR_CORRUPT, "repository %s has no key files",
		    stor_location(r->st));
		goto out;
	}
	/* A hint that names no file here is no hint. */
	if (tag != NULL && !machine && key_hint_get(tag, hint) == 0) {
		size_t i;

		for (i = 0; i < keys.n; i++)
			if (strcmp(keys.names[i] + strlen("keys/"), hint) == 0)
				break;
		if (i == keys.n)
			hint[0] = '\0';
	}
	if (hint[0] != '\0') {
		if (try_key(r, hint, secret, secretlen, &budget, &skip, &kind,
		        &ke) == 0)
			goto opened;
		if (skip.n == 0)
			tried++;
		if (ke.class != ERR_KEY)
			bad++;
	}
	cand = xcalloc(keys.n, sizeof(*cand));
	for (size_t i = 0; i < keys.n; i++) {
		const char *id = keys.names[i] + strlen("keys/");
		struct key_file_info info;
		uint8_t *json = NULL;
		size_t len;

		if (strcmp(id, hint) == 0)
			continue; /* tried above */
		if (!is_hex(id, REPO_HEX_LEN) ||
		    get_key_file(r, id, &json, &len, &ke) == -1 ||
		    key_file_info(json, len, &info, &ke) == -1) {
			bad++;
			free(json);
			continue;
		}
		free(json);
		if (info.kind == KEY_KIND_MACHINE && !machine)
			continue;
		cand[ncand].tag = i;
		cand[ncand].kind = info.kind;
		if (info.kind == KEY_KIND_PASSPHRASE)
			cand[ncand].cost = key_scrypt_cost(&info.scrypt);
		ncand++;
	}
	/* The order only: try_key spends the budget and skips for it. */
	(void)key_plan(cand, ncand, budget);
	for (size_t i = 0; i < ncand; i++) {
		const char *id = keys.names[cand[i].tag] + strlen("keys/");
		size_t before = skip.n;

		if (try_key(r, id, secret, secretlen, &budget, &skip, &kind,
		        &ke) == 0)
			goto opened;
		if (skip.n > before)
			continue;
		tried++;
		if (ke.class != ERR_KEY)
			bad++;
	}
	if (skip.n > 0)
		err_set(e, ERR_KEY,
		    "wrong passphrase or key for %s (%zu key files tried; %zu "
		    "more not tried, beyond the KDF budget of one open: %s%s; "
		    "raise %s to try them, and run coffer check)",
		    stor_location(r->st), tried, skip.n, skip.names,
		    skip.n > 4 ? ", ..." : "", KEY_KDF_BUDGET_ENV);
	else if (bad > 0)
		err_set(e, ERR_KEY,
		    "wrong passphrase or key for %s (%zu key files tried, %zu "
		    "more damaged: run coffer check)",
		    stor_location(r->st), tried, bad);
	else
		err_set(e, ERR_KEY, "wrong passphrase or key for %s",
		    stor_location(r->st));
	goto out;
opened:
	/* Only when it changed: an open must not need a writable cache. */
	if (tag != NULL && kind == KEY_KIND_PASSPHRASE &&
	    strcmp(hint, r->key_id) != 0)
		key_hint_put(tag, r->key_id);
	rc = 0;
out:
	free(cand);
	name_list_free(&keys);
	return (rc);
}

/*
 * Merge one index file, decoded on the side first so that a file that
 * fails half-way adds nothing (idx_decode may leave part).  A file whose
 * name is not the SHA-256 of its bytes but that authenticates is used
 * (*misnamed set, e saying why): every blob read is checked against its
 * id, so a location from it can only help.
 */
static int
load_index(struct repo *r, const char *name, int *misnamed, struct err *e)
{
	uint8_t *box = NULL, *plain = NULL, hash[CRYPTO_HASH_LEN];
	char hex[REPO_HEX_LEN + 1];
	struct idx *trial = NULL;
	size_t len, n;
	int rc = -1;

	*misnamed = 0;
	if (stor_get(r->st, name, REPO_FILE_MAX, &box, &len, e) == -1)
		goto out;
	crypto_sha256(box, len, hash);
	crypto_hex_encode(hash, sizeof(hash), hex);
	if (strcmp(hex, name + strlen("index/")) != 0)
		*misnamed = 1;
	if (unseal_file(r, "index", name, box, len, &plain, &n, e) == -1) {
		if (*misnamed) /* damage, most likely: say it as before */
			err_set(e, ERR_CORRUPT,
			    "%s: content does not match its name", name);
		*misnamed = 0;
		goto out;
	}
	trial = idx_new();
	if (idx_decode(trial, plain, n, e) == -1) {
		err_wrap(e, "%s", name);
		*misnamed = 0;
		goto out;
	}
	if (idx_decode(r->idx, plain, n, e) == -1) {
		err_wrap(e, "%s", name);
		goto out;
	}
	if (*misnamed)
		err_set(e, ERR_CORRUPT,
		    "%s: its name is not the SHA-256 of its bytes (%.16s...): "
		    "an index file renamed, which coffer never does",
		    name, hex);
	rc = 0;
out:
	idx_free(trial);
	free(plain);
	free(box);
	return (rc);
}

static void
bad_file_add(struct repo_bad_file **v, size_t *n, const char *name,
    const struct err *why)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].err = *why;
	(*n)++;
}

/*
 * Load every index file.  One that is damaged (ERR_CORRUPT: unreadable
 * as an index, failing authentication) is left out and listed, whatever
 * the flags: the others still say where everything they name is, and a
 * read of a blob only it named fails as missing.  Other failures (the
 * store, the network) fail the open unless REPO_OPEN_SKIP_BAD_INDEX.
 */
static int
load_indexes(struct repo *r, int flags, struct err *e)
{
	struct name_list files = { NULL, 0, 0 };
	int skip = (flags & REPO_OPEN_SKIP_BAD_INDEX) != 0, rc = -1;
	struct err ie;

	if (stor_list(r->st, "index", collect_name, &files, e) == -1)
		goto out;
	for (size_t i = 0; i < files.n; i++) {
		int misnamed;

		if (load_index(r, files.names[i], &misnamed, &ie) == 0) {
			if (misnamed)
				bad_file_add(&r->misnamed_idx,
				    &r->nmisnamed_idx, files.names[i], &ie);
			continue;
		}
		if (!skip && ie.class != ERR_CORRUPT) {
			*e = ie;
			goto out;
		}
		bad_file_add(&r->bad_idx, &r->nbad_idx, files.names[i], &ie);
	}
	r->unindexed = idx_pack_count(r->idx);
	rc = 0;
out:
	name_list_free(&files);
	return (rc);
}

const struct repo_bad_file *
repo_bad_indexes(const struct repo *r, size_t *n)
{
	*n = r->nbad_idx;
	return (r->bad_idx);
}

const struct repo_bad_file *
repo_misnamed_indexes(const struct repo *r, size_t *n)
{
	*n = r->nmisnamed_idx;
	return (r->misnamed_idx);
}

int
repo_open(const char *location, const void *secret, size_t secretlen,
    struct repo **out, struct err *e)
{
	return (repo_open_locked(location, secret, secretlen, REPO_LOCK_NONE,
	    NULL, out, e));
}

int
repo_open_locked(const char *location, const void *secret, size_t secretlen,
    enum repo_lock_mode mode, const struct lock_opts *lo, struct repo **out,
    struct err *e)
{
	return (
	    repo_open_flags(location, secret, secretlen, 0, mode, lo, out, e));
}

int
repo_open_flags(const char *location, const void *secret, size_t secretlen,
    int flags, enum repo_lock_mode mode, const struct lock_opts *lo,
    struct repo **out, struct err *e)
{
	return (repo_open_opts(location, NULL, secret, secretlen, flags, mode,
	    lo, out, e));
}

int
repo_open_opts(const char *location, const struct stor_opts *so,
    const void *secret, size_t secretlen, int flags, enum repo_lock_mode mode,
    const struct lock_opts *lo, struct repo **out, struct err *e)
{
	struct repo *r = repo_alloc();
	uint8_t *box = NULL, *cfg = NULL, hash[CRYPTO_HASH_LEN];
	char tag[REPO_HEX_LEN + 1];
	size_t len, n;
	uint64_t size;
	int rc = -1;

	*out = NULL;
	if (stor_open_opts(location, so, 0, &r->st, e) == -1)
		goto out;
	switch (stor_stat(r->st, "config", &size, e)) {
	case -1:
		goto out;
	case 1:
		err_set(e, ERR_NOREPO, "no repository at %s (no config file)",
		    location);
		goto out;
	}
	/* The config's hash names the repository for the key hint. */
	if (stor_get(r->st, "config", REPO_CONFIG_MAX, &box, &len, e) == -1)
		goto out;
	crypto_sha256(box, len, hash);
	crypto_hex_encode(hash, sizeof(hash), tag);
	if (open_key(r, (flags & REPO_OPEN_KEY_HINT) ? tag : NULL, secret,
	        secretlen, e) == -1 ||
	    setup_crypto(r, e) == -1)
		goto out;
	if (unseal_file(r, "config", "config", box, len, &cfg, &n, e) == -1 ||
	    config_decode(r, (const char *)cfg, n, e) == -1)
		goto out;
	if ((r->cz = compress_new(r->level, e)) == NULL)
		goto out;
	/* Locked before the index is read: prune rewrites it. */
	if (mode != REPO_LOCK_NONE &&
	    lock_acquire(r->st,
	        mode == REPO_LOCK_EXCLUSIVE ? LOCK_EXCLUSIVE : LOCK_SHARED, lo,
	        &r->lock, e) == -1)
		goto out;
	if (load_indexes(r, flags, e) == -1)
		goto out;
	*out = r;
	r = NULL;
	rc = 0;
out:
	free(box);
	free(cfg);
	repo_close(r);
	return (rc);
}

struct stor *
repo_store(struct repo *r)
{
	return (r->st);
}

const char *
repo_location(const struct repo *r)
{
	return (stor_location(r->st));
}

const char *
repo_id(const struct repo *r)
{
	return (r->id);
}

const char *
repo_key_id(const struct repo *r)
{
	return (r->key_id);
}

const struct key_master *
repo_master(const struct repo *r)
{
	return (r->master);
}

const struct chunker_params *
repo_chunker_params(const struct repo *r)
{
	return (&r->cp);
}

const uint64_t *
repo_gear(const struct repo *r)
{
	return (r->gear);
}

void
repo_set_verify_before_write(struct repo *r, int on)
{
	r->verify = on;
}

const struct idx *
repo_index(const struct repo *r)
{
	return (r->idx);
}

void
repo_get_stats(const struct repo *r, struct repo_stats *s)
{
	*s = r->stats;
}

int
repo_blob_known(struct repo *r, const uint8_t id[IDX_ID_LEN])
{
	return (
	    idx_find(r->idx, id) != NULL || idx_find(r->pending, id) != NULL);
}

/*
 * Open a sealed blob in buf (len bytes) and return its plaintext, checked
 * against id, type and raw length, and (mac not NULL) its keyed hash.
 * buf is used as scratch.  The contexts belong to the calling thread.
 */
static int
open_blob_with(struct crypto_aead *aead, struct compress *cz,
    struct crypto_hmac *mac, const uint8_t id[IDX_ID_LEN], uint8_t type,
    uint32_t raw_length, uint8_t *buf, size_t len, uint8_t **out,
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
	if (method == COMPRESS_RAW) {
		n = plen - 1;
		if (n != raw_length)
			return (err_set(e, ERR_CORRUPT,
			    "blob holds %zu bytes, index says %u", n,
			    raw_length));
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
	return (open_blob_with(r->blob_aead, r->cz, r->idmac, id, type,
	    raw_length, buf, len, out, outlen, e));
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
	size_t len;
};

struct wq {
	struct stor *st;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wq_item item[2];
	size_t head, count;
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
		free(it.buf);
		pthread_mutex_lock(&q->mu);
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
wq_push(struct repo *r, const char *name, uint8_t *buf, size_t len,
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
	q->count++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return (0);
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

static void
wq_free(struct wq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->th, NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}

static int
write_pack(struct repo *r, struct err *e)
{
	const struct pack_blob *bl;
	uint8_t *hdr = NULL, *box = NULL, *pack = NULL, pid[CRYPTO_HASH_LEN];
	size_t hlen, plen, nb;
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
	        &plen, e) == -1)
		goto out;
	crypto_sha256(pack, plen, pid);
	repo_pack_name(pid, name, sizeof(name));
	/* Indexed now, durable by the next repo_flush: it waits for it. */
	rc = wq_push(r, name, pack, plen, e);
	pack = NULL;
	if (rc == -1)
		goto out;
	rc = -1;
	pn = idx_pack_add(r->idx, pid);
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
	grow(&j->in, &j->in_cap, n ? n : 1);
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

static size_t
default_workers(void)
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
		size_t nth =
		    r->nworkers < 0 ? default_workers() : (size_t)r->nworkers;

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
    struct crypto_hmac *mac, const uint8_t id[IDX_ID_LEN],
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
		    open_blob_with(aead, cz, mac, id, ent->type,
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

int
repo_blob_get(struct repo *r, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type type, uint8_t **out, size_t *n, struct err *e)
{
	return (get_blob_with(r, r->blob_aead, r->cz, r->idmac, id, type, out,
	    n, e));
}

/* One reader thread's contexts. */
struct rctx {
	struct crypto_aead *aead;
	struct compress *cz;
	struct crypto_hmac *mac;
};

struct rjob {
	uint8_t id[IDX_ID_LEN];
	uint8_t type;
	/* For repo_unseal_verify: the sealed bytes themselves. */
	uint8_t *in;
	size_t inlen, in_cap;
	uint32_t raw_length;
	int from_buf;
	struct repo *r;
	uint8_t *out;
	size_t len;
	int failed;
	struct err err;
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

/* Readers' job: fetch (or take) one sealed blob and open it. */
static void
read_fn(void *ctx, void *job)
{
	struct rctx *c = ctx;
	struct rjob *j = job;

	if (j->from_buf) {
		j->failed = open_blob_with(c->aead, c->cz, c->mac, j->id,
		                j->type, j->raw_length, j->in, j->inlen,
		                &j->out, &j->len, &j->err) == -1;
		/* Verified only: nothing of it is kept. */
		wipe(j->in, j->inlen);
		freezero(j->out, j->len);
		j->out = NULL;
		j->len = 0;
	} else
		j->failed = get_blob_with(j->r, c->aead, c->cz, c->mac, j->id,
		                (enum idx_blob_type)j->type, &j->out, &j->len,
		                &j->err) == -1;
}

static void
rjob_cleanup(void *job)
{
	struct rjob *j = job;

	freezero(j->out, j->len);
	free(j->in);
}

static void
readers_free(struct repo *r)
{
	opool_free(r->rpool, rjob_cleanup);
	r->rpool = NULL;
	for (size_t i = 0; i < r->nrctx; i++)
		rctx_clear(&r->rctx[i]);
	free(r->rctx);
	r->rctx = NULL;
	r->nrctx = 0;
}

/* Start the readers unless there are some, or none are wanted. */
static int
ensure_rpool(struct repo *r, struct err *e)
{
	void **ctxs;
	size_t nth;

	if (r->rpool != NULL)
		return (0);
	nth = r->nworkers < 0 ? default_workers() : (size_t)r->nworkers;
	if (nth == 0)
		return (0);
	r->rctx = xcalloc(nth, sizeof(*r->rctx));
	for (; r->nrctx < nth; r->nrctx++)
		if (rctx_init(r, &r->rctx[r->nrctx], e) == -1)
			goto fail;
	ctxs = xcalloc(nth, sizeof(*ctxs));
	for (size_t i = 0; i < nth; i++)
		ctxs[i] = &r->rctx[i];
	/* Read ahead a few chunks per thread: memory stays small. */
	r->rpool =
	    opool_new(nth, 3 * nth + 1, sizeof(struct rjob), read_fn, ctxs, e);
	free(ctxs);
	if (r->rpool == NULL)
		goto fail;
	return (0);
fail:
	readers_free(r);
	return (-1);
}

/* The next free slot of the readers' ring, emptied for a new job. */
static struct rjob *
rjob_slot(struct repo *r)
{
	struct rjob *j = opool_at(r->rpool, opool_count(r->rpool));

	j->r = r;
	j->out = NULL;
	j->len = 0;
	j->failed = 0;
	return (j);
}

/* Take every job out of the readers' ring, so the next call starts empty. */
static void
readers_drain(struct repo *r)
{
	struct rjob *j;

	while ((j = opool_head(r->rpool, 1)) != NULL) {
		freezero(j->out, j->len);
		j->out = NULL;
		opool_pop(r->rpool);
	}
}

int
repo_blobs_read(struct repo *r, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    enum idx_blob_type type, int flags,
    int (*fn)(void *, size_t, const uint8_t *, size_t, struct err *), void *arg,
    struct err *e)
{
	size_t next = 0, i;
	int rc = 0;

	(void)flags; /* every blob is rehashed: REPO_READ_REHASH is implied */

	if (n > 1 && ensure_rpool(r, e) == -1)
		return (-1);
	if (r->rpool == NULL || n <= 1) {
		/* One blob, or no threads: no hand-off to pay for. */
		for (i = 0; i < n; i++) {
			uint8_t *b;
			size_t len;

			if (get_blob_with(r, r->blob_aead, r->cz, r->idmac,
			        ids[i], type, &b, &len, e) == -1)
				return (-1);
			rc = fn(arg, i, b, len, e);
			freezero(b, len);
			if (rc == -1)
				return (-1);
		}
		return (0);
	}
	for (i = 0; i < n && rc == 0; i++) {
		struct rjob *j;

		while (
		    next < n && opool_count(r->rpool) < opool_cap(r->rpool)) {
			j = rjob_slot(r);
			memcpy(j->id, ids[next++], IDX_ID_LEN);
			j->type = (uint8_t)type;
			j->from_buf = 0;
			opool_push(r->rpool);
		}
		j = opool_head(r->rpool, 1);
		if (j->failed) {
			*e = j->err;
			rc = -1;
		} else
			rc = fn(arg, i, j->out, j->len, e);
		freezero(j->out, j->len);
		j->out = NULL;
		opool_pop(r->rpool);
	}
	readers_drain(r);
	return (rc);
}

int
repo_flush(struct repo *r, struct err *e)
{
	uint8_t *plain;
	size_t n;
	char name[REPO_HEX_LEN + 1];
	uint32_t to;
	int rc;

	if (r->pool != NULL && pool_drain(r, 0, 1, e) == -1)
		return (-1);
	if (write_pack(r, e) == -1)
		return (-1);
	/* Packs, then the index that names them. */
	if (wq_wait(r, e) == -1)
		return (err_wrap(e, "write pack"));
	to = idx_pack_count(r->idx);
	if (to == r->unindexed)
		return (0);
	idx_encode(r->idx, r->unindexed, to, &plain, &n);
	rc = repo_file_put(r, "index", plain, n, name, e);
	free(plain);
	if (rc == -1)
		return (err_wrap(e, "write index"));
	r->unindexed = to;
	return (0);
}

int
repo_key_add(struct repo *r, const void *secret, size_t secretlen,
    enum key_kind kind, const struct key_scrypt *params,
    const struct key_file_meta *meta, char id[REPO_HEX_LEN + 1], struct err *e)
{
	return (put_key_file(r, secret, secretlen, kind, params, meta, id, e));
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

/* True when s is n lowercase hex digits. */
static int
is_hex(const char *s, size_t n)
{
	return (strlen(s) == n && strspn(s, "0123456789abcdef") == n);
}

/* Read keys/<id> and check that its name is the hash of its bytes. */
static int
get_key_file(struct repo *r, const char *id, uint8_t **json, size_t *len,
    struct err *e)
{
	uint8_t hash[CRYPTO_HASH_LEN];
	char hex[REPO_HEX_LEN + 1], *path = xasprintf("keys/%s", id);
	int rc = -1;

	*json = NULL;
	if (stor_get(r->st, path, KEY_FILE_MAX, json, len, e) == -1)
		goto out;
	crypto_sha256(*json, *len, hash);
	crypto_hex_encode(hash, sizeof(hash), hex);
	if (strcmp(hex, id) != 0) {
		err_set(e, ERR_CORRUPT, "content does not match its name");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		free(*json);
		*json = NULL;
		err_wrap(e, "%s", path);
	}
	free(path);
	return (rc);
}

static int
by_created(const void *a, const void *b)
{
	const struct repo_key_entry *x = a, *y = b;

	if (x->damaged != y->damaged)
		return (x->damaged - y->damaged);
	if (!x->damaged && x->info.created != y->info.created)
		return (x->info.created < y->info.created ? -1 : 1);
	return (strcmp(x->id, y->id));
}

/* Which passphrase files an open without the hint would not try. */
static void
mark_beyond_budget(struct repo_key_entry *v, size_t n)
{
	struct key_cand *cand = xcalloc(n + 1, sizeof(*cand));
	size_t m = 0;
	uint64_t budget;
	struct err ignored;

	/* A malformed budget fails every open; here the default serves. */
	if (key_kdf_budget(&budget, &ignored) == -1)
		budget = KEY_KDF_BUDGET;
	for (size_t i = 0; i < n; i++) {
		if (v[i].damaged || v[i].info.kind != KEY_KIND_PASSPHRASE)
			continue;
		cand[m].tag = i;
		cand[m].kind = KEY_KIND_PASSPHRASE;
		cand[m].cost = key_scrypt_cost(&v[i].info.scrypt);
		m++;
	}
	(void)key_plan(cand, m, budget);
	for (size_t i = 0; i < m; i++)
		v[cand[i].tag].beyond_budget = cand[i].skip;
	free(cand);
}

int
repo_key_list(struct repo *r, struct repo_key_entry **out, size_t *n,
    struct err *e)
{
	struct name_list keys = { NULL, 0, 0 };
	struct repo_key_entry *v;

	*out = NULL;
	*n = 0;
	if (stor_list(r->st, "keys", collect_name, &keys, e) == -1) {
		name_list_free(&keys);
		return (-1);
	}
	v = xcalloc(keys.n + 1, sizeof(*v));
	for (size_t i = 0; i < keys.n; i++) {
		const char *id = keys.names[i] + strlen("keys/");
		uint8_t *json = NULL;
		size_t len;

		snprintf(v[i].id, sizeof(v[i].id), "%s", id);
		v[i].current = strcmp(id, r->key_id) == 0;
		err_clear(&v[i].err);
		if (!is_hex(id, REPO_HEX_LEN)) {
			v[i].damaged = 1;
			err_set(&v[i].err, ERR_CORRUPT,
			    "%s: not a key file name (64 hex digits)",
			    keys.names[i]);
			continue;
		}
		if (get_key_file(r, id, &json, &len, &v[i].err) == -1 ||
		    key_file_info(json, len, &v[i].info, &v[i].err) == -1) {
			if (json != NULL)
				err_wrap(&v[i].err, "%s", keys.names[i]);
			v[i].damaged = 1;
			memset(&v[i].info, 0, sizeof(v[i].info));
		}
		free(json);
	}
	mark_beyond_budget(v, keys.n);
	qsort(v, keys.n, sizeof(*v), by_created);
	*out = v;
	*n = keys.n;
	name_list_free(&keys);
	return (0);
}

int
repo_key_test(struct repo *r, const char *id, const void *secret,
    size_t secretlen, struct err *e)
{
	struct key_master *m = NULL;
	uint8_t *json = NULL;
	size_t len;
	int rc = -1;

	if (!is_hex(id, REPO_HEX_LEN)) {
		err_set(e, ERR_USAGE, "'%s' is not a key file id", id);
		goto out;
	}
	if (get_key_file(r, id, &json, &len, e) == -1)
		goto out;
	if (key_file_open(json, len, secret, secretlen, &m, e) == -1) {
		err_wrap(e, "keys/%s", id);
		goto out;
	}
	if (!crypto_equal(key_master_secret(m), key_master_secret(r->master),
	        KEY_SECRET_LEN)) {
		err_set(e, ERR_CORRUPT,
		    "keys/%s opens to another repository's master key", id);
		goto out;
	}
	rc = 0;
out:
	key_master_free(m);
	free(json);
	return (rc);
}

int
repo_key_remove(struct repo *r, const char *prefix,
    char removed[REPO_HEX_LEN + 1], struct err *e)
{
	struct repo_key_entry *v = NULL, *target = NULL, *cur = NULL;
	size_t n, len = strlen(prefix), matches = 0, intact = 0;
	char *path = NULL;
	int rc = -1;

	if (len < 4 || len > REPO_HEX_LEN ||
	    strspn(prefix, "0123456789abcdef") != len) {
		err_set(e, ERR_USAGE,
		    "'%s' is not a key id: give at least 4 hex digits of an "
		    "id from 'coffer key list'",
		    prefix);
		goto out;
	}
	if (repo_key_list(r, &v, &n, e) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(v[i].id, prefix, len) == 0) {
			matches++;
			target = &v[i];
		}
		if (v[i].current)
			cur = &v[i];
		if (!v[i].damaged)
			intact++;
	}
	if (matches != 1) {
		err_set(e, ERR_USAGE,
		    matches == 0 ? "no key file id starts with '%s' (see "
		                   "'coffer key list')"
		                 : "'%s' names more than one key file: give "
		                   "more digits",
		    prefix);
		goto out;
	}
	if (target->current) {
		if (intact <= 1)
			err_set(e, ERR_USAGE,
			    "key %.8s is the only key of this repository: "
			    "removing it would lock everyone out (add another "
			    "with 'coffer key add' first)",
			    target->id);
		else
			err_set(e, ERR_USAGE,
			    "key %.8s is the one that opened the repository: "
			    "open with another key to remove this one",
			    target->id);
		goto out;
	}
	/*
	 * The key we opened with must still be there and intact: then it
	 * remains, and whoever holds its secret can still open the
	 * repository after this removal.
	 */
	if (cur == NULL || cur->damaged) {
		err_set(e, ERR_CORRUPT,
		    "the key file that opened the repository (keys/%s) is %s "
		    "now: not removing another key (run 'coffer check')",
		    r->key_id, cur == NULL ? "gone" : "damaged");
		goto out;
	}
	path = xasprintf("keys/%s", target->id);
	if (stor_remove(r->st, path, e) == -1)
		goto out;
	if (removed != NULL)
		memcpy(removed, target->id, REPO_HEX_LEN + 1);
	rc = 0;
out:
	free(path);
	free(v);
	return (rc);
}

int
repo_lock_refresh(struct repo *r, struct err *e)
{
	if (r->lock == NULL)
		return (0);
	return (lock_refresh(r->lock, e));
}

struct pack_ent {
	char *name;
	uint64_t size;
};

struct pack_list {
	struct pack_ent *v;
	size_t n;
};

static int
collect_pack(void *arg, const char *name, uint64_t size)
{
	struct pack_list *l = arg;

	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].name = xstrdup(name);
	l->v[l->n].size = size;
	l->n++;
	return (0);
}

/* Add the blobs of one pack, read from its own header, to x. */
static int
index_pack(struct repo *r, struct idx *x, const struct pack_ent *p,
    size_t *nblobs, struct err *e)
{
	uint8_t trailer[PACK_TRAILER_LEN], id[IDX_ID_LEN], *box = NULL;
	uint8_t *plain = NULL;
	struct pack_blob *bl = NULL;
	const char *hex = strrchr(p->name, '/');
	size_t nbl = 0, pn;
	uint64_t off;
	uint32_t len;
	int rc = -1;

	if (hex == NULL || strlen(hex + 1) != REPO_HEX_LEN ||
	    crypto_hex_decode(hex + 1, REPO_HEX_LEN, id, IDX_ID_LEN, e) == -1) {
		err_set(e, ERR_CORRUPT, "%s: not a pack name", p->name);
		goto out;
	}
	if (p->size < PACK_TRAILER_LEN) {
		err_set(e, ERR_CORRUPT, "%s: too short for a pack", p->name);
		goto out;
	}
	if (stor_get_range(r->st, p->name, p->size - PACK_TRAILER_LEN,
	        PACK_TRAILER_LEN, trailer, e) == -1 ||
	    pack_trailer_parse(trailer, p->size, &off, &len, e) == -1)
		goto out;
	box = xmalloc(len ? len : 1);
	if (stor_get_range(r->st, p->name, off, len, box, e) == -1 ||
	    repo_pack_header_unseal(r, box, len, &plain, &pn, e) == -1 ||
	    pack_header_decode(plain, pn, off, &bl, &nbl, e) == -1)
		goto out;
	{
		uint32_t num = idx_pack_add(x, id);

		for (size_t i = 0; i < nbl; i++) {
			struct idx_entry ent;

			memcpy(ent.id, bl[i].id, IDX_ID_LEN);
			ent.pack = num;
			ent.offset = bl[i].offset;
			ent.length = bl[i].length;
			ent.raw_length = bl[i].raw_length;
			ent.type = bl[i].type;
			(void)idx_add(x, &ent);
		}
	}
	*nblobs += nbl;
	rc = 0;
out:
	if (rc == -1)
		err_wrap(e, "%s", p->name);
	free(box);
	free(plain);
	free(bl);
	return (rc);
}

int
repo_rebuild_index(struct repo *r, struct repo_rebuild_stats *st, struct err *e)
{
	struct pack_list packs = { NULL, 0 };
	struct name_list old = { NULL, 0, 0 };
	char(*written)[REPO_HEX_LEN + 1] = NULL;
	struct idx *x = idx_new();
	uint32_t np;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (stor_list(r->st, "index", collect_name, &old, e) == -1 ||
	    stor_list(r->st, "data", collect_pack, &packs, e) == -1)
		goto out;
	for (size_t i = 0; i < packs.n; i++) {
		struct err pe;

		if (index_pack(r, x, &packs.v[i], &st->blobs, &pe) == 0) {
			st->packs++;
			continue;
		}
		if (pe.class != ERR_CORRUPT) {
			*e = pe;
			goto out;
		}
		/* A damaged pack is left out; its blobs are lost anyway. */
		if (st->packs_bad++ == 0)
			snprintf(st->first_bad, sizeof(st->first_bad), "%s",
			    pe.msg);
	}
	/* New index files first, 2,000 packs each, then the old ones go. */
	np = idx_pack_count(x);
	written = xcalloc((size_t)np / 2000 + 1, sizeof(*written));
	for (uint32_t from = 0; from < np; from += 2000) {
		uint32_t to = np - from > 2000 ? from + 2000 : np;
		uint8_t *plain;
		size_t n;
		int prc;

		idx_encode(x, from, to, &plain, &n);
		prc = repo_file_put(r, "index", plain, n,
		    written[st->index_written], e);
		free(plain);
		if (prc == -1 && e->sys_errno != EEXIST)
			goto out;
		st->index_written++;
	}
	for (size_t i = 0; i < old.n; i++) {
		int keep = 0;

		for (size_t k = 0; k < st->index_written; k++)
			if (strcmp(old.names[i] + strlen("index/"),
			        written[k]) == 0)
				keep = 1;
		if (keep)
			continue;
		if (stor_remove(r->st, old.names[i], e) == -1)
			goto out;
		st->index_removed++;
	}
	idx_free(r->idx);
	r->idx = x;
	x = NULL;
	r->unindexed = idx_pack_count(r->idx);
	rc = 0;
out:
	idx_free(x);
	free(written);
	for (size_t i = 0; i < packs.n; i++)
		free(packs.v[i].name);
	free(packs.v);
	name_list_free(&old);
	return (rc);
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

		/* Keep the ring full while blobs come. */
		while (more && opool_count(p) < opool_cap(p)) {
			uint8_t id[IDX_ID_LEN], type;
			uint32_t raw;
			const uint8_t *sealed;
			size_t len;
			int k = next(arg, id, &type, &raw, &sealed, &len);

			if (k != 0) {
				more = 0;
				if (k == -1)
					rc = -1;
				break;
			}
			j = rjob_slot(r);
			memcpy(j->id, id, IDX_ID_LEN);
			j->type = type;
			j->raw_length = raw;
			j->from_buf = 1;
			grow(&j->in, &j->in_cap, len ? len : 1);
			memcpy(j->in, sealed, len);
			j->inlen = len;
			opool_push(p);
		}
		if ((j = opool_head(p, 1)) == NULL)
			break;
		done(arg, j->id, j->failed ? &j->err : NULL);
		opool_pop(p);
	}
	return (rc);
}
