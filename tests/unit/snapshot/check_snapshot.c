/*
 * The snapshot engine (snapshot/snapshot.h) on a real tree and a real
 * repository: what it stores restores to the same content and metadata
 * (modes, owners, nanosecond mtimes, symlinks, hard links, FIFOs,
 * xattrs); the paths it is given, checked and placed; the files cache
 * saving reads and never data; streams, synthetic directories, and an
 * interrupted run that saves nothing yet keeps what it stored.
 */
#include <sys/stat.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "repo/snapsel.h"
#include "repo/tree.h"
#include "restore/restore.h"
#include "snapshot/snapshot.h"
#include "trepo.h"
#include "tutil.h"
#include "xmalloc.h"

#define BIG_LEN (3u << 20)
#define T0      1700000000

static char *base; /* scratch: repo/, src/, dst/, cache/ */
static char loc[PATH_MAX];
static char src[PATH_MAX];

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
setup(void)
{

	base = tutil_mkdtemp();
	snprintf(loc, sizeof(loc), "%s/repo", base);
	snprintf(src, sizeof(src), "%s/src", base);
	trepo_init(loc, 1 << 20, NULL);
}

static void
teardown(void)
{
	tutil_rmtree(base);
	free(base);
}

static struct repo *
open_repo(void)
{
	struct repo *r;
	struct err e;

	ck_assert_msg(repo_open(loc, trepo_machine_key,
	                  strlen(trepo_machine_key), &r, &e) == 0,
	    "%s", e.msg);
	return (r);
}

static char *
at(const char *rel)
{
	return (tutil_path(src, rel));
}

static void
stamp(const char *rel, int64_t sec, long nsec)
{
	char *p = at(rel);
	struct timespec ts[2] = { { (time_t)sec, nsec },
		{ (time_t)sec, nsec } };

	ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
	free(p);
}

static void
file(const char *rel, const void *data, size_t len, mode_t mode)
{
	char *p = at(rel);

	tutil_write_file(p, data, len, mode);
	free(p);
}

static void
dir(const char *rel, mode_t mode)
{
	char *p = at(rel);

	ck_assert_int_eq(mkdir(p, mode), 0);
	ck_assert_int_eq(chmod(p, mode), 0);
	free(p);
}

/*
 * src/: etc/{fstab, big (several chunks), empty, link -> fstab, hl1 = hl2,
 * fifo, xattr, ssh/sshd_config (owned by 1234:5678 when root)},
 * opt/app/conf/app.ini; every mtime set to the nanosecond.
 */
static void
make_tree(void)
{
	uint8_t *big = malloc(BIG_LEN);
	char *p, *q;

	ck_assert_int_eq(mkdir(src, 0755), 0);
	dir("etc", 0751);
	dir("etc/ssh", 0700);
	dir("opt", 0755);
	dir("opt/app", 0750);
	dir("opt/app/conf", 0755);
	file("etc/fstab", "/dev/vda1 / ext4 defaults 0 1\n", 30, 0644);
	fill(big, BIG_LEN, 7);
	file("etc/big", big, BIG_LEN, 0640);
	free(big);
	file("etc/empty", "", 0, 0600);
	file("etc/hl1", "linked twice\n", 13, 0444);
	p = at("etc/hl1");
	q = at("etc/hl2");
	ck_assert_int_eq(link(p, q), 0);
	free(p);
	free(q);
	p = at("etc/link");
	ck_assert_int_eq(symlink("fstab", p), 0);
	free(p);
	p = at("etc/fifo");
	ck_assert_int_eq(mkfifo(p, 0620), 0);
	ck_assert_int_eq(chmod(p, 0620), 0);
	free(p);
	file("etc/xattr", "x", 1, 0600);
	p = at("etc/xattr");
	ck_assert_int_eq(setxattr(p, "user.coffer", "v\0bin", 5, 0), 0);
	free(p);
	file("etc/ssh/sshd_config", "PermitRootLogin no\n", 19, 0600);
	if (geteuid() == 0) {
		p = at("etc/ssh/sshd_config");
		ck_assert_int_eq(lchown(p, 1234, 5678), 0);
		free(p);
	}
	file("opt/app/conf/app.ini", "[app]\nport = 8080\n", 18, 0640);
	/* Leaves first: making an entry changes its directory's mtime. */
	stamp("etc/fstab", T0 + 1, 1);
	stamp("etc/big", T0 + 2, 999999999);
	stamp("etc/empty", T0 - 86400 * 365 * 40L, 0); /* before 1990 */
	stamp("etc/hl1", T0 + 4, 4);
	stamp("etc/link", T0 + 5, 5);
	stamp("etc/fifo", T0 + 6, 6);
	stamp("etc/xattr", T0 + 7, 7);
	stamp("etc/ssh/sshd_config", T0 + 8, 8);
	stamp("opt/app/conf/app.ini", T0 + 9, 9);
	stamp("etc/ssh", T0 + 10, 10);
	stamp("etc", T0 + 11, 11);
	stamp("opt/app/conf", T0 + 12, 12);
	stamp("opt/app", T0 + 13, 13);
	stamp("opt", T0 + 14, 14);
}

