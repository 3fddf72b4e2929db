/*
 * Passphrase sources and the secret container.  The bytes of a passphrase
 * only ever sit in a secret's own pages (read straight into them), so
 * wiping those pages wipes every copy we made.
 */
#include "passphrase.h"

#include <sys/types.h>

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "afile.h"
#include "secfile.h"
#include "xmalloc.h"

#define PASS_TTY "/dev/tty"

#define PASS_NO_SOURCE                                                         \
	"no passphrase: use --password-file, --password-command or " PASS_ENV

struct secret {
	unsigned char *buf; /* own pages: cap bytes */
	size_t cap;
	size_t len;
};

/* Room for want bytes and a NUL, in pages of its own. */
static struct secret *
secret_alloc(size_t want)
{
	struct secret *s = xcalloc(1, sizeof(*s));
	long ps = sysconf(_SC_PAGESIZE);
	size_t page = ps > 0 ? (size_t)ps : 4096;
	void *p;

	s->cap = (want / page + 1) * page;
	p = mmap(NULL, s->cap, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "coffer: out of memory allocating %zu bytes\n",
		    s->cap);
		abort();
	}
	s->buf = p;
	/* Best effort: out of swap (RLIMIT_MEMLOCK may say no) and out of
	 * core dumps.  Pages of our own, so unlocking cannot unlock a
	 * neighbour. */
	(void)mlock(s->buf, s->cap);
	(void)madvise(s->buf, s->cap, MADV_DONTDUMP);
	return (s);
}

struct secret *
secret_new(const void *data, size_t len)
{
	struct secret *s = secret_alloc(len);

	if (len > 0)
		memcpy(s->buf, data, len);
	s->len = len;
	s->buf[len] = '\0';
	return (s);
}

const unsigned char *
secret_data(const struct secret *s)
{
	return (s->buf);
}

size_t
secret_len(const struct secret *s)
{
	return (s->len);
}

int
secret_equal(const struct secret *a, const struct secret *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	volatile unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d = (unsigned char)(d | (a->buf[i] ^ b->buf[i]));
	return (d == 0 && a->len == b->len);
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	wipe(s->buf, s->cap);
	(void)munlock(s->buf, s->cap);
	(void)munmap(s->buf, s->cap);
	free(s);
}

/*
 * Read at most PASS_MAX bytes from fd into a new secret; strip one
 * trailing newline.  what/name describe the source in messages.  Leaves
 * *out NULL and sets e on failure (including "empty"); *toolong tells
 * whether it stopped reading because the source was too long.
 */
static int
pass_read_fd(int fd, const char *what, const char *name, struct secret **out,
    int *toolong, struct err *e)
{
	struct secret *s = secret_alloc(PASS_MAX);
	size_t len = 0, end;
	int rc = -1;

	*out = NULL;
	*toolong = 0;
	for (;;) {
		unsigned char extra;
		ssize_t n;

		if (len < PASS_MAX)
			n = read(fd, s->buf + len, PASS_MAX - len);
		else
			n = read(fd, &extra, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_sys(e, ERR_IO, "%s %s", what, name);
			goto out;
		}
		if (n == 0)
			break;
		if (len == PASS_MAX) {
			wipe(&extra, sizeof(extra));
			*toolong = 1;
			err_set(e, ERR_CONFIG,
			    "%s %s: more than %d bytes; it must hold only the "
			    "passphrase",
			    what, name, PASS_MAX);
			goto out;
		}
		len += (size_t)n;
	}
	end = len;
	if (len > 0 && s->buf[len - 1] == '\n') {
		len--;
		if (len > 0 && s->buf[len - 1] == '\r')
			len--;
	}
	wipe(s->buf + len, end - len);
	if (len == 0) {
		err_set(e, ERR_CONFIG, "%s %s: empty passphrase", what, name);
		goto out;
	}
	s->len = len;
	s->buf[len] = '\0';
	*out = s;
	s = NULL;
	rc = 0;
out:
	secret_free(s);
	return (rc);
}

static int
pass_from_file(const char *path, const char *what, struct secret **out,
    struct err *e)
{
	int fd, rc, toolong;

