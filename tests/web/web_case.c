/* Helpers of the omv-web tests (see web_case.h). */
#include "web_case.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cam_util.h"
#include "image_read.h"

int port;
struct h_proc web, omvd;

json_t *jpath_(json_t *j, ...)
{
	va_list ap;
	const char *key;

	va_start(ap, j);
	while (j && (key = va_arg(ap, const char *)))
		j = json_object_get(j, key);
	va_end(ap);
	return j;
}

void start_web(const char *const *extra)
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

void start_all_size(const char *const *web_extra, const char *frame_size)
{
	const char *camsim[] = { "--control", h_path("control"), "--fps", "60", "--frame-size",
				 frame_size, NULL };

	h_start_camsim(camsim);
	omvd = h_start_omvd(NULL, true);
	start_web(web_extra);
}

void start_all(const char *const *web_extra)
{
	start_all_size(web_extra, "320x240");
}

void stop_web(void)
{
	CHECK(h_stop(&web, SIGTERM, 10000) == 0);
}

int get(const char *path, const char *headers, unsigned char **body, char **hdrs)
{
	return http_do(port, "GET", path, headers, NULL, 0, body, NULL, hdrs);
}

int post(const char *path, const char *headers, const char *body, unsigned char **resp)
{
	return http_do(port, "POST", path, headers, body, body ? strlen(body) : 0, resp, NULL,
		       NULL);
}

json_t *get_json(const char *path, const char *headers, int want_status)
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

bool has_header(const char *hdrs, const char *line)
{
	return hdrs && strstr(hdrs, line) != NULL;
}

json_t *status_json(void)
{
	return get_json("/api/status", AUTH, 200);
}

struct hc *open_stream(int rcvbuf)
{
	struct hc *c = hc_connect(port, rcvbuf);

	CHECK(c != NULL);
	hc_sendf(c, "GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" AUTH "\r\n", port);
	CHECK(hc_response(c, 10000) == 200);
	CHECKF(strcmp(hc_header(c, "Content-Type"), "multipart/x-mixed-replace;boundary=omvframe")
	       == 0, "Content-Type: %s", hc_header(c, "Content-Type"));
	return c;
}

struct seen next_frame(struct hc *c, int want_w, int want_h)
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

void check_after(struct seen a, struct seen b)
{
	CHECKF(b.number > a.number && b.barcode > a.barcode,
	       "frame %u (barcode %u) after %u (barcode %u)", b.number, b.barcode, a.number,
	       a.barcode);
}

struct hc *open_events(void)
{
	struct hc *c = hc_connect(port, 0);

	CHECK(c != NULL);
	hc_sendf(c, "GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" AUTH "\r\n", port);
	CHECK(hc_response(c, 10000) == 200);
	CHECK(strcmp(hc_header(c, "Content-Type"), "text/event-stream") == 0);
	return c;
}

json_t *next_event(struct hc *c, const char *name, const char *needle, unsigned ms)
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

int exit_status(struct h_proc *p, unsigned ms)
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

void web_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(SKIP);
}

int web_case_main(int argc, char **argv, const struct web_case *cases, size_t n)
{
	signal(SIGPIPE, SIG_IGN);
	CHECKF(argc == 2, "usage: %s CASE", argv[0]);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].run();
			if (web.pid > 0)
				stop_web();
			return 0;
		}
	}
	CHECKF(false, "unknown case %s", argv[1]);
}
