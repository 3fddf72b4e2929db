/*
 * The value parsers of lib/value.c: booleans, integers, sizes, durations,
 * percentages and lists, each with what it accepts and what it refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "value.h"

START_TEST(test_parse_bool)
{
	static const char *const yes[] = { "yes", "YES", "true", "True", "on",
		"1" };
	static const char *const no[] = { "no", "No", "false", "FALSE", "off",
		"0" };
	static const char *const bad[] = { "", "y", "n", "2", "yes ", " no",
		"enable", "truee", "01" };
	int b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = -1;
		ck_assert_int_eq(value_parse_bool(yes[i], &b), 0);
		ck_assert_int_eq(b, 1);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = -1;
		ck_assert_int_eq(value_parse_bool(no[i], &b), 0);
		ck_assert_int_eq(b, 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = 7;
		ck_assert_msg(value_parse_bool(bad[i], &b) == -1, "'%s'",
		    bad[i]);
		ck_assert_int_eq(b, 7);
	}
}
END_TEST

START_TEST(test_parse_int)
{
	int64_t v;

	ck_assert_int_eq(value_parse_int("0", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(value_parse_int("-42", &v), 0);
	ck_assert_int_eq(v, -42);
	ck_assert_int_eq(value_parse_int("+7", &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(value_parse_int("9223372036854775807", &v), 0);
	ck_assert_int_eq(v, INT64_MAX);
	v = 5;
	ck_assert_int_eq(value_parse_int("9223372036854775808", &v), -1);
	ck_assert_int_eq(value_parse_int("-9223372036854775809", &v), -1);
	ck_assert_int_eq(value_parse_int("", &v), -1);
	ck_assert_int_eq(value_parse_int(" 1", &v), -1);
	ck_assert_int_eq(value_parse_int("1 ", &v), -1);
	ck_assert_int_eq(value_parse_int("0x10", &v), -1);
	ck_assert_int_eq(value_parse_int("1e3", &v), -1);
	ck_assert_int_eq(value_parse_int("-", &v), -1);
	ck_assert_int_eq(v, 5);
}
END_TEST

START_TEST(test_parse_size)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 },
		{ "512", 512 },
		{ "1K", 1024 },
		{ "1k", 1024 },
		{ "64KiB", 65536 },
		{ "3M", 3ull << 20 },
		{ "3mib", 3ull << 20 },
		{ "2G", 2ull << 30 },
		{ "2GiB", 2ull << 30 },
		{ "5T", 5ull << 40 },
		{ "16777215T", 16777215ull << 40 },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = { "", "K", "1.5G", "-1", "+1", " 1",
		"1 K", "10MB", "10KB", "1P", "1Ki", "16777216T",
		"18446744073709551616", "99999999999999999999999" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(value_parse_size(ok[i].s, &v) == 0, "'%s'",
		    ok[i].s);
		ck_assert_uint_eq(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 9;
		ck_assert_msg(value_parse_size(bad[i], &v) == -1, "'%s'",
		    bad[i]);
		ck_assert_uint_eq(v, 9);
	}
}
END_TEST

START_TEST(test_parse_duration)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 },
		{ "90", 90 },
		{ "30s", 30 },
		{ "5m", 300 },
		{ "2h", 7200 },
		{ "1d", 86400 },
		{ "2w", 1209600 },
		{ "1h30m", 5400 },
		{ "1d2h3m4s", 93784 },
		{ "18446744073709551615", UINT64_MAX },
		{ "18446744073709551615s", UINT64_MAX },
	};
	static const char *const bad[] = { "", "s", "m5", "-1", "+5", "1.5h",
		"1h30", "5 m", " 5m", "5m ", "5M", "1y", "5mm",
		"18446744073709551616", "18446744073709551615m",
		"300000000000000000w", "18446744073709551615s1s" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(value_parse_duration(ok[i].s, &v) == 0, "'%s'",
		    ok[i].s);
		ck_assert_uint_eq(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 9;
		ck_assert_msg(value_parse_duration(bad[i], &v) == -1, "'%s'",
		    bad[i]);
		ck_assert_uint_eq(v, 9);
	}
}
END_TEST

START_TEST(test_parse_percent)
{
	static const char *const bad[] = { "", "%", "5", "5 %", ".5%", "5.%",
		"1e2%", "100.01%", "101%", "-1%", "5%%",
		"99999999999999999999%", "inf%", "nan%" };
	double d;

	ck_assert_int_eq(value_parse_percent("5%", &d), 0);
	ck_assert_double_eq_tol(d, 5, 1e-12);
	ck_assert_int_eq(value_parse_percent("0.5%", &d), 0);
	ck_assert_double_eq_tol(d, 0.5, 1e-12);
	ck_assert_int_eq(value_parse_percent("0%", &d), 0);
	ck_assert_double_eq_tol(d, 0, 1e-12);
	ck_assert_int_eq(value_parse_percent("100%", &d), 0);
	ck_assert_double_eq_tol(d, 100, 1e-12);
	ck_assert_int_eq(value_parse_percent("100.0%", &d), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = 42;
		ck_assert_msg(value_parse_percent(bad[i], &d) == -1, "'%s'",
		    bad[i]);
		ck_assert_double_eq(d, 42);
	}
}
END_TEST

START_TEST(test_parse_list)
{
	char **items;
	size_t n;

	ck_assert_int_eq(value_parse_list("a,b c", &items, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(items[0], "a");
	ck_assert_str_eq(items[1], "b");
	ck_assert_str_eq(items[2], "c");
	value_list_free(items, n);

	ck_assert_int_eq(value_parse_list(" a ,, b\t,c, ", &items, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(items[2], "c");
	value_list_free(items, n);

	ck_assert_int_eq(value_parse_list("\"/srv/My Files\",/etc \"a,b\"",
	                     &items, &n),
	    0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(items[0], "/srv/My Files");
	ck_assert_str_eq(items[1], "/etc");
	ck_assert_str_eq(items[2], "a,b");
	value_list_free(items, n);

	ck_assert_int_eq(value_parse_list("", &items, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(items);
	ck_assert_int_eq(value_parse_list(" , ,", &items, &n), 0);
	ck_assert_uint_eq(n, 0);

	ck_assert_int_eq(value_parse_list("a\"b", &items, &n), -1);
	ck_assert_ptr_null(items);
	ck_assert_int_eq(value_parse_list("a \"b", &items, &n), -1);
	ck_assert_int_eq(value_parse_list("a \"\" b", &items, &n), -1);
	ck_assert_int_eq(value_parse_list("\"a\"b", &items, &n), -1);
	value_list_free(NULL, 0);
}
END_TEST

Suite *value_suite(void);

Suite *
value_suite(void)
{
	Suite *s = suite_create("value");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_parse_bool);
	tcase_add_test(tc, test_parse_int);
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_parse_duration);
	tcase_add_test(tc, test_parse_percent);
	tcase_add_test(tc, test_parse_list);
	suite_add_tcase(s, tc);
	return (s);
}
