/*
 * The daemon's own traffic with the cam, queued on internal owners so it
 * takes turns with the clients: stdout drained once into the history,
 * frames fetched once (LOCK, SIZE, READs, UNLOCK) on stream NOTIFY, the
 * shared streaming state kept in line with what the owners want.
 */
#include "cam_int.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "stdout_log.h"

/* One stdout READ at most this long (the cam's ring is 1-2 KiB). */
#define DRAIN_READ_MAX 65536u
/* LOCK answers BUSY within 10 ms of the previous lock as well as when no
 * frame is ready. The cam writes no new frame (and sends no new NOTIFY)
 * until the ready one is taken, so a BUSY is retried a few times. */
#define FETCH_BUSY_RETRIES 3
#define FETCH_BUSY_WAIT_US 15000
/* The cam refuses a LOCK within 10 ms of the previous one. Counted from
 * when its answer reached us: the cam took the lock before that, and our
 * next LOCK takes the link's latency again to get there, so a small
 * margin covers clock granularity on both sides. */
#define FETCH_LOCK_GAP_US 10200
/* While clients use the link (a request queued, or one served within
 * this window), a frame is read in chunks that take about FETCH_CHUNK_US
 * on the wire at the read rate measured so far, so a small call waits
 * behind one chunk instead of a whole frame. Alone on the link, a frame
 * is one READ: every chunk costs a round trip. */
#define FETCH_SHARE_WINDOW_US 50000
#define FETCH_CHUNK_US 2000
#define FETCH_CHUNK_MIN 512u
#define FETCH_CHUNK_MAX_PAYLOADS 4u

bool cam_wants_frames(const struct camera *c)
{
	return c->shared.streaming;
}

/* ------------------------------------------------------------------ */
/* stdout drain: SIZE, READ, repeat while there is data */

void cam_drain_issue(struct camera *c, struct cam_req *r)
{
	uint8_t req[OMV_READ_REQ_SIZE];

	if (r->step == 0) {
		if (cam_send(c, r, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDOUT, NULL, 0) < 0)
			cam_req_fail(c, r, CAM_E_INVALID, 0);
		return;
	}
	omv_read_req_encode(0, r->length, req);
	if (cam_send(c, r, OMV_OP_CHANNEL_READ, OMV_CHAN_STDOUT, req, sizeof req) < 0)
		cam_req_fail(c, r, CAM_E_INVALID, 0);
}

void cam_drain_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	uint32_t size;

	if (rep->err != CAM_OK) {
		cam_req_finish(c, r, rep);
		return;
	}
	if (r->step == 0) {
		if (omv_u32_decode(&size, rep->data, rep->len) < 0 || size == 0) {
			cam_req_finish(c, r, rep);
			return;
		}
		r->length = size < DRAIN_READ_MAX ? size : DRAIN_READ_MAX;
		r->step = 1;
		return;
	}
	if (rep->len > 0) {
		stdout_log_append(c->log, (const char *)rep->data, rep->len);
		c->counters.stdout_bytes += rep->len;
		if (c->listener.stdout_data != NULL)
			c->listener.stdout_data(c->lctx, (const char *)rep->data, rep->len);
	}
	r->step = 0;
}

static void drain_finished(struct camera *c, struct cam_req *r)
{
	c->draining = false;
}

const struct cam_req_ops cam_op_drain = {
	.name = "stdout drain", .issue = cam_drain_issue, .result = cam_drain_result,
	.finished = drain_finished,
};

/* ------------------------------------------------------------------ */
/* frame fetch: LOCK (BUSY = no frame), SIZE, READ(offset, chunk) until
 * the frame is in, UNLOCK. The READs reassemble straight into the frame's
 * buffer (r->rx), which the frame then takes over. */

enum { FETCH_LOCK, FETCH_SIZE, FETCH_READ, FETCH_UNLOCK };
/* r->length: frame size; r->pos: bytes read; r->sent: the READ in flight;
 * r->offset: BUSY answers to LOCK so far. */

