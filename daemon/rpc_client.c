/*
 * One client connection: its life cycle (accepted, closed, freed outside
 * its own callback chains, its calls cancelled), the socket's callbacks,
 * writing its output queue, and flow control: reading pauses while too
 * many calls are outstanding or output piles up, and a draining client
 * closes once its replies are out. Its output, input and calls are in
 * rpc_client_output.c, rpc_client_input.c and rpc_call.c.
 */
#include "rpc_client_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "rpc.h"
#include "rpc_server.h"
#include "stdout_log.h"

/* Bytes written to one client per writable event. */
#define CLIENT_WRITE_MAX (1u << 20)

static const struct timeval next_turn = { 0, 0 };

void client_input_next_turn(struct rpc_client *c)
{
	evtimer_add(c->input_ev, &next_turn);
}

/* ---- flow control ---- */

/* Too much in flight or queued to take more requests now. */
bool client_busy(const struct rpc_client *c)
{
	return c->outstanding >= c->server->opt.max_outstanding ||
	       c->out.cost >= c->server->opt.soft_limit;
}

void client_maybe_pause(struct rpc_client *c)
{
	if (c->read_paused || !client_busy(c))
		return;
	c->read_paused = true;
	bufferevent_disable(c->bev, EV_READ);
}

void client_maybe_resume(struct rpc_client *c)
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
	client_input_next_turn(c);
}

void client_check_drained(struct rpc_client *c)
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
	client_check_drained(c);
}

/* What waited for room (rpc_notify's, rpc_frames'). */
static void room_returned(struct rpc_client *c)
{
	c->out_full = false;
	rpc_notify_client_room(c);
}

/* ---- callbacks ---- */

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	struct rpc_client *c = arg;

	client_input_account(c);
	rpc_server_check_input_budget(c->server);
	if (!c->closing)
		client_process_input(c);
}

static void client_input_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	client_process_input(arg);
}

void client_write(struct rpc_client *c)
{
	size_t before = client_private(c);
	ssize_t n;

	n = outq_write(&c->out, bufferevent_getfd(c->bev), CLIENT_WRITE_MAX);
	client_account(c, before);
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
	client_maybe_resume(c);
	client_check_drained(c);
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
	client_account(c, before);
	client_input_account(c);
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
