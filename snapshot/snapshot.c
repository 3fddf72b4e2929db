/*
 * Snapshot engine.  The walk yields entries in post-order with each
 * directory's entries sorted, so one list of nodes per depth is all the
 * state needed to build tree blobs bottom-up; roots are then placed under
 * their parent components in a synthetic top tree.
 */
#include "snapshot/snapshot.h"

#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/walk.h"
#include "repo/chunker.h"
#include "repo/oplog.h"
#include "repo/treecodec.h"
#include "snapshot/fcache.h"
#include "xmalloc.h"

#define READ_SIZE (1u << 20)

struct level {
	struct fs_node *nodes;
	size_t n, cap;
};

struct snap {
	struct repo *r;
	const struct snap_opts *o;
	struct manifest *m;
	struct chunker *ck;
	struct fcache *fc;
	uint8_t *buf; /* chunk being built + room for one read */
	size_t buf_cap;
	struct repo_stats st0;
	struct timespec t0;
	/* One walk (snap_add_paths): */
	const struct snap_paths *p;
	struct level *levels;
	size_t nlevels;
	struct fs_node *roots; /* depth-0 node per root */
	char **abs;            /* absolute root paths */
	size_t npaths;
};

static void
level_push(struct snap *s, size_t depth, struct fs_node *n)
{
	struct level *l;

	if (depth >= s->nlevels) {
		s->levels =
		    xreallocarray(s->levels, depth + 1, sizeof(*s->levels));
		memset(s->levels + s->nlevels, 0,
		    (depth + 1 - s->nlevels) * sizeof(*s->levels));
		s->nlevels = depth + 1;
	}
	l = &s->levels[depth];
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->nodes = xreallocarray(l->nodes, l->cap, sizeof(*l->nodes));
	}
	fs_node_move(&l->nodes[l->n++], n);
}

static int
interrupted(const struct snap *s, struct err *e)
{
	if (s->o->interrupted != NULL && *s->o->interrupted)
		return (err_set(e, ERR_INTERRUPTED,
		    "interrupted: no snapshot saved (data written so far is "
		    "kept and reused by the next run)"));
	return (0);
}

/* Store nodes as one tree blob; the nodes are freed. */
static int
put_tree(struct snap *s, struct fs_node *nodes, size_t n,
    uint8_t id[IDX_ID_LEN], struct err *e)
{
	uint8_t *buf;
	size_t len;
	int added, rc;

	treecodec_encode(nodes, n, &buf, &len);
	rc = repo_blob_put(s->r, IDX_BLOB_TREE, buf, len, id, &added, e);
	freezero(buf, len); /* the plaintext names files */
	return (rc);
}

static int
put_chunk(struct snap *s, struct fs_node *n, const uint8_t *p, size_t len,
    struct err *e)
{
	uint8_t id[IDX_ID_LEN];
	int added;

	if (repo_blob_put(s->r, IDX_BLOB_DATA, p, len, id, &added, e) == -1)
		return (-1);
	fs_node_add_chunk(n, id);
	return (0);
}

static ssize_t
walk_reader(void *arg, void *buf, size_t len, struct err *e)
{
	uint64_t off;

	return (fs_walk_read(arg, buf, len, &off, e));
}

/* Read a byte stream through the chunker into data blobs of n. */
static int
read_stream(struct snap *s, snap_reader rd, void *arg, struct fs_node *n,
    const char *path, struct err *e)
{
	size_t have = 0, max = repo_chunker_params(s->r)->max_size;
	ssize_t got;

	chunker_reset(s->ck);
	for (;;) {
		size_t scanned = 0;

		if (interrupted(s, e) == -1)
			return (-1);
		got = rd(arg, s->buf + have, READ_SIZE, e);
		if (got == -1)
			return (err_wrap(e, "%s", path));
		if (got == 0)
			break;
		s->m->bytes_read += (uint64_t)got;
		if (s->o->progress != NULL)
			progress_add(s->o->progress, (uint64_t)got);
		/* Cut every chunk that ends inside what was just read. */
		while (scanned < (size_t)got) {
			int cut;
			size_t k = chunker_scan(s->ck, s->buf + have + scanned,
			    (size_t)got - scanned, &cut);

			scanned += k;
			if (!cut)
				break;
			if (put_chunk(s, n, s->buf, have + scanned, e) == -1)
				return (-1);
			memmove(s->buf, s->buf + have + scanned,
			    (size_t)got - scanned);
			got -= (ssize_t)scanned;
			scanned = 0;
			have = 0;
		}
		have += (size_t)got;
		if (have > max)
			return (err_set(e, ERR_INTERNAL,
			    "%s: chunk longer than the maximum", path));
	}
	if (chunker_finish(s->ck) > 0 && put_chunk(s, n, s->buf, have, e) == -1)
		return (-1);
	return (0);
}

