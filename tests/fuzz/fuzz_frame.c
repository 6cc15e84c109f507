/*
 * Harness: the frame path from the bytes a cam reads out of its stream
 * channel (stream header + pixels) to the `frame` notification lines.
 *
 * frame.h first: a frame is made exactly when protocol/msg.h accepts its
 * header, its native bytes lie inside it, and its RGB888 image, when
 * there is one, has w*h pixels; for GRAYSCALE and RGB565 every pixel is
 * checked against the scaling of each channel to 0..255.
 *
 * Then the server, told of the frame as the camera tells it, sends one
 * `frame` notification to each of four clients subscribed with
 * frame_format none, jpeg, rgb888 and native (docs/rpc.md): each line is
 * a JSON-RPC notification describing this frame, with the encoding asked
 * for (or none when the frame does not decode) and base64 data that is
 * exactly what that encoding says. With OMVD_FUZZ_SHOW set in the
 * environment the lines are printed (to look at one input).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "common/base64.h"
#include "daemon/camera.h"
#include "daemon/frame.h"
#include "daemon/frame_codec.h"
#include "daemon/rpc_server.h"
#include "fuzz.h"
#include "fuzz_world.h"
#include "jsonrpc_check.h"

#define LINE_MS 20000

static const char *const formats[] = { "none", "jpeg", "rgb888", "native" };
#define NFORMATS (sizeof formats / sizeof formats[0])

static struct fuzz_conn *subscribers[NFORMATS];

/* ---- frame.h ---- */

/* The frame in one encoding as frame.h makes it; NULL when it cannot be
 * (it does not decode, or is over the codec's limits). */
static const uint8_t *encoded(struct frame *f, const char *encoding, size_t *len)
{
	static struct frame_codec *codec;
	const struct frame_image *img;

	if (codec == NULL && (codec = frame_codec_new(0)) == NULL)
		fuzz_fail("frame_codec_new failed");
	img = frame_image(f, (enum frame_encoding)frame_encoding_from_name(encoding), codec);
	*len = img != NULL ? img->len : 0;
	return img != NULL ? img->data : NULL;
}

/* The channel of 2^bits - 1 levels scaled to 0..255, within rounding. */
static void check_level(unsigned got, unsigned v, unsigned bits, size_t i)
{
	double want = v * 255.0 / ((1u << bits) - 1);

	if (fabs(got - want) > 1.0)
		fuzz_fail("pixel %zu: a %u-bit level %u became %u", i, bits, v, got);
}

static void check_pixels(const struct frame *f, const uint8_t *rgb)
{
	size_t pixels = (size_t)f->hdr.width * f->hdr.height;
	const uint8_t *src = f->data + f->hdr.offset;

	if (f->hdr.pixformat == OMV_PIXFMT_GRAYSCALE) {
		for (size_t i = 0; i < pixels; i++)
			if (rgb[3 * i] != src[i] || rgb[3 * i + 1] != src[i] || rgb[3 * i + 2] != src[i])
				fuzz_fail("gray pixel %zu: %u became %u,%u,%u", i, src[i], rgb[3 * i],
					  rgb[3 * i + 1], rgb[3 * i + 2]);
	} else if (f->hdr.pixformat == OMV_PIXFMT_RGB565) {
		for (size_t i = 0; i < pixels; i++) {
			unsigned v = omv_get_u16(src + 2 * i);

			check_level(rgb[3 * i], v >> 11, 5, i);
			check_level(rgb[3 * i + 1], (v >> 5) & 0x3F, 6, i);
			check_level(rgb[3 * i + 2], v & 0x1F, 5, i);
		}
	}
}

static void check_jpeg(const uint8_t *p, size_t n, const struct frame *f)
{
	tjhandle tj = tjInitDecompress();
	int w, h, subsamp, colorspace;

	if (tj == NULL || tjDecompressHeader3(tj, p, n, &w, &h, &subsamp, &colorspace) < 0)
		fuzz_fail("a JPEG image that is not a JPEG");
	if ((uint32_t)w != f->hdr.width || (uint32_t)h != f->hdr.height)
		fuzz_fail("a %dx%d JPEG for a %ux%u frame", w, h, f->hdr.width, f->hdr.height);
	tjDestroy(tj);
}

static struct frame *make_frame(const uint8_t *data, size_t size)
{
	static uint64_t number;
	struct omv_frame_hdr hdr;
	bool valid = omv_frame_hdr_decode(&hdr, data, size) == 0;
	uint8_t *copy = malloc(size > 0 ? size : 1);
	const uint8_t *native, *rgb, *jpeg;
	size_t native_len, rgb_len, jpeg_len;
	struct frame *f;

