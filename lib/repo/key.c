/*
 * Master key, subkeys, and key files.  A key file is parsed completely and
 * checked against the format's rules before any secret is touched, so a
 * hostile file fails fast and never chooses the cost of the KDF.
 */
#include "key.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "crypto.h"
#include "xmalloc.h"

/* HKDF info labels of the subkeys: part of the format. */
#define LABEL_BLOB    "coffer v1 blob encryption"
#define LABEL_FILE    "coffer v1 file encryption"
#define LABEL_ID      "coffer v1 blob id"
#define LABEL_GEAR    "coffer v1 chunker gear"
#define LABEL_MACHINE "coffer v1 machine key file"

#define KF_TYPE       "coffer-key"
#define KF_VERSION    1
#define KF_AAD_TAG    "coffer key file"
#define KF_SALT_LEN   32
#define KF_SEALED_LEN (CRYPTO_AEAD_OVERHEAD + KEY_SECRET_LEN)
#define KF_KDF_SCRYPT "scrypt"
#define KF_KDF_HKDF   "hkdf-sha256"

const struct key_scrypt key_scrypt_default = { (uint64_t)1 << 17, 8, 1 };
const struct key_scrypt key_scrypt_test_weak = { (uint64_t)1 << 10, 8, 1 };

struct key_master {
	uint8_t secret[KEY_SECRET_LEN];
	uint8_t blob[KEY_SECRET_LEN];
	uint8_t file[KEY_SECRET_LEN];
	uint8_t id[KEY_SECRET_LEN];
	uint8_t gear[KEY_SECRET_LEN];
};

/* Everything a key file holds, checked. */
struct kf {
	enum key_kind kind;
	struct key_scrypt scrypt; /* zero for a machine key */
	uint8_t salt[KF_SALT_LEN];
	int64_t created;
	char host[KEY_META_MAX + 1];
	char user[KEY_META_MAX + 1];
	uint8_t sealed[KF_SEALED_LEN];
};

struct key_master *
key_master_from_secret(const uint8_t secret[KEY_SECRET_LEN], struct err *e)
{
	struct key_master *m = xcalloc(1, sizeof(*m));

	memcpy(m->secret, secret, KEY_SECRET_LEN);
	if (key_master_derive(m, LABEL_BLOB, m->blob, KEY_SECRET_LEN, e) ==
	        -1 ||
	    key_master_derive(m, LABEL_FILE, m->file, KEY_SECRET_LEN, e) ==
	        -1 ||
	    key_master_derive(m, LABEL_ID, m->id, KEY_SECRET_LEN, e) == -1 ||
	    key_master_derive(m, LABEL_GEAR, m->gear, KEY_SECRET_LEN, e) ==
	        -1) {
		/* GCOVR_EXCL_START: HKDF fails only in a broken OpenSSL */
		key_master_free(m);
		return (NULL);
		/* GCOVR_EXCL_STOP */
	}
	return (m);
}

struct key_master *
key_master_new(struct err *e)
{
	uint8_t secret[KEY_SECRET_LEN];
	struct key_master *m = NULL;

	if (crypto_random(secret, sizeof(secret), e) == 0)
		m = key_master_from_secret(secret, e);
	wipe(secret, sizeof(secret));
	return (m);
}

void
key_master_free(struct key_master *m)
{
	freezero(m, sizeof(*m));
}

const uint8_t *
key_master_blob_key(const struct key_master *m)
{
	return (m->blob);
}

const uint8_t *
key_master_file_key(const struct key_master *m)
{
	return (m->file);
}

const uint8_t *
key_master_id_key(const struct key_master *m)
{
	return (m->id);
}

const uint8_t *
key_master_gear_key(const struct key_master *m)
{
	return (m->gear);
}

const uint8_t *
key_master_secret(const struct key_master *m)
{
	return (m->secret);
}

int
key_master_derive(const struct key_master *m, const char *label, uint8_t *out,
    size_t len, struct err *e)
{
	return (crypto_hkdf_sha256(m->secret, KEY_SECRET_LEN, NULL, 0, label,
	    strlen(label), out, len, e));
}

