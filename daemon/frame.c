/*
 * Frames from the stream channel: header validation, reference counting,
 * and conversion to RGB888 on first request (then cached on the frame).
 *
 * RGB565 is little-endian; 5- and 6-bit channels are widened to 8 bits by
 * bit replication (r8 = r5 << 3 | r5 >> 2, g8 = g6 << 2 | g6 >> 4), so
 * full scale maps to 255 and black to 0. GRAYSCALE gives r = g = b.
 * JPEG goes through turbojpeg (2.x API) with one decompressor per process.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* Largest image we agree to decode: bounds the RGB buffer at 192 MiB. */
#define FRAME_DECODE_MAX_DIM 8192

struct frame *frame_new(uint8_t *data, size_t len, uint64_t number, uint64_t now)
{
	struct frame *f;
	struct omv_frame_hdr hdr;

	if (data == NULL || omv_frame_hdr_decode(&hdr, data, len) < 0) {
		free(data);
		return NULL;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		free(data);
		return NULL;
	}
	f->refs = 1;
	f->number = number;
	f->time_ms = now;
	f->hdr = hdr;
	f->data = data;
	f->len = len;
	return f;
}

struct frame *frame_ref(struct frame *f)
{
	f->refs++;
	return f;
}

void frame_unref(struct frame *f)
{
	if (f == NULL || --f->refs > 0)
		return;
	free(f->data);
	free(f->rgb);
	free(f);
}

const uint8_t *frame_native(const struct frame *f, size_t *len)
{
	*len = omv_frame_pixel_bytes(&f->hdr);
	return f->data + f->hdr.offset;
}

static tjhandle decompressor(void)
{
	static tjhandle handle;

	if (handle == NULL)
		handle = tjInitDecompress();
	return handle;
}

static uint8_t *decode_jpeg(const struct frame *f, size_t *out_len)
{
	tjhandle tj = decompressor();
	const uint8_t *src = f->data + f->hdr.offset;
	unsigned long src_len = f->hdr.size;
	int w, h, subsamp, colorspace;
	uint8_t *rgb;

	if (tj == NULL || f->hdr.offset > f->len || src_len > f->len - f->hdr.offset)
		return NULL;
	if (tjDecompressHeader3(tj, src, src_len, &w, &h, &subsamp, &colorspace) < 0)
		return NULL;
	/* Check before allocating: the header is the cam's word, the JPEG
	 * is another, and neither may make us allocate without bound. */
	if (w <= 0 || h <= 0 || w > FRAME_DECODE_MAX_DIM || h > FRAME_DECODE_MAX_DIM ||
	    (uint32_t)w != f->hdr.width || (uint32_t)h != f->hdr.height)
		return NULL;
	*out_len = (size_t)w * (size_t)h * 3;
	rgb = malloc(*out_len);
	if (rgb == NULL)
		return NULL;
	if (tjDecompress2(tj, src, src_len, rgb, w, 0, h, TJPF_RGB, 0) < 0 &&
	    tjGetErrorCode(tj) != TJERR_WARNING) {
		free(rgb);
		return NULL;
	}
	return rgb;
}

static uint8_t *convert_raw(const struct frame *f, size_t *out_len)
{
	size_t pixels = (size_t)f->hdr.width * f->hdr.height;
	const uint8_t *src = f->data + f->hdr.offset;
	uint8_t *rgb, *d;

	if (f->hdr.width > FRAME_DECODE_MAX_DIM || f->hdr.height > FRAME_DECODE_MAX_DIM)
		return NULL;
	if (f->hdr.pixformat != OMV_PIXFMT_RGB565 && f->hdr.pixformat != OMV_PIXFMT_GRAYSCALE)
		return NULL;
	/* The header's bytes-per-pixel is the cam's claim; the format says
	 * how many we will touch. */
	if (f->len - f->hdr.offset < pixels * (f->hdr.pixformat == OMV_PIXFMT_RGB565 ? 2 : 1))
		return NULL;
	*out_len = pixels * 3;
	rgb = malloc(*out_len);
	if (rgb == NULL)
		return NULL;
	d = rgb;
	if (f->hdr.pixformat == OMV_PIXFMT_GRAYSCALE) {
		for (size_t i = 0; i < pixels; i++, d += 3)
			d[0] = d[1] = d[2] = src[i];
		return rgb;
	}
	for (size_t i = 0; i < pixels; i++, d += 3) {
		unsigned v = (unsigned)src[2 * i] | (unsigned)src[2 * i + 1] << 8;
		unsigned r = v >> 11, g = (v >> 5) & 0x3F, b = v & 0x1F;

		d[0] = (uint8_t)(r << 3 | r >> 2);
		d[1] = (uint8_t)(g << 2 | g >> 4);
		d[2] = (uint8_t)(b << 3 | b >> 2);
	}
	return rgb;
}

const uint8_t *frame_rgb888(struct frame *f, size_t *len)
{
	if (f->rgb == NULL) {
		size_t n = 0;

		if (f->hdr.pixformat == OMV_PIXFMT_JPEG)
			f->rgb = decode_jpeg(f, &n);
		else if (!(f->hdr.pixformat & OMV_PIXFMT_COMPRESSED))
			f->rgb = convert_raw(f, &n);
		if (f->rgb == NULL)
			return NULL;
		f->rgb_len = n;
	}
	*len = f->rgb_len;
	return f->rgb;
}
