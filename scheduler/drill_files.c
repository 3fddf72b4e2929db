/*
 * The directory and sqlite targets of a drill (drill_impl.h): restore,
 * verify every entry against the snapshot or PRAGMA integrity_check, run
 * SQL checks on SQLite, and remove trees the drill wrote.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "repo/chunker.h"
#include "repo/key.h"
#include "repo/repo.h"
#include "repo/tree.h"
#include "restore/restore.h"
#include "scheduler/drill_impl.h"
#include "xmalloc.h"

/* ------------------------------------------------------ removing trees */

/*
 * Remove name (at dfd) and, when it is a directory, all below it, never
 * following a symlink or leaving the file system dev.  Directories are
 * made writable first (a restored 0555 directory).  -1 with errno at the
 * first failure; what could be removed is.
 */
static int
rm_at(int dfd, const char *name, dev_t dev)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0, saved = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISDIR(st.st_mode))
		return (
		    unlinkat(dfd, name, 0) == -1 && errno != ENOENT ? -1 : 0);
	if (st.st_dev != dev) {
		errno = EXDEV;
		return (-1);
	}
	if ((st.st_mode & 0700) != 0700) {
		/* Best effort: the openat below says whether it mattered. */
		int made_ours =
		    fchmodat(dfd, name, (st.st_mode & 07777) | 0700, 0);

		(void)made_ours;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_at(dirfd(d), de->d_name, dev) == -1 && rc == 0) {
			saved = errno;
			rc = -1;
		}
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT &&
	    rc == 0) {
		saved = errno;
		rc = -1;
	}
	errno = saved;
	return (rc);
}

/* Remove path and all below it; with keep, only what is below it. */
int
drill_rm_tree(const char *path, int keep, struct err *e)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (lstat(path, &st) == -1)
		return (errno == ENOENT ? 0 : err_sys(e, ERR_IO, "%s", path));
	if (!keep) {
		if (rm_at(AT_FDCWD, path, st.st_dev) == -1)
			return (err_sys(e, ERR_IO, "removing %s", path));
		return (0);
	}
	if ((d = opendir(path)) == NULL)
		return (err_sys(e, ERR_IO, "%s", path));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_at(dirfd(d), de->d_name, st.st_dev) == -1 && rc == 0)
			rc = err_sys(e, ERR_IO, "removing %s/%s", path,
			    de->d_name);
	}
	closedir(d);
	return (rc);
}

/* Entries below path (not path itself); -1 when it cannot be read. */
static long
count_tree(int dfd, const char *name)
{
	struct dirent *de;
	struct stat st;
	long n = 0, k;
	DIR *d;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        0 &&
		    S_ISDIR(st.st_mode)) {
			if ((k = count_tree(dirfd(d), de->d_name)) == -1) {
				n = -1;
				break;
			}
			n += k;
		}
	}
	closedir(d);
	return (n);
}

/* ------------------------------------------------ verifying a directory */

struct verify {
	struct crypto_hmac *mac;
	struct chunker *ck;
	uint8_t *buf;
	size_t bufsz;
	int root; /* we are root: owners were restored */
	uint64_t entries, bad, bytes;
	char first[ERR_MSG_MAX];
	struct log *log;
};

