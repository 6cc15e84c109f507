/*
 * Frames: header validation, atomic reference counting, and the images of
 * each encoding, made once under the frame's lock and published with a
 * release store so that any thread may read them without the lock.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame_codec.h"
#include "frame_shm.h"

#define MADE_IMAGE(e) (1u << (e))
#define MADE_SHM(e) (1u << (8 + (e)))

static const char *const encoding_names[FRAME_ENC_COUNT] = { "none", "jpeg", "rgb888", "native" };

const char *frame_encoding_name(enum frame_encoding enc)
{
	return enc < FRAME_ENC_COUNT ? encoding_names[enc] : "none";
}

int frame_encoding_from_name(const char *name)
{
	for (int e = 0; e < FRAME_ENC_COUNT; e++)
		if (strcmp(name, encoding_names[e]) == 0)
			return e;
	return -1;
}

struct frame *frame_new(uint8_t *data, size_t len, uint64_t number, int64_t timestamp_us,
			double fps)
{
	struct frame *f;
	struct omv_frame_hdr hdr;

	if (data == NULL || omv_frame_hdr_decode(&hdr, data, len) < 0) {
		free(data);
		return NULL;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL || pthread_mutex_init(&f->make_lock, NULL) != 0) {
		free(f);
		free(data);
		return NULL;
	}
	atomic_init(&f->refs, 1);
	atomic_init(&f->made, 0);
	f->number = number;
	f->timestamp_us = timestamp_us;
	f->fps = fps;
	f->hdr = hdr;
	f->data = data;
	f->len = len;
	for (int e = 0; e < FRAME_ENC_COUNT; e++)
		f->img[e].shm_fd = -1;
	return f;
}

struct frame *frame_ref(struct frame *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

void frame_unref(struct frame *f)
{
	if (f == NULL || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (int e = 0; e < FRAME_ENC_COUNT; e++) {
		free(f->img[e].owned);
		if (f->img[e].shm_fd >= 0)
			close(f->img[e].shm_fd);
	}
	pthread_mutex_destroy(&f->make_lock);
	free(f->data);
	free(f);
}

static bool made(struct frame *f, unsigned bit)
{
	return atomic_load_explicit(&f->made, memory_order_acquire) & bit;
}

static void publish(struct frame *f, unsigned bit)
{
	atomic_fetch_or_explicit(&f->made, bit, memory_order_release);
}

/* The cam's pixels, after the stream header. */
static const uint8_t *native(const struct frame *f, size_t *len)
{
	*len = omv_frame_pixel_bytes(&f->hdr);
	return f->data + f->hdr.offset;
}

/* The RGB888 image, in plain memory. Called with make_lock. */
static void make_rgb888(struct frame *f, struct frame_codec *codec)
{
	struct frame_image *img = &f->img[FRAME_ENC_RGB888];
	size_t pix_len, len;
	const uint8_t *pix = native(f, &pix_len);

	len = frame_codec_rgb888_size(codec, &f->hdr, pix, pix_len);
	if (len == 0)
		return;
	img->owned = malloc(len);
	if (img->owned == NULL)
		return;
	if (frame_codec_rgb888(codec, &f->hdr, pix, pix_len, img->owned) < 0) {
		free(img->owned);
		img->owned = NULL;
		return;
	}
	img->data = img->owned;
	img->len = len;
}

/* Called with make_lock held. */
static void make_image(struct frame *f, enum frame_encoding enc, struct frame_codec *codec)
{
	struct frame_image *img = &f->img[enc];
	const struct frame_image *rgb;
	const uint8_t *pix;
	size_t pix_len;

	pix = native(f, &pix_len);
	switch (enc) {
	case FRAME_ENC_NATIVE:
		img->data = pix;
		img->len = pix_len;
		break;
	case FRAME_ENC_RGB888:
		make_rgb888(f, codec);
		break;
	case FRAME_ENC_JPEG:
		if (frame_is_jpeg(f)) {
			img->data = pix;
			img->len = pix_len;
		} else if (f->hdr.pixformat == OMV_PIXFMT_GRAYSCALE) {
			img->owned = frame_codec_jpeg(codec, pix, pix_len, f->hdr.width,
						      f->hdr.height, true, &img->len);
			img->data = img->owned;
		} else if (!(f->hdr.pixformat & OMV_PIXFMT_COMPRESSED)) {
			/* The same RGB888 an rgb888 client gets: made once. */
			rgb = &f->img[FRAME_ENC_RGB888];
			if (!made(f, MADE_IMAGE(FRAME_ENC_RGB888))) {
				make_rgb888(f, codec);
				publish(f, MADE_IMAGE(FRAME_ENC_RGB888));
			}
			if (rgb->data != NULL)
				img->owned = frame_codec_jpeg(codec, rgb->data, rgb->len,
							      f->hdr.width, f->hdr.height, false,
							      &img->len);
			img->data = img->owned;
		}
		break;
	default:
		break;
	}
	if (img->data == NULL)
		img->len = 0;
}

const struct frame_image *frame_image(struct frame *f, enum frame_encoding enc,
				      struct frame_codec *codec)
{
	if (enc <= FRAME_ENC_NONE || enc >= FRAME_ENC_COUNT)
		return NULL;
	if (made(f, MADE_IMAGE(enc)))
		return &f->img[enc];
	pthread_mutex_lock(&f->make_lock);
	if (!made(f, MADE_IMAGE(enc))) {
		make_image(f, enc, codec);
		publish(f, MADE_IMAGE(enc));
	}
	pthread_mutex_unlock(&f->make_lock);
	return &f->img[enc];
}

const struct frame_image *frame_image_ready(struct frame *f, enum frame_encoding enc)
{
	if (enc <= FRAME_ENC_NONE || enc >= FRAME_ENC_COUNT || !made(f, MADE_IMAGE(enc)))
		return NULL;
	return &f->img[enc];
}

int frame_shm(struct frame *f, enum frame_encoding enc, struct frame_codec *codec)
{
	struct frame_image *img;

	if (enc <= FRAME_ENC_NONE || enc >= FRAME_ENC_COUNT)
		return -1;
	img = &f->img[enc];
	if (made(f, MADE_SHM(enc)))
		return img->shm_fd;
	pthread_mutex_lock(&f->make_lock);
	if (!made(f, MADE_IMAGE(enc))) {
		make_image(f, enc, codec);
		publish(f, MADE_IMAGE(enc));
	}
	if (!made(f, MADE_SHM(enc))) {
		if (img->data != NULL)
			img->shm_fd = frame_shm_new(img->data, img->len);
		publish(f, MADE_SHM(enc));
	}
	pthread_mutex_unlock(&f->make_lock);
	return img->shm_fd;
}
