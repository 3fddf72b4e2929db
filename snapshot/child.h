/*
 * Child processes for sources and hooks: a dump program (argv, no shell)
 * or a user's command line (/bin/sh -c), stdin /dev/null, stdout a pipe we
 * read, stderr captured (its last bytes kept for the error message), in a
 * process group of its own so that a kill reaches what it started.
 */
#ifndef COFFER_CHILD_H
#define COFFER_CHILD_H

#include <sys/types.h>

#include <signal.h>
#include <stddef.h>

#include "err.h"

/* How much of the child's stderr is kept for the message. */
#define CHILD_TAIL_MAX 2048

struct child_opts {
	const char *const *argv; /* program and arguments (PATH searched) */
	const char *shell;       /* or: a command line for /bin/sh -c */
	const char *label;       /* names it in messages; default argv[0] */
	const char *const *env;  /* "NAME=value" added to the environment */
	size_t nenv;
	/*
	 * stdout: read with child_read (1), or sent to the stderr pipe and so
	 * into the tail (0, for hooks).
	 */
	int read_stdout;
	unsigned timeout;                   /* seconds; 0: none */
	volatile sig_atomic_t *interrupted; /* may be NULL */
};

struct child;

/*
 * Start the program.  -1 (ERR_IO, "cannot run LABEL: ...") when it cannot
 * be started at all, e.g. a program that is not on PATH.
 */
int child_start(const struct child_opts *, struct child **out, struct err *);

/*
 * Read up to len bytes of the child's stdout, meanwhile keeping its
 * stderr.  Returns the count, 0 at the end of stdout, or -1: a read error,
 * the timeout passed or the interrupt flag was set (the child is then
 * killed; e says which, naming the label).
 */
ssize_t child_read(struct child *, void *buf, size_t len, struct err *);

/*
 * Wait for the child to end (reading the rest of its stdout, if any, and
 * discarding it), within the timeout.  0 when it exited with status 0;
 * else -1 with e (ERR_IO) "LABEL exited with status N: TAIL" or "LABEL
 * was killed by signal N: TAIL", TAIL being the last line(s) of its stderr
 * on one line, or the timeout or interrupt.  After the child was killed by
 * child_kill or a failed child_read, that is what e says.
 */
int child_finish(struct child *, struct err *);

/* Kill the child's process group (SIGKILL) now; it is reaped by finish. */
void child_kill(struct child *);

/* The captured stderr tail, as one line (control characters as spaces). */
const char *child_tail(struct child *);

/* Kill if still running, reap, free.  NULL is fine. */
void child_free(struct child *);

/*
 * Run a command (opts->shell or argv) to its end, its stdout and stderr
 * into the tail: start + finish.  For hooks and small queries.
 */
int child_run(const struct child_opts *, struct err *);

/*
 * Run a program and keep its stdout, up to max - 1 bytes (the rest is
 * discarded), NUL-terminated and without a trailing newline, in out.
 */
int child_output(const struct child_opts *, char *out, size_t max,
    struct err *);

#endif
