/*
 * The restore engine: walks a snapshot's trees depth first with one
 * decoded tree per level, and streams each file's chunks, one at a time,
 * into fs_extract (a directory or a tar stream) or into a descriptor.
 * Damage costs only the entries it touches; restore.h has the promises.
 */
#include "restore/restore.h"

#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/extract.h"
#include "repo/tree.h"
#include "xmalloc.h"

#define ZEROS_LEN (64 * 1024) /* holes written to a descriptor */

/* A growable NUL-terminated string. */
struct str {
	char *s;
	size_t len, cap;
};

/* One directory being restored: its entries and where the walk is. */
struct level {
	struct tree_dir dir;
	size_t next;
	size_t dirlen; /* its path's length in walk.rel */
	int all;       /* every entry below is wanted (no include filter) */
};

/*
 * The read-ahead cursor: a second walk of the same tree, in the same
 * order, ahead of the restore (see read_ahead).  Its levels point into
 * listings the walk owns (the directories both are in) or the cursor's
 * queue owns (directories the walk has not reached yet).  seq counts the
 * entries each has taken, so the two positions compare as numbers.
 */
struct alevel {
	const struct fs_node *nodes;
	size_t n, next;
	size_t scan;  /* entries before it were looked at for ahead_hint */
	size_t nhint; /* listings hinted from next on */
	int all;
};

struct aqueued {
	struct tree_dir dir;
	uint64_t seq; /* which entry of the walk it is the listing of */
};

#define AHEAD_DIRS  128   /* listings loaded ahead, at most */
#define AHEAD_NODES 65536 /* entries in them: more only for the first */
#define AHEAD_HINTS 8     /* listings of each level fetched ahead */

struct ahead {
	struct alevel *lv;
	size_t depth, cap;
	uint64_t seq;
	uint8_t (*ids)[IDX_ID_LEN]; /* announced at once, as one batch */
	size_t idcap;
	struct aqueued q[AHEAD_DIRS]; /* in walk order, from head */
	size_t qhead, nq;
	size_t qnodes; /* entries in the queued listings */
	int reset;     /* the walk left the cursor's path: start again */
};

struct walk {
	struct repo *r;
	struct tree_reader *tr;
	const struct rst_opts *o;
	struct rst_stats *st;
	struct fs_extract *x;
	int tar;
	struct str rel;  /* the current directory, relative: "etc/ssh" */
	struct str path; /* the current entry, absolute: "/etc/ssh/x" */
	struct level *lv;
	size_t depth, cap;
	uint64_t seq; /* entries taken so far, in walk order */
	struct ahead ahead;
};

/* Where an entry stands against the include list. */
enum sel { SEL_NO, SEL_PARENT, SEL_ALL };

/* A descriptor as a sink for file data. */
struct fd_out {
	int fd;
	uint64_t pos;
	uint8_t *zeros;
	const struct rst_opts *o;
};

typedef int (*put_fn)(void *arg, const uint8_t *p, size_t n, uint64_t off,
    struct err *e);