static size_t cmp_n; /* entries same_tree compared */

static void
same_xattrs(const char *a, const char *b)
{
	char la[1024], lb[1024], va[256], vb[256];
	ssize_t na = llistxattr(a, la, sizeof(la));
	ssize_t nb = llistxattr(b, lb, sizeof(lb));

	ck_assert_int_ge(na, 0);
	ck_assert_msg(na == nb && memcmp(la, lb, (size_t)na) == 0,
	    "%s: xattr names differ", b);
	for (ssize_t off = 0; off < na; off += (ssize_t)strlen(la + off) + 1) {
		ssize_t xa = lgetxattr(a, la + off, va, sizeof(va));
		ssize_t xb = lgetxattr(b, la + off, vb, sizeof(vb));

		ck_assert_msg(xa == xb && xa >= 0 &&
		        memcmp(va, vb, (size_t)xa) == 0,
		    "%s: xattr %s differs", b, la + off);
	}
}

/* b has the type, mode, owner and mtime sa says. */
static void
same_meta(const struct stat *sa, const char *b)
{
	struct stat sb;

	ck_assert_msg(lstat(b, &sb) == 0, "%s missing: %s", b, strerror(errno));
	ck_assert_msg((sa->st_mode & S_IFMT) == (sb.st_mode & S_IFMT),
	    "%s: type", b);
	ck_assert_msg((sa->st_mode & 07777) == (sb.st_mode & 07777),
	    "%s: mode %o, want %o", b, sb.st_mode & 07777, sa->st_mode & 07777);
	ck_assert_msg(sa->st_uid == sb.st_uid && sa->st_gid == sb.st_gid,
	    "%s: owner %u:%u, want %u:%u", b, sb.st_uid, sb.st_gid, sa->st_uid,
	    sa->st_gid);
	ck_assert_msg(sa->st_mtim.tv_sec == sb.st_mtim.tv_sec &&
	        sa->st_mtim.tv_nsec == sb.st_mtim.tv_nsec,
	    "%s: mtime %ld.%09ld, want %ld.%09ld", b, (long)sb.st_mtim.tv_sec,
	    sb.st_mtim.tv_nsec, (long)sa->st_mtim.tv_sec, sa->st_mtim.tv_nsec);
}

/* The same entry in both trees: metadata, data, target, xattrs. */
static void
same_entry(const char *a, const char *b)
{
	struct stat sa;

	ck_assert_msg(lstat(a, &sa) == 0, "%s: %s", a, strerror(errno));
	same_meta(&sa, b);
	if (S_ISREG(sa.st_mode)) {
		size_t la, lb;
		char *da = tutil_read_file(a, &la),
		     *db = tutil_read_file(b, &lb);

		ck_assert_msg(la == lb && memcmp(da, db, la) == 0,
		    "%s: content differs", b);
		free(da);
		free(db);
	}
	if (S_ISLNK(sa.st_mode)) {
		char ta[PATH_MAX], tb[PATH_MAX];
		ssize_t na = readlink(a, ta, sizeof(ta));
		ssize_t nb = readlink(b, tb, sizeof(tb));

		ck_assert_msg(na == nb && na > 0 &&
		        memcmp(ta, tb, (size_t)na) == 0,
		    "%s: target", b);
	} else
		same_xattrs(a, b);
}

static char cmp_a[PATH_MAX], cmp_b[PATH_MAX];

static int
visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char other[PATH_MAX * 2];

	(void)st;
	(void)type;
	(void)ftw;
	snprintf(other, sizeof(other), "%s%s", cmp_b, path + strlen(cmp_a));
	same_entry(path, other);
	cmp_n++;
	return (0);
}

