/*
 * Test-pattern frames for the stream channel: a moving colour pattern with
 * the frame number as a barcode in rows 0..15 (32 bits, MSB first, bit i
 * white across columns [i*W/32, (i+1)*W/32), black otherwise), so a reader
 * can tell frames apart after JPEG compression by thresholding row 8.
 * Encoded as JPEG (quality 90, 4:4:4) or raw RGB565 little-endian. A
 * hostile cam's JPEG frame claims a huge size in both of its headers.
 */
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "frames.h"
#include "protocol/msg.h"

#define BARCODE_ROWS 16
#define JPEG_QUALITY 90

struct frame_gen {
	tjhandle tj;
	uint8_t *rgb;
	size_t rgb_cap;
};

struct frame_gen *frames_new(void)
{
	struct frame_gen *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	g->tj = tjInitCompress();
	if (!g->tj) {
		free(g);
		return NULL;
	}
	return g;
}

void frames_free(struct frame_gen *g)
{
	if (!g)
		return;
	tjDestroy(g->tj);
	free(g->rgb);
	free(g);
}

static void render_rgb(uint8_t *rgb, uint32_t number, unsigned w, unsigned h)
{
	unsigned shift = number * 4;

	for (unsigned y = 0; y < h; y++) {
		uint8_t *row = rgb + (size_t)y * w * 3;
		for (unsigned x = 0; x < w; x++) {
			uint8_t *p = row + (size_t)x * 3;
			if (y < BARCODE_ROWS) {
				unsigned bit = x * 32 / w;
				uint8_t v = (number >> (31 - bit)) & 1 ? 255 : 0;
				p[0] = p[1] = p[2] = v;
				continue;
			}
			/* a diagonal gradient that slides a few pixels per frame */
			p[0] = (uint8_t)((x + shift) * 255 / (w ? w : 1));
			p[1] = (uint8_t)(y * 255 / h);
			p[2] = (uint8_t)((x + y + shift) & 0xFF);
		}
	}
}

uint32_t frames_barcode(const uint8_t *rgb, unsigned w)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 32; i++) {
		unsigned x = (i * w / 32 + (i + 1) * w / 32) / 2;	/* middle of bit i */
		const uint8_t *p = rgb + ((size_t)(BARCODE_ROWS / 2) * w + x) * 3;

		v = v << 1 | ((p[0] + p[1] + p[2]) / 3 > 127);
	}
	return v;
}

static void put_header(uint8_t *out, unsigned w, unsigned h, uint32_t fmt, uint32_t size,
		       float fps)
{
	struct omv_frame_hdr hdr = {
		.width = w, .height = h, .pixformat = fmt, .size = size,
		.offset = OMV_FRAME_HDR_SIZE, .fps = fps,
	};

	omv_frame_hdr_encode(&hdr, out);
}

uint8_t *frames_render(struct frame_gen *g, uint32_t number, unsigned w, unsigned h,
		       bool raw, float fps, size_t *len, uint32_t *pixfmt)
{
	size_t need = (size_t)w * h * 3;
	uint8_t *out;

	if (need > g->rgb_cap) {
		uint8_t *p = realloc(g->rgb, need);
		if (!p)
			return NULL;
		g->rgb = p;
		g->rgb_cap = need;
	}
	render_rgb(g->rgb, number, w, h);

	if (raw) {
		size_t px = (size_t)w * h;

		out = malloc(OMV_FRAME_HDR_SIZE + px * 2);
		if (!out)
			return NULL;
		put_header(out, w, h, OMV_PIXFMT_RGB565, 2, fps);
		for (size_t i = 0; i < px; i++) {
			const uint8_t *p = g->rgb + i * 3;
			uint16_t v = (uint16_t)((p[0] >> 3) << 11 | (p[1] >> 2) << 5 | (p[2] >> 3));
			omv_put_u16(out + OMV_FRAME_HDR_SIZE + i * 2, v);
		}
		*len = OMV_FRAME_HDR_SIZE + px * 2;
		*pixfmt = OMV_PIXFMT_RGB565;
		return out;
	}

	unsigned long cap = tjBufSize((int)w, (int)h, TJSAMP_444);
	unsigned long jlen = cap;
	uint8_t *jpeg;

	out = malloc(OMV_FRAME_HDR_SIZE + cap);
	if (!out)
		return NULL;
	jpeg = out + OMV_FRAME_HDR_SIZE;
	if (tjCompress2(g->tj, g->rgb, (int)w, 0, (int)h, TJPF_RGB, &jpeg, &jlen, TJSAMP_444,
			JPEG_QUALITY, TJFLAG_NOREALLOC) != 0) {
		free(out);
		return NULL;
	}
	put_header(out, w, h, OMV_PIXFMT_JPEG, (uint32_t)jlen, fps);
	*len = OMV_FRAME_HDR_SIZE + jlen;
	*pixfmt = OMV_PIXFMT_JPEG;
	return out;
}

/* The JPEG's start-of-frame segment, or NULL. */
static uint8_t *find_sof(uint8_t *jpeg, size_t len)
{
	size_t p = 2;

	if (len < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
		return NULL;
	while (p + 9 <= len && jpeg[p] == 0xFF) {
		uint8_t m = jpeg[p + 1];

		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
			return jpeg + p;
		if (m == 0xDA)
			return NULL;	/* scan data: no SOF before it */
		p += 2 + ((size_t)jpeg[p + 2] << 8 | jpeg[p + 3]);
	}
	return NULL;
}

bool frames_claim_size(uint8_t *frame, size_t len, unsigned w, unsigned h)
{
	struct omv_frame_hdr hdr;
	uint8_t *sof;

	if (len < OMV_FRAME_HDR_SIZE || omv_frame_hdr_decode(&hdr, frame, len) < 0 ||
	    hdr.pixformat != OMV_PIXFMT_JPEG ||
	    !(sof = find_sof(frame + OMV_FRAME_HDR_SIZE, len - OMV_FRAME_HDR_SIZE)))
		return false;
	sof[5] = (uint8_t)(h >> 8);
	sof[6] = (uint8_t)h;
	sof[7] = (uint8_t)(w >> 8);
	sof[8] = (uint8_t)w;
	hdr.width = w;
	hdr.height = h;
	omv_frame_hdr_encode(&hdr, frame);
	return true;
}
