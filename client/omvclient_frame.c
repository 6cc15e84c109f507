/*
 * Frames as the library hands them out: built from a read_frame result or
 * a "frame" notification, with the base64 data decoded once.
 */
#include "omvclient_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void omv_frame_free(omv_frame *f)
{
	if (!f)
		return;
	free(f->data);
	free(f);
}

omv_frame *omv_frame_dup(const omv_frame *f)
{
	omv_frame *d = malloc(sizeof *d);

	if (!d)
		return NULL;
	*d = *f;
	if (f->data) {
		d->data = malloc(f->len + 1);
		if (!d->data) {
			free(d);
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

omv_frame *omv_frame_from_json(const json_t *obj)
{
	const char *enc = json_string_value(json_object_get(obj, "encoding"));
	const char *data = json_string_value(json_object_get(obj, "data"));
	omv_frame *f;

	if (!json_is_object(obj) || !json_is_integer(json_object_get(obj, "number")))
		return NULL;
	f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->number = (uint64_t)int_member(obj, "number");
	f->width = (int)int_member(obj, "width");
	f->height = (int)int_member(obj, "height");
	f->format = (uint32_t)int_member(obj, "format");
	f->depth = (uint32_t)int_member(obj, "depth");
	f->raw_size = (uint32_t)int_member(obj, "raw_size");
	if (enc)
		snprintf(f->encoding, sizeof f->encoding, "%s", enc);
	if (data) {
		f->data = omv_base64_decode(data, &f->len);
		if (!f->data) {
			free(f);
			return NULL;
		}
	}
	return f;
}
