/*
 * A real sshd for the unit tests (tests/harness/sshd.h): keys from
 * ssh-keygen, a generated sshd_config, a free loopback port.
 */
#include "sshd.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tutil.h"

#define SSHD_BIN    "/usr/sbin/sshd"
#define START_TRIES 5

static int say(char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
say(char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
	return (-1);
}

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* A loopback port nothing listens on right now (it may be taken later). */
static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return (port);
}

/*
 * fork and exec argv with stdin from /dev/null and stdout, stderr to log
 * (appended).  With pdeath, the child gets SIGTERM when this thread ends.
 */
static pid_t
spawn(char *const argv[], const char *log, int pdeath)
{
	pid_t parent = getpid(), pid;
	int in, out;

	if ((pid = fork()) != 0)
		return (pid);
	if (pdeath &&
	    (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent))
		_exit(126);
	in = open("/dev/null", O_RDONLY);
	out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (in == -1 || out == -1 || dup2(in, 0) == -1 || dup2(out, 1) == -1 ||
	    dup2(out, 2) == -1)
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

static int
run(char *const argv[], const char *log)
{
	pid_t pid = spawn(argv, log, 0);
	int status;

	if (pid == -1)
		return (-1);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return (-1);
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1);
}

static int
keygen(const char *dir, const char *name, const char *log)
{
	char path[PATH_MAX];
	char *argv[] = { "/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "",
		"-C", "coffer-unit", "-f", path, NULL };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return (run(argv, log));
}

/* The last line of file (at most size - 1 bytes of it), "" if none. */
static void
last_line(const char *file, char *out, size_t size)
{
	char *all = tutil_read_file(file, NULL), *p;

	out[0] = '\0';
	if (all == NULL)
		return;
	p = all + strlen(all);
	while (p > all && p[-1] == '\n')
		*--p = '\0';
	while (p > all && p[-1] != '\n')
		p--;
	snprintf(out, size, "%s", p);
	free(all);
}

static int
log_has(const char *file, const char *needle)
{
	char *all = tutil_read_file(file, NULL);
	int found = all != NULL && strstr(all, needle) != NULL;

	free(all);
	return (found);
}

static int
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (f == NULL)
		return (-1);
	fputs(text, f);
	return (fclose(f) == 0 ? 0 : -1);
}

static int
write_config(struct tsshd *d, const char *cfg)
{
	char *text;
	int rc;

	if (asprintf(&text,
	        "ListenAddress 127.0.0.1:%d\n"
	        "HostKey %s/host_ed25519\n"
	        "PidFile %s/sshd.pid\n"
	        "AuthorizedKeysFile %s/authorized_keys\n"
	        "UsePAM no\n"
	        "StrictModes no\n"
	        "PubkeyAuthentication yes\n"
	        "PasswordAuthentication no\n"
	        "KbdInteractiveAuthentication no\n"
	        "PermitRootLogin prohibit-password\n"
	        "UseDNS no\n"
	        "LogLevel VERBOSE\n"
	        /* Parallel transfers: stay under the connection limits. */
	        "MaxStartups 100\n"
	        "MaxSessions 100\n"
	        "Subsystem sftp internal-sftp\n",
	        d->port, d->dir, d->dir, d->dir) == -1)
		return (-1);
	rc = write_text(cfg, text);
	free(text);
	return (rc);
}

/* Wait until sshd listens (1), exits or times out (0). */
static int
await_listening(struct tsshd *d)
{
	char want[96];
	int status;

	snprintf(want, sizeof(want), "Server listening on 127.0.0.1 port %d.",
	    d->port);
	for (int i = 0; i < 500; i++) {
		if (log_has(d->log, want))
			return (1);
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = -1;
			return (0);
		}
		nap_ms(20);
	}
	return (0);
}

static int
known_hosts(struct tsshd *d)
{
	char path[PATH_MAX], *pub, *sp;
	char *line;
	int rc;

	snprintf(path, sizeof(path), "%s/host_ed25519.pub", d->dir);
	if ((pub = tutil_read_file(path, NULL)) == NULL)
		return (-1);
	/* "ssh-ed25519 BASE64 comment": keep the type and the key. */
	if ((sp = strchr(pub, ' ')) == NULL ||
	    (sp = strchr(sp + 1, ' ')) == NULL) {
		free(pub);
		return (-1);
	}
	*sp = '\0';
	if (asprintf(&line, "[127.0.0.1]:%d %s\n", d->port, pub) == -1) {
		free(pub);
		return (-1);
	}
	rc = write_text(d->known_hosts, line);
	free(line);
	free(pub);
	return (rc);
}

