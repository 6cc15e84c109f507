/*
 * The listening Unix socket and the set of connected clients: accepts
 * connections (up to a limit), owns the clients, turns camera callbacks
 * into notifications, and shuts down gracefully.
 */
#ifndef OMVD_RPC_SERVER_H
#define OMVD_RPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "camera.h"
#include "log.h"

struct event_base;
struct evconnlistener;
struct event;
struct rpc_client;
struct rpc_frames;

struct rpc_server_options {
	const char *socket_path;	/* default /run/omvd/omvd.sock */
	int listen_fd;			/* already listening (systemd), or -1 */
	size_t max_request;		/* longest request line, default 4 MiB */
	size_t input_budget;		/* all clients' unfinished input, 64 MiB */
	unsigned max_clients;		/* default 1024 */
	size_t soft_limit;		/* a client's output above which reading
					 * pauses and what can wait waits, 4 MiB */
	size_t hard_limit;		/* a client's output above which it is cut, 64 MiB */
	size_t output_budget;		/* all clients' output (shared lines once);
					 * above, the biggest is cut, 64 MiB */
	size_t max_response;		/* one reply line (or batch), above: -32008 */
	unsigned max_outstanding;	/* calls per client before reading pauses */
	unsigned drain_ms;		/* shutdown: time to flush replies */
	unsigned frame_workers;		/* threads preparing frames, 0: per CPU */
	size_t max_frame_pixels;	/* largest image decoded, 0: default */
	/* Called on every link change (after the notifications); may be NULL. */
	void (*link_hook)(void *arg, enum link_state st, const char *reason);
	void *link_hook_arg;
};
void rpc_server_options_default(struct rpc_server_options *o);

TAILQ_HEAD(rpc_client_list, rpc_client);

struct rpc_server {
	struct event_base *base;
	struct rpc_server_options opt;
	struct evconnlistener *listener;
	char *created_path;		/* socket file we made, unlinked at exit */
	dev_t sock_dev;
	ino_t sock_ino;
	struct camera *cam;
	struct rpc_frames *frames;
	struct rpc_client_list clients;
	unsigned nclients;
	size_t out_total;		/* memory held by clients' output, shared
					 * lines not counted (outq_shared_total) */
	size_t in_total;		/* bytes of all clients' unfinished input */

	/* Accepting a bounded number per loop turn (a connect flood must not
	 * starve the loop). */
	unsigned accepted_in_turn;
	struct event *accept_ev;

	/* Client lines are rate limited; a summary says what was left out. */
	struct log_limit client_log;
	struct event *log_summary_ev;

	/* Memory given back to the OS after large releases (glibc keeps it). */
	size_t released;
	bool trim_soon;			/* trim_ev due in TRIM_DELAY_MS */
	struct event *trim_ev;
	uint64_t next_client_id;
	uint64_t started_ms;

	/* Last shared state announced on the `state` topic. */
	struct camera_shared announced;
	bool announced_valid;

	bool stopping;
	struct event *drain_timer;
	void (*stopped)(void *arg);
	void *stopped_arg;
};

/* Creates (or adopts) the listening socket; NULL with a message in err. */
struct rpc_server *rpc_server_new(struct event_base *base, const struct rpc_server_options *o,
				  char *err, size_t errlen);
void rpc_server_set_camera(struct rpc_server *s, struct camera *cam);
/* Callbacks to hand to camera_new() with the server as ctx. */
const struct camera_listener *rpc_server_camera_listener(void);
/* Stop accepting, let clients flush the replies already produced (up to
 * drain_ms), then call stopped(arg) once. */
void rpc_server_shutdown(struct rpc_server *s, void (*stopped)(void *arg), void *arg);
/* Frees every client (before camera_free) and removes our socket file. */
void rpc_server_free(struct rpc_server *s);

/* Called by a client once it is gone (from the client's free path). */
void rpc_server_client_gone(struct rpc_server *s);
/* Announce the shared state on `state` when it differs from the last one. */
void rpc_server_announce_state(struct rpc_server *s);
/* Send a client the stdout its topic cursor has not passed yet, as far
 * as it has room (the rest when it has room again). */
void rpc_notify_stdout(struct rpc_client *c);

/* Clients' output and input memory, and the budgets over all clients:
 * over budget, the client holding the most is cut. */
void rpc_server_output_grew(struct rpc_server *s, size_t n);
void rpc_server_output_shrank(struct rpc_server *s, size_t n);
void rpc_server_check_output_budget(struct rpc_server *s);
void rpc_server_input_changed(struct rpc_server *s, size_t before, size_t after);
void rpc_server_check_input_budget(struct rpc_server *s);

/* A line about a client, rate limited (see struct log_limit). */
void rpc_server_log_client(struct rpc_server *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
