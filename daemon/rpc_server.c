/*
 * The listening socket: created at --socket (stale file replaced, a live
 * daemon respected) or adopted from systemd; connections accepted up to
 * --max-clients; graceful shutdown that lets replies already produced go
 * out before everything is freed.
 */
#include "rpc_server.h"

#include <errno.h>
#include <libgen.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "clock.h"
#include "log.h"
#include "rpc.h"
#include "rpc_client.h"
#include "rpc_outq.h"
#include "rpc_frames.h"

#define ACCEPT_RETRY_MS 100
/* Connections accepted per loop turn. */
#define ACCEPT_BURST 16
/* Client lines logged per window, and the window. */
#define CLIENT_LOG_BURST 20
#define CLIENT_LOG_WINDOW_MS 10000
/* Freed memory after which the heap is trimmed, and the delay (released
 * memory comes in bursts: one trim for the burst). */
#define TRIM_AFTER (512u << 10)
#define TRIM_DELAY_MS 200
/* Smaller releases: trimmed once things calm down. */
#define TRIM_IDLE_MS 5000

static const struct timeval next_turn = { 0, 0 };

void rpc_server_options_default(struct rpc_server_options *o)
{
	memset(o, 0, sizeof *o);
	o->socket_path = "/run/omvd/omvd.sock";
	o->listen_fd = -1;
	o->max_request = 4u << 20;
	o->input_budget = 64u << 20;
	o->max_clients = 1024;
	o->soft_limit = 4u << 20;
	o->hard_limit = 64u << 20;
	o->output_budget = 64u << 20;
	o->max_response = 48u << 20;
	o->max_outstanding = 64;
	o->drain_ms = 500;
}

static int mkdir_parents(const char *path)
{
	char *copy = strdup(path), *dir;
	struct stat st;
	int rc = 0;

	if (copy == NULL)
		return -1;
	dir = dirname(copy);
	if (stat(dir, &st) < 0) {
		rc = mkdir_parents(dir);
		if (rc == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
			rc = -1;
	}
	free(copy);
	return rc;
}

/* 1 when a server answers on path, 0 when nobody does (stale), -1 unknown. */
static int socket_is_live(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) == 0 || errno == EAGAIN)
		rc = 1;
	else if (errno == ECONNREFUSED)
		rc = 0;
	else
		rc = -1;
	close(fd);
	return rc;
}

static int create_socket(struct rpc_server *s, char *err, size_t errlen)
{
	const char *path = s->opt.socket_path;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof addr.sun_path) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	path = addr.sun_path;	/* non-NULL for sure from here on */
	if (mkdir_parents(path) < 0) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int live;
		if (errno != EADDRINUSE) {
			snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
			goto fail;
		}
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			goto fail;
		}
		live = socket_is_live(&addr);
		if (live != 0) {
			snprintf(err, errlen, "%s: %s", path,
				 live > 0 ? "another daemon is answering on it"
					  : "in use and cannot be probed");
			goto fail;
		}
		log_notice("removing stale socket %s", path);
		if ((unlink(path) < 0 && errno != ENOENT) ||
		    bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
			snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	if (chmod(path, 0660) < 0 || listen(fd, SOMAXCONN) < 0 || stat(path, &st) < 0) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	s->created_path = strdup(path);
	s->sock_dev = st.st_dev;
	s->sock_ino = st.st_ino;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Over the client limit: say why in one line and hang up. */
static void refuse_client(struct rpc_server *s, int fd)
{
	char text[96];
	json_t *err;
	char *line;
	size_t len;

	snprintf(text, sizeof text, "too many clients (limit %u)", s->opt.max_clients);
	err = rpc_error(NULL, RPC_INTERNAL_ERROR, text, NULL);
	line = rpc_dump_line(err, &len);
	if (line != NULL && write(fd, line, len) < 0)
		rpc_server_log_client(s, LOG_LVL_DEBUG, "refused client: %s", strerror(errno));
	free(line);
	json_decref(err);
	close(fd);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *s = arg;

	s->accepted_in_turn = 0;
	if (!s->stopping)
		evconnlistener_enable(s->listener);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
		      int socklen, void *arg)
{
	struct rpc_server *s = arg;

	if (s->stopping) {
		close(fd);
		return;
	}
	/* Others get their turn before the next burst: the listener stops
	 * its accept loop once disabled, and resumes next loop turn. */
	if (++s->accepted_in_turn >= ACCEPT_BURST) {
		evconnlistener_disable(l);
		evtimer_add(s->accept_ev, &next_turn);
	}
	if (s->nclients >= s->opt.max_clients) {
		rpc_server_log_client(s, LOG_LVL_WARNING, "refusing a client: %u clients connected",
				      s->nclients);
		refuse_client(s, fd);
		return;
	}
	if (rpc_client_new(s, fd) == NULL)
		log_err("cannot set up a client connection");
}

/* ---- rate-limited client lines ---- */

static void log_summary_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *s = arg;

	if (s->client_log.suppressed == 0)
		return;
	log_notice("%lu lines about clients left out in the last %u s (%u connected now)",
		   s->client_log.suppressed, CLIENT_LOG_WINDOW_MS / 1000, s->nclients);
	s->client_log.suppressed = 0;
}

