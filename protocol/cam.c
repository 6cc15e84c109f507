/*
 * Cam-side protocol state machine, behaving like stock firmware: validates
 * commands and NAKs bad ones, answers the protocol opcodes itself, hands
 * the rest to the application, fragments responses, waits for ACKs (and
 * holds back everything else meanwhile), retransmits on a NAK or a
 * timeout, and spots a SYNC packet anywhere in the byte stream.
 * The rules are written down in docs/protocol.md.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/cam.h"
#include "protocol/crc.h"

static void apply_caps(struct omv_cam *c, const struct omv_caps *caps)
{
	c->caps = *caps;
	c->dec.max_payload = caps->max_payload;
	c->dec.check_crc = caps->crc;
}

/* After SYNC or a re-init: everything on, the cam's whole buffer. */
static void apply_default_caps(struct omv_cam *c)
{
	struct omv_caps caps = omv_caps_default;

	caps.max_payload = c->cam_max_payload;
	apply_caps(c, &caps);
}

/* The exact bytes of the host's SYNC packet. */
static void sync_pattern(uint8_t out[OMV_HDR_SIZE])
{
	omv_packet_encode(out, OMV_HDR_SIZE, 0, OMV_CHAN_SYSTEM, 0, OMV_OP_PROTO_SYNC,
			  NULL, 0, true);
}

static void drop_response(struct omv_cam *c)
{
	c->cmd_active = false;
	c->awaiting_reply = false;
	c->waiting_ack = false;
	c->resp_len = c->resp_off = 0;
}

static void reinit_state(struct omv_cam *c)
{
	drop_response(c);
	c->caps_pending = false;
	apply_default_caps(c);
	c->seq = 0;
	c->held_len = 0;
	omv_decoder_reset(&c->dec);
	if (c->ops->on_reset)
		c->ops->on_reset(c->ctx);
}

/* The response is fully delivered: a SET_CAPS answer now takes effect. */
static void complete(struct omv_cam *c)
{
	drop_response(c);
	if (c->caps_pending) {
		c->caps_pending = false;
		apply_caps(c, &c->pending_caps);
	}
}

static void send_next_packet(struct omv_cam *c)
{
	size_t left = c->resp_len - c->resp_off;
	uint16_t chunk = (uint16_t)(left < c->caps.max_payload ? left : c->caps.max_payload);
	bool more = c->resp_off + chunk < c->resp_len;
	uint8_t seq = c->resp_fixed_seq ? c->cmd_seq : c->seq;
	uint8_t flags = c->resp_flags_base | (more ? OMV_F_FRAGMENT : 0) |
			(c->caps.ack ? OMV_F_ACK_REQ : 0);

	c->last_len = omv_packet_encode(c->last_pkt, c->last_cap, seq, c->cmd_chan, flags,
					c->cmd_op, c->resp + c->resp_off, chunk, c->caps.crc);
	c->last_crc = c->caps.crc;
	c->resp_off += chunk;
	c->resp_all_sent = !more;
	if (!c->resp_fixed_seq)
		c->seq++;
	c->stats.sent++;
	if (c->caps.ack) {
		c->waiting_ack = true;
		c->wait_seq = seq;
		c->retries = 0;
		c->rtx_deadline = c->now + OMV_RTX_FIRST_MS;
		if (c->stats.max_ack_queue_depth < 1)
			c->stats.max_ack_queue_depth = 1;
	}
	c->ops->write(c->ctx, c->last_pkt, c->last_len);
}

/* Send what may be sent now: everything without the ack cap, else one. */
static void pump(struct omv_cam *c)
{
	while (c->cmd_active && !c->waiting_ack) {
		if (c->resp_all_sent) {
			complete(c);
			return;
		}
		send_next_packet(c);
	}
}

static void respond(struct omv_cam *c, uint8_t base_flag, const void *data, size_t len,
		    bool fixed_seq)
{
	if (len > c->resp_cap) {
		uint8_t *grown = realloc(c->resp, len);
		if (!grown) {
			/* Out of memory: still answer, as a failure. */
			uint8_t st[2];
			omv_put_u16(st, OMV_ST_FAILED);
			respond(c, OMV_F_NAK, st, sizeof(st), fixed_seq);
			return;
		}
		c->resp = grown;
		c->resp_cap = len;
	}
	if (len)
		memcpy(c->resp, data, len);
	c->resp_len = len;
	c->resp_off = 0;
	c->resp_flags_base = base_flag;
	c->resp_fixed_seq = fixed_seq;
	c->resp_all_sent = false;
	c->cmd_active = true;
	c->awaiting_reply = false;
	c->waiting_ack = false;
	pump(c);
}