static void
str_add(struct str *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->s = xreallocarray(b->s, cap, 1);
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
str_cut(struct str *b, size_t len)
{
	b->len = len;
	b->s[len] = '\0';
}

/* Between entries and chunks: stop when asked, keep the lock fresh. */
static int
pulse(const struct rst_opts *o, struct err *e)
{
	if (o->interrupted != NULL && *o->interrupted)
		return (err_set(e, ERR_INTERRUPTED, "interrupted"));
	if (o->keepalive != NULL)
		return (o->keepalive(o->keepalive_arg, e));
	return (0);
}

/* Errors after which going on with other entries makes no sense. */
static int
is_fatal(const struct err *e)
{
	switch (e->class) {
	case ERR_NET:
	case ERR_NOSPACE:
	case ERR_INTERRUPTED:
	case ERR_INTERNAL:
	case ERR_LOCKED:
	case ERR_KEY:
	case ERR_NOREPO:
	case ERR_HOSTKEY:
	case ERR_AUTH:
		return (1);
	default:
		return (0);
	}
}

/* A pack the index names is gone: the data is missing, i.e. damage. */
static int
missing_is_damage(struct err *e)
{
	if (e->class == ERR_IO && e->sys_errno == ENOENT)
		e->class = ERR_CORRUPT;
	return (-1);
}

int
rst_path_normalize(const char *path, char **out, struct err *e)
{
	return (tree_path_clean(path, out, e));
}

int
rst_lookup(struct repo *r, const uint8_t root[IDX_ID_LEN], const char *path,
    struct fs_node *out, struct err *e)
{
	struct tree_reader *tr;
	int rc;

	memset(out, 0, sizeof(*out));
	if (path[0] != '/' || path[1] == '\0')
		return (err_set(e, ERR_USAGE,
		    "'%s' does not name an entry of a snapshot", path));
	tr = tree_reader_new(r);
	rc = tree_find(tr, root, path, out, e);
	tree_reader_free(tr);
	if (rc == 0)
		return (0);
	if (rc == -1)
		err_wrap(e, "%s", path);
	return (-1);
}

int
rst_exit_status(const struct rst_stats *st)
{
	if (st->damaged > 0)
		return (EXIT_CORRUPT);
	if (st->errors > 0 || st->warnings > 0)
		return (EXIT_PARTIAL);
	return (EXIT_OK);
}

/* ------------------------------------------------------------ file data */

/* The chunk list must be able to fill the file before any is read. */
static int
check_shape(const struct fs_node *n, struct err *e)
{
	uint64_t len = fs_node_data_len(n);

	if (len > 0 && n->nchunks == 0)
		return (err_set(e, ERR_CORRUPT,
		    "the snapshot lists no data for its %llu bytes",
		    (unsigned long long)len));
	if (len == 0 && n->nchunks > 0)
		return (err_set(e, ERR_CORRUPT,
		    "the snapshot lists data for a file that holds none"));
	return (0);
}

/*
 * For outputs that cannot take a file back: read and authenticate every
 * chunk before anything is written.  A file of at most KEEP_MAX bytes of
 * data is checked whole and keeps its data in *first for the write,
 * rather than reading it twice.  A larger one is read again (memory
 * stays bounded), so here its chunks are only authenticated
 * (REPO_READ_AUTH_ONLY), which finds any damage to the stored bytes; the
 * write's read checks them whole, and only bytes sealed under the key
 * but not the ones named (or changed in between) can fail there.
 */
#define KEEP_MAX (8u << 20)

static int
reads_twice(const struct fs_node *n)
{
	return (n->nchunks > 1 && fs_node_data_len(n) > KEEP_MAX);
}

struct verify_acc {
	const struct fs_node *n;
	uint64_t pos, total;
	uint8_t *first;
	size_t firstlen;
};

static int
verify_one(void *arg, size_t i, const uint8_t *p, size_t len, struct err *e)
{
	struct verify_acc *v = arg;

	(void)i;
	if (!reads_twice(v->n)) {
		if (v->pos + len > v->total)
			return (err_set(e, ERR_CORRUPT,
			    "its chunks hold more than its %llu bytes of data",
			    (unsigned long long)v->total));
		if (v->first == NULL)
			v->first = xmalloc(v->total ? (size_t)v->total : 1);
		memcpy(v->first + v->pos, p, len);
		v->firstlen += len;
	}
	v->pos += len;
	return (0);
}

static int
verify_data(struct repo *r, const struct fs_node *n, const struct rst_opts *o,
    uint8_t **first, size_t *firstlen, struct err *e)
{
	struct verify_acc v = { n, 0, fs_node_data_len(n), NULL, 0 };

	*first = NULL;
	*firstlen = 0;
	if (pulse(o, e) == -1)
		return (-1);
	if (repo_blobs_read(r, (const uint8_t(*)[IDX_ID_LEN])n->chunks,
	        n->nchunks, IDX_BLOB_DATA,
	        reads_twice(n) ? REPO_READ_AUTH_ONLY : 0, verify_one, &v,
	        e) == -1) {
		freezero(v.first, v.firstlen);
		return (missing_is_damage(e));
	}
	if (v.pos != v.total) {
		freezero(v.first, v.firstlen);
		return (err_set(e, ERR_CORRUPT,
		    "its chunks hold %s%llu bytes of data, not %llu",
		    v.pos > v.total ? "more than " : "",
		    (unsigned long long)v.pos, (unsigned long long)v.total));
	}
	*first = v.first;
	*firstlen = v.firstlen;
	return (0);
}

/*
 * Feed the file's data stream, chunk by chunk, to put at file offsets.
 * first (may be NULL, taken over): chunk 0, already read.  *done: data
 * bytes put.
 */
struct stream_acc {
	const struct fs_node *n;
	put_fn put;
	void *arg;
	const struct rst_opts *o;
	uint64_t pos, total;
};

/* Place one chunk's bytes at their file offsets. */
static int
stream_one(void *arg, size_t i, const uint8_t *p, size_t len, struct err *e)
{
	struct stream_acc *s = arg;

	(void)i;
	if (pulse(s->o, e) == -1)
		return (-1);
	for (size_t q = 0; q < len;) {
		uint64_t off, run;
		size_t k;

		if (fs_node_data_offset(s->n, s->pos, &off, &run) == -1)
			return (err_set(e, ERR_CORRUPT,
			    "its chunks hold more than its %llu bytes of data",
			    (unsigned long long)s->total));
		k = run < len - q ? (size_t)run : len - q;
		if (s->put(s->arg, p + q, k, off, e) == -1)
			return (-1);
		q += k;
		s->pos += k;
	}
	return (0);
}

/*
 * Feed the file's data stream, chunk by chunk (read ahead on worker
 * threads), to put at file offsets.  first (may be NULL, taken over):
 * the whole data stream, already read (verify_data).  *done: data bytes
 * put.
 */
static int
stream_data(struct repo *r, const struct fs_node *n, put_fn put, void *arg,
    uint8_t *first, size_t firstlen, const struct rst_opts *o, uint64_t *done,
    struct err *e)
{
	struct stream_acc s = { n, put, arg, o, 0, fs_node_data_len(n) };
	size_t from = 0;
	int rc = -1;

	*done = 0;
	if (first != NULL) {
		if (stream_one(&s, 0, first, firstlen, e) == -1)
			goto out;
		from = n->nchunks;
	}
	if (from < n->nchunks &&
	    repo_blobs_read(r, (const uint8_t(*)[IDX_ID_LEN])n->chunks + from,
	        n->nchunks - from, IDX_BLOB_DATA, 0, stream_one, &s, e) == -1) {
		missing_is_damage(e);
		goto out;
	}
	if (s.pos != s.total) {
		err_set(e, ERR_CORRUPT,
		    "its chunks hold %llu of its %llu bytes of data",
		    (unsigned long long)s.pos, (unsigned long long)s.total);
		goto out;
	}
	rc = 0;
out:
	*done = s.pos;
	freezero(first, firstlen);
	return (rc);
}

/* Into the walk's output; then rst_opts.file_data sees what it took. */
static int
put_extract(void *arg, const uint8_t *p, size_t n, uint64_t off, struct err *e)
{
	struct walk *w = arg;

	if (fs_extract_write(w->x, p, n, off, e) == -1)
		return (-1);
	if (w->o->file_begin != NULL)
		w->o->file_data(w->o->file_arg, p, n, off);
	return (0);
}

static int
write_full(struct fd_out *o, const uint8_t *p, size_t n, struct err *e)
{
	while (n > 0) {
		ssize_t w = write(o->fd, p, n);

		if (w == -1 && errno == EINTR) {
			if (o->o->interrupted != NULL && *o->o->interrupted)
				return (
				    err_set(e, ERR_INTERRUPTED, "interrupted"));
			continue;
		}
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/*
			 * A descriptor made non-blocking (a pipe into a
			 * database client) so that a signal, which may land
			 * on any thread, is seen while the reader stalls.
			 */
			struct pollfd pfd = { o->fd, POLLOUT, 0 };

			if (o->o->interrupted != NULL && *o->o->interrupted)
				return (
				    err_set(e, ERR_INTERRUPTED, "interrupted"));
			(void)poll(&pfd, 1, 100);
			continue;
		}
		if (w == -1)
			return (err_sys(e, ERR_IO, "write"));
		p += w;
		n -= (size_t)w;
		o->pos += (uint64_t)w;
	}
	return (0);
}

