/*
 * Safe publishing: temp file in the final directory, fsync, rename, fsync
 * of the directory.  All names are resolved against a descriptor of the
 * directory taken at open, so a chdir() or a rename of a parent in between
 * cannot make the commit land somewhere else.
 */
#include "afile.h"

#include <sys/types.h>

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

#define AFILE_TMP_TRIES 100

enum afile_state {
	AFILE_OPEN,
	AFILE_POISONED, /* a write failed: never publish */
	AFILE_COMMITTED,
	AFILE_ABORTED,
};

struct afile {
	char *path; /* final path, as given */
	char *dir;  /* its directory, for messages */
	char *base; /* final name in dirfd */
	char *tmp;  /* temporary name in dirfd */
	int dirfd;
	int fd;
	mode_t mode;
	int flags;
	enum afile_state state;
};

/*
 * Six characters for the temporary name.  Only uniqueness matters (O_EXCL
 * catches a clash and we retry), so the clock is good enough when
 * getrandom is unavailable.
 */
static void
afile_suffix(char out[7])
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[6];

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
		    ((uint64_t)getpid() << 20);
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(x >> (8 * i));
	}
	for (size_t i = 0; i < sizeof(r); i++)
		out[i] = set[r[i] % (sizeof(set) - 1)];
	out[6] = '\0';
}

int
afile_open(const char *path, mode_t mode, int flags, struct afile **out,
    struct err *e)
{
	struct afile *af = NULL;
	const char *slash;
	int rc = -1;

