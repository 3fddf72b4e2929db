/*
 * The files cache: what a file's chunks were when it last had this path,
 * size, mtime, ctime, inode and device, so the next snapshot can skip
 * reading it.  One SQLite file per repository under the cache directory.
 * Only a hint: the snapshot uses a hit only when every chunk is still in
 * the repository's index and their lengths add up to the file's size, so
 * losing or damaging the cache costs time, never data.
 */
#ifndef COFFER_FCACHE_H
#define COFFER_FCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs/node.h"

struct fcache;

/*
 * Open (creating) DIR/REPO_ID/files.db, directories mode 0700.  Entries not
 * seen for keep_runs snapshots are dropped at commit.  A file SQLite finds
 * damaged is moved aside to files.db.corrupt (replacing an older one) and
 * a fresh cache started: fcache_moved_aside then says where it went.
 * Runs at the same time may share the file: each works on its own copy of
 * what it saw and waits only for another's commit.
 */
int fcache_open(const char *dir, const char *repo_id, unsigned keep_runs,
    struct fcache **out, struct err *);

/* Where fcache_open moved a damaged cache file, or NULL. */
const char *fcache_moved_aside(const struct fcache *);

/*
 * If path was cached with n's size, mtime, ctime, inode and device, set
 * n's chunk list from the cache and return 1; else 0.  Errors count as a
 * miss.
 */
int fcache_lookup(struct fcache *, const char *path, struct fs_node *n);

/* Remember n's chunks for path (written at fcache_commit). */
void fcache_store(struct fcache *, const char *path, const struct fs_node *n);

/*
 * Make this run's entries durable and drop stale ones.  Call only after
 * the data they name is flushed to the repository.  When SQLite found the
 * file damaged during the run, it is moved aside instead (the next run
 * starts a fresh one) and -1 returned saying so.
 */
int fcache_commit(struct fcache *, struct err *);

/* Close; without a commit this run's entries are forgotten. */
void fcache_close(struct fcache *);

/* The SQLite library in use (files cache, sqlite sources), e.g. "3.40.1". */
const char *fcache_sqlite_version(void);

#endif