void rpc_server_log_client(struct rpc_server *s, int level, const char *fmt, ...)
{
	uint64_t now = clock_now_ms();
	va_list ap;

	if (!log_enabled(level))
		return;
	if (!log_limit_allow(&s->client_log, now)) {
		/* Summarised when this window ends. */
		if (!evtimer_pending(s->log_summary_ev, NULL)) {
			uint64_t left = s->client_log.window_start + s->client_log.window_ms - now;
			struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000 };
			evtimer_add(s->log_summary_ev, &tv);
		}
		return;
	}
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/* ---- memory budgets ---- */

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *s = arg;

	s->released = 0;
	s->trim_soon = false;
	malloc_trim(0);
}

static void released(struct rpc_server *s, size_t n)
{
	struct timeval soon = { 0, TRIM_DELAY_MS * 1000 };
	struct timeval idle = { TRIM_IDLE_MS / 1000, 0 };

	s->released += n;
	if (s->released >= TRIM_AFTER && !s->trim_soon) {
		s->trim_soon = true;
		evtimer_add(s->trim_ev, &soon);
	} else if (!evtimer_pending(s->trim_ev, NULL)) {
		evtimer_add(s->trim_ev, &idle);
	}
}

void rpc_server_output_grew(struct rpc_server *s, size_t n)
{
	s->out_total += n;
}

void rpc_server_output_shrank(struct rpc_server *s, size_t n)
{
	s->out_total -= n;
	released(s, n);
}

/* The client holding the most of what get() measures. */
static struct rpc_client *biggest(struct rpc_server *s, size_t (*get)(const struct rpc_client *))
{
	struct rpc_client *c, *big = NULL;

	TAILQ_FOREACH(c, &s->clients, link)
		if (!c->closing && (big == NULL || get(c) > get(big)))
			big = c;
	return big;
}

/* Memory of all clients' output: each one's own, and the shared lines
 * (frames, notifications) once however many clients hold them. */
static size_t output_total(const struct rpc_server *s)
{
	return s->out_total + outq_shared_total();
}

void rpc_server_check_output_budget(struct rpc_server *s)
{
	struct rpc_client *big;

	while (output_total(s) > s->opt.output_budget) {
		/* Cutting the one with the most of its own gives the most back. */
		big = biggest(s, rpc_client_private_cost);
		if (big == NULL)
			break;
		if (rpc_client_private_cost(big) == 0)
			big = biggest(s, rpc_client_queued_cost);
		char reason[160];
		snprintf(reason, sizeof reason, "holds the most output (%zu bytes) when all "
			 "clients' output is over the budget of %zu", rpc_client_queued_cost(big),
			 s->opt.output_budget);
		rpc_client_close(big, reason);
	}
}

void rpc_server_input_changed(struct rpc_server *s, size_t before, size_t after)
{
	s->in_total += after - before;
	if (after < before)
		released(s, before - after);
}

static size_t input_held(const struct rpc_client *c)
{
	return c->in_accounted;
}

void rpc_server_check_input_budget(struct rpc_server *s)
{
	struct rpc_client *big;

	while (s->in_total > s->opt.input_budget && (big = biggest(s, input_held)) != NULL &&
	       big->in_accounted > 0)
		rpc_client_input_over_budget(big);
}

/* accept() failing (EMFILE...) would spin: pause accepting for a moment. */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct rpc_server *s = arg;
	struct timeval tv = { 0, ACCEPT_RETRY_MS * 1000 };

	rpc_server_log_client(s, LOG_LVL_WARNING, "accept: %s",
			      evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	evconnlistener_disable(l);
	evtimer_add(s->accept_ev, &tv);	/* also replaces a resume next turn */
}