	*out = NULL;
	if ((flags & ~(AFILE_NOREPLACE | AFILE_NOSYNC)) != 0)
		return (err_set(e, ERR_INTERNAL, "create %s: bad flags %#x",
		    path, (unsigned)flags));
	af = xcalloc(1, sizeof(*af));
	af->dirfd = -1;
	af->fd = -1;
	af->mode = mode & 07777;
	af->flags = flags;
	af->state = AFILE_ABORTED; /* nothing to clean up yet */
	af->path = xstrdup(path);
	if ((slash = strrchr(path, '/')) == NULL) {
		af->dir = xstrdup(".");
		af->base = xstrdup(path);
	} else {
		af->dir = slash == path
		    ? xstrdup("/")
		    : xstrndup(path, (size_t)(slash - path));
		af->base = xstrdup(slash + 1);
	}
	if (af->base[0] == '\0' || strcmp(af->base, ".") == 0 ||
	    strcmp(af->base, "..") == 0) {
		err_set(e, ERR_USAGE, "create %s: not a file name", path);
		goto out;
	}
	af->dirfd = open(af->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (af->dirfd == -1) {
		err_sys(e, ERR_IO, "create %s: directory %s", path, af->dir);
		goto out;
	}
	for (int i = 0; i < AFILE_TMP_TRIES; i++) {
		char sfx[7];

		afile_suffix(sfx);
		free(af->tmp);
		af->tmp = xasprintf(".%s.tmp.%s", af->base, sfx);
		/* 0600 while written: a secret is never readable by others,
		 * not even for a moment. */
		af->fd = openat(af->dirfd, af->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (af->fd != -1 || errno != EEXIST)
			break;
	}
	if (af->fd == -1) {
		err_sys(e, ERR_IO, "create %s", path);
		goto out;
	}
	af->state = AFILE_OPEN;
	*out = af;
	af = NULL;
	rc = 0;
out:
	afile_free(af);
	return (rc);
}

int
afile_write(struct afile *af, const void *buf, size_t len, struct err *e)
{
	const unsigned char *p = buf;

	if (af->state != AFILE_OPEN)
		return (err_set(e, ERR_INTERNAL, "write %s: %s", af->path,
		    af->state == AFILE_POISONED ? "an earlier write failed"
		                                : "file no longer open"));
	while (len > 0) {
		ssize_t n = write(af->fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0) /* cannot happen on a regular file */
				errno = EIO;
			af->state = AFILE_POISONED;
			return (err_sys(e, ERR_IO, "write %s", af->path));
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* fsync a directory descriptor; EINVAL: this file system cannot. */
static int
afile_sync_dirfd(int fd)
{
	if (fsync(fd) == -1 && errno != EINVAL)
		return (-1);
	return (0);
}

static int
afile_exists(struct afile *af, struct err *e)
{
	err_set(e, ERR_IO, "%s already exists; not replaced", af->path);
	e->sys_errno = EEXIST;
	return (-1);
}

/* Move the complete temporary file to its final name. */
static int
afile_publish(struct afile *af, struct err *e)
{
	if ((af->flags & AFILE_NOREPLACE) == 0) {
		if (renameat(af->dirfd, af->tmp, af->dirfd, af->base) == -1)
			return (err_sys(e, ERR_IO, "rename to %s", af->path));
		return (0);
	}
	if (renameat2(af->dirfd, af->tmp, af->dirfd, af->base,
	        RENAME_NOREPLACE) == 0)
		return (0);
	if (errno == EEXIST)
		return (afile_exists(af, e));
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return (err_sys(e, ERR_IO, "rename to %s", af->path));
	/*
	 * The file system cannot rename without replacing (NFS, some FUSE):
	 * link() refuses an existing name just as atomically.
	 */
	if (linkat(af->dirfd, af->tmp, af->dirfd, af->base, 0) == -1) {
		if (errno == EEXIST)
			return (afile_exists(af, e));
		return (err_sys(e, ERR_IO, "link to %s", af->path));
	}
	/*
	 * Published.  If the temporary name cannot be dropped it is only a
	 * second name of the same complete file: not worth failing for.
	 */
	(void)unlinkat(af->dirfd, af->tmp, 0);
	return (0);
}

int
afile_commit(struct afile *af, struct err *e)
{
	int fd, rc = -1;

	if (af->state != AFILE_OPEN)
		return (err_set(e, ERR_INTERNAL, "publish %s: %s", af->path,
		    af->state == AFILE_POISONED
		        ? "an earlier write failed"
		        : "already committed or aborted"));
	if (fchmod(af->fd, af->mode) == -1) {
		err_sys(e, ERR_IO, "chmod %s", af->path);
		goto out;
	}
	if (!(af->flags & AFILE_NOSYNC) && fsync(af->fd) == -1) {
		err_sys(e, ERR_IO, "fsync %s", af->path);
		goto out;
	}
	fd = af->fd;
	af->fd = -1;
	/* On NFS a deferred write error shows up here.  Linux releases the
	 * descriptor even on EINTR, and the data is already synced. */
	if (close(fd) == -1 && errno != EINTR) {
		err_sys(e, ERR_IO, "close %s", af->path);
		goto out;
	}
	if (afile_publish(af, e) == -1)
		goto out;
	af->state = AFILE_COMMITTED;
	if (!(af->flags & AFILE_NOSYNC) && afile_sync_dirfd(af->dirfd) == -1) {
		err_sys(e, ERR_IO,
		    "fsync directory %s (%s is in place but may not survive "
		    "a crash)",
		    af->dir, af->base);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		afile_abort(af);
	return (rc);
}

void
afile_abort(struct afile *af)
{
	int saved = errno;

	if (af == NULL ||
	    (af->state != AFILE_OPEN && af->state != AFILE_POISONED))
		return;
	if (af->fd != -1)
		(void)close(af->fd);
	af->fd = -1;
	(void)unlinkat(af->dirfd, af->tmp, 0);
	af->state = AFILE_ABORTED;
	errno = saved;
}

void
afile_free(struct afile *af)
{
	if (af == NULL)
		return;
	afile_abort(af);
	if (af->dirfd != -1)
		(void)close(af->dirfd);
	free(af->path);
	free(af->dir);
	free(af->base);
	free(af->tmp);
	free(af);
}

const char *
afile_path(const struct afile *af)
{
	return (af->path);
}

int
afile_write_all(const char *path, const void *data, size_t len, mode_t mode,
    int flags, struct err *e)
{
	struct afile *af = NULL;
	int rc = -1;

	if (afile_open(path, mode, flags, &af, e) == -1)
		goto out;
	if (afile_write(af, data, len, e) == -1)
		goto out;
	if (afile_commit(af, e) == -1)
		goto out;
	rc = 0;
out:
	afile_free(af);
	return (rc);
}

int
afile_fsync_dir(const char *path, struct err *e)
{
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (err_sys(e, ERR_IO, "open directory %s", path));
	if (afile_sync_dirfd(fd) == -1) {
		err_sys(e, ERR_IO, "fsync directory %s", path);
		goto out;
	}
	rc = 0;
out:
	(void)close(fd);
	return (rc);
}
