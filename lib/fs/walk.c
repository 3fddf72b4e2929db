/*
 * The walk: our own traversal (openat from the descriptor of the directory
 * above, so a directory renamed or swapped for a symlink mid-walk cannot
 * lead us elsewhere) and libarchive's archive_read_disk_entry_from_file for
 * the metadata of each entry.  libarchive's own tree walk is not used: it
 * lists a directory, then visits its subdirectories in reverse order and
 * never says when it leaves one, which is what a bottom-up tree builder
 * needs to know; owning the traversal also gives sorted listings and the
 * descriptor we need to tell whether a file changed while it was read.
 *
 * Descriptors are bounded, not one per level: the root's and those of the
 * deepest levels stay open (fs_walk_opts.dir_fds in all), shallower ones
 * are closed as the walk goes down, and opened again by name from the
 * nearest open one (O_NOFOLLOW | O_DIRECTORY) when the walk comes back up.
 * Each must then be the directory first opened, (st_dev, st_ino) as
 * recorded: one replaced meanwhile (renamed, swapped for another or for a
 * symlink) is reported and skipped with everything below it, never
 * followed.  Running out of descriptors (EMFILE) closes more of them.
 */
#include "fs/walk.h"

#include <sys/types.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "xmalloc.h"

#define CONTINUE        (-2) /* internal: nothing to yield yet, go on */
#define DIR_FDS_DEFAULT 8
#define LOST_HERE       1 /* this directory was replaced, or is gone */
#define LOST_ABOVE      2 /* one above it was */

struct frame {
	int fd;         /* the directory, or -1: not opened, closed, or lost */
	int opened;     /* it was opened: a closed one is opened again */
	int lost;       /* LOST_*: not to be listed further nor followed */
	int lost_errno; /* why it could not be opened again, or 0 */
	dev_t dev;      /* of the directory opened */
	ino_t ino;
	char *name; /* name in the parent (for a root: the path as given) */
	char *path; /* full path */
	int is_root;
	char **names; /* sorted listing */
	size_t nnames, next;
	char *warning; /* why the listing is missing or partial */
};

struct fs_walk {
	struct archive *ar;
	struct archive_entry *ae;
	char **roots;
	size_t nroots, next_root, cur_root;
	size_t rel_off; /* relpath = path + rel_off below the current root */
	char **exclude;
	size_t nexclude;
	int one_fs;
	int use_proc; /* /proc/self/fd works: paths of any length, race-free */
	dev_t root_dev;
	struct frame *stack;
	size_t depth, cap;
	size_t dir_fds; /* at most this many frames hold a descriptor */
	size_t nopen;   /* frames whose fd is open */

	/* The current entry. */
	struct fs_node node;
	char *path;
	int is_root;
	char warning[ERR_MSG_MAX];
	int fd;                /* regular file open for fs_walk_read, else -1 */
	int read_done;         /* fs_walk_read has returned 0 for it */
	struct stat st;        /* of fd when opened */
	struct fs_extent *ext; /* what fs_walk_read delivers */
	size_t next_ext, next_count;
	uint64_t pos; /* within ext[next_ext] */
};

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	if (n > 0 && dir[n - 1] == '/')
		return (xasprintf("%s%s", dir, name));
	return (xasprintf("%s/%s", dir, name));
}

/* The root as given, less trailing slashes ("/" stays "/"). */
static char *
clean_root(const char *root)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	return (xstrndup(root, n));
}

static const char *
last_component(const char *path)
{
	const char *s = strrchr(path, '/');

	if (s == NULL || s[1] == '\0')
		return (path);
	return (s + 1);
}

static int
open_noatime(int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_NOATIME);

	/* O_NOATIME needs ownership (or CAP_FOWNER): fall back without. */
	if (fd == -1 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return (fd);
}

