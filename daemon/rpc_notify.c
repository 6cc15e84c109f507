/*
 * From camera callbacks to clients: the notification of each topic is
 * serialised once and the same bytes are queued for every subscriber;
 * frames go through rpc_frames (built once per encoding, off the loop);
 * stdout goes to each subscriber from its own cursor into the history,
 * whole characters of one run per line, as fast as the client takes it. A
 * subscriber without room in its output (rpc_client_has_room) gets what
 * waited once it has room again: its stdout, `link` and `state`
 * coalesced to the latest, the newest `event`s (the oldest dropped and
 * counted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "methods.h"
#include "rpc.h"
#include "rpc_client.h"
#include "rpc_frames.h"
#include "rpc_server.h"
#include "stdout_log.h"
#include "utf8.h"

static bool has_subscriber(struct rpc_server *s, unsigned topic)
{
	struct rpc_client *c;

	TAILQ_FOREACH(c, &s->clients, link)
		if (!c->closing && (c->topics & topic))
			return true;
	return false;
}

/* One notification line; params stolen. NULL (logged) when it cannot be built. */
static struct shared_line *note_line(const char *method, json_t *params)
{
	json_t *msg = rpc_notification(method, params);
	struct shared_line *line = msg != NULL ? shared_line_new(msg) : NULL;

	json_decref(msg);
	if (line == NULL)
		log_err("cannot build a %s notification", method);
	return line;
}

/* Replaces what waited in *slot with l. */
static void keep_latest(struct shared_line **slot, struct shared_line *l)
{
	shared_line_unref(*slot);
	l->refs++;
	*slot = l;
}

static void keep_event(struct rpc_client *c, struct shared_line *l)
{
	struct client_pending *p = &c->pending;

	if (p->ev_count == CLIENT_PENDING_EVENTS) {
		shared_line_unref(p->events[p->ev_head]);
		p->ev_head = (p->ev_head + 1) % CLIENT_PENDING_EVENTS;
		p->ev_count--;
		c->stats.notifications_dropped++;
	}
	l->refs++;
	p->events[(p->ev_head + p->ev_count) % CLIENT_PENDING_EVENTS] = l;
	p->ev_count++;
}

/* Sends l now, or keeps it (in its topic's way) until there is room;
 * what waits for a topic goes first. */
static void send_or_keep(struct rpc_client *c, unsigned topic, struct shared_line *l)
{
	struct client_pending *p = &c->pending;
	bool waiting = topic == TOPIC_LINK ? p->link != NULL
		     : topic == TOPIC_STATE ? p->state != NULL
		     : topic == TOPIC_EVENT ? p->ev_count > 0 : false;

	if (!waiting && rpc_client_has_room(c)) {
		rpc_client_send_shared(c, l);
		return;
	}
	switch (topic) {
	case TOPIC_LINK: keep_latest(&p->link, l); break;
	case TOPIC_STATE: keep_latest(&p->state, l); break;
	case TOPIC_EVENT: keep_event(c, l); break;
	default: rpc_client_send_shared(c, l); return;
	}
	c->out_full = true;	/* call us back when it drained */
}

static void send_kept(struct rpc_client *c, struct shared_line **slot)
{
	struct shared_line *l = *slot;

	*slot = NULL;
	rpc_client_send_shared(c, l);
	shared_line_unref(l);
}

void rpc_notify_client_clear(struct rpc_client *c)
{
	struct client_pending *p = &c->pending;

	rpc_frames_client_clear(c);
	shared_line_unref(p->link);
	shared_line_unref(p->state);
	while (p->ev_count > 0) {
		shared_line_unref(p->events[p->ev_head]);
		p->ev_head = (p->ev_head + 1) % CLIENT_PENDING_EVENTS;
		p->ev_count--;
	}
	memset(p, 0, sizeof *p);
}

/* Sends method(params) to every client subscribed to topic; params stolen. */
static void notify_topic(struct rpc_server *s, unsigned topic, const char *method, json_t *params)
{
	struct rpc_client *c;
	struct shared_line *line;

	if (!has_subscriber(s, topic)) {
		json_decref(params);
		return;
	}
	line = note_line(method, params);
	if (line == NULL)
		return;
	TAILQ_FOREACH(c, &s->clients, link)
		if (!c->closing && (c->topics & topic))
			send_or_keep(c, topic, line);
	shared_line_unref(line);
}

/* ---- stdout: every subscriber from its own cursor into the history ---- */

/* Text of one stdout notification at most. */
#define STDOUT_NOTE_MAX 16384

