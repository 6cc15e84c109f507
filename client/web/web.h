/*
 * omv-web: a web front end for omvd, as one of its clients. One libevent
 * loop runs the HTTP server (evhttp) and the connection to omvd
 * (libomvclient, async). Each file owns one room:
 *
 *   main.c      options and wiring
 *   upstream.c  the connection to omvd: reconnects, subscriptions, calls
 *   frames.c    the newest JPEG frame, shared by reference; who wants frames
 *   mjpeg.c     /stream.mjpg viewers, each with its own backpressure
 *   snapshot.c  /snapshot.jpg and /snapshot.png
 *   events.c    /events (server-sent events): stdout, state, link
 *   api.c       /api/... JSON, and the control calls
 *   auth.c      the control token
 *   http.c      the server: limits, routing, access, replies
 *   assets.c    the page, generated from page.html, page.css, page.js
 */
#ifndef OMV_WEB_H
#define OMV_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "omvclient.h"

/* Bounds on what one client can ask of us. */
#define WEB_MAX_HEADERS (16 * 1024)	/* request line and headers */
#define WEB_MAX_BODY (128 * 1024)	/* a script, with room to spare */
#define WEB_CALL_TIMEOUT_MS 10000	/* a call to omvd on behalf of a request */

struct web_options {
	const char *socket_path;
	const char *listen;		/* "HOST:PORT" */
	const char *token_file;		/* read the token from here, or NULL */
	bool public_view;		/* viewing without the token */
	int max_viewers;		/* /stream.mjpg at once */
	int max_connections;		/* HTTP connections at once */
	int timeout_s;			/* idle request, or reply not taken */
};

/* An intrusive, circular, doubly-linked list: each room keeps what it
 * serves (viewers, waiting shots, listeners) on one, and an item may
 * leave while the room walks it (web_list_each steps on first). */
struct web_list {
	struct web_list *prev, *next;
};

#define WEB_LIST_ITEM(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))
#define web_list_each(node, next, head) \
	for (node = (head)->next; node != (head) && (next = node->next, 1); node = next)

static inline void web_list_init(struct web_list *head)
{
	head->prev = head->next = head;
}

static inline bool web_list_empty(const struct web_list *head)
{
	return head->next == head;
}

static inline void web_list_add(struct web_list *head, struct web_list *n)
{
	n->next = head;
	n->prev = head->prev;
	head->prev->next = n;
	head->prev = n;
}

/* Unlink n; unlinking it again does nothing. */
static inline void web_list_del(struct web_list *n)
{
	if (!n->next)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = NULL;
}

struct upstream;
struct frames;
struct mjpeg;
struct snapshots;
struct events;
struct http;

struct web {
	struct event_base *base;
	struct web_options opt;
	char token[129];
	int port;			/* bound */
	struct upstream *up;
	struct frames *frames;
	struct mjpeg *mjpeg;
	struct snapshots *shots;
	struct events *events;
	struct http *http;
};

/* ---- upstream.c: the connection to omvd ---------------------------- */

struct upstream *upstream_new(struct web *w, const char *socket_path);
void upstream_free(struct upstream *up);
bool upstream_connected(const struct upstream *up);
/* Start a call; params is stolen (may be NULL). Returns -1 without
 * calling cb when omvd is not connected. */
int upstream_call(struct upstream *up, const char *method, json_t *params, omv_reply_cb cb,
		  void *arg);
/* Subscribe to JPEG frames (and wish for streaming) or withdraw. */
void upstream_want_frames(struct upstream *up, bool want);

/* ---- frames.c: the JPEG frames omvd sends, shared by reference ----- */

/* Someone who wants frames: registering makes omv-web want them from
 * omvd; on_frame is called with every new frame (borrowed: take a ref to
 * keep it). A listener may remove itself from its callback. */
struct frame_listener {
	void (*on_frame)(struct frame_listener *l, const omv_frame *f);
	struct web_list link;
};

struct frames *frames_new(struct web *w);
void frames_free(struct frames *fr);
void frames_listen(struct frames *fr, struct frame_listener *l);
void frames_unlisten(struct frames *fr, struct frame_listener *l);
/* From upstream: a frame notification. */
void frames_on_frame(struct frames *fr, const omv_frame *f);
/* For /api/status: frames received, skipped (not JPEG), listeners. */
json_t *frames_stats(const struct frames *fr);

/* ---- mjpeg.c, snapshot.c, events.c, api.c: the endpoints ----------- */

struct mjpeg *mjpeg_new(struct web *w);
void mjpeg_free(struct mjpeg *m);
void mjpeg_request(struct mjpeg *m, struct evhttp_request *req);
json_t *mjpeg_stats(const struct mjpeg *m);

struct snapshots *snapshots_new(struct web *w);
void snapshots_free(struct snapshots *s);
void snapshot_request(struct snapshots *s, struct evhttp_request *req, bool png);

struct events *events_new(struct web *w);
void events_free(struct events *e);
void events_request(struct events *e, struct evhttp_request *req);
/* From upstream: a notification of omvd (topic, params borrowed). */
void events_on_notify(struct events *e, const char *topic, json_t *params);
/* From upstream: the connection to omvd came or went. */
void events_on_daemon(struct events *e, bool connected, const char *why);

void api_request(struct web *w, struct evhttp_request *req, const char *path,
		 bool control);

/* ---- auth.c: the control token ------------------------------------- */

/* Read the token from opt.token_file, or make one; 0 or -1 (logged). */
int auth_init(struct web *w);
/* Write a made-up token to the default file (after binding: the name
 * holds w->port); the path written, or NULL (none, or --token-file). */
const char *auth_save(struct web *w);
/* The request carries the token (header or cookie). */
bool auth_request_has_token(const struct web *w, struct evhttp_request *req);
/* The token given in "/?token=...": 1 right, 0 wrong, -1 none given. */
int auth_query_token(const struct web *w, const char *query);
/* The Set-Cookie value that carries the token. */
void auth_cookie(const struct web *w, char *out, size_t size);

/* ---- http.c: the server -------------------------------------------- */

/* Bind and serve; sets w->port (the one bound, for :0); 0 or -1 (logged). */
int http_start(struct web *w);
void http_free(struct http *h);
/* Count of HTTP connections open. */
int http_connections(const struct http *h);
/* Call fn(arg) once when the request's connection closes before the
 * reply is complete (one per connection): the request is then gone, and
 * fn must forget it without touching it. */
void http_on_close(struct http *h, struct evhttp_request *req, void (*fn)(void *),
		   void *arg);
void http_forget_close(struct http *h, struct evhttp_request *req);
/* Start a reply of chunks that may go quiet for long (no read timeout;
 * a peer that stops reading is still cut after --timeout). sndbuf > 0
 * caps what the kernel holds for the peer (bytes). */
void http_stream_start(struct http *h, struct evhttp_request *req, const char *type,
		       int sndbuf);
/* Bytes queued for the request's connection, not yet sent. */
size_t http_queued(struct evhttp_request *req);
/* Complete replies. */
void http_reply_json(struct evhttp_request *req, int code, json_t *body);	/* stolen */
void http_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void http_reply_bytes(struct evhttp_request *req, const char *type, const void *data,
		      size_t len);
/* Headers every reply of ours carries. */
void http_common_headers(struct evhttp_request *req);

/* ---- assets.c (generated) ----------------------------------------- */

struct web_asset {
	const char *path;
	const char *type;
	const unsigned char *data;
	size_t len;
};
extern const struct web_asset web_assets[];

/* ---- log (main.c) -------------------------------------------------- */

void web_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