static bool clients_on_link(const struct camera *c, uint64_t now)
{
	const struct cam_owner *o;

	if (now - c->client_turn_us < FETCH_SHARE_WINDOW_US)
		return true;
	TAILQ_FOREACH(o, &c->owners, entry)
		if (!o->internal && !TAILQ_EMPTY(&o->reqs))
			return true;
	return false;
}

static uint32_t fetch_chunk(const struct camera *c, uint32_t left)
{
	uint64_t chunk = c->read_bytes_per_ms * FETCH_CHUNK_US / 1000;
	uint32_t max = (uint32_t)cam_max_payload(c) * FETCH_CHUNK_MAX_PAYLOADS;

	if (chunk < FETCH_CHUNK_MIN)
		chunk = FETCH_CHUNK_MIN;
	if (chunk > max)
		chunk = max;
	if (left <= chunk || !clients_on_link(c, cam_now_us()))
		return left;
	return (uint32_t)chunk;
}

/* Bytes per ms of a READ, round trip included, smoothed over reads. */
static void note_read_rate(struct camera *c, size_t len)
{
	uint64_t us = cam_now_us() - c->read_sent_us;
	uint64_t rate = (uint64_t)len * 1000 / (us > 0 ? us : 1);

	c->read_bytes_per_ms = c->read_bytes_per_ms == 0 ? rate
							: (3 * c->read_bytes_per_ms + rate) / 4;
}

static void fetch_issue(struct camera *c, struct cam_req *r)
{
	uint8_t req[OMV_READ_REQ_SIZE];
	struct cam_owner *holder = c->locks[OMV_CHAN_STREAM];
	int rc;

	/* A SYNC since our LOCK released it on the cam: start over. */
	if (r->step != FETCH_LOCK && r->gen != c->syncs_sent)
		r->step = FETCH_LOCK;
	switch (r->step) {
	case FETCH_LOCK:
		if (holder != NULL && holder != r->owner) {
			/* A client holds the stream: its frames are its own. */
			cam_req_ok(c, r, NULL, 0);
			return;
		}
		rc = cam_send(c, r, OMV_OP_CHANNEL_LOCK, OMV_CHAN_STREAM, NULL, 0);
		break;
	case FETCH_SIZE:
		rc = cam_send(c, r, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STREAM, NULL, 0);
		break;
	case FETCH_READ:
		r->sent = fetch_chunk(c, r->length - r->pos);
		c->read_sent_us = cam_now_us();
		omv_read_req_encode(r->pos, r->sent, req);
		rc = cam_send_into(c, r, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req, sizeof req,
				   r->rx + r->pos, r->sent);
		break;
	default:
		rc = cam_send(c, r, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_STREAM, NULL, 0);
		break;
	}
	if (rc < 0)
		cam_req_fail(c, r, CAM_E_INVALID, 0);
}

/* A frame is released on the cam by its UNLOCK only (a SYNC drops the
 * lock, not the frame): after an UNLOCK that was never confirmed, the cam
 * may hand out the same frame again. */
static bool is_repeat(const struct camera *c, const uint8_t *data, size_t len)
{
	return c->release_unconfirmed && c->latest != NULL && c->latest->len == len &&
	       memcmp(c->latest->data, data, len) == 0;
}

/* Frames per second over the last CAM_FPS_FRAMES frames, this one
 * included; a pause in the stream starts the measure over. */
static double note_frame_time(struct camera *c, uint64_t now_us)
{
	unsigned n;
	uint64_t oldest;

	if (c->frame_us_count > 0 &&
	    now_us - c->frame_us[(c->frame_us_count - 1) % CAM_FPS_FRAMES] > CAM_FPS_GAP_US)
		c->frame_us_count = 0;
	c->frame_us[c->frame_us_count++ % CAM_FPS_FRAMES] = now_us;
	n = c->frame_us_count < CAM_FPS_FRAMES ? c->frame_us_count : CAM_FPS_FRAMES;
	oldest = c->frame_us[(c->frame_us_count - n) % CAM_FPS_FRAMES];
	c->fps = n >= 2 && now_us > oldest ? (double)(n - 1) * 1e6 / (double)(now_us - oldest) : 0;
	return c->fps;
}

