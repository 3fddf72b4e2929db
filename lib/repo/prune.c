/*
 * Prune: which packs no snapshot needs (a walk of every snapshot's trees
 * through lib/repo/tree.c), the plan for them, and the two phases that
 * carry it out over two runs, a margin apart.  doc/FORMAT.md, "Prune".
 */
#include "repo/prune.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "fs/node.h"
#include "repo/forget.h"
#include "repo/manifest.h"
#include "repo/oplog.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "value.h"
#include "xmalloc.h"

#define INDEX_FILE_ENTRIES 500000 /* blobs per index file at most */
/* repack_one reads blobs less than REPACK_GAP apart in one span of at
 * most REPACK_SPAN bytes (or one blob, if larger). */
#define REPACK_GAP  ((uint64_t)64 << 10)
#define REPACK_SPAN ((uint64_t)4 << 20)

int
prune_margin(uint64_t *seconds, struct err *e)
{
	const char *v = getenv(PRUNE_MARGIN_ENV);

	if (v == NULL || v[0] == '\0') {
		*seconds = PRUNE_MARGIN_DEFAULT;
		return (0);
	}
	if (value_parse_duration(v, seconds) == -1)
		return (
		    err_set(e, ERR_USAGE, "%s=%s: not a duration (30s, 5m, 1h)",
		        PRUNE_MARGIN_ENV, v));
	return (0);
}

void
prune_crash_point(const char *name)
{
	const char *v = getenv(PRUNE_CRASH_ENV);

	if (v != NULL && strncmp(v, "prune:", 6) == 0 &&
	    strcmp(v + 6, name) == 0)
		_exit(137);
}

const char *
prune_action_name(enum prune_action a)
{
	static const char *const n[] = { "keep", "delete", "repack", "young",
		"marked" };

	return ((unsigned)a <= PRUNE_MARKED ? n[a] : "?");
}

/* ---------------------------------------------------------------- sets */

/* A set of ids; open addressing. */
struct pset {
	uint8_t (*ids)[IDX_ID_LEN];
	uint8_t *used;
	size_t cap, n;
};

static size_t
pset_slot(const struct pset *s, const uint8_t *id)
{
	uint64_t h;
	size_t i;

	/* Ids are keyed hashes (or SHA-256): any eight bytes are uniform. */
	memcpy(&h, id, sizeof(h));
	i = (size_t)h & (s->cap - 1);
	while (s->used[i] && memcmp(s->ids[i], id, IDX_ID_LEN) != 0)
		i = (i + 1) & (s->cap - 1);
	return (i);
}

/* 1 when id was there already, 0 when added. */
static int
pset_add(struct pset *s, const uint8_t *id)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct pset b = { NULL, NULL, s->cap ? 2 * s->cap : 1024, 0 };

		b.ids = xcalloc(b.cap, IDX_ID_LEN);
		b.used = xcalloc(b.cap, 1);
		for (size_t j = 0; j < s->cap; j++)
			if (s->used[j])
				(void)pset_add(&b, s->ids[j]);
		free(s->ids);
		free(s->used);
		*s = b;
	}
	i = pset_slot(s, id);
	if (s->used[i])
		return (1);
	memcpy(s->ids[i], id, IDX_ID_LEN);
	s->used[i] = 1;
	s->n++;
	return (0);
}

static int
by_id(const void *a, const void *b)
{
	return (memcmp(a, b, IDX_ID_LEN));
}

/* The ids, sorted, into *out (free()); the set is emptied. */
static void
pset_sorted(struct pset *s, uint8_t (**out)[IDX_ID_LEN], size_t *n)
{
	uint8_t(*v)[IDX_ID_LEN] = xcalloc(s->n ? s->n : 1, IDX_ID_LEN);
	size_t k = 0;

	for (size_t i = 0; i < s->cap; i++)
		if (s->used[i])
			memcpy(v[k++], s->ids[i], IDX_ID_LEN);
	qsort(v, k, IDX_ID_LEN, by_id);
	free(s->ids);
	free(s->used);
	memset(s, 0, sizeof(*s));
	*out = v;
	*n = k;
}

static int
in_sorted(const uint8_t (*v)[IDX_ID_LEN], size_t n, const uint8_t *id)
{
	return (n > 0 && bsearch(id, v, n, IDX_ID_LEN, by_id) != NULL);
}

static void
names_add(struct prune_names *l, const char *s)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

static void
names_free(struct prune_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
names_collect(void *arg, const char *name, uint64_t size)
{
	(void)size;
	names_add(arg, name);
	return (0);
}

static int
by_str(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
names_has(const struct prune_names *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return (1);
	return (0);
}

static int
is_hex(const char *s, size_t n)
{
	return (strlen(s) == n && strspn(s, "0123456789abcdef") == n);
}

/* ------------------------------------------------------------- records */

/* One record of prune/: the candidates of one phase 1. */
struct record {
	char name[REPO_HEX_LEN + 1];
	int64_t time;  /* the client's clock when it was written */
	int64_t mtime; /* the store's */
	uint8_t (*packs)[IDX_ID_LEN];
	size_t npacks;
	struct prune_names index; /* "index/<hex>" */
};

static void
record_clear(struct record *rec)
{
	free(rec->packs);
	names_free(&rec->index);
	memset(rec, 0, sizeof(*rec));
}

static char *
record_encode(int64_t t, const uint8_t (*packs)[IDX_ID_LEN], size_t npacks,
    const struct prune_names *index)
{
	json_t *j = json_object(), *p = json_array(), *x = json_array();
	char host[256] = "", hex[REPO_HEX_LEN + 1], *s;

	(void)gethostname(host, sizeof(host) - 1);
	for (size_t i = 0; i < npacks; i++) {
		crypto_hex_encode(packs[i], IDX_ID_LEN, hex);
		json_array_append_new(p, json_string(hex));
	}
	for (size_t i = 0; i < index->n; i++)
		json_array_append_new(x,
		    json_string(index->v[i] + strlen("index/")));
	json_object_set_new(j, "version", json_integer(1));
	json_object_set_new(j, "time", json_integer(t));
	json_object_set_new(j, "host", json_string(host));
	json_object_set_new(j, "packs", p);
	json_object_set_new(j, "index", x);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return (s);
}

static int
record_decode(const char *name, const uint8_t *p, size_t n, struct record *rec,
    struct err *e)
{
	json_t *j, *v, *a;
	json_error_t je;
	size_t i;
	int rc = -1;

	memset(rec, 0, sizeof(*rec));
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	if ((j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je)) ==
	        NULL ||
	    !json_is_object(j))
		goto bad;
	if ((v = json_object_get(j, "version")) == NULL ||
	    !json_is_integer(v) || json_integer_value(v) != 1)
		goto bad;
	if ((v = json_object_get(j, "time")) == NULL || !json_is_integer(v))
		goto bad;
	rec->time = json_integer_value(v);
	if ((a = json_object_get(j, "packs")) == NULL || !json_is_array(a))
		goto bad;
	rec->packs = xcalloc(json_array_size(a) + 1, IDX_ID_LEN);
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) ||
		    crypto_hex_decode(json_string_value(v),
		        json_string_length(v), rec->packs[i], IDX_ID_LEN,
		        e) == -1)
			goto bad;
		rec->npacks++;
	}
	qsort(rec->packs, rec->npacks, IDX_ID_LEN, by_id);
	if ((a = json_object_get(j, "index")) == NULL || !json_is_array(a))
		goto bad;
	json_array_foreach(a, i, v)
	{
		char *x;

		if (!json_is_string(v) ||
		    !is_hex(json_string_value(v), REPO_HEX_LEN))
			goto bad;
		x = xasprintf("index/%s", json_string_value(v));
		names_add(&rec->index, x);
		free(x);
	}
	rc = 0;
	goto out;
