/*
 * The local store backend: atomic puts (whole and streamed), ranges,
 * listing, names.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fault.h"
#include "store/store.h"
#include "tutil.h"

static char root[64];

static void
setup(void)
{
	strcpy(root, "/tmp/coffer-store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_put_get_range_stat)
{
	struct stor *st;
	struct err e;
	uint8_t data[5000], *got, part[10];
	size_t len;
	uint64_t size;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(stor_open(root, 0, &st, &e), 0);
	ck_assert_int_eq(stor_put(st, "data/ab/abcdef", data, sizeof(data),
	                     STOR_NOREPLACE, &e),
	    0);
	ck_assert_int_eq(stor_get(st, "data/ab/abcdef", 1 << 20, &got, &len,
	                     &e),
	    0);
	ck_assert_uint_eq(len, sizeof(data));
	ck_assert_mem_eq(got, data, len);
	free(got);
	ck_assert_int_eq(stor_get_range(st, "data/ab/abcdef", 4990, 10, part,
	                     &e),
	    0);
	ck_assert_mem_eq(part, data + 4990, 10);
	ck_assert_int_eq(stor_get_range(st, "data/ab/abcdef", 4995, 10, part,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(stor_stat(st, "data/ab/abcdef", &size, &e), 0);
	ck_assert_uint_eq(size, sizeof(data));
	ck_assert_int_eq(stor_stat(st, "data/ab/nothere", &size, &e), 1);
	/* Bigger than the caller's bound: refused, not allocated. */
	ck_assert_int_eq(stor_get(st, "data/ab/abcdef", 100, &got, &len, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(stor_get(st, "nothere", 100, &got, &len, &e), -1);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	stor_close(st);
}
END_TEST

START_TEST(test_noreplace_keeps_existing)
{
	struct stor *st;
	struct err e;
	uint8_t *got;
	size_t len;

	ck_assert_int_eq(stor_open(root, 0, &st, &e), 0);
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"one", 3,
	                     STOR_NOREPLACE, &e),
	    0);
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"two", 3,
	                     STOR_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	ck_assert_int_eq(stor_get(st, "config", 10, &got, &len, &e), 0);
	ck_assert_mem_eq(got, "one", 3);
	free(got);
	/* Without the flag a put replaces atomically. */
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"three", 5, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_get(st, "config", 10, &got, &len, &e), 0);
	ck_assert_uint_eq(len, 5);
	free(got);
	stor_close(st);
}
END_TEST

/*
 * A streamed file: byte i is (i * 7 + i / 4093) & 0xff, so a chunk put at
 * the wrong offset shows.  Counts calls; can fail the read at call
 * fail_at (1-based) or refuse in done.
 */
struct gen {
	uint64_t next;
	int reads, dones;
	int fail_at;
	int refuse;
};

static uint8_t
gen_byte(uint64_t i)
{
	return ((uint8_t)(i * 7 + i / 4093));
}

static int
gen_read(void *arg, uint64_t off, uint8_t *buf, size_t len, struct err *e)
{
	struct gen *g = arg;

	g->reads++;
	ck_assert_uint_eq(off, g->next);
	ck_assert_uint_le(len, STOR_STREAM_BUF);
	if (g->fail_at == g->reads)
		return (err_set(e, ERR_NET, "the source went away"));
	for (size_t i = 0; i < len; i++)
		buf[i] = gen_byte(off + i);
	g->next = off + len;
	return (0);
}

static int
gen_done(void *arg, struct err *e)
{
	struct gen *g = arg;

	g->dones++;
	if (g->refuse)
		return (err_set(e, ERR_CORRUPT, "not what the name says"));
	return (0);
}

/* Temp files left in dir (the tests' own names have no dot). */
static int
dot_files(const char *dir)
{
	char *p = tutil_path(root, dir);
	int n = tutil_count_entries(p, ".");

	free(p);
	return (n);
}

