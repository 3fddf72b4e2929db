/*
 * Blob index: lookup, growth, encoding round trip, hostile input.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "repo/idx.h"

static void
make_id(uint8_t id[IDX_ID_LEN], uint32_t n)
{
	/* Real ids are keyed hashes: spread n over the bytes (splitmix64). */
	uint64_t z = n + 0x9e3779b97f4a7c15ULL;

	for (int k = 0; k < 4; k++) {
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(id + 8 * k, &z, sizeof(z));
	}
}

START_TEST(test_colliding_prefixes)
{
	struct idx *x = idx_new();
	struct idx_entry e;

	/* Ids equal in the bytes the table hashes still stay distinct. */
	memset(&e, 0, sizeof(e));
	for (uint32_t n = 0; n < 3000; n++) {
		memset(e.id, 0x5a, IDX_ID_LEN);
		memcpy(e.id + 28, &n, sizeof(n));
		e.offset = n;
		ck_assert_int_eq(idx_add(x, &e), 0);
	}
	for (uint32_t n = 0; n < 3000; n += 11) {
		memset(e.id, 0x5a, IDX_ID_LEN);
		memcpy(e.id + 28, &n, sizeof(n));
		ck_assert_uint_eq(idx_find(x, e.id)->offset, n);
	}
	idx_free(x);
}
END_TEST

static struct idx *
filled(uint32_t npacks, uint32_t per_pack)
{
	struct idx *x = idx_new();

	for (uint32_t k = 0; k < npacks; k++) {
		uint8_t pid[IDX_ID_LEN];
		uint32_t pn;

		memset(pid, (int)k + 1, sizeof(pid));
		pn = idx_pack_add(x, pid);
		ck_assert_uint_eq(pn, k);
		for (uint32_t j = 0; j < per_pack; j++) {
			struct idx_entry e;

			make_id(e.id, k * per_pack + j);
			e.pack = pn;
			e.offset = j * 100;
			e.length = 100;
			e.raw_length = 1000 + j;
			e.type = (j % 7 == 0) ? IDX_BLOB_TREE : IDX_BLOB_DATA;
			ck_assert_int_eq(idx_add(x, &e), 0);
		}
	}
	return (x);
}

START_TEST(test_find_after_growth)
{
	struct idx *x = filled(10, 5000);
	uint8_t id[IDX_ID_LEN];

	ck_assert_uint_eq(idx_count(x), 50000);
	for (uint32_t n = 0; n < 50000; n += 7) {
		const struct idx_entry *e;

		make_id(id, n);
		e = idx_find(x, id);
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->pack, n / 5000);
		ck_assert_uint_eq(e->offset, (n % 5000) * 100);
		ck_assert_uint_eq(e->raw_length, 1000 + n % 5000);
	}
	make_id(id, 50001);
	ck_assert_ptr_null(idx_find(x, id));
	idx_free(x);
}
END_TEST

/*
 * An id indexed again keeps every location, first first (issue 9: the
 * first one may be a planted copy), but the same location is not added
 * twice; chains survive the table's growth.
 */
START_TEST(test_duplicate_keeps_every_location)
{
	struct idx *x = filled(1, 3);
	struct idx_entry e;
	const struct idx_entry *f;
	uint8_t pid[IDX_ID_LEN];

	make_id(e.id, 1);
	e.pack = 0;
	e.offset = 999;
	e.length = 5;
	e.raw_length = 5;
	e.type = IDX_BLOB_DATA;
	ck_assert_int_eq(idx_add(x, &e), 1);
	memset(pid, 0xee, sizeof(pid));
	e.pack = idx_pack_add(x, pid);
	e.offset = 7;
	ck_assert_int_eq(idx_add(x, &e), 1);
	ck_assert_int_eq(idx_add(x, &e), 1); /* the same place again */
	ck_assert_uint_eq(idx_count(x), 3);
	ck_assert_uint_eq(idx_locations(x), 5);
	f = idx_find(x, e.id);
	ck_assert_uint_eq(f->offset, 100);
	f = idx_find_next(x, f);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->offset, 999);
	f = idx_find_next(x, f);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->offset, 7);
	ck_assert_uint_eq(f->pack, 1);
	ck_assert_ptr_null(idx_find_next(x, f));
	make_id(e.id, 2);
	ck_assert_ptr_null(idx_find_next(x, idx_find(x, e.id)));
	idx_free(x);
}
END_TEST

