/*
 * omv-web against omvd and camsim: each case starts its own camsim, omvd
 * and omv-web (on a free port) and talks HTTP to it.
 *
 *   pages      status codes, content types, the token and its cookie,
 *              Host and Origin checks
 *   api        /api/info, /status, /clients
 *   mjpeg      multipart boundaries, valid JPEGs whose barcodes match
 *              X-Frame-Number and increase; streaming withdrawn after
 *   slow       a stalled viewer loses frames, the others do not
 *   snapshot   /snapshot.jpg and .png decode and carry the frame shown
 *   control    exec/stop/reset need the token (also with --public-view);
 *              a script run over HTTP prints on /events
 *   limits     bodies, headers, connection cap, idle timeout, and a
 *              hundred idle connections beside a stream
 *   token      --token-file checks; a made-up token's file is 0600
 *   daemon     omvd goes away and comes back before the cam does
 *   ffprobe    ffprobe reads /stream.mjpg at the cam's size
 *   browser    the page in headless Chromium (browser.js)
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cam_util.h"
#include "harness.h"
#include "http_util.h"
#include "image_read.h"

#define TOKEN "test-token-0123456789abcdef"
#define AUTH "X-OMV-Token: " TOKEN "\r\n"
#define SKIP 77

static int port;
static struct h_proc web, omvd;

/* j["a"]["b"]... (NULL-terminated keys), or NULL. */
static json_t *jpath_(json_t *j, ...)
{
	va_list ap;
	const char *key;

	va_start(ap, j);
	while (j && (key = va_arg(ap, const char *)))
		j = json_object_get(j, key);
	va_end(ap);
	return j;
}
#define JP(j, ...) jpath_(j, __VA_ARGS__, (const char *)NULL)

/* omv-web with a known token (unless the extra args say otherwise);
 * returns once it printed the address it serves. */
