/*
 * Host state machine against hand-made cam packets: the exact SYNC bytes,
 * ACKs, duplicates and out-of-sequence packets, mismatched responses,
 * events, fragments, NAKs, reassembly bounds, cancellation and SET_CAPS
 * switching. Recovery from losses is in test_host_recovery.c.
 */
#include <string.h>

#include "protocol/crc.h"
#include "check.h"
#include "hostwire.h"

static void test_sync_bytes(void)
{
	struct wire w;
	const uint8_t sync[10] = { 0xAA, 0xD5, 0, 0, 0, 0, 0, 0, 0xB0, 0xAC };

	w_init(&w, 1 << 16);
	CHECK(!w.h.seq_valid);
	CHECK_EQ(omv_host_deadline(&w.h), OMV_DEADLINE_NONE);
	omv_host_sync(&w.h, 1000, 250);
	CHECK_EQ(w.nout, 1);
	CHECK_EQ(w.out_len[0], 10);
	CHECK(memcmp(w.out[0], sync, 10) == 0);
	CHECK(omv_host_busy(&w.h));
	CHECK_EQ(omv_host_deadline(&w.h), 1250);
	omv_host_tick(&w.h, 1249);
	CHECK(!w.done);
	omv_host_tick(&w.h, 1250);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_ERR_TIMEOUT);
	CHECK_EQ(w.h.stats.timeouts, 1);
	CHECK(!w.h.seq_valid);
	do_sync(&w);
	omv_host_free(&w.h);
}

static void test_sequence_rules(void)
{
	struct wire w;
	uint8_t v[4] = { 1, 2, 3, 4 };

	w_init(&w, 1 << 16);
	do_sync(&w);
	size_t n0 = w.nout;

	/* Command 0: a non-RTX answer with another seq is dropped silently. */
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 0, 100, NULL, 0), 0);
	expect_out(&w, n0, 0, 0, 0, OMV_OP_CHANNEL_POLL, 0);
	cam_send(&w, 5, 0, RESP, OMV_OP_CHANNEL_POLL, v, 4, true);
	CHECK(!w.done);
	CHECK_EQ(w.nout, n0 + 1);
	CHECK_EQ(w.h.stats.sequence, 1);
	cam_send(&w, 0, 0, RESP, OMV_OP_CHANNEL_POLL, v, 4, true);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_OK);
	CHECK_EQ(w.res.len, 4);
	CHECK(memcmp(w.data, v, 4) == 0);
	expect_out(&w, n0 + 1, 0, 0, OMV_F_ACK, OMV_OP_CHANNEL_POLL, 0);
	CHECK_EQ(w.h.seq, 1);

	/* Its RTX copy: ACKed again, dropped, counted. */
	w.done = false;
	cam_send(&w, 0, 0, RESP | OMV_F_RTX, OMV_OP_CHANNEL_POLL, v, 4, true);
	CHECK(!w.done);
	CHECK_EQ(w.h.stats.duplicates, 1);
	expect_out(&w, n0 + 2, 0, 0, OMV_F_ACK, OMV_OP_CHANNEL_POLL, 0);
	CHECK_EQ(w.h.seq, 1);

	/* Command 1: its first copy was lost, the RTX carries seq 1. */
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 0, 100, NULL, 0), 0);
	expect_out(&w, n0 + 3, 1, 0, 0, OMV_OP_CHANNEL_POLL, 0);
	/* A duplicate of command 0's answer arriving now is still recognised. */
	cam_send(&w, 0, 0, RESP | OMV_F_RTX, OMV_OP_CHANNEL_POLL, v, 4, true);
	CHECK(!w.done);
	CHECK_EQ(w.h.stats.duplicates, 2);
	cam_send(&w, 1, 0, RESP | OMV_F_RTX, OMV_OP_CHANNEL_POLL, v, 4, true);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_OK);
	CHECK_EQ(w.h.seq, 2);

	/* Command 2: an answer for another opcode is dropped; deadline ends it. */
	w.done = false;
	size_t before = w.nout;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 500, 100, NULL, 0), 0);
	cam_send(&w, 2, 0, RESP, OMV_OP_CHANNEL_SIZE, v, 4, true);
	cam_send(&w, 2, 1, RESP, OMV_OP_CHANNEL_POLL, v, 4, true);
	CHECK(!w.done);
	CHECK_EQ(w.h.stats.unexpected, 2);
	CHECK_EQ(w.nout, before + 1);	/* the command only, no ACKs */
	omv_host_tick(&w.h, 599);
	CHECK(!w.done);
	omv_host_tick(&w.h, 600);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_ERR_TIMEOUT);
	CHECK_EQ(w.h.seq, 2);

	/* A stray answer while idle: dropped, not ACKed. */
	before = w.nout;
	cam_send(&w, 2, 0, RESP, OMV_OP_CHANNEL_POLL, v, 4, true);
	CHECK_EQ(w.nout, before);
	CHECK_EQ(w.h.stats.unexpected, 3);

	/* A bad CRC is counted. */
	uint8_t pkt[32];
	size_t n = omv_packet_encode(pkt, sizeof(pkt), 2, 0, RESP, OMV_OP_CHANNEL_POLL, v, 4, true);
	pkt[n - 1] ^= 1;
	omv_host_input(&w.h, pkt, n, 0);
	CHECK_EQ(w.h.stats.checksum, 1);
	omv_host_free(&w.h);
}

