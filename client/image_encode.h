/*
 * Images in memory, shared by omvctl and omv-web: PNG through libpng,
 * JPEG through turbojpeg. Pixels are RGB888, rows top to bottom, no padding.
 */
#ifndef OMV_IMAGE_ENCODE_H
#define OMV_IMAGE_ENCODE_H

#include <stddef.h>

/* Largest image decoded or encoded here (a hostile JPEG header may claim
 * anything): 8192 x 8192 pixels. */
#define IMAGE_MAX_PIXELS (8192L * 8192L)

/* All return 0 with *out (release with free()) and *len set, or -1 with
 * errno set (EINVAL: bad size or data, ENOMEM). */
int image_png_encode(const unsigned char *rgb, int w, int h, unsigned char **out,
		     size_t *len);
int image_jpeg_encode(const unsigned char *rgb, int w, int h, int quality,
		      unsigned char **out, size_t *len);
/* *rgb gets *w x *h x 3 bytes. */
int image_jpeg_decode(const unsigned char *jpeg, size_t len, unsigned char **rgb, int *w,
		      int *h);

#endif
