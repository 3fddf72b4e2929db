/*
 * Tar streams in: how member paths are cleaned or refused, and a stream
 * written by coffer's own tar writer read back (a sparse file's extents,
 * a hard link, a symlink, metadata).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fs/extract.h"
#include "fs/tarin.h"
#include "tutil.h"
#include "xmalloc.h"

static void
clean_is(const char *raw, const char *want, int want_stripped)
{
	char *out;
	int stripped;
	struct err e;

	ck_assert_msg(fs_tarin_path_clean(raw, &out, &stripped, &e) == 0,
	    "%s: %s", raw, e.msg);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(stripped, want_stripped);
	free(out);
}

static void
refused(const char *raw)
{
	char *out = (char *)1;
	int stripped;
	struct err e;

	ck_assert_int_eq(fs_tarin_path_clean(raw, &out, &stripped, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_ptr_null(out);
}

START_TEST(test_path_clean)
{
	char *longp;

	clean_is("a/b", "a/b", 0);
	clean_is("./a//b/./", "a/b", 0);
	clean_is("/etc/passwd", "etc/passwd", 1);
	clean_is("///x", "x", 1);
	clean_is("./", "", 0);
	clean_is("", "", 0);
	clean_is("...", "...", 0);
	clean_is("a/.b/..c", "a/.b/..c", 0);
	refused("..");
	refused("../x");
	refused("a/../b");
	refused("/a/b/..");
	longp = xmalloc(FS_TARIN_PATH_MAX + 2);
	memset(longp, 'a', FS_TARIN_PATH_MAX + 1);
	longp[FS_TARIN_PATH_MAX + 1] = '\0';
	refused(longp);
	longp[FS_TARIN_PATH_MAX] = '\0';
	clean_is(longp, longp, 0);
	free(longp);
}
END_TEST

static void
node(struct fs_node *n, const char *name, enum fs_type t)
{
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->type = t;
	n->mode = 0640;
	n->uid = 12345;
	n->mtime.sec = 1700000000;
	n->mtime.nsec = 123456789;
	n->nlink = 1;
}

START_TEST(test_read_back)
{
	char *dir = tutil_mkdtemp(), *path = tutil_path(dir, "t.tar");
	struct fs_extract *x;
	struct fs_tarin *t;
	struct fs_tarin_ent ent;
	struct fs_node n[3];
	struct err e;
	char buf[64];
	ssize_t got;
	int fd;

	node(&n[0], "sparse", FS_FILE);
	n[0].size = 1 << 20;
	n[0].nlink = 2;
	n[0].dev = 1;
	n[0].ino = 5;
	fs_node_add_extent(&n[0], 8192, 5);
	node(&n[1], "again", FS_FILE);
	n[1].size = n[0].size;
	n[1].nlink = 2;
	n[1].dev = 1;
	n[1].ino = 5;
	node(&n[2], "link", FS_SYMLINK);
	n[2].symlink = xstrdup("../x");
	ck_assert_int_ne(fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), -1);
	ck_assert_int_eq(fs_tar_open(fd, 0, &x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, "d", &n[0], &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "hello", 5, 8192, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, "d", &n[1], &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_int_eq(fs_extract_begin(x, "d", &n[2], &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_int_eq(fs_extract_close(x, &e), 0);
	for (int i = 0; i < 3; i++)
		fs_node_clear(&n[i]);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);

	ck_assert_int_eq(fs_tarin_open(fd, &t, &e), 0);
	ck_assert_int_eq(fs_tarin_next(t, &ent, &e), FS_TARIN_ENTRY);
	ck_assert_str_eq(ent.path, "d/sparse");
	ck_assert_str_eq(ent.node->name, "sparse");
	ck_assert_ptr_null(ent.hardlink);
	ck_assert_uint_eq(ent.node->mode, 0640);
	ck_assert_uint_eq(ent.node->uid, 12345);
	ck_assert_uint_eq(ent.node->mtime.nsec, 123456789);
	ck_assert_uint_eq(ent.node->size, 1 << 20);
	ck_assert_int_eq(got = fs_tarin_read(t, buf, sizeof(buf), &e), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_int_eq(fs_tarin_read(t, buf, sizeof(buf), &e), 0);
	/* The holes are known once the data is read. */
	ck_assert_uint_eq(ent.node->nsparse, 1);
	ck_assert_uint_eq(ent.node->sparse[0].offset, 8192);
	ck_assert_uint_eq(ent.node->sparse[0].length, 5);
	ck_assert_int_eq(fs_tarin_next(t, &ent, &e), FS_TARIN_ENTRY);
	ck_assert_str_eq(ent.path, "d/again");
	ck_assert_str_eq(ent.hardlink, "d/sparse");
	ck_assert_int_eq(ent.node->type, FS_FILE);
	ck_assert_int_eq(fs_tarin_read(t, buf, sizeof(buf), &e), 0);
	ck_assert_int_eq(fs_tarin_next(t, &ent, &e), FS_TARIN_ENTRY);
	ck_assert_int_eq(ent.node->type, FS_SYMLINK);
	ck_assert_str_eq(ent.node->symlink, "../x");
	ck_assert_int_eq(fs_tarin_next(t, &ent, &e), FS_TARIN_END);
	fs_tarin_close(t);
	close(fd);
	free(path);
	tutil_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_not_tar)
{
	char *dir = tutil_mkdtemp(), *path = tutil_path(dir, "junk");
	static const char junk[] = "this is not a tar archive, not at all\n";
	struct fs_tarin *t;
	struct err e;
	int fd;

	tutil_write_file(path, junk, sizeof(junk), 0600);
	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	ck_assert_int_eq(fs_tarin_open(fd, &t, &e), -1);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_ptr_null(t);
	close(fd);
	free(path);
	tutil_rmtree(dir);
	free(dir);
}
END_TEST

Suite *tarin_suite(void);

Suite *
tarin_suite(void)
{
	Suite *s = suite_create("fs_tarin");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_test(tc, test_path_clean);
	tcase_add_test(tc, test_read_back);
	tcase_add_test(tc, test_not_tar);
	suite_add_tcase(s, tc);
	return (s);
}