static void begin_command(struct omv_cam *c, const struct omv_packet *cmd)
{
	/* A command the application has not answered yet is forgotten. */
	drop_response(c);
	c->caps_pending = false;
	c->cmd_op = cmd->opcode;
	c->cmd_chan = cmd->chan;
	c->cmd_seq = cmd->seq;
}

static bool in_step(const struct omv_cam *c, uint8_t seq)
{
	return !c->caps.seq || seq == c->seq;
}

/* NAK a command; one out of sequence gets its own seq back and leaves the
 * counter alone, so that the host can match the answer. */
static void nak(struct omv_cam *c, uint16_t status)
{
	uint8_t st[2];

	omv_put_u16(st, status);
	respond(c, OMV_F_NAK, st, sizeof(st), !in_step(c, c->cmd_seq));
}

static void on_reject(void *ctx, const struct omv_packet *hdr, int why)
{
	struct omv_cam *c = ctx;

	if (hdr->flags & (OMV_F_ACK | OMV_F_NAK | OMV_F_EVENT))
		return;
	begin_command(c, hdr);
	nak(c, why == OMV_REJECT_OVERFLOW ? OMV_ST_OVERFLOW : OMV_ST_CHECKSUM);
}

static void handle_sync(struct omv_cam *c)
{
	reinit_state(c);
	c->cmd_op = OMV_OP_PROTO_SYNC;
	c->cmd_chan = OMV_CHAN_SYSTEM;
	c->cmd_seq = 0;
	respond(c, OMV_F_ACK, NULL, 0, true);
}

/* Send the packet awaiting its ACK again, or give up after the last try. */
static void retransmit(struct omv_cam *c)
{
	if (c->retries >= OMV_RTX_RETRIES) {
		c->stats.transport++;
		reinit_state(c);
		return;
	}
	c->retries++;
	c->stats.retransmit++;
	c->stats.sent++;
	c->last_pkt[4] |= OMV_F_RTX;
	if (c->last_crc)
		omv_put_u16(c->last_pkt + 8, omv_crc16(c->last_pkt, 8));
	c->rtx_deadline = c->now + ((uint64_t)OMV_RTX_FIRST_MS << c->retries);
	c->ops->write(c->ctx, c->last_pkt, c->last_len);
}

/* A sound ACK or NAK header at held[off]? */
static bool answer_at(const struct omv_cam *c, size_t off)
{
	const uint8_t *p = c->held + off;

	return omv_get_u16(p) == OMV_SYNC_WORD && (p[4] & (OMV_F_ACK | OMV_F_NAK)) &&
	       (!c->caps.crc || omv_get_u16(p + 8) == omv_crc16(p, 8));
}

/* ... for the packet awaiting one? */
static bool answer_matches(const struct omv_cam *c, const uint8_t *p)
{
	return p[5] == c->cmd_op && p[3] == c->cmd_chan && (!c->caps.seq || p[2] == c->wait_seq);
}

/*
 * While a packet waits for its ACK, input is held and only searched for
 * that ACK (the next fragment goes out) or a NAK for it (it goes out again
 * at once); other ACKs and NAKs are dropped. Returns false when nothing
 * was found.
 */
static bool answer_held(struct omv_cam *c)
{
	size_t off = 0;

	while (off + OMV_HDR_SIZE <= c->held_len) {
		if (!answer_at(c, off)) {
			off++;
			continue;
		}
		uint8_t hdr[OMV_HDR_SIZE];

		memcpy(hdr, c->held + off, OMV_HDR_SIZE);
		memmove(c->held + off, c->held + off + OMV_HDR_SIZE,
			c->held_len - off - OMV_HDR_SIZE);
		c->held_len -= OMV_HDR_SIZE;
		c->stats.received++;
		if (!answer_matches(c, hdr))
			continue;	/* stale: gone */
		if (hdr[4] & OMV_F_ACK) {
			c->waiting_ack = false;
			pump(c);
		} else {
			retransmit(c);
		}
		return true;
	}
	return false;
}

