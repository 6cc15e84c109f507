/*
 * Through omvd: camsim + omvd per profile and frame kind; one subscribed
 * client (passthrough and RGB888 decode), then 8 and 64 subscribed
 * clients with camsim's own count of frame reads; omvd's CPU per frame;
 * and small-call round trips with 0, 1 and 8 busy streaming clients.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "bench_omvd.h"
#include "bench_rpc.h"

#define START_TIMEOUT_S 10.0
#define CALL_TIMEOUT_S 10.0
#define FIRST_FRAME_TIMEOUT_S 10.0

int omvd_start(struct omvd *d, const struct bench_opts *o, const struct camsim *cs)
{
	static unsigned serial;
	char *argv[8];
	double deadline = now_s() + START_TIMEOUT_S;
	struct fleet f;
	json_t *r;

	snprintf(d->sock, sizeof d->sock, "%s/omvd%u.sock", o->dir, ++serial);
	argv[0] = (char *)o->omvd;
	argv[1] = "--port";
	argv[2] = (char *)cs->link;
	argv[3] = "--socket";
	argv[4] = d->sock;
	argv[5] = NULL;
	if (child_spawn(&d->proc, argv, false, !o->verbose) < 0)
		return -1;
	while (access(d->sock, F_OK) < 0 || fleet_open(&f, d->sock, 1) < 0) {
		if (now_s() > deadline || child_exited(&d->proc))
			goto fail;
		sleep_s(0.01);
	}
	for (;;) {
		r = fleet_call(&f, 0, "is_connected", NULL, CALL_TIMEOUT_S);
		if (json_is_true(r))
			break;
		json_decref(r);
		if (!r || now_s() > deadline) {
			fleet_close(&f);
			goto fail;
		}
		sleep_s(0.02);
	}
	json_decref(r);
	fleet_close(&f);
	return 0;
fail:
	bench_fail("omvd did not connect to camsim");
	child_stop(&d->proc);
	return -1;
}

void omvd_stop(struct omvd *d)
{
	child_stop(&d->proc);
}

/* A call whose result is not needed; 0 when it succeeded. */
int call_ok(struct fleet *f, unsigned i, const char *method, json_t *params)
{
	json_t *r = fleet_call(f, i, method, params, CALL_TIMEOUT_S);

	json_decref(r);
	if (!r)
		bench_fail("%s on client %u failed", method, i);
	return r ? 0 : -1;
}

int stream_enable(struct fleet *f, unsigned i, const struct frame_kind *k, bool on)
{
	json_t *p = json_pack("{s:b}", "enable", on);

	if (on && k->raw) {
		json_object_set_new(p, "raw", json_true());
		json_object_set_new(p, "resolution", json_pack("[i, i]", (int)k->w, (int)k->h));
	}
	return call_ok(f, i, "streaming", p);
}

int subscribe_frames(struct fleet *f, unsigned i, const char *format)
{
	return call_ok(f, i, "subscribe", json_pack("{s:[s], s:s}", "topics", "frame",
						    "frame_format", format));
}

static const char *passthrough(const struct frame_kind *k)
{
	return k->raw ? "native" : "jpeg";
}

int sample_window(struct sample *s, const struct bench_opts *o, struct fleet *f,
			 struct omvd *d, struct camsim *cs)
{
	if (camsim_counters(cs, &s->c0) < 0)
		return -1;
	s->cpu = proc_cpu_s(d->proc.pid);
	s->self_cpu = proc_cpu_s(getpid());
	s->seconds = now_s();
	fleet_count(f, true);
	fleet_pump(f, o->window_s, false);
	fleet_count(f, false);
	s->seconds = now_s() - s->seconds;
	s->cpu = proc_cpu_s(d->proc.pid) - s->cpu;
	s->self_cpu = proc_cpu_s(getpid()) - s->self_cpu;
	if (camsim_counters(cs, &s->c1) < 0)
		return -1;
	s->cam_reads = s->c1.frames_read - s->c0.frames_read;
	return 0;
}

static void add_cpu(struct fig *fig, const struct sample *s)
{
	if (s->cam_reads > 0 && s->cpu >= 0)
		fig_add(fig, s->cpu / s->cam_reads * 1000.0);
}

