/*
 * Safe publishing of files: a file appears under its final name complete
 * and durable, or not at all.  Written to a temporary file in the same
 * directory, fsync'ed, renamed over the final name, then the directory is
 * fsync'ed (the redis rdb.c / OpenSSH way).
 */
#ifndef COFFER_AFILE_H
#define COFFER_AFILE_H

#include <sys/types.h>

#include <stddef.h>

#include "err.h"

/*
 * Fail instead of replacing an existing final name; for content-addressed
 * and write-once files.  The failure has sys_errno EEXIST, so a caller that
 * names files by their content can take it as "already stored".
 */
#define AFILE_NOREPLACE 0x1

/*
 * Publish atomically but not durably: no fsync of the file or of its
 * directory, so a crash may lose the file, or leave it under its name with
 * fewer bytes than written.  Only for files whose loss changes nothing and
 * whose content cannot tear (empty markers: prune's tombstones).
 */
#define AFILE_NOSYNC 0x2

struct afile;

/*
 * Start writing the file that will be published as path: creates
 * ".NAME.tmp.XXXXXX" next to it (O_EXCL, mode 0600 while written).  mode is
 * applied exactly at commit (the umask is not consulted: the caller decides
 * who may read).  flags: AFILE_NOREPLACE, AFILE_NOSYNC, or 0.  On success *out
 * is set; on failure *out is NULL and nothing was created.
 */
int afile_open(const char *path, mode_t mode, int flags, struct afile **out,
    struct err *);

/*
 * Append len bytes, looping over short writes and EINTR.  After a failure
 * the afile is poisoned: afile_commit refuses it, so a file with a hole can
 * never be published by a caller that missed the error.
 */
int afile_write(struct afile *, const void *buf, size_t len, struct err *);

/*
 * Publish: chmod, fsync, close, rename to the final name (with
 * AFILE_NOREPLACE: renameat2(RENAME_NOREPLACE), or link()+unlink() where the
 * file system lacks it), fsync the directory.  On failure before the rename
 * the temporary file is removed and the final name is untouched.  If only
 * the directory fsync fails, the file is in place and complete but may not
 * survive a crash; that is still reported as a failure.  Either way,
 * afile_free() is still owed.
 */
int afile_commit(struct afile *, struct err *);

/*
 * Discard: close and remove the temporary file; the final name is
 * untouched.  Idempotent; does nothing after a commit or on NULL.
 */
void afile_abort(struct afile *);

/* afile_abort() unless committed, then free.  NULL is fine. */
void afile_free(struct afile *);

/* The final path, as given to afile_open. */
const char *afile_path(const struct afile *);

/* afile_open + afile_write + afile_commit + afile_free, for small files. */
int afile_write_all(const char *path, const void *data, size_t len, mode_t mode,
    int flags, struct err *);

/*
 * fsync a directory, so that entries created, renamed or removed in it
 * survive a crash.  File systems that cannot fsync a directory (EINVAL)
 * count as success.
 */
int afile_fsync_dir(const char *path, struct err *);

#endif