START_TEST(test_duplicates_across_growth_and_encoding)
{
	struct idx *x = idx_new(), *y = idx_new();
	uint8_t pid[IDX_ID_LEN], *buf;
	size_t len;
	struct err err;

	/* Two packs holding the same 20000 ids, added pack by pack. */
	for (uint32_t k = 0; k < 2; k++) {
		memset(pid, (int)k + 1, sizeof(pid));
		uint32_t pn = idx_pack_add(x, pid);

		for (uint32_t n = 0; n < 20000; n++) {
			struct idx_entry e;

			make_id(e.id, n);
			e.pack = pn;
			e.offset = n * 50;
			e.length = 50;
			e.raw_length = 40;
			e.type = IDX_BLOB_DATA;
			ck_assert_int_eq(idx_add(x, &e), k == 0 ? 0 : 1);
		}
	}
	ck_assert_uint_eq(idx_count(x), 20000);
	ck_assert_uint_eq(idx_locations(x), 40000);
	/* Through an index file and back: both copies of each. */
	idx_encode(x, 0, idx_pack_count(x), &buf, &len);
	ck_assert_int_eq(idx_decode(y, buf, len, &err), 0);
	free(buf);
	for (uint32_t n = 0; n < 20000; n += 13) {
		uint8_t id[IDX_ID_LEN];
		const struct idx_entry *f;

		make_id(id, n);
		f = idx_find(y, id);
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(f->pack, 0);
		f = idx_find_next(y, f);
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(f->pack, 1);
		ck_assert_uint_eq(f->offset, n * 50);
		ck_assert_ptr_null(idx_find_next(y, f));
	}
	idx_free(x);
	idx_free(y);
}
END_TEST

START_TEST(test_pack_numbers_stable)
{
	struct idx *x = idx_new();
	uint8_t pid[IDX_ID_LEN];

	for (uint32_t k = 0; k < 500; k++) {
		memset(pid, 0, sizeof(pid));
		memcpy(pid, &k, sizeof(k));
		ck_assert_uint_eq(idx_pack_add(x, pid), k);
	}
	memset(pid, 0, sizeof(pid));
	pid[0] = 42;
	ck_assert_uint_eq(idx_pack_add(x, pid), 42);
	ck_assert_uint_eq(idx_pack_count(x), 500);
	ck_assert_mem_eq(idx_pack_id(x, 42), pid, IDX_ID_LEN);
	ck_assert_ptr_null(idx_pack_id(x, 500));
	idx_free(x);
}
END_TEST

static int
same_entry(void *arg, const struct idx_entry *e)
{
	const struct idx *other = arg;
	const struct idx_entry *o = idx_find(other, e->id);

	return (o == NULL || o->offset != e->offset || o->length != e->length ||
	    o->raw_length != e->raw_length || o->type != e->type);
}

