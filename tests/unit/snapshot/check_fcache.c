/*
 * The files cache (snapshot/fcache.h) on real SQLite files: a hit only
 * when size, mtime, ctime, inode and device all match, entries that
 * outlive the run only once committed, stale ones dropped after keep_runs
 * runs, a damaged entry costing a miss and a damaged cache file replaced
 * by a fresh one, and runs at the same time not waiting on each other.
 */
#include <sys/stat.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "snapshot/fcache.h"
#include "tutil.h"
#include "xmalloc.h"

#define REPO "0123abcd"

static char *dir;

static void
setup(void)
{
	dir = tutil_mkdtemp();
}

static void
teardown(void)
{
	tutil_rmtree(dir);
	free(dir);
}

static struct fcache *
open_ok(unsigned keep)
{
	struct fcache *c;
	struct err e;

	ck_assert_msg(fcache_open(dir, REPO, keep, &c, &e) == 0, "%s", e.msg);
	return (c);
}

static void
commit_ok(struct fcache *c)
{
	struct err e;

	ck_assert_msg(fcache_commit(c, &e) == 0, "%s", e.msg);
}

/* A file node with nchunks chunks, each id filled with seed + index. */
static void
node(struct fs_node *n, uint64_t size, size_t nchunks, uint8_t seed)
{
	uint8_t id[FS_ID_LEN];

	memset(n, 0, sizeof(*n));
	n->type = FS_FILE;
	n->size = size;
	n->mtime.sec = 1700000000;
	n->mtime.nsec = 123456789;
	n->ctime.sec = 1700000100;
	n->ctime.nsec = 5;
	n->ino = 4242;
	n->dev = 0x801;
	for (size_t i = 0; i < nchunks; i++) {
		memset(id, (int)(seed + i), sizeof(id));
		fs_node_add_chunk(n, id);
	}
}

/* Look path up with a copy of want's stat fields and no chunks. */
static int
lookup(struct fcache *c, const char *path, const struct fs_node *want,
    struct fs_node *got)
{
	memset(got, 0, sizeof(*got));
	got->type = FS_FILE;
	got->size = want->size;
	got->mtime = want->mtime;
	got->ctime = want->ctime;
	got->ino = want->ino;
	got->dev = want->dev;
	return (fcache_lookup(c, path, got));
}

static void
same_chunks(const struct fs_node *a, const struct fs_node *b)
{
	ck_assert_uint_eq(a->nchunks, b->nchunks);
	if (a->nchunks > 0)
		ck_assert_mem_eq(a->chunks, b->chunks, a->nchunks * FS_ID_LEN);
}

static char *
db_path(void)
{
	return (tutil_path(dir, REPO "/files.db"));
}

