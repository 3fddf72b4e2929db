/*
 * The repository check on real repositories built through the library
 * (blobs, trees, a snapshot) and then damaged on disk the way disks and
 * people damage them: each damage must be found, named and classed, and
 * a clean repository must pass.
 */
#include "repo/check.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "crypto.h"
#include "fault.h"
#include "fs/node.h"
#include "repo/manifest.h"
#include "repo/snapsel.h"
#include "repo/treecodec.h"
#include "trepo.h"
#include "tutil.h"

static char *dir, *loc;

/* What setup built, for the tests to damage. */
static struct {
	uint8_t chunk[4][IDX_ID_LEN]; /* a: 0-2, sub/b: 3 */
	uint8_t sub[IDX_ID_LEN], root[IDX_ID_LEN];
	char snap[REPO_HEX_LEN + 1];
} B;

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static void
put(struct repo *r, enum idx_blob_type t, const uint8_t *p, size_t n,
    uint8_t id[IDX_ID_LEN])
{
	struct err e;
	int added;

	ck_assert_msg(repo_blob_put(r, t, p, n, id, &added, &e) == 0, "%s",
	    e.msg);
}

static void
file_node(struct fs_node *n, const char *name, uint64_t size)
{
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->type = FS_FILE;
	n->mode = 0644;
	n->size = size;
	n->nlink = 1;
}

/* A tree blob of n nodes; the nodes are cleared. */
static void
put_tree(struct repo *r, struct fs_node *nodes, size_t n,
    uint8_t id[IDX_ID_LEN])
{
	uint8_t *p;
	size_t len;

	treecodec_encode(nodes, n, &p, &len);
	put(r, IDX_BLOB_TREE, p, len, id);
	free(p);
	for (size_t i = 0; i < n; i++)
		fs_node_clear(&nodes[i]);
}

static void
save_snapshot(struct repo *r, const uint8_t root[IDX_ID_LEN],
    char id[REPO_HEX_LEN + 1])
{
	struct manifest m;
	struct err e;

	manifest_init(&m);
	m.time.tv_sec = 1795000000;
	m.host = strdup("testhost");
	m.user = strdup("root");
	m.program = strdup("coffer test");
	manifest_add_path(&m, "/srv");
	memcpy(m.tree, root, IDX_ID_LEN);
	ck_assert_msg(manifest_save(r, &m, &e) == 0, "%s", e.msg);
	memcpy(id, m.id, REPO_HEX_LEN + 1);
	manifest_clear(&m);
}

static struct repo *
open_repo(int flags)
{
	struct repo *r;
	struct err e;

	ck_assert_msg(repo_open_flags(loc, trepo_machine_key,
	                  strlen(trepo_machine_key), flags, REPO_LOCK_NONE,
	                  NULL, &r, &e) == 0,
	    "%s", e.msg);
	return (r);
}

/*
 * A repository with one snapshot: / holds file a (three chunks) and
 * directory sub holding file b (one chunk).  Data and trees go to two
 * different packs, so either can be damaged alone.
 */
static void
setup(void)
{
	struct fs_node nodes[2];
	uint8_t buf[7000];
	struct repo *r;
	struct err e;

	dir = tutil_mkdtemp();
	loc = tutil_path(dir, "repo");
	trepo_init(loc, 1 << 20, &r);
	for (uint32_t i = 0; i < 3; i++) {
		fill(buf, 5000, i);
		put(r, IDX_BLOB_DATA, buf, 5000, B.chunk[i]);
	}
	fill(buf, 7000, 3);
	put(r, IDX_BLOB_DATA, buf, 7000, B.chunk[3]);
	ck_assert_int_eq(repo_flush(r, &e), 0);

	file_node(&nodes[0], "b", 7000);
	fs_node_add_chunk(&nodes[0], B.chunk[3]);
	put_tree(r, nodes, 1, B.sub);
	file_node(&nodes[0], "a", 15000);
	for (int i = 0; i < 3; i++)
		fs_node_add_chunk(&nodes[0], B.chunk[i]);
	memset(&nodes[1], 0, sizeof(nodes[1]));
	nodes[1].name = strdup("sub");
	nodes[1].type = FS_DIR;
	nodes[1].mode = 0755;
	nodes[1].flags = FS_NODE_HAS_SUBTREE;
	memcpy(nodes[1].subtree, B.sub, IDX_ID_LEN);
	put_tree(r, nodes, 2, B.root);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	save_snapshot(r, B.root, B.snap);
	repo_close(r);
}

static void
teardown(void)
{
	tutil_rmtree(dir);
	free(dir);
	free(loc);
}

/* Run the check; the report is the caller's. */
static struct check_report *
run(int flags, enum check_data data)
{
	struct check_opts o;
	struct check_report *rep;
	struct repo *r = open_repo(flags);
	struct err e;

	memset(&o, 0, sizeof(o));
	o.data = data;
	ck_assert_msg(check_run(r, &o, &rep, &e) == 0, "%s", e.msg);
	repo_close(r);
	return (rep);
}

/* The problems as text, for failure messages. */
static const char *
dump(const struct check_report *rep)
{
	static char buf[8192];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rep->nproblems && len < sizeof(buf) - 1; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "\n  %s %s: %s",
		    check_severity_name(rep->problems[i].severity),
		    rep->problems[i].file, rep->problems[i].what);
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	return (buf);
}

/* The first problem whose file starts with file and whose text has what. */
static const struct check_problem *
find(const struct check_report *rep, enum check_severity sev, const char *file,
    const char *what)
{
	for (size_t i = 0; i < rep->nproblems; i++) {
		const struct check_problem *p = &rep->problems[i];

		if (p->severity == sev &&
		    strncmp(p->file, file, strlen(file)) == 0 &&
		    strstr(p->what, what) != NULL)
			return (p);
	}
	ck_abort_msg("no %s on %s saying '%s' in:%s", check_severity_name(sev),
	    file, what, dump(rep));
	return (NULL);
}

