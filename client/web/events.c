/*
 * /events: server-sent events for the page. Each event is one of omvd's
 * notifications as it came (stdout, state, link) or "daemon" when the
 * connection to omvd comes or goes. A new listener first gets where things
 * stand: the daemon and link state, the shared state, and the tail of
 * stdout. A listener that lets more than MAX_QUEUED pile up is cut off;
 * its browser reconnects and starts again from the tail.
 */
#include "web.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#define MAX_LISTENERS 64
#define MAX_QUEUED (1024 * 1024)
#define TAIL_BYTES (16 * 1024)
#define PING_S 15	/* a comment now and then: finds dead peers */

struct sse {
	struct events *e;
	struct evhttp_request *req;
	struct web_list link;		/* in events.listeners */
};

struct events {
	struct web *w;
	struct web_list listeners;
	int count;
	struct event *ping;
	char tail[TAIL_BYTES];	/* the latest stdout, whole characters */
	size_t tail_len;
	json_t *link, *state;	/* the latest of each, or NULL */
	json_t *daemon;
};

static void forget(struct sse *s)
{
	struct events *e = s->e;

	web_list_del(&s->link);
	e->count--;
	free(s);
}

static void listener_closed(void *arg)
{
	forget(arg);
}

/* Queue one event; cut the listener off when it does not keep up. */
static void send_event(struct sse *s, const char *name, json_t *data)
{
	struct evbuffer *buf;
	char *text;

	if (http_queued(s->req) > MAX_QUEUED) {
		/* Its close callback forgets it. */
		evhttp_connection_free(evhttp_request_get_connection(s->req));
		return;
	}
	text = json_dumps(data, JSON_COMPACT);
	buf = evbuffer_new();
	if (text && buf) {
		evbuffer_add_printf(buf, "event: %s\ndata: %s\n\n", name, text);
		evhttp_send_reply_chunk(s->req, buf);
	}
	if (buf)
		evbuffer_free(buf);
	free(text);
}

static void broadcast(struct events *e, const char *name, json_t *data)
{
	struct web_list *node, *next;

	web_list_each(node, next, &e->listeners)
		send_event(WEB_LIST_ITEM(node, struct sse, link), name, data);
}

/* Keep the last TAIL_BYTES of stdout, starting on a character. */
static void tail_add(struct events *e, const char *text, size_t len)
{
	size_t drop;

	if (len >= TAIL_BYTES) {
		text += len - (TAIL_BYTES - 1);
		len = TAIL_BYTES - 1;
		e->tail_len = 0;
	}
	if (e->tail_len + len > TAIL_BYTES - 1) {
		drop = e->tail_len + len - (TAIL_BYTES - 1);
		memmove(e->tail, e->tail + drop, e->tail_len - drop);
		e->tail_len -= drop;
	}
	memcpy(e->tail + e->tail_len, text, len);
	e->tail_len += len;
	/* Never start in the middle of a UTF-8 sequence. */
	drop = 0;
	while (drop < e->tail_len && ((unsigned char)e->tail[drop] & 0xC0) == 0x80)
		drop++;
	memmove(e->tail, e->tail + drop, e->tail_len - drop);
	e->tail_len -= drop;
}

void events_on_notify(struct events *e, const char *topic, json_t *params)
{
	if (strcmp(topic, "stdout") == 0) {
		const char *text = json_string_value(json_object_get(params, "text"));

		if (text)
			tail_add(e, text, json_string_length(json_object_get(params, "text")));
	} else if (strcmp(topic, "link") == 0) {
		json_decref(e->link);
		e->link = json_incref(params);
	} else if (strcmp(topic, "state") == 0) {
		json_decref(e->state);
		e->state = json_incref(params);
	} else {
		return;
	}
	broadcast(e, topic, params);
}

void events_on_daemon(struct events *e, bool connected, const char *why)
{
	json_decref(e->daemon);
	e->daemon = json_pack("{s:b,s:s?}", "connected", connected, "reason", why);
	/* omvd replays the latest run's output to a new connection. */
	if (connected)
		e->tail_len = 0;
	if (e->daemon)
		broadcast(e, "daemon", e->daemon);
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
	struct events *e = arg;
	struct web_list *node, *next;

	web_list_each(node, next, &e->listeners) {
		struct sse *s = WEB_LIST_ITEM(node, struct sse, link);
		struct evbuffer *buf = evbuffer_new();

		if (!buf)
			continue;
		evbuffer_add(buf, ": ping\n\n", 8);
		evhttp_send_reply_chunk(s->req, buf);
		evbuffer_free(buf);
	}
}

void events_request(struct events *e, struct evhttp_request *req)
{
	struct sse *s;
	json_t *tail;
	struct evbuffer *retry;

	if (e->count >= MAX_LISTENERS) {
		http_reply_error(req, 503, "too many event listeners");
		return;
	}
	s = calloc(1, sizeof *s);
	retry = evbuffer_new();
	if (!s || !retry) {
		free(s);
		if (retry)
			evbuffer_free(retry);
		http_reply_error(req, 503, "out of memory");
		return;
	}
	s->e = e;
	s->req = req;
	web_list_add(&e->listeners, &s->link);
	e->count++;
	http_stream_start(e->w->http, req, "text/event-stream", 0);
	http_on_close(e->w->http, req, listener_closed, s);
	evbuffer_add_printf(retry, "retry: 2000\n\n");
	evhttp_send_reply_chunk(req, retry);
	evbuffer_free(retry);
	if (e->daemon)
		send_event(s, "daemon", e->daemon);
	if (e->link)
		send_event(s, "link", e->link);
	if (e->state)
		send_event(s, "state", e->state);
	tail = json_pack("{s:s%,s:b}", "text", e->tail, e->tail_len, "replay", 1);
	if (tail)
		send_event(s, "stdout", tail);
	json_decref(tail);
}

struct events *events_new(struct web *w)
{
	struct events *e = calloc(1, sizeof *e);
	struct timeval tv = { PING_S, 0 };

	if (!e)
		return NULL;
	e->w = w;
	web_list_init(&e->listeners);
	e->ping = event_new(w->base, -1, EV_PERSIST, on_ping, e);
	if (!e->ping || event_add(e->ping, &tv) < 0) {
		if (e->ping)
			event_free(e->ping);
		free(e);
		return NULL;
	}
	return e;
}

void events_free(struct events *e)
{
	if (!e)
		return;
	while (!web_list_empty(&e->listeners)) {
		struct sse *s = WEB_LIST_ITEM(e->listeners.next, struct sse, link);
		struct evhttp_request *req = s->req;

		http_forget_close(e->w->http, req);
		forget(s);
		evhttp_send_reply_end(req);
	}
	event_free(e->ping);
	json_decref(e->link);
	json_decref(e->state);
	json_decref(e->daemon);
	free(e);
}
