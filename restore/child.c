/*
 * Child programs for database restores: posix_spawnp with pipes, and a
 * thread that drains the child's stderr line by line, so a chatty child
 * never blocks while we feed its stdin.
 */
#include "restore/child.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

extern char **environ;

#define LINE_MAX_KEEP 400 /* longest line kept for a message */

struct rst_child {
	char *name; /* argv[0] */
	pid_t pid;  /* -1 once reaped */
	int status;
	int in, out, errfd;
	pthread_t reader;
	int reading;
	void (*line)(void *arg, const char *line);
	void *line_arg;
	char last[LINE_MAX_KEEP + 1];    /* last non-empty line */
	char lasterr[LINE_MAX_KEEP + 1]; /* last line reporting an error */
};

static int
is_error_line(const char *s)
{
	return (strstr(s, "error:") != NULL || strstr(s, "ERROR") != NULL ||
	    strstr(s, "FATAL") != NULL);
}

static void
keep_line(struct rst_child *c, char *s, size_t len)
{
	s[len] = '\0';
	if (len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	if (c->line != NULL)
		c->line(c->line_arg, s);
	if (len == 0)
		return;
	snprintf(c->last, sizeof(c->last), "%s", s);
	if (is_error_line(s))
		snprintf(c->lasterr, sizeof(c->lasterr), "%s", s);
}

/* The stderr reader: lines up to 4 KiB; longer ones are cut. */
static void *
read_stderr(void *arg)
{
	struct rst_child *c = arg;
	char buf[4096 + 1];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(c->errfd, buf + have, sizeof(buf) - 1 - have);
		size_t start = 0;

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		for (size_t i = 0; i < have; i++)
			if (buf[i] == '\n') {
				keep_line(c, buf + start, i - start);
				start = i + 1;
			}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == sizeof(buf) - 1) {
			keep_line(c, buf, have);
			have = 0;
		}
	}
	if (have > 0)
		keep_line(c, buf, have);
	return (NULL);
}