static int
put_zeros(struct fd_out *o, uint64_t n, struct err *e)
{
	while (n > 0) {
		size_t k = n < ZEROS_LEN ? (size_t)n : ZEROS_LEN;

		if (o->zeros == NULL)
			o->zeros = xcalloc(1, ZEROS_LEN);
		if (pulse(o->o, e) == -1 || write_full(o, o->zeros, k, e) == -1)
			return (-1);
		n -= k;
	}
	return (0);
}

static int
put_fd(void *arg, const uint8_t *p, size_t n, uint64_t off, struct err *e)
{
	struct fd_out *o = arg;

	if (off < o->pos)
		return (err_set(e, ERR_INTERNAL, "restore: data out of order"));
	if (put_zeros(o, off - o->pos, e) == -1)
		return (-1);
	return (write_full(o, p, n, e));
}

/*
 * One regular file to fd.  verify_first: every chunk is checked before
 * the first byte is written (nothing of a damaged file is written); else
 * each chunk is checked just before it is written, and st->bytes says
 * how much was written when it fails.
 */
static int
file_out(struct repo *r, const uint8_t root[IDX_ID_LEN], const char *path,
    int fd, const struct rst_opts *opts, int verify_first, struct rst_stats *st,
    struct err *e)
{
	struct fd_out o = { fd, 0, NULL, opts };
	struct fs_node n;
	uint8_t *first = NULL;
	size_t firstlen = 0;
	uint64_t done = 0;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (rst_lookup(r, root, path, &n, e) == -1) {
		if (e->class == ERR_CORRUPT)
			st->damaged = st->errors = 1;
		return (-1);
	}
	if (n.type != FS_FILE) {
		err_set(e, ERR_USAGE, "%s is a %s, not a regular file", path,
		    fs_type_name(n.type));
		goto out;
	}
	if (check_shape(&n, e) == -1 ||
	    (verify_first &&
	        verify_data(r, &n, opts, &first, &firstlen, e) == -1) ||
	    stream_data(r, &n, put_fd, &o, first, firstlen, opts, &done, e) ==
	        -1 ||
	    put_zeros(&o, n.size - o.pos, e) == -1) {
		err_wrap(e, "%s", path);
		goto out;
	}
	st->files = 1;
	rc = 0;
out:
	st->bytes = done;
	if (rc == -1 && e->class != ERR_USAGE) {
		st->errors = 1;
		st->damaged = e->class == ERR_CORRUPT;
	}
	free(o.zeros);
	fs_node_clear(&n);
	return (rc);
}

