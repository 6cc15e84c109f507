/*
 * Frames through omvd, each client in the encoding it asked for, whatever
 * the cam streams and whatever the other clients asked: JPEG from a JPEG
 * cam untouched, JPEG encoded once from a raw cam, RGB888 from either,
 * native bytes as sent; every frame stamped with host time and frame
 * rate; read_frame answered off the loop in the same encodings; the
 * decode limit; a client that leaves while its read_frame is prepared.
 *
 * One case per run (argv[1]), each with its own camsim and omvd.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "cam_util.h"

#define RAW_W 96
#define RAW_H 72
#define WAIT_MS 5000

static double realtime_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void subscribe(struct h_conn *c, const char *format)
{
	json_decref(h_result(c, "subscribe", json_pack("{s:[s], s:s}", "topics", "frame",
						       "frame_format", format)));
}

static void streaming_raw(struct h_conn *c, bool raw)
{
	json_t *p = json_pack("{s:b, s:b}", "enable", 1, "raw", raw);

	if (raw)
		json_object_set_new(p, "resolution", json_pack("[i, i]", RAW_W, RAW_H));
	json_decref(h_result(c, "streaming", p));
}

/* The next frame notification's params (owned), failing after WAIT_MS. */
static json_t *next_frame(struct h_conn *c)
{
	json_t *n = h_next_notification(c, "frame", WAIT_MS), *p;

	CHECKF(n != NULL, "no frame notification");
	p = json_incref(json_object_get(n, "params"));
	json_decref(n);
	return p;
}

/* The next frame in the cam's format fmt (JPEG or not), skipping frames
 * from before a switch. */
static json_t *next_frame_of(struct h_conn *c, bool jpeg)
{
	for (int i = 0; i < 60; i++) {
		json_t *p = next_frame(c);

		if ((cu_int(p, "format") == 0x06060000) == jpeg)
			return p;
		json_decref(p);
	}
	CHECKF(false, "no %s frame", jpeg ? "JPEG" : "raw");
	return NULL;
}

/* The frame numbered n on this connection (frames come in order). */
static json_t *frame_numbered(struct h_conn *c, int64_t n)
{
	for (;;) {
		json_t *p = next_frame(c);

		if (cu_int(p, "number") == n)
			return p;
		CHECKF(cu_int(p, "number") < n, "frame %lld skipped", (long long)n);
		json_decref(p);
	}
}

static uint8_t *jpeg_decode(const uint8_t *jpeg, size_t len, unsigned w, unsigned h)
{
	tjhandle tj = tjInitDecompress();
	int jw, jh, ss, cs;
	uint8_t *rgb = malloc((size_t)w * h * 3);

	CHECK(tj != NULL && rgb != NULL);
	CHECK(tjDecompressHeader3(tj, jpeg, len, &jw, &jh, &ss, &cs) == 0);
	CHECK(jw == (int)w && jh == (int)h);
	CHECK(tjDecompress2(tj, jpeg, len, rgb, (int)w, 0, (int)h, TJPF_RGB, 0) == 0);
	tjDestroy(tj);
	return rgb;
}

/* Metadata every frame carries. */
static void check_metadata(json_t *p, double t0)
{
	double ts = json_number_value(json_object_get(p, "timestamp"));

	CHECK(cu_int(p, "number") > 0);
	CHECK(json_is_real(json_object_get(p, "timestamp")));
	CHECKF(ts >= t0 - 0.001 && ts <= realtime_s() + 0.001, "timestamp %.6f", ts);
	CHECK(json_is_number(json_object_get(p, "fps")));
	CHECK(cu_int(p, "raw_size") > 0);
}

static void check_data(json_t *p, const char *enc, size_t want_len)
{
	size_t len;
	uint8_t *d;

	CHECKF(strcmp(cu_str(p, "encoding"), enc) == 0, "encoding %s, not %s",
	       cu_str(p, "encoding"), enc);
	d = cu_frame_data(p, &len);
	if (want_len > 0)
		CHECKF(len == want_len, "%s: %zu bytes, not %zu", enc, len, want_len);
	if (strcmp(enc, "jpeg") == 0)
		CHECK(len > 2 && d[0] == 0xFF && d[1] == 0xD8);
	free(d);
}

/* Raw frames from the cam (another client asked for raw), and a JPEG, an
 * RGB888, a native and a metadata-only subscriber: each gets its own
 * encoding of the same frames. Then the cam goes back to JPEG. */
