/*
 * Tar ingest.  A tar stream lists its members in any order, so the tree is
 * built in memory as members arrive (metadata and chunk ids only: each
 * member's data goes through the chunker as it is read), then stored
 * bottom-up as tree blobs once the stream has ended.  A table from clean
 * path to entry finds parents, duplicates and hard-link targets.
 */
#include "snapshot/tar.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esc.h"
#include "fs/tarin.h"
#include "repo/oplog.h"
#include "xmalloc.h"

struct tdir;

/* One path of the archive. */
struct tent {
	struct fs_node node;
	struct tdir *dir; /* FS_DIR: its entries */
	char *path;       /* clean: the table's key */
};

struct tdir {
	struct tent **ents;
	size_t n, cap;
	int implicit; /* made by members' paths; no member of its own yet */
};

struct ingest {
	struct snap *s;
	const struct snap_opts *o;
	struct manifest *m;
	struct fs_tarin *t;
	struct tdir root;
	struct tent **tab; /* open addressing on the path */
	size_t tab_n, tab_cap;
	uint64_t *links; /* names of hard-link group i + 1 (node ino) */
	size_t nlinks;
	struct fs_time start;
};

static uint64_t
hash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return (h);
}

static size_t
slot(struct tent **tab, size_t cap, const char *path)
{
	size_t i = (size_t)hash(path) & (cap - 1);

	while (tab[i] != NULL && strcmp(tab[i]->path, path) != 0)
		i = (i + 1) & (cap - 1);
	return (i);
}

static struct tent *
lookup(const struct ingest *g, const char *path)
{
	if (g->tab_cap == 0)
		return (NULL);
	return (g->tab[slot(g->tab, g->tab_cap, path)]);
}

static void
table_add(struct ingest *g, struct tent *t)
{
	if ((g->tab_n + 1) * 2 > g->tab_cap) {
		size_t cap = g->tab_cap ? g->tab_cap * 2 : 1024;
		struct tent **tab = xcalloc(cap, sizeof(*tab));

		for (size_t i = 0; i < g->tab_cap; i++)
			if (g->tab[i] != NULL)
				tab[slot(tab, cap, g->tab[i]->path)] =
				    g->tab[i];
		free(g->tab);
		g->tab = tab;
		g->tab_cap = cap;
	}
	g->tab[slot(g->tab, g->tab_cap, t->path)] = t;
	g->tab_n++;
}

static void
dir_add(struct tdir *d, struct tent *t)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->ents = xreallocarray(d->ents, d->cap, sizeof(*d->ents));
	}
	d->ents[d->n++] = t;
}

static void
tdir_free(struct tdir *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct tent *t = d->ents[i];

		if (t == NULL)
			continue;
		if (t->dir != NULL) {
			tdir_free(t->dir);
			free(t->dir);
		}
		fs_node_clear(&t->node);
		free(t->path);
		free(t);
	}
	free(d->ents);
	memset(d, 0, sizeof(*d));
}

/* Add t (path and node filled) below d; the entry is d's from now on. */
static struct tent *
attach(struct ingest *g, struct tdir *d, struct tent *t)
{
	if (t->node.type == FS_DIR && t->dir == NULL)
		t->dir = xcalloc(1, sizeof(*t->dir));
	dir_add(d, t);
	table_add(g, t);
	return (t);
}

/* A directory no member describes: the running user's, 0755. */
static void
implicit_node(const struct ingest *g, const char *name, struct fs_node *n)
{
	struct passwd *pw = getpwuid(geteuid());
	struct group *gr = getgrgid(getegid());

	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->type = FS_DIR;
	n->mode = 0755;
	n->uid = (uint32_t)geteuid();
	n->gid = (uint32_t)getegid();
	if (pw != NULL)
		n->user = xstrdup(pw->pw_name);
	if (gr != NULL)
		n->group = xstrdup(gr->gr_name);
	n->mtime = n->atime = n->ctime = g->start;
	n->nlink = 1;
}

/*
 * The directory at path (clean; "" is the root), made (implicit) with
 * the ones on the way when missing.  NULL with e (ERR_CORRUPT) when a
 * path on the way is not a directory in the archive.
 */
