/*
 * omv-web's HTTP side against omvd and camsim:
 *
 *   pages      status codes, content types, the token and its cookie,
 *              Host and Origin checks
 *   api        /api/info, /status, /clients
 *   control    exec/stop/reset need the token (also with --public-view);
 *              a script run over HTTP prints on /events
 *   limits     bodies, headers, connection cap, idle timeout, and a
 *              hundred idle connections beside a stream
 *   token      --token-file checks; a made-up token's file is 0600
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cam_util.h"
#include "image_read.h"
#include "web_case.h"

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

/* ---- control ------------------------------------------------------------ */

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

int main(int argc, char **argv)
{
	static const struct web_case cases[] = {
		{ "pages", test_pages }, { "api", test_api }, { "control", test_control },
		{ "limits", test_limits }, { "token", test_token },
	};

	return web_case_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
