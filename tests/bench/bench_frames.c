/*
 * Frame work and the link: does preparing frames for clients keep omvd's
 * loop from the cam? A client polling read_frame rgb888 against one
 * subscribed without data, 8 RGB888 subscribers against one; and VGA
 * RGB888 to 8 subscribers in shared memory against base64 in the line
 * (omvd's CPU per frame, bytes written to each client per frame).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <turbojpeg.h>

#include "frames.h"

#include "bench.h"
#include "bench_omvd.h"
#include "bench_rpc.h"

#define CALL_TIMEOUT_S 10.0
#define FIRST_FRAME_TIMEOUT_S 10.0

/* The frames of the shared-memory comparison: VGA JPEG (the cam's
 * default), decoded to RGB888 by omvd, at a cam's frame rate. */
static const struct frame_kind vga_30 = { "vga-jpeg@30", 640, 480, false, 30 };

/* omvd's CPU milliseconds per frame it read from the cam. */
static double cpu_ms_per_frame(const struct group *g)
{
	return g->s.cam_reads > 0 && g->s.cpu >= 0 ? g->s.cpu / g->s.cam_reads * 1000.0 : NAN;
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

	if (measure_subscribers(o, d, cs, k, 1, "none", false, &g) == 0)
		fig_add(&out->sub_none_fps, g.fps_med);
	if (poller(o, d, k, &fps) == 0)
		fig_add(&out->poll_rgb_fps, fps);
	if (measure_subscribers(o, d, cs, k, 8, "rgb888", false, &g) == 0) {
		fig_add(&out->fan8_rgb_fps, g.fps_med);
		fig_add(&out->fan8_rgb_min_fps, g.fps_min);
	}
}

static double cpu_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The part of omvd's work both paths share: decoding one of camsim's VGA
 * JPEG frames to RGB888 (CPU ms, mean over a few frames), in this process. */
static double decode_ms(const struct frame_kind *k)
{
	enum { FRAMES = 30, HDR = 32 };
	struct frame_gen *g = frames_new();
	tjhandle dec = tjInitDecompress();
	uint8_t *rgb = malloc((size_t)k->w * k->h * 3);
	double cpu = 0;
	int done = 0;

	for (uint32_t n = 0; g && dec && rgb && n < FRAMES; n++) {
		size_t len;
		uint32_t fmt;
		uint8_t *f = frames_render(g, n, k->w, k->h, false, (float)k->fps, &len, &fmt);
		double t0 = cpu_now_s();

		if (f && len > HDR &&
		    tjDecompress2(dec, f + HDR, (unsigned long)(len - HDR), rgb, (int)k->w, 0,
				  (int)k->h, TJPF_RGB, 0) == 0) {
			cpu += cpu_now_s() - t0;
			done++;
		}
		free(f);
	}
	free(rgb);
	if (dec)
		tjDestroy(dec);
	if (g)
		frames_free(g);
	return done > 0 ? cpu / done * 1000.0 : NAN;
}

void bench_shm(const struct bench_opts *o, struct shm_figs *out)
{
	const struct link_profile *pty = &bench_profiles[0];
	struct camsim cs;
	struct omvd d;
	struct group g1, g8;

	fig_add(&out->decode_ms, decode_ms(&vga_30));
	if (camsim_start(&cs, o, pty, &vga_30) < 0)
		return;
	if (omvd_start(&d, o, &cs) < 0)
		goto out;
	for (int via = 0; via < N_VIA; via++) {
		if (measure_subscribers(o, &d, &cs, &vga_30, 1, "rgb888", via == VIA_SHM, &g1) < 0 ||
		    measure_subscribers(o, &d, &cs, &vga_30, 8, "rgb888", via == VIA_SHM, &g8) < 0)
			break;
		fig_add(&out->fps1[via], g1.fps_med);
		fig_add(&out->fps8[via], g8.fps_med);
		fig_add(&out->fps8_min[via], g8.fps_min);
		fig_add(&out->cpu_ms_per_frame[via], cpu_ms_per_frame(&g8));
		fig_add(&out->bytes_per_frame[via], g8.bytes_per_frame);
		fig_add(&out->cam_reads[via], g8.s.cam_reads / g8.s.seconds);
	}
	omvd_stop(&d);
out:
	camsim_stop(&cs);
}