int
rst_file_to_fd(struct repo *r, const uint8_t root[IDX_ID_LEN], const char *path,
    int fd, const struct rst_opts *opts, struct rst_stats *st, struct err *e)
{
	return (file_out(r, root, path, fd, opts, 1, st, e));
}

int
rst_file_stream(struct repo *r, const uint8_t root[IDX_ID_LEN],
    const char *path, int fd, const struct rst_opts *opts, struct rst_stats *st,
    struct err *e)
{
	return (file_out(r, root, path, fd, opts, 0, st, e));
}

/* ------------------------------------------------------------ the walk */

static void
event(struct walk *w, enum rst_event ev, const struct err *e)
{
	switch (ev) {
	case RST_DAMAGED:
		w->st->damaged++;
		w->st->errors++;
		break;
	case RST_FAILED:
		w->st->errors++;
		break;
	case RST_WARNING:
		w->st->warnings++;
		break;
	case RST_SKIPPED:
		w->st->skipped++;
		break;
	case RST_INCONSISTENT:
		w->st->inconsistent++;
		break;
	}
	if (w->o->report != NULL)
		w->o->report(w->o->report_arg, ev, w->path.s, e);
}

/*
 * The current entry failed with *why.  0: it was reported, go on.  -1:
 * the restore cannot go on; *e says why, naming the entry.
 */
static int
entry_failed(struct walk *w, const struct err *why, struct err *e)
{
	if (is_fatal(why) || fs_extract_failed(w->x)) {
		w->st->errors++;
		if (why->class == ERR_CORRUPT)
			w->st->damaged++;
		*e = *why;
		return (err_wrap(e, "%s", w->path.s));
	}
	event(w, why->class == ERR_CORRUPT ? RST_DAMAGED : RST_FAILED, why);
	return (0);
}

/* fs_extract_end for the current entry; 1 when it is there. */
static int
end_entry(struct walk *w, struct err *e, int *fatal)
{
	struct err why;
	int r;

	*fatal = 0;
	err_clear(&why);
	if ((r = fs_extract_end(w->x, &why)) == -1) {
		*fatal = entry_failed(w, &why, e) == -1;
		return (0);
	}
	if (r == FS_EXTRACT_WARN)
		event(w, RST_WARNING, &why);
	return (1);
}

