/*
 * Deterministic robustness runs: random and mutated byte streams into the
 * decoder, the host and the cam, in random pieces held in exactly sized
 * heap blocks (ASan reports any read past them), with settings changing
 * between calls. Checks the invariants that must hold whatever arrives.
 */
#include <string.h>

#include "protocol/cam.h"
#include "protocol/crc.h"
#include "protocol/host.h"
#include "check.h"

/* A stream of valid packets, garbage and truncated packets. */
static size_t make_stream(struct rng *r, uint8_t *buf, size_t cap)
{
	uint8_t payload[300];
	size_t len = 0;

	while (len + OMV_PACKET_SIZE(300u) + 64 < cap) {
		uint32_t kind = rng_below(r, 10);
		if (kind < 6) {
			uint16_t n = (uint16_t)rng_below(r, 301);
			rng_fill(r, payload, n);
			len += omv_packet_encode(buf + len, cap - len, (uint8_t)rng_next(r),
						 (uint8_t)rng_below(r, 6), (uint8_t)rng_below(r, 64),
						 (uint8_t)rng_below(r, 0x2A), payload, n,
						 rng_below(r, 4) != 0);
		} else if (kind < 8) {
			size_t n = rng_below(r, 40);
			for (size_t i = 0; i < n; i++) {
				uint32_t pick = rng_below(r, 3);
				buf[len++] = pick == 0 ? 0xAA : pick == 1 ? 0xD5 : (uint8_t)rng_next(r);
			}
		} else {
			uint16_t n = (uint16_t)rng_below(r, 100);
			rng_fill(r, payload, n);
			size_t full = omv_packet_encode(buf + len, cap - len, 0, 0, 0, 0x26,
							payload, n, true);
			len += rng_below(r, (uint32_t)full);	/* cut short */
		}
	}
	/* Flip a few bytes anywhere. */
	for (int i = 0; i < 20; i++)
		buf[rng_below(r, (uint32_t)len)] ^= (uint8_t)(1 + rng_below(r, 255));
	return len;
}

static void fuzz_decoder(void)
{
	struct rng r = { 31337 };
	enum { STREAM = 200000 };
	uint8_t *stream = xmalloc(STREAM);
	size_t cap = OMV_PACKET_SIZE(300u);
	uint8_t *dbuf = xmalloc(cap);
	struct omv_decoder d;
	struct omv_packet pkt;
	uint64_t found = 0;

	for (int round = 0; round < 10; round++) {
		size_t len = make_stream(&r, stream, STREAM);
		omv_decoder_init(&d, dbuf, cap, 300, true);
		size_t off = 0;
		while (off < len) {
			if (rng_below(&r, 50) == 0) {
				d.max_payload = (uint16_t)(52 + rng_below(&r, 249));
				d.check_crc = rng_below(&r, 4) != 0;
			}
			size_t n = 1 + rng_below(&r, 200);
			if (n > len - off)
				n = len - off;
			uint8_t *piece = xmalloc(n);
			memcpy(piece, stream + off, n);
			size_t used = 0;
			while (used < n) {
				used += omv_decoder_feed(&d, piece + used, n - used);
				CHECK(d.len <= d.cap);
				while (omv_decoder_next(&d, &pkt)) {
					found++;
					CHECK(pkt.length <= d.max_payload);
					CHECK_EQ(pkt.raw_len, OMV_PACKET_SIZE((size_t)pkt.length));
					CHECK(pkt.raw == d.buf);
					if (d.check_crc) {
						CHECK_EQ(omv_get_u16(pkt.raw + 8), omv_crc16(pkt.raw, 8));
						if (pkt.length)
							CHECK_EQ(omv_get_u32(pkt.payload + pkt.length),
								 omv_crc32(pkt.payload, pkt.length));
					}
				}
			}
			free(piece);
			off += n;
		}
	}
	printf("decoder: %llu packets found in noise\n", (unsigned long long)found);
	CHECK(found > 1000);
	free(dbuf);
	free(stream);
}

struct fuzz_host {
	struct omv_host h;
	unsigned done_calls, events;
	size_t written;
	uint64_t data_sum;	/* touches every result byte */
};

static void fh_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct fuzz_host *f = ctx;

	CHECK(len >= OMV_HDR_SIZE && omv_get_u16(buf) == OMV_SYNC_WORD);
	f->written += len;
}

static void fh_done(void *ctx, const struct omv_result *res)
{
	struct fuzz_host *f = ctx;

	CHECK(!omv_host_busy(&f->h));
	CHECK(res->code >= OMV_OK && res->code <= OMV_ERR_CANCELLED);
	CHECK(res->len == 0 || res->data != NULL);
	for (size_t i = 0; i < res->len; i++)
		f->data_sum += res->data[i];
	f->done_calls++;
}

static void fh_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code)
{
	struct fuzz_host *f = ctx;

	f->events++;
}

static const struct omv_host_ops fh_ops = { fh_write, fh_done, fh_event };

