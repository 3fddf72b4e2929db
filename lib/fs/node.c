/*
 * Nodes: the entry model of a directory entry, and the helpers that build,
 * copy and free one.  The tree blob that lists a directory's nodes is the
 * repository format's, in lib/repo/treecodec.c.
 */
#include "fs/node.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

void
fs_node_clear(struct fs_node *n)
{
	if (n == NULL)
		return;
	free(n->name);
	free(n->user);
	free(n->group);
	free(n->symlink);
	for (size_t i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	free(n->acl_access);
	free(n->acl_default);
	free(n->acl_nfs4);
	free(n->fflags);
	free(n->sparse);
	free(n->chunks);
	memset(n, 0, sizeof(*n));
}

static char *
dup_or_null(const char *s)
{
	return (s == NULL ? NULL : xstrdup(s));
}

void
fs_node_copy(struct fs_node *dst, const struct fs_node *src)
{
	*dst = *src;
	dst->name = dup_or_null(src->name);
	dst->user = dup_or_null(src->user);
	dst->group = dup_or_null(src->group);
	dst->symlink = dup_or_null(src->symlink);
	dst->acl_access = dup_or_null(src->acl_access);
	dst->acl_default = dup_or_null(src->acl_default);
	dst->acl_nfs4 = dup_or_null(src->acl_nfs4);
	dst->fflags = dup_or_null(src->fflags);
	dst->xattrs = NULL;
	dst->nxattrs = 0;
	for (size_t i = 0; i < src->nxattrs; i++)
		fs_node_add_xattr(dst, src->xattrs[i].name,
		    src->xattrs[i].value, src->xattrs[i].len);
	dst->sparse = NULL;
	if (src->nsparse > 0) {
		dst->sparse =
		    xreallocarray(NULL, src->nsparse, sizeof(*dst->sparse));
		memcpy(dst->sparse, src->sparse,
		    src->nsparse * sizeof(*dst->sparse));
	}
	dst->chunks = NULL;
	if (src->nchunks > 0) {
		dst->chunks = xreallocarray(NULL, src->nchunks, FS_ID_LEN);
		memcpy(dst->chunks, src->chunks, src->nchunks * FS_ID_LEN);
	}
}

void
fs_node_move(struct fs_node *dst, struct fs_node *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

void
fs_nodes_free(struct fs_node *nodes, size_t n)
{
	if (nodes == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		fs_node_clear(&nodes[i]);
	free(nodes);
}

void
fs_node_add_xattr(struct fs_node *n, const char *name, const void *value,
    size_t len)
{
	struct fs_xattr *x;

	n->xattrs =
	    xreallocarray(n->xattrs, n->nxattrs + 1, sizeof(*n->xattrs));
	x = &n->xattrs[n->nxattrs++];
	x->name = xstrdup(name);
	x->value = xmalloc(len);
	if (len > 0)
		memcpy(x->value, value, len);
	x->len = len;
}

void
fs_node_add_extent(struct fs_node *n, uint64_t offset, uint64_t length)
{
	n->sparse =
	    xreallocarray(n->sparse, n->nsparse + 1, sizeof(*n->sparse));
	n->sparse[n->nsparse].offset = offset;
	n->sparse[n->nsparse].length = length;
	n->nsparse++;
}

void
fs_node_add_chunk(struct fs_node *n, const uint8_t id[FS_ID_LEN])
{
	n->chunks = xreallocarray(n->chunks, n->nchunks + 1, FS_ID_LEN);
	memcpy(n->chunks[n->nchunks++], id, FS_ID_LEN);
}

void
fs_node_set_str(char **field, const char *s)
{
	free(*field);
	*field = dup_or_null(s);
}

uint64_t
fs_node_data_len(const struct fs_node *n)
{
	uint64_t total = 0;

	if (n->nsparse == 0)
		return (n->size);
	for (size_t i = 0; i < n->nsparse; i++)
		total += n->sparse[i].length;
	return (total);
}

int
fs_node_data_offset(const struct fs_node *n, uint64_t pos, uint64_t *offset,
    uint64_t *run)
{
	if (n->nsparse == 0) {
		if (pos >= n->size)
			return (-1);
		*offset = pos;
		*run = n->size - pos;
		return (0);
	}
	for (size_t i = 0; i < n->nsparse; i++) {
		if (pos < n->sparse[i].length) {
			*offset = n->sparse[i].offset + pos;
			*run = n->sparse[i].length - pos;
			return (0);
		}
		pos -= n->sparse[i].length;
	}
	return (-1);
}

int
fs_name_valid(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len) != NULL ||
	    memchr(name, '\0', len) != NULL)
		return (0);
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return (0);
	return (1);
}

const char *
fs_type_name(enum fs_type t)
{
	switch (t) {
	case FS_FILE:
		return ("file");
	case FS_DIR:
		return ("dir");
	case FS_SYMLINK:
		return ("symlink");
	case FS_FIFO:
		return ("fifo");
	case FS_CHR:
		return ("chardev");
	case FS_BLK:
		return ("blockdev");
	case FS_SOCK:
		return ("socket");
	}
	return ("?");
}
