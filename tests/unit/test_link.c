/*
 * Host and cam state machines talking in-process (tests/unit/link.c):
 * handshake, sequence wrap, large fragmented reads, events between
 * fragments, SET_CAPS switching, writes, and NAKs seen by the host.
 */
#include <string.h>

#include "link.h"
#include "check.h"

static void fill_channel(struct link *l, size_t len, uint64_t seed)
{
	struct rng r = { seed };

	free(l->chan_data);
	l->chan_data = xmalloc(len);
	l->chan_len = len;
	rng_fill(&r, l->chan_data, len);
}

static void test_handshake(void)
{
	struct link l;
	struct omv_proto_stats st;

	link_init(&l, OMV_CAM_PAYLOAD, 1 << 20);
	link_connect(&l, 4096);
	CHECK_EQ(l.host.caps.max_payload, OMV_CAM_PAYLOAD);
	CHECK_EQ(l.cam_resets, 1);	/* the SYNC */
	CHECK_EQ(link_command(&l, OMV_OP_PROTO_STATS, 0, NULL, 0, 1000), OMV_OK);
	CHECK_EQ(omv_stats_decode(&st, l.data, l.data_len), 0);
	/* SYNC, its ACK, GET_CAPS, ACK, SET_CAPS, ACK, STATS */
	CHECK_EQ(st.received, 7);
	CHECK_EQ(st.sent, 3);
	CHECK_EQ(st.checksum + st.sequence + st.retransmit + st.transport, 0);
	CHECK_EQ(l.host.stats.sequence + l.host.stats.duplicates + l.host.stats.unexpected, 0);
	link_free(&l);
}

/* Wire seq of every command the host sends. */
struct seq_log {
	uint8_t cmd_seq[1024];
	size_t n;
};

static bool log_commands(struct link *l, bool to_cam, const struct omv_packet *pkt)
{
	struct seq_log *log = l->user;

	if (to_cam && !(pkt->flags & OMV_F_ACK) && log->n < 1024)
		log->cmd_seq[log->n++] = pkt->seq;
	return false;
}

static void test_sequence_wrap(void)
{
	struct link l;
	struct seq_log log = { .n = 0 };
	uint32_t polls;

	link_init(&l, OMV_CAM_PAYLOAD, 1 << 20);
	link_connect(&l, 4096);
	l.user = &log;
	l.drop = log_commands;
	bool wrapped = false;
	for (int i = 0; i < 700; i++) {
		uint8_t before = l.host.seq;
		CHECK_EQ(link_command(&l, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 1000), OMV_OK);
		CHECK_EQ(omv_u32_decode(&polls, l.data, l.data_len), 0);
		CHECK_EQ(polls, (uint32_t)i + 1);
		CHECK_EQ(l.host.seq, (uint8_t)(before + 1));
		CHECK_EQ(l.cam.seq, l.host.seq);
		CHECK_EQ(log.cmd_seq[log.n - 1], before);
		if (before == 255)
			wrapped = true;
	}
	CHECK(wrapped);
	CHECK_EQ(l.host.stats.sequence + l.cam.stats.sequence, 0);
	link_free(&l);
}

static unsigned count_fragments(size_t len, size_t max)
{
	return len == 0 ? 1 : (unsigned)((len + max - 1) / max);
}

struct frag_count {
	unsigned data_packets, with_fragment_flag, rtx;
};

static void count_cam_packets(struct link *l, const struct omv_packet *pkt)
{
	struct frag_count *fc = l->user;

	if (pkt->flags & OMV_F_EVENT)
		return;
	if (pkt->flags & OMV_F_RTX) {
		fc->rtx++;
		return;
	}
	fc->data_packets++;
	if (pkt->flags & OMV_F_FRAGMENT)
		fc->with_fragment_flag++;
	CHECK(pkt->flags & OMV_F_ACK_REQ);
}

