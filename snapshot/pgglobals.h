/*
 * pg_dumpall's output with a stable \restrict key.  pg_dumpall (15.14,
 * 16.10 and later) opens its script with "\restrict KEY" and ends it with
 * "\unrestrict KEY", KEY random on every run, so globals.sql differed on
 * every snapshot and coffer diff reported it changed every night.  This
 * filter puts the caller's key (one only the repository's key holder can
 * compute, the same on every run) in place of KEY: on the "\restrict KEY"
 * line of the script's header (before any line but comments and empty
 * ones, where pg_dumpall puts it), and on every line that is exactly
 * "\unrestrict KEY" with that same KEY.  Any other line passes unchanged,
 * so a line planted in the dump (a role name with a newline) cannot become
 * an \unrestrict of the new key.  coffer's own restore replaces the key
 * again with one of its own (restore/db.c).
 */
#ifndef COFFER_PGGLOBALS_H
#define COFFER_PGGLOBALS_H

#include <sys/types.h>

#include <stddef.h>

#include "err.h"

/* Where the filter reads: read(arg, buf, len, e), 0 at the end. */
typedef ssize_t (
    *pgglobals_reader)(void *arg, void *buf, size_t len, struct err *e);

#define PGGLOBALS_KEY_LEN 64 /* the replacement key: 64 characters */

struct pgglobals;

/* A filter over rd(arg) putting key (PGGLOBALS_KEY_LEN bytes) in place. */
struct pgglobals *pgglobals_new(pgglobals_reader rd, void *arg,
    const char *key);

/* Up to len filtered bytes into buf; 0 at the end, -1 with e on failure. */
ssize_t pgglobals_read(void *f, void *buf, size_t len, struct err *e);

void pgglobals_free(struct pgglobals *);

#endif
