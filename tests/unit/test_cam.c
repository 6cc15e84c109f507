/*
 * Cam state machine against hand-made host packets: the NAK statuses for
 * crafted bad input (SEQUENCE, CHECKSUM, OVERFLOW, INVALID), silence on a
 * bad header, the protocol opcodes it answers itself, SET_CAPS limits and
 * timing, the SYNC window, the retransmission schedule and give-up, the
 * host's NAK as a request to send again now, events, and how input waits
 * while a packet waits for its ACK.
 */
#include <string.h>

#include "protocol/cam.h"
#include "protocol/crc.h"
#include "check.h"

struct rig {
	struct omv_cam c;
	uint8_t out[32][OMV_PACKET_SIZE(128u)];
	size_t out_len[32];
	size_t nout;
	unsigned commands, resets;
	struct omv_packet last_cmd;
	uint8_t last_payload[128];
	bool reply_now;		/* answer commands with 'reply' at once */
	const uint8_t *reply;
	size_t reply_len;
};

static void r_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct rig *r = ctx;

	CHECK(r->nout < 32 && len <= sizeof(r->out[0]));
	memcpy(r->out[r->nout], buf, len);
	r->out_len[r->nout++] = len;
}

static void r_command(void *ctx, const struct omv_packet *cmd)
{
	struct rig *r = ctx;

	r->commands++;
	r->last_cmd = *cmd;
	CHECK(cmd->length <= sizeof(r->last_payload));
	if (cmd->length)
		memcpy(r->last_payload, cmd->payload, cmd->length);
	if (r->reply_now)
		omv_cam_reply(&r->c, OMV_ST_SUCCESS, r->reply, r->reply_len, 0);
}

static void r_reset(void *ctx)
{
	struct rig *r = ctx;

	r->resets++;
}

static const struct omv_cam_ops r_ops = { r_write, r_command, r_reset };

static void rig_init(struct rig *r, uint16_t max)
{
	memset(r, 0, sizeof(*r));
	CHECK_EQ(omv_cam_init(&r->c, &r_ops, r, max), 0);
}

static size_t host_send(struct rig *r, uint8_t seq, uint8_t chan, uint8_t flags, uint8_t op,
			const void *payload, uint16_t len, bool crc, uint64_t now)
{
	uint8_t *pkt = xmalloc(OMV_PACKET_SIZE((size_t)len));
	size_t n = omv_packet_encode(pkt, OMV_PACKET_SIZE((size_t)len), seq, chan, flags, op,
				     payload, len, crc);
	size_t before = r->nout;
	CHECK(n > 0);
	omv_cam_input(&r->c, pkt, n, now);
	free(pkt);
	return r->nout - before;
}

static void expect_out(struct rig *r, size_t i, uint8_t seq, uint8_t chan, uint8_t flags,
		       uint8_t op, uint16_t len)
{
	CHECK(i < r->nout);
	const uint8_t *p = r->out[i];
	CHECK_EQ(omv_get_u16(p), OMV_SYNC_WORD);
	CHECK_EQ(p[2], seq);
	CHECK_EQ(p[3], chan);
	CHECK_EQ(p[4], flags);
	CHECK_EQ(p[5], op);
	CHECK_EQ(omv_get_u16(p + 6), len);
	CHECK_EQ(r->out_len[i], OMV_PACKET_SIZE((size_t)len));
}

static void expect_nak(struct rig *r, size_t i, uint8_t seq, uint8_t chan, uint8_t op,
		       uint16_t status)
{
	expect_out(r, i, seq, chan, OMV_F_NAK | OMV_F_ACK_REQ, op, 2);
	CHECK_EQ(omv_get_u16(r->out[i] + OMV_HDR_SIZE), status);
}

#define RESP (OMV_F_ACK | OMV_F_ACK_REQ)

/* ACK the cam's last packet. */
static void ack_last(struct rig *r, uint64_t now)
{
	const uint8_t *p = r->out[r->nout - 1];
	CHECK_EQ(host_send(r, p[2], p[3], OMV_F_ACK, p[5], NULL, 0, r->c.caps.crc, now), 0);
	CHECK(!r->c.waiting_ack);
}