static void test_seq_cap_off(void)
{
	struct wire w;
	struct omv_caps caps = omv_caps_default;

	w_init(&w, 1 << 16);
	do_sync(&w);
	caps.seq = false;
	w.done = false;
	CHECK_EQ(omv_host_set_caps(&w.h, &caps, 0, 100), 0);
	cam_send(&w, 0, 0, RESP, OMV_OP_PROTO_SET_CAPS, NULL, 0, true);
	CHECK(w.done && w.res.code == OMV_OK);
	CHECK(!w.h.caps.seq);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_LOCK, 3, NULL, 0, 0, 100, NULL, 0), 0);
	cam_send(&w, 200, 3, RESP, OMV_OP_CHANNEL_LOCK, NULL, 0, true);
	CHECK(w.done && w.res.code == OMV_OK);
	CHECK_EQ(w.h.stats.sequence, 0);

	/* Even unchecked, an RTX copy of the fragment just taken (its ACK was
	 * lost) is recognised by its seq and not collected twice. */
	uint8_t a[52], b[20];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, 0, 100,
				  NULL, 0), 0);
	uint8_t s0 = w.h.seq;
	cam_send(&w, s0, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, a, 52, true);
	cam_send(&w, s0, 3, RESP | OMV_F_FRAGMENT | OMV_F_RTX, OMV_OP_CHANNEL_READ, a, 52, true);
	CHECK_EQ(w.h.stats.duplicates, 1);
	cam_send(&w, (uint8_t)(s0 + 1), 3, RESP, OMV_OP_CHANNEL_READ, b, 20, true);
	CHECK(w.done && w.res.code == OMV_OK);
	CHECK_EQ(w.res.len, 72);
	omv_host_free(&w.h);
}