/* One client, subscribed in `format`, for a window. */
static int single_client(const struct bench_opts *o, struct omvd *d, struct camsim *cs,
			 const struct frame_kind *k, int idx, struct combo_figs *out)
{
	const char *format = idx == 0 ? passthrough(k) : "rgb888";
	struct fleet f;
	struct sample s;
	int rc = -1;

	if (fleet_open(&f, d->sock, 1) < 0) {
		bench_fail("cannot connect to omvd");
		return -1;
	}
	if (stream_enable(&f, 0, k, true) < 0 || subscribe_frames(&f, 0, format) < 0 ||
	    fleet_wait_frames(&f, 0, 1, FIRST_FRAME_TIMEOUT_S) < 0) {
		bench_fail("no %s frames through omvd", format);
		goto out;
	}
	if (sample_window(&s, o, &f, d, cs) < 0)
		goto out;
	fig_add(&out->omvd_fps[idx], f.c[0].frames / s.seconds);
	fig_add(&out->omvd_mbps[idx], f.c[0].data_bytes / s.seconds / 1e6);
	if (idx == 0)
		add_cpu(&out->cpu_per_kframe[0], &s);
	bench_log(o, "omvd 1 client %s: %.1f fps, %.2f MB/s", format, f.c[0].frames / s.seconds,
		  f.c[0].data_bytes / s.seconds / 1e6);
	rc = 0;
out:
	fleet_close(&f);
	return rc;
}

static int subscribe_as(struct fleet *f, unsigned i, const char *format, bool shm)
{
	json_t *p = json_pack("{s:[s], s:s}", "topics", "frame", "frame_format", format);

	if (shm)
		json_object_set_new(p, "shm", json_true());
	return call_ok(f, i, "subscribe", p);
}

int measure_subscribers(const struct bench_opts *o, struct omvd *d, struct camsim *cs,
			const struct frame_kind *k, unsigned n, const char *format, bool shm,
			struct group *g)
{
	double *fps = calloc(n, sizeof *fps), *got = calloc(n, sizeof *got);
	double *bpf = calloc(n, sizeof *bpf);
	struct fleet f;
	int rc = -1;

	if (!fps || !got || !bpf || fleet_open(&f, d->sock, n) < 0) {
		bench_fail("cannot connect %u clients to omvd", n);
		free(fps);
		free(got);
		free(bpf);
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		if (subscribe_as(&f, i, format, shm) < 0)
			goto out;
	if (stream_enable(&f, 0, k, true) < 0 ||
	    fleet_wait_frames(&f, 0, 1, FIRST_FRAME_TIMEOUT_S) < 0) {
		bench_fail("%u %s%s subscribers: not every client got a frame", n, format,
			   shm ? " shm" : "");
		goto out;
	}
	if (sample_window(&g->s, o, &f, d, cs) < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		fps[i] = f.c[i].frames / g->s.seconds;
		got[i] = f.c[i].frames;
		bpf[i] = f.c[i].frames > 0 ? f.c[i].bytes_in / f.c[i].frames : 0;
	}
	g->fps_med = percentile(fps, n, 50);	/* sorts fps */
	g->fps_min = fps[0];
	g->got_med = percentile(got, n, 50);
	g->bytes_per_frame = percentile(bpf, n, 50);
	bench_log(o, "omvd %u %s%s subscribers: %.1f fps each (min %.1f), cam reads %.1f/s", n,
		  format, shm ? " shm" : "", g->fps_med, g->fps_min,
		  g->s.cam_reads / g->s.seconds);
	rc = 0;
out:
	fleet_close(&f);
	free(fps);
	free(got);
	free(bpf);
	return rc;
}

/* n clients subscribed (client 0 also enables streaming), for a window. */
static int fan_out(const struct bench_opts *o, struct omvd *d, struct camsim *cs,
		   const struct frame_kind *k, int level, struct combo_figs *out)
{
	struct group g;

	if (measure_subscribers(o, d, cs, k, bench_fan_clients[level], passthrough(k), false,
				&g) < 0)
		return -1;
	fig_add(&out->fan_fps[level], g.fps_med);
	fig_add(&out->fan_min_fps[level], g.fps_min);
	fig_add(&out->fan_cam_reads[level], g.s.cam_reads / g.s.seconds);
	/* the cam's frames were read once and reached every client: the median
	 * client got as many frames as camsim counted reads, give or take the
	 * frames in flight at the window's edges */
	fig_add(&out->fan_read_once[level], fabs(g.got_med - g.s.cam_reads) <= 2);
	add_cpu(&out->cpu_per_kframe[1 + level], &g.s);
	fig_add(&out->rss_fan_kb[level], (double)proc_rss_kb(d->proc.pid));
	fig_add(&out->fan_bench_cpu_share[level], g.s.self_cpu / g.s.seconds);
	return 0;
}

void bench_omvd_streams(const struct bench_opts *o, const struct link_profile *p,
			const struct frame_kind *k, struct combo_figs *out)
{
	struct camsim cs;
	struct omvd d;

	if (camsim_start(&cs, o, p, k) < 0)
		return;
	if (omvd_start(&d, o, &cs) < 0)
		goto out;
	if (single_client(o, &d, &cs, k, 0, out) == 0)
		single_client(o, &d, &cs, k, 1, out);
	bench_frame_work(o, &d, &cs, k, out);
	for (int level = 0; level < N_FAN; level++)
		if (fan_out(o, &d, &cs, k, level, out) < 0)
			break;
	omvd_stop(&d);
out:
	camsim_stop(&cs);
}

/* ------------------------------------------------------------------ */

/* Round trips of small calls on client 0 while clients 1.. stream. */
static void time_calls(const struct bench_opts *o, struct fleet *f, enum rtt_mode mode,
		       struct rtt_figs *out)
{
	double *ms = calloc(o->calls, sizeof *ms);

