/*
 * Walk + extract round trips on a tree holding every kind of entry and
 * metadata, to a directory and through a pax tar read back by GNU tar; the
 * walk's order and per-entry warnings; hostile paths refused with nothing
 * written outside the target.
 */
#include <sys/types.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fs/extract.h"
#include "fs/walk.h"

#define GIB          ((off_t)1 << 30)
#define SPARSE_SIZE  (2 * GIB)
#define LONG_LEVELS  19 /* ~3.9 KiB below the root: under PATH_MAX */
#define LONG_NAMELEN 200

struct rec {
	char *relpath;
	char *dir; /* parent's relpath */
	size_t depth;
	struct fs_node node;
	uint8_t *data; /* the data stream as the walk delivered it */
	size_t len;
	uint64_t *offsets; /* where each delivered block started */
	size_t *starts;    /* and where in the data stream */
	size_t nblocks;
	int warned;
};

struct recs {
	struct rec *v;
	size_t n;
};

static char base[64];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

static char *
at(const char *sub)
{
	static char buf[8][PATH_MAX];
	static int k;
	char *p = buf[k++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", base, sub);
	return (p);
}

static void
put(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
set_mtime(const char *path, time_t sec, long nsec, int flags)
{
	struct timespec t[2] = { { sec - 100, 5 }, { sec, nsec } };

	ck_assert_int_eq(utimensat(AT_FDCWD, path, t, flags), 0);
}

/* File flags (chattr): set, or read back. */
static void
set_flags(const char *path, int flags)
{
	int fd = open(path, O_RDONLY), cur = 0;

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(ioctl(fd, FS_IOC_GETFLAGS, &cur), 0);
	cur |= flags;
	ck_assert_int_eq(ioctl(fd, FS_IOC_SETFLAGS, &cur), 0);
	close(fd);
}

static int
get_flags(const char *path)
{
	int fd = open(path, O_RDONLY), cur = 0;

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(ioctl(fd, FS_IOC_GETFLAGS, &cur), 0);
	close(fd);
	return (cur);
}

static char long_name[LONG_NAMELEN + 1];

/* The chain of LONG_LEVELS directories, each named long_name. */
static char *
long_rel(int levels, const char *leaf)
{
	size_t cap = (size_t)levels * (LONG_NAMELEN + 1) + 64;
	char *p = malloc(cap);

	p[0] = '\0';
	strcat(p, "deep");
	for (int i = 0; i < levels; i++) {
		strcat(p, "/");
		strcat(p, long_name);
	}
	if (leaf != NULL) {
		strcat(p, "/");
		strcat(p, leaf);
	}
	return (p);
}

/* Open the parent of root/rel without following anything; *leaf set. */
static int
open_parent(const char *root, const char *rel, const char **leaf)
{
	char *copy = strdup(rel), *s = copy, *slash;
	int fd = open(root, O_PATH | O_DIRECTORY);

	ck_assert_int_ne(fd, -1);
	while ((slash = strchr(s, '/')) != NULL) {
		int next;

		*slash = '\0';
		next = openat(fd, s, O_PATH | O_DIRECTORY | O_NOFOLLOW);
		ck_assert_msg(next != -1, "open %s in %s: %s", s, root,
		    strerror(errno));
		close(fd);
		fd = next;
		s = slash + 1;
	}
	*leaf = rel + (s - copy);
	free(copy);
	return (fd);
}

static void
build_tree(const char *src)
{
	char *buf = malloc(3 << 20);
	unsigned seed = 7;
	int fd, dfd;
	char path[PATH_MAX];

	ck_assert_int_eq(mkdir(src, 0755), 0);
#define P(s) (snprintf(path, sizeof(path), "%s/%s", src, (s)), path)
	put(P("empty"), "", 0, 0644);
	put(P("small"), "hello, coffer\n", 14, 0640);
	for (size_t i = 0; i < (3u << 20); i++)
		buf[i] = (char)rand_r(&seed);
	put(P("big"), buf, 3 << 20, 0600);
	free(buf);

	/* 2 GiB with two small data regions. */
	fd = open(P("sparse"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(ftruncate(fd, SPARSE_SIZE), 0);
	ck_assert_int_eq(pwrite(fd, "first", 5, 1 << 20), 5);
	ck_assert_int_eq(pwrite(fd, "second", 6, SPARSE_SIZE - 100000), 6);
	close(fd);

	ck_assert_int_eq(mkdir(P("d1"), 0755), 0);
	ck_assert_int_eq(mkdir(P("d2"), 0750), 0);
	put(P("d1/hl_a"), "linked\n", 7, 0644);
	ck_assert_int_eq(link(P("d1/hl_a"), at("src/d2/hl_b")), 0);
	ck_assert_int_eq(symlink("../small", P("d1/rel")), 0);
	ck_assert_int_eq(symlink("/etc/passwd", P("d1/abs")), 0);
	ck_assert_int_eq(symlink("nowhere/at/all", P("d1/dangling")), 0);
	ck_assert_int_eq(lchown(P("d1/dangling"), 12345, 54321), 0);
	ck_assert_int_eq(mkfifo(P("fifo"), 0620), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(mknod(P("null"), S_IFCHR | 0600,
		                     makedev(1, 3)),
		    0);
	{
		struct sockaddr_un sa;
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		ck_assert_uint_lt(strlen(P("sock")), sizeof(sa.sun_path));
		memcpy(sa.sun_path, path, strlen(path));
		ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)),
		    0);
		close(s);
	}
	put(P("h\xc3\xa9llo-\xe4\xb8\x96\xe7\x95\x8c.txt"), "unicode", 7, 0644);
	put(P("nl\nbad\xff\xfe"), "odd name", 8, 0644);
	put(P("setuid"), "#!/bin/sh\n", 10, 04755);
	ck_assert_int_eq(mkdir(P("sticky"), 01777), 0);
	ck_assert_int_eq(chmod(P("sticky"), 01777), 0);
	put(P("owned"), "owned by nobody we know", 23, 0604);
	ck_assert_int_eq(chown(P("owned"), 12345, 54321), 0);
	put(P("xattr_f"), "x", 1, 0644);
	ck_assert_int_eq(setxattr(P("xattr_f"), "user.coffer", "v\0bin\xff", 6,
	                     0),
	    0);
	ck_assert_int_eq(setxattr(P("xattr_f"), "user.empty", "", 0, 0), 0);
	ck_assert_int_eq(mkdir(P("xattr_d"), 0755), 0);
	ck_assert_int_eq(setxattr(P("xattr_d"), "user.dir", "on a dir", 8, 0),
	    0);
	put(P("acl_f"), "acl", 3, 0640);
	sh("setfacl -m u:12345:rwx,g:54321:r-x '%s/acl_f'", src);
	ck_assert_int_eq(mkdir(P("acl_d"), 0750), 0);
	sh("setfacl -m u:12345:rwx -m d:u:12345:r-x -m d:g:54321:rwx "
	   "'%s/acl_d'",
	    src);
	put(P("nodump"), "flagged", 7, 0644);
	set_flags(P("nodump"), FS_NODUMP_FL);
	ck_assert_int_eq(mkdir(P("ro"), 0755), 0);
	put(P("ro/inside"), "inside a 0500 dir", 17, 0644);
	ck_assert_int_eq(chmod(P("ro"), 0500), 0);

	/* ~4 KiB paths: only the *at calls reach them from /tmp. */
	memset(long_name, 'L', LONG_NAMELEN);
	long_name[LONG_NAMELEN] = '\0';
	ck_assert_int_eq(mkdir(P("deep"), 0755), 0);
	dfd = open(P("deep"), O_PATH | O_DIRECTORY);
	for (int i = 0; i < LONG_LEVELS; i++) {
		int next;

		ck_assert_int_eq(mkdirat(dfd, long_name, 0755), 0);
		next = openat(dfd, long_name, O_PATH | O_DIRECTORY);
		ck_assert_int_ne(next, -1);
		close(dfd);
		dfd = next;
	}
	fd = openat(dfd, "leaf", O_WRONLY | O_CREAT, 0644);
	ck_assert_int_eq(write(fd, "deep down", 9), 9);
	close(fd);
	close(dfd);

	set_mtime(P("small"), 1600000000, 123456789, 0);
	set_mtime(P("d1/rel"), 1500000000, 987654321, AT_SYMLINK_NOFOLLOW);
	set_mtime(P("fifo"), 1400000000, 1, 0);
	/* Directories last: their children are in place. */
	set_mtime(P("d1"), 1300000000, 111111111, 0);
	set_mtime(P("d2"), 1300000001, 222222222, 0);
	set_mtime(P("ro"), 1300000002, 333333333, 0);
	set_mtime(P("sticky"), 1300000003, 444444444, 0);
	set_mtime(P("acl_d"), 1300000004, 555555555, 0);
#undef P
}

static void
rec_add(struct recs *r, const struct fs_walk_ent *ent)
{
	struct rec *x;
	const char *slash;

	r->v = realloc(r->v, (r->n + 1) * sizeof(*r->v));
	x = &r->v[r->n++];
	memset(x, 0, sizeof(*x));
	x->relpath = strdup(ent->relpath);
	slash = strrchr(ent->relpath, '/');
	x->dir = slash == NULL
	    ? strdup("")
	    : strndup(ent->relpath, (size_t)(slash - ent->relpath));
	x->depth = ent->depth;
	x->warned = ent->warning != NULL;
}

static void
recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].relpath);
		free(r->v[i].dir);
		fs_node_clear(&r->v[i].node);
		free(r->v[i].data);
		free(r->v[i].offsets);
		free(r->v[i].starts);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static struct rec *
