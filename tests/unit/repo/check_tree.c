/*
 * Snapshot trees read back from a real (machine-keyed) repository: path
 * lookup, depth-first order, pruning, and the parallel comparison that
 * must not load a subtree both sides share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "repo/tree.h"
#include "repo/treecodec.h"
#include "trepo.h"
#include "tutil.h"

static char *dir;
static struct repo *repo;
static struct tree_reader *tr;

static void
setup(void)
{
	char *loc;

	dir = tutil_mkdtemp();
	loc = tutil_path(dir, "repo");
	trepo_init(loc, 0, &repo);
	free(loc);
	tr = tree_reader_new(repo);
}

static void
teardown(void)
{
	tree_reader_free(tr);
	repo_close(repo);
	tutil_rmtree(dir);
	free(dir);
}

/*
 * A tree from a list of entries, paths relative to the root:
 *   "a/b/"         a directory (with a subtree only when something is in it)
 *   "a/f=text"     a file holding text (one chunk; none when empty)
 *   "a/l>target"   a symlink
 * An entry may end in "#MODE" (octal).  Parents must be listed too.
 */
struct spec {
	const char *const *v;
	size_t n;
};

static void
put_data(const char *text, size_t len, uint8_t id[FS_ID_LEN])
{
	struct err e;
	int added;

	ck_assert_msg(repo_blob_put(repo, IDX_BLOB_DATA, (const uint8_t *)text,
	                  len, id, &added, &e) == 0,
	    "%s", e.msg);
}

/* The entry's path (without value or mode), in a static buffer. */
static const char *
spec_path(const char *s, char *buf, size_t size)
{
	size_t len = strcspn(s, "=>#");

	ck_assert_uint_lt(len, size);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '/')
		buf[len - 1] = '\0';
	return (buf);
}

static void build(const struct spec *sp, const char *prefix,
    uint8_t id[FS_ID_LEN], int *empty);

static void
make_node(const struct spec *sp, const char *s, struct fs_node *n)
{
	char path[256], *value = NULL;
	const char *name, *hash;
	size_t len;
	uint8_t id[FS_ID_LEN];
	int empty;

	memset(n, 0, sizeof(*n));
	spec_path(s, path, sizeof(path));
	name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	n->name = strdup(name);
	n->uid = 0;
	n->user = strdup("root");
	n->group = strdup("root");
	n->mtime.sec = 1700000000;
	len = strcspn(s, "#");
	if ((hash = strchr(s, '#')) != NULL)
		n->mode = (uint32_t)strtoul(hash + 1, NULL, 8);
	if (strchr(s, '=') != NULL && strchr(s, '=') < s + len) {
		const char *v = strchr(s, '=') + 1;

		value = strndup(v, (size_t)(s + len - v));
		n->type = FS_FILE;
		n->size = strlen(value);
		if (n->size > 0) {
			put_data(value, strlen(value), id);
			fs_node_add_chunk(n, id);
		}
		if (hash == NULL)
			n->mode = 0644;
	} else if (strchr(s, '>') != NULL && strchr(s, '>') < s + len) {
		const char *v = strchr(s, '>') + 1;

		n->type = FS_SYMLINK;
		n->symlink = strndup(v, (size_t)(s + len - v));
		n->size = strlen(n->symlink);
		if (hash == NULL)
			n->mode = 0777;
	} else {
		n->type = FS_DIR;
		n->size = 4096;
		if (hash == NULL)
			n->mode = 0755;
		build(sp, path, id, &empty);
		if (!empty) {
			n->flags |= FS_NODE_HAS_SUBTREE;
			memcpy(n->subtree, id, FS_ID_LEN);
		}
	}
	free(value);
}

/* The tree of the entries directly below prefix ("" for the root). */
static void
build(const struct spec *sp, const char *prefix, uint8_t id[FS_ID_LEN],
    int *empty)
{
	struct fs_node *nodes = calloc(sp->n, sizeof(*nodes));
	size_t n = 0, plen = strlen(prefix);
	uint8_t *blob;
	size_t bloblen;
	struct err e;
	char path[256];
	int added;

	for (size_t i = 0; i < sp->n; i++) {
		const char *p = spec_path(sp->v[i], path, sizeof(path));

		if (plen > 0 &&
		    (strncmp(p, prefix, plen) != 0 || p[plen] != '/'))
			continue;
		p += plen > 0 ? plen + 1 : 0;
		if (strchr(p, '/') != NULL)
			continue;
		make_node(sp, sp->v[i], &nodes[n++]);
	}
	*empty = n == 0;
	treecodec_encode(nodes, n, &blob, &bloblen);
	ck_assert_msg(repo_blob_put(repo, IDX_BLOB_TREE, blob, bloblen, id,
	                  &added, &e) == 0,
	    "%s", e.msg);
	free(blob);
	fs_nodes_free(nodes, n);
}

