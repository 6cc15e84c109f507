/* Frames: header validation, metadata, every encoding from every source
 * format (RGB565, grayscale, JPEG), decode limits against hostile JPEGs,
 * images made once when many threads ask, and sealed shared memory. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "daemon/frame.h"
#include "daemon/frame_codec.h"
#include "testutil.h"

static struct frame_codec *codec;

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

/* A frame made of those pixels (number 1), NULL if refused. */
static struct frame *frame_of(uint32_t w, uint32_t h, uint32_t fmt, uint32_t size,
			      const void *pix, size_t pix_len)
{
	size_t len;
	uint8_t *data = make(w, h, fmt, size, pix, pix_len, &len);

	return frame_new(data, len, 1, 0, 0);
}

static const struct frame_image *image(struct frame *f, enum frame_encoding enc)
{
	const struct frame_image *img = frame_image(f, enc, codec);

	CHECK(img != NULL);
	return img;
}

/* A JPEG of w x h pixels: flat colour, or noise (compresses badly). */
static unsigned char *jpeg_of(int w, int h, bool noise, unsigned long *len)
{
	uint8_t *src = malloc((size_t)w * h * 3);
	unsigned char *jpeg = NULL;
	tjhandle tj = tjInitCompress();
	unsigned seed = 1;

	CHECK(src != NULL && tj != NULL);
	for (int i = 0; i < w * h; i++) {
		src[3 * i] = noise ? (uint8_t)rand_r(&seed) : 200;
		src[3 * i + 1] = noise ? (uint8_t)rand_r(&seed) : 40;
		src[3 * i + 2] = noise ? (uint8_t)rand_r(&seed) : 90;
	}
	*len = 0;
	CHECK(tjCompress2(tj, src, w, 0, h, TJPF_RGB, &jpeg, len, TJSAMP_444, 95, 0) == 0);
	tjDestroy(tj);
	free(src);
	return jpeg;
}

/* JPEG bytes decoded back to RGB888 (w*h*3), checking the size. */
static uint8_t *decode(const uint8_t *jpeg, size_t len, int w, int h)
{
	tjhandle tj = tjInitDecompress();
	int jw, jh, ss, cs;
	uint8_t *rgb = malloc((size_t)w * h * 3);

	CHECK(tj != NULL && rgb != NULL);
	CHECK(tjDecompressHeader3(tj, jpeg, len, &jw, &jh, &ss, &cs) == 0);
	CHECK_EQ(jw, w);
	CHECK_EQ(jh, h);
	CHECK(tjDecompress2(tj, jpeg, len, rgb, w, 0, h, TJPF_RGB, 0) == 0);
	tjDestroy(tj);
	return rgb;
}

static void test_metadata(void)
{
	uint8_t pix[13242];
	size_t len;
	uint8_t *data;
	struct frame *f;

	memset(pix, 0, sizeof pix);
	data = make(320, 240, OMV_PIXFMT_JPEG, sizeof pix, pix, sizeof pix, &len);
	f = frame_new(data, len, 7, 1700000000123456, 29.5);
	CHECK(f != NULL);
	CHECK_EQ(len, 13274);
	/* the image bytes, without the stream header, as the package says */
	CHECK_EQ(frame_raw_size(f), 13242);
	CHECK_EQ(f->number, 7);
	CHECK_EQ(f->timestamp_us, 1700000000123456);
	CHECK(f->fps == 29.5);
	CHECK(frame_is_jpeg(f));
	CHECK(frame_ref(f) == f);
	frame_unref(f);
	frame_unref(f);

	CHECK_EQ(frame_encoding_from_name("jpeg"), FRAME_ENC_JPEG);
	CHECK_EQ(frame_encoding_from_name("rgb888"), FRAME_ENC_RGB888);
	CHECK_EQ(frame_encoding_from_name("native"), FRAME_ENC_NATIVE);
	CHECK_EQ(frame_encoding_from_name("none"), FRAME_ENC_NONE);
	CHECK_EQ(frame_encoding_from_name("png"), -1);
	CHECK(strcmp(frame_encoding_name(FRAME_ENC_RGB888), "rgb888") == 0);
}