/* Drop the cursor's queued listings. */
static void
ahead_clear(struct ahead *a)
{
	for (; a->nq > 0; a->nq--) {
		tree_dir_clear(&a->q[a->qhead].dir);
		a->qhead = (a->qhead + 1) % AHEAD_DIRS;
	}
	a->qhead = 0;
	a->qnodes = 0;
	a->depth = 0;
}

/* Put the cursor where the walk is: before the file it is reading. */
static void
ahead_reset(struct walk *w)
{
	struct ahead *a = &w->ahead;

	ahead_clear(a);
	if (a->cap < w->depth) {
		a->cap = w->cap;
		a->lv = xreallocarray(a->lv, a->cap, sizeof(*a->lv));
	}
	for (size_t i = 0; i < w->depth; i++) {
		a->lv[i].nodes = w->lv[i].dir.nodes;
		a->lv[i].n = w->lv[i].dir.n;
		a->lv[i].next = a->lv[i].scan = w->lv[i].next;
		a->lv[i].nhint = 0;
		a->lv[i].all = w->lv[i].all;
	}
	a->lv[w->depth - 1].next--;
	a->depth = w->depth;
	a->seq = w->seq - 1;
	a->reset = 0;
}

/*
 * Have the listings of the next AHEAD_HINTS subdirectories of level l
 * fetched ahead (repo_prefetch), so that going into them costs the
 * cursor no round trip of its own.
 */
static void
ahead_hint(struct walk *w, struct alevel *l)
{
	uint8_t ids[AHEAD_HINTS][IDX_ID_LEN];
	size_t n = 0;

	for (; l->scan < l->n && l->nhint < AHEAD_HINTS; l->scan++) {
		const struct fs_node *d = &l->nodes[l->scan];

		if (d->type == FS_DIR && (d->flags & FS_NODE_HAS_SUBTREE)) {
			memcpy(ids[n++], d->subtree, IDX_ID_LEN);
			l->nhint++;
		}
	}
	repo_prefetch(w->r, (const uint8_t(*)[IDX_ID_LEN])ids, n,
	    IDX_BLOB_TREE);
}

/*
 * The cursor takes directory n, its next entry, and goes into it: its
 * listing is loaded now and queued for do_dir.  0, or -1 if it cannot
 * (the queue is full, or the listing does not load: the walk finds out
 * why), and the cursor stays before n.
 */
static int
ahead_enter(struct walk *w, const struct fs_node *n)
{
	struct ahead *a = &w->ahead;
	struct alevel *l = &a->lv[a->depth - 1];
	struct aqueued *qd;
	struct err e;

	if ((n->flags & FS_NODE_HAS_SUBTREE) == 0) {
		/* Empty: nothing to load, nothing to walk. */
		a->lv[a->depth - 1].next++;
		a->seq++;
		return (0);
	}
	if (a->nq == AHEAD_DIRS || (a->nq > 0 && a->qnodes >= AHEAD_NODES))
		return (-1);
	qd = &a->q[(a->qhead + a->nq) % AHEAD_DIRS];
	/* Its next siblings first: the fetch of its own go first. */
	if (l->scan > l->next && l->nhint > 0)
		l->nhint--; /* n was one of them */
	ahead_hint(w, l);
	err_clear(&e);
	if (tree_load_dir(w->tr, n, &qd->dir, &e) == -1)
		return (-1);
	qd->seq = a->seq;
	a->nq++;
	a->qnodes += qd->dir.n;
	l->next++;
	a->seq++;
	if (a->depth == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->lv = xreallocarray(a->lv, a->cap, sizeof(*a->lv));
	}
	l = &a->lv[a->depth++];
	l->nodes = qd->dir.nodes;
	l->n = qd->dir.n;
	l->next = l->scan = l->nhint = 0;
	l->all = 1;
	ahead_hint(w, l);
	return (0);
}

/*
 * The listing of directory n, the entry the walk just took, if the cursor
 * loaded it: 1 and it is moved to d, else 0 (and the cursor starts again
 * from the walk, which loads the listing itself).
 */
