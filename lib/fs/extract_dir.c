/*
 * Restoring files, directories, symlinks and hard links relative to
 * directory descriptors (see extract_dir.h): no path is ever resolved from
 * the working directory, and no symlink is followed on the way to an
 * entry, whether it was there before or planted during the restore.
 */
#include "fs/extract_dir.h"

#include <sys/types.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/extract.h"
#include "xmalloc.h"

#define SHOW(p) (strlen(p) > 160 ? "..." : ""), show_tail(p)

static const char *
show_tail(const char *p)
{
	size_t n = strlen(p);

	return (n > 160 ? p + n - 160 : p);
}

/* An owner name and the id it has here (found 0: unknown, keep the id). */
struct owner {
	char *name;
	uint32_t id;
	int found;
};

/* A directory made or met here: owner, mode and times at close. */
struct fixup {
	char *path;
	uint32_t mode;
	uint32_t uid, gid;
	struct timespec ts[2];
};

struct exdir {
	int target_fd;
	unsigned flags;
	int owner;      /* restore owners */
	int no_openat2; /* the kernel has none, or a test said so */
	uid_t euid;
	gid_t egid;
	/*
	 * Every file is made in a directory made by this restore, none of
	 * them set-group-id until close: a new file has our ids already.
	 */
	int ours_at_birth;

	/* fds[i]: the directory spath[0 .. ends[i]); fds[0] the target. */
	int fds[EXDIR_DEPTH + 1];
	size_t ends[EXDIR_DEPTH + 1];
	size_t depth;
	size_t max_depth; /* EXDIR_DEPTH, less under a low RLIMIT_NOFILE */
	char *spath;
	size_t scap;
	int deep_fd; /* the current directory, when deeper than the stack */
	char *deep_path;

	struct owner *users, *groups;
	size_t nusers, ngroups;

	struct fixup *fix;
	size_t nfix, fix_cap;

	/* The current entry. */
	int fd;  /* the file being written, or -1 */
	int dfd; /* its directory (one of the above: not ours to close) */
	const char *name;
	char *path;
	enum fs_type type;
	int linked; /* a hard link: nothing to apply */
	uint32_t mode, uid, gid;
	struct timespec ts[2];
	uint64_t size, end;
};

struct exdir *
exdir_new(int target_fd, unsigned flags, int no_openat2)
{
	struct exdir *xd = xcalloc(1, sizeof(*xd));
	struct rlimit rl;
	struct stat st;

	xd->target_fd = target_fd;
	xd->flags = flags;
	xd->euid = geteuid();
	xd->egid = getegid();
	xd->ours_at_birth = !(flags & FS_EXTRACT_OVERWRITE) &&
	    fstat(target_fd, &st) == 0 && !(st.st_mode & S_ISGID);
	xd->owner =
	    xd->euid == 0 || !(flags & FS_EXTRACT_NO_OWNER_WHEN_NOT_ROOT);
	xd->no_openat2 = no_openat2;
	xd->fds[0] = target_fd;
	/*
	 * A quarter of the descriptors this process may open, so that a
	 * restore of a deep tree under `ulimit -n 32` leaves the rest to
	 * the repository's packs and threads.
	 */
	xd->max_depth = EXDIR_DEPTH;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 < EXDIR_DEPTH)
		xd->max_depth =
		    rl.rlim_cur / 4 > 1 ? (size_t)(rl.rlim_cur / 4) : 1;
	xd->scap = 256;
	xd->spath = xcalloc(1, xd->scap);
	xd->deep_fd = -1;
	xd->fd = -1;
	xd->dfd = -1;
	return (xd);
}

int
exdir_handles(const struct fs_node *n)
{
	if (n->nxattrs > 0 || n->acl_access != NULL || n->acl_default != NULL ||
	    n->acl_nfs4 != NULL || n->fflags != NULL)
		return (0);
	return (
	    n->type == FS_FILE || n->type == FS_DIR || n->type == FS_SYMLINK);
}

