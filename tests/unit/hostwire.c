/* The fake wire of the host tests (hostwire.h). */
#include "hostwire.h"

#include <string.h>

#include "check.h"

static void w_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct wire *w = ctx;

	CHECK(w->nout < 1024 && len <= sizeof(w->out[0]));
	memcpy(w->out[w->nout], buf, len);
	w->out_len[w->nout++] = len;
}

static void w_done(void *ctx, const struct omv_result *r)
{
	struct wire *w = ctx;

	w->done = true;
	w->ndone++;
	w->res = *r;
	CHECK(r->len <= sizeof(w->data));
	if (r->len)
		memcpy(w->data, r->data, r->len);
	if (w->command_from_done) {
		w->command_from_done = false;
		w->command_from_done_rc = omv_host_command(&w->h, OMV_OP_CHANNEL_POLL, 0,
							   NULL, 0, 0, 100, NULL, 0);
	}
}

static void w_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code)
{
	struct wire *w = ctx;

	CHECK(w->nev < 16);
	w->ev[w->nev].chan = chan;
	w->ev[w->nev].opcode = opcode;
	w->ev[w->nev++].code = code;
}

static const struct omv_host_ops w_ops = { w_write, w_done, w_event };

void w_init(struct wire *w, size_t rx_limit)
{
	memset(w, 0, sizeof(*w));
	CHECK_EQ(omv_host_init(&w->h, &w_ops, w, rx_limit), 0);
}

void cam_send_at(struct wire *w, uint64_t now, bool damaged, uint8_t seq, uint8_t chan,
			uint8_t flags, uint8_t op, const void *payload, uint16_t len)
{
	uint8_t *pkt = xmalloc(OMV_PACKET_SIZE((size_t)len));
	size_t n = omv_packet_encode(pkt, OMV_PACKET_SIZE((size_t)len), seq, chan, flags, op,
				     payload, len, true);
	CHECK(n > 0);
	if (damaged) {
		CHECK(len > 0);
		pkt[OMV_HDR_SIZE + len / 2] ^= 0x04;
	}
	omv_host_input(&w->h, pkt, n / 2, now);
	omv_host_input(&w->h, pkt + n / 2, n - n / 2, now);
	free(pkt);
}

void cam_send(struct wire *w, uint8_t seq, uint8_t chan, uint8_t flags, uint8_t op,
		     const void *payload, uint16_t len, bool crc)
{
	uint8_t *pkt = xmalloc(OMV_PACKET_SIZE((size_t)len));
	size_t n = omv_packet_encode(pkt, OMV_PACKET_SIZE((size_t)len), seq, chan, flags, op,
				     payload, len, crc);
	CHECK(n > 0);
	omv_host_input(&w->h, pkt, n / 2, 0);
	omv_host_input(&w->h, pkt + n / 2, n - n / 2, 0);
	free(pkt);
}

void expect_out(struct wire *w, size_t i, uint8_t seq, uint8_t chan, uint8_t flags,
		       uint8_t op, uint16_t len)
{
	CHECK(i < w->nout);
	const uint8_t *p = w->out[i];
	CHECK_EQ(p[0], 0xAA);
	CHECK_EQ(p[1], 0xD5);
	CHECK_EQ(p[2], seq);
	CHECK_EQ(p[3], chan);
	CHECK_EQ(p[4], flags);
	CHECK_EQ(p[5], op);
	CHECK_EQ(omv_get_u16(p + 6), len);
	CHECK_EQ(w->out_len[i], OMV_PACKET_SIZE((size_t)len));
}

void do_sync(struct wire *w)
{
	size_t n0 = w->nout;

	w->done = false;
	omv_host_sync(&w->h, 0, 100);
	CHECK_EQ(w->nout, n0 + 1);
	cam_send(w, 0, 0, RESP, OMV_OP_PROTO_SYNC, NULL, 0, true);
	CHECK(w->done);
	CHECK_EQ(w->res.code, OMV_OK);
	expect_out(w, n0 + 1, 0, 0, OMV_F_ACK, OMV_OP_PROTO_SYNC, 0);
	CHECK_EQ(w->h.seq, 0);
	CHECK(w->h.seq_valid);
}
