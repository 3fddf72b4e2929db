/*
 * Pack layout: blobs, sealed header, trailer.
 */
#include "repo/pack.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define PACK_MAGIC     "CFPK"
#define PACK_HDR_MAGIC "CFPH"
#define PACK_VERSION   1

struct pack_writer {
	uint8_t *buf;
	size_t len, cap;
	struct pack_blob *blobs;
	size_t nblobs, blobs_cap;
	int finished; /* blob list belongs to the last finished pack */
};

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

struct pack_writer *
pack_writer_new(void)
{
	return (xcalloc(1, sizeof(struct pack_writer)));
}

void
pack_writer_free(struct pack_writer *w)
{
	if (w == NULL)
		return;
	free(w->buf);
	free(w->blobs);
	free(w);
}

static void
reserve(struct pack_writer *w, size_t more)
{
	size_t cap = w->cap ? w->cap : 1 << 20;

	while (cap - w->len < more)
		cap *= 2;
	if (cap != w->cap) {
		w->buf = xreallocarray(w->buf, cap, 1);
		w->cap = cap;
	}
}

int
pack_writer_add(struct pack_writer *w, const uint8_t id[IDX_ID_LEN],
    uint8_t type, const uint8_t *sealed, size_t len, uint32_t raw_length,
    struct err *e)
{
	struct pack_blob *b;

	if (w->finished) {
		w->nblobs = 0;
		w->finished = 0;
	}
	if (len > PACK_BLOB_SEALED_MAX || w->len + len > PACK_DATA_MAX)
		return (err_set(e, ERR_INTERNAL,
		    "pack data would exceed %llu bytes",
		    (unsigned long long)PACK_DATA_MAX));
	reserve(w, len);
	memcpy(w->buf + w->len, sealed, len);
	if (w->nblobs == w->blobs_cap) {
		w->blobs_cap = w->blobs_cap ? w->blobs_cap * 2 : 256;
		w->blobs =
		    xreallocarray(w->blobs, w->blobs_cap, sizeof(*w->blobs));
	}
	b = &w->blobs[w->nblobs++];
	memcpy(b->id, id, IDX_ID_LEN);
	b->type = type;
	b->offset = (uint32_t)w->len;
	b->length = (uint32_t)len;
	b->raw_length = raw_length;
	w->len += len;
	return (0);
}

size_t
pack_writer_size(const struct pack_writer *w)
{
	return (w->finished ? 0 : w->len);
}

size_t
pack_writer_count(const struct pack_writer *w)
{
	return (w->nblobs);
}

const struct pack_blob *
pack_writer_blobs(const struct pack_writer *w)
{
	return (w->blobs);
}

void
pack_writer_header(const struct pack_writer *w, uint8_t **out, size_t *len)
{
	uint8_t *p;

	*len = PACK_HDR_FIXED + w->nblobs * PACK_HDR_ENTRY_LEN;
	p = *out = xmalloc(*len);
	memcpy(p, PACK_HDR_MAGIC, 4);
	p[4] = PACK_VERSION;
	p[5] = p[6] = p[7] = 0;
	put32(p + 8, (uint32_t)w->nblobs);
	p += PACK_HDR_FIXED;
	for (size_t i = 0; i < w->nblobs; i++, p += PACK_HDR_ENTRY_LEN) {
		p[0] = w->blobs[i].type;
		memcpy(p + 1, w->blobs[i].id, IDX_ID_LEN);
		put32(p + 1 + IDX_ID_LEN, w->blobs[i].length);
		put32(p + 5 + IDX_ID_LEN, w->blobs[i].raw_length);
	}
}

int
pack_writer_finish(struct pack_writer *w, const uint8_t *sealed_hdr,
    size_t hdr_len, uint8_t **pack, size_t *pack_len, size_t *pack_cap,
    struct err *e)
{
	if (hdr_len > PACK_HDR_MAX)
		return (err_set(e, ERR_INTERNAL,
		    "pack header of %zu bytes is longer than the format allows",
		    hdr_len));
	reserve(w, hdr_len + PACK_TRAILER_LEN);
	memcpy(w->buf + w->len, sealed_hdr, hdr_len);
	w->len += hdr_len;
	put32(w->buf + w->len, (uint32_t)hdr_len);
	memcpy(w->buf + w->len + 4, PACK_MAGIC, 4);
	w->len += PACK_TRAILER_LEN;
	/* Hand the buffer over; the next pack starts a fresh one. */
	*pack = w->buf;
	*pack_len = w->len;
	if (pack_cap != NULL)
		*pack_cap = w->cap;
	w->buf = NULL;
	w->len = w->cap = 0;
	w->finished = 1;
	return (0);
}

void
pack_writer_recycle(struct pack_writer *w, uint8_t *buf, size_t cap)
{
	if (w->buf != NULL || cap == 0) {
		free(buf);
		return;
	}
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
}

