/*
 * Sources: the checks made before anything runs (a PostgreSQL
 * connection string's rules are lib/conninfo's, tests/unit/lib).
 */
#include <string.h>

#include <check.h>

#include "snapshot/sources.h"

START_TEST(test_connection)
{
	static const char *pw[] = { "host=h password=hunter2",
		"postgresql://u:hunter2@h/gas",
		"postgres://h/gas?password=hunter2" };
	struct snap_source s;
	struct err e;

	memset(&s, 0, sizeof(s));
	s.name = "gasdb";
	s.type = "postgres";
	s.database = "gas";
	for (size_t i = 0; i < sizeof(pw) / sizeof(pw[0]); i++) {
		s.connection = pw[i];
		err_clear(&e);
		ck_assert_int_eq(snap_source_check(&s, &e), -1);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_ptr_nonnull(strstr(e.msg, "source gasdb"));
		ck_assert_ptr_nonnull(strstr(e.msg, ".pgpass"));
		ck_assert_ptr_null(strstr(e.msg, "hunter2"));
	}
	s.connection = "host=h dbname=other";
	ck_assert_int_eq(snap_source_check(&s, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "names database other"));
	s.connection = "postgresql://h/other";
	ck_assert_int_eq(snap_source_check(&s, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "names database other"));
	s.connection = "other";
	ck_assert_int_eq(snap_source_check(&s, &e), -1);
	s.connection = "host=h dbname='open";
	ck_assert_int_eq(snap_source_check(&s, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	/* The same database in each form, or none named. */
	s.connection = "host=h dbname=gas";
	ck_assert_int_eq(snap_source_check(&s, &e), 0);
	s.connection = "gas";
	ck_assert_int_eq(snap_source_check(&s, &e), 0);
	s.connection = "postgresql://u@h:5433/gas?sslmode=require";
	ck_assert_int_eq(snap_source_check(&s, &e), 0);
	s.connection = "host=/run/postgresql";
	ck_assert_int_eq(snap_source_check(&s, &e), 0);
	s.database = "-oops";
	ck_assert_int_eq(snap_source_check(&s, &e), -1);
}
END_TEST

START_TEST(test_names)
{
	struct snap_source s;
	struct err e;

	memset(&s, 0, sizeof(s));
	s.type = "command";
	s.name = "inv";
	s.command = "echo";
	s.file_name = "a/b";
	err_clear(&e);
	ck_assert_int_eq(snap_source_check(&s, &e), -1);
	s.file_name = "inventory.json";
	ck_assert_int_eq(snap_source_check(&s, &e), 0);
	s.name = "..";
	ck_assert_int_eq(snap_source_check(&s, &e), -1);
}
END_TEST

Suite *sources_suite(void);

Suite *
sources_suite(void)
{
	Suite *s = suite_create("sources");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_connection);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return (s);
}
