/*
 * Extraction to a directory (archive_write_disk) or to a pax tar stream
 * (archive_write), behind one handle.  Paths are checked here before
 * libarchive sees them, and libarchive's own SECURE_* checks stay on: two
 * independent guards against a snapshot that tries to write outside the
 * target.
 */
#include "fs/extract.h"

#include <sys/types.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "fs/extract_dir.h"
#include "xmalloc.h"

#define ZEROS_LEN (1024 * 1024) /* tar: gaps are fed as zeros */

/* Messages hold 512 bytes: name a long path by its end. */
#define SHOW(p) (strlen(p) > 160 ? "..." : ""), show_tail(p)

static const char *
show_tail(const char *p)
{
	size_t n = strlen(p);

	return (n > 160 ? p + n - 160 : p);
}

struct link {
	uint64_t dev, ino;
	char *path; /* NULL: empty slot */
};

/* A directory that existed before: its times are set again at close. */
struct redo {
	char *path;
	struct timespec ts[2]; /* atime, mtime */
};

struct fs_extract {
	struct archive *a;
	struct archive_entry *ae;
	int is_tar;
	unsigned flags;
	char *target;
	int target_fd;    /* O_PATH */
	int tar_fd;       /* the stream's descriptor (not ours to close) */
	int cut;          /* the stream was cut: nothing more goes out */
	int cwd_fd;       /* O_PATH: where to return after each call */
	int broken;       /* a fatal libarchive error: nothing more works */
	struct exdir *xd; /* directory handles: the fast path */

	/* The current entry. */
	int in_entry;
	int want_data;
	int skipped; /* begun without libarchive (a socket) */
	int fast;    /* begun on the fast path (xd) */
	int is_dir;
	char *path;
	uint64_t size;
	uint64_t written; /* tar: logical position in the file */
	int record_link;  /* remember (dev, ino) -> path when it succeeds */
	uint64_t dev, ino;
	char warning[ERR_MSG_MAX];

	/* Hard links restored so far: open addressing on (dev, ino). */
	struct link *links;
	size_t nlinks, links_cap; /* cap: a power of two */

	struct redo *redo;
	size_t nredo, redo_cap;

	uint8_t *zeros;
};

static size_t
link_slot(const struct link *t, size_t cap, uint64_t dev, uint64_t ino)
{
	uint64_t h =
	    (ino * 0x9e3779b97f4a7c15ULL) ^ (dev * 0xc2b2ae3d27d4eb4fULL);
	size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);

	while (t[i].path != NULL && (t[i].dev != dev || t[i].ino != ino))
		i = (i + 1) & (cap - 1);
	return (i);
}

static const char *
link_find(const struct fs_extract *x, uint64_t dev, uint64_t ino)
{
	if (x->links_cap == 0)
		return (NULL);
	return (x->links[link_slot(x->links, x->links_cap, dev, ino)].path);
}

static void
link_add(struct fs_extract *x, uint64_t dev, uint64_t ino, const char *path)
{
	size_t i;

	if ((x->nlinks + 1) * 2 > x->links_cap) {
		size_t cap = x->links_cap ? x->links_cap * 2 : 64;
		struct link *t = xcalloc(cap, sizeof(*t));

		for (size_t k = 0; k < x->links_cap; k++)
			if (x->links[k].path != NULL)
				t[link_slot(t, cap, x->links[k].dev,
				    x->links[k].ino)] = x->links[k];
		free(x->links);
		x->links = t;
		x->links_cap = cap;
	}
	i = link_slot(x->links, x->links_cap, dev, ino);
	if (x->links[i].path != NULL)
		return;
	x->links[i].dev = dev;
	x->links[i].ino = ino;
	x->links[i].path = xstrdup(path);
	x->nlinks++;
}

/* Record libarchive's error as ours. */
static int
ar_err(struct err *e, struct archive *a, const char *what)
{
	int no = archive_errno(a);
	const char *msg = archive_error_string(a);

	/* libarchive's "Write failed" keeps errno apart: say it too. */
	err_set(e, (no == ENOSPC || no == EDQUOT) ? ERR_NOSPACE : ERR_IO,
	    "%s%s: %s%s%s", SHOW(what),
	    msg != NULL ? msg : "unknown libarchive error", no > 0 ? ": " : "",
	    no > 0 ? strerror(no) : "");
	e->sys_errno = no > 0 ? no : 0;
	return (-1);
}

