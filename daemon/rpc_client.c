/*
 * One client connection: line framing with a size limit, dispatch of each
 * request line into a reply slot (replies leave in request order even when
 * cam calls finish out of order; a batch is dispatched a slice at a time so
 * other clients are served in between), flow control (reading pauses while
 * too many calls are outstanding or output piles up), the output queue and
 * its limits, frame dropping for slow subscribers, and teardown outside of
 * the client's own callback chains.
 */
#include "rpc_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "methods.h"
#include "protocol/packet.h"
#include "rpc.h"
#include "rpc_server.h"
#include "stdout_log.h"

static void client_process_input(struct rpc_client *c);
static void client_write(struct rpc_client *c);

/* Work one client may do in one callback before others get a turn. */
#define CLIENT_SLICE_US 2000
/* Bytes written to one client per writable event. */
#define CLIENT_WRITE_MAX (1u << 20)

static const struct timeval next_turn = { 0, 0 };

/* ---- output ---- */

/* Memory the client's output holds: queued, and replies waiting for the
 * rest of their batch or for earlier replies. */
static size_t client_held(const struct rpc_client *c)
{
	return c->out.cost + c->slot_bytes;
}

/* The part of it no other client shares (what cutting it gives back). */
static size_t client_private(const struct rpc_client *c)
{
	return c->out.cost - c->out.shared + c->slot_bytes;
}

size_t rpc_client_queued_cost(const struct rpc_client *c)
{
	return client_held(c);
}

size_t rpc_client_private_cost(const struct rpc_client *c)
{
	return client_private(c);
}

size_t rpc_client_unread(const struct rpc_client *c)
{
	int n = 0;

	if (ioctl(bufferevent_getfd(c->bev), SIOCOUTQ, &n) < 0 || n < 0)
		return 0;
	return (size_t)n;
}

bool rpc_client_has_room(const struct rpc_client *c)
{
	return !c->closing && c->out.cost < c->server->opt.soft_limit &&
	       c->out.fds < RPC_CLIENT_FDS_MAX;
}

/* Tells the server how the client's private memory changed since before
 * (shared lines are counted once, by the queues). */
static void account(struct rpc_client *c, size_t before)
{
	size_t after = client_private(c);

	if (after >= before)
		rpc_server_output_grew(c->server, after - before);
	else
		rpc_server_output_shrank(c->server, before - after);
}

/* After output was queued: limits, and a write when the socket allows. */
static void output_queued(struct rpc_client *c, size_t before)
{
	size_t held = client_held(c);

	account(c, before);
	if (!rpc_client_has_room(c))
		c->out_full = true;
	if (c->out.bytes > 0)
		event_add(c->write_ev, NULL);
	if (held > c->server->opt.hard_limit) {
		char reason[128];
		snprintf(reason, sizeof reason, "output of %zu bytes over the limit of %zu", held,
			 c->server->opt.hard_limit);
		rpc_client_close(c, reason);
		return;
	}
	rpc_server_check_output_budget(c->server);
}

/* Queues a malloc'd line (ownership taken). */
static void send_owned(struct rpc_client *c, char *data, size_t len)
{
	size_t before = client_private(c);

	if (c->closing) {
		free(data);
		return;
	}
	if (outq_add_owned(&c->out, data, len) < 0) {
		rpc_client_close(c, "out of memory");
		return;
	}
	c->stats.bytes_out += len;
	output_queued(c, before);
}

static void send_copy(struct rpc_client *c, const char *data, size_t len)
{
	size_t before = client_private(c);

	if (c->closing)
		return;
	if (outq_add_copy(&c->out, data, len) < 0) {
		rpc_client_close(c, "out of memory");
		return;
	}
	c->stats.bytes_out += len;
	output_queued(c, before);
}

