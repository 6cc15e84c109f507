/*
 * omvctl's image writers, read back with the tests' own readers: PPM and
 * PNG must round-trip exactly, JPEG must decode with the barcode intact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_server.h"
#include "image_read.h"
#include "image_write.h"

int main(void)
{
	char dir[] = "/tmp/omvctl-image-XXXXXX", path[64];
	const int w = 320, h = 240;
	unsigned char *rgb = malloc((size_t)w * h * 3), *back;
	unsigned int seed = 7;
	int bw, bh;

	TCHECK(mkdtemp(dir) != NULL);
	/* Noise below the barcode: pixels that do not compress must still
	 * round-trip exactly through PNG. */
	for (size_t i = 0; i < (size_t)w * h * 3; i++)
		rgb[i] = (unsigned char)(rand_r(&seed) >> 5);
	barcode_draw(rgb, w, h, 0x8000A5C3u);
	TCHECK(barcode_read(rgb, w, h) == 0x8000A5C3u);

	TCHECK(image_type_of("a.PNG") == IMAGE_PNG && image_type_of("x.jpeg") == IMAGE_JPEG);
	TCHECK(image_type_of("x.ppm") == IMAGE_PPM && image_type_of("x.gif") == IMAGE_UNKNOWN);
	TCHECK(image_type_of("noext") == IMAGE_UNKNOWN);

	snprintf(path, sizeof path, "%s/a.ppm", dir);
	TCHECK(image_write_ppm(path, rgb, w, h) == 0);
	back = ppm_read(path, &bw, &bh);
	TCHECK(back && bw == w && bh == h && memcmp(back, rgb, (size_t)w * h * 3) == 0);
	free(back);
	unlink(path);

	snprintf(path, sizeof path, "%s/a.png", dir);
	TCHECK(image_write_png(path, rgb, w, h) == 0);
	back = png_read(path, &bw, &bh);
	TCHECK(back && bw == w && bh == h && memcmp(back, rgb, (size_t)w * h * 3) == 0);
	free(back);
	unlink(path);

	/* A 1x1 PNG. */
	TCHECK(image_write_png(path, rgb, 1, 1) == 0);
	back = png_read(path, &bw, &bh);
	TCHECK(back && bw == 1 && bh == 1 && memcmp(back, rgb, 3) == 0);
	free(back);
	unlink(path);

	/* PNG is compressed: a flat picture takes a small part of its pixels. */
	{
		unsigned char *flat = calloc((size_t)w * h * 3, 1);
		size_t len = (size_t)-1;

		TCHECK(flat != NULL && image_write_png(path, flat, w, h) == 0);
		free(file_read(path, &len));
		TCHECK(len < (size_t)w * h * 3 / 20);
		back = png_read(path, &bw, &bh);
		TCHECK(back && bw == w && bh == h && memcmp(back, flat, (size_t)w * h * 3) == 0);
		free(back);
		free(flat);
		unlink(path);
	}

	snprintf(path, sizeof path, "%s/a.jpg", dir);
	TCHECK(image_write_jpeg(path, rgb, w, h, 90) == 0);
	back = jpeg_read(path, &bw, &bh);
	TCHECK(back && bw == w && bh == h);
	TCHECK(barcode_read(back, w, h) == 0x8000A5C3u);
	free(back);
	unlink(path);

	snprintf(path, sizeof path, "%s/no/such/dir.ppm", dir);
	TCHECK(image_write_ppm(path, rgb, w, h) == -1);

	free(rgb);
	TCHECK(rmdir(dir) == 0);
	return 0;
}