/* Keep the levels up to k (0: the target only). */
static void
pop_to(struct exdir *xd, size_t k)
{
	while (xd->depth > k) {
		close(xd->fds[xd->depth]);
		xd->depth--;
	}
	xd->spath[xd->ends[k]] = '\0';
	if (xd->deep_fd != -1) {
		close(xd->deep_fd);
		xd->deep_fd = -1;
		free(xd->deep_path);
		xd->deep_path = NULL;
	}
}

static int
refuse_in_way(const char *dir, const char *comp, struct err *e)
{
	return (err_set(e, ERR_CORRUPT,
	    "refusing to restore into \"%s\": \"%s\" in it is a symlink or "
	    "not a directory",
	    dir, comp));
}

/*
 * One component below parent, never followed; a missing one is made
 * (0755 less the umask, as archive_write_disk makes missing parents) when
 * create is set.
 */
static int
open_comp(int parent, const char *comp, const char *dir, int oflags, int create,
    int *missing, struct err *e)
{
	int fd;

	for (int tries = 0;; tries++) {
		fd = openat(parent, comp,
		    oflags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd != -1)
			return (fd);
		if (errno == ELOOP || errno == ENOTDIR)
			return (refuse_in_way(dir, comp, e));
		if (errno != ENOENT)
			return (err_sys(e, ERR_IO, "%s%s", SHOW(dir)));
		if (!create) {
			*missing = 1;
			return (-1);
		}
		if (tries > 0 ||
		    (mkdirat(parent, comp, 0755) == -1 && errno != EEXIST))
			return (err_sys(e, ERR_IO, "cannot create %s%s",
			    SHOW(dir)));
	}
}

/* rel below base, component by component. */
static int
open_walk(int base, const char *rel, const char *shown, int oflags, int create,
    int *missing, struct err *e)
{
	char *copy = xstrdup(rel), *comp, *save = NULL;
	int fd = -1, next;

	for (comp = strtok_r(copy, "/", &save); comp != NULL;
	     comp = strtok_r(NULL, "/", &save)) {
		const char *rest = save != NULL && *save != '\0' ? save : NULL;

		/* Only the last component is opened as asked. */
		next = open_comp(fd == -1 ? base : fd, comp, shown,
		    rest != NULL ? O_PATH : oflags, create, missing, e);
		if (fd != -1)
			close(fd);
		fd = next;
		if (fd == -1)
			break;
	}
	free(copy);
	return (fd);
}

/*
 * rel below base in one call: 0 and *fdp; 1 when the caller should walk
 * component by component instead (no openat2, a missing component that
 * may have to be made, a rename that raced the lookup); -1 and e.
 */