/* One notification's worth of a client's stdout backlog, as the text and
 * run the line will carry; *len 0 when nothing can be sent now. While the
 * script runs, a character whose last bytes have not arrived waits. */
struct stdout_piece {
	uint64_t from, to, missed, run;
	size_t len;
	char text[STDOUT_NOTE_MAX];
};

static void stdout_piece_take(const struct stdout_log *log, bool live, uint64_t from,
			      struct stdout_piece *p)
{
	bool run_done;

	p->from = p->to = from;
	p->len = stdout_log_read_run(log, &p->to, p->text, sizeof p->text, &p->missed, &p->run,
				     &run_done);
	if (p->len > 0 && !run_done && (live || p->to < stdout_log_end(log))) {
		size_t hold = utf8_incomplete_tail(p->text, p->len);

		p->len -= hold;
		p->to -= hold;
	}
}

static struct shared_line *stdout_line(const struct stdout_piece *p)
{
	return note_line("stdout", json_pack("{s:o, s:o}", "text",
					     utf8_json_string(p->text, p->len), "run",
					     p->run != 0 ? json_integer((json_int_t)p->run)
							 : json_null()));
}

/*
 * Sends a client what it has not had of stdout, while it has room. The
 * pieces of the clients at the same cursor are the same: the last one
 * built is kept in *last and shared. Returns true when the client is
 * level with the history (a state held for it may go now).
 */
static bool stdout_push(struct rpc_server *s, struct rpc_client *c, struct stdout_piece *last,
			struct shared_line **last_line)
{
	const struct stdout_log *log = camera_stdout(s->cam);
	struct camera_shared sh;

	camera_shared_state(s->cam, &sh);
	while (rpc_client_has_room(c)) {
		if (*last_line == NULL || last->from != c->stdout_sent) {
			shared_line_unref(*last_line);
			*last_line = NULL;
			stdout_piece_take(log, sh.script_running, c->stdout_sent, last);
			if (last->len == 0)
				return true;
			*last_line = stdout_line(last);
			if (*last_line == NULL)
				return true;
		}
		c->stats.stdout_missed += last->missed;
		c->stdout_sent = last->to;
		rpc_client_send_shared(c, *last_line);
	}
	return false;
}

/* Pushes a client's stdout; a state held back for it goes once its
 * stdout has all been sent. */
static void stdout_push_then_state(struct rpc_server *s, struct rpc_client *c,
				   struct stdout_piece *last, struct shared_line **last_line)
{
	c->stdout_behind = !stdout_push(s, c, last, last_line);
	if (c->stdout_behind)
		c->out_full = true;	/* call us back when it drained */
	if (!c->stdout_behind && c->state_held != NULL) {
		send_or_keep(c, TOPIC_STATE, c->state_held);
		shared_line_unref(c->state_held);
		c->state_held = NULL;
	}
}

static void stdout_push_all(struct rpc_server *s)
{
	struct stdout_piece *last = malloc(sizeof *last);
	struct shared_line *line = NULL;
	struct rpc_client *c;

	if (last == NULL)
		return;
	TAILQ_FOREACH(c, &s->clients, link) {
		if (!c->closing && (c->topics & TOPIC_STDOUT))
			stdout_push_then_state(s, c, last, &line);
	}
	shared_line_unref(line);
	free(last);
}

void rpc_notify_stdout(struct rpc_client *c)
{
	struct stdout_piece *last;
	struct shared_line *line = NULL;

	if (c->closing || !(c->topics & TOPIC_STDOUT) || c->server->cam == NULL)
		return;
	last = malloc(sizeof *last);
	if (last == NULL)
		return;
	stdout_push_then_state(c->server, c, last, &line);
	shared_line_unref(line);
	free(last);
}

void rpc_notify_client_room(struct rpc_client *c)
{
	struct client_pending *p = &c->pending;

	rpc_frames_client_room(c);
	rpc_notify_stdout(c);	/* then the state held back behind it */
	if (p->link != NULL && rpc_client_has_room(c))
		send_kept(c, &p->link);
	if (p->state != NULL && rpc_client_has_room(c))
		send_kept(c, &p->state);
	while (p->ev_count > 0 && rpc_client_has_room(c)) {
		struct shared_line **slot = &p->events[p->ev_head];
		p->ev_head = (p->ev_head + 1) % CLIENT_PENDING_EVENTS;
		p->ev_count--;
		send_kept(c, slot);
	}
	if (p->link != NULL || p->state != NULL || p->ev_count > 0)
		c->out_full = true;
}

/* The state goes to each subscriber after the stdout it has not had yet:
 * "script ended" must not overtake the script's last output. */
