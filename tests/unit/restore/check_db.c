/*
 * Database restore helpers that need no server: SQL quoting, psql
 * versions.  Connection strings are lib/conninfo's
 * (tests/unit/lib/check_conninfo.c).  The client
 * runner is lib/proc (tests/unit/lib/check_proc.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "restore/db.h"

START_TEST(test_quote)
{
	char *s;

	s = rst_db_pg_ident("a\"b");
	ck_assert_str_eq(s, "\"a\"\"b\"");
	free(s);
	s = rst_db_my_ident("a`b");
	ck_assert_str_eq(s, "`a``b`");
	free(s);
	s = rst_db_my_literal("it's a\\b");
	ck_assert_str_eq(s, "'it''s a\\\\b'");
	free(s);
}
END_TEST

/* Which psql --version answers promise \restrict: the fixed minors. */
START_TEST(test_psql_restricts)
{
	static const char *yes[] = { "psql (PostgreSQL) 15.14",
		"psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)",
		"psql (PostgreSQL) 13.22", "psql (PostgreSQL) 14.19",
		"psql (PostgreSQL) 16.10", "psql (PostgreSQL) 17.6",
		"psql (PostgreSQL) 17.12", "psql (PostgreSQL) 18.0",
		"psql (PostgreSQL) 19devel", "psql (PostgreSQL) 20.1" };
	static const char *no[] = { "psql (PostgreSQL) 15.13",
		"psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)",
		"psql (PostgreSQL) 13.21", "psql (PostgreSQL) 14.18",
		"psql (PostgreSQL) 16.9", "psql (PostgreSQL) 17.5",
		"psql (PostgreSQL) 12.22", "psql (PostgreSQL) 9.6.24",
		"psql (PostgreSQL) 18beta1", "psql", "" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(rst_db_psql_restricts(yes[i]), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!rst_db_psql_restricts(no[i]), "%s", no[i]);
}
END_TEST

Suite *db_suite(void);

Suite *
db_suite(void)
{
	Suite *s = suite_create("restore_db");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_psql_restricts);
	suite_add_tcase(s, tc);
	return (s);
}
