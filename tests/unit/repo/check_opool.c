/*
 * The ordered worker pool (repo/opool.h) with real threads: jobs come out
 * in the order they went in whatever order they finish, the ring holds at
 * most cap jobs and reuses its slots, a job's error comes back with that
 * job, every worker runs at once with its own context, and shutdown waits
 * for running jobs, runs no queued one and cleans every slot.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "repo/opool.h"

/* What the workers share with the test. */
struct world {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int gate_open;    /* jobs with wait_gate block until this is set */
	int running;      /* jobs in fn right now */
	int max_running;  /* the most seen at once */
	int want_running; /* jobs with meet wait (5 s at most) until this
	                     many ran at once */
	int ran;          /* jobs fn started */
	int finished;     /* jobs fn returned from */
};

struct worker {
	struct world *w;
	int id;
};

struct job {
	int seq;       /* set by the owner */
	int wait_gate; /* block until the gate opens */
	int meet;      /* wait until want_running jobs run at once */
	int fail;      /* fail this job */
	int delay_ms;
	/* Set by fn: */
	int out;
	int done;
	int rc;
	struct err e;
	const struct worker *by;
	/* Kept across reuses of the slot. */
	char *buf;
	int uses;
};

static struct world world;
static int cleaned;

static void
setup(void)
{
	memset(&world, 0, sizeof(world));
	pthread_mutex_init(&world.mu, NULL);
	pthread_cond_init(&world.cv, NULL);
	cleaned = 0;
}

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Wait on world.cv for at most ms; 0 when it timed out. */
static int
timed_wait(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return (pthread_cond_timedwait(&world.cv, &world.mu, &t) != ETIMEDOUT);
}

static void
fn(void *ctx, void *arg)
{
	struct worker *wk = ctx;
	struct job *j = arg;

	pthread_mutex_lock(&world.mu);
	world.ran++;
	world.running++;
	if (world.running > world.max_running)
		world.max_running = world.running;
	pthread_cond_broadcast(&world.cv);
	while (j->wait_gate && !world.gate_open)
		pthread_cond_wait(&world.cv, &world.mu);
	/* max_running, not running: one that met may have left already. */
	while (j->meet && world.max_running < world.want_running)
		if (!timed_wait(5000))
			break;
	pthread_mutex_unlock(&world.mu);
	if (j->delay_ms > 0)
		nap_ms(j->delay_ms);
	j->by = wk;
	j->out = j->seq * 3 + 1;
	if (j->buf == NULL)
		j->buf = malloc(32);
	j->uses++;
	if (j->fail)
		j->rc = err_set(&j->e, ERR_IO, "job %d failed", j->seq);
	else {
		j->rc = 0;
		err_clear(&j->e);
	}
	j->done = 1;
	pthread_mutex_lock(&world.mu);
	world.running--;
	world.finished++;
	pthread_cond_broadcast(&world.cv);
	pthread_mutex_unlock(&world.mu);
}

static void
cleanup(void *arg)
{
	struct job *j = arg;

	free(j->buf);
	j->buf = NULL;
	cleaned++;
}

static struct worker workers[8];
static void *ctxs[8];

static struct opool *
pool(size_t nth, size_t cap)
{
	struct opool *p;
	struct err e;

	ck_assert_uint_le(nth, 8);
	for (size_t i = 0; i < nth; i++) {
		workers[i].w = &world;
		workers[i].id = (int)i;
		ctxs[i] = &workers[i];
	}
	p = opool_new(nth, cap, sizeof(struct job), fn, ctxs, &e);
	ck_assert_msg(p != NULL, "%s", e.msg);
	ck_assert_uint_eq(opool_cap(p), cap);
	ck_assert_uint_eq(opool_count(p), 0);
	return (p);
}

/*
 * The free slot made ready as job seq (what the slot kept stays); the
 * caller sets what else it wants, then queues it with opool_push.
 */
static struct job *
slot(struct opool *p, int seq)
{
	struct job *j;

	ck_assert_uint_lt(opool_count(p), opool_cap(p));
	j = opool_at(p, opool_count(p));
	j->seq = seq;
	j->wait_gate = j->meet = j->fail = j->delay_ms = 0;
	j->done = 0;
	j->out = -1;
	j->by = NULL;
	return (j);
}

static struct job *
push(struct opool *p, int seq)
{
	struct job *j = slot(p, seq);

	opool_push(p);
	return (j);
}

