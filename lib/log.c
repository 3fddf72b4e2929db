/*
 * Logging: one line per message, to stderr ("coffer: warning: ...") or to
 * syslog with the matching priority.
 */
#include "log.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "xmalloc.h"

struct log {
	char *ident;
	enum log_level level;
	enum log_sink sink;
};

/*
 * Can a message reach the syslog daemon?  syslog(3) drops messages without
 * a word when nothing listens on _PATH_LOG, so ask the way it connects
 * (a datagram socket, else a stream one).  0, or -1 with errno.
 */
static int
syslog_reachable(void)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sa;
	int fd, saved = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", _PATH_LOG);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0)) == -1)
			return (-1);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return (0);
		}
		saved = errno;
		close(fd);
		if (saved != EPROTOTYPE)
			break;
	}
	errno = saved;
	return (-1);
}

struct log *
log_new(const char *ident, enum log_level level, enum log_sink sink)
{
	struct log *l = xcalloc(1, sizeof(*l));

	l->ident = xstrdup(ident);
	l->level = level;
	l->sink = sink;
	if (sink == LOG_SINK_SYSLOG && syslog_reachable() == -1) {
		/* Say it once, where it can be read, and keep the messages. */
		fprintf(stderr,
		    "%s: warning: syslog is not reachable (%s: %s): logging to "
		    "standard error instead\n",
		    l->ident, _PATH_LOG, strerror(errno));
		l->sink = LOG_SINK_STDERR;
	}
	if (l->sink == LOG_SINK_SYSLOG)
		openlog(l->ident, LOG_PID, LOG_DAEMON);
	return (l);
}

void
log_free(struct log *l)
{
	if (l == NULL)
		return;
	if (l->sink == LOG_SINK_SYSLOG)
		closelog();
	free(l->ident);
	free(l);
}

void
log_set_level(struct log *l, enum log_level level)
{
	l->level = level;
}

enum log_level
log_get_level(const struct log *l)
{
	return (l->level);
}

void
log_msg(struct log *l, enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "", "warning: ", "", "debug: " };
	char line[2048];
	va_list ap;

	if (l == NULL || level > l->level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One message, one line: a newline inside would forge a log entry. */
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (l->sink == LOG_SINK_SYSLOG)
		syslog(prio[level], "%s%s", tag[level], line);
	else
		fprintf(stderr, "%s: %s%s\n", l->ident, tag[level], line);
}

int
log_sink_parse(const char *s, enum log_sink *out)
{
	if (strcmp(s, "stderr") == 0)
		*out = LOG_SINK_STDERR;
	else if (strcmp(s, "syslog") == 0)
		*out = LOG_SINK_SYSLOG;
	else
		return (-1);
	return (0);
}