/* ACK the cam's last packet, which brings out the next fragment. */
static void ack_for_next(struct rig *r, uint64_t now)
{
	const uint8_t *p = r->out[r->nout - 1];
	CHECK_EQ(host_send(r, p[2], p[3], OMV_F_ACK, p[5], NULL, 0, r->c.caps.crc, now), 1);
}

static void test_protocol_opcodes(void)
{
	struct rig r;
	struct omv_caps caps;
	struct omv_proto_stats st;

	rig_init(&r, 1000);
	CHECK_EQ(host_send(&r, 0, 0, 0, OMV_OP_PROTO_GET_CAPS, NULL, 0, true, 0), 1);
	expect_out(&r, 0, 0, 0, RESP, OMV_OP_PROTO_GET_CAPS, OMV_CAPS_SIZE);
	CHECK_EQ(omv_caps_decode(&caps, r.out[0] + OMV_HDR_SIZE, OMV_CAPS_SIZE), 0);
	CHECK(caps.crc && caps.seq && caps.ack && caps.events);
	CHECK_EQ(caps.max_payload, 1000);
	CHECK_EQ(r.c.seq, 1);
	CHECK(r.c.waiting_ack);
	CHECK_EQ(omv_cam_deadline(&r.c), OMV_RTX_FIRST_MS);
	/* An ACK with the wrong seq or opcode is ignored. */
	host_send(&r, 5, 0, OMV_F_ACK, OMV_OP_PROTO_GET_CAPS, NULL, 0, true, 0);
	host_send(&r, 0, 0, OMV_F_ACK, OMV_OP_PROTO_STATS, NULL, 0, true, 0);
	host_send(&r, 0, 1, OMV_F_ACK, OMV_OP_PROTO_GET_CAPS, NULL, 0, true, 0);
	CHECK(r.c.waiting_ack);
	ack_last(&r, 0);
	CHECK_EQ(omv_cam_deadline(&r.c), OMV_DEADLINE_NONE);

	/* SET_CAPS outside [50, cam max] is refused; a valid one applies
	 * only after its ACK. */
	uint8_t payload[OMV_CAPS_SIZE];
	const uint16_t refused[] = { 1001, OMV_MIN_PAYLOAD - 1 };
	for (uint8_t i = 0; i < 2; i++) {
		omv_caps_encode(&(struct omv_caps){ .crc = true, .seq = true, .ack = true,
						    .max_payload = refused[i] }, payload);
		CHECK_EQ(host_send(&r, 1 + i, 0, 0, OMV_OP_PROTO_SET_CAPS, payload,
				   OMV_CAPS_SIZE, true, 0), 1);
		expect_nak(&r, r.nout - 1, 1 + i, 0, OMV_OP_PROTO_SET_CAPS, OMV_ST_INVALID);
		ack_last(&r, 0);
		CHECK_EQ(r.c.caps.max_payload, 1000);
	}
	omv_caps_encode(&(struct omv_caps){ .crc = true, .seq = true, .ack = true,
					    .max_payload = OMV_MIN_PAYLOAD }, payload);
	CHECK_EQ(host_send(&r, 3, 0, 0, OMV_OP_PROTO_SET_CAPS, payload, OMV_CAPS_SIZE, true, 0), 1);
	expect_out(&r, r.nout - 1, 3, 0, RESP, OMV_OP_PROTO_SET_CAPS, 0);
	CHECK_EQ(r.c.caps.max_payload, 1000);
	CHECK(r.c.caps.events);
	ack_last(&r, 0);
	CHECK_EQ(r.c.caps.max_payload, OMV_MIN_PAYLOAD);
	CHECK(!r.c.caps.events);
	CHECK_EQ(r.c.dec.max_payload, OMV_MIN_PAYLOAD);

	/* PROTO_STATS reports the real counters: every packet taken (the
	 * three stale ACKs once the wait ended), every packet sent. */
	struct omv_proto_stats before = r.c.stats;
	host_send(&r, 4, 0, 0, OMV_OP_PROTO_STATS, NULL, 0, true, 0);
	CHECK_EQ(omv_stats_decode(&st, r.out[r.nout - 1] + OMV_HDR_SIZE, OMV_STATS_SIZE), 0);
	CHECK_EQ(st.received, before.received + 1);
	CHECK_EQ(st.received, 12);
	CHECK_EQ(st.sent, before.sent);
	CHECK_EQ(st.sent, 4);
	CHECK_EQ(r.commands, 0);
	omv_cam_free(&r.c);
}

