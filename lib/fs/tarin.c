/*
 * Tar streams in: libarchive's reader, restricted to tar formats and to
 * the compressions it decodes itself (never an external program), with
 * each member's path cleaned and its metadata turned into a struct
 * fs_node as the file-system walk makes one.
 */
#include "fs/tarin.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "esc.h"
#include "fs/walk.h"
#include "xmalloc.h"

#define BLOCK_SIZE (64 * 1024)

struct fs_tarin {
	struct archive *a;
	struct fs_node node;
	char *path, *link;
	int failed; /* the stream failed: nothing more can be read */

	/* The current member's data: a block libarchive gave, not yet used. */
	int in_data, data_done;
	const uint8_t *blk;
	size_t blk_left;
	uint64_t end; /* where the data read so far ends in the file */
};

static int
ar_fail(struct fs_tarin *t, struct err *e, const char *what)
{
	const char *msg = archive_error_string(t->a);

	t->failed = 1;
	errno = archive_errno(t->a);
	if (errno > 0)
		return (err_sys(e, ERR_IO, "tar stream: %s: %s", what,
		    msg != NULL ? msg : "read error"));
	return (err_set(e, ERR_IO, "tar stream: %s: %s", what,
	    msg != NULL ? msg : "read error"));
}

int
fs_tarin_path_clean(const char *raw, char **out, int *stripped, struct err *e)
{
	const char *c = raw;
	char *o, *buf;

	*out = NULL;
	*stripped = raw[0] == '/';
	o = buf = xmalloc(strlen(raw) + 1);
	while (*c != '\0') {
		const char *slash;
		size_t len;

		while (*c == '/')
			c++;
		if (*c == '\0')
			break;
		slash = strchr(c, '/');
		len = slash != NULL ? (size_t)(slash - c) : strlen(c);
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			free(buf);
			return (err_set(e, ERR_CORRUPT,
			    "'..' in a member's path: refused (it could "
			    "name a place outside the restore's target)"));
		}
		if (!(len == 1 && c[0] == '.')) {
			if (o != buf)
				*o++ = '/';
			memcpy(o, c, len);
			o += len;
		}
		c += len;
	}
	*o = '\0';
	if ((size_t)(o - buf) > FS_TARIN_PATH_MAX) {
		free(buf);
		return (err_set(e, ERR_CORRUPT,
		    "a path of %zu bytes: refused (longer than %d, no "
		    "restore could write it)",
		    (size_t)(o - buf), FS_TARIN_PATH_MAX));
	}
	*out = buf;
	return (0);
}

static enum fs_type
type_of(unsigned int ft)
{
	switch (ft) {
	case AE_IFREG:
		return (FS_FILE);
	case AE_IFDIR:
		return (FS_DIR);
	case AE_IFLNK:
		return (FS_SYMLINK);
	case AE_IFIFO:
		return (FS_FIFO);
	case AE_IFCHR:
		return (FS_CHR);
	case AE_IFBLK:
		return (FS_BLK);
	case AE_IFSOCK:
		return (FS_SOCK);
	default:
		return ((enum fs_type)0);
	}
}

static struct fs_time
time_of(int64_t sec, long nsec)
{
	struct fs_time t;

	/* The tree format takes 0 .. 999999999 only. */
	if (nsec < 0 || nsec > 999999999)
		nsec = 0;
	t.sec = sec;
	t.nsec = (uint32_t)nsec;
	return (t);
}