static void test_events_and_fragments(void)
{
	struct wire w;
	uint8_t a[52], b[52], c[10], code[2];

	w_init(&w, 1 << 16);
	do_sync(&w);
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(c, 'c', sizeof(c));
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, 0, 100,
				  NULL, 0), 0);
	size_t n0 = w.nout;
	cam_send(&w, 0, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, a, 52, true);
	/* Events with any seq, between fragments. */
	cam_send(&w, 77, 2, OMV_F_EVENT, OMV_OP_CHANNEL_EVENT, NULL, 0, true);
	omv_put_u16(code, OMV_EV_SOFT_REBOOT);
	cam_send(&w, 1, 0, OMV_F_EVENT, OMV_OP_SYS_EVENT, code, 2, true);
	cam_send(&w, 1, 0, OMV_F_EVENT, OMV_OP_SYS_EVENT, code, 1, true);	/* malformed */
	cam_send(&w, 1, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, b, 52, true);
	CHECK(!w.done);
	/* Events moved neither the give-up nor the next probe. */
	CHECK_EQ(w.h.deadline, 100);
	CHECK_EQ(omv_host_deadline(&w.h), OMV_RTO_MIN_MS);
	omv_host_tick(&w.h, OMV_RTO_MIN_MS - 1);
	cam_send(&w, 2, 3, RESP, OMV_OP_CHANNEL_READ, c, 10, true);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_OK);
	CHECK_EQ(w.res.len, 114);
	CHECK(memcmp(w.data, a, 52) == 0 && memcmp(w.data + 52, b, 52) == 0 &&
	      memcmp(w.data + 104, c, 10) == 0);
	CHECK_EQ(w.nout, n0 + 3);
	for (int i = 0; i < 3; i++)
		expect_out(&w, n0 + i, (uint8_t)i, 3, OMV_F_ACK, OMV_OP_CHANNEL_READ, 0);
	CHECK_EQ(w.nev, 2);
	CHECK_EQ(w.ev[0].chan, 2);
	CHECK_EQ(w.ev[0].opcode, OMV_OP_CHANNEL_EVENT);
	CHECK_EQ(w.ev[0].code, OMV_EV_NOTIFY);
	CHECK_EQ(w.ev[1].code, OMV_EV_SOFT_REBOOT);
	CHECK_EQ(w.h.stats.events, 2);
	CHECK_EQ(w.h.seq, 3);
	omv_host_free(&w.h);
}

static void test_naks(void)
{
	struct wire w;
	uint8_t st[2];

	w_init(&w, 1 << 16);
	do_sync(&w);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_LOCK, 3, NULL, 0, 0, 100, NULL, 0), 0);
	omv_put_u16(st, OMV_ST_BUSY);
	cam_send(&w, 0, 3, OMV_F_NAK | OMV_F_ACK_REQ, OMV_OP_CHANNEL_LOCK, st, 2, true);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_ERR_NAK);
	CHECK_EQ(w.res.status, OMV_ST_BUSY);
	expect_out(&w, w.nout - 1, 0, 3, OMV_F_ACK, OMV_OP_CHANNEL_LOCK, 0);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_LOCK, 3, NULL, 0, 0, 100, NULL, 0), 0);
	cam_send(&w, 1, 3, OMV_F_NAK, OMV_OP_CHANNEL_LOCK, NULL, 0, true);
	CHECK_EQ(w.res.code, OMV_ERR_NAK);
	CHECK_EQ(w.res.status, OMV_ST_UNKNOWN);
	CHECK_EQ(w.h.stats.naks, 2);
	CHECK_EQ(w.h.seq, 2);
	omv_host_free(&w.h);
}

static void test_too_big(void)
{
	struct wire w;
	uint8_t a[52], buf[60];

	w_init(&w, 100);
	do_sync(&w);
	memset(a, 7, sizeof(a));
	/* Caller's buffer of 60: the second fragment overruns it. */
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, 0, 100,
				  buf, sizeof(buf)), 0);
	for (uint8_t i = 0; i < 3; i++)
		cam_send(&w, i, 3, RESP | (i < 2 ? OMV_F_FRAGMENT : 0), OMV_OP_CHANNEL_READ,
			 a, 52, true);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_ERR_TOO_BIG);
	CHECK_EQ(w.h.seq, 3);	/* every fragment consumed and ACKed */
	/* Host limit of 100 with its own buffer. */
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, 0, 100, NULL, 0), 0);
	cam_send(&w, 3, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, a, 52, true);
	CHECK(!w.done);
	cam_send(&w, 4, 3, RESP, OMV_OP_CHANNEL_READ, a, 48, true);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_OK);
	CHECK_EQ(w.res.len, 100);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, 0, 100, NULL, 0), 0);
	cam_send(&w, 5, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, a, 52, true);
	cam_send(&w, 6, 3, RESP, OMV_OP_CHANNEL_READ, a, 49, true);
	CHECK_EQ(w.res.code, OMV_ERR_TOO_BIG);
	omv_host_free(&w.h);
}

