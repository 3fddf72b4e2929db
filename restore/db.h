/*
 * Restore a database source of a snapshot into a running server: a
 * PostgreSQL custom-format dump through pg_restore, a MariaDB/MySQL SQL
 * dump through the mariadb (or mysql) client.  The dump is streamed from
 * the repository into the client's stdin; nothing is staged on disk
 * except for rst_db_opts.jobs and globals (below), and then in a file
 * without a name, in a private directory that the next database restore
 * removes if a kill left it.  coffer-restore(1), "Into a database", has
 * the rules an admin sees.
 */
#ifndef COFFER_RESTORE_DB_H
#define COFFER_RESTORE_DB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "log.h"
#include "repo/manifest.h"
#include "repo/repo.h"

struct rst_db_opts {
	/*
	 * postgres: a libpq connection string in any of lib/conninfo.h's
	 * forms ("dbname=gas host=/run/pg", a URI, a bare database name);
	 * mysql: the database name.
	 */
	const char *target;
	const char *defaults_file; /* mysql: --defaults-file, or NULL */
	int create;      /* make the database first (it must not exist) */
	int clean;       /* allow a database that holds tables already */
	int globals;     /* postgres: replay globals.sql (roles) first */
	int no_owner;    /* postgres: pg_restore --no-owner */
	unsigned jobs;   /* postgres: >1 = pg_restore -j from a staged file */
	struct log *log; /* notes and progress; may be NULL */
	volatile sig_atomic_t *interrupted;         /* may be NULL */
	int (*keepalive)(void *arg, struct err *e); /* may be NULL */
	void *keepalive_arg;
};

struct rst_db_stats {
	uint64_t bytes;     /* dump bytes handed to the client */
	int created;        /* the database was made (and kept) */
	unsigned notes;     /* globals: statements skipped as already done */
	char database[128]; /* the database restored into */
};

/*
 * Restore src (type "postgres", status "ok") of the snapshot whose tree
 * is root into the database o->target names.  Damage in the dump is
 * ERR_CORRUPT, and nothing of the dump is committed: pg_restore runs with
 * --single-transaction and is killed before it sees the end of a damaged
 * stream.  A client that fails is ERR_IO "pg_restore exited with status
 * N: <its last error line>".  A database this call made is dropped again
 * when the restore fails.  A target that holds relations already is
 * ERR_USAGE unless o->clean; settings that hold a password are ERR_USAGE
 * (CONNINFO_PASSWORD) before anything runs.  With o->globals,
 * globals.sql is authenticated whole, then replayed by psql behind a
 * \restrict of ours, so that none of its meta-commands runs: one there
 * is ERR_IO naming its line, and a psql without \restrict is ERR_IO
 * before anything runs.
 */
int rst_db_to_postgres(struct repo *, const uint8_t root[IDX_ID_LEN],
    const struct manifest_source *src, const struct rst_db_opts *o,
    struct rst_db_stats *st, struct err *);

/*
 * The same for src of type "mysql" into database o->target.  MySQL
 * commits DDL as it goes, so the whole dump is read and authenticated
 * before the first byte goes to the client: damage stops the restore
 * before anything is sent (ERR_CORRUPT).
 */
int rst_db_to_mysql(struct repo *, const uint8_t root[IDX_ID_LEN],
    const struct manifest_source *src, const struct rst_db_opts *o,
    struct rst_db_stats *st, struct err *);

/*
 * True when the psql whose "psql --version" output is version honours
 * \restrict (13.22, 14.19, 15.14, 16.10, 17.6, 18 and later).
 */
int rst_db_psql_restricts(const char *version);

/* SQL quoting: a PostgreSQL identifier ("x""y") and string literal ('it''s',
 * standard_conforming_strings), a MySQL identifier (`x``y`) and a MySQL
 * string literal ('it''s', backslashes doubled). */
char *rst_db_pg_ident(const char *);
char *rst_db_pg_literal(const char *);
char *rst_db_my_ident(const char *);
char *rst_db_my_literal(const char *);

#endif
