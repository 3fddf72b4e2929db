/*
 * The store contract of store/store.h on s3://, against a real S3 endpoint:
 * tests/e2e/91-s3-store.sh starts a one-node Ceph RGW (rgw-lib.sh) and runs
 * this suite with COFFER_TEST_S3_ENDPOINT (host:port, plain HTTP) and
 * COFFER_TEST_S3_ACCESS_FILE / _SECRET_FILE / _VERSIONED_BUCKET (one with
 * versioning on) set; without them the suite
 * has no cases (make unit starts no Ceph).  check_store.c's cases plant
 * files behind the store's back in a directory, which a bucket has not,
 * so the contract is written again here from the store's side; each test
 * has a prefix of its own in one bucket.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "store/store.h"

static const char *endpoint, *access_file, *secret_file, *versioned;
static char loc[512];
static struct stor_opts so;

static void
setup(void)
{
	static unsigned n;

	memset(&so, 0, sizeof(so));
	so.s3_access_key_file = access_file;
	so.s3_secret_key_file = secret_file;
	so.s3_insecure_http = 1;
	so.retries = -1; /* loopback: a failure is a finding, not a blip */
	so.connect_timeout = 10;
	so.io_timeout = 30;
	snprintf(loc, sizeof(loc), "s3://%s/coffer-unit/t%ld-%u", endpoint,
	    (long)getpid(), n++);
}

static struct stor *
open_ok(int create)
{
	struct stor *st;
	struct err e;

	ck_assert_msg(stor_open_opts(loc, &so, create, &st, &e) == 0, "%s: %s",
	    loc, e.msg);
	return (st);
}

static int
count(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	(*(int *)arg)++;
	return (0);
}

