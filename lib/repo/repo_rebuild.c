/*
 * rebuild-index: new index files from the headers of the packs.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "repo/compress.h"
#include "repo/lock.h"
#include "repo/oplog.h"
#include "repo/opool.h"
#include "repo/pack.h"
#include "repo/repo.h"
#include "repo/repo_impl.h"
#include "xmalloc.h"

struct pack_ent {
	char *name;
	uint64_t size;
};

struct pack_list {
	struct pack_ent *v;
	size_t n;
};

static int
collect_pack(void *arg, const char *name, uint64_t size)
{
	struct pack_list *l = arg;

	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].name = xstrdup(name);
	l->v[l->n].size = size;
	l->n++;
	return (0);
}

/* Add the blobs of one pack, read from its own header, to x. */
static int
index_pack(struct repo *r, struct idx *x, const struct pack_ent *p,
    size_t *nblobs, struct err *e)
{
	uint8_t trailer[PACK_TRAILER_LEN], id[IDX_ID_LEN], *box = NULL;
	uint8_t *plain = NULL;
	struct pack_blob *bl = NULL;
	const char *hex = strrchr(p->name, '/');
	size_t nbl = 0, pn;
	uint64_t off;
	uint32_t len;
	int rc = -1;

	if (hex == NULL || strlen(hex + 1) != REPO_HEX_LEN ||
	    crypto_hex_decode(hex + 1, REPO_HEX_LEN, id, IDX_ID_LEN, e) == -1) {
		err_set(e, ERR_CORRUPT, "%s: not a pack name", p->name);
		goto out;
	}
	if (p->size < PACK_TRAILER_LEN) {
		err_set(e, ERR_CORRUPT, "%s: too short for a pack", p->name);
		goto out;
	}
	if (stor_get_range(r->st, p->name, p->size - PACK_TRAILER_LEN,
	        PACK_TRAILER_LEN, trailer, e) == -1 ||
	    pack_trailer_parse(trailer, p->size, &off, &len, e) == -1)
		goto out;
	box = xmalloc(len ? len : 1);
	if (stor_get_range(r->st, p->name, off, len, box, e) == -1 ||
	    repo_pack_header_unseal(r, box, len, &plain, &pn, e) == -1 ||
	    pack_header_decode(plain, pn, off, &bl, &nbl, e) == -1)
		goto out;
	{
		uint32_t num = idx_pack_add(x, id);

		for (size_t i = 0; i < nbl; i++) {
			struct idx_entry ent;

			memcpy(ent.id, bl[i].id, IDX_ID_LEN);
			ent.pack = num;
			ent.offset = bl[i].offset;
			ent.length = bl[i].length;
			ent.raw_length = bl[i].raw_length;
			ent.type = bl[i].type;
			(void)idx_add(x, &ent);
		}
	}
	*nblobs += nbl;
	rc = 0;
out:
	if (rc == -1)
		err_wrap(e, "%s", p->name);
	free(box);
	free(plain);
	free(bl);
	return (rc);
}

/* The operations log's record of a rebuild, done or failed. */
static void
record(struct repo *r, const struct repo_rebuild_stats *st,
    const struct err *failure)
{
	struct oplog_count c[] = {
		{ "packs", st->packs },
		{ "packs_damaged", st->packs_bad },
		{ "blobs", st->blobs },
		{ "index_written", st->index_written },
		{ "index_removed", st->index_removed },
	};
	struct oplog_entry ent;

	memset(&ent, 0, sizeof(ent));
	ent.op = OPLOG_REBUILD_INDEX;
	ent.failure = failure;
	ent.counts = c;
	ent.ncounts = sizeof(c) / sizeof(c[0]);
	oplog_record(r, &ent);
}

int
repo_rebuild_index(struct repo *r, struct repo_rebuild_stats *st, struct err *e)
{
	struct pack_list packs = { NULL, 0 };
	struct name_list old = { NULL, 0, 0 };
	char(*written)[REPO_HEX_LEN + 1] = NULL;
	struct idx *x = idx_new();
	uint32_t np;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (stor_list(r->st, "index", repo_collect_name, &old, e) == -1 ||
	    stor_list(r->st, "data", collect_pack, &packs, e) == -1)
		goto out;
	for (size_t i = 0; i < packs.n; i++) {
		struct err pe;

		if (index_pack(r, x, &packs.v[i], &st->blobs, &pe) == 0) {
			st->packs++;
			continue;
		}
		if (pe.class != ERR_CORRUPT) {
			*e = pe;
			goto out;
		}
		/* A damaged pack is left out; its blobs are lost anyway. */
		if (st->packs_bad++ == 0)
			snprintf(st->first_bad, sizeof(st->first_bad), "%s",
			    pe.msg);
	}
	/* New index files first, 2,000 packs each, then the old ones go. */
	np = idx_pack_count(x);
	written = xcalloc((size_t)np / 2000 + 1, sizeof(*written));
	for (uint32_t from = 0; from < np; from += 2000) {
		uint32_t to = np - from > 2000 ? from + 2000 : np;
		uint8_t *plain;
		size_t n;
		int prc;

		idx_encode(x, from, to, &plain, &n);
		prc = repo_file_put(r, "index", plain, n,
		    written[st->index_written], e);
		free(plain);
		if (prc == -1 && e->sys_errno != EEXIST)
			goto out;
		st->index_written++;
	}
	for (size_t i = 0; i < old.n; i++) {
		int keep = 0;

		for (size_t k = 0; k < st->index_written; k++)
			if (strcmp(old.names[i] + strlen("index/"),
			        written[k]) == 0)
				keep = 1;
		if (keep)
			continue;
		if (stor_remove(r->st, old.names[i], e) == -1)
			goto out;
		st->index_removed++;
	}
	idx_free(r->idx);
	r->idx = x;
	x = NULL;
	r->unindexed = idx_pack_count(r->idx);
	rc = 0;
out:
	record(r, st, rc == -1 ? e : NULL);
	idx_free(x);
	free(written);
	for (size_t i = 0; i < packs.n; i++)
		free(packs.v[i].name);
	free(packs.v);
	repo_name_list_free(&old);
	return (rc);
}