static void test_rgb565(void)
{
	/* little-endian: white, black, pure red, pure green, pure blue, a mix */
	const uint16_t px[6] = { 0xFFFF, 0x0000, 0xF800, 0x07E0, 0x001F, 0x8410 };
	const uint8_t want[18] = {
		255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255,
		/* 0x8410: r=16 -> 132, g=32 -> 130, b=16 -> 132 */
		132, 130, 132,
	};
	const struct frame_image *rgb, *nat;
	uint8_t raw[12];
	struct frame *f;

	for (int i = 0; i < 6; i++)
		omv_put_u16(raw + 2 * i, px[i]);
	f = frame_of(3, 2, OMV_PIXFMT_RGB565, 2, raw, sizeof raw);
	CHECK(f != NULL);
	CHECK(!frame_is_jpeg(f));
	nat = image(f, FRAME_ENC_NATIVE);
	CHECK(nat->data == f->data + OMV_FRAME_HDR_SIZE);
	CHECK_EQ(nat->len, 12);
	CHECK(frame_image_ready(f, FRAME_ENC_RGB888) == NULL);	/* not made yet */
	rgb = image(f, FRAME_ENC_RGB888);
	CHECK(rgb->data != NULL);
	CHECK_EQ(rgb->len, 18);
	CHECK(memcmp(rgb->data, want, 18) == 0);
	CHECK(image(f, FRAME_ENC_RGB888) == rgb);	/* made once */
	CHECK(frame_image_ready(f, FRAME_ENC_RGB888) == rgb);
	CHECK(frame_image(f, FRAME_ENC_NONE, codec) == NULL);
	frame_unref(f);
}

static void test_grayscale(void)
{
	const uint8_t px[4] = { 0, 17, 200, 255 };
	const struct frame_image *rgb;
	struct frame *f = frame_of(2, 2, OMV_PIXFMT_GRAYSCALE, 1, px, 4);

	CHECK(f != NULL);
	rgb = image(f, FRAME_ENC_RGB888);
	CHECK(rgb->data != NULL);
	CHECK_EQ(rgb->len, 12);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(rgb->data[3 * i], px[i]);
		CHECK_EQ(rgb->data[3 * i + 1], px[i]);
		CHECK_EQ(rgb->data[3 * i + 2], px[i]);
	}
	frame_unref(f);
}

static void test_jpeg(void)
{
	const int w = 32, h = 16;
	unsigned long jpeg_len;
	unsigned char *jpeg = jpeg_of(w, h, false, &jpeg_len);
	const struct frame_image *img;
	size_t len;
	struct frame *f;
	uint8_t *data;

	data = make((uint32_t)w, (uint32_t)h, OMV_PIXFMT_JPEG, (uint32_t)jpeg_len, jpeg, jpeg_len,
		    &len);
	f = frame_new(data, len, 1, 0, 0);
	CHECK(f != NULL);
	/* jpeg of a JPEG frame: the cam's bytes, untouched */
	img = image(f, FRAME_ENC_JPEG);
	CHECK(img->data == f->data + OMV_FRAME_HDR_SIZE);
	CHECK_EQ(img->len, jpeg_len);
	CHECK(img->owned == NULL);
	img = image(f, FRAME_ENC_RGB888);
	CHECK(img->data != NULL);
	CHECK_EQ(img->len, (size_t)w * h * 3);
	for (int i = 0; i < w * h; i++) {
		CHECK(abs(img->data[3 * i] - 200) <= 4);
		CHECK(abs(img->data[3 * i + 1] - 40) <= 4);
		CHECK(abs(img->data[3 * i + 2] - 90) <= 4);
	}
	frame_unref(f);

	/* header and JPEG disagree on the size: no decode */
	data = make(64, 16, OMV_PIXFMT_JPEG, (uint32_t)jpeg_len, jpeg, jpeg_len, &len);
	f = frame_new(data, len, 1, 0, 0);
	CHECK(f != NULL);
	CHECK(image(f, FRAME_ENC_RGB888)->data == NULL);
	CHECK_EQ(image(f, FRAME_ENC_RGB888)->len, 0);
	frame_unref(f);

	/* corrupt JPEG bytes: no decode, no crash */
	data = make((uint32_t)w, (uint32_t)h, OMV_PIXFMT_JPEG, (uint32_t)jpeg_len, jpeg, jpeg_len,
		    &len);
	memset(data + OMV_FRAME_HDR_SIZE, 0x5A, 16);
	f = frame_new(data, len, 1, 0, 0);
	CHECK(f != NULL);
	CHECK(image(f, FRAME_ENC_RGB888)->data == NULL);
	frame_unref(f);
	tjFree(jpeg);
}

