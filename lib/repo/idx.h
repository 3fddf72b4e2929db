/*
 * The blob index: which pack holds each blob, where, and how long.  Held
 * in memory as a hash table; stored in the repository as index files whose
 * plaintext encoding is defined here (doc/FORMAT.md, "Index files") and
 * which the caller encrypts.
 */
#ifndef COFFER_IDX_H
#define COFFER_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IDX_ID_LEN 32

enum idx_blob_type {
	IDX_BLOB_DATA = 0, /* a chunk of file or dump content */
	IDX_BLOB_TREE = 1, /* a directory listing */
};

struct idx_entry {
	uint8_t id[IDX_ID_LEN]; /* keyed hash of the plaintext */
	uint32_t pack;          /* pack number within this struct idx */
	uint32_t offset;        /* byte offset of the sealed blob in the pack */
	uint32_t length;        /* sealed length in the pack */
	uint32_t raw_length;    /* plaintext length */
	uint8_t type;           /* enum idx_blob_type */
};

struct idx;

struct idx *idx_new(void);
void idx_free(struct idx *);

/*
 * The number for a pack id, adding it if new.  Numbers are dense, start at
 * 0 and are stable for the life of the struct idx.
 */
uint32_t idx_pack_add(struct idx *, const uint8_t pack_id[IDX_ID_LEN]);
uint32_t idx_pack_count(const struct idx *);
const uint8_t *idx_pack_id(const struct idx *, uint32_t pack);

/*
 * Add a blob location (e->pack must come from idx_pack_add).  Every
 * location of an id is kept, in the order added: a copy that turns out
 * damaged (or planted by a key holder: its bytes do not hash to the id)
 * leaves the others to read.  Returns 0 when the id was new, 1 when it
 * was known already (the location is added unless it is the same pack and
 * offset as a known one).
 */
int idx_add(struct idx *, const struct idx_entry *e);

/*
 * The first location of a blob, or NULL.  Valid until the next idx_add,
 * as are the pointers from idx_find_next.
 */
const struct idx_entry *idx_find(const struct idx *,
    const uint8_t id[IDX_ID_LEN]);

/* The location after ent (from idx_find or idx_find_next), or NULL. */
const struct idx_entry *idx_find_next(const struct idx *,
    const struct idx_entry *ent);

/* The number of distinct blob ids. */
size_t idx_count(const struct idx *);

/* The number of locations (at least idx_count). */
size_t idx_locations(const struct idx *);

/* Calls fn for each location in insertion order; stops at and returns its
 * first non-zero result. */
int idx_foreach(const struct idx *, int (*fn)(void *, const struct idx_entry *),
    void *arg);

/*
 * Encode the locations whose pack number is in [from, to) as one index
 * file plaintext, grouped by pack.  *out is allocated; free it with free().
 */
void idx_encode(const struct idx *, uint32_t from, uint32_t to, uint8_t **out,
    size_t *outlen);

/*
 * Decode an index file plaintext and merge it into idx.  Hostile input is
 * refused with ERR_CORRUPT and a message naming what is wrong; on failure
 * idx may hold part of the file's entries (all of them valid).
 */
int idx_decode(struct idx *, const uint8_t *p, size_t len, struct err *);

#endif