static void test_nak_statuses(void)
{
	struct rig r;
	uint8_t pkt[OMV_PACKET_SIZE(100u)], data[100];

	rig_init(&r, 52);
	memset(data, 0x42, sizeof(data));

	/* SEQUENCE: answered with the command's own seq; counter stays. */
	CHECK_EQ(host_send(&r, 7, 1, 0, OMV_OP_CHANNEL_IOCTL, data, 4, true, 0), 1);
	expect_nak(&r, 0, 7, 1, OMV_OP_CHANNEL_IOCTL, OMV_ST_SEQUENCE);
	CHECK_EQ(r.c.seq, 0);
	CHECK_EQ(r.c.stats.sequence, 1);
	ack_last(&r, 0);

	/* CHECKSUM: a sound header, a broken payload. */
	size_t n = omv_packet_encode(pkt, sizeof(pkt), 0, 1, 0, OMV_OP_CHANNEL_WRITE, data, 20, true);
	pkt[OMV_HDR_SIZE + 5] ^= 0x10;
	omv_cam_input(&r.c, pkt, n, 0);
	CHECK_EQ(r.nout, 2);
	expect_nak(&r, 1, 0, 1, OMV_OP_CHANNEL_WRITE, OMV_ST_CHECKSUM);
	CHECK_EQ(r.c.seq, 1);
	CHECK_EQ(r.c.stats.checksum, 1);
	ack_last(&r, 0);

	/* A bad header CRC gets no answer at all. */
	n = omv_packet_encode(pkt, sizeof(pkt), 1, 0, 0, OMV_OP_SYS_INFO, NULL, 0, true);
	pkt[9] ^= 1;
	omv_cam_input(&r.c, pkt, n, 0);
	CHECK_EQ(r.nout, 2);
	CHECK_EQ(r.c.stats.checksum, 2);

	/* OVERFLOW: 60 > 52 (a command after it: test_overflow_then_command). */
	CHECK_EQ(host_send(&r, 1, 2, 0, OMV_OP_CHANNEL_READ, data, 60, true, 0), 1);
	expect_nak(&r, 2, 1, 2, OMV_OP_CHANNEL_READ, OMV_ST_OVERFLOW);
	CHECK_EQ(r.commands, 0);
	ack_last(&r, 0);
	CHECK_EQ(r.c.seq, 2);
	CHECK_EQ(r.c.stats.checksum, 2);

	/* INVALID: system and protocol opcodes only on channel 0. */
	CHECK_EQ(host_send(&r, 2, 3, 0, OMV_OP_SYS_INFO, NULL, 0, true, 0), 1);
	expect_nak(&r, r.nout - 1, 2, 3, OMV_OP_SYS_INFO, OMV_ST_INVALID);
	ack_last(&r, 0);
	CHECK_EQ(host_send(&r, 3, 1, 0, OMV_OP_PROTO_STATS, NULL, 0, true, 0), 1);
	expect_nak(&r, r.nout - 1, 3, 1, OMV_OP_PROTO_STATS, OMV_ST_INVALID);
	ack_last(&r, 0);
	CHECK_EQ(host_send(&r, 4, 0, 0, OMV_OP_PROTO_SET_CAPS, data, 15, true, 0), 1);
	expect_nak(&r, r.nout - 1, 4, 0, OMV_OP_PROTO_SET_CAPS, OMV_ST_INVALID);
	ack_last(&r, 0);
	CHECK_EQ(r.c.seq, 5);
	CHECK_EQ(r.commands, 0);

	/* The application's own NAK. */
	CHECK_EQ(host_send(&r, 5, 3, 0, OMV_OP_CHANNEL_LOCK, NULL, 0, true, 0), 0);
	CHECK_EQ(r.commands, 1);
	CHECK_EQ(r.last_cmd.opcode, OMV_OP_CHANNEL_LOCK);
	omv_cam_reply(&r.c, OMV_ST_BUSY, NULL, 0, 0);
	expect_nak(&r, r.nout - 1, 5, 3, OMV_OP_CHANNEL_LOCK, OMV_ST_BUSY);
	ack_last(&r, 0);
	/* A second reply to the same command goes nowhere. */
	size_t before = r.nout;
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, NULL, 0, 0);
	CHECK_EQ(r.nout, before);
	omv_cam_free(&r.c);
}

