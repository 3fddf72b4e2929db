/*
 * Prune's plan (prune_plan_packs): which packs are kept, deleted,
 * repacked, left young or left to an earlier record, on an index built
 * here.  The expected actions are written out, not computed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "repo/prune.h"

/* Ids that sort as their number: byte 0 is n. */
static void
mk(uint8_t id[IDX_ID_LEN], unsigned tag, unsigned n)
{
	memset(id, 0, IDX_ID_LEN);
	id[0] = (uint8_t)n;
	id[1] = (uint8_t)tag;
}

/* Blob b (tag 1) in pack p at off, len bytes. */
static void
put(struct idx *x, unsigned p, unsigned b, uint32_t off, uint32_t len)
{
	struct idx_entry e;
	uint8_t pid[IDX_ID_LEN];

	memset(&e, 0, sizeof(e));
	mk(pid, 2, p);
	mk(e.id, 1, b);
	e.pack = idx_pack_add(x, pid);
	e.offset = off;
	e.length = len;
	e.raw_length = len;
	e.type = IDX_BLOB_DATA;
	(void)idx_add(x, &e);
}

static void
pack(struct prune_pack *v, unsigned p, uint64_t size, int64_t mtime)
{
	memset(v, 0, sizeof(*v));
	mk(v->id, 2, p);
	v->size = size;
	v->mtime = mtime;
}

static struct prune_params
params(void)
{
	struct prune_params pp;

	pp.max_unused = 5;
	pp.max_repack = UINT64_MAX;
	pp.margin = 3600;
	pp.client_now = 100000;
	pp.store_now = 100000;
	return (pp);
}

