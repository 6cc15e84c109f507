/*
 * Host and cam in-process with a lossy wire: lost ACKs and the cam's RTX,
 * lost responses and the host's deadline, the cam giving up after 7.5 s,
 * SYNC arriving mid-packet or while the cam waits for an ACK, and a soak
 * run with random losses where every command must end correctly or time
 * out and recover through a resync.
 */
#include <string.h>

#include "link.h"
#include "check.h"

struct drop_plan {
	bool to_cam;		/* direction to act on */
	uint8_t flags_any;	/* packet must have one of these flags (0: any) */
	unsigned skip;		/* let this many matching packets through first */
	unsigned count;		/* then drop this many (UINT_MAX: all) */
	unsigned seen, dropped;
	/* trace of the cam's packets */
	uint64_t rtx_at[8];
	unsigned rtx;
};

static bool plan_drop(struct link *l, bool to_cam, const struct omv_packet *pkt)
{
	struct drop_plan *p = l->user;

	if (to_cam != p->to_cam || (p->flags_any && !(pkt->flags & p->flags_any)))
		return false;
	if (pkt->flags & OMV_F_EVENT)
		return false;
	if (p->seen++ < p->skip || p->dropped >= p->count)
		return false;
	p->dropped++;
	return true;
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
	l->chan_data = xmalloc(data_len);
	l->chan_len = data_len;
	rng_fill(&r, l->chan_data, data_len);
	memset(plan, 0, sizeof(*plan));
	l->user = plan;
	l->drop = plan_drop;
	l->cam_wrote = trace_rtx;
}

static void test_lost_ack_mid_response(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = true;
	p.flags_any = OMV_F_ACK;
	p.skip = 1;		/* the ACK of the 2nd fragment */
	p.count = 1;
	uint64_t t0 = l.now;
	uint8_t seq0 = l.host.seq;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK_EQ(l.data_len, 1000);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	CHECK_EQ(p.rtx, 1);
	CHECK_EQ(p.rtx_at[0], t0 + 500);
	CHECK_EQ(l.done_at, t0 + 500);
	CHECK_EQ(l.host.stats.duplicates, 1);
	CHECK_EQ(l.cam.stats.retransmit, 1);
	CHECK_EQ(l.host.seq, (uint8_t)(seq0 + 10));
	CHECK_EQ(l.cam.seq, l.host.seq);
	CHECK_EQ(link_read(&l, 1, 10, 1000), OMV_OK);
	link_free(&l);
}

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
	/* The host, idle now, re-ACKs the copy. */
	link_settle(&l, 10000);
	CHECK_EQ(p.rtx, 1);
	CHECK_EQ(l.host.stats.duplicates, 1);
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);
	CHECK_EQ(l.cam.seq, l.host.seq);
	CHECK_EQ(link_read(&l, 0, 300, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 300) == 0);
	CHECK_EQ(l.cam_resets, 1);	/* only the SYNC */
	link_free(&l);
}

static void test_lost_response_copy(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = false;
	p.skip = 4;		/* the 5th fragment's first copy */
	p.count = 1;
	uint64_t t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	CHECK_EQ(p.rtx, 1);
	CHECK_EQ(l.done_at, t0 + 500);
	/* The RTX carried the expected seq: accepted, not a duplicate. */
	CHECK_EQ(l.host.stats.duplicates, 0);
	CHECK_EQ(l.host.stats.sequence, 0);
	CHECK_EQ(l.cam.seq, l.host.seq);
	link_free(&l);
}

