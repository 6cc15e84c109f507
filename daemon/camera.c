/*
 * The camera: one cam link, the host protocol state machine driven from
 * libevent (input, deadline timer), the answers to requests (resync and
 * retry once on protocol errors) and the dispatcher that gives the wire
 * to one command at a time, the link program (cam_prog.c) first.
 * Completed answers and cam events are handled from a deferred "kick"
 * callback, never inside the protocol's own callbacks.
 */
#include "cam_int.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam_link.h"
#include "clock.h"
#include "frame.h"
#include "log.h"
#include "stdout_log.h"

static void host_write(void *ctx, const uint8_t *buf, size_t len);
static void host_done(void *ctx, const struct omv_result *res);
static void host_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code);
static const struct omv_host_ops host_ops = { host_write, host_done, host_event };

static void link_up(void *ctx);
static void link_input(void *ctx, const uint8_t *data, size_t len);
static void link_down(void *ctx, const char *reason);
static const struct cam_link_ops link_ops = { link_up, link_input, link_down };

const char *link_state_name(enum link_state s)
{
	switch (s) {
	case LINK_CLOSED: return "closed";
	case LINK_OPENING: return "opening";
	case LINK_SYNCING: return "syncing";
	case LINK_NEGOTIATING: return "negotiating";
	case LINK_READY: return "ready";
	}
	return "?";
}

const char *cam_err_message(int err)
{
	switch (err) {
	case CAM_OK: return "ok";
	case CAM_E_NOT_CONNECTED: return "cam not connected";
	case CAM_E_TIMEOUT: return "timeout";
	case CAM_E_STATUS: return "cam answered with an error status";
	case CAM_E_NO_CHANNEL: return "channel not found";
	case CAM_E_BUSY: return "busy";
	case CAM_E_PROTOCOL: return "protocol error";
	case CAM_E_INVALID: return "invalid request";
	case CAM_E_TOO_BIG: return "response too large";
	case CAM_E_LOCKED: return "channel locked by another client";
	}
	return "unknown error";
}

void camera_options_default(struct camera_options *o)
{
	memset(o, 0, sizeof *o);
	o->port = "/dev/ttyACM0";
	o->baudrate = 921600;
	o->want.crc = o->want.seq = o->want.ack = o->want.events = true;
	o->want.max_payload = 4096;
	o->timeout_ms = 1000;
	o->max_retry = 3;
	o->drop_rate = 0.0;
	o->seed = 1;
	o->max_response = 32u << 20;
	o->stdout_history = 64u << 10;
}

uint64_t cam_now(void)
{
	return clock_now_ms();
}

uint16_t cam_max_payload(const struct camera *c)
{
	return c->host.caps.max_payload;
}

/* ------------------------------------------------------------------ */
/* state and notifications */

void cam_set_state(struct camera *c, enum link_state st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof c->reason, fmt, ap);
	va_end(ap);
	c->state = st;
	if (c->listener.link_changed != NULL)
		c->listener.link_changed(c->lctx, st, c->reason);
}

void cam_kick(struct camera *c)
{
	event_active(c->kick_ev, EV_TIMEOUT, 0);
}

static void arm_deadline(struct camera *c)
{
	uint64_t d = omv_host_deadline(&c->host), now;
	struct timeval tv;

	if (d == OMV_DEADLINE_NONE) {
		evtimer_del(c->deadline_ev);
		return;
	}
	/* The host's next probe or give-up: it moves with every packet that
	 * makes progress (the timeout counts silence, however long the
	 * answer), and stays put for anything else. */
	if (d == c->deadline_armed && evtimer_pending(c->deadline_ev, NULL))
		return;
	c->deadline_armed = d;
	now = cam_now();
	d = d > now ? d - now : 0;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)(d % 1000) * 1000;
	evtimer_add(c->deadline_ev, &tv);
}

static void arm_park(struct camera *c)
{
	uint64_t d = cam_park_deadline(c), now = cam_now_us();
	struct timeval tv;

	if (d == 0) {
		evtimer_del(c->park_ev);
		return;
	}
	d = d > now ? d - now : 0;
	tv.tv_sec = (time_t)(d / 1000000);
	tv.tv_usec = (suseconds_t)(d % 1000000);
	evtimer_add(c->park_ev, &tv);
}

/* ------------------------------------------------------------------ */
/* the protocol's callbacks: record, then let the kick handle it */

static void host_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct camera *c = ctx;

	/* A full queue means the cam stopped reading; the deadline of the
	 * command in flight will notice. */
	(void)cam_link_write(c->link, buf, len);
}