static void test_cancel_and_reentry(void)
{
	struct wire w;

	w_init(&w, 1 << 16);
	do_sync(&w);
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 0, 100, NULL, 0), 0);
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 0, 100, NULL, 0), -1);
	CHECK_EQ(omv_host_send_noreply(&w.h, OMV_OP_SYS_RESET, 0), -1);
	CHECK_EQ(omv_host_set_caps(&w.h, &omv_caps_default, 0, 100), -1);
	w.done = false;
	omv_host_cancel(&w.h);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_ERR_CANCELLED);
	CHECK(!omv_host_busy(&w.h));
	w.done = false;
	omv_host_cancel(&w.h);
	CHECK(!w.done);

	/* SYNC over a command in flight: SYNC goes out first, then the
	 * cancelled command is reported, and a command started from that
	 * callback is refused because the SYNC is in flight. */
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 0, 100, NULL, 0), 0);
	size_t n0 = w.nout;
	w.command_from_done = true;
	omv_host_sync(&w.h, 0, 100);
	CHECK_EQ(w.res.code, OMV_ERR_CANCELLED);
	CHECK_EQ(w.command_from_done_rc, -1);
	CHECK_EQ(w.nout, n0 + 1);
	expect_out(&w, n0, 0, 0, 0, OMV_OP_PROTO_SYNC, 0);
	/* A command started from done() of a success runs normally. */
	w.command_from_done = true;
	cam_send(&w, 0, 0, RESP, OMV_OP_PROTO_SYNC, NULL, 0, true);
	CHECK_EQ(w.res.code, OMV_OK);
	CHECK_EQ(w.command_from_done_rc, 0);
	CHECK(omv_host_busy(&w.h));
	expect_out(&w, w.nout - 1, 0, 0, 0, OMV_OP_CHANNEL_POLL, 0);
	w.done = false;
	cam_send(&w, 0, 0, RESP, OMV_OP_CHANNEL_POLL, "abcd", 4, true);
	CHECK(w.done);
	CHECK_EQ(w.res.len, 4);

	/* No-reply commands carry the counter and do not advance it. */
	CHECK_EQ(omv_host_send_noreply(&w.h, OMV_OP_SYS_RESET, 0), 0);
	expect_out(&w, w.nout - 1, 1, 0, 0, OMV_OP_SYS_RESET, 0);
	CHECK_EQ(w.h.seq, 1);
	CHECK(!omv_host_busy(&w.h));

	/* Too large for the current max payload (a stock cam's, after SYNC). */
	static uint8_t big[OMV_CAM_PAYLOAD + 1];
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_WRITE, 1, big, sizeof(big), 0, 100,
				  NULL, 0), -1);
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_WRITE, 1, big, 52, 0, 100, NULL, 0), 0);

	omv_host_reset(&w.h);
	CHECK(!omv_host_busy(&w.h));
	CHECK(!w.h.seq_valid);
	CHECK_EQ(w.h.stats.sent, 0);
	CHECK_EQ(w.h.caps.max_payload, OMV_CAM_PAYLOAD);
	CHECK(!w.h.rtt.valid);
	CHECK_EQ(w.h.rtt.rto_ms, OMV_RTO_INITIAL_MS);
	omv_host_free(&w.h);
}

