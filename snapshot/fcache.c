/*
 * Files cache in SQLite: one row per path, stamped with the run that last
 * saw it.  A run stages what it saw in a private temp table and merges it
 * in one short write transaction at commit, so runs at the same time into
 * the same repository do not wait on each other.
 */
#include "snapshot/fcache.h"

#include <sys/stat.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

#define COLUMNS                                                                \
	"path BLOB PRIMARY KEY, size INTEGER, mtime INTEGER,"                  \
	" ctime INTEGER, ino INTEGER, dev INTEGER, chunks BLOB, run INTEGER"

struct fcache {
	sqlite3 *db;
	sqlite3_stmt *get, *put;
	char *path;  /* the cache file */
	char *aside; /* where a damaged one was moved at open, or NULL */
	int64_t run;
	unsigned keep;
	int in_tx;
	int damaged; /* SQLite found the file corrupt during the run */
};

static int
mkdirs(char *path, struct err *e)
{
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			err_sys(e, ERR_IO, "cache directory %s", path);
			*p = '/';
			return (-1);
		}
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return (err_sys(e, ERR_IO, "cache directory %s", path));
	return (0);
}

/*
 * SQLite's message for the failure that returned x.  Read it before any
 * later call on the connection (a reset or a finalize of another
 * statement sets the connection's error back to "not an error"); when it
 * no longer belongs to x, x's generic text is the best there is.
 */
static int
db_err(struct fcache *c, int x, struct err *e, const char *what)
{
	const char *why = "not open";

	if (c->db != NULL && x != SQLITE_OK &&
	    (sqlite3_extended_errcode(c->db) & 0xff) != (x & 0xff))
		why = sqlite3_errstr(x);
	else if (c->db != NULL)
		why = sqlite3_errmsg(c->db);
	return (err_set(e, ERR_IO, "files cache: %s: %s", what, why));
}

/* Whether an SQLite result says the file is not a sound database. */
static int
is_damage(int rc)
{
	return ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB);
}

static void
db_close(struct fcache *c)
{
	if (c->db != NULL && c->in_tx)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	c->in_tx = 0;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_close(c->db);
	c->get = c->put = NULL;
	c->db = NULL;
}

/*
 * Close the damaged file and move it to PATH.corrupt (replacing an older
 * one, so they do not pile up), its WAL and shared-memory files removed:
 * a WAL left beside a fresh file would be replayed into it.
 */
static int
move_aside(struct fcache *c, struct err *e)
{
	char *aside = xasprintf("%s.corrupt", c->path), *x;
	int rc = -1;

	db_close(c);
	if (rename(c->path, aside) == -1 && errno != ENOENT) {
		err_sys(e, ERR_IO,
		    "files cache %s is damaged and cannot be "
		    "moved aside; remove it",
		    c->path);
		goto out;
	}
	x = xasprintf("%s-wal", c->path);
	(void)unlink(x);
	free(x);
	x = xasprintf("%s-shm", c->path);
	(void)unlink(x);
	free(x);
	free(c->aside);
	c->aside = aside;
	aside = NULL;
	rc = 0;
out:
	free(aside);
	return (rc);
}

/* Open c->path and get ready for a run; *damage set when it is corrupt. */
static int
db_open(struct fcache *c, int *damage, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, x;

	*damage = 0;
	if ((x = sqlite3_open_v2(c->path, &c->db,
	         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	             SQLITE_OPEN_NOMUTEX,
	         NULL)) != SQLITE_OK) {
		db_err(c, x, e, c->path);
		goto out;
	}
	chmod(c->path, 0600);
	/* Other runs hold the write lock only while they merge. */
	sqlite3_busy_timeout(c->db, 10000);
	if ((x = sqlite3_exec(c->db,
	         "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	         "CREATE TABLE IF NOT EXISTS files (" COLUMNS ") WITHOUT ROWID;"
	         "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v);"
	         "INSERT OR IGNORE INTO meta VALUES ('run', 0);"
	         "UPDATE meta SET v = v + 1 WHERE k = 'run';"
	         "CREATE TEMP TABLE stage (" COLUMNS ") WITHOUT ROWID;",
	         NULL, NULL, NULL)) != SQLITE_OK) {
		*damage = is_damage(x);
		db_err(c, x, e, "setup");
		goto out;
	}
	if ((x = sqlite3_prepare_v2(c->db, "SELECT v FROM meta WHERE k = 'run'",
	         -1, &st, NULL)) != SQLITE_OK ||
	    (x = sqlite3_step(st)) != SQLITE_ROW) {
		*damage = is_damage(x);
		db_err(c, x, e, "run counter");
		goto out;
	}
	c->run = sqlite3_column_int64(st, 0);
	/* This run's own entries first, as the run will commit them. */
	if ((x = sqlite3_prepare_v2(c->db,
	         "SELECT size, mtime, ctime, ino, dev, chunks FROM temp.stage "
	         "WHERE path = ?1 UNION ALL "
	         "SELECT size, mtime, ctime, ino, dev, chunks FROM main.files "
	         "WHERE path = ?1 LIMIT 1",
	         -1, &c->get, NULL)) != SQLITE_OK ||
	    (x = sqlite3_prepare_v2(c->db,
	         "INSERT OR REPLACE INTO temp.stage VALUES "
	         "(?, ?, ?, ?, ?, ?, ?, ?)",
	         -1, &c->put, NULL)) != SQLITE_OK ||
	    (x = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK) {
		db_err(c, x, e, "prepare");
		goto out;
	}
	c->in_tx = 1;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc == -1)
		db_close(c);
	return (rc);
}

