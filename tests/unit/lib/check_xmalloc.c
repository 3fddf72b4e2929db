/*
 * Allocators that end the process cleanly on out-of-memory, and secret
 * wiping: what every other module relies on without checking.
 */
#include <sys/types.h>

#include <sys/wait.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fault.h"
#include "tutil.h"
#include "xmalloc.h"

START_TEST(test_allocators)
{
	char *p = xmalloc(0), *q;
	unsigned char *z = xcalloc(64, 4);
	int *arr = NULL;

	ck_assert_ptr_nonnull(p);
	free(p);
	for (size_t i = 0; i < 256; i++)
		ck_assert_uint_eq(z[i], 0);
	free(z);
	ck_assert_ptr_nonnull(p = xcalloc(0, 0));
	free(p);
	for (int i = 1; i <= 1000; i *= 10) {
		arr = xreallocarray(arr, (size_t)i, sizeof(*arr));
		arr[i - 1] = i;
	}
	ck_assert_int_eq(arr[0], 1);
	ck_assert_int_eq(arr[9], 10);
	ck_assert_int_eq(arr[99], 100);
	free(arr);

	p = xstrdup("coffer");
	ck_assert_str_eq(p, "coffer");
	q = xstrndup(p, 3);
	ck_assert_str_eq(q, "cof");
	free(q);
	q = xstrndup(p, 100);
	ck_assert_str_eq(q, "coffer");
	free(q);
	free(p);
	p = xasprintf("%s/%03d:%c", "snap", 7, 'x');
	ck_assert_str_eq(p, "snap/007:x");
	free(p);
	p = xasprintf("%s", "");
	ck_assert_str_eq(p, "");
	free(p);
}
END_TEST

/* What cli/main.c registers, in miniature: told that the handlers ran. */
static void
told_at_quick_exit(void)
{
	static const char line[] = "at_quick_exit handler ran\n";

	(void)!write(2, line, sizeof(line) - 1);
}

START_TEST(test_out_of_memory_exits_1_with_one_line)
{
	int fds[2], status;
	char *msg;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		dup2(fds[1], 2);
		at_quick_exit(told_at_quick_exit);
		(void)xreallocarray(NULL, SIZE_MAX / 2 + 1, 2);
		_exit(0); /* not reached */
	}
	close(fds[1]);
	msg = tutil_read_all(fds[0], NULL);
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	/* An exit, not a signal (no core): status 1, EXIT_ERROR. */
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	ck_assert_str_eq(msg,
	    "coffer: out of memory allocating 18446744073709551615 bytes: "
	    "raise the address-space limit (ulimit -v) or free memory, then "
	    "run again\n"
	    "at_quick_exit handler ran\n");
	free(msg);
}
END_TEST

START_TEST(test_out_of_memory_is_exit_1)
{
	/* Check's own view of the same: the test exits with status 1.  The
	 * capture (never ended) keeps the message out of the test output;
	 * held until the exit, it is not a leak to valgrind. */
	struct tutil_capture *c = tutil_capture_begin(2);

	(void)xreallocarray(NULL, SIZE_MAX / 16, 32);
	free(tutil_capture_end(c));
}
END_TEST

START_TEST(test_wipe)
{
	unsigned char buf[32];

	memset(buf, 0xa5, sizeof(buf));
	wipe(buf + 8, 16);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], i >= 8 && i < 24 ? 0 : 0xa5);
	wipe(buf, 0);
	ck_assert_uint_eq(buf[0], 0xa5);
	wipe(NULL, 16);
}
END_TEST

START_TEST(test_freezero_wipes_before_free)
{
	char *p = xmalloc(16), *s = xstrdup("hunter2");

	memset(p, 'k', 16);
	fault_watch_release(p, 16);
	freezero(p, 16);
	ck_assert_int_eq(fault_watch_result(), 1);
	fault_watch_release(s, strlen("hunter2"));
	freezero_str(s);
	ck_assert_int_eq(fault_watch_result(), 1);
	freezero(NULL, 16);
	freezero_str(NULL);
}
END_TEST

Suite *xmalloc_suite(void);

Suite *
xmalloc_suite(void)
{
	Suite *s = suite_create("xmalloc");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, fault_reset, fault_reset);
	tcase_add_test(tc, test_allocators);
	tcase_add_test(tc, test_out_of_memory_exits_1_with_one_line);
	tcase_add_exit_test(tc, test_out_of_memory_is_exit_1, 1);
	tcase_add_test(tc, test_wipe);
	tcase_add_test(tc, test_freezero_wipes_before_free);
	suite_add_tcase(s, tc);
	return (s);
}