static struct tdir *
dir_at(struct ingest *g, const char *path, struct err *e)
{
	struct tent *t;
	struct tdir *parent;
	const char *slash;
	char *up;

	if (path[0] == '\0')
		return (&g->root);
	if ((t = lookup(g, path)) != NULL) {
		if (t->dir != NULL)
			return (t->dir);
		char *shown = esc_str(path, strlen(path));

		err_set(e, ERR_CORRUPT,
		    "\"%s\" on its path is a %s in the archive, not a "
		    "directory: refused (nothing is placed through it)",
		    shown, fs_type_name(t->node.type));
		free(shown);
		return (NULL);
	}
	slash = strrchr(path, '/');
	up = xstrndup(path, slash != NULL ? (size_t)(slash - path) : 0);
	parent = dir_at(g, up, e);
	free(up);
	if (parent == NULL)
		return (NULL);
	t = xcalloc(1, sizeof(*t));
	t->path = xstrdup(path);
	implicit_node(g, slash != NULL ? slash + 1 : path, &t->node);
	attach(g, parent, t);
	t->dir->implicit = 1;
	return (t->dir);
}

static ssize_t
tar_reader(void *arg, void *buf, size_t len, struct err *e)
{
	return (fs_tarin_read(arg, buf, len, e));
}

/* A regular file's data into chunks; the chunk ids go into n. */
static int
file_data(struct ingest *g, struct fs_node *n, const char *path, struct err *e)
{
	struct timespec mt = { (time_t)n->mtime.sec, (long)n->mtime.nsec };
	struct fs_node got;

	if (snap_add_stream(g->s, tar_reader, g->t, path, &mt, &got, e) == -1)
		return (-1);
	/* The extents are known once the data is read. */
	if (got.size != fs_node_data_len(n)) {
		fs_node_clear(&got);
		return (err_set(e, ERR_CORRUPT,
		    "%s: %llu bytes of data read, %llu expected", path,
		    (unsigned long long)got.size,
		    (unsigned long long)fs_node_data_len(n)));
	}
	free(n->chunks);
	n->chunks = got.chunks;
	n->nchunks = got.nchunks;
	got.chunks = NULL;
	got.nchunks = 0;
	fs_node_clear(&got);
	return (0);
}

/*
 * One member: 0 when taken, 1 when refused (e says why), -1 when the
 * snapshot cannot go on.
 */
static int
add_member(struct ingest *g, struct fs_tarin_ent *ent, struct err *e)
{
	struct fs_node *n = ent->node;
	struct tent *t, *old;
	struct tdir *parent;
	const char *slash;
	char *up;

	if (ent->path[0] == '\0') {
		/* The target's own metadata is not restored: nothing to keep */
		if (n->type == FS_DIR)
			return (0);
		err_set(e, ERR_CORRUPT,
		    "a %s names the archive's root: refused",
		    fs_type_name(n->type));
		return (1);
	}
	if ((old = lookup(g, ent->path)) != NULL) {
		if (old->dir != NULL && old->dir->implicit &&
		    n->type == FS_DIR && ent->hardlink == NULL) {
			/* The member of a directory its entries made. */
			fs_node_clear(&old->node);
			fs_node_move(&old->node, n);
			old->dir->implicit = 0;
			return (0);
		}
		err_set(e, ERR_CORRUPT,
		    "an earlier member has this path: refused (the first "
		    "is kept)");
		return (1);
	}
	slash = strrchr(ent->path, '/');
	up = xstrndup(ent->path,
	    slash != NULL ? (size_t)(slash - ent->path) : 0);
	parent = dir_at(g, up, e);
	free(up);
	if (parent == NULL)
		return (1);
	t = xcalloc(1, sizeof(*t));
	t->path = xstrdup(ent->path);
	if (ent->hardlink != NULL) {
		struct tent *to = lookup(g, ent->hardlink);

		if (to == NULL || to->node.type != FS_FILE) {
			char *shown =
			    esc_str(ent->hardlink, strlen(ent->hardlink));

			err_set(e, ERR_CORRUPT,
			    "a hard link to \"%s\", which is %s: refused",
			    shown,
			    to == NULL ? "no earlier member"
			               : "not a regular file");
			free(shown);
			free(t->path);
			free(t);
			return (1);
		}
		if (to->node.ino == 0) {
			g->links = xreallocarray(g->links, g->nlinks + 1,
			    sizeof(*g->links));
			g->links[g->nlinks++] = 1;
			to->node.ino = g->nlinks;
		}
		g->links[to->node.ino - 1]++;
		fs_node_copy(&t->node, &to->node);
		fs_node_set_str(&t->node.name, n->name);
	} else {
		if (n->type == FS_FILE && file_data(g, n, ent->path, e) == -1) {
			free(t->path);
			free(t);
			return (-1);
		}
		fs_node_move(&t->node, n);
	}
	attach(g, parent, t);
	return (0);
}

static int
by_name(const void *a, const void *b)
{
	const struct fs_node *x = a, *y = b;

	return (strcmp(x->name, y->name));
}

/*
 * Store d's tree (its subdirectories' first) with id into *id; d's
 * entries are freed.
 */
