/*
 * sftp:// URLs (lib/url.c): the parts, and every malformed form refused
 * with its message.
 */
#include <string.h>

#include <check.h>

#include "url.h"

START_TEST(test_parse_url)
{
	struct url_sftp u;
	struct err e;

	ck_assert_int_eq(
	    url_parse_sftp("sftp://backup@dr.example.net:2222/srv/coffer/gas",
	        &u, &e),
	    0);
	ck_assert_str_eq(u.user, "backup");
	ck_assert_str_eq(u.host, "dr.example.net");
	ck_assert_int_eq(u.port, 2222);
	ck_assert_str_eq(u.path, "/srv/coffer/gas");

	ck_assert_int_eq(url_parse_sftp("sftp://h/x", &u, &e), 0);
	ck_assert_str_eq(u.user, "");
	ck_assert_str_eq(u.host, "h");
	ck_assert_int_eq(u.port, 0);
	ck_assert_str_eq(u.path, "/x");

	ck_assert_int_eq(url_parse_sftp("sftp://[::1]:22/x", &u, &e), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 22);
	ck_assert_int_eq(url_parse_sftp("sftp://u@[fe80::1]/x", &u, &e), 0);
	ck_assert_str_eq(u.host, "fe80::1");
	ck_assert_str_eq(u.user, "u");

	ck_assert_int_eq(url_parse_sftp("sftp://h/", &u, &e), -1);
	ck_assert_str_eq(e.msg,
	    "'sftp://h/' has no path (sftp://[user@]host[:port]/path)");
	ck_assert_int_eq(e.class, ERR_CONFIG);
	ck_assert_int_eq(url_parse_sftp("sftp:///x", &u, &e), -1);
	ck_assert_str_eq(e.msg,
	    "'sftp:///x' has no valid host name "
	    "(sftp://[user@]host[:port]/path)");
	ck_assert_int_eq(url_parse_sftp("sftp://-oProxyCommand=x/y", &u, &e),
	    -1);
	ck_assert_int_eq(url_parse_sftp("sftp://-u@h/y", &u, &e), -1);
	ck_assert_str_eq(e.msg, "'sftp://-u@h/y' has an invalid user name");
	ck_assert_int_eq(url_parse_sftp("sftp://@h/y", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("sftp://h:/y", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("sftp://h:65536/y", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("sftp://h:+22/y", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("sftp://h:22x/y", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("sftp://[::1/y", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("sftp://[]/y", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("sftp://[::1]x/y", &u, &e), -1);
	/* No ':', no IPv6 address (found by fuzz_url). */
	ck_assert_int_eq(url_parse_sftp("sftp://[....]/y", &u, &e), -1);
	ck_assert_str_eq(e.msg,
	    "'sftp://[....]/y' has an invalid IPv6 address");
	ck_assert_int_eq(url_parse_sftp("sftp://[1.2.3.4]/y", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("sftp://h o/y", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("sftp://h/a\tb", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("/local/path", &u, &e), -1);
	ck_assert_int_eq(url_parse_sftp("SFTP://h/x", &u, &e), -1);
}
END_TEST

Suite *url_suite(void);

Suite *
url_suite(void)
{
	Suite *s = suite_create("url");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_parse_url);
	suite_add_tcase(s, tc);
	return (s);
}
