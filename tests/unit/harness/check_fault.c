/*
 * The fault injection harness itself: pass-through when disarmed, the
 * counting of "after N calls", one-shot faults, short transfers, and the
 * free() watch.
 */
#include <sys/types.h>

#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fault.h"
#include "tutil.h"

START_TEST(test_disarmed_passes_through_and_counts)
{
	int p[2];
	char buf[4];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 3);
	ck_assert_mem_eq(buf, "abc", 3);
	ck_assert_uint_eq(fault_calls(FAULT_WRITE), 1);
	ck_assert_uint_eq(fault_calls(FAULT_READ), 1);
	ck_assert_uint_eq(fault_injected(FAULT_WRITE), 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_arm_after_n_fails_every_later_call)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	fault_arm(FAULT_WRITE, 2, ENOSPC);
	ck_assert_int_eq(write(p[1], "a", 1), 1);
	ck_assert_int_eq(write(p[1], "b", 1), 1);
	errno = 0;
	ck_assert_int_eq(write(p[1], "c", 1), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(write(p[1], "d", 1), -1);
	ck_assert_uint_eq(fault_injected(FAULT_WRITE), 2);
	fault_reset();
	ck_assert_int_eq(write(p[1], "e", 1), 1);
	ck_assert_uint_eq(fault_calls(FAULT_WRITE), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_arm_once_fails_one_call)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	fault_arm_once(FAULT_WRITE, 0, EINTR);
	ck_assert_int_eq(write(p[1], "a", 1), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(write(p[1], "b", 1), 1);
	ck_assert_uint_eq(fault_injected(FAULT_WRITE), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_short_transfers)
{
	int p[2];
	char buf[16];

	ck_assert_int_eq(pipe(p), 0);
	fault_arm_short(FAULT_WRITE, 1, 2);
	ck_assert_int_eq(write(p[1], "abcd", 4), 4);
	ck_assert_int_eq(write(p[1], "efgh", 4), 2);
	fault_arm_short(FAULT_READ, 0, 3);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 3);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 3);
	fault_reset();
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_close_fault_still_releases_the_fd)
{
	int fd = open("/dev/null", O_RDONLY);

	ck_assert_int_ge(fd, 0);
	fault_arm(FAULT_CLOSE, 0, EIO);
	ck_assert_int_eq(close(fd), -1);
	ck_assert_int_eq(errno, EIO);
	fault_reset();
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(test_open_with_and_without_mode)
{
	char *dir = tutil_mkdtemp(), *path = tutil_path(dir, "f");
	int fd;

	fault_arm(FAULT_OPEN, 1, EACCES);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(open(path, O_RDONLY), -1);
	ck_assert_int_eq(errno, EACCES);
	fault_reset();
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	close(fd);
	tutil_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_watch_free)
{
	char *a = malloc(8), *b = malloc(8), *p;

	memset(a, 'x', 8);
	memset(b, 0, 8);
	fault_watch_release(a, 8);
	ck_assert_int_eq(fault_watch_result(), -1);
	free(a);
	ck_assert_int_eq(fault_watch_result(), 0);
	fault_watch_release(b, 8);
	free(b);
	ck_assert_int_eq(fault_watch_result(), 1);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	p[10] = 1;
	fault_watch_release(p, 4096);
	ck_assert_int_eq(munmap(p, 4096), 0);
	ck_assert_int_eq(fault_watch_result(), 0);
}
END_TEST

Suite *fault_suite(void);

Suite *
fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, fault_reset, fault_reset);
	tcase_add_test(tc, test_disarmed_passes_through_and_counts);
	tcase_add_test(tc, test_arm_after_n_fails_every_later_call);
	tcase_add_test(tc, test_arm_once_fails_one_call);
	tcase_add_test(tc, test_short_transfers);
	tcase_add_test(tc, test_close_fault_still_releases_the_fd);
	tcase_add_test(tc, test_open_with_and_without_mode);
	tcase_add_test(tc, test_watch_free);
	suite_add_tcase(s, tc);
	return (s);
}
