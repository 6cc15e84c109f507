/*
 * Host-side protocol state machine: sends commands, matches response
 * packets to the command in flight by sequence, opcode and channel, ACKs
 * them, reassembles fragments and reports the result; NAKs damaged
 * packets, probes overdue ones and resends commands the cam could not
 * read, with a retransmission timeout that follows the measured round
 * trip. No I/O, no clock: bytes and time come in through the API, bytes
 * and results go out through the ops callbacks. The rules are written
 * down in docs/protocol.md.
 *
 * Callbacks may start the next command, resync or cancel; after calling
 * one, the code below never touches command state again.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/crc.h"
#include "protocol/host.h"

#define RX_INITIAL 4096u
#define WIRE_MAX OMV_PACKET_SIZE(OMV_PAYLOAD_LIMIT)
#define RTO_MAX_MS 60000u		/* estimate cap */
#define RTO_BACKOFF_MAX 8u		/* doublings */
#define RTT_GRANULARITY_US 1000u	/* the clock ticks in ms */
#define STALE_WINDOW 128u		/* seqs behind the counter: old packets */

static void on_reject(void *ctx, const struct omv_packet *hdr, int why);

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
	h->probe_at = OMV_DEADLINE_NONE;
}

static void reset_decoder(struct omv_host *h)
{
	omv_decoder_init(&h->dec, h->dec_buf, WIRE_MAX, h->caps.max_payload, h->caps.crc);
	h->dec.reject = on_reject;
	h->dec.reject_ctx = h;
}

static void send_raw(struct omv_host *h, const uint8_t *buf, size_t len)
{
	h->stats.sent++;
	h->ops->write(h->ctx, buf, len);
}

/* A packet without payload: ACK, NAK, or a command that takes no answer. */
static void send_empty(struct omv_host *h, uint8_t flags, uint8_t seq, uint8_t chan,
		       uint8_t opcode)
{
	size_t n = omv_packet_encode(h->tx, h->tx_cap, seq, chan, flags, opcode, NULL, 0,
				     h->caps.crc);
	send_raw(h, h->tx, n);
}

static void send_ack(struct omv_host *h, const struct omv_packet *pkt)
{
	send_empty(h, OMV_F_ACK, pkt->seq, pkt->chan, pkt->opcode);
}

/* ------------------------------------------------------------------ */
/* round-trip estimate and the retransmission timeout */

uint32_t omv_host_rto(const struct omv_host *h, uint32_t timeout_ms)
{
	uint64_t rto = h->rtt.rto_ms > OMV_RTO_MIN_MS ? h->rtt.rto_ms : OMV_RTO_MIN_MS;

	rto <<= h->rtt.backoff;
	if (rto > timeout_ms)
		rto = timeout_ms;
	return (uint32_t)rto;
}

/* One round trip of ms milliseconds (RFC 6298, section 2). */
static void rtt_sample(struct omv_rtt *r, uint64_t ms)
{
	uint64_t sample = (ms > UINT32_MAX / 1000u ? UINT32_MAX / 1000u : ms) * 1000u;
	uint64_t var, rto;

	if (!r->valid) {
		r->valid = true;
		r->srtt_us = (uint32_t)sample;
		r->rttvar_us = (uint32_t)(sample / 2);
	} else {
		uint64_t delta = sample > r->srtt_us ? sample - r->srtt_us : r->srtt_us - sample;

		r->rttvar_us = (uint32_t)((3u * (uint64_t)r->rttvar_us + delta) / 4u);
		r->srtt_us = (uint32_t)((7u * (uint64_t)r->srtt_us + sample) / 8u);
	}
	var = 4u * (uint64_t)r->rttvar_us;
	rto = r->srtt_us + (var > RTT_GRANULARITY_US ? var : RTT_GRANULARITY_US);
	rto = (rto + 999u) / 1000u;
	r->rto_ms = (uint32_t)(rto < RTO_MAX_MS ? rto : RTO_MAX_MS);
	r->backoff = 0;
}

/*
 * A packet of the command was taken. From a clean exchange: a sample.
 * After probes (Karn: no sample), the backoff they built up stays, in case
 * the link got slower, unless the packet came one estimated RTO after the
 * last probe at the most: the cam reacted at its usual speed, so a packet
 * was lost, not late.
 */
static void rtt_taken(struct omv_host *h, const struct omv_packet *pkt)
{
	uint64_t rto = h->rtt.rto_ms > OMV_RTO_MIN_MS ? h->rtt.rto_ms : OMV_RTO_MIN_MS;

	if (h->probes == 0 && h->naks == 0) {
		if (!(pkt->flags & OMV_F_RTX))
			rtt_sample(&h->rtt, h->now - h->asked_at);
	} else if (h->now <= h->probed_at + rto) {
		h->rtt.backoff = 0;
	}
}

/* The next probe one RTO from now (the backoff doubles it each time), or
 * the give-up if that comes first. */