/* Text from a hostile file, made safe for a one-line message. */
static const char *
printable(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return (buf);
}

static const char *
kind_name(enum key_kind kind)
{
	return (kind == KEY_KIND_MACHINE ? "machine" : "passphrase");
}

static int
weak_allowed(void)
{
	const char *v = getenv(KEY_TEST_WEAK_ENV);

	return (v != NULL && strcmp(v, "1") == 0);
}

/* The format's rules for scrypt parameters; failures get class c. */
static int
scrypt_check(const struct key_scrypt *s, enum err_class c, struct err *e)
{
	const struct key_scrypt *min = &key_scrypt_default;
	const struct key_scrypt *weak = &key_scrypt_test_weak;

	if (s->n < 2 || (s->n & (s->n - 1)) != 0 || s->r == 0 || s->p == 0)
		return (err_set(e, c,
		    "scrypt N=%" PRIu64 " r=%" PRIu32 " p=%" PRIu32
		    ": N must be a power of two, r and p positive",
		    s->n, s->r, s->p));
	if (s->n == weak->n && s->r == weak->r && s->p == weak->p &&
	    weak_allowed())
		return (0);
	if (s->n < min->n || s->r < min->r || s->p < min->p)
		return (err_set(e, c,
		    "scrypt N=%" PRIu64 " r=%" PRIu32 " p=%" PRIu32
		    " is weaker than the minimum N=%" PRIu64 " r=%" PRIu32
		    " p=%" PRIu32 ": refused",
		    s->n, s->r, s->p, min->n, min->r, min->p));
	/* N * r <= 2^23 first, so that the product with p <= 4 fits. */
	if (s->n > KEY_SCRYPT_MAX_NR / s->r || s->p > KEY_SCRYPT_MAX_P ||
	    key_scrypt_cost(s) > KEY_SCRYPT_MAX_COST)
		return (err_set(e, c,
		    "scrypt N=%" PRIu64 " r=%" PRIu32 " p=%" PRIu32
		    " exceeds the maximum (N*r at most 2^23, p at most %d, "
		    "N*r*p at most 2^23)",
		    s->n, s->r, s->p, KEY_SCRYPT_MAX_P));
	return (0);
}

uint64_t
key_scrypt_cost(const struct key_scrypt *s)
{
	/* Saturating: only checked parameters are small enough to matter. */
	if (s->r != 0 && s->n > UINT64_MAX / s->r)
		return (UINT64_MAX);
	if (s->p != 0 && s->n * s->r > UINT64_MAX / s->p)
		return (UINT64_MAX);
	return (s->n * s->r * s->p);
}

/* A host or user name: bounded, valid UTF-8, no C0 or C1 controls. */
static int
meta_ok(const char *s)
{
	json_t *j;
	size_t i, n = strlen(s);

	if (n > KEY_META_MAX)
		return (0);
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (0);
		if ((unsigned char)s[i] == 0xc2 && i + 1 < n &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return (0);
	}
	if ((j = json_string(s)) == NULL) /* NULL: not UTF-8 */
		return (0);
	json_decref(j);
	return (1);
}

/*
 * The associated data sealed with the master secret: every field of the
 * file but the sealed box itself, each as a 4-byte little-endian length and
 * its bytes, in the order of doc/FORMAT.md.
 */
struct aad {
	uint8_t buf[1024];
	size_t len;
};

