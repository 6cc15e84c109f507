/*
 * The host's recovery in round trips, on a fake wire with a fake clock: a
 * damaged fragment is NAKed and its RTX taken, an overdue one probed, a
 * lost ACK or command made good, the retransmission timeout estimated
 * from the link, and deadlines that measure inactivity.
 */
#include <string.h>

#include "protocol/crc.h"
#include "check.h"
#include "hostwire.h"

/* Start a READ of the stream channel at time now. */
static void start_read(struct wire *w, uint64_t now, uint32_t timeout_ms)
{
	w->done = false;
	CHECK_EQ(omv_host_command(&w->h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, now, timeout_ms,
				  NULL, 0), 0);
}

/* A fragment with a sound header and a bad payload: NAKed at once, its
 * RTX copy accepted. A damaged copy of a packet already taken is ACKed
 * again; one without ACK_REQ (the cam does not wait) or an event gets
 * nothing. */
static void test_damaged_fragment(void)
{
	struct wire w;
	uint8_t a[40], b[40], c[8];

	w_init(&w, 1 << 16);
	do_sync(&w);
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(c, 'c', sizeof(c));
	start_read(&w, 0, 1000);
	cam_send_at(&w, 1, false, 0, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, a, 40);
	size_t n0 = w.nout;
	cam_send_at(&w, 2, true, 1, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, b, 40);
	CHECK_EQ(w.nout, n0 + 1);
	expect_out(&w, n0, 1, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, 0);
	CHECK_EQ(w.h.stats.damaged, 1);
	CHECK_EQ(w.h.stats.checksum, 1);
	CHECK_EQ(w.h.seq, 1);
	/* A damaged event or a damaged packet that wants no ACK: nothing. */
	cam_send_at(&w, 2, true, 1, 2, OMV_F_EVENT, OMV_OP_CHANNEL_EVENT, "\1\0", 2);
	cam_send_at(&w, 2, true, 1, 3, OMV_F_ACK | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, b, 40);
	/* A damaged copy of fragment 0 (its ACK was lost): ACKed again. */
	cam_send_at(&w, 2, true, 0, 3, RESP | OMV_F_FRAGMENT | OMV_F_RTX, OMV_OP_CHANNEL_READ, a, 40);
	CHECK_EQ(w.nout, n0 + 2);
	expect_out(&w, n0 + 1, 0, 3, OMV_F_ACK, OMV_OP_CHANNEL_READ, 0);
	CHECK_EQ(w.h.stats.damaged, 1);
	/* The cam sends fragment 1 again at once. */
	cam_send_at(&w, 3, false, 1, 3, RESP | OMV_F_FRAGMENT | OMV_F_RTX, OMV_OP_CHANNEL_READ, b, 40);
	expect_out(&w, n0 + 2, 1, 3, OMV_F_ACK, OMV_OP_CHANNEL_READ, 0);
	cam_send_at(&w, 4, false, 2, 3, RESP, OMV_OP_CHANNEL_READ, c, 8);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_OK);
	CHECK_EQ(w.res.len, 88);
	CHECK(memcmp(w.data, a, 40) == 0 && memcmp(w.data + 40, b, 40) == 0 &&
	      memcmp(w.data + 80, c, 8) == 0);
	CHECK_EQ(w.h.stats.duplicates, 1);
	CHECK_EQ(w.h.stats.timeouts, 0);

	/* At most OMV_HOST_NAKS NAKs for one packet: the next would make
	 * the cam give up. */
	start_read(&w, 10, 1000);
	n0 = w.nout;
	for (unsigned i = 0; i < OMV_HOST_NAKS + 2; i++)
		cam_send_at(&w, 11, true, 3, 3, RESP, OMV_OP_CHANNEL_READ, c, 8);
	CHECK_EQ(w.nout, n0 + OMV_HOST_NAKS);
	CHECK_EQ(w.h.stats.damaged, 1 + OMV_HOST_NAKS);
	omv_host_free(&w.h);
}

/* The next fragment is overdue: the probe NAKs it and repeats the ACK of
 * the one before (which may be what got lost). Either way the cam moves
 * on. The exchange gives no round-trip sample (Karn); the backoff of the
 * probe is undone when the packet came at once after it (lost, not late),
 * and kept, until a clean exchange, when it came long after (the link
 * may have got slower). */
