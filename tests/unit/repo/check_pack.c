/*
 * Pack layout: writer output parses back; hostile trailers and headers are
 * refused.  Sealing is identity here: layout is what is under test.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "repo/pack.h"
#include "xmalloc.h"

static uint8_t *
build(size_t nblobs, size_t *len, size_t *data_len)
{
	struct pack_writer *w = pack_writer_new();
	uint8_t blob[3000], id[IDX_ID_LEN], *hdr, *pack;
	size_t hlen;
	struct err e;

	*data_len = 0;
	for (size_t i = 0; i < nblobs; i++) {
		size_t n = 100 + i * 7;

		memset(blob, (int)i, n);
		memset(id, (int)(i * 3 + 1), sizeof(id));
		ck_assert_int_eq(pack_writer_add(w, id,
		                     i % 2 ? IDX_BLOB_TREE : IDX_BLOB_DATA,
		                     blob, n, (uint32_t)(n * 2), &e),
		    0);
		*data_len += n;
	}
	ck_assert_uint_eq(pack_writer_size(w), *data_len);
	ck_assert_uint_eq(pack_writer_count(w), nblobs);
	pack_writer_header(w, &hdr, &hlen);
	ck_assert_uint_eq(hlen, PACK_HDR_FIXED + nblobs * PACK_HDR_ENTRY_LEN);
	ck_assert_int_eq(pack_writer_finish(w, hdr, hlen, &pack, len, NULL, &e),
	    0);
	ck_assert_uint_eq(*len, *data_len + hlen + PACK_TRAILER_LEN);
	free(hdr);
	pack_writer_free(w);
	return (pack);
}

START_TEST(test_round_trip)
{
	size_t len, data_len, n;
	uint8_t *pack = build(50, &len, &data_len);
	struct pack_blob *bl;
	uint64_t hoff;
	uint32_t hlen;
	struct err e;

	ck_assert_int_eq(pack_trailer_parse(pack + len - PACK_TRAILER_LEN, len,
	                     &hoff, &hlen, &e),
	    0);
	ck_assert_uint_eq(hoff, data_len);
	ck_assert_int_eq(pack_header_decode(pack + hoff, hlen, hoff, &bl, &n,
	                     &e),
	    0);
	ck_assert_uint_eq(n, 50);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(bl[i].length, 100 + i * 7);
		ck_assert_uint_eq(bl[i].raw_length, 2 * (100 + i * 7));
		ck_assert_uint_eq(bl[i].type,
		    i % 2 ? IDX_BLOB_TREE : IDX_BLOB_DATA);
		ck_assert_uint_eq(pack[bl[i].offset], (uint8_t)i);
		ck_assert_uint_eq(pack[bl[i].offset + bl[i].length - 1],
		    (uint8_t)i);
		ck_assert_uint_eq(bl[i].id[0], (uint8_t)(i * 3 + 1));
	}
	free(bl);
	free(pack);
}
END_TEST

START_TEST(test_writer_reuse_after_finish)
{
	struct pack_writer *w = pack_writer_new();
	uint8_t id[IDX_ID_LEN] = { 1 }, data[10] = { 0 }, *hdr, *pack;
	size_t hlen, len;
	struct err e;

	ck_assert_int_eq(pack_writer_add(w, id, 0, data, 10, 10, &e), 0);
	pack_writer_header(w, &hdr, &hlen);
	ck_assert_int_eq(pack_writer_finish(w, hdr, hlen, &pack, &len, NULL,
	                     &e),
	    0);
	free(hdr);
	free(pack);
	/* The finished pack's list stays readable until the next add. */
	ck_assert_uint_eq(pack_writer_count(w), 1);
	ck_assert_uint_eq(pack_writer_size(w), 0);
	ck_assert_int_eq(pack_writer_add(w, id, 0, data, 5, 5, &e), 0);
	ck_assert_uint_eq(pack_writer_count(w), 1);
	ck_assert_uint_eq(pack_writer_blobs(w)[0].offset, 0);
	ck_assert_uint_eq(pack_writer_size(w), 5);
	pack_writer_free(w);
}
END_TEST