static bool send_line(struct rpc_client *c, struct shared_line *l, int fd)
{
	size_t before = client_private(c);

	if (c->closing) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (outq_add_shared(&c->out, l, fd) < 0) {
		rpc_client_close(c, "out of memory");
		return false;
	}
	c->stats.bytes_out += l->len;
	output_queued(c, before);
	return true;
}

void rpc_client_send_shared(struct rpc_client *c, struct shared_line *l)
{
	send_line(c, l, -1);
}

bool rpc_client_send_parts(struct rpc_client *c, const char *head, struct shared_line *body,
			   const char *tail, int fd)
{
	size_t before = client_private(c), head_len = strlen(head), tail_len = strlen(tail);
	struct shared_line *first = NULL;
	int dup = -1, rc;

	if (c->closing || (fd >= 0 && c->out.fds >= RPC_CLIENT_FDS_MAX))
		return false;
	if (fd >= 0 && (dup = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		log_warn("client %llu: cannot pass a descriptor: %s", (unsigned long long)c->id,
			 strerror(errno));
		return false;
	}
	/* The descriptor rides on the line's first byte: a head carrying it
	 * is an item of its own. */
	if (dup >= 0 && head_len > 0 && (first = shared_line_alloc(head_len)) == NULL) {
		close(dup);
		rpc_client_close(c, "out of memory");
		return false;
	}
	if (first != NULL) {
		memcpy(first->data, head, head_len);
		rc = outq_add_shared(&c->out, first, dup);
		shared_line_unref(first);
		dup = -1;
	} else {
		rc = outq_add_copy(&c->out, head, head_len);
	}
	if (rc < 0 || outq_add_shared(&c->out, body, dup) < 0 ||
	    outq_add_copy(&c->out, tail, tail_len) < 0) {
		rpc_client_close(c, "out of memory");
		return false;
	}
	c->stats.bytes_out += head_len + body->len + tail_len;
	output_queued(c, before);
	return true;
}

/* What waited for room (rpc_notify's, rpc_frames'). */
static void room_returned(struct rpc_client *c)
{
	c->out_full = false;
	rpc_notify_client_room(c);
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

/* Too much in flight or queued to take more requests now. */
static bool client_busy(const struct rpc_client *c)
{
	return c->outstanding >= c->server->opt.max_outstanding ||
	       c->out.cost >= c->server->opt.soft_limit;
}

static void maybe_pause(struct rpc_client *c)
{
	if (c->read_paused || !client_busy(c))
		return;
	c->read_paused = true;
	bufferevent_disable(c->bev, EV_READ);
}

static void maybe_resume(struct rpc_client *c)
{
	if (c->closing)
		return;
	if (c->outstanding >= c->server->opt.max_outstanding / 2 + 1 ||
	    c->out.cost >= c->server->opt.soft_limit)
		return;
	if (c->read_paused && !c->draining) {
		c->read_paused = false;
		bufferevent_enable(c->bev, EV_READ);
	} else if (c->batch_slot == NULL) {
		return;
	}
	/* Lines (or the rest of a batch) may already wait: no read event
	 * will say so. */
	evtimer_add(c->input_ev, &next_turn);
}

static void check_drained(struct rpc_client *c)
{
	if (!c->draining || c->closing)
		return;
	if ((TAILQ_EMPTY(&c->slots) || c->server->stopping) && c->out.bytes == 0)
		rpc_client_close(c, c->server->stopping ? "daemon stopping" : "done");
}

void rpc_client_drain(struct rpc_client *c)
{
	if (c->closing)
		return;
	c->draining = true;
	bufferevent_disable(c->bev, EV_READ);
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
	for (size_t i = 0; i < count; i++)
		slot->replies[i].fd = -1;
	slot->count = count;
	slot->batch = batch;
	TAILQ_INSERT_TAIL(&c->slots, slot, link);
	return slot;
}

static void slot_free(struct rpc_client *c, struct reply_slot *slot)
{
	size_t before = client_private(c);

	for (size_t i = 0; i < slot->count; i++) {
		free(slot->replies[i].data);
		if (slot->replies[i].fd >= 0)
			close(slot->replies[i].fd);
	}
	c->slot_bytes -= slot->bytes;
	free(slot->replies);
	free(slot);
	account(c, before);
}

/* Reply i of the slot, serialised (line taken); fd (taken) goes with it. */
static void slot_put(struct rpc_client *c, struct reply_slot *slot, size_t i, char *line,
		     size_t len, int fd)
{
	size_t before = client_private(c);

	slot->replies[i].data = line;
	slot->replies[i].len = len;
	slot->replies[i].fd = fd;
	slot->bytes += len;
	c->slot_bytes += len;
	output_queued(c, before);
}

/*
 * Serialises reply i of the slot now (reply stolen). A reply over the
 * response limit (a batch: all its replies together) is replaced by a
 * -32008 error.
 */
static void slot_set(struct rpc_client *c, struct reply_slot *slot, size_t i, json_t *reply)
{
	size_t len = 0, max = c->server->opt.max_response;
	char *line;
	json_t *err;

	if (reply == NULL)
		return;
	if (c->closing) {
		json_decref(reply);
		return;
	}
	line = rpc_dump_line(reply, &len);
	if (line == NULL || slot->bytes + len > max) {
		free(line);
		err = rpc_error(json_object_get(reply, "id"),
				line != NULL ? RPC_RESPONSE_TOO_LARGE : RPC_INTERNAL_ERROR,
				line != NULL ? "response too large" : "reply does not serialise",
				NULL);
		line = rpc_dump_line(err, &len);
		json_decref(err);
	}
	json_decref(reply);
	if (line != NULL)
		slot_put(c, slot, i, line, len, -1);
}

/* A small reply with a descriptor on its first byte (shared memory). */
static void send_owned_fd(struct rpc_client *c, char *data, size_t len, int fd)
{
	struct shared_line *l = shared_line_alloc(len);

	if (l == NULL) {
		free(data);
		close(fd);
		rpc_client_close(c, "out of memory");
		return;
	}
	memcpy(l->data, data, len);
	free(data);
	send_line(c, l, fd);
	shared_line_unref(l);
}

/* Reply text r (len: without its newline in a batch) to the output. */
static void send_reply(struct rpc_client *c, struct reply_text *r, size_t len)
{
	if (r->fd >= 0)
		send_owned_fd(c, r->data, len, r->fd);
	else
		send_owned(c, r->data, len);
	r->data = NULL;
	r->fd = -1;
}

static void slot_send(struct rpc_client *c, struct reply_slot *slot)
{
	size_t before = client_private(c);
	bool first = true;

	/* From here on the replies are counted as queued output. */
	c->slot_bytes -= slot->bytes;
	slot->bytes = 0;
	account(c, before);
	if (!slot->batch) {
		if (slot->replies[0].data != NULL)
			send_reply(c, &slot->replies[0], slot->replies[0].len);
		return;
	}
	/* A batch answers with one array of the non-notification replies. */
	for (size_t i = 0; i < slot->count; i++) {
		struct reply_text *r = &slot->replies[i];
		if (r->data == NULL)
			continue;
		send_copy(c, first ? "[" : ",", 1);
		send_reply(c, r, r->len - 1);	/* without its newline */
		first = false;
	}
	if (!first)
		send_copy(c, "]\n", 2);
}

static void slots_flush(struct rpc_client *c)
{
	struct reply_slot *slot;

	while ((slot = TAILQ_FIRST(&c->slots)) != NULL && slot->pending == 0) {
		TAILQ_REMOVE(&c->slots, slot, link);
		if (!c->closing)
			slot_send(c, slot);
		slot_free(c, slot);
	}
	check_drained(c);
}

static void slot_done_one(struct rpc_client *c, struct reply_slot *slot)
{
	if (--slot->pending == 0)
		slots_flush(c);
}

/* ---- calls ---- */

static void call_free(struct rpc_call *call)
{
	json_decref(call->id);
	json_decref(call->again);
	free(call->text);
	free(call);
}

static void call_finish(struct rpc_call *call, json_t *reply)
{
	struct rpc_client *c = call->client;
	struct reply_slot *slot = call->slot;

	slot_set(c, slot, call->index, reply);
	TAILQ_REMOVE(&c->calls, call, link);
	c->outstanding--;
	call_free(call);
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

void call_reply_line(struct rpc_call *call, char *line, size_t len, int fd)
{
	struct rpc_client *c = call->client;
	struct reply_slot *slot = call->slot;
	int dup = -1;

	if (call->id == NULL || c->closing) {
		free(line);
		call_finish(call, NULL);
		return;
	}
	if (slot->bytes + len > c->server->opt.max_response) {
		free(line);
		call_error(call, RPC_RESPONSE_TOO_LARGE, "response too large", NULL);
		return;
	}
	if (fd >= 0 && (dup = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		free(line);
		call_errorf(call, RPC_INTERNAL_ERROR, "cannot pass a descriptor: %s",
			    strerror(errno));
		return;
	}
	slot_put(c, slot, call->index, line, len, dup);
	call_finish(call, NULL);
}

bool call_result_shared(struct rpc_call *call, struct shared_line *result, int fd)
{
	struct rpc_client *c = call->client;
	struct reply_slot *slot = call->slot;
	char head[96], *id;
	bool sent;
	int n;

	/* Out of order, or in a batch: it must wait in its slot. */
	if (call->id == NULL || c->closing || slot->batch || TAILQ_FIRST(&c->slots) != slot ||
	    result->len + sizeof head > c->server->opt.max_response)
		return false;
	id = json_dumps(call->id, JSON_COMPACT | JSON_ENCODE_ANY);
	n = id != NULL ? snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":",
				  id) : -1;
	free(id);
	if (n < 0 || (size_t)n >= sizeof head)
		return false;
	sent = rpc_client_send_parts(c, head, result, "}\n", fd);
	if (sent)
		call_finish(call, NULL);
	return sent;
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

/* Keeps the server's total of buffered input bytes up to date. */
static void input_account(struct rpc_client *c)
{
	size_t now = c->closing ? 0 : evbuffer_get_length(bufferevent_get_input(c->bev));

	if (now != c->in_accounted)
		rpc_server_input_changed(c->server, c->in_accounted, now);
	c->in_accounted = now;
}

static bool out_of_time(uint64_t start_us)
{
	return clock_now_us() - start_us > CLIENT_SLICE_US;
}

/* Dispatches request i of the batch in progress. */
static void dispatch_one(struct rpc_client *c, size_t i)
{
	struct rpc_request *req = &c->batch.reqs[i];
	struct reply_slot *slot = c->batch_slot;
	struct rpc_call *call;

	if (req->method == NULL)
		return;
	call = calloc(1, sizeof *call);
	if (call == NULL) {
		slot_set(c, slot, i, req->id ? rpc_error(req->id, RPC_INTERNAL_ERROR,
							 "out of memory", NULL) : NULL);
		slot->pending--;
		return;
	}
	call->client = c;
	call->slot = slot;
	call->index = i;
	call->id = req->id != NULL ? json_incref(req->id) : NULL;
	TAILQ_INSERT_TAIL(&c->calls, call, link);
	c->outstanding++;
	methods_dispatch(call, req->method, req->params);
}

/*
 * Dispatches the requests of the line in progress while the client is not
 * busy and its slice of time lasts. True when the whole line is out.
 */
static bool dispatch_some(struct rpc_client *c, uint64_t start_us)
{
	struct reply_slot *slot;

	while (c->batch_next < c->batch.count) {
		if (c->closing || client_busy(c))
			return false;	/* resumed by maybe_resume() */
		if (c->batch_next > 0 && out_of_time(start_us)) {
			evtimer_add(c->input_ev, &next_turn);
			return false;
		}
		dispatch_one(c, c->batch_next++);
	}
	slot = c->batch_slot;
	c->batch_slot = NULL;
	rpc_message_clear(&c->batch);
	slot_done_one(c, slot);
	return true;
}

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
		slot_set(c, slot, 0, msg.error);
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
			slot_set(c, slot, i, msg.reqs[i].error);
			msg.reqs[i].error = NULL;
		} else {
			slot->pending++;
		}
	}
	c->batch = msg;
	c->batch_slot = slot;
	c->batch_next = 0;
}

/* A line too long, or input over the daemon's budget: answer -32007,
 * drop the input and close once the replies are out. */
static void reject_input(struct rpc_client *c, const char *why)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct reply_slot *slot;
	char text[128];

	rpc_server_log_client(c->server, LOG_LVL_WARNING, "client %llu (%s): %s, closing",
			      (unsigned long long)c->id, c->name, why);
	evbuffer_drain(in, evbuffer_get_length(in));
	c->scan_pos = 0;
	input_account(c);
	slot = slot_new(c, 1, false);
	if (slot == NULL) {
		rpc_client_close(c, "out of memory");
		return;
	}
	snprintf(text, sizeof text, "request too large: %s", why);
	c->stats.errors++;
	slot_set(c, slot, 0, rpc_error(NULL, RPC_REQUEST_TOO_LARGE, text, NULL));
	rpc_client_drain(c);
	slots_flush(c);
}