/*
 * Whether a cache hit may stand for the file: every chunk a data blob in
 * the index, their plaintext lengths adding up to the file's size.  A
 * damaged entry (no chunks, or another file's) is then a miss, not a
 * file stored short.  Chunks only in the pack being filled have no length
 * yet: a miss too, which costs a read.
 */
static int
hit_usable(struct repo *r, const struct fs_node *n)
{
	const struct idx_entry *ent;
	uint64_t sum = 0;

	for (size_t i = 0; i < n->nchunks; i++) {
		/* Not a copy a prune marked: reused, and checked at commit. */
		if ((ent = repo_blob_reuse(r, n->chunks[i])) == NULL ||
		    ent->type != IDX_BLOB_DATA)
			return (0);
		sum += ent->raw_length;
	}
	return (sum == n->size);
}

static int
file_content(struct snap *s, struct fs_walk *w, struct fs_node *n,
    const char *path, struct err *e)
{
	/* Unchanged since the last run and still stored: no read needed. */
	if (s->fc != NULL && fcache_lookup(s->fc, path, n)) {
		if (hit_usable(s->r, n)) {
			fcache_store(s->fc, path, n);
			return (0);
		}
		free(n->chunks);
		n->chunks = NULL;
		n->nchunks = 0;
	}
	if (read_stream(s, walk_reader, w, n, path, e) == -1)
		return (-1);
	if (n->flags & FS_NODE_INCONSISTENT) {
		/* Changed while read: read once more from the start. */
		free(n->chunks);
		n->chunks = NULL;
		n->nchunks = 0;
		if (fs_walk_reread(w, e) == -1 ||
		    read_stream(s, walk_reader, w, n, path, e) == -1)
			return (-1);
	}
	if (n->flags & FS_NODE_INCONSISTENT) {
		log_warn(s->o->log,
		    "%s changed while it was read; stored as "
		    "read and listed as inconsistent",
		    path);
		manifest_add_inconsistent(s->m, path);
	} else if (s->fc != NULL)
		fcache_store(s->fc, path, n);
	return (0);
}

static int
walk(struct snap *s, struct err *e)
{
	struct fs_walk_opts wo;
	struct fs_walk *w = NULL;
	struct fs_walk_ent ent;
	int rc = -1, r;

	memset(&wo, 0, sizeof(wo));
	wo.exclude = s->p->exclude;
	wo.nexclude = s->p->nexclude;
	wo.one_file_system = s->p->one_file_system;
	if (fs_walk_open((const char *const *)s->abs, s->npaths, &wo, &w, e) ==
	    -1)
		goto out;
	while ((r = fs_walk_next(w, &ent, e)) != FS_WALK_END) {
		struct fs_node *n = ent.node;

		if (r == -1)
			goto out;
		if (interrupted(s, e) == -1)
			goto out;
		if (r == FS_WALK_SKIP) {
			log_warn(s->o->log, "skipped %s", e->msg);
			manifest_add_skipped(s->m, ent.path, e->msg);
			/* A skipped directory's entries go with it. */
			if (ent.depth + 1 < s->nlevels) {
				struct level *kids = &s->levels[ent.depth + 1];

				fs_nodes_free(kids->nodes, kids->n);
				memset(kids, 0, sizeof(*kids));
			}
			continue;
		}
		/*
		 * atime is not kept: reading (the backup's own included)
		 * changes it, and keeping it would make every tree new on
		 * every run.  Restores get atime = mtime.
		 */
		n->atime = n->mtime;
		if (ent.warning != NULL) {
			log_warn(s->o->log, "%s", ent.warning);
			manifest_add_skipped(s->m, ent.path, ent.warning);
		}
		switch (n->type) {
		case FS_DIR: {
			struct level *kids = ent.depth + 1 < s->nlevels
			    ? &s->levels[ent.depth + 1]
			    : NULL;

			if (put_tree(s, kids ? kids->nodes : NULL,
			        kids ? kids->n : 0, n->subtree, e) == -1)
				goto out;
			n->flags |= FS_NODE_HAS_SUBTREE;
			if (kids != NULL) {
				fs_nodes_free(kids->nodes, kids->n);
				memset(kids, 0, sizeof(*kids));
			}
			s->m->dirs++;
			break;
		}
		case FS_FILE:
			if (file_content(s, w, n, ent.path, e) == -1)
				goto out;
			s->m->files++;
			s->m->bytes += n->size;
			break;
		default:
			s->m->others++;
			break;
		}
		if (ent.depth == 0)
			fs_node_move(&s->roots[ent.root], n);
		else
			level_push(s, ent.depth, n);
	}
	rc = 0;
out:
	fs_walk_close(w);
	return (rc);
}