static void big_read(uint16_t max_payload, size_t piece)
{
	struct link l;
	struct frag_count fc = { 0 };
	const size_t size = 300 * 1024;

	link_init(&l, OMV_CAM_PAYLOAD, 1 << 20);
	link_connect(&l, max_payload);
	fill_channel(&l, size, max_payload);
	l.user = &fc;
	l.cam_wrote = count_cam_packets;
	l.piece = piece;
	uint8_t seq0 = l.host.seq;
	CHECK_EQ(link_read(&l, 0, (uint32_t)size, 60000), OMV_OK);
	CHECK_EQ(l.data_len, size);
	CHECK(memcmp(l.data, l.chan_data, size) == 0);
	unsigned frags = count_fragments(size, max_payload);
	CHECK_EQ(fc.data_packets, frags);
	CHECK_EQ(fc.with_fragment_flag, frags - 1);
	CHECK_EQ(fc.rtx, 0);
	CHECK_EQ(l.host.seq, (uint8_t)(seq0 + frags));
	CHECK_EQ(l.cam.seq, l.host.seq);
	/* No time passed: every fragment went out on the previous ACK. */
	CHECK_EQ(l.now, 1000);

	/* A partial read at an offset, then the link is still in step. */
	CHECK_EQ(link_read(&l, 12345, 777, 1000), OMV_OK);
	CHECK_EQ(l.data_len, 777);
	CHECK(memcmp(l.data, l.chan_data + 12345, 777) == 0);
	/* An out-of-range read: the app NAKs it. */
	CHECK_EQ(link_read(&l, (uint32_t)size, 1, 1000), OMV_ERR_NAK);
	CHECK_EQ(l.result.status, OMV_ST_INVALID);
	CHECK_EQ(link_command(&l, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 1000), OMV_OK);
	link_free(&l);
}

static void test_big_reads(void)
{
	big_read(OMV_MIN_PAYLOAD, 0);
	big_read(OMV_CAM_PAYLOAD, 0);
	big_read(OMV_CAM_PAYLOAD, 1000);	/* delivered in odd pieces */
	big_read(61, 7);
}

/* Inject cam events after the 3rd and 4th response packets. */
static void events_between(struct link *l, const struct omv_packet *pkt)
{
	unsigned *n = l->user;

	if (pkt->flags & OMV_F_EVENT)
		return;
	++*n;
	if (*n == 3) {
		omv_cam_event(&l->cam, OMV_CHAN_STDOUT, OMV_EV_NOTIFY);
		omv_cam_event(&l->cam, OMV_CHAN_SYSTEM, OMV_EV_SOFT_REBOOT);
	}
	if (*n == 4)
		omv_cam_event(&l->cam, OMV_CHAN_STDIN, OMV_EV_STDIN_STARTED);
}

static void test_event_mid_fragments(void)
{
	struct link l;
	unsigned sent = 0;

	link_init(&l, OMV_CAM_PAYLOAD, 1 << 20);
	link_connect(&l, 100);
	fill_channel(&l, 1000, 3);
	l.user = &sent;
	l.cam_wrote = events_between;
	uint8_t seq0 = l.host.seq;
	uint64_t deadline = l.now + 5000;
	CHECK_EQ(link_read(&l, 0, 1000, 5000), OMV_OK);
	CHECK_EQ(l.data_len, 1000);
	CHECK(memcmp(l.data, l.chan_data, 1000) == 0);
	CHECK_EQ(l.nevents, 3);
	CHECK_EQ(l.events[0].chan, OMV_CHAN_STDOUT);
	CHECK_EQ(l.events[0].opcode, OMV_OP_CHANNEL_EVENT);
	CHECK_EQ(l.events[0].code, OMV_EV_NOTIFY);
	CHECK_EQ(l.events[1].chan, OMV_CHAN_SYSTEM);
	CHECK_EQ(l.events[1].opcode, OMV_OP_SYS_EVENT);
	CHECK_EQ(l.events[1].code, OMV_EV_SOFT_REBOOT);
	CHECK_EQ(l.events[2].code, OMV_EV_STDIN_STARTED);
	for (size_t i = 0; i < l.nevents; i++)
		CHECK_EQ(l.events[i].host_deadline, deadline);
	/* Events did not advance anything. */
	CHECK_EQ(l.host.seq, (uint8_t)(seq0 + 10));
	CHECK_EQ(l.cam.seq, l.host.seq);
	CHECK_EQ(l.host.stats.events, 3);
	CHECK_EQ(l.cam.stats.sent_events, 3);

	/* With the events cap off, the cam sends none. */
	struct omv_caps caps = l.host.caps;
	caps.events = false;
	CHECK_EQ(link_set_caps(&l, &caps), OMV_OK);
	link_pump(&l);
	CHECK(!l.cam.caps.events);
	l.cam_wrote = NULL;
	omv_cam_event(&l.cam, OMV_CHAN_STDOUT, OMV_EV_NOTIFY);
	link_pump(&l);
	CHECK_EQ(l.nevents, 3);
	link_free(&l);
}

