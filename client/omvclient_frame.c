/*
 * Frames as the library hands them out: built from a read_frame result or
 * a "frame" notification, the base64 data decoded once, or shared memory
 * mapped read-only. Each omv_frame lives in a box with its reference
 * count and, for shared memory, the length of its mapping.
 */
#include "omvclient_private.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct frame_box {
	atomic_uint refs;
	size_t map_len;		/* > 0: data is a mapping of this length */
	omv_frame pub;
};

static struct frame_box *box_of(const omv_frame *f)
{
	return (struct frame_box *)((char *)f - offsetof(struct frame_box, pub));
}

static omv_frame *frame_alloc(void)
{
	struct frame_box *b = calloc(1, sizeof *b);

	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	return &b->pub;
}

omv_frame *omv_frame_ref(const omv_frame *f)
{
	atomic_fetch_add_explicit(&box_of(f)->refs, 1, memory_order_relaxed);
	return (omv_frame *)f;
}

void omv_frame_free(omv_frame *f)
{
	struct frame_box *b;

	if (!f)
		return;
	b = box_of(f);
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (b->map_len > 0)
		munmap(f->data, b->map_len);
	else
		free(f->data);
	free(b);
}

omv_frame *omv_frame_dup(const omv_frame *f)
{
	omv_frame *d = frame_alloc();

	if (!d)
		return NULL;
	*d = *f;
	d->shm = false;
	if (f->data) {
		d->data = malloc(f->len + 1);
		if (!d->data) {
			omv_frame_free(d);
			return NULL;
		}
		memcpy(d->data, f->data, f->len);
		d->data[f->len] = '\0';
	}
	return d;
}

static json_int_t int_member(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/* Maps the shared memory of a frame: size bytes of fd, read-only. */
static int map_shm(omv_frame *f, int fd, json_int_t size)
{
	struct stat st;
	void *p;

	if (fd < 0 || size <= 0 || fstat(fd, &st) < 0 || st.st_size < size)
		return -1;
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	f->data = p;
	f->len = (size_t)size;
	f->shm = true;
	box_of(f)->map_len = (size_t)size;
	return 0;
}

omv_frame *omv_frame_from_json(const json_t *obj)
{
	const char *enc = json_string_value(json_object_get(obj, "encoding"));
	const char *data = json_string_value(json_object_get(obj, "data"));
	json_t *shm = json_object_get(obj, "shm");
	omv_frame *f;

	if (!json_is_object(obj) || !json_is_integer(json_object_get(obj, "number")))
		return NULL;
	f = frame_alloc();
	if (!f)
		return NULL;
	f->number = (uint64_t)int_member(obj, "number");
	f->width = (int)int_member(obj, "width");
	f->height = (int)int_member(obj, "height");
	f->format = (uint32_t)int_member(obj, "format");
	f->depth = (uint32_t)int_member(obj, "depth");
	f->raw_size = (uint32_t)int_member(obj, "raw_size");
	f->timestamp = json_number_value(json_object_get(obj, "timestamp"));
	f->fps = json_number_value(json_object_get(obj, "fps"));
	if (enc)
		snprintf(f->encoding, sizeof f->encoding, "%s", enc);
	if (data) {
		f->data = omv_base64_decode(data, &f->len);
		if (!f->data) {
			omv_frame_free(f);
			return NULL;
		}
	} else if (shm && map_shm(f, (int)int_member(obj, "fd"),
				  int_member(shm, "size")) < 0) {
		omv_frame_free(f);
		return NULL;
	}
	return f;
}

json_t *omv_frame_shm_object(json_t *msg)
{
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *obj = method ? json_object_get(msg, "params") : json_object_get(msg, "result");

	return json_is_object(obj) && json_is_object(json_object_get(obj, "shm")) ? obj : NULL;
}

void omv_frame_attach_fds(json_t *msg, int (*next_fd)(void *arg), void *arg)
{
	json_t *obj, *v;
	size_t i;

	if (json_is_array(msg)) {	/* a batch: its replies in order */
		json_array_foreach(msg, i, v)
			omv_frame_attach_fds(v, next_fd, arg);
		return;
	}
	obj = omv_frame_shm_object(msg);
	if (obj)
		json_object_set_new(obj, "fd", json_integer(next_fd(arg)));
}

void omv_frame_close_fd(json_t *obj)
{
	json_t *fd = json_object_get(obj, "fd");

	if (json_is_integer(fd) && json_integer_value(fd) >= 0) {
		close((int)json_integer_value(fd));
		json_object_set_new(obj, "fd", json_integer(-1));
	}
}
