/*
 * Owners and their requests: one FIFO per owner, owners served
 * round-robin one command at a time, bounded queues, and the clean-up
 * when an owner goes away (requests dropped silently, locks and
 * streaming wishes given back).
 */
#include "cam_int.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

struct cam_owner *cam_owner_make(struct camera *c, bool internal)
{
	struct cam_owner *o = calloc(1, sizeof *o);

	if (o == NULL)
		return NULL;
	o->cam = c;
	o->internal = internal;
	TAILQ_INIT(&o->reqs);
	TAILQ_INSERT_TAIL(&c->owners, o, entry);
	return o;
}

static void req_free(struct cam_req *r)
{
	free(r->buf);
	free(r->rx);
	free(r);
}

/* Unlink from wherever it is queued; the caller then frees or calls. */
static void req_unlink(struct camera *c, struct cam_req *r)
{
	if (r->refused) {
		TAILQ_REMOVE(&c->refused, r, entry);
	} else {
		TAILQ_REMOVE(&r->owner->reqs, r, entry);
		r->owner->nreqs--;
	}
	if (c->cur == r)
		c->cur = NULL;	/* its answer, if any, is dropped */
	if (c->retry == r)
		c->retry = NULL;
}

/* Free the owner and its requests without any callback. */
void cam_owner_destroy(struct cam_owner *o)
{
	struct camera *c = o->cam;
	struct cam_req *r, *tmp;

	while ((r = TAILQ_FIRST(&o->reqs)) != NULL) {
		req_unlink(c, r);
		if (r->ops->finished != NULL)
			r->ops->finished(c, r);
		req_free(r);
	}
	for (r = TAILQ_FIRST(&c->refused); r != NULL; r = tmp) {
		tmp = TAILQ_NEXT(r, entry);
		if (r->owner == o) {
			req_unlink(c, r);
			req_free(r);
		}
	}
	if (c->rr == o)
		c->rr = TAILQ_NEXT(o, entry);
	TAILQ_REMOVE(&c->owners, o, entry);
	for (size_t i = 0; i < 256; i++) {
		if (c->locks[i] == o) {
			c->locks[i] = NULL;
			c->held[i] = false;
			c->relock[i] = false;
		}
	}
	free(o);
}

struct cam_owner *camera_owner_new(struct camera *c)
{
	return cam_owner_make(c, false);
}

/* A started request that must end (ops->outlives_owner) goes on as the
 * daemon's, at the head of its queue, without a callback. */
static void adopt_started(struct camera *c, struct cam_owner *o)
{
	struct cam_req *r, *tmp;

	for (r = TAILQ_FIRST(&o->reqs); r != NULL; r = tmp) {
		tmp = TAILQ_NEXT(r, entry);
		if (!r->ops->outlives_owner || (c->cur != r && c->retry != r && r->step == 0))
			continue;
		TAILQ_REMOVE(&o->reqs, r, entry);
		o->nreqs--;
		r->owner = c->sys;
		r->done = NULL;
		r->arg = NULL;
		TAILQ_INSERT_HEAD(&c->sys->reqs, r, entry);
		c->sys->nreqs++;
	}
}

void camera_owner_free(struct cam_owner *o)
{
	struct camera *c;
	bool was_streaming;

	if (o == NULL)
		return;
	c = o->cam;
	was_streaming = o->streaming || o->want_frames;
	/* Locks it holds pass to the daemon until the cam confirms the
	 * unlock, so nobody else can take a lock the cam still holds. */
	for (unsigned i = 0; i < 256; i++)
		if (c->locks[i] == o)
			cam_unlock_for_daemon(c, (uint8_t)i);
	o->streaming = false;
	o->want_frames = false;
	adopt_started(c, o);
	cam_owner_destroy(o);
	if (was_streaming) {
		struct cam_req *r;

		cam_stream_recompute(c);
		r = cam_req_new(c->sys, &cam_op_stream_apply, NULL, NULL);
		if (r != NULL)
			cam_req_submit(r);
	}
	cam_kick(c);
}

struct cam_req *cam_req_new(struct cam_owner *o, const struct cam_req_ops *ops,
			    cam_done_fn done, void *arg)
{
	struct cam_req *r = calloc(1, sizeof *r);

	if (r == NULL) {
		/* Out of memory: say so the only way left, at once. */
		if (done != NULL) {
			struct cam_reply rep = { .err = CAM_E_INVALID };

			done(arg, &rep);
		}
		return NULL;
	}
	r->owner = o;
	r->ops = ops;
	r->done = done;
	r->arg = arg;
	return r;
}

