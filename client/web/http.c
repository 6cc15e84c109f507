/*
 * The HTTP server: evhttp with bounded requests (header and body sizes,
 * an idle timeout, a cap on connections), the routing table, who may do
 * what (view: the token or --public-view; control: the token), and the
 * reply helpers every endpoint uses.
 *
 * Every connection that sent a request is tracked: that is how the cap is
 * counted and how a streaming reply learns that its viewer went away
 * (evhttp has one close callback per connection; it is ours, and passes
 * the news on). A connection that never completes a request costs a
 * socket until the idle timeout.
 */
#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

struct conn {
	struct conn *next;
	struct http *h;
	struct evhttp_connection *evcon;
	void (*on_close)(void *);
	void *arg;
	struct evhttp_request *req;	/* the reply on_close is about */
};

struct http {
	struct web *w;
	struct evhttp *server;
	struct conn *conns;
	int nconns;
	bool loopback;		/* bound to loopback: Host must name it too */
};

/* ---- replies -------------------------------------------------------- */

void http_common_headers(struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	evhttp_add_header(out, "X-Frame-Options", "DENY");
	evhttp_add_header(out, "Cache-Control", "no-store");
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

void http_reply_json(struct evhttp_request *req, int code, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct evbuffer *buf = evbuffer_new();

	json_decref(body);
	http_common_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (text && buf) {
		evbuffer_add(buf, text, strlen(text));
		evbuffer_add(buf, "\n", 1);
	}
	evhttp_send_reply(req, text ? code : 500, reason(text ? code : 500), buf);
	if (buf)
		evbuffer_free(buf);
	free(text);
}

void http_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	http_reply_json(req, code, json_pack("{s:{s:s}}", "error", "message", msg));
}

void http_reply_bytes(struct evhttp_request *req, const char *type, const void *data,
		      size_t len)
{
	struct evbuffer *buf = evbuffer_new();

	http_common_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	if (buf)
		evbuffer_add(buf, data, len);
	evhttp_send_reply(req, buf ? 200 : 500, buf ? "OK" : "Error", buf);
	if (buf)
		evbuffer_free(buf);
}

void http_stream_start(struct http *h, struct evhttp_request *req, const char *type,
		       int sndbuf)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	struct timeval write_tv = { h->w->opt.timeout_s, 0 };

	http_common_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evhttp_send_reply_start(req, 200, "OK");
	/* evhttp re-arms the read timeout with every chunk: a quiet stream
	 * (no frames while the cam is away) would be cut for it. Only a peer
	 * that stops taking what we send should be. */
	bufferevent_set_timeouts(bev, NULL, &write_tv);
	if (sndbuf > 0)
		setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
}

