/*
 * "direct": the protocol core (protocol/host) driven in-process over the
 * camsim pty, no daemon. The best a host can do on this link: handshake,
 * STREAM_CTRL, then LOCK, SIZE, READ, UNLOCK per frame as fast as the cam
 * allows, with ACKs on and off; and small-call round trips.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "bench.h"
#include "protocol/host.h"

#define RX_LIMIT (32u << 20)
#define CMD_TIMEOUT_MS 2000u
#define WANT_PAYLOAD 4096u	/* what omvd asks for by default */
/* The cam refuses a LOCK within 10 ms of the previous one (BUSY). */
#define LOCK_INTERVAL_S 0.010
#define BUSY_RETRY_S 0.0005

struct direct {
	int fd;
	struct omv_host host;
	bool host_up, done, io_error;
	int code;
	uint16_t status;
	size_t len;
	uint8_t small[512];	/* copy of a small answer */
	uint8_t *frame;
	size_t frame_cap;
	double last_lock;
};

static uint64_t now_ms(void)
{
	return (uint64_t)(now_s() * 1000.0);
}

static void on_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct direct *d = ctx;
	size_t off = 0;

	while (off < len && !d->io_error) {
		ssize_t n = write(d->fd, buf + off, len - off);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			struct pollfd pf = { d->fd, POLLOUT, 0 };
			if (poll(&pf, 1, 1000) <= 0)
				d->io_error = true;
		} else if (!(n < 0 && errno == EINTR)) {
			d->io_error = true;
		}
	}
}

static void on_done(void *ctx, const struct omv_result *r)
{
	struct direct *d = ctx;

	d->done = true;
	d->code = r->code;
	d->status = r->status;
	d->len = r->len;
	if (r->data != d->frame && r->len <= sizeof d->small && r->len)
		memcpy(d->small, r->data, r->len);
}

static void on_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code)
{
}

static const struct omv_host_ops direct_ops = { on_write, on_done, on_event };

/* Feed what the pty has, waiting at most until `until` (seconds). */
static void pump(struct direct *d, double until)
{
	uint8_t buf[65536];
	double left = until - now_s();
	struct pollfd pf = { d->fd, POLLIN, 0 };
	ssize_t n;

	if (poll(&pf, 1, left > 0 ? (int)(left * 1000.0) + 1 : 0) <= 0)
		return;
	while ((n = read(d->fd, buf, sizeof buf)) > 0)
		omv_host_input(&d->host, buf, (size_t)n, now_ms());
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		d->io_error = true;
}

/* Run the command in flight to its end; its result code. */
static int finish(struct direct *d)
{
	while (!d->done && !d->io_error) {
		uint64_t dl = omv_host_deadline(&d->host);
		pump(d, dl == OMV_DEADLINE_NONE ? now_s() + 1.0 : (double)dl / 1000.0);
		omv_host_tick(&d->host, now_ms());
	}
	return d->done ? d->code : OMV_ERR_TIMEOUT;
}

static int command(struct direct *d, uint8_t op, uint8_t chan, const void *payload,
		   size_t len, uint8_t *rx, size_t rx_cap)
{
	d->done = false;
	if (omv_host_command(&d->host, op, chan, payload, len, now_ms(), CMD_TIMEOUT_MS, rx,
			     rx_cap) < 0)
		return -1;
	return finish(d);
}

static int ioctl_u32(struct direct *d, uint32_t req, uint32_t a, uint32_t b, bool two)
{
	uint8_t arg[8], buf[16];
	size_t n;

	omv_put_u32(arg, a);
	omv_put_u32(arg + 4, b);
	n = omv_ioctl_req_encode(req, arg, two ? 8 : 4, buf, sizeof buf);
	return command(d, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STREAM, buf, n, NULL, 0);
}

