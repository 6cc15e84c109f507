/*
 * Shared scaffolding of the camera tests: a camera on the fake cam in a
 * fresh event loop, a listener that records what it is told, and a
 * completion recorder for requests.
 */
#ifndef CAMTEST_H
#define CAMTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/camera.h"
#include "fakecam.h"
#include "testutil.h"

#define TIMEOUT_MS 200
#define WAIT_MS 10000	/* a deadline: only a failing test waits it out */

struct t {
	struct event_base *base;
	struct fakecam *fc;
	struct camera *cam;
	char link[512];
	enum link_state states[256];
	char reasons[256][128];
	int nstates;
	int channels_changed, state_changed, events;
	int locks_lost;		/* lock_lost calls, the last for lost_chan */
	uint8_t lost_chan;
	char out[8192];
	size_t out_len;
	uint64_t frames[256];
	int nframes;
};

extern const struct camera_listener ct_listener;

/* Camera (timeout TIMEOUT_MS) on t->link; with_cam puts a fake cam there. */
void setup_opts(struct t *t, uint16_t cam_payload, bool with_cam, unsigned max_retry);
/* The same, with a cam, waiting until the link is ready. */
void setup(struct t *t, uint16_t cam_payload);
void teardown(struct t *t);
bool is_ready(void *arg);
bool is_closed(void *arg);

/* Each request records into a call, and its tag into order[]. */
struct call {
	int tag;
	bool called;
	int err;
	uint16_t status;
	uint8_t data[1024];
	size_t len;
};
extern int order[1024];
extern int norder;
void done_cb(void *arg, const struct cam_reply *r);
bool call_done(void *arg);
void wait_call(struct t *t, struct call *c);

/* A named test case; camtest_main runs the one named by argv[1], or all. */
struct camtest_case {
	const char *name;
	void (*fn)(void);
};
int camtest_main(const struct camtest_case *cases, size_t n, int argc, char **argv);

#endif
