/*
 * Safe publishing under injected faults: whatever fails, the final name
 * holds either the complete new content or what it held before, and no
 * temporary file is left behind.
 */
#include <sys/types.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "afile.h"
#include "fault.h"
#include "tutil.h"

/* Each test: a fresh directory with a file name in it. */
struct fx {
	char *dir;
	char *path;
};

static void
fx_init(struct fx *f)
{
	f->dir = tutil_mkdtemp();
	f->path = tutil_path(f->dir, "data");
}

static void
fx_done(struct fx *f)
{
	free(f->path);
	free(f->dir);
}

static int
temps(const struct fx *f)
{
	return (tutil_count_entries(f->dir, ".tmp."));
}

static void
assert_content(const char *path, const char *want)
{
	char *got = tutil_read_file(path, NULL);

	ck_assert_msg(got != NULL, "%s is missing", path);
	ck_assert_str_eq(got, want);
	free(got);
}

static void
assert_absent(const char *path)
{
	ck_assert_msg(access(path, F_OK) == -1 && errno == ENOENT, "%s exists",
	    path);
}

START_TEST(test_round_trip_and_exact_mode)
{
	struct fx f;
	struct err e;
	struct stat st;

	fx_init(&f);
	umask(077);
	ck_assert_int_eq(afile_write_all(f.path, "hello\n", 6, 0644, 0, &e), 0);
	assert_content(f.path, "hello\n");
	ck_assert_int_eq(stat(f.path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(temps(&f), 0);
	ck_assert_int_eq(afile_write_all(f.path, "", 0, 0400, 0, &e), 0);
	assert_content(f.path, "");
	ck_assert_int_eq(stat(f.path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0400);
	fx_done(&f);
}
END_TEST

START_TEST(test_replaces_and_syncs_file_and_directory)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	tutil_write_file(f.path, "old", 3, 0644);
	fault_reset();
	ck_assert_int_eq(afile_write_all(f.path, "new", 3, 0644, 0, &e), 0);
	/* The file, then the directory that now names it. */
	ck_assert_uint_eq(fault_calls(FAULT_FSYNC), 2);
	assert_content(f.path, "new");
	ck_assert_int_eq(temps(&f), 0);
	fx_done(&f);
}
END_TEST

/* AFILE_NOSYNC: the same atomic publishing, without an fsync. */
START_TEST(test_nosync_publishes_without_fsync)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	fault_reset();
	ck_assert_int_eq(afile_write_all(f.path, "", 0, 0600,
	                     AFILE_NOREPLACE | AFILE_NOSYNC, &e),
	    0);
	ck_assert_uint_eq(fault_calls(FAULT_FSYNC), 0);
	assert_content(f.path, "");
	ck_assert_int_eq(temps(&f), 0);
	/* Still write-once. */
	ck_assert_int_eq(afile_write_all(f.path, "x", 1, 0600,
	                     AFILE_NOREPLACE | AFILE_NOSYNC, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	assert_content(f.path, "");
	ck_assert_int_eq(temps(&f), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_temp_is_private_and_hidden_until_commit)
{
	struct fx f;
	struct afile *af = NULL;
	struct err e;
	struct stat st;
	char *tmp = NULL;

	fx_init(&f);
	umask(0);
	ck_assert_int_eq(afile_open(f.path, 0644, 0, &af, &e), 0);
	ck_assert_str_eq(afile_path(af), f.path);
	ck_assert_int_eq(afile_write(af, "abc", 3, &e), 0);
	assert_absent(f.path);
	ck_assert_int_eq(temps(&f), 1);
	ck_assert_int_eq(tutil_count_entries(f.dir, ".data.tmp."), 1);
	tmp = tutil_find_entry(f.dir, ".tmp.");
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_eq(stat(tmp, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(afile_commit(af, &e), 0);
	ck_assert_int_eq(stat(f.path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	afile_free(af);
	free(tmp);
	fx_done(&f);
}
END_TEST

START_TEST(test_short_writes_and_eintr_give_a_complete_file)
{
	struct fx f;
	struct afile *af = NULL;
	struct err e;
	char *want = malloc(100001), *got;
	size_t len;

	fx_init(&f);
	for (size_t i = 0; i < 100000; i++)
		want[i] = (char)('a' + i % 26);
	want[100000] = '\0';
	ck_assert_int_eq(afile_open(f.path, 0600, 0, &af, &e), 0);
	fault_arm_short(FAULT_WRITE, 0, 999);
	fault_arm_once(FAULT_WRITE, 3, EINTR);
	ck_assert_int_eq(afile_write(af, want, 50000, &e), 0);
	ck_assert_int_eq(afile_write(af, want + 50000, 50000, &e), 0);
	ck_assert_uint_ge(fault_calls(FAULT_WRITE), 100);
	ck_assert_uint_eq(fault_injected(FAULT_WRITE), 1);
	fault_reset();
	ck_assert_int_eq(afile_commit(af, &e), 0);
	afile_free(af);
	got = tutil_read_file(f.path, &len);
	ck_assert_uint_eq(len, 100000);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	fx_done(&f);
}
END_TEST

START_TEST(test_enospc_is_nospace_and_publishes_nothing)
{
	struct fx f;
	struct afile *af = NULL;
	struct err e;

	fx_init(&f);
	ck_assert_int_eq(afile_open(f.path, 0600, 0, &af, &e), 0);
	ck_assert_int_eq(afile_write(af, "first", 5, &e), 0);
	fault_arm(FAULT_WRITE, 0, ENOSPC);
	ck_assert_int_eq(afile_write(af, "second", 6, &e), -1);
	fault_reset();
	ck_assert_int_eq(e.class, ERR_NOSPACE);
	ck_assert_int_eq(e.sys_errno, ENOSPC);
	ck_assert_ptr_nonnull(strstr(e.msg, f.path));
	ck_assert_ptr_nonnull(strstr(e.msg, "No space left on device"));
	ck_assert_ptr_null(strchr(e.msg, '\n'));
	/* A caller that ignores the error still cannot publish a hole. */
	ck_assert_int_eq(afile_write(af, "third", 5, &e), -1);
	ck_assert_int_eq(afile_commit(af, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	assert_absent(f.path);
	afile_abort(af);
	ck_assert_int_eq(temps(&f), 0);
	afile_abort(af);
	afile_free(af);
	assert_absent(f.path);
	fx_done(&f);
}
END_TEST

START_TEST(test_write_all_enospc_leaves_old_content)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	tutil_write_file(f.path, "old", 3, 0644);
	fault_arm(FAULT_WRITE, 0, EDQUOT);
	ck_assert_int_eq(afile_write_all(f.path, "new", 3, 0644, 0, &e), -1);
	fault_reset();
	ck_assert_int_eq(e.class, ERR_NOSPACE);
	assert_content(f.path, "old");
	ck_assert_int_eq(temps(&f), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_fsync_eio_fails_and_publishes_nothing)
{
	struct fx f;
	struct afile *af = NULL;
	struct err e;

	fx_init(&f);
	ck_assert_int_eq(afile_open(f.path, 0600, 0, &af, &e), 0);
	ck_assert_int_eq(afile_write(af, "data", 4, &e), 0);
	fault_arm(FAULT_FSYNC, 0, EIO);
	ck_assert_int_eq(afile_commit(af, &e), -1);
	fault_reset();
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_int_eq(e.sys_errno, EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "fsync"));
	ck_assert_ptr_nonnull(strstr(e.msg, f.path));
	assert_absent(f.path);
	ck_assert_int_eq(temps(&f), 0);
	afile_free(af);
	fx_done(&f);
}
END_TEST

START_TEST(test_close_error_publishes_nothing)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	tutil_write_file(f.path, "old", 3, 0644);
	fault_arm(FAULT_CLOSE, 0, EIO);
	ck_assert_int_eq(afile_write_all(f.path, "new", 3, 0644, 0, &e), -1);
	fault_reset();
	ck_assert_ptr_nonnull(strstr(e.msg, "close"));
	assert_content(f.path, "old");
	ck_assert_int_eq(temps(&f), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_rename_failure_keeps_old_content)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	tutil_write_file(f.path, "old", 3, 0644);
	fault_arm(FAULT_RENAMEAT, 0, EIO);
	ck_assert_int_eq(afile_write_all(f.path, "new", 3, 0644, 0, &e), -1);
	fault_reset();
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_ptr_nonnull(strstr(e.msg, f.path));
	ck_assert_ptr_nonnull(strstr(e.msg, "Input/output error"));
	assert_content(f.path, "old");
	ck_assert_int_eq(temps(&f), 0);
	/* And with nothing there before, nothing there after. */
	free(f.path);
	f.path = tutil_path(f.dir, "fresh");
	fault_arm(FAULT_RENAMEAT2, 0, EIO);
	ck_assert_int_eq(afile_write_all(f.path, "new", 3, 0644,
	                     AFILE_NOREPLACE, &e),
	    -1);
	fault_reset();
	assert_absent(f.path);
	ck_assert_int_eq(temps(&f), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_noreplace_refuses_existing_name)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	ck_assert_int_eq(afile_write_all(f.path, "one", 3, 0444,
	                     AFILE_NOREPLACE, &e),
	    0);
	assert_content(f.path, "one");
	ck_assert_int_eq(afile_write_all(f.path, "two", 3, 0444,
	                     AFILE_NOREPLACE, &e),
	    -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_ptr_nonnull(strstr(e.msg, f.path));
	ck_assert_ptr_nonnull(strstr(e.msg, "already exists"));
	assert_content(f.path, "one");
	ck_assert_int_eq(temps(&f), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_noreplace_falls_back_to_link)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	/* A file system without RENAME_NOREPLACE answers EINVAL. */
	fault_arm(FAULT_RENAMEAT2, 0, EINVAL);
	ck_assert_int_eq(afile_write_all(f.path, "one", 3, 0644,
	                     AFILE_NOREPLACE, &e),
	    0);
	ck_assert_uint_eq(fault_calls(FAULT_LINKAT), 1);
	assert_content(f.path, "one");
	ck_assert_int_eq(temps(&f), 0);
	ck_assert_int_eq(afile_write_all(f.path, "two", 3, 0644,
	                     AFILE_NOREPLACE, &e),
	    -1);
	ck_assert_uint_eq(fault_calls(FAULT_LINKAT), 2);
	fault_reset();
	ck_assert_int_eq(e.sys_errno, EEXIST);
	ck_assert_ptr_nonnull(strstr(e.msg, "already exists"));
	assert_content(f.path, "one");
	ck_assert_int_eq(temps(&f), 0);
	/* No hard links either: a clear error, nothing published. */
	free(f.path);
	f.path = tutil_path(f.dir, "other");
	fault_arm(FAULT_RENAMEAT2, 0, ENOSYS);
	fault_arm(FAULT_LINKAT, 0, EPERM);
	ck_assert_int_eq(afile_write_all(f.path, "x", 1, 0644, AFILE_NOREPLACE,
	                     &e),
	    -1);
	fault_reset();
	ck_assert_ptr_nonnull(strstr(e.msg, "Operation not permitted"));
	assert_absent(f.path);
	ck_assert_int_eq(temps(&f), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_directory_fsync_failure_is_reported)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	fault_arm(FAULT_FSYNC, 1, EIO);
	ck_assert_int_eq(afile_write_all(f.path, "new", 3, 0644, 0, &e), -1);
	fault_reset();
	ck_assert_ptr_nonnull(strstr(e.msg, "fsync directory"));
	ck_assert_ptr_nonnull(strstr(e.msg, f.dir));
	/* Renamed already: complete, just not known to be durable. */
	assert_content(f.path, "new");
	ck_assert_int_eq(temps(&f), 0);
	/* A file system that cannot fsync directories is no failure. */
	fault_arm(FAULT_FSYNC, 1, EINVAL);
	ck_assert_int_eq(afile_write_all(f.path, "nv", 2, 0644, 0, &e), 0);
	fault_reset();
	assert_content(f.path, "nv");
	fx_done(&f);
}
END_TEST

START_TEST(test_abort_and_free_remove_the_temp)
{
	struct fx f;
	struct afile *af = NULL;
	struct err e;

	fx_init(&f);
	ck_assert_int_eq(afile_open(f.path, 0600, 0, &af, &e), 0);
	ck_assert_int_eq(afile_write(af, "x", 1, &e), 0);
	ck_assert_int_eq(temps(&f), 1);
	afile_abort(af);
	ck_assert_int_eq(temps(&f), 0);
	ck_assert_int_eq(afile_write(af, "x", 1, &e), -1);
	ck_assert_int_eq(afile_commit(af, &e), -1);
	afile_free(af);
	assert_absent(f.path);

	ck_assert_int_eq(afile_open(f.path, 0600, 0, &af, &e), 0);
	ck_assert_int_eq(temps(&f), 1);
	afile_free(af);
	ck_assert_int_eq(temps(&f), 0);
	assert_absent(f.path);
	afile_free(NULL);
	afile_abort(NULL);
	fx_done(&f);
}
END_TEST

START_TEST(test_commit_twice_is_refused)
{
	struct fx f;
	struct afile *af = NULL;
	struct err e;

	fx_init(&f);
	ck_assert_int_eq(afile_open(f.path, 0600, 0, &af, &e), 0);
	ck_assert_int_eq(afile_commit(af, &e), 0);
	ck_assert_int_eq(afile_commit(af, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);
	afile_abort(af); /* after a commit: does nothing */
	assert_content(f.path, "");
	afile_free(af);
	assert_content(f.path, "");
	fx_done(&f);
}
END_TEST

START_TEST(test_open_errors)
{
	struct fx f;
	struct afile *af = (struct afile *)&f;
	struct err e;
	char *p;

	fx_init(&f);
	p = tutil_path(f.dir, "missing/data");
	ck_assert_int_eq(afile_open(p, 0600, 0, &af, &e), -1);
	ck_assert_ptr_null(af);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_str_eq(e.msg + strlen(e.msg) -
	        strlen("No such file or directory"),
	    "No such file or directory");
	ck_assert_ptr_nonnull(strstr(e.msg, p));
	free(p);

	p = tutil_path(f.dir, "");
	ck_assert_int_eq(afile_open(p, 0600, 0, &af, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	free(p);

	ck_assert_int_eq(afile_open(f.path, 0600, 0x100, &af, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERNAL);

	fault_arm(FAULT_OPENAT, 0, EACCES);
	ck_assert_int_eq(afile_open(f.path, 0600, 0, &af, &e), -1);
	fault_reset();
	ck_assert_ptr_nonnull(strstr(e.msg, "Permission denied"));
	ck_assert_int_eq(tutil_count_entries(f.dir, ""), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_temp_name_clash_is_retried)
{
	struct fx f;
	struct afile *af = NULL;
	struct err e;

	fx_init(&f);
	fault_arm_once(FAULT_OPENAT, 0, EEXIST);
	ck_assert_int_eq(afile_open(f.path, 0600, 0, &af, &e), 0);
	ck_assert_uint_eq(fault_calls(FAULT_OPENAT), 2);
	fault_reset();
	ck_assert_int_eq(afile_commit(af, &e), 0);
	afile_free(af);
	assert_content(f.path, "");
	fx_done(&f);
}
END_TEST

START_TEST(test_relative_path)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	ck_assert_int_eq(chdir(f.dir), 0);
	ck_assert_int_eq(afile_write_all("rel", "r", 1, 0600, 0, &e), 0);
	free(f.path);
	f.path = tutil_path(f.dir, "rel");
	assert_content(f.path, "r");
	ck_assert_int_eq(temps(&f), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_fsync_dir)
{
	struct fx f;
	struct err e;

	fx_init(&f);
	ck_assert_int_eq(afile_fsync_dir(f.dir, &e), 0);
	ck_assert_int_eq(afile_fsync_dir(f.path, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, f.path));
	tutil_write_file(f.path, "", 0, 0600);
	ck_assert_int_eq(afile_fsync_dir(f.path, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "Not a directory"));
	fault_arm(FAULT_FSYNC, 0, EIO);
	ck_assert_int_eq(afile_fsync_dir(f.dir, &e), -1);
	fault_reset();
	ck_assert_ptr_nonnull(strstr(e.msg, "fsync directory"));
	ck_assert_int_eq(e.sys_errno, EIO);
	fx_done(&f);
}
END_TEST

Suite *afile_suite(void);

Suite *
afile_suite(void)
{
	Suite *s = suite_create("afile");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, fault_reset, fault_reset);
	tcase_add_test(tc, test_round_trip_and_exact_mode);
	tcase_add_test(tc, test_replaces_and_syncs_file_and_directory);
	tcase_add_test(tc, test_nosync_publishes_without_fsync);
	tcase_add_test(tc, test_temp_is_private_and_hidden_until_commit);
	tcase_add_test(tc, test_short_writes_and_eintr_give_a_complete_file);
	tcase_add_test(tc, test_enospc_is_nospace_and_publishes_nothing);
	tcase_add_test(tc, test_write_all_enospc_leaves_old_content);
	tcase_add_test(tc, test_fsync_eio_fails_and_publishes_nothing);
	tcase_add_test(tc, test_close_error_publishes_nothing);
	tcase_add_test(tc, test_rename_failure_keeps_old_content);
	tcase_add_test(tc, test_noreplace_refuses_existing_name);
	tcase_add_test(tc, test_noreplace_falls_back_to_link);
	tcase_add_test(tc, test_directory_fsync_failure_is_reported);
	tcase_add_test(tc, test_abort_and_free_remove_the_temp);
	tcase_add_test(tc, test_commit_twice_is_refused);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_temp_name_clash_is_retried);
	tcase_add_test(tc, test_relative_path);
	tcase_add_test(tc, test_fsync_dir);
	suite_add_tcase(s, tc);
	return (s);
}
