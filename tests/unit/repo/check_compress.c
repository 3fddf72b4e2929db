/*
 * Blob compression: raw when zstd does not help, round trips, and refusal
 * of bombs, truncations, trailing bytes and garbage.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "crypto.h"
#include "repo/compress.h"

#define MiB ((size_t)1 << 20)

static struct compress *
new_or_die(int level)
{
	struct compress *c;
	struct err e;

	c = compress_new(level, &e);
	ck_assert_msg(c != NULL, "%s", e.msg);
	return (c);
}

/* Text-like bytes: words from a small vocabulary, deterministic. */
static void
fill_text(uint8_t *p, size_t n, uint32_t seed)
{
	static const char *const words[] = { "backup ", "restore ", "the ",
		"snapshot ", "of ", "database ", "nightly ", "\n", "coffer ",
		"pack ", "index ", "2024-11-27 ", "ok ", "error ", "a " };
	size_t i = 0, k;
	const char *w;

	while (i < n) {
		seed = seed * 1103515245u + 12345u;
		w = words[(seed >> 16) % (sizeof(words) / sizeof(words[0]))];
		for (k = 0; w[k] != '\0' && i < n; k++)
			p[i++] = (uint8_t)w[k];
	}
}

/* Compress n bytes; the caller frees the frame. */
static uint8_t *
make_frame(struct compress *c, const uint8_t *src, size_t n, size_t *flen)
{
	uint8_t *dst = malloc(n);
	enum compress_method m;
	struct err e;

	ck_assert_ptr_nonnull(dst);
	ck_assert_int_eq(compress_encode(c, src, n, dst, flen, &m, &e), 0);
	ck_assert_int_eq(m, COMPRESS_ZSTD);
	ck_assert_uint_lt(*flen, n);
	return (dst);
}

START_TEST(test_levels)
{
	struct err e;

	compress_free(new_or_die(0));
	compress_free(new_or_die(1));
	compress_free(new_or_die(-5));
	compress_free(new_or_die(COMPRESS_LEVEL_MAX));
	ck_assert_ptr_null(compress_new(COMPRESS_LEVEL_MAX + 1, &e));
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "compression level 20"));
	ck_assert_ptr_null(compress_new(-1000000, &e));
	compress_free(NULL);
}
END_TEST

/* The levels users choose from: one range for the CLI and the config. */
START_TEST(test_level_parse)
{
	static const char *bad[] = { "0", "20", "-5", "3x", "", " 3",
		"99999999999999999999" };
	struct err e;
	int lvl = 0;

	ck_assert_int_eq(compress_level_parse("1", &lvl, &e), 0);
	ck_assert_int_eq(lvl, COMPRESS_LEVEL_MIN);
	ck_assert_int_eq(compress_level_parse("19", &lvl, &e), 0);
	ck_assert_int_eq(lvl, COMPRESS_LEVEL_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		lvl = 7;
		ck_assert_msg(compress_level_parse(bad[i], &lvl, &e) == -1,
		    "'%s' accepted", bad[i]);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_int_eq(lvl, 7);
	}
	compress_level_parse("20", &lvl, &e);
	ck_assert_str_eq(e.msg, "'20' is not a zstd level (1-19)");
}
END_TEST

/* Changing the level of live contexts changes the frames, not their
 * meaning; a bad level is refused and the old one kept. */
