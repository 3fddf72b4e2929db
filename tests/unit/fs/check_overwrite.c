/*
 * Restoring over an earlier restore (FS_EXTRACT_OVERWRITE): directories
 * that already exist end with their recorded times, although the entries
 * restored into them change their mtime after libarchive has set it.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fs/extract.h"

static char base[64];

static void
setup(void)
{
	snprintf(base, sizeof(base), "/tmp/coffer-overwrite-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	ck_assert_int_eq(system(cmd), 0);
}

static void
node(struct fs_node *n, const char *name, enum fs_type t, uint64_t ino)
{
	memset(n, 0, sizeof(*n));
	fs_node_set_str(&n->name, name);
	n->type = t;
	n->mode = t == FS_DIR ? 0755 : 0644;
	n->uid = getuid();
	n->gid = getgid();
	n->mtime.sec = 1600000000 + (int64_t)ino;
	n->mtime.nsec = 987654321;
	n->atime = n->mtime;
	n->size = t == FS_FILE ? 3 : 0;
	n->dev = 1;
	n->ino = ino;
	n->nlink = 1;
}

static void
restore_once(const char *dst, unsigned flags)
{
	struct fs_extract *x;
	struct fs_node d, f, sub;
	struct err e;

	node(&d, "d", FS_DIR, 1);
	node(&sub, "sub", FS_DIR, 2);
	node(&f, "f", FS_FILE, 3);
	ck_assert_int_eq(fs_extract_open(dst, flags, &x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, NULL, &d, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, "d", &sub, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, "d/sub", &f, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "abc", 3, 0, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_msg(fs_extract_close(x, &e) == 0, "%s", e.msg);
	fs_node_clear(&d);
	fs_node_clear(&sub);
	fs_node_clear(&f);
}

START_TEST(test_existing_directories_keep_their_times)
{
	char dst[128], path[256];
	struct stat st;

	snprintf(dst, sizeof(dst), "%s/dst", base);
	for (int pass = 0; pass < 2; pass++) {
		/* The second pass replaces f inside an existing d/sub. */
		restore_once(dst, pass ? FS_EXTRACT_OVERWRITE : 0);
		snprintf(path, sizeof(path), "%s/d", dst);
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert_int_eq(st.st_mtim.tv_sec, 1600000001);
		ck_assert_int_eq(st.st_mtim.tv_nsec, 987654321);
		snprintf(path, sizeof(path), "%s/d/sub", dst);
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert_msg(st.st_mtim.tv_sec == 1600000002,
		    "pass %d: d/sub has mtime %lld", pass,
		    (long long)st.st_mtim.tv_sec);
		ck_assert_int_eq(st.st_mtim.tv_nsec, 987654321);
	}
}
END_TEST

Suite *fs_overwrite_suite(void);

Suite *
fs_overwrite_suite(void)
{
	Suite *s = suite_create("fs_overwrite");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_existing_directories_keep_their_times);
	suite_add_tcase(s, tc);
	return (s);
}
