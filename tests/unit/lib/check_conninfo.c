/*
 * libpq connection strings: each form read as libpq reads it (written
 * back in the keyword='value' form coffer hands to the clients), values
 * of any length, and passwords refused in every form.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conninfo.h"
#include "xmalloc.h"

static const struct {
	const char *in, *want; /* want: conninfo_string(ci, NULL) */
} good[] = {
	/* A bare database name, as libpq has it (no '='). */
	{ "gas", "dbname='gas'" },
	{ "my db", "dbname='my db'" },
	{ "", "" },
	/* keyword=value: white space around '=', quoting, escapes. */
	{ "dbname=gas", "dbname='gas'" },
	{ "  host=/run/pg\tuser = backup dbname =\n'my db'  ",
	    "host='/run/pg' user='backup' dbname='my db'" },
	{ "dbname='it\\'s \\\\x' port=5433",
	    "dbname='it\\'s \\\\x' port='5433'" },
	{ "dbname=a\\ b", "dbname='a b'" },
	{ "dbname=x\\", "dbname='x'" },
	{ "dbname='' host=h", "dbname='' host='h'" },
	/* libpq skips white space after '=': an empty value needs ''. */
	{ "host= user=u", "host='user=u'" },
	{ "dbname='a'host=h", "dbname='a' host='h'" },
	{ "dbname=it's", "dbname='it\\'s'" },
	{ "sslmode=require application_name=coffer",
	    "sslmode='require' application_name='coffer'" },
	/* URIs. */
	{ "postgresql://", "" },
	{ "postgresql:///gas", "dbname='gas'" },
	{ "postgres://db.example:5433/gas",
	    "host='db.example' port='5433' dbname='gas'" },
	{ "postgresql://backup@h/gas?sslmode=require&connect_timeout=5",
	    "user='backup' host='h' dbname='gas' sslmode='require' "
	    "connect_timeout='5'" },
	{ "postgresql://h1:1,h2:2/gas",
	    "host='h1,h2' port='1,2' dbname='gas'" },
	{ "postgresql://[::1]:5432/gas",
	    "host='::1' port='5432' dbname='gas'" },
	{ "postgresql://[2001:db8::7]/gas", "host='2001:db8::7' dbname='gas'" },
	{ "postgresql://%2Frun%2Fpg/my%20db", "host='/run/pg' dbname='my db'" },
	{ "postgresql:///gas?host=%2Frun%2Fpg", "dbname='gas' host='/run/pg'" },
	{ "postgresql://h/", "host='h'" },
	{ "postgresql://h?dbname=gas", "host='h' dbname='gas'" },
	{ "postgresql://h/a+b", "host='h' dbname='a+b'" },
	{ "postgresql://h/gas?ssl=true",
	    "host='h' dbname='gas' sslmode='require'" },
	{ "postgresql://u%40x@h/g", "user='u@x' host='h' dbname='g'" },
	{ "postgresql://h/it's", "host='h' dbname='it\\'s'" },
	/* Not a URI: the prefix is case sensitive in libpq. */
	{ "PostgreSQL://h/gas", "dbname='PostgreSQL://h/gas'" },
};

static const char *bad[] = {
	"dbname x=y",
	"=x",
	"host=a =b",
	"dbname='open",
	"dbname='open\\",
	"bad-key=1",
	"postgresql://h/gas?x",
	"postgresql://h/gas?a=b=c",
	"postgresql://h/gas?=b",
	"postgresql://h/g%zz",
	"postgresql://h/g%4",
	"postgresql://h/g%00x",
	"postgresql://[::1",
	"postgresql://[]/g",
	"postgresql://[::1]x/g",
	"postgresql://h/gas?my%20key=1",
};

/* Passwords: every form, empty or not. */
static const char *pw[] = {
	"password=hunter2",
	"dbname=gas password='hunter2'",
	"dbname=gas password=",
	"dbname=gas  password = x",
	"postgresql://u:hunter2@h/gas",
	"postgresql://u:@h/gas",
	"postgres://:hunter2@h",
	"postgresql://h/gas?password=hunter2",
	"postgresql://h/gas?sslmode=require&password=hunter2",
	"postgresql://h/gas?pass%77ord=hunter2",
};