/* A raw frame asked as JPEG is encoded by the daemon (and decodes back to
 * what the rgb888 client gets); a raw frame never passes as JPEG. */
static void test_jpeg_from_raw(void)
{
	enum { W = 16, H = 8 };
	uint8_t raw[W * H * 2], gray[W * H];
	const struct frame_image *jpg, *rgb;
	struct frame *f;
	uint8_t *back;

	for (int i = 0; i < W * H; i++) {
		omv_put_u16(raw + 2 * i, 0xF800 | 0x0400);	/* red + a little green */
		gray[i] = 77;
	}
	f = frame_of(W, H, OMV_PIXFMT_RGB565, 2, raw, sizeof raw);
	CHECK(f != NULL);
	jpg = image(f, FRAME_ENC_JPEG);
	CHECK(jpg->data != NULL && jpg->owned != NULL);
	CHECK(jpg->data[0] == 0xFF && jpg->data[1] == 0xD8);	/* SOI */
	rgb = frame_image_ready(f, FRAME_ENC_RGB888);	/* made on the way */
	CHECK(rgb != NULL && rgb->data != NULL);
	back = decode(jpg->data, jpg->len, W, H);
	for (int i = 0; i < W * H * 3; i++)
		CHECK(abs(back[i] - rgb->data[i]) <= 6);
	free(back);
	frame_unref(f);

	f = frame_of(W, H, OMV_PIXFMT_GRAYSCALE, 1, gray, sizeof gray);
	CHECK(f != NULL);
	jpg = image(f, FRAME_ENC_JPEG);
	CHECK(jpg->data != NULL);
	back = decode(jpg->data, jpg->len, W, H);
	for (int i = 0; i < W * H * 3; i++)
		CHECK(abs(back[i] - 77) <= 2);
	free(back);
	frame_unref(f);

	/* a format that can be neither decoded nor encoded: no data at all */
	f = frame_of(2, 2, 0x12345678, 1, gray, 4);
	CHECK(f != NULL);
	CHECK(image(f, FRAME_ENC_JPEG)->data == NULL);
	CHECK(image(f, FRAME_ENC_RGB888)->data == NULL);
	CHECK(image(f, FRAME_ENC_NATIVE)->data != NULL);
	frame_unref(f);
}

/* Sets the frame size in a JPEG's SOF marker. */
static void patch_sof(unsigned char *jpeg, unsigned long len, unsigned w, unsigned h)
{
	for (unsigned long i = 2; i + 9 < len; i++) {
		if (jpeg[i] == 0xFF && (jpeg[i + 1] == 0xC0 || jpeg[i + 1] == 0xC2)) {
			jpeg[i + 5] = (unsigned char)(h >> 8);
			jpeg[i + 6] = (unsigned char)h;
			jpeg[i + 7] = (unsigned char)(w >> 8);
			jpeg[i + 8] = (unsigned char)w;
			return;
		}
	}
	CHECK(!"no SOF marker");
}

static struct frame *hostile(const unsigned char *jpeg, unsigned long jlen, unsigned w,
			     unsigned h)
{
	struct frame *f = frame_of(w, h, OMV_PIXFMT_JPEG, (uint32_t)jlen, jpeg, jlen);

	CHECK(f != NULL);
	return f;
}

/* A small JPEG that claims a huge size is refused before anything is
 * allocated: by the configured maximum, and by its compressed size. The
 * same bytes claiming a size within both limits do decode (libjpeg fills
 * what is missing), so it is the limits that refuse. */
static void test_hostile_jpeg(void)
{
	unsigned long jlen;
	unsigned char *jpeg = jpeg_of(64, 64, true, &jlen);
	struct frame_codec *roomy = frame_codec_new(100000000);
	const struct frame_image *img;
	struct frame *f;

	CHECK(roomy != NULL);
	CHECK(jlen > 8000 && jlen < 20000);	/* about 13 KB */
	patch_sof(jpeg, jlen, 8192, 8192);
	f = hostile(jpeg, jlen, 8192, 8192);
	CHECK(image(f, FRAME_ENC_RGB888)->data == NULL);	/* over 8 Mpx */
	frame_unref(f);
	f = hostile(jpeg, jlen, 8192, 8192);
	CHECK(frame_image(f, FRAME_ENC_RGB888, roomy)->data == NULL);	/* 5000 px/byte */
	frame_unref(f);

	patch_sof(jpeg, jlen, 512, 512);	/* 20 px/byte, 0.26 Mpx */
	f = hostile(jpeg, jlen, 512, 512);
	img = frame_image(f, FRAME_ENC_RGB888, roomy);
	CHECK(img->data != NULL);
	CHECK_EQ(img->len, 512 * 512 * 3);
	frame_unref(f);
	frame_codec_free(roomy);
	tjFree(jpeg);
}

