/*
 * The restore engine on a repository built here through the library (a
 * machine key, chunks and trees put by hand, a manifest saved): to a
 * directory, a subset, one file to a descriptor, a tar stream read back by
 * GNU tar; and damage (a flipped byte in a pack, a pack gone, a damaged
 * listing) costing only the files it touches, each reported.
 */
#include <sys/stat.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "repo/snapsel.h"
#include "repo/tree.h"
#include "repo/treecodec.h"
#include "restore/restore.h"
#include "trepo.h"
#include "tutil.h"

#define BIG_LEN   700000
#define BIG_CHUNK 100000
#define SPARSE_SZ (10u << 20)
#define MTIME     1700000000
#define NSEC      123456789

static char base[64];
static char loc[128];
static uint8_t big[BIG_LEN];
static uint8_t sparse_data[8192 + 3000];
static uint8_t big_chunks[7][IDX_ID_LEN];
static uint8_t hl_chunk[IDX_ID_LEN];
static uint8_t lonely_chunk[IDX_ID_LEN];
static uint8_t ssh_tree[IDX_ID_LEN];
static uint64_t next_ino;

static const char fstab[] = "/dev/vda1 / ext4 defaults 0 1\n";
static const char sshd[] = "PermitRootLogin no\n";
static const char hostkey[] = "-----BEGIN KEY-----\n";
static const char appini[] = "[app]\nport = 8080\n";
static const char hltext[] = "linked twice\n";
static const char lonely[] = "alone in its pack\n";

/* What the report callback heard. */
struct heard {
	enum rst_event ev;
	enum err_class class;
	char path[256];
	char msg[ERR_MSG_MAX];
};
static struct heard heard[64];
static size_t nheard;

static void
on_report(void *arg, enum rst_event ev, const char *path, const struct err *e)
{
	(void)arg;
	ck_assert_uint_lt(nheard, 64);
	heard[nheard].ev = ev;
	heard[nheard].class = e->class;
	snprintf(heard[nheard].path, sizeof(heard[nheard].path), "%s", path);
	snprintf(heard[nheard].msg, sizeof(heard[nheard].msg), "%s", e->msg);
	nheard++;
}

static const struct heard *
heard_of(const char *path)
{
	for (size_t i = 0; i < nheard; i++)
		if (strcmp(heard[i].path, path) == 0)
			return (&heard[i]);
	return (NULL);
}

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

static char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
at(const char *fmt, ...)
{
	static char buf[8][PATH_MAX];
	static int k;
	char *p = buf[k++ % 8], sub[PATH_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sub, sizeof(sub), fmt, ap);
	va_end(ap);
	snprintf(p, PATH_MAX, "%s/%s", base, sub);
	return (p);
}

static char *
run(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	char *out = calloc(1, 1 << 16);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, (1 << 16) - 1, f);
	out[n] = '\0';
	*status = pclose(f);
	return (out);
}

static struct fs_node
mk(const char *name, enum fs_type type, uint32_t mode)
{
	struct fs_node n;

	memset(&n, 0, sizeof(n));
	fs_node_set_str(&n.name, name);
	n.type = type;
	n.mode = mode;
	n.uid = getuid();
	n.gid = getgid();
	n.mtime.sec = MTIME + (int64_t)next_ino;
	n.mtime.nsec = NSEC;
	n.atime = n.mtime;
	n.ctime = n.mtime;
	n.dev = 1;
	n.ino = ++next_ino;
	n.nlink = type == FS_DIR ? 2 : 1;
	return (n);
}

static void
put(struct repo *r, enum idx_blob_type type, const void *p, size_t n,
    uint8_t id[IDX_ID_LEN])
{
	struct err e;
	int added;

	ck_assert_msg(repo_blob_put(r, type, p, n, id, &added, &e) == 0, "%s",
	    e.msg);
}

/* A file node whose data goes into chunks of at most chunk bytes. */
static struct fs_node
mk_file(struct repo *r, const char *name, uint32_t mode, const void *data,
    size_t len, size_t chunk)
{
	struct fs_node n = mk(name, FS_FILE, mode);
	uint8_t id[IDX_ID_LEN];

	n.size = len;
	for (size_t off = 0; off < len; off += chunk) {
		put(r, IDX_BLOB_DATA, (const uint8_t *)data + off,
		    len - off < chunk ? len - off : chunk, id);
		fs_node_add_chunk(&n, id);
	}
	return (n);
}

static struct fs_node
mk_dir(struct repo *r, const char *name, uint32_t mode, struct fs_node *v,
    size_t n)
{
	struct fs_node d = mk(name, FS_DIR, mode);
	uint8_t *p;
	size_t len;

	treecodec_encode(v, n, &p, &len);
	put(r, IDX_BLOB_TREE, p, len, d.subtree);
	d.flags |= FS_NODE_HAS_SUBTREE;
	free(p);
	for (size_t i = 0; i < n; i++)
		fs_node_clear(&v[i]);
	return (d);
}

static void
flush(struct repo *r)
{
	struct err e;

	ck_assert_msg(repo_flush(r, &e) == 0, "%s", e.msg);
}

/* Save a snapshot of the tree root of the paths (NULL-terminated). */
static void
save_snapshot(struct repo *r, const uint8_t root[IDX_ID_LEN],
    const char *const *paths)
{
	struct manifest m;
	struct err e;

	manifest_init(&m);
	m.time.tv_sec = 1795000000;
	m.host = strdup("testhost");
	m.user = strdup("root");
	m.program = strdup("coffer test");
	for (; *paths != NULL; paths++)
		manifest_add_path(&m, *paths);
	memcpy(m.tree, root, IDX_ID_LEN);
	ck_assert_msg(manifest_save(r, &m, &e) == 0, "%s", e.msg);
	manifest_clear(&m);
}

/*
 * /etc: fstab, big (7 chunks), empty, link -> fstab, fifo, sock, hl1 = hl2
 * (hard links), xattr, lonely (its chunk alone in a pack), ssh/{key,
 * sshd_config}; /opt/app/conf/app.ini; /var/sparse (10 MiB, 2 extents).
 */
