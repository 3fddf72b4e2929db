/*
 * The replicate engine between two local stores: what is sent, what is
 * refused, what is reported, and that nothing on the target is replaced.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "crypto.h"
#include "replicate/replicate.h"
#include "repo/key.h"
#include "store/store.h"
#include "tutil.h"
#include "xmalloc.h"

struct seen {
	int notices, listed;
	char last[ERR_MSG_MAX];
};

static void
on_notice(void *arg, const char *msg)
{
	struct seen *s = arg;

	s->notices++;
	snprintf(s->last, sizeof(s->last), "%s", msg);
}

static void
on_listed(void *arg, const char *name, uint64_t size)
{
	struct seen *s = arg;

	(void)name;
	(void)size;
	s->listed++;
}

/* Put a file named by its hash under dir ("data" gets the 2-hex level). */
static char *
put_named(struct stor *st, const char *dir, const char *body)
{
	uint8_t h[CRYPTO_HASH_LEN];
	char hex[2 * CRYPTO_HASH_LEN + 1], *name;
	struct err e;

	crypto_sha256(body, strlen(body), h);
	crypto_hex_encode(h, sizeof(h), hex);
	if (strcmp(dir, "data") == 0)
		name = xasprintf("data/%.2s/%s", hex, hex);
	else
		name = xasprintf("%s/%s", dir, hex);
	ck_assert_int_eq(stor_put(st, name, (const uint8_t *)body, strlen(body),
	                     0, &e),
	    0);
	return (name);
}

static struct stor *src, *dst;
static char *sdir, *ddir;
static char *names[8];

static void
setup(void)
{
	struct err e;

	sdir = tutil_mkdtemp();
	ddir = tutil_mkdtemp();
	ck_assert_int_eq(stor_open(sdir, 0, &src, &e), 0);
	ck_assert_int_eq(stor_open(ddir, 0, &dst, &e), 0);
	ck_assert_int_eq(stor_put(src, "config", (const uint8_t *)"cfg-A", 5, 0,
	                     &e),
	    0);
	names[0] = put_named(src, "keys", "a key");
	names[1] = put_named(src, "data", "pack one");
	names[2] = put_named(src, "data", "pack two, a bit longer");
	names[3] = put_named(src, "data", "pack three");
	names[4] = put_named(src, "index", "an index");
	names[5] = put_named(src, "snapshots", "a snapshot");
	names[6] = NULL;
}

static void
teardown(void)
{
	for (int i = 0; names[i] != NULL; i++)
		free(names[i]);
	stor_close(src);
	stor_close(dst);
	tutil_rmtree(sdir);
	tutil_rmtree(ddir);
	free(sdir);
	free(ddir);
}

static int
run(struct repl_opts *o, struct repl_stats *st, struct err *e)
{
	err_clear(e);
	return (repl_run(src, dst, o, st, e));
}

static void
assert_same_file(const char *name)
{
	char *a = tutil_path(sdir, name), *b = tutil_path(ddir, name);
	size_t la, lb;
	char *da = tutil_read_file(a, &la), *db = tutil_read_file(b, &lb);

	ck_assert_msg(db != NULL, "%s not on the target", name);
	ck_assert_uint_eq(la, lb);
	ck_assert_mem_eq(da, db, la);
	free(a);
	free(b);
	free(da);
	free(db);
}

START_TEST(test_copy_then_nothing)
{
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct seen s = { 0 };
	struct err e;

	o.jobs = _i == 0 ? 1 : 8;
	o.notice = on_notice;
	o.arg = &s;
	ck_assert_int_eq(run(&o, &st, &e), 0);
	ck_assert_uint_eq(st.files_sent, 7); /* six and the config */
	ck_assert_uint_eq(st.files_present, 0);
	for (int i = 0; names[i] != NULL; i++)
		assert_same_file(names[i]);
	assert_same_file("config");
	ck_assert_int_eq(s.notices, 0);

	ck_assert_int_eq(run(&o, &st, &e), 0);
	ck_assert_uint_eq(st.files_sent, 0);
	ck_assert_uint_eq(st.bytes_sent, 0);
	ck_assert_uint_eq(st.files_present, 7); /* and the config */

	o.verify = 1;
	ck_assert_int_eq(run(&o, &st, &e), 0);
	ck_assert_uint_eq(st.files_verified, 6);
}
END_TEST