void rpc_client_input_over_budget(struct rpc_client *c)
{
	char why[128];

	snprintf(why, sizeof why, "%zu bytes of unfinished input when all clients' input is "
		 "over the budget of %zu", c->in_accounted, c->server->opt.input_budget);
	reject_input(c, why);
}

static void request_too_large(struct rpc_client *c)
{
	char why[96];

	snprintf(why, sizeof why, "a line is limited to %zu bytes", c->server->opt.max_request);
	reject_input(c, why);
}

static void client_process_input(struct rpc_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t max = c->server->opt.max_request;
	uint64_t start = clock_now_us();

	while (!c->closing) {
		size_t avail = evbuffer_get_length(in), len;
		struct evbuffer_ptr start_ptr, nl;
		unsigned char *line;

		/* A line already taken is dispatched to its end, also when no
		 * more are taken (draining): its replies are due. */
		if (c->batch_slot != NULL) {
			if (!dispatch_some(c, start))
				break;
			maybe_pause(c);
			continue;
		}
		if (avail == 0 || c->read_paused || c->draining)
			break;
		if (out_of_time(start)) {
			evtimer_add(c->input_ev, &next_turn);
			break;
		}
		/* Search only the bytes not searched before: a long line arriving
		 * in small reads must not be rescanned from its start each time. */
		if (c->scan_pos < avail) {
			evbuffer_ptr_set(in, &start_ptr, c->scan_pos, EVBUFFER_PTR_SET);
			nl = evbuffer_search(in, "\n", 1, &start_ptr);
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
	input_account(c);
	if (c->input_eof && evbuffer_get_length(in) == 0 && c->batch_slot == NULL &&
	    !c->draining && !c->closing)
		rpc_client_drain(c);
	/* Replies made now go out now, not after the rest of this loop turn. */
	if (!c->closing && c->out.bytes > 0)
		client_write(c);
}

/* ---- callbacks ---- */

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	struct rpc_client *c = arg;

	input_account(c);
	rpc_server_check_input_budget(c->server);
	if (!c->closing)
		client_process_input(c);
}

static void client_input_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	client_process_input(arg);
}