/* Many threads ask for the same images at once: each is made once, and
 * everybody gets the same bytes. */
struct asker {
	pthread_t t;
	struct frame *f;
	struct frame_codec *codec;
	const struct frame_image *rgb, *jpg;
	int fd;
};

static void *ask(void *arg)
{
	struct asker *a = arg;

	a->jpg = frame_image(a->f, FRAME_ENC_JPEG, a->codec);
	a->rgb = frame_image(a->f, FRAME_ENC_RGB888, a->codec);
	a->fd = frame_shm(a->f, FRAME_ENC_RGB888, a->codec);
	return NULL;
}

static void test_threads(void)
{
	enum { N = 6, W = 64, H = 48 };
	static uint8_t raw[W * H * 2];
	struct asker a[N];
	struct frame *f;

	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (uint8_t)(i * 7);
	f = frame_of(W, H, OMV_PIXFMT_RGB565, 2, raw, sizeof raw);
	CHECK(f != NULL);
	for (int i = 0; i < N; i++) {
		a[i].f = frame_ref(f);
		a[i].codec = frame_codec_new(0);
		CHECK(pthread_create(&a[i].t, NULL, ask, &a[i]) == 0);
	}
	for (int i = 0; i < N; i++) {
		CHECK(pthread_join(a[i].t, NULL) == 0);
		CHECK(a[i].rgb == a[0].rgb && a[i].jpg == a[0].jpg);
		CHECK(a[i].rgb->data == a[0].rgb->data && a[i].jpg->data == a[0].jpg->data);
		CHECK(a[i].fd >= 0 && a[i].fd == a[0].fd);
		frame_codec_free(a[i].codec);
		frame_unref(a[i].f);
	}
	CHECK(a[0].rgb->data != NULL && a[0].jpg->data != NULL);
	frame_unref(f);
}

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, 1);
}

/* Sealed memory: the bytes of the image, read-only for whoever holds the
 * fd (no write, resize, writable mapping or unsealing), and still there
 * after the frame and the daemon's fd are gone. */