size_t http_queued(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* ---- connections ---------------------------------------------------- */

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	struct http *h = c->h;

	for (struct conn **pp = &h->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	h->nconns--;
	if (c->on_close) {
		c->on_close(c->arg);
		/* A reply cut short by the peer (or the timeout) is detached from
		 * its connection and left to us to free; when the whole server
		 * goes down, evhttp frees it itself. */
		if (!evhttp_request_get_connection(c->req))
			evhttp_request_free(c->req);
	}
	free(c);
}

static struct conn *conn_find(struct http *h, struct evhttp_connection *evcon)
{
	for (struct conn *c = h->conns; c; c = c->next)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

/* The connection's record; NULL when it is new and one too many. */
static struct conn *conn_track(struct http *h, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct conn *c = conn_find(h, evcon);

	if (c)
		return c;
	if (h->nconns >= h->w->opt.max_connections || !(c = calloc(1, sizeof *c)))
		return NULL;
	c->h = h;
	c->evcon = evcon;
	c->next = h->conns;
	h->conns = c;
	h->nconns++;
	evhttp_connection_set_closecb(evcon, conn_closed, c);
	return c;
}

void http_on_close(struct http *h, struct evhttp_request *req, void (*fn)(void *), void *arg)
{
	struct conn *c = conn_find(h, evhttp_request_get_connection(req));

	if (c) {
		c->on_close = fn;
		c->arg = arg;
		c->req = req;
	}
}

void http_forget_close(struct http *h, struct evhttp_request *req)
{
	http_on_close(h, req, NULL, NULL);
}

int http_connections(const struct http *h)
{
	return h->nconns;
}

/* ---- access --------------------------------------------------------- */

/* With a loopback listener, a Host naming anything else is a page of
 * another site that had its name point here (DNS rebinding). */
static bool host_ok(const struct http *h, struct evhttp_request *req)
{
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	char name[300];
	const char *end;
	size_t n;

	if (!h->loopback || !host)
		return true;
	if (host[0] == '[')
		end = strchr(host, ']') ? strchr(host, ']') + 1 : host + strlen(host);
	else
		end = strchr(host, ':') ? strchr(host, ':') : host + strlen(host);
	n = (size_t)(end - host);
	if (n >= sizeof name)
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (strcasecmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0)
		return true;
	return strncmp(name, "127.", 4) == 0 && strspn(name, "0123456789.") == n;
}

/* A browser sends Origin with a POST: it must be this server, so another
 * site cannot make a visitor's browser run scripts here. */
static bool origin_ok(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");
	const char *host = evhttp_find_header(in, "Host");

	if (!origin)
		return true;
	return host && strncmp(origin, "http://", 7) == 0 && strcmp(origin + 7, host) == 0;
}

static const char login_page[] =
	"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>omv-web</title></head>"
	"<body><h1>omv-web</h1><p>%s</p>"
	"<p>Open the address omv-web printed when it started (it ends in "
	"<code>?token=...</code>), or enter the token from its token file:</p>"
	"<form method=\"get\" action=\"/\"><input name=\"token\" size=\"70\" "
	"autocomplete=\"off\"> <button>Open</button></form></body></html>\n";

static void reply_login(struct evhttp_request *req, int code, const char *why)
{
	struct evbuffer *buf = evbuffer_new();

	http_common_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/html; charset=utf-8");
	if (buf)
		evbuffer_add_printf(buf, login_page, why);
	evhttp_send_reply(req, code, reason(code), buf);
	if (buf)
		evbuffer_free(buf);
}

/* ---- routing -------------------------------------------------------- */

static const struct web_asset *find_asset(const char *path)
{
	for (const struct web_asset *a = web_assets; a->path; a++)
		if (strcmp(a->path, path) == 0)
			return a;
	return NULL;
}

static void serve_asset(struct evhttp_request *req, const struct web_asset *a)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	/* Everything the page needs comes from here; nothing else may run. */
	evhttp_add_header(out, "Content-Security-Policy",
			  "default-src 'self'; img-src 'self' blob: data:; "
			  "frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
	http_reply_bytes(req, a->type, a->data, a->len);
}

static void serve_root(struct http *h, struct evhttp_request *req, const char *query,
		       bool view)
{
	int given = auth_query_token(h->w, query);
	char cookie[300];

	if (given == 1) {
		/* Trade the token in the address for a cookie, and drop it from
		 * the address bar (and from history). */
		auth_cookie(h->w, cookie, sizeof cookie);
		http_common_headers(req);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", cookie);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/");
		evhttp_send_reply(req, 303, reason(303), NULL);
	} else if (given == 0) {
		reply_login(req, 403, "That token is not the right one.");
	} else if (!view) {
		reply_login(req, 401, "This view needs the token.");
	} else {
		serve_asset(req, find_asset("/"));
	}
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	bool post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	bool token, view;
	const struct web_asset *asset;

	if (!conn_track(h, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		http_reply_error(req, 503, "too many connections");
		return;
	}
	if (!path || !*path)
		path = "/";
	if (!host_ok(h, req)) {
		http_reply_error(req, 403, "this server answers only to a loopback host name");
		return;
	}
	if (post && !origin_ok(req)) {
		http_reply_error(req, 403, "cross-origin request refused");
		return;
	}
	token = auth_request_has_token(h->w, req);
	view = token || h->w->opt.public_view;
	if (strcmp(path, "/") == 0 && !post) {
		serve_root(h, req, query, view);
		return;
	}
	asset = find_asset(path);
	if (asset && !post) {	/* the page's own files hold nothing secret */
		serve_asset(req, asset);
		return;
	}
	if (strncmp(path, "/api/", 5) == 0) {
		if (!view && !post)
			http_reply_error(req, 401, "this needs the token");
		else
			api_request(h->w, req, path + 5, token);
		return;
	}
	if (strcmp(path, "/stream.mjpg") != 0 && strcmp(path, "/snapshot.jpg") != 0 &&
	    strcmp(path, "/snapshot.png") != 0 && strcmp(path, "/events") != 0) {
		http_reply_error(req, 404, "no such page");
	} else if (post) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		http_reply_error(req, 405, "GET only");
	} else if (!view) {
		http_reply_error(req, 401, "this needs the token");
	} else if (strcmp(path, "/stream.mjpg") == 0) {
		mjpeg_request(h->w->mjpeg, req);
	} else if (strcmp(path, "/events") == 0) {
		events_request(h->w->events, req);
	} else {
		snapshot_request(h->w->shots, req, strcmp(path, "/snapshot.png") == 0);
	}
}

/* ---- start ---------------------------------------------------------- */

/* "HOST:PORT" or "[V6]:PORT" into host (brackets dropped) and port. */
static int split_listen(const char *listen, char *host, size_t size, int *port)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen, *end = colon;
	char *pend;
	long p;

	if (!colon)
		return -1;
	if (*h == '[') {
		h++;
		if (end == h || end[-1] != ']')
			return -1;
		end--;
	}
	if ((size_t)(end - h) >= size)
		return -1;
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	if (!*host)
		snprintf(host, size, "127.0.0.1");
	p = strtol(colon + 1, &pend, 10);
	if (colon[1] == '\0' || *pend != '\0' || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static bool is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int bound_port(struct evhttp_bound_socket *bs)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int http_start(struct web *w)
{
	struct http *h = calloc(1, sizeof *h);
	struct evhttp_bound_socket *bs;
	char host[256];
	int port;

	if (!h)
		return -1;
	w->http = h;
	h->w = w;
	if (split_listen(w->opt.listen, host, sizeof host, &port) < 0) {
		web_log("--listen '%s': expected HOST:PORT", w->opt.listen);
		return -1;
	}
	h->loopback = is_loopback(host);
	h->server = evhttp_new(w->base);
	if (!h->server)
		return -1;
	evhttp_set_max_headers_size(h->server, WEB_MAX_HEADERS);
	evhttp_set_max_body_size(h->server, WEB_MAX_BODY);
	evhttp_set_timeout(h->server, w->opt.timeout_s);
	evhttp_set_allowed_methods(h->server, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(h->server, on_request, h);
	bs = evhttp_bind_socket_with_handle(h->server, host, (ev_uint16_t)port);
	if (!bs) {
		web_log("cannot listen on %s: %s", w->opt.listen, strerror(errno));
		return -1;
	}
	w->port = bound_port(bs);
	if (!h->loopback)
		web_log("listening on %s: anyone who can reach it can connect "
			"(plain HTTP: the token travels in clear)", w->opt.listen);
	return 0;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	/* Freeing the server closes its connections: their records go with them. */
	if (h->server)
		evhttp_free(h->server);
	while (h->conns) {
		struct conn *c = h->conns;

		h->conns = c->next;
		free(c);
	}
	free(h);
}