START_TEST(test_rotten_not_sent)
{
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct seen s = { 0 };
	struct err e;
	char *p = tutil_path(sdir, names[2]), *q;

	tutil_write_file(p, "pack two, a bit longer!", 23, 0600);
	o.notice = on_notice;
	o.arg = &s;
	ck_assert_int_eq(run(&o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_uint_eq(st.files_rotten, 1);
	ck_assert_uint_eq(st.files_sent, 6);
	ck_assert_int_eq(s.notices, 1);
	ck_assert_ptr_nonnull(strstr(s.last, names[2]));
	q = tutil_path(ddir, names[2]);
	ck_assert_ptr_null(tutil_read_file(q, NULL));
	/* The later kinds went anyway. */
	assert_same_file(names[5]);
	free(p);
	free(q);
}
END_TEST

START_TEST(test_other_repository)
{
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct err e;

	ck_assert_int_eq(stor_put(dst, "config", (const uint8_t *)"cfg-B", 5, 0,
	                     &e),
	    0);
	ck_assert_int_eq(run(&o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "another repository"));
	ck_assert_uint_eq(st.files_sent, 0);
	ck_assert_int_eq(tutil_count_entries(ddir, ""), 1); /* config */
}
END_TEST

START_TEST(test_dry_run)
{
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct seen s = { 0 };
	struct err e;

	o.dry_run = 1;
	o.listed = on_listed;
	o.arg = &s;
	ck_assert_int_eq(run(&o, &st, &e), 0);
	ck_assert_uint_eq(st.files_sent, 7);
	ck_assert_int_eq(s.listed, 7);
	ck_assert_int_eq(tutil_count_entries(ddir, ""), 0);
	/* A target that is not there yet. */
	s.listed = 0;
	err_clear(&e);
	ck_assert_int_eq(repl_run(src, NULL, &o, &st, &e), 0);
	ck_assert_int_eq(s.listed, 7);
}
END_TEST

START_TEST(test_target_differs_never_replaced)
{
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct seen s = { 0 };
	struct err e;
	char *p, *path;
	size_t len;

	ck_assert_int_eq(stor_put(dst, names[4], (const uint8_t *)"short", 5, 0,
	                     &e),
	    0);
	o.notice = on_notice;
	o.arg = &s;
	ck_assert_int_eq(run(&o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_uint_eq(st.files_mismatch, 1);
	path = tutil_path(ddir, names[4]);
	p = tutil_read_file(path, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(p, "short", 5);
	free(path);
	free(p);
}
END_TEST

START_TEST(test_junk_skipped_and_interrupt)
{
	static volatile sig_atomic_t stop = 1;
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct seen s = { 0 };
	struct err e;

	ck_assert_int_eq(stor_put(src, "data/zz/not-a-pack",
	                     (const uint8_t *)"x", 1, 0, &e),
	    0);
	ck_assert_int_eq(stor_put(src, "index/ABC", (const uint8_t *)"x", 1, 0,
	                     &e),
	    0);
	o.notice = on_notice;
	o.arg = &s;
	o.interrupted = &stop;
	ck_assert_int_eq(run(&o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_uint_eq(st.files_skipped, 2);
	ck_assert_int_eq(s.notices, 2);
	/* Keys go first, and nothing was sent of them. */
	ck_assert_uint_eq(st.files_sent, 0);
}
END_TEST

START_TEST(test_no_source)
{
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(repl_run(dst, src, &o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_NOREPO);
}
END_TEST

/* Put len bytes named by their hash (data/xx/HASH or dir/HASH). */
static char *
put_named_bytes(struct stor *st, const char *dir, const uint8_t *p, size_t len)
{
	uint8_t h[CRYPTO_HASH_LEN];
	char hex[2 * CRYPTO_HASH_LEN + 1], *name;
	struct err e;

	crypto_sha256(p, len, h);
	crypto_hex_encode(h, sizeof(h), hex);
	if (strcmp(dir, "data") == 0)
		name = xasprintf("data/%.2s/%s", hex, hex);
	else
		name = xasprintf("%s/%s", dir, hex);
	ck_assert_int_eq(stor_put(st, name, p, len, 0, &e), 0);
	return (name);
}

static uint8_t *
random_bytes(size_t len)
{
	uint8_t *p = xmalloc(len);
	struct err e;

	ck_assert_int_eq(crypto_random(p, len, &e), 0);
	return (p);
}

/* Packs larger than the stream buffer arrive whole and verify. */
START_TEST(test_pack_larger_than_buffer)
{
	const size_t len = STOR_STREAM_BUF + 777;
	uint8_t *big = random_bytes(len);
	char *name = put_named_bytes(src, "data", big, len);
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct err e;

	o.jobs = 2;
	ck_assert_int_eq(run(&o, &st, &e), 0);
	assert_same_file(name);
	ck_assert_uint_eq(st.files_sent, 8);
	o.verify = 1;
	ck_assert_int_eq(run(&o, &st, &e), 0);
	ck_assert_uint_eq(st.files_verified, 7);
	ck_assert_uint_eq(st.files_mismatch, 0);
	free(name);
	free(big);
}
END_TEST

/* A rotten pack is hashed as it streams and never gets its name. */
START_TEST(test_rotten_pack_never_published)
{
	const size_t len = STOR_STREAM_BUF + 4096;
	uint8_t *big = random_bytes(len);
	char *name = put_named_bytes(src, "data", big, len);
	char *p = tutil_path(sdir, name), *q = tutil_path(ddir, name);
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct seen s = { 0 };
	struct err e;

	big[len - 1] ^= 1; /* in the last buffer: all else was sent */
	tutil_write_file(p, big, len, 0600);
	o.notice = on_notice;
	o.arg = &s;
	ck_assert_int_eq(run(&o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_uint_eq(st.files_rotten, 1);
	ck_assert_ptr_nonnull(strstr(s.last, name));
	ck_assert_ptr_nonnull(strstr(s.last, "damaged in the source"));
	ck_assert_ptr_null(tutil_read_file(q, NULL));
	/* The setup's packs may share this prefix directory (their names are
	 * fixed, this one is random): count only temporary names. */
	*strrchr(q, '/') = '\0';
	ck_assert_int_eq(tutil_count_entries(q, ".tmp"), 0);
	free(p);
	free(q);
	free(name);
	free(big);
}
END_TEST

/* Larger than its kind can be: refused unread, with one clear line. */
START_TEST(test_oversize_refused)
{
	uint8_t *big = random_bytes(KEY_FILE_MAX + 1);
	char *name = put_named_bytes(src, "keys", big, KEY_FILE_MAX + 1);
	char *q = tutil_path(ddir, name);
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct seen s = { 0 };
	struct err e;

	o.notice = on_notice;
	o.arg = &s;
	ck_assert_int_eq(run(&o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_uint_eq(st.files_rotten, 1);
	ck_assert_uint_eq(st.files_sent, 7); /* the rest */
	ck_assert_int_eq(s.notices, 1);
	ck_assert_ptr_nonnull(strstr(s.last, name));
	ck_assert_ptr_nonnull(strstr(s.last, "more than a key file can have"));
	ck_assert_ptr_null(tutil_read_file(q, NULL));
	free(q);
	free(name);
	free(big);
}
END_TEST

/* A copy whose config was swapped: refused, and said so. */
START_TEST(test_config_replaced)
{
	struct repl_opts o = { 0 };
	struct repl_stats st;
	struct err e;
	char *cfg = tutil_path(ddir, "config"), *extra;

	ck_assert_int_eq(run(&o, &st, &e), 0);
	err_clear(&e);
	ck_assert_int_eq(repl_config_compare(dst, src, &e), 0);
	tutil_write_file(cfg, "cfg-B", 5, 0600);
	extra = put_named(src, "snapshots", "a new snapshot");
	ck_assert_int_eq(run(&o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(e.msg, "it was replaced there"));
	ck_assert_ptr_nonnull(strstr(e.msg, "chown root:root"));
	ck_assert_int_eq(st.refused, 1);
	ck_assert_uint_eq(st.files_sent, 0);
	free(cfg);
	cfg = tutil_path(ddir, extra);
	ck_assert_ptr_null(tutil_read_file(cfg, NULL));
	err_clear(&e);
	ck_assert_int_eq(repl_config_compare(dst, src, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(e.msg, "its config was replaced"));
	free(cfg);
	free(extra);
}
END_TEST

Suite *replicate_suite(void);

Suite *
replicate_suite(void)
{
	Suite *s = suite_create("replicate");
	TCase *tc = tcase_create("replicate");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_copy_then_nothing, 0, 2);
	tcase_add_test(tc, test_rotten_not_sent);
	tcase_add_test(tc, test_other_repository);
	tcase_add_test(tc, test_dry_run);
	tcase_add_test(tc, test_target_differs_never_replaced);
	tcase_add_test(tc, test_junk_skipped_and_interrupt);
	tcase_add_test(tc, test_no_source);
	tcase_add_test(tc, test_pack_larger_than_buffer);
	tcase_add_test(tc, test_rotten_pack_never_published);
	tcase_add_test(tc, test_oversize_refused);
	tcase_add_test(tc, test_config_replaced);
	suite_add_tcase(s, tc);
	return (s);
}
