/*
 * camsim: streaming. Frames read with LOCK/SIZE/READ/UNLOCK in many
 * fragments decode (JPEG via turbojpeg, then RGB565) to the right size,
 * carry consecutive frame numbers in their barcode, and the cam counts
 * each frame read exactly once. A soft reboot resets the raw settings but
 * not streaming. With the events cap off no event comes, and POLL and
 * SIZE tell the host what waits. The hostile cam: JPEG headers that claim
 * 8192x8192, and an event flood.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "simhost.h"

struct frame {
	struct omv_frame_hdr hdr;
	uint32_t number;
};

static bool lock_frame(struct sh *h)
{
	uint64_t deadline = sh_now_ms() + 2000;

	while (sh_now_ms() < deadline) {
		int rc = sh_cmd(h, OMV_OP_CHANNEL_LOCK, OMV_CHAN_STREAM, NULL, 0, 1000);
		if (rc == OMV_OK)
			return true;
		CHECKF(rc == OMV_ERR_NAK && h->status == OMV_ST_BUSY, "LOCK: %s %s",
		       omv_result_name(rc), omv_status_name(h->status));
		sh_clear_events(h);
		sh_wait_event(h, OMV_CHAN_STREAM, OMV_EV_NOTIFY, 50);
	}
	return false;
}

/* The 32-bit barcode in row 8 of an RGB888 image. */
static uint32_t barcode(const uint8_t *rgb, unsigned w)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 32; i++) {
		unsigned x = (i * w / 32 + (i + 1) * w / 32) / 2;
		v = v << 1 | (rgb[((size_t)8 * w + x) * 3] > 128);
	}
	return v;
}

static struct frame read_frame(struct sh *h)
{
	struct frame f;
	uint8_t req[OMV_READ_REQ_SIZE];
	uint32_t size;
	uint8_t *rgb, *data;

	CHECKF(lock_frame(h), "no frame within 2 s");
	size = sh_u32(h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STREAM);
	CHECK(size > OMV_FRAME_HDR_SIZE);
	omv_read_req_encode(0, size, req);
	sh_ok(h, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req, sizeof req);
	CHECKF(h->len == size, "read %zu of %u", h->len, size);
	data = h->data;		/* keep it past the next command */
	h->data = NULL;
	sh_ok(h, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_STREAM, NULL, 0);
	CHECK(omv_frame_hdr_decode(&f.hdr, data, size) == 0);
	CHECK(f.hdr.offset == OMV_FRAME_HDR_SIZE);

	rgb = malloc((size_t)f.hdr.width * f.hdr.height * 3);
	CHECK(rgb);
	if (f.hdr.pixformat == OMV_PIXFMT_JPEG) {
		tjhandle tj = tjInitDecompress();
		int w, hh, sub, cs;
		CHECK(tj);
		CHECK(f.hdr.size == size - OMV_FRAME_HDR_SIZE);
		CHECK(tjDecompressHeader3(tj, data + f.hdr.offset, f.hdr.size, &w, &hh, &sub,
					  &cs) == 0);
		CHECK((unsigned)w == f.hdr.width && (unsigned)hh == f.hdr.height);
		CHECK(tjDecompress2(tj, data + f.hdr.offset, f.hdr.size, rgb, w, 0, hh,
				    TJPF_RGB, 0) == 0);
		tjDestroy(tj);
	} else {
		CHECK(f.hdr.pixformat == OMV_PIXFMT_RGB565 && f.hdr.size == 2);
		CHECK(size == OMV_FRAME_HDR_SIZE + f.hdr.width * f.hdr.height * 2);
		for (size_t i = 0; i < (size_t)f.hdr.width * f.hdr.height; i++) {
			uint16_t v = omv_get_u16(data + f.hdr.offset + i * 2);
			rgb[i * 3] = (uint8_t)((v >> 11) << 3);
			rgb[i * 3 + 1] = (uint8_t)(((v >> 5) & 63) << 2);
			rgb[i * 3 + 2] = (uint8_t)((v & 31) << 3);
		}
	}
	f.number = barcode(rgb, f.hdr.width);
	free(rgb);
	free(data);
	return f;
}

static bool soft_rebooted(struct sh *h)
{
	return sh_has_event(h, OMV_CHAN_SYSTEM, OMV_EV_SOFT_REBOOT);
}

static bool set_caps_done(struct sh *h)
{
	return h->done;
}

/* As the firmware: after a soft reboot, streaming stays on and raw
 * preview is back to its defaults (JPEG). */
static void check_soft_reboot(struct sh *h, uint32_t *last)
{
	CHECK(sh_stat(h, "raw") == 1 && sh_stat(h, "streaming") == 1);
	sh_clear_events(h);
	json_decref(sh_control(h, "soft-reboot"));
	CHECK(sh_run(h, 2000, soft_rebooted));
	sh_handshake(h, 4082);
	CHECK(sh_stat(h, "raw") == 0 && sh_stat(h, "streaming") == 1);
	for (int jpeg = 0, i = 0; jpeg < 2; i++) {
		struct frame f = read_frame(h);

		CHECK(f.number > *last && i < 3);	/* one raw frame may be ready */
		*last = f.number;
		if (f.hdr.pixformat == OMV_PIXFMT_JPEG) {
			CHECK(f.hdr.width == 320 && f.hdr.height == 240);
			jpeg++;
		}
	}
}