find(struct recs *r, const char *relpath)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].relpath, relpath) == 0)
			return (&r->v[i]);
	ck_abort_msg("no entry %s", relpath);
	return (NULL);
}

/* Walk root, keeping every node and file data in memory (tests only). */
static void
walk_all(const char *root, const struct fs_walk_opts *o, struct recs *r)
{
	const char *roots[] = { root };
	struct fs_walk *w;
	struct fs_walk_ent ent;
	struct err e;
	uint8_t buf[65536];
	int rc;

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(fs_walk_open(roots, 1, o, &w, &e), 0);
	while ((rc = fs_walk_next(w, &ent, &e)) != FS_WALK_END) {
		struct rec *x;
		uint64_t off;
		ssize_t n;

		ck_assert_msg(rc == FS_WALK_ENTRY, "walk: %s", e.msg);
		rec_add(r, &ent);
		x = &r->v[r->n - 1];
		while ((n = fs_walk_read(w, buf, sizeof(buf), &off, &e)) > 0) {
			x->data = realloc(x->data, x->len + (size_t)n);
			memcpy(x->data + x->len, buf, (size_t)n);
			x->offsets = realloc(x->offsets,
			    (x->nblocks + 1) * sizeof(*x->offsets));
			x->starts = realloc(x->starts,
			    (x->nblocks + 1) * sizeof(*x->starts));
			x->starts[x->nblocks] = x->len;
			x->offsets[x->nblocks++] = off;
			x->len += (size_t)n;
		}
		ck_assert_int_eq(n, 0);
		fs_node_move(&x->node, ent.node);
	}
	fs_walk_close(w);
}