static void test_overdue_fragment(void)
{
	struct wire w;
	uint8_t a[40];

	w_init(&w, 1 << 16);
	do_sync(&w);
	memset(a, 'x', sizeof(a));
	for (int c = 0; c < 3; c++) {
		bool lost_ack = c == 1, late = c == 2;

		start_read(&w, 100, 1000);
		uint8_t s0 = w.h.seq;
		cam_send_at(&w, 101, false, s0, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, a, 40);
		struct omv_rtt before = w.h.rtt;
		uint32_t rto = omv_host_rto(&w.h, 1000);
		CHECK_EQ(rto, OMV_RTO_MIN_MS);
		CHECK_EQ(omv_host_deadline(&w.h), 101 + rto);
		size_t n0 = w.nout;
		omv_host_tick(&w.h, 101 + rto - 1);
		CHECK_EQ(w.nout, n0);
		omv_host_tick(&w.h, 101 + rto);
		CHECK_EQ(w.nout, n0 + 2);
		expect_out(&w, n0, s0, 3, OMV_F_ACK, OMV_OP_CHANNEL_READ, 0);
		expect_out(&w, n0 + 1, (uint8_t)(s0 + 1), 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, 0);
		CHECK_EQ(w.h.stats.probes, (uint64_t)c + 1);
		/* Backed off: the next probe waits twice as long. */
		CHECK_EQ(omv_host_rto(&w.h, 1000), 2 * rto);
		CHECK_EQ(omv_host_deadline(&w.h), 101 + 3 * rto);
		/* The lost ACK case: the cam sends the fragment for the first
		 * time; the lost fragment case: again, with RTX; or the first
		 * copy, late. */
		cam_send_at(&w, 101 + rto + (late ? 2 * rto : 1), false, (uint8_t)(s0 + 1), 3,
			    RESP | (lost_ack || late ? 0 : OMV_F_RTX), OMV_OP_CHANNEL_READ, a, 10);
		CHECK(w.done);
		CHECK_EQ(w.res.code, OMV_OK);
		CHECK_EQ(w.res.len, 50);
		CHECK_EQ(w.h.rtt.srtt_us, before.srtt_us);
		CHECK_EQ(omv_host_rto(&w.h, 1000), late ? 2 * rto : rto);
		w.done = false;
		CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 200, 1000,
					  NULL, 0), 0);
		cam_send_at(&w, 200, false, w.h.seq, 0, RESP, OMV_OP_CHANNEL_POLL, a, 4);
		CHECK(w.done && w.res.code == OMV_OK);
		CHECK_EQ(omv_host_rto(&w.h, 1000), OMV_RTO_MIN_MS);
	}
	omv_host_free(&w.h);
}

/* Nothing comes back. The probes repeat the ACK of the previous command's
 * last packet (in case that was lost and the cam still waits for it),
 * NAK the first answer packet (the first two and the last probe: a NAK
 * is one of the cam's tries), and from the second on send the command
 * again as it was. With the RTO doubling each time they come at 1, 3, 7,
 * 15 and 31 RTOs; the command ends after OMV_GIVE_UP_MIN_MS of silence
 * (15 RTOs at the least), long before its timeout. */
