/*
 * Reading snapshot trees.  The walks keep an explicit stack with one
 * decoded tree per level rather than recursing, so neither the C stack nor
 * the heap grows with anything but the depth of the deepest path.
 */
#include "repo/tree.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "esc.h"
#include "xmalloc.h"

struct tree_reader {
	struct repo *repo;
	uint64_t loads;
};

struct tree_reader *
tree_reader_new(struct repo *r)
{
	struct tree_reader *tr = xcalloc(1, sizeof(*tr));

	tr->repo = r;
	return (tr);
}

void
tree_reader_free(struct tree_reader *tr)
{
	free(tr);
}

uint64_t
tree_reader_loads(const struct tree_reader *tr)
{
	return (tr->loads);
}

int
tree_load(struct tree_reader *tr, const uint8_t id[FS_ID_LEN],
    struct tree_dir *out, struct err *e)
{
	char hex[2 * FS_ID_LEN + 1];
	uint8_t *p = NULL;
	size_t n = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	tr->loads++;
	if (repo_blob_get(tr->repo, id, IDX_BLOB_TREE, &p, &n, e) == -1) {
		/* A pack the index names is gone: the tree is missing. */
		if (e->class == ERR_IO && e->sys_errno == ENOENT)
			e->class = ERR_CORRUPT;
		goto out;
	}
	if (treecodec_decode(p, n, &out->nodes, &out->n, e) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		crypto_hex_encode(id, FS_ID_LEN, hex);
		err_wrap(e, "tree %.16s", hex);
	}
	/* The plaintext names files: wipe it. */
	freezero(p, n);
	return (rc);
}

int
tree_load_dir(struct tree_reader *tr, const struct fs_node *dir,
    struct tree_dir *out, struct err *e)
{
	assert(dir->type == FS_DIR);
	if ((dir->flags & FS_NODE_HAS_SUBTREE) == 0) {
		memset(out, 0, sizeof(*out));
		return (0);
	}
	return (tree_load(tr, dir->subtree, out, e));
}

void
tree_dir_clear(struct tree_dir *d)
{
	fs_nodes_free(d->nodes, d->n);
	memset(d, 0, sizeof(*d));
}

/* Unsigned byte order, a prefix first: the order of FORMAT.md. */
static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return (c);
	return (alen < blen ? -1 : alen > blen);
}

const struct fs_node *
tree_dir_lookup(const struct tree_dir *d, const char *name, size_t len)
{
	size_t lo = 0, hi = d->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = name_cmp(name, len, d->nodes[mid].name,
		    strlen(d->nodes[mid].name));
		if (c == 0)
			return (&d->nodes[mid]);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (NULL);
}

/* A growing path buffer: "" then "/name" per level. */
struct pathbuf {
	char *p;
	size_t len, cap;
};

static void
path_set(struct pathbuf *pb, size_t len, const char *name, size_t nlen)
{
	size_t need = len + 1 + nlen + 1;

	if (need > pb->cap) {
		pb->cap = need > 2 * pb->cap ? need : 2 * pb->cap;
		pb->p = xreallocarray(pb->p, pb->cap, 1);
	}
	pb->len = len;
	if (name != NULL) {
		pb->p[pb->len++] = '/';
		memcpy(pb->p + pb->len, name, nlen);
		pb->len += nlen;
	}
	pb->p[pb->len] = '\0';
}

static void
path_init(struct pathbuf *pb, const char *prefix)
{
	pb->len = strlen(prefix);
	pb->cap = pb->len + 1;
	pb->p = xmalloc(pb->cap);
	memcpy(pb->p, prefix, pb->cap);
}

/* Add "tree of PATH" (escaped) to e. */
static int
wrap_path(struct err *e, const char *path, size_t len)
{
	char *s = esc_str(path, len);

	err_wrap(e, "tree of %s", len == 0 ? "/" : s);
	free(s);
	return (-1);
}

