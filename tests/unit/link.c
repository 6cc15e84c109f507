/*
 * In-process host <-> cam fixture for the unit tests (see link.h). Each
 * side's write callback only queues the packet; link_pump delivers the
 * queues, so neither state machine is re-entered from its own callback.
 */
#include <string.h>

#include "link.h"
#include "check.h"

void link_parse(const uint8_t *buf, size_t len, struct omv_packet *pkt)
{
	CHECK(len >= OMV_HDR_SIZE);
	memset(pkt, 0, sizeof(*pkt));
	pkt->seq = buf[2];
	pkt->chan = buf[3];
	pkt->flags = buf[4];
	pkt->opcode = buf[5];
	pkt->length = omv_get_u16(buf + 6);
	CHECK_EQ(len, OMV_PACKET_SIZE((size_t)pkt->length));
	pkt->payload = pkt->length ? buf + OMV_HDR_SIZE : NULL;
	pkt->raw = buf;
	pkt->raw_len = len;
}

static void queue_push(struct link_queue *q, const uint8_t *buf, size_t len)
{
	if (q->head + q->count == q->cap) {
		if (q->head > 0) {
			memmove(q->items, q->items + q->head, q->count * sizeof(q->items[0]));
			q->head = 0;
		} else {
			q->cap = q->cap ? 2 * q->cap : 64;
			q->items = realloc(q->items, q->cap * sizeof(q->items[0]));
			CHECK(q->items != NULL);
		}
	}
	struct link_msg *m = &q->items[q->head + q->count++];
	m->data = xmalloc(len);
	memcpy(m->data, buf, len);
	m->len = len;
}

static bool queue_pop(struct link_queue *q, struct link_msg *out)
{
	if (!q->count)
		return false;
	*out = q->items[q->head++];
	q->count--;
	if (!q->count)
		q->head = 0;
	return true;
}

static void queue_free(struct link_queue *q)
{
	struct link_msg m;

	while (queue_pop(q, &m))
		free(m.data);
	free(q->items);
	memset(q, 0, sizeof(*q));
}

/* Put a packet on the wire toward one side, unless the faults say no. */
static void wire(struct link *l, bool to_cam, const uint8_t *buf, size_t len)
{
	struct link_queue *q = to_cam ? &l->to_cam : &l->to_host;
	struct omv_packet pkt;

	link_parse(buf, len, &pkt);
	if (!to_cam && l->cam_wrote)
		l->cam_wrote(l, &pkt);
	if (l->drop && l->drop(l, to_cam, &pkt)) {
		l->dropped++;
		return;
	}
	queue_push(q, buf, len);
	if (l->damage && l->damage(l, to_cam, &pkt)) {
		l->damaged++;
		q->items[q->head + q->count - 1].data[len - 1] ^= 0x01;
	}
}

static void host_write(void *ctx, const uint8_t *buf, size_t len)
{
	wire(ctx, true, buf, len);
}

static void host_done(void *ctx, const struct omv_result *r)
{
	struct link *l = ctx;

	CHECK(!l->done);
	l->done = true;
	l->done_at = l->now;
	l->result = *r;
	free(l->data);
	l->data = xmalloc(r->len);
	if (r->len)
		memcpy(l->data, r->data, r->len);
	l->data_len = r->len;
}

static void host_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code)
{
	struct link *l = ctx;

	CHECK(l->nevents < sizeof(l->events) / sizeof(l->events[0]));
	l->events[l->nevents++] = (struct link_event){ chan, opcode, code, l->host.deadline };
}

static void cam_write(void *ctx, const uint8_t *buf, size_t len)
{
	wire(ctx, false, buf, len);
}

static void cam_command(void *ctx, const struct omv_packet *cmd)
{
	struct link *l = ctx;
	uint32_t off, len;
	const uint8_t *data;

	l->commands_seen++;
	if (l->app_silent)
		return;
	switch (cmd->opcode) {
	case OMV_OP_CHANNEL_READ:
		if (omv_read_req_decode(&off, &len, cmd->payload, cmd->length) < 0 ||
		    off > l->chan_len || len > l->chan_len - off) {
			omv_cam_reply(&l->cam, OMV_ST_INVALID, NULL, 0, l->now);
			return;
		}
		omv_cam_reply(&l->cam, OMV_ST_SUCCESS, l->chan_data + off, len, l->now);
		return;
	case OMV_OP_CHANNEL_WRITE:
		if (omv_write_req_decode(&off, &data, &len, cmd->payload, cmd->length) < 0) {
			omv_cam_reply(&l->cam, OMV_ST_INVALID, NULL, 0, l->now);
			return;
		}
		if (off + len > l->written_len) {
			l->written = realloc(l->written, off + len);
			CHECK(l->written != NULL);
			l->written_len = off + len;
		}
		memcpy(l->written + off, data, len);
		omv_cam_reply(&l->cam, OMV_ST_SUCCESS, NULL, 0, l->now);
		return;
	case OMV_OP_CHANNEL_POLL: {
		uint8_t bitmap[4];
		omv_put_u32(bitmap, l->commands_seen);
		omv_cam_reply(&l->cam, OMV_ST_SUCCESS, bitmap, 4, l->now);
		return;
	}
	default:
		omv_cam_reply(&l->cam, OMV_ST_SUCCESS, NULL, 0, l->now);
	}
}