/* "data/ab/..." of the pack holding blob id. */
static void
pack_of(const uint8_t id[IDX_ID_LEN], char *name, size_t size, uint32_t *offset,
    uint32_t *length)
{
	struct repo *r = open_repo(0);
	const struct idx_entry *ent = idx_find(repo_index(r), id);

	ck_assert_ptr_nonnull(ent);
	repo_pack_name(idx_pack_id(repo_index(r), ent->pack), name, size);
	if (offset != NULL)
		*offset = ent->offset;
	if (length != NULL)
		*length = ent->length;
	repo_close(r);
}

static void
flip(const char *name, off_t at)
{
	char *path = tutil_path(loc, name);
	int fd;
	char c;

	chmod(path, 0600);
	ck_assert_int_ge(fd = open(path, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	ck_assert_int_eq(pwrite(fd, &c, 1, at), 1);
	close(fd);
	free(path);
}

static off_t
file_size(const char *name)
{
	char *path = tutil_path(loc, name);
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	free(path);
	return (st.st_size);
}

/* Remove the index file that lists blob id (hiding each in turn). */
static void
drop_index_of(const uint8_t id[IDX_ID_LEN])
{
	char *d = tutil_path(loc, "index"), *hidden = tutil_path(dir, "hidden");
	struct dirent *de;
	int found = 0;
	DIR *dp;

	ck_assert_ptr_nonnull(dp = opendir(d));
	while (!found && (de = readdir(dp)) != NULL) {
		char *f;
		struct repo *q;

		if (de->d_name[0] == '.')
			continue;
		f = tutil_path(d, de->d_name);
		ck_assert_int_eq(rename(f, hidden), 0);
		q = open_repo(0);
		found = !repo_blob_known(q, id);
		repo_close(q);
		if (found)
			ck_assert_int_eq(unlink(hidden), 0);
		else
			ck_assert_int_eq(rename(hidden, f), 0);
		free(f);
	}
	closedir(dp);
	ck_assert(found);
	free(hidden);
	free(d);
}

/* Bytes of all pack files. */
static int
add_size(void *arg, const char *name, uint64_t size)
{
	(void)name;
	*(uint64_t *)arg += size;
	return (0);
}

static uint64_t
pack_bytes(void)
{
	struct repo *r = open_repo(0);
	uint64_t sum = 0;
	struct err e;

	ck_assert_int_eq(stor_list(repo_store(r), "data", add_size, &sum, &e),
	    0);
	repo_close(r);
	return (sum);
}

START_TEST(test_clean_repository_passes)
{
	struct check_report *rep = run(0, CHECK_DATA_NONE);

	ck_assert_msg(rep->nproblems == 0, "%s", dump(rep));
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_OK);
	ck_assert_uint_eq(rep->stats.key_files, 1);
	ck_assert_uint_eq(rep->stats.index_files, 2);
	ck_assert_uint_eq(rep->stats.packs, 2);
	ck_assert_uint_eq(rep->stats.packs_indexed, 2);
	ck_assert_uint_eq(rep->stats.snapshots, 1);
	ck_assert_uint_eq(rep->stats.trees, 2);
	ck_assert_uint_eq(rep->stats.data_refs, 4);
	ck_assert_uint_eq(rep->stats.blobs_indexed, 6);
	ck_assert_uint_eq(rep->stats.packs_read, 0);
	check_report_free(rep);

	rep = run(0, CHECK_DATA_ALL);
	ck_assert_msg(rep->nproblems == 0, "%s", dump(rep));
	ck_assert_uint_eq(rep->stats.packs_read, 2);
	ck_assert_uint_eq(rep->stats.blobs_read, 6);
	ck_assert_uint_eq(rep->stats.pack_bytes_read, pack_bytes());
	ck_assert_uint_eq(rep->stats.errors + rep->stats.warnings, 0);
	check_report_free(rep);
}
END_TEST

START_TEST(test_flipped_byte_in_pack_needs_read_data)
{
	struct check_report *rep;
	const struct check_problem *p;
	char name[128];
	uint32_t off, len;

	pack_of(B.chunk[1], name, sizeof(name), &off, &len);
	flip(name, off + len / 2);
	/* The structure is intact: nothing reads the data blob. */
	rep = run(0, CHECK_DATA_NONE);
	ck_assert_msg(rep->nproblems == 0, "%s", dump(rep));
	check_report_free(rep);

	rep = run(0, CHECK_DATA_ALL);
	p = find(rep, CHECK_ERROR, name, "do not match its name");
	ck_assert_int_eq(p->class, ERR_CORRUPT);
	ck_assert(strstr(p->fix, "another copy") != NULL);
	p = find(rep, CHECK_ERROR, name, "blob ");
	ck_assert_int_eq(p->class, ERR_CORRUPT);
	ck_assert_uint_eq(rep->stats.packs_damaged, 1);
	ck_assert_uint_eq(rep->stats.errors, 2);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	check_report_free(rep);
}
END_TEST

START_TEST(test_flipped_byte_in_tree_pack_breaks_structure)
{
	struct check_report *rep;
	char name[128];
	uint32_t off, len;

	pack_of(B.sub, name, sizeof(name), &off, &len);
	flip(name, off + len / 2);
	rep = run(0, CHECK_DATA_NONE);
	find(rep, CHECK_ERROR, "snapshots/", "/sub: tree ");
	find(rep, CHECK_ERROR, "snapshots/", "incomplete");
	ck_assert_uint_eq(rep->stats.snapshots_damaged, 1);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	check_report_free(rep);
}
END_TEST

START_TEST(test_truncated_pack)
{
	struct check_report *rep;
	const struct check_problem *p;
	char name[128], *path;

	pack_of(B.chunk[0], name, sizeof(name), NULL, NULL);
	path = tutil_path(loc, name);
	ck_assert_int_eq(truncate(path, file_size(name) / 2), 0);
	free(path);
	rep = run(0, CHECK_DATA_NONE);
	p = find(rep, CHECK_ERROR, name, "truncated");
	ck_assert_int_eq(p->class, ERR_CORRUPT);
	ck_assert_uint_eq(rep->stats.packs_short, 1);
	/* The snapshot's files are in it: the snapshot is incomplete. */
	find(rep, CHECK_ERROR, "snapshots/",
	    "blobs of 0 directories and 2 files are in packs");
	ck_assert_uint_eq(rep->stats.snapshots_damaged, 1);
	ck_assert_msg(rep->stats.errors == 2, "%s", dump(rep));
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	check_report_free(rep);
	/* Reading it again would only repeat that. */
	rep = run(0, CHECK_DATA_ALL);
	ck_assert_uint_eq(rep->stats.packs_read, 1);
	ck_assert_msg(rep->stats.errors == 2, "%s", dump(rep));
	check_report_free(rep);
}
END_TEST

START_TEST(test_missing_pack)
{
	struct check_report *rep;
	const struct check_problem *p;
	char name[128], *path;

	pack_of(B.chunk[0], name, sizeof(name), NULL, NULL);
	path = tutil_path(loc, name);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	rep = run(0, CHECK_DATA_ALL);
	p = find(rep, CHECK_ERROR, name, "missing");
	ck_assert_int_eq(p->class, ERR_CORRUPT);
	ck_assert(strstr(p->what, "4 blobs") != NULL);
	ck_assert_uint_eq(rep->stats.packs_missing, 1);
	ck_assert_uint_eq(rep->stats.packs_read, 1);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	check_report_free(rep);

	/* The tree pack gone: the snapshot's root cannot load. */
	pack_of(B.root, name, sizeof(name), NULL, NULL);
	path = tutil_path(loc, name);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	rep = run(0, CHECK_DATA_NONE);
	find(rep, CHECK_ERROR, name, "missing");
	p = find(rep, CHECK_ERROR, "snapshots/",
	    "blobs of 1 directory and 0 files are in packs");
	ck_assert_int_eq(p->class, ERR_CORRUPT);
	ck_assert_uint_eq(rep->stats.trees, 0);
	check_report_free(rep);
}
END_TEST

START_TEST(test_unindexed_pack_is_a_warning)
{
	struct repo *r = open_repo(0);
	struct check_report *rep;
	uint8_t buf[3000], id[IDX_ID_LEN];
	char name[128];
	struct err e;

	/* A pack whose index file was never written (a crash). */
	fill(buf, sizeof(buf), 99);
	put(r, IDX_BLOB_DATA, buf, sizeof(buf), id);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	repo_close(r);
	pack_of(id, name, sizeof(name), NULL, NULL);
	drop_index_of(id);
	rep = run(0, CHECK_DATA_ALL);
	find(rep, CHECK_WARN, name, "not in any index");
	ck_assert_msg(rep->nproblems == 1, "%s", dump(rep));
	ck_assert_uint_eq(rep->stats.packs_unindexed, 1);
	ck_assert_uint_eq(rep->stats.packs_read, 3);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_OK);
	check_report_free(rep);
}
END_TEST

