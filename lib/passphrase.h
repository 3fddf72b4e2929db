/*
 * Getting a passphrase: from a command, a file, a file named by
 * COFFER_PASSWORD_FILE, or a no-echo prompt on the terminal; never from
 * argv.  Secrets live in struct secret: locked in memory where the system
 * allows, kept out of core dumps, wiped before release, never printed.
 */
#ifndef COFFER_PASSPHRASE_H
#define COFFER_PASSPHRASE_H

#include <stddef.h>

#include "err.h"

/* The longest passphrase source, a trailing newline included. */
#define PASS_MAX 4096

/* The environment variable naming a password file. */
#define PASS_ENV "COFFER_PASSWORD_FILE"

struct secret;

/* A secret holding a copy of len bytes of data.  Aborts on out-of-memory. */
struct secret *secret_new(const void *data, size_t len);

/* The bytes, followed by a NUL that secret_len does not count. */
const unsigned char *secret_data(const struct secret *);
size_t secret_len(const struct secret *);

/* 1 if equal; the time taken depends on the lengths only. */
int secret_equal(const struct secret *, const struct secret *);

/* Wipe, unlock and release.  NULL is fine. */
void secret_free(struct secret *);

struct pass_opts {
	/*
	 * The caller resolves the command line against the config: when the
	 * command line names either source, pass only the command line's.
	 * NULL or "" means unset.
	 */
	const char *password_command; /* run by /bin/sh -c */
	const char *password_file;
	/* The value of COFFER_PASSWORD_FILE, when use_environment is 0. */
	const char *env_password_file;
	int use_environment; /* read COFFER_PASSWORD_FILE from the env */
	int allow_prompt;    /* may ask on /dev/tty */
};

/*
 * Get the passphrase for purpose (shown in the prompt, e.g. "repository
 * /srv/coffer").  Sources in order, the first one set wins: the command,
 * the file, COFFER_PASSWORD_FILE, then (if allow_prompt) the terminal.
 * A file must be a regular file no one else can read (the message has the
 * chmod that fixes it) of at most PASS_MAX bytes; a command's stdout is
 * read likewise, with stdin from /dev/null and stderr passed through, and
 * fails on a non-zero exit or a signal.  One trailing "\n" or "\r\n" is
 * removed; an empty result is an error.  confirm asks twice at the
 * terminal (other sources are taken as they are).  With no source and no
 * terminal: ERR_USAGE with ERR_F_NOSECRET, naming the options.  ^C at the
 * prompt restores the terminal, passes the signal on to the caller's
 * handling, and fails with ERR_INTERRUPTED if the process is still
 * alive.  No message ever holds the passphrase.  On success *out owns the
 * secret; else *out is NULL.
 */
int pass_get(const struct pass_opts *, const char *purpose, int confirm,
    struct secret **out, struct err *);

/*
 * Write a new machine key for unattended jobs to path: 256 random bits as
 * 64 lowercase hex digits and a newline, in a new 0600 file (published
 * with afile, never replacing: an existing path fails with sys_errno
 * EEXIST and is left as it was).
 */
int pass_generate_machine_key(const char *path, struct err *);

#endif