/* OVERFLOW then a command in the same input: both answered in order. */
static void test_overflow_then_command(void)
{
	struct rig r;
	uint8_t two[OMV_PACKET_SIZE(60u) + OMV_HDR_SIZE], data[60];

	rig_init(&r, 52);
	memset(data, 0xAA, sizeof(data));	/* sync-like bytes to scan past */
	size_t n = omv_packet_encode(two, sizeof(two), 0, 2, 0, OMV_OP_CHANNEL_READ, data, 60, true);
	n += omv_packet_encode(two + n, sizeof(two) - n, 1, 0, 0, OMV_OP_CHANNEL_POLL, NULL, 0, true);
	r.reply_now = true;
	r.reply = (const uint8_t *)"\1\0\0\0";
	r.reply_len = 4;
	omv_cam_input(&r.c, two, n, 0);
	/* The POLL arrived while the NAK waited for its ACK: it waits too. */
	CHECK_EQ(r.nout, 1);
	expect_nak(&r, 0, 0, 2, OMV_OP_CHANNEL_READ, OMV_ST_OVERFLOW);
	CHECK_EQ(r.commands, 0);
	ack_for_next(&r, 0);
	expect_out(&r, 1, 1, 0, RESP, OMV_OP_CHANNEL_POLL, 4);
	CHECK_EQ(r.commands, 1);
	ack_last(&r, 0);
	CHECK_EQ(r.c.seq, 2);
	omv_cam_free(&r.c);
}