START_TEST(test_forms)
{
	struct conninfo *ci;
	struct err e;
	char *s;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err_clear(&e);
		ck_assert_msg(conninfo_parse(good[i].in, &ci, &e) == 0,
		    "%s refused: %s", good[i].in, e.msg);
		s = conninfo_string(ci, NULL);
		ck_assert_msg(strcmp(s, good[i].want) == 0, "%s: got %s",
		    good[i].in, s);
		free(s);
		/* What we write is read back as the same. */
		if (good[i].want[0] != '\0') {
			struct conninfo *again;
			char *t;

			ck_assert_int_eq(conninfo_parse(good[i].want, &again,
			                     &e),
			    0);
			t = conninfo_string(again, NULL);
			ck_assert_str_eq(t, good[i].want);
			free(t);
			conninfo_free(again);
		}
		conninfo_free(ci);
	}
}
END_TEST

START_TEST(test_refused)
{
	struct conninfo *ci;
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		ci = (struct conninfo *)&e; /* must be reset */
		ck_assert_msg(conninfo_parse(bad[i], &ci, &e) == -1,
		    "%s accepted", bad[i]);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_ptr_null(ci);
	}
	/* "dbname" alone is a database called dbname, as in libpq. */
	ck_assert_int_eq(conninfo_parse("dbname", &ci, &e), 0);
	ck_assert_str_eq(conninfo_get(ci, "dbname"), "dbname");
	conninfo_free(ci);
}
END_TEST

START_TEST(test_password)
{
	struct conninfo *ci;
	struct err e;

	for (size_t i = 0; i < sizeof(pw) / sizeof(pw[0]); i++) {
		err_clear(&e);
		ck_assert_msg(conninfo_parse(pw[i], &ci, &e) == -1,
		    "%s accepted", pw[i]);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_ptr_null(ci);
		ck_assert_ptr_nonnull(strstr(e.msg, ".pgpass"));
		ck_assert_ptr_null(strstr(e.msg, "hunter2"));
	}
}
END_TEST

/* Values over 1 KiB (the old snapshot parser cut them at 1023 bytes). */
START_TEST(test_long)
{
	struct conninfo *ci;
	struct err e;
	size_t n = 64 * 1024;
	char *v = xmalloc(n + 1), *s, *t;

	memset(v, 'x', n);
	v[n] = '\0';
	v[n - 1] = 'z';
	err_clear(&e);
	s = xasprintf("host=h dbname='%s' user=u", v);
	ck_assert_int_eq(conninfo_parse(s, &ci, &e), 0);
	ck_assert_str_eq(conninfo_get(ci, "dbname"), v);
	ck_assert_str_eq(conninfo_get(ci, "user"), "u");
	conninfo_free(ci);
	free(s);
	s = xasprintf("postgresql://h/%s?application_name=%s", v, v);
	ck_assert_int_eq(conninfo_parse(s, &ci, &e), 0);
	ck_assert_str_eq(conninfo_get(ci, "dbname"), v);
	ck_assert_str_eq(conninfo_get(ci, "application_name"), v);
	t = conninfo_string(ci, "postgres");
	ck_assert_uint_eq(strlen(t),
	    strlen("host='h' application_name='' "
	           "dbname='postgres'") +
	        n);
	free(t);
	conninfo_free(ci);
	free(s);
	ck_assert_int_eq(conninfo_parse(v, &ci, &e), 0);
	ck_assert_str_eq(conninfo_get(ci, "dbname"), v);
	conninfo_free(ci);
	free(v);
}
END_TEST

START_TEST(test_get_and_string)
{
	struct conninfo *ci;
	struct err e;
	char *s;

	err_clear(&e);
	ck_assert_int_eq(conninfo_parse("dbname=gas host=h user='a b' "
	                                "dbname=gas2",
	                     &ci, &e),
	    0);
	/* A later setting wins, as in libpq. */
	ck_assert_str_eq(conninfo_get(ci, "dbname"), "gas2");
	ck_assert_ptr_null(conninfo_get(ci, "port"));
	s = conninfo_string(ci, "o'k");
	ck_assert_str_eq(s, "host='h' user='a b' dbname='o\\'k'");
	free(s);
	s = conninfo_string(ci, NULL);
	ck_assert_str_eq(s, "dbname='gas' host='h' user='a b' dbname='gas2'");
	free(s);
	conninfo_free(ci);
	conninfo_free(NULL);
}
END_TEST

Suite *conninfo_suite(void);

Suite *
conninfo_suite(void)
{
	Suite *s = suite_create("conninfo");
	TCase *tc = tcase_create("conninfo");

	tcase_add_test(tc, test_forms);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_password);
	tcase_add_test(tc, test_long);
	tcase_add_test(tc, test_get_and_string);
	suite_add_tcase(s, tc);
	return (s);
}