static bool check_crc_zero(struct link *l, bool to_cam, const struct omv_packet *pkt)
{
	bool *crc_expected = l->user;

	if (*crc_expected)
		CHECK(omv_get_u16(pkt->raw + 8) != 0 || pkt->length == 0);
	else
		CHECK_EQ(omv_get_u16(pkt->raw + 8), 0);
	if (!*crc_expected && pkt->length)
		CHECK_EQ(omv_get_u32(pkt->raw + OMV_HDR_SIZE + pkt->length), 0);
	return false;
}

static void test_set_caps_switch(void)
{
	struct link l;
	bool crc_expected = true;
	struct omv_caps caps = omv_caps_default;

	link_init(&l, 2000, 1 << 20);
	link_connect(&l, 4096);
	CHECK_EQ(l.host.caps.max_payload, 2000);	/* clipped to the cam */
	fill_channel(&l, 20000, 9);

	/* max_payload 100 and CRC off. The SET_CAPS exchange itself still
	 * runs with CRCs; everything after it without. */
	caps.max_payload = 100;
	caps.crc = false;
	CHECK_EQ(link_set_caps(&l, &caps), OMV_OK);
	link_pump(&l);
	CHECK(!l.host.caps.crc && !l.cam.caps.crc);
	CHECK(!l.host.dec.check_crc && !l.cam.dec.check_crc);
	CHECK_EQ(l.cam.caps.max_payload, 100);
	CHECK_EQ(l.host.dec.max_payload, 100);
	l.user = &crc_expected;
	crc_expected = false;
	l.drop = check_crc_zero;
	uint8_t seq0 = l.host.seq;
	CHECK_EQ(link_read(&l, 0, 5000, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 5000) == 0);
	CHECK_EQ(l.host.seq, (uint8_t)(seq0 + 50));
	/* A write must fit the new max payload: 100 - 8 bytes of data. */
	uint8_t req[100];
	CHECK_EQ(omv_write_req_encode(0, l.chan_data, 92, req, sizeof(req)), 100);
	CHECK_EQ(link_command(&l, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN, req, 100, 1000), OMV_OK);
	CHECK_EQ(l.written_len, 92);
	CHECK(memcmp(l.written, l.chan_data, 92) == 0);
	CHECK_EQ(omv_host_command(&l.host, OMV_OP_CHANNEL_WRITE, 1, req, 101, l.now, 1000,
				  NULL, 0), -1);

	/* Back to CRCs, another max payload, ack and seq off. */
	l.drop = NULL;
	caps = (struct omv_caps){ .crc = true, .seq = false, .ack = false, .events = true,
				  .max_payload = 1999 };
	CHECK_EQ(link_set_caps(&l, &caps), OMV_OK);
	link_pump(&l);
	CHECK(l.cam.caps.crc && !l.cam.caps.ack && !l.cam.caps.seq);
	CHECK_EQ(l.cam.caps.max_payload, 1999);
	crc_expected = true;
	l.drop = check_crc_zero;
	CHECK_EQ(link_read(&l, 0, 20000, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 20000) == 0);
	/* Without the ack cap nothing waits: no cam deadline, no ACKs. */
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);
	uint64_t host_sent = l.host.stats.sent;
	CHECK_EQ(link_read(&l, 5, 4000, 1000), OMV_OK);
	CHECK_EQ(l.host.stats.sent, host_sent + 1);
	CHECK(memcmp(l.data, l.chan_data + 5, 4000) == 0);

	/* SYNC restores defaults on both sides: the cam's own max payload,
	 * and a stock cam's on the host, which cannot know better yet. */
	l.drop = NULL;
	CHECK_EQ(link_sync(&l), OMV_OK);
	link_pump(&l);
	CHECK(l.cam.caps.ack && l.cam.caps.seq && l.cam.caps.crc);
	CHECK_EQ(l.cam.caps.max_payload, 2000);
	CHECK_EQ(l.host.caps.max_payload, OMV_CAM_PAYLOAD);
	CHECK_EQ(link_read(&l, 0, 300, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 300) == 0);
	link_free(&l);
}

