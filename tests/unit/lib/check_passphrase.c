/*
 * Passphrase sources, their precedence and failures, the no-echo prompt
 * on a real pseudo-terminal, machine keys, and that a secret is wiped and
 * never reaches a message.
 */
#include <sys/types.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <check.h>

#include "fault.h"
#include "passphrase.h"
#include "tutil.h"
#include "xmalloc.h"

#define PW "hunter2-Sesame"

static const char no_source[] =
    "no passphrase: use --password-file, --password-command or "
    "COFFER_PASSWORD_FILE";

/* A password file with this content and mode in a fresh directory. */
static char *
pwfile(const char *content, size_t len, mode_t mode)
{
	char *dir = tutil_mkdtemp(), *path = tutil_path(dir, "pw");

	tutil_write_file(path, content, len, mode);
	free(dir);
	return (path);
}

static void
assert_secret(const struct secret *s, const char *want)
{
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(secret_len(s), strlen(want));
	ck_assert_mem_eq(secret_data(s), want, strlen(want));
	ck_assert_int_eq(secret_data(s)[secret_len(s)], '\0');
}

/* pass_get from a file holding content; returns the result code. */
static int
get_file(const char *content, size_t len, mode_t mode, struct secret **out,
    struct err *e)
{
	struct pass_opts o = { 0 };
	char *path = pwfile(content, len, mode);
	int rc;

	o.password_file = path;
	rc = pass_get(&o, "test", 0, out, e);
	free(path);
	return (rc);
}

static int
get_command(const char *cmd, struct secret **out, struct err *e)
{
	struct pass_opts o = { 0 };

	o.password_command = cmd;
	return (pass_get(&o, "test", 0, out, e));
}

START_TEST(test_secret_basics)
{
	struct secret *a = secret_new("abc", 3), *b = secret_new("abc", 3);
	struct secret *c = secret_new("abd", 3), *d = secret_new("ab", 2);
	struct secret *z = secret_new(NULL, 0);

	assert_secret(a, "abc");
	ck_assert(secret_equal(a, b));
	ck_assert(!secret_equal(a, c));
	ck_assert(!secret_equal(a, d));
	ck_assert(!secret_equal(d, a));
	ck_assert_uint_eq(secret_len(z), 0);
	ck_assert(!secret_equal(z, d));
	secret_free(a);
	secret_free(b);
	secret_free(c);
	secret_free(d);
	secret_free(z);
	secret_free(NULL);
}
END_TEST

START_TEST(test_secret_is_wiped_before_release)
{
	struct secret *s = secret_new(PW, strlen(PW)), *t = NULL;
	struct err e;

	fault_watch_release(secret_data(s), secret_len(s) + 1);
	secret_free(s);
	ck_assert_int_eq(fault_watch_result(), 1);

	/* And what pass_get hands out, including the stripped newline. */
	ck_assert_int_eq(get_file(PW "\n", strlen(PW) + 1, 0600, &t, &e), 0);
	fault_watch_release(secret_data(t), secret_len(t) + 2);
	secret_free(t);
	ck_assert_int_eq(fault_watch_result(), 1);
}
END_TEST

START_TEST(test_file_strips_one_newline)
{
	static const struct {
		const char *content, *want;
	} cases[] = {
		{ PW "\n", PW },
		{ PW "\r\n", PW },
		{ PW, PW },
		{ PW "\n\n", PW "\n" },
		{ PW "\r", PW "\r" },
		{ " " PW " \n", " " PW " " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct secret *s = NULL;
		struct err e;

		ck_assert_int_eq(get_file(cases[i].content,
		                     strlen(cases[i].content), 0600, &s, &e),
		    0);
		assert_secret(s, cases[i].want);
		secret_free(s);
	}
}
END_TEST

START_TEST(test_file_empty_is_refused)
{
	struct secret *s = (struct secret *)1;
	struct err e;

	ck_assert_int_eq(get_file("", 0, 0600, &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "/pw: empty passphrase"));
	ck_assert_int_eq(get_file("\r\n", 2, 0400, &s, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "empty passphrase"));
}
END_TEST

START_TEST(test_file_readable_by_others_is_refused)
{
	static const mode_t modes[] = { 0640, 0604, 0620, 0644 };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct pass_opts o = { 0 };
		struct secret *s = NULL;
		struct err e;
		char *want;

		o.password_file = pwfile(PW "\n", strlen(PW) + 1, modes[i]);
		ck_assert_int_eq(pass_get(&o, "test", 0, &s, &e), -1);
		ck_assert_ptr_null(s);
		ck_assert_int_eq(e.class, ERR_CONFIG);
		want = xasprintf("run: chmod 600 %s", o.password_file);
		ck_assert_ptr_nonnull(strstr(e.msg, want));
		ck_assert_ptr_null(strstr(e.msg, PW));
		free(want);
		free((char *)o.password_file);
	}
}
END_TEST

