/*
 * An ordered worker pool: jobs go into a ring in order, worker threads run
 * them in any order, and the owner takes them out in the order they went
 * in.  The repository's sealers and readers are both such pools.  Only the
 * owner thread calls these functions; workers only run fn.
 */
#ifndef COFFER_OPOOL_H
#define COFFER_OPOOL_H

#include <stddef.h>

#include "err.h"

struct opool;

/*
 * nth threads, each running fn(ctxs[i], job) on the jobs it takes, in a
 * ring of cap jobs of job_size bytes each (zeroed at first; slots are
 * reused, so buffers a job keeps can be reused too).
 */
struct opool *opool_new(size_t nth, size_t cap, size_t job_size,
    void (*fn)(void *ctx, void *job), void *const *ctxs, struct err *);

/*
 * Stop the threads (after the jobs they are running), then call cleanup
 * (may be NULL) on every slot, to free what jobs hold, and free the pool.
 */
void opool_free(struct opool *, void (*cleanup)(void *job));

/* Jobs in the ring (queued, running or done but not yet taken out). */
size_t opool_count(const struct opool *);
size_t opool_cap(const struct opool *);

/*
 * The k-th slot from the oldest job (k < cap): k < count is a job in the
 * ring (read only while it may run), k == count is the free slot the next
 * opool_push makes a job of.
 */
void *opool_at(struct opool *, size_t k);

/* The slot at opool_at(count) becomes a job; count < cap. */
void opool_push(struct opool *);

/* The oldest job once done (waiting for it with wait), else NULL. */
void *opool_head(struct opool *, int wait);

/* Take the oldest job, which is done, out of the ring. */
void opool_pop(struct opool *);

#endif