	if (copy == NULL)
		fuzz_fail("out of memory");
	memcpy(copy, data, size);
	f = frame_new(copy, size, ++number, 0, 0.0);
	if ((f != NULL) != valid)
		fuzz_fail("frame_new %s a frame whose header msg.h %s", f ? "made" : "refused",
			  valid ? "accepts" : "refuses");
	if (f == NULL)
		return NULL;
	if (f->number != number || f->len != size || memcmp(&f->hdr, &hdr, sizeof hdr) != 0)
		fuzz_fail("the frame does not hold what it was made of");
	native = encoded(f, "native", &native_len);
	if (native != f->data + hdr.offset || native_len > f->len - hdr.offset)
		fuzz_fail("native bytes [%zu, +%zu) outside the frame of %zu bytes",
			  (size_t)(native - f->data), native_len, f->len);
	rgb = encoded(f, "rgb888", &rgb_len);
	if (rgb != NULL) {
		if (rgb_len != (size_t)hdr.width * hdr.height * 3)
			fuzz_fail("RGB888 of %zu bytes for %ux%u", rgb_len, hdr.width, hdr.height);
		check_pixels(f, rgb);
		if (encoded(f, "rgb888", &rgb_len) != rgb)
			fuzz_fail("RGB888 decoded twice");
	}
	/* A JPEG the daemon makes of a raw frame must be one (the cam's own
	 * JPEG goes through untouched, valid or not). */
	jpeg = encoded(f, "jpeg", &jpeg_len);
	if (jpeg != NULL && !frame_is_jpeg(f))
		check_jpeg(jpeg, jpeg_len, f);
	if (frame_ref(f) != f)
		fuzz_fail("frame_ref returned another frame");
	frame_unref(f);
	return f;
}

/* ---- the notification lines ---- */

static void check_data(json_t *params, const char *encoding, struct frame *f)
{
	json_t *data = json_object_get(params, "data");
	const uint8_t *want;
	size_t want_len = 0, len;
	uint8_t *got;

	if (!json_is_string(data))
		fuzz_fail("encoding '%s' without data", encoding);
	got = omv_b64_decode(json_string_value(data), json_string_length(data), &len);
	if (got == NULL)
		fuzz_fail("'%s' data of %zu characters is not base64", encoding,
			  json_string_length(data));
	want = encoded(f, encoding, &want_len);
	if (want == NULL || len != want_len || memcmp(got, want, len) != 0)
		fuzz_fail("'%s' data of %zu bytes is not the frame's %zu", encoding, len, want_len);
	free(got);
}

static void check_line(const char *line, size_t len, const char *asked, struct frame *f)
{
	int notification;
	json_t *msg = jrc_parse_line(line, len, &notification);
	json_t *params = json_object_get(msg, "params");
	json_t *enc = json_object_get(params, "encoding");
	const char *encoding = json_string_value(enc);
	size_t n;

	if (!notification || strcmp(json_string_value(json_object_get(msg, "method")), "frame") != 0 ||
	    !json_is_object(params))
		fuzz_fail("a %s subscriber got something else than a frame: %.200s", asked, line);
	if (json_integer_value(json_object_get(params, "number")) != (json_int_t)f->number ||
	    json_integer_value(json_object_get(params, "width")) != f->hdr.width ||
	    json_integer_value(json_object_get(params, "height")) != f->hdr.height ||
	    json_integer_value(json_object_get(params, "format")) != f->hdr.pixformat ||
	    json_integer_value(json_object_get(params, "depth")) != f->hdr.size ||
	    !json_is_integer(json_object_get(params, "raw_size")))
		fuzz_fail("the frame line does not describe the frame: %.300s", line);
	if (enc == NULL) {
		/* Only a frame that cannot be given that way comes without data. */
		if (json_object_get(params, "data") != NULL ||
		    (strcmp(asked, "none") != 0 && encoded(f, asked, &n) != NULL))
			fuzz_fail("a %s subscriber got a frame without its data: %.300s", asked, line);
	} else if (encoding == NULL || strcmp(encoding, asked) != 0) {
		fuzz_fail("a %s subscriber got encoding %s", asked, encoding ? encoding : "?");
	} else {
		check_data(params, encoding, f);
	}
	json_decref(msg);
}

static void subscribe(struct fuzz_world *w)
{
	for (size_t i = 0; i < NFORMATS; i++) {
		char req[160];
		size_t len;
		char *reply;

		subscribers[i] = fuzz_connect(w);
		len = (size_t)snprintf(req, sizeof req,
				       "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\","
				       "\"params\":{\"topics\":[\"frame\"],\"frame_format\":\"%s\"}}\n",
				       formats[i]);
		if (write(subscribers[i]->fd, req, len) != (ssize_t)len)
			fuzz_fail("cannot subscribe");
		reply = fuzz_read_line(w, subscribers[i], &len, LINE_MS);
		if (strstr(reply, "\"result\":[\"frame\"]") == NULL)
			fuzz_fail("subscribe answered %s", reply);
		free(reply);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_world *w = fuzz_world_get(false, 1024);
	struct frame *f;

	if (subscribers[0] == NULL)
		subscribe(w);
	f = make_frame(data, size);
	if (f == NULL)
		return 0;
	rpc_server_camera_listener()->frame(w->server, f);
	for (size_t i = 0; i < NFORMATS; i++) {
		size_t len;
		char *line = fuzz_read_line(w, subscribers[i], &len, LINE_MS);

		if (getenv("OMVD_FUZZ_SHOW") != NULL)
			printf("%.300s\n", line);
		check_line(line, len, formats[i], f);
		free(line);
	}
	frame_unref(f);
	return 0;
}
