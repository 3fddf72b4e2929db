/*
 * Child processes: posix_spawn with pipes; a thread drains stderr (lines
 * to the callback, bytes to the tail) so that the child never blocks on
 * it while we feed its stdin or read its stdout; the deadline and the
 * interrupt flag are looked at by whoever waits (proc_read, proc_finish,
 * a caller's writer polling proc_in).
 */
#include "proc.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

extern char **environ;

/* How much of the tail goes into a one-line message. */
#define TAIL_MSG 300
/* The longest line kept as the last (error) line. */
#define LINE_KEEP 400
/* Lines longer than this reach the callback cut in pieces. */
#define LINE_BUF 4096
/* How often a blocked wait looks at the interrupt flag (ms). */
#define POLL_MS 200
/* The longest nap while waiting for a child without stdout (ms). */
#define NAP_MAX 50

struct proc {
	pid_t pid;
	int group;   /* pid leads its own process group */
	int in, out; /* our pipe ends, -1 when closed */
	int errfd;   /* the reader thread's */
	int wake[2]; /* tells the reader to stop waiting for the end */
	int reaped, status;
	char *label;
	unsigned timeout;
	struct timespec deadline;
	volatile sig_atomic_t *interrupted;
	char why[256]; /* set when we killed it */
	enum err_class why_class;

	/* The reader thread's until it is joined. */
	pthread_t reader;
	int reading;
	void (*line)(void *arg, const char *line);
	void *line_arg;
	int tail_errors;
	char tail[PROC_TAIL_MAX];
	size_t ntail;
	char lbuf[LINE_BUF + 1];
	size_t nlbuf;
	char last[LINE_KEEP + 1];    /* last non-empty line */
	char lasterr[LINE_KEEP + 1]; /* last line reporting an error */

	char msg[TAIL_MSG + 8]; /* proc_tail's answer */
};

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		(void)close(*fd);
		*fd = -1;
	}
}

static void
now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

/* Milliseconds to wait at most: POLL_MS, or less before the deadline. */
static int
ms_left(const struct proc *p, int most)
{
	struct timespec t;
	long long ms;

	if (p->timeout == 0)
		return (most);
	now(&t);
	ms = (long long)(p->deadline.tv_sec - t.tv_sec) * 1000 +
	    (p->deadline.tv_nsec - t.tv_nsec) / 1000000;
	if (ms <= 0)
		return (0);
	return (ms > most ? most : (int)ms);
}

static int
past_deadline(const struct proc *p)
{
	struct timespec t;

	if (p->timeout == 0)
		return (0);
	now(&t);
	return (t.tv_sec > p->deadline.tv_sec ||
	    (t.tv_sec == p->deadline.tv_sec &&
	        t.tv_nsec >= p->deadline.tv_nsec));
}

/* ------------------------------------------------------------ stderr */

static void
tail_add(struct proc *p, const char *s, size_t n)
{
	if (n >= PROC_TAIL_MAX) {
		s += n - PROC_TAIL_MAX;
		n = PROC_TAIL_MAX;
		p->ntail = 0;
	} else if (p->ntail + n > PROC_TAIL_MAX) {
		size_t drop = p->ntail + n - PROC_TAIL_MAX;

		memmove(p->tail, p->tail + drop, p->ntail - drop);
		p->ntail -= drop;
	}
	memcpy(p->tail + p->ntail, s, n);
	p->ntail += n;
}

static int
is_error_line(const char *s)
{
	return (strstr(s, "error:") != NULL || strstr(s, "ERROR") != NULL ||
	    strstr(s, "FATAL") != NULL);
}

/* s (len bytes) into a LINE_KEEP + 1 buffer, cut if longer. */
static void
keep(char *dst, const char *s, size_t len)
{
	if (len > LINE_KEEP)
		len = LINE_KEEP;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* One line of lbuf (len bytes) to the callback and the last lines. */
static void
line_done(struct proc *p, size_t len)
{
	char *s = p->lbuf;

	s[len] = '\0';
	if (len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	if (p->line != NULL)
		p->line(p->line_arg, s);
	if (len > 0) {
		keep(p->last, s, len);
		if (is_error_line(s))
			keep(p->lasterr, s, len);
	}
	p->nlbuf = 0;
}

static void
got_bytes(struct proc *p, const char *s, size_t n)
{
	tail_add(p, s, n);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			line_done(p, p->nlbuf);
			continue;
		}
		p->lbuf[p->nlbuf++] = s[i];
		if (p->nlbuf == LINE_BUF)
			line_done(p, p->nlbuf);
	}
}