static void test_naks_through_host(void)
{
	struct link l;
	uint8_t bad_caps[3] = { 0 };

	link_init(&l, OMV_CAM_PAYLOAD, 1 << 20);
	link_connect(&l, 4096);
	/* A system opcode on a channel other than 0. */
	CHECK_EQ(link_command(&l, OMV_OP_SYS_INFO, 2, NULL, 0, 1000), OMV_ERR_NAK);
	CHECK_EQ(l.result.status, OMV_ST_INVALID);
	/* A SET_CAPS payload of the wrong size: caps unchanged. */
	CHECK_EQ(link_command(&l, OMV_OP_PROTO_SET_CAPS, 0, bad_caps, 3, 1000), OMV_ERR_NAK);
	CHECK_EQ(l.result.status, OMV_ST_INVALID);
	CHECK_EQ(l.cam.caps.max_payload, OMV_CAM_PAYLOAD);
	/* Still in step. */
	CHECK_EQ(l.cam.seq, l.host.seq);
	CHECK_EQ(link_command(&l, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 1000), OMV_OK);
	CHECK_EQ(l.host.stats.naks, 2);

	/* The cam soft-reboots: the host's next command is out of sequence. */
	omv_cam_reinit(&l.cam);
	CHECK_EQ(link_command(&l, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 1000), OMV_ERR_NAK);
	CHECK_EQ(l.result.status, OMV_ST_SEQUENCE);
	CHECK_EQ(l.cam.stats.sequence, 1);
	link_connect(&l, 4096);
	CHECK_EQ(link_command(&l, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 1000), OMV_OK);
	link_free(&l);
}

static void test_too_big(void)
{
	struct link l;
	uint8_t small[5000];

	link_init(&l, OMV_CAM_PAYLOAD, 8000);
	link_connect(&l, 1000);
	fill_channel(&l, 20000, 4);

	/* Into the caller's buffer: too big, but every fragment consumed. */
	uint8_t req[OMV_READ_REQ_SIZE];
	omv_read_req_encode(0, 20000, req);
	l.done = false;
	CHECK_EQ(omv_host_command(&l.host, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req,
				  sizeof(req), l.now, 1000, small, sizeof(small)), 0);
	CHECK(link_run(&l, 2000));
	CHECK_EQ(l.result.code, OMV_ERR_TOO_BIG);
	CHECK_EQ(l.cam.seq, l.host.seq);
	CHECK_EQ(omv_cam_deadline(&l.cam), OMV_DEADLINE_NONE);

	/* Exactly the caller's buffer: fits, data lands there. */
	omv_read_req_encode(0, 5000, req);
	l.done = false;
	CHECK_EQ(omv_host_command(&l.host, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req,
				  sizeof(req), l.now, 1000, small, sizeof(small)), 0);
	CHECK(link_run(&l, 2000));
	CHECK_EQ(l.result.code, OMV_OK);
	CHECK(memcmp(small, l.chan_data, 5000) == 0);

	/* The host's own limit (8000). */
	CHECK_EQ(link_read(&l, 0, 8001, 1000), OMV_ERR_TOO_BIG);
	CHECK_EQ(link_read(&l, 0, 8000, 1000), OMV_OK);
	CHECK(memcmp(l.data, l.chan_data, 8000) == 0);
	CHECK_EQ(l.cam.seq, l.host.seq);
	link_free(&l);
}

int main(void)
{
	test_handshake();
	test_sequence_wrap();
	test_big_reads();
	test_event_mid_fragments();
	test_set_caps_switch();
	test_naks_through_host();
	test_too_big();
	printf("link: ok\n");
	return 0;
}