START_TEST(test_actions)
{
	struct idx *x = idx_new();
	struct prune_pack v[6];
	struct prune_totals t;
	struct prune_params pp = params();
	uint8_t ref[4][IDX_ID_LEN], miss[IDX_ID_LEN];
	struct err e;

	/* Pack 1: all used.  Pack 2: nothing used.  Pack 3: half used.
	 * Pack 4: 1 of 100 bytes unused (1% < 5%). */
	put(x, 1, 10, 0, 100);
	put(x, 2, 20, 0, 100);
	put(x, 3, 30, 0, 100);
	put(x, 3, 31, 100, 100);
	put(x, 4, 40, 0, 99);
	put(x, 4, 41, 99, 1);
	mk(ref[0], 1, 10);
	mk(ref[1], 1, 30);
	mk(ref[2], 1, 40);
	mk(ref[3], 1, 99); /* in no pack of the index... */
	pack(&v[0], 1, 200, 0);
	pack(&v[1], 2, 200, 0);
	pack(&v[2], 3, 300, 0);
	pack(&v[3], 4, 200, 0);
	pack(&v[4], 5, 50, 100000 - 10);   /* unindexed, 10 s old */
	pack(&v[5], 6, 70, 100000 - 7200); /* unindexed, 2 h old */
	/* ... so the plan refuses, naming it. */
	ck_assert_int_eq(prune_plan_packs(x, (const uint8_t(*)[IDX_ID_LEN])ref,
	                     4, v, 6, &pp, &t, miss, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_mem_eq(miss, ref[3], IDX_ID_LEN);
	ck_assert_int_eq(prune_plan_packs(x, (const uint8_t(*)[IDX_ID_LEN])ref,
	                     3, v, 6, &pp, &t, miss, &e),
	    0);
	ck_assert_int_eq(v[0].action, PRUNE_KEEP);
	ck_assert_int_eq(v[1].action, PRUNE_DELETE);
	ck_assert_int_eq(v[2].action, PRUNE_REPACK);
	ck_assert_int_eq(v[3].action, PRUNE_KEEP);
	ck_assert_int_eq(v[4].action, PRUNE_YOUNG);
	ck_assert_int_eq(v[5].action, PRUNE_DELETE);
	ck_assert_uint_eq(v[2].used, 100);
	ck_assert_uint_eq(v[2].unused, 100);
	ck_assert_uint_eq(t.packs[PRUNE_DELETE], 2);
	ck_assert_uint_eq(t.bytes[PRUNE_DELETE], 270);
	ck_assert_uint_eq(t.repack_copy, 100);
	ck_assert_uint_eq(t.blobs_used, 3);
	ck_assert_uint_eq(t.blobs_unused, 3);
	idx_free(x);
}
END_TEST

START_TEST(test_clocks_both_must_agree)
{
	struct idx *x = idx_new();
	struct prune_pack v[1];
	struct prune_totals t;
	struct prune_params pp = params();
	uint8_t miss[IDX_ID_LEN];
	struct err e;

	/* Old by the client's clock, young by the store's: left alone. */
	pack(&v[0], 1, 10, 100000 - 7200);
	pp.store_now = 100000 - 7000;
	ck_assert_int_eq(prune_plan_packs(x, NULL, 0, v, 1, &pp, &t, miss, &e),
	    0);
	ck_assert_int_eq(v[0].action, PRUNE_YOUNG);
	/* And the other way round. */
	pp.store_now = 100000;
	pp.client_now = 100000 - 7000;
	ck_assert_int_eq(prune_plan_packs(x, NULL, 0, v, 1, &pp, &t, miss, &e),
	    0);
	ck_assert_int_eq(v[0].action, PRUNE_YOUNG);
	/* A store without file times never makes one old enough. */
	pp.client_now = 100000;
	pp.store_now = INT64_MIN;
	ck_assert_int_eq(prune_plan_packs(x, NULL, 0, v, 1, &pp, &t, miss, &e),
	    0);
	ck_assert_int_eq(v[0].action, PRUNE_YOUNG);
	idx_free(x);
}
END_TEST

START_TEST(test_repack_limit_and_order)
{
	struct idx *x = idx_new();
	struct prune_pack v[3];
	struct prune_totals t;
	struct prune_params pp = params();
	uint8_t ref[3][IDX_ID_LEN], miss[IDX_ID_LEN];
	struct err e;

	/* Three half-used packs; the one with most unused bytes goes first,
	 * and the limit stops the copying of more than 150 used bytes. */
	put(x, 1, 10, 0, 100);
	put(x, 1, 11, 100, 100);
	put(x, 2, 20, 0, 60);
	put(x, 2, 21, 60, 300);
	put(x, 3, 30, 0, 80);
	put(x, 3, 31, 80, 200);
	mk(ref[0], 1, 10);
	mk(ref[1], 1, 20);
	mk(ref[2], 1, 30);
	pack(&v[0], 1, 200, 0);
	pack(&v[1], 2, 360, 0);
	pack(&v[2], 3, 280, 0);
	pp.max_repack = 150;
	ck_assert_int_eq(prune_plan_packs(x, (const uint8_t(*)[IDX_ID_LEN])ref,
	                     3, v, 3, &pp, &t, miss, &e),
	    0);
	ck_assert_int_eq(v[1].action, PRUNE_REPACK); /* 300 unused, 60 used */
	ck_assert_int_eq(v[2].action, PRUNE_REPACK); /* 200 unused, 80 used */
	ck_assert_int_eq(v[0].action, PRUNE_KEEP);   /* would pass 150 */
	ck_assert_uint_eq(t.repack_copy, 140);
	/* 100% unused allowed: nothing is repacked. */
	pp.max_repack = UINT64_MAX;
	pp.max_unused = 100;
	ck_assert_int_eq(prune_plan_packs(x, (const uint8_t(*)[IDX_ID_LEN])ref,
	                     3, v, 3, &pp, &t, miss, &e),
	    0);
	ck_assert_uint_eq(t.packs[PRUNE_REPACK], 0);
	idx_free(x);
}
END_TEST

START_TEST(test_duplicates_and_marked)
{
	struct idx *x = idx_new();
	struct prune_pack v[3];
	struct prune_totals t;
	struct prune_params pp = params();
	uint8_t ref[2][IDX_ID_LEN], miss[IDX_ID_LEN];
	struct err e;

	/* Blob 10 in packs 1 and 2 (1 first in the index): counted in 1,
	 * so pack 2 is unused.  Blob 30 only in pack 3, which an earlier
	 * record marked: not missing, and pack 3 is left to that record. */
	put(x, 1, 10, 0, 100);
	put(x, 2, 10, 0, 100);
	put(x, 3, 30, 0, 100);
	mk(ref[0], 1, 10);
	mk(ref[1], 1, 30);
	pack(&v[0], 1, 100, 0);
	pack(&v[1], 2, 100, 0);
	pack(&v[2], 3, 100, 0);
	v[2].action = PRUNE_MARKED;
	ck_assert_int_eq(prune_plan_packs(x, (const uint8_t(*)[IDX_ID_LEN])ref,
	                     2, v, 3, &pp, &t, miss, &e),
	    0);
	ck_assert_int_eq(v[0].action, PRUNE_KEEP);
	ck_assert_int_eq(v[1].action, PRUNE_DELETE);
	ck_assert_int_eq(v[2].action, PRUNE_MARKED);
	ck_assert_uint_eq(t.packs[PRUNE_MARKED], 1);
	/* Pack 1 missing from the store: the copy in pack 2 is the one. */
	ck_assert_int_eq(prune_plan_packs(x, (const uint8_t(*)[IDX_ID_LEN])ref,
	                     2, v + 1, 2, &pp, &t, miss, &e),
	    0);
	ck_assert_int_eq(v[1].action, PRUNE_KEEP);
	idx_free(x);
}
END_TEST

START_TEST(test_margin_env)
{
	uint64_t m;
	struct err e;

	unsetenv(PRUNE_MARGIN_ENV);
	ck_assert_int_eq(prune_margin(&m, &e), 0);
	ck_assert_uint_eq(m, 3600);
	setenv(PRUNE_MARGIN_ENV, "90s", 1);
	ck_assert_int_eq(prune_margin(&m, &e), 0);
	ck_assert_uint_eq(m, 90);
	setenv(PRUNE_MARGIN_ENV, "soon", 1);
	ck_assert_int_eq(prune_margin(&m, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	unsetenv(PRUNE_MARGIN_ENV);
}
END_TEST

Suite *prune_suite(void);

Suite *
prune_suite(void)
{
	Suite *s = suite_create("prune");
	TCase *tc = tcase_create("plan");

	tcase_add_test(tc, test_actions);
	tcase_add_test(tc, test_clocks_both_must_agree);
	tcase_add_test(tc, test_repack_limit_and_order);
	tcase_add_test(tc, test_duplicates_and_marked);
	tcase_add_test(tc, test_margin_env);
	suite_add_tcase(s, tc);
	return (s);
}
