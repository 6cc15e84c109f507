/*
 * Pixel work on frames: RGB888 from the cam's JPEG, RGB565 or grayscale,
 * and JPEG from raw pixels, with turbojpeg (2.x API). A codec holds one
 * thread's turbojpeg handles and the decode limits; use one per thread.
 *
 * A decode is bounded before anything is allocated: the image may have at
 * most max_pixels pixels, and a JPEG at most FRAME_CODEC_PIXELS_PER_BYTE
 * pixels per compressed byte (far above what a real image compresses to),
 * so a small hostile JPEG that claims a huge size costs nothing.
 */
#ifndef OMVD_FRAME_CODEC_H
#define OMVD_FRAME_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/msg.h"

#define FRAME_CODEC_MAX_PIXELS_DEFAULT (8u << 20)
#define FRAME_CODEC_PIXELS_PER_BYTE 256u
#define FRAME_CODEC_JPEG_QUALITY 90

struct frame_codec;

/* max_pixels 0: the default. NULL when turbojpeg cannot be set up. */
struct frame_codec *frame_codec_new(size_t max_pixels);
void frame_codec_free(struct frame_codec *k);

/* Bytes of the RGB888 image (w*h*3) of the pixels described by hdr, its
 * format and limits checked (for a JPEG, from its own header); 0 when it
 * cannot be made. */
size_t frame_codec_rgb888_size(struct frame_codec *k, const struct omv_frame_hdr *hdr,
			       const uint8_t *pix, size_t pix_len);
/* That RGB888 image into out (frame_codec_rgb888_size() bytes): 0, or -1
 * when the pixels do not decode. */
int frame_codec_rgb888(struct frame_codec *k, const struct omv_frame_hdr *hdr,
		       const uint8_t *pix, size_t pix_len, uint8_t *out);
/* JPEG (quality FRAME_CODEC_JPEG_QUALITY, malloc'd) of w*h pixels, RGB888
 * or 8-bit gray when gray is set, from pix_len bytes; NULL on failure,
 * and when pix_len does not hold every pixel. */
uint8_t *frame_codec_jpeg(struct frame_codec *k, const uint8_t *pix, size_t pix_len,
			  unsigned w, unsigned h, bool gray, size_t *out_len);

#endif