static int
open_resolve(struct exdir *xd, int base, const char *rel, const char *shown,
    int oflags, int *fdp, struct err *e)
{
	struct open_how how;
	long fd;

	*fdp = -1;
	if (xd->no_openat2)
		return (1);
	memset(&how, 0, sizeof(how));
	how.flags =
	    (uint64_t)(unsigned)(oflags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	how.resolve = (uint64_t)RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	do
		fd = syscall(SYS_openat2, base, rel, &how, sizeof(how));
	while (fd == -1 && errno == EINTR);
	if (fd >= 0) {
		*fdp = (int)fd;
		return (0);
	}
	switch (errno) {
	case ENOSYS:
	case EPERM: /* a seccomp filter that does not know openat2 */
	case E2BIG:
		xd->no_openat2 = 1;
		return (1);
	case ENOENT:
	case EAGAIN:
		return (1);
	case ELOOP:
	case ENOTDIR:
	case EXDEV:
		return (err_set(e, ERR_CORRUPT,
		    "refusing to restore into \"%s\": a symlink or a "
		    "non-directory is on the way",
		    shown));
	default:
		return (err_sys(e, ERR_IO, "%s%s", SHOW(shown)));
	}
}

int
exdir_open_below(struct exdir *xd, const char *rel, int oflags, int *missing,
    struct err *e)
{
	int fd, r;

	*missing = 0;
	if (rel == NULL || rel[0] == '\0') {
		if ((fd = openat(xd->target_fd, ".",
		         oflags | O_DIRECTORY | O_CLOEXEC)) == -1)
			return (err_sys(e, ERR_IO, "the target"));
		return (fd);
	}
	if ((r = open_resolve(xd, xd->target_fd, rel, rel, oflags, &fd, e)) !=
	    1)
		return (r == 0 ? fd : -1);
	return (open_walk(xd->target_fd, rel, rel, oflags, 0, missing, e));
}

static void
spath_put(struct exdir *xd, size_t at, const char *s, size_t n)
{
	while (at + n + 2 > xd->scap) {
		xd->scap *= 2;
		xd->spath = xreallocarray(xd->spath, xd->scap, 1);
	}
	memcpy(xd->spath + at, s, n);
	xd->spath[at + n] = '\0';
}

/*
 * The descriptor of dir (borrowed): the stack's levels that dir shares
 * are kept, the rest of it opened (and made when missing) one component
 * at a time; past max_depth levels, the rest in one descriptor.
 */
static int
dir_fd(struct exdir *xd, const char *dir, struct err *e)
{
	size_t len = dir != NULL ? strlen(dir) : 0, common = 0, k, at;
	const char *p;
	int missing, r;

	if (dir == NULL)
		dir = "";
	if (xd->deep_fd != -1 && strcmp(xd->deep_path, dir) == 0)
		return (xd->deep_fd);
	while (common < len && dir[common] == xd->spath[common])
		common++;
	/* The deepest level whose path is dir or a parent of it. */
	for (k = xd->depth; k > 0; k--) {
		size_t end = xd->ends[k];

		if (end <= common && (dir[end] == '\0' || dir[end] == '/'))
			break;
	}
	pop_to(xd, k);
	at = xd->ends[k];
	p = dir + at;
	while (*p != '\0') {
		const char *slash;
		char *comp;
		size_t n;
		int fd;

		if (*p == '/')
			p++;
		if (xd->depth == xd->max_depth)
			break;
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		comp = xstrndup(p, n);
		fd = open_comp(xd->fds[xd->depth], comp, dir, O_PATH, 1,
		    &missing, e);
		free(comp);
		if (fd == -1)
			return (-1);
		at = (size_t)(p - dir);
		if (xd->depth > 0)
			spath_put(xd, xd->ends[xd->depth], "/", 1);
		spath_put(xd, at, p, n);
		xd->depth++;
		xd->fds[xd->depth] = fd;
		xd->ends[xd->depth] = at + n;
		p += n;
	}
	if (*p == '\0')
		return (xd->fds[xd->depth]);
	/* Deeper than the stack: the rest from its last level. */
	if ((r = open_resolve(xd, xd->fds[xd->depth], p, dir, O_PATH,
	         &xd->deep_fd, e)) == -1)
		return (-1);
	if (r == 1 &&
	    (xd->deep_fd = open_walk(xd->fds[xd->depth], p, dir, O_PATH, 1,
	         &missing, e)) == -1)
		return (-1);
	xd->deep_path = xstrdup(dir);
	return (xd->deep_fd);
}

/* The id for an owner name, looked up once per name. */
static uint32_t
owner_id(struct owner **tab, size_t *n, const char *name, uint32_t id,
    int is_group)
{
	struct owner *o;

	if (name == NULL)
		return (id);
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*tab)[i].name, name) == 0)
			return ((*tab)[i].found ? (*tab)[i].id : id);
	*tab = xreallocarray(*tab, *n + 1, sizeof(**tab));
	o = &(*tab)[(*n)++];
	o->name = xstrdup(name);
	o->found = 0;
	if (is_group) {
		struct group *g = getgrnam(name);

		if (g != NULL) {
			o->found = 1;
			o->id = (uint32_t)g->gr_gid;
		}
	} else {
		struct passwd *pw = getpwnam(name);

		if (pw != NULL) {
			o->found = 1;
			o->id = (uint32_t)pw->pw_uid;
		}
	}
	return (o->found ? o->id : id);
}

