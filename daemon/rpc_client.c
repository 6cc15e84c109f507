/*
 * One client connection: line framing with a size limit, dispatch of each
 * request line into a reply slot (replies leave in request order even when
 * cam calls finish out of order), flow control (reading pauses while too
 * many calls are outstanding or output piles up), frame dropping for slow
 * subscribers, and teardown outside of the client's own callback chains.
 */
#include "rpc_client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "methods.h"
#include "protocol/packet.h"
#include "rpc.h"
#include "rpc_server.h"
#include "stdout_log.h"

static void client_process_input(struct rpc_client *c);

/* ---- shared lines ---- */

struct shared_line *shared_line_new(const json_t *msg)
{
	size_t n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
	struct shared_line *l;

	if (n == 0)
		return NULL;
	l = malloc(sizeof *l + n + 1);
	if (l == NULL)
		return NULL;
	if (json_dumpb(msg, l->data, n, JSON_COMPACT) != n) {
		free(l);
		return NULL;
	}
	l->data[n] = '\n';
	l->len = n + 1;
	l->refs = 1;
	return l;
}

void shared_line_unref(struct shared_line *l)
{
	if (l != NULL && --l->refs == 0)
		free(l);
}

static void shared_line_cleanup(const void *data, size_t len, void *arg)
{
	shared_line_unref(arg);
}

static void malloc_cleanup(const void *data, size_t len, void *arg)
{
	free((void *)data);
}

/* ---- output ---- */

