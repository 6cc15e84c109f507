/*
 * omvctl's image files, read back with the tests' own readers: PPM and
 * PNG must round-trip exactly, JPEG must decode with the barcode intact,
 * and PNG must be compressed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_server.h"
#include "image_read.h"
#include "image_write.h"

/* Encode as type, then decode with reader (from a file for PPM). */
static unsigned char *round_trip(enum image_type type, const unsigned char *rgb, int w, int h,
				 int *bw, int *bh, size_t *len)
{
	unsigned char *file, *back = NULL;
	char path[] = "/tmp/omvctl-image-XXXXXX";
	FILE *f;
	int fd;

	TCHECK(image_file_encode(type, rgb, w, h, &file, len) == 0);
	if (type == IMAGE_PNG) {
		back = png_decode(file, *len, bw, bh);
	} else if (type == IMAGE_JPEG) {
		back = jpeg_decode(file, *len, bw, bh);
	} else {
		fd = mkstemp(path);
		TCHECK(fd >= 0 && (f = fdopen(fd, "wb")) != NULL);
		TCHECK(fwrite(file, 1, *len, f) == *len && fclose(f) == 0);
		back = ppm_read(path, bw, bh);
		remove(path);
	}
	free(file);
	return back;
}

int main(void)
{
	const int w = 320, h = 240;
	const size_t size = (size_t)w * h * 3;
	unsigned char *rgb = malloc(size), *flat = calloc(size, 1), *back, *out;
	unsigned int seed = 7;
	size_t len;
	int bw, bh;

	/* Noise below the barcode: pixels that do not compress must still
	 * round-trip exactly through PNG. */
	for (size_t i = 0; i < size; i++)
		rgb[i] = (unsigned char)(rand_r(&seed) >> 5);
	barcode_draw(rgb, w, h, 0x8000A5C3u);
	TCHECK(barcode_read(rgb, w, h) == 0x8000A5C3u);

	TCHECK(image_type_of("a.PNG") == IMAGE_PNG && image_type_of("x.jpeg") == IMAGE_JPEG);
	TCHECK(image_type_of("x.ppm") == IMAGE_PPM && image_type_of("x.gif") == IMAGE_UNKNOWN);
	TCHECK(image_type_of("noext") == IMAGE_UNKNOWN);
	TCHECK(image_type_of("dir.jpg/noext") == IMAGE_UNKNOWN);
	TCHECK(image_type_named("JPG") == IMAGE_JPEG && image_type_named("mjpeg") == IMAGE_UNKNOWN);

	back = round_trip(IMAGE_PPM, rgb, w, h, &bw, &bh, &len);
	TCHECK(back && bw == w && bh == h && memcmp(back, rgb, size) == 0);
	free(back);

	back = round_trip(IMAGE_PNG, rgb, w, h, &bw, &bh, &len);
	TCHECK(back && bw == w && bh == h && memcmp(back, rgb, size) == 0);
	free(back);

	/* A 1x1 PNG. */
	back = round_trip(IMAGE_PNG, rgb, 1, 1, &bw, &bh, &len);
	TCHECK(back && bw == 1 && bh == 1 && memcmp(back, rgb, 3) == 0);
	free(back);

	/* PNG is compressed: a flat picture takes a small part of its pixels. */
	back = round_trip(IMAGE_PNG, flat, w, h, &bw, &bh, &len);
	TCHECK(len < size / 20);
	TCHECK(back && bw == w && bh == h && memcmp(back, flat, size) == 0);
	free(back);

	back = round_trip(IMAGE_JPEG, rgb, w, h, &bw, &bh, &len);
	TCHECK(back && bw == w && bh == h);
	TCHECK(barcode_read(back, w, h) == 0x8000A5C3u);
	free(back);

	TCHECK(image_file_encode(IMAGE_UNKNOWN, rgb, w, h, &out, &len) == -1);
	free(rgb);
	free(flat);
	return 0;
}