/*
 * The absolute form of a path as given: made absolute against the working
 * directory, with "." components, repeated and trailing slashes removed.
 * ".." is refused: what it means depends on symlinks.
 */
static char *
absolute(const char *p, struct err *e)
{
	char cwd[PATH_MAX], *full, *out, *o;
	const char *c;

	if (p[0] == '/')
		full = xstrdup(p);
	else {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			err_sys(e, ERR_IO, "current directory");
			return (NULL);
		}
		full = xasprintf("%s/%s", cwd, p);
	}
	out = o = xmalloc(strlen(full) + 2);
	for (c = full; *c != '\0';) {
		const char *end;
		size_t len;

		while (*c == '/')
			c++;
		if (*c == '\0')
			break;
		end = strchr(c, '/');
		len = end ? (size_t)(end - c) : strlen(c);
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			err_set(e, ERR_USAGE,
			    "%s: '..' in a snapshot path is ambiguous; give "
			    "the "
			    "path without it",
			    p);
			free(full);
			free(out);
			return (NULL);
		}
		if (!(len == 1 && c[0] == '.')) {
			*o++ = '/';
			memcpy(o, c, len);
			o += len;
		}
		c += len;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	free(full);
	return (out);
}

/* One of the paths contains another (or equals it)? */
static int
overlap(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > lb)
		return (overlap(b, a));
	if (strcmp(a, "/") == 0)
		return (1);
	return (strncmp(a, b, la) == 0 && (b[la] == '\0' || b[la] == '/'));
}

/* Metadata of an intermediate directory (/opt of /opt/app/conf). */
static void
dir_node(const char *path, const char *name, struct fs_node *n)
{
	struct stat st;
	struct passwd *pw;
	struct group *gr;

	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->type = FS_DIR;
	n->mode = 0755;
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		n->mode = (uint32_t)(st.st_mode & 07777);
		n->uid = (uint32_t)st.st_uid;
		n->gid = (uint32_t)st.st_gid;
		n->mtime.sec = (int64_t)st.st_mtim.tv_sec;
		n->mtime.nsec = (uint32_t)st.st_mtim.tv_nsec;
		n->atime = n->mtime;
		n->ctime.sec = (int64_t)st.st_ctim.tv_sec;
		n->ctime.nsec = (uint32_t)st.st_ctim.tv_nsec;
		n->dev = (uint64_t)st.st_dev;
		n->ino = (uint64_t)st.st_ino;
		n->nlink = (uint64_t)st.st_nlink;
		n->size = (uint64_t)st.st_size;
		if ((pw = getpwuid(st.st_uid)) != NULL)
			n->user = xstrdup(pw->pw_name);
		if ((gr = getgrgid(st.st_gid)) != NULL)
			n->group = xstrdup(gr->gr_name);
	}
	n->flags = FS_NODE_HAS_SUBTREE;
}

/*
 * The tree of directory prefix (e.g. "/opt"), holding the roots below it
 * and the directories leading to deeper ones; stored, id in *id.
 */
static int
build_top(struct snap *s, const char *prefix, uint8_t id[IDX_ID_LEN],
    struct err *e)
{
	struct fs_node *nodes = NULL;
	size_t n = 0, plen = strcmp(prefix, "/") == 0 ? 0 : strlen(prefix);
	int rc = -1;

	for (size_t i = 0; i < s->npaths; i++) {
		const char *p = s->abs[i], *rest, *slash;
		char *name, *child;
		int dup = 0;

		if (strncmp(p, prefix, plen) != 0 || p[plen] != '/')
			continue;
		rest = p + plen + 1;
		slash = strchr(rest, '/');
		name = xstrndup(rest,
		    slash ? (size_t)(slash - rest) : strlen(rest));
		for (size_t k = 0; k < n; k++)
			if (strcmp(nodes[k].name, name) == 0)
				dup = 1;
		if (dup) {
			free(name);
			continue;
		}
		nodes = xreallocarray(nodes, n + 1, sizeof(*nodes));
		if (slash == NULL) {
			/* A root itself, named as it is here. */
			fs_node_copy(&nodes[n], &s->roots[i]);
			fs_node_set_str(&nodes[n].name, name);
		} else {
			child = xasprintf("%.*s/%s", (int)plen, prefix, name);
			dir_node(child, name, &nodes[n]);
			n++;
			if (build_top(s, child, nodes[n - 1].subtree, e) ==
			    -1) {
				free(child);
				free(name);
				goto out;
			}
			free(child);
			free(name);
			continue;
		}
		n++;
		free(name);
	}
	rc = put_tree(s, nodes, n, id, e);
out:
	fs_nodes_free(nodes, n);
	return (rc);
}