static void test_fragments_and_rtx(void)
{
	struct rig r;
	uint8_t data[120];

	rig_init(&r, 52);
	for (int i = 0; i < 120; i++)
		data[i] = (uint8_t)i;
	CHECK_EQ(host_send(&r, 0, 3, 0, OMV_OP_CHANNEL_READ, "12345678", 8, true, 100), 0);
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, data, sizeof(data), 100);
	/* 120 bytes at 52: 52 + 52 + 16, one at a time. */
	CHECK_EQ(r.nout, 1);
	expect_out(&r, 0, 0, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, 52);
	CHECK(memcmp(r.out[0] + OMV_HDR_SIZE, data, 52) == 0);
	CHECK_EQ(omv_cam_deadline(&r.c), 600);
	omv_cam_tick(&r.c, 599);
	CHECK_EQ(r.nout, 1);
	omv_cam_tick(&r.c, 600);
	CHECK_EQ(r.nout, 2);
	expect_out(&r, 1, 0, 3, RESP | OMV_F_FRAGMENT | OMV_F_RTX, OMV_OP_CHANNEL_READ, 52);
	CHECK_EQ(omv_get_u16(r.out[1] + 8), omv_crc16(r.out[1], 8));
	CHECK(memcmp(r.out[1] + OMV_HDR_SIZE, data, 52) == 0);
	CHECK_EQ(omv_cam_deadline(&r.c), 1600);
	ack_for_next(&r, 700);
	CHECK_EQ(r.nout, 3);
	expect_out(&r, 2, 1, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, 52);
	CHECK_EQ(omv_cam_deadline(&r.c), 1200);	/* a fresh schedule */
	ack_for_next(&r, 700);
	expect_out(&r, 3, 2, 3, RESP, OMV_OP_CHANNEL_READ, 16);
	CHECK(memcmp(r.out[3] + OMV_HDR_SIZE, data + 104, 16) == 0);
	ack_last(&r, 700);
	CHECK_EQ(r.c.seq, 3);
	CHECK(!r.c.cmd_active);
	CHECK_EQ(r.c.stats.retransmit, 1);

	/* Full schedule and give-up: 500, +1000, +2000, then 4000 more. */
	CHECK_EQ(host_send(&r, 3, 3, 0, OMV_OP_CHANNEL_READ, "12345678", 8, true, 10000), 0);
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, data, 10, 10000);
	size_t first = r.nout - 1;
	unsigned resets = r.resets;
	const uint64_t at[] = { 10500, 11500, 13500 };
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(omv_cam_deadline(&r.c), at[i]);
		omv_cam_tick(&r.c, at[i]);
		expect_out(&r, first + 1 + (size_t)i, 3, 3, RESP | OMV_F_RTX, OMV_OP_CHANNEL_READ, 10);
	}
	CHECK_EQ(omv_cam_deadline(&r.c), 17500);
	omv_cam_tick(&r.c, 17499);
	CHECK_EQ(r.resets, resets);
	omv_cam_tick(&r.c, 17500);
	CHECK_EQ(r.resets, resets + 1);
	CHECK_EQ(r.nout, first + 4);	/* no answer to the give-up */
	CHECK_EQ(r.c.stats.retransmit, 4);
	CHECK_EQ(r.c.stats.transport, 1);
	CHECK_EQ(r.c.seq, 0);
	CHECK_EQ(omv_cam_deadline(&r.c), OMV_DEADLINE_NONE);
	omv_cam_free(&r.c);
}

/* A host NAK for the packet awaiting its ACK: sent again at once, and it
 * counts as one of the cam's tries. NAKs for anything else are ignored. */
static void test_nak_retransmits(void)
{
	struct rig r;
	uint8_t data[120];

	rig_init(&r, 52);
	for (int i = 0; i < 120; i++)
		data[i] = (uint8_t)(i * 7);
	/* Nothing waits: a NAK changes nothing. */
	CHECK_EQ(host_send(&r, 0, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, NULL, 0, true, 0), 0);
	CHECK_EQ(host_send(&r, 0, 3, 0, OMV_OP_CHANNEL_READ, "12345678", 8, true, 100), 0);
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, data, sizeof(data), 100);
	expect_out(&r, 0, 0, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, 52);
	/* Another seq, opcode or channel: ignored. */
	CHECK_EQ(host_send(&r, 9, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, NULL, 0, true, 110), 0);
	CHECK_EQ(host_send(&r, 0, 3, OMV_F_NAK, OMV_OP_CHANNEL_SIZE, NULL, 0, true, 110), 0);
	CHECK_EQ(host_send(&r, 0, 2, OMV_F_NAK, OMV_OP_CHANNEL_READ, NULL, 0, true, 110), 0);
	CHECK_EQ(r.c.stats.retransmit, 0);
	/* The matching NAK: the same bytes again with RTX, now. */
	CHECK_EQ(host_send(&r, 0, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, NULL, 0, true, 120), 1);
	expect_out(&r, 1, 0, 3, RESP | OMV_F_FRAGMENT | OMV_F_RTX, OMV_OP_CHANNEL_READ, 52);
	CHECK_EQ(omv_get_u16(r.out[1] + 8), omv_crc16(r.out[1], 8));
	CHECK(memcmp(r.out[1] + OMV_HDR_SIZE, data, 52) == 0);
	CHECK_EQ(r.c.stats.retransmit, 1);
	CHECK_EQ(omv_cam_deadline(&r.c), 120 + 2 * OMV_RTX_FIRST_MS);
	/* The next fragment after the ACK; its NAK brings it again. */
	ack_for_next(&r, 130);
	expect_out(&r, 2, 1, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, 52);
	CHECK_EQ(host_send(&r, 1, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, NULL, 0, true, 140), 1);
	expect_out(&r, 3, 1, 3, RESP | OMV_F_FRAGMENT | OMV_F_RTX, OMV_OP_CHANNEL_READ, 52);
	CHECK(memcmp(r.out[3] + OMV_HDR_SIZE, data + 52, 52) == 0);
	/* Three tries spent on this packet: the fourth NAK ends it all. */
	CHECK_EQ(host_send(&r, 1, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, NULL, 0, true, 150), 1);
	CHECK_EQ(host_send(&r, 1, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, NULL, 0, true, 160), 1);
	CHECK_EQ(r.c.stats.retransmit, 4);
	CHECK_EQ(r.resets, 0);
	CHECK_EQ(host_send(&r, 1, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, NULL, 0, true, 170), 0);
	CHECK_EQ(r.resets, 1);
	CHECK_EQ(r.c.stats.transport, 1);
	CHECK_EQ(r.c.seq, 0);
	CHECK(!r.c.waiting_ack);
	/* A NAK after the give-up is ignored, and the cam still answers. */
	CHECK_EQ(host_send(&r, 1, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, NULL, 0, true, 180), 0);
	r.reply_now = true;
	r.reply = data;
	r.reply_len = 4;
	CHECK_EQ(host_send(&r, 0, 0, 0, OMV_OP_CHANNEL_POLL, NULL, 0, true, 190), 1);
	expect_out(&r, r.nout - 1, 0, 0, RESP, OMV_OP_CHANNEL_POLL, 4);
	omv_cam_free(&r.c);
}