size_t rpc_client_queued(const struct rpc_client *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static void check_hard_limit(struct rpc_client *c)
{
	size_t queued = rpc_client_queued(c);

	if (queued > c->server->opt.hard_limit) {
		char reason[128];
		snprintf(reason, sizeof reason, "output queue of %zu bytes over the limit of %zu",
			 queued, c->server->opt.hard_limit);
		rpc_client_close(c, reason);
	}
}

/* Queues a malloc'd buffer (ownership taken). */
static void send_owned(struct rpc_client *c, char *data, size_t len)
{
	if (c->closing ||
	    evbuffer_add_reference(bufferevent_get_output(c->bev), data, len, malloc_cleanup,
				   NULL) < 0) {
		free(data);
		return;
	}
	c->stats.bytes_out += len;
	check_hard_limit(c);
}

void rpc_client_send_shared(struct rpc_client *c, struct shared_line *l)
{
	if (c->closing)
		return;
	l->refs++;
	if (evbuffer_add_reference(bufferevent_get_output(c->bev), l->data, l->len,
				   shared_line_cleanup, l) < 0) {
		l->refs--;
		return;
	}
	c->stats.bytes_out += l->len;
	check_hard_limit(c);
}

void rpc_client_send_frame(struct rpc_client *c, struct shared_line *l)
{
	if (c->closing)
		return;
	if (rpc_client_queued(c) <= c->server->opt.soft_limit && c->pending_frame == NULL) {
		c->stats.frames_sent++;
		rpc_client_send_shared(c, l);
		return;
	}
	/* Too much queued: keep only the newest frame until there is room. */
	if (c->pending_frame != NULL) {
		shared_line_unref(c->pending_frame);
		c->stats.frames_dropped++;
	}
	l->refs++;
	c->pending_frame = l;
}

void rpc_client_push_event(struct rpc_client *c, uint8_t chan, uint8_t opcode, uint16_t code)
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

/* ---- flow control ---- */

static void maybe_pause(struct rpc_client *c)
{
	if (c->read_paused)
		return;
	if (c->outstanding >= c->server->opt.max_outstanding ||
	    rpc_client_queued(c) > c->server->opt.soft_limit) {
		c->read_paused = true;
		bufferevent_disable(c->bev, EV_READ);
	}
}

static void maybe_resume(struct rpc_client *c)
{
	if (!c->read_paused || c->closing || c->draining)
		return;
	if (c->outstanding >= c->server->opt.max_outstanding / 2 + 1 ||
	    rpc_client_queued(c) > c->server->opt.soft_limit)
		return;
	c->read_paused = false;
	bufferevent_enable(c->bev, EV_READ);
	/* Lines may already wait in the input buffer: no read event will say so. */
	event_active(c->input_ev, 0, 0);
}

static void check_drained(struct rpc_client *c)
{
	if (!c->draining || c->closing)
		return;
	if ((TAILQ_EMPTY(&c->slots) || c->server->stopping) && rpc_client_queued(c) == 0)
		rpc_client_close(c, c->server->stopping ? "daemon stopping" : "done");
}

void rpc_client_drain(struct rpc_client *c)
{
	if (c->closing)
		return;
	c->draining = true;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	check_drained(c);
}

/* ---- reply slots ---- */

static struct reply_slot *slot_new(struct rpc_client *c, size_t count, bool batch)
{
	struct reply_slot *slot = calloc(1, sizeof *slot);

	if (slot == NULL)
		return NULL;
	slot->replies = calloc(count, sizeof *slot->replies);
	if (slot->replies == NULL) {
		free(slot);
		return NULL;
	}
	slot->count = count;
	slot->batch = batch;
	TAILQ_INSERT_TAIL(&c->slots, slot, link);
	return slot;
}

static void slot_free(struct reply_slot *slot)
{
	for (size_t i = 0; i < slot->count; i++)
		json_decref(slot->replies[i]);
	free(slot->replies);
	free(slot);
}

/* One reply serialised, or a -32008 error in its place when too large. */
static char *dump_reply(struct rpc_client *c, json_t *reply, size_t *len)
{
	char *line = rpc_dump_line(reply, len);
	bool serialised = line != NULL;
	json_t *err;

	if (serialised && *len <= c->server->opt.max_response)
		return line;
	free(line);
	err = rpc_error(json_object_get(reply, "id"),
			serialised ? RPC_RESPONSE_TOO_LARGE : RPC_INTERNAL_ERROR,
			serialised ? "response too large" : "reply does not serialise", NULL);
	line = rpc_dump_line(err, len);
	json_decref(err);
	return line;
}

static void slot_send(struct rpc_client *c, struct reply_slot *slot)
{
	struct evbuffer *buf;
	bool first = true;
	char *line;
	size_t len;

	if (!slot->batch) {
		if (slot->replies[0] != NULL && (line = dump_reply(c, slot->replies[0], &len)))
			send_owned(c, line, len);
		return;
	}
	/* A batch answers with one array of the non-notification replies. */
	buf = evbuffer_new();
	if (buf == NULL)
		return;
	for (size_t i = 0; i < slot->count; i++) {
		if (slot->replies[i] == NULL || (line = dump_reply(c, slot->replies[i], &len)) == NULL)
			continue;
		evbuffer_add(buf, first ? "[" : ",", 1);
		evbuffer_add_reference(buf, line, len - 1, malloc_cleanup, NULL);	/* no \n */
		first = false;
	}
	if (!first) {
		evbuffer_add(buf, "]\n", 2);
		len = evbuffer_get_length(buf);
		evbuffer_add_buffer(bufferevent_get_output(c->bev), buf);
		c->stats.bytes_out += len;
		check_hard_limit(c);
	}
	evbuffer_free(buf);
}

static void slots_flush(struct rpc_client *c)
{
	struct reply_slot *slot;

	while ((slot = TAILQ_FIRST(&c->slots)) != NULL && slot->pending == 0) {
		TAILQ_REMOVE(&c->slots, slot, link);
		if (!c->closing)
			slot_send(c, slot);
		slot_free(slot);
	}
	check_drained(c);
}

static void slot_done_one(struct rpc_client *c, struct reply_slot *slot)
{
	if (--slot->pending == 0)
		slots_flush(c);
}

/* ---- calls ---- */

static void call_finish(struct rpc_call *call, json_t *reply)
{
	struct rpc_client *c = call->client;
	struct reply_slot *slot = call->slot;

	slot->replies[call->index] = reply;
	TAILQ_REMOVE(&c->calls, call, link);
	c->outstanding--;
	json_decref(call->id);
	free(call->text);
	free(call);
	slot_done_one(c, slot);
	maybe_resume(c);
}

void call_result(struct rpc_call *call, json_t *result)
{
	if (result == NULL) {
		call_error(call, RPC_INTERNAL_ERROR, "internal error: result not built", NULL);
		return;
	}
	if (call->id == NULL) {
		json_decref(result);
		call_finish(call, NULL);
		return;
	}
	call_finish(call, rpc_result(call->id, result));
}

void call_error(struct rpc_call *call, int code, const char *message, json_t *data)
{
	call->client->stats.errors++;
	if (call->id == NULL) {
		json_decref(data);
		call_finish(call, NULL);
		return;
	}
	call_finish(call, rpc_error(call->id, code, message, data));
}

void call_errorf(struct rpc_call *call, int code, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	call_error(call, code, text, NULL);
}

void call_cam_error(struct rpc_call *call, const struct cam_reply *r)
{
	const char *msg = cam_err_message(r->err);

	switch (r->err) {
	case CAM_E_NOT_CONNECTED: call_error(call, RPC_NOT_CONNECTED, msg, NULL); break;
	case CAM_E_TIMEOUT: call_error(call, RPC_TIMEOUT, msg, NULL); break;
	case CAM_E_STATUS:
		call_error(call, RPC_CAM_STATUS, msg,
			   json_pack("{s:i, s:s}", "status", r->status, "name",
				     omv_status_name(r->status)));
		break;
	case CAM_E_NO_CHANNEL: call_error(call, RPC_NO_CHANNEL, msg, NULL); break;
	case CAM_E_BUSY: call_error(call, RPC_BUSY, msg, NULL); break;
	case CAM_E_PROTOCOL:	/* status 0: no NAK, an answer that made no sense */
		call_error(call, RPC_PROTOCOL, msg,
			   r->status != 0 ? json_pack("{s:i, s:s}", "status", r->status, "name",
						      omv_status_name(r->status))
					  : json_pack("{s:s}", "name", "UNEXPECTED"));
		break;
	case CAM_E_INVALID: call_error(call, RPC_INVALID_PARAMS, msg, NULL); break;
	case CAM_E_TOO_BIG: call_error(call, RPC_RESPONSE_TOO_LARGE, msg, NULL); break;
	case CAM_E_LOCKED: call_error(call, RPC_LOCKED, msg, NULL); break;
	default: call_error(call, RPC_INTERNAL_ERROR, msg, NULL); break;
	}
}

/* ---- input ---- */

static void handle_line(struct rpc_client *c, const char *line, size_t len)
{
	struct rpc_message msg;
	struct reply_slot *slot;

	if (!rpc_parse(line, len, &msg))
		return;
	slot = slot_new(c, msg.error ? 1 : msg.count, msg.batch && !msg.error);
	if (slot == NULL) {
		rpc_message_clear(&msg);
		rpc_client_close(c, "out of memory");
		return;
	}
	if (msg.error != NULL) {
		c->stats.calls++;
		c->stats.errors++;
		slot->replies[0] = msg.error;
		msg.error = NULL;
		rpc_message_clear(&msg);
		slots_flush(c);
		return;
	}
	/* pending holds one extra count until every call is dispatched, so
	 * calls that finish at once cannot flush a half-built slot. */
	slot->pending = 1;
	for (size_t i = 0; i < msg.count; i++) {
		c->stats.calls++;
		if (msg.reqs[i].error != NULL) {
			c->stats.errors++;
			slot->replies[i] = msg.reqs[i].error;
			msg.reqs[i].error = NULL;
		} else {
			slot->pending++;
		}
	}
	for (size_t i = 0; i < msg.count; i++) {
		struct rpc_request *req = &msg.reqs[i];
		struct rpc_call *call;
		if (req->method == NULL)
			continue;
		call = calloc(1, sizeof *call);
		if (call == NULL) {
			slot->replies[i] = req->id ? rpc_error(req->id, RPC_INTERNAL_ERROR,
							       "out of memory", NULL) : NULL;
			slot->pending--;
			continue;
		}
		call->client = c;
		call->slot = slot;
		call->index = i;
		call->id = req->id != NULL ? json_incref(req->id) : NULL;
		TAILQ_INSERT_TAIL(&c->calls, call, link);
		c->outstanding++;
		methods_dispatch(call, req->method, req->params);
	}
	rpc_message_clear(&msg);
	slot_done_one(c, slot);
}

static void request_too_large(struct rpc_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct reply_slot *slot;
	char text[96];

	log_warn("client %llu (%s): request line over %zu bytes, closing",
		 (unsigned long long)c->id, c->name, c->server->opt.max_request);
	evbuffer_drain(in, evbuffer_get_length(in));
	c->scan_pos = 0;
	slot = slot_new(c, 1, false);
	if (slot == NULL) {
		rpc_client_close(c, "out of memory");
		return;
	}
	snprintf(text, sizeof text, "request too large: a line is limited to %zu bytes",
		 c->server->opt.max_request);
	slot->replies[0] = rpc_error(NULL, RPC_REQUEST_TOO_LARGE, text, NULL);
	c->stats.errors++;
	rpc_client_drain(c);
	slots_flush(c);
}

static void client_process_input(struct rpc_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t max = c->server->opt.max_request;

	while (!c->closing && !c->draining && !c->read_paused) {
		size_t avail = evbuffer_get_length(in), len;
		struct evbuffer_ptr start, nl;
		unsigned char *line;

		if (avail == 0)
			break;
		/* Search only the bytes not searched before: a long line arriving
		 * in small reads must not be rescanned from its start each time. */
		if (c->scan_pos < avail) {
			evbuffer_ptr_set(in, &start, c->scan_pos, EVBUFFER_PTR_SET);
			nl = evbuffer_search(in, "\n", 1, &start);
		} else {
			nl.pos = -1;
		}
		if (nl.pos < 0) {
			c->scan_pos = avail;
			if (avail > max) {
				request_too_large(c);
				break;
			}
			if (!c->input_eof)
				break;
			len = avail;	/* the last line may lack its newline */
		} else {
			len = (size_t)nl.pos;
			if (len > max) {
				request_too_large(c);
				break;
			}
		}
		line = evbuffer_pullup(in, (ev_ssize_t)(nl.pos < 0 ? len : len + 1));
		c->stats.bytes_in += nl.pos < 0 ? len : len + 1;
		handle_line(c, (const char *)line, len);
		evbuffer_drain(in, nl.pos < 0 ? len : len + 1);
		c->scan_pos = 0;
		maybe_pause(c);
	}
	if (c->input_eof && evbuffer_get_length(in) == 0 && !c->draining && !c->closing)
		rpc_client_drain(c);
}

/* ---- callbacks ---- */

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	client_process_input(arg);
}

