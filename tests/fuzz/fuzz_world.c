/* The daemon in one process for the harnesses (see fuzz_world.h). */
#include "fuzz_world.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/camera.h"
#include "daemon/log.h"
#include "daemon/rpc_client.h"
#include "daemon/rpc_server.h"
#include "fuzz.h"
#include "fuzz_port.h"
#include "tests/core/fakecam.h"

/* The fake cam's buffer: small enough that replies come in fragments. */
#define FAKECAM_PAYLOAD 256
/* Short (the fake cam answers within microseconds), so that waits for a
 * cam that says nothing stay short too. */
#define CAM_TIMEOUT_MS 50

static struct fuzz_world world;
static struct event *reopen_ev;
static char dir[64], sock_path[96], port_path[96];

static void remove_files(void)
{
	unlink(sock_path);
	rmdir(dir);
}

static bool link_ready(void *arg)
{
	struct fuzz_world *w = arg;

	return camera_state(w->cam) == LINK_READY;
}

/* After a reset or boot the link comes back at once, not after a backoff:
 * the next input should not wait for it. */
static void reopen_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fuzz_world *w = arg;

	if (w->cam != NULL && camera_state(w->cam) == LINK_CLOSED)
		camera_reopen(w->cam);
}

static void link_hook(void *arg, enum link_state st, const char *reason)
{
	if (st == LINK_CLOSED)
		event_active(reopen_ev, 0, 0);
}

static void build(struct fuzz_world *w, bool with_cam, size_t max_request)
{
	const char *tmp = getenv("TMPDIR");
	struct rpc_server_options so;
	struct camera_options co;
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	log_init("omvd-fuzz", LOG_LVL_ERR);
	if (tmp == NULL || strlen(tmp) > 40)
		tmp = "/tmp";	/* room for the socket's name */
	snprintf(dir, sizeof dir, "%s/omvd-fuzz-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		fuzz_fail("mkdtemp %s: %s", dir, strerror(errno));
	snprintf(sock_path, sizeof sock_path, "%s/omvd.sock", dir);
	snprintf(port_path, sizeof port_path, "%s/cam", dir);
	atexit(remove_files);

	w->base = event_base_new();
	reopen_ev = event_new(w->base, -1, 0, reopen_cb, w);
	rpc_server_options_default(&so);
	so.socket_path = sock_path;
	so.max_request = max_request;
	so.link_hook = link_hook;
	w->server = rpc_server_new(w->base, &so, err, sizeof err);
	if (w->base == NULL || reopen_ev == NULL || w->server == NULL)
		fuzz_fail("cannot set up the server: %s", err);
	if (!with_cam)
		return;

	w->fc = fakecam_new(w->base, NULL, FAKECAM_PAYLOAD);
	fuzz_port_plug(w->fc);
	w->fc->profile = true;
	w->fc->extra_channel = true;
	camera_options_default(&co);
	co.port = port_path;
	co.timeout_ms = CAM_TIMEOUT_MS;
	w->cam = camera_new(w->base, &co, rpc_server_camera_listener(), w->server);
	if (w->cam == NULL)
		fuzz_fail("cannot set up the camera");
	rpc_server_set_camera(w->server, w->cam);
	fuzz_run_until(w, link_ready, w, 5000, "the first handshake with the fake cam");
}

struct fuzz_world *fuzz_world_get(bool with_cam, size_t max_request)
{
	if (world.base == NULL)
		build(&world, with_cam, max_request);
	return &world;
}

struct deadline {
	bool expired;
};

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	((struct deadline *)arg)->expired = true;
}

void fuzz_run_until(struct fuzz_world *w, bool (*cond)(void *), void *arg, unsigned ms,
		    const char *what)
{
	struct deadline d = { false };
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *timer;

	if (cond(arg))
		return;
	timer = evtimer_new(w->base, deadline_cb, &d);
	evtimer_add(timer, &tv);
	while (!cond(arg) && !d.expired)
		event_base_loop(w->base, EVLOOP_ONCE);
	event_free(timer);
	if (!cond(arg))
		fuzz_fail("still waiting for %s after %u ms", what, ms);
}

void fuzz_world_ready(struct fuzz_world *w, bool print)
{
	struct fakecam *fc = w->fc;

	if (w->cam == NULL)
		return;
	fuzz_run_until(w, link_ready, w, 5000, "the cam link to come back");
	if (fc->frame == NULL && !fc->stream_locked) {
		size_t len;
		uint8_t *frame = fakecam_make_rgb565(4, 2, ++fc->frame_seed, &len);

		fakecam_new_frame(fc, frame, len);
		free(frame);
	}
	fc->auto_frames = 2;
	if (print)
		fakecam_print(fc, "fuzz\n");
}

struct fuzz_conn *fuzz_connect(struct fuzz_world *w)
{
	struct fuzz_conn *c = calloc(1, sizeof *c);
	int sv[2];