/*
 * A reader opened before a concurrent writer published a snapshot (packs,
 * index, manifest): check and the snapshot selector load the new index,
 * so the new snapshot is neither "incomplete" nor unreadable.
 */
START_TEST(test_snapshot_published_after_open)
{
	struct repo *reader = open_repo(0), *w = open_repo(0);
	struct fs_node node;
	struct check_opts o;
	struct check_report *rep;
	struct snapsel *sel;
	uint8_t buf[3000], chunk[IDX_ID_LEN], root[IDX_ID_LEN];
	char snap[REPO_HEX_LEN + 1];
	struct err e;
	size_t at;

	fill(buf, sizeof(buf), 99);
	put(w, IDX_BLOB_DATA, buf, sizeof(buf), chunk);
	file_node(&node, "late", sizeof(buf));
	fs_node_add_chunk(&node, chunk);
	put_tree(w, &node, 1, root);
	ck_assert_int_eq(repo_flush(w, &e), 0);
	save_snapshot(w, root, snap);
	repo_close(w);

	memset(&o, 0, sizeof(o));
	o.data = CHECK_DATA_ALL;
	ck_assert_msg(check_run(reader, &o, &rep, &e) == 0, "%s", e.msg);
	ck_assert_msg(rep->nproblems == 0, "%s", dump(rep));
	ck_assert_uint_eq(rep->stats.snapshots, 2);
	ck_assert_uint_eq(rep->stats.index_files, 3);
	check_report_free(rep);
	repo_close(reader);

	reader = open_repo(0);
	w = open_repo(0);
	fill(buf, sizeof(buf), 100);
	put(w, IDX_BLOB_DATA, buf, sizeof(buf), chunk);
	file_node(&node, "later", sizeof(buf));
	fs_node_add_chunk(&node, chunk);
	put_tree(w, &node, 1, root);
	ck_assert_int_eq(repo_flush(w, &e), 0);
	save_snapshot(w, root, snap);
	repo_close(w);
	ck_assert_ptr_null(idx_find(repo_index(reader), root));
	ck_assert_msg(snapsel_list(reader, time(NULL), &sel, &e) == 0, "%s",
	    e.msg);
	ck_assert_int_eq(snapsel_resolve(sel, snap, NULL, &at, &e), 0);
	ck_assert_ptr_nonnull(idx_find(repo_index(reader), root));
	ck_assert_ptr_nonnull(idx_find(repo_index(reader), chunk));
	snapsel_free(sel);
	repo_close(reader);
}
END_TEST