/* The environment with spec->env set over ours. */
static char **
make_env(const char *const *add)
{
	size_t n = 0, m = 0, k = 0;
	char **v;

	while (environ[n] != NULL)
		n++;
	while (add != NULL && add[m] != NULL)
		m++;
	v = xcalloc(n + m + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t klen =
		    eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int replaced = 0;

		for (size_t j = 0; j < m; j++)
			if (strncmp(add[j], environ[i], klen) == 0 &&
			    add[j][klen] == '=')
				replaced = 1;
		if (!replaced)
			v[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		v[k++] = (char *)(uintptr_t)add[j];
	return (v);
}

int
rst_child_have(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;
	int found = 0;

	if (strchr(prog, '/') != NULL)
		return (access(prog, X_OK) == 0);
	if (path == NULL)
		path = "/usr/bin:/bin";
	copy = xstrdup(path);
	for (char *d = strtok_r(copy, ":", &save); d != NULL && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char *f = xasprintf("%s/%s", *d ? d : ".", prog);
		struct stat sb;

		found = stat(f, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    access(f, X_OK) == 0;
		free(f);
	}
	free(copy);
	return (found);
}

static int
pipe_cloexec(int p[2], struct err *e)
{
	if (pipe2(p, O_CLOEXEC) == -1)
		return (err_sys(e, ERR_IO, "pipe"));
	return (0);
}

int
rst_child_start(const struct rst_child_spec *spec, struct rst_child **out,
    struct err *e)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	int nullfd = -1, rc = -1, sr;
	posix_spawn_file_actions_t fa;
	struct rst_child *c;
	char **env = NULL;

	*out = NULL;
	c = xcalloc(1, sizeof(*c));
	c->name = xstrdup(spec->argv[0]);
	c->pid = -1;
	c->in = c->out = c->errfd = -1;
	c->line = spec->line;
	c->line_arg = spec->line_arg;
	posix_spawn_file_actions_init(&fa);
	if ((spec->in == RST_CHILD_NULL || spec->out == RST_CHILD_NULL) &&
	    (nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		err_sys(e, ERR_IO, "/dev/null");
		goto out;
	}
	if (pipe_cloexec(perr, e) == -1 ||
	    (spec->in == RST_CHILD_PIPE && pipe_cloexec(pin, e) == -1) ||
	    (spec->out == RST_CHILD_PIPE && pipe_cloexec(pout, e) == -1))
		goto out;
	posix_spawn_file_actions_adddup2(&fa,
	    spec->in == RST_CHILD_PIPE       ? pin[0]
	        : spec->in == RST_CHILD_NULL ? nullfd
	                                     : spec->in,
	    STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa,
	    spec->out == RST_CHILD_PIPE       ? pout[1]
	        : spec->out == RST_CHILD_NULL ? nullfd
	                                      : spec->out,
	    STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, perr[1], STDERR_FILENO);
	env = make_env(spec->env);
	sr = posix_spawnp(&c->pid, spec->argv[0], &fa, NULL,
	    (char *const *)(uintptr_t)spec->argv, env);
	if (sr != 0) {
		c->pid = -1;
		errno = sr;
		if (sr == ENOENT) {
			err_set(e, ERR_IO,
			    "cannot run %s: not found in PATH (is it "
			    "installed?)",
			    spec->argv[0]);
			e->sys_errno = ENOENT;
		} else
			err_sys(e, ERR_IO, "cannot run %s", spec->argv[0]);
		goto out;
	}
	close(perr[1]);
	perr[1] = -1;
	c->errfd = perr[0];
	perr[0] = -1;
	if (spec->in == RST_CHILD_PIPE) {
		close(pin[0]);
		pin[0] = -1;
		c->in = pin[1];
		pin[1] = -1;
		/* Writers poll, so that an interrupt is seen (restore.c). */
		(void)fcntl(c->in, F_SETFL, O_NONBLOCK);
	}
	if (spec->out == RST_CHILD_PIPE) {
		close(pout[1]);
		pout[1] = -1;
		c->out = pout[0];
		pout[0] = -1;
		(void)fcntl(c->out, F_SETFL, O_NONBLOCK);
	}
	if ((sr = pthread_create(&c->reader, NULL, read_stderr, c)) != 0) {
		errno = sr;
		err_sys(e, ERR_IO, "pthread_create");
		goto out;
	}
	c->reading = 1;
	*out = c;
	c = NULL;
	rc = 0;
out:
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	for (int i = 0; i < 2; i++) {
		if (pin[i] != -1)
			close(pin[i]);
		if (pout[i] != -1)
			close(pout[i]);
		if (perr[i] != -1)
			close(perr[i]);
	}
	if (nullfd != -1)
		close(nullfd);
	rst_child_free(c);
	return (rc);
}

int
rst_child_in(const struct rst_child *c)
{
	return (c->in);
}

int
rst_child_out(const struct rst_child *c)
{
	return (c->out);
}

void
rst_child_close_in(struct rst_child *c)
{
	if (c->in != -1)
		close(c->in);
	c->in = -1;
}

static void
join_reader(struct rst_child *c)
{
	if (c->reading)
		pthread_join(c->reader, NULL);
	c->reading = 0;
}

static void
set_status(struct rst_child *c, int ws)
{
	if (WIFEXITED(ws))
		c->status = WEXITSTATUS(ws);
	else if (WIFSIGNALED(ws))
		c->status = 128 + WTERMSIG(ws);
	else
		c->status = 255;
	c->pid = -1;
}

void
rst_child_kill(struct rst_child *c)
{
	int ws;

	if (c == NULL || c->pid == -1)
		return;
	rst_child_close_in(c);
	(void)kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &ws, 0) == -1 && errno == EINTR)
		;
	set_status(c, ws);
	join_reader(c);
}

int
rst_child_wait(struct rst_child *c, volatile sig_atomic_t *interrupted,
    int *status, struct err *e)
{
	/* Polled, so that a signal between a check and a wait is no race. */
	const struct timespec nap = { 0, 20 * 1000 * 1000 };

	rst_child_close_in(c);
	while (c->pid != -1) {
		int ws;
		pid_t p = waitpid(c->pid, &ws, WNOHANG);

		if (p == c->pid) {
			set_status(c, ws);
			break;
		}
		if (p == -1 && errno != EINTR) {
			err_sys(e, ERR_INTERNAL, "waitpid %s", c->name);
			rst_child_kill(c);
			return (-1);
		}
		if (interrupted != NULL && *interrupted) {
			rst_child_kill(c);
			return (err_set(e, ERR_INTERRUPTED,
			    "interrupted: %s stopped", c->name));
		}
		nanosleep(&nap, NULL);
	}
	join_reader(c);
	*status = c->status;
	return (0);
}

const char *
rst_child_tail(const struct rst_child *c)
{
	return (c->lasterr[0] != '\0' ? c->lasterr : c->last);
}

int
rst_child_failed(const struct rst_child *c, int status, struct err *e)
{
	const char *tail = rst_child_tail(c);

	if (status > 128)
		return (err_set(e, ERR_IO, "%s was killed by signal %d%s%s",
		    c->name, status - 128, *tail ? ": " : "", tail));
	return (err_set(e, ERR_IO, "%s exited with status %d%s%s", c->name,
	    status, *tail ? ": " : "", tail));
}

void
rst_child_free(struct rst_child *c)
{
	if (c == NULL)
		return;
	rst_child_kill(c);
	join_reader(c);
	rst_child_close_in(c);
	if (c->out != -1)
		close(c->out);
	if (c->errfd != -1)
		close(c->errfd);
	free(c->name);
	free(c);
}
