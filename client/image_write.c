/*
 * Image files for omvctl (image_write.h); the encoders themselves are
 * shared with omv-web (image_encode.c).
 */
#include "image_write.h"
#include "image_encode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum image_type image_type_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot && !strchr(dot, '/') ? image_type_named(dot + 1) : IMAGE_UNKNOWN;
}

enum image_type image_type_named(const char *name)
{
	if (strcasecmp(name, "ppm") == 0)
		return IMAGE_PPM;
	if (strcasecmp(name, "png") == 0)
		return IMAGE_PNG;
	if (strcasecmp(name, "jpg") == 0 || strcasecmp(name, "jpeg") == 0)
		return IMAGE_JPEG;
	return IMAGE_UNKNOWN;
}

static int ppm_encode(const unsigned char *rgb, int w, int h, unsigned char **out,
		      size_t *len)
{
	char head[32];
	int n = snprintf(head, sizeof head, "P6\n%d %d\n255\n", w, h);
	size_t pixels = (size_t)w * (size_t)h * 3;

	*out = malloc((size_t)n + pixels);
	if (!*out)
		return -1;
	memcpy(*out, head, (size_t)n);
	memcpy(*out + n, rgb, pixels);
	*len = (size_t)n + pixels;
	return 0;
}

int image_file_encode(enum image_type type, const unsigned char *rgb, int w, int h,
		      unsigned char **out, size_t *len)
{
	switch (type) {
	case IMAGE_PPM:
		return ppm_encode(rgb, w, h, out, len);
	case IMAGE_PNG:
		return image_png_encode(rgb, w, h, out, len);
	case IMAGE_JPEG:
		return image_jpeg_encode(rgb, w, h, IMAGE_JPEG_QUALITY, out, len);
	default:
		errno = EINVAL;
		return -1;
	}
}
