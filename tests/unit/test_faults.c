/*
 * Host and cam in-process on a lossy wire, with a fake clock. Every loss
 * costs round trips, not seconds: a damaged fragment is NAKed and comes
 * again at once, a damaged command is sent again, a lost fragment or a
 * lost ACK is found by the overdue probe one RTO later, a lost command
 * ends early and a resync brings the link back. The cam's own schedule
 * (RTX after 500 ms, give-up 7.5 s after the first send) still holds when
 * the host stays silent. Also: SYNC mid-packet or while the cam waits for
 * an ACK, lost ACKs of the SYNC and SET_CAPS answers, a glitch in the
 * middle of a long answer, and a soak with random losses and damage both
 * ways where every answer is right or the command fails and a resync
 * recovers.
 */
#include <string.h>

#include "link.h"
#include "check.h"

/* After link_connect every round trip took 0 ms: the RTO is the floor. With
 * it doubling, the probes of one packet come at 1, 3, 7, 15 and 31 RTOs;
 * the NAKs among them at the first, second and last. */
#define RTO OMV_RTO_MIN_MS
#define LAST_PROBE (31 * RTO)

struct drop_plan {
	bool to_cam;		/* direction to act on */
	uint8_t flags_any;	/* packet must have one of these flags (0: any) */
	uint8_t flags_none;	/* ... and none of these */
	unsigned skip;		/* let this many matching packets through first */
	unsigned count;		/* then drop (or damage) this many (UINT_MAX: all) */
	unsigned seen, dropped;
	/* trace of the cam's packets */
	uint64_t rtx_at[8];
	unsigned rtx;
};

static bool plan_matches(struct drop_plan *p, bool to_cam, const struct omv_packet *pkt)
{
	if (to_cam != p->to_cam || (p->flags_any && !(pkt->flags & p->flags_any)) ||
	    (pkt->flags & p->flags_none))
		return false;
	if (pkt->flags & OMV_F_EVENT)
		return false;
	if (p->seen++ < p->skip || p->dropped >= p->count)
		return false;
	p->dropped++;
	return true;
}

static bool plan_drop(struct link *l, bool to_cam, const struct omv_packet *pkt)
{
	return plan_matches(l->user, to_cam, pkt);
}

static void trace_rtx(struct link *l, const struct omv_packet *pkt)
{
	struct drop_plan *p = l->user;

	if ((pkt->flags & OMV_F_RTX) && p->rtx < 8)
		p->rtx_at[p->rtx++] = l->now;
}

static void setup(struct link *l, struct drop_plan *plan, uint16_t max_payload, size_t data_len)
{
	struct rng r = { data_len };

	link_init(l, OMV_CAM_PAYLOAD, 1 << 20);
	link_connect(l, max_payload);
	CHECK_EQ(omv_host_rto(&l->host, 1000), RTO);
	l->chan_data = xmalloc(data_len);
	l->chan_len = data_len;
	rng_fill(&r, l->chan_data, data_len);
	memset(plan, 0, sizeof(*plan));
	l->user = plan;
	l->drop = plan_drop;
	l->cam_wrote = trace_rtx;
}

/* The 5th fragment arrives with a bad payload CRC: NAKed, sent again at
 * once, no time lost. */
static void test_damaged_fragment(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	l.drop = NULL;
	l.damage = plan_drop;
	p.to_cam = false;
	p.skip = 4;
	p.count = 1;
	uint64_t t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	CHECK_EQ(l.damaged, 1);
	CHECK_EQ(l.done_at, t0);
	CHECK_EQ(p.rtx, 1);
	CHECK_EQ(l.host.stats.damaged, 1);
	CHECK_EQ(l.host.stats.probes, 0);
	CHECK_EQ(l.cam.stats.retransmit, 1);
	CHECK_EQ(l.cam.seq, l.host.seq);
	link_free(&l);
}

/* The command's payload is damaged: NAK CHECKSUM, the host sends it again.
 * A damaged header (an empty command's header CRC) gets no answer at all:
 * that is a lost command (test_lost_command). */