/* Fill e: path is not in the snapshot, and why when something is in the way. */
static void
not_found(struct err *e, const char *path, size_t upto,
    const struct fs_node *in)
{
	char *s = esc_str(path, strlen(path)), *t = NULL;

	if (in == NULL)
		err_set(e, ERR_USAGE, "%s is not in the snapshot", s);
	else {
		t = esc_str(path, upto);
		if (in->type == FS_DIR)
			err_set(e, ERR_USAGE,
			    "%s is not in the snapshot (%s is an empty "
			    "directory)",
			    s, t);
		else
			err_set(e, ERR_USAGE,
			    "%s is not in the snapshot (%s is a %s, not a "
			    "directory)",
			    s, t, fs_type_name(in->type));
	}
	free(s);
	free(t);
}

int
tree_find(struct tree_reader *tr, const uint8_t root[FS_ID_LEN],
    const char *path, struct fs_node *out, struct err *e)
{
	struct tree_dir d = { NULL, 0 };
	const struct fs_node *hit = NULL;
	uint8_t next[FS_ID_LEN];
	int more = 1; /* next names a tree */
	const char *p = path, *comp;
	size_t len, upto = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memcpy(next, root, FS_ID_LEN);
	for (;;) {
		p += strspn(p, "/");
		if (*p == '\0')
			break;
		comp = p;
		len = strcspn(p, "/");
		p += len;
		if (len == 1 && comp[0] == '.')
			continue;
		if (!more) {
			/* hit, ending at upto, is no directory to look in. */
			not_found(e, path, upto, hit);
			rc = 1;
			goto out;
		}
		tree_dir_clear(&d);
		if (tree_load(tr, next, &d, e) == -1) {
			wrap_path(e, path, (size_t)(comp - path));
			goto out;
		}
		if ((hit = tree_dir_lookup(&d, comp, len)) == NULL) {
			not_found(e, path, 0, NULL);
			rc = 1;
			goto out;
		}
		upto = (size_t)(p - path);
		/* Nothing is below a non-directory or an empty directory;
		 * the id is copied as d is cleared before it is loaded. */
		more = hit->type == FS_DIR &&
		    (hit->flags & FS_NODE_HAS_SUBTREE) != 0;
		if (more)
			memcpy(next, hit->subtree, FS_ID_LEN);
	}
	if (hit == NULL) {
		out->type = FS_DIR;
		out->flags = FS_NODE_HAS_SUBTREE;
		memcpy(out->subtree, root, FS_ID_LEN);
	} else
		fs_node_copy(out, hit);
	rc = 0;
out:
	tree_dir_clear(&d);
	return (rc);
}

int
tree_path_clean(const char *path, char **out, struct err *e)
{
	char *b = NULL, *s;
	const char *p = path;
	size_t len, n = 0;

	*out = NULL;
	if (path[0] != '/') {
		s = esc_str(path, strlen(path));
		err_set(e, ERR_USAGE,
		    "'%s' is not an absolute path: give paths as they were "
		    "snapshotted, like /etc/fstab",
		    s);
		free(s);
		return (-1);
	}
	b = xmalloc(strlen(path) + 2);
	for (;;) {
		p += strspn(p, "/");
		if (*p == '\0')
			break;
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(b);
			s = esc_str(path, strlen(path));
			err_set(e, ERR_USAGE,
			    "'%s': \"..\" has no meaning in a snapshot path; "
			    "give the path without it",
			    s);
			free(s);
			return (-1);
		}
		if (len != 1 || p[0] != '.') {
			b[n++] = '/';
			memcpy(b + n, p, len);
			n += len;
		}
		p += len;
	}
	if (n == 0)
		b[n++] = '/';
	b[n] = '\0';
	*out = b;
	return (0);
}

/* ------------------------------------------------------------ walking */

struct iter_level {
	struct tree_dir dir;
	size_t next;    /* the index of the next node to give out */
	size_t pathlen; /* the directory's path in the path buffer */
};

struct tree_iter {
	struct tree_reader *tr;
	struct iter_level *lv;
	size_t depth, cap;
	struct pathbuf path;
	uint8_t start[FS_ID_LEN];
	int has_start;
	int started;
	/* The directory given out last, entered on the next call. */
	const struct fs_node *pending;
	size_t pending_len;
};

