/*
 * The local-directory backend.  Files are published with lib/afile (temp,
 * fsync, rename, fsync dir); new directories are fsynced into their parent
 * so a crash cannot lose a published file's directory entry.
 */
#include <sys/types.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "store/store_impl.h"
#include "xmalloc.h"

/*
 * Packs kept open between reads: a restore reads a pack in many ranges,
 * from several reader threads, and an open and a close per range cost
 * more than the read on many small files.  A pack's name is the hash of
 * its bytes, so an open descriptor can never show other content under
 * that name; a remove or put through this store drops it all the same,
 * so that a removed file reads as missing here.  Only names under data/
 * are kept, at most LOCAL_FDS of them, and fewer under a low
 * RLIMIT_NOFILE (an eighth of it: `ulimit -n 16` keeps 2), so that a
 * restore still has descriptors for its directories and files.
 */
#define LOCAL_FDS 8

struct local_fd {
	char *name; /* NULL: a free slot */
	int fd;
	unsigned users;
	int dropped; /* removed or replaced: closed by its last user */
	uint64_t used;
};

struct local {
	char *root;
	pthread_mutex_t mu;
	struct local_fd fds[LOCAL_FDS];
	size_t nfds; /* slots in use: LOCAL_FDS, fewer under a low limit */
	uint64_t clock;
};

static char *
path_of(struct stor *st, const char *name)
{
	struct local *l = st->impl;

	return (xasprintf("%s/%s", l->root, name));
}

static int
read_fully(int fd, uint8_t *buf, size_t len, uint64_t off, const char *path,
    struct err *e)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n =
		    pread(fd, buf + done, len - done, (off_t)(off + done));

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (err_sys(e, ERR_IO, "read %s", path));
		if (n == 0)
			return (err_set(e, ERR_CORRUPT,
			    "%s is shorter than expected (%llu bytes wanted "
			    "at offset %llu)",
			    path, (unsigned long long)len,
			    (unsigned long long)off));
		done += (size_t)n;
	}
	return (0);
}

static int
local_get(struct stor *st, const char *name, size_t max, uint8_t **data,
    size_t *len, struct err *e)
{
	char *path = path_of(st, name);
	uint8_t *buf = NULL;
	struct stat sb;
	int fd = -1, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_sys(e, ERR_IO, "open %s", path);
		goto out;
	}
	if (fstat(fd, &sb) == -1) {
		err_sys(e, ERR_IO, "stat %s", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		err_set(e, ERR_CORRUPT,
		    "%s is %lld bytes, more than the %zu "
		    "expected",
		    path, (long long)sb.st_size, max);
		goto out;
	}
	buf = xmalloc((size_t)sb.st_size);
	if (read_fully(fd, buf, (size_t)sb.st_size, 0, path, e) == -1)
		goto out;
	*data = buf;
	*len = (size_t)sb.st_size;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd != -1)
		close(fd);
	free(path);
	return (rc);
}

static void
fd_slot_clear(struct local_fd *f)
{
	(void)close(f->fd);
	free(f->name);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

/* The kept descriptor of name, one more user counted; NULL: none. */
static struct local_fd *
fd_take(struct local *l, const char *name)
{
	struct local_fd *hit = NULL;

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->nfds; i++) {
		struct local_fd *f = &l->fds[i];

		if (f->name != NULL && !f->dropped &&
		    strcmp(f->name, name) == 0) {
			f->users++;
			f->used = ++l->clock;
			hit = f;
			break;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return (hit);
}

/* Done with f: the last user of a dropped descriptor closes it. */
static void
fd_give(struct local *l, struct local_fd *f)
{
	pthread_mutex_lock(&l->mu);
	if (--f->users == 0 && f->dropped)
		fd_slot_clear(f);
	pthread_mutex_unlock(&l->mu);
}

/*
 * Keep fd, just opened for name, in a free slot or in place of the one
 * used least long ago that nobody is reading; the slot, one user
 * counted, or NULL when every slot is busy (the caller closes fd).
 */
static struct local_fd *
fd_keep(struct local *l, const char *name, int fd)
{
	struct local_fd *best = NULL;

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->nfds; i++) {
		struct local_fd *f = &l->fds[i];

		if (f->name == NULL) {
			best = f;
			break;
		}
		if (f->users == 0 && (best == NULL || f->used < best->used))
			best = f;
	}
	if (best != NULL) {
		if (best->name != NULL)
			fd_slot_clear(best);
		best->name = xstrdup(name);
		best->fd = fd;
		best->users = 1;
		best->used = ++l->clock;
	}
	pthread_mutex_unlock(&l->mu);
	return (best);
}

/* name was removed or replaced through this store: keep it no longer. */
static void
fd_drop(struct local *l, const char *name)
{
	if (strncmp(name, "data/", 5) != 0)
		return;
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->nfds; i++) {
		struct local_fd *f = &l->fds[i];

		if (f->name == NULL || f->dropped || strcmp(f->name, name) != 0)
			continue;
		if (f->users == 0)
			fd_slot_clear(f);
		else
			f->dropped = 1;
	}
	pthread_mutex_unlock(&l->mu);
}