static void test_damaged_command(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	l.drop = NULL;
	l.damage = plan_drop;
	p.to_cam = true;
	p.flags_none = OMV_F_ACK | OMV_F_NAK;
	p.count = 1;
	uint64_t t0 = l.now;
	unsigned seen = l.commands_seen;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	CHECK_EQ(l.done_at, t0);
	CHECK_EQ(l.commands_seen, seen + 1);
	CHECK_EQ(l.cam.stats.checksum, 1);
	CHECK_EQ(l.host.stats.resent, 1);
	CHECK_EQ(l.host.stats.naks, 1);
	CHECK_EQ(l.cam.seq, l.host.seq);
	link_free(&l);
}

/* The 5th fragment is lost: one RTO later the probe's NAK brings it. */
static void test_lost_fragment(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = false;
	p.skip = 4;
	p.count = 1;
	uint64_t t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	CHECK_EQ(p.rtx, 1);
	CHECK_EQ(p.rtx_at[0], t0 + RTO);
	CHECK_EQ(l.done_at, t0 + RTO);
	/* The RTX carried the expected seq: accepted, not a duplicate. */
	CHECK_EQ(l.host.stats.duplicates, 0);
	CHECK_EQ(l.host.stats.sequence, 0);
	CHECK_EQ(l.host.stats.probes, 1);
	CHECK_EQ(l.cam.seq, l.host.seq);
	link_free(&l);
}

/* The host's ACK of the 2nd fragment is lost: the cam waits for it while
 * the host waits for the 3rd. The probe repeats the ACK (the cam moves
 * on) and NAKs the 3rd (which the cam then sends once more: a duplicate,
 * ACKed and dropped). */
static void test_lost_ack_mid_response(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = true;
	p.flags_any = OMV_F_ACK;
	p.skip = 1;
	p.count = 1;
	uint64_t t0 = l.now;
	uint8_t seq0 = l.host.seq;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK_EQ(l.data_len, 1000);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	CHECK_EQ(l.done_at, t0 + RTO);
	CHECK_EQ(p.rtx, 1);
	CHECK_EQ(p.rtx_at[0], t0 + RTO);
	CHECK_EQ(l.host.stats.duplicates, 1);
	CHECK_EQ(l.cam.stats.retransmit, 1);
	CHECK_EQ(l.host.seq, (uint8_t)(seq0 + 10));
	CHECK_EQ(l.cam.seq, l.host.seq);
	CHECK_EQ(link_read(&l, 1, 10, 1000), OMV_OK);
	link_free(&l);
}

/* The ACK of the last fragment is lost. An idle host re-ACKs the cam's
 * RTX 500 ms later; a host with the next command ready repeats that ACK
 * in the command's probe, one RTO later. */
static void test_lost_ack_of_last_packet(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = true;
	p.flags_any = OMV_F_ACK;
	p.skip = 9;		/* the ACK of the 10th and last fragment */
	p.count = 1;
	uint64_t t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK_EQ(l.done_at, t0);
	CHECK(omv_cam_deadline(&l.cam) != OMV_DEADLINE_NONE);
	link_settle(&l, 10000);
	CHECK_EQ(p.rtx, 1);
	CHECK_EQ(p.rtx_at[0], t0 + OMV_RTX_FIRST_MS);
	CHECK_EQ(l.host.stats.duplicates, 1);
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);
	CHECK_EQ(l.cam.seq, l.host.seq);

	/* Again, and this time the next command goes out at once: the cam
	 * holds it back until the probe's ACK lets it in. */
	memset(&p, 0, sizeof(p));
	p.to_cam = true;
	p.flags_any = OMV_F_ACK;
	p.skip = 9;
	p.count = 1;
	t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	unsigned seen = l.commands_seen;
	CHECK_EQ(link_read(&l, 0, 300, 5000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 300) == 0);
	CHECK_EQ(l.done_at, t0 + RTO);
	CHECK_EQ(l.commands_seen, seen + 1);
	CHECK_EQ(l.host.stats.probes, 1);
	CHECK_EQ(l.cam.seq, l.host.seq);
	CHECK_EQ(l.cam_resets, 1);	/* only the SYNC */
	link_free(&l);
}

/* The command never reaches the cam: nothing comes back and the first
 * probe finds nothing waiting; the second sends the command again, and
 * that copy is answered. When the copies are lost too, the command ends
 * after OMV_GIVE_UP_MIN_MS, long before its 5 s timeout; a resync and the
 * same command again work. */
