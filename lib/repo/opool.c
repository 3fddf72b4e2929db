/*
 * Ordered worker pool: a ring with a mutex and two conditions.  Slots past
 * head + count belong to the owner alone, so it fills them unlocked.
 */
#include "repo/opool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "xmalloc.h"

enum { SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE };

struct opool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	uint8_t *jobs;
	int *state;
	size_t job_size, cap, head, count, claimed;
	int stop;
	void (*fn)(void *, void *);
	pthread_t *th;
	size_t nth;
};

struct start {
	struct opool *p;
	void *ctx;
};

static void *
run(void *arg)
{
	struct start st = *(struct start *)arg;
	struct opool *p = st.p;

	free(arg);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t slot;

		while (!p->stop && p->claimed == p->count)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		slot = (p->head + p->claimed++) % p->cap;
		p->state[slot] = SLOT_RUNNING;
		pthread_mutex_unlock(&p->mu);
		p->fn(st.ctx, p->jobs + slot * p->job_size);
		pthread_mutex_lock(&p->mu);
		p->state[slot] = SLOT_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return (NULL);
}

struct opool *
opool_new(size_t nth, size_t cap, size_t job_size, void (*fn)(void *, void *),
    void *const *ctxs, struct err *e)
{
	struct opool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->jobs = xcalloc(cap, job_size);
	p->state = xcalloc(cap, sizeof(*p->state));
	p->job_size = job_size;
	p->cap = cap;
	p->fn = fn;
	p->th = xcalloc(nth, sizeof(*p->th));
	for (size_t i = 0; i < nth; i++) {
		struct start *st = xmalloc(sizeof(*st));

		st->p = p;
		st->ctx = ctxs[i];
		if (pthread_create(&p->th[i], NULL, run, st) != 0) {
			free(st);
			opool_free(p, NULL);
			err_set(e, ERR_INTERNAL,
			    "cannot start a worker thread");
			return (NULL);
		}
		p->nth++;
	}
	return (p);
}

void
opool_free(struct opool *p, void (*cleanup)(void *))
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	for (size_t i = 0; cleanup != NULL && i < p->cap; i++)
		cleanup(p->jobs + i * p->job_size);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p->jobs);
	free(p->state);
	free(p->th);
	free(p);
}

size_t
opool_count(const struct opool *p)
{
	return (p->count);
}

size_t
opool_cap(const struct opool *p)
{
	return (p->cap);
}

void *
opool_at(struct opool *p, size_t k)
{
	return (p->jobs + ((p->head + k) % p->cap) * p->job_size);
}

void
opool_push(struct opool *p)
{
	pthread_mutex_lock(&p->mu);
	p->state[(p->head + p->count) % p->cap] = SLOT_QUEUED;
	p->count++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void *
opool_head(struct opool *p, int wait)
{
	void *job = NULL;

	pthread_mutex_lock(&p->mu);
	while (p->count > 0 && p->state[p->head] != SLOT_DONE && wait)
		pthread_cond_wait(&p->done, &p->mu);
	if (p->count > 0 && p->state[p->head] == SLOT_DONE)
		job = p->jobs + p->head * p->job_size;
	pthread_mutex_unlock(&p->mu);
	return (job);
}

void
opool_pop(struct opool *p)
{
	pthread_mutex_lock(&p->mu);
	p->head = (p->head + 1) % p->cap;
	p->count--;
	p->claimed--;
	pthread_mutex_unlock(&p->mu);
}