static void test_lost_command(void)
{
	struct wire w;
	const uint64_t at[] = { 5, 15, 35, 75, 155 };
	const size_t nprobes = sizeof(at) / sizeof(at[0]);

	CHECK_EQ(OMV_RTO_MIN_MS, 5);
	CHECK_EQ(OMV_GIVE_UP_MIN_MS, 250);
	w_init(&w, 1 << 16);
	do_sync(&w);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 1000, 5000, NULL, 0), 0);
	size_t cmd = w.nout - 1;
	for (size_t i = 0; i < nprobes; i++) {
		size_t n = w.nout;
		bool nak = i < 2 || i == nprobes - 1, copy = i > 0;

		CHECK_EQ(omv_host_deadline(&w.h), 1000 + at[i]);
		omv_host_tick(&w.h, 1000 + at[i] - 1);
		CHECK_EQ(w.nout, n);
		omv_host_tick(&w.h, 1000 + at[i]);
		CHECK(!w.done);
		CHECK_EQ(w.nout, n + 1 + nak + copy);
		expect_out(&w, n, 0, 0, OMV_F_ACK, OMV_OP_PROTO_SYNC, 0);
		if (nak)
			expect_out(&w, n + 1, 0, 0, OMV_F_NAK, OMV_OP_CHANNEL_POLL, 0);
		if (copy)
			CHECK(memcmp(w.out[n + 1 + nak], w.out[cmd], OMV_HDR_SIZE) == 0);
	}
	CHECK_EQ(omv_host_deadline(&w.h), 1000 + OMV_GIVE_UP_MIN_MS);
	omv_host_tick(&w.h, 1000 + OMV_GIVE_UP_MIN_MS - 1);
	CHECK(!w.done);
	omv_host_tick(&w.h, 1000 + OMV_GIVE_UP_MIN_MS);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_ERR_TIMEOUT);
	CHECK_EQ(w.h.stats.gave_up, 1);
	CHECK_EQ(w.h.stats.timeouts, 1);
	CHECK_EQ(w.h.stats.probes, nprobes);
	CHECK_EQ(w.h.stats.resent, nprobes - 1);

	/* An overdue SYNC is simply sent again. */
	w.done = false;
	omv_host_sync(&w.h, 2000, 5000);
	uint32_t rto_now = omv_host_rto(&w.h, 5000);
	CHECK_EQ(rto_now, OMV_RTO_MIN_MS << nprobes);	/* still backed off */
	omv_host_tick(&w.h, 2000 + rto_now);
	expect_out(&w, w.nout - 2, 0, 0, 0, OMV_OP_PROTO_SYNC, 0);
	expect_out(&w, w.nout - 1, 0, 0, 0, OMV_OP_PROTO_SYNC, 0);
	cam_send_at(&w, 2000 + rto_now + 1, false, 0, 0, OMV_F_ACK, OMV_OP_PROTO_SYNC, NULL, 0);
	CHECK(w.done && w.res.code == OMV_OK);

	/* Without the seq cap a copy could run twice: no copies then. */
	struct omv_caps caps = omv_caps_default;
	caps.seq = false;
	w.done = false;
	CHECK_EQ(omv_host_set_caps(&w.h, &caps, 3000, 5000), 0);
	cam_send_at(&w, 3000, false, 0, 0, RESP, OMV_OP_PROTO_SET_CAPS, NULL, 0);
	CHECK(w.done && !w.h.caps.seq);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 3000, 5000, NULL, 0), 0);
	uint64_t resent = w.h.stats.resent;
	while (!w.done)
		omv_host_tick(&w.h, omv_host_deadline(&w.h));
	CHECK_EQ(w.res.code, OMV_ERR_TIMEOUT);
	CHECK_EQ(w.h.stats.resent, resent);
	omv_host_free(&w.h);
}

/* The copy of a lost command is answered like the first would have been.
 * When the first was not lost after all (its answer and the first probe
 * were), the cam answers it and then refuses the copy with NAK SEQUENCE:
 * that refusal, behind the counter, is ACKed and dropped; one that a cam
 * numbers with its own counter ends the next command as a protocol error
 * (a resync), not as a rebooted cam. */
