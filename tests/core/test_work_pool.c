/* The frame worker pool: jobs run on worker threads with their worker's
 * context, their completions come back on the loop's thread in the order
 * they finished; a job not started yet can be taken back; freeing the
 * pool ends every job exactly once and frees the contexts. */
#include <event2/event.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include "daemon/work_pool.h"
#include "testutil.h"

#define WAIT_MS 5000

static pthread_t loop_thread;
static int ctx_made, ctx_freed;
static int done_order[64], done_count;

struct tjob {
	struct work w;
	int id;
	int runs, dones;
	bool cancelled, ran_off_loop, done_on_loop;
	void *ctx;
	sem_t *started, *gate;	/* optional: tell when running, wait to finish */
};

static void *ctx_new(void *arg)
{
	ctx_made++;
	return &ctx_made;
}

static void ctx_free(void *ctx)
{
	ctx_freed++;
}

static const struct work_pool_ops ops = { ctx_new, ctx_free, NULL };

static void tjob_run(struct work *w, void *ctx)
{
	struct tjob *j = (struct tjob *)w;

	j->runs++;
	j->ctx = ctx;
	j->ran_off_loop = !pthread_equal(pthread_self(), loop_thread);
	if (j->started != NULL)
		sem_post(j->started);
	if (j->gate != NULL)
		sem_wait(j->gate);
}

static void tjob_done(struct work *w, bool cancelled)
{
	struct tjob *j = (struct tjob *)w;

	j->dones++;
	j->cancelled = cancelled;
	j->done_on_loop = pthread_equal(pthread_self(), loop_thread);
	done_order[done_count++] = j->id;
}

static void tjob_init(struct tjob *j, int id)
{
	*j = (struct tjob){ .id = id };
	j->w.run = tjob_run;
	j->w.done = tjob_done;
}

static bool all_done(void *arg)
{
	return done_count >= *(int *)arg;
}

static void test_order(void)
{
	struct event_base *base = event_base_new();
	struct work_pool *p = work_pool_new(base, 1, &ops);
	struct tjob j[10];
	int want = 10;

	CHECK(p != NULL);
	CHECK_EQ(ctx_made, 1);
	done_count = 0;
	for (int i = 0; i < 10; i++) {
		tjob_init(&j[i], i);
		work_submit(p, &j[i].w);
	}
	CHECK(tu_run_until(base, all_done, &want, WAIT_MS));
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(j[i].runs, 1);
		CHECK_EQ(j[i].dones, 1);
		CHECK(!j[i].cancelled && j[i].ran_off_loop && j[i].done_on_loop);
		CHECK(j[i].ctx == &ctx_made);
		CHECK_EQ(done_order[i], i);	/* one worker: finished in order */
	}
	CHECK(!work_cancel(p, &j[0].w));	/* ran already */
	work_pool_free(p);
	CHECK_EQ(ctx_freed, 1);
	event_base_free(base);
}

static void test_cancel(void)
{
	struct event_base *base = event_base_new();
	struct work_pool *p = work_pool_new(base, 1, &ops);
	sem_t started, gate;
	struct tjob a, b, c;
	int want = 2;

	CHECK(p != NULL);
	sem_init(&started, 0, 0);
	sem_init(&gate, 0, 0);
	done_count = 0;
	tjob_init(&a, 1);
	tjob_init(&b, 2);
	tjob_init(&c, 3);
	a.started = &started;
	a.gate = &gate;
	work_submit(p, &a.w);
	work_submit(p, &b.w);
	work_submit(p, &c.w);
	sem_wait(&started);		/* a runs; b and c wait for the one worker */
	CHECK(!work_cancel(p, &a.w));
	CHECK(work_cancel(p, &b.w));
	sem_post(&gate);
	CHECK(tu_run_until(base, all_done, &want, WAIT_MS));
	CHECK_EQ(a.dones, 1);
	CHECK_EQ(c.dones, 1);
	CHECK_EQ(b.runs, 0);
	CHECK_EQ(b.dones, 0);		/* taken back: never completes */
	CHECK_EQ(done_order[0], 1);
	CHECK_EQ(done_order[1], 3);
	work_pool_free(p);
	sem_destroy(&started);
	sem_destroy(&gate);
	event_base_free(base);
}

/* Freed with a job running and one waiting: both end exactly once, the
 * waiting one cancelled unless a worker took it before the pool stopped. */
static void test_free(void)
{
	int made = ctx_made, freed = ctx_freed;
	struct event_base *base = event_base_new();
	struct work_pool *p = work_pool_new(base, 2, &ops);
	sem_t started, gate;
	struct tjob a, b, c;

	CHECK(p != NULL);
	CHECK_EQ(ctx_made - made, 2);
	sem_init(&started, 0, 0);
	sem_init(&gate, 0, 0);
	done_count = 0;
	tjob_init(&a, 1);
	tjob_init(&b, 2);
	tjob_init(&c, 3);
	a.started = b.started = &started;
	a.gate = b.gate = &gate;
	work_submit(p, &a.w);
	work_submit(p, &b.w);
	sem_wait(&started);
	sem_wait(&started);		/* both workers busy */
	work_submit(p, &c.w);
	sem_post(&gate);
	sem_post(&gate);
	work_pool_free(p);
	CHECK(a.dones == 1 && !a.cancelled && a.runs == 1);
	CHECK(b.dones == 1 && !b.cancelled && b.runs == 1);
	CHECK_EQ(c.dones, 1);
	CHECK_EQ(c.runs, c.cancelled ? 0 : 1);
	CHECK(c.done_on_loop);
	CHECK_EQ(ctx_freed - freed, 2);
	sem_destroy(&started);
	sem_destroy(&gate);
	event_base_free(base);
}

int main(void)
{
	loop_thread = pthread_self();
	test_order();
	test_cancel();
	test_free();
	return 0;
}
