/*
 * Taking an entry back: a file whose data could not be had is removed from
 * a directory target and not kept as a hard-link target; a tar stream that
 * cannot take it back is cut off without a trailer instead of padded.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
	snprintf(base, sizeof(base), "/tmp/coffer-discard-XXXXXX");
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
file_node(struct fs_node *n, const char *name, uint64_t size, uint64_t ino,
    uint64_t nlink)
{
	memset(n, 0, sizeof(*n));
	fs_node_set_str(&n->name, name);
	n->type = FS_FILE;
	n->mode = 0640;
	n->uid = getuid();
	n->gid = getgid();
	n->mtime.sec = 1700000000;
	n->size = size;
	n->dev = 7;
	n->ino = ino;
	n->nlink = nlink;
}

static char *
run(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	char *out = calloc(1, 65536);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, 65535, f);
	out[n] = '\0';
	*status = pclose(f);
	return (out);
}

START_TEST(test_discard_removes_file_and_forgets_link)
{
	char dst[128], path[256], buf[64];
	struct fs_extract *x;
	struct fs_node a, b, c;
	struct stat st;
	struct err e;
	int fd;

	snprintf(dst, sizeof(dst), "%s/dst", base);
	file_node(&a, "first", 10, 42, 2);
	file_node(&b, "second", 10, 42, 2);
	file_node(&c, "other", 3, 43, 1);
	ck_assert_int_eq(fs_extract_open(dst, 0, &x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, "d", &a, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "01234", 5, 0, &e), 0);
	ck_assert_int_eq(fs_extract_discard(x, &e), 0);
	snprintf(path, sizeof(path), "%s/d/first", dst);
	ck_assert_int_eq(lstat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* Discarding twice, or with no entry, is a programmer's error. */
	ck_assert_int_eq(fs_extract_discard(x, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	ck_assert(!fs_extract_failed(x));

	/* The second name of the same file is not a link to nothing. */
	ck_assert_int_eq(fs_extract_begin(x, "d", &b, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "abcdefghij", 10, 0, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, "d", &c, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "xyz", 3, 0, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_int_eq(fs_extract_close(x, &e), 0);
	snprintf(path, sizeof(path), "%s/d/second", dst);
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 10);
	ck_assert(memcmp(buf, "abcdefghij", 10) == 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 1);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	close(fd);
	fs_node_clear(&a);
	fs_node_clear(&b);
	fs_node_clear(&c);
}
END_TEST

START_TEST(test_discard_replaces_overwritten_file_by_nothing)
{
	char dst[128], path[256];
	struct fs_extract *x;
	struct fs_node a;
	struct stat st;
	struct err e;
	int fd;

	/* With --overwrite the old file is gone too: nothing stale is left. */
	snprintf(dst, sizeof(dst), "%s/dst", base);
	ck_assert_int_eq(mkdir(dst, 0700), 0);
	snprintf(path, sizeof(path), "%s/old", dst);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(write(fd, "stale", 5), 5);
	close(fd);
	file_node(&a, "old", 8, 1, 1);
	ck_assert_int_eq(fs_extract_open(dst, 0, &x, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(fs_extract_open(dst, FS_EXTRACT_OVERWRITE, &x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, NULL, &a, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "new", 3, 0, &e), 0);
	ck_assert_int_eq(fs_extract_discard(x, &e), 0);
	ck_assert_int_eq(fs_extract_close(x, &e), 0);
	ck_assert_int_eq(lstat(path, &st), -1);
	fs_node_clear(&a);
}
END_TEST

START_TEST(test_directory_is_not_discarded)
{
	char dst[128], path[256];
	struct fs_extract *x;
	struct fs_node d;
	struct stat st;
	struct err e;

	snprintf(dst, sizeof(dst), "%s/dst", base);
	memset(&d, 0, sizeof(d));
	fs_node_set_str(&d.name, "dir");
	d.type = FS_DIR;
	d.mode = 0755;
	d.nlink = 2;
	ck_assert_int_eq(fs_extract_open(dst, 0, &x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, NULL, &d, &e), 0);
	ck_assert_int_eq(fs_extract_discard(x, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	ck_assert(!fs_extract_failed(x));
	ck_assert_int_eq(fs_extract_close(x, &e), 0);
	snprintf(path, sizeof(path), "%s/dir", dst);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	fs_node_clear(&d);
}
END_TEST

/* A complete 100 KiB file, then a second one begun and left short. */
static void
tar_cut(int discard, const char *tarpath)
{
	static uint8_t data[100 * 1024];
	struct fs_extract *x;
	struct fs_node a, b;
	struct err e;
	int fd;

	memset(data, 'q', sizeof(data));
	file_node(&a, "whole", sizeof(data), 1, 1);
	file_node(&b, "short", sizeof(data), 2, 1);
	ck_assert_int_ge(fd = open(tarpath, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    0);
	ck_assert_int_eq(fs_tar_open(fd, 0, &x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, "d", &a, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, data, sizeof(data), 0, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, "d", &b, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, data, sizeof(data) / 2, 0, &e), 0);
	if (discard) {
		ck_assert_int_eq(fs_extract_discard(x, &e), -1);
		ck_assert_int_eq(e.class, ERR_INTERNAL);
		ck_assert(fs_extract_failed(x));
		/* Nothing more goes into a cut stream. */
		ck_assert_int_eq(fs_extract_begin(x, "d", &a, &e), -1);
	} else {
		ck_assert(!fs_extract_failed(x));
	}
	ck_assert_int_eq(fs_extract_close(x, &e), -1);
	close(fd);
	fs_node_clear(&a);
	fs_node_clear(&b);
}

START_TEST(test_tar_cut_not_padded)
{
	char tarpath[128], cmd[512], *out;
	struct stat st;
	int status;

	for (int discard = 0; discard <= 1; discard++) {
		snprintf(tarpath, sizeof(tarpath), "%s/out%d.tar", base,
		    discard);
		tar_cut(discard, tarpath);
		/* Less than two whole files: the short one was not padded. */
		ck_assert_int_eq(stat(tarpath, &st), 0);
		ck_assert_int_lt(st.st_size, 200 * 1024);
		snprintf(cmd, sizeof(cmd), "tar -tvf '%s' 2>&1", tarpath);
		out = run(cmd, &status);
		ck_assert_msg(status != 0, "tar read a cut stream: %s", out);
		ck_assert_msg(strstr(out, "d/whole") != NULL, "%s", out);
		free(out);
	}
}
END_TEST

START_TEST(test_abort_cuts_tar_between_entries)
{
	static uint8_t data[100 * 1024];
	char tarpath[128], cmd[512], *out;
	struct fs_extract *x;
	struct fs_node a;
	struct err e;
	int fd, status;

	/* Stopped between two files, the stream still must not look whole. */
	memset(data, 'z', sizeof(data));
	file_node(&a, "whole", sizeof(data), 1, 1);
	snprintf(tarpath, sizeof(tarpath), "%s/abort.tar", base);
	ck_assert_int_ge(fd = open(tarpath, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    0);
	ck_assert_int_eq(fs_tar_open(fd, 0, &x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, NULL, &a, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, data, sizeof(data), 0, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	fs_extract_abort(x);
	close(fd);
	snprintf(cmd, sizeof(cmd), "tar -tvf '%s' 2>&1", tarpath);
	out = run(cmd, &status);
	ck_assert_msg(status != 0, "tar read an aborted stream: %s", out);
	free(out);
	fs_extract_abort(NULL);
	fs_node_clear(&a);
}
END_TEST

START_TEST(test_abort_discards_current_file)
{
	char dst[128], path[256];
	struct fs_extract *x;
	struct fs_node a;
	struct stat st;
	struct err e;

	snprintf(dst, sizeof(dst), "%s/dst", base);
	file_node(&a, "part", 10, 1, 1);
	ck_assert_int_eq(fs_extract_open(dst, 0, &x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, NULL, &a, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "12345", 5, 0, &e), 0);
	fs_extract_abort(x);
	snprintf(path, sizeof(path), "%s/part", dst);
	ck_assert_int_eq(lstat(path, &st), -1);
	fs_node_clear(&a);
}
END_TEST

Suite *fs_discard_suite(void);

Suite *
fs_discard_suite(void)
{
	Suite *s = suite_create("fs_discard");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_discard_removes_file_and_forgets_link);
	tcase_add_test(tc, test_discard_replaces_overwritten_file_by_nothing);
	tcase_add_test(tc, test_directory_is_not_discarded);
	tcase_add_test(tc, test_tar_cut_not_padded);
	tcase_add_test(tc, test_abort_cuts_tar_between_entries);
	tcase_add_test(tc, test_abort_discards_current_file);
	suite_add_tcase(s, tc);
	return (s);
}
