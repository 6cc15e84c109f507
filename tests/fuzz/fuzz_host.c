/*
 * Harness: the host protocol state machine (protocol/host.h) with a fake
 * clock, driven by a script of operations (host_script.h): raw bytes and
 * well-formed (or damaged) cam packets in any number of pieces, commands
 * with the host's own or a caller's reassembly buffer, callbacks that
 * start the next command, SYNC, SET_CAPS, ticks, cancel and reset. Every
 * payload seen goes through every decoder of protocol/msg.h (msg_check.c).
 *
 * What must hold whatever arrives:
 * - every packet the host writes is exactly one packet that a receiver
 *   with the host's current settings accepts;
 * - every command started ends with exactly one done(), after which the
 *   host is idle (a SYNC reports the command it cancelled once the SYNC
 *   itself is in flight); no done() without a command;
 * - omv_host_command() fails exactly when a command is in flight or the
 *   payload is longer than the negotiated max payload;
 * - a result fits its buffer; a tick leaves no deadline in the past;
 * - with the cam silent, a command ends by its timeout after its start or
 *   the last bytes that arrived, whatever the host does meanwhile.
 *
 * With OMVD_FUZZ_SHOW set, each command's end is printed (to look at one
 * input).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "host_script.h"
#include "msg_check.h"
#include "protocol/host.h"

#define WIRE_MAX OMV_PACKET_SIZE(OMV_PAYLOAD_LIMIT)

struct run {
	struct omv_host h;
	uint64_t now;

	/* the command in flight, as we started it */
	bool inflight;
	uint8_t cmd_op, cmd_chan;
	uint32_t timeout;
	uint64_t active;		/* its start, or the last bytes in since */
	uint8_t *rx_buf;		/* caller buffer, or NULL */
	size_t rx_cap;
	uint8_t then;			/* THEN_*: what done() starts */
	unsigned dones;			/* done() calls */

	bool in_sync;			/* inside omv_host_sync() */
	bool cancel_seen;		/* ... and it reported the cancelled command */
	uint8_t check_buf[WIRE_MAX];
};

static void start_command(struct run *r, uint8_t opcode, uint8_t chan, const uint8_t *payload,
			  size_t len, uint32_t timeout, uint8_t *rx_buf, size_t rx_cap,
			  uint8_t then)
{
	bool busy = r->inflight;
	int rc = omv_host_command(&r->h, opcode, chan, len ? payload : NULL, len, r->now,
				  timeout, rx_buf, rx_cap);

	if ((rc == 0) != (!busy && len <= r->h.caps.max_payload))
		fuzz_fail("omv_host_command returned %d (busy %d, %zu bytes, max %u)", rc, busy,
			  len, r->h.caps.max_payload);
	if (rc != 0) {
		free(rx_buf);
		return;
	}
	r->inflight = true;
	r->cmd_op = opcode;
	r->cmd_chan = chan;
	r->timeout = timeout;
	r->active = r->now;
	free(r->rx_buf);
	r->rx_buf = rx_buf;
	r->rx_cap = rx_cap;
	r->then = then;
}

static void start_sync(struct run *r, uint32_t timeout)
{
	bool was = r->inflight;

	r->in_sync = true;
	r->cancel_seen = false;
	/* The SYNC is in flight before the cancelled command is reported. */
	r->inflight = true;
	r->cmd_op = OMV_OP_PROTO_SYNC;
	r->cmd_chan = OMV_CHAN_SYSTEM;
	r->timeout = timeout;
	r->active = r->now;
	free(r->rx_buf);
	r->rx_buf = NULL;
	r->then = THEN_NOTHING;
	omv_host_sync(&r->h, r->now, timeout);
	r->in_sync = false;
	if (was != r->cancel_seen)
		fuzz_fail("SYNC over a command in flight (%d) reported %d cancellations", was,
			  r->cancel_seen);
	if (!omv_host_busy(&r->h))
		fuzz_fail("no SYNC in flight after omv_host_sync");
}

/* ---- callbacks ---- */

static void on_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct run *r = ctx;
	struct omv_decoder d;
	struct omv_packet pkt;
	size_t used = 0, packets = 0;

	omv_decoder_init(&d, r->check_buf, sizeof r->check_buf, r->h.caps.max_payload,
			 r->h.caps.crc);
	while (used < len) {
		size_t n = omv_decoder_feed(&d, buf + used, len - used);

		used += n;
		while (omv_decoder_next(&d, &pkt)) {
			packets++;
			if (pkt.raw_len != len)
				fuzz_fail("host wrote a packet with bytes around it");
		}
		if (n == 0)
			break;
	}
	if (packets != 1 || used != len)
		fuzz_fail("host wrote %zu bytes holding %zu valid packets (max payload %u, crc %d)",
			  len, packets, r->h.caps.max_payload, r->h.caps.crc);
}

