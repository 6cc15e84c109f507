/*
 * Frames from omv-web to its viewers, against omvd and camsim:
 *
 *   mjpeg      multipart boundaries, valid JPEGs whose barcodes match
 *              X-Frame-Number and increase; streaming withdrawn after
 *   slow       a stalled viewer loses frames, the others do not
 *   snapshot   /snapshot.jpg and .png decode and carry the frame shown
 *   daemon     omvd goes away and comes back before the cam does
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam_util.h"
#include "image_read.h"
#include "web_case.h"

/* ---- mjpeg -------------------------------------------------------------- */

static bool streaming_off(void *arg)
{
	json_t *j = status_json();
	bool off = json_is_false(JP(j, "status", "shared", "streaming")) &&
		   json_integer_value(JP(j, "web", "frames", "listeners")) == 0;

	json_decref(j);
	return off;
}

static void test_mjpeg(void)
{
	struct hc *c;
	struct seen prev = { 0, 0 };

	start_all(NULL);
	c = open_stream(0);
	for (int i = 0; i < 30; i++) {
		struct seen s = next_frame(c, 320, 240);

		check_after(prev, s);
		prev = s;
	}
	/* The viewer counts while it watches; streaming ends after it left. */
	{
		json_t *j = status_json();

		CHECK(json_integer_value(JP(j, "web", "mjpeg", "viewers")) == 1);
		CHECK(json_is_true(JP(j, "status", "shared", "streaming")));
		json_decref(j);
	}
	hc_close(c);
	CHECKF(h_wait_until(streaming_off, NULL, 15000), "streaming still on after the viewer left");
}

/* ---- slow --------------------------------------------------------------- */

static bool stalled_dropped(void *arg)
{
	json_t *j = status_json();
	bool dropped = json_integer_value(JP(j, "web", "mjpeg", "dropped")) > 0;

	json_decref(j);
	return dropped;
}

static bool no_viewers(void *arg)
{
	json_t *j = status_json();
	bool none = json_integer_value(JP(j, "web", "mjpeg", "viewers")) == 0;

	json_decref(j);
	return none;
}

static json_int_t frames_received(void)
{
	json_t *j = status_json();
	json_int_t n = json_integer_value(JP(j, "web", "frames", "received"));

	json_decref(j);
	return n;
}

static void test_slow(void)
{
	struct hc *stalled, *fast;
	struct seen last;
	json_int_t received;
	uint32_t got = 0;

	start_all(NULL);
	/* One viewer that takes the headers and then nothing more, with a
	 * small receive buffer: it fills up within a few frames. */
	stalled = open_stream(4096);
	fast = open_stream(0);
	last = next_frame(fast, 320, 240);
	received = frames_received();
	/* 200 frames of ~13 KB: far beyond what the stalled viewer's buffers
	 * hold, so it has been losing frames for most of them. */
	while (got < 200) {
		struct seen s = next_frame(fast, 320, 240);

		check_after(last, s);
		last = s;
		got++;
	}
	/* The fast viewer got (nearly) every frame omv-web got meanwhile. */
	received = frames_received() - received;
	CHECKF(got * 10 >= received * 9, "the fast viewer got %u of %lld frames", got,
	       (long long)received);
	CHECKF(h_wait_until(stalled_dropped, NULL, 10000), "the stalled viewer lost no frames");
	hc_close(stalled);
	hc_close(fast);
	CHECKF(h_wait_until(no_viewers, NULL, 15000), "viewers not forgotten after they left");
}

/* ---- snapshot ----------------------------------------------------------- */

static struct seen snapshot(const char *path, bool png)
{
	unsigned char *body, *rgb;
	char *hdrs, disp[80];
	const char *num;
	struct seen s;
	size_t len;
	uint32_t n;
	int w, h;

	CHECK(http_do(port, "GET", path, AUTH, NULL, 0, &body, &len, &hdrs) == 200);
	CHECKF(has_header(hdrs, png ? "Content-Type: image/png" : "Content-Type: image/jpeg"),
	       "%s", hdrs);
	num = strstr(hdrs, "X-Frame-Number: ");
	CHECK(num != NULL);
	n = (uint32_t)strtoul(num + 16, NULL, 10);
	snprintf(disp, sizeof disp, "Content-Disposition: inline; filename=\"frame-%u.%s\"", n,
		 png ? "png" : "jpg");
	CHECKF(has_header(hdrs, disp), "%s", hdrs);
	rgb = png ? png_decode(body, len, &w, &h) : jpeg_decode(body, len, &w, &h);
	CHECKF(rgb != NULL && w == 320 && h == 240, "%s does not decode to 320x240", path);
	s = (struct seen){ n, cu_barcode(rgb, 320, 240) };
	free(rgb);
	free(body);
	free(hdrs);
	return s;
}

static void test_snapshot(void)
{
	struct seen a, b, c;

	start_all(NULL);
	a = snapshot("/snapshot.jpg", false);
	b = snapshot("/snapshot.png", true);
	c = snapshot("/snapshot.jpg", false);
	check_after(a, b);
	check_after(b, c);
	/* Nobody wants frames any more: the stream is withdrawn. */
	CHECKF(h_wait_until(streaming_off, NULL, 15000), "streaming still on after the snapshots");
}

/* ---- daemon ------------------------------------------------------------- */

static void test_daemon(void)
{
	struct hc *ev, *viewer;
	struct seen before;
	json_t *j;

	start_all(NULL);
	ev = open_events();
	viewer = open_stream(0);
	before = next_frame(viewer, 320, 240);
	/* omvd goes away: omv-web says so, and answers 503 meanwhile. */
	CHECK(h_stop(&omvd, SIGTERM, 10000) == 0);
	j = next_event(ev, "daemon", "\"connected\":false", 10000);
	CHECK(j != NULL);
	json_decref(j);
	j = get_json("/api/status", AUTH, 503);
	json_decref(j);
	/* It comes back, before the cam does: omv-web reconnects at once, and
	 * the viewer gets frames again once the cam is there. */
	json_decref(cu_control("unplug 3000"));
	omvd = h_start_omvd(NULL, false);
	j = next_event(ev, "daemon", "\"connected\":true", 15000);
	CHECK(j != NULL);
	json_decref(j);
	/* omvd counts from 1 again; camsim's count goes on. */
	CHECK(next_frame(viewer, 320, 240).barcode > before.barcode);
	j = status_json();
	CHECK(json_is_true(JP(j, "web", "omvd_connected")));
	json_decref(j);
	hc_close(viewer);
	hc_close(ev);
}

int main(int argc, char **argv)
{
	static const struct web_case cases[] = {
		{ "mjpeg", test_mjpeg }, { "slow", test_slow }, { "snapshot", test_snapshot },
		{ "daemon", test_daemon },
	};

	return web_case_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
