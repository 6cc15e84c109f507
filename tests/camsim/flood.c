/*
 * The event flood (--event-flood N, control "set event-flood N"): a hostile
 * cam that sends N NOTIFY events per second, alternating between stdout
 * and stream, whatever the host does with them. A 1 ms timer sends what
 * is due since the flood started, so any rate comes out right on average.
 */
#include <stdlib.h>

#include "camsim.h"

#define FLOOD_TICK_US 1000
#define FLOOD_BURST_MAX 1000	/* events per tick, after a stall */

struct flood {
	struct event *timer;
	double rate;		/* events per second */
	uint64_t start_us;
	uint64_t sent;		/* since start_us */
};

static void on_flood(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	struct flood *f = s->flood;
	uint64_t due = (uint64_t)((double)(sim_now_us() - f->start_us) * f->rate / 1e6);
	unsigned n = 0;

	if (due > f->sent + FLOOD_BURST_MAX)
		f->sent = due - FLOOD_BURST_MAX;	/* a stall is not made up in full */
	while (f->sent < due && n++ < FLOOD_BURST_MAX) {
		f->sent++;
		if (s->cam_up && s->plugged && s->active)
			omv_cam_event(&s->cam, f->sent % 2 ? OMV_CHAN_STDOUT : OMV_CHAN_STREAM,
				      OMV_EV_NOTIFY);
	}
}

void flood_set_rate(struct sim *s, double per_second)
{
	struct flood *f = s->flood;
	struct timeval tv = { 0, FLOOD_TICK_US };

	f->rate = per_second;
	f->start_us = sim_now_us();
	f->sent = 0;
	if (per_second > 0)
		event_add(f->timer, &tv);
	else
		event_del(f->timer);
}

int flood_init(struct sim *s)
{
	struct flood *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	s->flood = f;
	f->timer = event_new(s->base, -1, EV_PERSIST, on_flood, s);
	if (!f->timer)
		return -1;
	flood_set_rate(s, s->o.event_flood);
	return 0;
}

void flood_free(struct sim *s)
{
	struct flood *f = s->flood;

	if (!f)
		return;
	if (f->timer)
		event_free(f->timer);
	free(f);
	s->flood = NULL;
}
