/*
 * The camera against omv-camsim (path in argv[1]), the emulated cam on a
 * pty: handshake and cached values, a script's stdout, exec across the
 * soft reboot, streamed frames with consecutive numbers that decode,
 * recovery under link faults, and a cam reboot (unplug + replug).
 * argv[2] names the scenario.
 */
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/camera.h"
#include "daemon/frame.h"
#include "daemon/frame_codec.h"
#include "daemon/log.h"
#include "protocol/packet.h"
#include "testutil.h"

#define WAIT_MS 5000

static const char *camsim_path;

struct t {
	struct event_base *base;
	struct camera *cam;
	pid_t sim;
	char link[512];
	char out[65536];
	size_t out_len;
	uint64_t frames[512];
	int nframes;
	int bad_raw;		/* raw frames whose length is not header + pixels */
	int closed, ready;
	struct frame *first;
};

static void on_link(void *ctx, enum link_state st, const char *reason)
{
	struct t *t = ctx;

	if (st == LINK_CLOSED)
		t->closed++;
	if (st == LINK_READY)
		t->ready++;
}

static void on_stdout(void *ctx, const char *text, size_t len)
{
	struct t *t = ctx;

	if (t->out_len + len >= sizeof t->out)
		return;
	memcpy(t->out + t->out_len, text, len);
	t->out_len += len;
	t->out[t->out_len] = '\0';
}

static void on_frame(void *ctx, struct frame *f)
{
	struct t *t = ctx;

	if (t->nframes < 512)
		t->frames[t->nframes++] = f->number;
	if (f->hdr.pixformat == OMV_PIXFMT_RGB565 &&
	    f->len != f->hdr.offset + (size_t)f->hdr.width * f->hdr.height * 2)
		t->bad_raw++;
	if (t->first == NULL)
		t->first = frame_ref(f);
}

static const struct camera_listener listener = {
	.link_changed = on_link, .stdout_data = on_stdout, .frame = on_frame,
};

