/*
 * Blob index: an array of locations plus an open-addressing hash table of
 * the position of each id's first location; the others follow it in a
 * chain.  Blob ids are keyed hashes, so their first eight bytes are
 * already uniformly distributed and need no further hashing.
 */
#include "idx.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define IDX_MAGIC     "CFIX"
#define IDX_VERSION   1
#define IDX_HDR_LEN   8  /* magic, version, 3 reserved zero bytes */
#define IDX_PACK_HDR  36 /* pack id, blob count */
#define IDX_ENTRY_LEN 45 /* type, id, offset, length, raw length */

struct idx {
	struct idx_entry *ents;
	uint32_t *next; /* position + 1 of the id's next location; 0: none */
	size_t nents, ents_cap, nids;
	uint32_t *table; /* position + 1 of an id's first location; 0 = empty */
	size_t table_cap; /* a power of two */
	uint8_t (*packs)[IDX_ID_LEN];
	uint32_t npacks, packs_cap;
	uint32_t *pack_table; /* pack number + 1; 0 = empty */
	size_t pack_table_cap;
};

static uint64_t
id_hash(const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return (h);
}

struct idx *
idx_new(void)
{
	struct idx *x = xcalloc(1, sizeof(*x));

	x->table_cap = 1024;
	x->table = xcalloc(x->table_cap, sizeof(*x->table));
	x->pack_table_cap = 64;
	x->pack_table = xcalloc(x->pack_table_cap, sizeof(*x->pack_table));
	return (x);
}

void
idx_free(struct idx *x)
{
	if (x == NULL)
		return;
	free(x->ents);
	free(x->next);
	free(x->table);
	free(x->packs);
	free(x->pack_table);
	free(x);
}

/* Slot of id in a table of positions into base (stride bytes apart). */
static size_t
probe(const uint32_t *table, size_t cap, const uint8_t *id, const void *base,
    size_t stride)
{
	size_t mask = cap - 1, i = (size_t)id_hash(id) & mask;

	for (;; i = (i + 1) & mask) {
		const uint8_t *cand;

		if (table[i] == 0)
			return (i);
		cand = (const uint8_t *)base + (size_t)(table[i] - 1) * stride;
		if (memcmp(cand, id, IDX_ID_LEN) == 0)
			return (i);
	}
}

static void
rehash(uint32_t **table, size_t *cap, size_t n, const void *base, size_t stride)
{
	size_t newcap = *cap * 2;
	uint32_t *t = xcalloc(newcap, sizeof(*t));

	/* In order, so an id's first position is the one that stays. */
	for (size_t k = 0; k < n; k++) {
		const uint8_t *id = (const uint8_t *)base + k * stride;
		size_t slot = probe(t, newcap, id, base, stride);

		if (t[slot] == 0)
			t[slot] = (uint32_t)(k + 1);
	}
	free(*table);
	*table = t;
	*cap = newcap;
}

uint32_t
idx_pack_add(struct idx *x, const uint8_t pack_id[IDX_ID_LEN])
{
	size_t slot;

	slot = probe(x->pack_table, x->pack_table_cap, pack_id, x->packs,
	    IDX_ID_LEN);
	if (x->pack_table[slot] != 0)
		return (x->pack_table[slot] - 1);
	if (x->npacks == x->packs_cap) {
		x->packs_cap = x->packs_cap ? x->packs_cap * 2 : 64;
		x->packs = xreallocarray(x->packs, x->packs_cap, IDX_ID_LEN);
	}
	memcpy(x->packs[x->npacks], pack_id, IDX_ID_LEN);
	x->pack_table[slot] = ++x->npacks;
	if ((size_t)x->npacks * 10 > x->pack_table_cap * 7)
		rehash(&x->pack_table, &x->pack_table_cap, x->npacks, x->packs,
		    IDX_ID_LEN);
	return (x->npacks - 1);
}

uint32_t
idx_pack_count(const struct idx *x)
{
	return (x->npacks);
}

const uint8_t *
idx_pack_id(const struct idx *x, uint32_t pack)
{
	return (pack < x->npacks ? x->packs[pack] : NULL);
}

int
idx_add(struct idx *x, const struct idx_entry *e)
{
	size_t slot, pos, tail = 0;
	int known;

	slot = probe(x->table, x->table_cap, e->id, x->ents, sizeof(*e));
	if ((known = x->table[slot] != 0)) {
		/* Walk to the chain's end; a known location is not added. */
		for (uint32_t p = x->table[slot]; p != 0; p = x->next[p - 1]) {
			const struct idx_entry *o = &x->ents[p - 1];

			if (o->pack == e->pack && o->offset == e->offset)
				return (1);
			tail = p - 1;
		}
	}
	if (x->nents == x->ents_cap) {
		x->ents_cap = x->ents_cap ? x->ents_cap * 2 : 1024;
		x->ents = xreallocarray(x->ents, x->ents_cap, sizeof(*e));
		x->next = xreallocarray(x->next, x->ents_cap, sizeof(*x->next));
	}
	pos = x->nents++;
	x->ents[pos] = *e;
	x->next[pos] = 0;
	if (known) {
		x->next[tail] = (uint32_t)(pos + 1);
		return (1);
	}
	x->table[slot] = (uint32_t)(pos + 1);
	x->nids++;
	if (x->nids * 10 > x->table_cap * 7)
		rehash(&x->table, &x->table_cap, x->nents, x->ents, sizeof(*e));
	return (0);
}

