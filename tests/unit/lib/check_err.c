/*
 * Error values: formatting, wrapping, truncation, exit statuses.
 */
#include <errno.h>
#include <string.h>

#include <check.h>

#include "err.h"

START_TEST(test_set_returns_minus_one_and_formats)
{
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(err_set(&e, ERR_IO, "read %s: %d", "x", 7), -1);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_str_eq(e.msg, "read x: 7");
	ck_assert_int_eq(e.sys_errno, 0);
}
END_TEST

START_TEST(test_sys_appends_strerror_and_maps_enospc)
{
	struct err e;

	errno = ENOENT;
	err_sys(&e, ERR_IO, "open %s", "/nope");
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	ck_assert_str_eq(e.msg, "open /nope: No such file or directory");
	errno = ENOSPC;
	err_sys(&e, ERR_IO, "write");
	ck_assert_int_eq(e.class, ERR_NOSPACE);
	ck_assert_int_eq(err_exit_status(e.class), EXIT_ERROR);
}
END_TEST

START_TEST(test_wrap_prefixes_and_keeps_class)
{
	struct err e;

	err_set(&e, ERR_CORRUPT, "bad tag");
	err_wrap(&e, "pack %s", "ab12");
	err_wrap(&e, "snapshot");
	ck_assert_str_eq(e.msg, "snapshot: pack ab12: bad tag");
	ck_assert_int_eq(e.class, ERR_CORRUPT);
}
END_TEST

START_TEST(test_wrap_truncates_without_overflow)
{
	struct err e;
	char big[2 * ERR_MSG_MAX];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, ERR_IO, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), ERR_MSG_MAX - 1);
	err_wrap(&e, "ctx");
	ck_assert_uint_eq(strlen(e.msg), ERR_MSG_MAX - 1);
	ck_assert(strncmp(e.msg, "ctx: aaa", 8) == 0);
}
END_TEST

START_TEST(test_flags_marked_kept_and_reset)
{
	struct err e;

	/* Set where the failure is known, kept through callers' context. */
	err_clear(&e);
	ck_assert_uint_eq(e.flags, 0);
	ck_assert(!err_has(&e, ERR_F_LOCK));
	err_set(&e, ERR_IO, "write lock");
	ck_assert_int_eq(err_mark(&e, ERR_F_LOCK), -1);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_str_eq(e.msg, "write lock");
	err_wrap(&e, "repository %s", "/srv");
	ck_assert(err_has(&e, ERR_F_LOCK));
	ck_assert(!err_has(&e, ERR_F_NOSECRET));
	ck_assert(!err_has(&e, ERR_F_LOCK | ERR_F_NOSECRET));
	err_mark(&e, ERR_F_NOSECRET);
	ck_assert(err_has(&e, ERR_F_LOCK | ERR_F_NOSECRET));
	ck_assert(!err_has(&e, 0));

	/* A new error is a new set of facts. */
	err_set(&e, ERR_USAGE, "other");
	ck_assert_uint_eq(e.flags, 0);
	err_mark(&e, ERR_F_LOCK);
	errno = EACCES;
	err_sys(&e, ERR_IO, "open");
	ck_assert_uint_eq(e.flags, 0);
	err_mark(&e, ERR_F_LOCK);
	err_clear(&e);
	ck_assert_uint_eq(e.flags, 0);

	/* The flag is the fact, whatever the words. */
	err_set(&e, ERR_IO, "blocked: lock lock lock");
	ck_assert(!err_has(&e, ERR_F_LOCK));
}
END_TEST

START_TEST(test_exit_status_table)
{
	/* The documented table in coffer(1); a change here is a change
	 * users' scripts see. */
	ck_assert_int_eq(err_exit_status(ERR_NONE), 0);
	ck_assert_int_eq(err_exit_status(ERR_IO), 1);
	ck_assert_int_eq(err_exit_status(ERR_INTERNAL), 1);
	ck_assert_int_eq(err_exit_status(ERR_USAGE), 2);
	ck_assert_int_eq(err_exit_status(ERR_CONFIG), 2);
	ck_assert_int_eq(err_exit_status(ERR_CORRUPT), 4);
	ck_assert_int_eq(err_exit_status(ERR_NET), 5);
	ck_assert_int_eq(err_exit_status(ERR_HOSTKEY), 6);
	ck_assert_int_eq(err_exit_status(ERR_AUTH), 7);
	ck_assert_int_eq(err_exit_status(ERR_NOREPO), 10);
	ck_assert_int_eq(err_exit_status(ERR_LOCKED), 11);
	ck_assert_int_eq(err_exit_status(ERR_KEY), 12);
	ck_assert_int_eq(err_exit_status(ERR_INTERRUPTED), 130);
}
END_TEST

START_TEST(test_only_net_is_retryable)
{
	struct err e;

	err_set(&e, ERR_NET, "reset");
	ck_assert(err_retryable(&e));
	err_set(&e, ERR_AUTH, "denied");
	ck_assert(!err_retryable(&e));
	err_set(&e, ERR_HOSTKEY, "changed");
	ck_assert(!err_retryable(&e));
	ck_assert_str_eq(err_class_name(ERR_HOSTKEY), "hostkey");
	ck_assert_str_eq(err_class_name((enum err_class)999), "unknown");
}
END_TEST

Suite *err_suite(void);

Suite *
err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_set_returns_minus_one_and_formats);
	tcase_add_test(tc, test_sys_appends_strerror_and_maps_enospc);
	tcase_add_test(tc, test_wrap_prefixes_and_keeps_class);
	tcase_add_test(tc, test_wrap_truncates_without_overflow);
	tcase_add_test(tc, test_flags_marked_kept_and_reset);
	tcase_add_test(tc, test_exit_status_table);
	tcase_add_test(tc, test_only_net_is_retryable);
	suite_add_tcase(s, tc);
	return (s);
}