static int
ahead_take(struct walk *w, const struct fs_node *n, struct tree_dir *d)
{
	struct ahead *a = &w->ahead;
	struct aqueued *qd = &a->q[a->qhead];

	if (a->nq == 0 || (n->flags & FS_NODE_HAS_SUBTREE) == 0)
		return (0);
	if (qd->seq != w->seq - 1) {
		a->reset = 1;
		return (0);
	}
	*d = qd->dir;
	a->qnodes -= qd->dir.n;
	memset(&qd->dir, 0, sizeof(qd->dir));
	a->qhead = (a->qhead + 1) % AHEAD_DIRS;
	a->nq--;
	return (1);
}

/*
 * Announce the chunks of the files the walk reads next, so that the
 * repository's readers fetch them while earlier files are written: a
 * restore of many small files is otherwise one store round trip per file,
 * in turn, and a store across a network wants many blobs per request.
 * The cursor walks ahead of the restore in the same order, into
 * subdirectories too, loading their listings (which the walk then takes
 * instead of loading them again), as far as the readers have room, and
 * AHEAD_DIRS listings of AHEAD_NODES entries in all (memory stays bounded
 * in a tree of large directories without data).  Only what the walk surely
 * reads next is announced, in a tree restored whole: the cursor stops before a
 * hard link (which may have no data to read), at a listing that does not load,
 * and, in tar mode, before a file too large to keep while it is checked
 * (read twice: checked, then written; see KEEP_MAX); it goes on once the
 * walk is past that entry.
 * A wrong guess costs only the reads: repo_blobs_read checks every id.
 */
static void
read_ahead(struct walk *w) /* from do_file: the walk just took a file */
{
	struct ahead *a = &w->ahead;
	size_t room, nids = 0;

	if (w->o->nexcludes > 0)
		return;
	if (a->reset || a->seq < w->seq - 1)
		ahead_reset(w); /* the walk caught up, or went elsewhere */
	room = repo_read_ahead_room(w->r);
	if (room > a->idcap) {
		a->idcap = room;
		a->ids = xreallocarray(a->ids, room, sizeof(*a->ids));
	}
	while (a->depth > 0) {
		struct alevel *l = &a->lv[a->depth - 1];
		const struct fs_node *n;

		if (l->next == l->n) {
			a->depth--;
			continue;
		}
		if (!l->all)
			break;
		n = &l->nodes[l->next];
		if (n->type == FS_DIR) {
			if (ahead_enter(w, n) == -1)
				break;
			continue;
		}
		if (n->type == FS_FILE &&
		    (n->nlink > 1 || (w->tar && reads_twice(n))))
			break;
		if (n->type == FS_FILE && n->nchunks > 0) {
			if (n->nchunks > room - nids)
				break;
			memcpy(a->ids[nids], n->chunks,
			    n->nchunks * sizeof(*a->ids));
			nids += n->nchunks;
		}
		l->next++;
		a->seq++;
	}
	/* In one call, so that the readers make batches of them at once. */
	repo_read_ahead(w->r, (const uint8_t(*)[IDX_ID_LEN])a->ids, nids,
	    IDX_BLOB_DATA);
}

static int
do_file(struct walk *w, const struct fs_node *n, struct err *e)
{
	uint8_t *first = NULL;
	size_t firstlen = 0;
	uint64_t done = 0;
	struct err why, why2;
	int r, fatal, hook = w->o->file_begin != NULL;

	err_clear(&why);
	if (check_shape(n, &why) == -1)
		return (entry_failed(w, &why, e));
	read_ahead(w);
	/* A tar header cannot be taken back: check the data first. */
	if (w->tar && n->nchunks > 0 &&
	    verify_data(w->r, n, w->o, &first, &firstlen, &why) == -1)
		return (entry_failed(w, &why, e));
	if ((r = fs_extract_begin(w->x, w->rel.s, n, &why)) == -1) {
		freezero(first, firstlen);
		return (entry_failed(w, &why, e));
	}
	if (hook)
		w->o->file_begin(w->o->file_arg, w->path.s, n, r);
	if (r == 0) {
		freezero(first, firstlen); /* a hard link, or empty */
	} else if (stream_data(w->r, n, put_extract, w, first, firstlen, w->o,
	               &done, &why) == -1) {
		if (hook)
			w->o->file_end(w->o->file_arg, 0);
		/* Never leave what was written looking restored. */
		err_clear(&why2);
		if (fs_extract_discard(w->x, &why2) == -1) {
			char old[ERR_MSG_MAX];

			memcpy(old, why.msg, sizeof(old));
			if (!fs_extract_failed(w->x))
				err_set(&why, why.class,
				    "%s; and the incomplete file could not be "
				    "removed: %s",
				    old, why2.msg);
			else if (w->tar && why.class == ERR_CORRUPT)
				/* Checked once, it failed the second read. */
				err_set(&why, why.class,
				    "%s; its header was out, so the tar stream "
				    "is cut short here",
				    old);
		}
		return (entry_failed(w, &why, e));
	}
	r = end_entry(w, e, &fatal);
	if (hook)
		w->o->file_end(w->o->file_arg, r);
	if (!r)
		return (fatal ? -1 : 0);
	w->st->files++;
	w->st->bytes += done;
	if (n->flags & FS_NODE_INCONSISTENT) {
		err_set(&why, ERR_NONE,
		    "it changed while the snapshot read it: restored as read, "
		    "which may mix old and new content");
		event(w, RST_INCONSISTENT, &why);
	}
	return (0);
}