static void arm_probe(struct omv_host *h)
{
	uint64_t next = h->now + omv_host_rto(h, h->timeout_ms);

	h->probe_at = next < h->give_up_at ? next : h->give_up_at;
}

/*
 * The next packet was just asked for (command sent, or previous ACKed).
 * Give up on it after 15 RTOs of silence, but not before
 * OMV_GIVE_UP_MIN_MS (a cam or host that stalls for a moment is no
 * reason to resync), and never after the timeout.
 */
static void expect_next(struct omv_host *h)
{
	uint64_t patience = 15u * (uint64_t)omv_host_rto(h, h->timeout_ms);

	if (patience < OMV_GIVE_UP_MIN_MS)
		patience = OMV_GIVE_UP_MIN_MS;
	h->asked_at = h->now;
	h->probes = 0;
	h->naks = 0;
	h->give_up_at = h->deadline < h->now + patience ? h->deadline : h->now + patience;
	arm_probe(h);
}

/* The command moved on: its inactivity timeout starts again. */
static void progress(struct omv_host *h)
{
	h->deadline = h->now + h->timeout_ms;
	expect_next(h);
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

	/* A copy sent by a probe may still be refused by the cam (NAK
	 * SEQUENCE) after it answered the first: see accept(). */
	h->refusal_due = h->copied;
	h->copied = false;
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
	h->now = now;
	h->timeout_ms = timeout_ms;
	h->resends = 0;
	h->rx_overrun = false;
	h->copied = false;
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
	h->cmd_len = omv_packet_encode(h->cmd_pkt, WIRE_MAX, h->seq, chan, 0, opcode, payload,
				       (uint16_t)len, h->caps.crc);
	h->answering = false;
	progress(h);
	send_raw(h, h->cmd_pkt, h->cmd_len);
}

int omv_host_init(struct omv_host *h, const struct omv_host_ops *ops, void *ctx,
		  size_t rx_limit)
{
	memset(h, 0, sizeof(*h));
	h->dec_buf = malloc(WIRE_MAX);
	h->tx = malloc(OMV_HDR_SIZE);
	h->cmd_pkt = malloc(WIRE_MAX);
	if (!h->dec_buf || !h->tx || !h->cmd_pkt) {
		free(h->dec_buf);
		free(h->tx);
		free(h->cmd_pkt);
		return -1;
	}
	h->tx_cap = OMV_HDR_SIZE;
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
	free(h->cmd_pkt);
	free(h->own_rx);
	memset(h, 0, sizeof(*h));
}

void omv_host_reset(struct omv_host *h)
{
	h->caps = omv_caps_default;
	reset_decoder(h);
	h->pending_caps = omv_caps_default;
	memset(&h->rtt, 0, sizeof(h->rtt));
	h->rtt.rto_ms = OMV_RTO_INITIAL_MS;
	h->seq = 0;
	h->seq_valid = false;
	h->have_last = false;
	h->refusal_due = false;
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
	h->refusal_due = false;
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
	send_empty(h, 0, h->seq, chan, opcode);
	return 0;
}

uint64_t omv_host_deadline(const struct omv_host *h)
{
	if (!h->busy)
		return OMV_DEADLINE_NONE;
	return h->probe_at < h->deadline ? h->probe_at : h->deadline;
}

/*
 * The expected packet is overdue. Either it was lost (the cam waits for
 * its ACK: a NAK brings it again), or the ACK of the packet before it was
 * (the cam still waits for that one: repeating the ACK moves it on), or,
 * when nothing of the answer came, the command itself never arrived. If
 * the first probe did not help, the command goes out again as it was:
 * under the same seq, a cam that did get it refuses the copy (NAK
 * SEQUENCE, after it has answered the first), so it never runs twice.
 * Without the seq cap that is not sure, and only a resync helps. A SYNC
 * is simply sent again.
 *
 * Each NAK costs the cam one of its three tries, and a fourth makes it
 * give up: the first two probes NAK, and the last before the give-up, so
 * that a short outage does not use them all up; the others only repeat
 * the ACK and the command.
 */
static void probe(struct omv_host *h)
{
	bool last;

	h->stats.probes++;
	h->probes++;
	h->probed_at = h->now;
	if (h->rtt.backoff < RTO_BACKOFF_MAX)
		h->rtt.backoff++;
	arm_probe(h);
	last = h->probe_at == h->give_up_at;
	if (h->cmd_sync) {
		send_raw(h, h->cmd_pkt, h->cmd_len);
		return;
	}
	if (h->have_last && h->last_ack_req)
		send_empty(h, OMV_F_ACK, h->last_seq, h->last_chan, h->last_op);
	if (h->naks < OMV_HOST_NAKS && (h->naks + 1 < OMV_HOST_NAKS || last)) {
		h->naks++;
		send_empty(h, OMV_F_NAK, h->seq, h->cmd_chan, h->cmd_op);
	}
	if (!h->answering && h->caps.seq && h->probes > 1) {
		h->stats.resent++;
		h->copied = true;
		send_raw(h, h->cmd_pkt, h->cmd_len);
	}
}

