/*
 * The entry model shared by the file-system walk, extraction and the
 * repository: one struct fs_node per directory entry.  The tree blob that
 * lists one directory's nodes is the repository's (repo/treecodec.h).
 * Nothing here touches the file system.
 */
#ifndef COFFER_FS_NODE_H
#define COFFER_FS_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FS_ID_LEN 32 /* chunk and subtree ids: keyed hashes */

enum fs_type {
	FS_FILE = 1,
	FS_DIR = 2,
	FS_SYMLINK = 3,
	FS_FIFO = 4,
	FS_CHR = 5,
	FS_BLK = 6,
	FS_SOCK = 7,
};

/* fs_node.flags */
#define FS_NODE_INCONSISTENT 0x01 /* the file changed while it was read */
#define FS_NODE_HAS_SUBTREE  0x02 /* dirs: subtree holds the tree blob id */
#define FS_NODE_FLAGS_KNOWN  0x03

struct fs_time {
	int64_t sec;   /* seconds since the epoch, may be negative */
	uint32_t nsec; /* 0 .. 999999999 */
};

struct fs_xattr {
	char *name; /* "user.comment", ...; never empty */
	uint8_t *value;
	size_t len;
};

/* A data region of a sparse file; what lies between extents is a hole. */
struct fs_extent {
	uint64_t offset;
	uint64_t length;
};

/*
 * Every string below is NUL-terminated and owned by the node; NULL means
 * absent (the encoding does not tell NULL from "").  Names and other
 * strings are bytes as the file system gave them, not necessarily UTF-8.
 */
struct fs_node {
	char *name; /* one component: not "", ".", "..", no '/' */
	enum fs_type type;
	uint32_t mode;      /* permission bits incl. setuid/setgid/sticky */
	uint32_t uid, gid;  /* numeric owner */
	char *user, *group; /* owner names, NULL when unknown */
	struct fs_time mtime, atime, ctime; /* ctime: informational */
	uint64_t size;     /* files: length in bytes; else as stat says */
	uint64_t dev, ino; /* identity at backup time (hard links) */
	uint64_t nlink;
	uint32_t rdev_major, rdev_minor; /* FS_CHR, FS_BLK */
	char *symlink;                   /* FS_SYMLINK: the target, as stored */
	struct fs_xattr *xattrs;         /* in the order they were read */
	size_t nxattrs;
	/* ACLs as libarchive's text (with numeric ids), NULL when none. */
	char *acl_access, *acl_default, *acl_nfs4;
	char *fflags; /* file flags as libarchive's text ("nodump,..."), or NULL
	               */
	/*
	 * Files: the data extents, sorted, disjoint, within [0, size).  None
	 * means dense: all of [0, size) is data.  A file that is all hole has
	 * one extent of length 0.
	 */
	struct fs_extent *sparse;
	size_t nsparse;
	/* Files: ids of the chunks whose concatenation is the data. */
	uint8_t (*chunks)[FS_ID_LEN];
	size_t nchunks;
	uint8_t subtree[FS_ID_LEN]; /* dirs, with FS_NODE_HAS_SUBTREE */
	uint32_t flags;             /* FS_NODE_* */
};

/* Free everything n owns and zero it; the struct itself is the caller's. */
void fs_node_clear(struct fs_node *n);

/* Make dst (uninitialised or cleared) a deep copy of src. */
void fs_node_copy(struct fs_node *dst, const struct fs_node *src);

/* Move src's contents into dst (dst is overwritten, not freed); zero src. */
void fs_node_move(struct fs_node *dst, struct fs_node *src);

/* fs_node_clear each of n nodes, then free the array; NULL is fine. */
void fs_nodes_free(struct fs_node *nodes, size_t n);

/* Append (copies of) an xattr, a data extent, a chunk id. */
void fs_node_add_xattr(struct fs_node *n, const char *name, const void *value,
    size_t len);
void fs_node_add_extent(struct fs_node *n, uint64_t offset, uint64_t length);
void fs_node_add_chunk(struct fs_node *n, const uint8_t id[FS_ID_LEN]);

/* Replace a string field (*field) with a copy of s (NULL clears it). */
void fs_node_set_str(char **field, const char *s);

/* Total bytes of data a file holds: size if dense, else the extents' sum. */
uint64_t fs_node_data_len(const struct fs_node *n);

/*
 * Where byte pos of a file's data stream (the concatenation of its chunks)
 * lies in the file: *offset is the file offset and *run how many bytes
 * from there on are contiguous in the file.  -1 when pos is at or past
 * fs_node_data_len.
 */
int fs_node_data_offset(const struct fs_node *n, uint64_t pos, uint64_t *offset,
    uint64_t *run);

/* True when name is a valid node name: not "", ".", "..", no '/'. */
int fs_name_valid(const char *name, size_t len);

/* A short word for a type ("file", "dir", ...), "?" when unknown. */
const char *fs_type_name(enum fs_type);

#endif