static void test_lost_command(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = true;
	p.flags_none = OMV_F_ACK | OMV_F_NAK;
	p.count = 1;
	uint64_t t0 = l.now;
	unsigned seen = l.commands_seen;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	CHECK_EQ(l.done_at, t0 + 3 * RTO);	/* probes at 1 and 3 RTO */
	CHECK_EQ(l.commands_seen, seen + 1);
	CHECK_EQ(l.host.stats.resent, 1);
	CHECK_EQ(l.host.stats.timeouts, 0);
	CHECK_EQ(l.cam.seq, l.host.seq);

	/* the command and every copy lost */
	memset(&p, 0, sizeof(p));
	p.to_cam = true;
	p.flags_none = OMV_F_ACK | OMV_F_NAK;
	p.count = ~0u;
	t0 = l.now;
	seen = l.commands_seen;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_ERR_TIMEOUT);
	CHECK_EQ(l.done_at, t0 + OMV_GIVE_UP_MIN_MS);	/* 15 RTOs would be less */
	l.drop = NULL;
	CHECK_EQ(l.commands_seen, seen);
	CHECK_EQ(l.host.stats.gave_up, 1);
	CHECK_EQ(p.rtx, 0);
	CHECK_EQ(link_sync(&l), OMV_OK);
	link_connect(&l, 100);
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	link_free(&l);
}

/* The answer's first packet and the first probe are lost: the cam has the
 * command and waits for an ACK; the second probe's NAK brings the packet,
 * and the copy of the command it also carried is refused by the cam once
 * the answer is done (NAK SEQUENCE under the copy's seq): ACKed, dropped,
 * and the next command goes through. */
static bool drop_first_packet_and_probe(struct link *l, bool to_cam, const struct omv_packet *pkt)
{
	struct drop_plan *p = l->user;

	if (pkt->flags & OMV_F_EVENT)
		return false;
	if (!to_cam && !(pkt->flags & OMV_F_RTX) && p->seen++ == 0)
		return true;
	if (to_cam && (pkt->flags & OMV_F_NAK) && p->dropped++ == 0)
		return true;
	return false;
}

static void test_copy_refused(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	l.drop = drop_first_packet_and_probe;
	uint64_t t0 = l.now;
	unsigned seen = l.commands_seen;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	CHECK_EQ(l.done_at, t0 + 3 * RTO);
	CHECK_EQ(l.host.stats.resent, 1);
	link_pump(&l);
	CHECK_EQ(l.commands_seen, seen + 1);	/* the copy never ran */
	CHECK_EQ(l.cam.stats.sequence, 1);
	CHECK(l.host.stats.duplicates >= 1);
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);
	CHECK_EQ(link_read(&l, 5, 100, 5000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data + 5, 100) == 0);
	CHECK_EQ(l.done_at, l.now);
	CHECK_EQ(l.cam.seq, l.host.seq);
	link_free(&l);
}

/* From the 3rd fragment on nothing gets through: each NAK brings a resend
 * that is lost too. The host gives up after OMV_GIVE_UP_MIN_MS, the cam
 * has spent its three tries on the NAKs; a resync heals. */