START_TEST(test_damaged_index_file_is_named)
{
	struct check_report *rep;
	const struct check_problem *p;
	struct repo *r;
	struct err e;
	char *d, *f, *rel;
	size_t nbad;

	d = tutil_path(loc, "index");
	f = tutil_find_entry(d, "");
	rel = strdup(f + strlen(loc) + 1);
	flip(rel, 20);
	/* A plain open leaves it out too (issue 9, finding 2), and says so. */
	ck_assert_int_eq(repo_open(loc, trepo_machine_key,
	                     strlen(trepo_machine_key), &r, &e),
	    0);
	ck_assert_ptr_nonnull(repo_bad_indexes(r, &nbad));
	ck_assert_uint_eq(nbad, 1);
	repo_close(r);
	rep = run(REPO_OPEN_SKIP_BAD_INDEX, CHECK_DATA_NONE);
	p = find(rep, CHECK_ERROR, rel, "");
	ck_assert_int_eq(p->class, ERR_CORRUPT);
	ck_assert(strstr(p->fix, "rebuild-index") != NULL);
	ck_assert_uint_eq(rep->stats.index_files_damaged, 1);
	/* Its pack is now unindexed, and what the snapshot needs from it
	 * is reported missing. */
	ck_assert_uint_eq(rep->stats.packs_unindexed, 1);
	find(rep, CHECK_ERROR, "snapshots/", "not in the index");
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	check_report_free(rep);
	free(rel);
	free(f);
	free(d);
}
END_TEST

/* Every index file goes; one holding x's locations takes their place. */
static void
replace_index(const struct idx *x)
{
	char *d = tutil_path(loc, "index");
	char name[REPO_HEX_LEN + 1];
	struct dirent *de;
	struct repo *r;
	struct err e;
	uint8_t *plain;
	size_t n;
	DIR *dp;

	ck_assert_ptr_nonnull(dp = opendir(d));
	while ((de = readdir(dp)) != NULL) {
		char *f;

		if (de->d_name[0] == '.')
			continue;
		f = tutil_path(d, de->d_name);
		ck_assert_int_eq(unlink(f), 0);
		free(f);
	}
	closedir(dp);
	free(d);
	r = open_repo(0);
	idx_encode(x, 0, idx_pack_count(x), &plain, &n);
	ck_assert_msg(repo_file_put(r, "index", plain, n, name, &e) == 0, "%s",
	    e.msg);
	free(plain);
	repo_close(r);
}

struct copy_arg {
	const struct idx *from;
	struct idx *to;
	const uint8_t *skip; /* leave this id out; NULL: none */
	const uint8_t *as;   /* and index it under this pack id too */
};

static int
copy_entry(void *arg, const struct idx_entry *ent)
{
	struct copy_arg *c = arg;
	struct idx_entry n = *ent;

	if (c->skip != NULL && memcmp(ent->id, c->skip, IDX_ID_LEN) == 0)
		return (0);
	n.pack = idx_pack_add(c->to, idx_pack_id(c->from, ent->pack));
	(void)idx_add(c->to, &n);
	if (c->as != NULL && ent->type == IDX_BLOB_DATA) {
		n.pack = idx_pack_add(c->to, c->as);
		(void)idx_add(c->to, &n);
	}
	return (0);
}

/*
 * What a key holder's work leaves in the index, found without reading a
 * pack (issue 9, finding 1): an index file under a name that is not its
 * hash, a blob left out of its pack's index (the original index hidden),
 * ids indexed in a second pack.  Warnings, with the fix.
 */