bad:
	err_set(e, ERR_CORRUPT, "%s/%s: not a prune record", PRUNE_DIR, name);
	record_clear(rec);
out:
	json_decref(j);
	return (rc);
}

static int
record_load(struct repo *r, const char *name, struct record *rec, struct err *e)
{
	uint8_t *p = NULL;
	size_t n;
	int rc;

	memset(rec, 0, sizeof(*rec));
	if (repo_file_get(r, PRUNE_DIR, name, &p, &n, e) == -1)
		return (-1);
	rc = record_decode(name, p, n, rec, e);
	free(p);
	return (rc);
}

/* The records' names (64 hex digits), sorted. */
static int
record_names(struct repo *r, struct prune_names *out, struct err *e)
{
	struct prune_names all = { NULL, 0 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (stor_list(repo_store(r), PRUNE_DIR, names_collect, &all, e) == -1)
		goto out;
	for (size_t i = 0; i < all.n; i++) {
		const char *b = all.v[i] + strlen(PRUNE_DIR "/");

		if (is_hex(b, REPO_HEX_LEN))
			names_add(out, b);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), by_str);
	rc = 0;
out:
	names_free(&all);
	return (rc);
}

int
prune_candidates(struct repo *r, uint8_t (**ids)[IDX_ID_LEN], size_t *n,
    struct err *e)
{
	struct prune_names names;
	struct pset s = { NULL, NULL, 0, 0 };

	*ids = NULL;
	*n = 0;
	if (record_names(r, &names, e) == -1)
		return (-1);
	for (size_t i = 0; i < names.n; i++) {
		struct record rec;
		struct err le;

		if (record_load(r, names.v[i], &rec, &le) == -1) {
			if (le.class == ERR_CORRUPT ||
			    le.sys_errno == ENOENT) /* finished meanwhile */
				continue;
			*e = le;
			free(s.ids);
			free(s.used);
			names_free(&names);
			return (-1);
		}
		for (size_t k = 0; k < rec.npacks; k++)
			(void)pset_add(&s, rec.packs[k]);
		record_clear(&rec);
	}
	names_free(&names);
	pset_sorted(&s, ids, n);
	return (0);
}

/* ---------------------------------------------------------------- plan */

/* The packs' positions by the index's pack numbers (SIZE_MAX: absent). */
static size_t *
pack_map(const struct idx *ix, const struct prune_pack *packs, size_t n)
{
	uint32_t np = idx_pack_count(ix);
	size_t *m = xcalloc(np ? np : 1, sizeof(*m));

	for (uint32_t p = 0; p < np; p++) {
		const struct prune_pack *k = n == 0
		    ? NULL
		    : bsearch(idx_pack_id(ix, p), packs, n, sizeof(*packs),
		          by_id);

		m[p] = k == NULL ? SIZE_MAX : (size_t)(k - packs);
	}
	return (m);
}

/*
 * The location a needed blob is kept at: the first in a present pack not
 * marked; else NULL, and *marked says whether a marked one holds it.
 */
static const struct idx_entry *
keeper(const struct idx *ix, const size_t *map, const struct prune_pack *packs,
    const uint8_t *id, int *marked)
{
	*marked = 0;
	for (const struct idx_entry *ent = idx_find(ix, id); ent != NULL;
	     ent = idx_find_next(ix, ent)) {
		size_t k = map[ent->pack];

		if (k == SIZE_MAX)
			continue;
		if (packs[k].action == PRUNE_MARKED) {
			*marked = 1;
			continue;
		}
		return (ent);
	}
	return (NULL);
}

struct tally {
	const struct idx *ix;
	const size_t *map;
	struct prune_pack *packs;
	const uint8_t (*ref)[IDX_ID_LEN];
	size_t nref;
};

static int
tally_one(void *arg, const struct idx_entry *ent)
{
	struct tally *t = arg;
	size_t k = t->map[ent->pack];
	struct prune_pack *p;
	int marked;

	if (k == SIZE_MAX)
		return (0);
	p = &t->packs[k];
	p->indexed = 1;
	if (p->action == PRUNE_MARKED)
		return (0);
	if (in_sorted(t->ref, t->nref, ent->id) &&
	    keeper(t->ix, t->map, t->packs, ent->id, &marked) == ent) {
		p->used += ent->length;
		p->blobs_used++;
	} else {
		p->unused += ent->length;
		p->blobs_unused++;
	}
	return (0);
}

/* Most unused bytes first, then by id. */
static int
by_unused(const void *a, const void *b)
{
	const struct prune_pack *x = *(struct prune_pack *const *)a;
	const struct prune_pack *y = *(struct prune_pack *const *)b;

	if (x->unused != y->unused)
		return (x->unused > y->unused ? -1 : 1);
	return (memcmp(x->id, y->id, IDX_ID_LEN));
}