void cam_req_refuse(struct cam_req *r, int err)
{
	struct camera *c = r->owner->cam;

	/* Answered from the loop, never inside the caller's call. */
	r->refused = err;
	TAILQ_INSERT_TAIL(&c->refused, r, entry);
	cam_kick(c);
}

void cam_req_submit(struct cam_req *r)
{
	struct cam_owner *o = r->owner;
	struct camera *c = o->cam;

	if (o->nreqs >= CAM_OWNER_QUEUE_MAX && !o->internal) {
		log_debug("cam: owner queue full, request refused");
		cam_req_refuse(r, CAM_E_INVALID);
		return;
	} else {
		TAILQ_INSERT_TAIL(&o->reqs, r, entry);
		o->nreqs++;
	}
	cam_kick(c);
}

void cam_req_submit_copy(struct cam_req *r, const void *data, size_t len)
{
	if (len > 0) {
		r->buf = malloc(len);
		if (r->buf == NULL) {
			cam_req_refuse(r, CAM_E_INVALID);
			return;
		}
		memcpy(r->buf, data, len);
	}
	r->len = len;
	cam_req_submit(r);
}

void cam_req_finish(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	req_unlink(c, r);
	if (r->ops->finished != NULL)
		r->ops->finished(c, r);
	/* The callback may free the owner (and with it its other requests):
	 * r is already out of every list. */
	if (r->done != NULL)
		r->done(r->arg, rep);
	req_free(r);
}

void cam_req_fail(struct camera *c, struct cam_req *r, int err, uint16_t status)
{
	struct cam_reply rep = { .err = err, .status = status };

	cam_req_finish(c, r, &rep);
}

void cam_req_ok(struct camera *c, struct cam_req *r, const void *data, size_t len)
{
	struct cam_reply rep = { .err = CAM_OK, .data = data, .len = len };

	cam_req_finish(c, r, &rep);
}

struct cam_req *cam_pick(struct camera *c, uint64_t now)
{
	struct cam_owner *start, *o;

	start = c->rr != NULL ? c->rr : TAILQ_FIRST(&c->owners);
	if (start == NULL)
		return NULL;
	o = start;
	do {
		struct cam_req *r = TAILQ_FIRST(&o->reqs);
		struct cam_owner *next = TAILQ_NEXT(o, entry);

		if (next == NULL)
			next = TAILQ_FIRST(&c->owners);
		if (r != NULL && (r->ops->ready == NULL || r->ops->ready(c, r, now))) {
			c->rr = next;
			return r;
		}
		o = next;
	} while (o != start);
	return NULL;
}

/* Link down (or not up yet): every queued request ends NOT_CONNECTED,
 * except, while the link is coming up, those that wait for it. */
void cam_fail_all(struct camera *c, bool keep_waiters)
{
	bool again = true;

	/* Callbacks may free owners or queue more: rescan from the top. */
	while (again) {
		struct cam_owner *o;

		again = false;
		TAILQ_FOREACH(o, &c->owners, entry) {
			struct cam_req *r;

			TAILQ_FOREACH(r, &o->reqs, entry)
				if (!(keep_waiters && r->ops->waits_for_link))
					break;
			if (r != NULL) {
				cam_req_fail(c, r, CAM_E_NOT_CONNECTED, 0);
				again = true;
				break;
			}
		}
	}
}

void cam_deliver_refused(struct camera *c)
{
	struct cam_req *r;

	while ((r = TAILQ_FIRST(&c->refused)) != NULL)
		cam_req_fail(c, r, r->refused, 0);
}

/* Earliest deadline of a request waiting for its turn, 0 if none. */
uint64_t cam_park_deadline(struct camera *c)
{
	struct cam_owner *o;
	uint64_t best = 0;

	if (c->prog_running && c->prog_wait_us > cam_now_us())
		best = c->prog_wait_us;
	TAILQ_FOREACH(o, &c->owners, entry) {
		struct cam_req *r = TAILQ_FIRST(&o->reqs);

		if (r != NULL && r->deadline != 0 && (best == 0 || r->deadline < best))
			best = r->deadline;
	}
	return best;
}
