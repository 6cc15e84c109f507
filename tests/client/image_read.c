/*
 * Image readers for the client tests (see image_read.h).
 */
#include "image_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <turbojpeg.h>

unsigned char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		*len = (size_t)n;
	return buf;
}

unsigned char *ppm_read(const char *path, int *w, int *h)
{
	size_t len, off;
	unsigned char *file = file_read(path, &len), *rgb = NULL;
	int maxval, consumed = 0;

	if (!file)
		return NULL;
	file[len] = '\0';
	if (sscanf((char *)file, "P6 %d %d %d%n", w, h, &maxval, &consumed) == 3 &&
	    maxval == 255 && *w > 0 && *h > 0 && consumed > 0) {
		off = (size_t)consumed + 1;	/* one whitespace byte after maxval */
		if (len - off == (size_t)*w * (size_t)*h * 3) {
			rgb = malloc(len - off);
			if (rgb)
				memcpy(rgb, file + off, len - off);
		}
	}
	free(file);
	return rgb;
}

unsigned char *png_decode(const unsigned char *data, size_t len, int *w, int *h)
{
	png_image img = { .version = PNG_IMAGE_VERSION };
	unsigned char *rgb;

	if (!png_image_begin_read_from_memory(&img, data, len))
		return NULL;
	img.format = PNG_FORMAT_RGB;
	rgb = malloc(PNG_IMAGE_SIZE(img));
	if (!rgb || !png_image_finish_read(&img, NULL, rgb, 0, NULL)) {
		png_image_free(&img);
		free(rgb);
		return NULL;
	}
	*w = (int)img.width;
	*h = (int)img.height;
	return rgb;
}

/* The file at path through a decoder from memory. */
static unsigned char *decode_file(const char *path,
				  unsigned char *(*decode)(const unsigned char *, size_t, int *,
							   int *),
				  int *w, int *h)
{
	size_t len;
	unsigned char *file = file_read(path, &len), *rgb = NULL;

	if (file)
		rgb = decode(file, len, w, h);
	free(file);
	return rgb;
}

unsigned char *png_read(const char *path, int *w, int *h)
{
	return decode_file(path, png_decode, w, h);
}

unsigned char *jpeg_decode(const unsigned char *data, size_t len, int *w, int *h)
{
	tjhandle tj = tjInitDecompress();
	unsigned char *rgb = NULL;
	int subsamp, colorspace;

	if (tj && tjDecompressHeader3(tj, data, len, w, h, &subsamp, &colorspace) == 0 &&
	    *w > 0 && *h > 0 && *w <= 8192 && *h <= 8192) {
		rgb = malloc((size_t)*w * (size_t)*h * 3);
		if (tjDecompress2(tj, data, len, rgb, *w, 0, *h, TJPF_RGB, 0) != 0) {
			free(rgb);
			rgb = NULL;
		}
	}
	if (tj)
		tjDestroy(tj);
	return rgb;
}

unsigned char *jpeg_read(const char *path, int *w, int *h)
{
	return decode_file(path, jpeg_decode, w, h);
}
uint32_t barcode_read(const unsigned char *rgb, int w, int h)
{
	uint32_t v = 0;

	if (h < 16)
		return 0;
	for (int i = 0; i < 32; i++) {
		int x = (i * w / 32 + (i + 1) * w / 32) / 2;
		const unsigned char *p = rgb + ((size_t)8 * (size_t)w + (size_t)x) * 3;
		int luma = (p[0] * 299 + p[1] * 587 + p[2] * 114) / 1000;

		v = v << 1 | (luma > 128);
	}
	return v;
}

void barcode_draw(unsigned char *rgb, int w, int h, uint32_t number)
{
	for (int y = 0; y < 16 && y < h; y++)
		for (int x = 0; x < w; x++) {
			int bit = 31 - x * 32 / w;
			unsigned char v = (number >> bit & 1) ? 255 : 0;
			unsigned char *p = rgb + ((size_t)y * (size_t)w + (size_t)x) * 3;

			p[0] = p[1] = p[2] = v;
		}
}