static int
by_depth(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->depth != y->depth)
		return (x->depth < y->depth ? -1 : 1);
	return (strcmp(x->relpath, y->relpath));
}

/* Replay the walk into x, parents first as a restore from trees would. */
static void
replay(struct recs *r, struct fs_extract *x, int *socket_warned)
{
	struct rec *sorted = malloc(r->n * sizeof(*sorted));
	struct err e;

	memcpy(sorted, r->v, r->n * sizeof(*sorted));
	qsort(sorted, r->n, sizeof(*sorted), by_depth);
	for (size_t i = 0; i < r->n; i++) {
		struct rec *c = &sorted[i];
		int want, rc;
		size_t pos = 0;

		if (c->depth == 0)
			continue; /* the root: the target stands for it */
		want = fs_extract_begin(x, c->dir, &c->node, &e);
		ck_assert_msg(want != -1, "begin %.100s: %.300s", c->relpath,
		    e.msg);
		/* The second name of a hard link takes no data. */
		ck_assert_msg(want == (c->len > 0) ||
		        (want == 0 && c->node.nlink > 1),
		    "%s: want %d", c->relpath, want);
		while (want && pos < c->len) {
			uint64_t off, run;
			size_t k;

			ck_assert_int_eq(fs_node_data_offset(&c->node, pos,
			                     &off, &run),
			    0);
			k = c->len - pos;
			if (k > run)
				k = (size_t)run;
			if (k > 100000)
				k = 100000; /* chunk-sized pieces */
			ck_assert_msg(fs_extract_write(x, c->data + pos, k, off,
			                  &e) == 0,
			    "write %.100s: %.300s", c->relpath, e.msg);
			pos += k;
		}
		rc = fs_extract_end(x, &e);
		if (c->node.type == FS_SOCK) {
			ck_assert_int_eq(rc, FS_EXTRACT_WARN);
			ck_assert(strstr(e.msg, "socket") != NULL);
			*socket_warned = 1;
		} else {
			ck_assert_msg(rc == 0, "end %.100s: %d %.300s",
			    c->relpath, rc, e.msg);
		}
	}
	free(sorted);
}

static int
cmp_strp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static char *
xattrs_of(int pfd, const char *leaf)
{
	char proc[64], list[4096], *out = calloc(1, 8192);
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/", pfd);
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s%s", proc, leaf);
		n = llistxattr(path, list, sizeof(list));
		if (n <= 0)
			return (out);
		/* Sorted names and values, as text, to compare. */
		char *names[64];
		size_t nn = 0;

		for (char *p = list; p < list + n && nn < 64;
		     p += strlen(p) + 1)
			names[nn++] = p;
		qsort(names, nn, sizeof(names[0]), cmp_strp);
		for (size_t j = 0; j < nn; j++) {
			char val[1024], *p = names[j];
			ssize_t k = lgetxattr(path, p, val, sizeof(val));

			ck_assert(k >= 0);
			strcat(out, p);
			strcat(out, "=");
			for (ssize_t i = 0; i < k; i++) {
				char hex[4];

				snprintf(hex, sizeof(hex), "%02x",
				    (unsigned char)val[i]);
				strcat(out, hex);
			}
			strcat(out, ";");
		}
	}
	return (out);
}

static char *
slurp_fd(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *p = malloc(cap);
	ssize_t k;

	while ((k = read(fd, p + n, cap - n)) > 0) {
		n += (size_t)k;
		if (n == cap)
			p = realloc(p, cap *= 2);
	}
	*len = n;
	return (p);
}

static char *
run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	size_t len;
	char *out;

	ck_assert_ptr_nonnull(f);
	out = slurp_fd(fileno(f), &len);
	out[len] = '\0';
	pclose(f);
	return (out);
}