static int set_acks(struct direct *d, bool ack)
{
	struct omv_caps cam, want = omv_caps_default;

	if (command(d, OMV_OP_PROTO_GET_CAPS, 0, NULL, 0, NULL, 0) != OMV_OK ||
	    omv_caps_decode(&cam, d->small, d->len) < 0)
		return -1;
	want.ack = ack;
	want.max_payload = cam.max_payload < WANT_PAYLOAD ? cam.max_payload : WANT_PAYLOAD;
	d->done = false;
	if (omv_host_set_caps(&d->host, &want, now_ms(), CMD_TIMEOUT_MS) < 0)
		return -1;
	return finish(d) == OMV_OK ? 0 : -1;
}

static void direct_close(struct direct *d)
{
	if (d->host_up)
		omv_host_free(&d->host);
	if (d->fd >= 0)
		close(d->fd);
	free(d->frame);
	memset(d, 0, sizeof *d);
	d->fd = -1;
}

/* Open the link at the magic baud and handshake: SYNC, GET_CAPS, SET_CAPS. */
static int direct_open(struct direct *d, const char *path)
{
	struct termios t;
	int tries;

	memset(d, 0, sizeof *d);
	d->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (d->fd < 0 || tcgetattr(d->fd, &t) < 0)
		goto fail;
	cfmakeraw(&t);
	cfsetispeed(&t, B921600);
	cfsetospeed(&t, B921600);
	if (tcsetattr(d->fd, TCSANOW, &t) < 0 ||
	    omv_host_init(&d->host, &direct_ops, d, RX_LIMIT) < 0)
		goto fail;
	d->host_up = true;
	for (tries = 0; tries < 5; tries++) {
		d->done = false;
		omv_host_sync(&d->host, now_ms(), 300);
		if (finish(d) == OMV_OK)
			break;
	}
	if (tries == 5 || set_acks(d, true) < 0)
		goto fail;
	return 0;
fail:
	bench_fail("direct: cannot connect to %s", path);
	direct_close(d);
	return -1;
}

static int stream_on(struct direct *d, const struct frame_kind *k)
{
	if (k->raw && (ioctl_u32(d, OMV_IOCTL_STREAM_RAW_CFG, k->w, k->h, true) != OMV_OK ||
		       ioctl_u32(d, OMV_IOCTL_STREAM_RAW_CTRL, 1, 0, false) != OMV_OK))
		return -1;
	return ioctl_u32(d, OMV_IOCTL_STREAM_CTRL, 1, 0, false) == OMV_OK ? 0 : -1;
}

/* LOCK (retrying BUSY), SIZE, READ, UNLOCK: the frame's size, 0 when no
 * frame came before `deadline`, -1 on error. */
static long fetch_frame(struct direct *d, double deadline)
{
	uint8_t req[OMV_READ_REQ_SIZE];
	uint32_t size;
	int rc;

	for (;;) {
		rc = command(d, OMV_OP_CHANNEL_LOCK, OMV_CHAN_STREAM, NULL, 0, NULL, 0);
		if (rc == OMV_OK)
			break;
		if (rc != OMV_ERR_NAK || d->status != OMV_ST_BUSY)
			return -1;
		if (now_s() > deadline)
			return 0;
		/* retry when the cam's lock interval has passed */
		double at = d->last_lock + LOCK_INTERVAL_S, soon = now_s() + BUSY_RETRY_S;
		double until = at > soon ? at : soon;
		while (now_s() < until && !d->io_error)
			pump(d, until);
	}
	d->last_lock = now_s();
	if (command(d, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STREAM, NULL, 0, NULL, 0) != OMV_OK ||
	    omv_u32_decode(&size, d->small, d->len) < 0 || size == 0)
		return -1;
	if (size > d->frame_cap) {
		uint8_t *p = realloc(d->frame, size);
		if (!p)
			return -1;
		d->frame = p;
		d->frame_cap = size;
	}
	omv_read_req_encode(0, size, req);
	if (command(d, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req, sizeof req, d->frame,
		    d->frame_cap) != OMV_OK || d->len != size)
		return -1;
	if (command(d, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_STREAM, NULL, 0, NULL, 0) != OMV_OK)
		return -1;
	return (long)size;
}

struct window {
	double seconds, frames, bytes, cam_cpu, cam_produced;
};

/* Fetch frames for o->window_s after one warm-up frame. */
static int fetch_window(struct direct *d, struct camsim *cs, const struct bench_opts *o,
			struct window *w)
{
	struct cam_counters c0, c1;
	double t0, cpu0, end;
	long n;

