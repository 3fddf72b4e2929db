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

#include "crypto.h"
#include "err.h"
#include "repo/chunker.h"
#include "repo/idx.h"
#include "repo/key.h"
#include "store/store.h"

#define REPO_ID_LEN            32
#define REPO_HEX_LEN           64
#define REPO_PACK_SIZE_DEFAULT (16u << 20)
#define REPO_FILE_MAX          (256u << 20) /* larger sealed files are refused */
#define REPO_CONFIG_MAX        (64u << 10)  /* a larger config is refused */

struct repo;
struct oplog_actor;

struct repo_init_opts {
	struct chunker_params chunker;   /* zero: chunker_params_default */
	int compression;                 /* zstd level; 0: default */
	uint32_t pack_size;              /* target pack size; 0: default */
	const struct key_scrypt *scrypt; /* NULL: key_scrypt_default */
	struct key_file_meta meta;       /* who made the first key */
	const struct stor_opts *stor;    /* transport (sftp://); may be NULL */
	/* who creates it: with one, the new repository's log gets an "init"
	 * record and the handed-over repository this actor (repo_set_actor) */
	const struct oplog_actor *actor;
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

/* repo_open_flags */
#define REPO_OPEN_SKIP_BAD_INDEX 0x1  /* load what can be: see below */
#define REPO_OPEN_KEY_HINT       0x10 /* try the local hint's key first */

/*
 * repo_open_locked with flags.  An index file that is damaged (it does
 * not authenticate or decode: ERR_CORRUPT) is always left out (none of
 * its entries are used) and listed by repo_bad_indexes, so that one
 * garbage file in index/ costs only the blobs that it alone names.  With
 * REPO_OPEN_SKIP_BAD_INDEX (for check) so is one that cannot be read at
 * all (ERR_IO, ERR_NET...), which otherwise fails the open.  An index
 * file that authenticates under a name that is not the SHA-256 of its
 * bytes is used and listed by repo_misnamed_indexes.  A damaged config
 * or no usable key still fails.
 * REPO_OPEN_KEY_HINT (for commands, not tests): try first the key file
 * that opened this repository last time, and record the one that opens
 * it now (key_hint_get, key_hint_put).  Passphrase key files cost at most
 * the KDF budget (key_kdf_budget) per open, with or without the flag.
 */
int repo_open_flags(const char *location, const void *secret, size_t secretlen,
    int flags, enum repo_lock_mode, const struct lock_opts *lo,
    struct repo **out, struct err *);

/*
 * repo_open_flags with the transport settings of a remote store (so may be
 * NULL: the defaults).
 */
int repo_open_opts(const char *location, const struct stor_opts *so,
    const void *secret, size_t secretlen, int flags, enum repo_lock_mode,
    const struct lock_opts *lo, struct repo **out, struct err *);

/* An index file left out at open, or used though misnamed, and why. */
struct repo_bad_file {
	char *name; /* "index/<name>" */
	struct err err;
};

/* The index files left out at open. */
const struct repo_bad_file *repo_bad_indexes(const struct repo *, size_t *n);

/*
 * The index files used at open whose names are not the SHA-256 of their
 * bytes (coffer never writes such a name: someone renamed them).
 */
const struct repo_bad_file *repo_misnamed_indexes(const struct repo *,
    size_t *n);

/*
 * Keep the repository's lock fresh during a long run that writes nothing
 * (check): no I/O unless a refresh is due.  ERR_LOCKED when the lock was
 * lost (removed by someone else): stop.  Nothing to do without a lock.
 */
int repo_lock_refresh(struct repo *, struct err *);

/* Close without flushing: blobs not yet in a written pack are dropped;
 * releases the lock. */
void repo_close(struct repo *);

/*
 * Who makes this repository's changes (lib/repo/oplog.h): with an actor,
 * the operations that change it append a record to its log; without one
 * (NULL, the default) they record nothing.  a is not copied: it must
 * outlive r.
 */
void repo_set_actor(struct repo *, const struct oplog_actor *a);
const struct oplog_actor *repo_actor(const struct repo *);

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
 * The zstd level for the blobs stored from now on (0: the repository's
 * own, set at init).  Blobs are decoded the same whatever their level, so
 * a snapshot, or one source in it, may pick its own.  ERR_USAGE for a
 * level out of range.
 */
int repo_set_compression(struct repo *, int level, struct err *);

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
 * the keyed hash of the plaintext and its type is the one expected.  When
 * the id is indexed in several places, a copy that fails any of that (or
 * whose pack is missing) is passed over for the next one; only when none
 * is intact does the read fail, with the first copy's error.  *out
 * (free()) holds *n bytes.  A missing blob is ERR_CORRUPT naming it.
 */
int repo_blob_get(struct repo *, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type, uint8_t **out, size_t *n, struct err *);

/*
 * Read n blobs of one type and hand them to fn in order (i = 0..n-1),
 * each checked as repo_blob_get does (authenticated, and the keyed hash of
 * its plaintext compared with its id, falling back to other copies),
 * fetching and checking ahead on worker threads (repo_set_workers).  The
 * AEAD tag alone does not do: anyone with the key can seal other bytes
 * under a known id, and only the keyed hash ties a blob to the snapshot
 * that names it.  REPO_READ_REHASH, once needed for the hash check, is
 * accepted and changes nothing; REPO_READ_AUTH_ONLY is below.  The
 * plaintext passed to fn is valid only during the call.  Stops at the
 * first blob that cannot be read (-1, e says which; fn was called for
 * every blob before it) or fn's first -1.
 */
#define REPO_READ_REHASH 0x1
/*
 * REPO_READ_AUTH_ONLY: for a caller that reads the blobs again, whole,
 * before it uses a byte of them (restore checks a large file this way
 * before a tar header or a database client commits it).  Each blob is
 * fetched and authenticated, its type and the length its header
 * declares checked, but not decompressed nor rehashed: fn gets p NULL
 * and len its plaintext length.  The tag covers every stored byte, so
 * damage, a short or missing pack and a blob moved to another id all
 * fail here; what passes and still fails the whole read later can only
 * be bytes sealed under the key that are not what their id names (a
 * faulty or hostile writer), or bytes changed in between.
 */
#define REPO_READ_AUTH_ONLY 0x2
int repo_blobs_read(struct repo *, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    enum idx_blob_type, int flags,
    int (*fn)(void *arg, size_t i, const uint8_t *p, size_t len, struct err *),
    void *arg, struct err *);

/*
 * Announce blobs the next repo_blobs_read calls will ask for, in that
 * order, so that the worker threads fetch and check them while the
 * caller is busy with what it has (a restore of many small files is
 * otherwise one store round trip per file).  A hint only: a call that
 * asks for something else drops what was fetched ahead and reads as
 * usual.  Takes at most repo_read_ahead_room(r) ids; the rest are
 * ignored.
 */
void repo_read_ahead(struct repo *, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    enum idx_blob_type);
size_t repo_read_ahead_room(const struct repo *);

/*
 * Fetch blobs repo_blob_get will soon be asked for, in any order, on
 * threads of their own (a walk of the trees loads one listing at a time,
 * and a store across a network costs a round trip for each).  A hint
 * only: kept in a few slots (REPO_PREFETCH_SLOTS, at most 8 MiB of
 * plaintext), the ids of the latest call fetched first; a hint already
 * there is not fetched again, and hints never asked for give way to new
 * ones.  Nothing happens when the repository has no worker threads, or
 * under a descriptor limit (RLIMIT_NOFILE) below 64.
 */
#define REPO_PREFETCH_SLOTS 64
void repo_prefetch(struct repo *, const uint8_t (*ids)[IDX_ID_LEN], size_t n,
    enum idx_blob_type);

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

/* One file under keys/, as repo_key_list sees it. */
struct repo_key_entry {
	char id[REPO_HEX_LEN + 1]; /* its name under keys/ */
	int current;               /* the key file that opened this repo */
	int damaged;               /* info is not valid: err says why */
	int beyond_budget;         /* a passphrase file that an open without
	                              the key hint does not reach within the
	                              KDF budget (key_plan) */
	struct key_file_info info;
	struct err err;
};

/*
 * Every file under keys/, oldest first (by created, then id), without
 * opening any: a file whose name is not the SHA-256 of its bytes, or that
 * key_file_info refuses, is listed as damaged (ERR_CORRUPT, or ERR_IO
 * when it cannot be read).  Fails only when keys/ cannot be listed.
 * Free *out with free().
 */
int repo_key_list(struct repo *, struct repo_key_entry **out, size_t *n,
    struct err *);

/*
 * Read keys/<id> back from the store and check that secret opens it to
 * this repository's master key: proof that the file works before another
 * is removed.  ERR_KEY if it does not open, ERR_CORRUPT if it is damaged
 * or opens to another master.
 */
int repo_key_test(struct repo *, const char *id, const void *secret,
    size_t secretlen, struct err *);

/*
 * Remove the key file whose id starts with prefix (at least 4 hex
 * digits, matching exactly one file; the full id in removed when not
 * NULL).  Refused (ERR_USAGE) for the key file that opened this
 * repository, and whenever no other intact key file would remain, so no
 * one is locked out by it; before removing, the opening key file is read
 * back and must still be intact.  The caller holds the exclusive lock.
 */
int repo_key_remove(struct repo *, const char *prefix,
    char removed[REPO_HEX_LEN + 1], struct err *);

/*
 * Open one sealed blob held in memory (len bytes at buf, as stored in a
 * pack): authenticate it under id, check its type and that it holds
 * raw_length bytes, decompress, and check that the keyed hash of the
 * plaintext is id.  buf is overwritten.  With out, the plaintext (free())
 * goes to *out and its length to *outlen; with out NULL it is only
 * verified, and wiped.  Any failure is ERR_CORRUPT, and no byte of
 * a blob that fails is handed over.
 */
int repo_blob_unseal(struct repo *, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type, uint32_t raw_length, uint8_t *buf, size_t len,
    uint8_t **out, size_t *outlen, struct err *);

/*
 * Open a pack's sealed header (the box the trailer points at) into its
 * plaintext (*plain, free()) for pack_header_decode.  ERR_CORRUPT if it
 * fails authentication.
 */
int repo_pack_header_unseal(struct repo *, const uint8_t *box, size_t len,
    uint8_t **plain, size_t *n, struct err *);

/*
 * repo_blob_unseal for a stream of blobs, on the reader threads: next
 * gives blob after blob (its bytes are copied before next is called again,
 * so they may be reused; it returns 0 for a blob, 1 at the end, -1 to
 * stop), and done is told, in the same order, NULL for a blob that
 * verified or the error of one that did not.  Plaintext is wiped, never
 * handed over.  -1 when next stopped it (e is then next's business).
 */
int repo_unseal_verify(struct repo *,
    int (*next)(void *, uint8_t id[IDX_ID_LEN], uint8_t *type,
        uint32_t *raw_length, const uint8_t **sealed, size_t *len),
    void (*done)(void *, const uint8_t id[IDX_ID_LEN], const struct err *),
    void *arg, struct err *);

/* What repo_rebuild_index found and did. */
struct repo_rebuild_stats {
	size_t packs, packs_bad, blobs, index_written, index_removed;
	char first_bad[ERR_MSG_MAX]; /* why the first bad pack was left out */
};

/*
 * Rebuild the index from the packs' own headers: read every pack's sealed
 * header, write new index files naming every blob of every readable pack,
 * then remove the index files that were there before (new ones first, so
 * a crash leaves at worst both).  Damaged packs are left out and counted.
 * Take the exclusive lock first (repo_open_locked).
 */
int repo_rebuild_index(struct repo *, struct repo_rebuild_stats *,
    struct err *);

/* What this repository instance added since open. */
struct repo_stats {
	uint64_t blobs_new, blobs_known; /* puts that stored / deduplicated */
	uint64_t raw_new;                /* plaintext bytes of new blobs */
	uint64_t stored_new;             /* sealed bytes of new blobs */
	uint64_t packs_written, pack_bytes_written;
};
void repo_get_stats(const struct repo *, struct repo_stats *);

/*
 * Load the index files published since open (or the last refresh).  A
 * reader calls it after listing the snapshots it will read, so that a
 * snapshot published meanwhile by a concurrent writer (packs, then index,
 * then snapshot) finds its blobs.  Does nothing once this instance has
 * written packs.  Damaged new index files are left out as at open.
 */
int repo_index_refresh(struct repo *, struct err *);

/*
 * A value only a holder of the repository's key can compute, the same
 * for the same label on every run: HMAC-SHA-256, under the key that
 * names blobs, of "coffer keyed digest" NUL label.  For names that must
 * not be guessable yet must not change from one snapshot to the next
 * (pg_dumpall's \restrict key, snapshot/pgglobals.h).
 */
void repo_keyed_digest(struct repo *, const char *label,
    uint8_t out[CRYPTO_HASH_LEN]);

/*
 * The first indexed location of id in a pack that no prune had marked for
 * deletion when repo_prune_guard_begin ran, noting that the caller reuses
 * it (repo_prune_guard_commit checks those packs); NULL if there is none.
 * The files cache asks this before it lets a file stand unread.
 */
const struct idx_entry *repo_blob_reuse(struct repo *,
    const uint8_t id[IDX_ID_LEN]);

/*
 * Prune's guard for writers (doc/FORMAT.md, "Prune"), begin: read the
 * deletion candidates of the records in prune/, so that from now on a
 * blob whose every indexed copy lies in a candidate pack counts as
 * unknown (repo_blob_known, repo_blob_reuse) and is stored again, and
 * start the clock repo_prune_guard_commit reads.
 */
int repo_prune_guard_begin(struct repo *, struct err *);

/*
 * The guard, in place of repo_flush right before a manifest naming this
 * instance's blobs is written: writes the packs, checks them, then writes
 * the index file.  Fails with ERR_LOCKED, and one line saying nothing was
 * committed, when a pack the snapshot reused or wrote is now a prune
 * candidate, or (when at least half the margin passed since the last
 * check, prune_margin) is gone; the index is then not written.  A writer
 * that passes commits a manifest whose data no prune deletes (the margin
 * argument, FORMAT.md "Prune").
 */
int repo_prune_guard_commit(struct repo *, struct err *);

/*
 * Add a blob already sealed (len bytes as stored in a pack, checked by
 * the caller) to the pack being filled, as is and whether or not its id
 * is known: prune's repacking.  Written by repo_flush_packs.
 */
int repo_blob_put_sealed(struct repo *, const uint8_t id[IDX_ID_LEN],
    enum idx_blob_type, const uint8_t *sealed, size_t len, uint32_t raw_length,
    struct err *);

/*
 * repo_flush without its index file: the packs are durable and in the
 * index in memory, and the caller writes the index files that name them
 * (prune writes one index for everything it keeps).
 */
int repo_flush_packs(struct repo *, struct err *);

/* "locks/<id>": the file holding this instance's lock, or NULL. */
const char *repo_lock_file(const struct repo *);

/*
 * The index files this instance read at open or by a refresh (used or
 * left out) or wrote, as "index/<name>", sorted; valid until the next
 * open, refresh or flush.
 */
void repo_index_files(const struct repo *, char *const **names, size_t *n);

/* The blob index (for check, restore planning and listing). */
const struct idx *repo_index(const struct repo *);

/* Pack file name "data/ab/abcd..." for a pack id. */
void repo_pack_name(const uint8_t id[IDX_ID_LEN], char *out, size_t size);

#endif
