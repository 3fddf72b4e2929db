/*
 * Error values: formatting into a fixed buffer, class to exit status.
 */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Append sep and tail to the n-byte string in buf, truncating. */
static void
append(char *buf, size_t size, size_t n, const char *sep, const char *tail)
{
	for (const char *parts[] = { sep, tail }, **q = parts; q < parts + 2;
	     q++)
		for (const char *c = *q; *c != '\0' && n + 1 < size; c++)
			buf[n++] = *c;
	buf[n] = '\0';
}

void
err_clear(struct err *e)
{
	e->class = ERR_NONE;
	e->sys_errno = 0;
	e->flags = 0;
	e->msg[0] = '\0';
}

int
err_set(struct err *e, enum err_class c, const char *fmt, ...)
{
	va_list ap;

	e->class = c;
	e->sys_errno = 0;
	e->flags = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return (-1);
}

int
err_sys(struct err *e, enum err_class c, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t n;

	e->sys_errno = saved;
	e->flags = 0;
	e->class = (saved == ENOSPC || saved == EDQUOT) ? ERR_NOSPACE : c;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	append(e->msg, sizeof(e->msg), n, ": ", strerror(saved));
	errno = saved;
	return (-1);
}

int
err_wrap(struct err *e, const char *fmt, ...)
{
	char old[ERR_MSG_MAX];
	va_list ap;
	size_t n;

	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (old[0] != '\0')
		append(e->msg, sizeof(e->msg), n, ": ", old);
	if (e->class == ERR_NONE)
		e->class = ERR_INTERNAL;
	return (-1);
}

int
err_mark(struct err *e, unsigned flags)
{
	e->flags |= flags;
	return (-1);
}

int
err_has(const struct err *e, unsigned flags)
{
	return (flags != 0 && (e->flags & flags) == flags);
}

int
err_exit_status(enum err_class c)
{
	switch (c) {
	case ERR_NONE:
		return (EXIT_OK);
	case ERR_USAGE:
	case ERR_CONFIG:
		return (EXIT_USAGE);
	case ERR_CORRUPT:
		return (EXIT_CORRUPT);
	case ERR_NET:
		return (EXIT_NET);
	case ERR_HOSTKEY:
		return (EXIT_HOSTKEY);
	case ERR_AUTH:
		return (EXIT_AUTH);
	case ERR_NOREPO:
		return (EXIT_NOREPO);
	case ERR_LOCKED:
		return (EXIT_LOCKED);
	case ERR_KEY:
		return (EXIT_KEY);
	case ERR_INTERRUPTED:
		return (EXIT_INTERRUPTED);
	case ERR_INTERNAL:
	case ERR_IO:
	case ERR_NOSPACE:
		break;
	}
	return (EXIT_ERROR);
}

int
err_retryable(const struct err *e)
{
	return (e->class == ERR_NET);
}

const char *
err_class_name(enum err_class c)
{
	static const char *const names[] = {
		[ERR_NONE] = "none",
		[ERR_INTERNAL] = "internal",
		[ERR_USAGE] = "usage",
		[ERR_CONFIG] = "config",
		[ERR_IO] = "io",
		[ERR_NOSPACE] = "nospace",
		[ERR_NET] = "net",
		[ERR_HOSTKEY] = "hostkey",
		[ERR_AUTH] = "auth",
		[ERR_NOREPO] = "norepo",
		[ERR_LOCKED] = "locked",
		[ERR_KEY] = "key",
		[ERR_CORRUPT] = "corrupt",
		[ERR_INTERRUPTED] = "interrupted",
	};

	if ((size_t)c >= sizeof(names) / sizeof(names[0]) || names[c] == NULL)
		return ("unknown");
	return (names[c]);
}
