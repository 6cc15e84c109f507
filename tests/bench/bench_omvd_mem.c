/*
 * omvd's resident memory: idle, with 64 streaming clients, and after a
 * spell of client churn (sessions that connect, subscribe, enable
 * streaming, take a few frames and leave, half of them politely, half by
 * just closing the socket). Growth after churn points at leaks.
 */
#include <stdio.h>

#include "bench.h"
#include "bench_omvd.h"
#include "bench_rpc.h"

#define CHURN_SLOTS 8
#define CHURN_FRAMES 3		/* frames per session */
#define CHURN_SESSION_S 1.0	/* or this long, whichever comes first */
#define SETTLE_TIMEOUT_S 5.0

static const struct frame_kind qvga = { "qvga-jpeg", 320, 240, false, 0 };

static double rss_of(const struct omvd *d)
{
	return (double)proc_rss_kb(d->proc.pid);
}

/* Peak VmRSS while 64 clients stream for a window. */
static int rss_streaming(const struct bench_opts *o, struct omvd *d, struct mem_figs *out)
{
	struct fleet f;
	double peak = 0, end;
	int rc = -1;

	if (fleet_open(&f, d->sock, 64) < 0) {
		bench_fail("cannot connect 64 clients to omvd");
		return -1;
	}
	for (unsigned i = 0; i < f.n; i++)
		if (subscribe_frames(&f, i, "jpeg") < 0)
			goto out;
	if (stream_enable(&f, 0, &qvga, true) < 0)
		goto out;
	if (fleet_wait_frames(&f, 0, 1, 10.0) < 0) {
		bench_fail("memory: not every client got a frame");
		goto out;
	}
	end = now_s() + o->window_s;
	while (now_s() < end) {
		double rss = rss_of(d);
		if (rss > peak)
			peak = rss;
		fleet_pump(&f, 0.1, false);
	}
	fig_add(&out->rss_64_kb, peak);
	rc = 0;
out:
	fleet_close(&f);
	return rc;
}

static int session_start(struct fleet *f, unsigned i, const char *sock)
{
	if (fleet_reconnect(f, i, sock) < 0) {
		bench_fail("churn: cannot connect to omvd");
		return -1;
	}
	if (subscribe_frames(f, i, "jpeg") < 0 || stream_enable(f, i, &qvga, true) < 0)
		return -1;
	return 0;
}

static int churn(const struct bench_opts *o, struct omvd *d, struct mem_figs *out)
{
	double started[CHURN_SLOTS], end = now_s() + o->churn_s, frames = 0;
	unsigned sessions = 0;
	struct fleet f;
	int rc = -1;

	if (fleet_open(&f, d->sock, CHURN_SLOTS) < 0) {
		bench_fail("churn: cannot connect to omvd");
		return -1;
	}
	for (unsigned i = 0; i < CHURN_SLOTS; i++) {
		if (session_start(&f, i, d->sock) < 0)
			goto out;
		started[i] = now_s();
	}
	while (now_s() < end) {
		for (unsigned i = 0; i < CHURN_SLOTS; i++) {
			struct fclient *c = &f.c[i];
			if (c->total_frames < CHURN_FRAMES && now_s() - started[i] < CHURN_SESSION_S)
				continue;
			sessions++;
			frames += c->total_frames;
			/* every other session leaves politely */
			if (sessions % 2 &&
			    (call_ok(&f, i, "unsubscribe", json_pack("{s:[s]}", "topics", "frame")) < 0 ||
			     stream_enable(&f, i, &qvga, false) < 0))
				goto out;
			if (session_start(&f, i, d->sock) < 0)
				goto out;
			started[i] = now_s();
		}
		fleet_pump(&f, 0.01, true);
	}
	fig_add(&out->churn_sessions, (double)sessions);
	fig_add(&out->churn_frames, frames);
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "omvd-bench: churn stopped after %u sessions\n", sessions);
	fleet_close(&f);
	return rc;
}

/* Wait until omvd has let go of every client but the one asking. */
static void settle(struct omvd *d)
{
	double deadline = now_s() + SETTLE_TIMEOUT_S;
	struct fleet f;

	if (fleet_open(&f, d->sock, 1) < 0)
		return;
	while (now_s() < deadline) {
		json_t *r = fleet_call(&f, 0, "clients", NULL, 5.0);
		size_t n = json_array_size(r);
		json_decref(r);
		if (!r || n <= 1)
			break;
		sleep_s(0.05);
	}
	fleet_close(&f);
}

void bench_omvd_memory(const struct bench_opts *o, struct mem_figs *out)
{
	struct camsim cs;
	struct omvd d;

	if (camsim_start(&cs, o, &bench_profiles[0], &qvga) < 0)
		return;
	if (omvd_start(&d, o, &cs) < 0)
		goto out;
	fig_add(&out->rss_idle_kb, rss_of(&d));
	if (rss_streaming(o, &d, out) == 0 && churn(o, &d, out) == 0) {
		settle(&d);
		fig_add(&out->rss_churn_kb, rss_of(&d));
	}
	omvd_stop(&d);
out:
	camsim_stop(&cs);
}