/* Fill t->node from ae; -1 (ERR_CORRUPT) when it cannot be a node. */
static int
load_node(struct fs_tarin *t, struct archive_entry *ae, struct err *e)
{
	struct fs_node *n = &t->node;
	const char *s, *name;
	la_int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);

	if (t->link != NULL)
		n->type = FS_FILE;
	else if ((n->type = type_of(archive_entry_filetype(ae))) == 0)
		return (err_set(e, ERR_CORRUPT,
		    "member of unknown type (0%o): refused",
		    archive_entry_filetype(ae)));
	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return (
		    err_set(e, ERR_CORRUPT, "owner id out of range: refused"));
	name = strrchr(t->path, '/');
	name = name != NULL ? name + 1 : t->path;
	n->name = name[0] != '\0' ? xstrdup(name) : NULL;
	n->mode = (uint32_t)archive_entry_perm(ae) & 07777;
	n->uid = (uint32_t)uid;
	n->gid = (uint32_t)gid;
	if (archive_entry_mtime_is_set(ae))
		n->mtime = time_of((int64_t)archive_entry_mtime(ae),
		    archive_entry_mtime_nsec(ae));
	/* As the walk stores it: atime is not kept. */
	n->atime = n->mtime;
	n->ctime = archive_entry_ctime_is_set(ae)
	    ? time_of((int64_t)archive_entry_ctime(ae),
	          archive_entry_ctime_nsec(ae))
	    : n->mtime;
	n->nlink = 1;
	if (n->type == FS_FILE && t->link == NULL &&
	    archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0)
		n->size = (uint64_t)archive_entry_size(ae);
	if (n->type == FS_CHR || n->type == FS_BLK) {
		n->rdev_major = (uint32_t)archive_entry_rdevmajor(ae);
		n->rdev_minor = (uint32_t)archive_entry_rdevminor(ae);
	}
	if ((s = archive_entry_uname(ae)) != NULL && s[0] != '\0')
		n->user = xstrdup(s);
	if ((s = archive_entry_gname(ae)) != NULL && s[0] != '\0')
		n->group = xstrdup(s);
	if (n->type == FS_SYMLINK) {
		if ((s = archive_entry_symlink(ae)) == NULL || s[0] == '\0')
			return (err_set(e, ERR_CORRUPT,
			    "symlink without a target: refused"));
		n->symlink = xstrdup(s);
	}
	fs_node_take_extras(n, ae);
	return (0);
}