static void test_encodings(void)
{
	struct h_conn *rs = cu_connect(), *j = cu_connect(), *g = cu_connect();
	struct h_conn *nat = cu_connect(), *m = cu_connect();
	double t0 = realtime_s();
	json_t *pj, *pg, *pn, *pm;
	uint8_t *rgb, *dec, *jp, *native;
	size_t len, jlen, nlen;
	int64_t n;
	double fps = 0;

	subscribe(j, "jpeg");
	subscribe(g, "rgb888");
	subscribe(nat, "native");
	subscribe(m, "none");
	streaming_raw(rs, true);

	/* the first raw frame every subscriber sees, by number */
	pg = next_frame_of(g, false);
	n = cu_int(pg, "number");
	pj = frame_numbered(j, n);
	pn = frame_numbered(nat, n);
	pm = frame_numbered(m, n);
	CHECK(cu_int(pg, "width") == RAW_W && cu_int(pg, "height") == RAW_H);
	CHECK(cu_int(pg, "format") == 0x0C030002);	/* RGB565 */
	{
		json_t *all[] = { pg, pj, pn, pm };

		for (int i = 0; i < 4; i++) {
			check_metadata(all[i], t0);
			CHECK(cu_int(all[i], "raw_size") == RAW_W * RAW_H * 2);
			CHECK(json_real_value(json_object_get(all[i], "timestamp")) ==
			      json_real_value(json_object_get(pg, "timestamp")));
		}
	}
	check_data(pg, "rgb888", RAW_W * RAW_H * 3);
	check_data(pn, "native", RAW_W * RAW_H * 2);
	check_data(pj, "jpeg", 0);
	CHECK(json_object_get(pm, "data") == NULL && json_object_get(pm, "encoding") == NULL);

	/* the JPEG the daemon made decodes to the RGB888 of the same frame */
	rgb = cu_frame_data(pg, &len);
	jp = cu_frame_data(pj, &jlen);
	dec = jpeg_decode(jp, jlen, RAW_W, RAW_H);
	CHECK(cu_barcode(dec, RAW_W, RAW_H) == cu_barcode(rgb, RAW_W, RAW_H));
	{
		double err = 0;
		for (size_t i = 0; i < len; i++)
			err += abs((int)dec[i] - (int)rgb[i]);
		CHECKF(err / (double)len < 8, "JPEG of the raw frame is off by %.1f", err / len);
	}
	free(dec);
	free(jp);
	/* and the RGB888 is the native RGB565 widened */
	native = cu_frame_data(pn, &nlen);
	for (size_t i = 0; i < (size_t)RAW_W * RAW_H; i++) {
		unsigned v = native[2 * i] | native[2 * i + 1] << 8;
		CHECK(rgb[3 * i] >> 3 == v >> 11);
		CHECK(rgb[3 * i + 1] >> 2 == ((v >> 5) & 0x3F));
		CHECK(rgb[3 * i + 2] >> 3 == (v & 0x1F));
	}
	free(native);
	free(rgb);
	json_decref(pg);
	json_decref(pj);
	json_decref(pn);
	json_decref(pm);

	/* the rate is measured once a few frames came */
	for (int i = 0; i < 20 && fps <= 0; i++) {
		pg = next_frame(g);
		fps = json_number_value(json_object_get(pg, "fps"));
		json_decref(pg);
	}
	CHECK(fps > 0);

	/* back to JPEG from the cam: jpeg is the cam's bytes, untouched */
	streaming_raw(rs, false);
	pj = next_frame_of(j, true);
	n = cu_int(pj, "number");
	pn = frame_numbered(nat, n);
	pg = frame_numbered(g, n);
	check_data(pj, "jpeg", (size_t)cu_int(pj, "depth"));
	CHECK(cu_int(pj, "raw_size") == cu_int(pj, "depth"));
	CHECK(strcmp(cu_str(pj, "data"), cu_str(pn, "data")) == 0);
	check_data(pg, "rgb888", (size_t)(cu_int(pg, "width") * cu_int(pg, "height") * 3));
	jp = cu_frame_data(pj, &jlen);
	rgb = cu_frame_data(pg, &len);
	dec = jpeg_decode(jp, jlen, (unsigned)cu_int(pj, "width"), (unsigned)cu_int(pj, "height"));
	CHECK(memcmp(dec, rgb, len) == 0);
	free(dec);
	free(jp);
	free(rgb);
	json_decref(pj);
	json_decref(pn);
	json_decref(pg);

	h_close(rs);
	h_close(j);
	h_close(g);
	h_close(nat);
	h_close(m);
}

/* read_frame in every encoding, with a raw streamer present: the same
 * shapes as the notifications, built off the loop. */