static size_t counted;

static int
count_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)type;
	(void)ftw;
	counted++;
	return (0);
}

static size_t
count_entries(const char *root)
{
	counted = 0;
	ck_assert_int_eq(nftw(root, count_one, 16, FTW_PHYS), 0);
	return (counted);
}

/* Every entry of a is in b, the same; b holds nothing more. */
static void
same_tree(const char *a, const char *b)
{
	snprintf(cmp_a, sizeof(cmp_a), "%s", a);
	snprintf(cmp_b, sizeof(cmp_b), "%s", b);
	cmp_n = 0;
	ck_assert_int_eq(nftw(a, visit, 16, FTW_PHYS), 0);
	ck_assert_uint_eq(count_entries(b), cmp_n);
}

static void
opts(struct snap_opts *o, const char *const *paths, size_t n)
{
	memset(o, 0, sizeof(*o));
	o->paths = paths;
	o->npaths = n;
}

static void
snap_ok(const struct snap_opts *o, struct manifest *m)
{
	struct repo *r = open_repo();
	struct err e;

	ck_assert_msg(snap_run(r, o, m, &e) == 0, "%s", e.msg);
	repo_close(r);
}

static size_t
nsnapshots(void)
{
	struct repo *r = open_repo();
	struct snapsel *list;
	size_t n;
	struct err e;

	ck_assert_msg(snapsel_list(r, time(NULL), &list, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(list->nbad, 0);
	n = list->n;
	snapsel_free(list);
	repo_close(r);
	return (n);
}

static void
restore_ok(const struct manifest *m, const char *to)
{
	struct repo *r = open_repo();
	struct rst_stats st;
	struct rst_opts ro;
	struct err e;

	memset(&ro, 0, sizeof(ro));
	ck_assert_msg(rst_to_dir(r, m->tree, to, &ro, &st, &e) == 0, "%s",
	    e.msg);
	ck_assert_uint_eq(st.errors, 0);
	ck_assert_uint_eq(st.warnings, 0);
	repo_close(r);
}

START_TEST(test_restores_what_was_there)
{
	const char *paths[] = { src };
	struct snap_opts o;
	struct manifest m, saved;
	struct repo *r;
	struct err e;
	char *dst = tutil_path(base, "dst"), *got, *hl1, *hl2, *up;
	struct stat s1, s2, above;

	make_tree();
	opts(&o, paths, 1);
	snap_ok(&o, &m);
	ck_assert_uint_eq(m.files, 8); /* hl1 and hl2 are two names */
	ck_assert_uint_eq(m.dirs, 6);
	ck_assert_uint_eq(m.others, 2);
	ck_assert_uint_eq(m.bytes, 30 + BIG_LEN + 13 * 2 + 1 + 19 + 18);
	ck_assert_uint_eq(m.bytes_read, m.bytes);
	ck_assert_uint_eq(m.nskipped, 0);
	ck_assert_uint_eq(m.ninconsistent, 0);
	ck_assert_uint_eq(m.npaths, 1);
	ck_assert_str_eq(m.paths[0], src);
	ck_assert_uint_eq(strlen(m.id), REPO_HEX_LEN);
	/* Saved as returned. */
	r = open_repo();
	ck_assert_msg(manifest_load(r, m.id, &saved, &e) == 0, "%s", e.msg);
	ck_assert_mem_eq(saved.tree, m.tree, IDX_ID_LEN);
	ck_assert_uint_eq(saved.files, 8);
	manifest_clear(&saved);
	repo_close(r);
	ck_assert_int_eq(lstat(base, &above), 0);

	/* Restored under dst at its absolute path: the same, entry by entry. */
	restore_ok(&m, dst);
	got = xasprintf("%s%s", dst, src);
	same_tree(src, got);
	ck_assert_uint_eq(cmp_n, 16);
	hl1 = xasprintf("%s/etc/hl1", got);
	hl2 = xasprintf("%s/etc/hl2", got);
	ck_assert_int_eq(lstat(hl1, &s1), 0);
	ck_assert_int_eq(lstat(hl2, &s2), 0);
	ck_assert_uint_eq(s1.st_ino, s2.st_ino); /* still one file */
	/* The directories above src come with their own metadata. */
	up = xasprintf("%s%s", dst, base);
	same_meta(&above, up);
	free(up);
	free(hl1);
	free(hl2);
	free(got);
	free(dst);
	manifest_clear(&m);
}
END_TEST

/* Whether the snapshot of root holds path (0), or not (1). */
static int
holds(const uint8_t root[IDX_ID_LEN], const char *path, struct fs_node *n)
{
	struct repo *r = open_repo();
	struct tree_reader *tr = tree_reader_new(r);
	struct fs_node tmp;
	struct err e;
	int rc;

	rc = tree_find(tr, root, path, n != NULL ? n : &tmp, &e);
	ck_assert_msg(rc != -1, "%s", e.msg);
	if (n == NULL && rc == 0)
		fs_node_clear(&tmp);
	tree_reader_free(tr);
	repo_close(r);
	return (rc);
}

/* Entries directly in the directory path of root's snapshot. */
static size_t
entries(const uint8_t root[IDX_ID_LEN], const char *path)
{
	struct repo *r = open_repo();
	struct tree_reader *tr = tree_reader_new(r);
	struct tree_dir d;
	struct fs_node n;
	struct err e;
	size_t count;

	ck_assert_int_eq(tree_find(tr, root, path, &n, &e), 0);
	ck_assert_int_eq(tree_load_dir(tr, &n, &d, &e), 0);
	count = d.n;
	tree_dir_clear(&d);
	fs_node_clear(&n);
	tree_reader_free(tr);
	repo_close(r);
	return (count);
}

static void
snap_fails(const struct snap_opts *o, enum err_class class, const char *what)
{
	struct repo *r = open_repo();
	struct manifest m;
	struct err e;

	ck_assert_int_eq(snap_run(r, o, &m, &e), -1);
	ck_assert_int_eq(e.class, class);
	ck_assert_msg(strstr(e.msg, what) != NULL, "%s", e.msg);
	manifest_clear(&m);
	repo_close(r);
}

START_TEST(test_paths_checked_and_placed)
{
	const char *two[] = { "src/etc/ssh/", "./src/opt//app" };
	const char *overlap[] = { "src/etc", "src/etc/ssh" };
	const char *same[] = { "src/opt", "src/opt/." };
	const char *dots[] = { "src/etc/../opt" };
	const char *missing[] = { "src/nothere" };
	const char *excl[] = { "big", "*/etc/ssh", "*.ini" };
	const char *one[] = { src };
	struct snap_opts o;
	struct manifest m;
	char *p;

	make_tree();
	ck_assert_int_eq(chdir(base), 0);
	/* Relative paths, made absolute and clean. */
	opts(&o, two, 2);
	snap_ok(&o, &m);
	ck_assert_uint_eq(m.npaths, 2);
	p = xasprintf("%s/etc/ssh", src);
	ck_assert_str_eq(m.paths[0], p);
	ck_assert_int_eq(holds(m.tree, p, NULL), 0);
	free(p);
	p = xasprintf("%s/opt/app", src);
	ck_assert_str_eq(m.paths[1], p);
	ck_assert_int_eq(holds(m.tree, p, NULL), 0);
	free(p);
	p = xasprintf("%s/opt/app/conf/app.ini", src);
	ck_assert_int_eq(holds(m.tree, p, NULL), 0);
	free(p);
	/* Only what leads to them: etc holds ssh, not its files. */
	p = xasprintf("%s/etc", src);
	ck_assert_uint_eq(entries(m.tree, p), 1);
	free(p);
	ck_assert_uint_eq(entries(m.tree, src), 2);
	p = xasprintf("%s/etc/fstab", src);
	ck_assert_int_eq(holds(m.tree, p, NULL), 1);
	free(p);
	ck_assert_uint_eq(m.files, 2);
	ck_assert_uint_eq(m.dirs, 3);
	manifest_clear(&m);

	/* Excluded by name or by full path: not read, not stored. */
	opts(&o, one, 1);
	o.exclude = excl;
	o.nexclude = 3;
	snap_ok(&o, &m);
	ck_assert_uint_eq(m.bytes_read, m.bytes);
	ck_assert_uint_eq(m.bytes, 30 + 13 * 2 + 1);
	p = xasprintf("%s/etc/big", src);
	ck_assert_int_eq(holds(m.tree, p, NULL), 1);
	free(p);
	p = xasprintf("%s/etc/ssh", src);
	ck_assert_int_eq(holds(m.tree, p, NULL), 1);
	free(p);
	p = xasprintf("%s/opt/app/conf", src);
	ck_assert_uint_eq(entries(m.tree, p), 0);
	free(p);
	manifest_clear(&m);
	ck_assert_uint_eq(nsnapshots(), 2);

	/* Refused, each with why; nothing saved. */
	opts(&o, overlap, 2);
	snap_fails(&o, ERR_USAGE, "overlap");
	opts(&o, same, 2);
	snap_fails(&o, ERR_USAGE, "overlap");
	opts(&o, dots, 1);
	snap_fails(&o, ERR_USAGE, "'..'");
	opts(&o, missing, 1);
	snap_fails(&o, ERR_IO, "nothere");
	opts(&o, NULL, 0);
	snap_fails(&o, ERR_USAGE, "nothing to snapshot");
	ck_assert_uint_eq(nsnapshots(), 2);
}
END_TEST

START_TEST(test_files_cache_saves_reads_not_data)
{
	const char *paths[] = { src };
	struct snap_opts o;
	struct manifest m1, m2, m3, m4, m5, m6;
	struct fs_node n4, n5;
	struct log *lg = log_new("coffer", LOGL_WARN, LOG_SINK_STDERR);
	struct tutil_capture *cap;
	char *cache = tutil_path(base, "cache"), *dst, *got, *db, *out, *cmd;
	struct repo *r;

	make_tree();
	opts(&o, paths, 1);
	o.cache_dir = cache;
	o.log = lg;
	snap_ok(&o, &m1);
	ck_assert_uint_eq(m1.bytes_read, m1.bytes);
	/*
	 * Nothing changed: nothing read, the very same src tree (not the
	 * whole tree: the directories above src, such as the shared /tmp,
	 * may change meanwhile).
	 */
	snap_ok(&o, &m2);
	ck_assert_uint_eq(m2.bytes_read, 0);
	ck_assert_uint_eq(m2.bytes, m1.bytes);
	ck_assert_int_eq(holds(m1.tree, src, &n4), 0);
	ck_assert_int_eq(holds(m2.tree, src, &n5), 0);
	ck_assert_mem_eq(n4.subtree, n5.subtree, IDX_ID_LEN);
	fs_node_clear(&n4);
	fs_node_clear(&n5);
	/* Nothing new but the trees of the directories above src, if any. */
	{
		size_t above = 0;

		for (const char *c = src; *c != '\0'; c++)
			above += *c == '/';
		ck_assert_uint_le(m2.blobs_new, above);
	}
	/* One file changed (size and mtime kept: ctime tells): read again. */
	file("etc/fstab", "/dev/vda2 / ext4 defaults 0 1\n", 30, 0644);
	stamp("etc/fstab", T0 + 1, 1);
	snap_ok(&o, &m3);
	ck_assert_uint_eq(m3.bytes_read, 30);
	ck_assert(memcmp(m3.tree, m1.tree, IDX_ID_LEN) != 0);
	dst = tutil_path(base, "dst");
	restore_ok(&m3, dst);
	got = xasprintf("%s%s", dst, src);
	same_tree(src, got);
	free(got);
	tutil_rmtree(dst);

	/* The repository lost its data: cache hits are not trusted. */
	cmd = xasprintf("rm -rf '%s/data' '%s/index'", loc, loc);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	snap_ok(&o, &m4);
	/*
	 * All read again, hl2 too: its chunk, just stored anew for hl1, is
	 * not in the index until its pack is written, so its length cannot
	 * be checked yet.
	 */
	ck_assert_uint_eq(m4.bytes_read, m4.bytes);
	restore_ok(&m4, dst);
	got = xasprintf("%s%s", dst, src);
	same_tree(src, got);
	free(got);
	tutil_rmtree(dst);

	/*
	 * A damaged cache file: a warning, every file read, and the file
	 * replaced, so the run after reads nothing and warns of nothing.
	 */
	r = open_repo();
	db = xasprintf("%s/%s/files.db", cache, repo_id(r));
	repo_close(r);
	tutil_write_file(db, "this is no database, not at all: junk junk junk",
	    48, 0600);
	cap = tutil_capture_begin(2);
	snap_ok(&o, &m5);
	out = tutil_capture_end(cap);
	ck_assert_uint_eq(m5.bytes_read, m5.bytes);
	ck_assert_msg(strstr(out, "files cache") != NULL &&
	        strstr(out, "moved aside") != NULL &&
	        strstr(out, "reading every file") != NULL,
	    "%s", out);
	free(out);
	cap = tutil_capture_begin(2);
	snap_ok(&o, &m6);
	out = tutil_capture_end(cap);
	ck_assert_uint_eq(m6.bytes_read, 0);
	ck_assert_str_eq(out, "");
	manifest_clear(&m6);
	/* The same src (base, above it, changed with the restores). */
	ck_assert_int_eq(holds(m4.tree, src, &n4), 0);
	ck_assert_int_eq(holds(m5.tree, src, &n5), 0);
	ck_assert_mem_eq(n4.subtree, n5.subtree, IDX_ID_LEN);
	fs_node_clear(&n4);
	fs_node_clear(&n5);
	free(out);
	free(db);
	free(dst);
	free(cache);
	manifest_clear(&m1);
	manifest_clear(&m2);
	manifest_clear(&m3);
	manifest_clear(&m4);
	manifest_clear(&m5);
	log_free(lg);
}
END_TEST

/* Run SQL on the files cache of the test repository behind its back. */
static void
cache_sql(const char *cache, const char *stmt)
{
	struct repo *r = open_repo();
	char *db = xasprintf("%s/%s/files.db", cache, repo_id(r));
	sqlite3 *h;

	repo_close(r);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(h, stmt, NULL, NULL, NULL) == SQLITE_OK,
	    "%s", sqlite3_errmsg(h));
	ck_assert_int_eq(sqlite3_changes(h), 1);
	sqlite3_close(h);
	free(db);
}

START_TEST(test_files_cache_hit_must_add_up)
{
	const char *paths[] = { src };
	struct snap_opts o;
	struct manifest m1, m2;
	char *cache = tutil_path(base, "cache"), *dst, *got;

	make_tree();
	opts(&o, paths, 1);
	o.cache_dir = cache;
	snap_ok(&o, &m1);
	/*
	 * Damaged entries whose chunks are all stored but do not add up to
	 * the file's size: no chunks at all for a 30-byte file, and a 1-byte
	 * file given a 13-byte file's chunk.  Misses, never short files.
	 */
	cache_sql(cache,
	    "UPDATE files SET chunks = x'' WHERE "
	    "CAST(path AS TEXT) LIKE '%/etc/fstab'");
	cache_sql(cache,
	    "UPDATE files SET chunks = (SELECT chunks FROM files WHERE "
	    "CAST(path AS TEXT) LIKE '%/etc/hl1') WHERE "
	    "CAST(path AS TEXT) LIKE '%/etc/xattr'");
	snap_ok(&o, &m2);
	ck_assert_uint_eq(m2.bytes_read, 30 + 1);
	dst = tutil_path(base, "dst");
	restore_ok(&m2, dst);
	got = xasprintf("%s%s", dst, src);
	same_tree(src, got);
	free(got);
	free(dst);
	free(cache);
	manifest_clear(&m1);
	manifest_clear(&m2);
}
END_TEST

/* A stream of len pseudo-random bytes; sets *stop after stop_at bytes. */
struct stream {
	uint32_t seed;
	size_t len, off, stop_at;
	volatile sig_atomic_t *stop;
};

static uint8_t
stream_byte(uint32_t seed, size_t i)
{
	uint32_t x = (uint32_t)(i / 4) * 2654435761u ^ seed;

	x ^= x >> 15;
	x *= 2246822519u;
	x ^= x >> 13;
	return ((uint8_t)(x >> (8 * (i % 4))));
}

static ssize_t
stream_read(void *arg, void *buf, size_t len, struct err *e)
{
	struct stream *s = arg;
	uint8_t *p = buf;
	size_t n = len < 65536 ? len : 65536;

	(void)e;
	if (n > s->len - s->off)
		n = s->len - s->off;
	for (size_t i = 0; i < n; i++)
		p[i] = stream_byte(s->seed, s->off + i);
	s->off += n;
	if (s->stop != NULL && s->off >= s->stop_at)
		*s->stop = 1;
	return ((ssize_t)n);
}

START_TEST(test_streams_dirs_and_interrupt)
{
	volatile sig_atomic_t stop = 0;
	struct timespec mt = { T0 + 42, 424242 };
	struct stream st = { 9, 5u << 20, 0, 2u << 20, &stop };
	struct snap_opts o;
	struct manifest m;
	struct fs_node dump, db, top, got;
	struct snap *s;
	struct repo *r;
	struct err e;
	uint64_t chunks;

	opts(&o, NULL, 0);
	o.interrupted = &stop;
	/* Interrupted mid-stream: nothing saved, what was stored kept. */
	r = open_repo();
	ck_assert_int_eq(snap_begin(r, &o, &m, &s, &e), 0);
	ck_assert_int_eq(snap_add_stream(s, stream_read, &st, "dump", &mt,
	                     &dump, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	snap_keep(s);
	snap_end(s);
	manifest_clear(&m);
	repo_close(r);
	ck_assert_uint_eq(nsnapshots(), 0);

	/* Again, to the end: what was kept is not stored twice. */
	stop = 0;
	st.off = 0;
	st.stop = NULL;
	r = open_repo();
	ck_assert_int_eq(snap_begin(r, &o, &m, &s, &e), 0);
	ck_assert_msg(snap_add_stream(s, stream_read, &st, "dump", &mt, &dump,
	                  &e) == 0,
	    "%s", e.msg);
	ck_assert_uint_eq(dump.size, st.len);
	ck_assert_int_eq(dump.type, FS_FILE);
	ck_assert_uint_eq(dump.mode, 0600);
	ck_assert_uint_eq(dump.uid, geteuid());
	ck_assert_int_eq(dump.mtime.sec, mt.tv_sec);
	ck_assert_uint_eq(dump.mtime.nsec, (uint32_t)mt.tv_nsec);
	chunks = dump.nchunks;
	ck_assert_uint_gt(chunks, 2);
	ck_assert_int_eq(snap_add_dir(s, "gas", &dump, 1, NULL, &mt, &db, &e),
	    0);
	ck_assert_uint_eq(db.mode, 0700);
	ck_assert_int_eq(db.type, FS_DIR);
	/* A directory naming a tree already stored. */
	ck_assert_int_eq(snap_add_dir(s, "top", NULL, 0, db.subtree, &mt, &top,
	                     &e),
	    0);
	ck_assert_mem_eq(top.subtree, db.subtree, IDX_ID_LEN);
	fs_node_clear(&top);
	ck_assert_int_eq(snap_add_dir(s, "root", &db, 1, NULL, &mt, &top, &e),
	    0);
	ck_assert_msg(snap_commit(s, top.subtree, &e) == 0, "%s", e.msg);
	ck_assert_uint_lt(m.blobs_new, chunks + 2);
	ck_assert_uint_eq(m.bytes_read, st.len);
	snap_end(s);
	repo_close(r);
	ck_assert_uint_eq(nsnapshots(), 1);
	ck_assert_mem_eq(m.tree, top.subtree, IDX_ID_LEN);

	/* The stream reads back byte for byte. */
	ck_assert_int_eq(holds(m.tree, "/gas/dump", &got), 0);
	ck_assert_uint_eq(got.size, st.len);
	r = open_repo();
	ck_assert_uint_eq(got.nchunks, chunks);
	for (size_t i = 0, off = 0; i < got.nchunks; i++) {
		uint8_t *data;
		size_t len;

		ck_assert_msg(repo_blob_get(r, got.chunks[i], IDX_BLOB_DATA,
		                  &data, &len, &e) == 0,
		    "%s", e.msg);
		for (size_t k = 0; k < len; k++)
			if (data[k] != stream_byte(st.seed, off + k))
				ck_abort_msg("byte %zu differs", off + k);
		off += len;
		free(data);
		if (i + 1 == got.nchunks)
			ck_assert_uint_eq(off, st.len);
	}
	repo_close(r);
	fs_node_clear(&got);
	fs_node_clear(&top);
	fs_node_clear(&db);
	fs_node_clear(&dump);
	manifest_clear(&m);
}
END_TEST

Suite *snapshot_suite(void);

Suite *
snapshot_suite(void)
{
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, tutil_scratch_setup,
	    tutil_scratch_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_restores_what_was_there);
	tcase_add_test(tc, test_paths_checked_and_placed);
	tcase_add_test(tc, test_files_cache_saves_reads_not_data);
	tcase_add_test(tc, test_files_cache_hit_must_add_up);
	tcase_add_test(tc, test_streams_dirs_and_interrupt);
	suite_add_tcase(s, tc);
	return (s);
}