/*
 * name exists in dfd: make room for a node of type t.  1: it is a
 * directory and t is one too (kept), 0: removed, -1: could not be.
 * Nothing is followed; a directory goes only when empty, as
 * archive_write_disk does.
 */
static int
make_room(struct exdir *xd, int dfd, const char *name, enum fs_type t,
    struct err *e)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return (errno == ENOENT
		        ? 0
		        : err_sys(e, ERR_IO, "%s%s", SHOW(xd->path)));
	if (S_ISDIR(st.st_mode) && t == FS_DIR)
		return (1);
	if (S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, AT_REMOVEDIR) == -1)
			return (err_sys(e, ERR_IO,
			    "%s%s: cannot replace the directory in its place",
			    SHOW(xd->path)));
		/* It may be on the stack: forget what lies below dfd. */
		for (size_t k = 0; k <= xd->depth; k++)
			if (xd->fds[k] == dfd) {
				pop_to(xd, k);
				break;
			}
		return (0);
	}
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		return (err_sys(e, ERR_IO, "%s%s: cannot replace it",
		    SHOW(xd->path)));
	return (0);
}

static void
fix_add(struct exdir *xd)
{
	struct fixup *f;

	if (xd->nfix == xd->fix_cap) {
		xd->fix_cap = xd->fix_cap ? xd->fix_cap * 2 : 64;
		xd->fix = xreallocarray(xd->fix, xd->fix_cap, sizeof(*xd->fix));
	}
	f = &xd->fix[xd->nfix++];
	f->path = xstrdup(xd->path);
	f->mode = xd->mode;
	f->uid = xd->uid;
	f->gid = xd->gid;
	f->ts[0] = xd->ts[0];
	f->ts[1] = xd->ts[1];
}

/* A hard link to first (a path below the target) named dfd/name. */
static int
make_link(struct exdir *xd, int dfd, const char *first, struct err *e)
{
	const char *slash = strrchr(first, '/'), *fname = first;
	char *fdir = NULL;
	int ffd, missing, rc = -1;

	if (slash != NULL) {
		fdir = xstrndup(first, (size_t)(slash - first));
		fname = slash + 1;
	}
	if ((ffd = exdir_open_below(xd, fdir, O_PATH, &missing, e)) == -1) {
		if (missing)
			err_set(e, ERR_IO, "%s%s: the directory of %s is gone",
			    SHOW(xd->path), first);
		goto out;
	}
	for (int tries = 0; tries < 2; tries++) {
		/* flags 0: a symlink put there is linked, not followed. */
		if (linkat(ffd, fname, dfd, xd->name, 0) == 0) {
			rc = 0;
			break;
		}
		if (errno != EEXIST || tries > 0 ||
		    make_room(xd, dfd, xd->name, FS_FILE, e) == -1) {
			if (e->class == ERR_NONE)
				err_sys(e, ERR_IO, "%s%s: cannot link it to %s",
				    SHOW(xd->path), first);
			break;
		}
	}
out:
	if (ffd != -1)
		close(ffd);
	free(fdir);
	return (rc);
}

