/*
 * A client's requests: line framing with a size limit (and the daemon's
 * budget for all clients' unfinished input), each line parsed into a
 * reply slot, and its requests dispatched to the methods a slice of time
 * at a time, so a long batch lets other clients be served in between.
 */
#include "rpc_client_int.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "clock.h"
#include "log.h"
#include "methods.h"
#include "rpc.h"
#include "rpc_server.h"

/* Work one client may do in one callback before others get a turn. */
#define CLIENT_SLICE_US 2000

/* Keeps the server's total of buffered input bytes up to date. */
void client_input_account(struct rpc_client *c)
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
			return false;	/* resumed by client_maybe_resume() */
		if (c->batch_next > 0 && out_of_time(start_us)) {
			client_input_next_turn(c);
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
	client_input_account(c);
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

void client_process_input(struct rpc_client *c)
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
			client_maybe_pause(c);
			continue;
		}
		if (avail == 0 || c->read_paused || c->draining)
			break;
		if (out_of_time(start)) {
			client_input_next_turn(c);
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
		client_maybe_pause(c);
	}
	client_input_account(c);
	if (c->input_eof && evbuffer_get_length(in) == 0 && c->batch_slot == NULL &&
	    !c->draining && !c->closing)
		rpc_client_drain(c);
	/* Replies made now go out now, not after the rest of this loop turn. */
	if (!c->closing && c->out.bytes > 0)
		client_write(c);
}