	if (!ms)
		return;
	for (int c = 0; c < N_RTT_CALLS; c++) {
		unsigned i;
		for (i = 0; i < o->calls; i++) {
			double t0 = now_s();
			int rc = c == RTT_CHANNEL_SIZE
				? call_ok(f, 0, "channel_size", json_pack("{s:s}", "name", "stdout"))
				: call_ok(f, 0, "device_stats", NULL);
			if (rc < 0)
				break;
			ms[i] = (now_s() - t0) * 1000.0;
		}
		if (i < o->calls)
			break;
		fig_add(&out->p50_ms[mode][c], percentile(ms, o->calls, 50));
		fig_add(&out->p99_ms[mode][c], percentile(ms, o->calls, 99));
	}
	free(ms);
}

void bench_omvd_rtt(const struct bench_opts *o, const struct link_profile *p,
		    struct rtt_figs *out)
{
	static const struct frame_kind qvga = { "qvga-jpeg", 320, 240, false, 0 };
	static const struct { enum rtt_mode mode; unsigned busy; } modes[] = {
		{ RTT_OMVD_IDLE, 0 }, { RTT_OMVD_BUSY1, 1 }, { RTT_OMVD_BUSY8, 8 },
	};
	struct camsim cs;
	struct omvd d;

	if (camsim_start(&cs, o, p, &qvga) < 0)
		return;
	if (omvd_start(&d, o, &cs) < 0)
		goto out;
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		struct fleet f;
		unsigned n = 1 + modes[m].busy;

		if (fleet_open(&f, d.sock, n) < 0) {
			bench_fail("cannot connect %u clients to omvd", n);
			break;
		}
		for (unsigned i = 1; i < n; i++)
			if (subscribe_frames(&f, i, "jpeg") < 0)
				goto next;
		if (n > 1 && stream_enable(&f, 1, &qvga, true) < 0)
			goto next;
		if (fleet_wait_frames(&f, 1, 1, FIRST_FRAME_TIMEOUT_S) < 0) {
			bench_fail("round trips: the busy clients got no frames");
			goto next;
		}
		time_calls(o, &f, modes[m].mode, out);
next:
		fleet_close(&f);
	}
	omvd_stop(&d);
out:
	camsim_stop(&cs);
}