/*
 * The reader: stderr until its end, or until woken after the child was
 * reaped (a grandchild may hold the pipe: what is there is still read).
 */
static void *
read_stderr(void *arg)
{
	struct proc *p = arg;
	char buf[4096];
	int woken = 0;

	for (;;) {
		struct pollfd pf[2] = { { p->errfd, POLLIN, 0 },
			{ p->wake[0], POLLIN, 0 } };
		ssize_t n;

		if (!woken && poll(pf, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!woken && pf[1].revents != 0)
			woken = 1;
		if (!woken && pf[0].revents == 0)
			continue;
		n = read(p->errfd, buf, sizeof(buf));
		if (n > 0) {
			got_bytes(p, buf, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN && !woken)
			continue;
		break; /* the end, an error, or woken and nothing more */
	}
	if (p->nlbuf > 0)
		line_done(p, p->nlbuf);
	return (NULL);
}

static void
join_reader(struct proc *p)
{
	ssize_t n;

	if (!p->reading)
		return;
	/* A full pipe already wakes the reader: nothing to do on failure. */
	n = write(p->wake[1], "", 1);
	(void)n;
	pthread_join(p->reader, NULL);
	p->reading = 0;
}

/* ------------------------------------------------------------ start */

/* Our environment with add set over it. */
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
	for (size_t j = 0; j < m; j++)
		v[k++] = (char *)(uintptr_t)add[j];
	for (size_t i = 0; i < n; i++) {
		size_t klen = strcspn(environ[i], "=");
		int replaced = 0;

		for (size_t j = 0; j < m; j++)
			if (strncmp(add[j], environ[i], klen) == 0 &&
			    add[j][klen] == '=')
				replaced = 1;
		if (!replaced)
			v[k++] = environ[i];
	}
	return (v);
}

static int
spawn_failed(const struct proc_opts *o, const char *label, int serr,
    struct err *e)
{
	errno = serr;
	if (serr == ENOENT && o->shell == NULL &&
	    strchr(o->argv[0], '/') == NULL) {
		err_set(e, ERR_IO,
		    "cannot run %s: not found in PATH (is it installed?)",
		    label);
		e->sys_errno = ENOENT;
		return (-1);
	}
	return (err_sys(e, ERR_IO, "cannot run %s", label));
}

int
proc_start(const struct proc_opts *o, struct proc **out, struct err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def, none;
	int ip[2] = { -1, -1 }, op[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int nullfd = -1, rc = -1, fa_ok = 0, at_ok = 0, serr, cin, cout;
	short flags;
	const char *shargv[4];
	char **envp = NULL;
	struct proc *p;

	*out = NULL;
	p = xcalloc(1, sizeof(*p));
	p->in = p->out = p->errfd = -1;
	p->wake[0] = p->wake[1] = -1;
	p->pid = -1;
	p->group = !o->foreground;
	p->timeout = o->timeout;
	p->interrupted = o->interrupted;
	p->line = o->line;
	p->line_arg = o->line_arg;
	p->tail_errors = o->tail_errors;
	p->label = xstrdup(o->label ? o->label
	        : o->shell          ? o->shell
	                            : o->argv[0]);
	if (o->timeout > 0) {
		now(&p->deadline);
		p->deadline.tv_sec += (time_t)o->timeout;
	}
	if ((o->in == PROC_NULL || o->out == PROC_NULL) &&
	    (nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		err_sys(e, ERR_IO, "%s: /dev/null", p->label);
		goto out;
	}
	if (pipe2(ep, O_CLOEXEC) == -1 || pipe2(p->wake, O_CLOEXEC) == -1 ||
	    (o->in == PROC_PIPE && pipe2(ip, O_CLOEXEC) == -1) ||
	    (o->out == PROC_PIPE && pipe2(op, O_CLOEXEC) == -1)) {
		err_sys(e, ERR_IO, "%s: pipe", p->label);
		goto out;
	}
	cin = o->in == PROC_PIPE ? ip[0] : o->in == PROC_FD ? o->in_fd : nullfd;
	cout = o->out == PROC_PIPE ? op[1]
	    : o->out == PROC_FD    ? o->out_fd
	    : o->out == PROC_TAIL  ? ep[1]
	                           : nullfd;
	envp = make_env(o->env);

	if (posix_spawn_file_actions_init(&fa) != 0)
		goto spawnfail;
	fa_ok = 1;
	if (posix_spawnattr_init(&at) != 0)
		goto spawnfail;
	at_ok = 1;
	/* As from a shell: cli ignores SIGPIPE and may block signals. */
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigemptyset(&none);
	flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
	if (p->group)
		flags |= POSIX_SPAWN_SETPGROUP;
	if (posix_spawn_file_actions_adddup2(&fa, cin, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, cout, 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, ep[1], 2) != 0 ||
	    posix_spawnattr_setflags(&at, flags) != 0 ||
	    posix_spawnattr_setpgroup(&at, 0) != 0 ||
	    posix_spawnattr_setsigdefault(&at, &def) != 0 ||
	    posix_spawnattr_setsigmask(&at, &none) != 0)
		goto spawnfail;
	if (o->shell != NULL) {
		shargv[0] = "sh";
		shargv[1] = "-c";
		shargv[2] = o->shell;
		shargv[3] = NULL;
		serr = posix_spawn(&p->pid, "/bin/sh", &fa, &at,
		    (char *const *)(uintptr_t)shargv, envp);
	} else
		serr = posix_spawnp(&p->pid, o->argv[0], &fa, &at,
		    (char *const *)(uintptr_t)o->argv, envp);
	if (serr != 0) {
		p->pid = -1;
		spawn_failed(o, p->label, serr, e);
		goto out;
	}
	p->errfd = ep[0];
	ep[0] = -1;
	(void)fcntl(p->errfd, F_SETFL, O_NONBLOCK);
	if (o->in == PROC_PIPE) {
		p->in = ip[1];
		ip[1] = -1;
		/* Writers poll, so that they see the interrupt flag. */
		(void)fcntl(p->in, F_SETFL, O_NONBLOCK);
	}
	if (o->out == PROC_PIPE) {
		p->out = op[0];
		op[0] = -1;
		/* Dumps are big: fewer, larger reads (best effort). */
		(void)fcntl(p->out, F_SETPIPE_SZ, 1 << 20);
	}
	if ((serr = pthread_create(&p->reader, NULL, read_stderr, p)) != 0) {
		errno = serr;
		err_sys(e, ERR_IO, "%s: pthread_create", p->label);
		goto out;
	}
	p->reading = 1;
	*out = p;
	p = NULL;
	rc = 0;
	goto out;
spawnfail:
	err_sys(e, ERR_IO, "cannot run %s", p->label);
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	for (int i = 0; i < 2; i++) {
		close_fd(&ip[i]);
		close_fd(&op[i]);
		close_fd(&ep[i]);
	}
	close_fd(&nullfd);
	free(envp);
	proc_free(p);
	return (rc);
}

/* ------------------------------------------------------------ running */

int
proc_in(const struct proc *p)
{
	return (p->in);
}

void
proc_close_in(struct proc *p)
{
	close_fd(&p->in);
}

void
proc_kill(struct proc *p)
{
	if (p == NULL)
		return;
	proc_close_in(p);
	if (!p->reaped && p->pid > 0)
		(void)kill(p->group ? -p->pid : p->pid, SIGKILL);
}

/* Kill it and remember why: what finish and read report. */
static int
stop(struct proc *p, enum err_class cl, const char *why, struct err *e)
{
	proc_kill(p);
	if (p->why[0] == '\0') {
		snprintf(p->why, sizeof(p->why), "%s", why);
		p->why_class = cl;
	}
	return (err_set(e, cl, "%s %s", p->label, p->why));
}

/* The interrupt flag or the deadline: -1 with e after killing it. */
static int
check_stop(struct proc *p, struct err *e)
{
	char why[64];

	if (p->interrupted != NULL && *p->interrupted)
		return (stop(p, ERR_INTERRUPTED, "interrupted", e));
	if (past_deadline(p)) {
		snprintf(why, sizeof(why), "timed out after %u s (killed)",
		    p->timeout);
		return (stop(p, ERR_IO, why, e));
	}
	return (0);
}

ssize_t
proc_read(struct proc *p, void *buf, size_t len, struct err *e)
{
	for (;;) {
		struct pollfd pf;
		ssize_t got;
		char why[128];

		if (p->out == -1)
			return (0);
		if (check_stop(p, e) == -1)
			return (-1);
		pf.fd = p->out;
		pf.events = POLLIN;
		if (poll(&pf, 1, ms_left(p, POLL_MS)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, sizeof(why), "poll: %s", strerror(errno));
			return (stop(p, ERR_IO, why, e));
		}
		if (pf.revents == 0)
			continue;
		got = read(p->out, buf, len);
		if (got > 0)
			return (got);
		if (got == 0) {
			close_fd(&p->out);
			return (0);
		}
		if (errno == EINTR || errno == EAGAIN)
			continue;
		snprintf(why, sizeof(why), "output could not be read: %s",
		    strerror(errno));
		return (stop(p, ERR_IO, why, e));
	}
}

/* Reap, blocking or not; 1 once it is reaped. */
static int
reap(struct proc *p, int block)
{
	pid_t w;

	if (p->reaped)
		return (1);
	while ((w = waitpid(p->pid, &p->status, block ? 0 : WNOHANG)) == -1 &&
	    errno == EINTR)
		;
	if (w == p->pid) {
		p->reaped = 1;
		return (1);
	}
	if (w == -1) { /* not ours any more: nothing to wait for */
		p->reaped = 1;
		p->status = 0xff00;
		return (1);
	}
	return (0);
}

/* The last bytes of the tail from a line start, on one line. */
static const char *
tail_bytes(struct proc *p)
{
	size_t o = 0, start = 0;
	int space = 1;

	if (p->ntail > TAIL_MSG) {
		start = p->ntail - TAIL_MSG;
		for (size_t i = start; i < p->ntail; i++)
			if (p->tail[i] == '\n' && i + 1 < p->ntail) {
				start = i + 1;
				break;
			}
	}
	for (size_t i = start; i < p->ntail && o < TAIL_MSG; i++) {
		unsigned char ch = (unsigned char)p->tail[i];

		if (ch < 0x20 || ch == 0x7f)
			ch = ' ';
		if (ch == ' ' && space)
			continue;
		space = ch == ' ';
		p->msg[o++] = (char)ch;
	}
	while (o > 0 && p->msg[o - 1] == ' ')
		o--;
	p->msg[o] = '\0';
	return (p->msg);
}

const char *
proc_tail(struct proc *p)
{
	if (p->reading)
		return ("");
	if (p->tail_errors)
		return (p->lasterr[0] != '\0' ? p->lasterr : p->last);
	return (tail_bytes(p));
}

int
proc_finish(struct proc *p, struct err *e)
{
	char junk[16384];
	struct err ie;
	const char *tail;
	int nap = 1;

	err_clear(&ie);
	proc_close_in(p);
	/* Until it has ended, reading what its stdout still says. */
	while (!reap(p, 0)) {
		struct pollfd pf = { p->out, POLLIN, 0 };
		int ms;

		if (p->why[0] == '\0' && check_stop(p, &ie) == -1)
			continue;
		ms = ms_left(p, p->out != -1 ? POLL_MS : nap);
		if (nap < NAP_MAX)
			nap *= 2;
		if (poll(&pf, p->out != -1 ? 1 : 0, ms) > 0) {
			ssize_t got = read(p->out, junk, sizeof(junk));

			if (got == 0 ||
			    (got == -1 && errno != EINTR && errno != EAGAIN))
				close_fd(&p->out);
		}
	}
	close_fd(&p->out);
	join_reader(p);
	tail = proc_tail(p);
	if (p->why[0] != '\0')
		return (err_set(e, p->why_class, "%s %s%s%s", p->label, p->why,
		    tail[0] ? ": " : "", tail));
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0)
		return (0);
	if (WIFSIGNALED(p->status))
		return (err_set(e, ERR_IO, "%s was killed by signal %d%s%s",
		    p->label, WTERMSIG(p->status), tail[0] ? ": " : "", tail));
	return (err_set(e, ERR_IO, "%s exited with status %d%s%s", p->label,
	    WEXITSTATUS(p->status), tail[0] ? ": " : "", tail));
}

void
proc_free(struct proc *p)
{
	if (p == NULL)
		return;
	if (p->pid > 0 && !p->reaped) {
		proc_kill(p);
		reap(p, 1);
	}
	join_reader(p);
	close_fd(&p->in);
	close_fd(&p->out);
	close_fd(&p->errfd);
	close_fd(&p->wake[0]);
	close_fd(&p->wake[1]);
	free(p->label);
	free(p);
}

int
proc_run(const struct proc_opts *o, struct err *e)
{
	struct proc *p;
	int rc;

	if (proc_start(o, &p, e) == -1)
		return (-1);
	rc = proc_finish(p, e);
	proc_free(p);
	return (rc);
}

int
proc_output(const struct proc_opts *o, char *out, size_t max, struct err *e)
{
	struct proc_opts ro = *o;
	struct proc *p;
	size_t have = 0;
	char buf[512];
	ssize_t n;
	int rc = -1;

	out[0] = '\0';
	ro.out = PROC_PIPE;
	if (proc_start(&ro, &p, e) == -1)
		return (-1);
	while ((n = proc_read(p, buf, sizeof(buf), e)) > 0) {
		size_t k = (size_t)n;

		if (k > max - 1 - have)
			k = max - 1 - have;
		memcpy(out + have, buf, k);
		have += k;
	}
	if (proc_finish(p, e) == 0 && n == 0)
		rc = 0;
	out[have] = '\0';
	while (have > 0 && (out[have - 1] == '\n' || out[have - 1] == '\r'))
		out[--have] = '\0';
	proc_free(p);
	return (rc);
}

static int
is_exec(const char *f)
{
	struct stat sb;

	return (
	    stat(f, &sb) == 0 && S_ISREG(sb.st_mode) && access(f, X_OK) == 0);
}

int
proc_have(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;
	int found = 0;

	if (strchr(prog, '/') != NULL)
		return (is_exec(prog));
	if (path == NULL)
		path = "/usr/bin:/bin";
	copy = xstrdup(path);
	for (char *d = strtok_r(copy, ":", &save); d != NULL && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char *f = xasprintf("%s/%s", *d ? d : ".", prog);

		found = is_exec(f);
		free(f);
	}
	free(copy);
	return (found);
}

/*
 * The contract is in proc.h.  Descendants are found by their parent in
 * /proc/PID/stat, repeatedly, as a killed process's children come to us
 * (the subreaper) only once it is gone.
 */
void
proc_kill_descendants(void)
{
	pid_t self = getpid();

	for (int round = 0; round < 100; round++) {
		pid_t *pids = NULL, *ppids = NULL;
		size_t n = 0, cap = 0;
		int found = 0;
		DIR *d;
		struct dirent *de;

		if ((d = opendir("/proc")) == NULL)
			return;
		while ((de = readdir(d)) != NULL) {
			char path[300], buf[512], *p;
			long pid, ppid;
			FILE *f;

			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/stat",
			    de->d_name);
			if ((f = fopen(path, "re")) == NULL)
				continue;
			p = fgets(buf, sizeof(buf), f);
			fclose(f);
			/* "PID (COMM) S PPID ...": COMM may hold anything. */
			if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
			    sscanf(buf, "%ld", &pid) != 1 ||
			    sscanf(p + 1, " %*c %ld", &ppid) != 1)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				pids = xreallocarray(pids, cap, sizeof(*pids));
				ppids =
				    xreallocarray(ppids, cap, sizeof(*ppids));
			}
			pids[n] = (pid_t)pid;
			ppids[n++] = (pid_t)ppid;
		}
		closedir(d);
		/* Mark descendants of self: repeat until nothing changes. */
		{
			char *mark = xcalloc(n ? n : 1, 1);
			int more = 1;

			while (more) {
				more = 0;
				for (size_t i = 0; i < n; i++) {
					if (mark[i])
						continue;
					int up = ppids[i] == self;

					for (size_t j = 0; j < n && !up; j++)
						up = mark[j] &&
						    pids[j] == ppids[i];
					if (up) {
						mark[i] = 1;
						more = 1;
					}
				}
			}
			for (size_t i = 0; i < n; i++)
				if (mark[i]) {
					(void)kill(pids[i], SIGKILL);
					found = 1;
				}
			free(mark);
		}
		free(pids);
		free(ppids);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!found)
			return;
		usleep(20000);
	}
}