static void release_result(struct camera *c)
{
	if (!c->res_borrowed)
		free(c->res_data);
	c->res_data = NULL;
	c->res_len = 0;
	c->res_borrowed = false;
}

static void host_done(void *ctx, const struct omv_result *res)
{
	struct camera *c = ctx;

	if (c->host_cancelling)
		return;
	release_result(c);
	c->res_code = res->code;
	c->res_status = res->status;
	if (res->code == OMV_OK && res->len > 0 && c->rx_user != NULL && res->data == c->rx_user) {
		c->res_data = c->rx_user;	/* already where the sender wants it */
		c->res_len = res->len;
		c->res_borrowed = true;
	} else if (res->code == OMV_OK && res->len > 0) {
		c->res_data = malloc(res->len);
		if (c->res_data == NULL) {
			c->res_code = OMV_ERR_TOO_BIG;
		} else {
			memcpy(c->res_data, res->data, res->len);
			c->res_len = res->len;
		}
	}
	c->rx_user = NULL;
	c->result_ready = true;
	cam_kick(c);
}

/* Room in a full event queue: a NOTIFY only sets a flag, so the oldest
 * one gives its place up (its flag set now) before anything else does. */
static void evq_make_room(struct camera *c)
{
	for (unsigned i = 0; i < c->ev_count; i++) {
		unsigned at = (c->ev_head + i) % CAM_EVQ_SIZE;

		if (c->evq[at].code != OMV_EV_NOTIFY)
			continue;
		cam_note_notify(c, c->evq[at].chan);
		for (unsigned j = i; j + 1 < c->ev_count; j++)
			c->evq[(c->ev_head + j) % CAM_EVQ_SIZE] =
				c->evq[(c->ev_head + j + 1) % CAM_EVQ_SIZE];
		c->ev_count--;
		return;
	}
	c->ev_head = (c->ev_head + 1) % CAM_EVQ_SIZE;	/* all system events: oldest */
	c->ev_count--;
}

static void host_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code)
{
	struct camera *c = ctx;
	struct cam_event *e;

	if (c->ev_count == CAM_EVQ_SIZE) {
		if (code == OMV_EV_NOTIFY) {	/* a flood of them: keep the flag */
			cam_note_notify(c, chan);
			return;
		}
		evq_make_room(c);
	}
	e = &c->evq[(c->ev_head + c->ev_count) % CAM_EVQ_SIZE];
	e->chan = chan;
	e->opcode = opcode;
	e->code = code;
	c->ev_count++;
	cam_kick(c);
}

void cam_host_cancel(struct camera *c)
{
	c->host_cancelling = true;
	omv_host_cancel(&c->host);
	c->host_cancelling = false;
	c->rx_user = NULL;
}

/* ------------------------------------------------------------------ */
/* sending */

int cam_send_into(struct camera *c, struct cam_req *r, uint8_t opcode, uint8_t chan,
		  const void *payload, size_t len, uint8_t *rx, size_t rx_cap)
{
	if (len > c->host.caps.max_payload ||
	    omv_host_command(&c->host, opcode, chan, payload, len, cam_now(),
			     c->opt.timeout_ms, rx, rx_cap) < 0)
		return -1;
	c->rx_user = rx;
	c->inflight = INF_REQ;
	c->cur = r;
	c->sent_op = opcode;
	c->sent_chan = chan;
	return 0;
}

int cam_send(struct camera *c, struct cam_req *r, uint8_t opcode, uint8_t chan,
	     const void *payload, size_t len)
{
	return cam_send_into(c, r, opcode, chan, payload, len, NULL, 0);
}

int cam_send_ioctl(struct camera *c, struct cam_req *r, uint8_t chan, uint32_t request,
		   const void *arg, size_t arg_len)
{
	uint8_t buf[OMV_PAYLOAD_LIMIT];
	size_t n = omv_ioctl_req_encode(request, arg, arg_len, buf, sizeof buf);

	if (n == 0)
		return -1;
	return cam_send(c, r, OMV_OP_CHANNEL_IOCTL, chan, buf, n);
}

void cam_send_noreply(struct camera *c, struct cam_req *r, uint8_t opcode)
{
	(void)r;
	(void)omv_host_send_noreply(&c->host, opcode, OMV_CHAN_SYSTEM);
}

uint8_t *cam_take_result(struct camera *c)
{
	uint8_t *p = c->res_data;

	if (c->res_borrowed)
		return NULL;
	c->res_data = NULL;
	return p;
}

/* ------------------------------------------------------------------ */
/* link life */