static int
local_get_range(struct stor *st, const char *name, uint64_t off, size_t len,
    uint8_t *buf, struct err *e)
{
	struct local *l = st->impl;
	int keep = strncmp(name, "data/", 5) == 0;
	struct local_fd *f = keep ? fd_take(l, name) : NULL;
	char *path = path_of(st, name);
	int fd, rc = -1;

	if (f != NULL)
		fd = f->fd;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_sys(e, ERR_IO, "open %s", path);
		goto out;
	} else if (keep)
		f = fd_keep(l, name, fd);
	rc = read_fully(fd, buf, len, off, path, e);
	if (f != NULL)
		fd_give(l, f);
	else
		close(fd);
out:
	free(path);
	return (rc);
}

/* mkdir -p for the parents of name, each new directory made durable. */
static int
make_parents(struct stor *st, const char *name, struct err *e)
{
	struct local *l = st->impl;
	char *path = xasprintf("%s/%s", l->root, name);
	size_t rootlen = strlen(l->root);
	int rc = -1;

	for (char *p = path + rootlen + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0700) == 0) {
			char *slash = strrchr(path, '/');

			*slash = '\0';
			if (afile_fsync_dir(path, e) == -1)
				goto out;
			*slash = '/';
		} else if (errno != EEXIST) {
			err_sys(e, ERR_IO, "mkdir %s", path);
			goto out;
		}
		*p = '/';
	}
	rc = 0;
out:
	free(path);
	return (rc);
}

/* lib/afile's flags for stor_put's. */
static int
afile_flags(int flags)
{
	return (((flags & STOR_NOREPLACE) ? AFILE_NOREPLACE : 0) |
	    ((flags & (STOR_NOSYNC | STOR_LATER)) ? AFILE_NOSYNC : 0));
}

static int
local_put(struct stor *st, const char *name, const uint8_t *data, size_t len,
    int flags, struct err *e)
{
	char *path = NULL;
	int rc = -1;

	if (strchr(name, '/') != NULL && make_parents(st, name, e) == -1)
		goto out;
	path = path_of(st, name);
	if (afile_write_all(path, data, len, 0600, afile_flags(flags), e) == -1)
		goto out;
	fd_drop(st->impl, name);
	rc = 0;
out:
	free(path);
	return (rc);
}

static int
local_put_stream(struct stor *st, const char *name, uint64_t len,
    const struct stor_reader *r, int flags, struct err *e)
{
	struct afile *af = NULL;
	uint8_t *buf = NULL;
	char *path = NULL;
	uint64_t off = 0;
	int rc = -1;

	if (strchr(name, '/') != NULL && make_parents(st, name, e) == -1)
		goto out;
	path = path_of(st, name);
	if (afile_open(path, 0600, afile_flags(flags), &af, e) == -1)
		goto out;
	buf =
	    xmalloc(len < STOR_STREAM_BUF ? (size_t)len + 1 : STOR_STREAM_BUF);
	while (off < len) {
		size_t n = len - off < STOR_STREAM_BUF ? (size_t)(len - off)
		                                       : STOR_STREAM_BUF;

		if (r->read(r->arg, off, buf, n, e) == -1 ||
		    afile_write(af, buf, n, e) == -1)
			goto out;
		off += n;
	}
	/* Checked before the rename: a refused file never gets its name. */
	if (r->done != NULL && r->done(r->arg, e) == -1)
		goto out;
	if (afile_commit(af, e) == -1)
		goto out;
	fd_drop(st->impl, name);
	rc = 0;
out:
	afile_free(af); /* removes the temp file unless committed */
	free(buf);
	free(path);
	return (rc);
}

/* stat of name: 0, 1 when it does not exist, -1 on other errors. */
static int
stat_name(struct stor *st, const char *name, struct stat *sb, struct err *e)
{
	char *path = path_of(st, name);
	int rc;

	if (stat(path, sb) == 0)
		rc = 0;
	else if (errno == ENOENT)
		rc = 1;
	else
		rc = err_sys(e, ERR_IO, "stat %s", path);
	free(path);
	return (rc);
}

static int
local_stat(struct stor *st, const char *name, uint64_t *size, struct err *e)
{
	struct stat sb;
	int rc;

	if ((rc = stat_name(st, name, &sb, e)) == 0)
		*size = (uint64_t)sb.st_size;
	return (rc);
}

static int
local_mtime(struct stor *st, const char *name, int64_t *mtime, struct err *e)
{
	struct stat sb;
	int rc;

	if ((rc = stat_name(st, name, &sb, e)) == 0)
		*mtime = (int64_t)sb.st_mtim.tv_sec;
	return (rc);
}

