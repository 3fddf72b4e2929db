/*
 * Errors as values: a function that fails fills a struct err where the
 * failure is detected and returns -1 (or NULL); callers may add context;
 * only the top level prints.  The class decides the exit status and
 * whether a network operation is retried.
 */
#ifndef COFFER_ERR_H
#define COFFER_ERR_H

#include <stddef.h>

enum err_class {
	ERR_NONE = 0,
	ERR_INTERNAL,    /* a bug or an impossible state */
	ERR_USAGE,       /* bad command line */
	ERR_CONFIG,      /* bad or unsafe configuration file */
	ERR_IO,          /* local file system or process failure */
	ERR_NOSPACE,     /* ENOSPC / EDQUOT, local or remote */
	ERR_NET,         /* network fault: retried with backoff */
	ERR_HOSTKEY,     /* SSH host key unknown or changed */
	ERR_AUTH,        /* SSH authentication refused */
	ERR_NOREPO,      /* no repository at that location */
	ERR_LOCKED,      /* repository locked by another process */
	ERR_KEY,         /* wrong passphrase or key */
	ERR_CORRUPT,     /* data failed authentication or is malformed */
	ERR_INTERRUPTED, /* SIGINT/SIGTERM received */
};

/* Exit statuses; the table is documented in coffer(1) and README.md. */
#define EXIT_OK          0
#define EXIT_ERROR       1
#define EXIT_USAGE       2
#define EXIT_PARTIAL     3
#define EXIT_CORRUPT     4
#define EXIT_NET         5
#define EXIT_HOSTKEY     6
#define EXIT_AUTH        7
#define EXIT_NOREPO      10
#define EXIT_LOCKED      11
#define EXIT_KEY         12
#define EXIT_INTERRUPTED 130

#define ERR_MSG_MAX 512

/*
 * Facts that the function which fails knows and a caller may need to
 * decide on, beside the class and errno.  Callers test these (err_has),
 * never the message: the message is for people and may be reworded.
 */
#define ERR_F_LOCK     0x1u /* failed taking the repository's lock */
#define ERR_F_NOSECRET 0x2u /* no passphrase source and no terminal */

struct err {
	enum err_class class;
	int sys_errno;         /* errno at the failure, or 0 */
	unsigned flags;        /* ERR_F_*, or 0 */
	char msg[ERR_MSG_MAX]; /* reporting never allocates */
};

/* Reset to "no error". */
void err_clear(struct err *);

/*
 * Record an error of class c with a printf-style message.  Overwrites any
 * earlier error (errno and flags too).  Always returns -1 so that
 * "return err_set(...)" reads well.
 */
int err_set(struct err *, enum err_class c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Like err_set, with errno captured and ": strerror(errno)" appended.
 * The class is ERR_NOSPACE when errno is ENOSPC or EDQUOT, else c.
 */
int err_sys(struct err *, enum err_class c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Prefix the recorded message with context: "context: old message".
 * Keeps class, errno and flags.  Returns -1.  Truncates, never allocates.
 */
int err_wrap(struct err *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Add flags (ERR_F_*) to the recorded error, keeping the rest: for the
 * function that fails, after err_set or a callee's error.  Returns -1.
 */
int err_mark(struct err *, unsigned flags);

/* True when the recorded error carries every one of flags. */
int err_has(const struct err *, unsigned flags);

/* The exit status for an error class (EXIT_OK for ERR_NONE). */
int err_exit_status(enum err_class);

/* True when an operation that failed with this error is worth retrying. */
int err_retryable(const struct err *);

/* A short stable name for the class ("io", "net", ...), for --json. */
const char *err_class_name(enum err_class);

#endif