static void cam_reset(void *ctx)
{
	struct link *l = ctx;

	l->cam_resets++;
}

static const struct omv_host_ops link_host_ops = { host_write, host_done, host_event };
static const struct omv_cam_ops link_cam_ops = { cam_write, cam_command, cam_reset };

void link_init(struct link *l, uint16_t cam_max_payload, size_t host_rx_limit)
{
	memset(l, 0, sizeof(*l));
	l->now = 1000;
	CHECK_EQ(omv_host_init(&l->host, &link_host_ops, l, host_rx_limit), 0);
	CHECK_EQ(omv_cam_init(&l->cam, &link_cam_ops, l, cam_max_payload), 0);
}

void link_free(struct link *l)
{
	omv_host_free(&l->host);
	omv_cam_free(&l->cam);
	queue_free(&l->to_cam);
	queue_free(&l->to_host);
	free(l->data);
	free(l->chan_data);
	free(l->written);
}

static void deliver(struct link *l, const struct link_msg *m, bool to_cam)
{
	size_t piece = l->piece ? l->piece : m->len;

	for (size_t off = 0; off < m->len; off += piece) {
		size_t n = m->len - off < piece ? m->len - off : piece;
		uint8_t *chunk = xmalloc(n);	/* exact size: ASan sees overreads */
		memcpy(chunk, m->data + off, n);
		if (to_cam)
			omv_cam_input(&l->cam, chunk, n, l->now);
		else
			omv_host_input(&l->host, chunk, n, l->now);
		free(chunk);
	}
}

void link_pump(struct link *l)
{
	struct link_msg m;
	bool moved = true;

	while (moved) {
		moved = false;
		if (queue_pop(&l->to_cam, &m)) {
			deliver(l, &m, true);
			free(m.data);
			moved = true;
		}
		if (queue_pop(&l->to_host, &m)) {
			deliver(l, &m, false);
			free(m.data);
			moved = true;
		}
	}
}

static uint64_t next_deadline(const struct link *l)
{
	uint64_t h = omv_host_deadline(&l->host), c = omv_cam_deadline(&l->cam);
	return h < c ? h : c;
}

static bool advance(struct link *l, uint64_t limit)
{
	uint64_t next = next_deadline(l);

	if (next == OMV_DEADLINE_NONE || next > limit)
		return false;
	if (next > l->now)
		l->now = next;
	omv_cam_tick(&l->cam, l->now);
	link_pump(l);
	omv_host_tick(&l->host, l->now);
	link_pump(l);
	return true;
}

bool link_run(struct link *l, uint64_t max_ms)
{
	uint64_t limit = l->now + max_ms;

	link_pump(l);
	while (!l->done)
		if (!advance(l, limit))
			break;
	return l->done;
}

void link_settle(struct link *l, uint64_t max_ms)
{
	uint64_t limit = l->now + max_ms;

	link_pump(l);
	while (omv_cam_deadline(&l->cam) != OMV_DEADLINE_NONE)
		if (!advance(l, limit))
			break;
}

static int run_started(struct link *l)
{
	CHECK(link_run(l, 60000));
	return l->result.code;
}

int link_command(struct link *l, uint8_t opcode, uint8_t chan, const void *payload,
		 size_t len, uint32_t timeout_ms)
{
	l->done = false;
	CHECK_EQ(omv_host_command(&l->host, opcode, chan, payload, len, l->now, timeout_ms,
				  NULL, 0), 0);
	return run_started(l);
}

int link_sync(struct link *l)
{
	l->done = false;
	omv_host_sync(&l->host, l->now, 1000);
	return run_started(l);
}

int link_set_caps(struct link *l, const struct omv_caps *caps)
{
	l->done = false;
	CHECK_EQ(omv_host_set_caps(&l->host, caps, l->now, 1000), 0);
	return run_started(l);
}

void link_connect(struct link *l, uint16_t max_payload)
{
	struct omv_caps cam_caps, want = omv_caps_default;

	CHECK_EQ(link_sync(l), OMV_OK);
	CHECK(l->host.seq_valid);
	CHECK_EQ(l->host.seq, 0);
	CHECK_EQ(l->cam.seq, 0);
	CHECK_EQ(link_command(l, OMV_OP_PROTO_GET_CAPS, 0, NULL, 0, 1000), OMV_OK);
	CHECK_EQ(omv_caps_decode(&cam_caps, l->data, l->data_len), 0);
	CHECK_EQ(cam_caps.max_payload, l->cam.cam_max_payload);
	want.max_payload = max_payload < cam_caps.max_payload ? max_payload
							       : cam_caps.max_payload;
	CHECK_EQ(link_set_caps(l, &want), OMV_OK);
	CHECK_EQ(l->host.caps.max_payload, want.max_payload);
	link_pump(l);
	CHECK_EQ(l->cam.caps.max_payload, want.max_payload);
}

int link_read(struct link *l, uint32_t offset, uint32_t length, uint32_t timeout_ms)
{
	uint8_t req[OMV_READ_REQ_SIZE];

	omv_read_req_encode(offset, length, req);
	return link_command(l, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req, sizeof(req),
			    timeout_ms);
}
