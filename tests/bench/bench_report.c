/*
 * Output of a bench run: the tables on stdout (medians and ratios against
 * the baselines of the same run) and the same figures as JSON, keyed so
 * that two files from different commits can be compared field by field.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"

static const char *const rtt_mode_names[N_RTT_MODES] = {
	"direct", "omvd_idle", "omvd_busy1", "omvd_busy8",
};
static const char *const rtt_call_names[N_RTT_CALLS] = { "channel_size", "device_stats" };

static double med(const struct fig *f)
{
	return fig_median(f);
}

static double ratio(const struct fig *a, const struct fig *b)
{
	double x = med(a), y = med(b);

	return y > 0 ? x / y : NAN;
}

/* A number right-aligned in width w, "-" when missing. */
static void cell(double v, int w, int prec)
{
	if (isnan(v))
		printf(" %*s", w, "-");
	else
		printf(" %*.*f", w, prec, v);
}

static void table_link(const struct bench_opts *o, const struct bench_results *r)
{
	printf("\nLink limit and direct (protocol core in-process, no daemon), frames/s\n");
	printf("%-7s %-11s %8s %9s %9s %9s %9s %8s %9s\n", "link", "frames", "KiB", "limit",
	       "pty MB/s", "acks on", "acks off", "dir/lim", "camsim");
	for (int p = 0; p < N_PROFILES; p++)
		for (int k = 0; k < N_KINDS; k++) {
			const struct combo_figs *c = &r->combo[p][k];
			if (!o->profile_on[p] || !o->kind_on[k])
				continue;
			printf("%-7s %-11s", bench_profiles[p].name, bench_kinds[k].name);
			cell(med(&c->frame_bytes) / 1024.0, 8, 1);
			cell(med(&c->limit_fps), 9, 0);
			cell(med(&c->pty_copy_mbps), 9, 0);
			cell(med(&c->direct_fps[0]), 9, 1);
			cell(med(&c->direct_fps[1]), 9, 1);
			cell(ratio(&c->direct_fps[0], &c->limit_fps), 8, 3);
			cell(med(&c->camsim_cpu_fps), 9, 0);
			putchar('\n');
		}
	printf("limit: frame bytes alone at the link's rate + latency (pty: raw pty copy);\n"
	       "camsim: frames camsim produces per CPU second (its own ceiling).\n"
	       "The cam refuses a LOCK within 10 ms of the previous one: at most 100 fps.\n");
}

static void table_omvd(const struct bench_opts *o, const struct bench_results *r)
{
	printf("\nThrough omvd, frames/s (per client for 8 and 64 subscribed clients)\n");
	printf("%-7s %-11s %7s %7s %7s %7s %7s %7s %7s %6s %7s %6s %6s %12s %14s\n", "link",
	       "frames", "1 pass", "MB/s", "1 rgb", "/direct", "/limit", "8 each", "8 min",
	       "8/1", "64 each", "64/1", "reads", "cam reads/s", "CPU s/1000 fr");
	printf("%-7s %-11s %7s %7s %7s %7s %7s %7s %7s %6s %7s %6s %6s %6s %5s %4s %4s %4s\n",
	       "", "", "", "", "", "", "", "", "", "", "", "", "=each", "8", "64", "1", "8", "64");
	for (int p = 0; p < N_PROFILES; p++)
		for (int k = 0; k < N_KINDS; k++) {
			const struct combo_figs *c = &r->combo[p][k];
			if (!o->profile_on[p] || !o->kind_on[k])
				continue;
			printf("%-7s %-11s", bench_profiles[p].name, bench_kinds[k].name);
			cell(med(&c->omvd_fps[0]), 7, 1);
			cell(med(&c->omvd_mbps[0]), 7, 2);
			cell(med(&c->omvd_fps[1]), 7, 1);
			cell(ratio(&c->omvd_fps[0], &c->direct_fps[0]), 7, 3);
			cell(ratio(&c->omvd_fps[0], &c->limit_fps), 7, 3);
			cell(med(&c->fan_fps[0]), 7, 1);
			cell(med(&c->fan_min_fps[0]), 7, 1);
			cell(ratio(&c->fan_fps[0], &c->omvd_fps[0]), 6, 2);
			cell(med(&c->fan_fps[1]), 7, 1);
			cell(ratio(&c->fan_fps[1], &c->omvd_fps[0]), 6, 2);
			if (!fig_has(&c->fan_read_once[0]))
				printf(" %6s", "-");
			else
				printf(" %6s", med(&c->fan_read_once[0]) >= 1 &&
					       med(&c->fan_read_once[1]) >= 1 ? "yes" : "NO");
			cell(med(&c->fan_cam_reads[0]), 6, 1);
			cell(med(&c->fan_cam_reads[1]), 5, 1);
			for (int i = 0; i < 1 + N_FAN; i++)
				cell(med(&c->cpu_per_kframe[i]), 4, 2);
			putchar('\n');
		}
	printf("pass: JPEG (raw: native RGB565) bytes forwarded untouched; rgb: decoded to RGB888;\n"
	       "/direct, /limit, 8/1, 64/1: ratios of the passthrough rate; reads =each: camsim's\n"
	       "frame reads equal the frames each client got, with 8 and 64 clients.\n");
}