int
prune_plan_packs(const struct idx *ix, const uint8_t (*ref)[IDX_ID_LEN],
    size_t nref, struct prune_pack *packs, size_t npacks,
    const struct prune_params *pp, struct prune_totals *t,
    uint8_t missing[IDX_ID_LEN], struct err *e)
{
	struct prune_pack **rp = NULL;
	struct tally ty;
	size_t *map, nrp = 0;
	uint64_t copied = 0;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	map = pack_map(ix, packs, npacks);
	for (size_t i = 0; i < npacks; i++) {
		packs[i].indexed = 0;
		packs[i].used = packs[i].unused = 0;
		packs[i].blobs_used = packs[i].blobs_unused = 0;
		if (packs[i].action != PRUNE_MARKED)
			packs[i].action = PRUNE_KEEP;
	}
	for (size_t i = 0; i < nref; i++) {
		int marked;

		if (keeper(ix, map, packs, ref[i], &marked) == NULL &&
		    !marked) {
			char hex[REPO_HEX_LEN + 1];

			memcpy(missing, ref[i], IDX_ID_LEN);
			crypto_hex_encode(ref[i], IDX_ID_LEN, hex);
			err_set(e, ERR_CORRUPT,
			    "blob %.16s, which a snapshot needs, is in no "
			    "pack present: nothing was pruned; run 'coffer "
			    "check'",
			    hex);
			goto out;
		}
	}
	ty.ix = ix;
	ty.map = map;
	ty.packs = packs;
	ty.ref = ref;
	ty.nref = nref;
	(void)idx_foreach(ix, tally_one, &ty);
	rp = xcalloc(npacks ? npacks : 1, sizeof(*rp));
	for (size_t i = 0; i < npacks; i++) {
		struct prune_pack *p = &packs[i];

		if (p->action == PRUNE_MARKED)
			continue;
		if (!p->indexed) {
			int old = pp->store_now != INT64_MIN &&
			    p->mtime != INT64_MIN &&
			    pp->store_now - p->mtime >= (int64_t)pp->margin &&
			    pp->client_now - p->mtime >= (int64_t)pp->margin;

			p->action = old ? PRUNE_DELETE : PRUNE_YOUNG;
			continue;
		}
		if (p->blobs_used == 0)
			p->action = PRUNE_DELETE;
		else if ((double)p->unused * 100.0 >
		    pp->max_unused * (double)(p->used + p->unused))
			rp[nrp++] = p;
	}
	qsort(rp, nrp, sizeof(*rp), by_unused);
	for (size_t i = 0; i < nrp; i++) {
		if (copied + rp[i]->used > pp->max_repack)
			continue;
		copied += rp[i]->used;
		rp[i]->action = PRUNE_REPACK;
	}
	for (size_t i = 0; i < npacks; i++) {
		const struct prune_pack *p = &packs[i];

		t->packs[p->action]++;
		t->bytes[p->action] += p->size;
		if (p->action == PRUNE_MARKED || !p->indexed)
			continue;
		t->blobs_used += p->blobs_used;
		t->blobs_unused += p->blobs_unused;
		t->bytes_used += p->used;
		t->bytes_unused += p->unused;
	}
	t->repack_copy = copied;
	rc = 0;
out:
	free(rp);
	free(map);
	return (rc);
}

/* -------------------------------------------------------- what is used */

/* Every blob the snapshots in snapshots/ need, trees included. */
static int
needed(struct repo *r, const struct prune_opts *o, struct prune_result *res,
    struct prune_names *seen, uint8_t (**ref)[IDX_ID_LEN], size_t *nref,
    struct err *e)
{
	struct prune_names snaps = { NULL, 0 };
	struct tree_reader *tr = tree_reader_new(r);
	struct pset s = { NULL, NULL, 0, 0 };
	uint8_t(*stack)[IDX_ID_LEN] = NULL;
	size_t depth = 0, cap = 0;
	int rc = -1;

	if (stor_list(repo_store(r), "snapshots", names_collect, &snaps, e) ==
	    -1)
		goto out;
	for (size_t i = 0; i < snaps.n; i++) {
		const char *b = snaps.v[i] + strlen("snapshots/");
		struct manifest m;

		if (!is_hex(b, REPO_HEX_LEN))
			continue;
		if (manifest_load(r, b, &m, e) == -1) {
			err_wrap(e,
			    "prune needs every snapshot: nothing was pruned; "
			    "run 'coffer check'");
			goto out;
		}
		res->snapshots++;
		names_add(seen, b);
		if (pset_add(&s, m.tree) == 0) {
			if (depth == cap) {
				cap = cap ? 2 * cap : 64;
				stack = xreallocarray(stack, cap, IDX_ID_LEN);
			}
			memcpy(stack[depth++], m.tree, IDX_ID_LEN);
		}
		manifest_clear(&m);
		while (depth > 0) {
			struct tree_dir d = { NULL, 0 };
			uint8_t id[IDX_ID_LEN];

			if (o->interrupted != NULL && *o->interrupted) {
				err_set(e, ERR_INTERRUPTED, "interrupted");
				goto out;
			}
			memcpy(id, stack[--depth], IDX_ID_LEN);
			if (tree_load(tr, id, &d, e) == -1) {
				err_wrap(e,
				    "snapshot %.8s: prune needs every tree: "
				    "nothing was pruned; run 'coffer check'",
				    b);
				goto out;
			}
			res->trees++;
			for (size_t k = 0; k < d.n; k++) {
				const struct fs_node *nd = &d.nodes[k];

				for (size_t c = 0;
				     nd->type == FS_FILE && c < nd->nchunks;
				     c++)
					(void)pset_add(&s, nd->chunks[c]);
				if (nd->type != FS_DIR ||
				    !(nd->flags & FS_NODE_HAS_SUBTREE) ||
				    pset_add(&s, nd->subtree) == 1)
					continue;
				if (depth == cap) {
					cap = cap ? 2 * cap : 64;
					stack = xreallocarray(stack, cap,
					    IDX_ID_LEN);
				}
				memcpy(stack[depth++], nd->subtree, IDX_ID_LEN);
			}
			tree_dir_clear(&d);
		}
	}
	pset_sorted(&s, ref, nref);
	res->blobs_needed = *nref;
	rc = 0;
out:
	free(s.ids);
	free(s.used);
	free(stack);
	names_free(&snaps);
	tree_reader_free(tr);
	return (rc);
}

/* --------------------------------------------------------------- packs */

struct disk {
	struct prune_pack *v;
	size_t n;
};

static int
disk_pack(void *arg, const char *name, uint64_t size)
{
	struct disk *d = arg;
	struct prune_pack *p;
	struct err le;
	const char *b;

	/* data/ab/<64 hex> */
	if (strlen(name) != 8 + REPO_HEX_LEN || strncmp(name, "data/", 5) != 0)
		return (0);
	b = name + 8;
	if (!is_hex(b, REPO_HEX_LEN) || strncmp(b, name + 5, 2) != 0)
		return (0);
	d->v = xreallocarray(d->v, d->n + 1, sizeof(*d->v));
	p = &d->v[d->n];
	memset(p, 0, sizeof(*p));
	if (crypto_hex_decode(b, REPO_HEX_LEN, p->id, IDX_ID_LEN, &le) == -1)
		return (0);
	p->size = size;
	p->mtime = INT64_MIN;
	d->n++;
	return (0);
}

static int
list_packs(struct repo *r, struct disk *d, struct err *e)
{
	memset(d, 0, sizeof(*d));
	if (stor_list(repo_store(r), "data", disk_pack, d, e) == -1)
		return (-1);
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), by_id);
	return (0);
}

