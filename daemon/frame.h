/*
 * A frame fetched from the stream channel, shared by reference: the frame
 * cache, every client queue and every decode hold a reference. Pixel
 * conversions are done once per format and cached on the frame.
 */
#ifndef OMVD_FRAME_H
#define OMVD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/msg.h"

struct frame {
	unsigned refs;
	uint64_t number;	/* daemon's count of frames fetched, from 1 */
	uint64_t time_ms;	/* when it was fetched (monotonic) */
	struct omv_frame_hdr hdr;
	uint8_t *data;		/* the whole stream channel read */
	size_t len;
	uint8_t *rgb;		/* RGB888, decoded on first request */
	size_t rgb_len;
};

/* Takes ownership of data (malloc'd); validates the header. NULL if bad. */
struct frame *frame_new(uint8_t *data, size_t len, uint64_t number, uint64_t now);
struct frame *frame_ref(struct frame *f);
void frame_unref(struct frame *f);

/* The pixel bytes as the cam sent them (JPEG stream, RGB565, ...). */
const uint8_t *frame_native(const struct frame *f, size_t *len);
/* RGB888 (w*h*3): JPEG via turbojpeg, RGB565/GRAYSCALE converted like the
 * reference host. NULL on a frame that does not decode. */
const uint8_t *frame_rgb888(struct frame *f, size_t *len);
static inline int frame_is_jpeg(const struct frame *f)
{
	return f->hdr.pixformat == OMV_PIXFMT_JPEG;
}

#endif
