/*
 * The lossy profile: camsim QVGA JPEG at 30 frames/s with every packet,
 * either way, dropped or corrupted with probability P, through omvd. One
 * client subscribes to frames and checks each against the frame camsim
 * made for its barcode number (byte for byte, and in order); another
 * polls a small call (device_stats, answered by the cam) 100 times per
 * second. The loss-free level runs in the same run, so frames/s are
 * compared on the same machine under the same load.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <turbojpeg.h>

#include "bench.h"
#include "bench_omvd.h"
#include "bench_rpc.h"
#include "common/base64.h"
#include "frames.h"

#define LOSSY_W 320
#define LOSSY_H 240
#define FRAME_HDR 32	/* camsim's stream header, not part of the JPEG */
#define POLL_PERIOD_S 0.01
#define POLL_TIMEOUT_S 10.0
#define FIRST_FRAME_TIMEOUT_S 20.0

const struct lossy_level bench_lossy_levels[N_LOSSY] = {
	{ "0%+0%", 0.0, NAN, NAN },
	{ "1%+1%", 0.01, 0.8, 99.9 },
	{ "5%+5%", 0.05, 0.5, 99.0 },
};

/* What the frame subscriber found. */
struct checker {
	tjhandle dec;
	struct frame_gen *gen;
	uint8_t *rgb;
	uint32_t last;		/* barcode of the last frame, 0 before the first */
	bool counting;
	double frames, bad, out_of_order;
};

/* One frame notification: is it exactly a frame camsim made, and newer
 * than the one before? */
static void check_frame(void *arg, const char *line, size_t n)
{
	struct checker *k = arg;
	json_t *msg = json_loadb(line, n, 0, NULL);
	const char *text = json_string_value(json_object_get(json_object_get(msg, "params"),
							     "data"));
	size_t len = 0, ref_len = 0;
	uint8_t *jpeg = text ? omv_b64_decode(text, strlen(text), &len) : NULL;
	uint8_t *ref = NULL;
	uint32_t number = 0, fmt;
	bool good = false;

	if (jpeg && tjDecompress2(k->dec, jpeg, len, k->rgb, LOSSY_W, 0, LOSSY_H, TJPF_RGB,
				  0) == 0) {
		number = frames_barcode(k->rgb, LOSSY_W);
		ref = frames_render(k->gen, number, LOSSY_W, LOSSY_H, false, 30.0f, &ref_len, &fmt);
		good = ref && ref_len - FRAME_HDR == len && !memcmp(ref + FRAME_HDR, jpeg, len);
	}
	if (k->counting) {
		k->frames++;
		k->bad += !good;
		k->out_of_order += good && number <= k->last;
	}
	if (good)
		k->last = number;
	free(ref);
	free(jpeg);
	json_decref(msg);
}

static int start_level(struct camsim *cs, struct omvd *d, const struct bench_opts *o,
		       const struct lossy_level *lv, unsigned run)
{
	char rate[32], seed[32];
	const char *argv[] = { "--fps", "30", "--frame-size", "320x240", "--drop-rate", rate,
			       "--corrupt-rate", rate, "--seed", seed, NULL };

	snprintf(rate, sizeof rate, "%g", lv->rate);
	snprintf(seed, sizeof seed, "%u", 17 + run);
	if (camsim_spawn(cs, o, argv) < 0)
		return -1;
	if (omvd_start(d, o, cs) < 0) {
		camsim_stop(cs);
		return -1;
	}
	return 0;
}

/* Poller 0 and subscriber 1 for one window at one fault level; the
 * frame rate, or a negative number when it could not be measured. */
static double measure_level(const struct bench_opts *o, const struct lossy_level *lv,
			    unsigned run, struct lossy_figs *out)
{
	static const struct frame_kind qvga = { "qvga-jpeg", LOSSY_W, LOSSY_H, false, 0 };
	struct checker k = { .dec = tjInitDecompress(), .gen = frames_new(),
			     .rgb = malloc((size_t)LOSSY_W * LOSSY_H * 3) };
	struct camsim cs;
	struct omvd d;
	struct fleet f;
	struct cam_counters c0, c1;
	double calls = 0, ok = 0, t0, seconds, fps = -1;

	if (!k.dec || !k.gen || !k.rgb) {
		bench_fail("lossy: out of memory");
		goto out;
	}
	if (start_level(&cs, &d, o, lv, run) < 0)
		goto out;
	if (fleet_open(&f, d.sock, 2) < 0) {
		bench_fail("lossy: cannot connect to omvd");
		goto stop;
	}
	f.c[1].on_frame = check_frame;
	f.c[1].frame_arg = &k;
	if (subscribe_frames(&f, 1, "jpeg") < 0 || stream_enable(&f, 1, &qvga, true) < 0)
		goto close;
	if (fleet_wait_frames(&f, 1, 1, FIRST_FRAME_TIMEOUT_S) < 0) {
		bench_fail("lossy %s: no frames through omvd", lv->name);
		goto close;
	}
	if (camsim_counters(&cs, &c0) < 0)
		goto close;
	k.counting = true;
	t0 = now_s();
	while ((seconds = now_s() - t0) < o->lossy_s) {
		double next = now_s() + POLL_PERIOD_S;
		json_t *r = fleet_call(&f, 0, "device_stats", NULL, POLL_TIMEOUT_S);

		calls++;
		ok += r != NULL;
		json_decref(r);
		if (now_s() < next)
			fleet_pump(&f, next - now_s(), false);
	}
	k.counting = false;
	if (camsim_counters(&cs, &c1) < 0)
		goto close;
	fps = k.frames / seconds;
	fig_add(&out->fps, fps);
	fig_add(&out->calls_ok_pct, calls > 0 ? 100.0 * ok / calls : 0);
	fig_add(&out->calls, calls);
	fig_add(&out->bad_frames, k.bad + k.out_of_order);
	fig_add(&out->faults_per_s, (c1.faults - c0.faults) / seconds);
	bench_log(o, "lossy %s: %.1f fps, %.0f/%.0f calls ok, %.0f bad, %.0f out of order",
		  lv->name, k.frames / seconds, ok, calls, k.bad, k.out_of_order);
close:
	fleet_close(&f);
stop:
	omvd_stop(&d);
	camsim_stop(&cs);
out:
	if (k.dec)
		tjDestroy(k.dec);
	frames_free(k.gen);
	free(k.rgb);
	return fps;
}

void bench_lossy(const struct bench_opts *o, unsigned run, struct lossy_figs out[N_LOSSY])
{
	double clean = -1;

	for (int i = 0; i < N_LOSSY; i++) {
		double fps;

		fprintf(stderr, "omvd-bench: run %u/%u: lossy %s\n", run + 1, o->runs,
			bench_lossy_levels[i].name);
		fps = measure_level(o, &bench_lossy_levels[i], run, &out[i]);
		if (i == 0)
			clean = fps;
		if (clean > 0 && fps >= 0)
			fig_add(&out[i].ratio, fps / clean);
	}
}