static int
cmp_str(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static void
frame_close(struct fs_walk *w, struct frame *f)
{
	if (f->fd == -1)
		return;
	close(f->fd);
	f->fd = -1;
	w->nopen--;
}

/*
 * Close the shallowest open frame but the root's (stack[0]), the top's,
 * keep's and, with keep_parent, the one above keep (keep is being opened
 * from it): 0 if there is none.
 */
static int
close_one(struct fs_walk *w, const struct frame *keep, int keep_parent)
{
	for (size_t i = 1; i + 1 < w->depth; i++) {
		struct frame *f = &w->stack[i];

		if (f->fd != -1 && f != keep &&
		    !(keep_parent && f + 1 == keep)) {
			frame_close(w, f);
			return (1);
		}
	}
	return (0);
}

/*
 * Open f's directory, name below dirfd (the frame above f's descriptor,
 * or AT_FDCWD for a root); on EMFILE close frames (opened again when
 * needed) and try again.  Then close the shallowest while more than
 * dir_fds are open.  -1 with errno on failure.
 */
static int
open_frame(struct fs_walk *w, struct frame *f, int dirfd, const char *name)
{
	int fd;

	while ((fd = open_noatime(dirfd, name,
	            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1 &&
	    errno == EMFILE && close_one(w, f, 1))
		;
	if (fd == -1)
		return (-1);
	f->fd = fd;
	w->nopen++;
	while (w->nopen > w->dir_fds && close_one(w, f, 0))
		;
	return (0);
}

static void
frame_free(struct fs_walk *w, struct frame *f)
{
	frame_close(w, f);
	for (size_t i = 0; i < f->nnames; i++)
		free(f->names[i]);
	free(f->names);
	free(f->name);
	free(f->path);
	free(f->warning);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

/*
 * stack[from] could not be opened again as itself (errno no, or 0 when it
 * is another directory now): it and all below it are lost, their rest not
 * listed, their nodes skipped.
 */
static void
lose(struct fs_walk *w, size_t from, int no)
{
	for (size_t i = from; i < w->depth; i++) {
		struct frame *f = &w->stack[i];

		frame_close(w, f);
		f->lost = i == from ? LOST_HERE : LOST_ABOVE;
		f->lost_errno = i == from ? no : 0;
		f->next = f->nnames;
	}
}

/*
 * Make sure stack[i], a directory opened before, has a descriptor: open
 * it again by name from the nearest open frame above, level by level,
 * each checked to be the directory first opened there.  A level that
 * cannot be opened or is another directory now makes it and all below it
 * lost.  0, or -1 when stack[i] is lost.
 */
static int
reopen(struct fs_walk *w, size_t i)
{
	size_t j = i;

	if (w->stack[i].lost || !w->stack[i].opened)
		return (-1);
	if (w->stack[i].fd != -1)
		return (0);
	while (j > 0 && w->stack[j - 1].fd == -1)
		j--;
	/* stack[0], the root, is never closed while below it is open. */
	if (j == 0)
		return (lose(w, i, EBADF), -1);
	for (; j <= i; j++) {
		struct frame *f = &w->stack[j];
		struct stat st;

		if (f->fd != -1)
			continue;
		if (open_frame(w, f, w->stack[j - 1].fd, f->name) == -1 ||
		    fstat(f->fd, &st) == -1) {
			lose(w, j, errno);
			return (-1);
		}
		if (st.st_dev != f->dev || st.st_ino != f->ino) {
			lose(w, j, 0);
			return (-1);
		}
	}
	return (0);
}

/* dup(fd), closing frames (not fd's: the top's) on EMFILE. */
static int
dup_dir(struct fs_walk *w, int fd)
{
	int d;

	while ((d = dup(fd)) == -1 && errno == EMFILE && close_one(w, NULL, 0))
		;
	return (d);
}

/* Read f's names, sorted; a failure leaves what was read and a warning. */
static void
list_dir(struct fs_walk *w, struct frame *f)
{
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;
	int fd;

	if ((fd = dup_dir(w, f->fd)) == -1 || (dir = fdopendir(fd)) == NULL) {
		f->warning =
		    xasprintf("cannot list %s: %s", f->path, strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	rewinddir(dir);
	for (;;) {
		errno = 0;
		if ((d = readdir(dir)) == NULL) {
			if (errno != 0)
				f->warning = xasprintf("listing %s stopped: %s",
				    f->path, strerror(errno));
			break;
		}
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (f->nnames == cap) {
			cap = cap ? cap * 2 : 64;
			f->names = xreallocarray(f->names, cap, sizeof(char *));
		}
		f->names[f->nnames++] = xstrdup(d->d_name);
	}
	closedir(dir);
	if (f->nnames > 1)
		qsort(f->names, f->nnames, sizeof(char *), cmp_str);
}

static void
push_dir(struct fs_walk *w, int pfd, const char *name, char *path,
    const struct stat *st, int is_root)
{
	struct frame *f;
	struct stat fst;

	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->stack = xreallocarray(w->stack, w->cap, sizeof(*w->stack));
	}
	f = &w->stack[w->depth++];
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->name = xstrdup(name);
	f->path = path;
	f->is_root = is_root;
	if (open_frame(w, f, pfd, name) == -1 || fstat(f->fd, &fst) == -1) {
		f->warning =
		    xasprintf("cannot list %s: %s", path, strerror(errno));
		frame_close(w, f);
		return;
	}
	f->opened = 1;
	f->dev = fst.st_dev;
	f->ino = fst.st_ino;
	if (w->one_fs && st->st_dev != w->root_dev)
		return; /* a mount point: kept, not entered */
	list_dir(w, f);
}

static int
excluded(const struct fs_walk *w, const char *path, const char *name)
{
	for (size_t i = 0; i < w->nexclude; i++)
		if (fnmatch(w->exclude[i], path, 0) == 0 ||
		    fnmatch(w->exclude[i], name, 0) == 0)
			return (1);
	return (0);
}

static enum fs_type
type_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR:
		return (FS_DIR);
	case S_IFLNK:
		return (FS_SYMLINK);
	case S_IFIFO:
		return (FS_FIFO);
	case S_IFCHR:
		return (FS_CHR);
	case S_IFBLK:
		return (FS_BLK);
	case S_IFSOCK:
		return (FS_SOCK);
	default:
		return (FS_FILE);
	}
}

static struct fs_time
ts(struct timespec t)
{
	struct fs_time r = { (int64_t)t.tv_sec, (uint32_t)t.tv_nsec };

	return (r);
}

static void
take_acl(struct archive_entry *ae, int type, char **out)
{
	char *text;

	if ((archive_entry_acl_types(ae) & type) == 0)
		return;
	text = archive_entry_acl_to_text(ae, NULL,
	    type | ARCHIVE_ENTRY_ACL_STYLE_EXTRA_ID);
	if (text != NULL && text[0] != '\0')
		*out = xstrdup(text);
	free(text);
}

void
fs_node_take_extras(struct fs_node *n, struct archive_entry *ae)
{
	const char *s, *xname;
	const void *xval;
	size_t xlen;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xname, &xval, &xlen) == ARCHIVE_OK)
		if (xname != NULL && xname[0] != '\0')
			fs_node_add_xattr(n, xname, xval, xlen);
	take_acl(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &n->acl_access);
	take_acl(ae, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, &n->acl_default);
	take_acl(ae, ARCHIVE_ENTRY_ACL_TYPE_NFS4, &n->acl_nfs4);
	if ((s = archive_entry_fflags_text(ae)) != NULL && s[0] != '\0')
		n->fflags = xstrdup(s);
}

/*
 * Fill w->node for the object at (pfd, atname), whose lstat is st and
 * which is open as fd (or -1).  Metadata that cannot be read becomes
 * w->warning; -1 (with e) when the entry cannot be represented at all.
 */
static int
load_node(struct fs_walk *w, int pfd, const char *atname, int fd,
    const char *node_name, const struct stat *st, struct err *e)
{
	struct archive_entry *ae = w->ae;
	struct fs_node *n = &w->node;
	const char *s;
	char *accpath;
	la_int64_t off, len;
	int r;

	/*
	 * libarchive reaches by path what it cannot read through fd (default
	 * ACLs, and everything of a symlink or device).  Through /proc that
	 * path is relative to descriptors we hold: no length limit, no race.
	 */
	if (w->use_proc && fd != -1)
		accpath = xasprintf("/proc/self/fd/%d", fd);
	else if (w->use_proc && pfd != AT_FDCWD)
		accpath = xasprintf("/proc/self/fd/%d/%s", pfd, atname);
	else
		accpath = xstrdup(w->path);
	archive_entry_clear(ae);
	archive_entry_copy_sourcepath(ae, accpath);
	archive_entry_copy_pathname(ae, accpath);
	r = archive_read_disk_entry_from_file(w->ar, ae, fd, st);
	free(accpath);
	if (r != ARCHIVE_OK)
		snprintf(w->warning, sizeof(w->warning), "%s: metadata: %s",
		    w->path, archive_error_string(w->ar));

	fs_node_clear(n);
	n->name = xstrdup(node_name);
	n->type = type_of(st->st_mode);
	n->mode = (uint32_t)(st->st_mode & 07777);
	n->uid = (uint32_t)st->st_uid;
	n->gid = (uint32_t)st->st_gid;
	n->mtime = ts(st->st_mtim);
	n->atime = ts(st->st_atim);
	n->ctime = ts(st->st_ctim);
	n->size = st->st_size < 0 ? 0 : (uint64_t)st->st_size;
	n->dev = (uint64_t)st->st_dev;
	n->ino = (uint64_t)st->st_ino;
	n->nlink = (uint64_t)st->st_nlink;
	if (n->type == FS_CHR || n->type == FS_BLK) {
		n->rdev_major = (uint32_t)major(st->st_rdev);
		n->rdev_minor = (uint32_t)minor(st->st_rdev);
	}
	if ((s = archive_entry_uname(ae)) != NULL && s[0] != '\0')
		n->user = xstrdup(s);
	if ((s = archive_entry_gname(ae)) != NULL && s[0] != '\0')
		n->group = xstrdup(s);
	if (n->type == FS_SYMLINK) {
		if ((s = archive_entry_symlink(ae)) == NULL || s[0] == '\0') {
			errno = archive_errno(w->ar) > 0 ? archive_errno(w->ar)
			                                 : ENOENT;
			return (err_sys(e, ERR_IO, "%s: cannot read the link",
			    w->path));
		}
		n->symlink = xstrdup(s);
	}
	fs_node_take_extras(n, ae);
	if (n->type == FS_FILE && archive_entry_sparse_reset(ae) > 0) {
		uint64_t end = 0;

		while (
		    archive_entry_sparse_next(ae, &off, &len) == ARCHIVE_OK) {
			uint64_t o = (uint64_t)off, l = (uint64_t)len;

			/* Keep the map a valid one whatever happens. */
			if (off < 0 || len < 0 || o < end || o > n->size)
				continue;
			if (l > n->size - o)
				l = n->size - o;
			fs_node_add_extent(n, o, l);
			end = o + l;
		}
	}
	return (0);
}

static void
fill_ent(struct fs_walk *w, struct fs_walk_ent *ent, size_t depth)
{
	ent->node = &w->node;
	ent->path = w->path;
	ent->relpath = w->is_root ? "" : w->path + w->rel_off;
	ent->depth = depth;
	ent->root = w->cur_root;
	ent->warning = w->warning[0] != '\0' ? w->warning : NULL;
}

static void
end_entry(struct fs_walk *w)
{
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	fs_node_clear(&w->node);
	free(w->path);
	w->path = NULL;
	w->is_root = 0;
	w->warning[0] = '\0';
	free(w->ext);
	w->ext = NULL;
	w->next_ext = w->next_count = 0;
	w->pos = 0;
	w->read_done = 0;
}

/* Open a regular file below pfd (the top's descriptor) to read it. */
static int
open_file(struct fs_walk *w, int pfd, const char *atname)
{
	int fd, flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

	while ((fd = open_noatime(pfd, atname, flags)) == -1 &&
	    errno == EMFILE && close_one(w, NULL, 0))
		;
	return (fd);
}

/* Yield a non-directory (path is handed over). */
static int
emit_leaf(struct fs_walk *w, int pfd, const char *atname, const char *name,
    char *path, const struct stat *lst, struct fs_walk_ent *ent, struct err *e)
{
	struct stat st = *lst;
	int fd = -1;

	w->path = path;
	fill_ent(w, ent, w->depth);
	if (S_ISREG(st.st_mode)) {
		/* O_NONBLOCK: should it have become a FIFO, do not hang. */
		if ((fd = open_file(w, pfd, atname)) == -1)
			return (err_sys(e, ERR_IO, "%s", path), FS_WALK_SKIP);
		if (fstat(fd, &st) == -1) {
			err_sys(e, ERR_IO, "%s", path);
			close(fd);
			return (FS_WALK_SKIP);
		}
		if (!S_ISREG(st.st_mode)) {
			close(fd);
			err_set(e, ERR_IO,
			    "%s: changed type while being read; skipped", path);
			return (FS_WALK_SKIP);
		}
	}
	if (load_node(w, pfd, atname, fd, name, &st, e) == -1) {
		if (fd != -1)
			close(fd);
		return (FS_WALK_SKIP);
	}
	if (fd != -1) {
		w->fd = fd;
		w->st = st;
		if (w->node.nsparse > 0) {
			w->next_count = w->node.nsparse;
			w->ext =
			    xreallocarray(NULL, w->next_count, sizeof(*w->ext));
			memcpy(w->ext, w->node.sparse,
			    w->next_count * sizeof(*w->ext));
		} else if (w->node.size > 0) {
			w->next_count = 1;
			w->ext = xmalloc(sizeof(*w->ext));
			w->ext[0].offset = 0;
			w->ext[0].length = w->node.size;
		}
	}
	fill_ent(w, ent, w->depth);
	return (FS_WALK_ENTRY);
}

/* Pop the top directory and yield its node. */
static int
emit_dir(struct fs_walk *w, struct fs_walk_ent *ent, struct err *e)
{
	struct frame f = w->stack[--w->depth];
	struct stat st;
	int pfd, rc = FS_WALK_SKIP;

	w->path = f.path;
	f.path = NULL;
	w->is_root = f.is_root;
	if (f.warning != NULL)
		snprintf(w->warning, sizeof(w->warning), "%s", f.warning);
	fill_ent(w, ent, w->depth);
	if (f.lost == LOST_HERE && f.lost_errno != 0) {
		errno = f.lost_errno;
		err_sys(e, ERR_IO,
		    "%s: cannot open the directory again to finish it; "
		    "what was read of it is left out",
		    w->path);
		goto out;
	}
	if (f.lost == LOST_HERE) {
		err_set(e, ERR_IO,
		    "%s: replaced by another directory while it was read; not "
		    "followed, and what was read of it is left out",
		    w->path);
		goto out;
	}
	if (f.lost == LOST_ABOVE) {
		err_set(e, ERR_IO,
		    "%s: a directory above it was replaced while it was read; "
		    "left out",
		    w->path);
		goto out;
	}
	/* Not opened (f.warning says why): stat it by name, from above. */
	if (f.fd == -1 && w->depth > 0 && reopen(w, w->depth - 1) == -1) {
		err_set(e, ERR_IO,
		    "%s: a directory above it was replaced while it was read; "
		    "left out",
		    w->path);
		goto out;
	}
	pfd = w->depth > 0 ? w->stack[w->depth - 1].fd : AT_FDCWD;
	if ((f.fd != -1
	            ? fstat(f.fd, &st)
	            : fstatat(pfd, f.name, &st, AT_SYMLINK_NOFOLLOW)) == -1) {
		err_sys(e, ERR_IO, "%s", w->path);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		err_set(e, ERR_IO, "%s: changed type while being read; skipped",
		    w->path);
		goto out;
	}
	{
		/* A warning from the listing wins over one from metadata. */
		char keep[ERR_MSG_MAX];

		memcpy(keep, w->warning, sizeof(keep));
		if (load_node(w, pfd, f.name, f.fd,
		        f.is_root ? last_component(w->path) : f.name, &st,
		        e) == -1)
			goto out;
		if (keep[0] != '\0')
			memcpy(w->warning, keep, sizeof(keep));
	}
	fill_ent(w, ent, w->depth);
	rc = FS_WALK_ENTRY;
out:
	frame_free(w, &f);
	return (rc);
}

static int
start_root(struct fs_walk *w, struct fs_walk_ent *ent, struct err *e)
{
	const char *root = w->roots[w->next_root];
	struct stat st;

	w->cur_root = w->next_root++;
	w->rel_off = strcmp(root, "/") == 0 ? 1 : strlen(root) + 1;
	if (lstat(root, &st) == -1) {
		w->path = xstrdup(root);
		w->is_root = 1;
		fill_ent(w, ent, 0);
		return (err_sys(e, ERR_IO, "%s", root), FS_WALK_SKIP);
	}
	w->root_dev = st.st_dev;
	if (S_ISDIR(st.st_mode)) {
		push_dir(w, AT_FDCWD, root, xstrdup(root), &st, 1);
		return (CONTINUE);
	}
	w->is_root = 1;
	return (emit_leaf(w, AT_FDCWD, root, last_component(root),
	    xstrdup(root), &st, ent, e));
}

static int
visit(struct fs_walk *w, struct frame *top, const char *name,
    struct fs_walk_ent *ent, struct err *e)
{
	char *path = join(top->path, name);
	struct stat st;

	if (excluded(w, path, name)) {
		free(path);
		return (CONTINUE);
	}
	if (fstatat(top->fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		w->path = path;
		fill_ent(w, ent, w->depth);
		return (err_sys(e, ERR_IO, "%s", path), FS_WALK_SKIP);
	}
	if (S_ISDIR(st.st_mode)) {
		push_dir(w, top->fd, name, path, &st, 0);
		return (CONTINUE);
	}
	return (emit_leaf(w, top->fd, name, name, path, &st, ent, e));
}

int
fs_walk_next(struct fs_walk *w, struct fs_walk_ent *ent, struct err *e)
{
	int r;

	end_entry(w);
	memset(ent, 0, sizeof(*ent));
	for (;;) {
		struct frame *top;

		if (w->depth == 0) {
			if (w->next_root == w->nroots)
				return (FS_WALK_END);
			r = start_root(w, ent, e);
		} else {
			top = &w->stack[w->depth - 1];
			/* Closed to save descriptors: open it again (or lose
			 * it, when it is no longer what it was). */
			if (top->fd == -1 && top->opened && !top->lost)
				(void)reopen(w, w->depth - 1);
			if (top->next == top->nnames)
				return (emit_dir(w, ent, e));
			/* top may move when visit pushes: take the name first
			 */
			r = visit(w, top, top->names[top->next++], ent, e);
		}
		if (r != CONTINUE)
			return (r);
	}
}

ssize_t
fs_walk_read(struct fs_walk *w, void *buf, size_t size, uint64_t *offset,
    struct err *e)
{
	if (size > SSIZE_MAX)
		size = SSIZE_MAX;
	while (w->fd != -1 && size > 0) {
		const struct fs_extent *x;
		uint64_t off;
		size_t want;
		ssize_t n;

		if (w->read_done)
			break;
		if (w->next_ext == w->next_count) {
			struct stat now;

			if (fstat(w->fd, &now) == -1 ||
			    now.st_size != w->st.st_size ||
			    now.st_mtim.tv_sec != w->st.st_mtim.tv_sec ||
			    now.st_mtim.tv_nsec != w->st.st_mtim.tv_nsec ||
			    now.st_ctim.tv_sec != w->st.st_ctim.tv_sec ||
			    now.st_ctim.tv_nsec != w->st.st_ctim.tv_nsec)
				w->node.flags |= FS_NODE_INCONSISTENT;
			/* Kept open until the next entry: fs_walk_reread. */
			w->read_done = 1;
			break;
		}
		x = &w->ext[w->next_ext];
		if (w->pos >= x->length) {
			w->next_ext++;
			w->pos = 0;
			continue;
		}
		want = size;
		if (x->length - w->pos < want)
			want = (size_t)(x->length - w->pos);
		off = x->offset + w->pos;
		n = pread(w->fd, buf, want, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (err_sys(e, ERR_IO, "read %s", w->path));
		if (n == 0) {
			/* Shrunk under us: keep the promised length. */
			memset(buf, 0, want);
			n = (ssize_t)want;
			w->node.flags |= FS_NODE_INCONSISTENT;
		}
		w->pos += (uint64_t)n;
		*offset = off;
		return (n);
	}
	return (0);
}

int
fs_walk_reread(struct fs_walk *w, struct err *e)
{
	struct stat st;

	if (w->fd == -1)
		return (err_set(e, ERR_INTERNAL, "%s: no file to read again",
		    w->path ? w->path : "walk"));
	if (fstat(w->fd, &st) == -1)
		return (err_sys(e, ERR_IO, "%s", w->path));
	w->st = st;
	w->node.size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
	w->node.mtime = ts(st.st_mtim);
	w->node.atime = ts(st.st_atim);
	w->node.ctime = ts(st.st_ctim);
	w->node.flags &= ~(uint32_t)FS_NODE_INCONSISTENT;
	/* The old sparse map may no longer hold: read it all, holes too. */
	free(w->node.sparse);
	w->node.sparse = NULL;
	w->node.nsparse = 0;
	free(w->ext);
	w->ext = NULL;
	w->next_ext = w->next_count = 0;
	w->pos = 0;
	w->read_done = 0;
	if (w->node.size > 0) {
		w->next_count = 1;
		w->ext = xmalloc(sizeof(*w->ext));
		w->ext[0].offset = 0;
		w->ext[0].length = w->node.size;
	}
	return (0);
}

int
fs_walk_open(const char *const *roots, size_t n,
    const struct fs_walk_opts *opts, struct fs_walk **out, struct err *e)
{
	struct fs_walk *w = NULL;
	struct stat st;
	int rc = -1;

	*out = NULL;
	w = xcalloc(1, sizeof(*w));
	w->fd = -1;
	w->dir_fds = DIR_FDS_DEFAULT;
	if (opts != NULL && opts->dir_fds != 0)
		w->dir_fds = opts->dir_fds < 2 ? 2 : opts->dir_fds;
	w->roots = xcalloc(n == 0 ? 1 : n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		if (roots[i] == NULL || roots[i][0] == '\0') {
			err_set(e, ERR_USAGE, "an empty path to back up");
			goto out;
		}
		w->roots[w->nroots++] = clean_root(roots[i]);
		if (lstat(w->roots[i], &st) == -1) {
			err_sys(e, ERR_IO, "%s", roots[i]);
			goto out;
		}
	}
	if (opts != NULL) {
		w->one_fs = opts->one_file_system;
		w->exclude = xcalloc(opts->nexclude + 1, sizeof(char *));
		for (size_t i = 0; i < opts->nexclude; i++)
			w->exclude[w->nexclude++] = xstrdup(opts->exclude[i]);
	}
	w->use_proc = access("/proc/self/fd", X_OK) == 0;
	if ((w->ar = archive_read_disk_new()) == NULL)
		goto nomem;
	w->ae = archive_entry_new();
	if (w->ae == NULL)
		goto nomem;
	/*
	 * Everything on (ACLs, xattrs, file flags, sparse maps): the NO_*
	 * flags are off.  Not RESTORE_ATIME: it would change ctimes, and
	 * O_NOATIME already leaves atimes alone where we may use it.
	 */
	if (archive_read_disk_set_standard_lookup(w->ar) != ARCHIVE_OK ||
	    archive_read_disk_set_symlink_physical(w->ar) != ARCHIVE_OK ||
	    archive_read_disk_set_behavior(w->ar, 0) != ARCHIVE_OK) {
		err_set(e, ERR_INTERNAL, "libarchive: %s",
		    archive_error_string(w->ar));
		goto out;
	}
	*out = w;
	w = NULL;
	rc = 0;
	goto out;
nomem:
	err_set(e, ERR_INTERNAL, "libarchive: out of memory");
out:
	fs_walk_close(w);
	return (rc);
}

void
fs_walk_close(struct fs_walk *w)
{
	if (w == NULL)
		return;
	end_entry(w);
	while (w->depth > 0)
		frame_free(w, &w->stack[--w->depth]);
	free(w->stack);
	for (size_t i = 0; i < w->nroots; i++)
		free(w->roots[i]);
	free(w->roots);
	for (size_t i = 0; i < w->nexclude; i++)
		free(w->exclude[i]);
	free(w->exclude);
	if (w->ar != NULL)
		archive_read_free(w->ar);
	archive_entry_free(w->ae);
	free(w);
}

const char *
fs_archive_version(void)
{
	return (archive_version_details());
}