	/* O_NONBLOCK: a FIFO must be refused by the check below, not hang
	 * the open; regular files ignore the flag. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return (err_sys(e, ERR_IO, "%s %s", what, path));
	rc = secfile_check_secret(fd, path, what, e);
	if (rc == 0)
		rc = pass_read_fd(fd, what, path, out, &toolong, e);
	(void)close(fd);
	return (rc);
}

static int
pass_from_command(const char *cmd, struct secret **out, struct err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl, none;
	char sh[] = "sh", dash_c[] = "-c";
	char *cmdcopy = xstrdup(cmd), *name = xasprintf("'%s'", cmd);
	char *argv[] = { sh, dash_c, cmdcopy, NULL };
	struct secret *s = NULL;
	struct err readerr;
	int pfd[2] = { -1, -1 };
	int status, readrc, toolong, rc = -1, erc;
	pid_t pid, w;

	*out = NULL;
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		err_sys(e, ERR_IO, "password command: pipe");
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawnattr_init(&attr);
	/* cli ignores SIGPIPE and may have signals blocked; the command
	 * should start as it would from a shell. */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr,
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	erc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (erc != 0) {
		errno = erc;
		err_sys(e, ERR_IO, "password command %s: cannot run /bin/sh",
		    name);
		goto out;
	}
	(void)close(pfd[1]);
	pfd[1] = -1;
	readrc = pass_read_fd(pfd[0], "password command", name, &s, &toolong,
	    &readerr);
	/* Close before waiting: a command with more to say gets EPIPE
	 * instead of blocking us forever. */
	(void)close(pfd[0]);
	pfd[0] = -1;
	while ((w = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		continue;
	if (w == -1) {
		err_sys(e, ERR_IO, "password command %s: wait", name);
		goto out;
	}
	/*
	 * Its output is never quoted: it may be the passphrase.  Too much
	 * output first (the SIGPIPE that may have ended it was ours), then
	 * the exit status: a failed command's output means nothing.
	 */
	if (toolong) {
		*e = readerr;
		goto out;
	}
	if (WIFSIGNALED(status)) {
		err_set(e, ERR_IO,
		    "password command %s was killed by signal %d (%s)", name,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		err_set(e, ERR_IO,
		    "password command %s failed with exit status %d", name,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	if (readrc == -1) {
		*e = readerr;
		goto out;
	}
	*out = s;
	s = NULL;
	rc = 0;
out:
	if (pfd[0] != -1)
		(void)close(pfd[0]);
	if (pfd[1] != -1)
		(void)close(pfd[1]);
	secret_free(s);
	free(cmdcopy);
	free(name);
	return (rc);
}

/*
 * Set by the prompt's signal handler: a handler can only talk through a
 * global.  Only touched while a prompt is up.
 */
static volatile sig_atomic_t pass_caught;

static void
pass_on_signal(int sig)
{
	pass_caught = sig;
}

/* What must not leave the terminal without echo: the ways a user or the
 * system interrupts a prompt, and job control. */
static const int pass_signals[] = { SIGALRM, SIGHUP, SIGINT, SIGPIPE, SIGQUIT,
	SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU };
#define PASS_NSIG (sizeof(pass_signals) / sizeof(pass_signals[0]))

/* Write all of buf; gives up (-1) when a signal came in. */
static int
pass_tty_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n == -1 && errno == EINTR && !pass_caught)
			continue;
		if (n <= 0)
			return (-1);
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

static int
pass_is_job_control(int sig)
{
	return (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU);
}

/*
 * Show prompt on the terminal fd and read one line without echo.  Our
 * handlers only set pass_caught.  Each wait checks it with our signals
 * blocked and then lets ppoll unblock them atomically, so none slips in
 * between the check and the wait.  Changing the terminal runs unblocked,
 * so a background job is stopped by SIGTTOU rather than allowed to meddle;
 * cleanup runs blocked, so the terminal is restored whatever arrives.
 * Then a caught signal is re-raised for the caller's own disposition, and
 * after a job-control stop we prompt again.
 */
static int
pass_prompt(int fd, const char *prompt, struct secret **out, struct err *e)
{
	struct sigaction sa, saved[PASS_NSIG];
	struct termios old, quiet;
	struct pollfd pfd;
	struct secret *s = NULL;
	sigset_t block, oldmask;
	size_t len;
	int rc, sig, toolong, term_set;

	*out = NULL;
	sigemptyset(&block);
	for (size_t i = 0; i < PASS_NSIG; i++)
		sigaddset(&block, pass_signals[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pass_on_signal;
	sa.sa_mask = block;
	sa.sa_flags = 0; /* no SA_RESTART: a signal must end the wait */
	pfd.fd = fd;
	pfd.events = POLLIN;
again:
	rc = -1;
	len = 0;
	toolong = 0;
	term_set = 0;
	secret_free(s);
	s = secret_alloc(PASS_MAX);
	if (tcgetattr(fd, &old) == -1) {
		err_sys(e, ERR_IO, "terminal %s", PASS_TTY);
		goto out;
	}
	pthread_sigmask(SIG_BLOCK, &block, &oldmask);
	pass_caught = 0;
	for (size_t i = 0; i < PASS_NSIG; i++) {
		sigaction(pass_signals[i], NULL, &saved[i]);
		/* An ignored signal stays ignored (nohup, background). */
		if ((saved[i].sa_flags & SA_SIGINFO) != 0 ||
		    saved[i].sa_handler != SIG_IGN)
			sigaction(pass_signals[i], &sa, NULL);
	}
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* TCSAFLUSH: what was typed before the prompt is not the answer. */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == -1) {
		if (!pass_caught)
			err_sys(e, ERR_IO, "terminal %s", PASS_TTY);
		goto restore;
	}
	term_set = 1;
	if (pass_tty_write(fd, prompt, strlen(prompt)) == -1) {
		if (!pass_caught)
			err_sys(e, ERR_IO, "write %s", PASS_TTY);
		goto restore;
	}
	for (;;) {
		unsigned char c;
		ssize_t n;
		int pr = 0;

		pthread_sigmask(SIG_BLOCK, &block, NULL);
		if (!pass_caught)
			pr = ppoll(&pfd, 1, NULL, &oldmask);
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		if (pass_caught)
			break;
		if (pr == -1 && errno == EINTR)
			continue;
		if (pr == -1) {
			err_sys(e, ERR_IO, "terminal %s", PASS_TTY);
			goto restore;
		}
		n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_sys(e, ERR_IO, "read %s", PASS_TTY);
			goto restore;
		}
		if (n == 0 || c == '\n' || c == '\r')
			break;
		if (len < PASS_MAX)
			s->buf[len++] = c;
		else
			toolong = 1;
		wipe(&c, sizeof(c));
	}
	rc = 0;
restore:
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	if (term_set) {
		/* The newline the user typed was not echoed. */
		(void)pass_tty_write(fd, "\n", 1);
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	}
	for (size_t i = 0; i < PASS_NSIG; i++)
		sigaction(pass_signals[i], &saved[i], NULL);
	if ((sig = pass_caught) != 0) {
		/* What was typed is wiped before the signal may end us. */
		secret_free(s);
		s = NULL;
		raise(sig); /* delivered by the unblock below */
	}
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	if (sig != 0 && pass_is_job_control(sig))
		goto again; /* stopped and continued: ask afresh */
	if (sig != 0) {
		err_set(e, ERR_INTERRUPTED, "passphrase prompt interrupted");
		rc = -1;
		goto out;
	}
	if (rc == -1)
		goto out;
	rc = -1;
	if (toolong) {
		err_set(e, ERR_USAGE, "passphrase longer than %d bytes",
		    PASS_MAX);
		goto out;
	}
	if (len == 0) {
		err_set(e, ERR_USAGE, "empty passphrase");
		goto out;
	}
	s->len = len;
	*out = s;
	s = NULL;
	rc = 0;
out:
	secret_free(s);
	return (rc);
}

static int
pass_from_tty(const char *purpose, int confirm, struct secret **out,
    struct err *e)
{
	struct secret *first = NULL, *second = NULL;
	char *prompt = NULL;
	int fd, rc = -1;

	*out = NULL;
	fd = open(PASS_TTY, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd == -1 || !isatty(fd)) {
		err_set(e, ERR_USAGE, "%s, or run on a terminal",
		    PASS_NO_SOURCE);
		err_mark(e, ERR_F_NOSECRET);
		goto out;
	}
	prompt = purpose != NULL ? xasprintf("Passphrase for %s: ", purpose)
	                         : xstrdup("Passphrase: ");
	if (pass_prompt(fd, prompt, &first, e) == -1)
		goto out;
	if (confirm) {
		free(prompt);
		prompt = purpose != NULL
		    ? xasprintf("Repeat passphrase for %s: ", purpose)
		    : xstrdup("Repeat passphrase: ");
		if (pass_prompt(fd, prompt, &second, e) == -1)
			goto out;
		if (!secret_equal(first, second)) {
			err_set(e, ERR_USAGE, "passphrases do not match");
			goto out;
		}
	}
	*out = first;
	first = NULL;
	rc = 0;
out:
	if (fd != -1)
		(void)close(fd);
	secret_free(first);
	secret_free(second);
	free(prompt);
	return (rc);
}

static int
pass_set(const char *s)
{
	return (s != NULL && *s != '\0');
}

int
pass_get(const struct pass_opts *o, const char *purpose, int confirm,
    struct secret **out, struct err *e)
{
	const char *envfile =
	    o->use_environment ? secure_getenv(PASS_ENV) : o->env_password_file;

	*out = NULL;
	if (pass_set(o->password_command))
		return (pass_from_command(o->password_command, out, e));
	if (pass_set(o->password_file))
		return (
		    pass_from_file(o->password_file, "password file", out, e));
	if (pass_set(envfile))
		return (pass_from_file(envfile, PASS_ENV, out, e));
	if (!o->allow_prompt) {
		err_set(e, ERR_USAGE, "%s", PASS_NO_SOURCE);
		return (err_mark(e, ERR_F_NOSECRET));
	}
	return (pass_from_tty(purpose, confirm, out, e));
}

int
pass_generate_machine_key(const char *path, struct err *e)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char raw[32];
	char hex[2 * sizeof(raw) + 1];
	size_t got = 0;
	int rc = -1;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_sys(e, ERR_IO, "machine key %s: getrandom", path);
			goto out;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		hex[2 * i] = digits[raw[i] >> 4];
		hex[2 * i + 1] = digits[raw[i] & 0xf];
	}
	hex[sizeof(hex) - 1] = '\n';
	if (afile_write_all(path, hex, sizeof(hex), 0600, AFILE_NOREPLACE, e) ==
	    -1) {
		err_wrap(e, "machine key");
		goto out;
	}
	rc = 0;
out:
	wipe(raw, sizeof(raw));
	wipe(hex, sizeof(hex));
	return (rc);
}