/* Poll until the bitmap has this channel's bit. */
static bool poll_bit(struct sh *h, uint8_t chan)
{
	uint64_t deadline = sh_now_ms() + 3000;

	while (sh_now_ms() < deadline) {
		if (sh_u32(h, OMV_OP_CHANNEL_POLL, 0) & 1u << chan)
			return true;
		sh_run(h, 10, NULL);
	}
	return false;
}

/* The host turns events off: none comes, and POLL and SIZE still show
 * the stdout text and the frames waiting. */
static void check_events_off(void)
{
	struct sh h;
	struct omv_caps caps = { .crc = true, .seq = true, .ack = true, .events = false,
				 .max_payload = 4082 };
	uint8_t arg[4];

	sh_start(&h, NULL);
	sh_open(&h, B921600);
	CHECK(sh_sync(&h, 2000) == OMV_OK);
	h.done = false;
	CHECK(omv_host_set_caps(&h.host, &caps, sh_now_ms(), 2000) == 0);
	CHECK(sh_run(&h, 3000, set_caps_done) && h.code == OMV_OK);
	CHECK(sh_stat(&h, "event_flood") == 0);
	sh_clear_events(&h);
	omv_put_u32(arg, 1);
	sh_ioctl(&h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_CTRL, arg, 4, OMV_ST_SUCCESS);
	json_decref(sh_control(&h, "print quiet"));
	CHECK(poll_bit(&h, OMV_CHAN_STDOUT));
	CHECK(sh_u32(&h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDOUT) == 6);
	CHECK(poll_bit(&h, OMV_CHAN_STREAM));
	struct frame f = read_frame(&h);
	CHECK(f.hdr.pixformat == OMV_PIXFMT_JPEG && f.number >= 1);
	CHECK(poll_bit(&h, OMV_CHAN_STREAM));	/* the next one */
	CHECKF(h.nevents == 0, "%zu events with the events cap off", h.nevents);
	json_t *j = sh_control(&h, "stats");
	CHECK(json_integer_value(json_object_get(json_object_get(j, "proto_stats"),
						 "sent_events")) == 0);
	json_decref(j);
	sh_stop(&h);
}

/* --hostile-jpeg: a frame of about 13 KB whose stream header and JPEG
 * header both say 8192x8192. */
static void check_hostile_jpeg(void)
{
	struct sh h;
	const char *extra[] = { "--hostile-jpeg", NULL };
	struct omv_frame_hdr hdr;
	uint8_t arg[4], req[OMV_READ_REQ_SIZE];
	int w, hh, sub, cs;
	tjhandle tj = tjInitDecompress();

	CHECK(tj);
	sh_start(&h, extra);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);
	omv_put_u32(arg, 1);
	sh_ioctl(&h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_CTRL, arg, 4, OMV_ST_SUCCESS);
	CHECK(lock_frame(&h));
	uint32_t size = sh_u32(&h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STREAM);
	CHECKF(size > 4000 && size < 20000, "%u bytes", size);
	omv_read_req_encode(0, size, req);
	sh_ok(&h, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req, sizeof req);
	CHECK(omv_frame_hdr_decode(&hdr, h.data, h.len) == 0);
	CHECK(hdr.width == 8192 && hdr.height == 8192 && hdr.pixformat == OMV_PIXFMT_JPEG);
	CHECK(hdr.size == size - OMV_FRAME_HDR_SIZE);
	CHECK(tjDecompressHeader3(tj, h.data + hdr.offset, hdr.size, &w, &hh, &sub, &cs) == 0);
	CHECK(w == 8192 && hh == 8192);
	sh_ok(&h, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_STREAM, NULL, 0);
	/* switched off on the control socket: honest frames again */
	json_decref(sh_control(&h, "set hostile-jpeg 0"));
	for (int i = 0; i < 3; i++) {
		struct frame f = read_frame(&h);	/* decodes, or fails the test */
		if (f.hdr.width == 320)
			break;
		CHECK(i < 2);
	}
	tjDestroy(tj);
	sh_stop(&h);
}

static bool flood_seen(struct sh *h)
{
	size_t out = 0, stream = 0;

	for (size_t i = 0; i < h->nevents; i++) {
		out += h->events[i].chan == OMV_CHAN_STDOUT;
		stream += h->events[i].chan == OMV_CHAN_STREAM;
	}
	return out >= 200 && stream >= 200;
}

/* --event-flood N: NOTIFY events on stdout and stream, whatever the host
 * does; "set event-flood 0" stops them. */