static void handle_packet(struct omv_cam *c, const struct omv_packet *pkt);

/* Work through held input: answers while a packet waits, nothing while
 * the application works on a command, else commands. */
static void process_held(struct omv_cam *c)
{
	struct omv_packet pkt;

	if (c->processing)
		return;		/* the loop below is running further up */
	c->processing = true;
	for (;;) {
		if (c->awaiting_reply) {
			break;
		} else if (c->waiting_ack) {
			if (!answer_held(c))
				break;
		} else if (omv_decoder_next(&c->dec, &pkt)) {
			handle_packet(c, &pkt);
		} else if (c->held_len) {
			size_t n = omv_decoder_feed(&c->dec, c->held, c->held_len);

			memmove(c->held, c->held + n, c->held_len - n);
			c->held_len -= n;
		} else {
			break;
		}
	}
	c->processing = false;
}

static void handle_protocol_command(struct omv_cam *c, const struct omv_packet *cmd)
{
	uint8_t out[OMV_STATS_SIZE];
	struct omv_caps caps;

	switch (cmd->opcode) {
	case OMV_OP_PROTO_GET_CAPS:
		caps = (struct omv_caps){ .crc = true, .seq = true, .ack = true,
					  .events = true, .max_payload = c->cam_max_payload };
		omv_caps_encode(&caps, out);
		respond(c, OMV_F_ACK, out, OMV_CAPS_SIZE, false);
		break;
	case OMV_OP_PROTO_SET_CAPS:
		if (omv_caps_decode(&caps, cmd->payload, cmd->length) < 0 ||
		    caps.max_payload < OMV_MIN_PAYLOAD || caps.max_payload > c->cam_max_payload) {
			nak(c, OMV_ST_INVALID);
			break;
		}
		c->pending_caps = caps;
		c->caps_pending = true;
		respond(c, OMV_F_ACK, NULL, 0, false);
		break;
	case OMV_OP_PROTO_STATS:
		omv_stats_encode(&c->stats, out);
		respond(c, OMV_F_ACK, out, OMV_STATS_SIZE, false);
		break;
	}
}

static void handle_packet(struct omv_cam *c, const struct omv_packet *pkt)
{
	c->stats.received++;
	/* An ACK or NAK while nothing waits for one is stale; events are
	 * nothing a host should send. */
	if (pkt->flags & (OMV_F_EVENT | OMV_F_NAK | OMV_F_ACK))
		return;
	if (pkt->opcode == OMV_OP_PROTO_SYNC) {
		handle_sync(c);
		return;
	}
	begin_command(c, pkt);
	if (!in_step(c, pkt->seq)) {
		c->stats.sequence++;
		nak(c, OMV_ST_SEQUENCE);
		return;
	}
	if (pkt->opcode <= OMV_OP_SYS_MEMORY && pkt->chan != OMV_CHAN_SYSTEM) {
		nak(c, OMV_ST_INVALID);
		return;
	}
	switch (pkt->opcode) {
	case OMV_OP_PROTO_GET_CAPS:
	case OMV_OP_PROTO_SET_CAPS:
	case OMV_OP_PROTO_STATS:
		handle_protocol_command(c, pkt);
		return;
	}
	c->cmd_active = true;
	c->awaiting_reply = true;
	c->ops->command(c->ctx, pkt);
}

int omv_cam_init(struct omv_cam *c, const struct omv_cam_ops *ops, void *ctx,
		 uint16_t cam_max_payload)
{
	memset(c, 0, sizeof(*c));
	if (cam_max_payload < OMV_MIN_PAYLOAD)
		cam_max_payload = OMV_MIN_PAYLOAD;
	size_t wire = OMV_PACKET_SIZE((size_t)cam_max_payload);

	c->cam_max_payload = cam_max_payload;
	c->dec_buf = malloc(wire);
	c->last_pkt = malloc(wire);
	c->tx = malloc(OMV_PACKET_SIZE(2u));
	c->resp = malloc(cam_max_payload);
	c->held_cap = OMV_CAM_HELD_PACKETS * wire;
	c->held = malloc(c->held_cap);
	if (!c->dec_buf || !c->last_pkt || !c->tx || !c->resp || !c->held) {
		omv_cam_free(c);
		return -1;
	}
	c->last_cap = wire;
	c->tx_cap = OMV_PACKET_SIZE(2u);
	c->resp_cap = cam_max_payload;
	c->ops = ops;
	c->ctx = ctx;
	omv_decoder_init(&c->dec, c->dec_buf, wire, cam_max_payload, true);
	c->dec.reject = on_reject;
	c->dec.reject_ctx = c;
	apply_default_caps(c);
	return 0;
}

