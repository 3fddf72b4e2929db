/*
 * The child-process runner: output, exit status, signals, the stderr
 * tail, timeouts, the interrupt flag, environment.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "snapshot/child.h"

static int
sh(const char *cmd, unsigned timeout, struct err *e)
{
	struct child_opts o;

	memset(&o, 0, sizeof(o));
	o.shell = cmd;
	o.label = "hook";
	o.timeout = timeout;
	return (child_run(&o, e));
}

START_TEST(test_output_and_ok)
{
	const char *argv[] = { "printf", "%s\\n", "hello", NULL };
	struct child_opts o;
	struct err e;
	char out[64];

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	err_clear(&e);
	ck_assert_int_eq(child_output(&o, out, sizeof(out), &e), 0);
	ck_assert_str_eq(out, "hello");
	/* Bounded: the rest is read and dropped. */
	ck_assert_int_eq(child_output(&o, out, 4, &e), 0);
	ck_assert_str_eq(out, "hel");
}
END_TEST

START_TEST(test_exit_status_and_tail)
{
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(sh("echo one >&2; echo 'two\tlines' >&2; exit 3", 0,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_str_eq(e.msg, "hook exited with status 3: one two lines");
	ck_assert_int_eq(sh("exit 0", 0, &e), 0);
	/* A hook's stdout goes into the tail too. */
	ck_assert_int_eq(sh("echo said so; false", 0, &e), -1);
	ck_assert_str_eq(e.msg, "hook exited with status 1: said so");
}
END_TEST

START_TEST(test_tail_keeps_the_end)
{
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(sh("i=0; while [ $i -lt 2000 ]; do echo line $i >&2;"
	                    " i=$((i+1)); done; echo last words >&2; exit 1",
	                     0, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "line 1999 last words"));
	ck_assert_ptr_null(strstr(e.msg, "line 1 "));
}
END_TEST

START_TEST(test_killed_by_signal)
{
	struct err e;

	err_clear(&e);
	ck_assert_int_eq(sh("echo partial; echo dying >&2; kill -9 $$", 0, &e),
	    -1);
	ck_assert_str_eq(e.msg, "hook was killed by signal 9: partial dying");
}
END_TEST

START_TEST(test_timeout_kills_the_group)
{
	struct err e;

	err_clear(&e);
	/* sleep is a grandchild that holds the pipes: it must die too. */
	ck_assert_int_eq(sh("echo waiting >&2; sleep 100; echo never", 1, &e),
	    -1);
	ck_assert_str_eq(e.msg, "hook timed out after 1 s (killed): waiting");
}
END_TEST

START_TEST(test_read_then_kill)
{
	const char *argv[] = { "sh", "-c", "yes data", NULL };
	struct child_opts o;
	struct child *c;
	struct err e;
	char buf[100];

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.label = "dumper";
	o.read_stdout = 1;
	err_clear(&e);
	ck_assert_int_eq(child_start(&o, &c, &e), 0);
	ck_assert_int_gt(child_read(c, buf, sizeof(buf), &e), 0);
	ck_assert_int_eq(memcmp(buf, "data\n", 5), 0);
	child_kill(c);
	ck_assert_int_eq(child_finish(c, &e), -1);
	ck_assert_str_eq(e.msg, "dumper was killed by signal 9");
	child_free(c);
}
END_TEST

START_TEST(test_interrupt_flag)
{
	const char *argv[] = { "sleep", "100", NULL };
	volatile sig_atomic_t flag = 1;
	struct child_opts o;
	struct child *c;
	struct err e;
	char buf[16];

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.read_stdout = 1;
	o.interrupted = &flag;
	err_clear(&e);
	ck_assert_int_eq(child_start(&o, &c, &e), 0);
	ck_assert_int_eq(child_read(c, buf, sizeof(buf), &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_int_eq(child_finish(c, &e), -1);
	ck_assert_str_eq(e.msg, "sleep interrupted");
	child_free(c);
}
END_TEST

START_TEST(test_env_and_missing_program)
{
	const char *env[] = { "COFFER_SOURCE=gasdb", "HOME=/nowhere" };
	const char *argv[] = { "coffer-no-such-program", NULL };
	struct child_opts o;
	struct err e;
	char out[64];

	memset(&o, 0, sizeof(o));
	o.shell = "echo $COFFER_SOURCE $HOME";
	o.env = env;
	o.nenv = 2;
	err_clear(&e);
	ck_assert_int_eq(child_output(&o, out, sizeof(out), &e), 0);
	ck_assert_str_eq(out, "gasdb /nowhere");
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	ck_assert_int_eq(child_run(&o, &e), -1);
	ck_assert_str_eq(e.msg,
	    "cannot run coffer-no-such-program: No such file or directory");
}
END_TEST

Suite *child_suite(void);

Suite *
child_suite(void)
{
	Suite *s = suite_create("child");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_output_and_ok);
	tcase_add_test(tc, test_exit_status_and_tail);
	tcase_add_test(tc, test_tail_keeps_the_end);
	tcase_add_test(tc, test_killed_by_signal);
	tcase_add_test(tc, test_timeout_kills_the_group);
	tcase_add_test(tc, test_read_then_kill);
	tcase_add_test(tc, test_interrupt_flag);
	tcase_add_test(tc, test_env_and_missing_program);
	suite_add_tcase(s, tc);
	return (s);
}
