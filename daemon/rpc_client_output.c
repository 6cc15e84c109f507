/*
 * A client's output: lines queued in order (copied, owned or shared with
 * other clients, a descriptor on a line's first byte), the memory they
 * hold accounted to the server, and the client's limits: room to send
 * what can wait, and the hard limit past which it is cut.
 */
#include "rpc_client_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "rpc_server.h"

/* Memory the client's output holds: queued, and replies waiting for the
 * rest of their batch or for earlier replies. */
static size_t client_held(const struct rpc_client *c)
{
	return c->out.cost + c->slot_bytes;
}

/* The part of it no other client shares (what cutting it gives back). */
size_t client_private(const struct rpc_client *c)
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
void client_account(struct rpc_client *c, size_t before)
{
	size_t after = client_private(c);

	if (after >= before)
		rpc_server_output_grew(c->server, after - before);
	else
		rpc_server_output_shrank(c->server, before - after);
}

/* After output was queued: limits, and a write when the socket allows. */
void client_output_queued(struct rpc_client *c, size_t before)
{
	size_t held = client_held(c);

	client_account(c, before);
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
void client_send_owned(struct rpc_client *c, char *data, size_t len)
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
	client_output_queued(c, before);
}

void client_send_copy(struct rpc_client *c, const char *data, size_t len)
{
	size_t before = client_private(c);

	if (c->closing)
		return;
	if (outq_add_copy(&c->out, data, len) < 0) {
		rpc_client_close(c, "out of memory");
		return;
	}
	c->stats.bytes_out += len;
	client_output_queued(c, before);
}

bool client_send_line(struct rpc_client *c, struct shared_line *l, int fd)
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
	client_output_queued(c, before);
	return true;
}

void rpc_client_send_shared(struct rpc_client *c, struct shared_line *l)
{
	client_send_line(c, l, -1);
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
	client_output_queued(c, before);
	return true;
}