uint64_t cam_fetch_poll_ms(const struct camera *c)
{
	unsigned n = c->frame_us_count < CAM_FPS_FRAMES ? c->frame_us_count : CAM_FPS_FRAMES;
	uint64_t gap = UINT64_MAX, ms;

	for (unsigned i = c->frame_us_count - n + 1; i < c->frame_us_count; i++) {
		uint64_t d = c->frame_us[i % CAM_FPS_FRAMES] - c->frame_us[(i - 1) % CAM_FPS_FRAMES];
		if (d < gap)
			gap = d;
	}
	if (gap == UINT64_MAX)
		return CAM_FRAME_POLL_MS;
	ms = gap * 5 / 4 / 1000;
	return ms < CAM_FRAME_POLL_MIN_MS ? CAM_FRAME_POLL_MIN_MS :
	       ms > CAM_FRAME_POLL_MS ? CAM_FRAME_POLL_MS : ms;
}

static void deliver_frame(struct camera *c, uint8_t *data, size_t len)
{
	/* The last byte came in the read that completed this answer. */
	int64_t timestamp_us = clock_realtime_us();
	struct frame *f;

	if (is_repeat(c, data, len)) {
		free(data);
		return;
	}
	c->release_unconfirmed = true;
	f = frame_new(data, len, c->counters.frames_fetched + 1, timestamp_us,
		      note_frame_time(c, cam_now_us()));
	if (f == NULL) {
		log_warn("cam %s: dropped a stream read of %zu bytes with a bad frame header",
			 c->port, len);
		return;
	}
	c->counters.frames_fetched++;
	if (c->latest != NULL)
		frame_unref(c->latest);
	c->latest = f;
	if (c->listener.frame != NULL)
		c->listener.frame(c->lctx, f);
}

static void fetch_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	uint32_t size;
	uint8_t *data;

	switch (r->step) {
	case FETCH_LOCK:
		if (rep->err == CAM_E_BUSY && !r->flag && r->offset < FETCH_BUSY_RETRIES) {
			r->offset++;
			r->deadline = cam_now_us() + FETCH_BUSY_WAIT_US;
			return;
		}
		if (rep->err != CAM_OK) {	/* no frame ready after all */
			cam_req_finish(c, r, rep);
			return;
		}
		r->deadline = 0;
		c->stream_lock_us = cam_now_us();
		r->gen = c->syncs_sent;
		c->locks[OMV_CHAN_STREAM] = r->owner;
		r->step = FETCH_SIZE;
		return;
	case FETCH_SIZE:
		r->step = FETCH_UNLOCK;
		free(r->rx);
		r->rx = NULL;
		if (rep->err == CAM_OK && omv_u32_decode(&size, rep->data, rep->len) == 0 &&
		    size > 0 && size <= c->opt.max_response && (r->rx = malloc(size)) != NULL) {
			r->length = size;
			r->pos = 0;
			r->step = FETCH_READ;
		}
		return;
	case FETCH_READ:
		/* A short answer means the frame is shorter than SIZE said:
		 * take what came. */
		if (rep->err == CAM_OK) {
			note_read_rate(c, rep->len);
			r->pos += (uint32_t)rep->len;
			if (rep->len == r->sent && r->pos < r->length)
				return;
		}
		r->step = FETCH_UNLOCK;
		if (rep->err != CAM_OK)
			return;
		data = r->rx;
		r->rx = NULL;
		deliver_frame(c, data, r->pos);
		return;
	default:
		if (c->locks[OMV_CHAN_STREAM] == r->owner)
			c->locks[OMV_CHAN_STREAM] = NULL;
		if (rep->err == CAM_OK)
			c->release_unconfirmed = false;
		cam_req_finish(c, r, rep);
		return;
	}
}

static bool fetch_ready(struct camera *c, struct cam_req *r, uint64_t now)
{
	uint64_t gap = c->stream_lock_us + FETCH_LOCK_GAP_US;

	/* Asking before the gap is over would only earn a BUSY. */
	if (r->step == FETCH_LOCK && now < gap && (r->deadline == 0 || r->deadline < gap))
		r->deadline = gap;
	return r->deadline == 0 || now >= r->deadline;
}