/* Everything that belonged to the link that just went away. */
static void link_gone(struct camera *c, const char *reason)
{
	bool was_up = c->established;
	const struct omv_host_stats *h = &c->host.stats;

	cam_host_cancel(c);
	c->past.sent += h->sent;
	c->past.received += h->received;
	c->past.checksum += h->checksum;
	c->past.sequence += h->sequence;
	c->past.duplicates += h->duplicates;
	c->past.events += h->events;
	c->past.timeouts += h->timeouts;
	c->past.damaged += h->damaged;
	c->past.probes += h->probes;
	c->past.resent += h->resent;
	omv_host_reset(&c->host);
	c->inflight = INF_NONE;
	c->cur = NULL;
	c->retry = NULL;
	c->result_ready = false;
	c->prog = 0;
	c->prog_step = 0;
	c->prog_running = false;
	c->established = false;
	c->ready_since = 0;
	c->draining = c->fetching = c->polling = false;
	c->stdout_pending = c->frame_pending = false;
	c->ev_count = 0;
	cam_locks_drop(c, "the cam link was lost");
	evtimer_del(c->deadline_ev);
	if (was_up || strcmp(reason, c->last_down) != 0)
		log_warn("cam %s: link down: %s", c->port, reason);
	snprintf(c->last_down, sizeof c->last_down, "%s", reason);
	cam_set_state(c, LINK_CLOSED, "%s", reason);
	/* Whatever runs on the cam when it comes back, we will hear of it; a
	 * stale "running" would make exec wait for an end. The cause before
	 * its effect: a follower learns the link is gone before it hears that
	 * the script stopped. */
	cam_script_lost(c);
	cam_fail_all(c, false);
}

/* We give up on the link: close it, reopen after the backoff. */
void cam_link_drop(struct camera *c, const char *reason)
{
	cam_link_close(c->link);
	link_gone(c, reason);
}

static void link_up(void *ctx)
{
	struct camera *c = ctx;

	omv_host_reset(&c->host);
	memset(&c->cam_stream, 0, sizeof c->cam_stream);
	c->resync_failures = 0;
	cam_set_state(c, LINK_OPENING, "port %s opened", c->port);
	cam_prog_request(c, PROG_HANDSHAKE, "connect");
	cam_kick(c);
}

static void link_down(void *ctx, const char *reason)
{
	struct camera *c = ctx;

	/* A failed reopen while already closed: tell once per reason. */
	if (c->state == LINK_CLOSED && strcmp(reason, c->last_down) == 0)
		return;
	link_gone(c, reason);
}

static uint32_t rng_next(struct camera *c)
{
	uint32_t x = c->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return c->rng = x;
}

static void link_input(void *ctx, const uint8_t *data, size_t len)
{
	struct camera *c = ctx;

	if (c->opt.drop_rate > 0 &&
	    (double)rng_next(c) / 4294967296.0 < c->opt.drop_rate)
		return;
	omv_host_input(&c->host, data, len, cam_now());
	arm_deadline(c);
}

/* ------------------------------------------------------------------ */
/* answers to requests */

static bool is_protocol_error(const struct camera *c)
{
	if (c->res_code == OMV_ERR_TIMEOUT || c->res_code == OMV_ERR_PROTOCOL)
		return true;
	return c->res_code == OMV_ERR_NAK &&
	       (c->res_status == OMV_ST_CHECKSUM || c->res_status == OMV_ST_SEQUENCE ||
		c->res_status == OMV_ST_TIMEOUT);
}