/* Start camsim with its link at t->link and wait for its first line. */
static void start_sim(struct t *t, const char *const *extra)
{
	const char *argv[32];
	int n = 0, fds[2];
	char line[256];
	size_t got = 0;
	uint64_t deadline = tu_now_ms() + WAIT_MS;

	argv[n++] = camsim_path;
	argv[n++] = "--link";
	argv[n++] = t->link;
	while (extra != NULL && *extra != NULL && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	CHECK(pipe(fds) == 0);
	t->sim = fork();
	CHECK(t->sim >= 0);
	if (t->sim == 0) {
		/* Dies with the test, also when a check aborts it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	while (got < sizeof line - 1 && tu_now_ms() < deadline) {
		struct pollfd p = { fds[0], POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, (int)(deadline - tu_now_ms())) <= 0)
			continue;
		r = read(fds[0], line + got, 1);
		if (r <= 0)
			break;
		if (line[got] == '\n')
			break;
		got++;
	}
	close(fds[0]);	/* later lines (replugs) are of no interest */
	line[got] = '\0';
	CHECK(strncmp(line, "/dev/", 5) == 0);
}

static void stop_sim(struct t *t)
{
	int status;

	kill(t->sim, SIGTERM);
	waitpid(t->sim, &status, 0);
}

static bool is_ready(void *arg)
{
	return camera_state(((struct t *)arg)->cam) == LINK_READY;
}

static void setup(struct t *t, const char *const *extra)
{
	struct camera_options o;

	memset(t, 0, sizeof *t);
	signal(SIGPIPE, SIG_IGN);
	t->base = event_base_new();
	snprintf(t->link, sizeof t->link, "%s/cam", tu_tmpdir());
	start_sim(t, extra);
	camera_options_default(&o);
	o.port = t->link;
	o.timeout_ms = 300;
	t->cam = camera_new(t->base, &o, &listener, t);
	CHECK(t->cam != NULL);
	CHECK(tu_run_until(t->base, is_ready, t, WAIT_MS));
}

static void teardown(struct t *t)
{
	if (t->first != NULL)
		frame_unref(t->first);
	camera_free(t->cam);
	stop_sim(t);
	event_base_free(t->base);
	tu_cleanup();
}

struct call {
	bool called;
	int err;
	size_t len;
	uint8_t data[64];
};

static void done_cb(void *arg, const struct cam_reply *r)
{
	struct call *c = arg;

	c->called = true;
	c->err = r->err;
	c->len = r->len;
	if (r->len > 0)
		memcpy(c->data, r->data, r->len < sizeof c->data ? r->len : sizeof c->data);
}

static bool call_done(void *arg)
{
	return ((struct call *)arg)->called;
}

static bool out_has(struct t *t, const char *s)
{
	return strstr(t->out, s) != NULL;
}

static bool has_hello(void *arg)
{
	return out_has(arg, "hello from camsim\n");
}

static bool has_second(void *arg)
{
	return out_has(arg, "second script\n");
}

static void scenario_basic(void)
{
	struct t t;
	struct call c[2];
	struct cam_owner *o;
	const char *script1 = "import time\nprint(\"hello from camsim\")\nwhile True:\n"
			      "    time.sleep_ms(50)\n";
	const char *script2 = "print(\"second script\")\n";

	setup(&t, NULL);
	CHECK(camera_version(t.cam) != NULL);
	CHECK_EQ(camera_version(t.cam)->firmware[0], 4);
	CHECK_EQ(camera_version(t.cam)->firmware[1], 7);
	CHECK(camera_sysinfo(t.cam) != NULL);
	CHECK_EQ(camera_sysinfo(t.cam)->usb_vid, 0x37C5);
	CHECK_EQ(camera_caps(t.cam)->max_payload, 4082);
	CHECK(camera_channel_by_name(t.cam, "stdout") != NULL);
	CHECK(camera_channel_by_name(t.cam, "stream") != NULL);

	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	camera_exec(o, script1, strlen(script1), done_cb, &c[0]);
	CHECK(tu_run_until(t.base, call_done, &c[0], WAIT_MS));
	CHECK_EQ(c[0].err, CAM_OK);
	CHECK(tu_run_until(t.base, has_hello, &t, WAIT_MS));
	/* replace the running script: STOP, soft reboot, resync, upload */
	camera_exec(o, script2, strlen(script2), done_cb, &c[1]);
	CHECK(tu_run_until(t.base, call_done, &c[1], WAIT_MS));
	CHECK_EQ(c[1].err, CAM_OK);
	CHECK(tu_run_until(t.base, has_second, &t, WAIT_MS));
	CHECK(out_has(&t, "soft reboot"));
	CHECK(tu_run_until(t.base, is_ready, &t, WAIT_MS));
	camera_owner_free(o);
	teardown(&t);
}

static bool frames_10(void *arg)
{
	return ((struct t *)arg)->nframes >= 10;
}

static void scenario_frames(void)
{
	struct t t;
	struct call c[2];
	struct cam_owner *o;
	const char *script = "import csi\ncsi0 = csi.CSI()\nwhile True:\n"
			     "    img = csi0.snapshot()\n";
	const char *const extra[] = { "--fps", "60", "--frame-size", "160x120", NULL };
	struct frame_codec *codec;
	const struct frame_image *rgb;
	struct camera_counters k;

	setup(&t, extra);
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	camera_streaming(o, true, false, 0, 0, done_cb, &c[0]);
	camera_exec(o, script, strlen(script), done_cb, &c[1]);
	CHECK(tu_run_until(t.base, call_done, &c[1], WAIT_MS));
	CHECK_EQ(c[0].err, CAM_OK);
	CHECK_EQ(c[1].err, CAM_OK);
	CHECK(tu_run_until(t.base, frames_10, &t, WAIT_MS));
	for (int i = 0; i < t.nframes; i++)
		CHECK_EQ(t.frames[i], (uint64_t)i + 1);
	CHECK(t.first != NULL);
	CHECK_EQ(t.first->hdr.width, 160);
	CHECK_EQ(t.first->hdr.height, 120);
	codec = frame_codec_new(0);
	rgb = frame_image(t.first, FRAME_ENC_RGB888, codec);
	CHECK(rgb != NULL && rgb->data != NULL);
	CHECK_EQ(rgb->len, 160 * 120 * 3);
	frame_codec_free(codec);
	camera_counters(t.cam, &k);
	CHECK(k.frames_fetched >= 10);
	camera_owner_free(o);
	teardown(&t);
}

/* Big raw frames while a client keeps the link busy with small calls:
 * the frames are then read in chunks with the calls in between, and must
 * come out whole and in order. */
static void scenario_shared(void)
{
	struct t t;
	struct call c;
	struct cam_owner *o;
	const char *const extra[] = { "--fps", "0", NULL };
	uint64_t end;
	int calls = 0, frames_before;

	setup(&t, extra);
	o = camera_owner_new(t.cam);
	memset(&c, 0, sizeof c);
	camera_streaming(o, true, true, 320, 240, done_cb, &c);
	CHECK(tu_run_until(t.base, call_done, &c, WAIT_MS));
	CHECK_EQ(c.err, CAM_OK);
	CHECK(tu_run_until(t.base, frames_10, &t, WAIT_MS));
	/* Back-to-back calls until frames went on between them (a machine
	 * under load only makes this take longer). */
	frames_before = t.nframes;
	end = tu_now_ms() + WAIT_MS;
	while ((calls < 10 || t.nframes - frames_before < 3) && tu_now_ms() < end) {
		memset(&c, 0, sizeof c);
		camera_command(o, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDOUT, NULL, 0, done_cb, &c);
		CHECK(tu_run_until(t.base, call_done, &c, WAIT_MS));
		CHECK_EQ(c.err, CAM_OK);
		calls++;
	}
	CHECK(calls >= 10);
	CHECK(t.nframes - frames_before >= 3);	/* frames went on between the calls */
	for (int i = 0; i < t.nframes; i++)
		CHECK_EQ(t.frames[i], (uint64_t)i + 1);
	CHECK_EQ(t.bad_raw, 0);
	camera_owner_free(o);
	teardown(&t);
}

static void scenario_faults(void)
{
	struct t t;
	static struct call c[60];
	struct cam_owner *o;
	const char *const extra[] = { "--drop-rate", "0.02", "--corrupt-rate", "0.02",
				      "--garbage-rate", "0.02", "--seed", "7", NULL };
	int ok = 0;

	setup(&t, extra);
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	for (int i = 0; i < 60; i++) {
		const struct cam_channel *ch;

		CHECK(tu_run_until(t.base, is_ready, &t, WAIT_MS * 2));
		ch = camera_channel_by_name(t.cam, "stdout");
		CHECK(ch != NULL && ch->id == 2);
		camera_command(o, OMV_OP_CHANNEL_LIST, 0, NULL, 0, done_cb, &c[i]);
		CHECK(tu_run_until(t.base, call_done, &c[i], WAIT_MS * 2));
		if (c[i].err == CAM_OK) {
			/* a corrupted answer never gets through */
			CHECK(c[i].len % 16 == 0 && c[i].len >= 64);
			CHECK(c[i].data[0] == 0 && strcmp((char *)c[i].data + 2, "usb") == 0);
			CHECK(c[i].data[32] == 2 && strcmp((char *)c[i].data + 34, "stdout") == 0);
			ok++;
		}
	}
	CHECK(ok >= 45);
	camera_owner_free(o);
	teardown(&t);
}

static bool closed_then_ready(void *arg)
{
	struct t *t = arg;

	return t->closed > 0 && camera_state(t->cam) == LINK_READY;
}

static void scenario_replug(void)
{
	struct t t;
	const char *const extra[] = { "--reboot-after", "0.2", "--replug-ms", "200", NULL };
	struct camera_counters k;

	setup(&t, extra);
	CHECK(tu_run_until(t.base, closed_then_ready, &t, WAIT_MS));
	camera_counters(t.cam, &k);
	CHECK_EQ(k.reconnects, 1);
	teardown(&t);
}

/* One line command on camsim's control socket; the reply line. */
static void control(const char *path, const char *cmd, char *reply, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t got = 0;

	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
	while (got < cap - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		CHECK(poll(&p, 1, WAIT_MS) == 1);
		r = read(fd, reply + got, 1);
		if (r <= 0 || reply[got] == '\n')
			break;
		got++;
	}
	reply[got] = '\0';
	close(fd);
}

static bool streaming_in(const char *stats, bool on)
{
	return strstr(stats, on ? "\"streaming\": true" : "\"streaming\": false") != NULL ||
	       strstr(stats, on ? "\"streaming\":true" : "\"streaming\":false") != NULL;
}

/* The daemon stops while streaming and fetching frames: the cam is left
 * with streaming off. */
static void scenario_shutdown(void)
{
	struct t t;
	struct call c[2];
	struct cam_owner *o;
	char ctl[600], stats[4096];
	const char *script = "import csi\ncsi0 = csi.CSI()\nwhile True:\n"
			     "    img = csi0.snapshot()\n";
	const char *extra[] = { "--fps", "100", "--frame-size", "160x120", "--control", ctl, NULL };

	snprintf(ctl, sizeof ctl, "%s/ctl", tu_tmpdir());
	setup(&t, extra);
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	camera_streaming(o, true, false, 0, 0, done_cb, &c[0]);
	camera_exec(o, script, strlen(script), done_cb, &c[1]);
	CHECK(tu_run_until(t.base, call_done, &c[1], WAIT_MS));
	CHECK(tu_run_until(t.base, frames_10, &t, WAIT_MS));
	control(ctl, "stats\n", stats, sizeof stats);
	CHECK(streaming_in(stats, true));
	camera_owner_free(o);	/* the daemon's own order: clients first */
	if (t.first != NULL)
		frame_unref(t.first);
	camera_free(t.cam);
	control(ctl, "stats\n", stats, sizeof stats);
	CHECK(streaming_in(stats, false));
	stop_sim(&t);
	event_base_free(t.base);
	tu_cleanup();
}

int main(int argc, char **argv)
{
	CHECK(argc == 3);
	camsim_path = argv[1];
	log_init("test-camsim", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	if (strcmp(argv[2], "basic") == 0)
		scenario_basic();
	else if (strcmp(argv[2], "frames") == 0)
		scenario_frames();
	else if (strcmp(argv[2], "shared") == 0)
		scenario_shared();
	else if (strcmp(argv[2], "faults") == 0)
		scenario_faults();
	else if (strcmp(argv[2], "replug") == 0)
		scenario_replug();
	else if (strcmp(argv[2], "shutdown") == 0)
		scenario_shutdown();
	else
		return 1;
	return 0;
}