static void client_write(struct rpc_client *c)
{
	size_t before = client_private(c);
	ssize_t n;

	n = outq_write(&c->out, bufferevent_getfd(c->bev), CLIENT_WRITE_MAX);
	account(c, before);
	if (n < 0) {
		rpc_client_close(c, errno == EPIPE || errno == ECONNRESET ? "disconnected"
									  : strerror(errno));
		return;
	}
	if (c->out.bytes == 0)
		event_del(c->write_ev);
	if (c->out_full && c->out.cost < c->server->opt.soft_limit / 2 &&
	    c->out.fds < RPC_CLIENT_FDS_MAX)
		room_returned(c);
	maybe_resume(c);
	check_drained(c);
}

static void client_write_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_client *c = arg;

	if (!c->closing)
		client_write(c);
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
	outq_init(&c->out);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->input_ev = evtimer_new(s->base, client_input_ev_cb, c);
	c->write_ev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, client_write_ev_cb, c);
	c->free_ev = event_new(s->base, -1, 0, client_free_ev_cb, c);
	if (c->bev == NULL || c->input_ev == NULL || c->write_ev == NULL || c->free_ev == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->input_ev != NULL)
			event_free(c->input_ev);
		if (c->write_ev != NULL)
			event_free(c->write_ev);
		if (c->free_ev != NULL)
			event_free(c->free_ev);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, client_read_cb, NULL, client_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	if (s->cam != NULL) {
		c->owner = camera_owner_new(s->cam);
		c->stdout_cursor = stdout_log_reader_start(camera_stdout(s->cam));
	}
	TAILQ_INSERT_TAIL(&s->clients, c, link);
	s->nclients++;
	rpc_server_log_client(s, LOG_LVL_INFO, "client %llu connected (%s)",
			      (unsigned long long)c->id, c->name);
	return c;
}