START_TEST(test_file_size_bound)
{
	char *big = malloc(PASS_MAX + 2);
	struct secret *s = NULL;
	struct err e;

	memset(big, 'k', PASS_MAX + 1);
	big[PASS_MAX + 1] = '\0';
	ck_assert_int_eq(get_file(big, PASS_MAX, 0600, &s, &e), 0);
	ck_assert_uint_eq(secret_len(s), PASS_MAX);
	secret_free(s);
	/* The newline counts: PASS_MAX bytes of passphrase and "\n" is
	 * one byte too many. */
	big[PASS_MAX] = '\n';
	ck_assert_int_eq(get_file(big, PASS_MAX + 1, 0600, &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than 4096 bytes"));
	ck_assert_ptr_null(strstr(e.msg, "kkkk"));
	free(big);
}
END_TEST

START_TEST(test_file_missing_unreadable_or_odd)
{
	struct pass_opts o = { 0 };
	struct secret *s = NULL;
	struct err e;
	char *dir = tutil_mkdtemp(), *fifo = tutil_path(dir, "fifo");

	o.password_file = "/nonexistent/coffer/pw";
	ck_assert_int_eq(pass_get(&o, "test", 0, &s, &e), -1);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_str_eq(e.msg,
	    "password file /nonexistent/coffer/pw: No "
	    "such file or directory");

	o.password_file = dir;
	ck_assert_int_eq(pass_get(&o, "test", 0, &s, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));

	/* A FIFO is refused, not waited on. */
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	o.password_file = fifo;
	ck_assert_int_eq(pass_get(&o, "test", 0, &s, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
	ck_assert_ptr_null(s);
	free(fifo);
	free(dir);
}
END_TEST

START_TEST(test_file_read_faults)
{
	struct secret *s = NULL;
	struct err e;

	fault_arm_short(FAULT_READ, 0, 1);
	fault_arm_once(FAULT_READ, 2, EINTR);
	ck_assert_int_eq(get_file(PW "\n", strlen(PW) + 1, 0600, &s, &e), 0);
	fault_reset();
	assert_secret(s, PW);
	secret_free(s);

	fault_arm(FAULT_READ, 1, EIO);
	ck_assert_int_eq(get_file(PW "\n", strlen(PW) + 1, 0600, &s, &e), -1);
	fault_reset();
	ck_assert_ptr_null(s);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_ptr_nonnull(strstr(e.msg, "Input/output error"));
	ck_assert_ptr_null(strstr(e.msg, "hunter"));
}
END_TEST

START_TEST(test_command_output)
{
	struct secret *s = NULL;
	struct err e;

	ck_assert_int_eq(get_command("printf '%s\\n' '" PW "'", &s, &e), 0);
	assert_secret(s, PW);
	secret_free(s);
	ck_assert_int_eq(get_command("printf 'a b\\r\\n'", &s, &e), 0);
	assert_secret(s, "a b");
	secret_free(s);
}
END_TEST

START_TEST(test_command_stdin_is_dev_null_and_stderr_passes)
{
	struct tutil_capture *cap;
	struct secret *s = NULL;
	struct err e;
	char *err_out;

	/* cat would hang on a terminal or a pipe; /dev/null gives EOF. */
	ck_assert_int_eq(get_command("cat", &s, &e), -1);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	ck_assert_str_eq(e.msg, "password command 'cat': empty passphrase");

	cap = tutil_capture_begin(2);
	ck_assert_int_eq(get_command("echo to-stderr >&2; echo pw", &s, &e), 0);
	err_out = tutil_capture_end(cap);
	ck_assert_str_eq(err_out, "to-stderr\n");
	assert_secret(s, "pw");
	secret_free(s);
	free(err_out);
}
END_TEST

START_TEST(test_command_failure_names_status_not_output)
{
	struct tutil_capture *cap;
	struct secret *s = NULL;
	struct err e;
	char *err_out;

	ck_assert_int_eq(get_command("printf '" PW "\\n'; exit 3", &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(e.class, ERR_IO);
	ck_assert_str_eq(e.msg,
	    "password command 'printf '" PW
	    "\\n'; exit 3' failed with exit status 3");

	cap = tutil_capture_begin(2);
	ck_assert_int_eq(get_command("/nonexistent/vault-get", &s, &e), -1);
	err_out = tutil_capture_end(cap);
	ck_assert_ptr_nonnull(strstr(e.msg, "exit status 127"));
	ck_assert_ptr_nonnull(strstr(err_out, "not found"));
	free(err_out);

	ck_assert_int_eq(get_command("echo secretish; kill -KILL $$", &s, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "killed by signal 9"));
	ck_assert_ptr_null(strstr(e.msg, "secretish\n"));
}
END_TEST

START_TEST(test_command_output_bound)
{
	struct secret *s = NULL;
	struct err e;

	/* 4096 bytes exactly is fine. */
	ck_assert_int_eq(get_command("head -c 4096 /dev/zero | tr '\\0' k", &s,
	                     &e),
	    0);
	ck_assert_uint_eq(secret_len(s), PASS_MAX);
	secret_free(s);
	ck_assert_int_eq(get_command("head -c 4097 /dev/zero | tr '\\0' k", &s,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than 4096 bytes"));
	ck_assert_ptr_null(strstr(e.msg, "kkkk"));
	/* Endless output: we stop reading; the SIGPIPE is not the news. */
	ck_assert_int_eq(get_command("yes " PW, &s, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than 4096 bytes"));
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_precedence)
{
	struct pass_opts o = { 0 };
	struct secret *s = NULL;
	struct err e;
	char *file = pwfile("from-file\n", 10, 0600);
	char *env = pwfile("from-env\n", 9, 0600);

	o.password_command = "echo from-command";
	o.password_file = file;
	o.env_password_file = env;
	o.allow_prompt = 1;
	ck_assert_int_eq(pass_get(&o, "t", 0, &s, &e), 0);
	assert_secret(s, "from-command");
	secret_free(s);

	o.password_command = "";
	ck_assert_int_eq(pass_get(&o, "t", 0, &s, &e), 0);
	assert_secret(s, "from-file");
	secret_free(s);

	o.password_command = NULL;
	o.password_file = NULL;
	ck_assert_int_eq(pass_get(&o, "t", 0, &s, &e), 0);
	assert_secret(s, "from-env");
	secret_free(s);

	/* use_environment reads the real variable instead. */
	o.use_environment = 1;
	ck_assert_int_eq(setenv("COFFER_PASSWORD_FILE", file, 1), 0);
	ck_assert_int_eq(pass_get(&o, "t", 0, &s, &e), 0);
	assert_secret(s, "from-file");
	secret_free(s);

	o.allow_prompt = 0;
	ck_assert_int_eq(setenv("COFFER_PASSWORD_FILE", "", 1), 0);
	ck_assert_int_eq(pass_get(&o, "t", 0, &s, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_str_eq(e.msg, no_source);
	ck_assert_ptr_null(s);

	/* A broken higher source fails; it never falls through. */
	o.use_environment = 0;
	o.password_command = "exit 1";
	ck_assert_int_eq(pass_get(&o, "t", 0, &s, &e), -1);
	free(file);
	free(env);
}
END_TEST

START_TEST(test_env_file_named_in_messages)
{
	struct pass_opts o = { 0 };
	struct secret *s = NULL;
	struct err e;
	char *env = pwfile(PW "\n", strlen(PW) + 1, 0644);

	o.env_password_file = env;
	ck_assert_int_eq(pass_get(&o, "t", 0, &s, &e), -1);
	ck_assert(strncmp(e.msg, "COFFER_PASSWORD_FILE ", 21) == 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "chmod 600"));
	free(env);
}
END_TEST

START_TEST(test_no_terminal)
{
	struct pass_opts o = { 0 };
	struct secret *s = NULL;
	struct err e;
	int status;
	pid_t pid;

	o.allow_prompt = 1;
	fault_arm(FAULT_OPEN, 0, ENXIO);
	ck_assert_int_eq(pass_get(&o, "t", 0, &s, &e), -1);
	fault_reset();
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_str_eq(e.msg,
	    "no passphrase: use --password-file, "
	    "--password-command or COFFER_PASSWORD_FILE, "
	    "or run on a terminal");

	/* For real: a new session has no controlling terminal. */
	if ((pid = fork()) == 0) {
		struct err e2;

		if (setsid() == -1)
			_exit(2);
		if (pass_get(&o, "t", 0, &s, &e2) != -1 ||
		    strcmp(e2.msg, e.msg) != 0)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(test_machine_key)
{
	struct pass_opts o = { 0 };
	struct secret *s = NULL;
	struct err e;
	struct stat st;
	char *dir = tutil_mkdtemp(), *path = tutil_path(dir, "machine.key");
	char *path2 = tutil_path(dir, "other.key"), *k1, *k2;
	size_t len;

	umask(0);
	ck_assert_int_eq(pass_generate_machine_key(path, &e), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	k1 = tutil_read_file(path, &len);
	ck_assert_uint_eq(len, 65);
	ck_assert_uint_eq(strspn(k1, "0123456789abcdef"), 64);
	ck_assert_int_eq(k1[64], '\n');

	/* Usable as a password file as it is. */
	o.password_file = path;
	ck_assert_int_eq(pass_get(&o, "t", 0, &s, &e), 0);
	ck_assert_uint_eq(secret_len(s), 64);
	ck_assert_mem_eq(secret_data(s), k1, 64);
	secret_free(s);

	/* Never replaced. */
	ck_assert_int_eq(pass_generate_machine_key(path, &e), -1);
	ck_assert_int_eq(e.sys_errno, EEXIST);
	ck_assert_ptr_nonnull(strstr(e.msg, "already exists"));
	ck_assert_ptr_nonnull(strstr(e.msg, "machine key"));
	k2 = tutil_read_file(path, NULL);
	ck_assert_str_eq(k1, k2);
	free(k2);

	/* Random, and complete even when getrandom returns short. */
	fault_arm_short(FAULT_GETRANDOM, 0, 5);
	ck_assert_int_eq(pass_generate_machine_key(path2, &e), 0);
	ck_assert_uint_ge(fault_calls(FAULT_GETRANDOM), 7);
	fault_reset();
	k2 = tutil_read_file(path2, &len);
	ck_assert_uint_eq(len, 65);
	ck_assert_uint_eq(strspn(k2, "0123456789abcdef"), 64);
	ck_assert_str_ne(k1, k2);
	free(k2);
	free(k1);
	free(path2);

	fault_arm(FAULT_GETRANDOM, 0, ENOSYS);
	path2 = tutil_path(dir, "third.key");
	ck_assert_int_eq(pass_generate_machine_key(path2, &e), -1);
	fault_reset();
	ck_assert_ptr_nonnull(strstr(e.msg, "getrandom"));
	ck_assert_int_eq(access(path2, F_OK), -1);
	ck_assert_int_eq(tutil_count_entries(dir, ".tmp."), 0);
	free(path2);
	free(path);
	free(dir);
}
END_TEST

/*
 * The prompt, on a pseudo-terminal that is the controlling terminal of a
 * child in its own session.  The child reports through a pipe.
 */
struct pty_report {
	int rc;
	int class;
	int echo_after; /* ECHO set on the terminal after pass_get */
	int handler_ran;
	size_t len;
	char secret[64];
	char msg[ERR_MSG_MAX];
};

struct pty_run {
	pid_t pid;
	int master;
	int report;
	char out[8192]; /* what the child showed on the terminal */
	size_t outlen;
};

enum { PTY_DEFAULT_SIGINT = 0, PTY_HANDLE_SIGINT = 1 };

static volatile sig_atomic_t pty_handler_ran;

static void
pty_on_sigint(int sig)
{
	(void)sig;
	pty_handler_ran = 1;
}

static void
pty_child(int report, int confirm, int handle_sigint)
{
	struct pass_opts o = { 0 };
	struct pty_report r;
	struct secret *s = NULL;
	struct sigaction sa;
	struct termios t;
	struct err e;

	memset(&r, 0, sizeof(r));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_sigint ? pty_on_sigint : SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTSTP, &sa, NULL);
	o.allow_prompt = 1;
	r.rc = pass_get(&o, "repository /srv/r", confirm, &s, &e);
	r.class = r.rc == 0 ? 0 : (int)e.class;
	/* The text only: the bytes after its NUL were never set. */
	if (r.rc == -1)
		snprintf(r.msg, sizeof(r.msg), "%s", e.msg);
	if (s != NULL && secret_len(s) < sizeof(r.secret)) {
		r.len = secret_len(s);
		memcpy(r.secret, secret_data(s), r.len);
	}
	secret_free(s);
	r.echo_after = tcgetattr(0, &t) == 0 && (t.c_lflag & ECHO) != 0;
	r.handler_ran = pty_handler_ran;
	if (write(report, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(3);
	_exit(0);
}

static void
pty_start(struct pty_run *p, int confirm, int handle_sigint)
{
	int rep[2];

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(pipe(rep), 0);
	p->pid = forkpty(&p->master, NULL, NULL, NULL);
	ck_assert_int_ne(p->pid, -1);
	if (p->pid == 0) {
		close(rep[0]);
		pty_child(rep[1], confirm, handle_sigint);
	}
	close(rep[1]);
	p->report = rep[0];
}

/* Read the terminal until it has shown needle n times (10 s at most). */
static int
pty_expect(struct pty_run *p, const char *needle, int n)
{
	for (int waited = 0; waited < 100;) {
		struct pollfd pfd = { .fd = p->master, .events = POLLIN };
		const char *at = p->out;
		int seen = 0;
		ssize_t got;

		while ((at = strstr(at, needle)) != NULL) {
			seen++;
			at += strlen(needle);
		}
		if (seen >= n)
			return (1);
		if (poll(&pfd, 1, 100) == 0) {
			waited++;
			continue;
		}
		got = read(p->master, p->out + p->outlen,
		    sizeof(p->out) - p->outlen - 1);
		if (got <= 0)
			return (0);
		p->outlen += (size_t)got;
		p->out[p->outlen] = '\0';
	}
	return (0);
}

static void
pty_type(struct pty_run *p, const char *s)
{
	ck_assert_int_eq(write(p->master, s, strlen(s)), (ssize_t)strlen(s));
}

/* Collect the report and the exit status; the terminal's output so far. */
static int
pty_finish(struct pty_run *p, struct pty_report *r)
{
	int status;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	n = read(p->report, r, sizeof(*r));
	(void)pty_expect(p, "\x01never\x01", 1); /* drain until EOF/EIO */
	ck_assert_int_eq(waitpid(p->pid, &status, 0), p->pid);
	close(p->report);
	if (n != (ssize_t)sizeof(*r))
		r->rc = 99; /* no report: the child died */
	return (status);
}

START_TEST(test_prompt_reads_without_echo)
{
	struct pty_run p;
	struct pty_report r;
	int status;

	pty_start(&p, 0, PTY_DEFAULT_SIGINT);
	ck_assert(pty_expect(&p, "Passphrase for repository /srv/r: ", 1));
	pty_type(&p, PW "\n");
	status = pty_finish(&p, &r);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.len, strlen(PW));
	ck_assert_mem_eq(r.secret, PW, strlen(PW));
	ck_assert_msg(strstr(p.out, "hunter") == NULL, "echoed: %s", p.out);
	ck_assert(r.echo_after);
	close(p.master);
}
END_TEST

START_TEST(test_prompt_confirm)
{
	struct pty_run p;
	struct pty_report r;

	pty_start(&p, 1, PTY_DEFAULT_SIGINT);
	ck_assert(pty_expect(&p, "Passphrase for repository /srv/r: ", 1));
	pty_type(&p, PW "\n");
	ck_assert(
	    pty_expect(&p, "Repeat passphrase for repository /srv/r: ", 1));
	pty_type(&p, PW "\n");
	pty_finish(&p, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_mem_eq(r.secret, PW, strlen(PW));
	close(p.master);

	pty_start(&p, 1, PTY_DEFAULT_SIGINT);
	ck_assert(pty_expect(&p, "Passphrase for", 1));
	pty_type(&p, PW "\n");
	ck_assert(pty_expect(&p, "Repeat passphrase for", 1));
	pty_type(&p, PW "x\n");
	pty_finish(&p, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_eq(r.class, ERR_USAGE);
	ck_assert_str_eq(r.msg, "passphrases do not match");
	ck_assert(r.echo_after);
	ck_assert(strstr(p.out, "hunter") == NULL);
	close(p.master);
}
END_TEST

START_TEST(test_prompt_empty_line)
{
	struct pty_run p;
	struct pty_report r;

	pty_start(&p, 0, PTY_DEFAULT_SIGINT);
	ck_assert(pty_expect(&p, "Passphrase for", 1));
	pty_type(&p, "\n");
	pty_finish(&p, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_eq(r.class, ERR_USAGE);
	ck_assert_str_eq(r.msg, "empty passphrase");
	close(p.master);
}
END_TEST

START_TEST(test_prompt_sigint_with_handler)
{
	struct pty_run p;
	struct pty_report r;
	int status;

	pty_start(&p, 0, PTY_HANDLE_SIGINT);
	ck_assert(pty_expect(&p, "Passphrase for", 1));
	pty_type(&p, "hunt"); /* half typed, then ^C */
	pty_type(&p, "\x03");
	status = pty_finish(&p, &r);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_eq(r.class, ERR_INTERRUPTED);
	ck_assert(r.handler_ran); /* the caller's handler saw the signal */
	ck_assert(r.echo_after);
	ck_assert(strstr(p.out, "hunt") == NULL);
	close(p.master);
}
END_TEST

START_TEST(test_prompt_sigint_default_kills_with_terminal_restored)
{
	struct pty_run p;
	struct pty_report r;
	struct termios t;
	int status;

	pty_start(&p, 0, PTY_DEFAULT_SIGINT);
	ck_assert(pty_expect(&p, "Passphrase for", 1));
	pty_type(&p, "\x03");
	status = pty_finish(&p, &r);
	ck_assert_int_eq(r.rc, 99);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGINT);
	/* Linux answers termios requests on the master for the slave. */
	ck_assert_int_eq(tcgetattr(p.master, &t), 0);
	ck_assert(t.c_lflag & ECHO);
	close(p.master);
}
END_TEST

START_TEST(test_prompt_again_after_job_control_stop)
{
	struct pty_run p;
	struct pty_report r;

	/* The child's process group is orphaned, so the re-raised SIGTSTP
	 * does not stop it: it only has to come back and ask again. */
	pty_start(&p, 0, PTY_DEFAULT_SIGINT);
	ck_assert(pty_expect(&p, "Passphrase for", 1));
	pty_type(&p, "\x1a");
	ck_assert(pty_expect(&p, "Passphrase for", 2));
	pty_type(&p, PW "\n");
	pty_finish(&p, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_mem_eq(r.secret, PW, strlen(PW));
	close(p.master);
}
END_TEST

Suite *passphrase_suite(void);

Suite *
passphrase_suite(void)
{
	Suite *s = suite_create("passphrase");
	TCase *tc = tcase_create("sources");
	TCase *tty = tcase_create("prompt");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, fault_reset, fault_reset);
	tcase_add_test(tc, test_secret_basics);
	tcase_add_test(tc, test_secret_is_wiped_before_release);
	tcase_add_test(tc, test_file_strips_one_newline);
	tcase_add_test(tc, test_file_empty_is_refused);
	tcase_add_test(tc, test_file_readable_by_others_is_refused);
	tcase_add_test(tc, test_file_size_bound);
	tcase_add_test(tc, test_file_missing_unreadable_or_odd);
	tcase_add_test(tc, test_file_read_faults);
	tcase_add_test(tc, test_command_output);
	tcase_add_test(tc, test_command_stdin_is_dev_null_and_stderr_passes);
	tcase_add_test(tc, test_command_failure_names_status_not_output);
	tcase_add_test(tc, test_command_output_bound);
	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_env_file_named_in_messages);
	tcase_add_test(tc, test_no_terminal);
	tcase_add_test(tc, test_machine_key);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tty, 30);
	tcase_add_test(tty, test_prompt_reads_without_echo);
	tcase_add_test(tty, test_prompt_confirm);
	tcase_add_test(tty, test_prompt_empty_line);
	tcase_add_test(tty, test_prompt_sigint_with_handler);
	tcase_add_test(tty,
	    test_prompt_sigint_default_kills_with_terminal_restored);
	tcase_add_test(tty, test_prompt_again_after_job_control_stop);
	suite_add_tcase(s, tty);
	return (s);
}
