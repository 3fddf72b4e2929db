/*
 * A private OpenSSH sshd on 127.0.0.1 for unit tests, made as
 * tests/e2e/lib.sh's start_sshd makes one: its own config, a throwaway
 * ed25519 host key, internal-sftp, no PAM, and an authorized_keys file
 * holding a fresh client key, logging in the running user.
 */
#ifndef COFFER_TSSHD_H
#define COFFER_TSSHD_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>

struct tsshd {
	pid_t pid;   /* the listener; -1 when not running */
	pid_t owner; /* the process that started it */
	int port;
	char dir[PATH_MAX - 64];    /* config, keys, log; removed at stop */
	char user[256];             /* who logs in: the running user */
	char key[PATH_MAX];         /* the client's private key file */
	char known_hosts[PATH_MAX]; /* one line for [127.0.0.1]:port */
	char log[PATH_MAX];         /* sshd -e writes here */
};

/*
 * Start /usr/sbin/sshd -D -e in a new directory under $TMPDIR (or /tmp)
 * on a free port (another one if it was taken meanwhile), and wait (10 s
 * at most) until it listens.  It gets SIGTERM if the calling thread ends
 * before tsshd_stop.  Returns 0, or -1 with why in msg (no sshd: install
 * openssh-server; ssh-keygen failed; it did not come up, with its last
 * log line); what was made is then removed.  It makes no Check assertion,
 * so an unchecked fixture may call it and leave the failing to the tests.
 */
int tsshd_start(struct tsshd *, char *msg, size_t msgsize);

/*
 * Stop the server (SIGTERM, SIGKILL after 5 s), wait for it and remove
 * its directory.  A zeroed or stopped struct is fine; in any other process
 * than the one that started it (a test forked by Check) nothing happens.
 */
void tsshd_stop(struct tsshd *);

#endif