START_TEST(test_index_tampering_warnings)
{
	char *d = tutil_path(loc, "index"), *f, *to, pk[128], copy[128];
	struct copy_arg c;
	struct check_report *rep;
	const struct check_problem *p;
	struct repo *r;
	uint8_t cid[IDX_ID_LEN];
	struct idx *x;

	/* Renamed: used, and named. */
	f = tutil_find_entry(d, "");
	to = tutil_path(d,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa");
	ck_assert_int_eq(rename(f, to), 0);
	rep = run(0, CHECK_DATA_NONE);
	p = find(rep, CHECK_WARN, "index/aaaa", "not the SHA-256 of its bytes");
	ck_assert(strstr(p->fix, "rebuild-index") != NULL);
	ck_assert_msg(rep->stats.errors == 0, "%s", dump(rep));
	ck_assert_uint_eq(rep->stats.index_files_misnamed, 1);
	check_report_free(rep);
	ck_assert_int_eq(rename(to, f), 0);

	/* Chunk 1 of a left out of the index: a gap in its pack. */
	pack_of(B.chunk[1], pk, sizeof(pk), NULL, NULL);
	r = open_repo(0);
	x = idx_new();
	memset(&c, 0, sizeof(c));
	c.from = repo_index(r);
	c.to = x;
	c.skip = B.chunk[1];
	(void)idx_foreach(repo_index(r), copy_entry, &c);
	repo_close(r);
	replace_index(x);
	idx_free(x);
	rep = run(0, CHECK_DATA_NONE);
	p = find(rep, CHECK_WARN, pk, "no index entry names its bytes");
	ck_assert(strstr(p->fix, "rebuild-index") != NULL);
	ck_assert_uint_eq(rep->stats.packs_gaps, 1);
	check_report_free(rep);

	/* Every data blob indexed in a second pack too. */
	memset(cid, 0xcd, sizeof(cid));
	repo_pack_name(cid, copy, sizeof(copy));
	r = open_repo(0);
	x = idx_new();
	memset(&c, 0, sizeof(c));
	c.from = repo_index(r);
	c.to = x;
	c.as = cid;
	(void)idx_foreach(repo_index(r), copy_entry, &c);
	repo_close(r);
	replace_index(x);
	idx_free(x);
	rep = run(0, CHECK_DATA_NONE);
	p = find(rep, CHECK_WARN, copy, "indexed in other packs too");
	ck_assert(strstr(p->what, pk) != NULL);
	ck_assert(strstr(p->fix, "--read-data") != NULL);
	ck_assert_uint_eq(rep->stats.blobs_duplicate, 3);
	check_report_free(rep);
	free(to);
	free(f);
	free(d);
}
END_TEST

/* Does the report name file at all? */
static int
names_file(const struct check_report *rep, const char *file)
{
	for (size_t i = 0; i < rep->nproblems; i++)
		if (strcmp(rep->problems[i].file, file) == 0)
			return (1);
	return (0);
}

/*
 * An index file hidden under a dot-name is left out by every reader of
 * the index: check names it, and any temp file too old to be in flight.
 */
START_TEST(test_hidden_index_file_is_named)
{
	char *d = tutil_path(loc, "index"), *f, *to, *young, *old, name[128];
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct check_report *rep;
	const struct check_problem *p;

	f = tutil_find_entry(d, "");
	snprintf(name, sizeof(name), ".%s", strrchr(f, '/') + 1);
	to = tutil_path(d, name);
	ck_assert_int_eq(rename(f, to), 0);
	young = tutil_path(d, ".tmp-0123abcd");
	tutil_write_file(young, "t", 1, 0600);
	old = tutil_path(d, ".tmp-4567cdef");
	tutil_write_file(old, "tt", 2, 0600);
	ck_assert_int_eq(utimensat(AT_FDCWD, old, ts, 0), 0);
	rep = run(0, CHECK_DATA_NONE);
	snprintf(name, sizeof(name), "index/.%s", strrchr(f, '/') + 1);
	p = find(rep, CHECK_WARN, name, "hidden file");
	ck_assert(strstr(p->fix, "SHA-256") != NULL);
	ck_assert(strstr(p->fix, "rebuild-index") != NULL);
	p = find(rep, CHECK_WARN, "index/.tmp-4567cdef", "hidden file");
	/* Young: a put may be in flight. */
	ck_assert_msg(!names_file(rep, "index/.tmp-0123abcd"), "%s", dump(rep));
	check_report_free(rep);
	ck_assert_int_eq(unlink(young), 0);
	ck_assert_int_eq(unlink(old), 0);
	ck_assert_int_eq(rename(to, f), 0);
	free(young);
	free(old);
	free(to);
	free(f);
	free(d);
}
END_TEST

START_TEST(test_damaged_snapshot_file)
{
	struct check_report *rep;
	const struct check_problem *p;
	char name[128];

	snprintf(name, sizeof(name), "snapshots/%s", B.snap);
	flip(name, 30);
	rep = run(0, CHECK_DATA_NONE);
	p = find(rep, CHECK_ERROR, name, "does not match its name");
	ck_assert_int_eq(p->class, ERR_CORRUPT);
	ck_assert_uint_eq(rep->stats.snapshots_damaged, 1);
	ck_assert_uint_eq(rep->stats.trees, 0);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	check_report_free(rep);
}
END_TEST

START_TEST(test_damaged_key_file)
{
	struct key_file_meta meta = { 0, "h", "u" };
	char kid[REPO_HEX_LEN + 1], name[128];
	struct check_report *rep;
	const struct check_problem *p;
	struct repo *r = open_repo(0);
	struct err e;

	setenv(KEY_TEST_WEAK_ENV, "1", 1);
	ck_assert_int_eq(repo_key_add(r, "pass", 4, KEY_KIND_PASSPHRASE,
	                     &key_scrypt_test_weak, &meta, kid, &e),
	    0);
	repo_close(r);
	snprintf(name, sizeof(name), "keys/%s", kid);
	flip(name, 40);
	rep = run(0, CHECK_DATA_NONE);
	p = find(rep, CHECK_ERROR, name, "does not match its name");
	ck_assert_int_eq(p->class, ERR_CORRUPT);
	ck_assert(strstr(p->fix, "coffer key remove") != NULL);
	ck_assert_uint_eq(rep->stats.key_files, 2);
	ck_assert_uint_eq(rep->stats.key_files_damaged, 1);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	check_report_free(rep);
}
END_TEST

START_TEST(test_tree_naming_missing_blobs)
{
	struct repo *r = open_repo(0);
	struct check_report *rep;
	struct fs_node nodes[2];
	uint8_t ghost[IDX_ID_LEN], root[IDX_ID_LEN];
	char snap2[REPO_HEX_LEN + 1];
	struct err e;

	/* Two files name one blob that was never stored, and one file is
	 * longer than its chunks. */
	memset(ghost, 0x5a, sizeof(ghost));
	file_node(&nodes[0], "ghost1", 100);
	fs_node_add_chunk(&nodes[0], ghost);
	file_node(&nodes[1], "ghost2", 5000);
	fs_node_add_chunk(&nodes[1], ghost);
	put_tree(r, nodes, 2, root);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	save_snapshot(r, root, snap2);
	repo_close(r);
	rep = run(0, CHECK_DATA_ALL);
	find(rep, CHECK_ERROR, "snapshots/", "/ghost1: data blob 5a5a5a5a");
	/* Reported once, though named twice. */
	ck_assert_msg(rep->stats.errors == 2, "%s", dump(rep));
	find(rep, CHECK_ERROR, "snapshots/", "incomplete");
	ck_assert_uint_eq(rep->stats.snapshots_damaged, 1);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	check_report_free(rep);
}
END_TEST

START_TEST(test_shared_damage_marks_every_snapshot)
{
	struct repo *r = open_repo(0);
	struct check_report *rep;
	struct fs_node nodes[1];
	uint8_t root2[IDX_ID_LEN];
	char snap2[REPO_HEX_LEN + 1], name[128];
	uint32_t off, len;
	struct err e;

	/* A second snapshot whose root differs but shares "sub". */
	memset(&nodes[0], 0, sizeof(nodes[0]));
	nodes[0].name = strdup("other");
	nodes[0].type = FS_DIR;
	nodes[0].mode = 0700;
	nodes[0].flags = FS_NODE_HAS_SUBTREE;
	memcpy(nodes[0].subtree, B.sub, IDX_ID_LEN);
	put_tree(r, nodes, 1, root2);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	save_snapshot(r, root2, snap2);
	repo_close(r);
	pack_of(B.sub, name, sizeof(name), &off, &len);
	flip(name, off + len / 2);
	rep = run(0, CHECK_DATA_NONE);
	/* sub is read once, reported once, and both snapshots are marked. */
	ck_assert_uint_eq(rep->stats.snapshots_damaged, 2);
	ck_assert_msg(rep->stats.errors == 3, "%s", dump(rep));
	check_report_free(rep);
}
END_TEST

START_TEST(test_index_disagreeing_with_pack_header)
{
	struct repo *r = open_repo(0);
	struct check_report *rep;
	const struct idx_entry *ent;
	struct idx *x = idx_new();
	struct idx_entry fake;
	uint8_t *plain;
	size_t n;
	char name[128], iname[REPO_HEX_LEN + 1];
	uint32_t pn;
	struct err e;

	/* An index for the data pack that gets chunk 2's raw length wrong
	 * and places a blob there that is not in it. */
	ent = idx_find(repo_index(r), B.chunk[0]);
	pn = idx_pack_add(x, idx_pack_id(repo_index(r), ent->pack));
	for (int i = 0; i < 3; i++) {
		const struct idx_entry *c = idx_find(repo_index(r), B.chunk[i]);
		struct idx_entry ne = *c;

		ne.pack = pn;
		if (i == 2)
			ne.raw_length++;
		ck_assert_int_eq(idx_add(x, &ne), 0);
	}
	memset(&fake, 0, sizeof(fake));
	memset(fake.id, 0x77, IDX_ID_LEN);
	fake.pack = pn;
	fake.offset = 5;
	fake.length = 40;
	fake.raw_length = 11;
	ck_assert_int_eq(idx_add(x, &fake), 0);
	idx_encode(x, 0, 1, &plain, &n);
	idx_free(x);
	repo_pack_name(idx_pack_id(repo_index(r), ent->pack), name,
	    sizeof(name));
	repo_close(r);
	/* Drop the true index file for that pack, add the forged one. */
	drop_index_of(B.chunk[0]);
	r = open_repo(0);
	ck_assert_int_eq(repo_file_put(r, "index", plain, n, iname, &e), 0);
	repo_close(r);
	free(plain);

	rep = run(0, CHECK_DATA_ALL);
	find(rep, CHECK_ERROR, name, "the index says data, ");
	find(rep, CHECK_ERROR, name, "does not list it there");
	/* The wrong raw length shows in the tree check as well. */
	find(rep, CHECK_ERROR, "snapshots/", "/a: its chunks hold 15001 bytes");
	/* And chunk 3, left out of the index, is missed twice over. */
	find(rep, CHECK_WARN, name, "1 of its blobs are in no index file");
	find(rep, CHECK_ERROR, "snapshots/", "/sub/b: data blob ");
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_CORRUPT);
	check_report_free(rep);
}
END_TEST

