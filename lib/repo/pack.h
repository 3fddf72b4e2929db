/*
 * Pack files: sealed blobs back to back, then a sealed header listing them,
 * then a fixed trailer.  This module lays out bytes and parses them; sealing
 * (encryption) is the caller's, so the layout can be tested on its own.
 *
 *   blob 0 | blob 1 | ... | sealed header | u32 sealed header length | "CFPK"
 *
 * The header plaintext is defined in doc/FORMAT.md ("Packs").
 */
#ifndef COFFER_PACK_H
#define COFFER_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "repo/idx.h"

#define PACK_TRAILER_LEN   8
#define PACK_HDR_ENTRY_LEN 41 /* type, id, length, raw length */
#define PACK_HDR_FIXED     12 /* magic, version, reserved, count */

/*
 * The format's maxima (doc/FORMAT.md, "Packs").  Lengths read from a pack
 * before anything in it is authenticated (the trailer's header length, a
 * header's blob count) are held to them, so a damaged or hostile file
 * cannot make a reader allocate more than a real pack needs.
 *
 * A pack is written once its blobs reach the repository's target size
 * (at most PACK_TARGET_MAX), so its blob data is less than that plus one
 * blob; a blob holds at most PACK_BLOB_RAW_MAX plaintext bytes and, sealed,
 * at least its header byte and the AEAD overhead.
 */
#define PACK_TARGET_MAX      (1u << 30) /* config pack_size: 1 MiB..1 GiB */
#define PACK_TARGET_MIN      (1u << 20)
#define PACK_BLOB_RAW_MAX    (64u << 20)
#define PACK_BLOB_SEALED_MIN (1 + CRYPTO_AEAD_OVERHEAD)
#define PACK_BLOB_SEALED_MAX (PACK_BLOB_RAW_MAX + 1 + CRYPTO_AEAD_OVERHEAD)
#define PACK_DATA_MAX        ((uint64_t)PACK_TARGET_MAX - 1 + PACK_BLOB_SEALED_MAX)
#define PACK_BLOBS_MAX       (PACK_DATA_MAX / PACK_BLOB_SEALED_MIN)
/* The largest sealed header: one entry per blob of a maximal pack. */
#define PACK_HDR_MAX                                                           \
	(PACK_HDR_FIXED + PACK_BLOBS_MAX * PACK_HDR_ENTRY_LEN +                \
	    CRYPTO_AEAD_OVERHEAD)
#define PACK_LEN_MAX (PACK_DATA_MAX + PACK_HDR_MAX + PACK_TRAILER_LEN)

/*
 * The largest sealed header a pack with data_len bytes of blobs can have:
 * one entry per PACK_BLOB_SEALED_MIN bytes of data.
 */
uint64_t pack_hdr_max(uint64_t data_len);

/* One blob as listed in a pack header; offsets follow from the lengths. */
struct pack_blob {
	uint8_t id[IDX_ID_LEN];
	uint8_t type; /* enum idx_blob_type */
	uint32_t offset;
	uint32_t length;     /* sealed length */
	uint32_t raw_length; /* plaintext length */
};

struct pack_writer;

/* A writer that holds the pack in memory; it grows to the pack's size. */
struct pack_writer *pack_writer_new(void);
void pack_writer_free(struct pack_writer *);

/*
 * Append a sealed blob (at most PACK_BLOB_SEALED_MAX bytes).  Fails
 * (ERR_INTERNAL) if the blob data would pass PACK_DATA_MAX, which a caller
 * flushing at a target size of at most PACK_TARGET_MAX never reaches.
 */
int pack_writer_add(struct pack_writer *, const uint8_t id[IDX_ID_LEN],
    uint8_t type, const uint8_t *sealed, size_t len, uint32_t raw_length,
    struct err *);

/* Bytes of blob data so far, and the number of blobs. */
size_t pack_writer_size(const struct pack_writer *);
size_t pack_writer_count(const struct pack_writer *);
const struct pack_blob *pack_writer_blobs(const struct pack_writer *);

/* The header plaintext for the blobs added so far (caller frees). */
void pack_writer_header(const struct pack_writer *, uint8_t **out, size_t *len);

/*
 * Append the sealed header and the trailer and hand over the whole pack
 * (*pack_cap, unless NULL, gets the size of its allocation).  The writer is
 * empty afterwards and may be reused; the blob list is kept until the next
 * add (so the caller can index it under the pack's name).
 */
int pack_writer_finish(struct pack_writer *, const uint8_t *sealed_hdr,
    size_t hdr_len, uint8_t **pack, size_t *pack_len, size_t *pack_cap,
    struct err *);

/*
 * Give back a buffer that pack_writer_finish handed over (cap as it said),
 * for the next pack to fill.  A fresh allocation costs a page fault per
 * 4 KiB written, which on a virtual machine was a third of a snapshot's
 * time (bench/RESULTS.md, 2026-12-07); a recycled one is already mapped.
 * The writer keeps one buffer; a second is freed.
 */
void pack_writer_recycle(struct pack_writer *, uint8_t *buf, size_t cap);

/*
 * From the last PACK_TRAILER_LEN bytes of a pack of pack_len bytes: where
 * the sealed header starts and how long it is.  ERR_CORRUPT if the trailer
 * is malformed, points outside the pack, or gives a header longer than
 * the format allows for the data before it (pack_hdr_max), or if pack_len
 * passes PACK_LEN_MAX: then *hdr_len is safe to allocate.
 */
int pack_trailer_parse(const uint8_t trailer[PACK_TRAILER_LEN],
    uint64_t pack_len, uint64_t *hdr_off, uint32_t *hdr_len, struct err *);

/*
 * Decode a header plaintext of a pack whose blobs occupy [0, data_len).
 * Blobs must tile that range exactly, each at least PACK_BLOB_SEALED_MIN
 * and at most PACK_BLOB_SEALED_MAX bytes.  *blobs is allocated (free()).
 */
int pack_header_decode(const uint8_t *p, size_t len, uint64_t data_len,
    struct pack_blob **blobs, size_t *nblobs, struct err *);

#endif
