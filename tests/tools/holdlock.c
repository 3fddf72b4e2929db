/*
 * holdlock REPO shared|exclusive: take a lock on the repository at the
 * local path or sftp:// location REPO with lib/repo/lock.c, as coffer's
 * commands do (no key needed), print "locked" on standard output, and hold
 * it until standard input ends (or SIGTERM), then release it.  For tests
 * of what waits on a held lock (issue 12: a job queues behind it).  Exit
 * 0 after the release, 1 with a message when the lock cannot be had.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "repo/lock.h"
#include "store/store.h"

static void
on_term(int sig)
{
	(void)sig;
}

int
main(int argc, char **argv)
{
	struct lock_opts lo;
	struct sigaction sa;
	struct lock *lk = NULL;
	struct stor *st = NULL;
	struct err e;
	char c;
	int rc = 1;

	if (argc != 3 ||
	    (strcmp(argv[2], "shared") != 0 &&
	        strcmp(argv[2], "exclusive") != 0)) {
		fprintf(stderr, "usage: holdlock REPO shared|exclusive\n");
		return (2);
	}
	/* SIGTERM ends the wait below (read fails with EINTR): release. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	err_clear(&e);
	memset(&lo, 0, sizeof(lo));
	lo.command = "holdlock";
	if (stor_open(argv[1], 0, &st, &e) == -1 ||
	    lock_acquire(st,
	        strcmp(argv[2], "shared") == 0 ? LOCK_SHARED : LOCK_EXCLUSIVE,
	        &lo, &lk, &e) == -1)
		goto out;
	printf("locked\n");
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) == 1)
		;
	if (lock_release(lk, &e) == -1)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "holdlock: %s\n", e.msg);
	lock_free(lk);
	stor_close(st);
	return (rc);
}