/* Many small packs, for subsets. */
static void
many_packs(int n)
{
	struct repo *r = open_repo(0);
	uint8_t buf[1000], id[IDX_ID_LEN];
	struct err e;

	for (int i = 0; i < n; i++) {
		fill(buf, sizeof(buf), (uint32_t)(1000 + i));
		put(r, IDX_BLOB_DATA, buf, sizeof(buf), id);
		ck_assert_int_eq(repo_flush(r, &e), 0);
	}
	repo_close(r);
}

START_TEST(test_subsets)
{
	struct check_opts o;
	struct check_report *rep;
	struct repo *r;
	struct err e;
	uint64_t sum = 0;

	many_packs(30); /* 32 packs in all */
	r = open_repo(0);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(check_parse_subset("25%", &o, &e), 0);
	ck_assert_int_eq(check_run(r, &o, &rep, &e), 0);
	ck_assert_uint_eq(rep->stats.packs_read, 8);
	ck_assert_uint_eq(rep->nproblems, 0);
	check_report_free(rep);
	ck_assert_int_eq(check_parse_subset("0.1%", &o, &e), 0);
	ck_assert_int_eq(check_run(r, &o, &rep, &e), 0);
	ck_assert_uint_eq(rep->stats.packs_read, 1);
	check_report_free(rep);
	/* The slices of a partition cover every pack once. */
	for (uint32_t k = 1; k <= 5; k++) {
		char arg[16];

		snprintf(arg, sizeof(arg), "%u/5", k);
		ck_assert_int_eq(check_parse_subset(arg, &o, &e), 0);
		ck_assert_int_eq(check_run(r, &o, &rep, &e), 0);
		sum += rep->stats.packs_read;
		check_report_free(rep);
	}
	ck_assert_uint_eq(sum, 32);
	repo_close(r);
}
END_TEST

START_TEST(test_parse_subset)
{
	static const char *bad[] = { "", "%", "0%", "101%", "5", "5 %", "-5%",
		"1e1%", "0/3", "4/3", "3/", "/3", "1/2/3", "1/0", "1/1000001",
		"x/3", "50%%" };
	struct check_opts o;
	struct err e;

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(check_parse_subset("100%", &o, &e), 0);
	ck_assert_int_eq(o.data, CHECK_DATA_PERCENT);
	ck_assert(o.percent == 100);
	ck_assert_int_eq(check_parse_subset("2.5%", &o, &e), 0);
	ck_assert(o.percent == 2.5);
	ck_assert_int_eq(check_parse_subset("3/7", &o, &e), 0);
	ck_assert_int_eq(o.data, CHECK_DATA_SLICE);
	ck_assert_uint_eq(o.slice, 3);
	ck_assert_uint_eq(o.slices, 7);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(check_parse_subset(bad[i], &o, &e) == -1,
		    "accepted '%s'", bad[i]);
		ck_assert_int_eq(e.class, ERR_USAGE);
	}
}
END_TEST

static int ticks;

static int
tick_stop(void *arg, struct err *e)
{
	(void)arg;
	if (++ticks < 3)
		return (0);
	return (err_set(e, ERR_LOCKED, "lock lost"));
}

static void
count_problem(void *arg, const struct check_problem *p)
{
	(void)p;
	(*(int *)arg)++;
}