START_TEST(test_set_level)
{
	size_t n = 1 * MiB, l1, l19, l1b, got;
	uint8_t *src = malloc(n), *f1, *f19, *f1b, *back = malloc(n);
	struct compress *c = new_or_die(1);
	struct err e;

	fill_text(src, n, 7);
	f1 = make_frame(c, src, n, &l1);
	ck_assert_int_eq(compress_set_level(c, 19, &e), 0);
	f19 = make_frame(c, src, n, &l19);
	ck_assert_uint_lt(l19, l1);
	ck_assert_int_eq(compress_decode(c, f19, l19, back, n, &got, &e), 0);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(back, src, n);
	ck_assert_int_eq(compress_set_level(c, COMPRESS_LEVEL_MAX + 1, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(compress_set_level(c, 1, &e), 0);
	f1b = make_frame(c, src, n, &l1b);
	ck_assert_uint_eq(l1b, l1);
	ck_assert_mem_eq(f1b, f1, l1);
	free(f1);
	free(f19);
	free(f1b);
	free(back);
	free(src);
	compress_free(c);
}
END_TEST

START_TEST(test_random_data_is_stored_raw)
{
	struct compress *c = new_or_die(3);
	uint8_t *src = malloc(256 * 1024), *dst = malloc(256 * 1024);
	enum compress_method m = COMPRESS_ZSTD;
	size_t n = 99, sizes[] = { 1, 2, 17, 4096, 256 * 1024 };
	struct err e;
	size_t i;

	ck_assert_int_eq(crypto_random(src, 256 * 1024, &e), 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ck_assert_int_eq(compress_encode(c, src, sizes[i], dst, &n, &m,
		                     &e),
		    0);
		ck_assert_int_eq(m, COMPRESS_RAW);
		ck_assert_uint_eq(n, 0);
	}
	/* Nothing is smaller than nothing. */
	ck_assert_int_eq(compress_encode(c, src, 0, dst, &n, &m, &e), 0);
	ck_assert_int_eq(m, COMPRESS_RAW);
	free(src);
	free(dst);
	compress_free(c);
}
END_TEST

START_TEST(test_text_round_trip_reusing_contexts)
{
	struct compress *c = new_or_die(_i == 0 ? 1 : 19);
	size_t n = 300000, flen, outlen, round;
	uint8_t *src = malloc(n), *frame, *out = malloc(n), *alloc;
	struct err e;

	for (round = 0; round < 3; round++) {
		fill_text(src, n, (uint32_t)round);
		frame = make_frame(c, src, n, &flen);
		ck_assert_uint_lt(flen, n / 3);
		/* Exactly the declared size is enough room. */
		ck_assert_int_eq(compress_decode(c, frame, flen, out, n,
		                     &outlen, &e),
		    0);
		ck_assert_uint_eq(outlen, n);
		ck_assert_mem_eq(out, src, n);
		ck_assert_int_eq(compress_decode_alloc(c, frame, flen, n,
		                     &alloc, &outlen, &e),
		    0);
		ck_assert_uint_eq(outlen, n);
		ck_assert_mem_eq(alloc, src, n);
		free(alloc);
		free(frame);
	}
	free(src);
	free(out);
	compress_free(c);
}
END_TEST

START_TEST(test_bomb_declared_size_refused)
{
	struct compress *c = new_or_die(3);
	size_t n = 16 * MiB, flen, outlen = 7;
	uint8_t *src = calloc(1, n), *frame, *out = malloc(MiB), *alloc;
	struct err e;

	frame = make_frame(c, src, n, &flen);
	ck_assert_uint_lt(flen, 4096);
	ck_assert_int_eq(compress_decode(c, frame, flen, out, MiB, &outlen, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(e.msg, "declares 16777216 bytes"));
	ck_assert_uint_eq(outlen, 0);
	/* One byte short of the declared size is still too little. */
	alloc = (uint8_t *)1;
	ck_assert_int_eq(compress_decode_alloc(c, frame, flen, n - 1, &alloc,
	                     &outlen, &e),
	    -1);
	ck_assert_ptr_null(alloc);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	free(frame);
	free(src);
	free(out);
	compress_free(c);
}
END_TEST

/*
 * Rewrite a frame's header so it no longer declares its content size (as
 * another zstd writer may): then only the bound stops a bomb.  Frame
 * header layout from RFC 8878, section 3.1.1.1.
 */
static uint8_t *
strip_content_size(const uint8_t *f, size_t flen, size_t *olen)
{
	static const size_t dict_len[] = { 0, 1, 2, 4 };
	uint8_t fhd = f[4], *o;
	int fcs_flag = fhd >> 6, single = (fhd >> 5) & 1;
	size_t hlen, fcs_len;

	fcs_len = fcs_flag == 0 ? (size_t)single : (size_t)1 << fcs_flag;
	hlen = 5 + (size_t)!single + dict_len[fhd & 3] + fcs_len;
	ck_assert_uint_eq(fhd & 3, 0);
	ck_assert_uint_lt(hlen, flen);
	*olen = 6 + flen - hlen;
	o = malloc(*olen);
	memcpy(o, f, 4);
	o[4] = (uint8_t)(fhd & 0x04); /* keep only the checksum flag */
	o[5] = (27 - 10) << 3;        /* window 128 MiB, enough for any */
	memcpy(o + 6, f + hlen, flen - hlen);
	return (o);
}

START_TEST(test_bomb_without_declared_size_refused)
{
	struct compress *c = new_or_die(3);
	size_t n = 16 * MiB, flen, blen, outlen;
	uint8_t *src = calloc(1, n), *frame, *bomb, *out = malloc(n), *alloc;
	struct err e;

	frame = make_frame(c, src, n, &flen);
	bomb = strip_content_size(frame, flen, &blen);
	/* The rewritten frame is good: with room, it decompresses. */
	ck_assert_int_eq(compress_decode(c, bomb, blen, out, n, &outlen, &e),
	    0);
	ck_assert_uint_eq(outlen, n);
	ck_assert_mem_eq(out, src, n);
	ck_assert_int_eq(compress_decode_alloc(c, bomb, blen, n + 5, &alloc,
	                     &outlen, &e),
	    0);
	ck_assert_uint_eq(outlen, n);
	free(alloc);
	/* Without room it is refused, whichever way it is asked. */
	ck_assert_int_eq(compress_decode(c, bomb, blen, out, MiB, &outlen, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than 1048576 bytes"));
	ck_assert_int_eq(compress_decode_alloc(c, bomb, blen, MiB, &alloc,
	                     &outlen, &e),
	    -1);
	ck_assert_ptr_null(alloc);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	free(bomb);
	free(frame);
	free(src);
	free(out);
	compress_free(c);
}
END_TEST

START_TEST(test_truncated_frames_refused)
{
	struct compress *c = new_or_die(3);
	size_t n = 20000, flen, cut, outlen;
	uint8_t *src = malloc(n), *frame, *out = malloc(n), *alloc;
	struct err e;

	fill_text(src, n, 42);
	frame = make_frame(c, src, n, &flen);
	for (cut = 0; cut < flen; cut++) {
		err_clear(&e);
		ck_assert_int_eq(compress_decode(c, frame, cut, out, n, &outlen,
		                     &e),
		    -1);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
		ck_assert_int_eq(compress_decode_alloc(c, frame, cut, n, &alloc,
		                     &outlen, &e),
		    -1);
		ck_assert_ptr_null(alloc);
	}
	free(frame);
	free(src);
	free(out);
	compress_free(c);
}
END_TEST

START_TEST(test_trailing_and_foreign_frames_refused)
{
	struct compress *c = new_or_die(3);
	size_t n = 20000, flen, outlen;
	uint8_t *src = malloc(n), *frame, *two, *out = malloc(2 * n);
	/* A skippable frame (magic 0x184D2A50) holding four bytes. */
	static const uint8_t skippable[] = { 0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0,
		1, 2, 3, 4 };
	struct err e;

	fill_text(src, n, 7);
	frame = make_frame(c, src, n, &flen);
	two = malloc(2 * flen);
	memcpy(two, frame, flen);
	memcpy(two + flen, frame, flen);
	/* Two frames back to back: the second is trailing data. */
	ck_assert_int_eq(compress_decode(c, two, 2 * flen, out, 2 * n, &outlen,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(e.msg, "after the zstd frame"));
	/* One stray byte after the frame. */
	ck_assert_int_eq(compress_decode(c, two, flen + 1, out, 2 * n, &outlen,
	                     &e),
	    -1);
	ck_assert_int_eq(compress_decode(c, skippable, sizeof(skippable), out,
	                     n, &outlen, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a zstd frame"));
	ck_assert_int_eq(compress_decode(c, "abc", 3, out, n, &outlen, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "too short"));
	free(two);
	free(frame);
	free(src);
	free(out);
	compress_free(c);
}
END_TEST

START_TEST(test_garbage_never_overruns)
{
	struct compress *c = new_or_die(3);
	size_t n = 20000, flen, outlen, i, cap = 30000;
	uint8_t *src = malloc(n), *frame, *g, *out = malloc(cap), *alloc;
	uint32_t seed = 1;
	struct err e;

	fill_text(src, n, 9);
	frame = make_frame(c, src, n, &flen);
	g = malloc(flen);
	/* Random bytes after a real magic, and one-byte edits of a real
	 * frame: refused, or decoded within the bound (no checksum: the
	 * AEAD around a blob is what catches edits). */
	for (i = 0; i < 3000; i++) {
		memcpy(g, frame, flen);
		seed = seed * 1103515245u + 12345u;
		if (i < 200) {
			ck_assert_int_eq(crypto_random(g + 4, flen - 4, &e), 0);
		} else {
			g[(seed >> 8) % flen] ^=
			    (uint8_t)(1u + (seed >> 24) % 255);
		}
		outlen = 0;
		if (compress_decode(c, g, flen, out, cap, &outlen, &e) == 0)
			ck_assert_uint_le(outlen, cap);
		else
			ck_assert_int_eq(e.class, ERR_CORRUPT);
		if (compress_decode_alloc(c, g, flen, cap, &alloc, &outlen,
		        &e) == 0) {
			ck_assert_uint_le(outlen, cap);
			free(alloc);
		} else
			ck_assert_int_eq(e.class, ERR_CORRUPT);
	}
	free(g);
	free(frame);
	free(src);
	free(out);
	compress_free(c);
}
END_TEST

Suite *compress_suite(void);

Suite *
compress_suite(void)
{
	Suite *s = suite_create("compress");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_level_parse);
	tcase_add_test(tc, test_set_level);
	tcase_add_test(tc, test_random_data_is_stored_raw);
	tcase_add_loop_test(tc, test_text_round_trip_reusing_contexts, 0, 2);
	tcase_add_test(tc, test_bomb_declared_size_refused);
	tcase_add_test(tc, test_bomb_without_declared_size_refused);
	tcase_add_test(tc, test_truncated_frames_refused);
	tcase_add_test(tc, test_trailing_and_foreign_frames_refused);
	tcase_add_test(tc, test_garbage_never_overruns);
	suite_add_tcase(s, tc);
	return (s);
}
