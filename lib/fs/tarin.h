/*
 * Reading a tar stream (ustar, pax, GNU; plain or gzip, bzip2, xz or zstd
 * compressed) through libarchive, one member at a time, as the walk of
 * fs/walk.h reads a directory: a struct fs_node per member, with its path
 * made safe, and its data streamed without holding a whole member.
 *
 * Paths.  A member's path is cleaned before anyone sees it: leading '/'
 * are removed (normalised, and said so), "." components and repeated
 * slashes dropped; a ".." component makes the member refused.  The clean
 * path is relative ("a/b"; "" for the archive's root) and every component
 * a valid node name (fs_name_valid).  A name is what libarchive gives: a
 * C string, so a NUL in a header ends the name there.
 */
#ifndef COFFER_FS_TARIN_H
#define COFFER_FS_TARIN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs/node.h"

/* Paths longer than this (bytes, clean) are refused: no restore takes them */
#define FS_TARIN_PATH_MAX 4095

/* fs_tarin_next results */
#define FS_TARIN_END     0
#define FS_TARIN_ENTRY   1
#define FS_TARIN_REFUSED 2

/* What fs_tarin_next yields; valid until the next fs_tarin_next or close. */
struct fs_tarin_ent {
	/*
	 * Owned by the reader; the caller may take its contents with
	 * fs_node_move.  name is the path's last component (NULL for the
	 * root, path ""); nlink is 1, dev and ino 0, atime = mtime.  A hard
	 * link is a FS_FILE node of size 0 with hardlink set.
	 */
	struct fs_node *node;
	const char *path;     /* clean, relative: "a/b", "" for the root */
	const char *raw;      /* the path as the archive gave it */
	const char *hardlink; /* clean path of the file it links to, or NULL */
	int stripped;         /* a leading '/' was removed from path or link */
};

struct fs_tarin;

/*
 * Start reading a tar stream from fd (not closed by us; read in blocks of
 * 64 KiB).  Fails (ERR_IO, or ERR_INTERNAL when libarchive cannot be set
 * up) when the first bytes cannot be read or are neither a tar archive
 * nor one of the compressions above: nothing was taken then.
 */
int fs_tarin_open(int fd, struct fs_tarin **out, struct err *e);

/*
 * The next member into *ent.  FS_TARIN_ENTRY, FS_TARIN_END after the
 * last, or FS_TARIN_REFUSED when a member cannot be taken (a ".."
 * component, a path too long, an unknown type, a symlink without a
 * target, an owner id that does not fit 32 bits): e says why (ERR_CORRUPT),
 * ent->raw names it, and the stream goes on at the next call.  -1 when
 * the stream itself fails (not a tar archive, truncated, a read error):
 * e says why (ERR_IO), and nothing more can be read.
 */
int fs_tarin_next(struct fs_tarin *, struct fs_tarin_ent *ent, struct err *e);

/*
 * Read the current member's data stream (a regular file, not a hard
 * link) into buf: the number of bytes, 0 at its end, -1 when the stream
 * fails (ERR_IO) or its blocks are out of shape (ERR_CORRUPT).  Holes of
 * a sparse member are not read: the blocks' extents go into the node
 * (none when the data fills [0, size), which is then dense), so that the
 * bytes returned are the node's data stream as chunks store it.  Call
 * until 0 before taking the node; not reading a member is fine (its data
 * is skipped).
 */
ssize_t fs_tarin_read(struct fs_tarin *, void *buf, size_t len, struct err *e);

/* Free the reader; NULL is fine. */
void fs_tarin_close(struct fs_tarin *);

/*
 * Clean a member path (see above) into *out (free()): "" for the root.
 * *stripped is set when leading slashes were removed.  -1 (ERR_CORRUPT)
 * for a ".." component or a clean path longer than FS_TARIN_PATH_MAX.
 */
int fs_tarin_path_clean(const char *raw, char **out, int *stripped,
    struct err *e);

#endif
