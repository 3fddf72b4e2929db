/*
 * Reading snapshot trees: load one directory's tree blob, find the node a
 * path names, walk a subtree depth-first, compare two trees.  Memory stays
 * at one decoded tree per directory level (two for a comparison), however
 * large the snapshot.  The encoding is doc/FORMAT.md, "Trees".
 *
 * Paths here are the snapshot's absolute paths: "/" then the components
 * from the root tree down, joined by "/" ("/etc/hosts").  Components are
 * bytes as the file system gave them (anything but '/' and NUL).
 */
#ifndef COFFER_TREE_H
#define COFFER_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs/node.h"
#include "repo/repo.h"
#include "repo/treecodec.h"

/* Where trees come from: a repository, and how many trees were read. */
struct tree_reader;

/* A reader of r's trees; r must outlive it.  Never fails. */
struct tree_reader *tree_reader_new(struct repo *r);
void tree_reader_free(struct tree_reader *);

/* How many tree blobs were loaded through the reader so far. */
uint64_t tree_reader_loads(const struct tree_reader *);

/* One directory's entries, in name order (unsigned bytes). */
struct tree_dir {
	struct fs_node *nodes;
	size_t n;
};

/*
 * Load and decode the tree blob id into *out (free with tree_dir_clear).
 * A missing or damaged blob (its pack gone too) is ERR_CORRUPT naming the
 * id ("tree 0123456789abcdef: ...").  The blob's plaintext is wiped
 * before it is freed: it names files.  This is the one reader of tree
 * blobs: ls, diff, restore and check all load trees through it.
 */
int tree_load(struct tree_reader *, const uint8_t id[FS_ID_LEN],
    struct tree_dir *out, struct err *);

/*
 * The entries of directory node dir: its subtree, or none when it has no
 * subtree (an empty directory).  dir must be an FS_DIR node.
 */
int tree_load_dir(struct tree_reader *, const struct fs_node *dir,
    struct tree_dir *out, struct err *);

/* Free what d holds and zero it; a zeroed d is fine. */
void tree_dir_clear(struct tree_dir *d);

/* The entry named name (len bytes) by binary search, or NULL. */
const struct fs_node *tree_dir_lookup(const struct tree_dir *d,
    const char *name, size_t len);

/*
 * A snapshot path as the user gives it (ls PATH, restore --include and
 * --stdout), made canonical into *out (allocated: free()): "/" and the
 * components joined by "/", "/" alone for the root.  Repeated '/', a
 * trailing '/' and "." components are dropped ("//etc/./hosts/" gives
 * "/etc/hosts").  Refused with ERR_USAGE, naming path: one that is not
 * absolute (a snapshot holds its paths absolute), and one with a ".."
 * component (no entry is named "..", and a path must never climb out of
 * where it is restored).  *out is NULL on failure.
 */
int tree_path_clean(const char *path, char **out, struct err *);

/*
 * Find the node path names below the root tree root.  path is read as
 * tree_path_clean reads it (repeated '/' and "." are skipped), but is not
 * checked: a ".." component is simply never found.  The root ("/", or "")
 * is an FS_DIR node without a name whose subtree is root.
 *
 * Returns 0 with a copy of the node in *out (free with fs_node_clear); 1
 * when there is no such path, with ERR_USAGE in *e saying so ("/etc/x is
 * not in the snapshot", and what is in the way when a component on it is
 * not a directory) and *out zeroed; -1 when a tree on the way cannot be
 * read (tree_load's class, the message naming the directory).  Loads one
 * tree per component.
 */
int tree_find(struct tree_reader *, const uint8_t root[FS_ID_LEN],
    const char *path, struct fs_node *out, struct err *);

/*
 * Depth-first walk of a directory's subtree: each entry, then when it is
 * a directory everything below it, siblings in name order.  A directory's
 * subtree is only loaded when the walk goes on past the directory, so
 * tree_iter_prune can skip it for free.
 */
struct tree_iter;

/*
 * A walk of the tree with id dir (NULL: an empty directory), whose path
 * is prefix ("" for the root tree, "/etc" for /etc; no trailing '/').
 * Nothing is loaded until the first tree_iter_next.  Never fails.
 */
struct tree_iter *tree_iter_new(struct tree_reader *,
    const uint8_t dir[FS_ID_LEN], const char *prefix);

