/*
 * omvd as a child of the bench, and the few calls every omvd measurement
 * makes (shared by bench_omvd.c and bench_omvd_mem.c).
 */
#ifndef OMV_BENCH_OMVD_H
#define OMV_BENCH_OMVD_H

#include <stdbool.h>

#include <jansson.h>

#include "bench.h"
#include "bench_rpc.h"

struct omvd {
	struct child proc;
	char sock[512];
};

/* omvd on camsim's link; returns once is_connected is true. */
int omvd_start(struct omvd *d, const struct bench_opts *o, const struct camsim *cs);
void omvd_stop(struct omvd *d);

/* Call on fleet client i, result not needed (params stolen); 0 if it succeeded. */
int call_ok(struct fleet *f, unsigned i, const char *method, json_t *params);
int stream_enable(struct fleet *f, unsigned i, const struct frame_kind *k, bool on);
int subscribe_frames(struct fleet *f, unsigned i, const char *format);

struct sample {
	double seconds, cpu, self_cpu, cam_reads;
	struct cam_counters c0, c1;
};
/* Count the fleet's frames over one window, with omvd's and the bench's
 * CPU time and camsim's frame reads over the same span. */
int sample_window(struct sample *s, const struct bench_opts *o, struct fleet *f,
		  struct omvd *d, struct camsim *cs);

/* Frame subscribers over one window. */
struct group {
	struct sample s;
	double fps_med, fps_min;	/* per client */
	double got_med;			/* frames the median client got */
	double bytes_per_frame;		/* read by the median client */
};
/* n clients subscribed in format (shared memory or not), client 0 also
 * enabling streaming; -1 when it could not be measured (said). */
int measure_subscribers(const struct bench_opts *o, struct omvd *d, struct camsim *cs,
			const struct frame_kind *k, unsigned n, const char *format, bool shm,
			struct group *g);

/* bench_frames.c: a poller against a subscriber taking no data, and 8
 * RGB888 subscribers, on the running omvd. */
void bench_frame_work(const struct bench_opts *o, struct omvd *d, struct camsim *cs,
		      const struct frame_kind *k, struct combo_figs *out);

#endif
