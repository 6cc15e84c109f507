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

/* The size of the decoded JPEG, 0 when refused. The stream header is the
 * cam's word, the JPEG's is another, and neither may make us allocate (or
 * spend time) without bound. */
static size_t jpeg_size(struct frame_codec *k, const struct omv_frame_hdr *hdr,
			const uint8_t *src, size_t src_len)
{
	int w, h, subsamp, colorspace;
	size_t pixels;

	if (src_len == 0 || src_len > (unsigned long)-1 ||
	    tjDecompressHeader3(k->dec, src, (unsigned long)src_len, &w, &h, &subsamp,
				&colorspace) < 0)
		return 0;
	if (w <= 0 || h <= 0 || (uint32_t)w != hdr->width || (uint32_t)h != hdr->height)
		return 0;
	pixels = (size_t)w * (size_t)h;
	if (pixels > k->max_pixels || pixels / FRAME_CODEC_PIXELS_PER_BYTE > src_len)
		return 0;
	return pixels * 3;
}

/* How many bytes a raw pixel takes in the formats converted; 0: none. */
static size_t raw_bpp(const struct omv_frame_hdr *hdr)
{
	return hdr->pixformat == OMV_PIXFMT_RGB565 ? 2 : hdr->pixformat == OMV_PIXFMT_GRAYSCALE;
}

size_t frame_codec_rgb888_size(struct frame_codec *k, const struct omv_frame_hdr *hdr,
			       const uint8_t *pix, size_t pix_len)
{
	size_t pixels = (size_t)hdr->width * hdr->height;

	if (hdr->pixformat == OMV_PIXFMT_JPEG)
		return jpeg_size(k, hdr, pix, pix_len);
	/* The header's bytes per pixel is the cam's claim; the format says
	 * how many we will touch. */
	if (raw_bpp(hdr) == 0 || pixels > k->max_pixels || pix_len < pixels * raw_bpp(hdr))
		return 0;
	return pixels * 3;
}

static void convert_raw(const struct omv_frame_hdr *hdr, const uint8_t *src, uint8_t *d)
{
	size_t pixels = (size_t)hdr->width * hdr->height;

	if (hdr->pixformat == OMV_PIXFMT_GRAYSCALE) {
		for (size_t i = 0; i < pixels; i++, d += 3)
			d[0] = d[1] = d[2] = src[i];
		return;
	}
	for (size_t i = 0; i < pixels; i++, d += 3) {
		unsigned v = (unsigned)src[2 * i] | (unsigned)src[2 * i + 1] << 8;
		unsigned r = v >> 11, g = (v >> 5) & 0x3F, b = v & 0x1F;

		d[0] = (uint8_t)(r << 3 | r >> 2);
		d[1] = (uint8_t)(g << 2 | g >> 4);
		d[2] = (uint8_t)(b << 3 | b >> 2);
	}
}

int frame_codec_rgb888(struct frame_codec *k, const struct omv_frame_hdr *hdr,
		       const uint8_t *pix, size_t pix_len, uint8_t *out)
{
	if (hdr->pixformat != OMV_PIXFMT_JPEG) {
		convert_raw(hdr, pix, out);
		return 0;
	}
	if (tjDecompress2(k->dec, pix, (unsigned long)pix_len, out, (int)hdr->width, 0,
			  (int)hdr->height, TJPF_RGB, 0) < 0 &&
	    tjGetErrorCode(k->dec) != TJERR_WARNING)
		return -1;
	return 0;
}

uint8_t *frame_codec_jpeg(struct frame_codec *k, const uint8_t *pix, size_t pix_len,
			  unsigned w, unsigned h, bool gray, size_t *out_len)
{
	int samp = gray ? TJSAMP_GRAY : TJSAMP_420;
	size_t pixels = (size_t)w * h;
	unsigned long cap, len;
	uint8_t *jpeg, *shrunk;

	/* The stream header's bytes per pixel is the cam's claim: the
	 * encoder reads what the format says, so that much must be there. */
	if (w == 0 || h == 0 || pixels > k->max_pixels || pix_len < pixels * (gray ? 1 : 3))
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