/*
 * The next entry: returns 1 with the node in *node and its full path in
 * *path (both valid until the next call on it), 0 at the end, -1 when a
 * tree cannot be read (the walk cannot go on).
 */
int tree_iter_next(struct tree_iter *, const struct fs_node **node,
    const char **path, struct err *);

/* Do not descend into the directory tree_iter_next returned last. */
void tree_iter_prune(struct tree_iter *);

/* Free the walk; NULL is fine. */
void tree_iter_free(struct tree_iter *);

/* What differs between two nodes of the same path (tree_node_changes). */
#define TREE_CHG_TYPE    0x0001 /* another kind of entry */
#define TREE_CHG_SIZE    0x0002
#define TREE_CHG_CONTENT 0x0004 /* chunk list or sparse layout */
#define TREE_CHG_TARGET  0x0008 /* symlink target */
#define TREE_CHG_DEVICE  0x0010 /* device numbers */
#define TREE_CHG_DATA    0x001f /* any of the above: the content changed */
#define TREE_CHG_MODE    0x0100 /* permission bits */
#define TREE_CHG_OWNER   0x0200 /* uid, gid, user or group name */
#define TREE_CHG_MTIME   0x0400
#define TREE_CHG_XATTR   0x0800
#define TREE_CHG_ACL     0x1000
#define TREE_CHG_FFLAGS  0x2000 /* file flags */
#define TREE_CHG_META    0x3f00 /* any of the above: what restore sets */

/*
 * Which TREE_CHG_* bits tell a from b, two nodes of one path.  Neither
 * the subtree of a directory (its content is its entries), nor atime,
 * ctime, device, inode and link count (they change without the entry
 * changing), nor the "changed while read" flag count.  A type change
 * sets TREE_CHG_TYPE alone.
 */
unsigned tree_node_changes(const struct fs_node *a, const struct fs_node *b);

/* TREE_CHG_* names, for listings: "type", "size", ... NULL if unknown. */
const char *tree_chg_name(unsigned bit);

/* One difference found by tree_diff. */
enum tree_change {
	TREE_ADDED = '+',    /* only in b */
	TREE_REMOVED = '-',  /* only in a */
	TREE_MODIFIED = 'M', /* content changed: changes & TREE_CHG_DATA */
	TREE_METADATA = 'm', /* only metadata (with TREE_DIFF_METADATA) */
};

struct tree_delta {
	enum tree_change kind;
	const char *path;        /* full path */
	const struct fs_node *a; /* the entry in a, NULL when added */
	const struct fs_node *b; /* the entry in b, NULL when removed */
	unsigned changes;        /* TREE_CHG_* for M and m, else 0 */
};

/* tree_diff flags */
#define TREE_DIFF_METADATA 0x01 /* report metadata-only changes too */

/*
 * Compare the trees a and b (root trees, or any two directories' trees;
 * NULL is an empty directory) by walking both in name order at once, and
 * call fn for each difference, in the order of a depth-first walk of the
 * two merged:
 *
 *  - an entry only in b is TREE_ADDED, and so is everything below it;
 *    one only in a is TREE_REMOVED, with everything below it;
 *  - an entry whose type changed is TREE_MODIFIED, then what was below
 *    it (when it was a directory) is removed and what is below it now is
 *    added;
 *  - a file, symlink or device whose content changed is TREE_MODIFIED;
 *    with TREE_DIFF_METADATA, an entry (directories too) whose content is
 *    the same but whose metadata changed is TREE_METADATA;
 *  - two directories with the same subtree id are the same below: their
 *    trees are not loaded.  That is what keeps a diff of two snapshots of
 *    a large, little-changed tree fast.
 *
 * Paths are prefix (as for tree_iter_new) "/" name.  fn returns 0 to go
 * on, or -1 with its error in the struct err it is given to stop the
 * comparison (output failed, interrupted).  Returns 0 when done, -1 when a
 * tree cannot be read or fn stopped it.
 */
int tree_diff(struct tree_reader *, const uint8_t a[FS_ID_LEN],
    const uint8_t b[FS_ID_LEN], const char *prefix, int flags,
    int (*fn)(void *arg, const struct tree_delta *, struct err *), void *arg,
    struct err *);

#endif
