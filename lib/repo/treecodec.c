/*
 * The tree blob codec (doc/FORMAT.md, "Trees").  The decoder reads
 * untrusted bytes: every length is checked against what is left of its
 * record before anything is read or allocated, so a hostile blob costs at
 * most its own size in memory.
 */
#include "repo/treecodec.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define TREE_MAGIC   "CFTR"
#define TREE_VERSION 1
#define TREE_HDR_LEN 12 /* magic, version, 3 zero bytes, node count */

/* Fixed-size fields of a record (see doc/FORMAT.md, "Trees"). */
#define REC_FIXED (1 + 1 + 2 + 4 + 4 + 3 * 12 + 8 + 8 + 8 + 8 + 4 + 4)
/* Smallest record: a 1-byte name, 7 empty strings, 3 zero counts. */
#define REC_MIN (4 + 1 + REC_FIXED + 7 * 4 + 3 * 4)

/* Encoding */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

static void
w_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (w->cap - w->len < n) {
		while (w->cap - w->len < n)
			w->cap = w->cap ? w->cap * 2 : 4096;
		w->p = xreallocarray(w->p, w->cap, 1);
	}
	if (n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void
w_uint(struct wbuf *w, uint64_t v, int bytes)
{
	uint8_t b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	w_bytes(w, b, (size_t)bytes);
}

static void
w_u32(struct wbuf *w, size_t v)
{
	assert(v <= UINT32_MAX);
	w_uint(w, (uint64_t)v, 4);
}

static void
w_str(struct wbuf *w, const char *s)
{
	size_t n = s == NULL ? 0 : strlen(s);

	w_u32(w, n);
	w_bytes(w, s, n);
}

static void
w_time(struct wbuf *w, const struct fs_time *t)
{
	w_uint(w, (uint64_t)t->sec, 8);
	w_uint(w, t->nsec, 4);
}

static int
cmp_node_ptr(const void *a, const void *b)
{
	const struct fs_node *x = *(const struct fs_node *const *)a;
	const struct fs_node *y = *(const struct fs_node *const *)b;

	return (strcmp(x->name, y->name));
}

static void
encode_node(struct wbuf *w, const struct fs_node *n)
{
	size_t start;

	assert(n->name != NULL && fs_name_valid(n->name, strlen(n->name)));
	assert(n->type >= FS_FILE && n->type <= FS_SOCK);
	assert((n->mode & ~07777u) == 0);
	assert((n->flags & ~(uint32_t)FS_NODE_FLAGS_KNOWN) == 0);
	assert(n->type == FS_FILE || (n->nchunks == 0 && n->nsparse == 0));
	assert(n->type == FS_DIR || !(n->flags & FS_NODE_HAS_SUBTREE));
	assert((n->type == FS_SYMLINK) ==
	    (n->symlink != NULL && n->symlink[0] != '\0'));

	start = w->len;
	w_u32(w, 0); /* record length, patched below */
	w_str(w, n->name);
	w_uint(w, (uint64_t)n->type, 1);
	w_uint(w, n->flags, 1);
	w_uint(w, n->mode, 2);
	w_uint(w, n->uid, 4);
	w_uint(w, n->gid, 4);
	w_time(w, &n->mtime);
	w_time(w, &n->atime);
	w_time(w, &n->ctime);
	w_uint(w, n->size, 8);
	w_uint(w, n->dev, 8);
	w_uint(w, n->ino, 8);
	w_uint(w, n->nlink, 8);
	w_uint(w, n->rdev_major, 4);
	w_uint(w, n->rdev_minor, 4);
	w_str(w, n->user);
	w_str(w, n->group);
	w_str(w, n->symlink);
	w_str(w, n->acl_access);
	w_str(w, n->acl_default);
	w_str(w, n->acl_nfs4);
	w_str(w, n->fflags);
	w_u32(w, n->nxattrs);
	for (size_t i = 0; i < n->nxattrs; i++) {
		assert(
		    n->xattrs[i].name != NULL && n->xattrs[i].name[0] != '\0');
		w_str(w, n->xattrs[i].name);
		w_u32(w, n->xattrs[i].len);
		w_bytes(w, n->xattrs[i].value, n->xattrs[i].len);
	}
	w_u32(w, n->nsparse);
	for (size_t i = 0; i < n->nsparse; i++) {
		w_uint(w, n->sparse[i].offset, 8);
		w_uint(w, n->sparse[i].length, 8);
	}
	w_u32(w, n->nchunks);
	w_bytes(w, n->chunks, n->nchunks * FS_ID_LEN);
	if (n->flags & FS_NODE_HAS_SUBTREE)
		w_bytes(w, n->subtree, FS_ID_LEN);
	{
		size_t reclen = w->len - start - 4;

		assert(reclen <= UINT32_MAX);
		for (int i = 0; i < 4; i++)
			w->p[start + (size_t)i] = (uint8_t)(reclen >> (8 * i));
	}
}

void
treecodec_encode(const struct fs_node *nodes, size_t n, uint8_t **out,
    size_t *outlen)
{
	const struct fs_node **order;
	struct wbuf w = { NULL, 0, 0 };

	order = xreallocarray(NULL, n == 0 ? 1 : n, sizeof(*order));
	for (size_t i = 0; i < n; i++)
		order[i] = &nodes[i];
	qsort(order, n, sizeof(*order), cmp_node_ptr);
	w_bytes(&w, TREE_MAGIC, 4);
	w_uint(&w, TREE_VERSION, 1);
	w_uint(&w, 0, 3);
	w_u32(&w, n);
	for (size_t i = 0; i < n; i++) {
		assert(
		    i == 0 || strcmp(order[i - 1]->name, order[i]->name) < 0);
		encode_node(&w, order[i]);
	}
	free(order);
	*out = w.p;
	*outlen = w.len;
}

/* Decoding */

struct rbuf {
	const uint8_t *p, *end;
	size_t index; /* node being read, for messages */
	struct err *e;
};

static int
bad(struct rbuf *r, const char *what)
{
	return (
	    err_set(r->e, ERR_CORRUPT, "tree: node %zu: %s", r->index, what));
}

static int
r_uint(struct rbuf *r, int bytes, uint64_t *v)
{
	*v = 0; /* set on failure too: callers need not initialise */
	if (r->end - r->p < bytes)
		return (bad(r, "record ends early"));
	for (int i = 0; i < bytes; i++)
		*v |= (uint64_t)r->p[i] << (8 * i);
	r->p += bytes;
	return (0);
}

static int
r_u32(struct rbuf *r, uint32_t *v)
{
	uint64_t x;

	if (r_uint(r, 4, &x) == -1)
		return (-1);
	*v = (uint32_t)x;
	return (0);
}

/* A length-prefixed byte string; *len is checked against what is left. */
static int
r_blob(struct rbuf *r, const uint8_t **p, size_t *len)
{
	uint32_t n;

	if (r_u32(r, &n) == -1)
		return (-1);
	if ((size_t)(r->end - r->p) < n)
		return (bad(r, "a length runs past the end of its record"));
	*p = r->p;
	*len = n;
	r->p += n;
	return (0);
}

/* A string without NUL bytes; empty means absent (NULL). */
static int
r_str(struct rbuf *r, char **s, const char *what)
{
	const uint8_t *p;
	size_t n;

	if (r_blob(r, &p, &n) == -1)
		return (-1);
	if (memchr(p, '\0', n) != NULL)
		return (err_set(r->e, ERR_CORRUPT,
		    "tree: node %zu: %s holds a NUL byte", r->index, what));
	*s = n == 0 ? NULL : xstrndup((const char *)p, n);
	return (0);
}

static int
r_time(struct rbuf *r, struct fs_time *t)
{
	uint64_t sec, nsec;

	if (r_uint(r, 8, &sec) == -1 || r_uint(r, 4, &nsec) == -1)
		return (-1);
	if (nsec >= 1000000000u)
		return (bad(r, "nanoseconds out of range"));
	t->sec = (int64_t)sec;
	t->nsec = (uint32_t)nsec;
	return (0);
}

/* A count of items of at least min bytes each, bounded by what is left. */
static int
r_count(struct rbuf *r, size_t min, uint32_t *n, const char *what)
{
	if (r_u32(r, n) == -1)
		return (-1);
	if ((size_t)(r->end - r->p) / min < *n)
		return (err_set(r->e, ERR_CORRUPT,
		    "tree: node %zu: %u %s cannot fit in the record", r->index,
		    *n, what));
	return (0);
}

static int
decode_fields(struct rbuf *r, struct fs_node *n)
{
	const uint8_t *p;
	uint64_t v, prev_end = 0;
	uint32_t cnt;
	size_t len;

	if (r_blob(r, &p, &len) == -1)
		return (-1);
	if (!fs_name_valid((const char *)p, len))
		return (bad(r,
		    "invalid name (empty, \".\", \"..\", or holds "
		    "'/' or NUL)"));
	n->name = xstrndup((const char *)p, len);
	if (r_uint(r, 1, &v) == -1)
		return (-1);
	if (v < FS_FILE || v > FS_SOCK)
		return (err_set(r->e, ERR_CORRUPT,
		    "tree: node %zu: unknown type %u", r->index, (unsigned)v));
	n->type = (enum fs_type)v;
	if (r_uint(r, 1, &v) == -1)
		return (-1);
	if (v & ~(uint64_t)FS_NODE_FLAGS_KNOWN)
		return (bad(r, "unknown flags"));
	n->flags = (uint32_t)v;
	if (r_uint(r, 2, &v) == -1)
		return (-1);
	if (v & ~07777u)
		return (bad(r, "mode has bits beyond 07777"));
	n->mode = (uint32_t)v;
	if (r_u32(r, &n->uid) == -1 || r_u32(r, &n->gid) == -1 ||
	    r_time(r, &n->mtime) == -1 || r_time(r, &n->atime) == -1 ||
	    r_time(r, &n->ctime) == -1 || r_uint(r, 8, &n->size) == -1 ||
	    r_uint(r, 8, &n->dev) == -1 || r_uint(r, 8, &n->ino) == -1 ||
	    r_uint(r, 8, &n->nlink) == -1 || r_u32(r, &n->rdev_major) == -1 ||
	    r_u32(r, &n->rdev_minor) == -1)
		return (-1);
	if (r_str(r, &n->user, "user name") == -1 ||
	    r_str(r, &n->group, "group name") == -1 ||
	    r_str(r, &n->symlink, "symlink target") == -1 ||
	    r_str(r, &n->acl_access, "access ACL") == -1 ||
	    r_str(r, &n->acl_default, "default ACL") == -1 ||
	    r_str(r, &n->acl_nfs4, "NFSv4 ACL") == -1 ||
	    r_str(r, &n->fflags, "file flags") == -1)
		return (-1);
	if ((n->type == FS_SYMLINK) != (n->symlink != NULL))
		return (bad(r,
		    n->type == FS_SYMLINK
		        ? "symlink without a target"
		        : "a target on something not a symlink"));

	if (r_count(r, 9, &cnt, "xattrs") == -1)
		return (-1);
	if (cnt > 0)
		n->xattrs = xcalloc(cnt, sizeof(*n->xattrs));
	for (uint32_t i = 0; i < cnt; i++) {
		struct fs_xattr *x = &n->xattrs[i];

		if (r_str(r, &x->name, "xattr name") == -1)
			return (-1);
		if (x->name == NULL)
			return (bad(r, "empty xattr name"));
		n->nxattrs++;
		if (r_blob(r, &p, &len) == -1)
			return (-1);
		x->value = xmalloc(len);
		if (len > 0)
			memcpy(x->value, p, len);
		x->len = len;
	}

	if (r_count(r, 16, &cnt, "extents") == -1)
		return (-1);
	if (cnt > 0 && n->type != FS_FILE)
		return (bad(r, "extents on something not a file"));
	if (cnt > 0)
		n->sparse = xcalloc(cnt, sizeof(*n->sparse));
	for (uint32_t i = 0; i < cnt; i++) {
		struct fs_extent *x = &n->sparse[i];

		if (r_uint(r, 8, &x->offset) == -1 ||
		    r_uint(r, 8, &x->length) == -1)
			return (-1);
		n->nsparse++;
		if (x->offset < prev_end || x->length > n->size ||
		    x->offset > n->size - x->length)
			return (bad(r,
			    "extents overlap, are out of order or "
			    "run past the file size"));
		prev_end = x->offset + x->length;
	}

	if (r_count(r, FS_ID_LEN, &cnt, "chunk ids") == -1)
		return (-1);
	if (cnt > 0 && n->type != FS_FILE)
		return (bad(r, "chunks on something not a file"));
	if (cnt > 0) {
		n->chunks = xreallocarray(NULL, cnt, FS_ID_LEN);
		memcpy(n->chunks, r->p, (size_t)cnt * FS_ID_LEN);
		n->nchunks = cnt;
		r->p += (size_t)cnt * FS_ID_LEN;
	}

	if (n->flags & FS_NODE_HAS_SUBTREE) {
		if (n->type != FS_DIR)
			return (bad(r,
			    "a subtree on something not a "
			    "directory"));
		if (r->end - r->p < FS_ID_LEN)
			return (bad(r, "record ends early"));
		memcpy(n->subtree, r->p, FS_ID_LEN);
		r->p += FS_ID_LEN;
	}
	if (r->p != r->end)
		return (bad(r, "bytes left over at the end of the record"));
	return (0);
}

int
treecodec_decode(const uint8_t *p, size_t len, struct fs_node **nodesp,
    size_t *np, struct err *e)
{
	const uint8_t *end = p + len;
	struct fs_node *nodes = NULL;
	struct rbuf r;
	uint32_t count = 0;
	size_t done;
	int rc = -1;

	*nodesp = NULL;
	*np = 0;
	if (len < TREE_HDR_LEN || memcmp(p, TREE_MAGIC, 4) != 0) {
		err_set(e, ERR_CORRUPT, "tree: not a tree blob");
		goto out;
	}
	if (p[4] != TREE_VERSION) {
		err_set(e, ERR_CORRUPT,
		    "tree: format version %u is not supported (this coffer "
		    "reads version %u)",
		    p[4], TREE_VERSION);
		goto out;
	}
	if (p[5] != 0 || p[6] != 0 || p[7] != 0) {
		err_set(e, ERR_CORRUPT, "tree: reserved header bytes are set");
		goto out;
	}
	count = (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
	    (uint32_t)p[11] << 24;
	p += TREE_HDR_LEN;
	if ((size_t)(end - p) / REC_MIN < count) {
		err_set(e, ERR_CORRUPT,
		    "tree: %u nodes cannot fit in %zu bytes", count, len);
		goto out;
	}
	nodes = xcalloc(count, sizeof(*nodes));
	r.e = e;
	for (done = 0; done < count; done++) {
		uint32_t reclen;

		r.index = done;
		r.p = p;
		r.end = end;
		if (r_u32(&r, &reclen) == -1)
			goto out;
		if ((size_t)(end - r.p) < reclen) {
			bad(&r, "record runs past the end of the blob");
			goto out;
		}
		r.end = r.p + reclen;
		if (decode_fields(&r, &nodes[done]) == -1)
			goto out;
		p = r.end;
		if (done > 0 &&
		    strcmp(nodes[done - 1].name, nodes[done].name) >= 0) {
			bad(&r, "names out of order or repeated");
			goto out;
		}
	}
	if (p != end) {
		err_set(e, ERR_CORRUPT, "tree: bytes left over after %u nodes",
		    count);
		goto out;
	}
	*nodesp = nodes;
	*np = count;
	nodes = NULL;
	rc = 0;
out:
	fs_nodes_free(nodes, count); /* zeroed past what was decoded */
	return (rc);
}