const struct idx_entry *
idx_find(const struct idx *x, const uint8_t id[IDX_ID_LEN])
{
	size_t slot = probe(x->table, x->table_cap, id, x->ents,
	    sizeof(struct idx_entry));

	return (x->table[slot] ? &x->ents[x->table[slot] - 1] : NULL);
}

const struct idx_entry *
idx_find_next(const struct idx *x, const struct idx_entry *ent)
{
	uint32_t n = x->next[ent - x->ents];

	return (n ? &x->ents[n - 1] : NULL);
}

size_t
idx_count(const struct idx *x)
{
	return (x->nids);
}

size_t
idx_locations(const struct idx *x)
{
	return (x->nents);
}

int
idx_foreach(const struct idx *x, int (*fn)(void *, const struct idx_entry *),
    void *arg)
{
	int rc;

	for (size_t i = 0; i < x->nents; i++)
		if ((rc = fn(arg, &x->ents[i])) != 0)
			return (rc);
	return (0);
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	return (p + 4);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

void
idx_encode(const struct idx *x, uint32_t from, uint32_t to, uint8_t **out,
    size_t *outlen)
{
	uint32_t npk, *count = NULL, *start = NULL, *order = NULL;
	uint8_t *buf, *p;
	size_t nsel = 0;

	if (to > x->npacks)
		to = x->npacks;
	if (from > to)
		from = to;
	npk = to - from;
	/* Counting sort of the selected entries by pack. */
	count = xcalloc((size_t)npk + 1, sizeof(*count));
	for (size_t i = 0; i < x->nents; i++)
		if (x->ents[i].pack >= from && x->ents[i].pack < to) {
			count[x->ents[i].pack - from]++;
			nsel++;
		}
	start = xcalloc((size_t)npk + 1, sizeof(*start));
	for (uint32_t k = 1; k <= npk; k++)
		start[k] = start[k - 1] + count[k - 1];
	order = xcalloc(nsel + 1, sizeof(*order));
	for (size_t i = 0; i < x->nents; i++)
		if (x->ents[i].pack >= from && x->ents[i].pack < to)
			order[start[x->ents[i].pack - from]++] = (uint32_t)i;

	*outlen =
	    IDX_HDR_LEN + (size_t)npk * IDX_PACK_HDR + nsel * IDX_ENTRY_LEN;
	p = buf = xmalloc(*outlen);
	memcpy(p, IDX_MAGIC, 4);
	p[4] = IDX_VERSION;
	p[5] = p[6] = p[7] = 0;
	p += IDX_HDR_LEN;
	for (uint32_t k = 0, pos = 0; k < npk; k++) {
		memcpy(p, x->packs[from + k], IDX_ID_LEN);
		p = put32(p + IDX_ID_LEN, count[k]);
		for (uint32_t j = 0; j < count[k]; j++, pos++) {
			const struct idx_entry *e = &x->ents[order[pos]];

			*p++ = e->type;
			memcpy(p, e->id, IDX_ID_LEN);
			p = put32(p + IDX_ID_LEN, e->offset);
			p = put32(p, e->length);
			p = put32(p, e->raw_length);
		}
	}
	free(count);
	free(start);
	free(order);
	*out = buf;
}

int
idx_decode(struct idx *x, const uint8_t *p, size_t len, struct err *e)
{
	const uint8_t *end = p + len;

	if (len < IDX_HDR_LEN || memcmp(p, IDX_MAGIC, 4) != 0)
		return (err_set(e, ERR_CORRUPT, "index: not an index file"));
	if (p[4] != IDX_VERSION)
		return (err_set(e, ERR_CORRUPT,
		    "index: format version %u is not supported (this coffer "
		    "reads version %u)",
		    p[4], IDX_VERSION));
	for (p += IDX_HDR_LEN; p < end;) {
		uint32_t n, pack;

		if ((size_t)(end - p) < IDX_PACK_HDR)
			return (err_set(e, ERR_CORRUPT,
			    "index: truncated pack header"));
		n = get32(p + IDX_ID_LEN);
		if ((size_t)(end - p - IDX_PACK_HDR) / IDX_ENTRY_LEN < n)
			return (err_set(e, ERR_CORRUPT,
			    "index: pack lists %u blobs but the file ends "
			    "early",
			    n));
		pack = idx_pack_add(x, p);
		p += IDX_PACK_HDR;
		for (uint32_t j = 0; j < n; j++, p += IDX_ENTRY_LEN) {
			struct idx_entry ent;

			if (p[0] != IDX_BLOB_DATA && p[0] != IDX_BLOB_TREE)
				return (err_set(e, ERR_CORRUPT,
				    "index: unknown blob type %u", p[0]));
			ent.type = p[0];
			memcpy(ent.id, p + 1, IDX_ID_LEN);
			ent.pack = pack;
			ent.offset = get32(p + 1 + IDX_ID_LEN);
			ent.length = get32(p + 5 + IDX_ID_LEN);
			ent.raw_length = get32(p + 9 + IDX_ID_LEN);
			if ((uint64_t)ent.offset + ent.length > UINT32_MAX)
				return (err_set(e, ERR_CORRUPT,
				    "index: blob extends past 4 GiB in its "
				    "pack"));
			(void)idx_add(x, &ent);
		}
	}
	return (0);
}