static int
store_dir(struct ingest *g, struct tdir *d, uint8_t id[IDX_ID_LEN],
    struct err *e)
{
	struct fs_node *nodes = xcalloc(d->n ? d->n : 1, sizeof(*nodes));
	struct fs_node out;
	struct timespec now = { 0, 0 };
	size_t n = 0;
	int rc = -1;

	for (size_t i = 0; i < d->n; i++) {
		struct tent *t = d->ents[i];
		struct fs_node *c = &t->node;

		if (t->dir != NULL) {
			if (store_dir(g, t->dir, c->subtree, e) == -1)
				goto out;
			c->flags |= FS_NODE_HAS_SUBTREE;
			g->m->dirs++;
		} else if (c->type == FS_FILE) {
			g->m->files++;
			g->m->bytes += c->size;
		} else
			g->m->others++;
		if (c->ino != 0)
			c->nlink = g->links[c->ino - 1];
		fs_node_move(&nodes[n++], c);
	}
	qsort(nodes, n, sizeof(*nodes), by_name);
	memset(&out, 0, sizeof(out));
	if (snap_add_dir(g->s, "-", nodes, n, NULL, &now, &out, e) == -1)
		goto out;
	memcpy(id, out.subtree, IDX_ID_LEN);
	fs_node_clear(&out);
	rc = 0;
out:
	fs_nodes_free(nodes, n);
	tdir_free(d);
	return (rc);
}

static void
refused(struct ingest *g, const char *raw, const struct err *why)
{
	char *shown = esc_str(raw, strlen(raw));

	log_warn(g->o->log, "tar member \"%s\": %s", shown, why->msg);
	manifest_add_skipped(g->m, raw, why->msg);
	free(shown);
}

static int
ingest(struct ingest *g, struct err *e)
{
	struct fs_tarin_ent ent;
	struct err why;
	int r;

	for (;;) {
		if (g->o->interrupted != NULL && *g->o->interrupted)
			return (err_set(e, ERR_INTERRUPTED,
			    "interrupted: no snapshot saved (data written so "
			    "far is kept and reused by the next run)"));
		err_clear(&why);
		r = fs_tarin_next(g->t, &ent, &why);
		if (r == FS_TARIN_END)
			return (0);
		if (r == -1) {
			*e = why;
			return (-1);
		}
		if (r == FS_TARIN_REFUSED) {
			refused(g, ent.raw, &why);
			continue;
		}
		if ((r = add_member(g, &ent, &why)) == -1) {
			*e = why;
			return (-1);
		}
		if (r == 1)
			refused(g, ent.raw, &why);
		else if (ent.stripped) {
			char *shown = esc_str(ent.raw, strlen(ent.raw));

			log_warn(g->o->log,
			    "tar member \"%s\": leading '/' removed", shown);
			free(shown);
		}
	}
}

int
snap_tar_run(struct repo *r, const struct snap_opts *o, const char *file,
    struct manifest *m, struct err *e)
{
	struct ingest g;
	struct snap_opts to;
	uint8_t root[IDX_ID_LEN];
	int fd = -1, rc = -1;
	char *abs = NULL, *src = NULL;

	memset(&g, 0, sizeof(g));
	/* No files cache: a tar run would only age its entries. */
	to = *o;
	to.cache_dir = NULL;
	g.o = &to;
	g.m = m;
	if (strcmp(file, "-") == 0) {
		fd = STDIN_FILENO;
		src = xstrdup("tar:-");
	} else {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
			err_sys(e, ERR_IO, "%s", file);
			goto out;
		}
		abs = realpath(file, NULL);
		src = xasprintf("tar:%s", abs != NULL ? abs : file);
	}
	if (snap_begin(r, &to, m, &g.s, e) == -1)
		goto out;
	g.start.sec = (int64_t)m->time.tv_sec;
	g.start.nsec = (uint32_t)m->time.tv_nsec;
	manifest_add_path(m, src);
	if (fs_tarin_open(fd, &g.t, e) == -1) {
		err_wrap(e, "%s", src);
		goto out;
	}
	if (ingest(&g, e) == -1 || store_dir(&g, &g.root, root, e) == -1) {
		if (e->class == ERR_INTERRUPTED)
			snap_keep(g.s);
		else
			err_wrap(e, "%s", src);
		goto out;
	}
	if (snap_commit(g.s, root, e) == -1)
		goto out;
	rc = 0;
out:
	if (g.s != NULL)
		oplog_record_snap(r, m, 0, rc == -1 ? e : NULL);
	fs_tarin_close(g.t);
	tdir_free(&g.root);
	free(g.tab);
	free(g.links);
	snap_end(g.s);
	if (fd != -1 && fd != STDIN_FILENO)
		close(fd);
	free(abs);
	free(src);
	return (rc);
}
