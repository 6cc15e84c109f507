/*
 * Channel locks. The daemon's books say who holds each lock: an owner
 * that took it with channel_lock (held: kept until it unlocks or leaves),
 * or one of the daemon's own multi-step reads (for the length of it).
 * The cam releases every lock on a SYNC and on a soft reboot; the locks
 * owners hold are then taken again, as the last step of the link program
 * and so before anyone else's request. A lock that cannot be taken again
 * is dropped and its holder told (listener lock_lost). Nobody else gets a
 * lock the books give to another owner, whatever the cam would say.
 */
#include "cam_int.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

/* The cam answers BUSY to a LOCK within 10 ms of the channel's previous
 * one: a lock taken just before a resync is taken again after a pause. */
#define RELOCK_WAIT_US 11000
#define RELOCK_BUSY_RETRIES 5

static void tell_lost(struct camera *c, uint8_t chan, const char *reason)
{
	struct cam_owner *o = c->locks[chan];

	log_info("cam %s: lock of channel %u dropped: %s", c->port, chan, reason);
	c->locks[chan] = NULL;
	c->held[chan] = false;
	c->relock[chan] = false;
	if (o != NULL && !o->internal && c->listener.lock_lost != NULL)
		c->listener.lock_lost(c->lctx, o, chan, reason);
}

void cam_locks_released(struct camera *c)
{
	for (unsigned i = 0; i < 256; i++) {
		if (c->locks[i] == NULL)
			continue;
		if (c->held[i]) {
			c->relock[i] = true;
			c->prog |= PROG_LOCKS;
		} else {
			c->locks[i] = NULL;
		}
	}
}

void cam_locks_drop(struct camera *c, const char *reason)
{
	for (unsigned i = 0; i < 256; i++)
		if (c->held[i])
			tell_lost(c, (uint8_t)i, reason);
	memset(c->locks, 0, sizeof c->locks);
	memset(c->relock, 0, sizeof c->relock);
}

bool camera_owner_holds(const struct cam_owner *o, uint8_t chan)
{
	return o->cam->locks[chan] == o && o->cam->held[chan];
}

/* ------------------------------------------------------------------ */
/* the link program's last step: take the held locks again */

static bool channel_exists(const struct camera *c, uint8_t chan)
{
	for (size_t i = 0; i < c->nchannels; i++)
		if (c->channels[i].id == chan)
			return true;
	return false;
}

int cam_relock_issue(struct camera *c, uint64_t now_us)
{
	for (unsigned i = 0; i < 256; i++) {
		if (!c->relock[i])
			continue;
		if (!channel_exists(c, (uint8_t)i)) {
			tell_lost(c, (uint8_t)i, "the channel is gone");
			continue;
		}
		if (now_us < c->prog_wait_us)
			return 0;
		c->prog_wait_us = 0;
		c->relock_chan = (uint8_t)i;
		return omv_host_command(&c->host, OMV_OP_CHANNEL_LOCK, (uint8_t)i, NULL, 0,
					cam_now(), c->opt.timeout_ms, NULL, 0) < 0 ? -1 : 1;
	}
	c->relock_busy = 0;
	return 2;
}

void cam_relock_result(struct camera *c)
{
	uint8_t chan = c->relock_chan;
	char reason[96];

	if (c->res_code == OMV_OK) {
		c->relock[chan] = false;
		c->relock_busy = 0;
		return;
	}
	if (c->res_status == OMV_ST_BUSY && ++c->relock_busy <= RELOCK_BUSY_RETRIES) {
		c->prog_wait_us = cam_now_us() + RELOCK_WAIT_US;
		return;
	}
	c->relock_busy = 0;
	snprintf(reason, sizeof reason, "the cam would not lock it again (%s)",
		 omv_status_name(c->res_status));
	tell_lost(c, chan, reason);
}

/* ------------------------------------------------------------------ */
/* channel_lock / channel_unlock */

static void lock_issue(struct camera *c, struct cam_req *r)
{
	struct cam_owner *holder = c->locks[r->chan];

	if (holder != NULL && holder != r->owner) {
		cam_req_fail(c, r, CAM_E_LOCKED, 0);
		return;
	}
	if (cam_send(c, r, r->opcode, r->chan, NULL, 0) < 0)
		cam_req_fail(c, r, CAM_E_INVALID, 0);
}

static void lock_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	if (r->opcode == OMV_OP_CHANNEL_LOCK) {
		if (rep->err == CAM_OK) {
			c->locks[r->chan] = r->owner;
			c->held[r->chan] = true;
		}
	} else if (c->locks[r->chan] == r->owner && rep->err != CAM_E_TIMEOUT &&
		   rep->err != CAM_E_PROTOCOL) {
		c->locks[r->chan] = NULL;
		c->held[r->chan] = false;
	}
	cam_req_finish(c, r, rep);
}

static const struct cam_req_ops op_lock = {
	.name = "channel_lock", .issue = lock_issue, .result = lock_result,
};

static void submit_lock(struct cam_owner *o, uint8_t opcode, uint8_t chan, cam_done_fn done,
			void *arg)
{
	struct cam_req *r = cam_req_new(o, &op_lock, done, arg);

	if (r == NULL)
		return;
	r->opcode = opcode;
	r->chan = chan;
	cam_req_submit(r);
}

void camera_channel_lock(struct cam_owner *o, uint8_t chan, cam_done_fn done, void *arg)
{
	submit_lock(o, OMV_OP_CHANNEL_LOCK, chan, done, arg);
}

void camera_channel_unlock(struct cam_owner *o, uint8_t chan, cam_done_fn done, void *arg)
{
	submit_lock(o, OMV_OP_CHANNEL_UNLOCK, chan, done, arg);
}

/* ------------------------------------------------------------------ */
/* a lock nobody should have any more: the daemon's until the cam says
 * it is released, so that nobody else takes a lock the cam still holds */

static void unlock_issue(struct camera *c, struct cam_req *r)
{
	if (cam_send(c, r, OMV_OP_CHANNEL_UNLOCK, r->chan, NULL, 0) < 0)
		cam_req_fail(c, r, CAM_E_INVALID, 0);
}

static void unlock_finished(struct camera *c, struct cam_req *r)
{
	if (c->locks[r->chan] == c->sys)
		c->locks[r->chan] = NULL;
}

static const struct cam_req_ops op_unlock_for_daemon = {
	.name = "unlock", .issue = unlock_issue, .result = cam_req_finish,
	.finished = unlock_finished,
};

void cam_unlock_for_daemon(struct camera *c, uint8_t chan)
{
	struct cam_req *r = cam_req_new(c->sys, &op_unlock_for_daemon, NULL, NULL);

	c->locks[chan] = c->sys;
	c->held[chan] = false;
	c->relock[chan] = false;
	if (r != NULL) {
		r->chan = chan;
		cam_req_submit(r);
	}
}