START_TEST(test_put_stream_larger_than_buffer)
{
	const uint64_t len = 2 * STOR_STREAM_BUF + 12345;
	uint64_t size;
	struct gen g = { 0 };
	struct stor_reader r = { gen_read, gen_done, &g };
	struct stor *st;
	struct err e;
	uint8_t *got;
	size_t n;

	ck_assert_int_eq(stor_open(root, 0, &st, &e), 0);
	ck_assert_int_eq(stor_put_stream(st, "data/ab/big", len, &r,
	                     STOR_NOREPLACE, &e),
	    0);
	ck_assert_int_eq(g.reads, 3); /* buffer by buffer, never the whole */
	ck_assert_int_eq(g.dones, 1);
	ck_assert_int_eq(stor_get(st, "data/ab/big", (size_t)len, &got, &n, &e),
	    0);
	ck_assert_uint_eq(n, len);
	for (size_t i = 0; i < n; i++)
		if (got[i] != gen_byte(i))
			ck_abort_msg("byte %zu differs", i);
	free(got);
	/* An empty file is a file too. */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(stor_put_stream(st, "keys/empty", 0, &r, 0, &e), 0);
	ck_assert_int_eq(g.reads, 0);
	ck_assert_int_eq(g.dones, 1);
	ck_assert_int_eq(stor_stat(st, "keys/empty", &size, &e), 0);
	ck_assert_uint_eq(size, 0);
	stor_close(st);
}
END_TEST