START_TEST(test_tick_and_interrupt_stop_the_check)
{
	volatile sig_atomic_t stop = 1;
	struct check_opts o;
	struct check_report *rep = NULL;
	struct repo *r;
	struct err e;
	int seen = 0;

	many_packs(4);
	r = open_repo(0);
	memset(&o, 0, sizeof(o));
	o.data = CHECK_DATA_ALL;
	o.tick = tick_stop;
	o.on_problem = count_problem;
	o.arg = &seen;
	ck_assert_int_eq(check_run(r, &o, &rep, &e), -1);
	ck_assert_ptr_null(rep);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	o.tick = NULL;
	o.interrupted = &stop;
	ck_assert_int_eq(check_run(r, &o, &rep, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	stop = 0;
	ck_assert_int_eq(check_run(r, &o, &rep, &e), 0);
	ck_assert_int_eq(seen, 0);
	check_report_free(rep);
	repo_close(r);
}
END_TEST

START_TEST(test_stray_files_are_warnings)
{
	struct check_report *rep;
	const struct check_problem *p;
	char *path;

	path = tutil_path(loc, "data/zz");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	free(path);
	path = tutil_path(loc, "data/zz/notapack");
	tutil_write_file(path, "x", 1, 0600);
	free(path);
	path = tutil_path(loc, "snapshots/README");
	tutil_write_file(path, "x", 1, 0600);
	free(path);
	rep = run(0, CHECK_DATA_ALL);
	p = find(rep, CHECK_WARN, "data/zz/notapack", "not a pack file name");
	ck_assert_int_eq(p->class, ERR_NONE);
	find(rep, CHECK_WARN, "snapshots/README", "not a snapshot");
	ck_assert_uint_eq(rep->stats.errors, 0);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_OK);
	check_report_free(rep);
}
END_TEST

START_TEST(test_damaged_pack_header_and_trailer)
{
	struct check_report *rep;
	char name[128];
	off_t size;

	pack_of(B.chunk[0], name, sizeof(name), NULL, NULL);
	size = file_size(name);
	/* In the sealed header: it no longer opens, the hash still tells. */
	flip(name, size - 20);
	rep = run(0, CHECK_DATA_ALL);
	find(rep, CHECK_ERROR, name, "pack header");
	find(rep, CHECK_ERROR, name, "do not match its name");
	ck_assert_uint_eq(rep->stats.blobs_read, 2);
	check_report_free(rep);
	flip(name, size - 20);
	/* In the trailer's magic. */
	flip(name, size - 1);
	rep = run(0, CHECK_DATA_ALL);
	find(rep, CHECK_ERROR, name, "bad trailer");
	find(rep, CHECK_ERROR, name, "do not match its name");
	check_report_free(rep);
}
END_TEST

static int
tick_break_open(void *arg, struct err *e)
{
	(void)e;
	/* Ticks 1 and 2 come before the data (after the packs, per
	 * snapshot); from the third on, packs are being read. */
	if (++*(int *)arg == 3)
		fault_arm(FAULT_OPEN, 0, EIO);
	return (0);
}

START_TEST(test_unreadable_pack_is_not_damage)
{
	struct check_opts o;
	struct check_report *rep;
	const struct check_problem *p;
	struct repo *r = open_repo(0);
	struct err e;
	int n = 0;

	memset(&o, 0, sizeof(o));
	o.data = CHECK_DATA_ALL;
	o.tick = tick_break_open;
	o.arg = &n;
	ck_assert_int_eq(check_run(r, &o, &rep, &e), 0);
	fault_reset();
	repo_close(r);
	p = find(rep, CHECK_ERROR, "data/", "cannot check");
	ck_assert_int_eq(p->class, ERR_IO);
	ck_assert(strstr(p->fix, "permissions") != NULL);
	/* The pack the trees came from may still be open from before the
	 * fault (the local store keeps packs open): it reads. */
	ck_assert_msg(rep->stats.errors >= 1 && rep->stats.errors <= 2, "%s",
	    dump(rep));
	ck_assert_uint_eq(rep->stats.packs_damaged, 0);
	ck_assert_int_eq(check_report_exit_status(rep), EXIT_ERROR);
	check_report_free(rep);
}
END_TEST

/* A directory node named name whose tree is id. */
static void
dir_node(struct fs_node *n, const char *name, const uint8_t id[IDX_ID_LEN])
{
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->type = FS_DIR;
	n->mode = 0755;
	n->flags = FS_NODE_HAS_SUBTREE;
	memcpy(n->subtree, id, IDX_ID_LEN);
}

START_TEST(test_deep_and_shared_trees)
{
	struct repo *r = open_repo(0);
	struct check_report *rep;
	struct fs_node nodes[2];
	uint8_t id[IDX_ID_LEN], top[IDX_ID_LEN], root3[IDX_ID_LEN];
	char snap[REPO_HEX_LEN + 1], name[16];
	struct err e;

	/* 600 directories, each in the one before: the walk's stack and
	 * the set of seen trees both have to grow. */
	memcpy(id, B.sub, IDX_ID_LEN);
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		dir_node(&nodes[0], name, id);
		file_node(&nodes[1], "f", 5000);
		fs_node_add_chunk(&nodes[1], B.chunk[i % 3]);
		put_tree(r, nodes, 2, id);
	}
	memcpy(top, id, IDX_ID_LEN);
	save_snapshot(r, top, snap);
	/* The same root again, and a root that holds the chain. */
	save_snapshot(r, top, snap);
	dir_node(&nodes[0], "chain", top);
	put_tree(r, nodes, 1, root3);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	save_snapshot(r, root3, snap);
	repo_close(r);
	rep = run(0, CHECK_DATA_ALL);
	ck_assert_msg(rep->nproblems == 0, "%s", dump(rep));
	ck_assert_uint_eq(rep->stats.snapshots, 4);
	/* Every distinct tree once: 2 + 600 + 1. */
	ck_assert_uint_eq(rep->stats.trees, 603);
	ck_assert_uint_eq(rep->stats.data_refs, 4 + 600);
	check_report_free(rep);
}
END_TEST