static void fetch_finished(struct camera *c, struct cam_req *r)
{
	c->fetching = false;
	c->last_fetch_ms = cam_now();
}

const struct cam_req_ops cam_op_fetch = {
	.name = "frame fetch", .issue = fetch_issue, .result = fetch_result,
	.ready = fetch_ready, .finished = fetch_finished,
};

/* ------------------------------------------------------------------ */
/* events off: CHANNEL_POLL in place of the NOTIFYs the cam does not send */

static void poll_issue(struct camera *c, struct cam_req *r)
{
	/* Asked while a frame is being fetched, the stream's bit is that
	 * frame's (ready until its UNLOCK): it says nothing new. */
	r->flag = c->fetching;
	if (cam_send(c, r, OMV_OP_CHANNEL_POLL, OMV_CHAN_SYSTEM, NULL, 0) < 0)
		cam_req_fail(c, r, CAM_E_INVALID, 0);
}

static void poll_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	uint32_t bits;

	if (rep->err == CAM_OK && omv_u32_decode(&bits, rep->data, rep->len) == 0) {
		if (bits & (1u << OMV_CHAN_STDOUT))
			cam_note_notify(c, OMV_CHAN_STDOUT);
		if ((bits & (1u << OMV_CHAN_STREAM)) && !r->flag && !c->fetching)
			cam_note_notify(c, OMV_CHAN_STREAM);
	}
	cam_req_finish(c, r, rep);
}

static void poll_finished(struct camera *c, struct cam_req *r)
{
	c->polling = false;
	c->last_poll_ms = cam_now();
}

static const struct cam_req_ops op_poll = {
	.name = "poll", .issue = poll_issue, .result = poll_result, .finished = poll_finished,
};

void cam_poll_start(struct camera *c)
{
	struct cam_req *r;

	if (c->polling)
		return;
	r = cam_req_new(c->sys, &op_poll, NULL, NULL);
	if (r == NULL)
		return;
	c->polling = true;
	cam_req_submit(r);
}

/* A NOTIFY that arrives during a drain or fetch is remembered as pending
 * and served by the next one, once this one is done. */
void cam_fetch_maybe_start(struct camera *c)
{
	struct cam_req *r;

	if (c->stdout_pending && !c->draining) {
		r = cam_req_new(c->out_owner, &cam_op_drain, NULL, NULL);
		if (r != NULL) {
			c->stdout_pending = false;
			c->draining = true;
			cam_req_submit(r);
		}
	}
	if (c->frame_pending && !c->fetching) {
		c->frame_pending = false;
		if (!cam_wants_frames(c))
			return;
		r = cam_req_new(c->frame_owner, &cam_op_fetch, NULL, NULL);
		if (r != NULL) {
			r->flag = c->frame_poll;	/* a poll takes BUSY at its word */
			c->frame_poll = false;
			c->fetching = true;
			cam_req_submit(r);
		}
	}
}

/* ------------------------------------------------------------------ */
/* streaming state */

void cam_stream_recompute(struct camera *c)
{
	const struct cam_owner *o;
	bool on = false;

	TAILQ_FOREACH(o, &c->owners, entry)
		if (o->streaming || o->want_frames)
			on = true;
	c->shared.streaming = on;
}

void camera_want_frames(struct cam_owner *o, bool want)
{
	struct camera *c = o->cam;
	bool before = c->shared.streaming;
	struct cam_req *r;

	o->want_frames = want;
	cam_stream_recompute(c);
	if (c->shared.streaming == before)
		return;
	if (c->listener.state_changed != NULL)
		c->listener.state_changed(c->lctx);
	r = cam_req_new(c->sys, &cam_op_stream_apply, NULL, NULL);
	if (r != NULL)
		cam_req_submit(r);
}