static void test_command_copy(void)
{
	struct wire w;
	uint8_t st[2], a[40];

	w_init(&w, 1 << 16);
	do_sync(&w);
	omv_put_u16(st, OMV_ST_SEQUENCE);
	memset(a, 'q', sizeof(a));
	/* lost: the copy after the second probe is answered */
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_SYS_INFO, 0, NULL, 0, 0, 5000, NULL, 0), 0);
	omv_host_tick(&w.h, omv_host_deadline(&w.h));
	omv_host_tick(&w.h, omv_host_deadline(&w.h));
	CHECK_EQ(w.h.stats.resent, 1);
	cam_send_at(&w, 100, false, 0, 0, RESP, OMV_OP_SYS_INFO, a, 40);
	CHECK(w.done && w.res.code == OMV_OK && w.res.len == 40);

	/* not lost: a two-packet answer, then the cam refuses the copy */
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, 200, 5000,
				  NULL, 0), 0);
	omv_host_tick(&w.h, omv_host_deadline(&w.h));
	omv_host_tick(&w.h, omv_host_deadline(&w.h));
	CHECK_EQ(w.h.stats.resent, 2);
	uint64_t t = omv_host_deadline(&w.h) - 1;
	cam_send_at(&w, t, false, 1, 3, RESP | OMV_F_FRAGMENT | OMV_F_RTX, OMV_OP_CHANNEL_READ,
		    a, 40);
	cam_send_at(&w, t, false, 2, 3, RESP, OMV_OP_CHANNEL_READ, a, 10);
	CHECK(w.done && w.res.code == OMV_OK && w.res.len == 50);
	size_t n0 = w.nout;
	uint64_t dups = w.h.stats.duplicates;
	cam_send_at(&w, t, false, 1, 3, OMV_F_NAK | OMV_F_ACK_REQ, OMV_OP_CHANNEL_READ, st, 2);
	CHECK_EQ(w.nout, n0 + 1);
	expect_out(&w, n0, 1, 3, OMV_F_ACK, OMV_OP_CHANNEL_READ, 0);
	CHECK_EQ(w.h.stats.duplicates, dups + 1);

	/* the same refusal numbered with the cam's counter, taken for the
	 * next command's answer */
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, t, 5000,
				  NULL, 0), 0);
	omv_host_tick(&w.h, omv_host_deadline(&w.h));
	omv_host_tick(&w.h, omv_host_deadline(&w.h));
	cam_send_at(&w, t + 200, false, 3, 3, RESP, OMV_OP_CHANNEL_READ, a, 10);
	CHECK(w.done && w.res.code == OMV_OK);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, t + 300, 5000,
				  NULL, 0), 0);
	cam_send_at(&w, t + 300, false, 4, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, st, 2);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_ERR_PROTOCOL);
	CHECK_EQ(w.res.status, OMV_ST_SEQUENCE);
	/* and a genuine NAK SEQUENCE later is reported as such */
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_READ, 3, "12345678", 8, t + 400, 5000,
				  NULL, 0), 0);
	cam_send_at(&w, t + 400, false, 5, 3, OMV_F_NAK, OMV_OP_CHANNEL_READ, st, 2);
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_ERR_NAK);
	CHECK_EQ(w.res.status, OMV_ST_SEQUENCE);
	omv_host_free(&w.h);
}

/* The ACK of a command's last packet was lost: the cam still waits for it
 * and holds the next command back. The next command's probe repeats that
 * ACK, and the answer comes. */
static void test_lost_last_ack(void)
{
	struct wire w;

	w_init(&w, 1 << 16);
	do_sync(&w);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_SIZE, 2, NULL, 0, 0, 1000, NULL, 0), 0);
	cam_send_at(&w, 0, false, 0, 2, RESP, OMV_OP_CHANNEL_SIZE, "\0\0\0\0", 4);
	CHECK(w.done && w.res.code == OMV_OK);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 0, 1000, NULL, 0), 0);
	size_t n0 = w.nout;
	omv_host_tick(&w.h, OMV_RTO_MIN_MS);
	expect_out(&w, n0, 0, 2, OMV_F_ACK, OMV_OP_CHANNEL_SIZE, 0);
	expect_out(&w, n0 + 1, 1, 0, OMV_F_NAK, OMV_OP_CHANNEL_POLL, 0);
	cam_send_at(&w, OMV_RTO_MIN_MS + 1, false, 1, 0, RESP, OMV_OP_CHANNEL_POLL, "\7\0\0\0", 4);
	CHECK(w.done && w.res.code == OMV_OK);
	CHECK_EQ(w.data[0], 7);
	omv_host_free(&w.h);
}

/* A command whose payload the cam could not read (NAK CHECKSUM) is sent
 * again under the next seq, up to OMV_HOST_RESENDS times. */
