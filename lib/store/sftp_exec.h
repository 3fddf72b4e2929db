/*
 * A command on the host of an sftp:// store, over an SSH exec channel of
 * the store's own session: the one SSH client of coffer (sftp_conn.c:
 * host key checked against known_hosts, key authentication), so that a
 * drill to a test host (scheduler/drill_ssh.c) decides nothing about SSH
 * on its own.
 */
#ifndef COFFER_STORE_SFTP_EXEC_H
#define COFFER_STORE_SFTP_EXEC_H

#include <sys/types.h>

#include <stddef.h>

#include "err.h"

struct stor;

struct sftp_exec_io {
	/* The command's standard input: up to size bytes into buf, 0 at its
	 * end, -1 on an error (e).  NULL: none. */
	ssize_t (*in)(void *arg, void *buf, size_t size, struct err *e);
	void *in_arg;
	/* Its standard output, as it comes; -1 stops (e).  NULL: dropped. */
	int (*out)(void *arg, const void *buf, size_t n, struct err *e);
	void *out_arg;
	/* Wait for output without the store's io_timeout (a long check). */
	int no_idle_timeout;
	/* Filled: the end of its standard error, on one line. */
	char err[512];
};

/*
 * Run the shell command cmd on the host of the sftp:// store st (the
 * remote user's shell runs it).  0 with *status its exit status (-1 when
 * it ended by a signal, or said none), or -1: the channel failed (ERR_NET,
 * ERR_INTERRUPTED) or in or out did (their error).  Not retried.
 */
int stor_sftp_exec(struct stor *st, const char *cmd, struct sftp_exec_io *io,
    int *status, struct err *e);

#endif
