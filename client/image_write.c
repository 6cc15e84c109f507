/*
 * Image file writers for omvctl snapshot; the encoding itself is shared
 * with omv-web (image_encode.c).
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

	if (!dot)
		return IMAGE_UNKNOWN;
	if (strcasecmp(dot, ".ppm") == 0)
		return IMAGE_PPM;
	if (strcasecmp(dot, ".png") == 0)
		return IMAGE_PNG;
	if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
		return IMAGE_JPEG;
	return IMAGE_UNKNOWN;
}

/* Close f, keeping the first error (a full disk shows up at fclose). */
static int finish(FILE *f, int rc)
{
	int e = errno;

	if (ferror(f) && rc == 0) {
		rc = -1;
		e = EIO;
	}
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	errno = e;
	return rc;
}

int image_write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	return finish(f, fwrite(data, 1, len, f) == len ? 0 : -1);
}

int image_write_ppm(const char *path, const unsigned char *rgb, int w, int h)
{
	FILE *f = fopen(path, "wb");
	size_t n = (size_t)w * (size_t)h * 3;

	if (!f)
		return -1;
	fprintf(f, "P6\n%d %d\n255\n", w, h);
	return finish(f, fwrite(rgb, 1, n, f) == n ? 0 : -1);
}

int image_write_png(const char *path, const unsigned char *rgb, int w, int h)
{
	unsigned char *png;
	size_t len;
	int rc;

	if (image_png_encode(rgb, w, h, &png, &len) < 0)
		return -1;
	rc = image_write_bytes(path, png, len);
	free(png);
	return rc;
}

int image_write_jpeg(const char *path, const unsigned char *rgb, int w, int h, int quality)
{
	unsigned char *jpeg;
	size_t len;
	int rc;

	if (image_jpeg_encode(rgb, w, h, quality, &jpeg, &len) < 0)
		return -1;
	rc = image_write_bytes(path, jpeg, len);
	free(jpeg);
	return rc;
}