static void mismatch(struct verify *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
mismatch(struct verify *v, const char *path, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (v->bad == 0)
		snprintf(v->first, sizeof(v->first), "%s: %s", path, what);
	if (v->bad < VERIFY_LOG_MAX)
		log_error(v->log, "drill: %s: %s", path, what);
	v->bad++;
}

static unsigned
fs_type_ifmt(enum fs_type t)
{
	switch (t) {
	case FS_FILE:
		return (S_IFREG);
	case FS_DIR:
		return (S_IFDIR);
	case FS_SYMLINK:
		return (S_IFLNK);
	case FS_FIFO:
		return (S_IFIFO);
	case FS_CHR:
		return (S_IFCHR);
	case FS_BLK:
		return (S_IFBLK);
	case FS_SOCK:
		return (S_IFSOCK);
	}
	return (0);
}

/*
 * The owner a restore as root gives n: by name when this host knows the
 * name (libarchive's rule without --numeric-owner), else by number.
 */
static void
expected_owner(const struct fs_node *n, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[4096];

	*uid = n->uid;
	*gid = n->gid;
	if (n->user != NULL &&
	    getpwnam_r(n->user, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL)
		*uid = pwp->pw_uid;
	if (n->group != NULL &&
	    getgrnam_r(n->group, &gr, buf, sizeof(buf), &grp) == 0 &&
	    grp != NULL)
		*gid = grp->gr_gid;
}

/* The id of the chunk just scanned, checked against chunk k of n. */
static int
chunk_done(struct verify *v, const struct fs_node *n, size_t *k)
{
	uint8_t id[CRYPTO_HASH_LEN];
	int ok;

	crypto_hmac_final(v->mac, id);
	ok = *k < n->nchunks && memcmp(id, n->chunks[*k], sizeof(id)) == 0;
	(*k)++;
	crypto_hmac_begin(v->mac);
	return (ok);
}

/*
 * Do the bytes of the file at fd give the chunk ids n names?  Its data
 * stream is what the snapshot chunked: the extents of a sparse file, else
 * all of it.  1 yes, 0 no (what filled), -1 a read error (errno).
 */
static int
content_ok(struct verify *v, int fd, const struct fs_node *n, char *what,
    size_t whatlen)
{
	struct fs_extent dense = { 0, n->size };
	const struct fs_extent *ext = n->nsparse > 0 ? n->sparse : &dense;
	size_t next = n->nsparse > 0 ? n->nsparse : 1, k = 0;
	int same = 1;

	chunker_reset(v->ck);
	crypto_hmac_begin(v->mac);
	for (size_t i = 0; i < next && same; i++) {
		uint64_t off = ext[i].offset, left = ext[i].length;

		while (left > 0 && same) {
			size_t want = left < v->bufsz ? (size_t)left : v->bufsz;
			ssize_t got = pread(fd, v->buf, want, (off_t)off);
			const uint8_t *p = v->buf;
			size_t rest;

			if (got == -1 && errno == EINTR)
				continue;
			if (got == -1)
				return (-1);
			if (got == 0) {
				snprintf(what, whatlen,
				    "shorter than the snapshot's %llu bytes",
				    (unsigned long long)n->size);
				return (0);
			}
			off += (uint64_t)got;
			left -= (uint64_t)got;
			v->bytes += (uint64_t)got;
			for (rest = (size_t)got; rest > 0 && same;) {
				int cut;
				size_t take =
				    chunker_scan(v->ck, p, rest, &cut);

				crypto_hmac_update(v->mac, p, take);
				p += take;
				rest -= take;
				if (cut)
					same = chunk_done(v, n, &k);
			}
		}
	}
	if (same && chunker_finish(v->ck) > 0)
		same = chunk_done(v, n, &k);
	else if (!same)
		chunker_reset(v->ck);
	if (same && k != n->nchunks)
		same = 0;
	if (!same)
		snprintf(what, whatlen,
		    "its bytes differ from the snapshot's (chunk %zu of %zu)",
		    k, n->nchunks);
	return (same);
}

static void
verify_node(struct verify *v, const struct fs_node *n, const char *path,
    const char *disk)
{
	struct stat st;
	char what[300], *link = NULL;
	uid_t uid;
	gid_t gid;
	int fd, ok;

	if (lstat(disk, &st) == -1) {
		mismatch(v, path, "not restored (%s)", strerror(errno));
		return;
	}
	if ((st.st_mode & S_IFMT) != fs_type_ifmt(n->type)) {
		mismatch(v, path,
		    "restored as another kind of entry than the "
		    "snapshot's %s",
		    fs_type_name(n->type));
		return;
	}
	if (n->type != FS_SYMLINK &&
	    (st.st_mode & 07777) != (n->mode & 07777)) {
		mismatch(v, path, "mode %04o, the snapshot has %04o",
		    (unsigned)(st.st_mode & 07777),
		    (unsigned)(n->mode & 07777));
		return;
	}
	if (v->root) {
		expected_owner(n, &uid, &gid);
		if (st.st_uid != uid || st.st_gid != gid) {
			mismatch(v, path,
			    "owner %u:%u, the snapshot has %u:%u (%s:%s)",
			    (unsigned)st.st_uid, (unsigned)st.st_gid,
			    (unsigned)uid, (unsigned)gid,
			    n->user ? n->user : "?", n->group ? n->group : "?");
			return;
		}
	}
	if (n->type != FS_SYMLINK &&
	    ((int64_t)st.st_mtim.tv_sec != n->mtime.sec ||
	        (uint32_t)st.st_mtim.tv_nsec != n->mtime.nsec)) {
		mismatch(v, path,
		    "mtime %lld.%09ld, the snapshot has %lld.%09u",
		    (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
		    (long long)n->mtime.sec, n->mtime.nsec);
		return;
	}
	if (n->type == FS_SYMLINK) {
		size_t cap = (size_t)st.st_size + 2;
		ssize_t got;

		link = xmalloc(cap);
		got = readlink(disk, link, cap);
		if (got < 0 || (size_t)got >= cap || n->symlink == NULL ||
		    strlen(n->symlink) != (size_t)got ||
		    memcmp(link, n->symlink, (size_t)got) != 0)
			mismatch(v, path,
			    "symlink target differs from the snapshot's");
		free(link);
		return;
	}
	if (n->type != FS_FILE)
		return;
	if ((uint64_t)st.st_size != n->size) {
		mismatch(v, path, "size %llu, the snapshot has %llu",
		    (unsigned long long)st.st_size,
		    (unsigned long long)n->size);
		return;
	}
	if ((fd = open(disk, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		mismatch(v, path, "cannot be read (%s)", strerror(errno));
		return;
	}
	what[0] = '\0';
	ok = content_ok(v, fd, n, what, sizeof(what));
	close(fd);
	if (ok == -1)
		mismatch(v, path, "cannot be read (%s)", strerror(errno));
	else if (ok == 0)
		mismatch(v, path, "%s", what);
}

/*
 * Every entry of the tree root against what sits under target, then the
 * count of what is there: nothing more may be.  -1 only when the walk
 * itself fails (a tree cannot be read, interrupted); mismatches are
 * counted in v.
 */
static int
verify_dir(struct run *u, struct repo *r, const uint8_t root[IDX_ID_LEN],
    const char *target, struct verify *v, struct err *e)
{
	struct tree_reader *tr = tree_reader_new(r);
	struct tree_iter *it = tree_iter_new(tr, root, "");
	const struct fs_node *n;
	const char *path;
	uint64_t sockets = 0;
	long ondisk;
	int got, rc = -1;

	v->mac = crypto_hmac_new(key_master_id_key(repo_master(r)),
	    KEY_SECRET_LEN, e);
	if (v->mac == NULL ||
	    (v->ck = chunker_new(repo_chunker_params(r), repo_gear(r), e)) ==
	        NULL)
		goto out;
	v->bufsz = 1 << 20;
	v->buf = xmalloc(v->bufsz);
	v->root = geteuid() == 0;
	while ((got = tree_iter_next(it, &n, &path, e)) == 1) {
		char *disk;

		if (drill_interrupted(u)) {
			err_set(e, ERR_INTERRUPTED, "interrupted");
			goto out;
		}
		if (n->type == FS_SOCK) {
			sockets++; /* restore leaves sockets out */
			continue;
		}
		disk = xasprintf("%s%s", target, path);
		verify_node(v, n, path, disk);
		free(disk);
		v->entries++;
	}
	if (got == -1)
		goto out;
	(void)sockets;
	ondisk = count_tree(AT_FDCWD, target);
	if (ondisk == -1) {
		err_sys(e, ERR_IO, "%s", target);
		goto out;
	}
	if ((uint64_t)ondisk > v->entries)
		mismatch(v, target,
		    "%llu entries there that the snapshot does not hold",
		    (unsigned long long)((uint64_t)ondisk - v->entries));
	rc = 0;
out:
	tree_iter_free(it);
	tree_reader_free(tr);
	crypto_hmac_free(v->mac);
	chunker_free(v->ck);
	free(v->buf);
	v->mac = NULL;
	v->ck = NULL;
	v->buf = NULL;
	return (rc);
}

void
drill_verify_dir(struct run *u, struct repo *r, const uint8_t root[IDX_ID_LEN])
{
	struct timespec t;
	struct verify v;
	struct err e;

	clock_gettime(CLOCK_MONOTONIC, &t);
	memset(&v, 0, sizeof(v));
	v.log = u->o->log;
	err_clear(&e);
	if (verify_dir(u, r, root, u->sp->arg, &v, &e) == -1)
		drill_stage_fail(u, DRILL_VERIFY, &t, &e);
	else if (v.bad > 0) {
		err_set(&e, ERR_CORRUPT,
		    "%llu of %llu entries differ from the snapshot; "
		    "the "
		    "first: %s",
		    (unsigned long long)v.bad, (unsigned long long)v.entries,
		    v.first);
		drill_stage_fail(u, DRILL_VERIFY, &t, &e);
	} else
		drill_stage_set(u, DRILL_VERIFY, DRILL_OK, &t,
		    "%llu entries and %llu bytes as in the snapshot",
		    (unsigned long long)v.entries, (unsigned long long)v.bytes);
	drill_check_add(u, DRILL_VERIFY,
	    u->res->stages[DRILL_VERIFY].status == DRILL_OK, &t,
	    "every entry against the snapshot",
	    u->res->stages[DRILL_VERIFY].status == DRILL_OK
	        ? NULL
	        : u->res->stages[DRILL_VERIFY].msg);
}

struct events {
	uint64_t n;
	char first[ERR_MSG_MAX];
	struct log *log;
};

static void
on_event(void *arg, enum rst_event ev, const char *path, const struct err *e)
{
	struct events *ev_ = arg;

	if (ev == RST_SKIPPED || ev == RST_INCONSISTENT)
		return;
	if (ev_->n == 0)
		snprintf(ev_->first, sizeof(ev_->first), "%.200s: %.300s", path,
		    e->msg);
	if (ev_->n < VERIFY_LOG_MAX)
		log_error(ev_->log, "drill: %s: not restored as it was: %s",
		    path, e->msg);
	ev_->n++;
}

/* The restore stage for a directory target. */
int
drill_restore_dir(struct run *u, struct repo *r,
    const struct rst_selection *sel, struct err *e)
{
	struct events ev = { 0, "", u->o->log };
	struct rst_stats st;
	struct rst_opts ro;

	memset(&ro, 0, sizeof(ro));
	ro.flags = FS_EXTRACT_NO_OWNER_WHEN_NOT_ROOT;
	ro.report = on_event;
	ro.report_arg = &ev;
	ro.interrupted = u->o->interrupted;
	ro.keepalive = drill_refresh_lock;
	ro.keepalive_arg = r;
	if (rst_to_dir(r, sel->root, u->sp->arg, &ro, &st, e) == -1) {
		u->res->bytes = st.bytes;
		return (-1);
	}
	u->res->bytes = st.bytes;
	u->res->files = st.files + st.dirs + st.others;
	if (st.errors > 0 || st.warnings > 0)
		return (err_set(e, st.damaged > 0 ? ERR_CORRUPT : ERR_IO,
		    "%llu entries not restored (%llu of them damaged), %llu "
		    "without some metadata; the first: %s",
		    (unsigned long long)st.errors,
		    (unsigned long long)st.damaged,
		    (unsigned long long)st.warnings, ev.first));
	return (0);
}

int
drill_restore_sqlite(struct run *u, struct repo *r,
    const struct rst_selection *sel, struct err *e)
{
	const char *base = strrchr(sel->file, '/');
	struct rst_stats st;
	struct rst_opts ro;
	int fd, rc;

	snprintf(u->res->target, sizeof(u->res->target), "%s/%s", u->work,
	    base != NULL ? base + 1 : sel->file);
	if ((fd = open(u->res->target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	         0600)) == -1)
		return (err_sys(e, ERR_IO, "%s", u->res->target));
	memset(&ro, 0, sizeof(ro));
	ro.interrupted = u->o->interrupted;
	ro.keepalive = drill_refresh_lock;
	ro.keepalive_arg = r;
	rc = rst_file_to_fd(r, sel->root, sel->file, fd, &ro, &st, e);
	u->res->bytes = st.bytes;
	if (close(fd) == -1 && rc == 0)
		rc = err_sys(e, ERR_IO, "%s", u->res->target);
	return (rc);
}

void
drill_verify_sqlite(struct run *u)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct timespec t;
	char msg[ERR_MSG_MAX];
	int rc, bad = 0;

	clock_gettime(CLOCK_MONOTONIC, &t);
	msg[0] = '\0';
	if (sqlite3_open_v2(u->res->target, &db, SQLITE_OPEN_READONLY, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) !=
	        SQLITE_OK) {
		snprintf(msg, sizeof(msg), "%.200s: %.300s", u->res->target,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		bad = 1;
	} else {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *v =
			    (const char *)sqlite3_column_text(st, 0);

			if (v == NULL || strcmp(v, "ok") != 0) {
				if (!bad)
					snprintf(msg, sizeof(msg),
					    "PRAGMA integrity_check: %s",
					    v != NULL ? v : "NULL");
				bad = 1;
			}
		}
		if (rc != SQLITE_DONE && !bad) {
			snprintf(msg, sizeof(msg), "PRAGMA integrity_check: %s",
			    sqlite3_errmsg(db));
			bad = 1;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	drill_check_add(u, DRILL_VERIFY, !bad, &t, "PRAGMA integrity_check",
	    msg);
	if (bad) {
		drill_stage_set(u, DRILL_VERIFY, DRILL_FAILED, &t, "%s", msg);
		if (u->res->class == ERR_NONE)
			u->res->class = ERR_CORRUPT;
	} else
		drill_stage_set(u, DRILL_VERIFY, DRILL_OK, &t,
		    "PRAGMA integrity_check: ok");
}

/* One SQL check on the restored SQLite file: 1 pass, 0 fail (why). */
int
drill_sqlite_check(const char *path, const char *sql, char *why, size_t whylen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ok = 0, rc;

	why[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s",
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		snprintf(why, whylen, "%s",
		    rc == SQLITE_DONE ? "it returned no row"
		                      : sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_column_count(st) != 1) {
		snprintf(why, whylen, "its row has %d columns, not one",
		    sqlite3_column_count(st));
		goto out;
	}
	{
		const char *v = (const char *)sqlite3_column_text(st, 0);

		if (v == NULL || !drill_sql_true(v)) {
			snprintf(why, whylen, "its value is '%.64s', not true",
			    v != NULL ? v : "NULL");
			goto out;
		}
	}
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		snprintf(why, whylen, "%s",
		    rc == SQLITE_ROW ? "it returned more than one row"
		                     : sqlite3_errmsg(db));
		goto out;
	}
	ok = 1;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (ok);
}

/* Is the directory target absent (0), empty (1), or neither (-1, why)? */
int
drill_dir_state(const char *path, char *why, size_t whylen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return (0);
		snprintf(why, whylen, "%s", strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "not a directory");
		return (-1);
	}
	if ((d = opendir(path)) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	if (n > 0) {
		snprintf(why, whylen, "it holds %d entr%s", n,
		    n == 1 ? "y" : "ies");
		return (-1);
	}
	return (1);
}
