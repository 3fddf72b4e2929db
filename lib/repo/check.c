/*
 * The repository check: key files, index files, packs against the index,
 * snapshots and every tree they reach, and with read_data the bytes of
 * the packs themselves.  Problems are collected, never fatal: a check
 * reports everything it can find in one run.
 */
#include "repo/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "fs/node.h"
#include "repo/forget.h"
#include "repo/idx.h"
#include "repo/manifest.h"
#include "repo/oplog.h"
#include "repo/pack.h"
#include "repo/prune.h"
#include "repo/tree.h"
#include "xmalloc.h"

#define CHECK_WINDOW     (4u << 20) /* bytes read from a pack at once */
#define CHECK_DETAIL_MAX 10         /* blob-level lines about one pack */
#define CHECK_TICK_TREES 256        /* trees between two ticks */
#define NO_PACK          UINT32_MAX
#define PACK_NAME_LEN    (5 + 3 + REPO_HEX_LEN) /* data/ab/<hex> */

#define FIX_IO                                                                 \
	"check the file's permissions and the storage, then run the check "    \
	"again"
#define FIX_KEY                                                                \
	"remove it with 'coffer key remove' once another key opens the "       \
	"repository, or put back an intact copy"
#define FIX_INDEX                                                              \
	"run 'coffer rebuild-index' (it rebuilds the index from the packs)"
#define FIX_PACK_DAMAGED                                                       \
	"replace it with the same file from another copy of the repository "   \
	"(an off-site copy holds identical packs); otherwise snapshots that "  \
	"use its blobs cannot be restored in full"
#define FIX_PACK_MISSING                                                       \
	"put it back from another copy of the repository; otherwise run "      \
	"'coffer rebuild-index' to drop its blobs from the index"
#define FIX_UNINDEXED                                                          \
	"if no snapshot is running, run 'coffer rebuild-index' to index it "   \
	"(a running or interrupted snapshot leaves such packs, nothing is "    \
	"lost; so does an index file removed or renamed: look for hidden "     \
	"files in index/)"
#define FIX_SNAPSHOT                                                           \
	"put back an intact copy from another copy of the repository, or "     \
	"remove the file: it is the snapshot's only record, nothing else "     \
	"depends on it"
#define FIX_TREE                                                               \
	"the snapshot cannot be restored in full: run 'coffer rebuild-index' " \
	"in case an unindexed pack holds the blob, else put back its pack "    \
	"from another copy of the repository"
#define FIX_INCOMPLETE                                                         \
	"restore what it still holds if you need it, take a new snapshot, "    \
	"and remove this snapshot's file once the new one is safe"
#define FIX_LOG                                                                \
	"the record of one past operation is damaged (or was planted): put "   \
	"back an intact copy from another copy of the repository (an "         \
	"off-site copy holds the same file), or remove it: nothing else "      \
	"depends on it"
#define FIX_STRAY "remove it if nothing else put it there"
#define FIX_MISNAMED                                                           \
	"coffer never renames an index file: find out who did; its entries "   \
	"are used (restore checks every blob's id), and 'coffer "              \
	"rebuild-index' writes the index afresh from the packs"
#define FIX_DUPLICATE                                                          \
	"nothing to do if two snapshots stored the same new data at once; "    \
	"else a key holder may have planted other bytes under known ids: "     \
	"restores check each copy's id and use an intact one, and 'coffer "    \
	"check --read-data' names the copy that is not"
#define FIX_GAP                                                                \
	"an index file naming that blob was removed or renamed (look for "     \
	"hidden files in index/), or replaced by one that places the blob "    \
	"elsewhere: run 'coffer rebuild-index' to index every blob of every "  \
	"pack again"

#define FIX_HIDDEN                                                             \
	"coffer never hides a file: find out who did; if it is an index "      \
	"file, rename it back to the SHA-256 of its bytes (sha256sum), or "    \
	"run 'coffer rebuild-index', which indexes every pack again"
/*
 * A put's temp file lives for the seconds the put takes: one younger than
 * this (by the store's clock, a minute of skew allowed) may be in flight,
 * and is not reported.  Any other dot-named file in index/ is: renamed so,
 * an index file is hidden from every reader.
 */
#define CHECK_TEMP_GRACE 600 /* s */

/* A set of ids, each with a small state; open addressing. */
struct idset {
	uint8_t (*ids)[IDX_ID_LEN];
	uint8_t *state; /* 0: empty slot */
	size_t cap, n;
};

enum { TREE_BUSY = 1, TREE_OK, TREE_BAD, REPORTED };

/* A pack, as the index and the store see it. */
struct pk {
	uint8_t id[IDX_ID_LEN];
	uint32_t num;  /* number in the index, NO_PACK when not indexed */
	uint32_t nent; /* index entries that place a blob in it */
	uint64_t end;  /* end of the last of those blobs */
	uint64_t size; /* bytes on disk */
	int short_;    /* too short for what the index says: not read */
	int lost;      /* missing or short: its blobs cannot be read */
};

struct names {
	char **v;
	size_t n;
};

struct ck {
	struct repo *r;
	struct tree_reader *tr; /* trees are read as ls and restore read them */
	struct stor *st;
	const struct idx *idx;
	const struct check_opts *o;
	struct check_report *rep;
	struct err *e; /* what stops the check */
	struct idset trees, missing;
	struct pk *byidx; /* by pack number */
	uint32_t npacks;
	struct pk *disk; /* pack files present, by id */
	size_t ndisk;
	struct names snaps; /* snapshot files, listed before the index */
	uint64_t ntrees;
	/* The snapshot being walked: what needs blobs from lost packs. */
	uint64_t lost_trees, lost_files;
	/* The pack being read. */
	unsigned detail, detail_over;
	int damaged;
};

/* Sequential reader of one pack, hashing every byte once, in order. */
struct seqread {
	struct ck *c;
	const char *name;
	struct crypto_sha256_ctx *sha;
	uint64_t end;   /* reads stay within [0, end) */
	uint64_t start; /* file offset of buf[0] */
	size_t len, cap;
	uint8_t *buf;
};

static uint64_t
id_hash(const uint8_t *id)
{
	uint64_t a, b;

	/* Ids are keyed hashes: any eight bytes are uniform already. */
	memcpy(&a, id, sizeof(a));
	memcpy(&b, id + 8, sizeof(b));
	return (a ^ (b * 0x9e3779b97f4a7c15u));
}

static size_t
idset_slot(const struct idset *s, const uint8_t *id)
{
	size_t i = (size_t)id_hash(id) & (s->cap - 1);

	while (s->state[i] != 0 && memcmp(s->ids[i], id, IDX_ID_LEN) != 0)
		i = (i + 1) & (s->cap - 1);
	return (i);
}

