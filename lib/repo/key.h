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
 * N * r <= 2^23 (1 GiB), p <= KEY_SCRYPT_MAX_P and N * r * p <=
 * KEY_SCRYPT_MAX_COST: one file may ask for at most 8 times the default
 * work, so nobody who can write to keys/ can make one open take minutes.
 */
extern const struct key_scrypt key_scrypt_default;

#define KEY_SCRYPT_MAX_NR   ((uint64_t)1 << 23) /* N * r: 1 GiB */
#define KEY_SCRYPT_MAX_P    4
#define KEY_SCRYPT_MAX_COST ((uint64_t)1 << 23) /* N * r * p */

/* The scrypt work of s in N * r * p units (the default costs 2^20). */
uint64_t key_scrypt_cost(const struct key_scrypt *s);

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

/*
 * The KDF budget of one open: how much scrypt work (N * r * p units, as
 * key_scrypt_cost) trying passphrase key files may cost in all, so that
 * key files planted in keys/ cost a bounded time per open.  KEY_KDF_BUDGET
 * (16 files of the default cost, twice the dearest file accepted) unless
 * the environment sets KEY_KDF_BUDGET_ENV to a positive integer: a way to
 * reach a key file the budget left out.  Any other value fails with
 * ERR_USAGE.
 */
#define KEY_KDF_BUDGET     ((uint64_t)1 << 24)
#define KEY_KDF_BUDGET_ENV "COFFER_KDF_BUDGET"
int key_kdf_budget(uint64_t *budget, struct err *);

/* A key file an open may try, for key_plan. */
struct key_cand {
	size_t tag;         /* the caller's (an index into its list) */
	enum key_kind kind; /* from key_file_info */
	uint64_t cost;      /* key_scrypt_cost; 0 for a machine key */
	int skip;           /* set by key_plan: beyond the budget */
};

/*
 * Put the n candidates c[] in the order an open tries them: machine key
 * files first (they cost no KDF), then passphrase key files cheapest
 * first, ties by tag (so in the caller's order when tags ascend).  Then
 * walk that order spending budget:
 * a passphrase file whose cost does not fit in what is left gets skip = 1
 * (not to be tried).  Returns the number skipped.  The caller leaves out
 * machine key files when its secret cannot be a machine key.
 */
size_t key_plan(struct key_cand *c, size_t n, uint64_t budget);

/* What coffer check says of a key file that key_plan skips, and the fix. */
#define KEY_BUDGET_WHAT                                                        \
	"beyond the KDF budget of one open: without the local key hint "       \
	"(on another host, or with a mistyped passphrase) an open stops "      \
	"before trying this passphrase key file"
#define KEY_BUDGET_FIX                                                         \
	"if nobody knows this key file, remove it with 'coffer key remove'; "  \
	"its passphrase still opens the repository where the hint names it, "  \
	"or with " KEY_KDF_BUDGET_ENV " raised"

/*
 * The local key hint: which key file opened a repository last time, so
 * that it is tried first.  It lives in the user's cache directory
 * ($XDG_CACHE_HOME/coffer when that is set, else /var/cache/coffer for
 * root, else ~/.cache/coffer), in key-hints/TAG, where TAG (64 lowercase
 * hex digits) names the repository without its key: the SHA-256 of its
 * config file.  The hint holds only a key file id, nothing secret, and
 * only orders the tries: a wrong or planted hint costs one try.  The
 * opener records passphrase key files only (machine keys cost no KDF).
 */
#define KEY_ID_HEXLEN 64

/*
 * The key file id the hint for tag names, into id: 0, or -1 when there is
 * no usable hint (none, unreadable, malformed): never an error.
 */
int key_hint_get(const char *tag, char id[KEY_ID_HEXLEN + 1]);

/*
 * Record id (64 lowercase hex digits) as the hint for tag, creating the
 * cache directories (mode 0700) as needed.  Best effort: a cache that
 * cannot be written is skipped silently, and never fails an open.
 */
void key_hint_put(const char *tag, const char *id);

#endif