void omv_cam_free(struct omv_cam *c)
{
	free(c->dec_buf);
	free(c->last_pkt);
	free(c->tx);
	free(c->resp);
	free(c->held);
	memset(c, 0, sizeof(*c));
}

/* Input in arrival order; what does not fit while the cam waits is lost,
 * as it would be behind a full buffer. */
static void take_input(struct omv_cam *c, const uint8_t *data, size_t len)
{
	while (len) {
		size_t room = c->held_cap - c->held_len;
		size_t n = len < room ? len : room;

		memcpy(c->held + c->held_len, data, n);
		c->held_len += n;
		data += n;
		len -= n;
		process_held(c);
		if (n == 0)
			return;
	}
}

/* Slide one byte into the SYNC window; true when it completes a SYNC. */
static bool sync_window_push(struct omv_cam *c, uint8_t byte, const uint8_t *pattern)
{
	if (c->sync_fill == OMV_HDR_SIZE) {
		memmove(c->sync_window, c->sync_window + 1, OMV_HDR_SIZE - 1);
		c->sync_fill--;
	}
	c->sync_window[c->sync_fill++] = byte;
	if (c->sync_fill < OMV_HDR_SIZE || byte != pattern[OMV_HDR_SIZE - 1] ||
	    memcmp(c->sync_window, pattern, OMV_HDR_SIZE) != 0)
		return false;
	c->sync_fill = 0;
	return true;
}

void omv_cam_input(struct omv_cam *c, const uint8_t *data, size_t len, uint64_t now)
{
	uint8_t pattern[OMV_HDR_SIZE];
	size_t start = 0;

	c->now = now;
	sync_pattern(pattern);
	for (size_t i = 0; i < len; i++) {
		if (!sync_window_push(c, data[i], pattern))
			continue;
		/* The SYNC's own earlier bytes went in; the reset below throws
		 * them away with any other partial or held input. */
		take_input(c, data + start, i - start);
		start = i + 1;
		c->now = now;
		c->stats.received++;
		handle_sync(c);
	}
	take_input(c, data + start, len - start);
	c->stats.checksum = (uint32_t)c->dec.stats.checksum;
}

void omv_cam_reply(struct omv_cam *c, uint16_t status, const void *data, size_t len,
		   uint64_t now)
{
	uint8_t st[2];

	if (!c->awaiting_reply)
		return;		/* the command was dropped (SYNC, newer command) */
	c->now = now;
	if (status == OMV_ST_SUCCESS) {
		respond(c, OMV_F_ACK, data, len, false);
	} else {
		omv_put_u16(st, status);
		respond(c, OMV_F_NAK, st, sizeof(st), false);
	}
	process_held(c);	/* what came while the application worked */
}

void omv_cam_event(struct omv_cam *c, uint8_t chan, uint16_t code)
{
	uint8_t payload[2];
	uint16_t len = code == OMV_EV_NOTIFY ? 0 : 2;
	uint8_t op = chan == OMV_CHAN_SYSTEM ? OMV_OP_SYS_EVENT : OMV_OP_CHANNEL_EVENT;

	if (!c->caps.events)
		return;
	omv_put_u16(payload, code);
	size_t n = omv_packet_encode(c->tx, c->tx_cap, c->seq, chan, OMV_F_EVENT, op,
				     payload, len, c->caps.crc);
	c->stats.sent++;
	c->stats.sent_events++;
	c->ops->write(c->ctx, c->tx, n);
}

void omv_cam_reinit(struct omv_cam *c)
{
	reinit_state(c);
}

uint64_t omv_cam_deadline(const struct omv_cam *c)
{
	return c->waiting_ack ? c->rtx_deadline : OMV_DEADLINE_NONE;
}

void omv_cam_tick(struct omv_cam *c, uint64_t now)
{
	if (!c->waiting_ack || now < c->rtx_deadline)
		return;
	c->now = now;
	retransmit(c);
}
