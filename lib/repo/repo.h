/*
 * A repository: the store, the master key, the config, the blob index and
 * the pack being filled.  Everything a command does to repository contents
 * goes through here: blobs in and out (deduplicated, compressed, sealed,
 * packed), and whole sealed files (snapshots).  Layout and encodings are in
 * doc/FORMAT.md.
 *
 * A struct repo belongs to one thread.
 */
#ifndef COFFER_REPO_H
#define COFFER_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "repo/chunker.h"
#include "repo/idx.h"
#include "repo/key.h"
#include "store/store.h"

#define REPO_ID_LEN            32
#define REPO_HEX_LEN           64
#define REPO_PACK_SIZE_DEFAULT (16u << 20)
#define REPO_FILE_MAX          (256u << 20) /* larger sealed files are refused */

struct repo;

struct repo_init_opts {
	struct chunker_params chunker;   /* zero: chunker_params_default */
	int compression;                 /* zstd level; 0: default */
	uint32_t pack_size;              /* target pack size; 0: default */
	const struct key_scrypt *scrypt; /* NULL: key_scrypt_default */
	struct key_file_meta meta;       /* who made the first key */
};

/*
 * Create a repository at location (made if missing; an existing config
 * there fails with ERR_USAGE) with one key file for secret, which is a
 * passphrase (KEY_KIND_PASSPHRASE) or a machine key's 64 hex digits.
 * With out, the new repository is handed over open (saving a KDF run).
 */
int repo_init(const char *location, const struct repo_init_opts *,
    const void *secret, size_t secretlen, enum key_kind, struct repo **out,
    struct err *);

/*
 * Open the repository at location with a passphrase or machine key: try
 * the key files (machine-kind ones first when secret looks like a machine
 * key, as they cost no KDF), read the config, load every index file.
 * ERR_NOREPO if there is no repository, ERR_KEY if no key file opens with
 * secret, ERR_CORRUPT if the config or an index is damaged.
 */
int repo_open(const char *location, const void *secret, size_t secretlen,
    struct repo **out, struct err *);

enum repo_lock_mode {
	REPO_LOCK_NONE = 0,
	REPO_LOCK_SHARED,    /* snapshot, restore, check, listing */
	REPO_LOCK_EXCLUSIVE, /* key changes, prune */
};

struct lock_opts;

/*
 * repo_open, taking a repository lock (lib/repo/lock.h; lo may be NULL)
 * after the key is checked and before the index is read.  The lock is
 * refreshed as packs are written and released by repo_close.
 */
int repo_open_locked(const char *location, const void *secret, size_t secretlen,
    enum repo_lock_mode, const struct lock_opts *lo, struct repo **out,
    struct err *);

/* Close without flushing: blobs not yet in a written pack are dropped;
 * releases the lock. */
void repo_close(struct repo *);

/*
 * Keep the lock fresh in a long run that writes no packs (restore, check):
 * call it often, it does nothing until a refresh is due, nor without a
 * lock.  ERR_LOCKED when the lock was lost: stop.
 */
int repo_lock_refresh(struct repo *, struct err *);

struct stor *repo_store(struct repo *);
const char *repo_location(const struct repo *);
/* The repository id as 64 hex digits (from the config; not secret). */
const char *repo_id(const struct repo *);
/* The id (64 hex digits) of the key file that opened the repository. */
const char *repo_key_id(const struct repo *);
const struct key_master *repo_master(const struct repo *);
const struct chunker_params *repo_chunker_params(const struct repo *);
/* The gear table (CHUNKER_GEAR_SIZE entries) for chunker_new. */
const uint64_t *repo_gear(const struct repo *);

/*
 * Check every blob after sealing by opening, decompressing and re-hashing
 * it before it is written (default on: a zstd or memory fault must not
 * reach the repository).  Off only for benchmarks.
 */
void repo_set_verify_before_write(struct repo *, int on);

/*
 * How many threads compress, seal and verify new blobs: -1 (default) one
 * per CPU when there are several, 0 none (all in the calling thread).
 * Takes effect before the first repo_blob_put.
 */
void repo_set_workers(struct repo *, int n);

/*
 * Store a blob unless one with the same id exists: computes the id, and
 * when new compresses, seals, verifies and adds it to the current pack,
 * writing the pack when it reaches its target size.  *added is 1 when the
 * blob was new.  n is at most 64 MiB.
 */
int repo_blob_put(struct repo *, enum idx_blob_type, const uint8_t *p, size_t n,
    uint8_t id[IDX_ID_LEN], int *added, struct err *);

/* True if the index or the current pack holds a blob with this id. */
int repo_blob_known(struct repo *, const uint8_t id[IDX_ID_LEN]);

/*
 * Read a blob: fetch, authenticate, decompress, and check that its id is
 * the keyed hash of the plaintext and its type is the one expected.
 * *out (free()) holds *n bytes.  A missing blob is ERR_CORRUPT naming it.
 */
int repo_blob_get(struct repo *, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type, uint8_t **out, size_t *n, struct err *);

/*
 * Write the pack being filled (if any) and one index file for every pack
 * written since the last flush.  After it returns 0, every blob put so far
 * is durable and indexed, so a snapshot may name it.
 */
int repo_flush(struct repo *, struct err *);

/*
 * Whole files sealed under the file key: dir is "snapshots" (or another
 * top-level directory FORMAT.md names); the name is the SHA-256 of the
 * sealed bytes, returned as hex in name (REPO_HEX_LEN + 1 bytes).
 */
int repo_file_put(struct repo *, const char *dir, const uint8_t *plain,
    size_t n, char name[REPO_HEX_LEN + 1], struct err *);
int repo_file_get(struct repo *, const char *dir, const char *name,
    uint8_t **plain, size_t *n, struct err *);

/*
 * Add a key file for another passphrase or machine key; the id (hex) of
 * the new file goes to id when not NULL.
 */
int repo_key_add(struct repo *, const void *secret, size_t secretlen,
    enum key_kind, const struct key_scrypt *, const struct key_file_meta *,
    char id[REPO_HEX_LEN + 1], struct err *);

/* What this repository instance added since open. */
struct repo_stats {
	uint64_t blobs_new, blobs_known; /* puts that stored / deduplicated */
	uint64_t raw_new;                /* plaintext bytes of new blobs */
	uint64_t stored_new;             /* sealed bytes of new blobs */
	uint64_t packs_written, pack_bytes_written;
};
void repo_get_stats(const struct repo *, struct repo_stats *);

/* The blob index (for check, restore planning and listing). */
const struct idx *repo_index(const struct repo *);

/* Pack file name "data/ab/abcd..." for a pack id. */
void repo_pack_name(const uint8_t id[IDX_ID_LEN], char *out, size_t size);

#endif