static void
open_gate(void)
{
	pthread_mutex_lock(&world.mu);
	world.gate_open = 1;
	pthread_cond_broadcast(&world.cv);
	pthread_mutex_unlock(&world.mu);
}

START_TEST(test_in_order_whatever_finishes_first)
{
	struct opool *p = pool(4, 8);
	int pushed = 0, taken = 0, n = 200;

	while (taken < n) {
		struct job *j;

		if (pushed < n && opool_count(p) < opool_cap(p)) {
			j = slot(p, pushed);
			/* Later jobs often finish before earlier ones. */
			j->delay_ms = (pushed * 7) % 5;
			opool_push(p);
			pushed++;
			continue;
		}
		j = opool_head(p, 1);
		ck_assert_ptr_nonnull(j);
		ck_assert_int_eq(j->seq, taken);
		ck_assert_int_eq(j->done, 1);
		ck_assert_int_eq(j->out, taken * 3 + 1);
		opool_pop(p);
		taken++;
	}
	ck_assert_uint_eq(opool_count(p), 0);
	ck_assert_ptr_null(opool_head(p, 0));
	ck_assert_ptr_null(opool_head(p, 1)); /* empty: no wait forever */
	ck_assert_int_eq(world.ran, n);
	opool_free(p, cleanup);
	ck_assert_int_eq(cleaned, 8);
}
END_TEST

START_TEST(test_head_waits_for_the_oldest)
{
	struct opool *p = pool(2, 4);
	struct job *first, *second, *j;

	first = slot(p, 0);
	first->wait_gate = 1;
	opool_push(p);
	second = push(p, 1);
	/* The second finishes while the first is held at the gate. */
	pthread_mutex_lock(&world.mu);
	while (world.finished < 1)
		ck_assert_msg(timed_wait(5000), "the second job never ran");
	pthread_mutex_unlock(&world.mu);
	ck_assert_int_eq(second->done, 1);
	ck_assert_int_eq(first->done, 0);
	/* Not done at the head: nothing to take, however much is done. */
	nap_ms(50); /* time for the pool to mark the second one done */
	ck_assert_ptr_null(opool_head(p, 0));
	ck_assert_uint_eq(opool_count(p), 2);
	open_gate();
	j = opool_head(p, 1);
	ck_assert_ptr_eq(j, first);
	ck_assert_int_eq(j->done, 1);
	opool_pop(p);
	ck_assert_ptr_eq(opool_head(p, 1), second);
	opool_pop(p);
	ck_assert_uint_eq(opool_count(p), 0);
	opool_free(p, cleanup); /* the jobs kept buffers */
}
END_TEST

START_TEST(test_ring_is_bounded_and_slots_reused)
{
	struct opool *p = pool(1, 3);
	void *slots[3];
	char *bufs[3];

	/* Zeroed at first. */
	for (size_t k = 0; k < 3; k++) {
		struct job *j = opool_at(p, k);

		ck_assert_int_eq(j->seq, 0);
		ck_assert_ptr_null(j->buf);
		ck_assert_int_eq(j->uses, 0);
	}
	/* The slot opool_at(count) gives is the one push makes a job of. */
	for (int i = 0; i < 3; i++) {
		slots[i] = opool_at(p, opool_count(p));
		ck_assert_ptr_eq(push(p, i), slots[i]);
		ck_assert_uint_eq(opool_count(p), (size_t)i + 1);
	}
	ck_assert_uint_eq(opool_count(p), opool_cap(p));
	/* Full: three distinct slots, each job at opool_at(k). */
	ck_assert_ptr_ne(slots[0], slots[1]);
	ck_assert_ptr_ne(slots[1], slots[2]);
	ck_assert_ptr_ne(slots[0], slots[2]);
	for (size_t k = 0; k < 3; k++)
		ck_assert_ptr_eq(opool_at(p, k), slots[k]);
	for (int i = 0; i < 3; i++) {
		struct job *j = opool_head(p, 1);

		ck_assert_ptr_eq(j, slots[i]);
		bufs[i] = j->buf;
		ck_assert_ptr_nonnull(bufs[i]);
		opool_pop(p);
	}
	/* Round the ring again: the same slots, with what the jobs kept. */
	for (int i = 3; i < 9; i++) {
		struct job *j = push(p, i), *h;

		ck_assert_ptr_eq(j, slots[i % 3]);
		h = opool_head(p, 1);
		ck_assert_ptr_eq(h, j);
		ck_assert_int_eq(h->seq, i);
		ck_assert_ptr_eq(h->buf, bufs[i % 3]);
		ck_assert_int_eq(h->uses, i / 3 + 1);
		opool_pop(p);
		/* The next free slot comes round after the last. */
		ck_assert_ptr_eq(opool_at(p, 0), slots[(i + 1) % 3]);
	}
	opool_free(p, cleanup);
	ck_assert_int_eq(cleaned, 3);
}
END_TEST

