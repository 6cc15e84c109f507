/*
 * Calls and their replies: each request line gets a reply slot, and its
 * replies leave in request order even when cam calls end out of order (a
 * batch as one array); a reply is serialised as soon as it is made, and
 * one over the response limit becomes an error. A call ends exactly once:
 * with a result, an error, or a reply line built off the loop.
 */
#include "rpc_client_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/packet.h"
#include "rpc.h"
#include "rpc_server.h"

/* ---- reply slots ---- */

struct reply_slot *slot_new(struct rpc_client *c, size_t count, bool batch)
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

void slot_free(struct rpc_client *c, struct reply_slot *slot)
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
	client_account(c, before);
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
	client_output_queued(c, before);
}

/*
 * Serialises reply i of the slot now (reply stolen). A reply over the
 * response limit (a batch: all its replies together) is replaced by a
 * -32008 error.
 */
void slot_set(struct rpc_client *c, struct reply_slot *slot, size_t i, json_t *reply)
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
	client_send_line(c, l, fd);
	shared_line_unref(l);
}

/* Reply text r (len: without its newline in a batch) to the output. */
static void send_reply(struct rpc_client *c, struct reply_text *r, size_t len)
{
	if (r->fd >= 0)
		send_owned_fd(c, r->data, len, r->fd);
	else
		client_send_owned(c, r->data, len);
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
	client_account(c, before);
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
		client_send_copy(c, first ? "[" : ",", 1);
		send_reply(c, r, r->len - 1);	/* without its newline */
		first = false;
	}
	if (!first)
		client_send_copy(c, "]\n", 2);
}

void slots_flush(struct rpc_client *c)
{
	struct reply_slot *slot;

	while ((slot = TAILQ_FIRST(&c->slots)) != NULL && slot->pending == 0) {
		TAILQ_REMOVE(&c->slots, slot, link);
		if (!c->closing)
			slot_send(c, slot);
		slot_free(c, slot);
	}
	client_check_drained(c);
}

void slot_done_one(struct rpc_client *c, struct reply_slot *slot)
{
	if (--slot->pending == 0)
		slots_flush(c);
}

/* ---- calls ---- */

void call_free(struct rpc_call *call)
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
	client_maybe_resume(c);
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