struct rpc_server *rpc_server_new(struct event_base *base, const struct rpc_server_options *o,
				  char *err, size_t errlen)
{
	struct rpc_server *s = calloc(1, sizeof *s);
	int fd;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base = base;
	s->opt = *o;
	s->started_ms = clock_now_ms();
	TAILQ_INIT(&s->clients);
	s->client_log.burst = CLIENT_LOG_BURST;
	s->client_log.window_ms = CLIENT_LOG_WINDOW_MS;
	s->accept_ev = evtimer_new(base, accept_resume_cb, s);
	s->log_summary_ev = evtimer_new(base, log_summary_cb, s);
	s->trim_ev = evtimer_new(base, trim_cb, s);
	if (s->accept_ev == NULL || s->log_summary_ev == NULL || s->trim_ev == NULL) {
		snprintf(err, errlen, "out of memory");
		rpc_server_free(s);
		return NULL;
	}
	if (o->listen_fd >= 0) {
		fd = o->listen_fd;	/* systemd's: already listening, never unlinked */
		evutil_make_socket_nonblocking(fd);
		evutil_make_socket_closeonexec(fd);
	} else {
		fd = create_socket(s, err, errlen);
		if (fd < 0) {
			rpc_server_free(s);
			return NULL;
		}
	}
	s->frames = rpc_frames_new(s, o->frame_workers, o->max_frame_pixels);
	if (s->frames == NULL) {
		snprintf(err, errlen, "cannot start the frame workers");
		close(fd);
		rpc_server_free(s);
		return NULL;
	}
	s->listener = evconnlistener_new(base, accept_cb, s,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (s->listener == NULL) {
		snprintf(err, errlen, "cannot listen: %s",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		close(fd);
		rpc_server_free(s);
		return NULL;
	}
	evconnlistener_set_error_cb(s->listener, accept_error_cb);
	if (s->created_path != NULL)
		log_info("listening on %s", s->created_path);
	else
		log_info("listening on the socket passed by systemd");
	return s;
}

void rpc_server_set_camera(struct rpc_server *s, struct camera *cam)
{
	s->cam = cam;
}

static void server_stopped(struct rpc_server *s)
{
	void (*done)(void *) = s->stopped;

	s->stopped = NULL;
	if (s->drain_timer != NULL)
		event_del(s->drain_timer);
	if (done != NULL)
		done(s->stopped_arg);
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *s = arg;

	log_notice("shutdown: %u clients still had output queued", s->nclients);
	server_stopped(s);
}

void rpc_server_shutdown(struct rpc_server *s, void (*stopped)(void *arg), void *arg)
{
	struct rpc_client *c, *next;
	struct timeval tv = { s->opt.drain_ms / 1000, (s->opt.drain_ms % 1000) * 1000 };

	if (s->stopping)
		return;
	s->stopping = true;
	s->stopped = stopped;
	s->stopped_arg = arg;
	if (s->listener != NULL)
		evconnlistener_disable(s->listener);
	if (s->nclients == 0) {
		server_stopped(s);
		return;
	}
	s->drain_timer = evtimer_new(s->base, drain_timeout_cb, s);
	if (s->drain_timer != NULL)
		evtimer_add(s->drain_timer, &tv);
	for (c = TAILQ_FIRST(&s->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		rpc_client_drain(c);
	}
}

void rpc_server_client_gone(struct rpc_server *s)
{
	if (s->stopping && s->nclients == 0 && s->stopped != NULL)
		server_stopped(s);
}

void rpc_server_free(struct rpc_server *s)
{
	struct rpc_client *c;
	struct stat st;

	if (s == NULL)
		return;
	s->stopped = NULL;
	while ((c = TAILQ_FIRST(&s->clients)) != NULL)
		rpc_client_free(c);
	rpc_frames_free(s->frames);
	if (s->listener != NULL)
		evconnlistener_free(s->listener);
	if (s->drain_timer != NULL)
		event_free(s->drain_timer);
	if (s->accept_ev != NULL)
		event_free(s->accept_ev);
	if (s->log_summary_ev != NULL) {
		log_summary_cb(-1, 0, s);
		event_free(s->log_summary_ev);
	}
	if (s->trim_ev != NULL)
		event_free(s->trim_ev);
	/* Only remove the file if it is still the socket we made. */
	if (s->created_path != NULL && stat(s->created_path, &st) == 0 &&
	    st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
		unlink(s->created_path);
	free(s->created_path);
	free(s);
}
