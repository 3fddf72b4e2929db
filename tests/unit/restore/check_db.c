/*
 * Database restore helpers that need no server: libpq settings parsed and
 * rebuilt (the password kept out of them), SQL quoting, and the child
 * runner (stdin fed, stdout taken, stderr tail, status, kill).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "restore/child.h"
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

/* Lines the child wrote to stderr, as the callback heard them. */
static char heard[1024];

static void
on_line(void *arg, const char *line)
{
	(void)arg;
	strncat(heard, line, sizeof(heard) - strlen(heard) - 2);
	strcat(heard, "|");
}

START_TEST(test_child_pipe)
{
	const char *argv[] = { "sh", "-c",
		"tr a-z A-Z; echo \"pg: error: $SECRET_X\" >&2; echo last >&2; "
		"exit 3",
		NULL };
	const char *env[] = { "SECRET_X=hidden", NULL };
	struct rst_child_spec spec = { argv, env, RST_CHILD_PIPE,
		RST_CHILD_PIPE, on_line, NULL };
	struct rst_child *c;
	char buf[64];
	ssize_t k;
	int status;
	struct err e;

	heard[0] = '\0';
	err_clear(&e);
	ck_assert_int_eq(rst_child_start(&spec, &c, &e), 0);
	ck_assert_int_eq(write(rst_child_in(c), "hello\n", 6), 6);
	rst_child_close_in(c);
	/* Our ends are non-blocking: wait for the answer. */
	do {
		struct pollfd pfd = { rst_child_out(c), POLLIN, 0 };

		ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
		k = read(rst_child_out(c), buf, sizeof(buf) - 1);
	} while (k == -1 && errno == EAGAIN);
	ck_assert_int_eq(k, 6);
	buf[k] = '\0';
	ck_assert_str_eq(buf, "HELLO\n");
	ck_assert_int_eq(rst_child_wait(c, NULL, &status, &e), 0);
	ck_assert_int_eq(status, 3);
	ck_assert_str_eq(heard, "pg: error: hidden|last|");
	/* The error line wins over the last one. */
	ck_assert_str_eq(rst_child_tail(c), "pg: error: hidden");
	rst_child_failed(c, status, &e);
	ck_assert_str_eq(e.msg, "sh exited with status 3: pg: error: hidden");
	rst_child_free(c);
}
END_TEST

START_TEST(test_child_interrupt)
{
	const char *argv[] = { "sleep", "30", NULL };
	struct rst_child_spec spec = { argv, NULL, RST_CHILD_NULL,
		RST_CHILD_NULL, NULL, NULL };
	volatile sig_atomic_t stop = 1;
	struct rst_child *c;
	int status = -1;
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(rst_child_start(&spec, &c, &e), 0);
	ck_assert_int_eq(rst_child_wait(c, &stop, &status, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	rst_child_free(c);
}
END_TEST

START_TEST(test_child_missing)
{
	const char *argv[] = { "coffer-no-such-program", NULL };
	struct rst_child_spec spec = { argv, NULL, RST_CHILD_NULL,
		RST_CHILD_NULL, NULL, NULL };
	struct rst_child *c = NULL;
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(rst_child_start(&spec, &c, &e), -1);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "coffer-no-such-program"));
	ck_assert(!rst_child_have("coffer-no-such-program"));
	ck_assert(rst_child_have("sh"));
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
	tcase_add_test(tc, test_child_pipe);
	tcase_add_test(tc, test_child_interrupt);
	tcase_add_test(tc, test_child_missing);
	suite_add_tcase(s, tc);
	return (s);
}