static void client_input_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	client_process_input(arg);
}

static void client_write_cb(struct bufferevent *bev, void *arg)
{
	struct rpc_client *c = arg;

	if (c->closing)
		return;
	if (c->pending_frame != NULL && rpc_client_queued(c) <= c->server->opt.soft_limit) {
		struct shared_line *l = c->pending_frame;
		c->pending_frame = NULL;
		c->stats.frames_sent++;
		rpc_client_send_shared(c, l);
		shared_line_unref(l);
	}
	rpc_notify_client_room(c);
	maybe_resume(c);
	check_drained(c);
}

/* The peer closed both directions (not just its writing side). */
static bool peer_gone(struct rpc_client *c)
{
	struct pollfd p = { .fd = bufferevent_getfd(c->bev), .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rpc_client *c = arg;

	if (what & BEV_EVENT_ERROR) {
		rpc_client_close(c, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (peer_gone(c)) {
			/* Nobody will read replies: cancel the calls (owner free). */
			rpc_client_close(c, "disconnected");
			return;
		}
		/* Half-closed: answer what was asked, then close. */
		c->input_eof = true;
		client_process_input(c);
	}
}

static void client_free_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	rpc_client_free(arg);
}

/* ---- life cycle ---- */

struct rpc_client *rpc_client_new(struct rpc_server *s, int fd)
{
	struct rpc_client *c = calloc(1, sizeof *c);
	struct ucred cred;
	socklen_t cred_len = sizeof cred;

	if (c == NULL)
		return NULL;
	c->server = s;
	c->id = ++s->next_client_id;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0)
		snprintf(c->name, sizeof c->name, "pid %d uid %u", (int)cred.pid, (unsigned)cred.uid);
	else
		snprintf(c->name, sizeof c->name, "fd %d", fd);
	TAILQ_INIT(&c->slots);
	TAILQ_INIT(&c->calls);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->input_ev = event_new(s->base, -1, 0, client_input_ev_cb, c);
	c->free_ev = event_new(s->base, -1, 0, client_free_ev_cb, c);
	if (c->bev == NULL || c->input_ev == NULL || c->free_ev == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->input_ev != NULL)
			event_free(c->input_ev);
		if (c->free_ev != NULL)
			event_free(c->free_ev);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, client_read_cb, client_write_cb, client_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, s->opt.soft_limit / 2, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (s->cam != NULL) {
		c->owner = camera_owner_new(s->cam);
		c->stdout_cursor = stdout_log_reader_start(camera_stdout(s->cam));
	}
	TAILQ_INSERT_TAIL(&s->clients, c, link);
	s->nclients++;
	log_info("client %llu connected (%s)", (unsigned long long)c->id, c->name);
	return c;
}

