/*
 * Reading the file system for a snapshot: a walk over one or more roots
 * that yields a struct fs_node per entry, with metadata read by libarchive
 * (archive_read_disk: owner names, ACLs, xattrs, file flags, sparse map),
 * and streams each regular file's data blocks with their offsets.
 *
 * Order.  Entries come depth-first, in post-order, one root after another:
 * a directory's entries come sorted by name (byte order, as in a tree
 * blob), each subdirectory's whole subtree coming just before the
 * subdirectory's own node, and a directory's node comes right after its
 * last entry.  So when a directory's node arrives, every entry below it has
 * been seen, and the entries of depth d + 1 seen since the previous node of
 * depth <= d are exactly its entries, in tree order: a caller builds the
 * tree blobs bottom-up with one list per depth and no sorting.  A root is
 * depth 0, its entries depth 1, and so on.
 *
 * Memory is bounded by the listings of the directories on the current path
 * plus one read buffer (the caller's).  Descriptors are bounded too, not
 * one per level: at most fs_walk_opts.dir_fds directories are held open
 * (the root's and the deepest), plus the file being read and one while a
 * directory is listed; a shallower directory is opened again by name from
 * the nearest open one when the walk comes back to it, and must then be
 * the directory first opened (same st_dev and st_ino): one replaced or
 * gone meanwhile is reported (FS_WALK_SKIP for it and each directory
 * below it still to finish), never followed.  Out of descriptors
 * (EMFILE), the walk closes more of its own and tries again.  Files are
 * opened with O_NOATIME where the kernel allows it, and
 * atimes are never reset afterwards.  Symlinks are never followed, the roots
 * included.
 */
#ifndef COFFER_FS_WALK_H
#define COFFER_FS_WALK_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs/node.h"

struct fs_walk_opts {
	/*
	 * fnmatch(3) patterns (flags 0).  An entry below a root is left out
	 * when a pattern matches its full path (the root as given, then
	 * "/name"...) or its name alone; a directory left out is not entered.
	 * Roots themselves are always read.
	 */
	const char *const *exclude;
	size_t nexclude;
	/*
	 * Do not enter directories on another file system than their root's:
	 * the mount point itself is kept, as an empty directory.
	 */
	int one_file_system;
	/*
	 * At most this many directory descriptors held at once (2 at
	 * least: the root's and the current directory's); 0 = 8.
	 */
	size_t dir_fds;
};

/* What fs_walk_next yields; valid until the next fs_walk_next or close. */
struct fs_walk_ent {
	/*
	 * Owned by the walk; the caller may change it or take its contents
	 * with fs_node_move.  For a root, name is the root's last component
	 * ("/" for the file system root): the caller places roots.
	 */
	struct fs_node *node;
	const char *path;    /* as opened: the root as given, "/name"... */
	const char *relpath; /* below the root: "" for the root, "a/b" */
	size_t depth;        /* 0 for a root */
	size_t root;         /* index of the root in roots[] */
	/*
	 * NULL, or why the entry is incomplete though it is there: metadata
	 * (an ACL, an xattr) that could not be read, or a directory that could
	 * not be listed (in full), whose node then comes with fewer entries.
	 */
	const char *warning;
};

struct fs_walk;
struct archive_entry;

/*
 * Copy what libarchive read beside the stat fields (xattrs, ACLs as
 * text with numeric ids, file flags) into n: the one conversion for the
 * tree walk and for tar ingest (fs/tarin.c).
 */
void fs_node_take_extras(struct fs_node *, struct archive_entry *);

/* fs_walk_next results */
#define FS_WALK_END   0
#define FS_WALK_ENTRY 1
#define FS_WALK_SKIP  2

/*
 * Start a walk over n roots (paths, visited in the order given).  Each root
 * must exist (lstat): one that does not is an ERR_IO error, since the
 * caller named it.  opts may be NULL.
 */
int fs_walk_open(const char *const *roots, size_t n,
    const struct fs_walk_opts *opts, struct fs_walk **out, struct err *e);

/*
 * The next entry into *ent.  Returns FS_WALK_ENTRY, FS_WALK_END when all
 * roots are done, FS_WALK_SKIP when an entry could not be read at all
 * (vanished since its directory was listed, permission denied, a
 * directory replaced while it was read): e says which and why (class
 * ERR_IO), ent->path names it, and the walk goes on at the next call.  A
 * directory skipped so comes with ent->depth set, after entries of its
 * own (depth + 1) that were yielded: the caller drops those.  -1 is a failure
 * of the walk itself.
 */
int fs_walk_next(struct fs_walk *, struct fs_walk_ent *ent, struct err *e);

/*
 * Read the data of the current entry (a regular file) into buf: returns the
 * number of bytes (1..size) with *offset their position in the file, 0 at
 * the end, -1 on a read error (e says why; the walk itself can go on with
 * fs_walk_next).  Only data extents are read: holes are skipped, not read
 * as zeros, and the blocks come in file order, filling exactly the node's
 * extents (all of [0, size) for a dense file), so the concatenation of the
 * blocks is the file's data stream as chunks should store it.
 *
 * When 0 is returned the file is checked again: if its size, mtime or ctime
 * differ from when it was opened, FS_NODE_INCONSISTENT is set in the node.
 * A file that shrank while read is padded with zeros to what its node
 * promised (and flagged); bytes beyond its size at open are not read.
 * Not calling fs_walk_read (e.g. for a file known unchanged) is fine.
 */
ssize_t fs_walk_read(struct fs_walk *, void *buf, size_t size, uint64_t *offset,
    struct err *e);

/*
 * Start reading the current regular file again from its beginning, after
 * fs_walk_read flagged it FS_NODE_INCONSISTENT: size and times are taken
 * anew (the flag is cleared) and the whole of [0, size) is read, holes as
 * zeros, since the old sparse map may no longer hold.
 */
int fs_walk_reread(struct fs_walk *, struct err *e);

/* End the walk and free it; NULL is fine. */
void fs_walk_close(struct fs_walk *);

/*
 * The libarchive library in use and what it was built with, e.g.
 * "libarchive 3.6.2 zlib/1.2.13 liblzma/5.4.1 ...".
 */
const char *fs_archive_version(void);

#endif