uint64_t
pack_hdr_max(uint64_t data_len)
{
	if (data_len > PACK_DATA_MAX)
		data_len = PACK_DATA_MAX;
	return (PACK_HDR_FIXED +
	    data_len / PACK_BLOB_SEALED_MIN * PACK_HDR_ENTRY_LEN +
	    CRYPTO_AEAD_OVERHEAD);
}

int
pack_trailer_parse(const uint8_t trailer[PACK_TRAILER_LEN], uint64_t pack_len,
    uint64_t *hdr_off, uint32_t *hdr_len, struct err *e)
{
	uint64_t off;
	uint32_t n;

	if (memcmp(trailer + 4, PACK_MAGIC, 4) != 0)
		return (err_set(e, ERR_CORRUPT, "not a pack (bad trailer)"));
	n = get32(trailer);
	if (pack_len < PACK_TRAILER_LEN ||
	    (uint64_t)n > pack_len - PACK_TRAILER_LEN)
		return (err_set(e, ERR_CORRUPT,
		    "pack header length %u exceeds the pack's %llu bytes", n,
		    (unsigned long long)pack_len));
	if (pack_len > PACK_LEN_MAX)
		return (err_set(e, ERR_CORRUPT,
		    "%llu bytes: longer than any pack can be (%llu)",
		    (unsigned long long)pack_len,
		    (unsigned long long)PACK_LEN_MAX));
	off = pack_len - PACK_TRAILER_LEN - n;
	/* Unauthenticated yet: no longer than its blobs allow. */
	if (n > pack_hdr_max(off))
		return (err_set(e, ERR_CORRUPT,
		    "pack header length %u is more than %llu bytes of blobs "
		    "can need (%llu)",
		    n, (unsigned long long)off,
		    (unsigned long long)pack_hdr_max(off)));
	*hdr_len = n;
	*hdr_off = off;
	return (0);
}

int
pack_header_decode(const uint8_t *p, size_t len, uint64_t data_len,
    struct pack_blob **blobs, size_t *nblobs, struct err *e)
{
	struct pack_blob *bl = NULL;
	uint64_t off = 0;
	uint32_t n;

	*blobs = NULL;
	*nblobs = 0;
	if (len < PACK_HDR_FIXED || memcmp(p, PACK_HDR_MAGIC, 4) != 0)
		return (err_set(e, ERR_CORRUPT, "pack header: bad magic"));
	if (p[4] != PACK_VERSION)
		return (err_set(e, ERR_CORRUPT,
		    "pack header: format version %u is not supported", p[4]));
	/* One encoding per header (doc/FORMAT.md, "Packs"). */
	if (p[5] != 0 || p[6] != 0 || p[7] != 0)
		return (err_set(e, ERR_CORRUPT,
		    "pack header: its reserved bytes are not zero"));
	n = get32(p + 8);
	if ((len - PACK_HDR_FIXED) / PACK_HDR_ENTRY_LEN != n ||
	    (len - PACK_HDR_FIXED) % PACK_HDR_ENTRY_LEN != 0)
		return (err_set(e, ERR_CORRUPT,
		    "pack header: %u blobs do not fit %zu bytes", n, len));
	bl = xcalloc((size_t)n + 1, sizeof(*bl));
	p += PACK_HDR_FIXED;
	for (uint32_t i = 0; i < n; i++, p += PACK_HDR_ENTRY_LEN) {
		if (p[0] != IDX_BLOB_DATA && p[0] != IDX_BLOB_TREE) {
			free(bl);
			return (err_set(e, ERR_CORRUPT,
			    "pack header: unknown blob type %u", p[0]));
		}
		bl[i].type = p[0];
		memcpy(bl[i].id, p + 1, IDX_ID_LEN);
		bl[i].offset = (uint32_t)off;
		bl[i].length = get32(p + 1 + IDX_ID_LEN);
		bl[i].raw_length = get32(p + 5 + IDX_ID_LEN);
		if (bl[i].length < PACK_BLOB_SEALED_MIN ||
		    bl[i].length > PACK_BLOB_SEALED_MAX ||
		    bl[i].raw_length > PACK_BLOB_RAW_MAX) {
			uint32_t blen = bl[i].length, raw = bl[i].raw_length;

			free(bl);
			return (err_set(e, ERR_CORRUPT,
			    "pack header: blob %u has an impossible length "
			    "(%u bytes, %u raw)",
			    i, blen, raw));
		}
		off += bl[i].length;
		if (off > data_len) {
			free(bl);
			return (err_set(e, ERR_CORRUPT,
			    "pack header: blobs run past the data (%llu > "
			    "%llu bytes)",
			    (unsigned long long)off,
			    (unsigned long long)data_len));
		}
	}
	if (off != data_len) {
		free(bl);
		return (err_set(e, ERR_CORRUPT,
		    "pack header: blobs cover %llu of %llu data bytes",
		    (unsigned long long)off, (unsigned long long)data_len));
	}
	*blobs = bl;
	*nblobs = n;
	return (0);
}
