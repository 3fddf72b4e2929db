/*
 * Pack trailers and headers (lib/repo/pack.c), read before and after the
 * header's AEAD layer.  The first 8 bytes are a little-endian length: the
 * pack's (for the trailer, which is the next 8 bytes) and its blob data's
 * (for the header plaintext, the rest).  Invariants: an accepted trailer
 * places the header inside the pack, before the trailer, within the size
 * the format allows; an accepted header's blobs tile the data exactly,
 * each within the format's bounds, and rebuilding the pack from them
 * gives the same header.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "repo/pack.h"

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return (v);
}

static void
header(const uint8_t *p, size_t len, uint64_t data_len)
{
	struct pack_blob *b = NULL;
	struct pack_writer *w;
	uint8_t *hdr = NULL, *blob = NULL;
	size_t n = 0, hlen = 0;
	uint64_t off = 0;
	struct err e;

	if (pack_header_decode(p, len, data_len, &b, &n, &e) == -1) {
		FUZZ_CHECK(e.class == ERR_CORRUPT);
		return;
	}
	FUZZ_CHECK(n <= PACK_BLOBS_MAX);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(b[i].offset == off);
		FUZZ_CHECK(b[i].length >= PACK_BLOB_SEALED_MIN &&
		    b[i].length <= PACK_BLOB_SEALED_MAX);
		off += b[i].length;
	}
	FUZZ_CHECK(off == data_len);
	/* Small packs only: the writer holds the blob data in memory. */
	if (data_len <= (1u << 20)) {
		w = pack_writer_new();
		blob = calloc(1, (size_t)data_len + 1);
		FUZZ_CHECK(blob != NULL);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(pack_writer_add(w, b[i].id, b[i].type, blob,
			               b[i].length, b[i].raw_length, &e) == 0);
		pack_writer_header(w, &hdr, &hlen);
		FUZZ_CHECK(hlen == len && memcmp(hdr, p, len) == 0);
		free(hdr);
		free(blob);
		pack_writer_free(w);
	}
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t len, hoff;
	uint32_t hlen;
	struct err e;

	if (size < 8 + PACK_TRAILER_LEN)
		return (0);
	len = le64(data);
	if (pack_trailer_parse(data + 8, len, &hoff, &hlen, &e) == 0) {
		FUZZ_CHECK(len <= PACK_LEN_MAX);
		FUZZ_CHECK(hoff + hlen + PACK_TRAILER_LEN == len);
		FUZZ_CHECK(hlen <= pack_hdr_max(hoff));
	} else {
		FUZZ_CHECK(e.class == ERR_CORRUPT);
	}
	header(data + 8, size - 8, len % (PACK_DATA_MAX + 1));
	return (0);
}