static void send_state(struct rpc_server *s, json_t *params)
{
	struct shared_line *line;
	struct rpc_client *c;

	if (!has_subscriber(s, TOPIC_STATE)) {
		json_decref(params);
		return;
	}
	line = note_line("state", params);
	if (line == NULL)
		return;
	TAILQ_FOREACH(c, &s->clients, link) {
		if (c->closing || !(c->topics & TOPIC_STATE))
			continue;
		if ((c->topics & TOPIC_STDOUT) && c->stdout_behind) {
			/* The latest state wins, also over one waiting for room. */
			shared_line_unref(c->pending.state);
			c->pending.state = NULL;
			shared_line_unref(c->state_held);
			line->refs++;
			c->state_held = line;
		} else {
			send_or_keep(c, TOPIC_STATE, line);
		}
	}
	shared_line_unref(line);
}

void rpc_server_announce_state(struct rpc_server *s)
{
	struct camera_shared sh;

	if (s->cam == NULL)
		return;
	camera_shared_state(s->cam, &sh);
	if (s->announced_valid && sh.streaming == s->announced.streaming &&
	    sh.raw == s->announced.raw && sh.raw_width == s->announced.raw_width &&
	    sh.raw_height == s->announced.raw_height &&
	    sh.script_running == s->announced.script_running && sh.run == s->announced.run &&
	    sh.end == s->announced.end)
		return;
	s->announced = sh;
	s->announced_valid = true;
	stdout_push_all(s);	/* the output before the state, whole at an end */
	send_state(s, shared_state_json(&sh));
}

static void on_link_changed(void *ctx, enum link_state st, const char *reason)
{
	struct rpc_server *s = ctx;

	/* The way up and down is detail; where it ends is worth a line. */
	log_msg(st == LINK_READY || st == LINK_CLOSED ? LOG_LVL_INFO : LOG_LVL_DEBUG, "link %s%s%s",
		link_state_name(st), reason != NULL ? ": " : "", reason != NULL ? reason : "");
	notify_topic(s, TOPIC_LINK, "link",
		     json_pack("{s:s, s:s?}", "state", link_state_name(st), "reason", reason));
	if (s->opt.link_hook != NULL)
		s->opt.link_hook(s->opt.link_hook_arg, st, reason);
	rpc_server_announce_state(s);
}

/* The client's own record of cam events (the newest CLIENT_EVENTS_MAX),
 * which poll_events hands out. */
static void push_event(struct rpc_client *c, uint8_t chan, uint8_t opcode, uint16_t code)
{
	struct client_event *e;

	if (c->ev_count == CLIENT_EVENTS_MAX) {
		c->ev_head = (c->ev_head + 1) % CLIENT_EVENTS_MAX;	/* drop the oldest */
		c->ev_count--;
	}
	e = &c->events[(c->ev_head + c->ev_count) % CLIENT_EVENTS_MAX];
	e->chan = chan;
	e->opcode = opcode;
	e->code = code;
	c->ev_count++;
}

static void on_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code)
{
	struct rpc_server *s = ctx;
	struct rpc_client *c;

	TAILQ_FOREACH(c, &s->clients, link)
		push_event(c, chan, opcode, code);
	notify_topic(s, TOPIC_EVENT, "event", event_json(s->cam, chan, code));
}

static void on_stdout(void *ctx, const char *text, size_t len)
{
	stdout_push_all(ctx);
}

/* A lock its holder believed it had: the daemon could not keep it. */
static void on_lock_lost(void *ctx, struct cam_owner *owner, uint8_t chan, const char *reason)
{
	struct rpc_server *s = ctx;
	struct rpc_client *c;

	TAILQ_FOREACH(c, &s->clients, link) {
		struct shared_line *line;

		if (c->owner != owner || c->closing)
			continue;
		line = note_line("lock", json_pack("{s:i, s:b, s:s}", "channel", chan, "held", 0,
						    "reason", reason));
		if (line != NULL)
			rpc_client_send_shared(c, line);
		shared_line_unref(line);
		return;
	}
}

static void on_frame(void *ctx, struct frame *f)
{
	struct rpc_server *s = ctx;

	rpc_frames_publish(s->frames, f);
}

static void on_state_changed(void *ctx)
{
	rpc_server_announce_state(ctx);
}

static const struct camera_listener server_listener = {
	.link_changed = on_link_changed,
	.event = on_event,
	.channels_changed = NULL,
	.stdout_data = on_stdout,
	.lock_lost = on_lock_lost,
	.frame = on_frame,
	.state_changed = on_state_changed,
};

const struct camera_listener *rpc_server_camera_listener(void)
{
	return &server_listener;
}