static void table_frame_work(const struct bench_opts *o, const struct bench_results *r)
{
	printf("\nFrame work and the link, frames/s: a subscriber taking no data, a client\n"
	       "polling read_frame rgb888, 1 and 8 rgb888 subscribers\n");
	printf("%-7s %-11s %8s %8s %8s %7s %8s %8s %8s\n", "link", "frames", "sub none",
	       "poll rgb", "poll/sub", "1 rgb", "8 each", "8 min", "8min/1");
	for (int p = 0; p < N_PROFILES; p++)
		for (int k = 0; k < N_KINDS; k++) {
			const struct combo_figs *c = &r->combo[p][k];
			if (!o->profile_on[p] || !o->kind_on[k])
				continue;
			printf("%-7s %-11s", bench_profiles[p].name, bench_kinds[k].name);
			cell(med(&c->sub_none_fps), 8, 1);
			cell(med(&c->poll_rgb_fps), 8, 1);
			cell(ratio(&c->poll_rgb_fps, &c->sub_none_fps), 8, 3);
			cell(med(&c->omvd_fps[1]), 7, 1);
			cell(med(&c->fan8_rgb_fps), 8, 1);
			cell(med(&c->fan8_rgb_min_fps), 8, 1);
			cell(ratio(&c->fan8_rgb_min_fps, &c->omvd_fps[1]), 8, 3);
			putchar('\n');
		}
}

static const char *const via_names[N_VIA] = { "base64", "shm" };

static void table_shm(const struct bench_results *r)
{
	const struct shm_figs *m = &r->shm;

	printf("\nVGA RGB888 (VGA JPEG at 30 fps from camsim, pty) to 1 and 8 subscribers\n");
	printf("%-7s %7s %7s %7s %7s %12s %13s %15s\n", "via", "1 fps", "8 each", "8 min",
	       "8min/1", "cam reads/s", "omvd CPU ms", "bytes/frame");
	printf("%-7s %7s %7s %7s %7s %12s %13s %15s\n", "", "", "", "", "", "(8 clients)",
	       "per frame (8)", "to each (8)");
	for (int v = 0; v < N_VIA; v++) {
		printf("%-7s", via_names[v]);
		cell(med(&m->fps1[v]), 7, 1);
		cell(med(&m->fps8[v]), 7, 1);
		cell(med(&m->fps8_min[v]), 7, 1);
		cell(ratio(&m->fps8_min[v], &m->fps1[v]), 7, 3);
		cell(med(&m->cam_reads[v]), 12, 1);
		cell(med(&m->cpu_ms_per_frame[v]), 13, 3);
		cell(med(&m->bytes_per_frame[v]), 15, 0);
		putchar('\n');
	}
	printf("Both paths decode each frame once: turbojpeg alone takes %.3f ms of CPU per\n"
	       "frame here; omvd CPU per frame above that, base64 / shm: %.2f\n",
	       med(&m->decode_ms),
	       (med(&m->cpu_ms_per_frame[VIA_BASE64]) - med(&m->decode_ms)) /
	       (med(&m->cpu_ms_per_frame[VIA_SHM]) - med(&m->decode_ms)));
}

/* ---- targets ---- */

#define MAX_TARGETS 64

struct target {
	char what[64];
	char where[32];
	double value, bound;
	bool at_least;		/* value >= bound, else value < bound */
};