static int
list_dir(const char *root, const char *rel, int flags,
    int (*fn)(void *, const char *, uint64_t, int64_t), void *arg,
    struct err *e)
{
	char *path = xasprintf("%s/%s", root, rel);
	DIR *d = NULL;
	struct dirent *de;
	int rc = -1;

	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			rc = 0;
		else
			err_sys(e, ERR_IO, "list %s", path);
		goto out;
	}
	for (;;) {
		struct stat sb;
		char *child;
		int r;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				err_sys(e, ERR_IO, "list %s", path);
				goto out;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		/* Temp files, and anything else hidden, unless asked for. */
		if (de->d_name[0] == '.' && !(flags & STOR_LIST_DOT))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		    -1) {
			if (errno == ENOENT)
				continue; /* removed meanwhile */
			err_sys(e, ERR_IO, "stat %s/%s", path, de->d_name);
			goto out;
		}
		child = xasprintf("%s/%s", rel, de->d_name);
		if (S_ISDIR(sb.st_mode)) {
			/* Its files would be deeper than any repository's. */
			if (stor_name_depth(child) < STOR_LIST_DEPTH)
				r = list_dir(root, child, flags, fn, arg, e);
			else
				r = 0;
		} else if (S_ISREG(sb.st_mode))
			r = fn(arg, child, (uint64_t)sb.st_size,
			    (int64_t)sb.st_mtime);
		else
			r = 0;
		free(child);
		if (r != 0) {
			rc = r;
			goto out;
		}
	}
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	free(path);
	return (rc);
}

static int
local_list(struct stor *st, const char *dir, int flags,
    int (*fn)(void *, const char *, uint64_t, int64_t), void *arg,
    struct err *e)
{
	struct local *l = st->impl;

	return (list_dir(l->root, dir, flags, fn, arg, e));
}

static int
local_remove(struct stor *st, const char *name, struct err *e)
{
	char *path = path_of(st, name);
	int rc = 0;

	fd_drop(st->impl, name);
	if (unlink(path) == -1 && errno != ENOENT)
		rc = err_sys(e, ERR_IO, "remove %s", path);
	free(path);
	return (rc);
}

/*
 * STOR_LATER: one syncfs for the puts that skipped their fsyncs (data,
 * names and directories alike; Linux reports a writeback error of the
 * file system here since 5.8).
 */
static int
local_sync(struct stor *st, struct err *e)
{
	struct local *l = st->impl;
	int fd, rc = 0;

	if ((fd = open(l->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (err_sys(e, ERR_IO, "open %s", l->root));
	if (syncfs(fd) == -1)
		rc = err_sys(e, ERR_IO, "sync the file system of %s", l->root);
	(void)close(fd);
	return (rc);
}

static void
local_close(struct stor *st)
{
	struct local *l = st->impl;

	for (size_t i = 0; i < LOCAL_FDS; i++)
		if (l->fds[i].name != NULL)
			fd_slot_clear(&l->fds[i]);
	pthread_mutex_destroy(&l->mu);
	free(l->root);
	free(l);
}

static const struct stor_ops local_ops = {
	.get = local_get,
	.get_range = local_get_range,
	.put = local_put,
	.put_stream = local_put_stream,
	.stat = local_stat,
	.mtime = local_mtime,
	.list = local_list,
	.remove = local_remove,
	.sync = local_sync,
	.close = local_close,
};

int
stor_local_open(const char *path, int create, struct stor **out, struct err *e)
{
	struct stor *st;
	struct local *l;
	struct rlimit rl;
	struct stat sb;
	size_t n = strlen(path);

	*out = NULL;
	if (n == 0)
		return (err_set(e, ERR_USAGE, "empty repository path"));
	if (stat(path, &sb) == -1) {
		if (errno != ENOENT || !create)
			return (
			    err_sys(e, errno == ENOENT ? ERR_NOREPO : ERR_IO,
			        errno == ENOENT ? "no repository at %s"
			                        : "repository %s",
			        path));
		if (mkdir(path, 0700) == -1)
			return (err_sys(e, ERR_IO, "create %s", path));
	} else if (!S_ISDIR(sb.st_mode))
		return (err_set(e, ERR_NOREPO,
		    "repository %s is not a "
		    "directory",
		    path));
	l = xcalloc(1, sizeof(*l));
	while (n > 1 && path[n - 1] == '/')
		n--;
	/*
	 * Absolute, so that no file of the store depends on the working
	 * directory: a restore through libarchive changes it while reader
	 * threads open packs (lib/fs/extract.h).
	 */
	if (path[0] == '/')
		l->root = xstrndup(path, n);
	else {
		char *cwd = getcwd(NULL, 0);

		if (cwd == NULL) {
			free(l);
			return (err_sys(e, ERR_IO,
			    "repository %s: the current directory", path));
		}
		l->root = xasprintf("%s/%.*s", cwd, (int)n, path);
		free(cwd);
	}
	pthread_mutex_init(&l->mu, NULL);
	for (size_t i = 0; i < LOCAL_FDS; i++)
		l->fds[i].fd = -1;
	l->nfds = LOCAL_FDS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 8 < LOCAL_FDS)
		l->nfds = (size_t)(rl.rlim_cur / 8);
	st = xcalloc(1, sizeof(*st));
	st->ops = &local_ops;
	st->location = xstrdup(path);
	st->impl = l;
	*out = st;
	return (0);
}