static void fuzz_host(void)
{
	struct rng r = { 4242 };
	enum { STREAM = 100000 };
	uint8_t *stream = xmalloc(STREAM);
	struct fuzz_host f = { .done_calls = 0 };
	unsigned started = 0;
	uint64_t now = 0;

	CHECK_EQ(omv_host_init(&f.h, &fh_ops, &f, 4096), 0);
	for (int round = 0; round < 10; round++) {
		size_t len = make_stream(&r, stream, STREAM);
		size_t off = 0;
		while (off < len) {
			if (!omv_host_busy(&f.h)) {
				uint32_t what = rng_below(&r, 4);
				if (what == 0) {
					omv_host_sync(&f.h, now, 50);
				} else {
					CHECK_EQ(omv_host_command(&f.h, (uint8_t)(0x20 + rng_below(&r, 10)),
								  (uint8_t)rng_below(&r, 6), NULL, 0, now,
								  50, NULL, 0), 0);
				}
				started++;
			}
			size_t n = 1 + rng_below(&r, 300);
			if (n > len - off)
				n = len - off;
			uint8_t *piece = xmalloc(n);
			memcpy(piece, stream + off, n);
			omv_host_input(&f.h, piece, n, now);
			free(piece);
			off += n;
			now += rng_below(&r, 20);
			omv_host_tick(&f.h, now);
		}
	}
	omv_host_cancel(&f.h);
	printf("host: %u commands ended, %u events, %llu packets accepted\n", f.done_calls,
	       f.events, (unsigned long long)f.h.stats.received);
	CHECK_EQ(f.done_calls, started);
	CHECK(f.events > 0);
	CHECK(f.h.stats.received > 0);
	omv_host_free(&f.h);
	free(stream);
}

struct fuzz_cam {
	struct omv_cam c;
	unsigned commands, resets;
	bool pending;
};

static void fc_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct fuzz_cam *f = ctx;

	CHECK(len >= OMV_HDR_SIZE && omv_get_u16(buf) == OMV_SYNC_WORD);
	CHECK(omv_get_u16(buf + 6) <= f->c.cam_max_payload);
}

static void fc_command(void *ctx, const struct omv_packet *cmd)
{
	struct fuzz_cam *f = ctx;

	CHECK(cmd->opcode > OMV_OP_SYS_MEMORY || cmd->chan == 0);
	f->commands++;
	f->pending = true;
}

static void fc_reset(void *ctx)
{
	struct fuzz_cam *f = ctx;

	f->resets++;
}

static const struct omv_cam_ops fc_ops = { fc_write, fc_command, fc_reset };

static void fuzz_cam(void)
{
	struct rng r = { 777 };
	enum { STREAM = 100000 };
	uint8_t *stream = xmalloc(STREAM), reply[3000];
	struct fuzz_cam f = { .commands = 0 };
	uint64_t now = 0;

	CHECK_EQ(omv_cam_init(&f.c, &fc_ops, &f, 200), 0);
	rng_fill(&r, reply, sizeof(reply));
	for (int round = 0; round < 10; round++) {
		size_t len = make_stream(&r, stream, STREAM);
		/* Now and then a real SYNC. */
		for (int i = 0; i < 5; i++) {
			size_t at = rng_below(&r, (uint32_t)(len - OMV_HDR_SIZE));
			omv_packet_encode(stream + at, OMV_HDR_SIZE, 0, 0, 0, OMV_OP_PROTO_SYNC,
					  NULL, 0, true);
		}
		size_t off = 0;
		while (off < len) {
			size_t n = 1 + rng_below(&r, 300);
			if (n > len - off)
				n = len - off;
			uint8_t *piece = xmalloc(n);
			memcpy(piece, stream + off, n);
			omv_cam_input(&f.c, piece, n, now);
			free(piece);
			off += n;
			if (rng_below(&r, 5) == 0) {
				/* A well-formed command in step, amid the noise. */
				uint8_t cmd[OMV_PACKET_SIZE(8u)];
				size_t cn = omv_packet_encode(cmd, sizeof(cmd), f.c.seq,
							      (uint8_t)rng_below(&r, 5), 0,
							      (uint8_t)(0x20 + rng_below(&r, 9)),
							      reply, 8, f.c.caps.crc);
				omv_cam_input(&f.c, cmd, cn, now);
			}
			if (f.pending && rng_below(&r, 2)) {
				f.pending = false;
				omv_cam_reply(&f.c, (uint16_t)rng_below(&r, 3), reply,
					      rng_below(&r, sizeof(reply)), now);
			}
			if (rng_below(&r, 10) == 0)
				omv_cam_event(&f.c, (uint8_t)rng_below(&r, 4), (uint16_t)rng_next(&r));
			now += rng_below(&r, 400);
			omv_cam_tick(&f.c, now);
			CHECK(f.c.caps.max_payload >= OMV_MIN_PAYLOAD &&
			      f.c.caps.max_payload <= f.c.cam_max_payload);
		}
	}
	printf("cam: %u commands, %u resets, %u sent\n", f.commands, f.resets, f.c.stats.sent);
	CHECK(f.resets >= 5);
	CHECK(f.commands > 0);
	omv_cam_free(&f.c);
	free(stream);
}

int main(void)
{
	fuzz_decoder();
	fuzz_host();
	fuzz_cam();
	printf("fuzz: ok\n");
	return 0;
}
