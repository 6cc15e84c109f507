/*
 * What owners can ask of the cam: single commands and the seed API's
 * composite operations, each a small state machine that puts one command
 * on the wire per turn (so other owners interleave between its steps).
 */
#include "cam_int.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

static void send_or_fail(struct camera *c, struct cam_req *r, uint8_t opcode, uint8_t chan,
			 const void *payload, size_t len)
{
	if (cam_send(c, r, opcode, chan, payload, len) < 0)
		cam_req_fail(c, r, CAM_E_INVALID, 0);
}

/* ------------------------------------------------------------------ */
/* one command, answer passed through */

static void command_issue(struct camera *c, struct cam_req *r)
{
	send_or_fail(c, r, r->opcode, r->chan, r->buf, r->len);
}

static const struct cam_req_ops op_command = {
	.name = "command", .issue = command_issue, .result = cam_req_finish,
};

static void submit_command(struct cam_owner *o, uint8_t opcode, uint8_t chan,
			   const void *payload, size_t len, cam_done_fn done, void *arg)
{
	struct cam_req *r = cam_req_new(o, &op_command, done, arg);

	if (r == NULL)
		return;
	r->opcode = opcode;
	r->chan = chan;
	if (len > OMV_PAYLOAD_LIMIT) {
		cam_req_refuse(r, CAM_E_INVALID);
		return;
	}
	cam_req_submit_copy(r, payload, len);
}

/* ------------------------------------------------------------------ */
/* SYS_RESET / SYS_BOOT: no answer; the link drops by design */

static void noreply_issue(struct camera *c, struct cam_req *r)
{
	uint8_t opcode = r->opcode;

	cam_send_noreply(c, r, opcode);
	cam_req_ok(c, r, NULL, 0);
	cam_link_drop(c, opcode == OMV_OP_SYS_RESET ? "cam reset" : "cam boot");
}

static const struct cam_req_ops op_noreply = {
	.name = "reset", .issue = noreply_issue, .result = cam_req_finish,
};

/* ------------------------------------------------------------------ */
/* waiting for the link program: resync, caps, channel list */

static bool prog_wait_ready(struct camera *c, struct cam_req *r, uint64_t now)
{
	return r->step == 0 || (c->resync_gen > r->gen && c->prog == 0);
}

static void prog_wait_issue(struct camera *c, struct cam_req *r)
{
	if (r->step == 0) {
		r->gen = c->resync_gen;
		r->step = 1;
		cam_prog_request(c, (unsigned)r->length, "requested");
		return;
	}
	cam_req_ok(c, r, NULL, 0);
}

static const struct cam_req_ops op_prog_wait = {
	.name = "resync", .issue = prog_wait_issue, .result = cam_req_finish,
	.ready = prog_wait_ready, .waits_for_link = true,
};

static void submit_prog_wait(struct cam_owner *o, unsigned steps, cam_done_fn done, void *arg)
{
	struct cam_req *r = cam_req_new(o, &op_prog_wait, done, arg);

	if (r == NULL)
		return;
	r->length = steps;
	cam_req_submit(r);
}

/* ------------------------------------------------------------------ */
/* channel read: [SIZE,] READ */

static void read_issue(struct camera *c, struct cam_req *r)
{
	uint8_t req[OMV_READ_REQ_SIZE];

	if (r->step == 0 && r->length == UINT32_MAX) {
		send_or_fail(c, r, OMV_OP_CHANNEL_SIZE, r->chan, NULL, 0);
		return;
	}
	r->step = 1;
	if (r->length == 0) {
		cam_req_ok(c, r, NULL, 0);
		return;
	}
	if (r->length > c->opt.max_response) {
		cam_req_fail(c, r, CAM_E_TOO_BIG, 0);
		return;
	}
	omv_read_req_encode(r->offset, r->length, req);
	send_or_fail(c, r, OMV_OP_CHANNEL_READ, r->chan, req, sizeof req);
}

static void read_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	uint32_t size;

	if (rep->err != CAM_OK || r->step == 1) {
		cam_req_finish(c, r, rep);
		return;
	}
	if (omv_u32_decode(&size, rep->data, rep->len) < 0) {
		cam_req_fail(c, r, CAM_E_PROTOCOL, 0);
		return;
	}
	/* More than one answer may hold is read up to what it can. */
	r->length = size < c->opt.max_response ? size : (uint32_t)c->opt.max_response;
	r->step = 1;
}

static const struct cam_req_ops op_read = {
	.name = "channel_read", .issue = read_issue, .result = read_result,
};

/* ------------------------------------------------------------------ */
/* channel write: WRITE in (max_payload - 8)-byte chunks */