#define SPEC(...)                                                              \
	{                                                                      \
		(const char *const[]){ __VA_ARGS__ },                          \
		    sizeof((const char *const[]){ __VA_ARGS__ }) /             \
		    sizeof(const char *)                                       \
	}

static void
build_root(const struct spec *sp, uint8_t id[FS_ID_LEN])
{
	struct err e;
	int empty;

	build(sp, "", id, &empty);
	ck_assert_msg(repo_flush(repo, &e) == 0, "%s", e.msg);
}

static const struct spec sample = SPEC("etc/", "etc/hosts=127.0.0.1 localhost",
    "etc/ssh/", "etc/ssh/sshd_config=Port 22", "etc/ssh/moduli=big",
    "etc/empty/", "etc/localtime>/usr/share/zoneinfo/UTC", "opt/", "opt/app/",
    "opt/app/conf/", "opt/app/conf/app.ini=[app]#600");

START_TEST(test_find_nested_and_root)
{
	uint8_t root[FS_ID_LEN];
	struct fs_node n;
	struct err e;
	uint64_t before;

	build_root(&sample, root);
	before = tree_reader_loads(tr);
	ck_assert_msg(tree_find(tr, root, "/etc/ssh/sshd_config", &n, &e) == 0,
	    "%s", e.msg);
	ck_assert_str_eq(n.name, "sshd_config");
	ck_assert_int_eq(n.type, FS_FILE);
	ck_assert_uint_eq(n.size, strlen("Port 22"));
	ck_assert_uint_eq(n.nchunks, 1);
	fs_node_clear(&n);
	/* One tree per component, never more. */
	ck_assert_uint_eq(tree_reader_loads(tr) - before, 3);

	/* The same without the leading '/', with "//", "." and a trailing
	 * '/'. */
	ck_assert_int_eq(tree_find(tr, root, "opt//app/./conf/app.ini/", &n,
	                     &e),
	    0);
	ck_assert_str_eq(n.name, "app.ini");
	ck_assert_uint_eq(n.mode, 0600);
	fs_node_clear(&n);

	ck_assert_int_eq(tree_find(tr, root, "/etc/ssh", &n, &e), 0);
	ck_assert_int_eq(n.type, FS_DIR);
	ck_assert(n.flags & FS_NODE_HAS_SUBTREE);
	fs_node_clear(&n);

	ck_assert_int_eq(tree_find(tr, root, "/etc/localtime", &n, &e), 0);
	ck_assert_int_eq(n.type, FS_SYMLINK);
	ck_assert_str_eq(n.symlink, "/usr/share/zoneinfo/UTC");
	fs_node_clear(&n);

	/* The root itself: a nameless directory holding the root tree. */
	before = tree_reader_loads(tr);
	for (int i = 0; i < 3; i++) {
		static const char *roots[] = { "", "/", "//./" };

		ck_assert_int_eq(tree_find(tr, root, roots[i], &n, &e), 0);
		ck_assert_ptr_null(n.name);
		ck_assert_int_eq(n.type, FS_DIR);
		ck_assert(n.flags & FS_NODE_HAS_SUBTREE);
		ck_assert_mem_eq(n.subtree, root, FS_ID_LEN);
		fs_node_clear(&n);
	}
	ck_assert_uint_eq(tree_reader_loads(tr), before);
}
END_TEST

