/*
 * The repository: creating and opening it with a key, the config, key
 * files, index files loaded at open, and whole sealed files.  Blobs go in
 * through repo_write.c and come out through repo_read.c; repo_rebuild.c
 * writes the index again from the packs.
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
#include "repo/oplog.h"
#include "repo/opool.h"
#include "repo/pack.h"
#include "repo/repo_impl.h"
#include "xmalloc.h"

#define CONFIG_VERSION 1

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

void
repo_grow(uint8_t **buf, size_t *cap, size_t need)
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

void
repo_close(struct repo *r)
{
	if (r == NULL)
		return;
	repo_sealers_free(r);
	repo_readers_free(r);
	repo_wq_free(r->wq);
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
	repo_name_list_free(&r->idx_seen);
	for (size_t i = 0; i < r->nbad_idx; i++)
		free(r->bad_idx[i].name);
	free(r->bad_idx);
	for (size_t i = 0; i < r->nmisnamed_idx; i++)
		free(r->misnamed_idx[i].name);
	free(r->misnamed_idx);
	repo_sealer_free(r->inline_sealer);
	free(r->pk);
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
	/* Only now is there a repository whose log can say so. */
	r->actor = o->actor;
	oplog_record_key(r, OPLOG_INIT, r->key_id, NULL);
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

int
repo_collect_name(void *arg, const char *name, uint64_t size)
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

void
repo_name_list_free(struct name_list *l)
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
	if (stor_list(r->st, "keys", repo_collect_name, &keys, e) == -1)
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
	repo_name_list_free(&keys);
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

static int
by_name(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
idx_seen(const struct repo *r, const char *name)
{
	return (r->idx_seen.n > 0 &&
	    bsearch(&name, r->idx_seen.names, r->idx_seen.n,
	        sizeof(*r->idx_seen.names), by_name) != NULL);
}

void
repo_idx_seen_add(struct repo *r, const char *name)
{
	if (idx_seen(r, name))
		return;
	(void)repo_collect_name(&r->idx_seen, name, 0);
	qsort(r->idx_seen.names, r->idx_seen.n, sizeof(*r->idx_seen.names),
	    by_name);
}

/*
 * Load every index file not seen yet.  One that is damaged (ERR_CORRUPT:
 * unreadable as an index, failing authentication) is left out and listed,
 * whatever the flags: the others still say where everything they name is,
 * and a read of a blob only it named fails as missing.  Other failures
 * (the store, the network) fail unless REPO_OPEN_SKIP_BAD_INDEX.
 */
static int
load_indexes(struct repo *r, int flags, struct err *e)
{
	struct name_list files = { NULL, 0, 0 };
	int skip = (flags & REPO_OPEN_SKIP_BAD_INDEX) != 0, rc = -1;
	struct err ie;

	if (stor_list(r->st, "index", repo_collect_name, &files, e) == -1)
		goto out;
	for (size_t i = 0; i < files.n; i++) {
		int misnamed;

		if (idx_seen(r, files.names[i]))
			continue;
		if (load_index(r, files.names[i], &misnamed, &ie) == 0) {
			if (misnamed)
				bad_file_add(&r->misnamed_idx,
				    &r->nmisnamed_idx, files.names[i], &ie);
		} else if (!skip && ie.class != ERR_CORRUPT) {
			*e = ie;
			goto out;
		} else
			bad_file_add(&r->bad_idx, &r->nbad_idx, files.names[i],
			    &ie);
		(void)repo_collect_name(&r->idx_seen, files.names[i], 0);
	}
	if (r->idx_seen.n > 1)
		qsort(r->idx_seen.names, r->idx_seen.n,
		    sizeof(*r->idx_seen.names), by_name);
	r->unindexed = idx_pack_count(r->idx);
	rc = 0;
out:
	repo_name_list_free(&files);
	return (rc);
}

int
repo_index_refresh(struct repo *r, struct err *e)
{
	/* A writer's unindexed packs must stay the last pack numbers. */
	if (r->unindexed != idx_pack_count(r->idx) || idx_count(r->pending) > 0)
		return (0);
	return (load_indexes(r, 0, e));
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

void
repo_set_actor(struct repo *r, const struct oplog_actor *a)
{
	r->actor = a;
}

const struct oplog_actor *
repo_actor(const struct repo *r)
{
	return (r->actor);
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

void
repo_pk_set(struct repo *r, uint32_t pack, uint8_t bits)
{
	if (pack >= r->npk) {
		size_t n = r->npk ? r->npk : 64;

		while (n <= pack)
			n *= 2;
		r->pk = xreallocarray(r->pk, n, 1);
		memset(r->pk + r->npk, 0, n - r->npk);
		r->npk = n;
	}
	r->pk[pack] |= bits;
}

uint8_t
repo_pk_get(const struct repo *r, uint32_t pack)
{
	return (pack < r->npk ? r->pk[pack] : 0);
}

const struct idx_entry *
repo_blob_reuse(struct repo *r, const uint8_t id[IDX_ID_LEN])
{
	const struct idx_entry *ent;

	/* A copy only in packs a prune marked counts as absent: stored
	 * again, it cannot be deleted under the snapshot (FORMAT.md). */
	for (ent = idx_find(r->idx, id); ent != NULL;
	     ent = idx_find_next(r->idx, ent))
		if (!(repo_pk_get(r, ent->pack) & REPO_PK_GONE)) {
			repo_pk_set(r, ent->pack, REPO_PK_USED);
			return (ent);
		}
	return (NULL);
}

int
repo_blob_known(struct repo *r, const uint8_t id[IDX_ID_LEN])
{
	return (
	    idx_find(r->pending, id) != NULL || repo_blob_reuse(r, id) != NULL);
}

const char *
repo_lock_file(const struct repo *r)
{
	return (r->lock != NULL ? lock_name(r->lock) : NULL);
}

void
repo_index_files(const struct repo *r, char *const **names, size_t *n)
{
	*names = r->idx_seen.names;
	*n = r->idx_seen.n;
}

int
repo_key_add(struct repo *r, const void *secret, size_t secretlen,
    enum key_kind kind, const struct key_scrypt *params,
    const struct key_file_meta *meta, char id[REPO_HEX_LEN + 1], struct err *e)
{
	return (put_key_file(r, secret, secretlen, kind, params, meta, id, e));
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
	if (stor_list(r->st, "keys", repo_collect_name, &keys, e) == -1) {
		repo_name_list_free(&keys);
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
	repo_name_list_free(&keys);
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

void
repo_keyed_digest(struct repo *r, const char *label,
    uint8_t out[CRYPTO_HASH_LEN])
{
	static const char domain[] = "coffer keyed digest";
	size_t dl = sizeof(domain), ll = strlen(label);
	uint8_t *msg = xmalloc(dl + ll);

	memcpy(msg, domain, dl); /* with its NUL: the separator */
	memcpy(msg + dl, label, ll);
	crypto_hmac_sha256(key_master_id_key(r->master), KEY_SECRET_LEN, msg,
	    dl + ll, out);
	free(msg);
}