static void add_target(struct target *t, int *n, const char *what, const char *where,
		       double value, double bound, bool at_least)
{
	struct target *x;

	if (*n >= MAX_TARGETS)
		return;
	x = &t[(*n)++];
	snprintf(x->what, sizeof x->what, "%s", what);
	snprintf(x->where, sizeof x->where, "%s", where);
	x->value = value;
	x->bound = bound;
	x->at_least = at_least;
}

static const char *target_verdict(const struct target *t)
{
	if (isnan(t->value))
		return "not measured";
	return (t->at_least ? t->value >= t->bound : t->value < t->bound) ? "met" : "MISSED";
}

/* Every target of the frame work, as measured in this run. */
static int collect_targets(const struct bench_opts *o, const struct bench_results *r,
			   struct target *t)
{
	const struct shm_figs *m = &r->shm;
	char where[32];
	int n = 0;

	for (int p = 0; p < N_PROFILES; p++)
		for (int k = 0; k < N_KINDS; k++) {
			const struct combo_figs *c = &r->combo[p][k];
			if (!o->profile_on[p] || !o->kind_on[k])
				continue;
			snprintf(where, sizeof where, "%s %s", bench_profiles[p].name,
				 bench_kinds[k].name);
			if (p == 0 || p == 1)	/* pty, usb-hs */
				add_target(t, &n, "read_frame rgb888 poller / subscriber without data",
					   where, ratio(&c->poll_rgb_fps, &c->sub_none_fps), 0.95,
					   true);
			add_target(t, &n, "8 rgb888 subscribers, slowest / 1 rgb888", where,
				   ratio(&c->fan8_rgb_min_fps, &c->omvd_fps[1]), 0.95, true);
			add_target(t, &n, "omvd, 1 client / direct", where,
				   ratio(&c->omvd_fps[0], &c->direct_fps[0]), 0.95, true);
		}
	add_target(t, &n, "omvd CPU per frame, base64 / shm (8 clients)", "pty vga rgb888",
		   ratio(&m->cpu_ms_per_frame[VIA_BASE64], &m->cpu_ms_per_frame[VIA_SHM]), 5, true);
	add_target(t, &n, "bytes written to each shm client per frame", "pty vga rgb888",
		   med(&m->bytes_per_frame[VIA_SHM]), 1024, false);
	add_target(t, &n, "8 shm subscribers, slowest / 1", "pty vga rgb888",
		   ratio(&m->fps8_min[VIA_SHM], &m->fps1[VIA_SHM]), 0.95, true);
	return n;
}

static void table_targets(const struct bench_opts *o, const struct bench_results *r)
{
	struct target t[MAX_TARGETS];
	int n = collect_targets(o, r, t), met = 0, measured = 0;

	printf("\nTargets\n");
	printf("%-52s %-21s %9s %10s  %s\n", "figure", "where", "measured", "target", "");
	for (int i = 0; i < n; i++) {
		printf("%-52s %-21s", t[i].what, t[i].where);
		cell(t[i].value, 9, t[i].bound > 100 ? 0 : 3);
		printf(" %3s %6.*f  %s\n", t[i].at_least ? ">=" : "<", t[i].bound > 100 ? 0 : 2,
		       t[i].bound, target_verdict(&t[i]));
		measured += !isnan(t[i].value);
		met += strcmp(target_verdict(&t[i]), "met") == 0;
	}
	printf("%d of %d measured targets met\n", met, measured);
}

static void table_rtt(const struct bench_opts *o, const struct bench_results *r)
{
	printf("\nSmall-call round trips, ms (p50 / p99); busy = clients streaming QVGA JPEG\n");
	printf("%-7s %-13s", "link", "call");
	for (int m = 0; m < N_RTT_MODES; m++)
		printf(" %17s", rtt_mode_names[m]);
	printf(" %9s\n", "idle/dir");
	for (int p = 0; p < N_PROFILES; p++) {
		if (!o->profile_on[p])
			continue;
		for (int c = 0; c < N_RTT_CALLS; c++) {
			printf("%-7s %-13s", bench_profiles[p].name, rtt_call_names[c]);
			for (int m = 0; m < N_RTT_MODES; m++) {
				cell(med(&r->rtt[p].p50_ms[m][c]), 8, 3);
				printf(" /");
				cell(med(&r->rtt[p].p99_ms[m][c]), 6, 2);
			}
			cell(ratio(&r->rtt[p].p50_ms[RTT_OMVD_IDLE][c],
				   &r->rtt[p].p50_ms[RTT_DIRECT][c]), 9, 2);
			putchar('\n');
		}
	}
}