void rpc_client_close(struct rpc_client *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	log_info("client %llu (%s) closed: %s", (unsigned long long)c->id, c->name, reason);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_active(c->free_ev, 0, 0);
}

void rpc_client_free(struct rpc_client *c)
{
	struct rpc_server *s = c->server;
	struct rpc_call *call;
	struct reply_slot *slot;

	if (!c->closing)
		log_info("client %llu (%s) closed", (unsigned long long)c->id, c->name);
	c->closing = true;
	TAILQ_REMOVE(&s->clients, c, link);
	s->nclients--;
	/* Cancels the calls in flight (their callbacks never run) and gives
	 * back this client's locks and streaming wish. */
	if (c->owner != NULL)
		camera_owner_free(c->owner);
	while ((call = TAILQ_FIRST(&c->calls)) != NULL) {
		TAILQ_REMOVE(&c->calls, call, link);
		json_decref(call->id);
		free(call->text);
		free(call);
	}
	while ((slot = TAILQ_FIRST(&c->slots)) != NULL) {
		TAILQ_REMOVE(&c->slots, slot, link);
		slot_free(slot);
	}
	shared_line_unref(c->pending_frame);
	shared_line_unref(c->state_held);
	event_free(c->input_ev);
	event_free(c->free_ev);
	bufferevent_free(c->bev);
	free(c);
	/* Its streaming wish may have been the last one. */
	rpc_server_announce_state(s);
	rpc_server_client_gone(s);
}
