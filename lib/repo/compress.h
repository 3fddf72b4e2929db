/*
 * Per-blob compression with zstd (the only zstd user): a blob is stored as
 * one zstd frame when that is smaller, else raw.  Decompression never
 * produces, or allocates, more than a bound the caller trusts, whatever
 * the frame claims.  doc/FORMAT.md, "Blob encoding".
 */
#ifndef COFFER_REPO_COMPRESS_H
#define COFFER_REPO_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * The levels users choose from (command line, config): 1 (fastest) to 19;
 * 20..22 need too much memory.  compress_new also takes zstd's negative
 * levels, which a repository's config may hold.
 */
#define COMPRESS_LEVEL_DEFAULT 3
#define COMPRESS_LEVEL_MIN     1
#define COMPRESS_LEVEL_MAX     19

/*
 * The level text s names (decimal) into *level when it is one users may
 * choose, COMPRESS_LEVEL_MIN..COMPRESS_LEVEL_MAX; else ERR_USAGE "'S' is
 * not a zstd level (1-19)", the wording of the config's check, for the
 * caller to put the option in front of.
 */
int compress_level_parse(const char *s, int *level, struct err *);

/* How a blob body is stored; the values are part of the format. */
enum compress_method {
	COMPRESS_RAW = 0,  /* the bytes themselves */
	COMPRESS_ZSTD = 1, /* one zstd frame with its content size */
};

/* zstd contexts for one thread, reused across blobs. */
struct compress;

/*
 * Contexts compressing at level (zstd's: negative levels are faster and
 * weaker, 1..COMPRESS_LEVEL_MAX; 0 means COMPRESS_LEVEL_DEFAULT).  Another
 * level fails with ERR_USAGE.
 */
struct compress *compress_new(int level, struct err *);
void compress_free(struct compress *); /* NULL is fine */

/* Compress at another level from now on (as compress_new checks it). */
int compress_set_level(struct compress *, int level, struct err *);

/*
 * Compress n bytes at src into dst, which has room for n bytes (more is
 * never needed: only a smaller result is kept).  On success *method is
 * COMPRESS_ZSTD and *outlen (< n) the frame's length, or COMPRESS_RAW
 * when zstd did not shrink the data (always so for n == 0): then dst holds
 * nothing of use and the caller stores src itself.  Fails (ERR_INTERNAL)
 * only on a zstd failure other than "did not fit".
 */
int compress_encode(struct compress *, const void *src, size_t n, void *dst,
    size_t *outlen, enum compress_method *method, struct err *);

/*
 * Decompress src, which must be exactly one zstd frame (no skippable
 * frames, nothing after it), into dst, which holds cap bytes: the most
 * the caller accepts.  A frame that declares or produces more than cap, a
 * truncated or damaged frame, or trailing bytes fail with ERR_CORRUPT.
 * *outlen gets the decompressed length.  Memory use does not depend on
 * src.
 */
int compress_decode(struct compress *, const void *src, size_t n, void *dst,
    size_t cap, size_t *outlen, struct err *);

/*
 * Like compress_decode into a buffer it allocates: as large as the frame
 * declares when that is at most bound, bound when the frame does not
 * say.  On success *out (free with free(), or freezero for secrets) holds
 * *outlen bytes; on failure *out is NULL.
 */
int compress_decode_alloc(struct compress *, const void *src, size_t n,
    size_t bound, uint8_t **out, size_t *outlen, struct err *);

/*
 * Check src as compress_decode does before it decompresses (exactly one
 * zstd frame, nothing after it) and give the length its header declares
 * in *declared, or COMPRESS_UNDECLARED when the frame does not say.
 * Nothing is decompressed: a frame whose blocks are damaged passes.
 */
#define COMPRESS_UNDECLARED UINT64_MAX
int compress_declared(const void *src, size_t n, uint64_t *declared,
    struct err *);

/* The zstd library in use, e.g. "1.5.4". */
const char *compress_version(void);

#endif
