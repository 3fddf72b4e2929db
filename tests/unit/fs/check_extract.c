/*
 * The directory-descriptor path of fs_extract (lib/fs/extract_dir.c):
 * symlinks planted on the way, hard links across directories, read-only
 * directories filled after they are made, trees deeper than the
 * descriptor stack, and the syncfs that makes a restore durable.  Each
 * test runs with openat2 and with the component-by-component fallback.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fault.h"
#include "fs/extract.h"

static char base[64];

/* Both ways of opening a directory path. */
static const unsigned modes[2] = { 0, FS_EXTRACT_NO_OPENAT2 };

static void
setup(void)
{
	fault_reset();
	snprintf(base, sizeof(base), "/tmp/coffer-extract-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
}

static void
teardown(void)
{
	char cmd[160];

	fault_reset();
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", base,
	    base);
	ck_assert_int_eq(system(cmd), 0);
}

static void
node(struct fs_node *n, const char *name, enum fs_type t, uint32_t mode,
    uint64_t size, uint64_t ino)
{
	memset(n, 0, sizeof(*n));
	fs_node_set_str(&n->name, name);
	n->type = t;
	n->mode = mode;
	n->uid = getuid();
	n->gid = getgid();
	n->mtime.sec = 1500000000 + (int64_t)ino;
	n->mtime.nsec = 123456789;
	n->atime = n->mtime;
	n->size = size;
	n->dev = 3;
	n->ino = ino;
	n->nlink = 1;
}

/* Begin (expecting r), write data if any, end; 0 or the end's result. */
static int
put(struct fs_extract *x, const char *dir, struct fs_node *n, const char *data)
{
	struct err e;
	int r;

	r = fs_extract_begin(x, dir, n, &e);
	ck_assert_msg(r != -1, "%s/%s: %s", dir, n->name, e.msg);
	if (r == 1)
		ck_assert_msg(fs_extract_write(x, data, strlen(data), 0, &e) ==
		        0,
		    "%s", e.msg);
	r = fs_extract_end(x, &e);
	ck_assert_msg(r == 0, "%s/%s: %s", dir, n->name, e.msg);
	fs_node_clear(n);
	return (r);
}

static void
put_dir(struct fs_extract *x, const char *dir, const char *name, uint32_t mode,
    uint64_t ino)
{
	struct fs_node n;

	node(&n, name, FS_DIR, mode, 0, ino);
	put(x, dir, &n, NULL);
}

static void
put_file(struct fs_extract *x, const char *dir, const char *name,
    const char *data, uint64_t ino)
{
	struct fs_node n;

	node(&n, name, FS_FILE, 0644, strlen(data), ino);
	put(x, dir, &n, data);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return (n);
}