struct tree_iter *
tree_iter_new(struct tree_reader *tr, const uint8_t dir[FS_ID_LEN],
    const char *prefix)
{
	struct tree_iter *it = xcalloc(1, sizeof(*it));

	it->tr = tr;
	if (dir != NULL) {
		memcpy(it->start, dir, FS_ID_LEN);
		it->has_start = 1;
	}
	path_init(&it->path, prefix);
	return (it);
}

static int
iter_push(struct tree_iter *it, const uint8_t id[FS_ID_LEN], size_t pathlen,
    struct err *e)
{
	struct iter_level *l;

	if (it->depth == it->cap) {
		it->cap = it->cap ? 2 * it->cap : 8;
		it->lv = xreallocarray(it->lv, it->cap, sizeof(*it->lv));
	}
	l = &it->lv[it->depth];
	memset(l, 0, sizeof(*l));
	if (tree_load(it->tr, id, &l->dir, e) == -1)
		return (wrap_path(e, it->path.p, pathlen));
	l->pathlen = pathlen;
	it->depth++;
	return (0);
}

int
tree_iter_next(struct tree_iter *it, const struct fs_node **node,
    const char **path, struct err *e)
{
	const struct fs_node *n;
	struct iter_level *l;

	*node = NULL;
	*path = NULL;
	if (!it->started) {
		it->started = 1;
		if (it->has_start &&
		    iter_push(it, it->start, it->path.len, e) == -1)
			return (-1);
	}
	if ((n = it->pending) != NULL) {
		it->pending = NULL;
		if ((n->flags & FS_NODE_HAS_SUBTREE) &&
		    iter_push(it, n->subtree, it->pending_len, e) == -1)
			return (-1);
	}
	while (it->depth > 0) {
		l = &it->lv[it->depth - 1];
		if (l->next == l->dir.n) {
			tree_dir_clear(&l->dir);
			it->depth--;
			continue;
		}
		n = &l->dir.nodes[l->next++];
		path_set(&it->path, l->pathlen, n->name, strlen(n->name));
		if (n->type == FS_DIR) {
			it->pending = n;
			it->pending_len = it->path.len;
		}
		*node = n;
		*path = it->path.p;
		return (1);
	}
	return (0);
}

void
tree_iter_prune(struct tree_iter *it)
{
	it->pending = NULL;
}

void
tree_iter_free(struct tree_iter *it)
{
	if (it == NULL)
		return;
	for (size_t i = 0; i < it->depth; i++)
		tree_dir_clear(&it->lv[i].dir);
	free(it->lv);
	free(it->path.p);
	free(it);
}

/* ------------------------------------------------------------ comparing */

/* NULL and "" are the same: the encoding does not tell them apart. */
static int
str_eq(const char *a, const char *b)
{
	return (strcmp(a ? a : "", b ? b : "") == 0);
}

static int
xattrs_eq(const struct fs_node *a, const struct fs_node *b)
{
	if (a->nxattrs != b->nxattrs)
		return (0);
	for (size_t i = 0; i < a->nxattrs; i++) {
		const struct fs_xattr *x = &a->xattrs[i], *y = &b->xattrs[i];

		if (strcmp(x->name, y->name) != 0 || x->len != y->len ||
		    (x->len > 0 && memcmp(x->value, y->value, x->len) != 0))
			return (0);
	}
	return (1);
}

static int
content_eq(const struct fs_node *a, const struct fs_node *b)
{
	if (a->nchunks != b->nchunks || a->nsparse != b->nsparse)
		return (0);
	if (a->nchunks > 0 &&
	    memcmp(a->chunks, b->chunks, a->nchunks * FS_ID_LEN) != 0)
		return (0);
	for (size_t i = 0; i < a->nsparse; i++)
		if (a->sparse[i].offset != b->sparse[i].offset ||
		    a->sparse[i].length != b->sparse[i].length)
			return (0);
	return (1);
}