static void test_resend_on_checksum(void)
{
	struct wire w;
	uint8_t st[2], req[12] = "\0\0\0\0\4\0\0\0abcd";

	w_init(&w, 1 << 16);
	do_sync(&w);
	omv_put_u16(st, OMV_ST_CHECKSUM);
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_WRITE, 1, req, sizeof(req), 0, 1000,
				  NULL, 0), 0);
	size_t first = w.nout - 1;
	cam_send_at(&w, 1, false, 0, 1, OMV_F_NAK | OMV_F_ACK_REQ, OMV_OP_CHANNEL_WRITE, st, 2);
	CHECK(!w.done);
	expect_out(&w, w.nout - 2, 0, 1, OMV_F_ACK, OMV_OP_CHANNEL_WRITE, 0);
	expect_out(&w, w.nout - 1, 1, 1, 0, OMV_OP_CHANNEL_WRITE, sizeof(req));
	const uint8_t *again = w.out[w.nout - 1];
	CHECK_EQ(omv_get_u16(again + 8), omv_crc16(again, 8));
	CHECK(memcmp(again + OMV_HDR_SIZE, w.out[first] + OMV_HDR_SIZE, sizeof(req) + 4) == 0);
	CHECK_EQ(w.h.stats.resent, 1);
	cam_send_at(&w, 2, false, 1, 1, RESP, OMV_OP_CHANNEL_WRITE, NULL, 0);
	CHECK(w.done && w.res.code == OMV_OK);

	/* Refused every time: the cam's status after the last resend. */
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_WRITE, 1, req, sizeof(req), 10, 1000,
				  NULL, 0), 0);
	for (unsigned i = 0; i <= OMV_HOST_RESENDS; i++) {
		CHECK(!w.done);
		cam_send_at(&w, 11, false, w.h.seq, 1, OMV_F_NAK, OMV_OP_CHANNEL_WRITE, st, 2);
	}
	CHECK(w.done);
	CHECK_EQ(w.res.code, OMV_ERR_NAK);
	CHECK_EQ(w.res.status, OMV_ST_CHECKSUM);
	CHECK_EQ(w.h.stats.resent, 1 + OMV_HOST_RESENDS);
	omv_host_free(&w.h);
}

/* Answer a POLL after rtt ms, starting at *t. */
static void timed_poll(struct wire *w, uint64_t *t, uint64_t rtt, uint32_t timeout_ms)
{
	w->done = false;
	CHECK_EQ(omv_host_command(&w->h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, *t, timeout_ms,
				  NULL, 0), 0);
	*t += rtt;
	cam_send_at(w, *t, false, w->h.seq, 0, RESP, OMV_OP_CHANNEL_POLL, "\0\0\0\0", 4);
	CHECK(w->done && w->res.code == OMV_OK);
}

/* The RTO follows the measured round trip (SRTT + 4 RTTVAR), within
 * [OMV_RTO_MIN_MS, the command's timeout]. */
static void test_rto_estimate(void)
{
	struct wire w;
	uint64_t t = 0;

	w_init(&w, 1 << 16);
	CHECK_EQ(omv_host_rto(&w.h, 5000), OMV_RTO_INITIAL_MS);
	CHECK_EQ(omv_host_rto(&w.h, 300), 300);
	do_sync(&w);
	/* First sample 0 ms: RTO = granularity, raised to the floor. */
	CHECK(w.h.rtt.valid);
	CHECK_EQ(omv_host_rto(&w.h, 5000), OMV_RTO_MIN_MS);
	/* A steady 60 ms link: SRTT converges to 60, RTTVAR shrinks. */
	for (int i = 0; i < 60; i++)
		timed_poll(&w, &t, 60, 5000);
	CHECK(w.h.rtt.srtt_us > 59000 && w.h.rtt.srtt_us <= 60000);
	CHECK(w.h.rtt.rttvar_us < 1000);
	CHECK(omv_host_rto(&w.h, 5000) >= 61 && omv_host_rto(&w.h, 5000) <= 64);
	/* The probe comes one RTO after the command. */
	w.done = false;
	CHECK_EQ(omv_host_command(&w.h, OMV_OP_CHANNEL_POLL, 0, NULL, 0, t, 5000, NULL, 0), 0);
	CHECK_EQ(omv_host_deadline(&w.h), t + omv_host_rto(&w.h, 5000));
	omv_host_cancel(&w.h);
	/* A jittery link (20 / 100 ms) widens it: SRTT + 4 RTTVAR. */
	for (int i = 0; i < 40; i++)
		timed_poll(&w, &t, i % 2 ? 100 : 20, 5000);
	uint32_t jittery = omv_host_rto(&w.h, 5000);
	CHECK(jittery > 100 + 60 && jittery < 400);
	/* Clamped: never above the command's timeout. */
	CHECK_EQ(omv_host_rto(&w.h, 120), 120);
	/* A fast link again: down to the floor, not below. */
	for (int i = 0; i < 100; i++)
		timed_poll(&w, &t, 1, 5000);
	CHECK_EQ(omv_host_rto(&w.h, 5000), OMV_RTO_MIN_MS);
	omv_host_free(&w.h);
}