static int
idset_get(const struct idset *s, const uint8_t *id)
{
	if (s->cap == 0)
		return (0);
	return (s->state[idset_slot(s, id)]);
}

static void
idset_put(struct idset *s, const uint8_t *id, int state)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct idset bigger;

		bigger.cap = s->cap ? 2 * s->cap : 1024;
		bigger.n = s->n;
		bigger.ids = xcalloc(bigger.cap, IDX_ID_LEN);
		bigger.state = xcalloc(bigger.cap, 1);
		for (size_t j = 0; j < s->cap; j++) {
			if (s->state[j] == 0)
				continue;
			i = idset_slot(&bigger, s->ids[j]);
			memcpy(bigger.ids[i], s->ids[j], IDX_ID_LEN);
			bigger.state[i] = s->state[j];
		}
		free(s->ids);
		free(s->state);
		*s = bigger;
	}
	i = idset_slot(s, id);
	if (s->state[i] == 0) {
		memcpy(s->ids[i], id, IDX_ID_LEN);
		s->n++;
	}
	s->state[i] = (uint8_t)state;
}

static void
idset_free(struct idset *s)
{
	free(s->ids);
	free(s->state);
	memset(s, 0, sizeof(*s));
}

const char *
check_severity_name(enum check_severity s)
{
	return (s == CHECK_WARN ? "warning" : "error");
}