static void
note_warning(struct fs_extract *x, const char *what)
{
	const char *msg = archive_error_string(x->a);

	if (x->warning[0] == '\0')
		snprintf(x->warning, sizeof(x->warning), "%s%s: %s", SHOW(what),
		    msg != NULL ? msg : "metadata not fully restored");
}

/* Directory handles work relative to the target: enter it, then leave. */
static int
enter(struct fs_extract *x, struct err *e)
{
	if (x->is_tar)
		return (0);
	if (fchdir(x->target_fd) == -1)
		return (err_sys(e, ERR_IO, "cannot enter %s", x->target));
	return (0);
}

static int
leave(struct fs_extract *x, struct err *e)
{
	if (x->is_tar || fchdir(x->cwd_fd) == 0)
		return (0);
	x->broken = 1;
	return (err_sys(e, ERR_IO, "cannot return to the working directory"));
}

/*
 * dir: relative, components neither empty nor "." nor "..".  NULL and ""
 * are the target itself.
 */
static int
check_dir(const char *dir, struct err *e)
{
	const char *p = dir, *slash;

	if (dir == NULL || dir[0] == '\0')
		return (0);
	if (dir[0] == '/')
		return (err_set(e, ERR_USAGE,
		    "refusing absolute path \"%s\": restore paths are relative "
		    "to the target",
		    dir));
	for (;;) {
		size_t n;

		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (!fs_name_valid(p, n))
			return (err_set(e, ERR_USAGE,
			    "refusing path \"%s\": empty, \".\" or \"..\" "
			    "component",
			    dir));
		if (slash == NULL)
			return (0);
		p = slash + 1;
	}
}

/*
 * Open dir below the target without following anything: every component
 * must be a real directory.  Returns the descriptor (O_PATH), or -1: with
 * *missing set (and e untouched) when a component does not exist.
 */
static int
open_below(struct fs_extract *x, const char *dir, int *missing, struct err *e)
{
	char *copy, *comp, *save = NULL;
	int fd, ret = -1;

	*missing = 0;
	if ((fd = dup(x->target_fd)) == -1)
		return (err_sys(e, ERR_IO, "dup"));
	if (dir == NULL || dir[0] == '\0')
		return (fd);
	copy = xstrdup(dir);
	for (comp = strtok_r(copy, "/", &save); comp != NULL;
	     comp = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, comp,
		    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (next == -1 && errno == ENOENT) {
			*missing = 1;
			goto out;
		}
		if (next == -1 && (errno == ELOOP || errno == ENOTDIR)) {
			err_set(e, ERR_CORRUPT,
			    "refusing to restore into \"%s\": \"%s\" in it is "
			    "a symlink or not a directory",
			    dir, comp);
			goto out;
		}
		if (next == -1) {
			err_sys(e, ERR_IO, "%s", dir);
			goto out;
		}
		close(fd);
		fd = next;
	}
	ret = fd;
	fd = -1;
out:
	if (fd != -1)
		close(fd);
	free(copy);
	return (ret);
}

/*
 * dir's components that exist must be real directories; missing ones are
 * fine (libarchive creates them).
 */
static int
check_parents(struct fs_extract *x, const char *dir, struct err *e)
{
	int fd, missing;

	if (dir == NULL || dir[0] == '\0')
		return (0);
	if ((fd = open_below(x, dir, &missing, e)) == -1)
		return (missing ? 0 : -1);
	close(fd);
	return (0);
}

static unsigned int
ae_type(enum fs_type t)
{
	switch (t) {
	case FS_FILE:
		return (AE_IFREG);
	case FS_DIR:
		return (AE_IFDIR);
	case FS_SYMLINK:
		return (AE_IFLNK);
	case FS_FIFO:
		return (AE_IFIFO);
	case FS_CHR:
		return (AE_IFCHR);
	case FS_BLK:
		return (AE_IFBLK);
	case FS_SOCK:
		return (AE_IFSOCK);
	}
	return (0);
}

