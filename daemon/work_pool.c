/*
 * The worker pool (see work_pool.h): a mutex-protected FIFO of jobs,
 * threads that take them in turn, and a list of finished jobs handed to
 * the loop through an eventfd.
 */
#include "work_pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

enum { W_QUEUED = 1, W_RUNNING, W_FINISHED };

TAILQ_HEAD(work_list, work);

struct worker {
	struct work_pool *pool;
	pthread_t thread;
	bool started;
	void *ctx;
};

struct work_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct work_list queue;		/* waiting for a worker */
	struct work_list finished;	/* run, done not called yet */
	bool stopping;

	struct work_pool_ops ops;
	unsigned nworkers;
	struct worker *workers;

	int efd;			/* counts finished jobs for the loop */
	struct event *ev;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct work_pool *p = wk->pool;
	uint64_t one = 1;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct work *w;

		while (TAILQ_EMPTY(&p->queue) && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->stopping)
			break;
		w = TAILQ_FIRST(&p->queue);
		TAILQ_REMOVE(&p->queue, w, link);
		w->state = W_RUNNING;
		pthread_mutex_unlock(&p->lock);

		w->run(w, wk->ctx);

		pthread_mutex_lock(&p->lock);
		w->state = W_FINISHED;
		TAILQ_INSERT_TAIL(&p->finished, w, link);
		/* A full counter (never in practice) still leaves it readable. */
		if (write(p->efd, &one, sizeof one) < 0 && errno != EAGAIN)
			log_err("work pool: eventfd: %m");
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Runs done of every finished job, on the loop. */
static void deliver_finished(struct work_pool *p)
{
	struct work_list done = TAILQ_HEAD_INITIALIZER(done);
	struct work *w;

	pthread_mutex_lock(&p->lock);
	TAILQ_CONCAT(&done, &p->finished, link);
	pthread_mutex_unlock(&p->lock);
	while ((w = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, w, link);
		w->state = 0;
		w->done(w, false);
	}
}

static void on_finished(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
		log_err("work pool: eventfd: %m");
	deliver_finished(arg);
}

static int start_workers(struct work_pool *p)
{
	sigset_t all, old;
	int rc = 0;

	/* Signals are the loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < p->nworkers && rc == 0; i++) {
		rc = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
		p->workers[i].started = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

struct work_pool *work_pool_new(struct event_base *base, unsigned threads,
				const struct work_pool_ops *ops)
{
	struct work_pool *p = calloc(1, sizeof *p);

	if (p == NULL)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->finished);
	p->ops = *ops;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->nworkers = threads > 0 ? threads : 1;
	p->workers = calloc(p->nworkers, sizeof *p->workers);
	if (p->efd < 0 || p->workers == NULL)
		goto fail;
	for (unsigned i = 0; i < p->nworkers; i++) {
		p->workers[i].pool = p;
		p->workers[i].ctx = ops->ctx_new != NULL ? ops->ctx_new(ops->arg) : NULL;
		if (ops->ctx_new != NULL && p->workers[i].ctx == NULL)
			goto fail;
	}
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, on_finished, p);
	if (p->ev == NULL || event_add(p->ev, NULL) < 0 || start_workers(p) < 0)
		goto fail;
	return p;
fail:
	work_pool_free(p);
	return NULL;
}

void work_pool_free(struct work_pool *p)
{
	struct work *w;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; p->workers != NULL && i < p->nworkers; i++)
		if (p->workers[i].started)
			pthread_join(p->workers[i].thread, NULL);
	/* No thread left: no locking needed from here on. */
	deliver_finished(p);
	while ((w = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, w, link);
		w->state = 0;
		w->done(w, true);
	}
	for (unsigned i = 0; p->workers != NULL && i < p->nworkers; i++)
		if (p->workers[i].ctx != NULL && p->ops.ctx_free != NULL)
			p->ops.ctx_free(p->workers[i].ctx);
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->efd >= 0)
		close(p->efd);
	free(p->workers);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void work_submit(struct work_pool *p, struct work *w)
{
	pthread_mutex_lock(&p->lock);
	w->state = W_QUEUED;
	TAILQ_INSERT_TAIL(&p->queue, w, link);
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

bool work_cancel(struct work_pool *p, struct work *w)
{
	bool taken;

	pthread_mutex_lock(&p->lock);
	taken = w->state == W_QUEUED;
	if (taken) {
		TAILQ_REMOVE(&p->queue, w, link);
		w->state = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return taken;
}