static void test_lost_response_gives_up(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = false;
	p.skip = 2;
	p.count = ~0u;
	uint64_t t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 1000, 2000), OMV_ERR_TIMEOUT);
	CHECK_EQ(l.done_at, t0 + OMV_GIVE_UP_MIN_MS);
	CHECK_EQ(l.host.stats.timeouts, 1);
	CHECK(!omv_host_busy(&l.host));
	CHECK_EQ(omv_host_deadline(&l.host), OMV_DEADLINE_NONE);
	CHECK_EQ(p.rtx, 3);
	CHECK_EQ(p.rtx_at[0], t0 + RTO);
	CHECK_EQ(p.rtx_at[1], t0 + 3 * RTO);
	CHECK_EQ(p.rtx_at[2], t0 + LAST_PROBE);
	CHECK_EQ(l.cam.stats.retransmit, 3);
	l.drop = NULL;
	CHECK_EQ(link_sync(&l), OMV_OK);
	CHECK_EQ(link_read(&l, 0, 1000, 2000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	link_free(&l);
}

/* Nothing from the cam gets through at all: the host gives up early; the
 * cam, its tries spent on the host's NAKs, gives up 4 s after the last
 * resend and is back at its defaults. */
static void test_cam_gives_up(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 1000, 100);
	p.to_cam = false;
	p.count = ~0u;
	uint64_t t0 = l.now;
	unsigned resets = l.cam_resets;
	CHECK(l.cam.seq != 0);
	CHECK_EQ(link_read(&l, 0, 100, 10000), OMV_ERR_TIMEOUT);
	CHECK_EQ(l.done_at, t0 + OMV_GIVE_UP_MIN_MS);
	CHECK_EQ(p.rtx, 3);
	link_settle(&l, 10000);
	CHECK_EQ(l.now, t0 + LAST_PROBE + (OMV_RTX_FIRST_MS << OMV_RTX_RETRIES));
	CHECK_EQ(l.cam.stats.retransmit, 3);
	CHECK_EQ(l.cam.stats.transport, 1);
	CHECK_EQ(l.cam_resets, resets + 1);
	CHECK_EQ(l.cam.seq, 0);
	CHECK_EQ(l.cam.caps.max_payload, OMV_CAM_PAYLOAD);
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);
	l.drop = NULL;
	link_connect(&l, 4096);
	CHECK_EQ(link_read(&l, 0, 100, 1000), OMV_OK);
	link_free(&l);
}

/* Exactly when the cam gives up on a silent host, in fake time: 7.5 s
 * after the send. */
static void test_give_up_time(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 100);
	p.to_cam = false;
	p.count = ~0u;
	uint64_t t0 = l.now;
	l.done = false;
	uint8_t req[OMV_READ_REQ_SIZE];
	omv_read_req_encode(0, 10, req);
	CHECK_EQ(omv_host_command(&l.host, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req,
				  sizeof(req), l.now, 60000, NULL, 0), 0);
	link_pump(&l);
	unsigned resets = l.cam_resets;
	for (uint64_t t = t0; t < t0 + 7500; t += 10) {
		omv_cam_tick(&l.cam, t);
		CHECK_EQ(l.cam_resets, resets);
	}
	omv_cam_tick(&l.cam, t0 + 7499);
	CHECK_EQ(l.cam_resets, resets);
	omv_cam_tick(&l.cam, t0 + 7500);
	CHECK_EQ(l.cam_resets, resets + 1);
	CHECK_EQ(l.cam.stats.transport, 1);
	omv_host_cancel(&l.host);
	CHECK(l.done);
	CHECK_EQ(l.result.code, OMV_ERR_CANCELLED);
	link_free(&l);
}

static void test_sync_mid_packet(void)
{
	struct link l;
	struct drop_plan p;
	uint8_t pkt[OMV_PACKET_SIZE(100u)], req[100];

	setup(&l, &p, 1000, 100);
	l.drop = NULL;
	memset(req, 0x11, sizeof(req));
	size_t n = omv_packet_encode(pkt, sizeof(pkt), l.host.seq, OMV_CHAN_STDIN, 0,
				     OMV_OP_CHANNEL_WRITE, req, sizeof(req), true);
	/* Half a packet, then the host gives up and resyncs; byte by byte. */
	omv_cam_input(&l.cam, pkt, n / 2, l.now);
	l.piece = 1;
	unsigned resets = l.cam_resets;
	CHECK_EQ(link_sync(&l), OMV_OK);
	CHECK_EQ(l.cam_resets, resets + 1);
	CHECK_EQ(l.commands_seen, 0);
	CHECK_EQ(l.cam.seq, 0);
	CHECK_EQ(l.cam.stats.checksum, 0);
	link_connect(&l, 1000);
	CHECK_EQ(link_read(&l, 0, 100, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 100) == 0);

	/* Inside a payload, after only the header arrived. */
	l.piece = 0;
	omv_cam_input(&l.cam, pkt, OMV_HDR_SIZE + 3, l.now);
	CHECK_EQ(link_sync(&l), OMV_OK);
	CHECK_EQ(l.commands_seen, 1);	/* the READ above only */
	link_connect(&l, 1000);
	CHECK_EQ(link_command(&l, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 1000), OMV_OK);
	link_free(&l);
}

