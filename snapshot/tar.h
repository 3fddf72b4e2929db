/*
 * coffer snapshot --from-tar: a tar stream stored as a snapshot tree, its
 * members as the files, directories, links and special files of a
 * snapshot of paths, chunked and deduplicated the same way.
 */
#ifndef COFFER_SNAPSHOT_TAR_H
#define COFFER_SNAPSHOT_TAR_H

#include "err.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"

/*
 * Store the tar stream in file ("-": standard input) as a snapshot of r
 * and save its manifest (*m, filled; its paths hold "tar:" and the file's
 * absolute path, or "tar:-").  The archive's root is the snapshot's root.
 * Of o, only tags, compression, log, progress and interrupted are used
 * (no files cache).
 *
 * Members are taken in order: paths are cleaned as fs/tarin.h says (a
 * leading '/' removed, with a warning); a member is refused, listed in
 * m's skipped entries and logged, when its path has a ".." component or
 * is too long, when a path on the way to it is not a directory in the
 * archive (a symlink, a file), when an earlier member has its path (the
 * first is kept; a directory member may still give its metadata to a
 * directory that earlier members' paths made), or when it is a hard link
 * to no earlier regular file.  Directories that only members' paths name
 * get mode 0755, the running user and the snapshot's start as mtime.  A
 * hard link becomes a name of its target's file: the same data, owner,
 * mode and times, linked again by restore.  Data is read once, in
 * chunks: memory holds the archive's metadata, not its members.
 *
 * Returns 0 when the snapshot was saved (m->nskipped > 0 then means exit
 * status 3), -1 when it was not: e says why (ERR_IO for an unreadable or
 * malformed stream).
 */
int snap_tar_run(struct repo *r, const struct snap_opts *o, const char *file,
    struct manifest *m, struct err *e);

#endif