static void write_issue(struct camera *c, struct cam_req *r)
{
	uint8_t buf[OMV_PAYLOAD_LIMIT];
	uint16_t max = cam_max_payload(c);
	uint32_t chunk;
	size_t n;

	if (r->pos >= r->len) {
		cam_req_ok(c, r, NULL, 0);
		return;
	}
	chunk = (uint32_t)(r->len - r->pos);
	if (chunk > (uint32_t)max - OMV_WRITE_HDR_SIZE)
		chunk = (uint32_t)max - OMV_WRITE_HDR_SIZE;
	n = omv_write_req_encode(r->offset + r->pos, r->buf + r->pos, chunk, buf, sizeof buf);
	r->sent = chunk;
	send_or_fail(c, r, OMV_OP_CHANNEL_WRITE, r->chan, buf, n);
}

static void write_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	if (rep->err != CAM_OK) {
		cam_req_finish(c, r, rep);
		return;
	}
	r->pos += r->sent;
	if (r->pos >= r->len)
		cam_req_ok(c, r, NULL, 0);
}

static const struct cam_req_ops op_write = {
	.name = "channel_write", .issue = write_issue, .result = write_result,
};

/* ------------------------------------------------------------------ */
/* read_profile: LOCK, SHAPE, READ, UNLOCK */

/* The cam refuses a LOCK within 10 ms of the previous one. */
#define PROFILE_BUSY_WAIT_US 11000

enum { PROF_LOCK, PROF_SHAPE, PROF_READ, PROF_UNLOCK };

static void profile_issue(struct camera *c, struct cam_req *r)
{
	uint8_t req[OMV_READ_REQ_SIZE];
	struct cam_owner *holder = c->locks[OMV_CHAN_PROFILE];

	r->deadline = 0;	/* its wait, if any, is over */
	/* A SYNC since our LOCK released it on the cam: start over. */
	if (r->step != PROF_LOCK && r->gen != c->syncs_sent) {
		r->step = PROF_LOCK;
		r->err = CAM_OK;
		free(r->rx);
		r->rx = NULL;
		r->rx_len = 0;
	}
	switch (r->step) {
	case PROF_LOCK:
		if (holder != NULL && holder != r->owner) {
			cam_req_fail(c, r, CAM_E_LOCKED, 0);
			return;
		}
		send_or_fail(c, r, OMV_OP_CHANNEL_LOCK, OMV_CHAN_PROFILE, NULL, 0);
		return;
	case PROF_SHAPE:
		send_or_fail(c, r, OMV_OP_CHANNEL_SHAPE, OMV_CHAN_PROFILE, NULL, 0);
		return;
	case PROF_READ:
		omv_read_req_encode(0, r->length, req);
		send_or_fail(c, r, OMV_OP_CHANNEL_READ, OMV_CHAN_PROFILE, req, sizeof req);
		return;
	default:
		send_or_fail(c, r, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_PROFILE, NULL, 0);
		return;
	}
}

static void profile_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	struct omv_shape shape;
	uint64_t total;

	switch (r->step) {
	case PROF_LOCK:
		/* BUSY is the 10 ms rule (or a record update): asked again
		 * until the call's time is up, never handed to the caller. */
		if (rep->err == CAM_E_BUSY && cam_now_us() + PROFILE_BUSY_WAIT_US < r->gen2) {
			r->deadline = cam_now_us() + PROFILE_BUSY_WAIT_US;
			return;
		}
		if (rep->err != CAM_OK) {
			cam_req_finish(c, r, rep);
			return;
		}
		c->locks[OMV_CHAN_PROFILE] = r->owner;
		r->gen = c->syncs_sent;
		r->step = PROF_SHAPE;
		return;
	case PROF_SHAPE:
		r->step = PROF_UNLOCK;
		if (rep->err != CAM_OK) {
			r->err = rep->err;
			r->status = rep->status;
			return;
		}
		if (omv_shape_decode(&shape, rep->data, rep->len) < 0 || shape.ndim < 2) {
			r->err = CAM_E_PROTOCOL;
			return;
		}
		total = (uint64_t)shape.dim[0] * shape.dim[1];
		if (total > c->opt.max_response) {
			r->err = CAM_E_TOO_BIG;
			return;
		}
		r->length = (uint32_t)total;
		if (total > 0)
			r->step = PROF_READ;
		return;
	case PROF_READ:
		r->step = PROF_UNLOCK;
		if (rep->err != CAM_OK) {
			r->err = rep->err;
			r->status = rep->status;
			return;
		}
		r->rx_len = rep->len;
		r->rx = cam_take_result(c);
		return;
	default:
		if (c->locks[OMV_CHAN_PROFILE] == r->owner)
			c->locks[OMV_CHAN_PROFILE] = NULL;
		if (r->err != CAM_OK)
			cam_req_fail(c, r, r->err, r->status);
		else
			cam_req_ok(c, r, r->rx, r->rx_len);
		return;
	}
}

