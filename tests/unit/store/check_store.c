/*
 * The store contract of store/store.h, held by every backend: the same
 * tests run on a local directory and on sftp:// through a real sshd on
 * 127.0.0.1 (tests/harness/sshd.h), both over a directory here so that a
 * test can plant or inspect files behind the store's back.  Names and
 * locations, which do not depend on a backend, are tested once.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "fault.h"
#include "sshd.h"
#include "store/store.h"
#include "tutil.h"
#include "xmalloc.h"

static char *root;               /* the store's directory on this machine */
static char loc[PATH_MAX + 128]; /* what stor_open_opts is given */
static struct stor_opts so;

/* One sshd for the whole sftp case, started in the runner. */
static struct tsshd sshd;
static char sshd_msg[512];
static int sshd_up;

static void
sshd_setup(void)
{
	sshd_up = tsshd_start(&sshd, sshd_msg, sizeof(sshd_msg)) == 0;
}

static void
sshd_teardown(void)
{
	tsshd_stop(&sshd);
}

/* In the case's scratch directory: gone at its end, even after a failure. */
static void
make_root(void)
{
	root = tutil_mkdtemp();
	memset(&so, 0, sizeof(so));
}

static void
local_setup(void)
{
	make_root();
	snprintf(loc, sizeof(loc), "%s", root);
}

static void
sftp_setup(void)
{
	/* No sshd is a failure, not a skip: CI installs openssh-server. */
	ck_assert_msg(sshd_up, "sshd for the sftp store: %s", sshd_msg);
	make_root();
	snprintf(loc, sizeof(loc), "sftp://%s@127.0.0.1:%d%s", sshd.user,
	    sshd.port, root);
	so.identity = sshd.key;
	so.known_hosts = sshd.known_hosts;
	so.retries = -1; /* loopback: a failure is a finding, not a blip */
	so.connect_timeout = 10;
	so.io_timeout = 30;
}

static void
teardown(void)
{
	tutil_rmtree(root);
	free(root);
}

/* loc + "/" + rel (rel "" is loc itself) */
static const char *
loc_at(const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", loc, *rel ? "/" : "", rel);
	return (buf);
}

static struct stor *
open_ok(void)
{
	struct stor *st;
	struct err e;

	ck_assert_msg(stor_open_opts(loc, &so, 0, &st, &e) == 0, "%s: %s", loc,
	    e.msg);
	return (st);
}

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