static void
aad_put(struct aad *a, const void *p, size_t n)
{
	if (n > sizeof(a->buf) - 4 || a->len > sizeof(a->buf) - 4 - n)
		abort(); /* GCOVR_EXCL_LINE: the parser bounds sizes */
	a->buf[a->len++] = (uint8_t)n;
	a->buf[a->len++] = (uint8_t)(n >> 8);
	a->buf[a->len++] = (uint8_t)(n >> 16);
	a->buf[a->len++] = (uint8_t)(n >> 24);
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void
aad_put_str(struct aad *a, const char *s)
{
	aad_put(a, s, strlen(s));
}

static void
aad_put_num(struct aad *a, long long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", v);
	aad_put_str(a, num);
}

static void
aad_build(const struct kf *k, struct aad *a)
{
	a->len = 0;
	aad_put_str(a, KF_AAD_TAG);
	aad_put_num(a, KF_VERSION);
	aad_put_str(a, kind_name(k->kind));
	if (k->kind == KEY_KIND_PASSPHRASE) {
		aad_put_str(a, KF_KDF_SCRYPT);
		aad_put_num(a, (long long)k->scrypt.n);
		aad_put_num(a, (long long)k->scrypt.r);
		aad_put_num(a, (long long)k->scrypt.p);
	} else
		aad_put_str(a, KF_KDF_HKDF);
	aad_put(a, k->salt, sizeof(k->salt));
	aad_put_num(a, (long long)k->created);
	aad_put_str(a, k->host);
	aad_put_str(a, k->user);
}

/*
 * The key-encryption key from the secret.  A malformed secret fails with
 * class c (ERR_USAGE when creating, ERR_KEY when opening).
 */
static int
kek_derive(const struct kf *k, const void *secret, size_t secretlen,
    enum err_class c, uint8_t kek[KEY_SECRET_LEN], struct err *e)
{
	uint8_t mk[KEY_SECRET_LEN];
	int rc;

	if (k->kind == KEY_KIND_PASSPHRASE) {
		if (secretlen == 0)
			return (err_set(e, c, "empty passphrase"));
		return (crypto_scrypt(secret, secretlen, k->salt,
		    sizeof(k->salt), k->scrypt.n, k->scrypt.r, k->scrypt.p, kek,
		    KEY_SECRET_LEN, e));
	}
	if (secretlen != KEY_MACHINE_HEXLEN ||
	    crypto_hex_decode(secret, secretlen, mk, sizeof(mk), e) == -1)
		return (err_set(e, c,
		    "a machine key is %d hex digits; this one is not "
		    "(%zu characters)",
		    KEY_MACHINE_HEXLEN, secretlen));
	rc = crypto_hkdf_sha256(mk, sizeof(mk), k->salt, sizeof(k->salt),
	    LABEL_MACHINE, strlen(LABEL_MACHINE), kek, KEY_SECRET_LEN, e);
	wipe(mk, sizeof(mk));
	return (rc);
}

/* The string value of field name, or NULL with the error set. */
static const char *
get_str(json_t *obj, const char *where, const char *name, struct err *e)
{
	json_t *v = json_object_get(obj, name);

	if (v == NULL) {
		err_set(e, ERR_CORRUPT, "key file: field \"%s%s\" is missing",
		    where, name);
		return (NULL);
	}
	if (!json_is_string(v)) {
		err_set(e, ERR_CORRUPT,
		    "key file: field \"%s%s\" must be a string", where, name);
		return (NULL);
	}
	return (json_string_value(v));
}

/* The integer value of field name, within [lo, hi]. */
static int
get_int(json_t *obj, const char *where, const char *name, long long lo,
    long long hi, long long *out, struct err *e)
{
	json_t *v = json_object_get(obj, name);

	if (v == NULL)
		return (err_set(e, ERR_CORRUPT,
		    "key file: field \"%s%s\" is missing", where, name));
	if (!json_is_integer(v))
		return (err_set(e, ERR_CORRUPT,
		    "key file: field \"%s%s\" must be an integer", where,
		    name));
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return (err_set(e, ERR_CORRUPT,
		    "key file: field \"%s%s\" is out of range (%lld)", where,
		    name, *out));
	return (0);
}

/* Base64 field name decoding to exactly n bytes at out. */
static int
get_b64(json_t *obj, const char *where, const char *name, uint8_t *out,
    size_t n, struct err *e)
{
	const char *s;
	size_t len;

	if ((s = get_str(obj, where, name, e)) == NULL)
		return (-1);
	if (crypto_b64_decode(s, strlen(s), out, n, &len, e) == -1)
		return (err_wrap(e, "key file: field \"%s%s\"", where, name));
	if (len != n)
		return (err_set(e, ERR_CORRUPT,
		    "key file: field \"%s%s\" holds %zu bytes, not %zu", where,
		    name, len, n));
	return (0);
}

/* Refuse fields the format does not define: nothing unauthenticated may
 * ride along in a key file. */
static int
only_fields(json_t *obj, const char *where, const char *const *names,
    struct err *e)
{
	const char *key;
	json_t *v;
	size_t i;
	char buf[48];

	json_object_foreach(obj, key, v)
	{
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(key, names[i]) == 0)
				break;
		if (names[i] == NULL)
			return (err_set(e, ERR_CORRUPT,
			    "key file: unexpected field \"%s%s\"", where,
			    printable(key, buf, sizeof(buf))));
	}
	return (0);
}