/* Gives back at once the memory of what will never be sent. */
static void drop_output(struct rpc_client *c)
{
	size_t before = client_private(c);
	struct reply_slot *slot;

	TAILQ_FOREACH(slot, &c->slots, link) {
		for (size_t i = 0; i < slot->count; i++) {
			free(slot->replies[i].data);
			slot->replies[i].data = NULL;
		}
		c->slot_bytes -= slot->bytes;
		slot->bytes = 0;
	}
	outq_clear(&c->out);
	shared_line_unref(c->state_held);
	c->state_held = NULL;
	rpc_notify_client_clear(c);
	account(c, before);
	input_account(c);
}

void rpc_client_close(struct rpc_client *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	rpc_server_log_client(c->server, LOG_LVL_INFO, "client %llu (%s) closed: %s",
			      (unsigned long long)c->id, c->name, reason);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_del(c->write_ev);
	event_del(c->input_ev);
	drop_output(c);
	event_active(c->free_ev, 0, 0);
}

void rpc_client_free(struct rpc_client *c)
{
	struct rpc_server *s = c->server;
	struct rpc_call *call;
	struct reply_slot *slot;

	if (!c->closing)
		rpc_server_log_client(s, LOG_LVL_INFO, "client %llu (%s) closed",
				      (unsigned long long)c->id, c->name);
	c->closing = true;
	TAILQ_REMOVE(&s->clients, c, link);
	s->nclients--;
	/* Cancels the calls in flight (their callbacks never run) and gives
	 * back this client's locks and streaming wish. */
	if (c->owner != NULL)
		camera_owner_free(c->owner);
	while ((call = TAILQ_FIRST(&c->calls)) != NULL) {
		TAILQ_REMOVE(&c->calls, call, link);
		if (call->on_cancel != NULL)
			call->on_cancel(call);
		call_free(call);
	}
	rpc_message_clear(&c->batch);
	while ((slot = TAILQ_FIRST(&c->slots)) != NULL) {
		TAILQ_REMOVE(&c->slots, slot, link);
		slot_free(c, slot);
	}
	drop_output(c);
	event_free(c->input_ev);
	event_free(c->write_ev);
	event_free(c->free_ev);
	bufferevent_free(c->bev);
	free(c);
	/* Its streaming wish may have been the last one. */
	rpc_server_announce_state(s);
	rpc_server_client_gone(s);
}
