/*
 * A frame read from the stream channel, shared by reference between the
 * event loop, client queues and the frame workers.
 *
 * Everything but its images is fixed when it is made. Each image (the
 * frame in one encoding, and its shared-memory copy) is made at most once,
 * by the first thread that asks with frame_image()/frame_shm(), and then
 * published for every thread. The event loop never makes images: it
 * reads what was published (frame_image_ready), and leaves the making to
 * the workers, so a decode never delays the cam's link.
 */
#ifndef OMVD_FRAME_H
#define OMVD_FRAME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/msg.h"

struct frame_codec;

/* What a client asks a frame to be given in. */
enum frame_encoding {
	FRAME_ENC_NONE,		/* metadata only */
	FRAME_ENC_JPEG,
	FRAME_ENC_RGB888,
	FRAME_ENC_NATIVE,	/* the cam's pixel bytes as sent */
	FRAME_ENC_COUNT,
};
const char *frame_encoding_name(enum frame_encoding enc);
/* "jpeg" -> FRAME_ENC_JPEG, ...; -1 when unknown. */
int frame_encoding_from_name(const char *name);

/* The frame in one encoding. */
struct frame_image {
	const uint8_t *data;	/* NULL: not possible in this encoding */
	size_t len;
	uint8_t *owned;		/* malloc'd data, when it is not the frame's */
	int shm_fd;		/* sealed memfd holding a copy of them, or -1 */
};

struct frame {
	atomic_uint refs;
	uint64_t number;	/* daemon's count of frames fetched, from 1 */
	int64_t timestamp_us;	/* CLOCK_REALTIME when its last byte arrived */
	double fps;		/* the daemon's measured frame rate then */
	struct omv_frame_hdr hdr;
	uint8_t *data;		/* the whole stream channel read */
	size_t len;

	pthread_mutex_t make_lock;	/* held while an image is being made */
	atomic_uint made;	/* bit e: image e published; bit 8+e: its memfd */
	struct frame_image img[FRAME_ENC_COUNT];
};

/* Takes ownership of data (malloc'd); validates the header. NULL if bad. */
struct frame *frame_new(uint8_t *data, size_t len, uint64_t number, int64_t timestamp_us,
			double fps);
struct frame *frame_ref(struct frame *f);
void frame_unref(struct frame *f);

/* Bytes of the image the cam sent, without the stream header. */
static inline size_t frame_raw_size(const struct frame *f)
{
	return f->len - f->hdr.offset;
}
static inline bool frame_is_jpeg(const struct frame *f)
{
	return f->hdr.pixformat == OMV_PIXFMT_JPEG;
}

/*
 * The frame in encoding enc (not NONE), made now with codec if nobody has
 * yet. May take milliseconds: frame workers and tests only. The image's
 * data is NULL when the frame cannot be given in that encoding (it does
 * not decode, or is over the codec's limits).
 */
const struct frame_image *frame_image(struct frame *f, enum frame_encoding enc,
				      struct frame_codec *codec);
/* The image when it was already made, else NULL. Never blocks. */
const struct frame_image *frame_image_ready(struct frame *f, enum frame_encoding enc);
/* The image's sealed memfd, made now if needed (with the image, if that
 * was not made yet); -1 when there is no image or the memfd cannot be
 * made. Workers and tests only. */
int frame_shm(struct frame *f, enum frame_encoding enc, struct frame_codec *codec);

#endif
