/*
 * Sources: what a PostgreSQL conninfo names, and the checks made before
 * anything runs.
 */
#include <string.h>

#include <check.h>

#include "snapshot/sources.h"

START_TEST(test_conninfo_dbname)
{
	char db[64];
	int pw;

	ck_assert_int_eq(snap_pg_conninfo("dbname=gas", db, sizeof(db), &pw),
	    0);
	ck_assert_str_eq(db, "gas");
	ck_assert_int_eq(pw, 0);
	ck_assert_int_eq(snap_pg_conninfo("host=/run/postgresql dbname = "
	                                  "'my \\'db\\'' user=backup",
	                     db, sizeof(db), &pw),
	    0);
	ck_assert_str_eq(db, "my 'db'");
	ck_assert_int_eq(snap_pg_conninfo("host=x user=y", db, sizeof(db), &pw),
	    -1);
	ck_assert_int_eq(snap_pg_conninfo("dbname", db, sizeof(db), &pw), -1);
	ck_assert_int_eq(snap_pg_conninfo("dbname='open", db, sizeof(db), &pw),
	    -1);
}
END_TEST

START_TEST(test_conninfo_uri)
{
	char db[64];
	int pw;

	ck_assert_int_eq(snap_pg_conninfo("postgresql://db.example:5433/gas",
	                     db, sizeof(db), &pw),
	    0);
	ck_assert_str_eq(db, "gas");
	ck_assert_int_eq(pw, 0);
	ck_assert_int_eq(snap_pg_conninfo("postgres://u@h/gas?sslmode=require",
	                     db, sizeof(db), &pw),
	    0);
	ck_assert_str_eq(db, "gas");
	ck_assert_int_eq(pw, 0);
	ck_assert_int_eq(snap_pg_conninfo("postgresql://u:secret@h/gas", db,
	                     sizeof(db), &pw),
	    0);
	ck_assert_int_eq(pw, 1);
	ck_assert_int_eq(snap_pg_conninfo("postgresql://h/gas?password=x", db,
	                     sizeof(db), &pw),
	    0);
	ck_assert_int_eq(pw, 1);
	ck_assert_int_eq(snap_pg_conninfo("postgresql://h", db, sizeof(db),
	                     &pw),
	    -1);
}
END_TEST

START_TEST(test_password_refused)
{
	struct snap_source s;
	struct err e;
	char db[64];
	int pw;

	ck_assert_int_eq(snap_pg_conninfo("dbname=gas password=hunter2", db,
	                     sizeof(db), &pw),
	    0);
	ck_assert_int_eq(pw, 1);
	memset(&s, 0, sizeof(s));
	s.name = "gasdb";
	s.type = "postgres";
	s.database = "gas";
	s.connection = "host=h password=hunter2";
	err_clear(&e);
	ck_assert_int_eq(snap_source_check(&s, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "source gasdb"));
	ck_assert_ptr_nonnull(strstr(e.msg, ".pgpass"));
	ck_assert_ptr_null(strstr(e.msg, "hunter2"));
	s.connection = "host=h dbname=other";
	ck_assert_int_eq(snap_source_check(&s, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "names database other"));
	s.connection = "host=h dbname=gas";
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

	tcase_add_test(tc, test_conninfo_dbname);
	tcase_add_test(tc, test_conninfo_uri);
	tcase_add_test(tc, test_password_refused);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return (s);
}