static void table_misc(const struct bench_opts *o, const struct bench_results *r)
{
	const struct mem_figs *m = &r->mem;

	printf("\nomvd resident memory (VmRSS, KiB)\n");
	printf("  idle %.0f, 64 streaming clients %.0f, after %.0f s of churn %.0f "
	       "(%.0f sessions, %.0f frames)\n",
	       med(&m->rss_idle_kb), med(&m->rss_64_kb), o->churn_s, med(&m->rss_churn_kb),
	       med(&m->churn_sessions), med(&m->churn_frames));
	printf("\nCRC-32 over 4 KiB buffers, MB/s\n");
	printf("  omv_crc32 %.0f, bit by bit %.1f, speed-up %.1fx\n", med(&r->crc.table_mbps),
	       med(&r->crc.bitwise_mbps), ratio(&r->crc.table_mbps, &r->crc.bitwise_mbps));
}

/* The worst run: bad frames must be zero in every run, not in the median. */
static double fig_max(const struct fig *f)
{
	double m = NAN;

	for (unsigned i = 0; i < f->n; i++)
		if (isnan(m) || f->v[i] > m)
			m = f->v[i];
	return m;
}

static const char *verdict(double v, double target)
{
	if (isnan(target))
		return "";
	if (isnan(v))
		return "?";
	return v >= target ? "met" : "MISSED";
}

static void table_lossy(const struct bench_opts *o, const struct bench_results *r)
{
	printf("\nLossy link: camsim QVGA JPEG at 30 fps, each packet dropped and corrupted with P\n"
	       "either way, through omvd; one client checks every frame against camsim's, one\n"
	       "polls device_stats 100 times per second\n");
	printf("%-7s %8s %7s %14s %7s %8s %15s %7s %9s\n", "faults", "frames/s", "/clean",
	       "target", "calls", "ok %", "target", "bad fr", "faults/s");
	for (int i = 0; i < N_LOSSY; i++) {
		const struct lossy_level *lv = &bench_lossy_levels[i];
		const struct lossy_figs *f = &r->lossy[i];
		double bad = fig_max(&f->bad_frames);
		char t1[32] = "", t2[32] = "";

		if (!isnan(lv->min_ratio))
			snprintf(t1, sizeof t1, ">=%.1f %s", lv->min_ratio,
				 verdict(med(&f->ratio), lv->min_ratio));
		if (!isnan(lv->min_calls_pct))
			snprintf(t2, sizeof t2, ">=%.1f%% %s", lv->min_calls_pct,
				 verdict(med(&f->calls_ok_pct), lv->min_calls_pct));
		printf("%-7s", lv->name);
		cell(med(&f->fps), 8, 1);
		cell(med(&f->ratio), 7, 2);
		printf(" %14s", t1);
		cell(med(&f->calls), 7, 0);
		cell(med(&f->calls_ok_pct), 8, 3);
		printf(" %15s", t2);
		cell(bad, 7, 0);
		cell(med(&f->faults_per_s), 9, 1);
		printf("%s\n", isnan(bad) ? "" : bad == 0 ? "" : "  bad frames: MISSED");
	}
	printf("/clean: frames/s over the loss-free level of the same run; bad fr: frames that\n"
	       "differ from camsim's or come out of order, worst run (target 0); faults/s:\n"
	       "packets camsim dropped or corrupted.\n");
}

void report_table(const struct bench_opts *o, const struct bench_results *r)
{
	printf("\nomvd-bench: %u run(s), medians; window %.1f s, %u calls per latency figure\n",
	       r->runs_done, o->window_s, o->calls);
	printf("machine: %s\nstarted: %s\n", r->machine, r->started);
	table_link(o, r);
	if (!o->no_omvd)
		table_omvd(o, r);
	if (!o->no_omvd) {
		table_frame_work(o, r);
		table_shm(r);
	}
	table_rtt(o, r);
	if (!o->no_omvd && o->lossy_on)
		table_lossy(o, r);
	if (!o->no_omvd) {
		table_misc(o, r);
		table_targets(o, r);
	}
	else
		printf("\nCRC-32 over 4 KiB buffers: omv_crc32 %.0f MB/s, bit by bit %.1f MB/s\n",
		       med(&r->crc.table_mbps), med(&r->crc.bitwise_mbps));
	fflush(stdout);
}

