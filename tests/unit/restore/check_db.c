/*
 * Database restore helpers that need no server: libpq settings parsed and
 * rebuilt (the password kept out of them), SQL quoting.  The client
 * runner is lib/proc (tests/unit/lib/check_proc.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "restore/db.h"

START_TEST(test_conninfo_parse)
{
	struct rst_db_kv *kv;
	size_t n;
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(
	    rst_db_conninfo_parse("host=/run/pg  user = backup dbname='my db' "
	                          "password='it\\'s \\\\secret' port=5433",
	        &kv, &n, &e),
	    0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(kv[0].key, "host");
	ck_assert_str_eq(kv[0].val, "/run/pg");
	ck_assert_str_eq(kv[1].key, "user");
	ck_assert_str_eq(kv[1].val, "backup");
	ck_assert_str_eq(kv[2].val, "my db");
	ck_assert_str_eq(kv[3].val, "it's \\secret");
	ck_assert_str_eq(kv[4].val, "5433");
	rst_db_kv_free(kv, n);

	/* A bare name is a database name, as libpq has it. */
	ck_assert_int_eq(rst_db_conninfo_parse("gas", &kv, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(kv[0].key, "dbname");
	ck_assert_str_eq(kv[0].val, "gas");
	rst_db_kv_free(kv, n);
}
END_TEST

START_TEST(test_conninfo_refused)
{
	static const char *bad[] = { "postgresql://u:pw@h/db", "postgres://h",
		"dbname='open", "=x", "host=a =b", "" };
	struct rst_db_kv *kv;
	size_t n;
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		ck_assert_msg(rst_db_conninfo_parse(bad[i], &kv, &n, &e) == -1,
		    "%s accepted", bad[i]);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_ptr_null(kv);
	}
}
END_TEST

START_TEST(test_conninfo_build)
{
	struct rst_db_kv *kv;
	size_t n;
	struct err e;
	char *s;

	err_clear(&e);
	ck_assert_int_eq(rst_db_conninfo_parse("dbname=gas host=h "
	                                       "password=pw user='a b' "
	                                       "dbname=gas2",
	                     &kv, &n, &e),
	    0);
	s = rst_db_conninfo_build(kv, n, "o'k");
	ck_assert_str_eq(s, "host='h' user='a b' dbname='o\\'k'");
	ck_assert_ptr_null(strstr(s, "pw"));
	free(s);
	s = rst_db_conninfo_build(kv, n, NULL);
	ck_assert_str_eq(s, "dbname='gas' host='h' user='a b' dbname='gas2'");
	free(s);
	rst_db_kv_free(kv, n);
}
END_TEST

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

	tcase_add_test(tc, test_conninfo_parse);
	tcase_add_test(tc, test_conninfo_refused);
	tcase_add_test(tc, test_conninfo_build);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_psql_restricts);
	suite_add_tcase(s, tc);
	return (s);
}
