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

#endif
