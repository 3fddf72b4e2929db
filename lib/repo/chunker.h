/*
 * Content-defined chunking (FastCDC-style gear hash with normalized
 * chunking): splits a byte stream into chunks whose boundaries depend on the
 * content, so an insertion moves only the chunks around it.  The exact
 * algorithm is part of the on-disk format: doc/FORMAT.md, "Chunking".
 */
#ifndef COFFER_REPO_CHUNKER_H
#define COFFER_REPO_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Entries in a gear table. */
#define CHUNKER_GEAR_SIZE 256

/* Bounds that chunker_params_check enforces. */
#define CHUNKER_MIN_FLOOR 64u         /* min_size >= the hash window */
#define CHUNKER_AVG_FLOOR 256u        /* avg_size >= this */
#define CHUNKER_MAX_CEIL  (64u << 20) /* max_size <= 64 MiB */
#define CHUNKER_NORM_MAX  3u          /* norm_level in 0..3 */

/*
 * What a repository stores in its config.  Sizes in bytes.  Valid when
 * CHUNKER_MIN_FLOOR <= min_size < avg_size < max_size <= CHUNKER_MAX_CEIL,
 * avg_size is a power of two >= CHUNKER_AVG_FLOOR, and norm_level <=
 * CHUNKER_NORM_MAX.  norm_level is how many bits stricter the cut test is
 * below avg_size and how many looser above it (0: one test throughout).
 */
struct chunker_params {
	uint32_t min_size;
	uint32_t avg_size;
	uint32_t max_size;
	uint32_t norm_level;
};

struct chunker;

/*
 * The parameters a new repository gets unless told otherwise: min 64 KiB,
 * avg 256 KiB, max 1 MiB, norm_level 2, chosen by measurement on the
 * benchmark corpus (bench/RESULTS.md: a day of changes adds half of what
 * 1 MiB chunks add, the initial repository is no larger).  An existing
 * repository keeps the values in its config.
 */
void chunker_params_default(struct chunker_params *);

/*
 * Check parameters a person chose (coffer init options).  Fails with
 * ERR_USAGE and a message naming the bad value and the rule it breaks.
 */
int chunker_params_check(const struct chunker_params *, struct err *);

/*
 * A chunker for params and the gear table (CHUNKER_GEAR_SIZE entries,
 * derived from the repository secret by the caller; copied, and wiped on
 * free).  params come from a repository config, which init writes only
 * after chunker_params_check passed: invalid values here mean a damaged or
 * foreign config, so this fails with ERR_CORRUPT (same message otherwise)
 * and returns NULL.  The new chunker is at the start of a chunk.
 */
struct chunker *chunker_new(const struct chunker_params *, const uint64_t *gear,
    struct err *);

/* Wipe and free; NULL is fine. */
void chunker_free(struct chunker *);

/*
 * Forget the current chunk: the next byte scanned starts a new one.  Call
 * it before each file (a file always starts a new chunk) or to abandon a
 * stream; chunker_finish already does it.
 */
void chunker_reset(struct chunker *);

/*
 * Scan up to n bytes of the stream at p (n may be 0; any split of the
 * stream into calls gives the same boundaries).  Returns how many of them,
 * from p on, belong to the current chunk.  *cut is set to 1 when the chunk
 * ends right after them (the chunker is then at the start of the next
 * chunk: call again with p + ret, n - ret), else to 0 and all n bytes were
 * consumed.  A cut chunk holds at least min_size and at most max_size
 * bytes.  Allocates nothing.
 */
size_t chunker_scan(struct chunker *, const uint8_t *p, size_t n, int *cut);

/*
 * End of the stream: returns the length of the last chunk, the bytes
 * scanned since the last cut (0 when the stream was empty or ended on a
 * cut: then there is no last chunk), which may be shorter than min_size.
 * Resets the chunker for the next stream.
 */
size_t chunker_finish(struct chunker *);

#endif