	if (c == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair: %s", strerror(errno));
	if (rpc_client_new(w->server, sv[0]) == NULL)
		fuzz_fail("the server refused a client");
	c->fd = sv[1];
	return c;
}

/* ---- our end of a connection, driven by the loop ---- */

struct pump {
	struct fuzz_conn *c;
	struct event *wr;
	const uint8_t *data;	/* still to send, then shut down our writing side */
	size_t left;
	bool sending;
	bool eof;		/* the daemon closed */
	bool want_line;		/* done at the first newline */
};

static void take_input(struct pump *p)
{
	struct fuzz_conn *c = p->c;

	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 2048) {
			c->cap = c->cap ? 2 * c->cap : 8192;
			c->buf = realloc(c->buf, c->cap);
			if (c->buf == NULL)
				fuzz_fail("out of memory");
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		/* A peer that closes with our bytes unread resets the socket;
		 * what it wrote before that has been read by now. */
		if (n == 0 || errno == ECONNRESET)
			p->eof = true;
		else if (errno != EAGAIN && errno != EINTR)
			fuzz_fail("recv: %s", strerror(errno));
		return;
	}
}

static void give_output(struct pump *p)
{
	while (p->left > 0) {
		ssize_t n = send(p->c->fd, p->data, p->left, MSG_NOSIGNAL);

		if (n > 0) {
			p->data += n;
			p->left -= (size_t)n;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (errno != EPIPE && errno != ECONNRESET)
			fuzz_fail("send: %s", strerror(errno));
		p->left = 0;	/* the daemon stopped reading: it says why */
	}
	shutdown(p->c->fd, SHUT_WR);
	p->sending = false;
	event_del(p->wr);
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pump *p = arg;

	if ((what & EV_WRITE) && p->sending)
		give_output(p);
	if (what & EV_READ)
		take_input(p);
}

static bool pump_done(const struct pump *p)
{
	if (p->want_line && p->c->buf != NULL && memchr(p->c->buf, '\n', p->c->len) != NULL)
		return true;
	return p->eof;
}

struct pumps {
	struct pump *p;
	size_t n;
};

static bool all_done(void *arg)
{
	struct pumps *ps = arg;

	for (size_t i = 0; i < ps->n; i++)
		if (!pump_done(&ps->p[i]))
			return false;
	return true;
}

/* Drives every pump at once until each is done. */
static void pump_run(struct fuzz_world *w, struct pump *p, size_t n, unsigned ms, const char *what)
{
	struct event *rd[n];
	struct pumps ps = { p, n };

	for (size_t i = 0; i < n; i++) {
		rd[i] = event_new(w->base, p[i].c->fd, EV_READ | EV_PERSIST, pump_cb, &p[i]);
		p[i].wr = event_new(w->base, p[i].c->fd, EV_WRITE | EV_PERSIST, pump_cb, &p[i]);
		if (rd[i] == NULL || p[i].wr == NULL)
			fuzz_fail("event_new failed");
		event_add(rd[i], NULL);
		if (p[i].sending) {
			event_add(p[i].wr, NULL);
			give_output(&p[i]);
		}
		take_input(&p[i]);
	}
	fuzz_run_until(w, all_done, &ps, ms, what);
	for (size_t i = 0; i < n; i++) {
		event_free(rd[i]);
		event_free(p[i].wr);
	}
}

void fuzz_talk(struct fuzz_world *w, struct fuzz_talk *t, size_t n, unsigned ms)
{
	struct pump p[n];

	for (size_t i = 0; i < n; i++)
		p[i] = (struct pump){ .c = fuzz_connect(w), .data = t[i].in, .left = t[i].in_len,
				      .sending = true };
	pump_run(w, p, n, ms, "the daemon to answer and close every connection");
	for (size_t i = 0; i < n; i++) {
		struct fuzz_conn *c = p[i].c;

		close(c->fd);
		c->buf[c->len] = '\0';
		t[i].out = c->buf;
		t[i].out_len = c->len;
		free(c);
	}
}

char *fuzz_read_line(struct fuzz_world *w, struct fuzz_conn *c, size_t *len, unsigned ms)
{
	struct pump p = { .c = c, .want_line = true };
	char *nl, *line;

	if (c->buf == NULL || memchr(c->buf, '\n', c->len) == NULL)
		pump_run(w, &p, 1, ms, "a line from the daemon");
	nl = c->buf != NULL ? memchr(c->buf, '\n', c->len) : NULL;
	if (nl == NULL)
		fuzz_fail("the daemon closed the connection instead of sending a line");
	*len = (size_t)(nl - c->buf);
	line = malloc(*len + 1);
	if (line == NULL)
		fuzz_fail("out of memory");
	memcpy(line, c->buf, *len);
	line[*len] = '\0';
	c->len -= *len + 1;
	memmove(c->buf, nl + 1, c->len);
	return line;
}