static void
build(void)
{
	struct fs_node etc[11], ssh[2], conf[1], app[1], opt[1], var[1], top[3];
	struct repo *r;
	uint8_t root[IDX_ID_LEN];

	trepo_init(loc, 1 << 20, &r);
	fill(big, sizeof(big), 1);
	fill(sparse_data, sizeof(sparse_data), 2);
	next_ino = 0;

	etc[0] = mk_file(r, "big", 0640, big, sizeof(big), BIG_CHUNK);
	for (size_t i = 0; i < 7; i++)
		memcpy(big_chunks[i], etc[0].chunks[i], IDX_ID_LEN);
	etc[1] = mk_file(r, "empty", 0600, "", 0, 1);
	etc[2] = mk("fifo", FS_FIFO, 0620);
	etc[3] = mk_file(r, "fstab", 0644, fstab, strlen(fstab), 4096);
	etc[4] = mk_file(r, "hl1", 0444, hltext, strlen(hltext), 4096);
	etc[5] = mk_file(r, "hl2", 0444, hltext, strlen(hltext), 4096);
	etc[5].ino = etc[4].ino;
	etc[4].nlink = etc[5].nlink = 2;
	memcpy(hl_chunk, etc[4].chunks[0], IDX_ID_LEN);
	etc[6] = mk("link", FS_SYMLINK, 0777);
	fs_node_set_str(&etc[6].symlink, "fstab");
	etc[7] = mk("sock", FS_SOCK, 0755);
	etc[8] = mk_file(r, "xattr", 0600, "x", 1, 10);
	fs_node_add_xattr(&etc[8], "user.coffer", "v\0bin", 5);
	ssh[0] = mk_file(r, "key", 0600, hostkey, strlen(hostkey), 4096);
	ssh[1] = mk_file(r, "sshd_config", 0644, sshd, strlen(sshd), 4096);
	conf[0] = mk_file(r, "app.ini", 0640, appini, strlen(appini), 4096);
	var[0] = mk("sparse", FS_FILE, 0600);
	var[0].size = SPARSE_SZ;
	/*
	 * Extents as a file system gives them: aligned to its blocks but at
	 * the end of the file.  (GNU tar reads pax sparse data region by
	 * region, each padded to 512 bytes, which libarchive does not write.)
	 */
	fs_node_add_extent(&var[0], 1 << 20, 8192);
	fs_node_add_extent(&var[0], 8 << 20, 3000);
	{
		uint8_t id[IDX_ID_LEN];

		/* Chunks cross the extents' boundary. */
		put(r, IDX_BLOB_DATA, sparse_data, 6000, id);
		fs_node_add_chunk(&var[0], id);
		put(r, IDX_BLOB_DATA, sparse_data + 6000,
		    sizeof(sparse_data) - 6000, id);
		fs_node_add_chunk(&var[0], id);
	}
	flush(r);
	/* A pack of its own, to be removed by a test. */
	etc[9] = mk_file(r, "lonely", 0644, lonely, strlen(lonely), 4096);
	memcpy(lonely_chunk, etc[9].chunks[0], IDX_ID_LEN);
	flush(r);
	etc[10] = mk_dir(r, "ssh", 0700, ssh, 2);
	memcpy(ssh_tree, etc[10].subtree, IDX_ID_LEN);
	app[0] = mk_dir(r, "conf", 0750, conf, 1);
	opt[0] = mk_dir(r, "app", 0755, app, 1);
	top[0] = mk_dir(r, "etc", 0755, etc, 11);
	top[1] = mk_dir(r, "opt", 0711, opt, 1);
	top[2] = mk_dir(r, "var", 0755, var, 1);
	{
		uint8_t *p;
		size_t len;

		treecodec_encode(top, 3, &p, &len);
		put(r, IDX_BLOB_TREE, p, len, root);
		free(p);
		for (size_t i = 0; i < 3; i++)
			fs_node_clear(&top[i]);
	}
	flush(r);
	save_snapshot(r, root,
	    (const char *const[]){ "/etc", "/opt/app/conf", "/var", NULL });
	repo_close(r);
}

static void
setup(void)
{
	strcpy(base, "/tmp/coffer-restore.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(loc, sizeof(loc), "%s/repo", base);
	nheard = 0;
	build();
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	ck_assert_int_eq(system(cmd), 0);
}

/* The snapshot sel names, by the one selector (repo/snapsel.h). */
static int
find_snapshot(struct repo *r, const char *sel, struct manifest *out,
    size_t *nbad, struct err *e)
{
	struct snapsel *list = NULL;
	size_t at;
	int rc = -1;

	manifest_init(out);
	if (snapsel_list(r, time(NULL), &list, e) == -1)
		return (-1);
	if (nbad != NULL)
		*nbad = list->nbad;
	if (snapsel_resolve(list, sel, NULL, &at, e) == 0) {
		*out = list->v[at].m;
		manifest_init(&list->v[at].m);
		rc = 0;
	}
	snapsel_free(list);
	return (rc);
}

static struct repo *
open_repo(struct manifest *m)
{
	struct repo *r;
	struct err e;
	size_t nbad;

	ck_assert_msg(repo_open(loc, trepo_machine_key,
	                  strlen(trepo_machine_key), &r, &e) == 0,
	    "%s", e.msg);
	ck_assert_msg(find_snapshot(r, "latest", m, &nbad, &e) == 0, "%s",
	    e.msg);
	ck_assert_uint_eq(nbad, 0);
	return (r);
}

static void
opts_init(struct rst_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->report = on_report;
}

/* path holds exactly data. */
static void
expect_bytes(const char *path, const void *data, size_t len, struct stat *st)
{
	uint8_t *got = malloc(len + 1);
	int fd;

	ck_assert_msg((fd = open(path, O_RDONLY)) >= 0, "%s: %s", path,
	    strerror(errno));
	ck_assert_int_eq(fstat(fd, st), 0);
	ck_assert_msg(S_ISREG(st->st_mode), "%s not a file", path);
	ck_assert_uint_eq((uint64_t)st->st_size, len);
	ck_assert_int_eq(read(fd, got, len + 1), (ssize_t)len);
	ck_assert_msg(memcmp(got, data, len) == 0, "%s differs", path);
	close(fd);
	free(got);
}

/* The same, with this mode and the fixture's mtime nanoseconds. */
static void
expect_file(const char *path, const void *data, size_t len, uint32_t mode)
{
	struct stat st;

	expect_bytes(path, data, len, &st);
	ck_assert_uint_eq(st.st_mode & 07777, mode);
	ck_assert_int_eq(st.st_mtim.tv_nsec, NSEC);
}

/* dst/rel, without at()'s base. */
static char *
in(const char *dst, const char *rel)
{
	static char buf[8][PATH_MAX];
	static int k;
	char *p = buf[k++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", dst, rel);
	return (p);
}

static void
expect_absent(const char *path)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == -1 && errno == ENOENT, "%s exists",
	    path);
}

static void
expect_sparse(const char *path)
{
	uint8_t *got = malloc(SPARSE_SZ), *want = calloc(1, SPARSE_SZ);
	struct stat st;
	int fd;

	memcpy(want + (1 << 20), sparse_data, 8192);
	memcpy(want + (8 << 20), sparse_data + 8192, 3000);
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, SPARSE_SZ);
	ck_assert_int_eq(read(fd, got, SPARSE_SZ), SPARSE_SZ);
	ck_assert(memcmp(got, want, SPARSE_SZ) == 0);
	close(fd);
	free(got);
	free(want);
}

/* Everything of the fixture but what skip names is there, as stored. */
static void
expect_tree(const char *dst, const char *skip)
{
	struct stat a, b;
	char buf[64];
	ssize_t n;

#define WANT(rel) (strstr(skip, "[" rel "]") == NULL)
	if (WANT("big"))
		expect_file(in(dst, "etc/big"), big, sizeof(big), 0640);
	expect_file(in(dst, "etc/empty"), "", 0, 0600);
	expect_file(in(dst, "etc/fstab"), fstab, strlen(fstab), 0644);
	if (WANT("hl")) {
		expect_file(in(dst, "etc/hl1"), hltext, strlen(hltext), 0444);
		ck_assert_int_eq(stat(in(dst, "etc/hl1"), &a), 0);
		ck_assert_int_eq(stat(in(dst, "etc/hl2"), &b), 0);
		ck_assert(a.st_ino == b.st_ino);
	}
	if (WANT("lonely"))
		expect_file(in(dst, "etc/lonely"), lonely, strlen(lonely),
		    0644);
	if (WANT("ssh")) {
		expect_file(in(dst, "etc/ssh/key"), hostkey, strlen(hostkey),
		    0600);
		expect_file(in(dst, "etc/ssh/sshd_config"), sshd, strlen(sshd),
		    0644);
		ck_assert_int_eq(stat(in(dst, "etc/ssh"), &a), 0);
		ck_assert_uint_eq(a.st_mode & 07777, 0700);
	}
	expect_file(in(dst, "opt/app/conf/app.ini"), appini, strlen(appini),
	    0640);
	expect_sparse(in(dst, "var/sparse"));
	ck_assert_int_eq(lstat(in(dst, "etc/fifo"), &a), 0);
	ck_assert(S_ISFIFO(a.st_mode));
	ck_assert_uint_eq(a.st_mode & 07777, 0620);
	n = readlink(in(dst, "etc/link"), buf, sizeof(buf));
	ck_assert_int_eq(n, 5);
	ck_assert(memcmp(buf, "fstab", 5) == 0);
	expect_absent(in(dst, "etc/sock"));
	n = getxattr(in(dst, "etc/xattr"), "user.coffer", buf, sizeof(buf));
	ck_assert_int_eq(n, 5);
	ck_assert(memcmp(buf, "v\0bin", 5) == 0);
	/* Directory metadata survived the writes into them. */
	ck_assert_int_eq(stat(in(dst, "opt"), &a), 0);
	ck_assert_uint_eq(a.st_mode & 07777, 0711);
	ck_assert_int_eq(a.st_mtim.tv_nsec, NSEC);
	ck_assert_int_eq(stat(in(dst, "opt/app/conf"), &a), 0);
	ck_assert_uint_eq(a.st_mode & 07777, 0750);
#undef WANT
}