static int
get_meta(json_t *obj, const char *name, char *out, struct err *e)
{
	const char *s;

	if ((s = get_str(obj, "", name, e)) == NULL)
		return (-1);
	if (!meta_ok(s))
		return (err_set(e, ERR_CORRUPT,
		    "key file: field \"%s\" is too long or holds control "
		    "characters",
		    name));
	memcpy(out, s, strlen(s) + 1);
	return (0);
}

static int
parse_kdf(json_t *kdf, struct kf *k, struct err *e)
{
	static const char *const scrypt_fields[] = { "name", "n", "r", "p",
		"salt", NULL };
	static const char *const hkdf_fields[] = { "name", "salt", NULL };
	const char *want, *name;
	long long v;
	char buf[48];

	if (!json_is_object(kdf))
		return (err_set(e, ERR_CORRUPT,
		    "key file: field \"kdf\" must be an object"));
	want = k->kind == KEY_KIND_PASSPHRASE ? KF_KDF_SCRYPT : KF_KDF_HKDF;
	if ((name = get_str(kdf, "kdf.", "name", e)) == NULL)
		return (-1);
	if (strcmp(name, want) != 0)
		return (err_set(e, ERR_CORRUPT,
		    "key file: a %s key must use kdf \"%s\", not \"%s\"",
		    kind_name(k->kind), want,
		    printable(name, buf, sizeof(buf))));
	if (only_fields(kdf, "kdf.",
	        k->kind == KEY_KIND_PASSPHRASE ? scrypt_fields : hkdf_fields,
	        e) == -1)
		return (-1);
	if (k->kind == KEY_KIND_PASSPHRASE) {
		if (get_int(kdf, "kdf.", "n", 0, INT64_MAX, &v, e) == -1)
			return (-1);
		k->scrypt.n = (uint64_t)v;
		if (get_int(kdf, "kdf.", "r", 0, UINT32_MAX, &v, e) == -1)
			return (-1);
		k->scrypt.r = (uint32_t)v;
		if (get_int(kdf, "kdf.", "p", 0, UINT32_MAX, &v, e) == -1)
			return (-1);
		k->scrypt.p = (uint32_t)v;
	}
	return (get_b64(kdf, "kdf.", "salt", k->salt, sizeof(k->salt), e));
}