static void
expect_content(const char *path, const char *want)
{
	char buf[256];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	ck_assert_msg(fd != -1, "%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

/*
 * --overwrite into a target where "a" is a symlink to a directory
 * outside: nothing is written through it, the entry "a" replaces it, and a
 * directory swapped for a symlink while the restore is in it does not
 * redirect the entries that follow.
 */
START_TEST(test_planted_symlink_mid_path)
{
	char dst[128], out[128], path[300];
	struct fs_extract *x;
	struct fs_node n;
	struct stat st;
	struct err e;
	unsigned flags = FS_EXTRACT_OVERWRITE | modes[_i];

	snprintf(dst, sizeof(dst), "%s/dst", base);
	snprintf(out, sizeof(out), "%s/outside", base);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	snprintf(path, sizeof(path), "%s/b", out);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(mkdir(dst, 0755), 0);
	snprintf(path, sizeof(path), "%s/a", dst);
	ck_assert_int_eq(symlink(out, path), 0);

	ck_assert_int_eq(fs_extract_open(dst, flags, &x, &e), 0);
	/* Into a/b before a is restored: refused, not followed. */
	node(&n, "f", FS_FILE, 0644, 3, 10);
	ck_assert_int_eq(fs_extract_begin(x, "a/b", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	fs_node_clear(&n);
	node(&n, "f", FS_FILE, 0644, 3, 10);
	ck_assert_int_eq(fs_extract_begin(x, "a", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	fs_node_clear(&n);
	/* The entry a replaces the symlink; then a/b/f lands inside. */
	put_dir(x, "", "a", 0755, 1);
	put_dir(x, "a", "b", 0755, 2);
	put_file(x, "a/b", "f", "abc", 3);
	snprintf(path, sizeof(path), "%s/a", dst);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	/* Swap a for a symlink to outside while the restore is in a/b. */
	snprintf(path, sizeof(path), "%s/a.old", dst);
	{
		char a[300];

		snprintf(a, sizeof(a), "%s/a", dst);
		ck_assert_int_eq(rename(a, path), 0);
		ck_assert_int_eq(symlink(out, a), 0);
	}
	put_file(x, "a/b", "g", "def", 4);
	put_file(x, "a", "h", "ghi", 5);
	put_dir(x, "a", "c", 0755, 6);
	put_file(x, "a/c", "i", "jkl", 7);
	/* a's times cannot be set through the symlink: a warning. */
	ck_assert_int_ne(fs_extract_close(x, &e), -1);
	ck_assert_int_eq(count_entries(out), 1);
	snprintf(path, sizeof(path), "%s/b", out);
	ck_assert_int_eq(count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/a.old/b/g", dst);
	expect_content(path, "def");
	snprintf(path, sizeof(path), "%s/a.old/c/i", dst);
	expect_content(path, "jkl");
}
END_TEST

/* A hard link whose first name is in another directory, twice. */
START_TEST(test_hardlink_across_directories)
{
	char dst[128], p1[300], p2[300];
	struct fs_extract *x;
	struct fs_node n;
	struct stat s1, s2;
	struct err e;

	snprintf(dst, sizeof(dst), "%s/dst", base);
	snprintf(p1, sizeof(p1), "%s/d1/f", dst);
	snprintf(p2, sizeof(p2), "%s/d2/sub/g", dst);
	for (int pass = 0; pass < 2; pass++) {
		unsigned flags = modes[_i] | (pass ? FS_EXTRACT_OVERWRITE : 0);

		ck_assert_int_eq(fs_extract_open(dst, flags, &x, &e), 0);
		put_dir(x, "", "d1", 0755, 1);
		node(&n, "f", FS_FILE, 0600, 5, 9);
		n.nlink = 2;
		put(x, "d1", &n, "hello");
		put_dir(x, "", "d2", 0755, 2);
		put_dir(x, "d2", "sub", 0755, 3);
		node(&n, "g", FS_FILE, 0600, 5, 9);
		n.nlink = 2;
		ck_assert_int_eq(fs_extract_begin(x, "d2/sub", &n, &e), 0);
		ck_assert_int_eq(fs_extract_end(x, &e), 0);
		fs_node_clear(&n);
		ck_assert_msg(fs_extract_close(x, &e) == 0, "%s", e.msg);
		ck_assert_int_eq(lstat(p1, &s1), 0);
		ck_assert_int_eq(lstat(p2, &s2), 0);
		ck_assert_uint_eq(s1.st_ino, s2.st_ino);
		ck_assert_uint_eq(s1.st_nlink, 2);
		expect_content(p2, "hello");
	}
}
END_TEST

/*
 * A 0500 directory gets its files, and keeps 0500, when the restore runs
 * as a user the mode binds (root is turned into nobody for this).
 */
START_TEST(test_readonly_directory_filled)
{
	char dst[128], path[300];
	struct fs_extract *x;
	struct fs_node n;
	struct stat st;
	struct err e;

	if (geteuid() == 0) {
		/* Its owner may remove it from /tmp at teardown. */
		ck_assert_int_eq(chown(base, 65534, 65534), 0);
		ck_assert_int_eq(setgroups(0, NULL), 0);
		ck_assert_int_eq(setgid(65534), 0);
		ck_assert_int_eq(setuid(65534), 0);
	}
	snprintf(dst, sizeof(dst), "%s/dst", base);
	ck_assert_int_eq(fs_extract_open(dst,
	                     FS_EXTRACT_NO_OWNER_WHEN_NOT_ROOT | modes[_i], &x,
	                     &e),
	    0);
	put_dir(x, "", "ro", 0500, 1);
	node(&n, "f", FS_FILE, 0400, 3, 2);
	put(x, "ro", &n, "abc");
	put_dir(x, "ro", "sub", 0500, 3);
	put_file(x, "ro/sub", "g", "def", 4);
	put_dir(x, "ro/sub", "empty", 0, 5);
	ck_assert_msg(fs_extract_close(x, &e) == 0, "%s", e.msg);
	snprintf(path, sizeof(path), "%s/ro", dst);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0500);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1500000001);
	ck_assert_int_eq(st.st_mtim.tv_nsec, 123456789);
	snprintf(path, sizeof(path), "%s/ro/sub/empty", dst);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0);
	snprintf(path, sizeof(path), "%s/ro/f", dst);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0400);
	expect_content(path, "abc");
	snprintf(path, sizeof(path), "%s/ro/sub/g", dst);
	expect_content(path, "def");
}
END_TEST

static int
open_fds(void)
{
	return (count_entries("/proc/self/fd"));
}

#define DEEP 150

/*
 * A tree deeper than the descriptor stack: every level restored, its
 * times right, and no more descriptors open than the stack's bound (64
 * levels, one for the level past it, the file, the target).
 */
START_TEST(test_deep_tree_bounded)
{
	char dst[128], dir[2 * DEEP + 8], path[2 * DEEP + 300];
	struct fs_extract *x;
	struct stat st;
	struct err e;
	int fds0, most = 0;

	snprintf(dst, sizeof(dst), "%s/dst", base);
	fds0 = open_fds();
	ck_assert_int_eq(fs_extract_open(dst, modes[_i], &x, &e), 0);
	dir[0] = '\0';
	for (int i = 0; i < DEEP; i++) {
		char name[16];
		int k;

		snprintf(name, sizeof(name), "f%d", i);
		put_file(x, dir, name, name, (uint64_t)(1000 + i));
		put_dir(x, dir, "d", 0755, (uint64_t)i);
		strcat(dir, dir[0] != '\0' ? "/d" : "d");
		if ((k = open_fds()) > most)
			most = k;
	}
	/* Back up, and down again past the stack. */
	dir[2 * 3 - 1] = '\0';
	put_file(x, dir, "back", "up", 5000);
	for (int i = 3; i < DEEP - 1; i++)
		strcat(dir, "/d");
	put_file(x, dir, "again", "down", 5001);
	if (open_fds() > most)
		most = open_fds();
	ck_assert_msg(most - fds0 <= 64 + 4, "%d descriptors open at most",
	    most - fds0);
	ck_assert_msg(fs_extract_close(x, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(open_fds(), fds0);
	snprintf(path, sizeof(path), "%s/%s/again", dst, dir);
	expect_content(path, "down");
	snprintf(path, sizeof(path), "%s/%s", dst, dir);
	path[strlen(path) - 2] = '\0'; /* the directory of ino DEEP - 3 */
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1500000000 + DEEP - 3);
	snprintf(path, sizeof(path), "%s/%s/f%d", dst, dir, DEEP - 1);
	expect_content(path, "f149");
}
END_TEST

/* A restore that cannot be flushed to disk does not report success. */
START_TEST(test_syncfs_failure_fails_close)
{
	char dst[128];
	struct fs_extract *x;
	struct err e;

	snprintf(dst, sizeof(dst), "%s/dst", base);
	ck_assert_int_eq(fs_extract_open(dst, modes[_i], &x, &e), 0);
	put_file(x, "", "f", "abc", 1);
	fault_arm(FAULT_SYNCFS, 0, EIO);
	ck_assert_int_eq(fs_extract_close(x, &e), -1);
	ck_assert_int_eq(fault_injected(FAULT_SYNCFS), 1);
	fault_reset();
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_int_eq(e.sys_errno, EIO);
	ck_assert_msg(strstr(e.msg, dst) != NULL, "%s", e.msg);
}
END_TEST

/* --no-sync: no flush at all, so one that would fail cannot. */
START_TEST(test_no_sync_skips_syncfs)
{
	char dst[128];
	struct fs_extract *x;
	struct err e;

	snprintf(dst, sizeof(dst), "%s/dst", base);
	ck_assert_int_eq(fs_extract_open(dst, modes[_i] | FS_EXTRACT_NO_SYNC,
	                     &x, &e),
	    0);
	put_file(x, "", "f", "abc", 1);
	fault_arm(FAULT_SYNCFS, 0, EIO);
	ck_assert_msg(fs_extract_close(x, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(fault_calls(FAULT_SYNCFS), 0);
	fault_reset();
}
END_TEST

Suite *fs_extract_suite(void);

Suite *
fs_extract_suite(void)
{
	Suite *s = suite_create("fs_extract");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_planted_symlink_mid_path, 0, 2);
	tcase_add_loop_test(tc, test_hardlink_across_directories, 0, 2);
	tcase_add_loop_test(tc, test_readonly_directory_filled, 0, 2);
	tcase_add_loop_test(tc, test_deep_tree_bounded, 0, 2);
	tcase_add_loop_test(tc, test_syncfs_failure_fails_close, 0, 2);
	tcase_add_loop_test(tc, test_no_sync_skips_syncfs, 0, 2);
	suite_add_tcase(s, tc);
	return (s);
}
