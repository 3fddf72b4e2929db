/*
 * libpq connection strings, read by libpq's rules once for every command
 * that hands one to a PostgreSQL client (snapshot --postgres, a source's
 * connection, restore --to-postgres), and written back in one form.
 */
#ifndef COFFER_CONNINFO_H
#define COFFER_CONNINFO_H

#include "err.h"

struct conninfo;

/*
 * Parse s as libpq does (libpq "Connection Strings"), into an ordered list
 * of keyword/value settings in *ci:
 *
 *  - a URI: postgresql:// or postgres://, then
 *    [user[:password]@][host][:port][,host[:port]]...[/dbname][?k=v&...],
 *    with [IPv6] hosts, percent-decoded parts, "ssl=true" read as
 *    "sslmode=require", and settings in the order user, host, port,
 *    dbname, the query's;
 *  - keyword=value settings separated by white space, with white space
 *    allowed around '=', values plain (up to white space) or in single
 *    quotes, a backslash taking the next character as it is;
 *  - anything else (no '='): a database name.
 *
 * Values have no length limit.  Refused with ERR_USAGE, the message naming
 * the fault but never a value: syntax libpq refuses, a keyword that is not
 * letters, digits and '_', and a password in any form (CONNINFO_PASSWORD
 * says why: every user can read a client's argv).  *ci is NULL on failure;
 * conninfo_free() it.
 */
int conninfo_parse(const char *s, struct conninfo **ci, struct err *);

/* Why a password is refused, with the way to give one instead. */
#define CONNINFO_PASSWORD                                                      \
	"the connection settings hold a password, which every user could "     \
	"read in the process list; put it in ~/.pgpass (or a service file) "   \
	"instead"

/* The value of keyword key (the last one: later settings win), or NULL. */
const char *conninfo_get(const struct conninfo *, const char *key);

/*
 * ci as a keyword=value string with every value quoted, in ci's order;
 * with dbname not NULL, ci's dbname settings are left out and
 * "dbname='DBNAME'" ends the string.  free().
 */
char *conninfo_string(const struct conninfo *ci, const char *dbname);

/* NULL is fine; values are wiped. */
void conninfo_free(struct conninfo *);

#endif