/* While the application works on a command, input waits: a copy of the
 * command (a host's probe) is read only after the answer went out, and is
 * then refused (NAK SEQUENCE, under its own seq). A SYNC still gets in. */
static void test_input_waits_for_reply(void)
{
	struct rig r;

	rig_init(&r, 1000);
	CHECK_EQ(host_send(&r, 0, 2, 0, OMV_OP_CHANNEL_SIZE, NULL, 0, true, 0), 0);
	CHECK_EQ(r.commands, 1);
	CHECK_EQ(host_send(&r, 0, 2, 0, OMV_OP_CHANNEL_SIZE, NULL, 0, true, 10), 0);
	CHECK_EQ(r.commands, 1);
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, "\4\0\0\0", 4, 20);
	CHECK_EQ(r.nout, 1);
	expect_out(&r, 0, 0, 2, RESP, OMV_OP_CHANNEL_SIZE, 4);
	/* the ACK ends the wait; then the copy is read, and refused */
	CHECK_EQ(host_send(&r, 0, 2, OMV_F_ACK, OMV_OP_CHANNEL_SIZE, NULL, 0, true, 30), 1);
	expect_nak(&r, 1, 0, 2, OMV_OP_CHANNEL_SIZE, OMV_ST_SEQUENCE);
	CHECK_EQ(r.commands, 1);
	CHECK_EQ(r.c.seq, 1);
	ack_last(&r, 30);

	/* never answered: a SYNC gets through, and what waited is gone */
	CHECK_EQ(host_send(&r, 1, 2, 0, OMV_OP_CHANNEL_SIZE, NULL, 0, true, 40), 0);
	CHECK_EQ(host_send(&r, 2, 0, 0, OMV_OP_CHANNEL_POLL, NULL, 0, true, 40), 0);
	CHECK_EQ(r.commands, 2);
	CHECK(r.c.held_len > 0);
	CHECK_EQ(host_send(&r, 0, 0, 0, OMV_OP_PROTO_SYNC, NULL, 0, true, 50), 1);
	expect_out(&r, r.nout - 1, 0, 0, RESP, OMV_OP_PROTO_SYNC, 0);
	CHECK_EQ(r.c.held_len, 0);
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, "\4\0\0\0", 4, 60);	/* too late: ignored */
	ack_last(&r, 60);
	CHECK_EQ(r.commands, 2);
	omv_cam_free(&r.c);
}

