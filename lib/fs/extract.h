/*
 * Writing nodes back: into a directory, or as a pax tar stream that any tar
 * can read.  Both share one handle type and one API.
 *
 * Into a directory, two paths:
 * - files, directories, symlinks and hard links without xattrs, ACLs or
 *   file flags are written relative to directory descriptors
 *   (fs/extract_dir.c: openat/mkdirat/symlinkat/linkat, then fchown,
 *   fchmod, futimens on the open file; no xattr or ACL syscall at all);
 * - the rest (xattrs, ACLs, file flags, FIFOs, device nodes) goes through
 *   libarchive's archive_write_disk with SECURE_SYMLINKS, SECURE_NODOTDOT
 *   and SECURE_NOABSOLUTEPATHS.
 *
 * Safety: every path stays under the target.  Directory paths must be
 * relative, without "." or ".." components; node names must be valid
 * (fs_name_valid); no existing symlink, and none restored earlier, is
 * followed on the way to an entry (each directory opened from its
 * parent's descriptor with O_NOFOLLOW, or with openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS from the target; for libarchive's entries our own
 * check component by component, then its SECURE_* checks).
 *
 * The working directory: archive_write_disk resolves paths against the
 * process's working directory, so each call that uses it enters the
 * target and returns to where it was before returning.  Do not use a
 * directory handle while another thread relies on the working directory.
 */
#ifndef COFFER_FS_EXTRACT_H
#define COFFER_FS_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs/node.h"

/* fs_extract_open / fs_tar_open flags */
#define FS_EXTRACT_OVERWRITE              0x01 /* restore into a non-empty dir */
#define FS_EXTRACT_NUMERIC_OWNER          0x02 /* ids only, ignore names */
#define FS_EXTRACT_NO_OWNER_WHEN_NOT_ROOT 0x04 /* no chown unless root */
#define FS_EXTRACT_NO_OPENAT2             0x08 /* tests: never try openat2 */
#define FS_EXTRACT_NO_SYNC                0x10 /* no syncfs at close */

/* fs_extract_end / fs_extract_close: done, but not everything applied */
#define FS_EXTRACT_WARN 2

struct fs_extract;

/*
 * Restore into the directory target (created, mode 0700, if missing).  A
 * target that holds anything is refused with ERR_USAGE unless flags has
 * FS_EXTRACT_OVERWRITE; then existing entries are replaced (never followed
 * when they are symlinks).  Owners are restored when running as root, or
 * always unless FS_EXTRACT_NO_OWNER_WHEN_NOT_ROOT; by name (falling back to
 * the id) unless FS_EXTRACT_NUMERIC_OWNER.
 */
int fs_extract_open(const char *target, unsigned flags, struct fs_extract **out,
    struct err *e);

/*
 * Write a pax tar stream to fd (not closed by us): xattrs and ACLs in pax
 * headers (SCHILY.* and LIBARCHIVE.*, which GNU tar and bsdtar read),
 * nanosecond times, sparse files as GNU sparse 1.0 (holes are not stored).
 * Only FS_EXTRACT_NUMERIC_OWNER matters in flags (no owner names).
 */
int fs_tar_open(int fd, unsigned flags, struct fs_extract **out, struct err *e);

/*
 * Start the entry dir/node->name (dir: the parent's path relative to the
 * target, "" or NULL for the target itself).  Returns 1 when the entry
 * wants data (then fs_extract_write, then fs_extract_end), 0 when it
 * wants none (call fs_extract_end all the same), -1 when it was refused or
 * failed (nothing to end; the handle stays usable unless e->class is
 * ERR_INTERNAL).  A bad dir is ERR_USAGE, a bad name or an entry that would
 * be reached through a symlink is ERR_CORRUPT.
 *
 * Hard links: a regular file with nlink > 1 whose (dev, ino) matches a node
 * already restored through this handle becomes a hard link to that first
 * path and wants no data; if the first was not restored (in this run) its
 * data is written and it becomes the first.  Directories get their times
 * and restrictive modes at fs_extract_close, so restoring into them first
 * works and their mtimes stay as recorded.  Sockets are not restored (the
 * program that listens creates them): 0, and a warning at fs_extract_end.
 */
int fs_extract_begin(struct fs_extract *, const char *dir,
    const struct fs_node *node, struct err *e);

/*
 * Write len bytes of the current file at offset (file offsets: for a sparse
 * file, see fs_node_data_offset).  Gaps are left as holes on disk; a tar
 * stream needs offsets that never go back.  Data past the node's size is
 * refused (ERR_CORRUPT).
 */
int fs_extract_write(struct fs_extract *, const void *data, size_t len,
    uint64_t offset, struct err *e);

/*
 * Finish the current entry: metadata is applied now (directories: times and
 * restrictive modes at close).  Returns 0, FS_EXTRACT_WARN when the entry
 * is there but something (an ACL, an xattr, the owner) could not be set, e
 * saying what, or -1 when the entry failed.
 */
int fs_extract_end(struct fs_extract *, struct err *e);

/*
 * Give up on the current entry instead of ending it (the data could not be
 * had): a directory handle removes the name it created (never following a
 * symlink on the way), lets libarchive close the file, and does not keep
 * it as a hard-link target, so a later name of the same file gets the data
 * instead of a link to nothing.  0 when the name is gone, -1 when it could
 * not be removed (e says why).  Directories are not discarded (-1,
 * ERR_INTERNAL; the entry is ended all the same).  A tar stream cannot
 * take back a header: -1, ERR_INTERNAL, and the handle has failed (see
 * fs_extract_failed): check what you can before fs_extract_begin.
 */
int fs_extract_discard(struct fs_extract *, struct err *e);

/*
 * True once a failure ended the handle (a tar stream that cannot go on, a
 * working directory lost): every later call fails, so stop early.
 */
int fs_extract_failed(const struct fs_extract *);

/*
 * Free the handle after a failure that ends the restore: a tar stream is
 * cut without a trailer whatever state it is in, so a reader cannot take
 * it for a whole archive; a directory handle discards the current entry,
 * if any, and closes as fs_extract_close does, errors ignored.  NULL is
 * fine.
 */
void fs_extract_abort(struct fs_extract *);

/*
 * Apply the deferred directory metadata (or write the tar trailer) and free
 * the handle.  A directory handle then flushes the target's file system
 * (one syncfs): what was restored is on disk before 0 or FS_EXTRACT_WARN
 * is returned, and a failed flush is -1 (ERR_IO).  0, FS_EXTRACT_WARN or
 * -1 as for fs_extract_end.  A tar
 * stream that has failed, or whose current file is still short of data, is
 * cut off (-1) rather than padded into something that looks whole: no
 * trailer, and one block that no reader takes for a header, so that GNU
 * tar fails even when the cut falls between two entries.  NULL is fine.
 */
int fs_extract_close(struct fs_extract *, struct err *e);

#endif