/* Parse and check a key file: every rule that needs no secret. */
static int
kf_parse(const void *json, size_t len, struct kf *k, struct err *e)
{
	static const char *const fields[] = { "type", "version", "kind", "kdf",
		"created", "host", "user", "sealed", NULL };
	json_t *root = NULL, *kdf;
	json_error_t jerr;
	const char *s;
	long long v;
	char buf[64];
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if (len > KEY_FILE_MAX) {
		err_set(e, ERR_CORRUPT, "key file of %zu bytes is too large",
		    len);
		goto out;
	}
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		err_set(e, ERR_CORRUPT,
		    "key file is not valid JSON: %s (line %d, column %d)",
		    printable(jerr.text, buf, sizeof(buf)), jerr.line,
		    jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		err_set(e, ERR_CORRUPT, "key file is not a JSON object");
		goto out;
	}
	if ((s = get_str(root, "", "type", e)) == NULL)
		goto out;
	if (strcmp(s, KF_TYPE) != 0) {
		err_set(e, ERR_CORRUPT, "not a coffer key file (type \"%s\")",
		    printable(s, buf, sizeof(buf)));
		goto out;
	}
	if (get_int(root, "", "version", LLONG_MIN, LLONG_MAX, &v, e) == -1)
		goto out;
	if (v != KF_VERSION) {
		err_set(e, ERR_CORRUPT,
		    "key file version %lld is not supported (this coffer reads "
		    "version %d)",
		    v, KF_VERSION);
		goto out;
	}
	if (only_fields(root, "", fields, e) == -1)
		goto out;
	if ((s = get_str(root, "", "kind", e)) == NULL)
		goto out;
	if (strcmp(s, "passphrase") == 0)
		k->kind = KEY_KIND_PASSPHRASE;
	else if (strcmp(s, "machine") == 0)
		k->kind = KEY_KIND_MACHINE;
	else {
		err_set(e, ERR_CORRUPT, "key file: unknown kind \"%s\"",
		    printable(s, buf, sizeof(buf)));
		goto out;
	}
	if ((kdf = json_object_get(root, "kdf")) == NULL) {
		err_set(e, ERR_CORRUPT, "key file: field \"kdf\" is missing");
		goto out;
	}
	if (parse_kdf(kdf, k, e) == -1)
		goto out;
	if (get_int(root, "", "created", 0, INT64_MAX, &v, e) == -1)
		goto out;
	k->created = v;
	if (get_meta(root, "host", k->host, e) == -1 ||
	    get_meta(root, "user", k->user, e) == -1)
		goto out;
	if (get_b64(root, "", "sealed", k->sealed, sizeof(k->sealed), e) == -1)
		goto out;
	/* Last, so that a weak file is refused only when well formed. */
	if (k->kind == KEY_KIND_PASSPHRASE &&
	    scrypt_check(&k->scrypt, ERR_CORRUPT, e) == -1) {
		err_wrap(e, "key file");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return (rc);
}

int
key_file_info(const void *json, size_t jsonlen, struct key_file_info *info,
    struct err *e)
{
	struct kf k;

	memset(info, 0, sizeof(*info));
	if (kf_parse(json, jsonlen, &k, e) == -1)
		return (-1);
	info->kind = k.kind;
	info->scrypt = k.scrypt;
	info->created = k.created;
	memcpy(info->host, k.host, sizeof(info->host));
	memcpy(info->user, k.user, sizeof(info->user));
	return (0);
}

int
key_file_open(const void *json, size_t jsonlen, const void *secret,
    size_t secretlen, struct key_master **master, struct err *e)
{
	uint8_t kek[KEY_SECRET_LEN], plain[KEY_SECRET_LEN];
	struct crypto_aead *a = NULL;
	struct aad aad;
	struct kf k;
	int rc = -1;

	*master = NULL;
	if (kf_parse(json, jsonlen, &k, e) == -1)
		goto out;
	if (kek_derive(&k, secret, secretlen, ERR_KEY, kek, e) == -1)
		goto out;
	aad_build(&k, &aad);
	if ((a = crypto_aead_new(kek, e)) == NULL)
		goto out; /* GCOVR_EXCL_LINE: only a broken OpenSSL */
	if (crypto_aead_open(a, k.sealed, sizeof(k.sealed), aad.buf, aad.len,
	        plain, e) == -1) {
		err_set(e, ERR_KEY,
		    "wrong %s for this key file (or the file was altered)",
		    k.kind == KEY_KIND_PASSPHRASE ? "passphrase"
		                                  : "machine key");
		goto out;
	}
	if ((*master = key_master_from_secret(plain, e)) == NULL)
		goto out; /* GCOVR_EXCL_LINE: only a broken OpenSSL */
	rc = 0;
out:
	wipe(kek, sizeof(kek));
	wipe(plain, sizeof(plain));
	crypto_aead_free(a);
	return (rc);
}

/* The JSON document for a checked, sealed struct kf. */
static char *
kf_emit(const struct kf *k, size_t *len)
{
	char salt[CRYPTO_B64_LEN(KF_SALT_LEN) + 1];
	char sealed[CRYPTO_B64_LEN(KF_SEALED_LEN) + 1];
	json_t *root, *kdf;
	char *s, *out;
	size_t n;

	crypto_b64_encode(k->salt, sizeof(k->salt), salt);
	crypto_b64_encode(k->sealed, sizeof(k->sealed), sealed);
	if (k->kind == KEY_KIND_PASSPHRASE)
		kdf = json_pack("{s:s, s:I, s:I, s:I, s:s}", "name",
		    KF_KDF_SCRYPT, "n", (json_int_t)k->scrypt.n, "r",
		    (json_int_t)k->scrypt.r, "p", (json_int_t)k->scrypt.p,
		    "salt", salt);
	else
		kdf =
		    json_pack("{s:s, s:s}", "name", KF_KDF_HKDF, "salt", salt);
	root = json_pack("{s:s, s:i, s:s, s:o, s:I, s:s, s:s, s:s}", "type",
	    KF_TYPE, "version", KF_VERSION, "kind", kind_name(k->kind), "kdf",
	    kdf, "created", (json_int_t)k->created, "host", k->host, "user",
	    k->user, "sealed", sealed);
	/* Every value was checked: only memory exhaustion fails here. */
	if (root == NULL ||
	    (s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	        NULL) {
		/* GCOVR_EXCL_START: jansson fails only without memory */
		fprintf(stderr, "coffer: out of memory writing a key file\n");
		abort();
		/* GCOVR_EXCL_STOP */
	}
	json_decref(root);
	n = strlen(s);
	out = xmalloc(n + 2);
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	free(s);
	*len = n + 1;
	return (out);
}

int
key_file_create(const struct key_master *master, const void *secret,
    size_t secretlen, enum key_kind kind, const struct key_scrypt *params,
    const struct key_file_meta *meta, char **json, size_t *jsonlen,
    struct err *e)
{
	uint8_t kek[KEY_SECRET_LEN];
	struct crypto_aead *a = NULL;
	const char *host, *user;
	struct aad aad;
	struct kf k;
	int rc = -1;

	*json = NULL;
	*jsonlen = 0;
	memset(&k, 0, sizeof(k));
	host = meta->host != NULL ? meta->host : "";
	user = meta->user != NULL ? meta->user : "";
	if (kind != KEY_KIND_PASSPHRASE && kind != KEY_KIND_MACHINE) {
		err_set(e, ERR_USAGE, "unknown key kind %d", (int)kind);
		goto out;
	}
	k.kind = kind;
	if (kind == KEY_KIND_MACHINE && params != NULL) {
		err_set(e, ERR_USAGE,
		    "a machine key takes no scrypt parameters");
		goto out;
	}
	if (kind == KEY_KIND_PASSPHRASE) {
		k.scrypt = params != NULL ? *params : key_scrypt_default;
		if (scrypt_check(&k.scrypt, ERR_USAGE, e) == -1)
			goto out;
	}
	if (meta->created < 0 || !meta_ok(host) || !meta_ok(user)) {
		err_set(e, ERR_USAGE,
		    "key file metadata: a negative time, or a host or user "
		    "name that is too long, not UTF-8 or holds control "
		    "characters");
		goto out;
	}
	k.created = meta->created;
	memcpy(k.host, host, strlen(host) + 1);
	memcpy(k.user, user, strlen(user) + 1);
	if (crypto_random(k.salt, sizeof(k.salt), e) == -1 ||
	    kek_derive(&k, secret, secretlen, ERR_USAGE, kek, e) == -1)
		goto out;
	aad_build(&k, &aad);
	if ((a = crypto_aead_new(kek, e)) == NULL ||
	    crypto_aead_seal(a, key_master_secret(master), KEY_SECRET_LEN,
	        aad.buf, aad.len, k.sealed, e) == -1)
		goto out; /* GCOVR_EXCL_LINE: only a broken OpenSSL */
	*json = kf_emit(&k, jsonlen);
	rc = 0;
out:
	wipe(kek, sizeof(kek));
	crypto_aead_free(a);
	return (rc);
}

/* ------------------------------------------------ trying key files */

int
key_kdf_budget(uint64_t *budget, struct err *e)
{
	const char *v = getenv(KEY_KDF_BUDGET_ENV);
	unsigned long long n;
	char *end;

	*budget = KEY_KDF_BUDGET;
	if (v == NULL)
		return (0);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n == 0)
		return (err_set(e, ERR_USAGE,
		    "%s must be a positive integer (scrypt N*r*p units; "
		    "the default is %" PRIu64 ")",
		    KEY_KDF_BUDGET_ENV, (uint64_t)KEY_KDF_BUDGET));
	*budget = (uint64_t)n;
	return (0);
}

/* Machine keys first, then passphrases cheapest first, then by tag. */
static int
cand_order(const void *a, const void *b)
{
	const struct key_cand *x = a, *y = b;

	if (x->kind != y->kind)
		return (x->kind == KEY_KIND_MACHINE ? -1 : 1);
	if (x->kind == KEY_KIND_PASSPHRASE && x->cost != y->cost)
		return (x->cost < y->cost ? -1 : 1);
	return (x->tag < y->tag ? -1 : x->tag > y->tag);
}

size_t
key_plan(struct key_cand *c, size_t n, uint64_t budget)
{
	size_t skipped = 0;

	if (n == 0)
		return (0); /* c may be NULL, which qsort must not see */
	/* qsort is not stable: the tags break ties. */
	qsort(c, n, sizeof(*c), cand_order);
	for (size_t i = 0; i < n; i++) {
		c[i].skip = 0;
		if (c[i].kind != KEY_KIND_PASSPHRASE)
			continue;
		if (c[i].cost > budget) {
			c[i].skip = 1;
			skipped++;
		} else
			budget -= c[i].cost;
	}
	return (skipped);
}

/* ------------------------------------------------------ key hints */

#define HINT_DIR "key-hints"

static int
hex_ok(const char *s, size_t n)
{
	return (strlen(s) == n && strspn(s, "0123456789abcdef") == n);
}

/* The cache directory for hints, or NULL when there is none. */
static char *
hint_dir(void)
{
	const char *x;

	if ((x = getenv("XDG_CACHE_HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/coffer/%s", x, HINT_DIR));
	if (geteuid() == 0)
		return (xasprintf("/var/cache/coffer/%s", HINT_DIR));
	if ((x = getenv("HOME")) != NULL && x[0] == '/')
		return (xasprintf("%s/.cache/coffer/%s", x, HINT_DIR));
	return (NULL);
}

int
key_hint_get(const char *tag, char id[KEY_ID_HEXLEN + 1])
{
	char *dir = NULL, *path = NULL, buf[KEY_ID_HEXLEN + 2];
	ssize_t got = -1;
	int fd = -1;

	id[0] = '\0';
	if (!hex_ok(tag, KEY_ID_HEXLEN) || (dir = hint_dir()) == NULL)
		return (-1);
	path = xasprintf("%s/%s", dir, tag);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1)
		got = read(fd, buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	free(path);
	free(dir);
	/* Exactly the id and a newline: anything else is no hint. */
	if (got != KEY_ID_HEXLEN + 1 || buf[KEY_ID_HEXLEN] != '\n')
		return (-1);
	buf[KEY_ID_HEXLEN] = '\0';
	if (!hex_ok(buf, KEY_ID_HEXLEN))
		return (-1);
	memcpy(id, buf, KEY_ID_HEXLEN + 1);
	return (0);
}

/* mkdir -p with mode 0700 for what is made; 0 when path is a directory. */
static int
mkdirs(char *path)
{
	struct stat st;

	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			*p = '/';
			return (-1);
		}
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return (-1);
	return (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1);
}

void
key_hint_put(const char *tag, const char *id)
{
	char *dir = NULL, *path = NULL, line[KEY_ID_HEXLEN + 2];
	struct err ignored;

	if (!hex_ok(tag, KEY_ID_HEXLEN) || !hex_ok(id, KEY_ID_HEXLEN) ||
	    (dir = hint_dir()) == NULL)
		return;
	if (mkdirs(dir) == 0) {
		snprintf(line, sizeof(line), "%s\n", id);
		path = xasprintf("%s/%s", dir, tag);
		/* A cache: nothing is lost when this fails, so say nothing. */
		(void)afile_write_all(path, line, KEY_ID_HEXLEN + 1, 0600, 0,
		    &ignored);
	}
	free(path);
	free(dir);
}