START_TEST(test_errors_come_back_with_their_job)
{
	struct opool *p = pool(3, 6);
	int taken = 0;

	for (int i = 0; i < 6; i++) {
		struct job *j = slot(p, i);

		/* Later ones finish first; two fail. */
		j->fail = i == 1 || i == 4;
		j->delay_ms = 6 - i;
		opool_push(p);
	}
	while (opool_count(p) > 0) {
		struct job *j = opool_head(p, 1);

		ck_assert_int_eq(j->seq, taken);
		if (taken == 1 || taken == 4) {
			char want[32];

			ck_assert_int_eq(j->rc, -1);
			ck_assert_int_eq(j->e.class, ERR_IO);
			snprintf(want, sizeof(want), "job %d failed", taken);
			ck_assert_str_eq(j->e.msg, want);
		} else {
			ck_assert_int_eq(j->rc, 0);
			ck_assert_int_eq(j->e.class, ERR_NONE);
			ck_assert_int_eq(j->out, taken * 3 + 1);
		}
		opool_pop(p);
		taken++;
	}
	ck_assert_int_eq(taken, 6);
	opool_free(p, cleanup);
}
END_TEST

START_TEST(test_workers_run_at_once_with_their_contexts)
{
	struct opool *p = pool(3, 6);
	int seen[3] = { 0, 0, 0 };

	world.want_running = 3;
	for (int i = 0; i < 3; i++) {
		struct job *j = slot(p, i);

		j->meet = 1;
		opool_push(p);
	}
	for (int i = 0; i < 3; i++) {
		struct job *j = opool_head(p, 1);

		ck_assert_ptr_nonnull(j->by);
		ck_assert_int_ge(j->by->id, 0);
		ck_assert_int_lt(j->by->id, 3);
		ck_assert_ptr_eq(j->by, ctxs[j->by->id]);
		seen[j->by->id]++;
		opool_pop(p);
	}
	/* Three jobs met inside fn: three threads, each with its context. */
	ck_assert_int_eq(world.max_running, 3);
	ck_assert_int_eq(seen[0], 1);
	ck_assert_int_eq(seen[1], 1);
	ck_assert_int_eq(seen[2], 1);
	opool_free(p, cleanup);
}
END_TEST

static void *
open_gate_later(void *arg)
{
	(void)arg;
	nap_ms(100);
	open_gate();
	return (NULL);
}

START_TEST(test_free_waits_for_running_jobs_only)
{
	struct opool *p = pool(1, 5);
	struct job *first;
	pthread_t th;

	first = slot(p, 0);
	first->wait_gate = 1;
	opool_push(p);
	for (int i = 1; i < 5; i++)
		push(p, i);
	/* The one worker holds the first job at the gate. */
	pthread_mutex_lock(&world.mu);
	while (world.running < 1)
		ck_assert_msg(timed_wait(5000), "the first job never ran");
	pthread_mutex_unlock(&world.mu);
	ck_assert_int_eq(pthread_create(&th, NULL, open_gate_later, NULL), 0);
	/* Returns once the running job is done; the queued never run. */
	opool_free(p, cleanup);
	ck_assert_int_eq(world.finished, 1);
	ck_assert_int_eq(world.ran, 1);
	ck_assert_int_eq(world.running, 0);
	ck_assert_int_eq(cleaned, 5);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	/* An idle pool, and none at all, stop at once. */
	opool_free(pool(2, 2), NULL);
	opool_free(NULL, NULL);
}
END_TEST

Suite *opool_suite(void);

Suite *
opool_suite(void)
{
	Suite *s = suite_create("opool");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_in_order_whatever_finishes_first);
	tcase_add_test(tc, test_head_waits_for_the_oldest);
	tcase_add_test(tc, test_ring_is_bounded_and_slots_reused);
	tcase_add_test(tc, test_errors_come_back_with_their_job);
	tcase_add_test(tc, test_workers_run_at_once_with_their_contexts);
	tcase_add_test(tc, test_free_waits_for_running_jobs_only);
	suite_add_tcase(s, tc);
	return (s);
}