static void test_lost_response_times_out(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, 100, 1000);
	p.to_cam = false;
	p.skip = 2;
	p.count = ~0u;
	uint64_t t0 = l.now;
	CHECK_EQ(link_read(&l, 0, 1000, 2000), OMV_ERR_TIMEOUT);
	CHECK_EQ(l.done_at, t0 + 2000);
	CHECK_EQ(l.host.stats.timeouts, 1);
	CHECK(!omv_host_busy(&l.host));
	CHECK_EQ(omv_host_deadline(&l.host), OMV_DEADLINE_NONE);
	/* The cam retried at +500 and +1500 so far. */
	CHECK_EQ(p.rtx, 2);
	CHECK_EQ(p.rtx_at[0], t0 + 500);
	CHECK_EQ(p.rtx_at[1], t0 + 1500);
	/* The wire heals; a resync brings both back in step. */
	l.drop = NULL;
	CHECK_EQ(link_sync(&l), OMV_OK);
	CHECK_EQ(link_read(&l, 0, 1000, 2000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	link_free(&l);
}

static void test_cam_gives_up(void)
{
	struct link l;
	struct drop_plan p;

	setup(&l, &p, OMV_CAM_PAYLOAD, 100);
	p.to_cam = false;
	p.count = ~0u;
	uint64_t t0 = l.now;
	unsigned resets = l.cam_resets;
	CHECK(l.cam.seq != 0);
	CHECK_EQ(link_read(&l, 0, 100, 10000), OMV_ERR_TIMEOUT);
	CHECK_EQ(l.done_at, t0 + 10000);
	CHECK_EQ(p.rtx, 3);
	CHECK_EQ(p.rtx_at[0], t0 + 500);
	CHECK_EQ(p.rtx_at[1], t0 + 1500);
	CHECK_EQ(p.rtx_at[2], t0 + 3500);
	/* Gave up 4 s after the third resend: back to defaults. */
	CHECK_EQ(l.cam.stats.retransmit, 3);
	CHECK_EQ(l.cam.stats.transport, 1);
	CHECK_EQ(l.cam_resets, resets + 1);
	CHECK_EQ(l.cam.seq, 0);
	CHECK_EQ(l.cam.caps.max_payload, OMV_MIN_PAYLOAD);
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);
	l.drop = NULL;
	link_connect(&l, 4096);
	CHECK_EQ(link_read(&l, 0, 100, 1000), OMV_OK);
	link_free(&l);
}

/* Exactly when the cam gives up, in fake time: 7.5 s after the send. */
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
	CHECK_EQ(link_read(&l, 0, 1000, 300), OMV_ERR_TIMEOUT);
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
	CHECK_EQ(l.now, t0 + 300);
	link_connect(&l, 100);
	CHECK_EQ(link_read(&l, 0, 1000, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	link_free(&l);
}

/* The ACK of the SYNC answer is lost: the next command arriving at the
 * cam shows that the host got the answer. */
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
	CHECK_EQ(link_command(&l, OMV_OP_PROTO_GET_CAPS, 0, NULL, 0, 1000), OMV_OK);
	CHECK_EQ(l.data_len, OMV_CAPS_SIZE);
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);
	CHECK_EQ(l.cam.seq, 1);
	CHECK_EQ(l.host.seq, 1);
	CHECK_EQ(p.rtx, 0);
	link_free(&l);
}

/* The ACK of the SET_CAPS answer is lost: the host has switched, and the
 * cam switches when the next command comes. */
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
	CHECK_EQ(link_read(&l, 0, 5000, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 5000) == 0);
	CHECK_EQ(l.cam.caps.max_payload, 1000);
	CHECK_EQ(p.rtx, 0);
	CHECK_EQ(l.cam.seq, l.host.seq);
	link_free(&l);
}

/* Random losses both ways; every command ends OK with the right data, or
 * fails, and then a resync must bring the link back. */
static bool random_drop(struct link *l, bool to_cam, const struct omv_packet *pkt)
{
	struct rng *r = l->user;

	return rng_below(r, 100) < 4;
}

static void test_soak(void)
{
	struct link l;
	struct rng r = { 2024 };
	struct rng data_rng = { 77 };
	unsigned ok = 0, failed = 0;

	link_init(&l, OMV_CAM_PAYLOAD, 1 << 20);
	link_connect(&l, 200);
	l.chan_len = 5000;
	l.chan_data = xmalloc(l.chan_len);
	rng_fill(&data_rng, l.chan_data, l.chan_len);
	l.user = &r;
	l.drop = random_drop;
	for (int i = 0; i < 300; i++) {
		uint32_t off = rng_below(&r, 4000), len = 1 + rng_below(&r, 1000);
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
		link_settle(&l, 20000);
		link_connect(&l, 200);
		l.drop = random_drop;
	}
	printf("soak: %u ok, %u failed and resynced, %llu duplicates, %llu cam retransmits\n",
	       ok, failed, (unsigned long long)l.host.stats.duplicates,
	       (unsigned long long)l.cam.stats.retransmit);
	CHECK(ok > 200);
	CHECK(failed > 0);
	CHECK(l.host.stats.duplicates > 0);
	link_free(&l);
}

int main(void)
{
	test_lost_ack_mid_response();
	test_lost_ack_of_last_packet();
	test_lost_response_copy();
	test_lost_response_times_out();
	test_cam_gives_up();
	test_give_up_time();
	test_sync_mid_packet();
	test_sync_while_waiting_for_ack();
	test_lost_ack_of_sync_answer();
	test_lost_ack_of_set_caps_answer();
	test_soak();
	printf("faults: ok\n");
	return 0;
}