/* The timeout counts silence: every fragment re-arms it, events do not.
 * A long answer with a pause in the middle shorter than the probes'
 * patience completes; the same answer stopping for good ends one timeout
 * after its last fragment at the latest. */
static void test_inactivity_deadline(void)
{
	struct wire w;
	uint8_t a[50];

	w_init(&w, 1 << 20);
	do_sync(&w);
	memset(a, 'z', sizeof(a));
	/* 100 fragments 40 ms apart: 4 s in all, with a 300 ms timeout. */
	start_read(&w, 0, 300);
	uint64_t t = 0;
	for (int i = 0; i < 100; i++) {
		t += 40;
		cam_send_at(&w, t, false, w.h.seq, 3, RESP | (i < 99 ? OMV_F_FRAGMENT : 0),
			    OMV_OP_CHANNEL_READ, a, 50);
		if (i < 99) {
			CHECK_EQ(w.h.deadline, t + 300);
			CHECK(!w.done);
			omv_host_tick(&w.h, t);
		}
	}
	CHECK(w.done && w.res.code == OMV_OK);
	CHECK_EQ(w.res.len, 5000);
	CHECK_EQ(w.h.stats.probes, 0);

	/* A glitch mid-answer: the cam stops for 150 ms, then answers the
	 * probe that reaches it with the fragment again. */
	start_read(&w, t, 1000);
	for (int i = 0; i < 5; i++)
		cam_send_at(&w, ++t, false, w.h.seq, 3, RESP | OMV_F_FRAGMENT,
			    OMV_OP_CHANNEL_READ, a, 50);
	uint64_t glitch_end = t + 150;
	while (t < glitch_end) {
		t = omv_host_deadline(&w.h);
		omv_host_tick(&w.h, t);
		CHECK(!w.done);
	}
	CHECK(w.h.stats.probes >= 2);
	cam_send_at(&w, t, false, w.h.seq, 3, RESP | OMV_F_RTX, OMV_OP_CHANNEL_READ, a, 50);
	CHECK(w.done && w.res.code == OMV_OK);
	CHECK_EQ(w.res.len, 300);

	/* Stdout NOTIFY events every 50 ms are no progress: the command
	 * still ends within the timeout of its last fragment. */
	start_read(&w, t, 400);
	cam_send_at(&w, ++t, false, w.h.seq, 3, RESP | OMV_F_FRAGMENT, OMV_OP_CHANNEL_READ, a, 50);
	uint64_t last = t;
	while (!w.done) {
		uint64_t next = omv_host_deadline(&w.h);
		for (uint64_t e = t + 50; e < next; e += 50)
			cam_send_at(&w, e, false, 9, 2, OMV_F_EVENT, OMV_OP_CHANNEL_EVENT, NULL, 0);
		t = next;
		omv_host_tick(&w.h, t);
	}
	CHECK_EQ(w.res.code, OMV_ERR_TIMEOUT);
	CHECK(t > last && t <= last + 400);
	CHECK(w.nev > 0);
	omv_host_free(&w.h);
}

int main(void)
{
	test_damaged_fragment();
	test_overdue_fragment();
	test_lost_command();
	test_command_copy();
	test_lost_last_ack();
	test_resend_on_checksum();
	test_rto_estimate();
	test_inactivity_deadline();
	printf("host recovery: ok\n");
	return 0;
}
