/*
 * Image readers for the client tests (see image_read.h).
 */
#include "image_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

/* Inflate a zlib stream made only of stored blocks into out (cap bytes). */
static size_t inflate_stored(const unsigned char *z, size_t n, unsigned char *out, size_t cap)
{
	size_t pos = 2, got = 0;
	uint32_t a = 1, b = 0;

	if (n < 6 || (z[0] & 0x0F) != 8 || ((z[0] << 8) | z[1]) % 31 != 0)
		return (size_t)-1;
	for (;;) {
		unsigned hdr, len, nlen;

		if (pos + 5 > n)
			return (size_t)-1;
		hdr = z[pos];
		if ((hdr >> 1 & 3) != 0)
			return (size_t)-1;	/* only stored blocks expected */
		len = z[pos + 1] | z[pos + 2] << 8;
		nlen = z[pos + 3] | z[pos + 4] << 8;
		if ((len ^ 0xFFFF) != nlen || pos + 5 + len > n || got + len > cap)
			return (size_t)-1;
		memcpy(out + got, z + pos + 5, len);
		got += len;
		pos += 5 + len;
		if (hdr & 1)
			break;
	}
	for (size_t i = 0; i < got; i++) {
		a = (a + out[i]) % 65521;
		b = (b + a) % 65521;
	}
	if (pos + 4 > n || get32(z + pos) != (b << 16 | a))
		return (size_t)-1;
	return got;
}

unsigned char *png_read(const char *path, int *w, int *h)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
	size_t len, pos = 8, zlen = 0, raw_len;
	unsigned char *file = file_read(path, &len), *z = NULL, *raw = NULL, *rgb = NULL;
	int ok = 0;

	if (!file || len < 8 || memcmp(file, sig, 8) != 0)
		goto out;
	*w = *h = 0;
	while (pos + 12 <= len) {
		uint32_t clen = get32(file + pos);
		const unsigned char *type = file + pos + 4, *data = file + pos + 8;

		if (pos + 12 + clen > len || crc32(type, clen + 4) != get32(data + clen))
			goto out;
		if (memcmp(type, "IHDR", 4) == 0) {
			if (clen != 13 || data[8] != 8 || data[9] != 2 || data[12] != 0)
				goto out;
			*w = (int)get32(data);
			*h = (int)get32(data + 4);
		} else if (memcmp(type, "IDAT", 4) == 0) {
			z = realloc(z, zlen + clen);
			memcpy(z + zlen, data, clen);
			zlen += clen;
		} else if (memcmp(type, "IEND", 4) == 0) {
			ok = 1;
			break;
		}
		pos += 12 + clen;
	}
	if (!ok || *w <= 0 || *h <= 0 || !z)
		goto out;
	raw_len = ((size_t)*w * 3 + 1) * (size_t)*h;
	raw = malloc(raw_len);
	if (inflate_stored(z, zlen, raw, raw_len) != raw_len)
		goto out;
	rgb = malloc((size_t)*w * (size_t)*h * 3);
	for (int y = 0; y < *h; y++) {
		const unsigned char *row = raw + (size_t)y * ((size_t)*w * 3 + 1);

		if (row[0] != 0) {	/* filter none, as omvctl writes */
			free(rgb);
			rgb = NULL;
			goto out;
		}
		memcpy(rgb + (size_t)y * (size_t)*w * 3, row + 1, (size_t)*w * 3);
	}
out:
	free(file);
	free(z);
	free(raw);
	return rgb;
}

unsigned char *jpeg_read(const char *path, int *w, int *h)
{
	size_t len;
	unsigned char *file = file_read(path, &len), *rgb = NULL;
	tjhandle tj = tjInitDecompress();
	int subsamp, colorspace;

	if (file && tj &&
	    tjDecompressHeader3(tj, file, len, w, h, &subsamp, &colorspace) == 0 &&
	    *w > 0 && *h > 0 && *w <= 8192 && *h <= 8192) {
		rgb = malloc((size_t)*w * (size_t)*h * 3);
		if (tjDecompress2(tj, file, len, rgb, *w, 0, *h, TJPF_RGB, 0) != 0) {
			free(rgb);
			rgb = NULL;
		}
	}
	if (tj)
		tjDestroy(tj);
	free(file);
	return rgb;
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