int
exdir_begin(struct exdir *xd, const char *dir, const char *path,
    const struct fs_node *n, const char *first, struct err *e)
{
	int dfd, r;

	err_clear(e);
	if ((dfd = dir_fd(xd, dir, e)) == -1)
		return (-1);
	free(xd->path);
	xd->path = xstrdup(path);
	xd->name = n->name;
	xd->type = n->type;
	xd->linked = 0;
	xd->size = n->type == FS_FILE ? n->size : 0;
	xd->end = 0;
	xd->mode = n->mode & 07777;
	xd->uid = n->uid;
	xd->gid = n->gid;
	if (xd->owner && !(xd->flags & FS_EXTRACT_NUMERIC_OWNER)) {
		xd->uid = owner_id(&xd->users, &xd->nusers, n->user, n->uid, 0);
		xd->gid =
		    owner_id(&xd->groups, &xd->ngroups, n->group, n->gid, 1);
	}
	xd->ts[0].tv_sec = (time_t)n->atime.sec;
	xd->ts[0].tv_nsec = (long)n->atime.nsec;
	xd->ts[1].tv_sec = (time_t)n->mtime.sec;
	xd->ts[1].tv_nsec = (long)n->mtime.nsec;
	for (int tries = 0; tries < 2; tries++) {
		switch (n->type) {
		case FS_DIR:
			r = mkdirat(dfd, n->name, 0700);
			break;
		case FS_SYMLINK:
			r = symlinkat(n->symlink, dfd, n->name);
			break;
		case FS_FILE:
			if (first != NULL) {
				if (make_link(xd, dfd, first, e) == -1)
					return (-1);
				xd->linked = 1;
				xd->dfd = dfd;
				return (0);
			}
			xd->fd = openat(dfd, n->name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			        O_CLOEXEC,
			    0600);
			r = xd->fd == -1 ? -1 : 0;
			break;
		default:
			return (err_set(e, ERR_INTERNAL,
			    "%s%s: not for the fast path", SHOW(path)));
		}
		if (r == 0)
			break;
		if (errno != EEXIST || tries > 0)
			return (err_sys(e, ERR_IO, "cannot create %s%s",
			    SHOW(path)));
		if ((r = make_room(xd, dfd, n->name, n->type, e)) == -1)
			return (-1);
		if (r == 1)
			break; /* a directory that stays */
	}
	xd->dfd = dfd;
	if (n->type == FS_DIR)
		fix_add(xd);
	return (n->type == FS_FILE && fs_node_data_len(n) > 0);
}

int
exdir_write(struct exdir *xd, const void *data, size_t len, uint64_t offset,
    struct err *e)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t w = pwrite(xd->fd, p, len, (off_t)offset);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return (err_sys(e, ERR_IO, "cannot write %s%s",
			    SHOW(xd->path)));
		p += w;
		len -= (size_t)w;
		offset += (uint64_t)w;
	}
	if (offset > xd->end)
		xd->end = offset;
	return (0);
}

static void
warn_once(int *rc, struct err *e, const char *path, const char *what, int no)
{
	if (*rc == FS_EXTRACT_WARN)
		return;
	*rc = FS_EXTRACT_WARN;
	err_set(e, ERR_IO, "%s%s: cannot set its %s: %s", SHOW(path), what,
	    strerror(no));
	e->sys_errno = no;
}

/* Owner, mode and times of what fd (or, for a symlink, dfd/name) is. */
static int
apply(struct exdir *xd, int fd, int dfd, const char *name, const char *path,
    enum fs_type t, uint32_t mode, uint32_t uid, uint32_t gid,
    const struct timespec ts[2], struct err *e)
{
	int rc = 0, owned = 0;

	if (xd->owner) {
		if (t != FS_SYMLINK && xd->ours_at_birth && uid == xd->euid &&
		    gid == xd->egid)
			owned = 1; /* already: skip the call */
		else if (xd->euid != 0 && xd->euid != uid)
			warn_once(&rc, e, path, "owner", EPERM);
		else if ((t == FS_SYMLINK ? fchownat(dfd, name, uid, gid,
		                                AT_SYMLINK_NOFOLLOW)
		                          : fchown(fd, uid, gid)) == -1)
			warn_once(&rc, e, path, "owner", errno);
		else
			owned = 1;
	}
	if (t != FS_SYMLINK) {
		/* Set-id bits only for the owner they were meant for. */
		if ((mode & S_ISUID) && !owned && xd->euid != uid)
			mode &= ~(uint32_t)S_ISUID;
		if ((mode & S_ISGID) && !owned) {
			struct stat st;

			if (fstat(fd, &st) == -1 || st.st_gid != gid)
				mode &= ~(uint32_t)S_ISGID;
		}
		if (fchmod(fd, (mode_t)mode) == -1)
			warn_once(&rc, e, path, "mode", errno);
		if (futimens(fd, ts) == -1)
			warn_once(&rc, e, path, "times", errno);
	} else if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) == -1) {
		warn_once(&rc, e, path, "times", errno);
	}
	return (rc);
}

