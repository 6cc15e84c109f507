/*
 * Frame work and the link: does preparing frames for clients keep omvd's
 * loop from the cam? A client polling read_frame rgb888 against one
 * subscribed without data, 8 RGB888 subscribers against one; and VGA
 * RGB888 to 8 subscribers in shared memory against base64 in the line
 * (omvd's CPU per frame, bytes written to each client per frame).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_omvd.h"
#include "bench_rpc.h"

#define CALL_TIMEOUT_S 10.0
#define FIRST_FRAME_TIMEOUT_S 10.0

/* The frames of the shared-memory comparison: VGA JPEG (the cam's
 * default), decoded to RGB888 by omvd, at a cam's frame rate. */
static const struct frame_kind vga_30 = { "vga-jpeg@30", 640, 480, false, 30 };

struct group {
	double fps_med, fps_min;	/* per client */
	double cpu_ms_per_frame;	/* omvd's, per frame read from the cam */
	double bytes_per_frame;		/* received by the median client */
	double cam_reads_per_s;		/* frames omvd read from the cam */
};

static int subscribe_as(struct fleet *f, unsigned i, const char *format, bool shm)
{
	json_t *p = json_pack("{s:[s], s:s}", "topics", "frame", "frame_format", format);

	if (shm)
		json_object_set_new(p, "shm", json_true());
	return call_ok(f, i, "subscribe", p);
}

/* n clients subscribed in format (shared memory or not), client 0 also
 * enabling streaming, over one window. */
static int subscribers(const struct bench_opts *o, struct omvd *d, struct camsim *cs,
		       const struct frame_kind *k, unsigned n, const char *format, bool shm,
		       struct group *g)
{
	double *fps = calloc(n, sizeof *fps), *bpf = calloc(n, sizeof *bpf);
	struct fleet f;
	struct sample s;
	int rc = -1;

	if (!fps || !bpf || fleet_open(&f, d->sock, n) < 0) {
		bench_fail("cannot connect %u clients to omvd", n);
		free(fps);
		free(bpf);
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		if (subscribe_as(&f, i, format, shm) < 0)
			goto out;
	if (stream_enable(&f, 0, k, true) < 0 ||
	    fleet_wait_frames(&f, 0, 1, FIRST_FRAME_TIMEOUT_S) < 0) {
		bench_fail("%u %s%s subscribers: no frames", n, format, shm ? " shm" : "");
		goto out;
	}
	if (sample_window(&s, o, &f, d, cs) < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		fps[i] = f.c[i].frames / s.seconds;
		bpf[i] = f.c[i].frames > 0 ? f.c[i].bytes_in / f.c[i].frames : 0;
	}
	g->fps_med = percentile(fps, n, 50);	/* sorts fps */
	g->fps_min = fps[0];
	g->bytes_per_frame = percentile(bpf, n, 50);
	g->cpu_ms_per_frame = s.cam_reads > 0 && s.cpu >= 0 ? s.cpu / s.cam_reads * 1000.0 : 0;
	g->cam_reads_per_s = s.cam_reads / s.seconds;
	bench_log(o, "omvd %u %s%s subscribers: %.1f fps each (min %.1f), %.2f ms CPU per frame, "
		  "%.0f bytes per frame", n, format, shm ? " shm" : "", g->fps_med, g->fps_min,
		  g->cpu_ms_per_frame, g->bytes_per_frame);
	rc = 0;
out:
	fleet_close(&f);
	free(fps);
	free(bpf);
	return rc;
}

/* One client polling read_frame rgb888 back to back: frames/s. */
static int poller(const struct bench_opts *o, struct omvd *d, const struct frame_kind *k,
		  double *fps)
{
	static const char params[] = "{\"format\":\"rgb888\"}";
	double deadline = now_s() + FIRST_FRAME_TIMEOUT_S, t0, frames = 0;
	struct fleet f;
	int r = 0;

	if (fleet_open(&f, d->sock, 1) < 0) {
		bench_fail("cannot connect to omvd");
		return -1;
	}
	if (stream_enable(&f, 0, k, true) < 0)
		goto fail;
	while ((r = fleet_call_frame(&f, 0, params, CALL_TIMEOUT_S)) == 0 && now_s() < deadline)
		;
	if (r != 1)
		goto fail;
	t0 = now_s();
	while (now_s() - t0 < o->window_s) {
		r = fleet_call_frame(&f, 0, params, CALL_TIMEOUT_S);
		if (r < 0)
			goto fail;
		frames += r;
	}
	*fps = frames / (now_s() - t0);
	bench_log(o, "omvd read_frame rgb888 poller: %.1f fps", *fps);
	fleet_close(&f);
	return 0;
fail:
	bench_fail("read_frame rgb888 polling failed");
	fleet_close(&f);
	return -1;
}

void bench_frame_work(const struct bench_opts *o, struct omvd *d, struct camsim *cs,
		      const struct frame_kind *k, struct combo_figs *out)
{
	struct group g;
	double fps;

	if (subscribers(o, d, cs, k, 1, "none", false, &g) == 0)
		fig_add(&out->sub_none_fps, g.fps_med);
	if (poller(o, d, k, &fps) == 0)
		fig_add(&out->poll_rgb_fps, fps);
	if (subscribers(o, d, cs, k, 8, "rgb888", false, &g) == 0) {
		fig_add(&out->fan8_rgb_fps, g.fps_med);
		fig_add(&out->fan8_rgb_min_fps, g.fps_min);
	}
}

void bench_shm(const struct bench_opts *o, struct shm_figs *out)
{
	const struct link_profile *pty = &bench_profiles[0];
	struct camsim cs;
	struct omvd d;
	struct group g1, g8;

	if (camsim_start(&cs, o, pty, &vga_30) < 0)
		return;
	if (omvd_start(&d, o, &cs) < 0)
		goto out;
	for (int via = 0; via < N_VIA; via++) {
		if (subscribers(o, &d, &cs, &vga_30, 1, "rgb888", via == VIA_SHM, &g1) < 0 ||
		    subscribers(o, &d, &cs, &vga_30, 8, "rgb888", via == VIA_SHM, &g8) < 0)
			break;
		fig_add(&out->fps1[via], g1.fps_med);
		fig_add(&out->fps8[via], g8.fps_med);
		fig_add(&out->fps8_min[via], g8.fps_min);
		fig_add(&out->cpu_ms_per_frame[via], g8.cpu_ms_per_frame);
		fig_add(&out->bytes_per_frame[via], g8.bytes_per_frame);
		fig_add(&out->cam_reads[via], g8.cam_reads_per_s);
	}
	omvd_stop(&d);
out:
	camsim_stop(&cs);
}