/* Free the state of one walk. */
static void
walk_free(struct snap *s)
{
	for (size_t i = 0; i < s->nlevels; i++)
		fs_nodes_free(s->levels[i].nodes, s->levels[i].n);
	free(s->levels);
	if (s->roots != NULL)
		fs_nodes_free(s->roots, s->npaths);
	for (size_t i = 0; s->abs != NULL && i < s->npaths; i++)
		free(s->abs[i]);
	free(s->abs);
	s->levels = NULL;
	s->nlevels = 0;
	s->roots = NULL;
	s->abs = NULL;
	s->npaths = 0;
	s->p = NULL;
}

static void
fill_identity(struct manifest *m)
{
	char host[256];
	struct passwd *pw = getpwuid(geteuid());

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	m->host = xstrdup(host);
	m->user = xstrdup(pw ? pw->pw_name : "");
	m->program = xstrdup("coffer " COFFER_VERSION);
}

static double
since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9);
}

int
snap_begin(struct repo *r, const struct snap_opts *o, struct manifest *m,
    struct snap **out, struct err *e)
{
	struct snap *s = xcalloc(1, sizeof(*s));

	*out = NULL;
	s->r = r;
	s->o = o;
	s->m = m;
	manifest_init(m);
	clock_gettime(CLOCK_REALTIME, &m->time);
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	fill_identity(m);
	if (o->job != NULL)
		m->job = xstrdup(o->job);
	repo_get_stats(r, &s->st0);
	/* Before the first blob is deduplicated (FORMAT.md, "Prune"). */
	if (repo_prune_guard_begin(r, e) == -1) {
		snap_end(s);
		return (-1);
	}
	for (size_t i = 0; i < o->ntags; i++)
		manifest_add_tag(m, o->tags[i]);
	if (repo_set_compression(r, o->compression, e) == -1) {
		snap_end(s);
		return (-1);
	}
	if ((s->ck = chunker_new(repo_chunker_params(r), repo_gear(r), e)) ==
	    NULL) {
		snap_end(s);
		return (-1);
	}
	s->buf_cap = repo_chunker_params(r)->max_size + READ_SIZE;
	s->buf = xmalloc(s->buf_cap);
	if (o->cache_dir != NULL &&
	    fcache_open(o->cache_dir, repo_id(r), 10, &s->fc, e) == -1) {
		/* The cache only saves time: go on without it. */
		log_warn(o->log, "%s; reading every file", e->msg);
		err_clear(e);
	} else if (s->fc != NULL && fcache_moved_aside(s->fc) != NULL)
		log_warn(o->log,
		    "files cache was damaged: moved aside to %s and started "
		    "afresh; reading every file",
		    fcache_moved_aside(s->fc));
	*out = s;
	return (0);
}

int
snap_add_paths(struct snap *s, const struct snap_paths *p,
    uint8_t id[IDX_ID_LEN], struct err *e)
{
	int rc = -1;

	if (p->npaths == 0)
		return (
		    err_set(e, ERR_USAGE, "nothing to snapshot: give paths"));
	s->p = p;
	s->npaths = p->npaths;
	s->abs = xcalloc(p->npaths, sizeof(char *));
	s->roots = xcalloc(p->npaths, sizeof(*s->roots));
	for (size_t i = 0; i < p->npaths; i++) {
		if ((s->abs[i] = absolute(p->paths[i], e)) == NULL)
			goto out;
		for (size_t k = 0; k < i; k++)
			if (overlap(s->abs[k], s->abs[i])) {
				err_set(e, ERR_USAGE,
				    "%s and %s overlap: give each tree once",
				    s->abs[k], s->abs[i]);
				goto out;
			}
	}
	if (walk(s, e) == -1)
		goto out;
	if (p->npaths == 1 && strcmp(s->abs[0], "/") == 0)
		memcpy(id, s->roots[0].subtree, IDX_ID_LEN);
	else if (build_top(s, "/", id, e) == -1)
		goto out;
	if (p->add_to_manifest)
		for (size_t i = 0; i < p->npaths; i++)
			manifest_add_path(s->m, s->abs[i]);
	rc = 0;
out:
	walk_free(s);
	return (rc);
}