int
fs_tarin_open(int fd, struct fs_tarin **out, struct err *e)
{
	struct fs_tarin *t = xcalloc(1, sizeof(*t));
	int rc = -1;

	*out = NULL;
	if ((t->a = archive_read_new()) == NULL) {
		err_set(e, ERR_INTERNAL, "libarchive: out of memory");
		goto out;
	}
	/*
	 * Tar formats only, and only the filters libarchive decodes itself:
	 * each of these returns ARCHIVE_WARN when it would run an external
	 * program instead, which we do not want for untrusted bytes.
	 */
	if (archive_read_support_format_tar(t->a) != ARCHIVE_OK ||
	    archive_read_support_filter_none(t->a) != ARCHIVE_OK) {
		ar_fail(t, e, "setting up libarchive");
		goto out;
	}
	(void)archive_read_support_filter_gzip(t->a);
	(void)archive_read_support_filter_bzip2(t->a);
	(void)archive_read_support_filter_xz(t->a);
	(void)archive_read_support_filter_zstd(t->a);
	if (archive_read_open_fd(t->a, fd, BLOCK_SIZE) != ARCHIVE_OK) {
		ar_fail(t, e, "opening");
		goto out;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	fs_tarin_close(t);
	return (rc);
}

int
fs_tarin_next(struct fs_tarin *t, struct fs_tarin_ent *ent, struct err *e)
{
	struct archive_entry *ae;
	const char *raw, *hl;
	int r, stripped = 0, lstripped = 0;

	memset(ent, 0, sizeof(*ent));
	if (t->failed)
		return (err_set(e, ERR_IO,
		    "tar stream: an earlier failure ended it"));
	fs_node_clear(&t->node);
	free(t->path);
	free(t->link);
	t->path = t->link = NULL;
	t->in_data = t->data_done = 0;
	t->blk = NULL;
	t->blk_left = 0;
	t->end = 0;
	r = archive_read_next_header(t->a, &ae);
	if (r == ARCHIVE_EOF)
		return (FS_TARIN_END);
	if (r == ARCHIVE_FATAL || r == ARCHIVE_RETRY || r == ARCHIVE_FAILED) {
		/* FAILED and RETRY leave the stream in doubt: stop. */
		return (ar_fail(t, e, "reading a member's header"));
	}
	raw = archive_entry_pathname(ae);
	ent->raw = raw != NULL ? raw : "";
	if (fs_tarin_path_clean(ent->raw, &t->path, &stripped, e) == -1)
		return (FS_TARIN_REFUSED);
	ent->path = t->path;
	if ((hl = archive_entry_hardlink(ae)) != NULL) {
		if (fs_tarin_path_clean(hl, &t->link, &lstripped, e) == -1) {
			char *shown = esc_str(hl, strlen(hl));

			err_wrap(e, "hard link to \"%s\"", shown);
			free(shown);
			return (FS_TARIN_REFUSED);
		}
		if (t->link[0] == '\0') {
			err_set(e, ERR_CORRUPT,
			    "hard link to the archive's root: refused");
			return (FS_TARIN_REFUSED);
		}
		ent->hardlink = t->link;
	}
	ent->stripped = stripped || lstripped;
	if (load_node(t, ae, e) == -1) {
		fs_node_clear(&t->node);
		return (FS_TARIN_REFUSED);
	}
	ent->node = &t->node;
	t->in_data = t->node.type == FS_FILE && t->link == NULL;
	return (FS_TARIN_ENTRY);
}

/* Record [off, off + len) as data: extents merge when they touch. */
static void
add_extent(struct fs_node *n, uint64_t off, uint64_t len)
{
	if (n->nsparse > 0 &&
	    n->sparse[n->nsparse - 1].offset +
	            n->sparse[n->nsparse - 1].length ==
	        off) {
		n->sparse[n->nsparse - 1].length += len;
		return;
	}
	fs_node_add_extent(n, off, len);
}

/* At the end of the data: dense unless there was a hole. */
static void
finish_extents(struct fs_node *n)
{
	if (n->nsparse == 1 && n->sparse[0].offset == 0 &&
	    n->sparse[0].length == n->size) {
		free(n->sparse);
		n->sparse = NULL;
		n->nsparse = 0;
	} else if (n->nsparse == 0 && n->size > 0)
		fs_node_add_extent(n, 0, 0); /* all hole */
}

ssize_t
fs_tarin_read(struct fs_tarin *t, void *buf, size_t len, struct err *e)
{
	size_t k;

	if (t->failed)
		return (err_set(e, ERR_IO,
		    "tar stream: an earlier failure ended it"));
	if (!t->in_data || t->data_done)
		return (0);
	while (t->blk_left == 0) {
		const void *p;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(t->a, &p, &n, &off);

		if (r == ARCHIVE_EOF) {
			t->data_done = 1;
			finish_extents(&t->node);
			return (0);
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return (ar_fail(t, e, "reading a member's data"));
		if (n == 0)
			continue;
		if (off < 0 || (uint64_t)off < t->end ||
		    (uint64_t)off > t->node.size ||
		    n > t->node.size - (uint64_t)off) {
			t->failed = 1;
			return (err_set(e, ERR_CORRUPT,
			    "tar stream: a member's data lies outside its "
			    "%llu bytes",
			    (unsigned long long)t->node.size));
		}
		add_extent(&t->node, (uint64_t)off, n);
		t->end = (uint64_t)off + n;
		t->blk = p;
		t->blk_left = n;
	}
	k = len < t->blk_left ? len : t->blk_left;
	memcpy(buf, t->blk, k);
	t->blk += k;
	t->blk_left -= k;
	return ((ssize_t)k);
}

void
fs_tarin_close(struct fs_tarin *t)
{
	if (t == NULL)
		return;
	if (t->a != NULL)
		archive_read_free(t->a);
	fs_node_clear(&t->node);
	free(t->path);
	free(t->link);
	free(t);
}