START_TEST(test_put_stream_refused_or_failed_publishes_nothing)
{
	struct gen g = { 0 };
	struct stor_reader r = { gen_read, gen_done, &g };
	struct stor *st;
	struct err e;
	uint64_t size;
	char *dir;

	ck_assert_int_eq(stor_open(root, 0, &st, &e), 0);
	/* done says no: the bytes were all written, the name never given. */
	g.refuse = 1;
	err_clear(&e);
	ck_assert_int_eq(stor_put_stream(st, "data/ab/x", STOR_STREAM_BUF + 1,
	                     &r, STOR_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_str_eq(e.msg, "not what the name says");
	ck_assert_int_eq(g.reads, 2);
	ck_assert_int_eq(stor_stat(st, "data/ab/x", &size, &e), 1);
	ck_assert_int_eq(dot_files("data/ab"), 0);
	/* The reader fails: its error unchanged, nothing published. */
	memset(&g, 0, sizeof(g));
	g.fail_at = 2;
	err_clear(&e);
	ck_assert_int_eq(stor_put_stream(st, "data/ab/x", STOR_STREAM_BUF + 1,
	                     &r, STOR_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_NET);
	ck_assert_str_eq(e.msg, "the source went away");
	ck_assert_int_eq(g.dones, 0);
	ck_assert_int_eq(stor_stat(st, "data/ab/x", &size, &e), 1);
	ck_assert_int_eq(dot_files("data/ab"), 0);
	/* fsync fails: nothing published, the temp file gone. */
	memset(&g, 0, sizeof(g));
	fault_arm(FAULT_FSYNC, 0, EIO);
	err_clear(&e);
	ck_assert_int_eq(stor_put_stream(st, "data/ab/x", 100, &r,
	                     STOR_NOREPLACE, &e),
	    -1);
	fault_reset();
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_int_eq(stor_stat(st, "data/ab/x", &size, &e), 1);
	ck_assert_int_eq(dot_files("data/ab"), 0);
	dir = tutil_path(root, "data/ab");
	ck_assert_int_eq(tutil_count_entries(dir, ""), 0);
	free(dir);
	stor_close(st);
}
END_TEST

START_TEST(test_put_stream_noreplace)
{
	struct gen g = { 0 };
	struct stor_reader r = { gen_read, NULL, &g };
	struct stor *st;
	struct err e;
	uint8_t *got;
	size_t len;

	ck_assert_int_eq(stor_open(root, 0, &st, &e), 0);
	ck_assert_int_eq(stor_put(st, "index/one", (const uint8_t *)"one", 3,
	                     STOR_NOREPLACE, &e),
	    0);
	err_clear(&e);
	ck_assert_int_eq(stor_put_stream(st, "index/one", 1000, &r,
	                     STOR_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	ck_assert_int_eq(stor_get(st, "index/one", 10, &got, &len, &e), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(got, "one", 3);
	free(got);
	ck_assert_int_eq(dot_files("index"), 0);
	/* Without the flag it replaces, as stor_put does. */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(stor_put_stream(st, "index/one", 1000, &r, 0, &e), 0);
	ck_assert_int_eq(stor_get(st, "index/one", 1000, &got, &len, &e), 0);
	ck_assert_uint_eq(len, 1000);
	ck_assert_uint_eq(got[999], gen_byte(999));
	free(got);
	stor_close(st);
}
END_TEST

struct seen {
	char names[16][64];
	uint64_t sizes[16];
	int n;
};

static int
collect(void *arg, const char *name, uint64_t size)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, 16);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	s->sizes[s->n++] = size;
	return (0);
}

static int
stop_at_first(void *arg, const char *name, uint64_t size)
{
	(void)arg;
	(void)name;
	(void)size;
	return (42);
}

START_TEST(test_list_skips_temp_and_recurses)
{
	struct stor *st;
	struct err e;
	struct seen s;
	char path[128];
	FILE *f;

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(stor_open(root, 0, &st, &e), 0);
	ck_assert_int_eq(stor_put(st, "data/00/aa", (const uint8_t *)"x", 1, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_put(st, "data/ff/bb", (const uint8_t *)"yy", 2, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_put(st, "index/cc", (const uint8_t *)"z", 1, 0,
	                     &e),
	    0);
	/* A temp file a crashed writer left behind is not listed. */
	snprintf(path, sizeof(path), "%s/data/00/.aa.tmp.XXXX", root);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fclose(f);
	ck_assert_int_eq(stor_list(st, "data", collect, &s, &e), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert(strcmp(s.names[0], "data/00/aa") == 0 ||
	    strcmp(s.names[1], "data/00/aa") == 0);
	ck_assert(strcmp(s.names[0], "data/ff/bb") == 0 ||
	    strcmp(s.names[1], "data/ff/bb") == 0);
	ck_assert_int_eq(stor_list(st, "snapshots", collect, &s, &e), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(stor_list(st, "data", stop_at_first, NULL, &e), 42);
	ck_assert_int_eq(stor_remove(st, "index/cc", &e), 0);
	ck_assert_int_eq(stor_remove(st, "index/cc", &e), 0);
	ck_assert_int_eq(stor_list(st, "index", collect, &s, &e), 0);
	ck_assert_int_eq(s.n, 2);
	stor_close(st);
}
END_TEST

START_TEST(test_names_and_open)
{
	struct stor_opts so;
	struct stor *st;
	struct err e;
	char missing[128];

	ck_assert(stor_name_valid("data/ab/0123"));
	ck_assert(stor_name_valid("config"));
	ck_assert(!stor_name_valid(""));
	ck_assert(!stor_name_valid("/etc/passwd"));
	ck_assert(!stor_name_valid("data/../x"));
	ck_assert(!stor_name_valid("data//x"));
	ck_assert(!stor_name_valid("data/"));
	ck_assert(!stor_name_valid(".hidden"));
	ck_assert(!stor_name_valid("a b"));
	ck_assert_int_eq(stor_open(root, 0, &st, &e), 0);
	ck_assert_int_eq(stor_put(st, "../escape", (const uint8_t *)"x", 1, 0,
	                     &e),
	    -1);
	stor_close(st);
	snprintf(missing, sizeof(missing), "%s/none", root);
	ck_assert_int_eq(stor_open(missing, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_NOREPO);
	ck_assert_int_eq(stor_open(missing, 1, &st, &e), 0);
	stor_close(st);
	ck_assert_int_eq(access(missing, F_OK), 0);
	/* sftp:// connects at open: nothing listens on port 1. */
	memset(&so, 0, sizeof(so));
	so.retries = -1;
	so.known_hosts = "/dev/null";
	ck_assert_int_eq(stor_open_opts("sftp://127.0.0.1:1/x", &so, 0, &st,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_NET);
	ck_assert_int_eq(stor_open("sftp://h", 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(stor_open("s3://b/x", 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
}
END_TEST

Suite *store_suite(void);

Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("local");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_put_get_range_stat);
	tcase_add_test(tc, test_noreplace_keeps_existing);
	tcase_add_test(tc, test_put_stream_larger_than_buffer);
	tcase_add_test(tc, test_put_stream_refused_or_failed_publishes_nothing);
	tcase_add_test(tc, test_put_stream_noreplace);
	tcase_add_test(tc, test_list_skips_temp_and_recurses);
	tcase_add_test(tc, test_names_and_open);
	suite_add_tcase(s, tc);
	return (s);
}