	if (fetch_frame(d, now_s() + 5.0) <= 0)
		return -1;
	memset(w, 0, sizeof *w);
	cpu0 = proc_cpu_s(cs->proc.pid);
	if (camsim_counters(cs, &c0) < 0)
		return -1;
	t0 = now_s();
	end = t0 + o->window_s;
	while (now_s() < end) {
		n = fetch_frame(d, end);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		w->frames++;
		w->bytes += (double)n;
	}
	w->seconds = now_s() - t0;
	w->cam_cpu = proc_cpu_s(cs->proc.pid) - cpu0;
	if (camsim_counters(cs, &c1) < 0)
		return -1;
	w->cam_produced = c1.frames_produced - c0.frames_produced;
	return 0;
}

void bench_direct(const struct bench_opts *o, const struct link_profile *p,
		  const struct frame_kind *k, struct combo_figs *out)
{
	struct camsim cs;
	struct direct d;
	struct window w;

	if (camsim_start(&cs, o, p, k) < 0)
		return;
	if (direct_open(&d, cs.link) < 0)
		goto out;
	if (stream_on(&d, k) < 0 || fetch_window(&d, &cs, o, &w) < 0 || w.frames == 0) {
		bench_fail("direct %s %s: streaming failed", p->name, k->name);
		goto close;
	}
	fig_add(&out->direct_fps[0], w.frames / w.seconds);
	fig_add(&out->frame_bytes, w.bytes / w.frames);
	if (w.cam_cpu > 0)
		fig_add(&out->camsim_cpu_fps, w.cam_produced / w.cam_cpu);
	fig_add(&out->camsim_cpu_share, w.cam_cpu / w.seconds);
	bench_log(o, "direct %s %s acks on: %.1f fps, %.0f bytes/frame", p->name, k->name,
		  w.frames / w.seconds, w.bytes / w.frames);
	if (set_acks(&d, false) < 0 || fetch_window(&d, &cs, o, &w) < 0 || w.frames == 0) {
		bench_fail("direct %s %s: ACKs off failed", p->name, k->name);
		goto close;
	}
	fig_add(&out->direct_fps[1], w.frames / w.seconds);
	bench_log(o, "direct %s %s acks off: %.1f fps", p->name, k->name, w.frames / w.seconds);
close:
	direct_close(&d);
out:
	camsim_stop(&cs);
}

/* Round trips of one small command, in ms, into samples[0..n-1]. */
static int time_calls(struct direct *d, uint8_t op, uint8_t chan, double *samples, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		double t0 = now_s();
		if (command(d, op, chan, NULL, 0, NULL, 0) != OMV_OK)
			return -1;
		samples[i] = (now_s() - t0) * 1000.0;
	}
	return 0;
}

void bench_direct_rtt(const struct bench_opts *o, const struct link_profile *p,
		      struct rtt_figs *out)
{
	static const struct frame_kind qvga = { "qvga-jpeg", 320, 240, false, 0 };
	static const uint8_t ops[N_RTT_CALLS][2] = {
		[RTT_CHANNEL_SIZE] = { OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDOUT },
		[RTT_DEVICE_STATS] = { OMV_OP_PROTO_STATS, 0 },
	};
	double *samples = calloc(o->calls, sizeof *samples);
	struct camsim cs;
	struct direct d;

	if (!samples || camsim_start(&cs, o, p, &qvga) < 0) {
		free(samples);
		return;
	}
	if (direct_open(&d, cs.link) == 0) {
		for (int c = 0; c < N_RTT_CALLS; c++) {
			if (time_calls(&d, ops[c][0], ops[c][1], samples, o->calls) < 0) {
				bench_fail("direct round trips failed");
				break;
			}
			fig_add(&out->p50_ms[RTT_DIRECT][c], percentile(samples, o->calls, 50));
			fig_add(&out->p99_ms[RTT_DIRECT][c], percentile(samples, o->calls, 99));
		}
		direct_close(&d);
	}
	camsim_stop(&cs);
	free(samples);
}