static void test_sync_while_waiting_for_ack(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = true;
	p.flags_any = OMV_F_ACK;
	p.skip = 3;
	p.count = ~0u;		/* every ACK from the 4th on is lost */
	uint64_t t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 1000, 1000), OMV_ERR_TIMEOUT);
	CHECK_EQ(l.done_at, t0 + OMV_GIVE_UP_MIN_MS);
	CHECK(omv_cam_deadline(&l.cam) != OMV_DEADLINE_NONE);
	CHECK(l.cam.waiting_ack);
	l.drop = NULL;
	unsigned resets = l.cam_resets;
	CHECK_EQ(link_sync(&l), OMV_OK);
	CHECK_EQ(l.cam_resets, resets + 1);
	CHECK(!l.cam.waiting_ack);
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);
	/* Nothing of the old response comes back later. */
	link_settle(&l, 10000);
	CHECK_EQ(p.rtx, 0);
	CHECK_EQ(l.now, t0 + OMV_GIVE_UP_MIN_MS);
	link_connect(&l, 100);
	CHECK_EQ(link_read(&l, 0, 1000, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	link_free(&l);
}

/* The ACK of the SYNC answer is lost: the cam holds GET_CAPS back until
 * the probe repeats that ACK (the probe's NAK then brings the GET_CAPS
 * answer once more: a duplicate). */
static void test_lost_ack_of_sync_answer(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = true;
	p.flags_any = OMV_F_ACK;
	p.count = 1;
	CHECK_EQ(link_sync(&l), OMV_OK);
	CHECK(l.cam.waiting_ack);
	uint64_t t0 = l.now;
	CHECK_EQ(link_command(&l, OMV_OP_PROTO_GET_CAPS, 0, NULL, 0, 1000), OMV_OK);
	CHECK_EQ(l.data_len, OMV_CAPS_SIZE);
	CHECK_EQ(l.done_at, t0 + RTO);
	link_pump(&l);
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);
	CHECK_EQ(l.cam.seq, 1);
	CHECK_EQ(l.host.seq, 1);
	CHECK_EQ(p.rtx, 1);
	CHECK_EQ(l.host.stats.duplicates, 1);
	link_free(&l);
}

/* The ACK of the SET_CAPS answer is lost: the host has switched, the cam
 * switches when the probe's ACK arrives, and only then reads the next
 * command (sent under the new caps). */
static void test_lost_ack_of_set_caps_answer(void)
{
	struct link l;
	struct drop_plan p;
	struct omv_caps caps = omv_caps_default;

	setup(&l, &p, 100, 5000);
	p.to_cam = true;
	p.flags_any = OMV_F_ACK;
	p.count = 1;
	caps.max_payload = 1000;
	CHECK_EQ(link_set_caps(&l, &caps), OMV_OK);
	CHECK_EQ(l.host.caps.max_payload, 1000);
	CHECK_EQ(l.cam.caps.max_payload, 100);
	CHECK(l.cam.caps_pending);
	uint64_t t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 5000, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 5000) == 0);
	CHECK_EQ(l.done_at, t0 + RTO);
	CHECK_EQ(l.cam.caps.max_payload, 1000);
	CHECK_EQ(l.cam.seq, l.host.seq);
	link_free(&l);
}

/* Everything is lost both ways from the cam's 11th packet for a while. */
struct glitch {
	unsigned after, seen;
	uint64_t until;		/* set when it starts */
	uint64_t length_ms;
};

static bool glitch_drop(struct link *l, bool to_cam, const struct omv_packet *pkt)
{
	struct glitch *g = l->user;

	if (!to_cam && !g->until && ++g->seen > g->after)
		g->until = l->now + g->length_ms;
	return g->until && l->now < g->until;
}

/* A 40-fragment answer and the cam silent for a while after the 10th: a
 * short glitch costs the wait plus a round trip, a long one ends the
 * command early (well before its timeout), and a resync recovers. */