static int
do_other(struct walk *w, const struct fs_node *n, struct err *e)
{
	struct err why;
	int fatal;

	err_clear(&why);
	if (n->type == FS_SOCK) {
		/* The program that listens on a socket makes it. */
		err_set(&why, ERR_NONE, "a socket is not restored");
		event(w, RST_SKIPPED, &why);
		return (0);
	}
	if (w->o->no_devices &&
	    (n->type == FS_FIFO || n->type == FS_CHR || n->type == FS_BLK)) {
		/* Asked for: a class, so that it is shown as a warning. */
		err_set(&why, ERR_USAGE, "a %s is not restored (--no-devices)",
		    n->type == FS_FIFO ? "FIFO" : "device node");
		event(w, RST_SKIPPED, &why);
		return (0);
	}
	if (fs_extract_begin(w->x, w->rel.s, n, &why) == -1)
		return (entry_failed(w, &why, e));
	if (!end_entry(w, e, &fatal))
		return (fatal ? -1 : 0);
	w->st->others++;
	return (0);
}

static void
push(struct walk *w, struct tree_dir *dir, int all)
{
	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->lv = xreallocarray(w->lv, w->cap, sizeof(*w->lv));
	}
	w->lv[w->depth].dir = *dir; /* taken over */
	memset(dir, 0, sizeof(*dir));
	w->lv[w->depth].next = 0;
	w->lv[w->depth].dirlen = w->rel.len;
	w->lv[w->depth].all = all;
	w->depth++;
}

/*
 * A directory: its listing is read before it is made, so a directory
 * whose listing is damaged is reported and left out rather than restored
 * empty.  Then its entries are walked.
 */
static int
do_dir(struct walk *w, const struct fs_node *n, int all, struct err *e)
{
	struct tree_dir d = { NULL, 0 };
	struct err why;
	int fatal;

	err_clear(&why);
	if (!ahead_take(w, n, &d) && tree_load_dir(w->tr, n, &d, &why) == -1) {
		err_wrap(&why, "its listing");
		return (entry_failed(w, &why, e));
	}
	if (fs_extract_begin(w->x, w->rel.s, n, &why) == -1) {
		tree_dir_clear(&d);
		w->ahead.reset = 1; /* the cursor went in: the walk does not */
		return (entry_failed(w, &why, e));
	}
	if (!end_entry(w, e, &fatal)) {
		tree_dir_clear(&d);
		w->ahead.reset = 1;
		return (fatal ? -1 : 0);
	}
	w->st->dirs++;
	if (w->rel.len > 0)
		str_add(&w->rel, "/", 1);
	str_add(&w->rel, n->name, strlen(n->name));
	push(w, &d, all);
	return (0);
}

static enum sel
select_path(const struct rst_opts *o, const char *p, size_t plen)
{
	enum sel best = SEL_NO;

	for (size_t i = 0; i < o->nincludes; i++) {
		const char *inc = o->includes[i];
		size_t ilen = strlen(inc);

		if (ilen == 1 ||
		    (plen >= ilen && memcmp(p, inc, ilen) == 0 &&
		        (p[ilen] == '\0' || p[ilen] == '/')))
			return (SEL_ALL);
		if (plen < ilen && memcmp(inc, p, plen) == 0 &&
		    inc[plen] == '/')
			best = SEL_PARENT;
	}
	return (best);
}