static void test_sync_window(void)
{
	struct rig r;
	uint8_t sync[OMV_HDR_SIZE], stream[200], pkt[OMV_PACKET_SIZE(100u)], data[100];

	rig_init(&r, 1000);
	omv_packet_encode(sync, sizeof(sync), 0, 0, 0, OMV_OP_PROTO_SYNC, NULL, 0, true);
	memset(data, 0x33, sizeof(data));

	/* Garbage, half a packet, then SYNC: fed one byte at a time. */
	size_t n = 0;
	memcpy(stream, "\x01\xAA\xD5\x07", 4);
	n = 4;
	size_t pn = omv_packet_encode(pkt, sizeof(pkt), 0, 1, 0, OMV_OP_CHANNEL_WRITE, data, 50, true);
	memcpy(stream + n, pkt, pn / 3);
	n += pn / 3;
	memcpy(stream + n, sync, sizeof(sync));
	n += sizeof(sync);
	for (size_t i = 0; i < n; i++)
		omv_cam_input(&r.c, stream + i, 1, 0);
	CHECK_EQ(r.resets, 1);
	CHECK_EQ(r.nout, 1);
	expect_out(&r, 0, 0, 0, RESP, OMV_OP_PROTO_SYNC, 0);
	CHECK_EQ(r.commands, 0);
	ack_last(&r, 0);
	CHECK(!r.c.cmd_active);
	CHECK_EQ(r.c.seq, 0);

	/* While the cam waits for an ACK, after SET_CAPS changed things. */
	uint8_t payload[OMV_CAPS_SIZE];
	omv_caps_encode(&(struct omv_caps){ .crc = false, .seq = true, .ack = true,
					    .max_payload = 500 }, payload);
	host_send(&r, 0, 0, 0, OMV_OP_PROTO_SET_CAPS, payload, OMV_CAPS_SIZE, true, 0);
	ack_last(&r, 0);
	CHECK(!r.c.caps.crc);
	host_send(&r, 1, 3, 0, OMV_OP_CHANNEL_READ, "12345678", 8, false, 0);
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, data, 10, 0);
	CHECK(r.c.waiting_ack);
	omv_cam_input(&r.c, sync, sizeof(sync), 0);
	CHECK_EQ(r.resets, 2);
	CHECK(r.c.caps.crc);
	CHECK_EQ(r.c.caps.max_payload, 1000);	/* the cam's own, as after power-up */
	expect_out(&r, r.nout - 1, 0, 0, RESP, OMV_OP_PROTO_SYNC, 0);
	CHECK_EQ(omv_get_u16(r.out[r.nout - 1] + 8), omv_crc16(r.out[r.nout - 1], 8));
	ack_last(&r, 0);

	/* Inside the payload of a packet, preceded by a partial command
	 * whose reply the application sends too late. */
	host_send(&r, 0, 1, 0, OMV_OP_CHANNEL_IOCTL, "\1\0\0\0", 4, true, 0);
	CHECK_EQ(r.commands, 2);
	uint32_t crc_failures = r.c.stats.checksum;
	memcpy(stream, pkt, 40);
	memcpy(stream + 40, sync, sizeof(sync));
	memcpy(stream + 50, pkt + 40, pn - 40);
	size_t before = r.nout;
	omv_cam_input(&r.c, stream, 50 + pn - 40, 0);
	CHECK_EQ(r.resets, 3);
	CHECK_EQ(r.nout, before + 1);
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, NULL, 0, 0);	/* stale: ignored */
	CHECK_EQ(r.nout, before + 1);
	ack_last(&r, 0);
	CHECK_EQ(r.c.stats.checksum, crc_failures);

	/* A SYNC split across two inputs. */
	omv_cam_input(&r.c, sync, 4, 0);
	omv_cam_input(&r.c, sync + 4, 6, 0);
	CHECK_EQ(r.resets, 4);
	omv_cam_reinit(&r.c);
	CHECK_EQ(r.resets, 5);
	CHECK(!r.c.waiting_ack);
	omv_cam_free(&r.c);
}