static struct prune_pack *
disk_find(const struct disk *d, const uint8_t *id)
{
	return (
	    d->n == 0 ? NULL : bsearch(id, d->v, d->n, sizeof(*d->v), by_id));
}

static void
hex_of(const uint8_t *id, char out[REPO_HEX_LEN + 1])
{
	crypto_hex_encode(id, IDX_ID_LEN, out);
}

/*
 * Write index files naming every location in ix whose pack keep()
 * accepts, at most INDEX_FILE_ENTRIES blobs each.
 */
struct newidx {
	struct idx *nx;
	uint64_t *count; /* entries per pack number of nx */
	size_t ncount;
	int (*keep)(void *, uint32_t pack);
	void *arg;
	const struct idx *ix;
};

static int
newidx_add(void *arg, const struct idx_entry *ent)
{
	struct newidx *w = arg;
	struct idx_entry x = *ent;

	if (!w->keep(w->arg, ent->pack))
		return (0);
	x.pack = idx_pack_add(w->nx, idx_pack_id(w->ix, ent->pack));
	if (x.pack >= w->ncount) {
		size_t n = w->ncount ? 2 * w->ncount : 64;

		w->count = xreallocarray(w->count, n, sizeof(*w->count));
		memset(w->count + w->ncount, 0,
		    (n - w->ncount) * sizeof(*w->count));
		w->ncount = n;
	}
	(void)idx_add(w->nx, &x);
	w->count[x.pack]++;
	return (0);
}

static int
write_index(struct repo *r, int (*keep)(void *, uint32_t), void *arg,
    uint64_t *written, struct err *e)
{
	struct newidx w;
	uint32_t np, from = 0;
	uint64_t sum = 0;
	int rc = -1;

	memset(&w, 0, sizeof(w));
	w.nx = idx_new();
	w.keep = keep;
	w.arg = arg;
	w.ix = repo_index(r);
	(void)idx_foreach(w.ix, newidx_add, &w);
	np = idx_pack_count(w.nx);
	for (uint32_t p = 0; p <= np; p++) {
		uint8_t *plain;
		size_t n;
		char name[REPO_HEX_LEN + 1];
		int k;

		if (p < np &&
		    (sum == 0 || sum + w.count[p] <= INDEX_FILE_ENTRIES)) {
			sum += w.count[p];
			continue;
		}
		if (p > from) {
			idx_encode(w.nx, from, p, &plain, &n);
			k = repo_file_put(r, "index", plain, n, name, e);
			free(plain);
			if (k == -1 && e->sys_errno != EEXIST) {
				err_wrap(e, "write index");
				goto out;
			}
			(*written)++;
		}
		from = p;
		sum = p < np ? w.count[p] : 0;
	}
	rc = 0;
out:
	idx_free(w.nx);
	free(w.count);
	return (rc);
}

/* ------------------------------------------------------------- phase 2 */

struct rescue {
	const struct idx *ix;
	const uint8_t (*packs)[IDX_ID_LEN]; /* rescued, sorted */
	size_t n;
};

static int
rescue_keep(void *arg, uint32_t pack)
{
	struct rescue *x = arg;

	return (in_sorted(x->packs, x->n, idx_pack_id(x->ix, pack)));
}