int
tsshd_start(struct tsshd *d, char *msg, size_t msgsize)
{
	const char *tmp = getenv("TMPDIR");
	struct passwd *pw = getpwuid(geteuid());
	char cfg[PATH_MAX], pub[PATH_MAX + 8], ak[PATH_MAX], line[256];
	char *text = NULL;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->owner = getpid();
	if (access(SSHD_BIN, X_OK) == -1)
		return (say(msg, msgsize,
		    "needs %s: install openssh-server (CI has it)", SSHD_BIN));
	if (pw == NULL)
		return (say(msg, msgsize, "who am I? getpwuid failed"));
	snprintf(d->user, sizeof(d->user), "%s", pw->pw_name);
	/* sshd's privilege separation directory, as root. */
	if (geteuid() == 0)
		(void)mkdir("/run/sshd", 0755);
	snprintf(d->dir, sizeof(d->dir), "%s/coffer-sshd.XXXXXX",
	    tmp == NULL || *tmp == '\0' ? "/tmp" : tmp);
	if (mkdtemp(d->dir) == NULL) {
		say(msg, msgsize, "mkdtemp %s: %s", d->dir, strerror(errno));
		d->dir[0] = '\0';
		return (-1);
	}
	snprintf(d->log, sizeof(d->log), "%s/server.log", d->dir);
	snprintf(d->key, sizeof(d->key), "%s/id_ed25519", d->dir);
	snprintf(d->known_hosts, sizeof(d->known_hosts), "%s/known_hosts",
	    d->dir);
	snprintf(cfg, sizeof(cfg), "%s/sshd_config", d->dir);
	snprintf(pub, sizeof(pub), "%s.pub", d->key);
	snprintf(ak, sizeof(ak), "%s/authorized_keys", d->dir);
	if (keygen(d->dir, "host_ed25519", d->log) == -1 ||
	    keygen(d->dir, "id_ed25519", d->log) == -1) {
		last_line(d->log, line, sizeof(line));
		say(msg, msgsize, "ssh-keygen failed: %s", line);
		goto out;
	}
	if ((text = tutil_read_file(pub, NULL)) == NULL ||
	    write_text(ak, text) == -1) {
		say(msg, msgsize, "cannot write %s", ak);
		goto out;
	}
	for (int try = 0; try < START_TRIES; try++) {
		char *argv[] = { SSHD_BIN, "-D", "-e", "-f", cfg, NULL };

		if ((d->port = free_port()) == -1) {
			say(msg, msgsize, "no free port: %s", strerror(errno));
			goto out;
		}
		if (write_config(d, cfg) == -1) {
			say(msg, msgsize, "cannot write %s", cfg);
			goto out;
		}
		/* sshd re-executes itself per connection: absolute paths. */
		if ((d->pid = spawn(argv, d->log, 1)) == -1) {
			say(msg, msgsize, "fork: %s", strerror(errno));
			goto out;
		}
		if (await_listening(d))
			break;
		if (d->pid != -1) {
			say(msg, msgsize, "sshd did not listen within 10 s");
			goto out;
		}
		/* It exited: the port was taken meanwhile, or worse. */
		last_line(d->log, line, sizeof(line));
		say(msg, msgsize, "sshd exited: %s", line);
		if (strstr(line, "Address already in use") == NULL)
			goto out;
	}
	if (d->pid == -1)
		goto out;
	if (known_hosts(d) == -1) {
		say(msg, msgsize, "cannot write %s", d->known_hosts);
		goto out;
	}
	rc = 0;
out:
	free(text);
	if (rc == -1)
		tsshd_stop(d);
	return (rc);
}

void
tsshd_stop(struct tsshd *d)
{
	int status;

	/* Only the process that started it (not a forked test) stops it. */
	if (d->pid > 0 && d->owner == getpid()) {
		(void)kill(d->pid, SIGTERM);
		for (int i = 0; i < 250; i++) {
			if (waitpid(d->pid, &status, WNOHANG) != 0)
				break;
			nap_ms(20);
			if (i == 249) {
				(void)kill(d->pid, SIGKILL);
				(void)waitpid(d->pid, &status, 0);
			}
		}
	}
	if (d->owner != getpid())
		return;
	d->pid = -1;
	if (d->dir[0] != '\0')
		tutil_rmtree(d->dir);
	d->dir[0] = '\0';
}
