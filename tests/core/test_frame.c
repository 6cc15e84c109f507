/* Frames: header validation, RGB565 / grayscale conversion values, JPEG
 * decoding of a turbojpeg-compressed image, refusal of bad input. */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "daemon/frame.h"
#include "testutil.h"

static uint8_t *make(uint32_t w, uint32_t h, uint32_t fmt, uint32_t size,
		     const void *pix, size_t pix_len, size_t *len)
{
	struct omv_frame_hdr hdr = { w, h, fmt, size, OMV_FRAME_HDR_SIZE, 30.0f };
	uint8_t *p;

	*len = OMV_FRAME_HDR_SIZE + pix_len;
	p = malloc(*len);
	omv_frame_hdr_encode(&hdr, p);
	memcpy(p + OMV_FRAME_HDR_SIZE, pix, pix_len);
	return p;
}

static void test_rgb565(void)
{
	/* little-endian: white, black, pure red, pure green, pure blue, a mix */
	const uint16_t px[6] = { 0xFFFF, 0x0000, 0xF800, 0x07E0, 0x001F, 0x8410 };
	uint8_t raw[12];
	size_t len, rgb_len, nlen;
	const uint8_t *rgb;
	struct frame *f;

	for (int i = 0; i < 6; i++)
		omv_put_u16(raw + 2 * i, px[i]);
	uint8_t *data = make(3, 2, OMV_PIXFMT_RGB565, 2, raw, sizeof raw, &len);

	f = frame_new(data, len, 7, 1234);
	CHECK(f != NULL);
	CHECK_EQ(f->number, 7);
	CHECK_EQ(f->time_ms, 1234);
	CHECK(!frame_is_jpeg(f));
	CHECK(frame_native(f, &nlen) == f->data + OMV_FRAME_HDR_SIZE);
	CHECK_EQ(nlen, 12);
	rgb = frame_rgb888(f, &rgb_len);
	CHECK(rgb != NULL);
	CHECK_EQ(rgb_len, 18);
	const uint8_t want[18] = {
		255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255,
		/* 0x8410: r=16 -> 132, g=32 -> 130, b=16 -> 132 */
		132, 130, 132,
	};
	CHECK(memcmp(rgb, want, 18) == 0);
	CHECK(frame_rgb888(f, &rgb_len) == rgb);	/* cached */
	CHECK(frame_ref(f) == f);
	frame_unref(f);
	frame_unref(f);
}

static void test_grayscale(void)
{
	const uint8_t px[4] = { 0, 17, 200, 255 };
	size_t len, rgb_len;
	uint8_t *data = make(2, 2, OMV_PIXFMT_GRAYSCALE, 1, px, 4, &len);
	struct frame *f = frame_new(data, len, 1, 0);
	const uint8_t *rgb;

	CHECK(f != NULL);
	rgb = frame_rgb888(f, &rgb_len);
	CHECK(rgb != NULL);
	CHECK_EQ(rgb_len, 12);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(rgb[3 * i], px[i]);
		CHECK_EQ(rgb[3 * i + 1], px[i]);
		CHECK_EQ(rgb[3 * i + 2], px[i]);
	}
	frame_unref(f);
}