/* Compare the restored entry with the source and the recorded node. */
static void
compare(const char *src, const char *dst, const struct rec *c, int full)
{
	const char *leaf;
	int sp = open_parent(src, c->relpath, &leaf);
	int dp = open_parent(dst, c->relpath, &leaf);
	struct stat a, b;

	ck_assert_int_eq(fstatat(sp, leaf, &a, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_msg(fstatat(dp, leaf, &b, AT_SYMLINK_NOFOLLOW) == 0,
	    "%s not restored", c->relpath);
	ck_assert_msg((a.st_mode & S_IFMT) == (b.st_mode & S_IFMT), "%s: type",
	    c->relpath);
	if (!S_ISLNK(a.st_mode))
		ck_assert_msg((a.st_mode & 07777) == (b.st_mode & 07777),
		    "%s: mode %o != %o", c->relpath, a.st_mode & 07777,
		    b.st_mode & 07777);
	if (S_ISREG(a.st_mode)) {
		/* O_NOATIME: reading must not move the atimes we compare. */
		int fd = openat(dp, leaf, O_RDONLY | O_NOATIME);

		ck_assert_int_eq((long long)a.st_size, (long long)b.st_size);
		if (c->node.nsparse == 0) {
			size_t len;
			char *got = slurp_fd(fd, &len);

			ck_assert_uint_eq(len, c->len);
			if (len > 0)
				ck_assert_msg(memcmp(got, c->data, len) == 0,
				    "%s: content", c->relpath);
			free(got);
		} else {
			size_t pos = 0;

			for (size_t i = 0; i < c->node.nsparse; i++) {
				const struct fs_extent *x = &c->node.sparse[i];
				char *got = malloc(x->length + 1);

				ck_assert_int_eq(pread(fd, got, x->length,
				                     (off_t)x->offset),
				    (ssize_t)x->length);
				ck_assert(
				    memcmp(got, c->data + pos, x->length) == 0);
				pos += x->length;
				free(got);
			}
			ck_assert_msg((long long)b.st_blocks * 512 < (1 << 20),
			    "%s: holes materialised (%lld blocks)", c->relpath,
			    (long long)b.st_blocks);
		}
		close(fd);
	}
	if (S_ISLNK(a.st_mode)) {
		char x[PATH_MAX], y[PATH_MAX];
		ssize_t n = readlinkat(sp, leaf, x, sizeof(x));
		ssize_t m = readlinkat(dp, leaf, y, sizeof(y));

		ck_assert_int_eq(n, m);
		ck_assert(memcmp(x, y, (size_t)n) == 0);
	}
	if (S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode))
		ck_assert(a.st_rdev == b.st_rdev);
	if (full) {
		char *xa = xattrs_of(sp, leaf), *xb = xattrs_of(dp, leaf);

		ck_assert_uint_eq(a.st_uid, b.st_uid);
		ck_assert_uint_eq(a.st_gid, b.st_gid);
		ck_assert_msg(a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
		        a.st_mtim.tv_nsec == b.st_mtim.tv_nsec,
		    "%s: mtime %ld.%09ld != %ld.%09ld", c->relpath,
		    (long)a.st_mtim.tv_sec, a.st_mtim.tv_nsec,
		    (long)b.st_mtim.tv_sec, b.st_mtim.tv_nsec);
		ck_assert_str_eq(xa, xb);
		if (!S_ISDIR(a.st_mode) && !S_ISLNK(a.st_mode))
			ck_assert_msg((int64_t)b.st_atim.tv_sec ==
			            c->node.atime.sec &&
			        (uint32_t)b.st_atim.tv_nsec ==
			            c->node.atime.nsec,
			    "%s: atime", c->relpath);
		free(xa);
		free(xb);
	}
	close(sp);
	close(dp);
}

static void
check_order(const struct recs *r)
{
	/*
	 * Post-order: everything below a directory comes before it, and
	 * entries of one directory come in name order.
	 */
	for (size_t i = 0; i < r->n; i++) {
		const struct rec *c = &r->v[i];

		for (size_t j = i + 1; j < r->n; j++) {
			const struct rec *d = &r->v[j];
			size_t n = strlen(c->relpath);

			ck_assert_msg(!(d->depth > c->depth &&
			                  (c->depth == 0 ||
			                      (strncmp(d->relpath, c->relpath,
			                           n) == 0 &&
			                          d->relpath[n] == '/'))),
			    "%s comes after its directory %s", d->relpath,
			    c->relpath);
			if (strcmp(c->dir, d->dir) == 0 && c->depth == d->depth)
				ck_assert_msg(strcmp(c->relpath, d->relpath) <
				        0,
				    "%s before %s", c->relpath, d->relpath);
		}
	}
	ck_assert_uint_eq(r->v[r->n - 1].depth, 0);
}

static void
make_base(void)
{
	snprintf(base, sizeof(base), "/tmp/coffer-fs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
}

static void
remove_base(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s'; rm -rf '%s'", base,
	    base);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_round_trip_to_directory)
{
	char src[256], dst[256];
	struct recs r;
	struct fs_extract *x;
	struct err e;
	struct stat a, b;
	int socket_warned = 0;
	struct rec *c;
	char *acl_src, *acl_dst, *lr;

	make_base();
	/* at() reuses its buffers: keep copies. */
	snprintf(src, sizeof(src), "%s", at("src"));
	snprintf(dst, sizeof(dst), "%s", at("dst"));
	build_tree(src);
	walk_all(src, NULL, &r);
	check_order(&r);

	/* What the walk recorded. */
	c = find(&r, "sparse");
	ck_assert_uint_eq(c->node.size, (uint64_t)SPARSE_SIZE);
	ck_assert_uint_eq(c->node.nsparse, 2);
	ck_assert_uint_lt(c->len, 1 << 20); /* holes were not read */
	ck_assert_uint_eq(c->len, fs_node_data_len(&c->node));
	for (size_t i = 0; i < c->nblocks; i++) {
		uint64_t off, run;

		ck_assert_int_eq(fs_node_data_offset(&c->node, c->starts[i],
		                     &off, &run),
		    0);
		ck_assert_uint_eq(off, c->offsets[i]);
	}
	ck_assert_uint_eq(c->node.sparse[0].offset, 1 << 20);
	c = find(&r, "small");
	ck_assert_uint_eq(c->node.mtime.nsec, 123456789);
	ck_assert_uint_eq(c->node.flags & FS_NODE_INCONSISTENT, 0);
	c = find(&r, "acl_f");
	ck_assert_ptr_nonnull(c->node.acl_access);
	ck_assert(strstr(c->node.acl_access, "12345") != NULL);
	c = find(&r, "acl_d");
	ck_assert_ptr_nonnull(c->node.acl_default);
	c = find(&r, "xattr_f");
	ck_assert_uint_eq(c->node.nxattrs, 2);
	c = find(&r, "d1/hl_a");
	ck_assert_uint_eq(c->node.nlink, 2);
	ck_assert_uint_eq(c->node.ino, find(&r, "d2/hl_b")->node.ino);
	c = find(&r, "d1/dangling");
	ck_assert_str_eq(c->node.symlink, "nowhere/at/all");
	ck_assert_uint_eq(c->node.uid, 12345);
	c = find(&r, "owned");
	ck_assert_uint_eq(c->node.gid, 54321);
	ck_assert_ptr_null(c->node.user);
	ck_assert_str_eq(find(&r, "small")->node.user, "root");
	ck_assert_str_eq(find(&r, "nodump")->node.fflags, "nodump");
	ck_assert_ptr_null(find(&r, "small")->node.fflags);
	c = find(&r, "setuid");
	ck_assert_uint_eq(c->node.mode, 04755);
	ck_assert_str_eq(r.v[r.n - 1].node.name, strrchr(src, '/') + 1);
	lr = long_rel(LONG_LEVELS, "leaf");
	ck_assert_uint_gt(strlen(lr), 3800);
	ck_assert_uint_eq(find(&r, lr)->len, 9);
	for (size_t i = 0; i < r.n; i++)
		ck_assert_msg(!r.v[i].warned, "%s warned", r.v[i].relpath);

	/* Restore and compare everything. */
	ck_assert_int_eq(fs_extract_open(dst, 0, &x, &e), 0);
	replay(&r, x, &socket_warned);
	ck_assert_int_eq(fs_extract_close(x, &e), 0);
	ck_assert(socket_warned);
	for (size_t i = 0; i < r.n; i++)
		if (r.v[i].depth > 0 && r.v[i].node.type != FS_SOCK)
			compare(src, dst, &r.v[i], 1);
	ck_assert_int_eq(lstat(at("dst/sock"), &a), -1);

	ck_assert(get_flags(at("dst/nodump")) & FS_NODUMP_FL);
	ck_assert(!(get_flags(at("dst/small")) & FS_NODUMP_FL));
	/* Hard link identity. */
	ck_assert_int_eq(stat(at("dst/d1/hl_a"), &a), 0);
	ck_assert_int_eq(stat(at("dst/d2/hl_b"), &b), 0);
	ck_assert(a.st_ino == b.st_ino);
	ck_assert_uint_eq(a.st_nlink, 2);
	/* Directory metadata survived the writes into it. */
	ck_assert_int_eq(stat(at("dst/ro"), &a), 0);
	ck_assert_uint_eq(a.st_mode & 07777, 0500);
	ck_assert_int_eq(stat(at("dst/ro/inside"), &a), 0);
	/* ACLs as getfacl sees them, relative paths. */
	{
		char cmd[PATH_MAX];

		snprintf(cmd, sizeof(cmd),
		    "cd '%s' && getfacl -P -n --absolute-names acl_f acl_d "
		    "small d1 2>&1",
		    src);
		acl_src = run(cmd);
		snprintf(cmd, sizeof(cmd),
		    "cd '%s' && getfacl -P -n --absolute-names acl_f acl_d "
		    "small d1 2>&1",
		    dst);
		acl_dst = run(cmd);
	}
	ck_assert(strstr(acl_src, "user:12345:rwx") != NULL);
	ck_assert(strstr(acl_src, "default:group:54321:rwx") != NULL);
	ck_assert_str_eq(acl_src, acl_dst);
	free(acl_src);
	free(acl_dst);
	free(lr);
	recs_free(&r);
	remove_base();
}
END_TEST

START_TEST(test_round_trip_through_tar)
{
	char src[256];
	char cmd[PATH_MAX];
	struct recs r;
	struct fs_extract *x;
	struct err e;
	int fd, socket_warned = 0;
	char *out;

	make_base();
	snprintf(src, sizeof(src), "%s", at("src"));
	build_tree(src);
	walk_all(src, NULL, &r);
	fd = open(at("out.tar"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(fs_tar_open(fd, 0, &x, &e), 0);
	replay(&r, x, &socket_warned);
	ck_assert_int_eq(fs_extract_close(x, &e), 0);
	close(fd);
	{
		struct stat st;

		/* The 2 GiB file is stored as its two small regions. */
		ck_assert_int_eq(stat(at("out.tar"), &st), 0);
		ck_assert_int_lt(st.st_size, 16 << 20);
	}
	ck_assert_int_eq(mkdir(at("untar"), 0700), 0);
	snprintf(cmd, sizeof(cmd),
	    "tar --xattrs --xattrs-include='*' --acls --numeric-owner -xpf "
	    "'%s' -C '%s' 2>&1 | grep -v 'Ignoring unknown extended header "
	    "keyword'",
	    at("out.tar"), at("untar"));
	out = run(cmd);
	ck_assert_msg(out[0] == '\0', "tar said: %s", out);
	free(out);
	for (size_t i = 0; i < r.n; i++)
		if (r.v[i].depth > 0 && r.v[i].node.type != FS_SOCK)
			compare(src, at("untar"), &r.v[i], 0);
	{
		struct stat a, b;
		char v[16];

		ck_assert_int_eq(stat(at("untar/d1/hl_a"), &a), 0);
		ck_assert_int_eq(stat(at("untar/d2/hl_b"), &b), 0);
		ck_assert(a.st_ino == b.st_ino);
		ck_assert_int_eq(stat(at("untar/owned"), &a), 0);
		ck_assert_uint_eq(a.st_uid, 12345);
		ck_assert_int_eq(getxattr(at("untar/xattr_f"), "user.coffer", v,
		                     sizeof(v)),
		    6);
		ck_assert(memcmp(v, "v\0bin\xff", 6) == 0);
	}
	snprintf(cmd, sizeof(cmd),
	    "cd '%s' && getfacl -P -n --absolute-names acl_f acl_d 2>&1", src);
	out = run(cmd);
	{
		char *got;

		snprintf(cmd, sizeof(cmd),
		    "cd '%s' && getfacl -P -n --absolute-names acl_f acl_d "
		    "2>&1",
		    at("untar"));
		got = run(cmd);
		ck_assert_str_eq(out, got);
		free(got);
	}
	free(out);
	recs_free(&r);
	remove_base();
}
END_TEST

START_TEST(test_hostile_paths_refused)
{
	struct fs_extract *x;
	struct fs_node n;
	struct err e;
	char sentinel[PATH_MAX], *ls;
	int fd;

	make_base();
	snprintf(sentinel, sizeof(sentinel), "%s", at("sentinel"));
	ck_assert_int_eq(mkdir(sentinel, 0755), 0);
	put(at("sentinel/victim"), "untouched", 9, 0644);
	ck_assert_int_eq(mkdir(at("dst"), 0755), 0);
	ck_assert_int_eq(mkdir(at("dst/real"), 0755), 0);
	ck_assert_int_eq(symlink(sentinel, at("dst/pre")), 0);
	ck_assert_int_eq(symlink(at("sentinel/victim"), at("dst/victim")), 0);

	/* A non-empty target needs --overwrite. */
	ck_assert_int_eq(fs_extract_open(at("dst"), 0, &x, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert(strstr(e.msg, "--overwrite") != NULL);
	ck_assert(strchr(e.msg, '\n') == NULL);
	ck_assert_int_eq(fs_extract_open(at("dst"), FS_EXTRACT_OVERWRITE, &x,
	                     &e),
	    0);

	memset(&n, 0, sizeof(n));
	n.type = FS_FILE;
	n.mode = 0644;
	n.size = 5;
	n.nlink = 1;
	n.name = "..";
	ck_assert_int_eq(fs_extract_begin(x, "", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	n.name = "a/b";
	ck_assert_int_eq(fs_extract_begin(x, "real", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	n.name = ".";
	ck_assert_int_eq(fs_extract_begin(x, NULL, &n, &e), -1);
	n.name = "pwned";
	ck_assert_int_eq(fs_extract_begin(x, sentinel, &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(fs_extract_begin(x, "real/../..", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(fs_extract_begin(x, "..", &n, &e), -1);
	ck_assert_int_eq(fs_extract_begin(x, "real//x", &n, &e), -1);
	ck_assert_int_eq(fs_extract_begin(x, "real/", &n, &e), -1);
	/* Through a symlink already in the target, or one we restore. */
	ck_assert_int_eq(fs_extract_begin(x, "pre", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(fs_extract_begin(x, "pre/sub", &n, &e), -1);
	{
		struct fs_node l;

		memset(&l, 0, sizeof(l));
		l.name = "evil";
		l.type = FS_SYMLINK;
		l.symlink = "../sentinel";
		l.mode = 0777;
		ck_assert_int_eq(fs_extract_begin(x, "real", &l, &e), 0);
		ck_assert_int_eq(fs_extract_end(x, &e), 0);
	}
	ck_assert_int_eq(fs_extract_begin(x, "real/evil", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	/* A file over an existing symlink replaces it, never follows it. */
	n.name = "victim";
	ck_assert_int_eq(fs_extract_begin(x, "", &n, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "owned", 5, 0, &e), 0);
	ck_assert_int_eq(fs_extract_write(x, "x", 1, 5, &e), -1);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);

	/*
	 * Hard links: the first name of an inode gets the data, later ones
	 * link to it; an inode whose first name was not restored in this run
	 * (here: never seen) gets its data.
	 */
	n.nlink = 2;
	n.dev = 9;
	n.ino = 77;
	n.name = "first";
	ck_assert_int_eq(fs_extract_begin(x, "real", &n, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "12345", 5, 0, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	n.name = "second";
	ck_assert_int_eq(fs_extract_begin(x, "", &n, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	n.ino = 78;
	n.name = "other";
	ck_assert_int_eq(fs_extract_begin(x, "", &n, &e), 1);
	ck_assert_int_eq(fs_extract_write(x, "abcde", 5, 0, &e), 0);
	ck_assert_int_eq(fs_extract_end(x, &e), 0);
	ck_assert_int_eq(fs_extract_close(x, &e), 0);
	{
		struct stat s1, s2, s3;

		ck_assert_int_eq(stat(at("dst/real/first"), &s1), 0);
		ck_assert_int_eq(stat(at("dst/second"), &s2), 0);
		ck_assert_int_eq(stat(at("dst/other"), &s3), 0);
		ck_assert(s1.st_ino == s2.st_ino);
		ck_assert(s1.st_ino != s3.st_ino);
		ck_assert_int_eq(s3.st_size, 5);
	}

	/* Nothing outside the target changed. */
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "ls -A '%s'", sentinel);
		ls = run(cmd);
		ck_assert_str_eq(ls, "victim\n");
		free(ls);
	}
	fd = open(at("sentinel/victim"), O_RDONLY);
	{
		char buf[16];

		ck_assert_int_eq(read(fd, buf, sizeof(buf)), 9);
		ck_assert(memcmp(buf, "untouched", 9) == 0);
	}
	close(fd);
	{
		struct stat st;

		ck_assert_int_eq(lstat(at("dst/victim"), &st), 0);
		ck_assert(S_ISREG(st.st_mode));
		ck_assert_int_eq(st.st_size, 5);
	}
	remove_base();
}
END_TEST

START_TEST(test_walk_warnings_excludes_changes)
{
	const char *roots[2];
	struct fs_walk_opts o;
	const char *pats[] = { "*.log", "*/skipdir" };
	struct fs_walk *w;
	struct fs_walk_ent ent;
	struct err e;
	char buf[65536], *big;
	int rc, skipped = 0, seen_keep = 0, changed = 0, nroots0 = 0;
	uint64_t off;

	make_base();
	ck_assert_int_eq(mkdir(at("t"), 0755), 0);
	ck_assert_int_eq(mkdir(at("t/v"), 0755), 0);
	put(at("t/v/a"), "a", 1, 0644);
	put(at("t/v/b"), "b", 1, 0644);
	put(at("t/x.log"), "log", 3, 0644);
	put(at("t/keep"), "keep", 4, 0644);
	ck_assert_int_eq(mkdir(at("t/skipdir"), 0755), 0);
	put(at("t/skipdir/inner"), "no", 2, 0644);
	big = calloc(1, 300000);
	put(at("t/grow"), big, 300000, 0644);
	free(big);
	put(at("single"), "one file as a root", 18, 0644);

	memset(&o, 0, sizeof(o));
	o.exclude = pats;
	o.nexclude = 2;
	roots[0] = at("t/");
	roots[1] = at("single");
	ck_assert_int_eq(fs_walk_open(roots, 2, &o, &w, &e), 0);
	while ((rc = fs_walk_next(w, &ent, &e)) != FS_WALK_END) {
		if (rc == FS_WALK_SKIP) {
			ck_assert_int_eq(e.sys_errno, ENOENT);
			ck_assert_str_eq(ent.path, at("t/v/b"));
			skipped++;
			continue;
		}
		ck_assert_int_eq(rc, FS_WALK_ENTRY);
		ck_assert(strstr(ent.path, ".log") == NULL);
		ck_assert(strstr(ent.path, "skipdir") == NULL);
		if (strcmp(ent.relpath, "v/a") == 0)
			ck_assert_int_eq(unlink(at("t/v/b")), 0);
		if (strcmp(ent.relpath, "keep") == 0)
			seen_keep = 1;
		if (ent.depth == 0) {
			nroots0++;
			ck_assert_str_eq(ent.relpath, "");
			ck_assert_str_eq(ent.node->name,
			    ent.root == 0 ? "t" : "single");
		}
		if (strcmp(ent.relpath, "grow") == 0) {
			ssize_t n = fs_walk_read(w, buf, sizeof(buf), &off, &e);
			int fd = open(at("t/grow"), O_WRONLY | O_APPEND);

			ck_assert_int_eq(n, (ssize_t)sizeof(buf));
			ck_assert_int_eq(write(fd, "more", 4), 4);
			close(fd);
			while ((n = fs_walk_read(w, buf, sizeof(buf), &off,
			            &e)) > 0)
				;
			ck_assert_int_eq(n, 0);
			changed = (ent.node->flags & FS_NODE_INCONSISTENT) != 0;
		}
	}
	fs_walk_close(w);
	ck_assert_int_eq(skipped, 1);
	ck_assert(seen_keep);
	ck_assert(changed);
	ck_assert_int_eq(nroots0, 2);

	/* A root that does not exist is an error at open. */
	roots[0] = at("missing");
	ck_assert_int_eq(fs_walk_open(roots, 1, NULL, &w, &e), -1);
	ck_assert_int_eq(e.class, ERR_IO);
	remove_base();
}
END_TEST

START_TEST(test_paths_past_path_max)
{
	char root[256];
	struct recs r;
	struct fs_extract *x;
	struct err e;
	char *lr, *ls;
	size_t refused = 0, restored = 0;
	int dfd, fd;

	make_base();
	snprintf(root, sizeof(root), "%s", at("src"));
	ck_assert_int_eq(mkdir(root, 0755), 0);
	ck_assert_int_eq(mkdir(at("src/deep"), 0755), 0);
	memset(long_name, 'L', LONG_NAMELEN);
	dfd = open(at("src/deep"), O_PATH | O_DIRECTORY);
	for (int i = 0; i < 22; i++) {
		int next;

		ck_assert_int_eq(mkdirat(dfd, long_name, 0755), 0);
		next = openat(dfd, long_name, O_PATH | O_DIRECTORY);
		close(dfd);
		dfd = next;
	}
	fd = openat(dfd, "leaf", O_WRONLY | O_CREAT, 0644);
	ck_assert_int_eq(write(fd, "deeper", 6), 6);
	close(fd);
	close(dfd);

	/* The walk reaches any depth (its paths go through descriptors). */
	walk_all(root, NULL, &r);
	lr = long_rel(22, "leaf");
	ck_assert_uint_gt(strlen(lr), PATH_MAX);
	ck_assert_uint_eq(find(&r, lr)->len, 6);
	ck_assert(memcmp(find(&r, lr)->data, "deeper", 6) == 0);

	/* Extraction refuses what libarchive cannot restore safely. */
	ck_assert_int_eq(fs_extract_open(at("dst"), 0, &x, &e), 0);
	qsort(r.v, r.n, sizeof(*r.v), by_depth);
	for (size_t i = 0; i < r.n; i++) {
		struct rec *c = &r.v[i];
		int want;

		if (c->depth == 0)
			continue;
		want = fs_extract_begin(x, c->dir, &c->node, &e);
		if (strlen(c->relpath) >= PATH_MAX) {
			ck_assert_int_eq(want, -1);
			ck_assert_int_eq(e.class, ERR_IO);
			ck_assert(strstr(e.msg, "too long") != NULL);
			refused++;
			continue;
		}
		ck_assert_int_eq(want, 0);
		ck_assert_int_eq(fs_extract_end(x, &e), 0);
		restored++;
	}
	ck_assert_int_eq(fs_extract_close(x, &e), 0);
	ck_assert_uint_gt(refused, 0);
	ck_assert_uint_gt(restored, 0);
	{
		char cmd[PATH_MAX];

		snprintf(cmd, sizeof(cmd), "ls -A '%s'", at("dst"));
		ls = run(cmd);
		ck_assert_str_eq(ls, "deep\n");
		free(ls);
	}
	free(lr);
	recs_free(&r);
	remove_base();
}
END_TEST

/* Walk /dev; how many entries lie below shm/ and whether mine is seen. */
static int
walk_dev(int one_fs, const char *mine, int *saw_shm, int *saw_mine)
{
	const char *roots[] = { "/dev" };
	struct fs_walk_opts o;
	struct fs_walk *w;
	struct fs_walk_ent ent;
	struct err e;
	int rc, below = 0;

	memset(&o, 0, sizeof(o));
	o.one_file_system = one_fs;
	*saw_shm = *saw_mine = 0;
	ck_assert_int_eq(fs_walk_open(roots, 1, &o, &w, &e), 0);
	while ((rc = fs_walk_next(w, &ent, &e)) != FS_WALK_END) {
		if (rc != FS_WALK_ENTRY)
			continue;
		if (strcmp(ent.relpath, "shm") == 0) {
			*saw_shm = 1;
			ck_assert_int_eq(ent.node->type, FS_DIR);
		}
		if (strncmp(ent.relpath, "shm/", 4) == 0)
			below++;
		if (strcmp(ent.relpath, mine) == 0)
			*saw_mine = 1;
	}
	fs_walk_close(w);
	return (below);
}

START_TEST(test_one_file_system)
{
	struct stat a, b;
	char mine[64], path[80];
	int saw_shm, saw_mine, fd;

	/* /dev/shm is a tmpfs mount on /dev where there is one. */
	if (stat("/dev", &a) == -1 || stat("/dev/shm", &b) == -1 ||
	    a.st_dev == b.st_dev)
		return;
	snprintf(mine, sizeof(mine), "shm/coffer-ofs-%ld", (long)getpid());
	snprintf(path, sizeof(path), "/dev/%s", mine);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return;
	close(fd);
	ck_assert_int_gt(walk_dev(0, mine, &saw_shm, &saw_mine), 0);
	ck_assert(saw_shm && saw_mine);
	ck_assert_int_eq(walk_dev(1, mine, &saw_shm, &saw_mine), 0);
	ck_assert(saw_shm && !saw_mine);
	unlink(path);
}
END_TEST

Suite *walk_suite(void);

Suite *
walk_suite(void)
{
	Suite *s = suite_create("fs_walk");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_round_trip_to_directory);
	tcase_add_test(tc, test_round_trip_through_tar);
	tcase_add_test(tc, test_hostile_paths_refused);
	tcase_add_test(tc, test_walk_warnings_excludes_changes);
	tcase_add_test(tc, test_paths_past_path_max);
	tcase_add_test(tc, test_one_file_system);
	suite_add_tcase(s, tc);
	return (s);
}
