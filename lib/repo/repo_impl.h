/*
 * Private to lib/repo/repo*.c: struct repo and the helpers its files share.
 * The public contract is repo.h; nothing outside lib/repo/repo*.c includes
 * this file.
 */
#ifndef COFFER_REPO_IMPL_H
#define COFFER_REPO_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "repo/repo.h"

#define PACK_HDR_AAD "coffer pack header 1"

/* Names from stor_list, gathered by repo_collect_name. */
struct name_list {
	char **names;
	size_t n, cap;
};

struct sealer;
struct rctx;
struct repo_ahead;
struct repo_pf;
struct wq;

struct repo {
	struct stor *st;
	struct key_master *master;
	char id[REPO_HEX_LEN + 1];
	char key_id[REPO_HEX_LEN + 1];
	struct chunker_params cp;
	uint64_t gear[CHUNKER_GEAR_SIZE];
	int level;
	int put_level; /* repo_set_compression; 0: level */
	uint32_t pack_size;
	int verify;

	struct crypto_hmac *idmac;
	struct crypto_aead *blob_aead, *file_aead;
	struct compress *cz;

	struct idx *idx;     /* every blob in a written pack */
	struct idx *pending; /* blobs in the pack being filled */
	uint32_t unindexed;  /* first pack number not yet in an index file */
	struct pack_writer *pw;

	/* Index file names read (used or left out) or written, sorted. */
	struct name_list idx_seen;
	struct repo_bad_file *bad_idx; /* index files left out */
	size_t nbad_idx;
	struct repo_bad_file *misnamed_idx; /* used, but renamed */
	size_t nmisnamed_idx;

	struct lock *lock;            /* NULL when opened without one */
	struct sealer *inline_sealer; /* used when there are no workers */
	struct opool *pool;           /* compress+seal+verify workers */
	struct opool *rpool;          /* read-ahead for repo_blobs_read */
	struct sealer **sealers;      /* one per sealing worker */
	struct rctx *rctx;            /* one per reader */
	size_t nsealers, nrctx;
	/* Blobs announced by repo_read_ahead and not yet in rpool, FIFO. */
	struct repo_ahead *ahead;
	size_t ahead_head, nahead;
	size_t nring;       /* blobs in rpool's jobs not yet handed on */
	struct repo_pf *pf; /* repo_prefetch's threads and slots */
	struct wq *wq;      /* packs on their way to the store */
	int nworkers;       /* -1: as many as CPUs */
	struct repo_stats stats;

	/* Prune's guard for writers (repo_prune_guard_*), per pack number
	 * of idx: REPO_PK_* bits. */
	uint8_t *pk;
	size_t npk;
	int guard_begun;
	struct timespec guard_t0;        /* CLOCK_BOOTTIME of the last check */
	const struct oplog_actor *actor; /* repo_set_actor; NULL: none */
};

#define REPO_PK_GONE 0x1 /* a prune candidate when the guard began */
#define REPO_PK_USED 0x2 /* a blob of it was reused (deduplicated) */
#define REPO_PK_OWN  0x4 /* written by this instance */

/* Set bits on pack number pack's guard state (growing the array). */
void repo_pk_set(struct repo *, uint32_t pack, uint8_t bits);
/* The guard state of pack number pack (0 when never set). */
uint8_t repo_pk_get(const struct repo *, uint32_t pack);

int repo_collect_name(void *, const char *, uint64_t);
void repo_name_list_free(struct name_list *);
/* Note an index file this instance wrote: repo_index_refresh skips it. */
void repo_idx_seen_add(struct repo *, const char *name);

/* *buf holds at least need bytes (old contents are not kept). */
void repo_grow(uint8_t **buf, size_t *cap, size_t need);

/* Worker threads when the caller did not choose: the CPUs online. */
size_t repo_default_workers(void);

/* Teardown of the write pipeline (repo_write.c) and readers (repo_read.c). */
void repo_sealer_free(struct sealer *);
void repo_sealers_free(struct repo *);
void repo_wq_free(struct wq *);
void repo_readers_free(struct repo *);

#endif