static void test_set_caps(void)
{
	struct wire w;
	struct omv_caps caps = { .crc = false, .seq = true, .ack = true, .events = true,
				 .max_payload = 30 };
	struct omv_caps sent;

	w_init(&w, 1 << 16);
	do_sync(&w);
	w.done = false;
	CHECK_EQ(omv_host_set_caps(&w.h, &caps, 0, 100), 0);
	const uint8_t *cmd = w.out[w.nout - 1];
	expect_out(&w, w.nout - 1, 0, 0, 0, OMV_OP_PROTO_SET_CAPS, OMV_CAPS_SIZE);
	CHECK_EQ(omv_caps_decode(&sent, cmd + OMV_HDR_SIZE, OMV_CAPS_SIZE), 0);
	CHECK_EQ(sent.max_payload, OMV_MIN_PAYLOAD);	/* clamped up */
	CHECK(!sent.crc && sent.ack);
	CHECK(w.h.caps.crc);
	cam_send(&w, 0, 0, RESP, OMV_OP_PROTO_SET_CAPS, NULL, 0, true);
	CHECK(w.done && w.res.code == OMV_OK);
	/* The ACK of the answer still carries a CRC; then CRCs stop. */
	const uint8_t *ack = w.out[w.nout - 1];
	CHECK_EQ(omv_get_u16(ack + 8), omv_crc16(ack, 8));
	CHECK(!w.h.caps.crc && !w.h.dec.check_crc);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 0, 100, NULL, 0), 0);
	CHECK_EQ(omv_get_u16(w.out[w.nout - 1] + 8), 0);
	cam_send(&w, 1, 0, RESP, OMV_OP_CHANNEL_POLL, "abcd", 4, false);
	CHECK(w.done && w.res.code == OMV_OK);

	/* A NAKed SET_CAPS changes nothing; without ACK_REQ nothing is ACKed. */
	uint8_t st[2];
	omv_put_u16(st, OMV_ST_INVALID);
	caps.crc = true;
	caps.max_payload = 1000;
	w.done = false;
	CHECK_EQ(omv_host_set_caps(&w.h, &caps, 0, 100), 0);
	size_t n0 = w.nout;
	cam_send(&w, 2, 0, OMV_F_NAK, OMV_OP_PROTO_SET_CAPS, st, 2, false);
	CHECK_EQ(w.res.code, OMV_ERR_NAK);
	CHECK_EQ(w.nout, n0);
	CHECK(!w.h.caps.crc);
	CHECK_EQ(w.h.caps.max_payload, OMV_MIN_PAYLOAD);
	omv_host_free(&w.h);
}

/* The ACK of the SYNC answer got lost: its RTX copy (seq 0, like the
 * counter) is re-ACKed, also while the next command waits on seq 0. */
static void test_sync_answer_duplicate(void)
{
	struct wire w;

	w_init(&w, 1 << 16);
	do_sync(&w);
	size_t n0 = w.nout;
	cam_send(&w, 0, 0, RESP | OMV_F_RTX, OMV_OP_PROTO_SYNC, NULL, 0, true);
	CHECK_EQ(w.h.stats.duplicates, 1);
	expect_out(&w, n0, 0, 0, OMV_F_ACK, OMV_OP_PROTO_SYNC, 0);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_PROTO_GET_CAPS, 0, NULL, 0, 0, 100, NULL, 0), 0);
	cam_send(&w, 0, 0, RESP | OMV_F_RTX, OMV_OP_PROTO_SYNC, NULL, 0, true);
	CHECK(!w.done);
	CHECK_EQ(w.h.stats.duplicates, 2);
	expect_out(&w, w.nout - 1, 0, 0, OMV_F_ACK, OMV_OP_PROTO_SYNC, 0);
	uint8_t caps[OMV_CAPS_SIZE];
	omv_caps_encode(&omv_caps_default, caps);
	cam_send(&w, 0, 0, RESP, OMV_OP_PROTO_GET_CAPS, caps, OMV_CAPS_SIZE, true);
	CHECK(w.done && w.res.code == OMV_OK);
	CHECK_EQ(w.res.len, OMV_CAPS_SIZE);
	CHECK_EQ(w.h.seq, 1);
	/* A second SYNC in a row is answered again with seq 0. */
	do_sync(&w);

	/* SYNC drops partial input: the answer is not swallowed as the rest
	 * of a payload that will never come. */
	uint8_t part[OMV_PACKET_SIZE(52u)], pay[52] = { 0 };
	omv_packet_encode(part, sizeof(part), 0, 3, RESP, OMV_OP_CHANNEL_READ, pay, 52, true);
	omv_host_input(&w.h, part, OMV_HDR_SIZE + 5, 0);
	do_sync(&w);
	omv_host_free(&w.h);
}

int main(void)
{
	test_sync_bytes();
	test_sequence_rules();
	test_seq_cap_off();
	test_events_and_fragments();
	test_naks();
	test_too_big();
	test_cancel_and_reentry();
	test_set_caps();
	test_sync_answer_duplicate();
	printf("host: ok\n");
	return 0;
}