/* ------------------------------------------------------------------ */

static json_t *jfig(const struct fig *f)
{
	return fig_has(f) ? json_real(med(f)) : json_null();
}

static json_t *jratio(const struct fig *a, const struct fig *b)
{
	double v = ratio(a, b);

	return isnan(v) ? json_null() : json_real(v);
}

static json_t *frame_work_json(const struct combo_figs *c)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
		"subscriber_none_fps", jfig(&c->sub_none_fps),
		"poll_rgb888_fps", jfig(&c->poll_rgb_fps),
		"poll_over_subscriber", jratio(&c->poll_rgb_fps, &c->sub_none_fps),
		"rgb888_8_fps_each", jfig(&c->fan8_rgb_fps),
		"rgb888_8_fps_min", jfig(&c->fan8_rgb_min_fps),
		"rgb888_8_min_over_1", jratio(&c->fan8_rgb_min_fps, &c->omvd_fps[1]));
}

static json_t *shm_json(const struct shm_figs *m)
{
	json_t *o = json_object();

	for (int v = 0; v < N_VIA; v++)
		json_object_set_new(o, via_names[v], json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
			"fps_1", jfig(&m->fps1[v]), "fps_8_each", jfig(&m->fps8[v]),
			"fps_8_min", jfig(&m->fps8_min[v]),
			"cam_reads_per_s", jfig(&m->cam_reads[v]),
			"cpu_ms_per_frame_8", jfig(&m->cpu_ms_per_frame[v]),
			"bytes_per_frame_each_8", jfig(&m->bytes_per_frame[v])));
	json_object_set_new(o, "decode_ms_per_frame", jfig(&m->decode_ms));
	return o;
}

static json_t *targets_json(const struct bench_opts *o, const struct bench_results *r)
{
	struct target t[MAX_TARGETS];
	int n = collect_targets(o, r, t);
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:s, s:f, s:s}",
			"figure", t[i].what, "where", t[i].where,
			"measured", isnan(t[i].value) ? json_null() : json_real(t[i].value),
			"relation", t[i].at_least ? ">=" : "<", "target", t[i].bound,
			"verdict", target_verdict(&t[i])));
	return a;
}

static json_t *combo_json(int p, int k, const struct combo_figs *c)
{
	json_t *fan = json_array();

	for (int i = 0; i < N_FAN; i++)
		json_array_append_new(fan, json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			"clients", (int)bench_fan_clients[i],
			"fps_each", jfig(&c->fan_fps[i]),
			"fps_min", jfig(&c->fan_min_fps[i]),
			"cam_reads_per_s", jfig(&c->fan_cam_reads[i]),
			"cam_reads_equal_each_client", jfig(&c->fan_read_once[i]),
			"cpu_s_per_1000_frames", jfig(&c->cpu_per_kframe[1 + i]),
			"rss_kb", jfig(&c->rss_fan_kb[i]),
			"ratio_to_1_client", jratio(&c->fan_fps[i], &c->omvd_fps[0]),
			"bench_cpu_share", jfig(&c->fan_bench_cpu_share[i])));
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:o, s:o}, s:{s:o, s:o}, "
			 "s:{s:o, s:o, s:o, s:o, s:o}, s:o, s:o, s:{s:o, s:o, s:o}}",
		"profile", bench_profiles[p].name,
		"frames", bench_kinds[k].name,
		"frame_bytes", jfig(&c->frame_bytes),
		"limit_fps", jfig(&c->limit_fps),
		"pty_copy_mb_per_s", jfig(&c->pty_copy_mbps),
		"direct", "acks_fps", jfig(&c->direct_fps[0]), "noacks_fps", jfig(&c->direct_fps[1]),
		"camsim", "fps_per_cpu_s", jfig(&c->camsim_cpu_fps),
			  "cpu_share", jfig(&c->camsim_cpu_share),
		"omvd_1",
			"passthrough_fps", jfig(&c->omvd_fps[0]),
			"passthrough_mb_per_s", jfig(&c->omvd_mbps[0]),
			"rgb888_fps", jfig(&c->omvd_fps[1]),
			"rgb888_mb_per_s", jfig(&c->omvd_mbps[1]),
			"cpu_s_per_1000_frames", jfig(&c->cpu_per_kframe[0]),
		"omvd_fanout", fan,
		"frame_work", frame_work_json(c),
		"ratios",
			"omvd_over_direct", jratio(&c->omvd_fps[0], &c->direct_fps[0]),
			"omvd_over_limit", jratio(&c->omvd_fps[0], &c->limit_fps),
			"per_client_8_over_1", jratio(&c->fan_fps[0], &c->omvd_fps[0]));
}