/* A recycled buffer is filled again from its start; a second one is
 * freed (ASan would report it leaked). */
START_TEST(test_writer_recycle)
{
	struct pack_writer *w = pack_writer_new();
	uint8_t id[IDX_ID_LEN] = { 1 }, data[10] = { 7 }, *hdr, *p1, *p2;
	size_t hlen, len, cap;
	struct err e;

	ck_assert_int_eq(pack_writer_add(w, id, 0, data, 10, 10, &e), 0);
	pack_writer_header(w, &hdr, &hlen);
	ck_assert_int_eq(pack_writer_finish(w, hdr, hlen, &p1, &len, &cap, &e),
	    0);
	free(hdr);
	ck_assert_uint_ge(cap, len);
	pack_writer_recycle(w, p1, cap);
	pack_writer_recycle(w, xmalloc(64), 64);
	ck_assert_uint_eq(pack_writer_size(w), 0);
	data[0] = 9;
	ck_assert_int_eq(pack_writer_add(w, id, 0, data, 4, 4, &e), 0);
	ck_assert_uint_eq(pack_writer_blobs(w)[0].offset, 0);
	pack_writer_header(w, &hdr, &hlen);
	ck_assert_int_eq(pack_writer_finish(w, hdr, hlen, &p2, &len, NULL, &e),
	    0);
	free(hdr);
	ck_assert_ptr_eq(p2, p1);
	ck_assert_uint_eq(p2[0], 9);
	ck_assert_uint_eq(len, 4 + hlen + PACK_TRAILER_LEN);
	free(p2);
	pack_writer_free(w);
}
END_TEST