START_TEST(test_blobs_of_the_wrong_type)
{
	struct repo *r = open_repo(0);
	struct check_report *rep;
	struct fs_node nodes[3];
	uint8_t root[IDX_ID_LEN], ghost[IDX_ID_LEN];
	char snap[REPO_HEX_LEN + 1];
	struct err e;

	/* A file whose chunk is a tree, a directory whose tree is data,
	 * and a name with a newline in it. */
	file_node(&nodes[0], "f", 100);
	fs_node_add_chunk(&nodes[0], B.sub);
	dir_node(&nodes[1], "d", B.chunk[0]);
	memset(ghost, 0x3c, sizeof(ghost));
	file_node(&nodes[2], "new\nline", 1);
	fs_node_add_chunk(&nodes[2], ghost);
	put_tree(r, nodes, 3, root);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	save_snapshot(r, root, snap);
	repo_close(r);
	rep = run(0, CHECK_DATA_NONE);
	find(rep, CHECK_ERROR, "snapshots/", "/f: chunk 0 (");
	find(rep, CHECK_ERROR, "snapshots/", "is indexed as a tree, not data");
	find(rep, CHECK_ERROR, "snapshots/", "/d: tree ");
	find(rep, CHECK_ERROR, "snapshots/", "is indexed as a data blob");
	find(rep, CHECK_ERROR, "snapshots/", "/new?line: data blob 3c3c");
	find(rep, CHECK_ERROR, "snapshots/", "incomplete");
	ck_assert_msg(rep->stats.errors == 4, "%s", dump(rep));
	check_report_free(rep);
}
END_TEST

START_TEST(test_blobs_across_the_read_window)
{
	struct repo *r = open_repo(0);
	struct check_report *rep;
	const size_t big = (4u << 20) + 12345;
	uint8_t *buf = malloc(big), a[IDX_ID_LEN], b[IDX_ID_LEN];
	char name[128];
	uint32_t off, len;
	struct err e;

	/* One pack: a small blob, then one longer than the window, so the
	 * reader keeps what it has and reads on. */
	fill(buf, 600000, 501);
	put(r, IDX_BLOB_DATA, buf, 600000, a);
	fill(buf, big, 502);
	put(r, IDX_BLOB_DATA, buf, big, b);
	ck_assert_int_eq(repo_flush(r, &e), 0);
	repo_close(r);
	free(buf);
	rep = run(0, CHECK_DATA_ALL);
	ck_assert_msg(rep->nproblems == 0, "%s", dump(rep));
	ck_assert_uint_eq(rep->stats.blobs_read, 8);
	ck_assert_uint_eq(rep->stats.pack_bytes_read, pack_bytes());
	check_report_free(rep);
	pack_of(b, name, sizeof(name), &off, &len);
	flip(name, off + len - 100);
	rep = run(0, CHECK_DATA_ALL);
	find(rep, CHECK_ERROR, name, "do not match its name");
	find(rep, CHECK_ERROR, name, "blob ");
	ck_assert_msg(rep->stats.errors == 2, "%s", dump(rep));
	check_report_free(rep);
}
END_TEST

START_TEST(test_many_damaged_blobs_are_summed_up)
{
	struct repo *r = open_repo(0);
	struct check_report *rep;
	uint8_t buf[2000], ids[12][IDX_ID_LEN];
	char name[128];
	uint32_t off, len;
	struct err e;

	for (int i = 0; i < 12; i++) {
		fill(buf, sizeof(buf), (uint32_t)(700 + i));
		put(r, IDX_BLOB_DATA, buf, sizeof(buf), ids[i]);
	}
	ck_assert_int_eq(repo_flush(r, &e), 0);
	repo_close(r);
	for (int i = 0; i < 12; i++) {
		pack_of(ids[i], name, sizeof(name), &off, &len);
		flip(name, off + 40);
	}
	rep = run(0, CHECK_DATA_ALL);
	find(rep, CHECK_ERROR, name, "and 2 more problems with blobs");
	/* Ten blob lines, the summing up, the hash. */
	ck_assert_msg(rep->stats.errors == 12, "%s", dump(rep));
	ck_assert_uint_eq(rep->stats.packs_damaged, 1);
	check_report_free(rep);
}
END_TEST

Suite *check_suite(void);

Suite *
check_suite(void)
{
	Suite *s = suite_create("check");
	TCase *tc = tcase_create("damage");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_clean_repository_passes);
	tcase_add_test(tc, test_flipped_byte_in_pack_needs_read_data);
	tcase_add_test(tc, test_flipped_byte_in_tree_pack_breaks_structure);
	tcase_add_test(tc, test_truncated_pack);
	tcase_add_test(tc, test_missing_pack);
	tcase_add_test(tc, test_unindexed_pack_is_a_warning);
	tcase_add_test(tc, test_snapshot_published_after_open);
	tcase_add_test(tc, test_damaged_index_file_is_named);
	tcase_add_test(tc, test_index_tampering_warnings);
	tcase_add_test(tc, test_hidden_index_file_is_named);
	tcase_add_test(tc, test_damaged_snapshot_file);
	tcase_add_test(tc, test_damaged_key_file);
	tcase_add_test(tc, test_tree_naming_missing_blobs);
	tcase_add_test(tc, test_shared_damage_marks_every_snapshot);
	tcase_add_test(tc, test_index_disagreeing_with_pack_header);
	tcase_add_test(tc, test_subsets);
	tcase_add_test(tc, test_parse_subset);
	tcase_add_test(tc, test_tick_and_interrupt_stop_the_check);
	tcase_add_test(tc, test_stray_files_are_warnings);
	tcase_add_test(tc, test_damaged_pack_header_and_trailer);
	tcase_add_test(tc, test_unreadable_pack_is_not_damage);
	tcase_add_test(tc, test_deep_and_shared_trees);
	tcase_add_test(tc, test_blobs_of_the_wrong_type);
	tcase_add_test(tc, test_blobs_across_the_read_window);
	tcase_add_test(tc, test_many_damaged_blobs_are_summed_up);
	suite_add_tcase(s, tc);
	return (s);
}