/* Build x->ae from the node; returns 1 when data is wanted. */
static int
fill_entry(struct fs_extract *x, const struct fs_node *n)
{
	struct archive_entry *ae = x->ae;
	const char *first = NULL;
	int numeric = (x->flags & FS_EXTRACT_NUMERIC_OWNER) != 0;

	archive_entry_clear(ae);
	archive_entry_copy_pathname(ae, x->path);
	archive_entry_set_filetype(ae, ae_type(n->type));
	/* The mode first: ACL text then adjusts its group class bits. */
	archive_entry_set_perm(ae, (mode_t)n->mode);
	archive_entry_set_uid(ae, n->uid);
	archive_entry_set_gid(ae, n->gid);
	if (!numeric && n->user != NULL)
		archive_entry_copy_uname(ae, n->user);
	if (!numeric && n->group != NULL)
		archive_entry_copy_gname(ae, n->group);
	archive_entry_set_mtime(ae, (time_t)n->mtime.sec, (long)n->mtime.nsec);
	archive_entry_set_atime(ae, (time_t)n->atime.sec, (long)n->atime.nsec);
	archive_entry_set_ctime(ae, (time_t)n->ctime.sec, (long)n->ctime.nsec);
	archive_entry_set_nlink(ae, (unsigned int)n->nlink);
	if (n->type == FS_SYMLINK)
		archive_entry_copy_symlink(ae, n->symlink);
	if (n->type == FS_CHR || n->type == FS_BLK) {
		archive_entry_set_rdevmajor(ae, n->rdev_major);
		archive_entry_set_rdevminor(ae, n->rdev_minor);
	}
	for (size_t i = 0; i < n->nxattrs; i++)
		archive_entry_xattr_add_entry(ae, n->xattrs[i].name,
		    n->xattrs[i].value, n->xattrs[i].len);
	if ((n->acl_access != NULL &&
	        archive_entry_acl_from_text(ae, n->acl_access,
	            ARCHIVE_ENTRY_ACL_TYPE_ACCESS) != ARCHIVE_OK) ||
	    (n->acl_default != NULL &&
	        archive_entry_acl_from_text(ae, n->acl_default,
	            ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) != ARCHIVE_OK) ||
	    (n->acl_nfs4 != NULL &&
	        archive_entry_acl_from_text(ae, n->acl_nfs4,
	            ARCHIVE_ENTRY_ACL_TYPE_NFS4) != ARCHIVE_OK))
		snprintf(x->warning, sizeof(x->warning),
		    "%s%s: an ACL could not be parsed", SHOW(x->path));
	if (n->fflags != NULL &&
	    archive_entry_copy_fflags_text(ae, n->fflags) != NULL &&
	    x->warning[0] == '\0')
		snprintf(x->warning, sizeof(x->warning),
		    "%s%s: unknown file flags in \"%s\"", SHOW(x->path),
		    n->fflags);

	if (n->type != FS_FILE) {
		archive_entry_set_size(ae, 0);
		return (0);
	}
	if (n->nlink > 1) {
		first = link_find(x, n->dev, n->ino);
		if (first != NULL) {
			archive_entry_copy_hardlink(ae, first);
			archive_entry_set_size(ae, 0);
			return (0);
		}
		x->record_link = 1;
		x->dev = n->dev;
		x->ino = n->ino;
	}
	archive_entry_set_size(ae, (la_int64_t)n->size);
	for (size_t i = 0; i < n->nsparse; i++)
		archive_entry_sparse_add_entry(ae,
		    (la_int64_t)n->sparse[i].offset,
		    (la_int64_t)n->sparse[i].length);
	x->size = n->size;
	return (fs_node_data_len(n) > 0);
}

static void
redo_add(struct fs_extract *x, const struct fs_node *n)
{
	struct redo *d;

	if (x->nredo == x->redo_cap) {
		x->redo_cap = x->redo_cap ? x->redo_cap * 2 : 16;
		x->redo = xreallocarray(x->redo, x->redo_cap, sizeof(*x->redo));
	}
	d = &x->redo[x->nredo++];
	d->path = xstrdup(x->path);
	d->ts[0].tv_sec = (time_t)n->atime.sec;
	d->ts[0].tv_nsec = (long)n->atime.nsec;
	d->ts[1].tv_sec = (time_t)n->mtime.sec;
	d->ts[1].tv_nsec = (long)n->mtime.nsec;
}