static void req_result(struct camera *c, struct cam_req *r)
{
	struct cam_reply rep = { 0 };
	char what[64];

	if (is_protocol_error(c)) {
		if (c->res_code == OMV_ERR_NAK)
			snprintf(what, sizeof what, "NAK %s", omv_status_name(c->res_status));
		else
			snprintf(what, sizeof what, "%s", omv_result_name(c->res_code));
		/* NAK SEQUENCE is what a cam that soft-rebooted unseen (its
		 * event lost, or events off) answers: treat it like the event. */
		if (c->res_code == OMV_ERR_NAK && c->res_status == OMV_ST_SEQUENCE)
			cam_reinit_seen(c, "NAK SEQUENCE");
		else
			cam_prog_request(c, PROG_RESYNC, c->res_code == OMV_ERR_TIMEOUT ? "timeout" :
					 c->res_code == OMV_ERR_PROTOCOL ? "unexpected answer" :
					 what);
		if (r == NULL)
			return;
		if (!r->retried) {
			r->retried = true;
			c->retry = r;
			c->counters.retries++;
			log_debug("cam %s: %s failed (%s), retrying after resync", c->port,
				  r->ops->name, what);
			return;
		}
		r->retried = false;
		rep.err = c->res_code == OMV_ERR_TIMEOUT ? CAM_E_TIMEOUT : CAM_E_PROTOCOL;
		rep.status = c->res_status;
		r->ops->result(c, r, &rep);
		return;
	}
	if (c->res_code == OMV_ERR_TOO_BIG)	/* the rest of it is still coming */
		cam_prog_request(c, PROG_RESYNC, "oversized answer");
	if (r == NULL) {
		/* Its owner left while it was on the wire; a lock it got
		 * must not stay taken on the cam. */
		if (c->res_code == OMV_OK && c->sent_op == OMV_OP_CHANNEL_LOCK)
			cam_unlock_for_daemon(c, c->sent_chan);
		return;
	}
	r->retried = false;
	c->resync_failures = 0;
	switch (c->res_code) {
	case OMV_OK:
		rep.err = CAM_OK;
		rep.data = c->res_data;
		rep.len = c->res_len;
		break;
	case OMV_ERR_NAK:
		rep.err = c->res_status == OMV_ST_BUSY ? CAM_E_BUSY : CAM_E_STATUS;
		rep.status = c->res_status;
		break;
	case OMV_ERR_TOO_BIG:
		rep.err = CAM_E_TOO_BIG;
		break;
	default:
		rep.err = CAM_E_PROTOCOL;
		break;
	}
	r->ops->result(c, r, &rep);
}

static void handle_result(struct camera *c)
{
	enum inflight kind = c->inflight;
	struct cam_req *r = c->cur;

	c->result_ready = false;
	c->inflight = INF_NONE;
	c->cur = NULL;
	if (kind == INF_PROG)
		cam_prog_result(c);
	else if (kind == INF_REQ)
		req_result(c, r);
	release_result(c);
}

/* ------------------------------------------------------------------ */
/* dispatch */

static void dispatch(struct camera *c)
{
	uint64_t now = cam_now_us();
	unsigned guard;

	if (!c->established)
		cam_fail_all(c, cam_link_is_open(c->link));
	if (!cam_link_is_open(c->link))
		return;
	for (guard = 0; guard < 100000; guard++) {
		struct cam_req *r;

		if (c->inflight != INF_NONE || c->result_ready || !cam_link_is_open(c->link))
			return;
		if (c->prog_running) {
			if (!cam_prog_issue(c))
				return;	/* a step waits for its time */
			continue;
		}
		if (!c->established)
			return;
		if (c->retry != NULL) {
			r = c->retry;
			c->retry = NULL;
		} else {
			cam_fetch_maybe_start(c);
			r = cam_pick(c, now);
			if (r == NULL)
				return;
			if (!r->owner->internal)
				c->client_turn_us = now;
		}
		r->ops->issue(c, r);
	}
	log_err("cam %s: dispatcher made no progress", c->port);
}

/* With events, a fetch is tried now and then while frames are wanted;
 * without, the cam is asked what it has (CHANNEL_POLL) at a steady pace. */
static void arm_poll(struct camera *c)
{
	uint64_t due, now = cam_now();
	struct timeval tv = { 0, 0 };
	bool idle;

	if (!c->host.caps.events) {
		idle = !c->polling;
		due = c->last_poll_ms + (cam_wants_frames(c) ? CAM_POLL_STREAM_MS : CAM_POLL_IDLE_MS);
	} else {
		idle = !c->fetching && !c->frame_pending && cam_wants_frames(c);
		due = c->last_fetch_ms + cam_fetch_poll_ms(c);
	}
	if (!c->established || !idle) {
		evtimer_del(c->poll_ev);
		return;
	}
	if (due > now)
		tv.tv_usec = (suseconds_t)(due - now) * 1000;
	evtimer_add(c->poll_ev, &tv);
}