static void test_jpeg(void)
{
	const int w = 32, h = 16;
	uint8_t src[32 * 16 * 3];
	unsigned char *jpeg = NULL;
	unsigned long jpeg_len = 0;
	tjhandle tj = tjInitCompress();
	size_t len, rgb_len, nlen;
	struct frame *f;
	const uint8_t *rgb;
	uint8_t *data;

	for (int i = 0; i < w * h; i++) {
		src[3 * i] = 200;	/* a flat colour survives JPEG closely */
		src[3 * i + 1] = 40;
		src[3 * i + 2] = 90;
	}
	CHECK(tj != NULL);
	CHECK(tjCompress2(tj, src, w, 0, h, TJPF_RGB, &jpeg, &jpeg_len, TJSAMP_444, 95, 0) == 0);
	data = make((uint32_t)w, (uint32_t)h, OMV_PIXFMT_JPEG, (uint32_t)jpeg_len, jpeg,
		    jpeg_len, &len);
	f = frame_new(data, len, 1, 0);
	CHECK(f != NULL);
	CHECK(frame_is_jpeg(f));
	CHECK(frame_native(f, &nlen) != NULL);
	CHECK_EQ(nlen, jpeg_len);
	rgb = frame_rgb888(f, &rgb_len);
	CHECK(rgb != NULL);
	CHECK_EQ(rgb_len, (size_t)w * h * 3);
	for (int i = 0; i < w * h; i++) {
		CHECK(abs(rgb[3 * i] - 200) <= 4);
		CHECK(abs(rgb[3 * i + 1] - 40) <= 4);
		CHECK(abs(rgb[3 * i + 2] - 90) <= 4);
	}
	frame_unref(f);

	/* header and JPEG disagree on the size: no decode */
	data = make(64, 16, OMV_PIXFMT_JPEG, (uint32_t)jpeg_len, jpeg, jpeg_len, &len);
	f = frame_new(data, len, 1, 0);
	CHECK(f != NULL);
	CHECK(frame_rgb888(f, &rgb_len) == NULL);
	frame_unref(f);

	/* corrupt JPEG bytes: no decode, no crash */
	data = make((uint32_t)w, (uint32_t)h, OMV_PIXFMT_JPEG, (uint32_t)jpeg_len, jpeg,
		    jpeg_len, &len);
	memset(data + OMV_FRAME_HDR_SIZE, 0x5A, 16);
	f = frame_new(data, len, 1, 0);
	CHECK(f != NULL);
	CHECK(frame_rgb888(f, &rgb_len) == NULL);
	frame_unref(f);

	tjFree(jpeg);
	tjDestroy(tj);
}

static void test_bad_headers(void)
{
	uint8_t px[64] = { 0 };
	size_t len;
	uint8_t *d;

	/* shorter than the header */
	d = malloc(10);
	memset(d, 0, 10);
	CHECK(frame_new(d, 10, 1, 0) == NULL);
	/* zero width */
	d = make(0, 4, OMV_PIXFMT_GRAYSCALE, 1, px, 16, &len);
	CHECK(frame_new(d, len, 1, 0) == NULL);
	/* more pixels announced than sent */
	d = make(8, 8, OMV_PIXFMT_RGB565, 2, px, sizeof px, &len);
	CHECK(frame_new(d, len, 1, 0) == NULL);
	/* huge dimensions */
	d = make(100000, 100000, OMV_PIXFMT_JPEG, 16, px, 16, &len);
	CHECK(frame_new(d, len, 1, 0) == NULL);
	/* JPEG size beyond the data */
	d = make(8, 8, OMV_PIXFMT_JPEG, 1000, px, sizeof px, &len);
	CHECK(frame_new(d, len, 1, 0) == NULL);
	/* RGB565 that claims 1 byte per pixel is not read past its end */
	d = make(8, 8, OMV_PIXFMT_RGB565, 1, px, sizeof px, &len);
	{
		struct frame *f = frame_new(d, len, 1, 0);
		size_t n;

		if (f != NULL) {
			CHECK(frame_rgb888(f, &n) == NULL);
			frame_unref(f);
		}
	}
	/* a valid header of a format we cannot convert */
	d = make(2, 2, 0x12345678, 1, px, 4, &len);
	{
		struct frame *f = frame_new(d, len, 1, 0);
		size_t n;

		if (f != NULL) {
			CHECK(frame_rgb888(f, &n) == NULL);
			frame_unref(f);
		}
	}
	CHECK(frame_new(NULL, 0, 1, 0) == NULL);
}

int main(void)
{
	test_rgb565();
	test_grayscale();
	test_jpeg();
	test_bad_headers();
	return 0;
}