/* The times of directories that existed, after everything went in. */
static int
redo_times(struct fs_extract *x, struct err *e)
{
	int rc = 0;

	for (size_t i = 0; i < x->nredo; i++) {
		char *slash = strrchr(x->redo[i].path, '/'), *dir = NULL;
		const char *name = x->redo[i].path;
		int fd, missing;

		if (slash != NULL) {
			dir = xstrndup(name, (size_t)(slash - name));
			name = slash + 1;
		}
		fd = open_below(x, dir, &missing, e);
		if (fd == -1 ||
		    utimensat(fd, name, x->redo[i].ts, AT_SYMLINK_NOFOLLOW) ==
		        -1) {
			if (fd != -1)
				err_sys(e, ERR_IO, "%s%s: cannot set its times",
				    SHOW(x->redo[i].path));
			else if (missing)
				err_set(e, ERR_IO,
				    "%s%s: gone before its times were set",
				    SHOW(x->redo[i].path));
			rc = FS_EXTRACT_WARN;
		}
		if (fd != -1)
			close(fd);
		free(dir);
	}
	return (rc);
}

/* fs_extract_begin for what the fast path restores (exdir_handles). */
static int
begin_fast(struct fs_extract *x, const char *dir, const struct fs_node *n,
    struct err *e)
{
	const char *first = NULL;
	int r;

	if (n->type == FS_FILE && n->nlink > 1) {
		first = link_find(x, n->dev, n->ino);
		if (first == NULL) {
			x->record_link = 1;
			x->dev = n->dev;
			x->ino = n->ino;
		}
	}
	if ((r = exdir_begin(x->xd, dir, x->path, n, first, e)) == -1)
		return (-1);
	x->fast = 1;
	x->in_entry = 1;
	x->want_data = r;
	x->size = n->type == FS_FILE && first == NULL ? n->size : 0;
	return (r);
}

int
fs_extract_begin(struct fs_extract *x, const char *dir, const struct fs_node *n,
    struct err *e)
{
	struct stat st;
	int r, rc = -1, want, redo = 0;

