/*
 * A small pool of threads for CPU work that must not run on the event
 * loop (frame decoding and encoding, base64, building frame lines).
 *
 * A job runs on some worker; its done callback then runs on the loop, in
 * the order jobs finish. The loop learns of finished jobs through an
 * eventfd it watches, so the event base needs no locking of its own.
 * Each worker has a context made by the pool's thread_init (e.g. its
 * turbojpeg handles), passed to every job it runs.
 */
#ifndef OMVD_WORK_POOL_H
#define OMVD_WORK_POOL_H

#include <stdbool.h>
#include <sys/queue.h>

struct event_base;
struct work_pool;

struct work {
	TAILQ_ENTRY(work) link;
	/* On a worker: must not touch loop-owned state. */
	void (*run)(struct work *w, void *thread_ctx);
	/* On the loop, once run() returned; cancelled when the pool was
	 * freed before the job ran. */
	void (*done)(struct work *w, bool cancelled);
	int state;		/* the pool's */
};

/* Each worker's context, made before the threads start and freed after
 * they ended. */
struct work_pool_ops {
	void *(*ctx_new)(void *arg);	/* NULL: the pool cannot be made */
	void (*ctx_free)(void *ctx);
	void *arg;
};

/* threads >= 1. NULL when a context or thread cannot be made. */
struct work_pool *work_pool_new(struct event_base *base, unsigned threads,
				const struct work_pool_ops *ops);
/* Waits for running jobs; jobs not started end with done(cancelled). */
void work_pool_free(struct work_pool *p);

void work_submit(struct work_pool *p, struct work *w);
/* Takes back a job that has not started: true, and done is never called.
 * false when it runs or ran already (done comes, or came). */
bool work_cancel(struct work_pool *p, struct work *w);

#endif
