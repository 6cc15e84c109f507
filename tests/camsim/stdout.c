/*
 * The stdout channel: the cam's small ring buffer of script output.
 *
 * A READ consumes. Output that does not fit empties the ring, as on the
 * cam: everything unread is lost and only the tail of the text being
 * written stays. With --stdout-block it waits in a pending queue instead
 * and the script blocks until the host makes room, so nothing is lost.
 * The channel NOTIFYs when the ring passes half full and every 50 ms
 * while data waits.
 */
#include <stdlib.h>
#include <string.h>

#include "camsim.h"

#define NOTIFY_MS 50

static void notify(struct sim *s)
{
	if (s->cam_up && s->plugged)
		omv_cam_event(&s->cam, OMV_CHAN_STDOUT, OMV_EV_NOTIFY);
}

static void on_notify_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;

	if (s->so.used)
		notify(s);
}

/* Contiguous free room at the ring's tail. */
static size_t tail_room(const struct stdout_ring *r, size_t *tail)
{
	size_t room;

	*tail = (r->head + r->used) % r->cap;
	room = *tail >= r->head ? r->cap - *tail : r->head - *tail;
	return room < r->cap - r->used ? room : r->cap - r->used;
}

/* n bytes that fit were added at the tail. */
static void ring_added(struct sim *s, size_t n)
{
	struct stdout_ring *r = &s->so;
	bool below_half = r->used <= r->cap / 2;

	r->used += n;
	s->n.stdout_bytes += n;
	if (below_half && r->used > r->cap / 2)
		notify(s);
}

/* Move pending output into the ring as far as it fits (--stdout-block). */
static void ring_fill(struct sim *s)
{
	struct stdout_ring *r = &s->so;
	bool was_blocked = stdout_blocked(s);
	size_t tail, room;

	while (evbuffer_get_length(r->pending) && (room = tail_room(r, &tail)) > 0) {
		int n = evbuffer_remove(r->pending, r->buf + tail, room);

		if (n <= 0)
			break;
		ring_added(s, (size_t)n);
	}
	if (was_blocked && !stdout_blocked(s) && s->script)
		script_resume(s->script);
}

void stdout_put(struct sim *s, const char *text, size_t len)
{
	struct stdout_ring *r = &s->so;
	size_t tail, room;

	if (s->o.stdout_block) {
		evbuffer_add(r->pending, text, len);
		ring_fill(s);
		return;
	}
	if (r->used + len > r->cap) {
		size_t keep = len < r->cap ? len : r->cap;

		s->n.stdout_lost += r->used + len - keep;
		r->head = r->used = 0;
		text += len - keep;
		len = keep;
	}
	while (len && (room = tail_room(r, &tail)) > 0) {
		size_t n = len < room ? len : room;

		memcpy(r->buf + tail, text, n);
		ring_added(s, n);
		text += n;
		len -= n;
	}
}

bool stdout_blocked(const struct sim *s)
{
	return evbuffer_get_length(s->so.pending) > 0;
}

void stdout_read(struct sim *s, const struct omv_packet *cmd)
{
	struct stdout_ring *r = &s->so;
	uint32_t off, len;
	uint8_t *data;

	if (omv_read_req_decode(&off, &len, cmd->payload, cmd->length) < 0 ||
	    (uint64_t)off + len > r->used) {
		omv_cam_reply(&s->cam, OMV_ST_INVALID, NULL, 0, sim_now_ms());
		return;
	}
	data = malloc(len ? len : 1);
	if (!data) {
		omv_cam_reply(&s->cam, OMV_ST_FAILED, NULL, 0, sim_now_ms());
		return;
	}
	for (uint32_t i = 0; i < len; i++)
		data[i] = r->buf[(r->head + off + i) % r->cap];
	/* everything up to the end of what was read is consumed */
	r->head = (r->head + off + len) % r->cap;
	r->used -= (size_t)off + len;
	s->n.stdout_read += len;
	omv_cam_reply(&s->cam, OMV_ST_SUCCESS, data, len, sim_now_ms());
	free(data);
	ring_fill(s);
}

void stdout_clear(struct sim *s)
{
	s->so.head = s->so.used = 0;
	evbuffer_drain(s->so.pending, evbuffer_get_length(s->so.pending));
}

int stdout_init(struct sim *s)
{
	struct timeval tv = { 0, NOTIFY_MS * 1000 };

	s->so.cap = s->o.stdout_ring;
	s->so.buf = malloc(s->so.cap);
	s->so.pending = evbuffer_new();
	s->so.notify_ev = event_new(s->base, -1, EV_PERSIST, on_notify_timer, s);
	if (!s->so.buf || !s->so.pending || !s->so.notify_ev)
		return -1;
	event_add(s->so.notify_ev, &tv);
	return 0;
}

void stdout_free(struct sim *s)
{
	free(s->so.buf);
	if (s->so.pending)
		evbuffer_free(s->so.pending);
	if (s->so.notify_ev)
		event_free(s->so.notify_ev);
}