static void start_web(const char *const *extra)
{
	const char *argv[32] = { getenv("OMV_WEB"), "--socket", h_path("omvd.sock"), "--listen",
				 "127.0.0.1:0" };
	int argc = 5, fd;
	bool own_token = true;
	char *line;

	CHECKF(argv[0] != NULL, "OMV_WEB is not set");
	for (int i = 0; extra && extra[i]; i++) {
		own_token &= strcmp(extra[i], "--token-file") != 0 && strcmp(extra[i], "-") != 0;
		argv[argc++] = extra[i];
	}
	if (own_token) {
		fd = open(h_path("token"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0 && write(fd, TOKEN "\n", sizeof TOKEN) == sizeof TOKEN);
		close(fd);
		argv[argc++] = "--token-file";
		argv[argc++] = h_path("token");
	} else {
		/* "-" only marked "no token file": drop it. */
		for (int i = 0; i < argc; i++)
			if (strcmp(argv[i], "-") == 0)
				argv[i--] = argv[--argc];
	}
	argv[argc] = NULL;
	web = h_spawn((char *const *)argv, true);
	line = h_read_line(&web, 30000);
	CHECKF(line && sscanf(line, "omv-web: serving http://127.0.0.1:%d/", &port) == 1,
	       "omv-web did not say where it serves: %s", line ? line : "(nothing)");
	free(line);
}

static void start_all_size(const char *const *web_extra, const char *frame_size)
{
	const char *camsim[] = { "--control", h_path("control"), "--fps", "60", "--frame-size",
				 frame_size, NULL };

	h_start_camsim(camsim);
	omvd = h_start_omvd(NULL, true);
	start_web(web_extra);
}

static void start_all(const char *const *web_extra)
{
	start_all_size(web_extra, "320x240");
}

static void stop_web(void)
{
	CHECK(h_stop(&web, SIGTERM, 10000) == 0);
}

static int get(const char *path, const char *headers, unsigned char **body, char **hdrs)
{
	return http_do(port, "GET", path, headers, NULL, 0, body, NULL, hdrs);
}

static int post(const char *path, const char *headers, const char *body, unsigned char **resp)
{
	return http_do(port, "POST", path, headers, body, body ? strlen(body) : 0, resp, NULL,
		       NULL);
}

static json_t *get_json(const char *path, const char *headers, int want_status)
{
	unsigned char *body;
	char *hdrs;
	int status = get(path, headers, &body, &hdrs);
	json_t *j;

	CHECKF(status == want_status, "GET %s: %d, not %d", path, status, want_status);
	CHECKF(strstr(hdrs, "Content-Type: application/json") != NULL, "GET %s: %s", path, hdrs);
	j = json_loads((const char *)body, 0, NULL);
	CHECKF(j != NULL, "GET %s: not JSON: %s", path, body);
	free(body);
	free(hdrs);
	return j;
}

static bool has_header(const char *hdrs, const char *line)
{
	return hdrs && strstr(hdrs, line) != NULL;
}

/* ---- pages -------------------------------------------------------------- */

static void test_pages(void)
{
	unsigned char *body;
	char *hdrs, cookie[128];
	int status;

	start_all(NULL);
	/* Without the token: a page that says how to get in. */
	status = get("/", NULL, &body, &hdrs);
	CHECK(status == 401 && has_header(hdrs, "Content-Type: text/html"));
	CHECK(strstr((char *)body, "token") != NULL);
	free(body);
	free(hdrs);
	CHECK(get("/?token=wrong-token-0123456789", NULL, NULL, NULL) == 403);

	/* The right token: a cookie, and back to / without it in the address. */
	status = get("/?token=" TOKEN, NULL, NULL, &hdrs);
	CHECK(status == 303 && has_header(hdrs, "Location: /\n"));
	snprintf(cookie, sizeof cookie, "Set-Cookie: omv_token_%d=" TOKEN "; Path=/; HttpOnly; "
		 "SameSite=Strict", port);
	CHECKF(has_header(hdrs, cookie), "%s", hdrs);
	free(hdrs);
	snprintf(cookie, sizeof cookie, "Cookie: other=1; omv_token_%d=" TOKEN "\r\n", port);
	status = get("/", cookie, &body, &hdrs);
	CHECK(status == 200 && has_header(hdrs, "Content-Type: text/html; charset=utf-8"));
	CHECK(has_header(hdrs, "Content-Security-Policy: default-src 'self'"));
	CHECK(strstr((char *)body, "<canvas id=\"view\"") != NULL);
	free(body);
	free(hdrs);
	/* A cookie of another instance (another port) is not ours. */
	snprintf(cookie, sizeof cookie, "Cookie: omv_token_%d=" TOKEN "\r\n", port + 1);
	CHECK(get("/", cookie, NULL, NULL) == 401);

	/* The page's own files need nothing. */
	status = get("/page.js", NULL, &body, &hdrs);
	CHECK(status == 200 && has_header(hdrs, "Content-Type: text/javascript"));
	CHECK(strstr((char *)body, "/stream.mjpg") != NULL);
	free(body);
	free(hdrs);
	status = get("/page.css", NULL, NULL, &hdrs);
	CHECK(status == 200 && has_header(hdrs, "Content-Type: text/css"));
	free(hdrs);

	CHECK(get("/nothing-here", AUTH, NULL, NULL) == 404);
	CHECK(get("/stream.mjpg", NULL, NULL, NULL) == 401);
	CHECK(get("/snapshot.jpg", NULL, NULL, NULL) == 401);
	CHECK(get("/events", NULL, NULL, NULL) == 401);
	CHECK(get("/api/status", "Authorization: Bearer wrong\r\n", NULL, NULL) == 401);
	CHECK(get("/api/status", "Authorization: Bearer " TOKEN "\r\n", NULL, NULL) == 200);
	CHECK(get("/api/status?token=" TOKEN, NULL, NULL, NULL) == 200);
	CHECK(post("/snapshot.jpg", AUTH, NULL, NULL) == 405);
	CHECK(http_do(port, "PUT", "/api/status", AUTH, NULL, 0, NULL, NULL, NULL) >= 400);

	/* A page of another site whose name points here (DNS rebinding). */
	CHECK(get("/api/status", AUTH "Host: evil.example:80\r\n", NULL, NULL) == 403);
	CHECK(get("/api/status", AUTH "Host: 127.0.0.1.evil.example\r\n", NULL, NULL) == 403);
	CHECK(get("/api/status", AUTH "Host: localhost\r\n", NULL, NULL) == 200);
	/* A script on another site posting here with the visitor's cookie. */
	CHECK(post("/api/stop", AUTH "Origin: http://evil.example\r\n", "", NULL) == 403);
}

/* ---- api ---------------------------------------------------------------- */

static void test_api(void)
{
	json_t *j, *v;

	start_all(NULL);
	j = get_json("/api/info", AUTH, 200);
	v = json_object_get(json_object_get(j, "version"), "firmware_version");
	CHECKF(json_array_size(v) == 3 && json_integer_value(json_array_get(v, 0)) == 4,
	       "firmware_version");
	CHECK(json_integer_value(json_object_get(json_object_get(j, "system_info"), "usb_vid")) ==
	      0x37C5);
	CHECK(strcmp(cu_str(json_object_get(j, "status"), "link"), "ready") == 0);
	CHECK(json_is_true(JP(j, "web", "omvd_connected")));
	CHECK(json_is_true(JP(j, "web", "control")));
	json_decref(j);

	j = get_json("/api/status", AUTH, 200);
	CHECK(json_is_object(json_object_get(j, "status")));
	CHECK(json_integer_value(JP(j, "web", "mjpeg", "viewers")) == 0);
	json_decref(j);

	/* omv-web is one of omvd's clients, with its subscriptions. */
	j = get_json("/api/clients", AUTH, 200);
	CHECK(json_is_array(j) && json_array_size(j) >= 1);
	v = json_array_get(j, 0);
	CHECK(json_is_integer(json_object_get(v, "id")));
	CHECK(json_is_array(json_object_get(v, "subscriptions")));
	json_decref(j);

	j = get_json("/api/nothing", AUTH, 404);
	CHECK(json_is_string(JP(j, "error", "message")));
	json_decref(j);
	CHECK(get("/api/exec", AUTH, NULL, NULL) == 405);
}

/* ---- mjpeg -------------------------------------------------------------- */

static struct hc *open_stream(int rcvbuf)
{
	struct hc *c = hc_connect(port, rcvbuf);

	CHECK(c != NULL);
	hc_sendf(c, "GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" AUTH "\r\n", port);
	CHECK(hc_response(c, 10000) == 200);
	CHECKF(strcmp(hc_header(c, "Content-Type"), "multipart/x-mixed-replace;boundary=omvframe")
	       == 0, "Content-Type: %s", hc_header(c, "Content-Type"));
	return c;
}

/* A frame as a viewer sees it: omvd's number (X-Frame-Number) and the
 * number camsim drew in the picture (its barcode). camsim counts the
 * frames it made, omvd those it read: both must only grow. */
struct seen {
	uint32_t number, barcode;
};

/* The next part: a valid JPEG of w x h. */
static struct seen next_frame(struct hc *c, int want_w, int want_h)
{
	struct hc_part p;
	struct seen s;
	unsigned char *rgb;
	const char *num;
	int w, h;

	CHECKF(hc_part(c, "omvframe", &p, 10000), "no MJPEG part within 10 s");
	CHECK(strcmp(hc_part_header(&p, "Content-Type"), "image/jpeg") == 0);
	num = hc_part_header(&p, "X-Frame-Number");
	CHECK(num != NULL);
	s.number = (uint32_t)strtoul(num, NULL, 10);
	CHECK(p.len > 2 && p.data[0] == 0xFF && p.data[1] == 0xD8);
	rgb = jpeg_decode(p.data, p.len, &w, &h);
	CHECKF(rgb != NULL, "frame %u does not decode", s.number);
	CHECKF(w == want_w && h == want_h, "frame %u is %dx%d", s.number, w, h);
	s.barcode = cu_barcode(rgb, (unsigned)w, (unsigned)h);
	free(rgb);
	free(p.data);
	return s;
}

/* b came after a. */
static void check_after(struct seen a, struct seen b)
{
	CHECKF(b.number > a.number && b.barcode > a.barcode,
	       "frame %u (barcode %u) after %u (barcode %u)", b.number, b.barcode, a.number,
	       a.barcode);
}

static json_t *status_json(void)
{
	return get_json("/api/status", AUTH, 200);
}

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

/* ---- control ------------------------------------------------------------ */

static struct hc *open_events(void)
{
	struct hc *c = hc_connect(port, 0);

	CHECK(c != NULL);
	hc_sendf(c, "GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" AUTH "\r\n", port);
	CHECK(hc_response(c, 10000) == 200);
	CHECK(strcmp(hc_header(c, "Content-Type"), "text/event-stream") == 0);
	return c;
}

/* The data of the next event of that name whose data contains needle. */
static json_t *next_event(struct hc *c, const char *name, const char *needle, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;
	char line[65536], event[64] = "";

	while (h_now_ms() < deadline) {
		if (!hc_line(c, line, sizeof line, (unsigned)(deadline - h_now_ms())))
			return NULL;
		if (strncmp(line, "event: ", 7) == 0)
			snprintf(event, sizeof event, "%.63s", line + 7);
		else if (strncmp(line, "data: ", 6) == 0 && strcmp(event, name) == 0 &&
			 (!needle || strstr(line, needle)))
			return json_loads(line + 6, 0, NULL);
	}
	return NULL;
}

static bool link_ready(void *arg)
{
	json_t *j = status_json();
	bool ready = strcmp(cu_str(json_object_get(j, "status"), "link"), "ready") == 0;

	json_decref(j);
	return ready;
}

static void test_control(void)
{
	struct hc *ev;
	unsigned char *body;
	json_t *j;

	start_all(NULL);
	ev = open_events();
	j = next_event(ev, "daemon", NULL, 5000);
	CHECK(j && json_is_true(json_object_get(j, "connected")));
	json_decref(j);

	/* Without the token, or with a wrong one: refused, nothing runs. */
	CHECK(post("/api/exec", NULL, "print('no')\n", NULL) == 403);
	CHECK(post("/api/exec", "X-OMV-Token: wrong-token-0123456789\r\n", "print('no')\n", NULL) == 403);
	CHECK(post("/api/stop", NULL, NULL, NULL) == 403);
	CHECK(post("/api/reset", NULL, NULL, NULL) == 403);

	/* With it: the script runs, and its output comes on /events. */
	CHECK(post("/api/exec", AUTH, "print(\"hello from http\")\n", &body) == 200);
	j = json_loads((const char *)body, 0, NULL);
	CHECKF(j && json_object_get(j, "run"), "exec reply: %s", body);
	json_decref(j);
	free(body);
	j = next_event(ev, "stdout", "hello from http", 10000);
	CHECK(j != NULL);
	json_decref(j);

	/* A script that runs until stopped; stop ends it (state on /events). */
	CHECK(post("/api/exec", AUTH, "import time\nwhile True:\n    print(\"tick\")\n"
		   "    time.sleep_ms(20)\n", NULL) == 200);
	j = next_event(ev, "state", "\"script_running\":true", 10000);
	CHECK(j != NULL);
	json_decref(j);
	CHECK(post("/api/stop", AUTH, NULL, &body) == 200);
	CHECKF(strstr((char *)body, "\"ok\":true") != NULL, "%s", body);
	free(body);
	j = next_event(ev, "state", "\"script_running\":false", 10000);
	CHECK(j != NULL);
	json_decref(j);

	/* Bad scripts are refused before omvd sees them. */
	CHECK(post("/api/exec", AUTH, NULL, NULL) == 400);
	CHECK(post("/api/exec", AUTH, "print('\xff\xfe')\n", NULL) == 400);

	/* Reset: the link drops and comes back by itself. */
	CHECK(post("/api/reset", AUTH, NULL, NULL) == 200);
	j = next_event(ev, "link", "\"state\":\"ready\"", 15000);
	CHECK(j != NULL);
	json_decref(j);
	CHECK(h_wait_until(link_ready, NULL, 15000));
	hc_close(ev);

	/* --public-view opens viewing, never control. */
	stop_web();
	{
		const char *extra[] = { "--public-view", NULL };

		start_web(extra);
	}
	j = get_json("/api/status", NULL, 200);
	CHECK(json_is_false(JP(j, "web", "control")) && json_is_true(JP(j, "web", "public_view")));
	json_decref(j);
	CHECK(get("/", NULL, NULL, NULL) == 200);
	CHECK(post("/api/exec", NULL, "print('no')\n", NULL) == 403);
	CHECK(post("/api/stop", NULL, NULL, NULL) == 403);
	CHECK(post("/api/stop", AUTH, NULL, NULL) == 200);
}

/* ---- limits ------------------------------------------------------------- */

static void test_limits(void)
{
	const char *extra[] = { "--timeout", "2", NULL };
	struct hc *idle[100], *partial, *viewer, *keep[4], *extra_conn;
	struct seen n, prev = { 0, 0 };
	size_t big = 200 * 1024;
	char *body = malloc(big + 1), *hdr = malloc(20 * 1024 + 32);
	uint64_t t0;

	start_all(extra);
	/* A body over the limit: refused, not read into memory. */
	memset(body, 'x', big);
	body[big] = '\0';
	CHECK(post("/api/exec", AUTH, body, NULL) == 413);
	/* Headers over the limit. */
	snprintf(hdr, 32, "X-Pad: ");
	memset(hdr + 7, 'y', 20 * 1024);
	strcpy(hdr + 7 + 20 * 1024, "\r\n");
	CHECK(get("/api/status", hdr, NULL, NULL) == 400);
	free(body);
	free(hdr);

	/* A hundred connections that say nothing, one that never finishes
	 * its headers, and a viewer beside them. */
	for (int i = 0; i < 100; i++)
		CHECK((idle[i] = hc_connect(port, 0)) != NULL);
	partial = hc_connect(port, 0);
	hc_sendf(partial, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n");
	viewer = open_stream(0);
	t0 = h_now_ms();
	/* The stream flows at the cam's pace, past the idle timeout: its
	 * reply is not cut as idle, while they are. */
	while (h_now_ms() - t0 < 3000) {
		n = next_frame(viewer, 320, 240);
		check_after(prev, n);
		prev = n;
	}
	for (int i = 0; i < 100; i++) {
		CHECKF(hc_wait_eof(idle[i], 10000), "idle connection %d still open", i);
		hc_close(idle[i]);
	}
	CHECK(hc_wait_eof(partial, 10000));
	hc_close(partial);
	check_after(prev, next_frame(viewer, 320, 240));
	hc_close(viewer);

	/* The cap on connections: one more than allowed is turned away. */
	stop_web();
	{
		const char *cap[] = { "--max-connections", "4", NULL };

		start_web(cap);
	}
	for (int i = 0; i < 4; i++) {
		keep[i] = hc_connect(port, 0);
		hc_sendf(keep[i], "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" AUTH "\r\n");
		CHECK(hc_response(keep[i], 10000) == 200);
		free(hc_body(keep[i], &big, 10000));
	}
	extra_conn = hc_connect(port, 0);
	hc_sendf(extra_conn, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" AUTH "\r\n");
	CHECK(hc_response(extra_conn, 10000) == 503);
	CHECK(hc_wait_eof(extra_conn, 10000));
	hc_close(extra_conn);
	hc_close(keep[0]);
	/* Once one left, there is room again (when the server noticed). */
	for (uint64_t deadline = h_now_ms() + 10000;; ) {
		int status = get("/api/status", AUTH, NULL, NULL);

		if (status == 200)
			break;
		CHECK(status == 503 && h_now_ms() < deadline);
		usleep(20000);
	}
	for (int i = 1; i < 4; i++)
		hc_close(keep[i]);
}

/* ---- token -------------------------------------------------------------- */

/* The exit status of a program that stops on its own within ms. */
static int exit_status(struct h_proc *p, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;
	int status;

	while (waitpid(p->pid, &status, WNOHANG) == 0) {
		CHECKF(h_now_ms() < deadline, "pid %d did not exit in %u ms", (int)p->pid, ms);
		usleep(10000);
	}
	p->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_token(void)
{
	const char *argv[] = { getenv("OMV_WEB"), "--socket", h_path("omvd.sock"), "--listen",
			       "127.0.0.1:0", "--token-file", h_path("loose"), NULL };
	char *line, token[128], path[512], *file;
	struct h_proc p;
	struct stat st;
	size_t len;
	int fd;

	h_start_camsim(NULL);
	omvd = h_start_omvd(NULL, true);

	/* A token file others can read is refused. */
	fd = open(h_path("loose"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, TOKEN "\n", sizeof TOKEN) == sizeof TOKEN);
	close(fd);
	CHECK(chmod(h_path("loose"), 0644) == 0);
	p = h_spawn((char *const *)argv, true);
	CHECK(exit_status(&p, 10000) == 1);
	/* So is a token too short to be one. */
	fd = open(h_path("loose"), O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "short\n", 6) == 6);
	close(fd);
	CHECK(chmod(h_path("loose"), 0600) == 0);
	p = h_spawn((char *const *)argv, true);
	CHECK(exit_status(&p, 10000) == 1);

	/* Made up at start: printed, and in a file only we can read. */
	setenv("XDG_RUNTIME_DIR", h_tmpdir(), 1);
	{
		const char *none[] = { "-", NULL };

		start_web(none);
	}
	line = h_read_line(&web, 5000);
	CHECK(line && sscanf(line, "omv-web: control token written to %511s", path) == 1);
	free(line);
	line = h_read_line(&web, 5000);
	CHECK(line && sscanf(line, "omv-web: open http://127.0.0.1:%*d/?token=%127s", token) == 1);
	free(line);
	CHECK(strlen(token) >= 32);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	file = (char *)file_read(path, &len);
	CHECK(file && len == strlen(token) + 1 && strncmp(file, token, strlen(token)) == 0);
	free(file);
	{
		char hdr[200];

		snprintf(hdr, sizeof hdr, "X-OMV-Token: %s\r\n", token);
		CHECK(get("/api/status", hdr, NULL, NULL) == 200);
		CHECK(get("/api/status", AUTH, NULL, NULL) == 401);
	}
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

/* ---- external programs -------------------------------------------------- */

/* The program's path when it is installed, else NULL. */
static const char *which(const char *name)
{
	static char path[4096];
	const char *dirs = getenv("PATH");

	for (const char *d = dirs ? dirs : "/usr/bin:/bin"; *d;) {
		size_t n = strcspn(d, ":");

		snprintf(path, sizeof path, "%.*s/%s", (int)n, d, name);
		if (access(path, X_OK) == 0)
			return path;
		d += n + (d[n] == ':');
	}
	return NULL;
}

static int test_ffprobe(void)
{
	const char *ffprobe = which("ffprobe");
	char url[256], *line;
	const char *argv[] = { ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
			       "stream=codec_name,width,height", "-of", "default=nw=1", url, NULL };
	bool codec = false, width = false, height = false;
	struct h_proc p;

	if (!ffprobe) {
		printf("SKIP: ffprobe is not installed (apt-get install ffmpeg)\n");
		return SKIP;
	}
	start_all_size(NULL, "640x480");
	snprintf(url, sizeof url, "http://127.0.0.1:%d/stream.mjpg?token=" TOKEN, port);
	argv[0] = ffprobe = strdup(ffprobe);
	p = h_spawn((char *const *)argv, true);
	while ((line = h_read_line(&p, 30000)) != NULL) {
		codec |= strcmp(line, "codec_name=mjpeg") == 0;
		width |= strcmp(line, "width=640") == 0;
		height |= strcmp(line, "height=480") == 0;
		free(line);
	}
	CHECK(exit_status(&p, 30000) == 0);
	CHECKF(codec && width && height, "ffprobe did not see 640x480 MJPEG");
	free((char *)ffprobe);
	return 0;
}

static int test_browser(void)
{
	const char *node = which("node");
	const char *script = getenv("OMV_WEB_BROWSER_JS");
	const char *shots = getenv("OMV_WEB_SCREENSHOTS");
	char url[256], shots_dir[4096];
	const char *argv[] = { NULL, script, url, shots_dir, NULL };
	struct h_proc p;
	int status;

	if (!node) {
		printf("SKIP: node is not installed (apt-get install nodejs)\n");
		return SKIP;
	}
	CHECKF(script != NULL, "OMV_WEB_BROWSER_JS is not set");
	argv[0] = node = strdup(node);
	snprintf(shots_dir, sizeof shots_dir, "%s", shots ? shots : h_path("shots"));
	start_all(NULL);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/?token=" TOKEN, port);
	p = h_spawn((char *const *)argv, false);
	status = exit_status(&p, 100000);
	free((char *)node);
	CHECKF(status == 0 || status == SKIP, "browser test failed (%d)", status);
	return status;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} cases[] = {
		{ "pages", test_pages }, { "api", test_api }, { "mjpeg", test_mjpeg },
		{ "slow", test_slow }, { "snapshot", test_snapshot }, { "control", test_control },
		{ "limits", test_limits }, { "token", test_token }, { "daemon", test_daemon },
	};

	signal(SIGPIPE, SIG_IGN);
	CHECKF(argc == 2, "usage: test_web CASE");
	if (strcmp(argv[1], "ffprobe") == 0)
		return test_ffprobe();
	if (strcmp(argv[1], "browser") == 0)
		return test_browser();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].run();
			if (web.pid > 0)
				stop_web();
			return 0;
		}
	}
	CHECKF(false, "unknown case %s", argv[1]);
}