START_TEST(test_find_missing)
{
	static const char *missing[] = {
		"/nope",
		"/etc/nope",
		"/etc/ssh/sshd_config/x", /* below a file */
		"/etc/localtime/x",       /* below a symlink */
		"/etc/empty/x",           /* in an empty directory */
		"/etc/..",
		"/etc/ssh/../hosts",
		"/ETC",
		"/etc/host",
		"/etc/hostsx",
	};
	uint8_t root[FS_ID_LEN];
	struct fs_node n;
	struct err e;

	build_root(&sample, root);
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		ck_assert_msg(tree_find(tr, root, missing[i], &n, &e) == 1,
		    "%s", missing[i]);
		ck_assert_ptr_null(n.name);
	}
	/* An empty directory is found, and "." in it too. */
	ck_assert_int_eq(tree_find(tr, root, "/etc/empty/.", &n, &e), 0);
	ck_assert_int_eq(n.type, FS_DIR);
	ck_assert((n.flags & FS_NODE_HAS_SUBTREE) == 0);
	fs_node_clear(&n);
}
END_TEST

/*
 * The one rule for the paths users give: ls PATH, restore --include and
 * restore --stdout all go through tree_path_clean, so this table is what
 * each of them accepts (and as what) and refuses.
 */
static const struct {
	const char *in;
	const char *out; /* NULL: refused with ERR_USAGE */
} path_table[] = {
	{ "/", "/" },
	{ "//./.", "/" },
	{ "/etc", "/etc" },
	{ "/etc/", "/etc" },
	{ "//etc///ssh/", "/etc/ssh" },
	{ "/etc/./hosts", "/etc/hosts" },
	{ "/etc//./hosts/.", "/etc/hosts" },
	{ "/./etc/hosts", "/etc/hosts" },
	{ "/.x/..y/...", "/.x/..y/..." },
	{ "/a b/c\td", "/a b/c\td" },
	/* Not absolute: a snapshot holds its paths absolute. */
	{ "", NULL },
	{ "etc", NULL },
	{ "etc/hosts", NULL },
	{ "./etc/hosts", NULL },
	/* "..": no entry has that name; never a way out of a target. */
	{ "/..", NULL },
	{ "/../etc/hosts", NULL },
	{ "/etc/..", NULL },
	{ "/etc/../..", NULL },
	{ "/etc/ssh/../hosts", NULL },
	{ "/etc/./../x/", NULL },
};

START_TEST(test_path_clean)
{
	for (size_t i = 0; i < sizeof(path_table) / sizeof(path_table[0]);
	     i++) {
		const char *in = path_table[i].in, *want = path_table[i].out;
		char *got = (char *)1;
		struct err e;

		err_clear(&e);
		if (want != NULL) {
			ck_assert_msg(tree_path_clean(in, &got, &e) == 0,
			    "'%s': %s", in, e.msg);
			ck_assert_str_eq(got, want);
			free(got);
			continue;
		}
		ck_assert_msg(tree_path_clean(in, &got, &e) == -1, "'%s'", in);
		ck_assert_ptr_null(got);
		ck_assert_int_eq(e.class, ERR_USAGE);
		ck_assert_msg(strstr(e.msg, in) != NULL, "%s", e.msg);
	}
}
END_TEST

/* What clean paths name is what tree_find finds: the table, looked up. */
START_TEST(test_path_clean_then_find)
{
	uint8_t root[FS_ID_LEN];
	struct fs_node n;
	struct err e;
	char *p;

	build_root(&sample, root);
	ck_assert_int_eq(tree_path_clean("/etc/./hosts", &p, &e), 0);
	ck_assert_int_eq(tree_find(tr, root, p, &n, &e), 0);
	ck_assert_str_eq(n.name, "hosts");
	fs_node_clear(&n);
	free(p);
	ck_assert_int_eq(tree_path_clean("//./", &p, &e), 0);
	ck_assert_int_eq(tree_find(tr, root, p, &n, &e), 0);
	ck_assert_ptr_null(n.name);
	ck_assert_mem_eq(n.subtree, root, FS_ID_LEN);
	fs_node_clear(&n);
	free(p);
}
END_TEST