static void test_shm(void)
{
	enum { W = 40, H = 30 };
	uint8_t raw[W * H * 2];
	const struct frame_image *rgb;
	struct stat st;
	struct frame *f;
	size_t map_len;
	uint8_t *copy, *map;
	int fd, held, seals;
	volatile bool faulted = false;
	struct sigaction sa = { .sa_handler = on_fault }, old;

	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (uint8_t)(i * 13 + 1);
	f = frame_of(W, H, OMV_PIXFMT_RGB565, 2, raw, sizeof raw);
	CHECK(f != NULL);
	fd = frame_shm(f, FRAME_ENC_RGB888, codec);
	CHECK(fd >= 0);
	CHECK(frame_shm(f, FRAME_ENC_RGB888, codec) == fd);	/* one per encoding */
	rgb = frame_image_ready(f, FRAME_ENC_RGB888);
	CHECK(rgb != NULL && rgb->shm_fd == fd);
	/* the image itself is the frame's, in plain memory: the memfd holds
	 * a copy of its bytes */
	CHECK(rgb->owned != NULL && rgb->data == rgb->owned);
	{
		struct frame *plain = frame_of(W, H, OMV_PIXFMT_RGB565, 2, raw, sizeof raw);
		const struct frame_image *p = image(plain, FRAME_ENC_RGB888);
		uint8_t *back = malloc(p->len);

		CHECK(p->owned != NULL && p->len == rgb->len && p->shm_fd < 0);
		CHECK(memcmp(p->data, rgb->data, p->len) == 0);
		/* an image made before its memfd gets one later, same bytes */
		CHECK(frame_shm(plain, FRAME_ENC_RGB888, codec) >= 0);
		CHECK(p->owned != NULL && p->shm_fd >= 0);
		CHECK(back != NULL && pread(p->shm_fd, back, p->len, 0) == (ssize_t)p->len);
		CHECK(memcmp(back, p->data, p->len) == 0);
		free(back);
		frame_unref(plain);
	}
	CHECK(fstat(fd, &st) == 0);
	CHECK_EQ(st.st_size, rgb->len);
	seals = fcntl(fd, F_GET_SEALS);
	CHECK((seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) ==
	      (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	/* what a client does with the fd it was passed */
	held = dup(fd);
	CHECK(held >= 0);
	CHECK(write(held, "x", 1) < 0 && errno == EPERM);
	CHECK(pwrite(held, "x", 1, 0) < 0 && errno == EPERM);
	CHECK(ftruncate(held, 0) < 0 && errno == EPERM);
	CHECK(ftruncate(held, st.st_size * 2) < 0 && errno == EPERM);
	CHECK(fcntl(held, F_ADD_SEALS, F_SEAL_GROW) < 0 && errno == EPERM);
	CHECK(mmap(NULL, rgb->len, PROT_READ | PROT_WRITE, MAP_SHARED, held, 0) == MAP_FAILED);
	map_len = rgb->len;
	copy = malloc(map_len);
	memcpy(copy, rgb->data, map_len);

	/* the frame goes (and the daemon's fd with it): the memory stays */
	frame_unref(f);
	CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
	map = mmap(NULL, map_len, PROT_READ, MAP_SHARED, held, 0);
	CHECK(map != MAP_FAILED);
	close(held);
	CHECK(memcmp(map, copy, map_len) == 0);
	CHECK(mprotect(map, map_len, PROT_READ | PROT_WRITE) < 0);
	/* and writing through the read-only mapping faults */
	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(fault_jmp, 1) == 0)
		((volatile uint8_t *)map)[0] = 1;
	else
		faulted = true;
	sigaction(SIGSEGV, &old, NULL);
	CHECK(faulted);
	CHECK(memcmp(map, copy, map_len) == 0);
	munmap(map, map_len);
	free(copy);

	/* no image, no memfd */
	f = frame_of(2, 2, 0x12345678, 1, raw, 4);
	CHECK(frame_shm(f, FRAME_ENC_RGB888, codec) == -1);
	frame_unref(f);
}

static void test_bad_headers(void)
{
	uint8_t px[64] = { 0 };
	size_t len;
	uint8_t *d;
	struct frame *f;

	/* shorter than the header */
	d = malloc(10);
	memset(d, 0, 10);
	CHECK(frame_new(d, 10, 1, 0, 0) == NULL);
	/* zero width */
	d = make(0, 4, OMV_PIXFMT_GRAYSCALE, 1, px, 16, &len);
	CHECK(frame_new(d, len, 1, 0, 0) == NULL);
	/* more pixels announced than sent */
	d = make(8, 8, OMV_PIXFMT_RGB565, 2, px, sizeof px, &len);
	CHECK(frame_new(d, len, 1, 0, 0) == NULL);
	/* huge dimensions */
	d = make(100000, 100000, OMV_PIXFMT_JPEG, 16, px, 16, &len);
	CHECK(frame_new(d, len, 1, 0, 0) == NULL);
	/* JPEG size beyond the data */
	d = make(8, 8, OMV_PIXFMT_JPEG, 1000, px, sizeof px, &len);
	CHECK(frame_new(d, len, 1, 0, 0) == NULL);
	/* RGB565 that claims 1 byte per pixel is not read past its end */
	d = make(8, 8, OMV_PIXFMT_RGB565, 1, px, sizeof px, &len);
	f = frame_new(d, len, 1, 0, 0);
	CHECK(f != NULL);
	CHECK(image(f, FRAME_ENC_RGB888)->data == NULL);
	CHECK(image(f, FRAME_ENC_JPEG)->data == NULL);
	frame_unref(f);
	/* nor GRAYSCALE that claims 0 bytes per pixel and sends none */
	d = make(8, 8, OMV_PIXFMT_GRAYSCALE, 0, px, 0, &len);
	f = frame_new(d, len, 1, 0, 0);
	CHECK(f != NULL);
	CHECK(image(f, FRAME_ENC_RGB888)->data == NULL);
	CHECK(image(f, FRAME_ENC_JPEG)->data == NULL);
	frame_unref(f);
	CHECK(frame_new(NULL, 0, 1, 0, 0) == NULL);
}

int main(void)
{
	codec = frame_codec_new(0);
	CHECK(codec != NULL);
	test_metadata();
	test_rgb565();
	test_grayscale();
	test_jpeg();
	test_jpeg_from_raw();
	test_hostile_jpeg();
	test_threads();
	test_shm();
	test_bad_headers();
	frame_codec_free(codec);
	return 0;
}
