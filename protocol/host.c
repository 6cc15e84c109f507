/*
 * Host-side protocol state machine: sends commands, matches response
 * packets to the command in flight by sequence, opcode and channel, ACKs
 * them, reassembles fragments and reports the result. No I/O, no clock:
 * bytes and time come in through the API, bytes and results go out
 * through the ops callbacks. The rules are written down in docs/protocol.md.
 *
 * Callbacks may start the next command, resync or cancel; after calling
 * one, the code below never touches command state again.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/host.h"

#define RX_INITIAL 4096u
#define WIRE_MAX OMV_PACKET_SIZE(OMV_PAYLOAD_LIMIT)

static void apply_caps(struct omv_host *h, const struct omv_caps *caps)
{
	h->caps = *caps;
	h->dec.max_payload = caps->max_payload;
	h->dec.check_crc = caps->crc;
}

static void clear_command(struct omv_host *h)
{
	h->busy = false;
	h->cmd_sync = false;
	h->cmd_set_caps = false;
	h->rx_overrun = false;
	h->deadline = OMV_DEADLINE_NONE;
}

static void send_packet(struct omv_host *h, uint8_t seq, uint8_t chan, uint8_t flags,
			uint8_t opcode, const void *payload, uint16_t len, bool crc)
{
	size_t n = omv_packet_encode(h->tx, h->tx_cap, seq, chan, flags, opcode,
				     payload, len, crc);
	h->stats.sent++;
	h->ops->write(h->ctx, h->tx, n);
}

static void send_ack(struct omv_host *h, const struct omv_packet *pkt)
{
	send_packet(h, pkt->seq, pkt->chan, OMV_F_ACK, pkt->opcode, NULL, 0, h->caps.crc);
}

/* End the command in flight and report it; the last thing a caller does. */
static void finish(struct omv_host *h, int code, uint16_t status)
{
	struct omv_result r = {
		.code = code,
		.status = status,
		.data = code == OMV_OK ? h->rx : NULL,
		.len = code == OMV_OK ? h->rx_len : 0,
	};

	clear_command(h);
	if (h->ops->done)
		h->ops->done(h->ctx, &r);
}

static void start(struct omv_host *h, uint8_t opcode, uint8_t chan, const void *payload,
		  size_t len, uint64_t now, uint32_t timeout_ms, uint8_t *rx_buf, size_t rx_cap)
{
	h->busy = true;
	h->cmd_op = opcode;
	h->cmd_chan = chan;
	h->deadline = now + timeout_ms;
	h->rx_overrun = false;
	h->rx_len = 0;
	if (rx_buf) {
		h->rx = rx_buf;
		h->rx_cap = rx_cap;
		h->rx_owned = false;
	} else {
		h->rx = h->own_rx;
		h->rx_cap = h->own_rx_size;
		h->rx_owned = true;
	}
	send_packet(h, h->seq, chan, 0, opcode, payload, (uint16_t)len, h->caps.crc);
}

int omv_host_init(struct omv_host *h, const struct omv_host_ops *ops, void *ctx,
		  size_t rx_limit)
{
	memset(h, 0, sizeof(*h));
	h->dec_buf = malloc(WIRE_MAX);
	h->tx = malloc(WIRE_MAX);
	if (!h->dec_buf || !h->tx) {
		free(h->dec_buf);
		free(h->tx);
		return -1;
	}
	h->tx_cap = WIRE_MAX;
	h->ops = ops;
	h->ctx = ctx;
	h->rx_limit = rx_limit;
	omv_host_reset(h);
	return 0;
}

void omv_host_free(struct omv_host *h)
{
	free(h->dec_buf);
	free(h->tx);
	free(h->own_rx);
	memset(h, 0, sizeof(*h));
}

void omv_host_reset(struct omv_host *h)
{
	omv_decoder_init(&h->dec, h->dec_buf, WIRE_MAX, omv_caps_default.max_payload, true);
	apply_caps(h, &omv_caps_default);
	h->pending_caps = omv_caps_default;
	h->seq = 0;
	h->seq_valid = false;
	h->have_last = false;
	clear_command(h);
	h->rx = NULL;
	h->rx_len = 0;
	h->rx_cap = 0;
	memset(&h->stats, 0, sizeof(h->stats));
}

int omv_host_command(struct omv_host *h, uint8_t opcode, uint8_t chan,
		     const void *payload, size_t len, uint64_t now,
		     uint32_t timeout_ms, uint8_t *rx_buf, size_t rx_cap)
{
	if (h->busy || len > h->caps.max_payload || (len && !payload))
		return -1;
	start(h, opcode, chan, payload, len, now, timeout_ms, rx_buf, rx_cap);
	return 0;
}

void omv_host_sync(struct omv_host *h, uint64_t now, uint32_t timeout_ms)
{
	bool cancelled = h->busy;

	/* Report the cancelled command only once the SYNC is in flight, so
	 * that its callback cannot slip another command in before it. */
	clear_command(h);
	omv_decoder_reset(&h->dec);
	apply_caps(h, &omv_caps_default);
	h->seq = 0;
	h->seq_valid = false;
	h->have_last = false;
	start(h, OMV_OP_PROTO_SYNC, OMV_CHAN_SYSTEM, NULL, 0, now, timeout_ms, NULL, 0);
	h->cmd_sync = true;
	if (cancelled && h->ops->done) {
		struct omv_result r = { .code = OMV_ERR_CANCELLED };
		h->ops->done(h->ctx, &r);
	}
}

