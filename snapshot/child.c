/*
 * Child processes: posix_spawn (safe beside the repository's threads),
 * poll on stdout and stderr together so that a chatty stderr never blocks
 * the child, a deadline for hooks, the interrupt flag for everything.
 */
#include "snapshot/child.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

extern char **environ;

/* How much of the tail goes into a one-line message. */
#define TAIL_MSG 300
/* How often a blocked wait looks at the interrupt flag (ms). */
#define POLL_MS 200

struct child {
	pid_t pid;
	int out, errfd; /* -1 when closed */
	int reaped, status;
	char *label;
	unsigned timeout;
	struct timespec deadline;
	volatile sig_atomic_t *interrupted;
	char tail[CHILD_TAIL_MAX];
	size_t ntail;
	int cut; /* bytes before the tail were dropped */
	char line[TAIL_MSG + 8];
	char why[256]; /* set when we killed it */
	enum err_class why_class;
};

static void
now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

/* Milliseconds until the deadline (INT32 max without one); 0 if past. */
static int
ms_left(const struct child *c)
{
	struct timespec t;
	long long ms;

	if (c->timeout == 0)
		return (POLL_MS);
	now(&t);
	ms = (long long)(c->deadline.tv_sec - t.tv_sec) * 1000 +
	    (c->deadline.tv_nsec - t.tv_nsec) / 1000000;
	if (ms <= 0)
		return (0);
	return (ms > POLL_MS ? POLL_MS : (int)ms);
}

static int
past_deadline(const struct child *c)
{
	struct timespec t;

	if (c->timeout == 0)
		return (0);
	now(&t);
	return (t.tv_sec > c->deadline.tv_sec ||
	    (t.tv_sec == c->deadline.tv_sec &&
	        t.tv_nsec >= c->deadline.tv_nsec));
}