/* Flip one byte in the middle of the sealed blob id of the repository
 * at where (flipped again, it is whole again). */
static void
damage_blob_in(const char *where, const uint8_t id[IDX_ID_LEN])
{
	struct repo *r;
	const struct idx_entry *ent;
	char name[128], *path;
	struct err e;
	int fd;
	char c;

	ck_assert_int_eq(repo_open(where, trepo_machine_key,
	                     strlen(trepo_machine_key), &r, &e),
	    0);
	ck_assert_ptr_nonnull(ent = idx_find(repo_index(r), id));
	repo_pack_name(idx_pack_id(repo_index(r), ent->pack), name,
	    sizeof(name));
	path = in(where, name);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_ge(fd = open(path, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, &c, 1, ent->offset + ent->length / 2), 1);
	c ^= 0x40;
	ck_assert_int_eq(pwrite(fd, &c, 1, ent->offset + ent->length / 2), 1);
	close(fd);
	repo_close(r);
}

static void
damage_blob(const uint8_t id[IDX_ID_LEN])
{
	damage_blob_in(loc, id);
}

START_TEST(test_to_directory)
{
	struct manifest m;
	struct repo *r = open_repo(&m);
	struct rst_stats st;
	struct rst_opts o;
	struct err e;

	opts_init(&o);
	ck_assert_msg(rst_to_dir(r, m.tree, at("dst"), &o, &st, &e) == 0, "%s",
	    e.msg);
	expect_tree(at("dst"), "");
	ck_assert_uint_eq(st.files, 11);
	ck_assert_uint_eq(st.dirs, 6);
	ck_assert_uint_eq(st.others, 2);
	ck_assert_uint_eq(st.skipped, 1);
	ck_assert_uint_eq(st.errors, 0);
	ck_assert_uint_eq(st.bytes,
	    sizeof(big) + strlen(fstab) + strlen(hltext) + 1 + strlen(hostkey) +
	        strlen(sshd) + strlen(appini) + strlen(lonely) +
	        sizeof(sparse_data));
	ck_assert_int_eq(rst_exit_status(&st), EXIT_OK);
	ck_assert_uint_eq(nheard, 1);
	ck_assert_int_eq(heard[0].ev, RST_SKIPPED);
	ck_assert_str_eq(heard[0].path, "/etc/sock");

	/* Again into the same place: refused unless told to overwrite. */
	ck_assert_int_eq(rst_to_dir(r, m.tree, at("dst"), &o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert(strstr(e.msg, "--overwrite") != NULL);
	o.flags = FS_EXTRACT_OVERWRITE;
	ck_assert_msg(rst_to_dir(r, m.tree, at("dst"), &o, &st, &e) == 0, "%s",
	    e.msg);
	expect_tree(at("dst"), "");
	ck_assert_int_eq(rst_exit_status(&st), EXIT_OK);
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

START_TEST(test_include_and_exclude)
{
	const char *inc[] = { "/etc/ssh", "/opt/app/conf/app.ini" };
	const char *exc[] = { "key", "/var/*" };
	struct manifest m;
	struct repo *r = open_repo(&m);
	struct rst_stats st;
	struct rst_opts o;
	struct stat sb;
	struct err e;

	opts_init(&o);
	o.includes = inc;
	o.nincludes = 2;
	ck_assert_msg(rst_to_dir(r, m.tree, at("a"), &o, &st, &e) == 0, "%s",
	    e.msg);
	expect_file(at("a/etc/ssh/key"), hostkey, strlen(hostkey), 0600);
	expect_file(at("a/etc/ssh/sshd_config"), sshd, strlen(sshd), 0644);
	expect_file(at("a/opt/app/conf/app.ini"), appini, strlen(appini), 0640);
	expect_absent(at("a/etc/fstab"));
	expect_absent(at("a/etc/fifo"));
	expect_absent(at("a/var"));
	/* Parent directories come with their own metadata. */
	ck_assert_int_eq(stat(at("a/opt"), &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0711);
	ck_assert_uint_eq(st.files, 3);
	ck_assert_uint_eq(st.dirs, 5);
	ck_assert_uint_eq(nheard, 0);

	/* Excludes: by name anywhere, and by path glob. */
	o.nincludes = 0;
	o.excludes = exc;
	o.nexcludes = 2;
	ck_assert_msg(rst_to_dir(r, m.tree, at("b"), &o, &st, &e) == 0, "%s",
	    e.msg);
	expect_absent(at("b/etc/ssh/key"));
	expect_file(at("b/etc/ssh/sshd_config"), sshd, strlen(sshd), 0644);
	ck_assert_int_eq(stat(at("b/var"), &sb), 0);
	expect_absent(at("b/var/sparse"));
	expect_file(at("b/etc/fstab"), fstab, strlen(fstab), 0644);

	/* An excluded directory takes its subtree with it. */
	exc[0] = "ssh";
	o.nexcludes = 1;
	ck_assert_msg(rst_to_dir(r, m.tree, at("c"), &o, &st, &e) == 0, "%s",
	    e.msg);
	expect_absent(at("c/etc/ssh"));
	expect_file(at("c/etc/fstab"), fstab, strlen(fstab), 0644);
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

START_TEST(test_paths_and_lookup)
{
	struct manifest m;
	struct repo *r = open_repo(&m);
	struct fs_node n;
	struct err e;
	char *p;

	ck_assert_int_eq(rst_path_normalize("//etc///ssh/", &p, &e), 0);
	ck_assert_str_eq(p, "/etc/ssh");
	free(p);
	ck_assert_int_eq(rst_path_normalize("/", &p, &e), 0);
	ck_assert_str_eq(p, "/");
	free(p);
	ck_assert_int_eq(rst_path_normalize("etc/fstab", &p, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(rst_path_normalize("/etc/../root", &p, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	/* ls takes "." components, and so does --include: the same rule. */
	ck_assert_int_eq(rst_path_normalize("/etc/./x", &p, &e), 0);
	ck_assert_str_eq(p, "/etc/x");
	free(p);
	for (size_t i = 0; i < 6; i++) {
		static const char *in[] = { "/etc/./ssh//", "/./", "/a/../b",
			"a/b", "/..", "//etc/ssh/." };
		char *a = NULL, *b = NULL;
		struct err e2;

		ck_assert_int_eq(rst_path_normalize(in[i], &a, &e),
		    tree_path_clean(in[i], &b, &e2));
		ck_assert_str_eq(a ? a : "(refused)", b ? b : "(refused)");
		free(a);
		free(b);
	}

	ck_assert_int_eq(rst_lookup(r, m.tree, "/etc/ssh/key", &n, &e), 0);
	ck_assert_str_eq(n.name, "key");
	ck_assert_uint_eq(n.size, strlen(hostkey));
	fs_node_clear(&n);
	ck_assert_int_eq(rst_lookup(r, m.tree, "/opt", &n, &e), 0);
	ck_assert_int_eq(n.type, FS_DIR);
	fs_node_clear(&n);
	ck_assert_int_eq(rst_lookup(r, m.tree, "/etc/nothing", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert(strstr(e.msg, "/etc/nothing") != NULL);
	ck_assert_int_eq(rst_lookup(r, m.tree, "/etc/fstab/x", &n, &e), -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(rst_lookup(r, m.tree, "/", &n, &e), -1);

	/* Selection: an id prefix, and a bad one. */
	{
		struct manifest m2;
		char pre[9];

		memcpy(pre, m.id, 8);
		pre[8] = '\0';
		ck_assert_int_eq(find_snapshot(r, pre, &m2, NULL, &e), 0);
		ck_assert_str_eq(m2.id, m.id);
		manifest_clear(&m2);
		ck_assert_int_eq(find_snapshot(r, "ffff0000", &m2, NULL, &e),
		    -1);
		ck_assert_int_eq(e.class, ERR_USAGE);
	}
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

START_TEST(test_file_to_descriptor)
{
	struct manifest m;
	struct repo *r = open_repo(&m);
	struct rst_stats st;
	struct rst_opts o;
	struct stat sb;
	struct err e;
	int fd;

	opts_init(&o);
	fd = open(at("big.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(rst_file_to_fd(r, m.tree, "/etc/big", fd, &o, &st, &e) ==
	        0,
	    "%s", e.msg);
	close(fd);
	expect_bytes(at("big.out"), big, sizeof(big), &sb);
	ck_assert_uint_eq(st.files, 1);
	ck_assert_uint_eq(st.bytes, sizeof(big));
	/* The same in one pass. */
	fd = open(at("big.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(rst_file_stream(r, m.tree, "/etc/big", fd, &o, &st, &e) ==
	        0,
	    "%s", e.msg);
	close(fd);
	expect_bytes(at("big.out"), big, sizeof(big), &sb);
	ck_assert_uint_eq(st.files, 1);
	ck_assert_uint_eq(st.bytes, sizeof(big));

	/* Holes come out as zeros, at full length. */
	fd = open(at("sparse.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(rst_file_to_fd(r, m.tree, "/var/sparse", fd, &o, &st,
	                     &e),
	    0);
	close(fd);
	expect_sparse(at("sparse.out"));

	fd = open(at("x.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(rst_file_to_fd(r, m.tree, "/etc/ssh", fd, &o, &st, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert(strstr(e.msg, "not a regular file") != NULL);
	ck_assert_int_eq(rst_file_to_fd(r, m.tree, "/etc/none", fd, &o, &st,
	                     &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_USAGE);
	ck_assert_int_eq(rst_exit_status(&st), EXIT_OK);
	close(fd);

	/* A reader that went away: EPIPE, promptly, not a hang. */
	{
		int pfd[2];

		ck_assert_int_eq(pipe(pfd), 0);
		close(pfd[0]);
		signal(SIGPIPE, SIG_IGN);
		ck_assert_int_eq(rst_file_to_fd(r, m.tree, "/etc/big", pfd[1],
		                     &o, &st, &e),
		    -1);
		ck_assert_int_eq(e.class, ERR_IO);
		ck_assert_int_eq(e.sys_errno, EPIPE);
		close(pfd[1]);
	}
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

static void
tar_to(struct repo *r, const struct manifest *m, const char *path,
    struct rst_stats *st)
{
	struct rst_opts o;
	struct err e;
	int fd;

	opts_init(&o);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(rst_to_tar(r, m->tree, fd, &o, st, &e) == 0, "%s", e.msg);
	close(fd);
}

START_TEST(test_tar_stream)
{
	struct manifest m;
	struct repo *r = open_repo(&m);
	struct rst_stats st;
	char cmd[PATH_MAX * 2], *out;
	int status;

	tar_to(r, &m, at("out.tar"), &st);
	ck_assert_uint_eq(st.files, 11);
	ck_assert_uint_eq(st.skipped, 1);
	snprintf(cmd, sizeof(cmd), "tar --numeric-owner -tvf '%s' 2>&1",
	    at("out.tar"));
	out = run(cmd, &status);
	ck_assert_msg(status == 0, "%s", out);
	ck_assert_msg(strstr(out, "-rw-r--r-- 0/0") != NULL, "%s", out);
	ck_assert(strstr(out, " etc/fstab\n") != NULL);
	ck_assert(strstr(out, " etc/hl2 link to etc/hl1\n") != NULL);
	ck_assert(strstr(out, " etc/link -> fstab\n") != NULL);
	ck_assert(strstr(out, "\nprw--w---- ") != NULL);
	ck_assert(strstr(out, "\ndrwx------ 0/0") != NULL); /* etc/ssh */
	ck_assert(strstr(out, " etc/ssh/key\n") != NULL);
	ck_assert(strstr(out, " opt/app/conf/app.ini\n") != NULL);
	ck_assert(strstr(out, "etc/sock") == NULL);
	free(out);

	/* What GNU tar extracts is the fixture, metadata and all. */
	ck_assert_int_eq(mkdir(at("untar"), 0700), 0);
	snprintf(cmd, sizeof(cmd),
	    "tar --xattrs --xattrs-include='*' --numeric-owner -xpf '%s' "
	    "-C '%s' 2>&1 | grep -v 'Ignoring unknown extended header'",
	    at("out.tar"), at("untar"));
	out = run(cmd, &status);
	ck_assert_msg(out[0] == '\0', "tar said: %s", out);
	free(out);
	expect_tree(at("untar"), "");

	/* A file ends after its last block; a pipe gets whole records of
	 * 10240 bytes, however many of them a write carries. */
	{
		struct stat sb;
		struct rst_opts o;
		struct err e;
		FILE *p;
		char *n;
		off_t whole;

		ck_assert_int_eq(stat(at("out.tar"), &sb), 0);
		ck_assert_int_eq(sb.st_size % 512, 0);
		whole = (sb.st_size + 10239) / 10240 * 10240;
		ck_assert_int_ne(whole, sb.st_size);
		snprintf(cmd, sizeof(cmd), "wc -c >'%s'", at("n"));
		ck_assert_ptr_nonnull(p = popen(cmd, "w"));
		opts_init(&o);
		ck_assert_msg(rst_to_tar(r, m.tree, fileno(p), &o, &st, &e) ==
		        0,
		    "%s", e.msg);
		ck_assert_int_eq(pclose(p), 0);
		n = tutil_read_file(at("n"), NULL);
		ck_assert_int_eq(atoll(n), whole);
		free(n);
	}
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

START_TEST(test_damaged_chunks)
{
	struct manifest m;
	struct repo *r;
	struct rst_stats st;
	struct rst_opts o;
	const struct heard *h;
	struct stat sb;
	struct err e;
	char cmd[PATH_MAX * 2], *out;
	int fd, status;

	/* A chunk in the middle of big, and the one both hard links share. */
	damage_blob(big_chunks[3]);
	damage_blob(hl_chunk);
	r = open_repo(&m);
	opts_init(&o);
	ck_assert_msg(rst_to_dir(r, m.tree, at("dst"), &o, &st, &e) == 0, "%s",
	    e.msg);
	/* Its first three chunks were written, then taken back. */
	expect_absent(at("dst/etc/big"));
	expect_absent(at("dst/etc/hl1"));
	expect_absent(at("dst/etc/hl2"));
	expect_tree(at("dst"), "[big][hl]");
	ck_assert_uint_eq(st.damaged, 3);
	ck_assert_uint_eq(st.errors, 3);
	ck_assert_uint_eq(st.files, 8);
	ck_assert_int_eq(rst_exit_status(&st), EXIT_CORRUPT);
	ck_assert_ptr_nonnull(h = heard_of("/etc/big"));
	ck_assert_int_eq(h->ev, RST_DAMAGED);
	ck_assert_int_eq(h->class, ERR_CORRUPT);
	ck_assert_msg(strstr(h->msg, "blob") != NULL, "%s", h->msg);
	ck_assert_ptr_nonnull(h = heard_of("/etc/hl1"));
	ck_assert_int_eq(h->ev, RST_DAMAGED);
	ck_assert_ptr_nonnull(h = heard_of("/etc/hl2"));
	ck_assert_int_eq(h->ev, RST_DAMAGED);

	/* A tar stream leaves them out and is whole otherwise. */
	nheard = 0;
	tar_to(r, &m, at("out.tar"), &st);
	ck_assert_uint_eq(st.damaged, 3);
	ck_assert_int_eq(rst_exit_status(&st), EXIT_CORRUPT);
	ck_assert_ptr_nonnull(heard_of("/etc/big"));
	snprintf(cmd, sizeof(cmd), "tar -tvf '%s' 2>&1", at("out.tar"));
	out = run(cmd, &status);
	ck_assert_msg(status == 0, "%s", out);
	ck_assert(strstr(out, "etc/big") == NULL);
	ck_assert(strstr(out, "etc/hl") == NULL);
	ck_assert(strstr(out, " etc/fstab\n") != NULL);
	ck_assert(strstr(out, " var/sparse\n") != NULL);
	free(out);

	/* One file to a descriptor: not a byte of it. */
	fd = open(at("big.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(rst_file_to_fd(r, m.tree, "/etc/big", fd, &o, &st, &e),
	    -1);
	close(fd);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert(strstr(e.msg, "/etc/big") == e.msg);
	ck_assert_int_eq(rst_exit_status(&st), EXIT_CORRUPT);
	ck_assert_int_eq(stat(at("big.out"), &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);

	/* In one pass: the chunks before the damaged one, and no more. */
	fd = open(at("big.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(rst_file_stream(r, m.tree, "/etc/big", fd, &o, &st,
	                     &e),
	    -1);
	close(fd);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_uint_eq(st.bytes, 3 * BIG_CHUNK);
	ck_assert_uint_eq(st.damaged, 1);
	ck_assert_uint_eq(st.files, 0);
	expect_bytes(at("big.out"), big, 3 * BIG_CHUNK, &sb);
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

START_TEST(test_missing_pack_and_listing)
{
	struct manifest m;
	struct repo *r;
	struct rst_stats st;
	struct rst_opts o;
	const struct idx_entry *ent;
	const struct heard *h;
	char name[128];
	struct err e;

	r = open_repo(&m);
	ck_assert_ptr_nonnull(ent = idx_find(repo_index(r), lonely_chunk));
	repo_pack_name(idx_pack_id(repo_index(r), ent->pack), name,
	    sizeof(name));
	manifest_clear(&m);
	repo_close(r);
	ck_assert_int_eq(unlink(at("repo/%s", name)), 0);
	damage_blob(ssh_tree);

	r = open_repo(&m);
	opts_init(&o);
	ck_assert_msg(rst_to_dir(r, m.tree, at("dst"), &o, &st, &e) == 0, "%s",
	    e.msg);
	expect_absent(at("dst/etc/lonely"));
	/* A directory whose listing is damaged is not made empty. */
	expect_absent(at("dst/etc/ssh"));
	expect_tree(at("dst"), "[lonely][ssh]");
	ck_assert_uint_eq(st.damaged, 2);
	ck_assert_int_eq(rst_exit_status(&st), EXIT_CORRUPT);
	ck_assert_ptr_nonnull(h = heard_of("/etc/lonely"));
	ck_assert_int_eq(h->ev, RST_DAMAGED);
	ck_assert_ptr_nonnull(h = heard_of("/etc/ssh"));
	ck_assert_int_eq(h->ev, RST_DAMAGED);
	ck_assert_msg(strstr(h->msg, "listing") != NULL, "%s", h->msg);

	/* Below a damaged listing, --include and --stdout say so. */
	{
		struct fs_node n;

		ck_assert_int_eq(rst_lookup(r, m.tree, "/etc/ssh/key", &n, &e),
		    -1);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
	}
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

static volatile sig_atomic_t stop;

static void
stop_at_socket(void *arg, enum rst_event ev, const char *path,
    const struct err *e)
{
	on_report(arg, ev, path, e);
	if (strcmp(path, "/etc/sock") == 0)
		stop = 1;
}

START_TEST(test_stop_cuts_tar)
{
	struct manifest m;
	struct repo *r = open_repo(&m);
	struct rst_stats st;
	struct rst_opts o;
	struct err e;
	char cmd[PATH_MAX], *out;
	int fd, status;

	opts_init(&o);
	o.interrupted = &stop;
	o.report = stop_at_socket;
	stop = 0;
	ck_assert_int_eq(rst_to_dir(r, m.tree, at("dst"), &o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_uint_eq(st.files, 6);
	expect_absent(at("dst/etc/xattr"));

	/* Stopped halfway, a tar stream is cut, not closed as if whole. */
	stop = 0;
	fd = open(at("cut.tar"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(rst_to_tar(r, m.tree, fd, &o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	close(fd);
	snprintf(cmd, sizeof(cmd), "tar -tvf '%s' 2>&1", at("cut.tar"));
	out = run(cmd, &status);
	ck_assert_msg(status != 0, "tar took a cut stream: %s", out);
	free(out);
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

static int
lose_lock_after(void *arg, struct err *e)
{
	int *left = arg;

	if (--*left > 0)
		return (0);
	return (err_set(e, ERR_LOCKED, "the lock was removed"));
}

START_TEST(test_keepalive_runs_and_can_stop)
{
	struct manifest m;
	struct repo *r = open_repo(&m);
	struct rst_stats st;
	struct rst_opts o;
	struct err e;
	int left = 1000000, fd;

	/* Called for every entry and every chunk. */
	opts_init(&o);
	o.keepalive = lose_lock_after;
	o.keepalive_arg = &left;
	ck_assert_int_eq(rst_to_dir(r, m.tree, at("a"), &o, &st, &e), 0);
	ck_assert_int_ge(1000000 - left, 20 + 7);
	/* A lock lost halfway stops the restore, naming the entry. */
	left = 3;
	ck_assert_int_eq(rst_to_dir(r, m.tree, at("b"), &o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	ck_assert_msg(strstr(e.msg, "/etc/") == e.msg, "%s", e.msg);
	left = 2;
	fd = open(at("big.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(rst_file_to_fd(r, m.tree, "/etc/big", fd, &o, &st, &e),
	    -1);
	ck_assert_int_eq(e.class, ERR_LOCKED);
	close(fd);
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

#define MANY_DIRS  40
#define MANY_FILES 3
#define MANY_LEN   100

static uint8_t many_data[MANY_DIRS][MANY_FILES][MANY_LEN];
static uint8_t multi_data[3 * MANY_LEN];
static uint8_t large_data[9u << 20]; /* more than restore keeps in tar mode */

/*
 * A snapshot of many small directories, as /usr/share is: d00..d39, each
 * with f0..f2 (100 bytes, one chunk); d10 also holds hard links hl1 =
 * hl2, d20 a file "multi" of three chunks (each in a pack of its own) and
 * "xlarge" of 9 MiB, d30 an empty
 * directory "e" and a directory "sub" with one file.
 */
static void
build_many(const char *where)
{
	struct fs_node top[MANY_DIRS], v[MANY_FILES + 3], sub[1];
	struct repo *r;
	uint8_t root[IDX_ID_LEN], *p;
	size_t len;

	trepo_init(where, 1 << 20, &r);
	fill(multi_data, sizeof(multi_data), 99);
	fill(large_data, sizeof(large_data), 98);
	for (size_t d = 0; d < MANY_DIRS; d++) {
		char name[16];
		size_t n = 0;

		for (size_t i = 0; i < MANY_FILES; i++) {
			fill(many_data[d][i], MANY_LEN,
			    (uint32_t)(1000 + d * MANY_FILES + i));
			snprintf(name, sizeof(name), "f%zu", i);
			v[n++] = mk_file(r, name, 0644, many_data[d][i],
			    MANY_LEN, 4096);
		}
		if (d == 10) {
			v[n] = mk_file(r, "hl1", 0444, hltext, strlen(hltext),
			    4096);
			v[n + 1] = mk_file(r, "hl2", 0444, hltext,
			    strlen(hltext), 4096);
			v[n + 1].ino = v[n].ino;
			v[n].nlink = v[n + 1].nlink = 2;
			n += 2;
		}
		if (d == 20) {
			/* Its chunks in three packs: a read is 3 requests. */
			uint8_t id[IDX_ID_LEN];

			v[n] = mk("multi", FS_FILE, 0600);
			v[n].size = sizeof(multi_data);
			for (size_t k = 0; k < 3; k++) {
				put(r, IDX_BLOB_DATA, multi_data + k * MANY_LEN,
				    MANY_LEN, id);
				fs_node_add_chunk(&v[n], id);
				flush(r);
			}
			n++;
			v[n++] = mk_file(r, "xlarge", 0600, large_data,
			    sizeof(large_data), 1u << 20);
		}
		if (d == 30) {
			sub[0] = mk_file(r, "in-sub", 0600, fstab,
			    strlen(fstab), 4096);
			v[n++] = mk("e", FS_DIR, 0755);
			v[n++] = mk_dir(r, "sub", 0755, sub, 1);
		}
		snprintf(name, sizeof(name), "d%02zu", d);
		top[d] = mk_dir(r, name, 0755, v, n);
	}
	treecodec_encode(top, MANY_DIRS, &p, &len);
	put(r, IDX_BLOB_TREE, p, len, root);
	free(p);
	for (size_t d = 0; d < MANY_DIRS; d++)
		fs_node_clear(&top[d]);
	flush(r);
	save_snapshot(r, root, (const char *const[]){ "/", NULL });
	repo_close(r);
}

static void
expect_many(const char *dst)
{
	struct stat a, b;
	char rel[32];

	for (size_t d = 0; d < MANY_DIRS; d++)
		for (size_t i = 0; i < MANY_FILES; i++) {
			snprintf(rel, sizeof(rel), "d%02zu/f%zu", d, i);
			expect_file(in(dst, rel), many_data[d][i], MANY_LEN,
			    0644);
		}
	expect_file(in(dst, "d10/hl1"), hltext, strlen(hltext), 0444);
	ck_assert_int_eq(stat(in(dst, "d10/hl1"), &a), 0);
	ck_assert_int_eq(stat(in(dst, "d10/hl2"), &b), 0);
	ck_assert(a.st_ino == b.st_ino);
	expect_file(in(dst, "d20/multi"), multi_data, sizeof(multi_data), 0600);
	expect_file(in(dst, "d20/xlarge"), large_data, sizeof(large_data),
	    0600);
	ck_assert_int_eq(stat(in(dst, "d30/e"), &a), 0);
	ck_assert(S_ISDIR(a.st_mode));
	expect_file(in(dst, "d30/sub/in-sub"), fstab, strlen(fstab), 0600);
}

/*
 * Reading ahead crosses from one directory into the next: the files of
 * many small directories come in shared requests, not one or more per
 * directory (a store across a network pays a round trip for each).  Each
 * listing is still read once.  Hard links, a file of several chunks in
 * tar mode, and an empty directory are walked past; a subset restore
 * reads ahead inside what it restores.  Every file restores byte for byte.
 */
START_TEST(test_read_ahead_across_dirs)
{
	struct manifest m;
	struct rst_stats st;
	struct rst_opts o;
	struct repo *r;
	struct err e;
	unsigned ndirs = MANY_DIRS + 2; /* with d30/sub and the top */
	unsigned ndir;
	char cmd[PATH_MAX * 2], *out;
	const char *inc[] = { "/d30" };
	int fd, status;

	build_many(at("many"));
	ck_assert_msg(repo_open(at("many"), trepo_machine_key,
	                  strlen(trepo_machine_key), &r, &e) == 0,
	    "%s", e.msg);
	repo_set_workers(r, 2);
	ck_assert_msg(find_snapshot(r, "latest", &m, NULL, &e) == 0, "%s",
	    e.msg);

	/* To a directory. */
	opts_init(&o);
	trepo_count_reads(r);
	ck_assert_msg(rst_to_dir(r, m.tree, at("dst"), &o, &st, &e) == 0, "%s",
	    e.msg);
	ck_assert_uint_eq(st.errors, 0);
	expect_many(at("dst"));
	/* A listing is one request; 126 small blobs, in batches of 32. */
	ck_assert_msg(trepo_reads() <= ndirs + 12 + 9, "%u requests",
	    trepo_reads());
	ndir = trepo_reads();

	/* As tar, read back by GNU tar. */
	trepo_count_reads(r);
	ck_assert_int_ge(fd = open(at("out.tar"), O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_msg(rst_to_tar(r, m.tree, fd, &o, &st, &e) == 0, "%s", e.msg);
	close(fd);
	/*
	 * Checked before its header is written, a file of several chunks
	 * is kept for the write (multi) unless it is large (xlarge, read
	 * twice: 9 requests more).
	 */
	ck_assert_msg(trepo_reads() <= ndir + 9 + 1,
	    "%u requests, %u to a "
	    "directory",
	    trepo_reads(), ndir);
	ck_assert_int_eq(mkdir(at("untar"), 0700), 0);
	snprintf(cmd, sizeof(cmd), "tar -xpf '%s' -C '%s' 2>&1", at("out.tar"),
	    at("untar"));
	out = run(cmd, &status);
	ck_assert_msg(status == 0, "tar said: %s", out);
	free(out);
	expect_many(at("untar"));

	/* A subset: only d30, and all of it. */
	o.includes = inc;
	o.nincludes = 1;
	ck_assert_msg(rst_to_dir(r, m.tree, at("part"), &o, &st, &e) == 0, "%s",
	    e.msg);
	ck_assert_uint_eq(st.files, MANY_FILES + 1);
	expect_file(in(at("part"), "d30/sub/in-sub"), fstab, strlen(fstab),
	    0600);
	expect_absent(in(at("part"), "d29"));
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

/* The byte to flip once the walk has begun file path, in repository where. */
struct flip_at {
	const char *path, *where;
	const uint8_t *id;
	int done;
};

static void
flip_begin(void *arg, const char *path, const struct fs_node *node, int data)
{
	struct flip_at *f = arg;

	(void)node;
	(void)data;
	if (strcmp(path, f->path) == 0) {
		damage_blob_in(f->where, f->id);
		f->done = 1;
	}
}

static void
flip_data(void *arg, const uint8_t *p, size_t n, uint64_t off)
{
	(void)arg;
	(void)p;
	(void)n;
	(void)off;
}

static void
flip_end(void *arg, int ok)
{
	(void)arg;
	(void)ok;
}

/*
 * A file too large to keep while it is checked (d20/xlarge, 9 chunks) is
 * first only authenticated, then read again and checked whole as it is
 * written.  Damage to a stored byte is found by the first read: the file
 * is left out of a tar stream that is whole otherwise, and not a byte of
 * it goes to a descriptor.  A byte that changes between the two reads
 * fails the second one: the stream is cut there, and nothing of that
 * chunk is in it.
 */
START_TEST(test_large_file_checked_first)
{
	struct manifest m;
	struct rst_stats st;
	struct rst_opts o;
	struct repo *r;
	struct fs_node x;
	struct flip_at f;
	struct stat sb;
	const struct heard *h;
	struct err e;
	char cmd[PATH_MAX * 2], *out, many[PATH_MAX];
	uint8_t bad[IDX_ID_LEN];
	int fd, status;

	snprintf(many, sizeof(many), "%s", at("many"));
	build_many(many);
	ck_assert_msg(repo_open(many, trepo_machine_key,
	                  strlen(trepo_machine_key), &r, &e) == 0,
	    "%s", e.msg);
	ck_assert_msg(find_snapshot(r, "latest", &m, NULL, &e) == 0, "%s",
	    e.msg);
	ck_assert_int_eq(rst_lookup(r, m.tree, "/d20/xlarge", &x, &e), 0);
	ck_assert_uint_eq(x.nchunks, 9);
	memcpy(bad, x.chunks[5], IDX_ID_LEN);
	fs_node_clear(&x);

	/* Damaged before the restore: left out; the rest is whole. */
	damage_blob_in(many, bad);
	for (int w = 0; w <= 2; w += 2) {
		repo_set_workers(r, w);
		nheard = 0;
		tar_to(r, &m, at("out.tar"), &st);
		ck_assert_uint_eq(st.damaged, 1);
		ck_assert_uint_eq(st.errors, 1);
		ck_assert_int_eq(rst_exit_status(&st), EXIT_CORRUPT);
		ck_assert_ptr_nonnull(h = heard_of("/d20/xlarge"));
		ck_assert_int_eq(h->ev, RST_DAMAGED);
		snprintf(cmd, sizeof(cmd), "tar -tf '%s' 2>&1", at("out.tar"));
		out = run(cmd, &status);
		ck_assert_msg(status == 0, "%s", out);
		ck_assert(strstr(out, "d20/xlarge") == NULL);
		ck_assert(strstr(out, "d20/multi\n") != NULL);
		ck_assert(strstr(out, "d39/f2\n") != NULL);
		free(out);
		opts_init(&o);
		fd = open(at("x.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ck_assert_int_eq(rst_file_to_fd(r, m.tree, "/d20/xlarge", fd,
		                     &o, &st, &e),
		    -1);
		close(fd);
		ck_assert_int_eq(e.class, ERR_CORRUPT);
		ck_assert_int_eq(stat(at("x.out"), &sb), 0);
		ck_assert_int_eq(sb.st_size, 0);
	}
	damage_blob_in(many, bad); /* whole again */

	/* Damaged between the two reads: the stream is cut. */
	opts_init(&o);
	memset(&f, 0, sizeof(f));
	f.path = "/d20/xlarge";
	f.where = many;
	f.id = bad;
	o.file_begin = flip_begin;
	o.file_data = flip_data;
	o.file_end = flip_end;
	o.file_arg = &f;
	repo_set_workers(r, 2);
	ck_assert_int_ge(fd = open(at("cut.tar"), O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(rst_to_tar(r, m.tree, fd, &o, &st, &e), -1);
	close(fd);
	ck_assert(f.done);
	ck_assert_int_eq(e.class, ERR_CORRUPT);
	ck_assert_msg(strstr(e.msg, "/d20/xlarge") != NULL, "%s", e.msg);
	ck_assert_msg(strstr(e.msg, "cut short") != NULL, "%s", e.msg);
	ck_assert_int_eq(rst_exit_status(&st), EXIT_CORRUPT);
	ck_assert_int_eq(mkdir(at("cut"), 0700), 0);
	snprintf(cmd, sizeof(cmd), "tar -xf '%s' -C '%s' 2>&1", at("cut.tar"),
	    at("cut"));
	out = run(cmd, &status);
	ck_assert_msg(status != 0, "tar read a cut stream: %s", out);
	free(out);
	/*
	 * What went out of it is its first chunks, as they are, then the
	 * block that makes every reader fail there (GNU tar writes it into
	 * the file, as the data of the missing chunks).
	 */
	ck_assert_int_eq(stat(in(at("cut"), "d20/xlarge"), &sb), 0);
	ck_assert_int_le(sb.st_size, (5 << 20) + 512);
	ck_assert_int_gt(sb.st_size, 512);
	{
		static const char note[] = "coffer: this tar stream was cut";
		size_t len;
		char *got = tutil_read_file(in(at("cut"), "d20/xlarge"), &len);

		ck_assert_uint_eq(len, (size_t)sb.st_size);
		ck_assert(memcmp(got, large_data, len - 512) == 0);
		ck_assert(memcmp(got + len - 512, note, sizeof(note) - 1) == 0);
		free(got);
	}
	expect_absent(in(at("cut"), "d39"));
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

#define WIDE_DIRS  4
#define WIDE_FILES 33000

static volatile sig_atomic_t wide_stop;
static unsigned wide_reads;

static void
wide_begin(void *arg, const char *path, const struct fs_node *n, int data)
{
	(void)arg;
	(void)path;
	(void)n;
	(void)data;
	if (!wide_stop) {
		wide_reads = trepo_reads();
		wide_stop = 1;
	}
}

static void
wide_data(void *arg, const uint8_t *p, size_t n, uint64_t off)
{
	(void)arg;
	(void)p;
	(void)n;
	(void)off;
}

static void
wide_end(void *arg, int ok)
{
	(void)arg;
	(void)ok;
}

/*
 * Large directories with no data to use up the readers' room: the
 * cursor stops loading listings ahead once those it holds have 65,536
 * entries (AHEAD_NODES), rather than going on to 128 listings; so when
 * the walk is at its first file, the top, e0 (the walk's), e1 and e2
 * (the cursor's) are loaded, and not e3.
 */
START_TEST(test_read_ahead_bounded)
{
	struct fs_node top[WIDE_DIRS], *v = calloc(WIDE_FILES, sizeof(*v));
	struct manifest m;
	struct rst_stats st;
	struct rst_opts o;
	struct repo *r;
	struct err e;
	uint8_t root[IDX_ID_LEN], *p;
	size_t len;

	ck_assert_ptr_nonnull(v);
	trepo_init(at("wide"), 0, &r);
	for (size_t d = 0; d < WIDE_DIRS; d++) {
		char name[16];

		for (size_t i = 0; i < WIDE_FILES; i++) {
			snprintf(name, sizeof(name), "f%05zu", i);
			v[i] = mk(name, FS_FILE, 0644);
		}
		snprintf(name, sizeof(name), "e%zu", d);
		top[d] = mk_dir(r, name, 0755, v, WIDE_FILES);
	}
	free(v);
	treecodec_encode(top, WIDE_DIRS, &p, &len);
	put(r, IDX_BLOB_TREE, p, len, root);
	free(p);
	for (size_t d = 0; d < WIDE_DIRS; d++)
		fs_node_clear(&top[d]);
	flush(r);
	save_snapshot(r, root, (const char *const[]){ "/", NULL });
	repo_close(r);

	r = trepo_open(at("wide"));
	repo_set_workers(r, 0); /* no prefetching: the cursor's loads only */
	ck_assert_msg(find_snapshot(r, "latest", &m, NULL, &e) == 0, "%s",
	    e.msg);
	opts_init(&o);
	o.file_begin = wide_begin;
	o.file_data = wide_data;
	o.file_end = wide_end;
	o.interrupted = &wide_stop; /* stop at the first file */
	wide_stop = 0;
	trepo_count_reads(r);
	ck_assert_int_eq(rst_to_dir(r, m.tree, at("dst"), &o, &st, &e), -1);
	ck_assert_int_eq(e.class, ERR_INTERRUPTED);
	ck_assert_uint_eq(wide_reads, 4);
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

/*
 * What rst_opts.file_* are told: each regular file's content rebuilt from
 * file_data (holes left as zeros), each byte seen once.
 */
struct seen {
	char path[64];
	int data, ok;
	uint8_t *buf; /* node->size bytes */
	uint64_t size, pos, got;
};
struct hooked {
	struct seen v[16];
	size_t n;
	int open; /* between file_begin and file_end */
	uint64_t bytes;
};

static void
hk_begin(void *arg, const char *path, const struct fs_node *node, int data)
{
	struct hooked *h = arg;
	struct seen *f;

	ck_assert(!h->open);
	ck_assert_uint_lt(h->n, 16);
	f = &h->v[h->n++];
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->data = data;
	f->ok = -1;
	f->size = node->size;
	f->buf = calloc(1, node->size ? node->size : 1);
	h->open = 1;
}

static void
hk_data(void *arg, const uint8_t *p, size_t n, uint64_t off)
{
	struct hooked *h = arg;
	struct seen *f = &h->v[h->n - 1];

	ck_assert(h->open && f->data);
	ck_assert_uint_ge(off, f->pos); /* offsets only go up */
	ck_assert_uint_le(off + n, f->size);
	memcpy(f->buf + off, p, n);
	f->pos = off + n;
	f->got += n;
	h->bytes += n;
}

static void
hk_end(void *arg, int ok)
{
	struct hooked *h = arg;

	ck_assert(h->open);
	h->v[h->n - 1].ok = ok;
	h->open = 0;
}

static const struct seen *
hk_find(const struct hooked *h, const char *path)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].path, path) == 0)
			return (&h->v[i]);
	ck_abort_msg("the hook never heard of %s", path);
	return (NULL);
}

static void
hk_expect(const struct hooked *h, const char *path, const void *data,
    size_t len)
{
	const struct seen *f = hk_find(h, path);

	ck_assert_msg(f->data == (len > 0) && f->ok == 1, "%s: data %d ok %d",
	    path, f->data, f->ok);
	ck_assert_uint_eq(f->size, len);
	ck_assert_msg(len == 0 || memcmp(f->buf, data, len) == 0,
	    "%s: the hook saw other bytes", path);
}

START_TEST(test_file_hook)
{
	struct manifest m;
	struct repo *r = open_repo(&m);
	uint8_t *sparse = calloc(1, SPARSE_SZ);
	struct rst_stats st;
	struct rst_opts o;
	struct hooked h;
	struct err e;
	const struct seen *f;
	int fd;

	memcpy(sparse + (1 << 20), sparse_data, 8192);
	memcpy(sparse + (8 << 20), sparse_data + 8192, 3000);
	/* _i: 0 into a directory, 1 as a tar stream. */
	memset(&h, 0, sizeof(h));
	opts_init(&o);
	o.file_begin = hk_begin;
	o.file_data = hk_data;
	o.file_end = hk_end;
	o.file_arg = &h;
	if (_i == 0)
		ck_assert_msg(rst_to_dir(r, m.tree, at("dst"), &o, &st, &e) ==
		        0,
		    "%s", e.msg);
	else {
		ck_assert_int_ge(fd = open(at("out.tar"),
		                     O_WRONLY | O_CREAT | O_TRUNC, 0600),
		    0);
		ck_assert_msg(rst_to_tar(r, m.tree, fd, &o, &st, &e) == 0, "%s",
		    e.msg);
		close(fd);
	}
	ck_assert(!h.open);
	ck_assert_uint_eq(h.n, 11);
	ck_assert_uint_eq(st.files, 11);
	/* Each byte once: in tar mode the checking read is not shown. */
	ck_assert_uint_eq(h.bytes, st.bytes);
	hk_expect(&h, "/etc/big", big, sizeof(big));
	ck_assert_uint_eq(hk_find(&h, "/etc/big")->got, sizeof(big));
	hk_expect(&h, "/etc/empty", "", 0);
	hk_expect(&h, "/etc/fstab", fstab, strlen(fstab));
	hk_expect(&h, "/etc/hl1", hltext, strlen(hltext));
	hk_expect(&h, "/etc/xattr", "x", 1);
	hk_expect(&h, "/etc/lonely", lonely, strlen(lonely));
	hk_expect(&h, "/etc/ssh/key", hostkey, strlen(hostkey));
	hk_expect(&h, "/etc/ssh/sshd_config", sshd, strlen(sshd));
	hk_expect(&h, "/opt/app/conf/app.ini", appini, strlen(appini));
	hk_expect(&h, "/var/sparse", sparse, SPARSE_SZ);
	ck_assert_uint_eq(hk_find(&h, "/var/sparse")->got, sizeof(sparse_data));
	/* The second name of hl1's inode: a link, no data of its own. */
	f = hk_find(&h, "/etc/hl2");
	ck_assert(f->data == 0 && f->ok == 1 && f->got == 0);
	ck_assert_uint_lt((size_t)(hk_find(&h, "/etc/hl1") - h.v),
	    (size_t)(f - h.v));
	for (size_t i = 0; i < h.n; i++)
		free(h.v[i].buf);
	free(sparse);
	manifest_clear(&m);
	repo_close(r);
}
END_TEST

Suite *restore_suite(void);

Suite *
restore_suite(void)
{
	Suite *s = suite_create("restore");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_to_directory);
	tcase_add_test(tc, test_include_and_exclude);
	tcase_add_test(tc, test_paths_and_lookup);
	tcase_add_test(tc, test_file_to_descriptor);
	tcase_add_test(tc, test_tar_stream);
	tcase_add_test(tc, test_damaged_chunks);
	tcase_add_test(tc, test_missing_pack_and_listing);
	tcase_add_test(tc, test_stop_cuts_tar);
	tcase_add_test(tc, test_keepalive_runs_and_can_stop);
	tcase_add_test(tc, test_read_ahead_across_dirs);
	tcase_add_test(tc, test_read_ahead_bounded);
	tcase_add_test(tc, test_large_file_checked_first);
	tcase_add_loop_test(tc, test_file_hook, 0, 2);
	suite_add_tcase(s, tc);
	return (s);
}
