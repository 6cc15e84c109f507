/*
 * Image file writers for omvctl snapshot. PNG uses stored (uncompressed)
 * deflate blocks: valid for every decoder, and it keeps zlib out of the
 * dependencies. The CRC-32 and Adler-32 it needs are small enough to carry.
 */
#include "image_write.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <turbojpeg.h>

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

/* ---- PNG ---------------------------------------------------------------- */

struct crc32 {
	uint32_t table[256];
};

static void crc32_init(struct crc32 *t)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		t->table[i] = c;
	}
}

static uint32_t crc32_update(const struct crc32 *t, uint32_t crc, const unsigned char *p,
			     size_t n)
{
	crc = ~crc;
	while (n--)
		crc = t->table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* One PNG chunk: length, type, data, CRC over type and data. */
static void write_chunk(FILE *f, const struct crc32 *t, const char type[4],
			const unsigned char *data, size_t len)
{
	unsigned char word[4];
	uint32_t crc;

	put32(word, (uint32_t)len);
	fwrite(word, 1, 4, f);
	fwrite(type, 1, 4, f);
	if (len)
		fwrite(data, 1, len, f);
	crc = crc32_update(t, 0, (const unsigned char *)type, 4);
	crc = crc32_update(t, crc, data, len);
	put32(word, crc);
	fwrite(word, 1, 4, f);
}

/* The zlib stream of the filtered image: header, stored blocks, Adler-32. */
static unsigned char *zlib_stored(const unsigned char *raw, size_t n, size_t *out_len)
{
	size_t blocks = n / 65535 + 1;
	unsigned char *z = malloc(2 + blocks * 5 + n + 4), *o = z;
	uint32_t a = 1, b = 0;

	if (!z)
		return NULL;
	*o++ = 0x78;	/* deflate, 32 KiB window */
	*o++ = 0x01;	/* no preset dictionary; (0x78 << 8 | 0x01) % 31 == 0 */
	for (size_t off = 0;;) {
		size_t len = n - off > 65535 ? 65535 : n - off;
		bool last = off + len == n;

		*o++ = last ? 1 : 0;	/* BFINAL, BTYPE 00 = stored */
		*o++ = (unsigned char)len;
		*o++ = (unsigned char)(len >> 8);
		*o++ = (unsigned char)~len;
		*o++ = (unsigned char)(~len >> 8);
		memcpy(o, raw + off, len);
		o += len;
		off += len;
		if (last)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		a = (a + raw[i]) % 65521;
		b = (b + a) % 65521;
	}
	put32(o, b << 16 | a);
	o += 4;
	*out_len = (size_t)(o - z);
	return z;
}

int image_write_png(const char *path, const unsigned char *rgb, int w, int h)
{
	static const unsigned char signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
	size_t stride = (size_t)w * 3, raw_len = ((size_t)w * 3 + 1) * (size_t)h, z_len;
	unsigned char ihdr[13], *raw, *z;
	struct crc32 t;
	FILE *f;

	raw = malloc(raw_len);
	if (!raw)
		return -1;
	for (size_t y = 0; y < (size_t)h; y++) {
		raw[y * (stride + 1)] = 0;	/* filter: none */
		memcpy(raw + y * (stride + 1) + 1, rgb + y * stride, stride);
	}
	z = zlib_stored(raw, raw_len, &z_len);
	free(raw);
	if (!z)
		return -1;
	f = fopen(path, "wb");
	if (!f) {
		free(z);
		return -1;
	}
	crc32_init(&t);
	put32(ihdr, (uint32_t)w);
	put32(ihdr + 4, (uint32_t)h);
	ihdr[8] = 8;	/* bits per sample */
	ihdr[9] = 2;	/* truecolour */
	ihdr[10] = ihdr[11] = ihdr[12] = 0;	/* deflate, adaptive filter, no interlace */
	fwrite(signature, 1, sizeof signature, f);
	write_chunk(f, &t, "IHDR", ihdr, sizeof ihdr);
	write_chunk(f, &t, "IDAT", z, z_len);
	write_chunk(f, &t, "IEND", NULL, 0);
	free(z);
	return finish(f, 0);
}

/* ---- JPEG --------------------------------------------------------------- */

int image_write_jpeg(const char *path, const unsigned char *rgb, int w, int h, int quality)
{
	tjhandle tj = tjInitCompress();
	unsigned char *jpeg = NULL;
	unsigned long len = 0;
	int rc;

	if (!tj) {
		errno = ENOMEM;
		return -1;
	}
	if (tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &jpeg, &len, TJSAMP_420, quality,
			0) != 0) {
		tjDestroy(tj);
		tjFree(jpeg);
		errno = EIO;
		return -1;
	}
	rc = image_write_bytes(path, jpeg, len);
	tjFree(jpeg);
	tjDestroy(tj);
	return rc;
}