static void
tail_add(struct child *c, const char *p, size_t n)
{
	if (n >= CHILD_TAIL_MAX) {
		p += n - CHILD_TAIL_MAX;
		n = CHILD_TAIL_MAX;
		c->ntail = 0;
		c->cut = 1;
	} else if (c->ntail + n > CHILD_TAIL_MAX) {
		size_t drop = c->ntail + n - CHILD_TAIL_MAX;

		memmove(c->tail, c->tail + drop, c->ntail - drop);
		c->ntail -= drop;
		c->cut = 1;
	}
	memcpy(c->tail + c->ntail, p, n);
	c->ntail += n;
}

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/* Read what stderr has; 0 at its end (closed), 1 otherwise. */
static void
read_err(struct child *c)
{
	char buf[4096];
	ssize_t n = read(c->errfd, buf, sizeof(buf));

	if (n > 0)
		tail_add(c, buf, (size_t)n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		close_fd(&c->errfd);
}

void
child_kill(struct child *c)
{
	if (c != NULL && !c->reaped && c->pid > 0)
		(void)kill(-c->pid, SIGKILL);
}

/* Kill it and remember why: what finish and read report. */
static int
stop(struct child *c, enum err_class cl, const char *why, struct err *e)
{
	child_kill(c);
	if (c->why[0] == '\0') {
		snprintf(c->why, sizeof(c->why), "%s", why);
		c->why_class = cl;
	}
	return (err_set(e, cl, "%s %s", c->label, c->why));
}

/* The interrupt flag or the deadline: -1 with e after killing it. */
static int
check_stop(struct child *c, struct err *e)
{
	char why[64];

	if (c->interrupted != NULL && *c->interrupted)
		return (stop(c, ERR_INTERRUPTED, "interrupted", e));
	if (past_deadline(c)) {
		snprintf(why, sizeof(why), "timed out after %u s (killed)",
		    c->timeout);
		return (stop(c, ERR_IO, why, e));
	}
	return (0);
}

/* PATH lookup in the parent: posix_spawnp does it, this only names it. */
int
child_start(const struct child_opts *o, struct child **out, struct err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def, none;
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, rc = -1, fa_ok = 0,
	    at_ok = 0, serr;
	const char *shargv[4];
	char **envp = NULL;
	size_t nenv = 0;
	struct child *c;

	*out = NULL;
	c = xcalloc(1, sizeof(*c));
	c->out = c->errfd = -1;
	c->pid = -1;
	c->timeout = o->timeout;
	c->interrupted = o->interrupted;
	c->label = xstrdup(o->label ? o->label
	        : o->shell          ? o->shell
	                            : o->argv[0]);
	if (o->timeout > 0) {
		now(&c->deadline);
		c->deadline.tv_sec += (time_t)o->timeout;
	}
	if ((o->read_stdout && pipe2(op, O_CLOEXEC) == -1) ||
	    pipe2(ep, O_CLOEXEC) == -1) {
		err_sys(e, ERR_IO, "%s: pipe", c->label);
		goto out;
	}
	for (char **p = environ; *p != NULL; p++)
		nenv++;
	envp = xcalloc(nenv + o->nenv + 1, sizeof(*envp));
	nenv = 0;
	for (size_t i = 0; i < o->nenv; i++)
		envp[nenv++] = (char *)o->env[i];
	for (char **p = environ; *p != NULL; p++) {
		size_t k = strcspn(*p, "=");
		int dup = 0;

		for (size_t i = 0; i < o->nenv; i++)
			if (strncmp(o->env[i], *p, k + 1) == 0)
				dup = 1;
		if (!dup)
			envp[nenv++] = *p;
	}
	envp[nenv] = NULL;

	if (posix_spawn_file_actions_init(&fa) != 0)
		goto spawnfail;
	fa_ok = 1;
	if (posix_spawnattr_init(&at) != 0)
		goto spawnfail;
	at_ok = 1;
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigemptyset(&none);
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	        0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa,
	        o->read_stdout ? op[1] : ep[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, ep[1], 2) != 0 ||
	    posix_spawnattr_setflags(&at,
	        POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
	            POSIX_SPAWN_SETSIGMASK) != 0 ||
	    posix_spawnattr_setpgroup(&at, 0) != 0 ||
	    posix_spawnattr_setsigdefault(&at, &def) != 0 ||
	    posix_spawnattr_setsigmask(&at, &none) != 0)
		goto spawnfail;
	if (o->shell != NULL) {
		shargv[0] = "sh";
		shargv[1] = "-c";
		shargv[2] = o->shell;
		shargv[3] = NULL;
		serr = posix_spawn(&c->pid, "/bin/sh", &fa, &at,
		    (char *const *)shargv, envp);
	} else
		serr = posix_spawnp(&c->pid, o->argv[0], &fa, &at,
		    (char *const *)o->argv, envp);
	if (serr != 0) {
		c->pid = -1;
		errno = serr;
		err_sys(e, ERR_IO, "cannot run %s", c->label);
		goto out;
	}
	close_fd(&op[1]);
	close_fd(&ep[1]);
	c->out = op[0];
	c->errfd = ep[0];
	/* Dumps are big: fewer, larger reads (best effort). */
	if (c->out != -1)
		(void)fcntl(c->out, F_SETPIPE_SZ, 1 << 20);
	op[0] = ep[0] = -1;
	*out = c;
	c = NULL;
	rc = 0;
	goto out;
spawnfail:
	err_sys(e, ERR_IO, "cannot run %s", c->label);
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	close_fd(&op[0]);
	close_fd(&op[1]);
	close_fd(&ep[0]);
	close_fd(&ep[1]);
	free(envp);
	child_free(c);
	return (rc);
}

ssize_t
child_read(struct child *c, void *buf, size_t len, struct err *e)
{
	for (;;) {
		struct pollfd pf[2];
		nfds_t n = 0;
		int r, io = -1, ie = -1;
		char why[128];

		if (c->out == -1)
			return (0);
		if (check_stop(c, e) == -1)
			return (-1);
		pf[n].fd = c->out;
		pf[n].events = POLLIN;
		io = (int)n++;
		if (c->errfd != -1) {
			pf[n].fd = c->errfd;
			pf[n].events = POLLIN;
			ie = (int)n++;
		}
		r = poll(pf, n, ms_left(c));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, sizeof(why), "poll: %s", strerror(errno));
			return (stop(c, ERR_IO, why, e));
		}
		if (ie != -1 && pf[ie].revents != 0)
			read_err(c);
		if (pf[io].revents != 0) {
			ssize_t got = read(c->out, buf, len);

			if (got > 0)
				return (got);
			if (got == 0) {
				close_fd(&c->out);
				return (0);
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(why, sizeof(why),
			    "output could not be read: %s", strerror(errno));
			return (stop(c, ERR_IO, why, e));
		}
	}
}