int
fcache_open(const char *dir, const char *repo_id, unsigned keep_runs,
    struct fcache **out, struct err *e)
{
	struct fcache *c = xcalloc(1, sizeof(*c));
	char *d = xasprintf("%s/%s", dir, repo_id);
	int rc = -1, damage;

	*out = NULL;
	c->keep = keep_runs ? keep_runs : 1;
	if (mkdirs(d, e) == -1)
		goto out;
	c->path = xasprintf("%s/files.db", d);
	if (db_open(c, &damage, e) == -1) {
		/* Never rebuilt, it would cost every later run a full read. */
		if (!damage || move_aside(c, e) == -1 ||
		    db_open(c, &damage, e) == -1)
			goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	fcache_close(c);
	free(d);
	return (rc);
}

const char *
fcache_moved_aside(const struct fcache *c)
{
	return (c->aside);
}

static int64_t
ns(struct fs_time t)
{
	return ((int64_t)t.sec * 1000000000 + t.nsec);
}

int
fcache_lookup(struct fcache *c, const char *path, struct fs_node *n)
{
	const void *blob;
	int bytes, hit = 0, x;

	if (c->db == NULL)
		return (0);
	sqlite3_reset(c->get);
	sqlite3_bind_blob(c->get, 1, path, (int)strlen(path), SQLITE_STATIC);
	if ((x = sqlite3_step(c->get)) != SQLITE_ROW) {
		if (is_damage(x))
			c->damaged = 1;
		goto out;
	}
	if (sqlite3_column_int64(c->get, 0) != (int64_t)n->size ||
	    sqlite3_column_int64(c->get, 1) != ns(n->mtime) ||
	    sqlite3_column_int64(c->get, 2) != ns(n->ctime) ||
	    sqlite3_column_int64(c->get, 3) != (int64_t)n->ino ||
	    sqlite3_column_int64(c->get, 4) != (int64_t)n->dev)
		goto out;
	blob = sqlite3_column_blob(c->get, 5);
	bytes = sqlite3_column_bytes(c->get, 5);
	if (bytes < 0 || bytes % FS_ID_LEN != 0 || (bytes > 0 && !blob))
		goto out;
	n->nchunks = 0;
	for (int off = 0; off < bytes; off += FS_ID_LEN)
		fs_node_add_chunk(n, (const uint8_t *)blob + off);
	hit = 1;
out:
	sqlite3_reset(c->get);
	return (hit);
}

void
fcache_store(struct fcache *c, const char *path, const struct fs_node *n)
{
	if (c->db == NULL)
		return;
	sqlite3_reset(c->put);
	sqlite3_bind_blob(c->put, 1, path, (int)strlen(path), SQLITE_STATIC);
	sqlite3_bind_int64(c->put, 2, (int64_t)n->size);
	sqlite3_bind_int64(c->put, 3, ns(n->mtime));
	sqlite3_bind_int64(c->put, 4, ns(n->ctime));
	sqlite3_bind_int64(c->put, 5, (int64_t)n->ino);
	sqlite3_bind_int64(c->put, 6, (int64_t)n->dev);
	if (n->nchunks > 0)
		sqlite3_bind_blob(c->put, 7, n->chunks,
		    (int)(n->nchunks * FS_ID_LEN), SQLITE_STATIC);
	else
		sqlite3_bind_zeroblob(c->put, 7, 0);
	sqlite3_bind_int64(c->put, 8, c->run);
	(void)sqlite3_step(c->put); /* a cache write that fails is a miss */
	sqlite3_reset(c->put);
}

/*
 * Merge this run's entries (a lookup hit is stored again, so it counts as
 * seen) and prune, in one write transaction held only for that.
 */
int
fcache_commit(struct fcache *c, struct err *e)
{
	sqlite3_stmt *st = NULL;
	const char *what = "commit";
	int rc = -1, x = SQLITE_OK;

	if (c->db == NULL)
		return (db_err(c, SQLITE_OK, e, what));
	if (c->damaged) {
		x = SQLITE_CORRUPT;
		goto out;
	}
	if ((x = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		goto out;
	c->in_tx = 0;
	if ((x = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) !=
	    SQLITE_OK)
		goto out;
	c->in_tx = 1;
	what = "merge";
	if ((x = sqlite3_exec(c->db,
	         "INSERT OR REPLACE INTO main.files SELECT * FROM temp.stage",
	         NULL, NULL, NULL)) != SQLITE_OK)
		goto out;
	what = "prune";
	if ((x = sqlite3_prepare_v2(c->db,
	         "DELETE FROM main.files WHERE run <= ?", -1, &st, NULL)) !=
	    SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, c->run - (int64_t)c->keep);
	if ((x = sqlite3_step(st)) != SQLITE_DONE)
		goto out;
	what = "commit";
	if ((x = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		goto out;
	c->in_tx = 0;
	rc = 0;
out:
	/* The reason first: finalizing st would clear it. */
	if (rc == -1 && !is_damage(x))
		db_err(c, x, e, what);
	sqlite3_finalize(st);
	if (rc == -1 && is_damage(x)) {
		char *p = xstrdup(c->path);

		if (move_aside(c, e) == 0)
			err_set(e, ERR_IO,
			    "files cache %s is damaged: moved aside to %s, the "
			    "next run starts a fresh one",
			    p, c->aside);
		free(p);
	}
	return (rc);
}

void
fcache_close(struct fcache *c)
{
	if (c == NULL)
		return;
	db_close(c);
	free(c->path);
	free(c->aside);
	free(c);
}

const char *
fcache_sqlite_version(void)
{
	return (sqlite3_libversion());
}