START_TEST(test_encode_decode_round_trip)
{
	struct idx *x = filled(4, 300), *y = idx_new();
	struct err e;
	uint8_t *buf;
	size_t len;

	/* Packs 1 and 2 only: what one snapshot run would write. */
	idx_encode(x, 1, 3, &buf, &len);
	ck_assert_uint_eq(len, 8 + 2 * 36 + 600 * 45);
	ck_assert_int_eq(idx_decode(y, buf, len, &e), 0);
	ck_assert_uint_eq(idx_count(y), 600);
	ck_assert_uint_eq(idx_pack_count(y), 2);
	ck_assert_mem_eq(idx_pack_id(y, 0), idx_pack_id(x, 1), IDX_ID_LEN);
	ck_assert_int_eq(idx_foreach(y, same_entry, x), 0);
	for (uint32_t n = 300; n < 900; n++) {
		uint8_t id[IDX_ID_LEN];
		const struct idx_entry *a, *b;

		make_id(id, n);
		a = idx_find(x, id);
		b = idx_find(y, id);
		ck_assert_ptr_nonnull(b);
		ck_assert_mem_eq(idx_pack_id(x, a->pack),
		    idx_pack_id(y, b->pack), IDX_ID_LEN);
	}
	free(buf);
	idx_free(x);
	idx_free(y);
}
END_TEST

START_TEST(test_decode_refuses_hostile_input)
{
	struct idx *x = filled(2, 10), *y;
	struct err e;
	uint8_t *buf;
	size_t len;

	idx_encode(x, 0, 2, &buf, &len);
	/* Every truncation is refused or yields a valid prefix, never a crash.
	 */
	for (size_t cut = 0; cut < len; cut++) {
		y = idx_new();
		if (idx_decode(y, buf, cut, &e) == 0)
			ck_assert(cut == 8 || cut == 8 + 36 + 10 * 45);
		else
			ck_assert_int_eq(e.class, ERR_CORRUPT);
		idx_free(y);
	}
	/* A blob count far beyond the file's size. */
	buf[8 + 32] = 0xff;
	buf[8 + 35] = 0x7f;
	y = idx_new();
	ck_assert_int_eq(idx_decode(y, buf, len, &e), -1);
	ck_assert(strstr(e.msg, "ends early") != NULL);
	idx_free(y);
	/* Wrong version, wrong magic, unknown type. */
	buf[8 + 32] = 10;
	buf[8 + 35] = 0;
	buf[4] = 2;
	y = idx_new();
	ck_assert_int_eq(idx_decode(y, buf, len, &e), -1);
	ck_assert(strstr(e.msg, "version 2") != NULL);
	idx_free(y);
	buf[4] = 1;
	buf[8 + 36] = 9;
	y = idx_new();
	ck_assert_int_eq(idx_decode(y, buf, len, &e), -1);
	ck_assert(strstr(e.msg, "blob type 9") != NULL);
	idx_free(y);
	buf[0] = 'X';
	y = idx_new();
	ck_assert_int_eq(idx_decode(y, buf, len, &e), -1);
	idx_free(y);
	free(buf);
	idx_free(x);
}
END_TEST

START_TEST(test_random_mutations_never_crash)
{
	struct idx *x = filled(3, 50), *y;
	struct err e;
	uint8_t *buf;
	size_t len;
	unsigned seed = 12345;

	idx_encode(x, 0, 3, &buf, &len);
	for (int round = 0; round < 2000; round++) {
		uint8_t *m = malloc(len);
		size_t mlen = len - (size_t)(rand_r(&seed) % 64);

		memcpy(m, buf, len);
		for (int k = 0; k < 4; k++)
			m[(size_t)rand_r(&seed) % mlen] =
			    (uint8_t)rand_r(&seed);
		y = idx_new();
		(void)idx_decode(y, m, mlen, &e);
		idx_free(y);
		free(m);
	}
	free(buf);
	idx_free(x);
}
END_TEST

Suite *idx_suite(void);

Suite *
idx_suite(void)
{
	Suite *s = suite_create("idx");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_find_after_growth);
	tcase_add_test(tc, test_colliding_prefixes);
	tcase_add_test(tc, test_duplicate_keeps_every_location);
	tcase_add_test(tc, test_duplicates_across_growth_and_encoding);
	tcase_add_test(tc, test_pack_numbers_stable);
	tcase_add_test(tc, test_encode_decode_round_trip);
	tcase_add_test(tc, test_decode_refuses_hostile_input);
	tcase_add_test(tc, test_random_mutations_never_crash);
	suite_add_tcase(s, tc);
	return (s);
}
