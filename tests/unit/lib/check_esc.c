/*
 * Escaping names for output: what is kept, what is escaped, and that the
 * width counts characters.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "esc.h"
#include "tutil.h"

static void
check_one(const char *in, size_t len, const char *want)
{
	char *got = esc_str(in, len);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_escapes)
{
	check_one("plain name.txt", 14, "plain name.txt");
	check_one("a\nb\tc\\d", 7, "a\\nb\\tc\\\\d");
	check_one("\a\b\v\f\r", 5, "\\a\\b\\v\\f\\r");
	check_one("\x01\x1b[31m\x7f", 7, "\\x01\\x1b[31m\\x7f");
	check_one("nul\0x", 5, "nul\\x00x");
	/* Well-formed UTF-8 is kept. */
	check_one("z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80", 16,
	    "z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80");
	/* Broken, overlong, surrogate, too large, truncated. */
	check_one("\xff\xfe", 2, "\\xff\\xfe");
	check_one("\xc0\xaf", 2, "\\xc0\\xaf");
	check_one("\xe0\x80\xaf", 3, "\\xe0\\x80\\xaf");
	check_one("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	check_one("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80");
	check_one("a\xc3", 2, "a\\xc3");
	check_one("\xe2\x82", 2, "\\xe2\\x82");
	/* C1 controls, line separators, bidi overrides. */
	check_one("\xc2\x85", 2, "\\xc2\\x85");
	check_one("\xe2\x80\xa8", 3, "\\xe2\\x80\\xa8");
	check_one("x\xe2\x80\xaey", 5, "x\\xe2\\x80\\xaey");
	check_one("\xe2\x81\xa6", 3, "\\xe2\\x81\\xa6");
	check_one("", 0, "");
}
END_TEST

START_TEST(test_width_and_file)
{
	struct tutil_capture *cap;
	char *got;

	ck_assert_uint_eq(esc_width("abc", 3), 3);
	ck_assert_uint_eq(esc_width("\xc3\xbc\xc3\xbc", 4), 2);
	ck_assert_uint_eq(esc_width("a\nb", 3), 4);
	ck_assert_uint_eq(esc_width("\xff", 1), 4);
	cap = tutil_capture_begin(1);
	esc_fwrite(stdout, "x\n\xffy", 4);
	fflush(stdout);
	got = tutil_capture_end(cap);
	ck_assert_str_eq(got, "x\\n\\xffy");
	free(got);
}
END_TEST

Suite *esc_suite(void);

Suite *
esc_suite(void)
{
	Suite *s = suite_create("esc");
	TCase *tc = tcase_create("esc");

	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_width_and_file);
	suite_add_tcase(s, tc);
	return (s);
}