unsigned
tree_node_changes(const struct fs_node *a, const struct fs_node *b)
{
	unsigned c = 0;

	if (a->type != b->type)
		return (TREE_CHG_TYPE);
	switch (a->type) {
	case FS_FILE:
		if (a->size != b->size)
			c |= TREE_CHG_SIZE;
		if (!content_eq(a, b))
			c |= TREE_CHG_CONTENT;
		break;
	case FS_SYMLINK:
		if (!str_eq(a->symlink, b->symlink))
			c |= TREE_CHG_TARGET;
		break;
	case FS_CHR:
	case FS_BLK:
		if (a->rdev_major != b->rdev_major ||
		    a->rdev_minor != b->rdev_minor)
			c |= TREE_CHG_DEVICE;
		break;
	default:
		/* A directory's content is its entries: compared by the
		 * walk, not here.  Its size says nothing. */
		break;
	}
	if (a->mode != b->mode)
		c |= TREE_CHG_MODE;
	if (a->uid != b->uid || a->gid != b->gid || !str_eq(a->user, b->user) ||
	    !str_eq(a->group, b->group))
		c |= TREE_CHG_OWNER;
	if (a->mtime.sec != b->mtime.sec || a->mtime.nsec != b->mtime.nsec)
		c |= TREE_CHG_MTIME;
	if (!xattrs_eq(a, b))
		c |= TREE_CHG_XATTR;
	if (!str_eq(a->acl_access, b->acl_access) ||
	    !str_eq(a->acl_default, b->acl_default) ||
	    !str_eq(a->acl_nfs4, b->acl_nfs4))
		c |= TREE_CHG_ACL;
	if (!str_eq(a->fflags, b->fflags))
		c |= TREE_CHG_FFLAGS;
	return (c);
}

const char *
tree_chg_name(unsigned bit)
{
	switch (bit) {
	case TREE_CHG_TYPE:
		return ("type");
	case TREE_CHG_SIZE:
		return ("size");
	case TREE_CHG_CONTENT:
		return ("content");
	case TREE_CHG_TARGET:
		return ("target");
	case TREE_CHG_DEVICE:
		return ("device");
	case TREE_CHG_MODE:
		return ("mode");
	case TREE_CHG_OWNER:
		return ("owner");
	case TREE_CHG_MTIME:
		return ("mtime");
	case TREE_CHG_XATTR:
		return ("xattrs");
	case TREE_CHG_ACL:
		return ("acl");
	case TREE_CHG_FFLAGS:
		return ("fflags");
	default:
		return (NULL);
	}
}

struct diff_level {
	struct tree_dir a, b;
	size_t i, j;    /* the next node of each */
	size_t pathlen; /* the directory's path in the path buffer */
};

struct diff {
	struct tree_reader *tr;
	int flags;
	int (*fn)(void *, const struct tree_delta *, struct err *);
	void *arg;
	struct diff_level *lv;
	size_t depth, cap;
	struct pathbuf path;
};

static int
diff_emit(struct diff *d, enum tree_change kind, const char *path,
    const struct fs_node *a, const struct fs_node *b, unsigned changes,
    struct err *e)
{
	struct tree_delta t;

	t.kind = kind;
	t.path = path;
	t.a = a;
	t.b = b;
	t.changes = changes;
	return (d->fn(d->arg, &t, e));
}

/* Everything below directory n (at the current path) was added/removed. */
static int
diff_below(struct diff *d, enum tree_change kind, const struct fs_node *n,
    struct err *e)
{
	struct tree_iter *it;
	const struct fs_node *x;
	const char *p;
	int rc;

	if (n->type != FS_DIR || (n->flags & FS_NODE_HAS_SUBTREE) == 0)
		return (0);
	it = tree_iter_new(d->tr, n->subtree, d->path.p);
	while ((rc = tree_iter_next(it, &x, &p, e)) == 1)
		if (diff_emit(d, kind, p, kind == TREE_REMOVED ? x : NULL,
		        kind == TREE_ADDED ? x : NULL, 0, e) == -1) {
			rc = -1;
			break;
		}
	tree_iter_free(it);
	return (rc);
}

static const uint8_t *
subtree_of(const struct fs_node *n)
{
	return ((n->flags & FS_NODE_HAS_SUBTREE) ? n->subtree : NULL);
}