void omv_host_tick(struct omv_host *h, uint64_t now)
{
	if (!h->busy)
		return;
	h->now = now;
	if (now >= h->deadline) {
		h->stats.timeouts++;
		finish(h, OMV_ERR_TIMEOUT, 0);
	} else if (now >= h->give_up_at) {
		h->stats.timeouts++;
		h->stats.gave_up++;
		finish(h, OMV_ERR_TIMEOUT, 0);
	} else if (now >= h->probe_at) {
		probe(h);
	}
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

/* The cam could not read the command's payload (CRC): it did nothing, and
 * the counters moved on together. Send it again under the new seq. */
static void resend(struct omv_host *h)
{
	h->resends++;
	h->stats.resent++;
	h->cmd_pkt[2] = h->seq;
	if (h->caps.crc)
		omv_put_u16(h->cmd_pkt + 8, omv_crc16(h->cmd_pkt, 8));
	h->answering = false;
	progress(h);
	send_raw(h, h->cmd_pkt, h->cmd_len);
}

/* A response packet of the command in flight, in sequence. */
static void accept(struct omv_host *h, const struct omv_packet *pkt)
{
	bool refusal_due = h->refusal_due;

	h->refusal_due = false;
	if (pkt->flags & OMV_F_ACK_REQ)
		send_ack(h, pkt);
	rtt_taken(h, pkt);
	h->last_seq = pkt->seq;
	h->last_op = pkt->opcode;
	h->last_chan = pkt->chan;
	h->last_ack_req = pkt->flags & OMV_F_ACK_REQ;
	h->have_last = true;
	if (!h->cmd_sync)
		h->seq++;

	if (pkt->flags & OMV_F_NAK) {
		uint16_t status = pkt->length >= 2 ? omv_get_u16(pkt->payload) : OMV_ST_UNKNOWN;

		h->stats.naks++;
		if (status == OMV_ST_CHECKSUM && !h->cmd_sync && h->resends < OMV_HOST_RESENDS) {
			resend(h);
			return;
		}
		/* A cam that numbers its refusal of the previous command's copy
		 * with its own counter: the counters are apart, but the cam did
		 * not reboot. */
		if (status == OMV_ST_SEQUENCE && refusal_due) {
			finish(h, OMV_ERR_PROTOCOL, status);
			return;
		}
		finish(h, OMV_ERR_NAK, status);
		return;
	}
	collect(h, pkt->payload, pkt->length);
	if (pkt->flags & OMV_F_FRAGMENT) {
		h->answering = true;
		progress(h);
		return;
	}
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
	/* Behind the counter: a copy of a packet taken earlier, or the cam
	 * refusing a command that went out twice. The cam may wait for its
	 * ACK: give it, drop the packet. */
	uint8_t behind = (uint8_t)(h->seq - pkt->seq);
	bool stale = h->caps.seq && behind >= 1 && behind <= STALE_WINDOW;

	if (for_command && seq_ok && !duplicate) {
		accept(h, pkt);
	} else if (same_as_last || stale) {
		h->stats.duplicates++;
		if (pkt->flags & OMV_F_ACK_REQ)
			send_ack(h, pkt);
	} else if (!seq_ok) {
		h->stats.sequence++;
	} else {
		h->stats.unexpected++;
	}
}

/*
 * The decoder threw away a packet whose header was sound. If it is the
 * packet the command waits for and the cam waits for its ACK, a NAK
 * brings it again at once; a damaged copy of the packet accepted last is
 * ACKed again. At most OMV_HOST_NAKS NAKs per packet: the cam resets
 * itself after that many resends.
 */
static void on_reject(void *ctx, const struct omv_packet *hdr, int why)
{
	struct omv_host *h = ctx;
	bool current = h->busy && hdr->opcode == h->cmd_op && hdr->chan == h->cmd_chan &&
		       (!h->caps.seq || hdr->seq == h->seq);

	if (why != OMV_REJECT_PAYLOAD_CRC || (hdr->flags & OMV_F_EVENT) ||
	    !(hdr->flags & OMV_F_ACK_REQ))
		return;
	if (!current && h->have_last && hdr->seq == h->last_seq &&
	    hdr->opcode == h->last_op && hdr->chan == h->last_chan) {
		h->stats.duplicates++;
		send_ack(h, hdr);
		return;
	}
	if (!current || h->naks >= OMV_HOST_NAKS)
		return;
	h->stats.damaged++;
	h->naks++;
	h->probed_at = h->now;
	send_empty(h, OMV_F_NAK, hdr->seq, hdr->chan, hdr->opcode);
	arm_probe(h);
}

void omv_host_input(struct omv_host *h, const uint8_t *data, size_t len, uint64_t now)
{
	struct omv_packet pkt;
	size_t off = 0;

	h->now = now;
	while (off < len) {
		off += omv_decoder_feed(&h->dec, data + off, len - off);
		while (omv_decoder_next(&h->dec, &pkt))
			handle_packet(h, &pkt);
	}
	h->stats.checksum = h->dec.stats.checksum;
}