START_TEST(test_put_get_range_stat)
{
	struct stor *st = open_ok();
	struct err e;
	uint8_t data[5000], *got, part[10];
	size_t len;
	uint64_t size;

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
	ck_assert_int_eq(stor_stat(st, "data/ab/abcdef", &size, &e), 0);
	ck_assert_uint_eq(size, sizeof(data));
	ck_assert_int_eq(stor_stat(st, "data/ab/nothere", &size, &e), 1);
	ck_assert_int_eq(stor_stat(st, "nodir/nothere", &size, &e), 1);
	/* Bigger than the caller's bound: refused, not allocated. */
	ck_assert_int_eq(stor_get(st, "data/ab/abcdef", 100, &got, &len, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(stor_get(st, "nothere", 100, &got, &len, &e), -1);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	ck_assert_int_eq(stor_get(st, "data/nothere/x", 100, &got, &len, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	stor_close(st);
}
END_TEST

START_TEST(test_empty_and_large_files)
{
	struct stor *st = open_ok();
	size_t big = (6u << 20) + 12345, len;
	uint8_t *data = malloc(big), *got, part[4096];
	uint64_t size;
	struct err e;

	/* An empty file is a file. */
	ck_assert_msg(stor_put(st, "locks/empty", (const uint8_t *)"", 0, 0,
	                  &e) == 0,
	    "%s", e.msg);
	ck_assert_int_eq(stor_stat(st, "locks/empty", &size, &e), 0);
	ck_assert_uint_eq(size, 0);
	ck_assert_int_eq(stor_get(st, "locks/empty", 10, &got, &len, &e), 0);
	ck_assert_uint_eq(len, 0);
	free(got);

	/* Several MiB: more than one write or read request each way. */
	ck_assert_ptr_nonnull(data);
	fill(data, big, 6);
	ck_assert_msg(stor_put(st, "data/6b/big", data, big, STOR_NOREPLACE,
	                  &e) == 0,
	    "%s", e.msg);
	ck_assert_int_eq(stor_stat(st, "data/6b/big", &size, &e), 0);
	ck_assert_uint_eq(size, big);
	ck_assert_int_eq(stor_get(st, "data/6b/big", big, &got, &len, &e), 0);
	ck_assert_uint_eq(len, big);
	ck_assert(memcmp(got, data, big) == 0);
	free(got);
	ck_assert_int_eq(stor_get_range(st, "data/6b/big", big - sizeof(part),
	                     sizeof(part), part, &e),
	    0);
	ck_assert_mem_eq(part, data + big - sizeof(part), sizeof(part));
	ck_assert_int_eq(stor_get_range(st, "data/6b/big", 3u << 20,
	                     sizeof(part), part, &e),
	    0);
	ck_assert_mem_eq(part, data + (3u << 20), sizeof(part));
	/* One byte under the size is too small a bound. */
	ck_assert_int_eq(stor_get(st, "data/6b/big", big - 1, &got, &len, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	free(data);
	stor_close(st);
}
END_TEST

START_TEST(test_noreplace_keeps_existing)
{
	struct stor *st = open_ok();
	struct err e;
	uint8_t *got;
	size_t len;
	char path[PATH_MAX];

	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"one", 3,
	                     STOR_NOREPLACE, &e),
	    0);
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"two", 3,
	                     STOR_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	ck_assert_int_eq(stor_get(st, "config", 10, &got, &len, &e), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(got, "one", 3);
	free(got);
	/* Without the flag a put replaces atomically. */
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"three", 5, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_get(st, "config", 10, &got, &len, &e), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(got, "three", 5);
	free(got);
	/* The refused put left no temp file behind. */
	ck_assert_int_eq(tutil_count_entries(root, "tmp"), 0);
	snprintf(path, sizeof(path), "%s/config", root);
	free(tutil_read_file(path, &len));
	ck_assert_uint_eq(len, 5);
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

/* The size listed for name, or -1 if it was not listed. */
static int64_t
listed(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return ((int64_t)s->sizes[i]);
	return (-1);
}

START_TEST(test_list_skips_temp_and_recurses)
{
	struct stor *st = open_ok();
	struct err e;
	struct seen s;
	char path[PATH_MAX];
	uint64_t size;

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(stor_put(st, "data/00/aa", (const uint8_t *)"x", 1, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_put(st, "data/ff/bb", (const uint8_t *)"yy", 2, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_put(st, "index/cc", (const uint8_t *)"z", 1, 0,
	                     &e),
	    0);
	/* Temp files crashed writers left behind (each backend's) are not
	 * listed. */
	snprintf(path, sizeof(path), "%s/data/00/.aa.tmp.XXXX", root);
	tutil_write_file(path, "t", 1, 0600);
	snprintf(path, sizeof(path), "%s/data/ff/.tmp-0123abcd", root);
	tutil_write_file(path, "t", 1, 0600);
	ck_assert_int_eq(stor_list(st, "data", collect, &s, &e), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(listed(&s, "data/00/aa"), 1);
	ck_assert_int_eq(listed(&s, "data/ff/bb"), 2);
	/* A missing directory lists nothing, and that is no error: a
	 * caller may look at e after a call that succeeded. */
	err_clear(&e);
	ck_assert_int_eq(stor_list(st, "snapshots", collect, &s, &e), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(e.class, ERR_NONE);
	ck_assert_int_eq(stor_list(st, "data", stop_at_first, NULL, &e), 42);
	/* Removing twice is fine: the second finds nothing to do. */
	ck_assert_int_eq(stor_remove(st, "index/cc", &e), 0);
	ck_assert_int_eq(stor_remove(st, "index/cc", &e), 0);
	ck_assert_int_eq(stor_stat(st, "index/cc", &size, &e), 1);
	ck_assert_int_eq(e.class, ERR_NONE);
	ck_assert_int_eq(stor_list(st, "index", collect, &s, &e), 0);
	ck_assert_int_eq(s.n, 2);
	stor_close(st);
}
END_TEST

struct hidden_seen {
	struct seen s;
	int64_t mtimes[16];
};

static int
collect_hidden(void *arg, const char *name, uint64_t size, int64_t mtime)
{
	struct hidden_seen *h = arg;

	h->mtimes[h->s.n] = mtime;
	return (collect(&h->s, name, size));
}

static int64_t
hidden_mtime(const struct hidden_seen *h, const char *name)
{
	for (int i = 0; i < h->s.n; i++)
		if (strcmp(h->s.names[i], name) == 0)
			return (h->mtimes[i]);
	return (-1);
}

/* Plant a file behind the store's back, with its mtime set. */
static void
plant(const char *rel, const char *data, time_t mtime)
{
	char path[PATH_MAX];
	struct timespec ts[2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	tutil_write_file(path, data, strlen(data), 0600);
	ts[0].tv_sec = ts[1].tv_sec = mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/*
 * What stor_list leaves out, stor_list_hidden lists (a key holder can
 * hide an index file under a dot-name), and neither enters a directory
 * deeper than the repository layout.
 */
START_TEST(test_list_hidden_and_depth)
{
	struct stor *st = open_ok();
	struct hidden_seen h;
	struct seen s;
	struct err e;
	char path[PATH_MAX];

	memset(&h, 0, sizeof(h));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(stor_put(st, "index/cc", (const uint8_t *)"z", 1, 0,
	                     &e),
	    0);
	ck_assert_int_eq(stor_put(st, "data/00/aa", (const uint8_t *)"x", 1, 0,
	                     &e),
	    0);
	plant("index/.cc-orig", "abc", 1000000000);
	plant("index/.tmp-0123abcd", "t", 1000000001);
	snprintf(path, sizeof(path), "%s/index/.d", root);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	plant("index/.d/ee", "ee", 1000000002);
	/* data/00/deep/ff has four components: no repository file has. */
	snprintf(path, sizeof(path), "%s/data/00/deep", root);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	plant("data/00/deep/ff", "f", 1000000003);
	plant("data/00/deep/.gg", "g", 1000000003);

	ck_assert_int_eq(stor_list_hidden(st, "index", collect_hidden, &h, &e),
	    0);
	ck_assert_int_eq(h.s.n, 3);
	ck_assert_int_eq(listed(&h.s, "index/.cc-orig"), 3);
	ck_assert_int_eq(hidden_mtime(&h, "index/.cc-orig"), 1000000000);
	ck_assert_int_eq(listed(&h.s, "index/.tmp-0123abcd"), 1);
	ck_assert_int_eq(hidden_mtime(&h, "index/.tmp-0123abcd"), 1000000001);
	ck_assert_int_eq(listed(&h.s, "index/.d/ee"), 2);
	/* The plain listing is unchanged. */
	ck_assert_int_eq(stor_list(st, "index", collect, &s, &e), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(listed(&s, "index/cc"), 1);
	/* Too deep: left out by both. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(stor_list(st, "data", collect, &s, &e), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(listed(&s, "data/00/aa"), 1);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(stor_list_hidden(st, "data", collect_hidden, &h, &e),
	    0);
	ck_assert_int_eq(h.s.n, 0);
	stor_close(st);
}
END_TEST

/* A local directory and OpenSSH's internal-sftp keep every promise. */
START_TEST(test_caps_all)
{
	struct stor *st = open_ok();

	ck_assert_uint_eq(stor_caps(st), STOR_CAPS_ALL);
	ck_assert_str_eq(stor_cap_name(STOR_CAP_FSYNC), "fsync");
	ck_assert(
	    strstr(stor_cap_lack(STOR_CAP_FSYNC), "fsync@openssh.com") != NULL);
	stor_close(st);
}
END_TEST

START_TEST(test_open_and_create)
{
	struct stor *st;
	struct stat sb;
	struct err e;
	char missing[PATH_MAX], where[PATH_MAX + 160], path[PATH_MAX];
	uint64_t size;

	st = open_ok();
	/* A name that leaves the store is refused before any I/O. */
	ck_assert_int_eq(stor_put(st, "../escape", (const uint8_t *)"x", 1, 0,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	stor_close(st);
	snprintf(path, sizeof(path), "%s/escape", root);
	ck_assert_int_eq(access(path, F_OK), -1);

	/* No directory: no repository, unless asked to create it. */
	loc_at("none", where, sizeof(where));
	snprintf(missing, sizeof(missing), "%s/none", root);
	ck_assert_int_eq(stor_open_opts(where, &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_NOREPO);
	ck_assert_int_eq(access(missing, F_OK), -1);
	ck_assert_msg(stor_open_opts(where, &so, 1, &st, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(stat(missing, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	ck_assert_int_eq(stor_put(st, "config", (const uint8_t *)"c", 1,
	                     STOR_NOREPLACE, &e),
	    0);
	stor_close(st);
	/* An existing one opens without create, and keeps what it holds. */
	ck_assert_int_eq(stor_open_opts(where, &so, 0, &st, &e), 0);
	ck_assert_int_eq(stor_stat(st, "config", &size, &e), 0);
	stor_close(st);

	/* A file where the repository should be. */
	snprintf(path, sizeof(path), "%s/file", root);
	tutil_write_file(path, "f", 1, 0600);
	loc_at("file", where, sizeof(where));
	ck_assert_int_eq(stor_open_opts(where, &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_NOREPO);
	ck_assert_int_eq(stor_open_opts(where, &so, 1, &st, &e), -1);
}
END_TEST

/* Several threads on one store at once, as the repository's pipeline. */
#define NTHREADS 4
#define NFILES   8

struct worker {
	struct stor *st;
	int id;
	int failed;
	char msg[ERR_MSG_MAX + 80];
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	uint8_t data[70000], *got = NULL;
	size_t len;
	struct err e;

	for (int i = 0; i < NFILES && !w->failed; i++) {
		char name[64];

		snprintf(name, sizeof(name), "data/%02x/t%d-%d", w->id, w->id,
		    i);
		fill(data, sizeof(data) - (size_t)i,
		    (uint32_t)(w->id * 100 + i));
		if (stor_put(w->st, name, data, sizeof(data) - (size_t)i,
		        STOR_NOREPLACE, &e) == -1 ||
		    stor_get(w->st, name, sizeof(data), &got, &len, &e) == -1) {
			snprintf(w->msg, sizeof(w->msg), "%s: %s", name, e.msg);
			w->failed = 1;
		} else if (len != sizeof(data) - (size_t)i ||
		    memcmp(got, data, len) != 0) {
			snprintf(w->msg, sizeof(w->msg), "%s: read back wrong",
			    name);
			w->failed = 1;
		}
		free(got);
		got = NULL;
	}
	return (NULL);
}

static int
count(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	(*(int *)arg)++;
	return (0);
}

START_TEST(test_threads_share_one_store)
{
	struct stor *st;
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct err e;
	int n = 0;

	so.transfers = 2; /* fewer sessions than threads: some must wait */
	st = open_ok();
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

/* sftp only: store.h's promises about host keys and authentication. */
START_TEST(test_sftp_hostkey_and_auth)
{
	struct stor *st;
	struct err e;
	char other[PATH_MAX + 16], kh[PATH_MAX + 16];

	/* An unknown host key is refused, with its fingerprint. */
	snprintf(kh, sizeof(kh), "%s/empty_known_hosts", root);
	tutil_write_file(kh, "", 0, 0600);
	so.known_hosts = kh;
	ck_assert_int_eq(stor_open_opts(loc, &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_HOSTKEY);
	ck_assert_ptr_nonnull(strstr(e.msg, "SHA256:"));
	/* A key the server does not know: authentication refused. */
	so.known_hosts = sshd.known_hosts;
	snprintf(other, sizeof(other), "%s/host_ed25519", sshd.dir);
	so.identity = other;
	ck_assert_int_eq(stor_open_opts(loc, &so, 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_AUTH);
}
END_TEST

START_TEST(test_names_and_locations)
{
	struct stor_opts o;
	struct stor *st;
	struct err e;

	ck_assert(stor_name_valid("data/ab/0123"));
	ck_assert(stor_name_valid("config"));
	ck_assert(!stor_name_valid(""));
	ck_assert(!stor_name_valid("/etc/passwd"));
	ck_assert(!stor_name_valid("data/../x"));
	ck_assert(!stor_name_valid("data//x"));
	ck_assert(!stor_name_valid("data/"));
	ck_assert(!stor_name_valid(".hidden"));
	ck_assert(!stor_name_valid("data/.tmp-x"));
	ck_assert(!stor_name_valid("a b"));
	/* Both backends' temp names, and only those. */
	ck_assert(stor_name_temp("data/ff/.tmp-0123abcd"));
	ck_assert(stor_name_temp("index/.0123.tmp.Xy12Ab"));
	ck_assert(stor_name_temp(".config.tmp.abcdef"));
	ck_assert(!stor_name_temp("index/.0123"));
	ck_assert(!stor_name_temp("index/0123.tmp.x"));
	ck_assert(!stor_name_temp("index/tmp-0123"));
	/* sftp:// connects at open: nothing listens on port 1. */
	memset(&o, 0, sizeof(o));
	o.retries = -1;
	o.known_hosts = "/dev/null";
	ck_assert_int_eq(stor_open_opts("sftp://127.0.0.1:1/x", &o, 0, &st, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_NET);
	ck_assert_int_eq(stor_open("sftp://h", 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(stor_open("s3://b/x", 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(stor_open("", 0, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
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

	st = open_ok();
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

	st = open_ok();
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

	st = open_ok();
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

/* Local only: the fault harness fails this process's fsync, not a server's. */
START_TEST(test_put_stream_fsync_fails)
{
	struct gen g = { 0 };
	struct stor_reader r = { gen_read, gen_done, &g };
	struct stor *st;
	struct err e;
	uint64_t size;
	char *dir;

	st = open_ok();
	ck_assert_int_eq(stor_put(st, "data/ab/y", (const uint8_t *)"y", 1,
	                     STOR_NOREPLACE, &e),
	    0);
	/* fsync fails: nothing published, the temp file gone. */
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
	ck_assert_int_eq(tutil_count_entries(dir, ""), 1); /* y alone */
	free(dir);
	stor_close(st);
}
END_TEST

/*
 * Local only: a store opened by a relative path keeps reaching its files
 * after the process changes directory (a restore through libarchive does,
 * while reader threads open packs).
 */
START_TEST(test_relative_path_survives_chdir)
{
	char *cwd = getcwd(NULL, 0), *parent = xstrdup(root), *slash;
	uint8_t *data;
	size_t len;
	struct stor *st;
	struct err e;

	ck_assert_ptr_nonnull(cwd);
	slash = strrchr(parent, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = '\0';
	ck_assert_int_eq(chdir(parent), 0);
	ck_assert_msg(stor_open(slash + 1, 0, &st, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(stor_put(st, "data/ab/x", (const uint8_t *)"x", 1,
	                     STOR_NOREPLACE, &e),
	    0);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_msg(stor_get(st, "data/ab/x", 16, &data, &len, &e) == 0, "%s",
	    e.msg);
	ck_assert_uint_eq(len, 1);
	free(data);
	ck_assert_int_eq(chdir(cwd), 0);
	stor_close(st);
	free(parent);
	free(cwd);
}
END_TEST

/* Local only: STOR_NOSYNC publishes with no fsync at all, still write-once. */
START_TEST(test_put_nosync_skips_fsync)
{
	struct stor *st;
	struct err e;
	uint64_t size;

	st = open_ok();
	/* A new directory is made durable all the same: make it first. */
	ck_assert_int_eq(stor_put(st, "gone/00", (const uint8_t *)"", 0,
	                     STOR_NOREPLACE, &e),
	    0);
	fault_arm(FAULT_FSYNC, 0, EIO);
	ck_assert_int_eq(stor_put(st, "gone/ab", (const uint8_t *)"", 0,
	                     STOR_NOREPLACE | STOR_NOSYNC, &e),
	    0);
	ck_assert_int_eq(stor_put(st, "gone/ab", (const uint8_t *)"", 0,
	                     STOR_NOREPLACE | STOR_NOSYNC, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	/* Without the flag the same fault fails the put. */
	ck_assert_int_eq(stor_put(st, "gone/cd", (const uint8_t *)"", 0,
	                     STOR_NOREPLACE, &e),
	    -1);
	fault_reset();
	ck_assert_int_eq(stor_stat(st, "gone/ab", &size, &e), 0);
	ck_assert_int_eq(stor_stat(st, "gone/cd", &size, &e), 1);
	stor_close(st);
}
END_TEST

/*
 * Ranged reads may go through a handle the backend keeps open (sftp): a
 * file this store removed and put again under the same name must read as
 * the new one, and reads that alternate between files must not mix them.
 */
START_TEST(test_range_sees_own_replace)
{
	struct stor *st = open_ok();
	struct err e;
	uint8_t a[3000], b[3000], c[3000], part[100];

	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	fill(c, sizeof(c), 3);
	ck_assert_int_eq(stor_put(st, "data/a", a, sizeof(a), STOR_NOREPLACE,
	                     &e),
	    0);
	ck_assert_int_eq(stor_put(st, "data/c", c, sizeof(c), STOR_NOREPLACE,
	                     &e),
	    0);
	for (int i = 0; i < 6; i++) {
		const char *name = i % 2 ? "data/c" : "data/a";
		const uint8_t *want = i % 2 ? c : a;
		uint64_t off = (uint64_t)(i * 450);

		ck_assert_int_eq(stor_get_range(st, name, off, sizeof(part),
		                     part, &e),
		    0);
		ck_assert_mem_eq(part, want + off, sizeof(part));
	}
	ck_assert_int_eq(stor_get_range(st, "data/a", 10, sizeof(part), part,
	                     &e),
	    0);
	ck_assert_int_eq(stor_remove(st, "data/a", &e), 0);
	ck_assert_int_eq(stor_put(st, "data/a", b, sizeof(b), STOR_NOREPLACE,
	                     &e),
	    0);
	ck_assert_int_eq(stor_get_range(st, "data/a", 10, sizeof(part), part,
	                     &e),
	    0);
	ck_assert_mem_eq(part, b + 10, sizeof(part));
	/* More files than a backend keeps open, read in turns. */
	for (int i = 0; i < 12; i++) {
		char name[32];

		snprintf(name, sizeof(name), "data/f%d", i);
		fill(c, sizeof(c), (uint32_t)(10 + i));
		ck_assert_int_eq(stor_put(st, name, c, sizeof(c),
		                     STOR_NOREPLACE, &e),
		    0);
	}
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 12; i++) {
			char name[32];
			uint64_t off = (uint64_t)(round * 700 + i * 10);

			snprintf(name, sizeof(name), "data/f%d", i);
			fill(c, sizeof(c), (uint32_t)(10 + i));
			ck_assert_int_eq(stor_get_range(st, name, off,
			                     sizeof(part), part, &e),
			    0);
			ck_assert_mem_eq(part, c + off, sizeof(part));
		}
	/* Removed by this store, right after a read: gone for its reads
	 * too. */
	ck_assert_int_eq(stor_get_range(st, "data/a", 10, sizeof(part), part,
	                     &e),
	    0);
	ck_assert_int_eq(stor_remove(st, "data/a", &e), 0);
	ck_assert_int_eq(stor_get_range(st, "data/a", 10, sizeof(part), part,
	                     &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	stor_close(st);
}
END_TEST

static TCase *
contract(const char *name, void (*setup)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_put_get_range_stat);
	tcase_add_test(tc, test_empty_and_large_files);
	tcase_add_test(tc, test_noreplace_keeps_existing);
	tcase_add_test(tc, test_list_skips_temp_and_recurses);
	tcase_add_test(tc, test_list_hidden_and_depth);
	tcase_add_test(tc, test_caps_all);
	tcase_add_test(tc, test_open_and_create);
	tcase_add_test(tc, test_threads_share_one_store);
	tcase_add_test(tc, test_put_stream_larger_than_buffer);
	tcase_add_test(tc, test_put_stream_refused_or_failed_publishes_nothing);
	tcase_add_test(tc, test_put_stream_noreplace);
	tcase_add_test(tc, test_range_sees_own_replace);
	return (tc);
}

Suite *store_suite(void);

Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = contract("local", local_setup);
	tcase_add_test(tc, test_put_stream_fsync_fails);
	tcase_add_test(tc, test_put_nosync_skips_fsync);
	tcase_add_test(tc, test_relative_path_survives_chdir);
	suite_add_tcase(s, tc);
	tc = contract("sftp", sftp_setup);
	tcase_add_unchecked_fixture(tc, sshd_setup, sshd_teardown);
	tcase_add_test(tc, test_sftp_hostkey_and_auth);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, test_names_and_locations);
	suite_add_tcase(s, tc);
	return (s);
}
