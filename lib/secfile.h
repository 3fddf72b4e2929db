/*
 * Checks for files that hold or lead to secrets (password files, machine
 * keys, SSH identities, configs that name commands to run): refuse, with
 * the chmod or chown that fixes it, what others could read or change.
 */
#ifndef COFFER_SECFILE_H
#define COFFER_SECFILE_H

#include <sys/stat.h>

#include "err.h"

/*
 * what names the file in messages ("password file").  Fails (ERR_CONFIG)
 * unless fd is a regular file owned by the caller's uid or by root that
 * neither group nor others can read or write.  The message is one line with
 * the command that fixes it.
 */
int secfile_check_secret(int fd, const char *path, const char *what,
    struct err *);

/*
 * For files that are not secret but must not be changed by others (a
 * config naming commands coffer runs): fails unless owned by the caller's
 * uid or root and not writable by group or others.
 */
int secfile_check_trusted(int fd, const char *path, const char *what,
    struct err *);

#endif