static void note(const struct prune_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note(const struct prune_opts *o, const char *fmt, ...)
{
	char buf[ERR_MSG_MAX];
	va_list ap;

	if (o->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->note(o->arg, buf);
}

static int
interrupted(const struct prune_opts *o, struct err *e)
{
	if (o->interrupted != NULL && *o->interrupted)
		return (err_set(e, ERR_INTERRUPTED, "interrupted"));
	return (0);
}

/*
 * A tombstone gone/<hex> for a file about to be removed on purpose, so
 * that replicate does not send it again (FORMAT.md, "Gone").  Written
 * before the removal: a crash between leaves a tombstone of a file still
 * there, which changes nothing.  It is advice, never needed for safety
 * (replicate sending the file again is what happens without it), so a
 * full store only gets a note: a prune on a full disk must still delete.
 * For the same reason it is not fsynced (STOR_NOSYNC): a crash that
 * loses it costs one resend, and an fsync per removed file was most of a
 * prune's time on a local disk.
 */
static int
gone_mark(struct stor *st, const struct prune_opts *o, const char *hex,
    struct err *e)
{
	char name[sizeof(PRUNE_GONE_DIR) + REPO_HEX_LEN + 1];

	snprintf(name, sizeof(name), "%s/%s", PRUNE_GONE_DIR, hex);
	if (stor_put(st, name, (const uint8_t *)"", 0,
	        STOR_NOREPLACE | STOR_NOSYNC, e) == 0)
		return (0);
	if (e->sys_errno == EEXIST) {
		err_clear(e);
		return (0);
	}
	if (e->class == ERR_NOSPACE) {
		note(o,
		    "%s: no space for the tombstone; replicate may copy "
		    "%.8s here again",
		    name, hex);
		err_clear(e);
		return (0);
	}
	return (err_wrap(e, "tombstone"));
}

/* The state both phases share. */
struct run {
	struct repo *r;
	struct stor *st;
	const struct prune_opts *o;
	struct prune_result *res;
	int changing; /* past the plan and its approval */
	uint64_t margin;
	int64_t client_now, store_now;
	struct record *recs; /* every readable record */
	size_t nrecs;
	int *due;
	uint8_t (*due_packs)[IDX_ID_LEN]; /* sorted */
	size_t ndue;
	uint8_t (*marked)[IDX_ID_LEN]; /* candidates still waiting, sorted */
	size_t nmarked;
	struct prune_names marked_index, due_index, loaded_index;
	uint8_t (*ref)[IDX_ID_LEN];
	size_t nref;
	struct disk disk;
	struct prune_names snaps;       /* the manifests read, sorted */
	uint8_t (*rescued)[IDX_ID_LEN]; /* phase 2's, sorted */
	size_t nrescued;
	size_t *map;          /* phase 1: disk positions by pack number */
	uint64_t index_bytes; /* of the index files in index/ */
};

static int
judge_records(struct run *x, struct err *e)
{
	struct prune_names names;
	struct pset dp = { NULL, NULL, 0, 0 }, mp = { NULL, NULL, 0, 0 };
	int rc = -1;

	if (record_names(x->r, &names, e) == -1)
		return (-1);
	x->recs = xcalloc(names.n + 1, sizeof(*x->recs));
	x->due = xcalloc(names.n + 1, sizeof(*x->due));
	for (size_t i = 0; i < names.n; i++) {
		struct record *rec = &x->recs[x->nrecs];
		char path[sizeof(PRUNE_DIR) + REPO_HEX_LEN + 1];
		struct err le;
		int due, k;

		if (record_load(x->r, names.v[i], rec, &le) == -1) {
			if (le.class != ERR_CORRUPT) {
				*e = le;
				goto out;
			}
			/* Left alone, as writers leave it: check says so. */
			note(x->o, "%s (left alone)", le.msg);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", PRUNE_DIR, names.v[i]);
		if ((k = stor_mtime(x->st, path, &rec->mtime, e)) == -1)
			goto out;
		if (k == 1) {
			record_clear(rec);
			continue;
		}
		/* Old enough only when both clocks say so. */
		due = x->client_now - rec->time >= (int64_t)x->margin &&
		    x->store_now != INT64_MIN && rec->mtime != INT64_MIN &&
		    x->store_now - rec->mtime >= (int64_t)x->margin;
		x->due[x->nrecs] = due;
		x->nrecs++;
		names_add(due ? &x->res->records_due : &x->res->records_waiting,
		    path);
		for (size_t p = 0; p < rec->npacks; p++)
			(void)pset_add(due ? &dp : &mp, rec->packs[p]);
		for (size_t p = 0; p < rec->index.n; p++)
			names_add(due ? &x->due_index : &x->marked_index,
			    rec->index.v[p]);
	}
	rc = 0;
out:
	pset_sorted(&dp, &x->due_packs, &x->ndue);
	pset_sorted(&mp, &x->marked, &x->nmarked);
	names_free(&names);
	return (rc);
}

/*
 * Phase 2: the candidates of the due records go, except packs that a
 * snapshot present now needs (a writer that deduplicated against the old
 * index while the first phase ran): those are indexed again.
 */
static void
phase2_plan(struct run *x)
{
	const struct idx *ix = repo_index(x->r);
	struct prune_result *res = x->res;
	struct pset resc = { NULL, NULL, 0, 0 };
	char hex[REPO_HEX_LEN + 1];

	if (x->ndue == 0 && x->due_index.n == 0)
		return;
	for (size_t i = 0; i < x->nref; i++) {
		const struct idx_entry *ent, *cand = NULL;
		int safe = 0;

		for (ent = idx_find(ix, x->ref[i]); ent != NULL && !safe;
		     ent = idx_find_next(ix, ent)) {
			const uint8_t *pid = idx_pack_id(ix, ent->pack);

			if (disk_find(&x->disk, pid) == NULL)
				continue;
			if (!in_sorted(x->due_packs, x->ndue, pid))
				safe = 1;
			else if (cand == NULL)
				cand = ent;
		}
		if (!safe && cand != NULL)
			(void)pset_add(&resc, idx_pack_id(ix, cand->pack));
	}
	pset_sorted(&resc, &x->rescued, &x->nrescued);
	for (size_t i = 0; i < x->nrescued; i++) {
		hex_of(x->rescued[i], hex);
		names_add(&res->rescued, hex);
	}
	for (size_t i = 0; i < x->ndue; i++) {
		struct prune_pack *p = disk_find(&x->disk, x->due_packs[i]);

		if (in_sorted(x->rescued, x->nrescued, x->due_packs[i]))
			continue;
		hex_of(x->due_packs[i], hex);
		names_add(&res->due_packs, hex);
		if (p != NULL)
			res->due_bytes += p->size;
	}
	for (size_t i = 0; i < x->due_index.n; i++)
		names_add(&res->due_index, x->due_index.v[i]);
}

/* Phase 2's deletions, as phase2_plan planned them. */
static int
phase2_do(struct run *x, struct err *e)
{
	const struct idx *ix = repo_index(x->r);
	struct prune_result *res = x->res;
	const uint8_t(*rescued)[IDX_ID_LEN] =
	    (const uint8_t(*)[IDX_ID_LEN])x->rescued;
	size_t nrescued = x->nrescued;
	char name[128];
	int rc = -1;

	if (x->ndue == 0 && x->due_index.n == 0)
		return (0);
	/* Rescued packs are indexed again first: a small write. */
	if (nrescued > 0) {
		struct rescue rs = { ix, rescued, nrescued };

		if (write_index(x->r, rescue_keep, &rs, &res->index_written,
		        e) == -1)
			goto out;
		/* The records lose them, so that a crash cannot undo it. */
		for (size_t i = 0; i < x->nrecs; i++) {
			struct record *rec = &x->recs[i];
			uint8_t(*keep)[IDX_ID_LEN];
			size_t nk = 0;
			char *json, nn[REPO_HEX_LEN + 1];
			int k, hit = 0;

			if (!x->due[i])
				continue;
			keep = xcalloc(rec->npacks + 1, IDX_ID_LEN);
			for (size_t p = 0; p < rec->npacks; p++)
				if (in_sorted(rescued, nrescued, rec->packs[p]))
					hit = 1;
				else
					memcpy(keep[nk++], rec->packs[p],
					    IDX_ID_LEN);
			if (!hit) {
				free(keep);
				continue;
			}
			json = record_encode(rec->time,
			    (const uint8_t(*)[IDX_ID_LEN])keep, nk,
			    &rec->index);
			k = repo_file_put(x->r, PRUNE_DIR,
			    (const uint8_t *)json, strlen(json), nn, e);
			free(json);
			free(keep);
			if (k == -1 && e->sys_errno != EEXIST)
				goto out;
			snprintf(name, sizeof(name), "%s/%s", PRUNE_DIR,
			    rec->name);
			if (stor_remove(x->st, name, e) == -1)
				goto out;
			snprintf(rec->name, sizeof(rec->name), "%s", nn);
		}
		prune_crash_point("after-rescue");
	}
	/* Tombstones first: empty files, the only writes here. */
	for (size_t i = 0; i < x->due_index.n; i++)
		if (gone_mark(x->st, x->o, x->due_index.v[i] + strlen("index/"),
		        e) == -1)
			goto out;
	for (size_t i = 0; i < res->due_packs.n; i++)
		if (gone_mark(x->st, x->o, res->due_packs.v[i], e) == -1)
			goto out;
	/*
	 * Index files before the packs they name: a crash in between
	 * leaves packs in no index (a warning for check), never an index
	 * naming a missing pack.  Deleting needs no space.
	 */
	for (size_t i = 0; i < x->due_index.n; i++) {
		if (interrupted(x->o, e) == -1 ||
		    stor_remove(x->st, x->due_index.v[i], e) == -1)
			goto out;
	}
	for (size_t i = 0; i < res->due_packs.n; i++) {
		uint8_t id[IDX_ID_LEN];

		if (interrupted(x->o, e) == -1 ||
		    crypto_hex_decode(res->due_packs.v[i], REPO_HEX_LEN, id,
		        IDX_ID_LEN, e) == -1)
			goto out;
		repo_pack_name(id, name, sizeof(name));
		if (stor_remove(x->st, name, e) == -1)
			goto out;
		if (i == 0)
			prune_crash_point("mid-delete");
	}
	prune_crash_point("after-delete");
	for (size_t i = 0; i < x->nrecs; i++) {
		if (!x->due[i])
			continue;
		snprintf(name, sizeof(name), "%s/%s", PRUNE_DIR,
		    x->recs[i].name);
		if (stor_remove(x->st, name, e) == -1)
			goto out;
	}
	rc = 0;
out:
	return (rc);
}

/* ------------------------------------------------------------- phase 1 */

struct keep_ctx {
	const struct idx *ix;
	const struct disk *disk;
	uint32_t old_np; /* pack numbers from here on: repacking's */
};

static int
phase1_keep(void *arg, uint32_t pack)
{
	struct keep_ctx *k = arg;
	const struct prune_pack *p;

	if (pack >= k->old_np)
		return (1);
	p = disk_find(k->disk, idx_pack_id(k->ix, pack));
	return (p != NULL && p->action == PRUNE_KEEP);
}

static int
by_pack_offset(const void *a, const void *b)
{
	const struct idx_entry *x = a, *y = b;

	return (x->offset < y->offset ? -1 : x->offset > y->offset);
}

/*
 * Copy the needed blobs of one pack, still sealed, into new packs.  Only
 * their bytes are read, in spans of blobs close together (a repacked pack
 * is mostly unused: bench/prune's copy 10 MB out of 333 MB), and each is
 * authenticated and its id recomputed before it is copied, so no damage
 * is spread; damage in the bytes nobody needs goes with the old pack.
 */
static int
repack_one(struct run *x, const struct prune_pack *pk, const size_t *map,
    struct err *e)
{
	const struct idx *ix = repo_index(x->r);
	uint8_t *buf = NULL, *copy = NULL;
	size_t bcap = 0, ccap = 0;
	char name[128];
	struct {
		struct idx_entry *v;
		size_t n;
	} l = { NULL, 0 };
	uint32_t pnum = UINT32_MAX, np = idx_pack_count(ix);
	int rc = -1;

	for (uint32_t p = 0; p < np; p++)
		if (memcmp(idx_pack_id(ix, p), pk->id, IDX_ID_LEN) == 0) {
			pnum = p;
			break;
		}
	repo_pack_name(pk->id, name, sizeof(name));
	/* The locations to copy, gathered first: copying adds some. */
	for (size_t i = 0; i < x->nref; i++) {
		int marked;
		const struct idx_entry *ent =
		    keeper(ix, map, x->disk.v, x->ref[i], &marked);

		if (ent == NULL || ent->pack != pnum)
			continue;
		l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
		l.v[l.n++] = *ent;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_pack_offset);
	for (size_t i = 0, j; i < l.n; i = j) {
		uint64_t start = l.v[i].offset,
		         end = start + (uint64_t)l.v[i].length;

		for (j = i + 1; j < l.n; j++) {
			uint64_t next = l.v[j].offset;

			if (next < end || next - end > REPACK_GAP ||
			    next + l.v[j].length - start > REPACK_SPAN)
				break;
			end = next + l.v[j].length;
		}
		if (end > pk->size) {
			err_set(e, ERR_CORRUPT,
			    "%s: shorter than its index says; nothing more of "
			    "it was repacked (run 'coffer check --read-data')",
			    name);
			goto out;
		}
		if (bcap < end - start) {
			free(buf);
			bcap = (size_t)(end - start);
			buf = xmalloc(bcap);
		}
		if (stor_get_range(x->st, name, start, (size_t)(end - start),
		        buf, e) == -1)
			goto out;
		for (size_t k = i; k < j; k++) {
			const struct idx_entry *ent = &l.v[k];
			const uint8_t *at = buf + (ent->offset - start);

			/* Checked before it is copied: no damage is spread. */
			if (ccap < ent->length) {
				free(copy);
				ccap = ent->length;
				copy = xmalloc(ccap);
			}
			memcpy(copy, at, ent->length);
			if (repo_blob_unseal(x->r, ent->id,
			        (enum idx_blob_type)ent->type, ent->raw_length,
			        copy, ent->length, NULL, NULL, e) == -1) {
				err_wrap(e, "%s", name);
				goto out;
			}
			if (repo_blob_put_sealed(x->r, ent->id,
			        (enum idx_blob_type)ent->type, at, ent->length,
			        ent->raw_length, e) == -1)
				goto out;
			x->res->repacked_blobs++;
			x->res->repack_written += ent->length;
		}
	}
	rc = 0;
out:
	free(l.v);
	free(buf);
	free(copy);
	return (rc);
}

static int
phase1_plan(struct run *x, struct err *e)
{
	struct prune_result *res = x->res;
	const struct idx *ix = repo_index(x->r);
	struct prune_params pp;
	uint8_t missing[IDX_ID_LEN];
	size_t *map;
	char **fids = NULL;
	size_t nf = 0;
	char name[128];
	int rc = -1;

	/* What phase 2 deleted (or would) is gone. */
	for (size_t i = 0, j = 0; i <= x->disk.n; i++) {
		if (i == x->disk.n) {
			x->disk.n = j;
			break;
		}
		if (in_sorted(x->due_packs, x->ndue, x->disk.v[i].id)) {
			char hex[REPO_HEX_LEN + 1];

			hex_of(x->disk.v[i].id, hex);
			if (names_has(&res->due_packs, hex))
				continue;
		}
		x->disk.v[j] = x->disk.v[i];
		x->disk.v[j].action =
		    in_sorted(x->marked, x->nmarked, x->disk.v[i].id)
		    ? PRUNE_MARKED
		    : PRUNE_KEEP;
		j++;
	}
	/* Only packs in no index need their time. */
	map = x->map = pack_map(ix, x->disk.v, x->disk.n);
	{
		uint32_t np = idx_pack_count(ix);
		uint8_t *seen = xcalloc(x->disk.n + 1, 1);

		for (uint32_t p = 0; p < np; p++)
			if (map[p] != SIZE_MAX)
				seen[map[p]] = 1;
		for (size_t i = 0; i < x->disk.n; i++) {
			if (seen[i])
				continue;
			repo_pack_name(x->disk.v[i].id, name, sizeof(name));
			if (stor_mtime(x->st, name, &x->disk.v[i].mtime, e) ==
			    -1) {
				free(seen);
				goto out;
			}
		}
		free(seen);
	}
	pp.max_unused = x->o->max_unused;
	pp.max_repack = x->o->max_repack;
	pp.margin = x->margin;
	pp.client_now = x->client_now;
	pp.store_now = x->store_now;
	if (prune_plan_packs(ix, (const uint8_t(*)[IDX_ID_LEN])x->ref, x->nref,
	        x->disk.v, x->disk.n, &pp, &res->t, missing, e) == -1)
		goto out;
	res->packs = xcalloc(x->disk.n + 1, sizeof(*res->packs));
	if (x->disk.n > 0)
		memcpy(res->packs, x->disk.v, x->disk.n * sizeof(*res->packs));
	res->npacks = x->disk.n;
	/* Index files read at open become candidates, but those an earlier
	 * record names already, and damaged ones (check reports them). */
	for (size_t i = 0;
	     res->t.packs[PRUNE_DELETE] + res->t.packs[PRUNE_REPACK] > 0 &&
	     i < x->loaded_index.n;
	     i++)
		if (!names_has(&x->marked_index, x->loaded_index.v[i]) &&
		    !names_has(&x->due_index, x->loaded_index.v[i]))
			names_add(&res->index_replaced, x->loaded_index.v[i]);
	if (forget_list(x->st, &fids, &nf, e) == -1)
		goto out;
	for (size_t i = 0; i < nf; i++) {
		char *f = xasprintf("%s/%s", FORGET_DIR, fids[i]);

		names_add(&res->forgotten, f);
		free(f);
	}
	rc = 0;
out:
	forget_ids_free(fids, nf);
	return (rc);
}

/* A size for people, rounded up: "12 KiB", "3.5 MiB". */
static void
size_str(uint64_t n, char *buf, size_t size)
{
	if (n < (1u << 20))
		snprintf(buf, size, "%llu KiB",
		    (unsigned long long)((n + 1023) >> 10));
	else
		snprintf(buf, size, "%.1f MiB",
		    (double)((n * 10 + (1u << 20) - 1) >> 20) / 10.0);
}

/*
 * Phase 1 found no space: one line with what it needs.  An estimate: the
 * used bytes repacking copies, the index files loaded (the new ones name
 * no more), the record, and a block of 4 KiB per file for rounding.
 */
static void
no_space(const struct run *x, struct err *e)
{
	const struct prune_result *res = x->res;
	uint64_t packs =
	    res->t.repack_copy == 0 ? 0 : res->t.repack_copy / (16u << 20) + 1;
	uint64_t rec = 256 +
	    80 *
	        (res->t.packs[PRUNE_DELETE] + res->t.packs[PRUNE_REPACK] +
	            res->index_replaced.n);
	uint64_t idx = x->index_bytes + 4096 * (x->loaded_index.n + 2) + rec;
	uint64_t need = res->t.repack_copy + 4096 * packs + idx;
	char a[32], b[32], c[32], d[32];
	int eno = e->sys_errno;

	size_str(need, a, sizeof(a));
	size_str(res->t.repack_copy, b, sizeof(b));
	size_str(idx, c, sizeof(c));
	size_str(res->due_bytes, d, sizeof(d));
	err_set(e, ERR_NOSPACE,
	    "no space left on %s to mark what this prune frees: it needs "
	    "about %s free (%s of repacked blobs, %s of index files and its "
	    "record); nothing was marked%s%s%s; free that much%s%s",
	    stor_location(x->st), a, b, c,
	    res->due_packs.n > 0 ? " (earlier prunes' deletions were done: "
	                         : "",
	    res->due_packs.n > 0 ? d : "",
	    res->due_packs.n > 0 ? " freed)" : "",
	    res->t.repack_copy > 0 ? ", or run 'coffer prune --max-unused "
	                             "100%', which repacks nothing and needs "
	                             "about "
	                           : "",
	    res->t.repack_copy > 0 ? c : "");
	e->sys_errno = eno;
}

/* Phase 1's writes, as phase1_plan planned them. */
static int
phase1_do(struct run *x, struct err *e)
{
	struct prune_result *res = x->res;
	const struct idx *ix = repo_index(x->r);
	const size_t *map = x->map;
	uint8_t(*cand)[IDX_ID_LEN] = NULL;
	size_t ncand = 0;
	struct keep_ctx kc;
	char *json = NULL;
	int rc = -1, k;

	/*
	 * Forgotten snapshots are gone for good now (forget(1)): removed
	 * first, as deleting needs no space.  A crash after this leaves
	 * their data unmarked, for the next prune.
	 */
	for (size_t i = 0; i < res->forgotten.n; i++)
		if (gone_mark(x->st, x->o,
		        res->forgotten.v[i] + strlen(FORGET_DIR "/"),
		        e) == -1 ||
		    stor_remove(x->st, res->forgotten.v[i], e) == -1)
			goto out;
	if (res->t.packs[PRUNE_DELETE] + res->t.packs[PRUNE_REPACK] > 0) {
		kc.ix = ix;
		kc.disk = &x->disk;
		kc.old_np = idx_pack_count(ix);
		for (size_t i = 0; i < x->disk.n; i++) {
			if (x->disk.v[i].action != PRUNE_REPACK)
				continue;
			if (interrupted(x->o, e) == -1 ||
			    repack_one(x, &x->disk.v[i], map, e) == -1)
				goto out;
		}
		if (repo_flush_packs(x->r, e) == -1)
			goto out;
		prune_crash_point("after-repack-packs");
		if (write_index(x->r, phase1_keep, &kc, &res->index_written,
		        e) == -1)
			goto out;
		prune_crash_point("after-new-index");
		cand = xcalloc(x->disk.n + 1, IDX_ID_LEN);
		for (size_t i = 0; i < x->disk.n; i++)
			if (x->disk.v[i].action == PRUNE_DELETE ||
			    x->disk.v[i].action == PRUNE_REPACK)
				memcpy(cand[ncand++], x->disk.v[i].id,
				    IDX_ID_LEN);
		json = record_encode(x->client_now,
		    (const uint8_t(*)[IDX_ID_LEN])cand, ncand,
		    &res->index_replaced);
		k = repo_file_put(x->r, PRUNE_DIR, (const uint8_t *)json,
		    strlen(json), res->record, e);
		if (k == -1 && e->sys_errno != EEXIST) {
			res->record[0] = '\0';
			goto out;
		}
		prune_crash_point("after-record");
	}
	rc = 0;
out:
	if (rc == -1 && e->class == ERR_NOSPACE)
		no_space(x, e);
	free(cand);
	free(json);
	return (rc);
}

/* ---------------------------------------------------------------- run */

/* The operations log's record of a prune that ran (not a dry run). */
static void
log_prune(struct repo *r, const struct prune_result *res,
    const struct err *failure)
{
	const char **ids = xcalloc(res->forgotten.n + 1, sizeof(*ids));
	struct oplog_count c[] = {
		{ "packs_deleted", res->due_packs.n },
		{ "bytes_deleted", res->due_bytes },
		{ "index_files_deleted", res->due_index.n },
		{ "packs_rescued", res->rescued.n },
		{ "blobs_repacked", res->repacked_blobs },
		{ "bytes_repacked", res->repack_written },
		{ "forgotten_removed", res->forgotten.n },
	};
	struct oplog_entry ent;

	for (size_t i = 0; i < res->forgotten.n; i++) {
		const char *slash = strrchr(res->forgotten.v[i], '/');

		ids[i] = slash != NULL ? slash + 1 : res->forgotten.v[i];
	}
	memset(&ent, 0, sizeof(ent));
	ent.op = OPLOG_PRUNE;
	ent.failure = failure;
	ent.snapshots = ids;
	ent.nsnapshots = res->forgotten.n;
	ent.counts = c;
	ent.ncounts = sizeof(c) / sizeof(c[0]);
	oplog_record(r, &ent);
	free(ids);
}

static int
index_size(void *arg, const char *name, uint64_t size)
{
	(void)name;
	*(uint64_t *)arg += size;
	return (0);
}

static void
fp_names(struct crypto_sha256_ctx *c, const char *what,
    const struct prune_names *l)
{
	char **v = xcalloc(l->n + 1, sizeof(*v));

	/* Sorted here: the fingerprint must not depend on listing order. */
	if (l->n > 0)
		memcpy(v, l->v, l->n * sizeof(*v));
	if (l->n > 1)
		qsort(v, l->n, sizeof(*v), by_str);
	crypto_sha256_update(c, what, strlen(what) + 1);
	for (size_t i = 0; i < l->n; i++)
		crypto_sha256_update(c, v[i], strlen(v[i]) + 1);
	free(v);
}

/*
 * What a plan rests on, as 64 hex digits: the repository's id, the
 * margin, the manifests read, the index files loaded, every record (due
 * or waiting) and the forgotten manifests.  Any of them added, removed
 * or (being content-named) changed gives another value.
 */
static void
fingerprint(const struct run *x, char out[REPO_HEX_LEN + 1])
{
	struct crypto_sha256_ctx *c;
	struct err le;
	uint8_t h[CRYPTO_HASH_LEN];
	char m[32];

	if ((c = crypto_sha256_new(&le)) == NULL) {
		out[0] = '\0'; /* GCOVR_EXCL_LINE: allocation failure */
		return;        /* GCOVR_EXCL_LINE */
	}
	crypto_sha256_update(c, "coffer prune plan 1", 20);
	crypto_sha256_update(c, repo_id(x->r), strlen(repo_id(x->r)) + 1);
	snprintf(m, sizeof(m), "%llu", (unsigned long long)x->margin);
	crypto_sha256_update(c, m, strlen(m) + 1);
	fp_names(c, "snapshots", &x->snaps);
	fp_names(c, "index", &x->loaded_index);
	fp_names(c, "due", &x->res->records_due);
	fp_names(c, "waiting", &x->res->records_waiting);
	fp_names(c, "forgotten", &x->res->forgotten);
	crypto_sha256_final(c, h);
	crypto_sha256_free(c);
	crypto_hex_encode(h, sizeof(h), out);
}

int
prune_run(struct repo *r, const struct prune_opts *o, struct prune_result **out,
    struct err *e)
{
	struct prune_result *res = xcalloc(1, sizeof(*res));
	struct run x;
	const struct repo_bad_file *bad;
	char *const *loaded;
	size_t nbad, nloaded;
	const char *lk;
	int rc = -1;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.st = repo_store(r);
	x.o = o;
	x.res = res;
	if (prune_margin(&x.margin, e) == -1)
		goto out;
	res->margin = x.margin;
	if ((bad = repo_bad_indexes(r, &nbad)) != NULL && nbad > 0) {
		err_set(e, ERR_CORRUPT,
		    "%s: %s: nothing was pruned; run 'coffer rebuild-index' "
		    "first",
		    bad[0].name, bad[0].err.msg);
		goto out;
	}
	repo_index_files(r, &loaded, &nloaded);
	for (size_t i = 0; i < nloaded; i++)
		names_add(&x.loaded_index, loaded[i]);
	if (stor_list(x.st, "index", index_size, &x.index_bytes, e) == -1)
		goto out;
	/* The store's clock: the time it gave our lock file. */
	x.client_now = (int64_t)time(NULL);
	x.store_now = INT64_MIN;
	if ((lk = repo_lock_file(r)) != NULL &&
	    stor_mtime(x.st, lk, &x.store_now, e) == -1)
		goto out;
	if (x.store_now == INT64_MIN)
		note(o,
		    "the store gives no file times: no candidate is old "
		    "enough to delete");
	/* Judged first, then what is needed is read: a snapshot stored
	 * before a record came of age is seen (FORMAT.md, "Prune"). */
	if (judge_records(&x, e) == -1 || interrupted(o, e) == -1)
		goto out;
	if (needed(r, o, res, &x.snaps, &x.ref, &x.nref, e) == -1)
		goto out;
	if (list_packs(r, &x.disk, e) == -1)
		goto out;
	/* The whole plan first, then its approval, then the changes. */
	phase2_plan(&x);
	if (phase1_plan(&x, e) == -1)
		goto out;
	fingerprint(&x, res->fingerprint);
	if (o->approve != NULL && o->approve(o->arg, res, e) == -1)
		goto out;
	if (o->dry_run) {
		rc = 0;
		goto out;
	}
	x.changing = 1;
	if (phase2_do(&x, e) == -1 || phase1_do(&x, e) == -1)
		goto out;
	res->done = 1;
	rc = 0;
out:
	/* A plan refused, or a prune that stopped before changing
	 * anything, leaves the repository as it was: no record either. */
	if (x.changing)
		log_prune(r, res, rc == -1 ? e : NULL);
	for (size_t i = 0; i < x.nrecs; i++)
		record_clear(&x.recs[i]);
	free(x.recs);
	free(x.due);
	free(x.due_packs);
	free(x.marked);
	names_free(&x.marked_index);
	names_free(&x.due_index);
	names_free(&x.loaded_index);
	free(x.ref);
	free(x.disk.v);
	names_free(&x.snaps);
	free(x.rescued);
	free(x.map);
	*out = res;
	return (rc);
}

void
prune_result_free(struct prune_result *res)
{
	if (res == NULL)
		return;
	names_free(&res->records_due);
	names_free(&res->records_waiting);
	names_free(&res->due_packs);
	names_free(&res->due_index);
	names_free(&res->rescued);
	names_free(&res->index_replaced);
	names_free(&res->forgotten);
	free(res->packs);
	free(res);
}