int omv_host_set_caps(struct omv_host *h, const struct omv_caps *caps,
		      uint64_t now, uint32_t timeout_ms)
{
	uint8_t payload[OMV_CAPS_SIZE];

	if (h->busy)
		return -1;
	h->pending_caps = *caps;
	if (h->pending_caps.max_payload < OMV_MIN_PAYLOAD)
		h->pending_caps.max_payload = OMV_MIN_PAYLOAD;
	omv_caps_encode(&h->pending_caps, payload);
	start(h, OMV_OP_PROTO_SET_CAPS, OMV_CHAN_SYSTEM, payload, sizeof(payload),
	      now, timeout_ms, NULL, 0);
	h->cmd_set_caps = true;
	return 0;
}

int omv_host_send_noreply(struct omv_host *h, uint8_t opcode, uint8_t chan)
{
	if (h->busy)
		return -1;
	send_packet(h, h->seq, chan, 0, opcode, NULL, 0, h->caps.crc);
	return 0;
}

uint64_t omv_host_deadline(const struct omv_host *h)
{
	return h->busy ? h->deadline : OMV_DEADLINE_NONE;
}

void omv_host_tick(struct omv_host *h, uint64_t now)
{
	if (!h->busy || now < h->deadline)
		return;
	h->stats.timeouts++;
	finish(h, OMV_ERR_TIMEOUT, 0);
}

void omv_host_cancel(struct omv_host *h)
{
	if (h->busy)
		finish(h, OMV_ERR_CANCELLED, 0);
}

static void deliver_event(struct omv_host *h, const struct omv_packet *pkt)
{
	uint16_t code;

	if (pkt->length == 0) {
		code = OMV_EV_NOTIFY;
	} else if (pkt->length >= 2) {
		code = omv_get_u16(pkt->payload);
	} else {
		h->stats.unexpected++;
		return;
	}
	h->stats.events++;
	if (h->ops->event)
		h->ops->event(h->ctx, pkt->chan, pkt->opcode, code);
}

/* Append a fragment, or mark the response as overrun and discard it. */
static void collect(struct omv_host *h, const uint8_t *data, size_t len)
{
	size_t need = h->rx_len + len;

	if (h->rx_overrun || len == 0)
		return;
	if (need > (h->rx_owned ? h->rx_limit : h->rx_cap)) {
		h->rx_overrun = true;
		return;
	}
	if (h->rx_owned && need > h->own_rx_size) {
		size_t size = h->own_rx_size ? h->own_rx_size : RX_INITIAL;
		while (size < need)
			size *= 2;
		if (size > h->rx_limit)
			size = h->rx_limit;
		uint8_t *grown = realloc(h->own_rx, size);
		if (!grown) {
			h->rx_overrun = true;
			return;
		}
		h->own_rx = h->rx = grown;
		h->own_rx_size = h->rx_cap = size;
	}
	memcpy(h->rx + h->rx_len, data, len);
	h->rx_len = need;
}

/* A response packet of the command in flight, in sequence. */
static void accept(struct omv_host *h, const struct omv_packet *pkt)
{
	if (pkt->flags & OMV_F_ACK_REQ)
		send_ack(h, pkt);
	h->last_seq = pkt->seq;
	h->last_op = pkt->opcode;
	h->last_chan = pkt->chan;
	h->have_last = true;
	if (!h->cmd_sync)
		h->seq++;

	if (pkt->flags & OMV_F_NAK) {
		h->stats.naks++;
		finish(h, OMV_ERR_NAK, pkt->length >= 2 ? omv_get_u16(pkt->payload)
							: OMV_ST_UNKNOWN);
		return;
	}
	collect(h, pkt->payload, pkt->length);
	if (pkt->flags & OMV_F_FRAGMENT)
		return;
	if (h->rx_overrun) {
		finish(h, OMV_ERR_TOO_BIG, 0);
		return;
	}
	if (h->cmd_set_caps)
		apply_caps(h, &h->pending_caps);
	if (h->cmd_sync)
		h->seq_valid = true;
	finish(h, OMV_OK, 0);
}

static void handle_packet(struct omv_host *h, const struct omv_packet *pkt)
{
	h->stats.received++;
	if (pkt->flags & OMV_F_EVENT) {
		deliver_event(h, pkt);
		return;
	}

	bool seq_ok = !h->caps.seq || pkt->seq == h->seq;
	bool same_as_last = h->have_last && pkt->seq == h->last_seq &&
			    pkt->opcode == h->last_op && pkt->chan == h->last_chan;
	bool rtx = pkt->flags & OMV_F_RTX;
	/* After SYNC the counter equals the last seq (both 0): a copy of the
	 * SYNC answer is then only a duplicate if nothing takes it. */
	bool duplicate = rtx && same_as_last && pkt->seq != h->seq;
	bool for_command = h->busy && pkt->opcode == h->cmd_op && pkt->chan == h->cmd_chan;

	if (for_command && seq_ok && !duplicate) {
		accept(h, pkt);
	} else if (rtx && same_as_last) {
		h->stats.duplicates++;
		if (pkt->flags & OMV_F_ACK_REQ)
			send_ack(h, pkt);
	} else if (!seq_ok) {
		h->stats.sequence++;
	} else {
		h->stats.unexpected++;
	}
}

void omv_host_input(struct omv_host *h, const uint8_t *data, size_t len, uint64_t now)
{
	struct omv_packet pkt;
	size_t off = 0;

	while (off < len) {
		off += omv_decoder_feed(&h->dec, data + off, len - off);
		while (omv_decoder_next(&h->dec, &pkt))
			handle_packet(h, &pkt);
	}
	h->stats.checksum = h->dec.stats.checksum;
}