/* Enter a pair of directories (NULL: empty) unless they are the same. */
static int
diff_push(struct diff *d, const uint8_t *a, const uint8_t *b, struct err *e)
{
	struct diff_level *l;

	if (a == NULL && b == NULL)
		return (0);
	if (a != NULL && b != NULL && memcmp(a, b, FS_ID_LEN) == 0)
		return (0);
	if (d->depth == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 8;
		d->lv = xreallocarray(d->lv, d->cap, sizeof(*d->lv));
	}
	l = &d->lv[d->depth];
	memset(l, 0, sizeof(*l));
	if ((a != NULL && tree_load(d->tr, a, &l->a, e) == -1) ||
	    (b != NULL && tree_load(d->tr, b, &l->b, e) == -1)) {
		tree_dir_clear(&l->a);
		return (wrap_path(e, d->path.p, d->path.len));
	}
	l->pathlen = d->path.len;
	d->depth++;
	return (0);
}

/* One step: the next name of the top level. */
static int
diff_step(struct diff *d, struct err *e)
{
	struct diff_level *l = &d->lv[d->depth - 1];
	const struct fs_node *x, *y;
	unsigned ch;
	int c;

	x = l->i < l->a.n ? &l->a.nodes[l->i] : NULL;
	y = l->j < l->b.n ? &l->b.nodes[l->j] : NULL;
	if (x == NULL && y == NULL) {
		tree_dir_clear(&l->a);
		tree_dir_clear(&l->b);
		d->depth--;
		return (0);
	}
	c = x == NULL ? 1 : y == NULL ? -1 : strcmp(x->name, y->name);
	if (c < 0) {
		l->i++;
		path_set(&d->path, l->pathlen, x->name, strlen(x->name));
		if (diff_emit(d, TREE_REMOVED, d->path.p, x, NULL, 0, e) == -1)
			return (-1);
		return (diff_below(d, TREE_REMOVED, x, e));
	}
	if (c > 0) {
		l->j++;
		path_set(&d->path, l->pathlen, y->name, strlen(y->name));
		if (diff_emit(d, TREE_ADDED, d->path.p, NULL, y, 0, e) == -1)
			return (-1);
		return (diff_below(d, TREE_ADDED, y, e));
	}
	l->i++;
	l->j++;
	path_set(&d->path, l->pathlen, x->name, strlen(x->name));
	ch = tree_node_changes(x, y);
	if (ch & TREE_CHG_TYPE) {
		if (diff_emit(d, TREE_MODIFIED, d->path.p, x, y, ch, e) == -1 ||
		    diff_below(d, TREE_REMOVED, x, e) == -1 ||
		    diff_below(d, TREE_ADDED, y, e) == -1)
			return (-1);
		return (0);
	}
	if (ch & TREE_CHG_DATA) {
		if (diff_emit(d, TREE_MODIFIED, d->path.p, x, y, ch, e) == -1)
			return (-1);
	} else if ((d->flags & TREE_DIFF_METADATA) && (ch & TREE_CHG_META)) {
		if (diff_emit(d, TREE_METADATA, d->path.p, x, y, ch, e) == -1)
			return (-1);
	}
	/* l may move now: x and y live in the nodes arrays, which do not. */
	if (x->type == FS_DIR)
		return (diff_push(d, subtree_of(x), subtree_of(y), e));
	return (0);
}

int
tree_diff(struct tree_reader *tr, const uint8_t a[FS_ID_LEN],
    const uint8_t b[FS_ID_LEN], const char *prefix, int flags,
    int (*fn)(void *, const struct tree_delta *, struct err *), void *arg,
    struct err *e)
{
	struct diff d;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	d.tr = tr;
	d.flags = flags;
	d.fn = fn;
	d.arg = arg;
	path_init(&d.path, prefix);
	if (diff_push(&d, a, b, e) == -1)
		goto out;
	while (d.depth > 0)
		if (diff_step(&d, e) == -1)
			goto out;
	rc = 0;
out:
	for (size_t i = 0; i < d.depth; i++) {
		tree_dir_clear(&d.lv[i].a);
		tree_dir_clear(&d.lv[i].b);
	}
	free(d.lv);
	free(d.path.p);
	return (rc);
}