	if (x->broken)
		return (err_set(e, ERR_INTERNAL,
		    "restore: an earlier failure ended this restore"));
	if (x->in_entry)
		return (err_set(e, ERR_INTERNAL,
		    "restore: entry begun before the last one ended"));
	if (check_dir(dir, e) == -1)
		return (-1);
	if (n->name == NULL || !fs_name_valid(n->name, strlen(n->name)))
		return (err_set(e, ERR_CORRUPT,
		    "refusing entry name \"%s\" in \"%s\": empty, \".\", "
		    "\"..\" "
		    "or holds '/'",
		    n->name != NULL ? n->name : "", dir != NULL ? dir : ""));
	if (n->type < FS_FILE || n->type > FS_SOCK ||
	    (n->type == FS_SYMLINK &&
	        (n->symlink == NULL || n->symlink[0] == '\0')))
		return (err_set(e, ERR_CORRUPT, "%s: malformed node", n->name));
	free(x->path);
	x->path = (dir == NULL || dir[0] == '\0')
	    ? xstrdup(n->name)
	    : xasprintf("%s/%s", dir, n->name);
	x->warning[0] = '\0';
	x->record_link = 0;
	x->is_dir = n->type == FS_DIR;
	x->size = 0;
	x->written = 0;
	if (n->type == FS_SOCK) {
		snprintf(x->warning, sizeof(x->warning),
		    "%s%s: a socket is not restored (the program that listens "
		    "on it creates it)",
		    SHOW(x->path));
		x->in_entry = 1;
		x->skipped = 1;
		x->want_data = 0;
		return (0);
	}
	/*
	 * archive_write_disk shortens paths of PATH_MAX or more by changing
	 * directory, then applies some metadata by the shortened name from
	 * the original directory, and defers directory fixups by the full
	 * name, which the kernel refuses: metadata could land on the wrong
	 * entry.  Refuse instead.
	 */
	if (!x->is_tar && strlen(x->path) >= PATH_MAX)
		return (err_set(e, ERR_IO,
		    "%s%s: a path of %zu bytes is too long to restore safely "
		    "(the limit is %d)",
		    SHOW(x->path), strlen(x->path), PATH_MAX - 1));
	if (!x->is_tar && exdir_handles(n))
		return (begin_fast(x, dir, n, e));
	if (!x->is_tar && check_parents(x, dir, e) == -1)
		return (-1);
	/* What libarchive changes in dir, the fast path must not assume. */
	if (!x->is_tar)
		exdir_forget(x->xd, dir);
	want = fill_entry(x, n);
	/*
	 * libarchive defers the times only of directories it makes: one that
	 * exists (--overwrite) gets them at once, and then loses its mtime to
	 * the entries restored into it.  Set those again at close.
	 */
	if (!x->is_tar && n->type == FS_DIR &&
	    fstatat(x->target_fd, x->path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		redo = 1;
	if (enter(x, e) == -1)
		return (-1);
	r = archive_write_header(x->a, x->ae);
	if (r == ARCHIVE_FATAL) {
		x->broken = 1;
		ar_err(e, x->a, x->path);
	} else if (r == ARCHIVE_FAILED) {
		ar_err(e, x->a, x->path);
		(void)archive_write_finish_entry(x->a);
	} else {
		if (r == ARCHIVE_WARN)
			note_warning(x, x->path);
		x->in_entry = 1;
		/* libarchive may drop the body (an existing hard link...). */
		x->want_data = want && archive_entry_size(x->ae) > 0;
		rc = x->want_data;
		if (redo)
			redo_add(x, n);
	}
	if (leave(x, e) == -1) {
		x->in_entry = 0;
		return (-1);
	}
	return (rc);
}

/* Tar: feed n logical bytes of zeros (holes cost nothing: not stored). */
static int
tar_zeros(struct fs_extract *x, uint64_t n, struct err *e)
{
	while (n > 0) {
		size_t k = n < ZEROS_LEN ? (size_t)n : ZEROS_LEN;
		la_ssize_t w;

		if (x->zeros == NULL)
			x->zeros = xcalloc(1, ZEROS_LEN);
		if ((w = archive_write_data(x->a, x->zeros, k)) < 0) {
			x->broken = 1;
			return (ar_err(e, x->a, x->path));
		}
		if (w == 0)
			break;
		n -= (uint64_t)w;
		x->written += (uint64_t)w;
	}
	return (0);
}

int
fs_extract_write(struct fs_extract *x, const void *data, size_t len,
    uint64_t offset, struct err *e)
{
	const uint8_t *p = data;
	la_ssize_t w;

	if (!x->in_entry || !x->want_data)
		return (err_set(e, ERR_INTERNAL,
		    "restore: data for an entry that takes none"));
	if (offset > x->size || len > x->size - offset)
		return (err_set(e, ERR_CORRUPT,
		    "%s%s: data past the end of the file (%llu bytes)",
		    SHOW(x->path), (unsigned long long)x->size));
	if (x->fast)
		return (exdir_write(x->xd, data, len, offset, e));
	if (!x->is_tar) {
		w = archive_write_data_block(x->a, data, len,
		    (la_int64_t)offset);
		if (w < 0) {
			if (w == ARCHIVE_FATAL)
				x->broken = 1;
			return (ar_err(e, x->a, x->path));
		}
		return (0);
	}
	if (offset < x->written)
		return (err_set(e, ERR_INTERNAL,
		    "%s%s: a tar stream needs data in file order",
		    SHOW(x->path)));
	if (tar_zeros(x, offset - x->written, e) == -1)
		return (-1);
	while (len > 0) {
		if ((w = archive_write_data(x->a, p, len)) < 0) {
			x->broken = 1;
			return (ar_err(e, x->a, x->path));
		}
		if (w == 0)
			break;
		p += w;
		len -= (size_t)w;
		x->written += (uint64_t)w;
	}
	return (0);
}

int
fs_extract_end(struct fs_extract *x, struct err *e)
{
	int r, rc = -1;

	if (!x->in_entry)
		return (err_set(e, ERR_INTERNAL, "restore: no entry to end"));
	x->in_entry = 0;
	if (x->skipped) {
		x->skipped = 0;
		err_set(e, ERR_IO, "%s", x->warning);
		return (FS_EXTRACT_WARN);
	}
	if (x->fast) {
		x->fast = 0;
		if ((r = exdir_end(x->xd, e)) != -1 && x->record_link)
			link_add(x, x->dev, x->ino, x->path);
		return (r);
	}
	if (x->is_tar && x->want_data && x->written < x->size &&
	    tar_zeros(x, x->size - x->written, e) == -1)
		return (-1);
	if (enter(x, e) == -1)
		return (-1);
	r = archive_write_finish_entry(x->a);
	if (r == ARCHIVE_FATAL) {
		x->broken = 1;
		ar_err(e, x->a, x->path);
	} else if (r == ARCHIVE_FAILED) {
		ar_err(e, x->a, x->path);
	} else {
		if (r == ARCHIVE_WARN)
			note_warning(x, x->path);
		if (x->record_link)
			link_add(x, x->dev, x->ino, x->path);
		rc = 0;
		if (x->warning[0] != '\0') {
			err_set(e, ERR_IO, "%s", x->warning);
			rc = FS_EXTRACT_WARN;
		}
	}
	if (leave(x, e) == -1)
		return (-1);
	return (rc);
}

/*
 * End a tar stream that cannot be finished: what libarchive still holds is
 * dropped, and one block that is not a valid header follows what it
 * wrote.  A stream cut between entries would otherwise read as a whole
 * archive to GNU tar, which takes the end of the data for the end of the
 * archive; this block makes every reader fail there (and a cut inside a
 * file fails anyway, on the missing data).
 */
static void
tar_cut(struct fs_extract *x)
{
	static const char note[] =
	    "coffer: this tar stream was cut short by an error; it is "
	    "incomplete\n";
	char block[512];
	size_t off = 0;

	x->broken = 1;
	if (x->cut)
		return;
	x->cut = 1;
	(void)archive_write_fail(x->a);
	/* '#' in the checksum field: no reader takes it for a header. */
	memset(block, '#', sizeof(block));
	memcpy(block, note, sizeof(note) - 1);
	while (off < sizeof(block)) {
		ssize_t w = write(x->tar_fd, block + off, sizeof(block) - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* the reader is gone: nothing to warn */
		off += (size_t)w;
	}
}

int
fs_extract_discard(struct fs_extract *x, struct err *e)
{
	const char *name, *slash;
	char *dir = NULL;
	int dfd = -1, missing, r, rc = -1;

	if (!x->in_entry)
		return (
		    err_set(e, ERR_INTERNAL, "restore: no entry to discard"));
	x->in_entry = 0;
	/*
	 * Only fs_extract_end records a hard-link target: a later name of
	 * this file gets the data instead of a link to nothing.
	 */
	if (x->skipped) {
		x->skipped = 0;
		return (0);
	}
	if (x->fast) {
		x->fast = 0;
		if (x->is_dir)
			return (err_set(e, ERR_INTERNAL,
			    "%s%s: a directory is not discarded (it may hold "
			    "restored entries)",
			    SHOW(x->path)));
		return (exdir_discard(x->xd, e));
	}
	if (x->is_tar) {
		/* The header is out; padding the entry would forge data. */
		tar_cut(x);
		return (err_set(e, ERR_INTERNAL,
		    "%s%s: a tar entry cannot be taken back once begun; the "
		    "stream is cut short",
		    SHOW(x->path)));
	}
	slash = strrchr(x->path, '/');
	name = slash != NULL ? slash + 1 : x->path;
	if (slash != NULL)
		dir = xstrndup(x->path, (size_t)(slash - x->path));
	/*
	 * Remove the name first, then let libarchive finish: what it still
	 * applies goes through its descriptor to an inode no name reaches,
	 * so an unfinished file is never visible with its final metadata
	 * (nor made immutable by its file flags before it could go).
	 */
	if (x->is_dir)
		err_set(e, ERR_INTERNAL,
		    "%s%s: a directory is not discarded (it may hold restored "
		    "entries)",
		    SHOW(x->path));
	else if ((dfd = open_below(x, dir, &missing, e)) == -1 && missing)
		err_set(e, ERR_IO, "%s%s: its directory is gone",
		    SHOW(x->path));
	else if (dfd != -1 && unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		err_sys(e, ERR_IO, "cannot remove %s%s", SHOW(x->path));
	else if (dfd != -1)
		rc = 0;
	if (enter(x, e) == -1) {
		rc = -1;
		goto out;
	}
	r = archive_write_finish_entry(x->a);
	if (r == ARCHIVE_FATAL)
		x->broken = 1;
	if (leave(x, e) == -1)
		rc = -1;
out:
	if (dfd != -1)
		close(dfd);
	free(dir);
	return (rc);
}

void
fs_extract_abort(struct fs_extract *x)
{
	struct err e;

	if (x == NULL)
		return;
	if (x->is_tar)
		x->broken = 1;
	else if (x->in_entry)
		(void)fs_extract_discard(x, &e);
	(void)fs_extract_close(x, &e);
}

int
fs_extract_failed(const struct fs_extract *x)
{
	return (x->broken);
}

static struct fs_extract *
handle_new(unsigned flags)
{
	struct fs_extract *x = xcalloc(1, sizeof(*x));

	x->flags = flags;
	x->target_fd = -1;
	x->cwd_fd = -1;
	x->tar_fd = -1;
	x->ae = archive_entry_new();
	return (x);
}

static void
handle_free(struct fs_extract *x)
{
	if (x == NULL)
		return;
	if (x->a != NULL) {
		/*
		 * A failed archive is freed without being closed, and then
		 * libarchive keeps its output buffer: close it first (a cut
		 * stream's writes go nowhere, see tar_write).
		 */
		if (x->cut)
			(void)archive_write_close(x->a);
		archive_write_free(x->a);
	}
	archive_entry_free(x->ae);
	if (x->xd != NULL) {
		struct err e;

		(void)exdir_close(x->xd, &e);
	}
	if (x->target_fd != -1)
		close(x->target_fd);
	if (x->cwd_fd != -1)
		close(x->cwd_fd);
	for (size_t i = 0; i < x->links_cap; i++)
		free(x->links[i].path);
	free(x->links);
	for (size_t i = 0; i < x->nredo; i++)
		free(x->redo[i].path);
	free(x->redo);
	free(x->target);
	free(x->path);
	free(x->zeros);
	free(x);
}

/* 1 when the directory holds anything, 0 when empty, -1 on error. */
static int
dir_has_entries(const char *path, struct err *e)
{
	struct dirent *d;
	DIR *dir;
	int found = 0;

	if ((dir = opendir(path)) == NULL)
		return (err_sys(e, ERR_IO, "%s", path));
	while ((d = readdir(dir)) != NULL)
		if (strcmp(d->d_name, ".") != 0 &&
		    strcmp(d->d_name, "..") != 0) {
			found = 1;
			break;
		}
	closedir(dir);
	return (found);
}

int
fs_extract_open(const char *target, unsigned flags, struct fs_extract **out,
    struct err *e)
{
	struct fs_extract *x = handle_new(flags);
	int opts, rc = -1, full;

	*out = NULL;
	x->target = xstrdup(target);
	if (mkdir(target, 0700) == -1 && errno != EEXIST) {
		err_sys(e, ERR_IO, "cannot create %s", target);
		goto out;
	}
	if ((x->target_fd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		err_sys(e, ERR_IO, "%s", target);
		goto out;
	}
	if ((full = dir_has_entries(target, e)) == -1)
		goto out;
	if (full && !(flags & FS_EXTRACT_OVERWRITE)) {
		err_set(e, ERR_USAGE,
		    "restore target %s is not empty; add --overwrite to "
		    "restore "
		    "into it anyway",
		    target);
		goto out;
	}
	if ((x->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		err_sys(e, ERR_IO, "cannot open the working directory");
		goto out;
	}
	/*
	 * No ARCHIVE_EXTRACT_SPARSE: holes are restored as recorded, by
	 * writing each extent at its offset.  That flag makes libarchive
	 * scan the data for zero blocks and write it 4 KiB at a time, which
	 * cost a full restore most of its time in write(2) calls.
	 */
	opts = ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_TIME |
	    ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR |
	    ARCHIVE_EXTRACT_FFLAGS;
	if (geteuid() == 0 || !(flags & FS_EXTRACT_NO_OWNER_WHEN_NOT_ROOT))
		opts |= ARCHIVE_EXTRACT_OWNER;
	if ((x->a = archive_write_disk_new()) == NULL || x->ae == NULL) {
		err_set(e, ERR_INTERNAL, "libarchive: out of memory");
		goto out;
	}
	x->xd = exdir_new(x->target_fd, flags,
	    (flags & FS_EXTRACT_NO_OPENAT2) != 0);
	if (archive_write_disk_set_options(x->a, opts) != ARCHIVE_OK ||
	    (!(flags & FS_EXTRACT_NUMERIC_OWNER) &&
	        archive_write_disk_set_standard_lookup(x->a) != ARCHIVE_OK)) {
		ar_err(e, x->a, "libarchive");
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	handle_free(x);
	return (rc);
}

/* tar's record (20 blocks of 512 bytes), and what a write carries. */
#define TAR_RECORD 10240
#define TAR_BLOCK  (8 * TAR_RECORD)

/* libarchive's output callbacks for a tar stream on x->tar_fd. */
static int
tar_open(struct archive *a, void *arg)
{
	struct fs_extract *x = arg;
	struct stat st;

	if (fstat(x->tar_fd, &st) == -1) {
		archive_set_error(a, errno, "tar stream");
		return (ARCHIVE_FATAL);
	}
	/*
	 * A file ends after its last 512-byte block; a pipe or a device
	 * gets whole records, as tape-minded readers expect.
	 */
	if (archive_write_get_bytes_in_last_block(a) < 0)
		archive_write_set_bytes_in_last_block(a,
		    S_ISREG(st.st_mode) ? 1 : TAR_RECORD);
	return (ARCHIVE_OK);
}

static la_ssize_t
tar_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct fs_extract *x = arg;
	ssize_t w;

	/* After a cut nothing more reaches the reader: not even a trailer. */
	if (x->cut)
		return ((la_ssize_t)len);
	do
		w = write(x->tar_fd, buf, len);
	while (w == -1 && errno == EINTR);
	if (w == -1) {
		archive_set_error(a, errno, "tar stream");
		return (-1);
	}
	return ((la_ssize_t)w);
}

int
fs_tar_open(int fd, unsigned flags, struct fs_extract **out, struct err *e)
{
	struct fs_extract *x = handle_new(flags);
	int rc = -1;

	*out = NULL;
	x->is_tar = 1;
	x->target = xstrdup("tar stream");
	x->tar_fd = fd;
	if ((x->a = archive_write_new()) == NULL || x->ae == NULL) {
		err_set(e, ERR_INTERNAL, "libarchive: out of memory");
		goto out;
	}
	/* Full pax: nanosecond times and every attribute, for every entry. */
	/*
	 * Names are bytes, not text in some locale's charset: store them as
	 * they are (hdrcharset=BINARY) rather than fail to convert them.
	 */
	/*
	 * Written in records of eight tar records (80 KiB), not one: a tenth
	 * of the system calls, and a stream still ends on a whole record.
	 */
	if (archive_write_set_format_pax(x->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(x->a, TAR_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_format_option(x->a, "pax", "hdrcharset",
	        "BINARY") != ARCHIVE_OK ||
	    archive_write_open(x->a, x, tar_open, tar_write, NULL) !=
	        ARCHIVE_OK) {
		ar_err(e, x->a, "tar");
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	handle_free(x);
	return (rc);
}

/* Flush the file system the target is on (every restored byte). */
static int
sync_target(struct fs_extract *x, struct err *e)
{
	int fd, rc = 0;

	if ((fd = openat(x->target_fd, ".",
	         O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (err_sys(e, ERR_IO, "%s", x->target));
	if (syncfs(fd) == -1)
		rc = err_sys(e, ERR_IO,
		    "cannot flush what was restored to %s to disk", x->target);
	close(fd);
	return (rc);
}

int
fs_extract_close(struct fs_extract *x, struct err *e)
{
	struct err why;
	int r, rc = -1, xr = 0;

	if (x == NULL)
		return (0);
	/* A tar entry left short would be padded with zeros: cut instead. */
	if (x->is_tar && x->in_entry && x->want_data && x->written < x->size)
		x->broken = 1;
	if (x->is_tar && x->broken) {
		/* No trailer: a reader must not take the stream as whole. */
		tar_cut(x);
		err_set(e, ERR_IO,
		    "the tar stream was cut short by an earlier failure");
		goto out;
	}
	if (x->in_entry)
		(void)fs_extract_end(x, e);
	/* The fast path's directories first: children before parents. */
	xr = exdir_close(x->xd, &why);
	x->xd = NULL;
	if (enter(x, e) == -1)
		goto out;
	/* Directory handles: the deferred times and modes happen here. */
	r = archive_write_close(x->a);
	if (leave(x, e) == -1)
		goto out;
	if (r == ARCHIVE_WARN) {
		ar_err(e, x->a, x->target);
		rc = FS_EXTRACT_WARN;
	} else if (r != ARCHIVE_OK) {
		ar_err(e, x->a, x->target);
	} else {
		rc = 0;
	}
	if (rc != -1 && !x->is_tar && redo_times(x, e) == FS_EXTRACT_WARN)
		rc = FS_EXTRACT_WARN;
	if (rc == 0 && xr != 0) {
		*e = why;
		rc = xr;
	}
	/* Durable before success is reported: one syncfs, not an fsync each. */
	if (!x->is_tar && !(x->flags & FS_EXTRACT_NO_SYNC) &&
	    sync_target(x, &why) == -1 && rc != -1) {
		*e = why;
		rc = -1;
	}
out:
	handle_free(x);
	return (rc);
}