static void run(struct camera *c)
{
	if (c->result_ready)
		handle_result(c);
	cam_handle_events(c);
	cam_deliver_refused(c);
	dispatch(c);
	arm_deadline(c);
	arm_park(c);
	arm_poll(c);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	run(arg);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct camera *c = arg;

	if (!c->host.caps.events) {
		cam_poll_start(c);
	} else {
		c->frame_pending = true;
		c->frame_poll = true;
	}
	run(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct camera *c = arg;

	omv_host_tick(&c->host, cam_now());
	run(c);
}

/* ------------------------------------------------------------------ */
/* public: lifecycle and cached state */

struct camera *camera_new(struct event_base *base, const struct camera_options *o,
			  const struct camera_listener *l, void *ctx)
{
	struct camera *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->base = base;
	c->opt = *o;
	c->port = strdup(o->port ? o->port : "/dev/ttyACM0");
	c->opt.port = c->port;
	if (l != NULL)
		c->listener = *l;
	c->lctx = ctx;
	c->rng = o->seed ? o->seed : 1;
	TAILQ_INIT(&c->owners);
	TAILQ_INIT(&c->refused);
	c->log = stdout_log_new(o->stdout_history ? o->stdout_history : 1);
	c->kick_ev = event_new(base, -1, 0, on_kick, c);
	c->deadline_ev = evtimer_new(base, on_deadline, c);
	c->park_ev = evtimer_new(base, on_kick, c);
	c->poll_ev = evtimer_new(base, on_poll, c);
	if (c->port == NULL || c->log == NULL || c->kick_ev == NULL ||
	    c->deadline_ev == NULL || c->park_ev == NULL || c->poll_ev == NULL ||
	    omv_host_init(&c->host, &host_ops, c, o->max_response) < 0) {
		stdout_log_free(c->log);
		if (c->kick_ev) event_free(c->kick_ev);
		if (c->deadline_ev) event_free(c->deadline_ev);
		if (c->park_ev) event_free(c->park_ev);
		if (c->poll_ev) event_free(c->poll_ev);
		free(c->port);
		free(c);
		return NULL;
	}
	event_priority_set(c->kick_ev, CAM_EVENT_PRIORITY);
	event_priority_set(c->deadline_ev, CAM_EVENT_PRIORITY);
	event_priority_set(c->park_ev, CAM_EVENT_PRIORITY);
	event_priority_set(c->poll_ev, CAM_EVENT_PRIORITY);
	c->sys = cam_owner_make(c, true);
	c->out_owner = cam_owner_make(c, true);
	c->frame_owner = cam_owner_make(c, true);
	c->link = cam_link_new(base, c->port, o->baudrate, &link_ops, c);
	if (c->sys == NULL || c->out_owner == NULL || c->frame_owner == NULL || c->link == NULL) {
		camera_free(c);
		return NULL;
	}
	c->state = LINK_CLOSED;
	snprintf(c->reason, sizeof c->reason, "starting");
	cam_link_start(c->link);
	return c;
}

/* Run the link outside the loop until the host is idle or the deadline
 * passes; false if the link failed or time ran out. */
static bool pump_until_idle(struct camera *c, uint64_t deadline)
{
	uint64_t now;

	while (omv_host_busy(&c->host) && (now = cam_now()) < deadline) {
		if (cam_link_pump(c->link, (unsigned)(deadline - now)) < 0)
			return false;
		omv_host_tick(&c->host, cam_now());
	}
	return !omv_host_busy(&c->host);
}

/*
 * Streaming we turned on goes off with the daemon. The loop is no longer
 * ours to run at this point, so the exchange is done synchronously,
 * bounded by one command timeout: let the command on the wire finish,
 * then STREAM_CTRL 0 and wait for its answer.
 */
static void streaming_off_on_exit(struct camera *c)
{
	uint64_t deadline = cam_now() + c->opt.timeout_ms;
	uint8_t arg[4], buf[8];
	size_t n;

	if (!c->established || !c->cam_stream.on || !cam_link_is_open(c->link))
		return;
	if (!pump_until_idle(c, deadline))
		return;
	omv_put_u32(arg, 0);
	n = omv_ioctl_req_encode(OMV_IOCTL_STREAM_CTRL, arg, sizeof arg, buf, sizeof buf);
	if (omv_host_command(&c->host, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STREAM, buf, n,
			     cam_now(), c->opt.timeout_ms, NULL, 0) == 0)
		pump_until_idle(c, deadline);
}

void camera_free(struct camera *c)
{
	struct cam_owner *o;

	if (c == NULL)
		return;
	if (c->link != NULL) {
		streaming_off_on_exit(c);
		cam_link_free(c->link);	/* flushes what is queued */
		c->link = NULL;
	}
	cam_host_cancel(c);
	c->retry = NULL;
	c->cur = NULL;
	while ((o = TAILQ_FIRST(&c->owners)) != NULL)
		cam_owner_destroy(o);
	omv_host_free(&c->host);
	release_result(c);
	if (c->latest != NULL)
		frame_unref(c->latest);
	stdout_log_free(c->log);
	event_free(c->kick_ev);
	event_free(c->deadline_ev);
	event_free(c->park_ev);
	event_free(c->poll_ev);
	free(c->port);
	free(c);
}

void camera_reopen(struct camera *c)
{
	bool was_open = cam_link_is_open(c->link);

	cam_link_reopen(c->link);
	if (was_open)
		link_gone(c, "reopen requested");
}
