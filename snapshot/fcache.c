/*
 * Files cache in SQLite: one row per path, stamped with the run that last
 * saw it.  All of a run's changes sit in one transaction.
 */
#include "snapshot/fcache.h"

#include <sys/stat.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct fcache {
	sqlite3 *db;
	sqlite3_stmt *get, *put;
	int64_t run;
	unsigned keep;
	int in_tx;
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

static int
db_err(struct fcache *c, struct err *e, const char *what)
{
	return (err_set(e, ERR_IO, "files cache: %s: %s", what,
	    sqlite3_errmsg(c->db)));
}

int
fcache_open(const char *dir, const char *repo_id, unsigned keep_runs,
    struct fcache **out, struct err *e)
{
	struct fcache *c = xcalloc(1, sizeof(*c));
	char *d = xasprintf("%s/%s", dir, repo_id), *path = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	*out = NULL;
	c->keep = keep_runs ? keep_runs : 1;
	if (mkdirs(d, e) == -1)
		goto out;
	path = xasprintf("%s/files.db", d);
	if (sqlite3_open_v2(path, &c->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX,
	        NULL) != SQLITE_OK) {
		db_err(c, e, path);
		goto out;
	}
	chmod(path, 0600);
	sqlite3_busy_timeout(c->db, 10000);
	if (sqlite3_exec(c->db,
	        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	        "CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY,"
	        " size INTEGER, mtime INTEGER, ctime INTEGER, ino INTEGER,"
	        " dev INTEGER, chunks BLOB, run INTEGER) WITHOUT ROWID;"
	        "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v);"
	        "INSERT OR IGNORE INTO meta VALUES ('run', 0);"
	        "UPDATE meta SET v = v + 1 WHERE k = 'run';",
	        NULL, NULL, NULL) != SQLITE_OK) {
		db_err(c, e, "setup");
		goto out;
	}
	if (sqlite3_prepare_v2(c->db, "SELECT v FROM meta WHERE k = 'run'", -1,
	        &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		db_err(c, e, "run counter");
		goto out;
	}
	c->run = sqlite3_column_int64(st, 0);
	if (sqlite3_prepare_v2(c->db,
	        "SELECT size, mtime, ctime, ino, dev, chunks FROM files "
	        "WHERE path = ?",
	        -1, &c->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db,
	        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	        -1, &c->put, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(c, e, "prepare");
		goto out;
	}
	c->in_tx = 1;
	*out = c;
	c = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	fcache_close(c);
	free(path);
	free(d);
	return (rc);
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
	int bytes, hit = 0;

	sqlite3_reset(c->get);
	sqlite3_bind_blob(c->get, 1, path, (int)strlen(path), SQLITE_STATIC);
	if (sqlite3_step(c->get) != SQLITE_ROW)
		goto out;
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

/* A lookup hit still counts as seen in this run. */
int
fcache_commit(struct fcache *c, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(c->db, "DELETE FROM files WHERE run <= ?", -1,
	        &st, NULL) != SQLITE_OK) {
		db_err(c, e, "prune");
		goto out;
	}
	sqlite3_bind_int64(st, 1, c->run - (int64_t)c->keep);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(c, e, "prune");
		goto out;
	}
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(c, e, "commit");
		goto out;
	}
	c->in_tx = 0;
	rc = 0;
out:
	sqlite3_finalize(st);
	return (rc);
}

void
fcache_close(struct fcache *c)
{
	if (c == NULL)
		return;
	if (c->in_tx)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_close(c->db);
	free(c);
}