/* msg without a leading "file: " when it has one (errors name the file). */
static const char *
unprefixed(const char *msg, const char *file)
{
	size_t n = strlen(file);

	if (strncmp(msg, file, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
		return (msg + n + 2);
	return (msg);
}

static void problem(struct ck *, enum check_severity, enum err_class,
    const char *file, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
problem(struct ck *c, enum check_severity sev, enum err_class class,
    const char *file, const char *fix, const char *fmt, ...)
{
	struct check_report *rep = c->rep;
	struct check_problem *p;
	char what[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	rep->problems = xreallocarray(rep->problems, rep->nproblems + 1,
	    sizeof(*rep->problems));
	p = &rep->problems[rep->nproblems++];
	p->severity = sev;
	p->class = class;
	p->file = xstrdup(file);
	p->what = xstrdup(what);
	p->fix = xstrdup(fix);
	if (sev == CHECK_ERROR)
		rep->stats.errors++;
	else
		rep->stats.warnings++;
	if (c->o->on_problem != NULL)
		c->o->on_problem(c->o->arg, p);
}

/* A problem from a failed operation: damage, or a file we could not read. */
static void
problem_err(struct ck *c, const char *file, const char *fix,
    const struct err *le)
{
	/* A file that should be there and is not is damage, not an I/O
	 * failure. */
	int damage = le->class == ERR_CORRUPT || le->sys_errno == ENOENT;

	problem(c, CHECK_ERROR, damage ? ERR_CORRUPT : le->class, file,
	    damage ? fix : FIX_IO, "%s%s",
	    damage ? "" : "cannot check: ", unprefixed(le->msg, file));
}

/* Stop when interrupted, or when the tick says so. */
static int
keep_going(struct ck *c)
{
	if (c->o->interrupted != NULL && *c->o->interrupted)
		return (err_set(c->e, ERR_INTERRUPTED, "check interrupted"));
	if (c->o->tick != NULL && c->o->tick(c->o->arg, c->e) == -1)
		return (-1);
	return (0);
}

/* ----------------------------------------------------------- files */

static int
is_hex(const char *s, size_t n)
{
	return (strlen(s) == n && strspn(s, "0123456789abcdef") == n);
}

static void
check_keys(struct ck *c)
{
	struct repo_key_entry *v;
	struct err le;
	size_t n;

	if (repo_key_list(c->r, &v, &n, &le) == -1) {
		problem_err(c, "keys", FIX_KEY, &le);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char file[16 + REPO_HEX_LEN];

		c->rep->stats.key_files++;
		snprintf(file, sizeof(file), "keys/%s", v[i].id);
		if (v[i].beyond_budget)
			problem(c, CHECK_WARN, ERR_NONE, file, KEY_BUDGET_FIX,
			    "%s", KEY_BUDGET_WHAT);
		if (!v[i].damaged)
			continue;
		c->rep->stats.key_files_damaged++;
		problem_err(c, file, FIX_KEY, &v[i].err);
	}
	free(v);
}

static int
count_file(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	(*(uint64_t *)arg)++;
	return (0);
}

/* A dot-named file in index/: stor_list and so the index leave it out. */
static int
hidden_index(void *arg, const char *name, uint64_t size, int64_t mtime)
{
	struct ck *c = arg;
	int64_t age = (int64_t)time(NULL) - mtime;

	if (stor_name_temp(name) && mtime != INT64_MIN && age > -60 &&
	    age < CHECK_TEMP_GRACE)
		return (0);
	problem(c, CHECK_WARN, ERR_NONE, name, FIX_HIDDEN,
	    "a hidden file (%llu bytes) that readers of the index never see",
	    (unsigned long long)size);
	return (0);
}

/*
 * forgotten/: manifests coffer forget moved aside (repo/forget.h), which
 * no snapshot listing sees and prune will treat as gone; counted, not
 * read.
 */
static int
forgotten_file(void *arg, const char *name, uint64_t size)
{
	struct ck *c = arg;

	(void)size;
	if (!is_hex(name + strlen(FORGET_DIR "/"), REPO_HEX_LEN)) {
		problem(c, CHECK_WARN, ERR_NONE, name, FIX_STRAY,
		    "not a forgotten snapshot's name (64 hex digits)");
		return (0);
	}
	c->rep->stats.snapshots_forgotten++;
	return (0);
}

/*
 * prune/: records of deletion candidates (repo/prune.h), written by one
 * prune for the next; a damaged one is left alone by prune and writers,
 * and so only its name is looked at here.
 */
static int
prune_file(void *arg, const char *name, uint64_t size)
{
	struct ck *c = arg;

	(void)size;
	if (!is_hex(name + strlen(PRUNE_DIR "/"), REPO_HEX_LEN))
		problem(c, CHECK_WARN, ERR_NONE, name, FIX_STRAY,
		    "not a prune record's name (64 hex digits)");
	return (0);
}

static int
check_indexes(struct ck *c)
{
	const struct repo_bad_file *bad;
	size_t n;

	if (stor_list(c->st, "index", count_file, &c->rep->stats.index_files,
	        c->e) == -1)
		return (-1);
	if (stor_list_hidden(c->st, "index", hidden_index, c, c->e) == -1)
		return (-1);
	bad = repo_bad_indexes(c->r, &n);
	for (size_t i = 0; i < n; i++) {
		c->rep->stats.index_files_damaged++;
		problem_err(c, bad[i].name, FIX_INDEX, &bad[i].err);
	}
	bad = repo_misnamed_indexes(c->r, &n);
	for (size_t i = 0; i < n; i++) {
		c->rep->stats.index_files_misnamed++;
		problem(c, CHECK_WARN, ERR_NONE, bad[i].name, FIX_MISNAMED,
		    "%s", unprefixed(bad[i].err.msg, bad[i].name));
	}
	c->rep->stats.blobs_indexed = idx_count(c->idx);
	return (0);
}

/* ----------------------------------------------------------- packs */

static int
by_id(const void *a, const void *b)
{
	return (memcmp(((const struct pk *)a)->id, ((const struct pk *)b)->id,
	    IDX_ID_LEN));
}

static int
tally_entry(void *arg, const struct idx_entry *ent)
{
	struct pk *p = &((struct pk *)arg)[ent->pack];
	uint64_t end = (uint64_t)ent->offset + ent->length;

	p->nent++;
	if (end > p->end)
		p->end = end;
	return (0);
}

static int
collect_pack(void *arg, const char *name, uint64_t size)
{
	struct ck *c = arg;
	struct pk *p;

	if (strlen(name) != PACK_NAME_LEN || strncmp(name, "data/", 5) != 0 ||
	    name[7] != '/' || !is_hex(name + 8, REPO_HEX_LEN) ||
	    strncmp(name + 5, name + 8, 2) != 0) {
		problem(c, CHECK_WARN, ERR_NONE, name, FIX_STRAY,
		    "not a pack file name (data/<2 hex>/<64 hex>)");
		return (0);
	}
	c->disk = xreallocarray(c->disk, c->ndisk + 1, sizeof(*c->disk));
	p = &c->disk[c->ndisk++];
	memset(p, 0, sizeof(*p));
	/* Cannot fail: 64 hex digits checked above. */
	(void)crypto_hex_decode(name + 8, REPO_HEX_LEN, p->id, IDX_ID_LEN,
	    c->e);
	p->num = NO_PACK;
	p->size = size;
	return (0);
}

/*
 * The least size of a pack whose indexed blobs end at end: those bytes, a
 * sealed header listing at least one blob, the trailer.  (Not one header
 * entry per index entry: a wrong index is not a short pack.)
 */
static uint64_t
pack_min_size(uint64_t end, uint64_t n)
{
	return (end + PACK_HDR_FIXED + (n > 0 ? PACK_HDR_ENTRY_LEN : 0) +
	    CRYPTO_AEAD_OVERHEAD + PACK_TRAILER_LEN);
}

static int
check_packs(struct ck *c)
{
	struct check_stats *s = &c->rep->stats;
	struct pk *sorted;
	size_t i = 0, j = 0;
	char name[PACK_NAME_LEN + 1];

	c->npacks = idx_pack_count(c->idx);
	c->byidx = xcalloc((size_t)c->npacks + 1, sizeof(*c->byidx));
	for (uint32_t k = 0; k < c->npacks; k++) {
		memcpy(c->byidx[k].id, idx_pack_id(c->idx, k), IDX_ID_LEN);
		c->byidx[k].num = k;
	}
	(void)idx_foreach(c->idx, tally_entry, c->byidx);
	s->packs_indexed = c->npacks;
	s->packs = c->ndisk;
	if (c->ndisk > 1)
		qsort(c->disk, c->ndisk, sizeof(*c->disk), by_id);
	sorted = xcalloc((size_t)c->npacks + 1, sizeof(*sorted));
	memcpy(sorted, c->byidx, (size_t)c->npacks * sizeof(*sorted));
	if (c->npacks > 1)
		qsort(sorted, c->npacks, sizeof(*sorted), by_id);
	/* Both sorted by id: walk them side by side. */
	while (i < c->npacks || j < c->ndisk) {
		int cmp = i == c->npacks ? 1
		    : j == c->ndisk      ? -1
		                         : by_id(&sorted[i], &c->disk[j]);

		if (cmp < 0) {
			repo_pack_name(sorted[i].id, name, sizeof(name));
			s->packs_missing++;
			c->byidx[sorted[i].num].lost = 1;
			problem(c, sorted[i].nent ? CHECK_ERROR : CHECK_WARN,
			    ERR_CORRUPT, name, FIX_PACK_MISSING,
			    "missing: the index places %u blobs in it",
			    sorted[i].nent);
			i++;
		} else if (cmp > 0) {
			repo_pack_name(c->disk[j].id, name, sizeof(name));
			s->packs_unindexed++;
			problem(c, CHECK_WARN, ERR_NONE, name, FIX_UNINDEXED,
			    "not in any index file");
			j++;
		} else {
			struct pk *d = &c->disk[j];
			uint64_t need;

			d->num = sorted[i].num;
			d->nent = sorted[i].nent;
			d->end = sorted[i].end;
			need = pack_min_size(d->end, d->nent);
			if (d->size < need) {
				repo_pack_name(d->id, name, sizeof(name));
				d->short_ = 1;
				c->byidx[d->num].lost = 1;
				s->packs_short++;
				problem(c, CHECK_ERROR, ERR_CORRUPT, name,
				    FIX_PACK_DAMAGED,
				    "truncated: %llu bytes, but the index "
				    "needs at least %llu",
				    (unsigned long long)d->size,
				    (unsigned long long)need);
			}
			i++;
			j++;
		}
	}
	free(sorted);
	return (0);
}

/* An index location: where the index places a blob in a pack. */
struct loc {
	uint32_t pack, offset, length;
};

struct locs {
	struct loc *v;
	size_t n;
	/* Ids indexed in several packs, by the pack of a later copy. */
	uint32_t *dups;
	uint8_t (*dup_example)[IDX_ID_LEN];
	uint32_t *dup_other;
	const struct idx *idx;
};

static int
collect_loc(void *arg, const struct idx_entry *ent)
{
	struct locs *l = arg;
	const struct idx_entry *first = idx_find(l->idx, ent->id);

	l->v[l->n].pack = ent->pack;
	l->v[l->n].offset = ent->offset;
	l->v[l->n].length = ent->length;
	l->n++;
	if (first != ent && first->pack != ent->pack) {
		if (l->dups[ent->pack]++ == 0) {
			memcpy(l->dup_example[ent->pack], ent->id, IDX_ID_LEN);
			l->dup_other[ent->pack] = first->pack;
		}
	}
	return (0);
}

static int
by_loc(const void *a, const void *b)
{
	const struct loc *x = a, *y = b;

	if (x->pack != y->pack)
		return (x->pack < y->pack ? -1 : 1);
	if (x->offset != y->offset)
		return (x->offset < y->offset ? -1 : 1);
	return (0);
}

/*
 * What the index alone tells of a key holder's work: ids indexed in
 * several packs, and packs whose indexed blobs leave a gap (coffer indexes
 * every blob of a pack, so a gap is an index entry taken away).
 */
static void
check_locations(struct ck *c)
{
	struct locs l;
	char name[PACK_NAME_LEN + 1], other[PACK_NAME_LEN + 1];
	char hex[REPO_HEX_LEN + 1];
	size_t i = 0;

	memset(&l, 0, sizeof(l));
	l.idx = c->idx;
	l.v = xcalloc(idx_locations(c->idx) + 1, sizeof(*l.v));
	l.dups = xcalloc((size_t)c->npacks + 1, sizeof(*l.dups));
	l.dup_example = xcalloc((size_t)c->npacks + 1, IDX_ID_LEN);
	l.dup_other = xcalloc((size_t)c->npacks + 1, sizeof(*l.dup_other));
	(void)idx_foreach(c->idx, collect_loc, &l);
	for (uint32_t k = 0; k < c->npacks; k++) {
		if (l.dups[k] == 0)
			continue;
		c->rep->stats.blobs_duplicate += l.dups[k];
		repo_pack_name(c->byidx[k].id, name, sizeof(name));
		repo_pack_name(c->byidx[l.dup_other[k]].id, other,
		    sizeof(other));
		crypto_hex_encode(l.dup_example[k], IDX_ID_LEN, hex);
		problem(c, CHECK_WARN, ERR_NONE, name, FIX_DUPLICATE,
		    "%u blob%s indexed in it %s indexed in other packs too "
		    "(blob %.16s also in %s)",
		    l.dups[k], l.dups[k] == 1 ? "" : "s",
		    l.dups[k] == 1 ? "is" : "are", hex, other);
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_loc);
	while (i < l.n) {
		uint32_t pk = l.v[i].pack;
		uint64_t end = 0;
		int gap = 0;

		for (; i < l.n && l.v[i].pack == pk; i++) {
			if (!gap && l.v[i].offset > end) {
				gap = 1;
				c->rep->stats.packs_gaps++;
				repo_pack_name(c->byidx[pk].id, name,
				    sizeof(name));
				problem(c, CHECK_WARN, ERR_NONE, name, FIX_GAP,
				    "no index entry names its bytes %llu to "
				    "%u: a blob of it is not indexed here",
				    (unsigned long long)end, l.v[i].offset);
			}
			if ((uint64_t)l.v[i].offset + l.v[i].length > end)
				end = (uint64_t)l.v[i].offset + l.v[i].length;
		}
	}
	free(l.v);
	free(l.dups);
	free(l.dup_example);
	free(l.dup_other);
}

/* ----------------------------------------------------------- trees */

struct kid {
	uint8_t id[IDX_ID_LEN];
	char *name;
};

struct frame {
	uint8_t id[IDX_ID_LEN];
	char *path;
	struct kid *kids;
	size_t nkids, next;
	int bad;
};

static void
frame_clear(struct frame *f)
{
	for (size_t i = 0; i < f->nkids; i++)
		free(f->kids[i].name);
	free(f->kids);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

/* A path for messages: bytes as stored, control characters as '?'. */
static char *
path_join(const char *dir, const char *name)
{
	char *p = xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);

	for (char *q = p; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return (p);
}

/* A blob a tree names is not in the index: say so once per blob. */
static void
report_missing(struct ck *c, const char *snap, const char *path,
    const char *what, const uint8_t *id)
{
	char hex[REPO_HEX_LEN + 1];

	if (idset_get(&c->missing, id) == REPORTED)
		return;
	idset_put(&c->missing, id, REPORTED);
	crypto_hex_encode(id, IDX_ID_LEN, hex);
	problem(c, CHECK_ERROR, ERR_CORRUPT, snap, FIX_TREE,
	    "%s: %s %.16s is not in the index", path, what, hex);
}

/* Check one file node's chunks; 1 if something is wrong. */
static int
check_file(struct ck *c, const char *snap, const char *dir,
    const struct fs_node *n)
{
	uint64_t sum = 0;
	char *path = NULL, hex[REPO_HEX_LEN + 1];
	int bad = 0, lost = 0;

	for (size_t i = 0; i < n->nchunks; i++) {
		const struct idx_entry *ent = idx_find(c->idx, n->chunks[i]);

		c->rep->stats.data_refs++;
		if (ent != NULL && ent->type == IDX_BLOB_DATA) {
			sum += ent->raw_length;
			/* Its pack has its own line; the snapshot counts it. */
			if (c->byidx[ent->pack].lost)
				lost = 1;
			continue;
		}
		bad = 1;
		if (path == NULL)
			path = path_join(dir, n->name);
		if (ent == NULL) {
			report_missing(c, snap, path, "data blob",
			    n->chunks[i]);
			continue;
		}
		crypto_hex_encode(n->chunks[i], IDX_ID_LEN, hex);
		problem(c, CHECK_ERROR, ERR_CORRUPT, snap, FIX_TREE,
		    "%s: chunk %zu (%.16s) is indexed as a tree, not data",
		    path, i, hex);
	}
	/*
	 * The data is exactly the chunks (doc/FORMAT.md, "Trees").  A file
	 * that changed while it was read is left alone: what it holds is
	 * what was read, and it is flagged already.
	 */
	if (!bad && !(n->flags & FS_NODE_INCONSISTENT) &&
	    sum != fs_node_data_len(n)) {
		bad = 1;
		path = path_join(dir, n->name);
		problem(c, CHECK_ERROR, ERR_CORRUPT, snap, FIX_TREE,
		    "%s: its chunks hold %llu bytes, the tree says %llu", path,
		    (unsigned long long)sum,
		    (unsigned long long)fs_node_data_len(n));
	}
	free(path);
	if (lost)
		c->lost_files++;
	return (bad || lost);
}

/*
 * Load tree id (at path in snapshot snap), check its files, and fill f
 * with its subdirectories.  0 when it loaded (f->bad says whether its
 * files are whole), 1 when it did not.
 */
static int
open_frame(struct ck *c, const char *snap, const uint8_t id[IDX_ID_LEN],
    char *path, struct frame *f)
{
	const struct idx_entry *ent = idx_find(c->idx, id);
	struct tree_dir d = { NULL, 0 };
	const struct fs_node *nodes;
	size_t n;
	char hex[REPO_HEX_LEN + 1];
	struct err le;

	memset(f, 0, sizeof(*f));
	memcpy(f->id, id, IDX_ID_LEN);
	f->path = path;
	crypto_hex_encode(id, IDX_ID_LEN, hex);
	idset_put(&c->trees, id, TREE_BUSY);
	if (ent == NULL) {
		report_missing(c, snap, path, "tree", id);
		goto bad;
	}
	if (ent->type != IDX_BLOB_TREE) {
		problem(c, CHECK_ERROR, ERR_CORRUPT, snap, FIX_TREE,
		    "%s: tree %.16s is indexed as a data blob", path, hex);
		goto bad;
	}
	if (c->byidx[ent->pack].lost) {
		c->lost_trees++;
		goto bad;
	}
	if (tree_load(c->tr, id, &d, &le) == -1) {
		/* le names the tree. */
		int damage = le.class == ERR_CORRUPT || le.sys_errno == ENOENT;

		problem(c, CHECK_ERROR, damage ? ERR_CORRUPT : le.class, snap,
		    damage ? FIX_TREE : FIX_IO, "%s: %s", path, le.msg);
		goto bad;
	}
	nodes = d.nodes;
	n = d.n;
	c->rep->stats.trees++;
	c->ntrees++;
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].type == FS_FILE) {
			if (check_file(c, snap, path, &nodes[i]))
				f->bad = 1;
		} else if (nodes[i].type == FS_DIR &&
		    (nodes[i].flags & FS_NODE_HAS_SUBTREE)) {
			f->kids = xreallocarray(f->kids, f->nkids + 1,
			    sizeof(*f->kids));
			memcpy(f->kids[f->nkids].id, nodes[i].subtree,
			    IDX_ID_LEN);
			f->kids[f->nkids].name = xstrdup(nodes[i].name);
			f->nkids++;
		}
	}
	tree_dir_clear(&d);
	return (0);
bad:
	idset_put(&c->trees, id, TREE_BAD);
	frame_clear(f);
	return (1);
}

/*
 * Every tree below root, each distinct tree once across all snapshots:
 * 0 when all of it is whole, 1 when something is missing or damaged,
 * -1 when the check must stop.
 */
static int
walk(struct ck *c, const char *snap, const uint8_t root[IDX_ID_LEN])
{
	struct frame *stack = NULL;
	size_t depth = 0, cap = 0;
	int rc = -1, bad = 0;

	switch (idset_get(&c->trees, root)) {
	case TREE_OK:
		return (0);
	case TREE_BAD:
		return (1);
	}
	cap = 16;
	stack = xcalloc(cap, sizeof(*stack));
	if (open_frame(c, snap, root, xstrdup("/"), &stack[0]) == 1) {
		rc = 1;
		goto out;
	}
	depth = 1;
	while (depth > 0) {
		struct frame *f = &stack[depth - 1];
		struct kid *k;
		char hex[REPO_HEX_LEN + 1];

		if (f->next == f->nkids) {
			int fbad = f->bad;

			idset_put(&c->trees, f->id, fbad ? TREE_BAD : TREE_OK);
			frame_clear(f);
			if (--depth > 0)
				stack[depth - 1].bad |= fbad;
			else
				bad = fbad;
			continue;
		}
		k = &f->kids[f->next++];
		switch (idset_get(&c->trees, k->id)) {
		case TREE_OK:
			continue;
		case TREE_BAD:
			f->bad = 1;
			continue;
		case TREE_BUSY:
			/* Only a forged tree can name one of its parents. */
			crypto_hex_encode(k->id, IDX_ID_LEN, hex);
			f->bad = 1;
			problem(c, CHECK_ERROR, ERR_CORRUPT, snap, FIX_TREE,
			    "%s: tree %.16s contains itself", f->path, hex);
			continue;
		}
		if (c->ntrees % CHECK_TICK_TREES == 0 && keep_going(c) == -1)
			goto out;
		if (depth == cap) {
			stack = xreallocarray(stack, cap * 2, sizeof(*stack));
			cap *= 2;
			f = &stack[depth - 1];
			k = &f->kids[f->next - 1];
		}
		if (open_frame(c, snap, k->id, path_join(f->path, k->name),
		        &stack[depth]) == 1)
			f->bad = 1;
		else
			depth++;
	}
	rc = bad;
out:
	while (depth > 0)
		frame_clear(&stack[--depth]);
	free(stack);
	return (rc);
}

static int
collect_name(void *arg, const char *name, uint64_t size)
{
	struct names *l = arg;

	(void)size;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(name);
	return (0);
}

static int
by_str(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
check_snapshots(struct ck *c)
{
	struct check_stats *s = &c->rep->stats;
	struct names l = c->snaps;
	int rc = -1;

	c->snaps.v = NULL;
	c->snaps.n = 0;
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_str);
	for (size_t i = 0; i < l.n; i++) {
		const char *base = l.v[i] + strlen("snapshots/");
		struct manifest m;
		struct err le;
		char when[32];
		int w;

		if (!is_hex(base, REPO_HEX_LEN)) {
			problem(c, CHECK_WARN, ERR_NONE, l.v[i], FIX_STRAY,
			    "not a snapshot file name (64 hex digits)");
			continue;
		}
		s->snapshots++;
		if (keep_going(c) == -1)
			goto out;
		if (manifest_load(c->r, base, &m, &le) == -1) {
			s->snapshots_damaged++;
			problem_err(c, l.v[i], FIX_SNAPSHOT, &le);
			continue;
		}
		c->lost_trees = c->lost_files = 0;
		w = walk(c, l.v[i], m.tree);
		if (w == 1) {
			char lost[160] = "";

			if (c->lost_trees + c->lost_files > 0)
				snprintf(lost, sizeof(lost),
				    "; blobs of %llu director%s and %llu "
				    "file%s are in packs that are missing or "
				    "truncated",
				    (unsigned long long)c->lost_trees,
				    c->lost_trees == 1 ? "y" : "ies",
				    (unsigned long long)c->lost_files,
				    c->lost_files == 1 ? "" : "s");
			s->snapshots_damaged++;
			manifest_time_str(&m, when, sizeof(when));
			problem(c, CHECK_ERROR, ERR_CORRUPT, l.v[i],
			    FIX_INCOMPLETE,
			    "snapshot of %s UTC from %s is incomplete: trees "
			    "or data it needs are missing or damaged (see "
			    "above)%s",
			    when, m.host ? m.host : "?", lost);
		}
		manifest_clear(&m);
		if (w == -1)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return (rc);
}

/*
 * log/: every record of the operations log must open and decode, as
 * 'coffer log' reads it; a damaged one is reported like a damaged
 * snapshot file.
 */
static int
log_file(void *arg, const char *name, uint64_t size)
{
	struct names *l = arg;

	(void)size;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(name);
	return (0);
}

static int
check_log(struct ck *c)
{
	struct check_stats *s = &c->rep->stats;
	struct names l = { NULL, 0 };
	int rc = -1;

	if (stor_list(c->st, OPLOG_DIR, log_file, &l, c->e) == -1)
		goto out;
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_str);
	for (size_t i = 0; i < l.n; i++) {
		const char *base = l.v[i] + strlen(OPLOG_DIR "/");
		struct oplog_rec rec;
		struct err le;

		if (!is_hex(base, REPO_HEX_LEN)) {
			problem(c, CHECK_WARN, ERR_NONE, l.v[i], FIX_STRAY,
			    "not a log record's name (64 hex digits)");
			continue;
		}
		s->log_records++;
		if (i % CHECK_TICK_TREES == 0 && keep_going(c) == -1)
			goto out;
		if (oplog_load(c->r, base, &rec, &le) == -1) {
			s->log_records_damaged++;
			problem_err(c, l.v[i], FIX_LOG, &le);
			continue;
		}
		oplog_rec_clear(&rec);
	}
	rc = 0;
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return (rc);
}

/* ----------------------------------------------------------- pack data */

/*
 * Bytes [off, off + n) of the pack into *p.  Requests must not go back
 * past the start of the previous one, nor leave a gap: then every byte is
 * read and hashed exactly once, in order.  -1 with le when the bytes
 * cannot be read.
 */
static int
seq_get(struct seqread *s, uint64_t off, size_t n, uint8_t **p, struct err *le)
{
	uint64_t have = s->start + s->len, want;
	size_t keep, more;

	if (off + n > have) {
		keep = (size_t)(have - off);
		if (keep > 0)
			memmove(s->buf, s->buf + (off - s->start), keep);
		want = n > CHECK_WINDOW ? n : CHECK_WINDOW;
		if (want > s->end - off)
			want = s->end - off;
		if (want > s->cap) {
			s->buf = xreallocarray(s->buf, (size_t)want, 1);
			s->cap = (size_t)want;
		}
		more = (size_t)want - keep;
		if (stor_get_range(s->c->st, s->name, have, more, s->buf + keep,
		        le) == -1)
			return (-1);
		crypto_sha256_update(s->sha, s->buf + keep, more);
		s->c->rep->stats.pack_bytes_read += more;
		progress_add(s->c->o->progress, more);
		s->start = off;
		s->len = (size_t)want;
	}
	*p = s->len > 0 ? s->buf + (off - s->start) : NULL;
	return (0);
}

/* A line about one blob of the pack being read; a few per pack. */
static void detail(struct ck *, enum check_severity, const char *name,
    const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
detail(struct ck *c, enum check_severity sev, const char *name, const char *fix,
    const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	if (sev == CHECK_ERROR)
		c->damaged = 1;
	if (c->detail >= CHECK_DETAIL_MAX) {
		c->detail_over++;
		return;
	}
	c->detail++;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	problem(c, sev, sev == CHECK_ERROR ? ERR_CORRUPT : ERR_NONE, name, fix,
	    "%s", what);
}

static const char *
type_name(unsigned t)
{
	return (t == IDX_BLOB_TREE ? "tree" : "data");
}

struct unmatched {
	struct ck *c;
	const struct pk *p;
	const char *name;
	const struct pack_blob *bl;
	size_t nbl;
};

static int
by_offset(const void *key, const void *elt)
{
	uint32_t off = *(const uint32_t *)key;
	const struct pack_blob *b = elt;

	return (off < b->offset ? -1 : off > b->offset);
}

/* An index entry for this pack that its header does not confirm. */
static int
find_unmatched(void *arg, const struct idx_entry *ent)
{
	struct unmatched *u = arg;
	const struct pack_blob *b;
	char hex[REPO_HEX_LEN + 1];

	if (ent->pack != u->p->num)
		return (0);
	b = bsearch(&ent->offset, u->bl, u->nbl, sizeof(*u->bl), by_offset);
	if (b != NULL && memcmp(b->id, ent->id, IDX_ID_LEN) == 0)
		return (0);
	crypto_hex_encode(ent->id, IDX_ID_LEN, hex);
	detail(u->c, CHECK_ERROR, u->name, FIX_INDEX,
	    "the index places blob %.16s at offset %u, but the pack's header "
	    "does not list it there",
	    hex, ent->offset);
	return (0);
}

/* Each blob the header lists: read, open, and compare with the index. */
struct blob_walk {
	struct ck *c;
	struct seqread *sr;
	const struct pk *p;
	const char *name;
	const struct pack_blob *bl;
	size_t nbl, next, done;
	uint64_t matched, unindexed;
	int unreadable, interrupted;
};

/* The next blob of the pack for repo_unseal_verify, and its index check. */
static int
next_blob(void *arg, uint8_t id[IDX_ID_LEN], uint8_t *type, uint32_t *raw,
    const uint8_t **sealed, size_t *len)
{
	struct blob_walk *w = arg;
	struct ck *c = w->c;
	const struct pack_blob *b;
	const struct idx_entry *ent;
	char hex[REPO_HEX_LEN + 1];
	uint8_t *data;
	struct err le;

	if (w->next == w->nbl)
		return (1);
	if (c->o->interrupted != NULL && *c->o->interrupted) {
		w->interrupted = 1;
		return (-1);
	}
	b = &w->bl[w->next];
	if (seq_get(w->sr, b->offset, b->length, &data, &le) == -1) {
		problem_err(c, w->name, FIX_PACK_DAMAGED, &le);
		w->unreadable = 1;
		return (-1);
	}
	w->next++;
	c->rep->stats.blobs_read++;
	memcpy(id, b->id, IDX_ID_LEN);
	*type = b->type;
	*raw = b->raw_length;
	*sealed = data;
	*len = b->length;
	if (w->p->num == NO_PACK)
		return (0);
	if ((ent = idx_find(c->idx, b->id)) == NULL) {
		w->unindexed++;
		return (0);
	}
	if (ent->pack != w->p->num || ent->offset != b->offset)
		return (0); /* another copy is the indexed one */
	w->matched++;
	if (ent->length != b->length || ent->raw_length != b->raw_length ||
	    ent->type != b->type) {
		crypto_hex_encode(b->id, IDX_ID_LEN, hex);
		detail(c, CHECK_ERROR, w->name, FIX_INDEX,
		    "blob %.16s: the index says %s, %u bytes (%u "
		    "raw), the pack's header %s, %u (%u)",
		    hex, type_name(ent->type), ent->length, ent->raw_length,
		    type_name(b->type), b->length, b->raw_length);
	}
	return (0);
}

/* The verdict on a blob, in pack order. */
static void
blob_done(void *arg, const uint8_t id[IDX_ID_LEN], const struct err *be)
{
	struct blob_walk *w = arg;
	const struct pack_blob *b = &w->bl[w->done++];
	char hex[REPO_HEX_LEN + 1];

	(void)id;
	if (be == NULL)
		return;
	crypto_hex_encode(b->id, IDX_ID_LEN, hex);
	detail(w->c, CHECK_ERROR, w->name, FIX_PACK_DAMAGED,
	    "blob %.16s (%s, offset %u, %u bytes): %s", hex, type_name(b->type),
	    b->offset, b->length, be->msg);
}

/*
 * Every blob of a pack: authenticated, decompressed and rehashed on the
 * reader threads, checked against the index here.  -1 when interrupted,
 * 1 when the pack could not be read to the end (reported), else 0.
 */
static int
check_blobs(struct ck *c, struct seqread *sr, const struct pk *p,
    const char *name, const struct pack_blob *bl, size_t nbl)
{
	struct blob_walk w;
	struct err le;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.sr = sr;
	w.p = p;
	w.name = name;
	w.bl = bl;
	w.nbl = nbl;
	if (repo_unseal_verify(c->r, next_blob, blob_done, &w, &le) == -1) {
		if (w.interrupted)
			return (err_set(c->e, ERR_INTERRUPTED,
			    "check interrupted"));
		if (w.unreadable)
			return (1);
		*c->e = le;
		return (-1);
	}
	if (w.unindexed > 0)
		problem(c, CHECK_WARN, ERR_NONE, name, FIX_UNINDEXED,
		    "%llu of its blobs are in no index file",
		    (unsigned long long)w.unindexed);
	if (p->num != NO_PACK && w.matched < p->nent) {
		struct unmatched u = { c, p, name, bl, nbl };

		(void)idx_foreach(c->idx, find_unmatched, &u);
	}
	return (0);
}

/* Read one pack whole and check everything in it. */
static int
check_pack_data(struct ck *c, const struct pk *p)
{
	struct seqread sr;
	uint8_t trailer[PACK_TRAILER_LEN], *box = NULL, *hplain = NULL;
	uint8_t hash[CRYPTO_HASH_LEN];
	struct pack_blob *bl = NULL;
	size_t nbl = 0, hn;
	uint64_t hdr_off = 0;
	uint32_t hdr_len = 0;
	char name[PACK_NAME_LEN + 1];
	struct err le;
	int layout = 0, rc = -1;

	repo_pack_name(p->id, name, sizeof(name));
	memset(&sr, 0, sizeof(sr));
	sr.c = c;
	sr.name = name;
	c->detail = c->detail_over = 0;
	c->damaged = 0;
	c->rep->stats.packs_read++;
	if ((sr.sha = crypto_sha256_new(c->e)) == NULL)
		goto out;
	/* The layout first (trailer, header), then every byte in order. */
	if (p->size < PACK_TRAILER_LEN)
		detail(c, CHECK_ERROR, name, FIX_PACK_DAMAGED,
		    "only %llu bytes: too short for a pack",
		    (unsigned long long)p->size);
	else if (stor_get_range(c->st, name, p->size - PACK_TRAILER_LEN,
	             PACK_TRAILER_LEN, trailer, &le) == -1)
		goto unreadable;
	else if (pack_trailer_parse(trailer, p->size, &hdr_off, &hdr_len,
	             &le) == -1)
		detail(c, CHECK_ERROR, name, FIX_PACK_DAMAGED, "%s", le.msg);
	else {
		box = xmalloc(hdr_len ? hdr_len : 1);
		if (stor_get_range(c->st, name, hdr_off, hdr_len, box, &le) ==
		    -1)
			goto unreadable;
		if (repo_pack_header_unseal(c->r, box, hdr_len, &hplain, &hn,
		        &le) == -1 ||
		    pack_header_decode(hplain, hn, hdr_off, &bl, &nbl, &le) ==
		        -1)
			detail(c, CHECK_ERROR, name, FIX_PACK_DAMAGED, "%s",
			    le.msg);
		else
			layout = 1;
	}
	if (layout) {
		sr.end = hdr_off;
		switch (check_blobs(c, &sr, p, name, bl, nbl)) {
		case -1:
			goto out;
		case 1:
			rc = 0; /* unreadable: reported, no verdict */
			goto out;
		}
		crypto_sha256_update(sr.sha, box, hdr_len);
		crypto_sha256_update(sr.sha, trailer, PACK_TRAILER_LEN);
		c->rep->stats.pack_bytes_read += hdr_len + PACK_TRAILER_LEN;
		progress_add(c->o->progress, hdr_len + PACK_TRAILER_LEN);
	} else {
		/* No usable header: still tell a damaged file by its hash. */
		sr.end = p->size;
		for (uint64_t off = 0; off < p->size; off += CHECK_WINDOW) {
			uint64_t n = p->size - off;

			uint8_t *ignored;

			if (seq_get(&sr, off,
			        n > CHECK_WINDOW ? CHECK_WINDOW : (size_t)n,
			        &ignored, &le) == -1)
				goto unreadable;
		}
	}
	crypto_sha256_final(sr.sha, hash);
	if (memcmp(hash, p->id, IDX_ID_LEN) != 0) {
		c->damaged = 1;
		problem(c, CHECK_ERROR, ERR_CORRUPT, name, FIX_PACK_DAMAGED,
		    "damaged: its bytes do not match its name (SHA-256)");
	}
	if (c->detail_over > 0)
		problem(c, CHECK_ERROR, ERR_CORRUPT, name, FIX_PACK_DAMAGED,
		    "and %u more problems with blobs in this pack",
		    c->detail_over);
	rc = 0;
	goto out;
unreadable:
	problem_err(c, name, FIX_PACK_DAMAGED, &le);
	rc = 0;
out:
	if (c->damaged)
		c->rep->stats.packs_damaged++;
	crypto_sha256_free(sr.sha);
	free(sr.buf);
	free(box);
	free(hplain);
	free(bl);
	return (rc);
}

static uint32_t
slice_of(const uint8_t *id, uint32_t slices)
{
	uint32_t v = (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 |
	    (uint32_t)id[2] << 8 | id[3];

	/* Slices are equal ranges of pack ids: stable as packs come. */
	return ((uint32_t)(((uint64_t)v * slices) >> 32));
}

/* Put the packs to read first in c->disk; their number in *n. */
static int
select_packs(struct ck *c, size_t *n)
{
	const struct check_opts *o = c->o;
	size_t k = 0;

	switch (o->data) {
	case CHECK_DATA_NONE: /* not called */
	case CHECK_DATA_ALL:
		k = c->ndisk;
		break;
	case CHECK_DATA_SLICE:
		for (size_t i = 0; i < c->ndisk; i++)
			if (slice_of(c->disk[i].id, o->slices) ==
			    o->slice - 1) {
				struct pk t = c->disk[k];

				c->disk[k++] = c->disk[i];
				c->disk[i] = t;
			}
		break;
	case CHECK_DATA_PERCENT: {
		double want = (double)c->ndisk * o->percent / 100.0;

		k = (size_t)want;
		if ((double)k < want)
			k++;
		if (k > c->ndisk)
			k = c->ndisk;
		/* The first k of a random permutation. */
		for (size_t i = 0; i < k; i++) {
			uint64_t rnd;
			size_t j;
			struct pk t;

			if (crypto_random(&rnd, sizeof(rnd), c->e) == -1)
				return (-1);
			j = i + (size_t)(rnd % (c->ndisk - i));
			t = c->disk[i];
			c->disk[i] = c->disk[j];
			c->disk[j] = t;
		}
		break;
	}
	}
	/* Read in name order: stable output, and kinder to disks. */
	if (k > 1)
		qsort(c->disk, k, sizeof(*c->disk), by_id);
	*n = k;
	return (0);
}

static int
check_data(struct ck *c)
{
	uint64_t total = 0;
	size_t n;

	if (select_packs(c, &n) == -1)
		return (-1);
	for (size_t i = 0; i < n; i++)
		if (!c->disk[i].short_)
			total += c->disk[i].size;
	progress_set_total(c->o->progress, total);
	for (size_t i = 0; i < n; i++) {
		/* A short pack is reported already; reading adds nothing. */
		if (c->disk[i].short_)
			continue;
		if (keep_going(c) == -1 ||
		    check_pack_data(c, &c->disk[i]) == -1)
			return (-1);
	}
	return (0);
}

/* ----------------------------------------------------------- the run */

int
check_run(struct repo *r, const struct check_opts *o, struct check_report **out,
    struct err *e)
{
	struct ck c;
	int rc = -1;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.r = r;
	c.tr = tree_reader_new(r);
	c.st = repo_store(r);
	c.idx = repo_index(r);
	c.o = o;
	c.e = e;
	c.rep = xcalloc(1, sizeof(*c.rep));
	check_keys(&c);
	/*
	 * Snapshots and packs are listed before the index files are read
	 * again: a concurrent snapshot publishes packs, then its index, then
	 * its manifest, so everything listed here is covered by an index
	 * loaded after (or is a pack whose index is still to come, reported
	 * as unindexed).
	 */
	if (stor_list(c.st, "snapshots", collect_name, &c.snaps, e) == -1 ||
	    stor_list(c.st, FORGET_DIR, forgotten_file, &c, e) == -1 ||
	    stor_list(c.st, PRUNE_DIR, prune_file, &c, e) == -1 ||
	    stor_list(c.st, "data", collect_pack, &c, e) == -1 ||
	    repo_index_refresh(r, e) == -1)
		goto out;
	if (check_indexes(&c) == -1 || check_packs(&c) == -1)
		goto out;
	check_locations(&c);
	if (keep_going(&c) == -1 || check_snapshots(&c) == -1 ||
	    check_log(&c) == -1)
		goto out;
	if (o->data != CHECK_DATA_NONE && check_data(&c) == -1)
		goto out;
	progress_done(o->progress);
	*out = c.rep;
	c.rep = NULL;
	rc = 0;
out:
	check_report_free(c.rep);
	tree_reader_free(c.tr);
	idset_free(&c.trees);
	idset_free(&c.missing);
	for (size_t i = 0; i < c.snaps.n; i++)
		free(c.snaps.v[i]);
	free(c.snaps.v);
	free(c.byidx);
	free(c.disk);
	return (rc);
}

void
check_report_free(struct check_report *rep)
{
	if (rep == NULL)
		return;
	for (size_t i = 0; i < rep->nproblems; i++) {
		free(rep->problems[i].file);
		free(rep->problems[i].what);
		free(rep->problems[i].fix);
	}
	free(rep->problems);
	free(rep);
}

int
check_report_exit_status(const struct check_report *rep)
{
	int status = EXIT_OK;

	for (size_t i = 0; i < rep->nproblems; i++) {
		const struct check_problem *p = &rep->problems[i];

		if (p->severity != CHECK_ERROR)
			continue;
		if (p->class == ERR_CORRUPT)
			return (EXIT_CORRUPT);
		if (status == EXIT_OK)
			status = err_exit_status(p->class);
	}
	return (status);
}

int
check_parse_subset(const char *arg, struct check_opts *o, struct err *e)
{
	size_t len = strlen(arg);
	char *end;

	if (len > 1 && arg[len - 1] == '%' &&
	    strspn(arg, "0123456789.") == len - 1) {
		double v = strtod(arg, &end);

		if (end == arg + len - 1 && v > 0 && v <= 100) {
			o->data = CHECK_DATA_PERCENT;
			o->percent = v;
			return (0);
		}
	} else if (strchr(arg, '/') != NULL &&
	    strspn(arg, "0123456789/") == len && arg[0] != '/') {
		unsigned long k, n;

		k = strtoul(arg, &end, 10);
		if (*end == '/' && end[1] >= '0' && end[1] <= '9') {
			n = strtoul(end + 1, &end, 10);
			if (*end == '\0' && k >= 1 && k <= n && n <= 1000000) {
				o->data = CHECK_DATA_SLICE;
				o->slice = (uint32_t)k;
				o->slices = (uint32_t)n;
				return (0);
			}
		}
	}
	return (err_set(e, ERR_USAGE,
	    "--read-data-subset takes N%% (0 < N <= 100, e.g. 5%% or 2.5%%) "
	    "or K/N (slice K of N by pack id, 1 <= K <= N <= 1000000), not "
	    "'%s'",
	    arg));
}