static bool profile_ready(struct camera *c, struct cam_req *r, uint64_t now)
{
	return r->deadline == 0 || now >= r->deadline;
}

static const struct cam_req_ops op_profile = {
	.name = "read_profile", .issue = profile_issue, .result = profile_result,
	.ready = profile_ready,
};

/* ------------------------------------------------------------------ */
/* public API */

void camera_command(struct cam_owner *o, uint8_t opcode, uint8_t chan,
		    const void *payload, size_t len, cam_done_fn done, void *arg)
{
	switch (opcode) {
	case OMV_OP_PROTO_SYNC:
		camera_resync(o, done, arg);
		return;
	case OMV_OP_SYS_RESET:
		camera_reset(o, done, arg);
		return;
	case OMV_OP_SYS_BOOT:
		camera_boot(o, done, arg);
		return;
	case OMV_OP_CHANNEL_LOCK:	/* keep lock ownership in the books */
		camera_channel_lock(o, chan, done, arg);
		return;
	case OMV_OP_CHANNEL_UNLOCK:
		camera_channel_unlock(o, chan, done, arg);
		return;
	default:
		submit_command(o, opcode, chan, payload, len, done, arg);
		return;
	}
}

void camera_channel_read(struct cam_owner *o, uint8_t chan, uint32_t offset, uint32_t length,
			 cam_done_fn done, void *arg)
{
	struct cam_req *r = cam_req_new(o, &op_read, done, arg);

	if (r == NULL)
		return;
	r->chan = chan;
	r->offset = offset;
	r->length = length;
	cam_req_submit(r);
}

void camera_channel_write(struct cam_owner *o, uint8_t chan, uint32_t offset,
			  const void *data, size_t len, cam_done_fn done, void *arg)
{
	struct cam_req *r = cam_req_new(o, &op_write, done, arg);

	if (r == NULL)
		return;
	r->chan = chan;
	r->offset = offset;
	if (len > UINT32_MAX - offset) {
		cam_req_refuse(r, CAM_E_INVALID);
		return;
	}
	cam_req_submit_copy(r, data, len);
}

void camera_channel_ioctl(struct cam_owner *o, uint8_t chan, uint32_t request,
			  const void *arg_bytes, size_t arg_len, cam_done_fn done, void *arg)
{
	uint8_t buf[OMV_PAYLOAD_LIMIT];
	size_t n = omv_ioctl_req_encode(request, arg_bytes, arg_len, buf, sizeof buf);

	if (n == 0) {	/* longer than any payload */
		struct cam_req *r = cam_req_new(o, &op_command, done, arg);

		if (r != NULL)
			cam_req_refuse(r, CAM_E_INVALID);
		return;
	}
	submit_command(o, OMV_OP_CHANNEL_IOCTL, chan, buf, n, done, arg);
}

void camera_read_profile(struct cam_owner *o, cam_done_fn done, void *arg)
{
	struct cam_req *r = cam_req_new(o, &op_profile, done, arg);

	if (r == NULL)
		return;
	r->gen2 = cam_now_us() + (uint64_t)o->cam->opt.timeout_ms * 1000;	/* BUSY until */
	cam_req_submit(r);
}

void camera_resync(struct cam_owner *o, cam_done_fn done, void *arg)
{
	submit_prog_wait(o, PROG_RESYNC, done, arg);
}

void camera_update_caps(struct cam_owner *o, cam_done_fn done, void *arg)
{
	submit_prog_wait(o, PROG_GET_CAPS | PROG_SET_CAPS, done, arg);
}

void camera_update_channels(struct cam_owner *o, cam_done_fn done, void *arg)
{
	submit_prog_wait(o, PROG_CHANNELS, done, arg);
}

static void submit_noreply(struct cam_owner *o, uint8_t opcode, cam_done_fn done, void *arg)
{
	struct cam_req *r = cam_req_new(o, &op_noreply, done, arg);

	if (r == NULL)
		return;
	r->opcode = opcode;
	cam_req_submit(r);
}

void camera_reset(struct cam_owner *o, cam_done_fn done, void *arg)
{
	submit_noreply(o, OMV_OP_SYS_RESET, done, arg);
}

void camera_boot(struct cam_owner *o, cam_done_fn done, void *arg)
{
	submit_noreply(o, OMV_OP_SYS_BOOT, done, arg);
}

