/*
 * The stream channel: frame production while streaming is on, with the
 * firmware's fair lock (the next frame is written only after the host has
 * unlocked the previous one), and its SHAPE/SIZE/READ/IOCTL requests.
 */
#include <stdlib.h>
#include <string.h>

#include "camsim.h"

#define RAW_MAX_DIM 4096

static void reply(struct sim *s, uint16_t status, const void *data, size_t len)
{
	omv_cam_reply(&s->cam, status, data, len, sim_now_ms());
}

static float stream_fps(const struct sim *s)
{
	return s->o.fps ? (float)s->o.fps : 0.0f;
}

static void arm(struct sim *s)
{
	struct stream *st = &s->st;

	if (!st->enabled)
		return;
	if (s->o.fps) {
		unsigned ms = 1000 / s->o.fps;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		if (!event_pending(st->timer, EV_TIMEOUT, NULL))
			event_add(st->timer, &tv);
	} else if (!st->ready) {
		event_active(st->timer, EV_TIMEOUT, 0);
	}
}

static void produce(struct sim *s)
{
	struct stream *st = &s->st;
	unsigned w = st->raw ? st->raw_w : s->o.frame_w;
	unsigned h = st->raw ? st->raw_h : s->o.frame_h;
	uint8_t *frame;
	size_t len;
	uint32_t fmt;

	frame = frames_render(st->gen, st->number + 1, w, h, st->raw, stream_fps(s), &len, &fmt);
	if (!frame) {
		sim_log(s, "frame rendering failed");
		return;
	}
	if (s->o.hostile_jpeg && frames_claim_size(frame, len, SIM_HOSTILE_DIM, SIM_HOSTILE_DIM))
		w = h = SIM_HOSTILE_DIM;
	free(st->frame);
	st->frame = frame;
	st->frame_len = len;
	st->pixfmt = fmt;
	st->w = w;
	st->h = h;
	st->number++;
	st->ready = true;
	st->read_hi = 0;
	st->counted = false;
	s->n.frames_produced++;
	omv_cam_event(&s->cam, OMV_CHAN_STREAM, OMV_EV_NOTIFY);
}

static void on_frame_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;

	if (!s->st.enabled || !s->cam_up)
		return;
	if (!s->st.ready)
		produce(s);
	if (s->o.fps)
		arm(s);
}

bool stream_frame_ready(const struct sim *s)
{
	return s->st.ready;
}

void stream_release(struct sim *s)
{
	s->st.ready = false;
	arm(s);
}

static void set_enabled(struct sim *s, bool on)
{
	struct stream *st = &s->st;
	struct channel *c = device_channel(s, OMV_CHAN_STREAM);

	if (on == st->enabled)
		return;
	st->enabled = on;
	if (on) {
		arm(s);
		return;
	}
	event_del(st->timer);
	if (st->ready && !(c && c->locked))
		st->ready = false;
}

static void do_ioctl(struct sim *s, uint32_t req, const uint8_t *arg)
{
	struct stream *st = &s->st;

	switch (req) {
	case OMV_IOCTL_STREAM_CTRL:
		set_enabled(s, omv_get_u32(arg) != 0);
		break;
	case OMV_IOCTL_STREAM_RAW_CTRL:
		st->raw = omv_get_u32(arg) != 0;
		break;
	case OMV_IOCTL_STREAM_RAW_CFG: {
		uint32_t w = omv_get_u32(arg), h = omv_get_u32(arg + 4);
		if (!w || !h || w > RAW_MAX_DIM || h > RAW_MAX_DIM) {
			reply(s, OMV_ST_INVALID, NULL, 0);
			return;
		}
		st->raw_w = w;
		st->raw_h = h;
		break;
	}
	case OMV_IOCTL_STREAM_SOURCE:
		break;		/* one sensor: any source is it */
	default:
		reply(s, OMV_ST_INVALID, NULL, 0);
		return;
	}
	reply(s, OMV_ST_SUCCESS, NULL, 0);
}

static void do_read(struct sim *s, const struct omv_packet *cmd)
{
	struct stream *st = &s->st;
	uint32_t off, len;

	if (omv_read_req_decode(&off, &len, cmd->payload, cmd->length) < 0 || !st->ready ||
	    (uint64_t)off + len > st->frame_len) {
		reply(s, OMV_ST_INVALID, NULL, 0);
		return;
	}
	if (off <= st->read_hi && off + len > st->read_hi)
		st->read_hi = off + len;
	if (st->read_hi == st->frame_len && !st->counted) {
		st->counted = true;
		s->n.frames_read++;
	}
	reply(s, OMV_ST_SUCCESS, st->frame + off, len);
}

void stream_command(struct sim *s, const struct omv_packet *cmd)
{
	struct stream *st = &s->st;
	uint8_t buf[4 * OMV_SHAPE_MAX];
	struct omv_shape shape = { .ndim = 1 };
	const uint8_t *arg;
	size_t arg_len;
	uint32_t req;

	switch (cmd->opcode) {
	case OMV_OP_CHANNEL_SIZE:
		omv_put_u32(buf, st->ready ? (uint32_t)st->frame_len : 0);
		reply(s, OMV_ST_SUCCESS, buf, 4);
		break;
	case OMV_OP_CHANNEL_SHAPE:
		if (st->ready && st->pixfmt == OMV_PIXFMT_RGB565) {
			shape.ndim = 3;
			shape.dim[0] = st->w;
			shape.dim[1] = st->h;
			shape.dim[2] = 2;
		} else {
			shape.dim[0] = st->ready ? (uint32_t)st->frame_len : 0;
		}
		reply(s, OMV_ST_SUCCESS, buf, omv_shape_encode(&shape, buf));
		break;
	case OMV_OP_CHANNEL_READ:
		do_read(s, cmd);
		break;
	case OMV_OP_CHANNEL_IOCTL:
		/* sizes were checked by the dispatcher */
		omv_ioctl_req_decode(&req, &arg, &arg_len, cmd->payload, cmd->length);
		do_ioctl(s, req, arg);
		break;
	default:
		reply(s, OMV_ST_INVALID, NULL, 0);
		break;
	}
}

/* As the firmware: raw preview settings are the script's, streaming
 * itself is the host's and stays on. */
void stream_soft_reboot(struct sim *s)
{
	s->st.raw = false;
	s->st.raw_w = s->o.frame_w;
	s->st.raw_h = s->o.frame_h;
}

void stream_reset(struct sim *s)
{
	struct stream *st = &s->st;

	st->enabled = false;
	stream_soft_reboot(s);
	st->ready = false;
	free(st->frame);
	st->frame = NULL;
	st->frame_len = 0;
	if (st->timer)
		event_del(st->timer);
}

int stream_init(struct sim *s)
{
	s->st.gen = frames_new();
	s->st.timer = evtimer_new(s->base, on_frame_timer, s);
	if (!s->st.gen || !s->st.timer)
		return -1;
	stream_reset(s);
	return 0;
}

void stream_free(struct sim *s)
{
	free(s->st.frame);
	frames_free(s->st.gen);
	if (s->st.timer)
		event_free(s->st.timer);
}
