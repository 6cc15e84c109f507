/*
 * End-to-end tests of omvctl and libomvclient against omvd and camsim
 * started by the harness. Usage: test_client_e2e CASE
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "image_read.h"
#include "omvclient.h"

struct run {
	int status;		/* exit status, or -1 when killed at the deadline */
	char *out, *err;	/* NUL-terminated */
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Run omvctl with args (NULL-terminated), on socket (NULL: no --socket),
 * collecting stdout and stderr, killed after timeout_ms. */
static struct run omvctl(const char *socket, const char *const *args, unsigned timeout_ms)
{
	const char *prog = getenv("OMVCTL");
	const char *argv[32];
	int out[2], err[2], n = 0, open_fds = 2, status;
	struct run r = { .status = -1, .out = calloc(1, 1), .err = calloc(1, 1) };
	size_t out_len = 0, err_len = 0;
	uint64_t deadline = h_now_ms() + timeout_ms;
	pid_t pid;

	CHECKF(prog != NULL, "OMVCTL is not set");
	argv[n++] = prog;
	if (socket) {
		argv[n++] = "--socket";
		argv[n++] = socket;
	}
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	CHECK(pipe(out) == 0 && pipe(err) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		unsetenv("OMVD_SOCKET");
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	while (open_fds > 0) {
		struct pollfd pfd[2] = { { .fd = out[0], .events = POLLIN },
					 { .fd = err[0], .events = POLLIN } };
		uint64_t now = h_now_ms();
		char buf[4096];

		if (now >= deadline)
			break;
		if (poll(pfd, 2, (int)(deadline - now)) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			ssize_t got;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			got = read(pfd[i].fd, buf, sizeof buf);
			if (got > 0) {
				if (i == 0)
					append(&r.out, &out_len, buf, (size_t)got);
				else
					append(&r.err, &err_len, buf, (size_t)got);
			} else {
				close(pfd[i].fd);
				if (i == 0)
					out[0] = -1;
				else
					err[0] = -1;
				open_fds--;
			}
		}
	}
	if (open_fds > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (out[0] >= 0)
			close(out[0]);
		if (err[0] >= 0)
			close(err[0]);
		return r;
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return r;
}

static const char *start_cam_and_daemon(void)
{
	h_start_camsim(NULL);
	h_start_omvd(NULL, true);
	return h_path("omvd.sock");
}

/* ---- omvctl ------------------------------------------------------------------- */

static void test_info(void)
{
	const char *sock = start_cam_and_daemon();
	struct h_conn *c = h_connect(sock);
	json_t *ver = h_result(c, "version", NULL);
	json_t *chans = h_result(c, "channel_list", NULL), *ch;
	json_t *fw = json_object_get(ver, "firmware_version");
	char version[64];
	struct run r;
	const char *key;

	snprintf(version, sizeof version, "%lld.%lld.%lld",
		 json_integer_value(json_array_get(fw, 0)),
		 json_integer_value(json_array_get(fw, 1)),
		 json_integer_value(json_array_get(fw, 2)));
	r = omvctl(sock, (const char *const[]){ "info", NULL }, 10000);
	CHECKF(r.status == 0, "status %d, stderr: %s", r.status, r.err);
	CHECKF(strstr(r.out, version) != NULL, "no firmware version %s in:\n%s", version, r.out);
	CHECK(strstr(r.out, "37c5:") != NULL);
	CHECK(json_object_size(chans) >= 3);
	json_object_foreach(chans, key, ch) {
		const char *name = json_string_value(json_object_get(ch, "name"));

		CHECKF(strstr(r.out, name) != NULL, "channel %s missing from:\n%s", name, r.out);
	}
	run_free(&r);

	/* --json: one object with the same facts. */
	r = omvctl(sock, (const char *const[]){ "--json", "info", NULL }, 10000);
	CHECK(r.status == 0);
	json_t *j = json_loads(r.out, 0, NULL);
	CHECKF(j != NULL, "not JSON: %s", r.out);
	CHECK(json_equal(json_object_get(json_object_get(j, "version"), "firmware_version"), fw));
	CHECK(json_array_size(json_object_get(j, "channels")) == json_array_size(chans));
	json_decref(j);
	run_free(&r);

	r = omvctl(sock, (const char *const[]){ "status", NULL }, 10000);
	CHECK(r.status == 0 && strstr(r.out, "ready") != NULL);
	run_free(&r);
	r = omvctl(sock, (const char *const[]){ "--json", "call", "has_channel",
						"{\"name\":\"stdout\"}", NULL }, 10000);
	CHECKF(r.status == 0 && strcmp(r.out, "true\n") == 0, "%s%s", r.out, r.err);
	run_free(&r);
	json_decref(ver);
	json_decref(chans);
	h_close(c);
}

static void test_exec(void)
{
	const char *sock = start_cam_and_daemon();
	const char *script = h_path("hello.py");
	FILE *f = fopen(script, "w");
	struct run r;

	CHECK(f != NULL);
	fputs("import time\nprint(\"hello from the cam\")\nprint(\"second line\")\n", f);
	CHECK(fclose(f) == 0);
	r = omvctl(sock, (const char *const[]){ "exec", "--follow", script, NULL }, 15000);
	CHECKF(r.status == 0, "status %d, stderr: %s", r.status, r.err);
	CHECKF(strstr(r.out, "hello from the cam\nsecond line\n") != NULL, "output:\n%s", r.out);
	run_free(&r);
	r = omvctl(sock, (const char *const[]){ "exec", h_path("missing.py"), NULL }, 10000);
	CHECK(r.status == 1 && strstr(r.err, "omvctl: cannot read ") == r.err);
	run_free(&r);
}

static void check_image(const char *path, unsigned char *(*reader)(const char *, int *, int *))
{
	int w, h;
	unsigned char *rgb = reader(path, &w, &h);
	uint32_t number;

	CHECKF(rgb != NULL, "%s does not decode", path);
	CHECKF(w == 320 && h == 240, "%s is %dx%d", path, w, h);
	number = barcode_read(rgb, w, h);
	CHECKF(number > 0 && number < 1000000, "%s: barcode reads %u", path, number);
	free(rgb);
}

static void test_snapshot(void)
{
	const char *sock = start_cam_and_daemon();
	static const char *const names[] = { "shot.ppm", "shot.png", "shot.jpg" };
	unsigned char *(*const readers[])(const char *, int *, int *) = { ppm_read, png_read,
									  jpeg_read };
	struct h_conn *c = h_connect(sock);
	json_t *st;

	for (int i = 0; i < 3; i++) {
		const char *path = h_path(names[i]);
		struct run r = omvctl(sock, (const char *const[]){ "snapshot", "-o", path, NULL },
				      15000);

		CHECKF(r.status == 0, "%s: status %d, stderr: %s", names[i], r.status, r.err);
		check_image(path, readers[i]);
		run_free(&r);
	}
	/* The JPEG is the cam's own bytes. */
	{
		size_t len;
		unsigned char *jpg = file_read(h_path("shot.jpg"), &len);

		CHECK(jpg && len > 4 && jpg[0] == 0xFF && jpg[1] == 0xD8);
		CHECK(jpg[len - 2] == 0xFF && jpg[len - 1] == 0xD9);
		free(jpg);
	}
	/* Streaming was off before, so it is off again after. */
	st = h_result(c, "status", NULL);
	CHECK(json_is_false(json_object_get(json_object_get(st, "shared"), "streaming")));
	json_decref(st);
	h_close(c);

	struct run r = omvctl(sock, (const char *const[]){ "snapshot", "-o", "x.gif", NULL }, 5000);
	CHECK(r.status == 2 && strstr(r.err, ".ppm") != NULL);
	run_free(&r);
}

/* Raw frames (another client streams raw RGB565): the .jpg is encoded
 * here, and streaming stays as that client set it. */
static void test_snapshot_raw(void)
{
	const char *sock = start_cam_and_daemon();
	const char *path = h_path("raw.jpg");
	struct h_conn *c = h_connect(sock);
	struct run r;
	json_t *st, *shared;

	json_decref(h_result(c, "streaming", json_pack("{s:b,s:b,s:[i,i]}", "enable", 1, "raw", 1,
						     "resolution", 320, 240)));
	r = omvctl(sock, (const char *const[]){ "snapshot", "-o", path, NULL }, 15000);
	CHECKF(r.status == 0, "status %d, stderr: %s", r.status, r.err);
	run_free(&r);
	check_image(path, jpeg_read);
	st = h_result(c, "status", NULL);
	shared = json_object_get(st, "shared");
	CHECK(json_is_true(json_object_get(shared, "streaming")));
	CHECK(json_is_true(json_object_get(shared, "raw")));
	json_decref(st);
	h_close(c);
}

static void test_stream(void)
{
	const char *sock = start_cam_and_daemon();
	struct run r = omvctl(sock, (const char *const[]){ "--json", "stream", "--count", "5",
							   NULL }, 15000);
	json_t *j;

	CHECKF(r.status == 0, "status %d, stderr: %s", r.status, r.err);
	j = json_loads(r.out, 0, NULL);
	CHECKF(j != NULL, "not JSON: %s", r.out);
	CHECK(json_integer_value(json_object_get(j, "frames")) == 5);
	CHECK(json_integer_value(json_object_get(j, "last")) ==
	      json_integer_value(json_object_get(j, "first")) + 4);
	CHECK(json_real_value(json_object_get(j, "fps")) > 0);
	json_decref(j);
	run_free(&r);
}

static void test_no_daemon(void)
{
	const char *sock = h_path("nothing.sock");
	char expect[256];
	struct run r = omvctl(sock, (const char *const[]){ "status", NULL }, 5000);

	snprintf(expect, sizeof expect, "omvctl: cannot connect to %s: No such file or directory\n"
		 "omvctl: is omvd running? (--socket PATH, OMVD_SOCKET; omvctl list)\n", sock);
	CHECK(r.status == 3);
	CHECKF(strcmp(r.err, expect) == 0, "stderr: %s", r.err);
	CHECK(r.out[0] == '\0');
	run_free(&r);

	r = omvctl(sock, (const char *const[]){ "bogus", NULL }, 5000);
	CHECK(r.status == 2 && strstr(r.err, "unknown command") != NULL);
	run_free(&r);
	/* Help needs no daemon, for every command. */
	static const char *const commands[] = { "status", "info", "exec", "stop", "stdout",
		"snapshot", "stream", "channels", "channel", "events", "stats", "profile",
		"reset", "boot", "call", "wait" };
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		r = omvctl(sock, (const char *const[]){ commands[i], "--help", NULL }, 5000);
		CHECKF(r.status == 0 && strstr(r.out, "usage: omvctl") != NULL &&
		       strstr(r.out, commands[i]) != NULL, "%s --help: %s", commands[i], r.out);
		run_free(&r);
	}
	r = omvctl(sock, (const char *const[]){ "--help", NULL }, 5000);
	CHECK(r.status == 0 && strstr(r.out, "snapshot -o FILE") != NULL);
	run_free(&r);
	r = omvctl(sock, (const char *const[]){ "status", "extra", NULL }, 5000);
	CHECK(r.status == 2 && strstr(r.err, "unexpected argument 'extra'") != NULL);
	run_free(&r);

	/* omvd runs, but there is no cam on its port. */
	h_start_omvd(NULL, false);
	r = omvctl(h_path("omvd.sock"), (const char *const[]){ "info", NULL }, 10000);
	CHECK(r.status == 1);
	CHECKF(strcmp(r.err, "omvctl: cam not connected\n") == 0, "stderr: %s", r.err);
	run_free(&r);
}

/* omvctl wait: fails while there is no cam, returns once it appears. */
static void test_wait(void)
{
	const char *sock;
	struct run r;

	h_start_omvd(NULL, false);
	sock = h_path("omvd.sock");
	r = omvctl(sock, (const char *const[]){ "wait", "--timeout", "0.3", NULL }, 10000);
	CHECK(r.status == 1);
	CHECKF(strcmp(r.err, "omvctl: cam not connected after 0.3 s\n") == 0, "stderr: %s", r.err);
	run_free(&r);

	h_start_camsim(NULL);
	r = omvctl(sock, (const char *const[]){ "wait", "--timeout", "20", NULL }, 30000);
	CHECKF(r.status == 0, "wait: status %d, stderr: %s", r.status, r.err);
	run_free(&r);
	r = omvctl(sock, (const char *const[]){ "call", "is_connected", NULL }, 10000);
	CHECK(r.status == 0 && strcmp(r.out, "true\n") == 0);
	run_free(&r);
}

/* A client of omvd (other than caller) subscribed to topic. */
struct sub_wait {
	struct h_conn *c;
	const char *topic;
};

static bool someone_subscribed(void *arg)
{
	struct sub_wait *w = arg;
	json_t *clients = h_result(w->c, "clients", NULL), *cl, *t;
	size_t i, k;
	bool found = false;

	json_array_foreach(clients, i, cl)
		json_array_foreach(json_object_get(cl, "subscriptions"), k, t)
			found = found || strcmp(json_string_value(t), w->topic) == 0;
	json_decref(clients);
	return found;
}

static void test_events(void)
{
	const char *sock = start_cam_and_daemon();
	const char *prog = getenv("OMVCTL");
	char *argv[] = { (char *)prog, "--socket", (char *)sock, "events", "--count", "2", NULL };
	struct h_conn *c = h_connect(sock);
	struct sub_wait w = { c, "event" };
	struct h_proc p = h_spawn(argv, true);
	char *line;
	int seen = 0;

	CHECKF(h_wait_until(someone_subscribed, &w, 10000), "omvctl events did not subscribe");
	json_decref(h_result(c, "exec", json_pack("{s:s}", "script", "print(1)\n")));
	/* The script starts before anything else can happen: the cam's stdin
	 * event 1 and the state of run 1, in the order they come. */
	for (int i = 0; i < 2; i++) {
		line = h_read_line(&p, 10000);
		CHECK(line != NULL);
		if (strstr(line, "  event  stdin(1)") && strstr(line, "script started"))
			seen |= 1;
		else if (strstr(line, "  state ") && strstr(line, "script_running=true run=1"))
			seen |= 2;
		else
			CHECKF(false, "line: %s", line);
		free(line);
	}
	CHECK(seen == 3);
	CHECK(h_stop(&p, 0, 10000) == 0);	/* --count 2: it ended by itself */
	h_close(c);
}

/* stdout --follow prints what scripts print and ends cleanly on Ctrl-C. */
static void test_follow(void)
{
	const char *sock = start_cam_and_daemon();
	const char *prog = getenv("OMVCTL");
	char *argv[] = { (char *)prog, "--socket", (char *)sock, "stdout", "--follow", NULL };
	struct h_conn *c = h_connect(sock);
	struct sub_wait w = { c, "stdout" };
	struct h_proc p = h_spawn(argv, true);
	char *line;
	int status;

	CHECKF(h_wait_until(someone_subscribed, &w, 10000), "omvctl stdout did not subscribe");
	json_decref(h_result(c, "exec", json_pack("{s:s}", "script", "print(\"followed\")\n")));
	line = h_read_line(&p, 10000);
	CHECKF(line && strcmp(line, "followed") == 0, "line: %s", line ? line : "(none)");
	free(line);
	status = h_stop(&p, SIGINT, 10000);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d", status);
	h_close(c);
}

static void test_channel(void)
{
	const char *sock = start_cam_and_daemon();
	struct h_conn *c = h_connect(sock);
	json_t *has;
	uint64_t deadline = h_now_ms() + 10000;
	struct run r;

	json_decref(h_result(c, "exec", json_pack("{s:s}", "script",
		"import protocol, time\n"
		"ch = protocol.register(name=\"mailbox\", backend=Box())\n"
		"while True:\n"
		"    time.sleep_ms(50)\n")));
	do {
		has = h_result(c, "has_channel", json_pack("{s:s}", "name", "mailbox"));
		if (json_is_true(has))
			break;
		json_decref(has);
		has = NULL;
		h_recv(c, 20);	/* paces the polling; notifications are not expected */
	} while (h_now_ms() < deadline);
	CHECKF(has != NULL, "the script's channel never appeared");
	json_decref(has);

	r = omvctl(sock, (const char *const[]){ "channel", "write", "mailbox", "hello cam", NULL },
		   10000);
	CHECKF(r.status == 0, "status %d, stderr: %s", r.status, r.err);
	run_free(&r);
	r = omvctl(sock, (const char *const[]){ "channel", "read", "mailbox", "--size", "5", NULL },
		   10000);
	CHECKF(r.status == 0 && strcmp(r.out, "hello") == 0, "status %d, out '%s', err %s",
	       r.status, r.out, r.err);
	run_free(&r);
	r = omvctl(sock, (const char *const[]){ "channels", NULL }, 10000);
	CHECK(r.status == 0 && strstr(r.out, "mailbox") != NULL);
	run_free(&r);
	r = omvctl(sock, (const char *const[]){ "channel", "read", "nothing-here", NULL }, 10000);
	CHECKF(r.status == 1 && strstr(r.err, "nothing-here") != NULL, "err: %s", r.err);
	run_free(&r);
	r = omvctl(sock, (const char *const[]){ "stop", NULL }, 10000);
	CHECK(r.status == 0);
	run_free(&r);
	h_close(c);
}

/* ---- the library against the real daemon ---------------------------------------- */

static void test_lib(void)
{
	const char *sock = start_cam_and_daemon();
	omv_client *c = omv_client_new();
	omv_system_info si;
	omv_version v;
	omv_status st;
	omv_channel *chans;
	omv_frame *f = NULL;
	size_t n;
	bool has;
	int id;
	char *name;

	CHECK(omv_client_connect(c, sock) == 0);
	CHECK(omv_client_status(c, &st) == 0 && strcmp(st.link, "ready") == 0);
	CHECK(st.clients >= 1);
	CHECK(omv_client_version(c, &v) == 0 && v.protocol[0] == 2);
	CHECK(omv_client_system_info(c, &si) == 0 && si.usb_vid == 0x37C5);
	CHECK(omv_client_channel_list(c, &chans, &n) == 0 && n >= 3);
	free(chans);
	CHECK(omv_client_has_channel(c, "stream", &has) == 0 && has);
	CHECK(omv_client_get_channel_id(c, "stream", &id) == 0 && id > 0);
	CHECK(omv_client_get_channel_name(c, id, &name) == 0 && strcmp(name, "stream") == 0);
	free(name);
	CHECK(omv_client_get_channel_id(c, "no-such", &id) == 0 && id == -1);
	{
		omv_caps caps;
		json_t *list;
		size_t size;
		int stdout_id;

		CHECK(omv_client_get_channel_id(c, "stdout", &stdout_id) == 0 && stdout_id > 0);
		CHECK(omv_client_channel_size_id(c, stdout_id, &size) == 0);
		CHECK(omv_client_update_capabilities(c, &caps) == 0 && caps.max_payload > 0);
		CHECK(omv_client_clients(c, &list) == 0 && json_array_size(list) >= 1);
		json_decref(list);
		CHECK(omv_client_poll_events(c, &list) == 0 && json_is_array(list));
		json_decref(list);
		CHECK(omv_client_update_channels(c) == 0);
		/* camsim has no profile channel: these do nothing, successfully. */
		CHECK(omv_client_profiler_mode(c, true) == 0);
		CHECK(omv_client_profiler_reset(c) == 0);
		CHECK(omv_client_read_profile(c, &list) == 0 && json_is_null(list));
		json_decref(list);
	}
	CHECK(omv_client_call(c, "no_such_method", NULL, NULL) == OMV_RPC_METHOD_NOT_FOUND);
	CHECK(omv_client_read_frame(c, "bogus", &f) == OMV_RPC_INVALID_PARAMS);

	/* read_frame polling after enabling streaming. */
	CHECKF(omv_client_streaming(c, true, false, 0, 0) == 0, "%s", omv_client_error_message(c));
	for (uint64_t deadline = h_now_ms() + 10000; !f && h_now_ms() < deadline;) {
		CHECK(omv_client_read_frame(c, "rgb888", &f) == 0);
		if (!f)
			omv_client_wait(c, 20);	/* nothing to dispatch; paces the polling */
	}
	CHECK(f != NULL);
	CHECK(f->width == 320 && f->height == 240 && f->len == 320 * 240 * 3);
	CHECK(barcode_read(f->data, f->width, f->height) > 0);
	omv_frame_free(f);
	CHECK(omv_client_streaming(c, false, false, 0, 0) == 0);
	omv_client_free(c);
}

/* ---- 8 subscribers see the same frames, in order --------------------------------- */

#define N_CLIENTS 8
#define N_FRAMES 20

struct sub {
	uint64_t numbers[N_FRAMES];
	size_t lens[N_FRAMES];
	int count;
};

static void on_frame(omv_client *c, const omv_frame *f, void *arg)
{
	struct sub *s = arg;

	if (s->count < N_FRAMES) {
		s->numbers[s->count] = f->number;
		s->lens[s->count] = f->len;
		s->count++;
	}
}

static void test_subscribers(void)
{
	static const char *const topics[] = { "frame", NULL };
	const char *sock = start_cam_and_daemon();
	omv_client *c[N_CLIENTS];
	struct sub subs[N_CLIENTS];
	uint64_t deadline, from = 0, to = UINT64_MAX;
	bool all;

	memset(subs, 0, sizeof subs);
	for (int i = 0; i < N_CLIENTS; i++) {
		c[i] = omv_client_new();
		CHECK(omv_client_connect(c[i], sock) == 0);
		omv_client_on_frame(c[i], on_frame, &subs[i]);
		CHECK(omv_client_subscribe(c[i], topics, "jpeg") == 0);
	}
	CHECKF(omv_client_streaming(c[0], true, false, 0, 0) == 0, "%s", omv_client_error_message(c[0]));
	deadline = h_now_ms() + 20000;
	do {
		struct pollfd pfd[N_CLIENTS];

		for (int i = 0; i < N_CLIENTS; i++)
			pfd[i] = (struct pollfd){ .fd = omv_client_fd(c[i]), .events = POLLIN };
		CHECK(poll(pfd, N_CLIENTS, 1000) >= 0);
		all = true;
		for (int i = 0; i < N_CLIENTS; i++) {
			if (pfd[i].revents)
				CHECKF(omv_client_process(c[i]) == 0, "client %d: %s", i,
				       omv_client_error_message(c[i]));
			all = all && subs[i].count == N_FRAMES;
		}
	} while (!all && h_now_ms() < deadline);
	CHECK(all);
	/* Each saw consecutive numbers; on the span all saw, the same frames. */
	for (int i = 0; i < N_CLIENTS; i++) {
		for (int k = 1; k < N_FRAMES; k++)
			CHECKF(subs[i].numbers[k] == subs[i].numbers[k - 1] + 1,
			       "client %d: frame %llu after %llu", i,
			       (unsigned long long)subs[i].numbers[k],
			       (unsigned long long)subs[i].numbers[k - 1]);
		if (subs[i].numbers[0] > from)
			from = subs[i].numbers[0];
		if (subs[i].numbers[N_FRAMES - 1] < to)
			to = subs[i].numbers[N_FRAMES - 1];
	}
	CHECKF(to >= from + N_FRAMES / 2, "little overlap: %llu..%llu",
	       (unsigned long long)from, (unsigned long long)to);
	for (uint64_t num = from; num <= to; num++) {
		size_t len0 = subs[0].lens[num - subs[0].numbers[0]];

		CHECK(len0 > 0);
		for (int i = 1; i < N_CLIENTS; i++)
			CHECK(subs[i].lens[num - subs[i].numbers[0]] == len0);
	}
	for (int i = 0; i < N_CLIENTS; i++)
		omv_client_free(c[i]);
}

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "info", test_info },
	{ "exec", test_exec },
	{ "snapshot", test_snapshot },
	{ "snapshot-raw", test_snapshot_raw },
	{ "stream", test_stream },
	{ "no-daemon", test_no_daemon },
	{ "events", test_events },
	{ "channel", test_channel },
	{ "follow", test_follow },
	{ "lib", test_lib },
	{ "subscribers", test_subscribers },
	{ "wait", test_wait },
};

int main(int argc, char **argv)
{
	CHECKF(argc == 2, "usage: %s CASE", argv[0]);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].run();
			return 0;
		}
	}
	fprintf(stderr, "unknown case %s\n", argv[1]);
	return 2;
}