static void on_done(void *ctx, const struct omv_result *res)
{
	struct run *r = ctx;
	uint8_t then = r->then;

	if (r->in_sync) {
		if (res->code != OMV_ERR_CANCELLED || r->cancel_seen)
			fuzz_fail("SYNC reported %s for the command it replaced",
				  omv_result_name(res->code));
		r->cancel_seen = true;
		/* The SYNC is in flight: nothing may slip in before it. */
		if (omv_host_command(&r->h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, r->now, 100, NULL,
				     0) == 0)
			fuzz_fail("a command started while the SYNC was in flight");
		return;
	}
	if (!r->inflight)
		fuzz_fail("done(%s) without a command in flight", omv_result_name(res->code));
	if (omv_host_busy(&r->h))
		fuzz_fail("host still busy inside done()");
	if (strcmp(omv_result_name(res->code), "?") == 0)
		fuzz_fail("done() with unknown result code %d", res->code);
	r->inflight = false;
	r->dones++;
	if (getenv("OMVD_FUZZ_SHOW") != NULL)
		printf("%llu ms: %s %s, %zu bytes, status %u\n", (unsigned long long)r->now,
		       omv_opcode_name(r->cmd_op), omv_result_name(res->code), res->len, res->status);
	if (res->code == OMV_OK) {
		if (res->len > 0 && res->data == NULL)
			fuzz_fail("a result of %zu bytes without data", res->len);
		if (r->rx_buf != NULL && res->len > 0 &&
		    (res->data != r->rx_buf || res->len > r->rx_cap))
			fuzz_fail("a result of %zu bytes outside the caller's %zu-byte buffer",
				  res->len, r->rx_cap);
		if (r->rx_buf == NULL && res->len > r->h.rx_limit)
			fuzz_fail("a result of %zu bytes over the limit of %zu", res->len,
				  r->h.rx_limit);
		msg_check_all(res->data, res->len);
	}
	r->then = THEN_NOTHING;
	if (then == THEN_COMMAND)
		start_command(r, OMV_OP_CHANNEL_POLL, OMV_CHAN_SYSTEM, NULL, 0, 100, NULL, 0,
			      THEN_NOTHING);
	else if (then == THEN_SYNC)
		start_sync(r, 100);
}

/* Any event is the daemon's business; here it only must not disturb. */
static void on_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code)
{
}

static const struct omv_host_ops ops = { on_write, on_done, on_event };

/* ---- operations ---- */

static void input(struct run *r, const uint8_t *p, size_t len)
{
	omv_host_input(&r->h, p, len, r->now);
	if (r->inflight)
		r->active = r->now;
}

static void tick(struct run *r)
{
	uint64_t d;

	omv_host_tick(&r->h, r->now);
	d = omv_host_deadline(&r->h);
	if (d != OMV_DEADLINE_NONE && d <= r->now)
		fuzz_fail("a deadline (%llu) not after the tick that handled it (%llu)",
			  (unsigned long long)d, (unsigned long long)r->now);
	if (omv_host_busy(&r->h) != r->inflight)
		fuzz_fail("host busy %d, but %d commands in flight", omv_host_busy(&r->h),
			  r->inflight);
}

static bool op_packet(struct run *r, struct fuzz_reader *in)
{
	static uint8_t pkt[WIRE_MAX];
	uint8_t how, seq, flags, opcode, chan, payload[OMV_PAYLOAD_LIMIT];
	uint16_t len;
	size_t size, pieces, step;
	bool crc;

	if (!fuzz_take_u8(in, &how) || !fuzz_take_u8(in, &seq) ||
	    !fuzz_take_u8(in, &flags) || !fuzz_take_u8(in, &opcode) ||
	    !fuzz_take_u8(in, &chan) || !fuzz_take_u16(in, &len))
		return false;
	if (len > in->left)
		len = (uint16_t)in->left;
	fuzz_take(in, payload, len);
	msg_check_all(payload, len);
	if (how & HOW_HOST_SEQ)
		seq = r->h.seq;
	if ((how & HOW_CMD) && r->inflight) {
		opcode = r->cmd_op;
		chan = r->cmd_chan;
	}
	crc = (how & HOW_CRC) ? r->h.caps.crc : !r->h.caps.crc;
	size = omv_packet_encode(pkt, sizeof pkt, seq, chan, flags & 0x3F, opcode, payload, len,
				 crc);
	if (how & HOW_FLIP)
		pkt[seq % size] ^= flags | 1;
	pieces = 1 + ((how >> HOW_PIECES_SHIFT) & 3);
	step = (size + pieces - 1) / pieces;
	for (size_t off = 0; off < size; off += step)
		input(r, pkt + off, size - off < step ? size - off : step);
	return true;
}