static void check_event_flood(void)
{
	struct sh h;
	const char *extra[] = { "--event-flood", "5000", NULL };

	sh_start(&h, extra);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);
	sh_clear_events(&h);
	CHECKF(sh_run(&h, 5000, flood_seen), "%zu events", h.nevents);
	/* commands still get through */
	sh_ok(&h, OMV_OP_SYS_INFO, 0, NULL, 0);
	json_decref(sh_control(&h, "set event-flood 0"));
	sh_ok(&h, OMV_OP_PROTO_STATS, 0, NULL, 0);	/* behind the last of them */
	sh_clear_events(&h);
	sh_run(&h, 200, NULL);
	CHECKF(h.nevents == 0, "%zu events after the flood stopped", h.nevents);
	sh_stop(&h);
}

/* --fps 0: the next frame as soon as the last is released; LOCK's 10 ms
 * interval is then what paces the host. Also a small cam buffer. */
static void check_fast(void)
{
	struct sh h;
	const char *extra[] = { "--fps", "0", "--max-payload", "1024", "--frame-size", "64x48",
				NULL };
	uint8_t arg[4];
	uint32_t last = 0;
	uint64_t t0;

	sh_start(&h, extra);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);
	CHECK(h.host.caps.max_payload == 1024);
	omv_put_u32(arg, 1);
	sh_ioctl(&h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_CTRL, arg, 4, OMV_ST_SUCCESS);
	t0 = sh_now_ms();
	for (int i = 0; i < 10; i++) {
		struct frame f = read_frame(&h);
		CHECK(f.hdr.width == 64 && f.hdr.height == 48);
		CHECKF(i == 0 || f.number == last + 1, "frame %u after %u", f.number, last);
		last = f.number;
	}
	CHECK(sh_now_ms() - t0 >= 90);
	CHECK(sh_stat(&h, "frames_read") == 10);
	sh_stop(&h);
}

int main(void)
{
	struct sh h;
	uint8_t arg[8];
	uint32_t last = 0;
	struct omv_shape shape;
	unsigned count = 0, raw = 0;

	sh_start(&h, NULL);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);

	omv_put_u32(arg, 1);
	sh_ioctl(&h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_CTRL, arg, 4, OMV_ST_SUCCESS);
	CHECK(sh_wait_event(&h, OMV_CHAN_STREAM, OMV_EV_NOTIFY, 1000));
	CHECK(sh_u32(&h, OMV_OP_CHANNEL_POLL, 0) & 1u << OMV_CHAN_STREAM);

	for (int i = 0; i < 6; i++, count++) {
		struct frame f = read_frame(&h);
		CHECK(f.hdr.pixformat == OMV_PIXFMT_JPEG);
		CHECK(f.hdr.width == 320 && f.hdr.height == 240);
		CHECK(f.hdr.fps > 29 && f.hdr.fps < 31);
		CHECKF(i == 0 ? f.number == 1 : f.number == last + 1, "frame %u after %u",
		       f.number, last);
		last = f.number;
	}

	/* raw RGB565 at 160x120, over a small max payload: many fragments */
	sh_handshake(&h, 512);
	omv_put_u32(arg, 160);
	omv_put_u32(arg + 4, 120);
	sh_ioctl(&h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_RAW_CFG, arg, 8, OMV_ST_SUCCESS);
	omv_put_u32(arg, 1);
	sh_ioctl(&h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_RAW_CTRL, arg, 4, OMV_ST_SUCCESS);
	while (raw < 3) {
		struct frame f = read_frame(&h);
		CHECKF(f.number == last + 1, "frame %u after %u", f.number, last);
		last = f.number;
		count++;
		if (f.hdr.pixformat != OMV_PIXFMT_RGB565) {
			CHECK(raw == 0 && count < 9);	/* made before RAW_CTRL */
			continue;
		}
		CHECK(f.hdr.width == 160 && f.hdr.height == 120);
		raw++;
	}
	CHECK(lock_frame(&h));
	sh_ok(&h, OMV_OP_CHANNEL_SHAPE, OMV_CHAN_STREAM, NULL, 0);
	CHECK(omv_shape_decode(&shape, h.data, h.len) == 0);
	CHECK(shape.ndim == 3 && shape.dim[0] == 160 && shape.dim[1] == 120 && shape.dim[2] == 2);
	sh_ok(&h, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_STREAM, NULL, 0);

	/* the fair lock: every frame produced was read, each once */
	CHECKF(sh_stat(&h, "frames_read") == count, "frames_read %lld, read %u",
	       sh_stat(&h, "frames_read"), count);
	CHECK(sh_stat(&h, "frames_produced") <= count + 2);
	check_soft_reboot(&h, &last);

	omv_put_u32(arg, 0);
	sh_ioctl(&h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_CTRL, arg, 4, OMV_ST_SUCCESS);
	CHECK(sh_stat(&h, "streaming") == 0);
	sh_stop(&h);
	check_fast();
	check_events_off();
	check_hostile_jpeg();
	check_event_flood();
	puts("ok");
	return 0;
}