static void test_read_frame(void)
{
	struct h_conn *rs = cu_connect(), *c = cu_connect();
	static const char *const formats[] = { "jpeg", "rgb888", "native" };
	double t0 = realtime_s();
	int64_t last = 0;
	json_t *f, *r;

	streaming_raw(rs, true);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3; i++) {
			f = cu_wait_frame(c, formats[i], WAIT_MS);
			CHECK(f != NULL);
			if (cu_int(f, "format") == 0x06060000) {	/* from before raw */
				json_decref(f);
				i--;
				continue;
			}
			CHECK(cu_int(f, "number") > last);	/* never the same frame twice */
			last = cu_int(f, "number");
			check_metadata(f, t0);
			check_data(f, formats[i], i == 0 ? 0 : RAW_W * RAW_H * (i == 1 ? 3 : 2));
			json_decref(f);
		}
	}
	/* a batch of read_frame calls: answered in order, each a frame in
	 * its encoding or null (no frame newer than the last one given) */
	h_send_line(c, "[{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"read_frame\","
		       "\"params\":{\"format\":\"rgb888\"}},{\"jsonrpc\":\"2.0\",\"id\":\"b\","
		       "\"method\":\"read_frame\",\"params\":{\"format\":\"native\"}}]");
	r = h_recv(c, WAIT_MS);
	CHECK(r != NULL && json_is_array(r) && json_array_size(r) == 2);
	for (int i = 0; i < 2; i++) {
		json_t *e = json_array_get(r, (size_t)i);

		CHECK(strcmp(cu_str(e, "id"), i == 0 ? "a" : "b") == 0);
		f = json_object_get(e, "result");
		CHECK(f != NULL);
		if (!json_is_null(f))
			check_data(f, i == 0 ? "rgb888" : "native",
				   RAW_W * RAW_H * (i == 0 ? 3 : 2));
	}
	json_decref(r);
	CHECK(h_error_code(c, "read_frame", json_pack("{s:s}", "format", "none")) == -32602);
	CHECK(h_error_code(c, "read_frame", json_pack("{s:s}", "format", "png")) == -32602);
	CHECK(h_error_code(c, "read_frame", json_pack("{s:i}", "shm", 1)) == -32602);
	CHECK(h_error_code(c, "read_frame", json_pack("{s:b}", "raw", 1)) == -32602);
	h_close(rs);
	h_close(c);
}

/* Over the decode limit: the frame comes without data (never in another
 * encoding); the cam's own bytes still pass. */
static void test_limit(void)
{
	struct h_conn *c = cu_connect(), *nat = cu_connect();
	json_t *p;

	subscribe(c, "rgb888");
	subscribe(nat, "native");
	json_decref(h_result(c, "streaming", json_pack("{s:b}", "enable", 1)));
	p = next_frame(c);
	CHECK(cu_int(p, "width") == 320 && cu_int(p, "number") > 0);
	CHECK(json_object_get(p, "data") == NULL && json_object_get(p, "encoding") == NULL);
	json_decref(p);
	p = next_frame(nat);
	check_data(p, "native", (size_t)cu_int(p, "depth"));
	json_decref(p);
	p = cu_wait_frame(c, "rgb888", WAIT_MS);
	CHECK(p != NULL && json_object_get(p, "data") == NULL);
	json_decref(p);
	h_close(c);
	h_close(nat);
}

/* Clients that leave while their read_frame is being prepared: nothing
 * is answered to a dead client, and the others are served. */
static void test_leave(void)
{
	struct h_conn *rs = cu_connect(), *c;
	json_t *f;

	streaming_raw(rs, true);
	f = cu_wait_frame(rs, "native", WAIT_MS);
	CHECK(f != NULL);
	json_decref(f);
	for (int i = 0; i < 30; i++) {
		c = cu_connect();
		h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"read_frame\","
			       "\"params\":{\"format\":\"jpeg\"}}");
		h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"read_frame\","
			       "\"params\":{\"format\":\"rgb888\"}}");
		h_close(c);
	}
	f = cu_wait_frame(rs, "rgb888", WAIT_MS);
	CHECK(f != NULL);
	check_data(f, "rgb888", 0);
	json_decref(f);
	h_close(rs);
}

int main(int argc, char **argv)
{
	const char *sim_args[] = { "--fps", "15", NULL };
	const char *limit_args[] = { "--max-frame-pixels", "1000", NULL };
	const char *name = argc > 1 ? argv[1] : "";
	struct h_proc sim, omvd;

	sim = h_start_camsim(sim_args);
	omvd = h_start_omvd(strcmp(name, "limit") == 0 ? limit_args : NULL, true);
	if (strcmp(name, "encodings") == 0)
		test_encodings();
	else if (strcmp(name, "read_frame") == 0)
		test_read_frame();
	else if (strcmp(name, "limit") == 0)
		test_limit();
	else if (strcmp(name, "leave") == 0)
		test_leave();
	else
		CHECKF(false, "unknown case '%s'", name);
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	h_stop(&sim, SIGTERM, 5000);
	return 0;
}
