/*
 * The child-process runner: output, exit status, signals, the stderr
 * tail (bytes, or the last error line), the line callback, stdin fed
 * through a pipe, timeouts, the interrupt flag, environment, process
 * groups, programs that are not there.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "proc.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

/* Under valgrind (make valgrind), when its header was there to ask it. */
static int
under_valgrind(void)
{
#ifdef RUNNING_ON_VALGRIND
	return (RUNNING_ON_VALGRIND != 0);
#else
	return (0);
#endif
}

static int
sh(const char *cmd, unsigned timeout, struct err *e)
{
	struct proc_opts o;

	memset(&o, 0, sizeof(o));
	o.shell = cmd;
	o.label = "hook";
	o.out = PROC_TAIL;
	o.timeout = timeout;
	return (proc_run(&o, e));
}

START_TEST(test_output_and_ok)
{
	const char *argv[] = { "printf", "%s\\n", "hello", NULL };
	struct proc_opts o;
	struct err e;
	char out[64];

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	err_clear(&e);
	ck_assert_int_eq(proc_output(&o, out, sizeof(out), &e), 0);
	ck_assert_str_eq(out, "hello");
	/* Bounded: the rest is read and dropped. */
	ck_assert_int_eq(proc_output(&o, out, 4, &e), 0);
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

START_TEST(test_grandchild_keeps_stderr)
{
	char path[] = "/tmp/coffer-proc-XXXXXX", cmd[128];
	struct err e;
	FILE *f;
	int fd, pid = 0;

	err_clear(&e);
	ck_assert_int_ne(fd = mkstemp(path), -1);
	close(fd);
	/* The hook ends; what it left running holds stderr open. */
	snprintf(cmd, sizeof(cmd),
	    "sleep 30 & echo $! >%s; echo went >&2; "
	    "exit 4",
	    path);
	ck_assert_int_eq(sh(cmd, 0, &e), -1);
	ck_assert_str_eq(e.msg, "hook exited with status 4: went");
	/* Leave no sleep behind for 30 s. */
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	unlink(path);
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
}
END_TEST

START_TEST(test_read_then_kill)
{
	const char *argv[] = { "sh", "-c", "yes data", NULL };
	struct proc_opts o;
	struct proc *p;
	struct err e;
	char buf[100];

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.label = "dumper";
	o.out = PROC_PIPE;
	err_clear(&e);
	ck_assert_int_eq(proc_start(&o, &p, &e), 0);
	ck_assert_int_gt(proc_read(p, buf, sizeof(buf), &e), 0);
	ck_assert_int_eq(memcmp(buf, "data\n", 5), 0);
	proc_kill(p);
	ck_assert_int_eq(proc_finish(p, &e), -1);
	ck_assert_str_eq(e.msg, "dumper was killed by signal 9");
	proc_free(p);
}
END_TEST

START_TEST(test_interrupt_flag)
{
	const char *argv[] = { "sleep", "100", NULL };
	volatile sig_atomic_t flag = 1;
	struct proc_opts o;
	struct proc *p;
	struct err e;
	char buf[16];

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.out = PROC_PIPE;
	o.interrupted = &flag;
	err_clear(&e);
	ck_assert_int_eq(proc_start(&o, &p, &e), 0);
	ck_assert_int_eq(proc_read(p, buf, sizeof(buf), &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_int_eq(proc_finish(p, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_str_eq(e.msg, "sleep interrupted");
	proc_free(p);
}
END_TEST

/* The wait alone sees the flag too, in the foreground as in a group. */
START_TEST(test_interrupt_while_waiting)
{
	const char *argv[] = { "sleep", "30", NULL };
	volatile sig_atomic_t flag = 1;
	struct proc_opts o;
	struct proc *p;
	struct err e;

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.interrupted = &flag;
	o.foreground = _i;
	err_clear(&e);
	ck_assert_int_eq(proc_start(&o, &p, &e), 0);
	ck_assert_int_eq(proc_finish(p, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_str_eq(e.msg, "sleep interrupted");
	proc_free(p);
}
END_TEST

START_TEST(test_process_group)
{
	const char *argv[] = { "sh", "-c",
		"[ \"$(ps -o pgid= -p $$)\" -eq $$ ] && echo own || echo ours",
		NULL };
	struct proc_opts o;
	struct err e;
	char out[16];

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	err_clear(&e);
	ck_assert_int_eq(proc_output(&o, out, sizeof(out), &e), 0);
	ck_assert_str_eq(out, "own");
	o.foreground = 1;
	ck_assert_int_eq(proc_output(&o, out, sizeof(out), &e), 0);
	ck_assert_str_eq(out, "ours");
}
END_TEST

START_TEST(test_env_and_missing_program)
{
	const char *env[] = { "COFFER_SOURCE=gasdb", "HOME=/nowhere", NULL };
	const char *argv[] = { "coffer-no-such-program", NULL };
	struct proc_opts o;
	struct proc *p = NULL;
	struct err e;
	char out[64];

	memset(&o, 0, sizeof(o));
	o.shell = "echo $COFFER_SOURCE $HOME";
	o.env = env;
	err_clear(&e);
	ck_assert_int_eq(proc_output(&o, out, sizeof(out), &e), 0);
	ck_assert_str_eq(out, "gasdb /nowhere");
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	ck_assert_int_eq(proc_run(&o, &e), -1);
	ck_assert_int_eq(e.class, ERR_IO);
	/*
	 * valgrind runs posix_spawn's CLONE_VM|CLONE_VFORK as a plain fork,
	 * so the child's exec error never reaches us: the program "exits
	 * 127" instead (make valgrind).
	 */
	if (!under_valgrind()) {
		ck_assert_int_eq(e.sys_errno, ENOENT);
		ck_assert_str_eq(e.msg,
		    "cannot run coffer-no-such-program: not found in PATH "
		    "(is it installed?)");
		ck_assert_int_eq(proc_start(&o, &p, &e), -1);
		ck_assert_ptr_null(p);
	}
	ck_assert(!proc_have("coffer-no-such-program"));
	ck_assert(proc_have("sh"));
	ck_assert(proc_have("/bin/sh"));
	ck_assert(!proc_have("/"));
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

/* A database client: stdin fed, stdout read, the error line wins. */
START_TEST(test_stdin_pipe_and_error_line)
{
	const char *argv[] = { "sh", "-c",
		"tr a-z A-Z; echo \"pg: error: $SECRET_X\" >&2; echo last >&2; "
		"exit 3",
		NULL };
	const char *env[] = { "SECRET_X=hidden", NULL };
	struct proc_opts o;
	struct proc *p;
	char buf[64];
	ssize_t k;
	struct err e;

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.env = env;
	o.in = PROC_PIPE;
	o.out = PROC_PIPE;
	o.line = on_line;
	o.tail_errors = 1;
	o.foreground = 1;
	heard[0] = '\0';
	err_clear(&e);
	ck_assert_int_eq(proc_start(&o, &p, &e), 0);
	/* Non-blocking: a writer polls (an empty pipe takes this at once). */
	ck_assert_int_ne(fcntl(proc_in(p), F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(write(proc_in(p), "hello\n", 6), 6);
	proc_close_in(p);
	ck_assert_int_eq(proc_in(p), -1);
	k = proc_read(p, buf, sizeof(buf) - 1, &e);
	ck_assert_int_eq(k, 6);
	buf[k] = '\0';
	ck_assert_str_eq(buf, "HELLO\n");
	ck_assert_int_eq(proc_read(p, buf, sizeof(buf), &e), 0);
	ck_assert_int_eq(proc_finish(p, &e), -1);
	ck_assert_str_eq(heard, "pg: error: hidden|last|");
	/* The error line wins over the last one. */
	ck_assert_str_eq(proc_tail(p), "pg: error: hidden");
	ck_assert_str_eq(e.msg, "sh exited with status 3: pg: error: hidden");
	proc_free(p);
}
END_TEST

/* Without an error line: the last non-empty one, as it was written. */
START_TEST(test_error_tail_last_line)
{
	const char *argv[] = { "sh", "-c",
		"echo first >&2; printf 'the\\tlast\\r\\n\\n' >&2; exit 2",
		NULL };
	struct proc_opts o;
	struct err e;

	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.label = "psql";
	o.tail_errors = 1;
	err_clear(&e);
	ck_assert_int_eq(proc_run(&o, &e), -1);
	ck_assert_str_eq(e.msg, "psql exited with status 2: the\tlast");
}
END_TEST

/* stdin and stdout from descriptors of ours; stdout to /dev/null. */
START_TEST(test_fds)
{
	const char *argv[] = { "sh", "-c", "read x; echo got $x; echo gone",
		NULL };
	struct proc_opts o;
	struct err e;
	char buf[64];
	int in[2], out[2];
	ssize_t k;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(write(in[1], "it\n", 3), 3);
	close(in[1]);
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.in = PROC_FD;
	o.in_fd = in[0];
	o.out = PROC_FD;
	o.out_fd = out[1];
	err_clear(&e);
	ck_assert_int_eq(proc_run(&o, &e), 0);
	close(in[0]);
	close(out[1]);
	k = read(out[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(k, 0);
	buf[k] = '\0';
	ck_assert_str_eq(buf, "got it\ngone\n");
	close(out[0]);
	/* The default: /dev/null both ways, so nothing in the tail. */
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	ck_assert_int_eq(proc_run(&o, &e), 0);
	argv[2] = "cat; echo out; exit 1";
	ck_assert_int_eq(proc_run(&o, &e), -1);
	ck_assert_str_eq(e.msg, "sh exited with status 1");
}
END_TEST

Suite *proc_suite(void);

Suite *
proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_output_and_ok);
	tcase_add_test(tc, test_exit_status_and_tail);
	tcase_add_test(tc, test_tail_keeps_the_end);
	tcase_add_test(tc, test_killed_by_signal);
	tcase_add_test(tc, test_timeout_kills_the_group);
	tcase_add_test(tc, test_grandchild_keeps_stderr);
	tcase_add_test(tc, test_read_then_kill);
	tcase_add_test(tc, test_interrupt_flag);
	tcase_add_loop_test(tc, test_interrupt_while_waiting, 0, 2);
	tcase_add_test(tc, test_process_group);
	tcase_add_test(tc, test_env_and_missing_program);
	tcase_add_test(tc, test_stdin_pipe_and_error_line);
	tcase_add_test(tc, test_error_tail_last_line);
	tcase_add_test(tc, test_fds);
	suite_add_tcase(s, tc);
	return (s);
}