static void test_glitch_mid_answer(void)
{
	struct link l;
	struct glitch g = { .after = 10, .length_ms = 100 };

	link_init(&l, OMV_CAM_PAYLOAD, 1 << 20);
	link_connect(&l, 100);
	l.chan_len = 4000;
	l.chan_data = xmalloc(l.chan_len);
	rng_fill(&(struct rng){ 5 }, l.chan_data, l.chan_len);
	l.user = &g;
	l.drop = glitch_drop;
	uint64_t t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 4000, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 4000) == 0);
	/* The NAKs of the first two probes are lost in the glitch; the third,
	 * with the last probe, comes after it. */
	CHECK_EQ(l.done_at, t0 + LAST_PROBE);
	CHECK_EQ(l.host.stats.timeouts, 0);
	CHECK_EQ(l.cam.seq, l.host.seq);

	g = (struct glitch){ .after = 10, .length_ms = 2000 };
	t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 4000, 1000), OMV_ERR_TIMEOUT);
	CHECK_EQ(l.done_at, t0 + OMV_GIVE_UP_MIN_MS);
	link_settle(&l, 10000);
	CHECK_EQ(link_sync(&l), OMV_OK);
	link_connect(&l, 100);
	CHECK_EQ(link_read(&l, 0, 4000, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 4000) == 0);
	link_free(&l);
}

/* Random losses and damage, both ways; every command ends OK with the
 * right data, or fails, and then a resync must bring the link back. */
struct soak {
	struct rng r;
	unsigned drop_pct, damage_pct;
};

static bool random_drop(struct link *l, bool to_cam, const struct omv_packet *pkt)
{
	struct soak *s = l->user;

	return rng_below(&s->r, 100) < s->drop_pct;
}

static bool random_damage(struct link *l, bool to_cam, const struct omv_packet *pkt)
{
	struct soak *s = l->user;

	return rng_below(&s->r, 100) < s->damage_pct;
}

static void soak(unsigned drop_pct, unsigned damage_pct, unsigned min_ok)
{
	struct link l;
	struct soak s = { { 2024 + drop_pct }, drop_pct, damage_pct };
	struct rng data_rng = { 77 };
	unsigned ok = 0, failed = 0;

	link_init(&l, OMV_CAM_PAYLOAD, 1 << 20);
	link_connect(&l, 200);
	l.chan_len = 5000;
	l.chan_data = xmalloc(l.chan_len);
	rng_fill(&data_rng, l.chan_data, l.chan_len);
	l.user = &s;
	l.drop = random_drop;
	l.damage = random_damage;
	for (int i = 0; i < 300; i++) {
		uint32_t off = rng_below(&s.r, 4000), len = 1 + rng_below(&s.r, 1000);
		int code = link_read(&l, off, len, 3000);
		if (code == OMV_OK) {
			CHECK_EQ(l.data_len, len);
			CHECK(memcmp(l.data, l.chan_data + off, len) == 0);
			ok++;
			continue;
		}
		failed++;
		/* Resync on a clean wire, as the daemon would after retrying. */
		l.drop = NULL;
		l.damage = NULL;
		link_settle(&l, 20000);
		link_connect(&l, 200);
		l.drop = random_drop;
		l.damage = random_damage;
	}
	printf("soak %u%% drop %u%% damage: %u ok, %u failed and resynced, %llu NAKed "
	       "damaged, %llu probes, %llu resent, %llu duplicates, %llu cam retransmits\n",
	       drop_pct, damage_pct, ok, failed, (unsigned long long)l.host.stats.damaged,
	       (unsigned long long)l.host.stats.probes, (unsigned long long)l.host.stats.resent,
	       (unsigned long long)l.host.stats.duplicates,
	       (unsigned long long)l.cam.stats.retransmit);
	CHECK(ok >= min_ok);
	CHECK(l.host.stats.damaged > 0);
	CHECK(l.host.stats.probes > 0);
	CHECK(l.host.stats.duplicates > 0);
	link_free(&l);
}

int main(void)
{
	test_damaged_fragment();
	test_damaged_command();
	test_lost_fragment();
	test_lost_ack_mid_response();
	test_lost_ack_of_last_packet();
	test_lost_command();
	test_copy_refused();
	test_lost_response_gives_up();
	test_cam_gives_up();
	test_give_up_time();
	test_sync_mid_packet();
	test_sync_while_waiting_for_ack();
	test_lost_ack_of_sync_answer();
	test_lost_ack_of_set_caps_answer();
	test_glitch_mid_answer();
	soak(1, 1, 290);
	soak(5, 5, 240);
	printf("faults: ok\n");
	return 0;
}