START_TEST(test_put_get_range_stat)
{
	struct stor *st = open_ok(1);
	struct err e;
	uint8_t data[5000], *got, part[10];
	size_t len;
	uint64_t size;
	int64_t mtime;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	ck_assert_str_eq(stor_location(st), loc);
	ck_assert_msg(stor_put(st, "data/ab/abcdef", data, sizeof(data),
	                  STOR_NOREPLACE, &e) == 0,
	    "%s", e.msg);
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
	ck_assert_int_eq(stor_get_range(st, "data/ab/abcdef", 0, 10, part, &e),
	    0);
	ck_assert_mem_eq(part, data, 10);
	ck_assert_int_eq(stor_get_range(st, "data/ab/abcdef", 4995, 10, part,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(stor_get_range(st, "data/ab/abcdef", 6000, 10, part,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(stor_stat(st, "data/ab/abcdef", &size, &e), 0);
	ck_assert_uint_eq(size, sizeof(data));
	ck_assert_int_eq(stor_mtime(st, "data/ab/abcdef", &mtime, &e), 0);
	ck_assert_int_le(llabs((long long)(mtime - (int64_t)time(NULL))), 60);
	ck_assert_int_eq(stor_stat(st, "data/ab/nothere", &size, &e), 1);
	ck_assert_int_eq(stor_mtime(st, "nodir/nothere", &mtime, &e), 1);
	/* Bigger than the caller's bound: refused, not allocated. */
	ck_assert_int_eq(stor_get(st, "data/ab/abcdef", 100, &got, &len, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(stor_get(st, "nothere", 100, &got, &len, &e), -1);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	ck_assert_int_eq(stor_get_range(st, "nothere", 0, 10, part, &e), -1);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	/* An empty file is a file. */
	ck_assert_int_eq(stor_put(st, "keys/empty", data, 0, 0, &e), 0);
	ck_assert_int_eq(stor_get(st, "keys/empty", 10, &got, &len, &e), 0);
	ck_assert_uint_eq(len, 0);
	free(got);
	ck_assert_int_eq(stor_remove(st, "data/ab/abcdef", &e), 0);
	ck_assert_int_eq(stor_stat(st, "data/ab/abcdef", &size, &e), 1);
	ck_assert_int_eq(stor_remove(st, "data/ab/abcdef", &e), 0);
	stor_close(st);
}
END_TEST

START_TEST(test_noreplace_keeps_existing)
{
	struct stor *st = open_ok(1);
	struct err e;
	uint8_t *got;
	size_t len;

	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"one", 3,
	                     STOR_NOREPLACE, &e),
	    0);
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"two!", 4,
	                     STOR_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	ck_assert_int_eq(stor_get(st, "config", 100, &got, &len, &e), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(got, "one", 3);
	free(got);
	/* Without the flag a put replaces. */
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"two!", 4, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_get(st, "config", 100, &got, &len, &e), 0);
	ck_assert_mem_eq(got, "two!", 4);
	free(got);
	stor_close(st);
}
END_TEST

/*
 * On a bucket that keeps versions RGW 16 ignores If-None-Match (a second
 * PUT gets 200 and a new version): NOREPLACE must hold there too.
 */
START_TEST(test_noreplace_on_versioned_bucket)
{
	struct stor *st;
	struct err e;
	uint8_t *got;
	size_t len;

	snprintf(loc, sizeof(loc), "s3://%s/%s/t%ld", endpoint, versioned,
	    (long)getpid());
	st = open_ok(0);
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"one", 3,
	                     STOR_NOREPLACE, &e),
	    0);
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"two!", 4,
	                     STOR_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	ck_assert_int_eq(stor_get(st, "config", 100, &got, &len, &e), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(got, "one", 3);
	free(got);
	stor_close(st);
}
END_TEST

struct names {
	char seen[8][64];
	int n;
};

static int
collect(void *arg, const char *name, uint64_t size)
{
	struct names *nm = arg;

	ck_assert_int_lt(nm->n, 8);
	snprintf(nm->seen[nm->n++], sizeof(nm->seen[0]), "%s:%llu", name,
	    (unsigned long long)size);
	return (0);
}

static int
has(const struct names *nm, const char *s)
{
	for (int i = 0; i < nm->n; i++)
		if (strcmp(nm->seen[i], s) == 0)
			return (1);
	return (0);
}

static int
stop_at_first(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	(*(int *)arg)++;
	return (7);
}

START_TEST(test_list_recurses_to_the_layout_depth)
{
	struct stor *st = open_ok(1);
	struct names nm = { .n = 0 };
	struct err e;
	int n = 0;

	ck_assert_int_eq(stor_put(st, "data/ab/one", (const uint8_t *)"1", 1, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_put(st, "data/cd/two", (const uint8_t *)"22", 2,
	                     0, &e),
	    0);
	/* Deeper than any repository's file: not listed. */
	ck_assert_int_eq(stor_put(st, "data/ab/cd/deep", (const uint8_t *)"3",
	                     1, 0, &e),
	    0);
	/* A name that only starts like the dir is not in it. */
	ck_assert_int_eq(stor_put(st, "database", (const uint8_t *)"4", 1, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_list(st, "data", collect, &nm, &e), 0);
	ck_assert_int_eq(nm.n, 2);
	ck_assert(has(&nm, "data/ab/one:1"));
	ck_assert(has(&nm, "data/cd/two:2"));
	ck_assert_int_eq(stor_list(st, "nothere", count, &n, &e), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(stor_list(st, "data", stop_at_first, &n, &e), 7);
	ck_assert_int_eq(n, 1);
	stor_close(st);
}
END_TEST

/* S3 answers 1,000 keys a page: more need the continuation token. */
#define NPAGED   1100
#define NWORKERS 4

struct putter {
	struct stor *st;
	int from, to;
	char msg[512];
	int failed;
};

static void *
put_range(void *arg)
{
	struct putter *p = arg;
	struct err e;
	char name[64];

	for (int i = p->from; i < p->to && !p->failed; i++) {
		snprintf(name, sizeof(name), "data/%02x/f%05d", i % 256, i);
		if (stor_put(p->st, name, (const uint8_t *)name, strlen(name),
		        STOR_NOREPLACE, &e) == -1) {
			p->failed = 1;
			snprintf(p->msg, sizeof(p->msg), "%s", e.msg);
		}
	}
	return (NULL);
}

START_TEST(test_list_pages)
{
	struct putter p[NWORKERS];
	pthread_t th[NWORKERS];
	struct stor *st;
	struct err e;
	int n = 0;

	so.transfers = NWORKERS;
	st = open_ok(1);
	for (int i = 0; i < NWORKERS; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].st = st;
		p[i].from = i * NPAGED / NWORKERS;
		p[i].to = (i + 1) * NPAGED / NWORKERS;
		ck_assert_int_eq(pthread_create(&th[i], NULL, put_range, &p[i]),
		    0);
	}
	for (int i = 0; i < NWORKERS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < NWORKERS; i++)
		ck_assert_msg(!p[i].failed, "thread %d: %s", i, p[i].msg);
	ck_assert_int_eq(stor_list(st, "data", count, &n, &e), 0);
	ck_assert_int_eq(n, NPAGED);
	stor_close(st);
}
END_TEST

struct gen {
	uint64_t next;
	int reads, dones, refuse, fail_at;
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

static void
check_gen(struct stor *st, const char *name, uint64_t len)
{
	struct err e;
	uint8_t *got;
	size_t n;

	ck_assert_int_eq(stor_get(st, name, (size_t)len, &got, &n, &e), 0);
	ck_assert_uint_eq(n, len);
	for (size_t i = 0; i < n; i++)
		if (got[i] != gen_byte(i))
			ck_abort_msg("%s: byte %zu differs", name, i);
	free(got);
}

START_TEST(test_put_stream_single_and_empty)
{
	const uint64_t len = 2 * STOR_STREAM_BUF + 12345;
	struct gen g = { 0 };
	struct stor_reader r = { gen_read, gen_done, &g };
	struct stor *st = open_ok(1);
	struct err e;
	uint64_t size;

	ck_assert_msg(stor_put_stream(st, "data/ab/big", len, &r,
	                  STOR_NOREPLACE, &e) == 0,
	    "%s", e.msg);
	ck_assert_int_eq(g.reads, 3); /* buffer by buffer, never the whole */
	ck_assert_int_eq(g.dones, 1);
	check_gen(st, "data/ab/big", len);
	/* NOREPLACE on a stream: the existing file stays. */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(stor_put_stream(st, "data/ab/big", 10, &r,
	                     STOR_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	ck_assert_int_eq(stor_stat(st, "data/ab/big", &size, &e), 0);
	ck_assert_uint_eq(size, len);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(stor_put_stream(st, "keys/empty", 0, &r, 0, &e), 0);
	ck_assert_int_eq(g.reads, 0);
	ck_assert_int_eq(g.dones, 1);
	ck_assert_int_eq(stor_stat(st, "keys/empty", &size, &e), 0);
	ck_assert_uint_eq(size, 0);
	/* Signed chunks (64 KiB) ending on a chunk's end, and one byte. */
	for (int i = 0; i < 2; i++) {
		const uint64_t n = i == 0 ? STOR_STREAM_BUF : 1;
		const char *name = i == 0 ? "data/ab/whole" : "data/ab/one";

		memset(&g, 0, sizeof(g));
		ck_assert_msg(stor_put_stream(st, name, n, &r, 0, &e) == 0,
		    "%s", e.msg);
		check_gen(st, name, n);
	}
	stor_close(st);
}
END_TEST

START_TEST(test_put_stream_multipart)
{
	const uint64_t len = (11u << 20) + 777;
	struct gen g = { 0 };
	struct stor_reader r = { gen_read, gen_done, &g };
	struct stor *st;
	struct err e;
	uint64_t size;

	so.s3_part_size = 5u << 20; /* three parts */
	so.retries = 2;             /* a reader's failure is still final */
	st = open_ok(1);
	ck_assert_msg(stor_put_stream(st, "data/cd/multi", len, &r,
	                  STOR_NOREPLACE, &e) == 0,
	    "%s", e.msg);
	ck_assert_int_eq(g.dones, 1);
	ck_assert_uint_eq(g.next, len);
	check_gen(st, "data/cd/multi", len);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(stor_put_stream(st, "data/cd/multi", len, &r,
	                     STOR_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	/* Refused at the end: the upload is abandoned, nothing appears. */
	memset(&g, 0, sizeof(g));
	g.refuse = 1;
	ck_assert_int_eq(stor_put_stream(st, "data/cd/refused", len, &r, 0, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(g.dones, 1);
	ck_assert_int_eq(stor_stat(st, "data/cd/refused", &size, &e), 1);
	/* A read failing in the second part: handed back, not retried. */
	memset(&g, 0, sizeof(g));
	g.fail_at = 3;
	ck_assert_int_eq(stor_put_stream(st, "data/cd/failed", len, &r, 0, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_NET);
	ck_assert_int_eq(g.reads, 3);
	ck_assert_int_eq(stor_stat(st, "data/cd/failed", &size, &e), 1);
	stor_close(st);
}
END_TEST

START_TEST(test_put_stream_refused_or_failed_publishes_nothing)
{
	struct gen g = { 0 };
	struct stor_reader r = { gen_read, gen_done, &g };
	struct stor *st = open_ok(1);
	struct err e;
	uint64_t size;

	g.refuse = 1;
	ck_assert_int_eq(stor_put_stream(st, "data/ab/refused",
	                     STOR_STREAM_BUF + 10, &r, 0, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(g.dones, 1);
	ck_assert_int_eq(stor_stat(st, "data/ab/refused", &size, &e), 1);
	memset(&g, 0, sizeof(g));
	g.fail_at = 2;
	ck_assert_int_eq(stor_put_stream(st, "data/ab/failed",
	                     STOR_STREAM_BUF + 10, &r, 0, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_NET); /* the reader's, unchanged */
	ck_assert_int_eq(g.reads, 2);
	ck_assert_int_eq(g.dones, 0);
	ck_assert_int_eq(stor_stat(st, "data/ab/failed", &size, &e), 1);
	stor_close(st);
}
END_TEST

START_TEST(test_caps_all)
{
	struct stor *st = open_ok(1);

	ck_assert_uint_eq(stor_caps(st), STOR_CAPS_ALL);
	stor_close(st);
}
END_TEST

START_TEST(test_open_and_create)
{
	struct stor *st;
	struct err e;
	char bad[512];
	FILE *f;

	/* A missing bucket is no repository, unless asked to create it. */
	snprintf(loc, sizeof(loc), "s3://%s/coffer-new-%ld/x", endpoint,
	    (long)getpid());
	ck_assert_int_eq(stor_open_opts(loc, &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_NOREPO);
	st = open_ok(1);
	stor_close(st);
	st = open_ok(0);
	stor_close(st);
	/* A wrong secret is refused as SSH's refused key is. */
	snprintf(bad, sizeof(bad), "%s.bad", secret_file);
	ck_assert_ptr_nonnull(f = fopen(bad, "w"));
	fputs("not-the-secret\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(bad, 0600), 0);
	so.s3_secret_key_file = bad;
	ck_assert_int_eq(stor_open_opts(loc, &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_AUTH);
	ck_assert_msg(strchr(e.msg, '\n') == NULL, "%s", e.msg);
	/* A key file others can read is refused before any request. */
	ck_assert_int_eq(chmod(bad, 0644), 0);
	ck_assert_int_eq(stor_open_opts(loc, &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	unlink(bad);
	/* No keys at all: a usage error naming where they come from. */
	so.s3_access_key_file = so.s3_secret_key_file = NULL;
	unsetenv("AWS_ACCESS_KEY_ID");
	ck_assert_int_eq(stor_open_opts(loc, &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "access_key_file"));
	/* Nothing listens on port 1: a network error, after no retries. */
	so.s3_access_key_file = access_file;
	so.s3_secret_key_file = secret_file;
	ck_assert_int_eq(stor_open_opts("s3://127.0.0.1:1/coffer-x/y", &so, 0,
	                     &st, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_NET);
	/* TLS unless plain HTTP is asked for: RGW here speaks only HTTP. */
	so.s3_insecure_http = 0;
	ck_assert_int_eq(stor_open_opts(loc, &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_NET);
	/* Bad URLs are usage errors. */
	ck_assert_int_eq(stor_open_opts("s3://h/ab", &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(stor_open_opts("s3://k:s@h/abc", &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(stor_open_opts("s3://h/abc/.x", &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
}
END_TEST

#define NTHREADS 6
#define NFILES   20

struct worker {
	struct stor *st;
	int id;
	char msg[512];
	int failed;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct err e;
	char name[64], want[64];
	uint8_t *got;
	size_t len;

	for (int i = 0; i < NFILES && !w->failed; i++) {
		snprintf(name, sizeof(name), "data/%02x/w%d-%d", i, w->id, i);
		snprintf(want, sizeof(want), "%d:%d", w->id, i);
		if (stor_put(w->st, name, (const uint8_t *)want, strlen(want),
		        STOR_NOREPLACE, &e) == -1 ||
		    stor_get(w->st, name, 64, &got, &len, &e) == -1) {
			w->failed = 1;
			snprintf(w->msg, sizeof(w->msg), "%s", e.msg);
			break;
		}
		if (len != strlen(want) || memcmp(got, want, len) != 0) {
			w->failed = 1;
			snprintf(w->msg, sizeof(w->msg), "%s: wrong bytes",
			    name);
		}
		free(got);
	}
	return (NULL);
}

START_TEST(test_threads_share_one_store)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct stor *st;
	struct err e;
	int n = 0;

	so.transfers = 2; /* fewer handles than threads: some must wait */
	st = open_ok(1);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = st;
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_msg(!w[i].failed, "thread %d: %s", i, w[i].msg);
	ck_assert_int_eq(stor_list(st, "data", count, &n, &e), 0);
	ck_assert_int_eq(n, NTHREADS * NFILES);
	stor_close(st);
}
END_TEST

Suite *s3_suite(void);

Suite *
s3_suite(void)
{
	Suite *s = suite_create("s3");
	TCase *tc;

	endpoint = getenv("COFFER_TEST_S3_ENDPOINT");
	access_file = getenv("COFFER_TEST_S3_ACCESS_FILE");
	secret_file = getenv("COFFER_TEST_S3_SECRET_FILE");
	versioned = getenv("COFFER_TEST_S3_VERSIONED_BUCKET");
	if (endpoint == NULL || access_file == NULL || secret_file == NULL ||
	    versioned == NULL)
		return (s); /* tests/e2e/91-s3-store.sh runs it */
	tc = tcase_create("contract");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_put_get_range_stat);
	tcase_add_test(tc, test_noreplace_keeps_existing);
	tcase_add_test(tc, test_noreplace_on_versioned_bucket);
	tcase_add_test(tc, test_list_recurses_to_the_layout_depth);
	tcase_add_test(tc, test_list_pages);
	tcase_add_test(tc, test_put_stream_single_and_empty);
	tcase_add_test(tc, test_put_stream_multipart);
	tcase_add_test(tc, test_put_stream_refused_or_failed_publishes_nothing);
	tcase_add_test(tc, test_caps_all);
	tcase_add_test(tc, test_open_and_create);
	tcase_add_test(tc, test_threads_share_one_store);
	suite_add_tcase(s, tc);
	return (s);
}