const char *
child_tail(struct child *c)
{
	size_t o = 0, start = 0;
	int space = 1;

	/* The last TAIL_MSG bytes, from a line start when there is one. */
	if (c->ntail > TAIL_MSG) {
		start = c->ntail - TAIL_MSG;
		for (size_t i = start; i < c->ntail; i++)
			if (c->tail[i] == '\n' && i + 1 < c->ntail) {
				start = i + 1;
				break;
			}
	}
	for (size_t i = start; i < c->ntail && o < TAIL_MSG; i++) {
		unsigned char ch = (unsigned char)c->tail[i];

		if (ch < 0x20 || ch == 0x7f)
			ch = ' ';
		if (ch == ' ' && space)
			continue;
		space = ch == ' ';
		c->line[o++] = (char)ch;
	}
	while (o > 0 && c->line[o - 1] == ' ')
		o--;
	c->line[o] = '\0';
	return (c->line);
}

/* Reap without blocking; 1 once it is reaped. */
static int
reap(struct child *c, int block)
{
	pid_t p;

	if (c->reaped)
		return (1);
	while ((p = waitpid(c->pid, &c->status, block ? 0 : WNOHANG)) == -1 &&
	    errno == EINTR)
		;
	if (p == c->pid) {
		c->reaped = 1;
		return (1);
	}
	if (p == -1) { /* not ours any more: nothing to wait for */
		c->reaped = 1;
		c->status = 0xff00;
		return (1);
	}
	return (0);
}

int
child_finish(struct child *c, struct err *e)
{
	char junk[16384];
	struct err ie;
	const char *tail;

	err_clear(&ie);
	/*
	 * Until both pipes close, or the child has ended (then what its
	 * stderr still holds is read without waiting: a grandchild may keep
	 * the pipes open).
	 */
	while (c->out != -1 || c->errfd != -1) {
		struct pollfd pf[2];
		nfds_t n = 0;
		int done = reap(c, 0);

		if (!done && c->why[0] == '\0' && check_stop(c, &ie) == -1)
			continue;
		if (c->out != -1) {
			pf[n].fd = c->out;
			pf[n++].events = POLLIN;
		}
		if (c->errfd != -1) {
			pf[n].fd = c->errfd;
			pf[n++].events = POLLIN;
		}
		if (poll(pf, n, done ? 0 : ms_left(c)) <= 0) {
			if (done)
				break;
			continue;
		}
		for (nfds_t i = 0; i < n; i++) {
			if (pf[i].revents == 0)
				continue;
			if (pf[i].fd == c->errfd)
				read_err(c);
			else {
				ssize_t got = read(c->out, junk, sizeof(junk));

				if (got == 0 ||
				    (got == -1 && errno != EINTR &&
				        errno != EAGAIN))
					close_fd(&c->out);
			}
		}
	}
	close_fd(&c->out);
	close_fd(&c->errfd);
	reap(c, 1);
	tail = child_tail(c);
	if (c->why[0] != '\0')
		return (err_set(e, c->why_class, "%s %s%s%s", c->label, c->why,
		    tail[0] ? ": " : "", tail));
	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		return (0);
	if (WIFSIGNALED(c->status))
		return (err_set(e, ERR_IO, "%s was killed by signal %d%s%s",
		    c->label, WTERMSIG(c->status), tail[0] ? ": " : "", tail));
	return (err_set(e, ERR_IO, "%s exited with status %d%s%s", c->label,
	    WEXITSTATUS(c->status), tail[0] ? ": " : "", tail));
}

void
child_free(struct child *c)
{
	if (c == NULL)
		return;
	if (c->pid > 0 && !c->reaped) {
		child_kill(c);
		reap(c, 1);
	}
	close_fd(&c->out);
	close_fd(&c->errfd);
	free(c->label);
	free(c);
}

int
child_run(const struct child_opts *o, struct err *e)
{
	struct child_opts ro = *o;
	struct child *c;
	int rc;

	ro.read_stdout = 0;
	if (child_start(&ro, &c, e) == -1)
		return (-1);
	rc = child_finish(c, e);
	child_free(c);
	return (rc);
}

int
child_output(const struct child_opts *o, char *out, size_t max, struct err *e)
{
	struct child_opts ro = *o;
	struct child *c;
	size_t have = 0;
	char buf[512];
	ssize_t n;
	int rc = -1;

	out[0] = '\0';
	ro.read_stdout = 1;
	if (child_start(&ro, &c, e) == -1)
		return (-1);
	while ((n = child_read(c, buf, sizeof(buf), e)) > 0) {
		size_t k = (size_t)n;

		if (k > max - 1 - have)
			k = max - 1 - have;
		memcpy(out + have, buf, k);
		have += k;
	}
	if (child_finish(c, e) == 0 && n == 0)
		rc = 0;
	out[have] = '\0';
	while (have > 0 && (out[have - 1] == '\n' || out[have - 1] == '\r'))
		out[--have] = '\0';
	child_free(c);
	return (rc);
}