/* Owner and times of what coffer makes up: the running user, now. */
static void
synthetic(struct fs_node *n, const char *name, enum fs_type t, uint32_t mode,
    const struct timespec *mtime)
{
	struct passwd *pw = getpwuid(geteuid());
	struct group *gr = getgrgid(getegid());

	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->type = t;
	n->mode = mode;
	n->uid = (uint32_t)geteuid();
	n->gid = (uint32_t)getegid();
	if (pw != NULL)
		n->user = xstrdup(pw->pw_name);
	if (gr != NULL)
		n->group = xstrdup(gr->gr_name);
	n->mtime.sec = (int64_t)mtime->tv_sec;
	n->mtime.nsec = (uint32_t)mtime->tv_nsec;
	n->atime = n->ctime = n->mtime;
	n->nlink = 1;
}

int
snap_add_stream(struct snap *s, snap_reader rd, void *arg, const char *name,
    const struct timespec *mtime, struct fs_node *out, struct err *e)
{
	uint64_t before = s->m->bytes_read;
	struct fs_node n;

	synthetic(&n, name, FS_FILE, 0600, mtime);
	if (read_stream(s, rd, arg, &n, name, e) == -1) {
		fs_node_clear(&n);
		return (-1);
	}
	n.size = s->m->bytes_read - before;
	fs_node_move(out, &n);
	return (0);
}

int
snap_add_dir(struct snap *s, const char *name, struct fs_node *nodes, size_t n,
    const uint8_t *subtree, const struct timespec *mtime, struct fs_node *out,
    struct err *e)
{
	struct fs_node d;

	synthetic(&d, name, FS_DIR, 0700, mtime);
	d.flags = FS_NODE_HAS_SUBTREE;
	if (subtree != NULL)
		memcpy(d.subtree, subtree, IDX_ID_LEN);
	else if (put_tree(s, nodes, n, d.subtree, e) == -1) {
		fs_node_clear(&d);
		return (-1);
	}
	fs_node_move(out, &d);
	return (0);
}

int
snap_commit(struct snap *s, const uint8_t root[IDX_ID_LEN], struct err *e)
{
	struct repo_stats st1;
	struct manifest *m = s->m;

	memcpy(m->tree, root, IDX_ID_LEN);
	/* Packs, then index, then the snapshot: never name missing data,
	 * nor data a concurrent prune deletes (repo_prune_guard_commit). */
	if (repo_prune_guard_commit(s->r, e) == -1)
		return (-1);
	repo_get_stats(s->r, &st1);
	m->blobs_new = st1.blobs_new - s->st0.blobs_new;
	m->raw_new = st1.raw_new - s->st0.raw_new;
	m->stored_new = st1.stored_new - s->st0.stored_new;
	m->duration = since(&s->t0);
	if (manifest_save(s->r, m, e) == -1)
		return (-1);
	if (s->fc != NULL && fcache_commit(s->fc, e) == -1) {
		log_warn(s->o->log, "%s (the next run reads every file)",
		    e->msg);
		err_clear(e);
	}
	return (0);
}

void
snap_keep(struct snap *s)
{
	struct err fe;

	/* Keep what was stored: the next run deduplicates on it. */
	(void)repo_flush(s->r, &fe);
}

void
snap_end(struct snap *s)
{
	if (s == NULL)
		return;
	walk_free(s);
	free(s->buf);
	chunker_free(s->ck);
	fcache_close(s->fc);
	free(s);
}

int
snap_run(struct repo *r, const struct snap_opts *o, struct manifest *m,
    struct err *e)
{
	struct snap_paths p;
	struct snap *s = NULL;
	uint8_t root[IDX_ID_LEN];
	int rc = -1;

	if (snap_begin(r, o, m, &s, e) == -1)
		goto out;
	memset(&p, 0, sizeof(p));
	p.paths = o->paths;
	p.npaths = o->npaths;
	p.exclude = o->exclude;
	p.nexclude = o->nexclude;
	p.one_file_system = o->one_file_system;
	p.add_to_manifest = 1;
	if (snap_add_paths(s, &p, root, e) == -1) {
		if (e->class == ERR_INTERRUPTED)
			snap_keep(s);
		goto out;
	}
	if (snap_commit(s, root, e) == -1)
		goto out;
	rc = 0;
out:
	oplog_record_snap(r, m, 0, rc == -1 ? e : NULL);
	snap_end(s);
	return (rc);
}