static void test_events(void)
{
	struct rig r;

	rig_init(&r, 1000);
	/* Mid-response, the counter does not move and no ACK is wanted. */
	host_send(&r, 0, 3, 0, OMV_OP_CHANNEL_READ, "12345678", 8, true, 0);
	uint8_t data[60] = { 0 };
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, data, sizeof(data), 0);
	omv_cam_event(&r.c, OMV_CHAN_STDOUT, OMV_EV_NOTIFY);
	omv_cam_event(&r.c, OMV_CHAN_SYSTEM, OMV_EV_CHANNEL_REGISTERED);
	CHECK_EQ(r.nout, 3);
	expect_out(&r, 1, 1, OMV_CHAN_STDOUT, OMV_F_EVENT, OMV_OP_CHANNEL_EVENT, 0);
	expect_out(&r, 2, 1, OMV_CHAN_SYSTEM, OMV_F_EVENT, OMV_OP_SYS_EVENT, 2);
	CHECK_EQ(omv_get_u16(r.out[2] + OMV_HDR_SIZE), OMV_EV_CHANNEL_REGISTERED);
	CHECK_EQ(r.c.seq, 1);
	CHECK(r.c.waiting_ack);
	CHECK_EQ(r.c.stats.sent_events, 2);
	/* Events from the host are ignored. */
	CHECK_EQ(host_send(&r, 9, 2, OMV_F_EVENT, OMV_OP_CHANNEL_EVENT, NULL, 0, true, 0), 0);

	/* A command while the response waits for its ACK waits too, unread;
	 * the ACK lets it in. */
	CHECK_EQ(host_send(&r, 1, 0, 0, OMV_OP_CHANNEL_POLL, NULL, 0, true, 0), 0);
	CHECK_EQ(r.commands, 1);
	CHECK(r.c.waiting_ack);
	CHECK_EQ(host_send(&r, 0, 3, OMV_F_ACK, OMV_OP_CHANNEL_READ, NULL, 0, true, 0), 0);
	CHECK_EQ(r.commands, 2);
	CHECK_EQ(r.last_cmd.opcode, OMV_OP_CHANNEL_POLL);
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, "\0\0\0\0", 4, 0);
	expect_out(&r, r.nout - 1, 1, 0, RESP, OMV_OP_CHANNEL_POLL, 4);
	ack_last(&r, 0);

	/* Events cap off: nothing is sent. */
	uint8_t payload[OMV_CAPS_SIZE];
	omv_caps_encode(&(struct omv_caps){ .crc = true, .seq = true, .ack = false,
					    .events = false, .max_payload = 52 }, payload);
	host_send(&r, 2, 0, 0, OMV_OP_PROTO_SET_CAPS, payload, OMV_CAPS_SIZE, true, 0);
	ack_last(&r, 0);
	size_t before = r.nout;
	omv_cam_event(&r.c, OMV_CHAN_STDOUT, OMV_EV_NOTIFY);
	CHECK_EQ(r.nout, before);
	/* Without the ack cap: no ACK_REQ, nothing waits. */
	host_send(&r, 3, 3, 0, OMV_OP_CHANNEL_READ, "12345678", 8, true, 0);
	omv_cam_reply(&r.c, OMV_ST_SUCCESS, data, sizeof(data), 0);
	CHECK_EQ(r.nout, before + 2);
	expect_out(&r, before, 3, 3, OMV_F_ACK | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, 52);
	expect_out(&r, before + 1, 4, 3, OMV_F_ACK, OMV_OP_CHANNEL_READ, 8);
	CHECK_EQ(omv_cam_deadline(&r.c), OMV_DEADLINE_NONE);
	CHECK(!r.c.cmd_active);
	omv_cam_free(&r.c);
}

int main(void)
{
	test_protocol_opcodes();
	test_nak_statuses();
	test_overflow_then_command();
	test_fragments_and_rtx();
	test_nak_retransmits();
	test_input_waits_for_reply();
	test_sync_window();
	test_events();
	printf("cam: ok\n");
	return 0;
}