START_TEST(test_trailer_refusals)
{
	uint8_t t[PACK_TRAILER_LEN] = { 0xff, 0xff, 0, 0, 'C', 'F', 'P', 'K' };
	uint64_t off;
	uint32_t hl;
	struct err e;

	ck_assert_int_eq(pack_trailer_parse(t, 100, &off, &hl, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(pack_trailer_parse(t, 4, &off, &hl, &e), -1);
	/* Inside the pack, but longer than blobs before it can need. */
	ck_assert_int_eq(pack_trailer_parse(t, 65535 + 8, &off, &hl, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(pack_trailer_parse(t,
	                     65535 + 8 +
	                         65535 / PACK_HDR_ENTRY_LEN *
	                             PACK_BLOB_SEALED_MIN,
	                     &off, &hl, &e),
	    0);
	ck_assert_uint_eq(hl, 65535);
	t[7] = 'X';
	ck_assert_int_eq(pack_trailer_parse(t, 1 << 20, &off, &hl, &e), -1);
	ck_assert(strstr(e.msg, "not a pack") != NULL);
}
END_TEST

START_TEST(test_header_refusals)
{
	size_t len, data_len, n;
	uint8_t *pack = build(4, &len, &data_len), *h;
	struct pack_blob *bl;
	size_t hlen = PACK_HDR_FIXED + 4 * PACK_HDR_ENTRY_LEN;
	struct err e;

	h = pack + data_len;
	/* Blobs must tile the data exactly: one byte more or less fails. */
	ck_assert_int_eq(pack_header_decode(h, hlen, data_len + 1, &bl, &n, &e),
	    -1);
	ck_assert_int_eq(pack_header_decode(h, hlen, data_len - 1, &bl, &n, &e),
	    -1);
	ck_assert_ptr_null(bl);
	for (size_t cut = 0; cut < hlen; cut++)
		ck_assert_int_eq(pack_header_decode(h, cut, data_len, &bl, &n,
		                     &e),
		    -1);
	/* The 3 bytes after the version are zero (found by fuzz_pack). */
	for (int i = 5; i < 8; i++) {
		h[i] = 0x10;
		ck_assert_int_eq(pack_header_decode(h, hlen, data_len, &bl, &n,
		                     &e),
		    -1);
		ck_assert(strstr(e.msg, "reserved bytes") != NULL);
		h[i] = 0;
	}
	h[8] = 200; /* count beyond the bytes */
	ck_assert_int_eq(pack_header_decode(h, hlen, data_len, &bl, &n, &e),
	    -1);
	h[8] = 4;
	h[PACK_HDR_FIXED] = 7; /* unknown type */
	ck_assert_int_eq(pack_header_decode(h, hlen, data_len, &bl, &n, &e),
	    -1);
	ck_assert(strstr(e.msg, "type 7") != NULL);
	h[PACK_HDR_FIXED] = 0;
	h[PACK_HDR_FIXED + 1 + IDX_ID_LEN + 2] = 0x10; /* 1 MiB more */
	ck_assert_int_eq(pack_header_decode(h, hlen, data_len, &bl, &n, &e),
	    -1);
	ck_assert(strstr(e.msg, "run past") != NULL);
	h[PACK_HDR_FIXED + 1 + IDX_ID_LEN + 3] = 0xff; /* past any blob */
	ck_assert_int_eq(pack_header_decode(h, hlen, data_len, &bl, &n, &e),
	    -1);
	ck_assert(strstr(e.msg, "impossible length") != NULL);
	free(pack);
}
END_TEST

/*
 * The maxima hold together: the largest pack the writer can make (a
 * target of PACK_TARGET_MAX, passed by one maximal blob, every other blob
 * minimal) parses; one byte of header more does not; and the 4 GiB a
 * trailer could claim before is refused before anything is allocated.
 */
START_TEST(test_maxima)
{
	uint8_t t[PACK_TRAILER_LEN] = { 0, 0, 0, 0, 'C', 'F', 'P', 'K' };
	uint64_t off, data = PACK_DATA_MAX, hmax;
	uint32_t hl;
	struct err e;

	ck_assert_uint_le(PACK_LEN_MAX, UINT32_MAX);
	ck_assert_uint_le(PACK_HDR_MAX, UINT32_MAX);
	ck_assert_uint_eq(pack_hdr_max(PACK_DATA_MAX), PACK_HDR_MAX);
	ck_assert_uint_eq(pack_hdr_max(UINT64_MAX), PACK_HDR_MAX);
	hmax = pack_hdr_max(data);
	t[0] = (uint8_t)hmax;
	t[1] = (uint8_t)(hmax >> 8);
	t[2] = (uint8_t)(hmax >> 16);
	t[3] = (uint8_t)(hmax >> 24);
	ck_assert_int_eq(pack_trailer_parse(t, data + hmax + PACK_TRAILER_LEN,
	                     &off, &hl, &e),
	    0);
	ck_assert_uint_eq(off, data);
	ck_assert_uint_eq(hl, hmax);
	/* The same header over one byte less of data is one entry too many
	 * only when that byte was a whole blob's worth: take a blob off. */
	ck_assert_int_eq(pack_trailer_parse(t,
	                     data - PACK_BLOB_SEALED_MIN + hmax +
	                         PACK_TRAILER_LEN,
	                     &off, &hl, &e),
	    -1);
	/* A trailer claiming nearly 4 GiB of header. */
	memset(t, 0xf0, 4);
	ck_assert_int_eq(pack_trailer_parse(t, (uint64_t)UINT32_MAX + 100, &off,
	                     &hl, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
}
END_TEST

START_TEST(test_writer_limits)
{
	struct pack_writer *w = pack_writer_new();
	uint8_t id[IDX_ID_LEN] = { 1 }, byte = 0;
	struct err e;

	/* A blob longer than any sealed blob can be is refused unread. */
	ck_assert_int_eq(pack_writer_add(w, id, 0, &byte,
	                     (size_t)PACK_BLOB_SEALED_MAX + 1, 1, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	ck_assert_uint_eq(pack_writer_count(w), 0);
	pack_writer_free(w);
}
END_TEST

Suite *pack_suite(void);

Suite *
pack_suite(void)
{
	Suite *s = suite_create("pack");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_maxima);
	tcase_add_test(tc, test_writer_limits);
	tcase_add_test(tc, test_writer_reuse_after_finish);
	tcase_add_test(tc, test_writer_recycle);
	tcase_add_test(tc, test_trailer_refusals);
	tcase_add_test(tc, test_header_refusals);
	suite_add_tcase(s, tc);
	return (s);
}