bool cam_stream_next(const struct camera *c, uint32_t *request, uint8_t arg[8], size_t *arg_len)
{
	const struct cam_stream_state *s = &c->cam_stream;

	if (!c->shared.streaming) {
		/* Off is the cam's state after a reset; only undo our own on. */
		if (s->on_known && s->on) {
			*request = OMV_IOCTL_STREAM_CTRL;
			omv_put_u32(arg, 0);
			*arg_len = 4;
			return true;
		}
		return false;
	}
	if (c->shared.raw && (!s->cfg_known || s->w != c->shared.raw_width ||
			      s->h != c->shared.raw_height)) {
		*request = OMV_IOCTL_STREAM_RAW_CFG;
		omv_put_u32(arg, c->shared.raw_width);
		omv_put_u32(arg + 4, c->shared.raw_height);
		*arg_len = 8;
		return true;
	}
	if (!s->raw_known || s->raw != c->shared.raw) {
		*request = OMV_IOCTL_STREAM_RAW_CTRL;
		omv_put_u32(arg, c->shared.raw);
		*arg_len = 4;
		return true;
	}
	if (!s->on_known || !s->on) {
		*request = OMV_IOCTL_STREAM_CTRL;
		omv_put_u32(arg, 1);
		*arg_len = 4;
		return true;
	}
	return false;
}

void cam_stream_applied(struct camera *c, uint32_t request, const uint8_t *arg)
{
	struct cam_stream_state *s = &c->cam_stream;

	switch (request) {
	case OMV_IOCTL_STREAM_CTRL:
		s->on_known = true;
		s->on = omv_get_u32(arg) != 0;
		break;
	case OMV_IOCTL_STREAM_RAW_CTRL:
		s->raw_known = true;
		s->raw = omv_get_u32(arg) != 0;
		break;
	case OMV_IOCTL_STREAM_RAW_CFG:
		s->cfg_known = true;
		s->w = omv_get_u32(arg);
		s->h = omv_get_u32(arg + 4);
		break;
	default:
		break;
	}
}

static void stream_issue(struct camera *c, struct cam_req *r)
{
	size_t arg_len;

	if (r->step == 0) {
		struct camera_shared before = c->shared;
		struct cam_owner *o = r->owner;

		r->step = 1;
		if (!o->internal) {
			o->streaming = r->flag;
			if (r->flag) {
				c->shared.raw = r->raw;
				if (r->raw) {
					c->shared.raw_width = r->width;
					c->shared.raw_height = r->height;
				}
			}
			cam_stream_recompute(c);
			if (memcmp(&before, &c->shared, sizeof before) != 0 &&
			    c->listener.state_changed != NULL)
				c->listener.state_changed(c->lctx);
		}
	}
	if (!cam_stream_next(c, &r->ioreq, r->ioarg, &arg_len)) {
		cam_req_ok(c, r, NULL, 0);
		return;
	}
	if (cam_send_ioctl(c, r, OMV_CHAN_STREAM, r->ioreq, r->ioarg, arg_len) < 0)
		cam_req_fail(c, r, CAM_E_INVALID, 0);
}

static void stream_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	if (rep->err != CAM_OK) {
		if (r->owner->internal)
			log_warn("cam %s: streaming change refused: %s", c->port,
				 cam_err_message(rep->err));
		cam_req_finish(c, r, rep);
		return;
	}
	cam_stream_applied(c, r->ioreq, r->ioarg);
}

const struct cam_req_ops cam_op_stream_apply = {
	.name = "streaming", .issue = stream_issue, .result = stream_result,
};

void camera_streaming(struct cam_owner *o, bool enable, bool raw, uint32_t width,
		      uint32_t height, cam_done_fn done, void *arg)
{
	struct cam_req *r = cam_req_new(o, &cam_op_stream_apply, done, arg);

	if (r == NULL)
		return;
	r->flag = enable;
	r->raw = raw;
	r->width = width;
	r->height = height;
	if (enable && raw && (width == 0 || height == 0)) {
		cam_req_refuse(r, CAM_E_INVALID);	/* raw needs a resolution */
		return;
	}
	cam_req_submit(r);
}
