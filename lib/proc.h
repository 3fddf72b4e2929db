/*
 * Child processes: every program coffer runs (dump programs, database
 * clients, users' commands and hooks) goes through here.  posix_spawn
 * (safe beside the repository's threads), argv with a PATH search or a
 * command line for /bin/sh -c, variables added to our environment, stdin
 * and stdout where the caller says, stderr always read (on a thread, so
 * that a chatty child never blocks while we feed or read it): each line
 * handed to an optional callback, the last bytes kept as the tail for the
 * error message.  A timeout and the interrupt flag kill the child (its
 * whole process group unless it stays in ours).
 */
#ifndef COFFER_PROC_H
#define COFFER_PROC_H

#include <sys/types.h>

#include <signal.h>
#include <stddef.h>

#include "err.h"

/* How much of the child's stderr is kept for the message. */
#define PROC_TAIL_MAX 2048

/* Where the child's stdin or stdout goes.  0 (the default): /dev/null. */
enum proc_io {
	PROC_NULL = 0,
	PROC_PIPE, /* stdin: proc_in, which we feed; stdout: proc_read */
	PROC_FD,   /* in_fd / out_fd, a descriptor of ours */
	PROC_TAIL, /* stdout only: with stderr, into the tail (hooks) */
};

struct proc_opts {
	const char *const *argv; /* program and arguments (PATH searched) */
	const char *shell;       /* or: a command line for /bin/sh -c */
	const char *label;       /* names it in messages; default argv[0] */
	/* "NAME=value" set over our environment; NULL-terminated, or NULL.
	 * The place for secrets: never argv. */
	const char *const *env;
	enum proc_io in, out;
	int in_fd, out_fd; /* for PROC_FD */
	/* Each line of its stderr (and of stdout with PROC_TAIL), without
	 * the newline, on the reader thread.  May be NULL. */
	void (*line)(void *arg, const char *line);
	void *line_arg;
	/*
	 * The tail for the message: by default the last bytes of stderr on
	 * one line; with tail_errors its last line that reports an error
	 * ("error:", "ERROR", "FATAL"), else its last line (database
	 * clients, who say more after the error).
	 */
	int tail_errors;
	/*
	 * By default the child leads a process group of its own, so that a
	 * kill reaches all it started.  foreground keeps it in ours: the
	 * terminal's ^C reaches it and it may prompt there; a kill reaches
	 * it alone.
	 */
	int foreground;
	unsigned timeout;                   /* seconds; 0: none */
	volatile sig_atomic_t *interrupted; /* may be NULL */
};

struct proc;

/*
 * Start the program.  -1 (ERR_IO, "cannot run LABEL: ...") when it cannot
 * be started at all; a program that is not on PATH says so, with
 * sys_errno ENOENT.
 */
int proc_start(const struct proc_opts *, struct proc **out, struct err *);

/* The write end of its stdin (PROC_PIPE), non-blocking: a writer polls,
 * so that it sees the interrupt flag.  -1 when there is none (closed). */
int proc_in(const struct proc *);

/* Close our end of its stdin: the child sees the end of its input. */
void proc_close_in(struct proc *);

/*
 * Read up to len bytes of the child's stdout (PROC_PIPE).  Returns the
 * count, 0 at the end of stdout, or -1: a read error, the timeout passed
 * or the interrupt flag was set (the child is then killed; e says which,
 * naming the label).
 */
ssize_t proc_read(struct proc *, void *buf, size_t len, struct err *);

/*
 * Close its stdin, wait for the child to end (reading the rest of its
 * stdout, if any, and discarding it), within the timeout.  0 when it
 * exited with status 0; else -1 with e (ERR_IO) "LABEL exited with status
 * N: TAIL" or "LABEL was killed by signal N: TAIL", or "LABEL timed out
 * after N s (killed): TAIL", or ERR_INTERRUPTED "LABEL interrupted: TAIL".
 * After the child was killed by proc_kill or a failed proc_read, that is
 * what e says.
 */
int proc_finish(struct proc *, struct err *);

/* Close its stdin and kill it (SIGKILL) now; it is reaped by finish. */
void proc_kill(struct proc *);

/* The tail (see tail_errors) as one line, control characters as spaces;
 * complete after proc_finish.  Valid until proc_free. */
const char *proc_tail(struct proc *);

/* Kill if still running, reap, free.  NULL is fine. */
void proc_free(struct proc *);

/*
 * Run a command to its end: start + finish (a PROC_PIPE stdout is read
 * and discarded).  For hooks (out = PROC_TAIL) and small commands.
 */
int proc_run(const struct proc_opts *, struct err *);

/*
 * Run a program and keep its stdout, up to max - 1 bytes (the rest is
 * discarded), NUL-terminated and without trailing newlines, in out.
 */
int proc_output(const struct proc_opts *, char *out, size_t max, struct err *);

/*
 * SIGKILL every process below the caller (its children and, when it is
 * their subreaper (PR_SET_CHILD_SUBREAPER), those they left behind:
 * daemons such as a postmaster), and reap them, until none is left.  For
 * a parent whose only children are one worker and what that started (a
 * job's run, a drill), once the worker is to be stopped for good.
 */
void proc_kill_descendants(void);

/* True if prog is an executable file (in PATH, without a slash). */
int proc_have(const char *prog);

#endif