static json_t *rtt_json(int p, const struct rtt_figs *f)
{
	json_t *o = json_pack("{s:s}", "profile", bench_profiles[p].name);

	for (int m = 0; m < N_RTT_MODES; m++) {
		json_t *mo = json_object();
		for (int c = 0; c < N_RTT_CALLS; c++)
			json_object_set_new(mo, rtt_call_names[c],
					    json_pack("{s:o, s:o}", "p50_ms", jfig(&f->p50_ms[m][c]),
						      "p99_ms", jfig(&f->p99_ms[m][c])));
		json_object_set_new(o, rtt_mode_names[m], mo);
	}
	return o;
}

static json_t *jnum(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *lossy_json(const struct bench_opts *o, const struct bench_results *r)
{
	json_t *a = json_array();

	for (int i = 0; o->lossy_on && !o->no_omvd && i < N_LOSSY; i++) {
		const struct lossy_level *lv = &bench_lossy_levels[i];
		const struct lossy_figs *f = &r->lossy[i];

		json_array_append_new(a, json_pack("{s:s, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			"faults", lv->name,
			"drop_and_corrupt_rate", lv->rate,
			"fps", jfig(&f->fps),
			"ratio_to_clean", jfig(&f->ratio),
			"ratio_target", jnum(lv->min_ratio),
			"calls", jfig(&f->calls),
			"calls_ok_pct", jfig(&f->calls_ok_pct),
			"calls_ok_target_pct", jnum(lv->min_calls_pct),
			"bad_frames_worst_run", jnum(fig_max(&f->bad_frames)),
			"faults_per_s", jfig(&f->faults_per_s)));
	}
	return a;
}

int report_json(const struct bench_opts *o, const struct bench_results *r, const char *path)
{
	json_t *root, *combos = json_array(), *rtts = json_array();
	int rc;

	for (int p = 0; p < N_PROFILES; p++) {
		if (!o->profile_on[p])
			continue;
		for (int k = 0; k < N_KINDS; k++)
			if (o->kind_on[k])
				json_array_append_new(combos, combo_json(p, k, &r->combo[p][k]));
		json_array_append_new(rtts, rtt_json(p, &r->rtt[p]));
	}
	root = json_pack("{s:i, s:s, s:s, s:{s:i, s:f, s:i, s:f, s:f, s:b}, s:o, s:o, s:o, "
			 "s:{s:o, s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o}, s:o, s:o}",
		"format", 1,
		"machine", r->machine,
		"started", r->started,
		"options", "runs", (int)r->runs_done, "window_s", o->window_s,
			   "calls", (int)o->calls, "churn_s", o->churn_s,
			   "lossy_s", o->lossy_s, "omvd", !o->no_omvd,
		"streams", combos,
		"round_trips", rtts,
		"lossy", lossy_json(o, r),
		"memory",
			"rss_idle_kb", jfig(&r->mem.rss_idle_kb),
			"rss_64_clients_kb", jfig(&r->mem.rss_64_kb),
			"rss_after_churn_kb", jfig(&r->mem.rss_churn_kb),
			"churn_sessions", jfig(&r->mem.churn_sessions),
			"churn_frames", jfig(&r->mem.churn_frames),
		"crc32",
			"omv_crc32_mb_per_s", jfig(&r->crc.table_mbps),
			"bitwise_mb_per_s", jfig(&r->crc.bitwise_mbps),
			"speedup", jratio(&r->crc.table_mbps, &r->crc.bitwise_mbps),
		"shm_vga_rgb888", shm_json(&r->shm),
		"targets", o->no_omvd ? json_array() : targets_json(o, r));
	if (!root) {
		fprintf(stderr, "omvd-bench: cannot build the JSON report\n");
		return -1;
	}
	rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	if (rc < 0)
		fprintf(stderr, "omvd-bench: cannot write %s\n", path);
	json_decref(root);
	return rc;
}