START_TEST(test_find_says_why)
{
	uint8_t root[FS_ID_LEN];
	struct fs_node n;
	struct err e;

	build_root(&sample, root);
	err_clear(&e);
	ck_assert_int_eq(tree_find(tr, root, "/etc/nope", &n, &e), 1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_str_eq(e.msg, "/etc/nope is not in the snapshot");
	ck_assert_int_eq(tree_find(tr, root, "/etc/hosts/x/y", &n, &e), 1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_str_eq(e.msg,
	    "/etc/hosts/x/y is not in the snapshot (/etc/hosts is a file, "
	    "not a directory)");
	ck_assert_int_eq(tree_find(tr, root, "/etc/empty/x", &n, &e), 1);
	ck_assert_str_eq(e.msg,
	    "/etc/empty/x is not in the snapshot (/etc/empty is an empty "
	    "directory)");
}
END_TEST

/* A pack the index names is gone: the trees in it are damage. */
START_TEST(test_missing_pack_is_corrupt)
{
	uint8_t root[FS_ID_LEN];
	const struct idx_entry *ent;
	struct fs_node n;
	struct err e;
	char name[128], *path;

	build_root(&sample, root);
	ck_assert_ptr_nonnull(ent = idx_find(repo_index(repo), root));
	repo_pack_name(idx_pack_id(repo_index(repo), ent->pack), name,
	    sizeof(name));
	path = tutil_path(dir, "repo");
	{
		char *full = tutil_path(path, name);

		ck_assert_int_eq(unlink(full), 0);
		free(full);
	}
	free(path);
	ck_assert_int_eq(tree_find(tr, root, "/etc/hosts", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_msg(strstr(e.msg, "tree of /: tree ") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_missing_tree_blob_is_corrupt)
{
	uint8_t root[FS_ID_LEN];
	struct tree_iter *it;
	const struct fs_node *n;
	const char *p;
	struct fs_node node;
	struct err e;

	memset(root, 0x5a, sizeof(root));
	ck_assert_int_eq(tree_find(tr, root, "/etc", &node, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_msg(strstr(e.msg, "tree of /") != NULL, "%s", e.msg);
	it = tree_iter_new(tr, root, "");
	ck_assert_int_eq(tree_iter_next(it, &n, &p, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	tree_iter_free(it);
	/* A data blob is not a tree. */
	put_data("hello", 5, root);
	ck_assert_int_eq(repo_flush(repo, &e), 0);
	ck_assert_int_eq(tree_find(tr, root, "/x", &node, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
}
END_TEST

/* Walk and join "path\n" lines; pruning the paths in prune. */
static char *
walk(const uint8_t *root, const char *prefix, const char *prune)
{
	struct tree_iter *it = tree_iter_new(tr, root, prefix);
	const struct fs_node *n;
	const char *p;
	char *out = calloc(1, 4096);
	struct err e;
	int rc;

	while ((rc = tree_iter_next(it, &n, &p, &e)) == 1) {
		ck_assert_uint_lt(strlen(out) + strlen(p) + 2, 4096);
		strcat(out, p);
		strcat(out, n->type == FS_DIR ? "/\n" : "\n");
		if (prune != NULL && strcmp(p, prune) == 0)
			tree_iter_prune(it);
	}
	ck_assert_msg(rc == 0, "%s", e.msg);
	tree_iter_free(it);
	return (out);
}

START_TEST(test_iter_depth_first_order)
{
	/* '.' (0x2e) sorts before '/' (0x2f): a.b comes after all of a/. */
	const struct spec sp = SPEC("b=1", "a/", "a/y/", "a/y/z=2", "a/x=3",
	    "a.b=4", "\xff\n=5", "A=6", "c/", "c/d/", "c/d/e/", "c/d/e/f>g");
	uint8_t root[FS_ID_LEN];
	struct fs_node n;
	struct err e;
	uint64_t before;
	char *got;

	build_root(&sp, root);
	got = walk(root, "", NULL);
	ck_assert_str_eq(got,
	    "/A\n/a/\n/a/x\n/a/y/\n/a/y/z\n/a.b\n/b\n/c/\n/c/d/\n/c/d/e/\n"
	    "/c/d/e/f\n/\xff\n\n");
	free(got);

	/* Pruned directories are not loaded. */
	before = tree_reader_loads(tr);
	got = walk(root, "", "/c");
	ck_assert_str_eq(got,
	    "/A\n/a/\n/a/x\n/a/y/\n/a/y/z\n/a.b\n/b\n/c/\n"
	    "/\xff\n\n");
	free(got);
	ck_assert_uint_eq(tree_reader_loads(tr) - before, 3); /* /, a, a/y */

	/* A subtree, under its own path. */
	ck_assert_int_eq(tree_find(tr, root, "/c/d", &n, &e), 0);
	got = walk(n.subtree, "/c/d", NULL);
	ck_assert_str_eq(got, "/c/d/e/\n/c/d/e/f\n");
	free(got);
	fs_node_clear(&n);

	/* An empty directory: nothing, and no load. */
	before = tree_reader_loads(tr);
	got = walk(NULL, "/x", NULL);
	ck_assert_str_eq(got, "");
	free(got);
	ck_assert_uint_eq(tree_reader_loads(tr), before);
}
END_TEST

START_TEST(test_iter_deep)
{
	/* Deeper than any recursion should go, in bounded stack. */
	enum { DEPTH = 3000 };
	struct fs_node n;
	uint8_t id[FS_ID_LEN], *blob;
	size_t len, count = 0, maxlen = 0;
	struct tree_iter *it;
	const struct fs_node *x;
	const char *p;
	struct err e;
	int added, rc, have = 0;

	for (int i = 0; i < DEPTH; i++) {
		memset(&n, 0, sizeof(n));
		n.name = strdup("d");
		n.type = FS_DIR;
		n.mode = 0755;
		if (have) {
			n.flags = FS_NODE_HAS_SUBTREE;
			memcpy(n.subtree, id, FS_ID_LEN);
		}
		treecodec_encode(&n, 1, &blob, &len);
		ck_assert_int_eq(repo_blob_put(repo, IDX_BLOB_TREE, blob, len,
		                     id, &added, &e),
		    0);
		free(blob);
		fs_node_clear(&n);
		have = 1;
	}
	ck_assert_int_eq(repo_flush(repo, &e), 0);
	it = tree_iter_new(tr, id, "");
	while ((rc = tree_iter_next(it, &x, &p, &e)) == 1) {
		count++;
		if (strlen(p) > maxlen)
			maxlen = strlen(p);
	}
	ck_assert_msg(rc == 0, "%s", e.msg);
	tree_iter_free(it);
	ck_assert_uint_eq(count, DEPTH);
	ck_assert_uint_eq(maxlen, 2 * DEPTH);
}
END_TEST

/* Differences as "K path\n" lines, what changed after M and m. */
struct collect {
	char buf[4096];
	int stop_at; /* stop with an error at this call (1-based), or 0 */
	int calls;
};

static int
collect(void *arg, const struct tree_delta *d, struct err *e)
{
	struct collect *c = arg;
	char line[512];

	if (++c->calls == c->stop_at)
		return (err_set(e, ERR_INTERRUPTED, "stopped"));
	ck_assert((d->a != NULL) == (d->kind != TREE_ADDED));
	ck_assert((d->b != NULL) == (d->kind != TREE_REMOVED));
	snprintf(line, sizeof(line), "%c %s", (char)d->kind, d->path);
	for (unsigned bit = 1; bit <= TREE_CHG_FFLAGS; bit <<= 1)
		if (d->changes & bit) {
			ck_assert_ptr_nonnull(tree_chg_name(bit));
			strcat(line, " ");
			strcat(line, tree_chg_name(bit));
		}
	strcat(line, "\n");
	ck_assert_uint_lt(strlen(c->buf) + strlen(line), sizeof(c->buf));
	strcat(c->buf, line);
	return (0);
}

static const struct spec before_spec = SPEC("big/", "big/1=one", "big/2=two",
    "big/sub/", "big/sub/3=three", "etc/", "etc/hosts=127.0.0.1",
    "etc/passwd=root", "etc/old/", "etc/old/a=a", "etc/old/b/", "etc/old/b/c=c",
    "etc/same/", "etc/same/x=x", "etc/f2d=file", "etc/d2f/", "etc/d2f/inner=i",
    "etc/link>one", "etc/mode=m", "etc/grow=12");

static const struct spec after_spec = SPEC("big/", "big/1=one", "big/2=two",
    "big/sub/", "big/sub/3=three", "etc/", "etc/hosts=127.0.0.2",
    "etc/passwd=root", "etc/new/", "etc/new/n=n", "etc/same/", "etc/same/x=x",
    "etc/f2d/", "etc/f2d/in=in", "etc/d2f=file", "etc/link>two",
    "etc/mode=m#600", "etc/grow=123", "new=top");

START_TEST(test_diff)
{
	uint8_t a[FS_ID_LEN], b[FS_ID_LEN];
	struct collect c;
	struct err e;
	uint64_t before;

	build_root(&before_spec, a);
	build_root(&after_spec, b);
	memset(&c, 0, sizeof(c));
	before = tree_reader_loads(tr);
	ck_assert_msg(tree_diff(tr, a, b, "", 0, collect, &c, &e) == 0, "%s",
	    e.msg);
	ck_assert_str_eq(c.buf,
	    "M /etc/d2f type\n"
	    "- /etc/d2f/inner\n"
	    "M /etc/f2d type\n"
	    "+ /etc/f2d/in\n"
	    "M /etc/grow size content\n"
	    "M /etc/hosts content\n"
	    "M /etc/link target\n"
	    "+ /etc/new\n"
	    "+ /etc/new/n\n"
	    "- /etc/old\n"
	    "- /etc/old/a\n"
	    "- /etc/old/b\n"
	    "- /etc/old/b/c\n"
	    "+ /new\n");
	/*
	 * Loaded: both roots, both /etc, and the trees of what was added or
	 * removed (d2f, f2d, new, old, old/b).  Not big/ nor etc/same/,
	 * which are the same on both sides.
	 */
	ck_assert_uint_eq(tree_reader_loads(tr) - before, 2 + 2 + 5);

	/* With metadata: the mode change, and the directories whose mtime
	 * did not change stay quiet. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tree_diff(tr, a, b, "", TREE_DIFF_METADATA, collect,
	                     &c, &e),
	    0);
	ck_assert_msg(strstr(c.buf, "m /etc/mode mode\n") != NULL, "%s", c.buf);
	ck_assert_msg(strstr(c.buf, "M /etc/hosts content\n") != NULL, "%s",
	    c.buf);
	ck_assert_ptr_null(strstr(c.buf, "m /etc/hosts"));

	/* Reversed, additions and removals swap. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tree_diff(tr, b, a, "", 0, collect, &c, &e), 0);
	ck_assert_msg(strstr(c.buf, "- /new\n") != NULL, "%s", c.buf);
	ck_assert_msg(strstr(c.buf, "+ /etc/old/b/c\n") != NULL, "%s", c.buf);

	/* A tree against itself: nothing, and nothing loaded. */
	memset(&c, 0, sizeof(c));
	before = tree_reader_loads(tr);
	ck_assert_int_eq(tree_diff(tr, a, a, "", TREE_DIFF_METADATA, collect,
	                     &c, &e),
	    0);
	ck_assert_str_eq(c.buf, "");
	ck_assert_uint_eq(tree_reader_loads(tr), before);

	/* Against an empty tree: everything, depth-first. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tree_diff(tr, NULL, a, "/x", 0, collect, &c, &e), 0);
	ck_assert_msg(strncmp(c.buf,
	                  "+ /x/big\n+ /x/big/1\n+ /x/big/2\n+ /x/big/sub\n"
	                  "+ /x/big/sub/3\n+ /x/etc\n",
	                  strlen("+ /x/big\n+ /x/big/1\n+ /x/big/2\n"
	                         "+ /x/big/sub\n+ /x/big/sub/3\n+ /x/etc\n")) ==
	        0,
	    "%s", c.buf);
}
END_TEST

START_TEST(test_diff_metadata_only_directory)
{
	/* Same content, another mode on a directory: no descent needed. */
	const struct spec x = SPEC("d/", "d/f=1", "d/g/", "d/g/h=2");
	const struct spec y = SPEC("d/#700", "d/f=1", "d/g/", "d/g/h=2");
	uint8_t a[FS_ID_LEN], b[FS_ID_LEN];
	struct collect c;
	struct err e;
	uint64_t before;

	build_root(&x, a);
	build_root(&y, b);
	memset(&c, 0, sizeof(c));
	before = tree_reader_loads(tr);
	ck_assert_int_eq(tree_diff(tr, a, b, "", 0, collect, &c, &e), 0);
	ck_assert_str_eq(c.buf, "");
	ck_assert_int_eq(tree_diff(tr, a, b, "", TREE_DIFF_METADATA, collect,
	                     &c, &e),
	    0);
	ck_assert_str_eq(c.buf, "m /d mode\n");
	ck_assert_uint_eq(tree_reader_loads(tr) - before, 4); /* roots only */
}
END_TEST

START_TEST(test_diff_stops_and_fails)
{
	uint8_t a[FS_ID_LEN], b[FS_ID_LEN], bad[FS_ID_LEN];
	struct collect c;
	struct err e;

	build_root(&before_spec, a);
	build_root(&after_spec, b);
	memset(&c, 0, sizeof(c));
	c.stop_at = 3; /* at M /etc/f2d */
	ck_assert_int_eq(tree_diff(tr, a, b, "", 0, collect, &c, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_int_eq(c.calls, 3);
	memset(&c, 0, sizeof(c));
	c.stop_at = 2; /* in the walk below /etc/d2f */
	ck_assert_int_eq(tree_diff(tr, a, b, "", 0, collect, &c, &e), -1);
	ck_assert_int_eq(c.calls, 2);

	memset(bad, 0x77, sizeof(bad));
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tree_diff(tr, a, bad, "", 0, collect, &c, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
}
END_TEST

START_TEST(test_node_changes)
{
	struct fs_node a, b;
	uint8_t id[FS_ID_LEN];

	memset(&a, 0, sizeof(a));
	a.name = strdup("f");
	a.type = FS_FILE;
	a.mode = 0644;
	a.size = 3;
	memset(id, 1, sizeof(id));
	fs_node_add_chunk(&a, id);
	fs_node_copy(&b, &a);
	ck_assert_uint_eq(tree_node_changes(&a, &b), 0);
	/* NULL and "" are the same string. */
	b.user = strdup("");
	ck_assert_uint_eq(tree_node_changes(&a, &b), 0);
	b.atime.sec = 5;
	b.ctime.sec = 5;
	b.ino = 99;
	b.nlink = 3;
	b.flags |= FS_NODE_INCONSISTENT;
	ck_assert_uint_eq(tree_node_changes(&a, &b), 0);
	b.mtime.nsec = 1;
	ck_assert_uint_eq(tree_node_changes(&a, &b), TREE_CHG_MTIME);
	b.gid = 4;
	fs_node_add_xattr(&b, "user.x", "1", 1);
	fs_node_set_str(&b.acl_access, "user::rw-");
	fs_node_set_str(&b.fflags, "nodump");
	ck_assert_uint_eq(tree_node_changes(&a, &b),
	    TREE_CHG_MTIME | TREE_CHG_OWNER | TREE_CHG_XATTR | TREE_CHG_ACL |
	        TREE_CHG_FFLAGS);
	fs_node_clear(&b);
	fs_node_copy(&b, &a);
	fs_node_add_extent(&b, 0, 3);
	ck_assert_uint_eq(tree_node_changes(&a, &b), TREE_CHG_CONTENT);
	fs_node_clear(&b);
	fs_node_copy(&b, &a);
	b.type = FS_DIR;
	ck_assert_uint_eq(tree_node_changes(&a, &b), TREE_CHG_TYPE);
	fs_node_clear(&b);
	fs_node_clear(&a);

	/* Devices: the numbers are their content; directory sizes are not. */
	memset(&a, 0, sizeof(a));
	a.name = strdup("sda");
	a.type = FS_BLK;
	a.rdev_major = 8;
	fs_node_copy(&b, &a);
	b.rdev_minor = 1;
	ck_assert_uint_eq(tree_node_changes(&a, &b), TREE_CHG_DEVICE);
	b.type = a.type = FS_DIR;
	b.size = 8192;
	ck_assert_uint_eq(tree_node_changes(&a, &b), 0);
	fs_node_clear(&b);
	fs_node_clear(&a);
	ck_assert_ptr_null(tree_chg_name(0x8000));
}
END_TEST

Suite *tree_suite(void);

Suite *
tree_suite(void)
{
	Suite *s = suite_create("tree");
	TCase *tc = tcase_create("tree");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_find_nested_and_root);
	tcase_add_test(tc, test_find_missing);
	tcase_add_test(tc, test_path_clean);
	tcase_add_test(tc, test_path_clean_then_find);
	tcase_add_test(tc, test_find_says_why);
	tcase_add_test(tc, test_missing_pack_is_corrupt);
	tcase_add_test(tc, test_missing_tree_blob_is_corrupt);
	tcase_add_test(tc, test_iter_depth_first_order);
	tcase_add_test(tc, test_iter_deep);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_diff_metadata_only_directory);
	tcase_add_test(tc, test_diff_stops_and_fails);
	tcase_add_test(tc, test_node_changes);
	suite_add_tcase(s, tc);
	return (s);
}
