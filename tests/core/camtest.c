/* Scaffolding of the camera tests (see camtest.h). */
#include "camtest.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/frame.h"
#include "daemon/log.h"

static void on_link(void *ctx, enum link_state st, const char *reason)
{
	struct t *t = ctx;

	if (t->nstates < 256) {
		t->states[t->nstates] = st;
		snprintf(t->reasons[t->nstates], sizeof t->reasons[0], "%s", reason);
		t->nstates++;
	}
}

static void on_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code)
{
	((struct t *)ctx)->events++;
}

static void on_channels(void *ctx)
{
	((struct t *)ctx)->channels_changed++;
}

static void on_stdout(void *ctx, const char *text, size_t len)
{
	struct t *t = ctx;

	CHECK(t->out_len + len < sizeof t->out);
	memcpy(t->out + t->out_len, text, len);
	t->out_len += len;
	t->out[t->out_len] = '\0';
}

static void on_frame(void *ctx, struct frame *f)
{
	struct t *t = ctx;

	if (t->nframes < 256)
		t->frames[t->nframes++] = f->number;
}

static void on_state(void *ctx)
{
	((struct t *)ctx)->state_changed++;
}

static void on_lock_lost(void *ctx, struct cam_owner *owner, uint8_t chan, const char *reason)
{
	struct t *t = ctx;

	t->locks_lost++;
	t->lost_chan = chan;
}

const struct camera_listener ct_listener = {
	on_link, on_event, on_channels, on_stdout, on_frame, on_state, on_lock_lost,
};

bool is_ready(void *arg)
{
	return camera_state(((struct t *)arg)->cam) == LINK_READY;
}

bool is_closed(void *arg)
{
	return camera_state(((struct t *)arg)->cam) == LINK_CLOSED;
}

void setup_opts(struct t *t, uint16_t cam_payload, bool with_cam, unsigned max_retry)
{
	struct camera_options o;

	memset(t, 0, sizeof *t);
	t->base = event_base_new();
	snprintf(t->link, sizeof t->link, "%s/cam", tu_tmpdir());
	if (with_cam)
		t->fc = fakecam_new(t->base, t->link, cam_payload);
	camera_options_default(&o);
	o.port = t->link;
	o.timeout_ms = TIMEOUT_MS;
	o.max_retry = max_retry;
	o.stdout_history = 1024;
	t->cam = camera_new(t->base, &o, &ct_listener, t);
	CHECK(t->cam != NULL);
}

void setup(struct t *t, uint16_t cam_payload)
{
	setup_opts(t, cam_payload, true, 3);
	CHECK(tu_run_until(t->base, is_ready, t, WAIT_MS));
}

void teardown(struct t *t)
{
	camera_free(t->cam);
	fakecam_free(t->fc);
	event_base_free(t->base);
	tu_cleanup();
}

int order[1024];
int norder;

void done_cb(void *arg, const struct cam_reply *r)
{
	struct call *c = arg;

	CHECK(!c->called);
	c->called = true;
	c->err = r->err;
	c->status = r->status;
	c->len = r->len < sizeof c->data ? r->len : sizeof c->data;
	if (r->len > 0)
		memcpy(c->data, r->data, c->len);
	order[norder++] = c->tag;
}

bool call_done(void *arg)
{
	return ((struct call *)arg)->called;
}

void wait_call(struct t *t, struct call *c)
{
	CHECK(tu_run_until(t->base, call_done, c, WAIT_MS));
}

int camtest_main(const struct camtest_case *cases, size_t n, int argc, char **argv)
{
	int ran = 0;

	log_init("test-camera", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
			continue;
		fprintf(stderr, "== %s\n", cases[i].name);
		cases[i].fn();
		ran++;
	}
	if (ran == 0) {
		fprintf(stderr, "no test named %s\n", argv[1]);
		return 1;
	}
	return 0;
}
