/*
 * The repository's master key and the key files that wrap it.  A master
 * secret (32 random bytes, made once by init) yields every subkey by
 * HKDF; each passphrase or machine key is one key file, a small JSON
 * document holding the secret sealed under a key derived from it.  Adding
 * or changing a passphrase writes another key file for the same master and
 * touches no data.  The format, labels and refusal rules are in
 * doc/FORMAT.md, "Keys".
 */
#ifndef COFFER_REPO_KEY_H
#define COFFER_REPO_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define KEY_SECRET_LEN     32          /* master secret, and each subkey */
#define KEY_MACHINE_HEXLEN 64          /* a machine key: 64 hex digits */
#define KEY_FILE_MAX       (64 * 1024) /* larger key files are refused */
#define KEY_META_MAX       255         /* bytes of host or user name */

/* Set to "1" to let key_scrypt_test_weak through; see there. */
#define KEY_TEST_WEAK_ENV "COFFER_TEST_WEAK_KDF"

/* The master key: its secret and the subkeys derived from it. */
struct key_master;

/* A fresh random master key (coffer init).  ERR_INTERNAL without entropy. */
struct key_master *key_master_new(struct err *);

/*
 * The master key for a known secret (a paper recovery key, tests).  Fails
 * only with ERR_INTERNAL.
 */
struct key_master *key_master_from_secret(const uint8_t secret[KEY_SECRET_LEN],
    struct err *);

/* Wipe and free; NULL is fine. */
void key_master_free(struct key_master *);

/*
 * The subkeys, KEY_SECRET_LEN bytes each, valid while the master lives.
 *   blob key: AES-256-GCM for blobs and pack headers;
 *   file key: AES-256-GCM for files sealed whole (index files, snapshots
 *             and any other repository file with no blob id);
 *   id key:   HMAC-SHA-256 of a blob's plaintext, its id;
 *   gear key: the chunker's gear table (crypto_gear_table).
 */
const uint8_t *key_master_blob_key(const struct key_master *);
const uint8_t *key_master_file_key(const struct key_master *);
const uint8_t *key_master_id_key(const struct key_master *);
const uint8_t *key_master_gear_key(const struct key_master *);

/*
 * The master secret itself: only for a paper recovery key.  Never log it,
 * and wipe any copy.
 */
const uint8_t *key_master_secret(const struct key_master *);

/*
 * Another subkey: len bytes of HKDF-SHA256 with info label (a NUL-
 * terminated string).  A new use needs a new label, recorded in
 * doc/FORMAT.md before any repository depends on it.  ERR_INTERNAL only.
 */
int key_master_derive(const struct key_master *, const char *label,
    uint8_t *out, size_t len, struct err *);

enum key_kind {
	KEY_KIND_PASSPHRASE = 1, /* a person's passphrase: scrypt */
	KEY_KIND_MACHINE = 2,    /* a random machine key: HKDF */
};

/* scrypt cost parameters of a passphrase key file. */
struct key_scrypt {
	uint64_t n; /* CPU/memory cost, a power of two */
	uint32_t r; /* block size */
	uint32_t p; /* parallelism */
};

/*
 * What key files get unless told otherwise: N = 2^17, r = 8, p = 1
 * (restic's), 128 MiB and about half a second.  These are also the least
 * accepted: weaker files are refused on open, so nobody who can write to
 * keys/ can hand coffer a cheaper file to crack.  The most accepted is
 * N * r <= 2^23 (1 GiB) and p <= 16.
 */
extern const struct key_scrypt key_scrypt_default;

/*
 * FOR TESTS ONLY: N = 2^10, r = 8, p = 1 (1 MiB, a millisecond).
 * key_file_create and key_file_open accept exactly these parameters below
 * the minimum, and only while the environment has KEY_TEST_WEAK_ENV=1;
 * otherwise they are refused like any weak parameters.  Never set that
 * variable outside a test run.
 */
extern const struct key_scrypt key_scrypt_test_weak;

/* Who made a key file and when: informational, shown by `coffer key list`,
 * yet authenticated with the rest. */
struct key_file_meta {
	int64_t created;  /* Unix time, seconds, >= 0 */
	const char *host; /* NULL means ""; at most KEY_META_MAX bytes */
	const char *user; /* of UTF-8 without control characters */
};

/*
 * Write a key file for master.  secret is the passphrase (secretlen >= 1
 * bytes, used as given: no normalisation) for KEY_KIND_PASSPHRASE, or
 * the machine key as KEY_MACHINE_HEXLEN hex digits (no newline) for
 * KEY_KIND_MACHINE.  params: scrypt parameters for a passphrase (NULL:
 * key_scrypt_default), NULL for a machine key.  A fresh random salt and
 * nonce each time, so two files for one passphrase differ.  On success
 * *json (free with free()) holds *jsonlen bytes of JSON ending in a
 * newline; the caller stores it under keys/.  Bad arguments (empty
 * passphrase, malformed machine key, weak or excessive parameters, bad
 * meta) fail with ERR_USAGE.
 */
int key_file_create(const struct key_master *master, const void *secret,
    size_t secretlen, enum key_kind kind, const struct key_scrypt *params,
    const struct key_file_meta *meta, char **json, size_t *jsonlen,
    struct err *);

/*
 * Open a key file with a passphrase or machine key (as for create) and
 * return the master key in *master.  Failures, *master NULL:
 *   ERR_CORRUPT  the file is malformed (not JSON, a field missing, of the
 *                wrong type or out of range, an unknown field, bad base64
 *                or length, a kind/KDF mismatch) or its KDF parameters are
 *                weaker than the minimum: the message names what is wrong;
 *   ERR_KEY      the secret does not open it: the wrong passphrase, or a
 *                machine key for a passphrase's file, or the reverse, or a
 *                file altered after it was written (the two cannot be told
 *                apart), or a machine secret that is not 64 hex digits.
 * Every rule that needs no secret is checked before the KDF runs, so a
 * hostile file can neither crash it nor make it run scrypt outside the
 * accepted range.
 */
int key_file_open(const void *json, size_t jsonlen, const void *secret,
    size_t secretlen, struct key_master **master, struct err *);

/* What a key file says about itself, for listing. */
struct key_file_info {
	enum key_kind kind;
	struct key_scrypt scrypt; /* zero for a machine key */
	int64_t created;
	char host[KEY_META_MAX + 1];
	char user[KEY_META_MAX + 1];
};

/*
 * Parse a key file without opening it, with the checks of key_file_open
 * that need no secret (ERR_CORRUPT as there).  The fields are not
 * authenticated until the file is opened.
 */
int key_file_info(const void *json, size_t jsonlen, struct key_file_info *,
    struct err *);

#endif
