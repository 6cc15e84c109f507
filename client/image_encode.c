/*
 * In-memory image codecs (see image_encode.h). libpng's simplified API
 * writes to memory in two passes: once to learn the size, once to fill.
 */
#include "image_encode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <turbojpeg.h>

static int size_ok(int w, int h)
{
	return w > 0 && h > 0 && (long)w * h <= IMAGE_MAX_PIXELS;
}

int image_png_encode(const unsigned char *rgb, int w, int h, unsigned char **out,
		     size_t *len)
{
	png_image img = {
		.version = PNG_IMAGE_VERSION,
		.width = (png_uint_32)w,
		.height = (png_uint_32)h,
		.format = PNG_FORMAT_RGB,
	};
	png_alloc_size_t size = 0;
	unsigned char *buf;

	if (!size_ok(w, h)) {
		errno = EINVAL;
		return -1;
	}
	if (!png_image_write_to_memory(&img, NULL, &size, 0, rgb, 0, NULL)) {
		errno = ENOMEM;
		return -1;
	}
	buf = malloc(size);
	if (!buf)
		return -1;
	if (!png_image_write_to_memory(&img, buf, &size, 0, rgb, 0, NULL)) {
		png_image_free(&img);
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	*out = buf;
	*len = size;
	return 0;
}

int image_jpeg_encode(const unsigned char *rgb, int w, int h, int quality,
		      unsigned char **out, size_t *len)
{
	tjhandle tj;
	unsigned char *buf;
	unsigned long n;
	int rc = -1;

	if (!size_ok(w, h)) {
		errno = EINVAL;
		return -1;
	}
	/* Our own buffer of the worst-case size: the result is plain malloc'd
	 * memory like everything else handed out here. */
	n = tjBufSize(w, h, TJSAMP_420);
	buf = malloc(n);
	tj = tjInitCompress();
	if (!buf || !tj) {
		errno = ENOMEM;
	} else if (tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &buf, &n, TJSAMP_420, quality,
			       TJFLAG_NOREALLOC) != 0) {
		errno = EINVAL;
	} else {
		*out = buf;
		*len = n;
		buf = NULL;
		rc = 0;
	}
	free(buf);
	if (tj)
		tjDestroy(tj);
	return rc;
}

int image_jpeg_decode(const unsigned char *jpeg, size_t len, unsigned char **rgb, int *w,
		      int *h)
{
	tjhandle tj = tjInitDecompress();
	int subsamp, colorspace, rc = -1;
	unsigned char *pix;

	if (!tj) {
		errno = ENOMEM;
		return -1;
	}
	errno = EINVAL;
	if (tjDecompressHeader3(tj, jpeg, (unsigned long)len, w, h, &subsamp, &colorspace) != 0 ||
	    !size_ok(*w, *h))
		goto out;
	pix = malloc((size_t)*w * (size_t)*h * 3);
	if (!pix) {
		errno = ENOMEM;
		goto out;
	}
	if (tjDecompress2(tj, jpeg, (unsigned long)len, pix, *w, 0, *h, TJPF_RGB, 0) != 0) {
		free(pix);
		errno = EINVAL;
		goto out;
	}
	*rgb = pix;
	rc = 0;
out:
	tjDestroy(tj);
	return rc;
}