static bool op_command(struct run *r, struct fuzz_reader *in)
{
	uint8_t opcode, chan, len, rx, then, payload[255];
	uint16_t timeout;
	uint8_t *rx_buf = NULL;

	if (!fuzz_take_u8(in, &opcode) || !fuzz_take_u8(in, &chan) ||
	    !fuzz_take_u16(in, &timeout) || !fuzz_take_u8(in, &len) ||
	    !fuzz_take(in, payload, len) || !fuzz_take_u8(in, &rx) || !fuzz_take_u8(in, &then))
		return false;
	if (rx != 0 && (rx_buf = malloc((size_t)rx * 64)) == NULL)
		fuzz_fail("out of memory");
	start_command(r, opcode, chan, payload, len, timeout, rx_buf, (size_t)rx * 64,
		      then % THEN_COUNT);
	return true;
}

static bool step(struct run *r, struct fuzz_reader *in)
{
	uint8_t op, n, buf[255], opcode, chan;
	uint16_t ms;

	if (!fuzz_take_u8(in, &op))
		return false;
	switch (op % HOP_COUNT) {
	case HOP_WIRE:
		if (!fuzz_take_u8(in, &n) || !fuzz_take(in, buf, n))
			return false;
		input(r, buf, n);
		return true;
	case HOP_PACKET:
		return op_packet(r, in);
	case HOP_COMMAND:
		return op_command(r, in);
	case HOP_SYNC:
		if (!fuzz_take_u16(in, &ms))
			return false;
		start_sync(r, ms);
		return true;
	case HOP_SET_CAPS: {
		struct omv_caps caps;
		bool busy = r->inflight;
		int rc;

		if (!fuzz_take(in, buf, OMV_CAPS_SIZE) || !fuzz_take_u16(in, &ms))
			return false;
		omv_caps_decode(&caps, buf, OMV_CAPS_SIZE);
		rc = omv_host_set_caps(&r->h, &caps, r->now, ms);
		if ((rc == 0) == busy)
			fuzz_fail("omv_host_set_caps returned %d with busy %d", rc, busy);
		if (rc == 0) {
			r->inflight = true;
			r->cmd_op = OMV_OP_PROTO_SET_CAPS;
			r->cmd_chan = OMV_CHAN_SYSTEM;
			r->timeout = ms;
			r->active = r->now;
			free(r->rx_buf);
			r->rx_buf = NULL;
			r->then = THEN_NOTHING;
		}
		return true;
	}
	case HOP_NOREPLY:
		if (!fuzz_take_u8(in, &opcode) || !fuzz_take_u8(in, &chan))
			return false;
		if ((omv_host_send_noreply(&r->h, opcode, chan) == 0) == r->inflight)
			fuzz_fail("omv_host_send_noreply disagrees about the command in flight");
		return true;
	case HOP_TIME:
		if (!fuzz_take_u16(in, &ms))
			return false;
		r->now += ms;
		tick(r);
		return true;
	case HOP_CANCEL: {
		unsigned dones = r->dones + r->inflight;

		omv_host_cancel(&r->h);
		if (r->dones != dones)
			fuzz_fail("omv_host_cancel did not report the command in flight once");
		return true;
	}
	case HOP_RESET:
		/* A new link: the command in flight is forgotten, not reported. */
		omv_host_reset(&r->h);
		r->inflight = false;
		return true;
	}
	return false;
}

/* The cam says nothing more: time alone must end the command in flight,
 * by its timeout after the last sign of life. */
static void run_out(struct run *r)
{
	for (unsigned i = 0; r->inflight; i++) {
		uint64_t d = omv_host_deadline(&r->h);

		if (d == OMV_DEADLINE_NONE || i > 100000)
			fuzz_fail("a command in flight that time does not end");
		if (d > r->active + r->timeout)
			fuzz_fail("a deadline %llu ms after the command's timeout",
				  (unsigned long long)(d - r->active - r->timeout));
		if (d > r->now)
			r->now = d;
		tick(r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	struct fuzz_reader in = { data, size };
	uint8_t limit;

	msg_check_all(data, size);
	if (!fuzz_take_u8(&in, &limit))
		return 0;
	memset(&r, 0, sizeof r);
	r.now = 1000;
	if (omv_host_init(&r.h, &ops, &r, ((size_t)1 + limit % 64) * 1024) < 0)
		fuzz_fail("omv_host_init failed");
	while (step(&r, &in))
		if (omv_host_busy(&r.h) != r.inflight)
			fuzz_fail("host busy %d, but %d commands in flight", omv_host_busy(&r.h),
				  r.inflight);
	run_out(&r);
	omv_host_free(&r.h);
	free(r.rx_buf);
	return 0;
}
