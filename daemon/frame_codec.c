/*
 * RGB888 from the cam's pixels, JPEG from raw ones; turbojpeg 2.x API.
 *
 * RGB565 is little-endian; 5- and 6-bit channels are widened to 8 bits by
 * bit replication (r8 = r5 << 3 | r5 >> 2, g8 = g6 << 2 | g6 >> 4), so
 * full scale maps to 255 and black to 0. GRAYSCALE gives r = g = b.
 */
#include "frame_codec.h"

#include <stdlib.h>
#include <turbojpeg.h>

struct frame_codec {
	tjhandle dec, enc;
	size_t max_pixels;
};

struct frame_codec *frame_codec_new(size_t max_pixels)
{
	struct frame_codec *k = calloc(1, sizeof *k);

	if (k == NULL)
		return NULL;
	k->dec = tjInitDecompress();
	k->enc = tjInitCompress();
	k->max_pixels = max_pixels ? max_pixels : FRAME_CODEC_MAX_PIXELS_DEFAULT;
	if (k->dec == NULL || k->enc == NULL) {
		frame_codec_free(k);
		return NULL;
	}
	return k;
}

void frame_codec_free(struct frame_codec *k)
{
	if (k == NULL)
		return;
	if (k->dec != NULL)
		tjDestroy(k->dec);
	if (k->enc != NULL)
		tjDestroy(k->enc);
	free(k);
}

static uint8_t *decode_jpeg(struct frame_codec *k, const struct omv_frame_hdr *hdr,
			    const uint8_t *src, size_t src_len, size_t *out_len)
{
	int w, h, subsamp, colorspace;
	size_t pixels;
	uint8_t *rgb;

	if (src_len == 0 || src_len > (unsigned long)-1 ||
	    tjDecompressHeader3(k->dec, src, (unsigned long)src_len, &w, &h, &subsamp,
				&colorspace) < 0)
		return NULL;
	/* The stream header is the cam's word, the JPEG's is another, and
	 * neither may make us allocate (or spend time) without bound. */
	if (w <= 0 || h <= 0 || (uint32_t)w != hdr->width || (uint32_t)h != hdr->height)
		return NULL;
	pixels = (size_t)w * (size_t)h;
	if (pixels > k->max_pixels || pixels / FRAME_CODEC_PIXELS_PER_BYTE > src_len)
		return NULL;
	*out_len = pixels * 3;
	rgb = malloc(*out_len);
	if (rgb == NULL)
		return NULL;
	if (tjDecompress2(k->dec, src, (unsigned long)src_len, rgb, w, 0, h, TJPF_RGB, 0) < 0 &&
	    tjGetErrorCode(k->dec) != TJERR_WARNING) {
		free(rgb);
		return NULL;
	}
	return rgb;
}

static uint8_t *convert_raw(const struct frame_codec *k, const struct omv_frame_hdr *hdr,
			    const uint8_t *src, size_t src_len, size_t *out_len)
{
	size_t pixels = (size_t)hdr->width * hdr->height;
	bool rgb565 = hdr->pixformat == OMV_PIXFMT_RGB565;
	uint8_t *rgb, *d;

	if (!rgb565 && hdr->pixformat != OMV_PIXFMT_GRAYSCALE)
		return NULL;
	/* The header's bytes per pixel is the cam's claim; the format says
	 * how many we will touch. */
	if (pixels > k->max_pixels || src_len < pixels * (rgb565 ? 2 : 1))
		return NULL;
	*out_len = pixels * 3;
	rgb = malloc(*out_len);
	if (rgb == NULL)
		return NULL;
	d = rgb;
	if (!rgb565) {
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

uint8_t *frame_codec_rgb888(struct frame_codec *k, const struct omv_frame_hdr *hdr,
			    const uint8_t *pix, size_t pix_len, size_t *out_len)
{
	if (hdr->pixformat == OMV_PIXFMT_JPEG)
		return decode_jpeg(k, hdr, pix, pix_len, out_len);
	if (hdr->pixformat & OMV_PIXFMT_COMPRESSED)
		return NULL;	/* PNG and others: no decoder here */
	return convert_raw(k, hdr, pix, pix_len, out_len);
}

uint8_t *frame_codec_jpeg(struct frame_codec *k, const uint8_t *pix, unsigned w, unsigned h,
			  bool gray, size_t *out_len)
{
	int samp = gray ? TJSAMP_GRAY : TJSAMP_420;
	unsigned long cap, len;
	uint8_t *jpeg, *shrunk;

	if (w == 0 || h == 0 || (size_t)w * h > k->max_pixels)
		return NULL;
	cap = tjBufSize((int)w, (int)h, samp);
	if (cap == (unsigned long)-1 || (jpeg = malloc(cap)) == NULL)
		return NULL;
	len = cap;
	if (tjCompress2(k->enc, pix, (int)w, 0, (int)h, gray ? TJPF_GRAY : TJPF_RGB, &jpeg, &len,
			samp, FRAME_CODEC_JPEG_QUALITY, TJFLAG_NOREALLOC) < 0) {
		free(jpeg);
		return NULL;
	}
	shrunk = realloc(jpeg, len);
	*out_len = len;
	return shrunk != NULL ? shrunk : jpeg;
}