START_TEST(test_hit_after_commit_across_runs)
{
	struct fcache *c = open_ok(10);
	struct fs_node a, b, got;
	struct stat sb;
	char *db = db_path(), *sub = tutil_path(dir, REPO);

	node(&a, 5000000, 3, 1);
	node(&b, 0, 0, 0); /* an empty file has no chunks: still a hit */
	ck_assert_int_eq(lookup(c, "/etc/a", &a, &got), 0);
	ck_assert_uint_eq(got.nchunks, 0);
	fcache_store(c, "/etc/a", &a);
	fcache_store(c, "/etc/empty", &b);
	commit_ok(c);
	fcache_close(c);
	/* The cache is the user's alone. */
	ck_assert_int_eq(stat(sub, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	ck_assert_int_eq(stat(db, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);

	c = open_ok(10);
	ck_assert_int_eq(lookup(c, "/etc/a", &a, &got), 1);
	same_chunks(&a, &got);
	fs_node_clear(&got);
	ck_assert_int_eq(lookup(c, "/etc/empty", &b, &got), 1);
	ck_assert_uint_eq(got.nchunks, 0);
	fs_node_clear(&got);
	/* Another path, even a prefix of a cached one, is not cached. */
	ck_assert_int_eq(lookup(c, "/etc", &a, &got), 0);
	ck_assert_int_eq(lookup(c, "/etc/a/", &a, &got), 0);
	ck_assert_int_eq(lookup(c, "/etc/b", &a, &got), 0);
	fcache_close(c);
	/* Another repository has a cache of its own. */
	{
		struct fcache *o;
		struct err e;

		ck_assert_int_eq(fcache_open(dir, "other", 10, &o, &e), 0);
		ck_assert_int_eq(lookup(o, "/etc/a", &a, &got), 0);
		fcache_close(o);
	}
	fs_node_clear(&a);
	fs_node_clear(&b);
	free(db);
	free(sub);
}
END_TEST

START_TEST(test_any_stat_change_is_a_miss)
{
	struct fcache *c = open_ok(10);
	struct fs_node a, k, got;

	node(&a, 777, 2, 9);
	fcache_store(c, "/srv/f", &a);
	/* Within the run the stored entry already answers. */
	ck_assert_int_eq(lookup(c, "/srv/f", &a, &got), 1);
	same_chunks(&a, &got);
	fs_node_clear(&got);
	for (int field = 0; field < 8; field++) {
		node(&k, 777, 0, 0);
		switch (field) {
		case 0:
			k.size++;
			break;
		case 1:
			k.mtime.sec++;
			break;
		case 2:
			k.mtime.nsec++; /* nanoseconds count */
			break;
		case 3:
			k.ctime.sec--;
			break;
		case 4:
			k.ctime.nsec++;
			break;
		case 5:
			k.ino++;
			break;
		case 6:
			k.dev++;
			break;
		case 7:
			k.size = 0;
			break;
		}
		ck_assert_msg(lookup(c, "/srv/f", &k, &got) == 0,
		    "field %d changed, still a hit", field);
		ck_assert_uint_eq(got.nchunks, 0);
		fs_node_clear(&k);
	}
	/* Stored again with the new stamp: the old one no longer hits. */
	node(&k, 778, 1, 50);
	fcache_store(c, "/srv/f", &k);
	ck_assert_int_eq(lookup(c, "/srv/f", &a, &got), 0);
	ck_assert_int_eq(lookup(c, "/srv/f", &k, &got), 1);
	same_chunks(&k, &got);
	fs_node_clear(&got);
	fs_node_clear(&k);
	fs_node_clear(&a);
	fcache_close(c);
}
END_TEST

START_TEST(test_uncommitted_run_is_forgotten)
{
	struct fcache *c = open_ok(10);
	struct fs_node a, b, got;

	node(&a, 10, 1, 1);
	node(&b, 20, 1, 2);
	fcache_store(c, "/a", &a);
	commit_ok(c);
	fcache_close(c);
	/* A run that fails (no commit) must not leave its entries. */
	c = open_ok(10);
	fcache_store(c, "/b", &b);
	fcache_close(c);
	c = open_ok(10);
	ck_assert_int_eq(lookup(c, "/b", &b, &got), 0);
	ck_assert_int_eq(lookup(c, "/a", &a, &got), 1);
	fs_node_clear(&got);
	fcache_close(c);
	fs_node_clear(&a);
	fs_node_clear(&b);
}
END_TEST

START_TEST(test_stale_entries_dropped_after_keep_runs)
{
	struct fcache *c;
	struct fs_node a, b, got;

	node(&a, 10, 1, 1);
	node(&b, 20, 1, 2);
	/* Run 1 sees a and b; runs 2 and 3 see only a. */
	c = open_ok(2);
	fcache_store(c, "/a", &a);
	fcache_store(c, "/b", &b);
	commit_ok(c);
	fcache_close(c);
	c = open_ok(2);
	fcache_store(c, "/a", &a);
	commit_ok(c);
	fcache_close(c);
	c = open_ok(2);
	/* b was last seen 1 run ago: kept. */
	ck_assert_int_eq(lookup(c, "/b", &b, &got), 1);
	fs_node_clear(&got);
	fcache_store(c, "/a", &a);
	commit_ok(c);
	fcache_close(c);
	c = open_ok(2);
	/* Now 2 runs ago: dropped at the last commit; a stays. */
	ck_assert_int_eq(lookup(c, "/b", &b, &got), 0);
	ck_assert_int_eq(lookup(c, "/a", &a, &got), 1);
	fs_node_clear(&got);
	fcache_close(c);

	/* keep_runs 0 keeps the last run's entries (as 1 does). */
	c = open_ok(0);
	fcache_store(c, "/b", &b);
	commit_ok(c);
	fcache_close(c);
	c = open_ok(0);
	ck_assert_int_eq(lookup(c, "/b", &b, &got), 1);
	fs_node_clear(&got);
	ck_assert_int_eq(lookup(c, "/a", &a, &got), 0);
	fcache_close(c);
	fs_node_clear(&a);
	fs_node_clear(&b);
}
END_TEST

/* Run one SQL statement on the cache file behind its back. */
static void
sql(const char *stmt)
{
	char *db = db_path();
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(h, stmt, NULL, NULL, NULL) == SQLITE_OK,
	    "%s", sqlite3_errmsg(h));
	sqlite3_close(h);
	free(db);
}

START_TEST(test_damaged_entry_is_a_miss)
{
	struct fcache *c = open_ok(10);
	struct fs_node a, got;

	node(&a, 10, 2, 1);
	fcache_store(c, "/a", &a);
	fcache_store(c, "/c", &a);
	commit_ok(c);
	fcache_close(c);
	/* A chunk list that is not whole ids. */
	sql("UPDATE files SET chunks = x'0102' WHERE path = CAST('/a' AS "
	    "BLOB)");
	c = open_ok(10);
	ck_assert_int_eq(lookup(c, "/a", &a, &got), 0);
	ck_assert_uint_eq(got.nchunks, 0);
	ck_assert_int_eq(lookup(c, "/c", &a, &got), 1);
	same_chunks(&a, &got);
	fs_node_clear(&got);
	fcache_close(c);
	fs_node_clear(&a);
}
END_TEST

START_TEST(test_damaged_cache_file_started_afresh)
{
	struct fcache *c;
	struct fs_node a, got;
	struct err e;
	char *db = db_path(), junk[8192], *file, *aside, *wal, *back;
	size_t len;

	c = open_ok(10);
	node(&a, 10, 2, 1);
	fcache_store(c, "/a", &a);
	commit_ok(c);
	ck_assert_ptr_null(fcache_moved_aside(c));
	fcache_close(c);
	/*
	 * Overwritten with junk, beside a WAL of junk: moved aside once and
	 * a fresh cache started, not an error every later run.
	 */
	memset(junk, 'x', sizeof(junk));
	tutil_write_file(db, junk, sizeof(junk), 0600);
	wal = xasprintf("%s-wal", db);
	tutil_write_file(wal, junk, sizeof(junk), 0600);
	c = open_ok(10);
	aside = xasprintf("%s.corrupt", db);
	ck_assert_ptr_nonnull(fcache_moved_aside(c));
	ck_assert_str_eq(fcache_moved_aside(c), aside);
	back = tutil_read_file(aside, &len);
	ck_assert_uint_eq(len, sizeof(junk));
	ck_assert_mem_eq(back, junk, len);
	free(back);
	ck_assert_int_eq(lookup(c, "/a", &a, &got), 0);
	fcache_store(c, "/a", &a);
	commit_ok(c);
	fcache_close(c);
	c = open_ok(10);
	ck_assert_ptr_null(fcache_moved_aside(c));
	ck_assert_int_eq(lookup(c, "/a", &a, &got), 1);
	fs_node_clear(&got);
	fcache_close(c);
	/* Where the cache directory should be, a file: an error. */
	file = tutil_path(dir, "file");
	tutil_write_file(file, "x", 1, 0600);
	ck_assert_int_eq(fcache_open(file, REPO, 10, &c, &e), -1);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_ptr_nonnull(strstr(e.msg, "cache directory"));
	/* Gone altogether: made anew, empty. */
	ck_assert_int_eq(unlink(db), 0);
	c = open_ok(10);
	ck_assert_ptr_null(fcache_moved_aside(c));
	ck_assert_int_eq(lookup(c, "/a", &a, &got), 0);
	fcache_close(c);
	fs_node_clear(&a);
	free(file);
	free(aside);
	free(wal);
	free(db);
}
END_TEST

START_TEST(test_concurrent_runs_do_not_wait)
{
	struct fcache *c1, *c2, *c3;
	struct fs_node a, b, got;
	struct timespec t0, t1;

	node(&a, 10, 1, 1);
	node(&b, 20, 1, 2);
	/* Two runs at once: the second neither waits nor goes without. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c1 = open_ok(10);
	fcache_store(c1, "/a", &a);
	c2 = open_ok(10);
	fcache_store(c2, "/b", &b);
	ck_assert_int_eq(lookup(c2, "/a", &a, &got), 0);
	commit_ok(c1);
	commit_ok(c2);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 5);
	fcache_close(c1);
	fcache_close(c2);
	/* Both runs' entries are kept. */
	c3 = open_ok(10);
	ck_assert_int_eq(lookup(c3, "/a", &a, &got), 1);
	fs_node_clear(&got);
	ck_assert_int_eq(lookup(c3, "/b", &b, &got), 1);
	fs_node_clear(&got);
	fcache_close(c3);
	fs_node_clear(&a);
	fs_node_clear(&b);
}
END_TEST

Suite *fcache_suite(void);

Suite *
fcache_suite(void)
{
	Suite *s = suite_create("fcache");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_hit_after_commit_across_runs);
	tcase_add_test(tc, test_any_stat_change_is_a_miss);
	tcase_add_test(tc, test_uncommitted_run_is_forgotten);
	tcase_add_test(tc, test_stale_entries_dropped_after_keep_runs);
	tcase_add_test(tc, test_damaged_entry_is_a_miss);
	tcase_add_test(tc, test_damaged_cache_file_started_afresh);
	tcase_add_test(tc, test_concurrent_runs_do_not_wait);
	suite_add_tcase(s, tc);
	return (s);
}