static int
excluded(const struct rst_opts *o, const char *path, const char *name)
{
	for (size_t i = 0; i < o->nexcludes; i++)
		if (fnmatch(o->excludes[i], path, 0) == 0 ||
		    fnmatch(o->excludes[i], name, 0) == 0)
			return (1);
	return (0);
}

static int
walk_tree(struct walk *w, const uint8_t root[IDX_ID_LEN], struct err *e)
{
	struct tree_dir d;

	if (tree_load(w->tr, root, &d, e) == -1)
		return (err_wrap(e, "the snapshot's top directory listing"));
	push(w, &d, w->o->nincludes == 0);
	while (w->depth > 0) {
		struct level *l = &w->lv[w->depth - 1];
		const struct fs_node *node;
		enum sel sel;
		int rc;

		if (l->next == l->dir.n) {
			tree_dir_clear(&l->dir);
			w->depth--;
			if (w->depth > 0)
				str_cut(&w->rel, w->lv[w->depth - 1].dirlen);
			continue;
		}
		node = &l->dir.nodes[l->next++];
		w->seq++;
		str_cut(&w->path, 0);
		str_add(&w->path, "/", 1);
		str_add(&w->path, w->rel.s, w->rel.len);
		if (w->rel.len > 0)
			str_add(&w->path, "/", 1);
		str_add(&w->path, node->name, strlen(node->name));
		if (pulse(w->o, e) == -1)
			return (-1);
		sel = l->all ? SEL_ALL
		             : select_path(w->o, w->path.s, w->path.len);
		if (sel == SEL_NO ||
		    (sel == SEL_PARENT && node->type != FS_DIR) ||
		    excluded(w->o, w->path.s, node->name))
			continue;
		/* do_dir may move w->lv: l is not used after this. */
		switch (node->type) {
		case FS_DIR:
			rc = do_dir(w, node, sel == SEL_ALL, e);
			break;
		case FS_FILE:
			rc = do_file(w, node, e);
			break;
		default:
			rc = do_other(w, node, e);
			break;
		}
		if (rc == -1)
			return (-1);
	}
	return (0);
}

static void
walk_init(struct walk *w, struct repo *r, const struct rst_opts *o,
    struct rst_stats *st)
{
	memset(w, 0, sizeof(*w));
	memset(st, 0, sizeof(*st));
	w->r = r;
	w->tr = tree_reader_new(r);
	w->o = o;
	w->st = st;
	str_add(&w->rel, "", 0);
	str_add(&w->path, "", 0);
}

/* Close (or, after a failure, abort) the output and free the walk. */
static int
walk_finish(struct walk *w, int rc, struct err *e)
{
	struct err why;
	int r;

	if (rc == -1) {
		fs_extract_abort(w->x);
	} else {
		err_clear(&why);
		r = fs_extract_close(w->x, &why);
		if (r == -1) {
			*e = why;
			rc = -1;
		} else if (r == FS_EXTRACT_WARN) {
			/* Deferred directory times and modes. */
			str_cut(&w->path, 0);
			str_add(&w->path, "/", 1);
			event(w, RST_WARNING, &why);
		}
	}
	w->x = NULL;
	ahead_clear(&w->ahead);
	free(w->ahead.lv);
	free(w->ahead.ids);
	while (w->depth > 0) {
		w->depth--;
		tree_dir_clear(&w->lv[w->depth].dir);
	}
	free(w->lv);
	tree_reader_free(w->tr);
	free(w->rel.s);
	free(w->path.s);
	return (rc);
}

int
rst_to_dir(struct repo *r, const uint8_t root[IDX_ID_LEN], const char *target,
    const struct rst_opts *o, struct rst_stats *st, struct err *e)
{
	struct walk w;
	int rc = -1;

	walk_init(&w, r, o, st);
	if (fs_extract_open(target, o->flags, &w.x, e) == 0)
		rc = walk_tree(&w, root, e);
	return (walk_finish(&w, rc, e));
}

int
rst_to_tar(struct repo *r, const uint8_t root[IDX_ID_LEN], int fd,
    const struct rst_opts *o, struct rst_stats *st, struct err *e)
{
	struct walk w;
	int rc = -1;

	walk_init(&w, r, o, st);
	w.tar = 1;
	if (fs_tar_open(fd, o->flags & FS_EXTRACT_NUMERIC_OWNER, &w.x, e) == 0)
		rc = walk_tree(&w, root, e);
	return (walk_finish(&w, rc, e));
}