int
exdir_end(struct exdir *xd, struct err *e)
{
	int rc = 0;

	err_clear(e);
	if (xd->linked || xd->type == FS_DIR) {
		xd->dfd = -1;
		return (0);
	}
	if (xd->type == FS_FILE) {
		if (xd->end < xd->size &&
		    ftruncate(xd->fd, (off_t)xd->size) == -1) {
			rc = err_sys(e, ERR_IO, "cannot write %s%s",
			    SHOW(xd->path));
			goto out;
		}
	}
	rc = apply(xd, xd->fd, xd->dfd, xd->name, xd->path, xd->type, xd->mode,
	    xd->uid, xd->gid, xd->ts, e);
out:
	if (xd->fd != -1 && close(xd->fd) == -1 && rc != -1)
		rc = err_sys(e, ERR_IO, "cannot write %s%s", SHOW(xd->path));
	xd->fd = -1;
	xd->dfd = -1;
	return (rc);
}

int
exdir_discard(struct exdir *xd, struct err *e)
{
	int rc = 0;

	/* The name first: the file is never seen whole with its metadata. */
	if (unlinkat(xd->dfd, xd->name, 0) == -1 && errno != ENOENT)
		rc = err_sys(e, ERR_IO, "cannot remove %s%s", SHOW(xd->path));
	if (xd->fd != -1)
		close(xd->fd);
	xd->fd = -1;
	xd->dfd = -1;
	return (rc);
}

void
exdir_forget(struct exdir *xd, const char *dir)
{
	size_t len;

	if (dir == NULL)
		dir = "";
	len = strlen(dir);
	if (xd->deep_fd != -1) {
		close(xd->deep_fd);
		xd->deep_fd = -1;
		free(xd->deep_path);
		xd->deep_path = NULL;
	}
	for (size_t k = 1; k <= xd->depth; k++)
		if (xd->ends[k] > len ||
		    strncmp(xd->spath, dir, xd->ends[k]) != 0 ||
		    (dir[xd->ends[k]] != '\0' && dir[xd->ends[k]] != '/')) {
			pop_to(xd, k - 1);
			return;
		}
}

static int
fix_cmp(const void *a, const void *b)
{
	const struct fixup *fa = a, *fb = b;

	/* Descending: a directory after everything below it. */
	return (-strcmp(fa->path, fb->path));
}

int
exdir_close(struct exdir *xd, struct err *e)
{
	struct err why;
	int rc = 0;

	if (xd == NULL)
		return (0);
	if (xd->fd != -1)
		close(xd->fd);
	pop_to(xd, 0);
	if (xd->nfix > 1)
		qsort(xd->fix, xd->nfix, sizeof(*xd->fix), fix_cmp);
	for (size_t i = 0; i < xd->nfix; i++) {
		struct fixup *f = &xd->fix[i];
		int fd, missing, r;

		err_clear(&why);
		fd = exdir_open_below(xd, f->path, O_RDONLY, &missing, &why);
		if (fd == -1) {
			if (missing)
				err_set(&why, ERR_IO,
				    "%s%s: gone before its times were set",
				    SHOW(f->path));
			r = FS_EXTRACT_WARN;
		} else {
			r = apply(xd, fd, -1, NULL, f->path, FS_DIR, f->mode,
			    f->uid, f->gid, f->ts, &why);
			close(fd);
		}
		if (r != 0 && rc == 0) {
			*e = why;
			rc = FS_EXTRACT_WARN;
		}
	}
	for (size_t i = 0; i < xd->nfix; i++)
		free(xd->fix[i].path);
	free(xd->fix);
	for (size_t i = 0; i < xd->nusers; i++)
		free(xd->users[i].name);
	for (size_t i = 0; i < xd->ngroups; i++)
		free(xd->groups[i].name);
	free(xd->users);
	free(xd->groups);
	free(xd->spath);
	free(xd->path);
	free(xd);
	return (rc);
}
