/*
 * One connected client: its bufferevent, line framing, the queue of reply
 * slots that keeps its replies in request order, its calls in flight, its
 * subscriptions and cursors, and its bounded output queue.
 */
#ifndef OMVD_RPC_CLIENT_H
#define OMVD_RPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "camera.h"
#include "frame.h"
#include "rpc.h"
#include "rpc_outq.h"

struct bufferevent;
struct event;
struct rpc_server;
struct frame_post;

enum client_topic {
	TOPIC_LINK = 1u << 0,
	TOPIC_EVENT = 1u << 1,
	TOPIC_STDOUT = 1u << 2,
	TOPIC_FRAME = 1u << 3,
	TOPIC_STATE = 1u << 4,
};

/* A reply serialised as soon as it is made (a JSON tree of a large
 * reply costs many times its text). */
struct reply_text {
	char *data;		/* with its newline; NULL: nothing to send */
	size_t len;
	int fd;			/* passed with its first byte; -1: none */
};

/* The replies of one request line (a request or a batch), in order. */
struct reply_slot {
	TAILQ_ENTRY(reply_slot) link;
	bool batch;
	size_t count;
	size_t pending;		/* calls still running (+1 while dispatching) */
	size_t bytes;		/* of the replies so far */
	struct reply_text *replies;	/* count entries */
};

/* One request being served. Methods keep what they need in the scratch. */
struct rpc_call {
	TAILQ_ENTRY(rpc_call) link;
	struct rpc_client *client;
	struct reply_slot *slot;
	size_t index;
	json_t *id;		/* NULL for a notification */
	const char *method;	/* static name from the method table */
	/* Called when the client goes away while the call still runs (its
	 * completion must then never come); NULL: nothing to undo. */
	void (*on_cancel)(struct rpc_call *call);
	void *wait;		/* what a cancellable call waits on */
	/* per-method scratch */
	uint8_t chan;
	uint32_t u32;
	int kind;
	char *text;
	json_t *again;		/* params kept to run the method again (require_channel) */
	bool refreshed;		/* the channel list was refreshed for this call */
};

struct client_event {
	uint8_t chan, opcode;
	uint16_t code;
};
#define CLIENT_EVENTS_MAX 256

struct client_stats {
	uint64_t calls, errors, frames_sent, frames_dropped, notifications_dropped;
	uint64_t bytes_in, bytes_out;
	uint64_t stdout_missed;	/* stdout bytes that left the history unread */
};

/* Notifications waiting for room in a slow client's output (see
 * rpc_notify.c): the latest `link` and `state`, the newest `event`s. */
#define CLIENT_PENDING_EVENTS 64
struct client_pending {
	struct shared_line *link, *state;
	struct shared_line *events[CLIENT_PENDING_EVENTS];
	unsigned ev_head, ev_count;
};

struct rpc_client {
	TAILQ_ENTRY(rpc_client) link;
	struct rpc_server *server;
	uint64_t id;
	char name[64];
	struct bufferevent *bev;	/* reading side only */
	struct cam_owner *owner;
	struct event *input_ev;		/* process buffered lines next loop turn */
	struct event *write_ev;		/* socket writable, output queued */
	struct event *free_ev;		/* free outside any callback chain */
	struct outq out;
	bool out_full;			/* went above the soft limit: call out when below */
	size_t in_accounted;		/* input bytes counted in the server's total */
	size_t slot_bytes;		/* replies serialised, waiting in slots */

	/* A batch being dispatched a slice at a time. */
	struct rpc_message batch;
	struct reply_slot *batch_slot;
	size_t batch_next;

	TAILQ_HEAD(, reply_slot) slots;
	TAILQ_HEAD(, rpc_call) calls;
	unsigned outstanding;
	size_t scan_pos;		/* input bytes known to hold no newline */

	bool closing;			/* free scheduled; write nothing more */
	bool draining;			/* no more input; close once replies are out */
	bool read_paused;
	bool input_eof;			/* peer shut its writing side */

	unsigned topics;		/* enum client_topic bits */
	enum frame_encoding frame_enc;
	bool frame_shm;			/* frames in shared memory */
	uint64_t stdout_cursor;		/* next stdout byte read_stdout returns */
	uint64_t stdout_sent;		/* next stdout byte to notify */
	bool stdout_behind;		/* stdout notifications wait for room */
	struct shared_line *state_held;	/* state to send after that stdout */
	uint64_t last_frame;		/* newest frame number read_frame returned */
	struct client_event events[CLIENT_EVENTS_MAX];
	unsigned ev_head, ev_count;
	struct frame_post *frame_waiting;	/* newest frame waiting for room (rpc_frames) */
	struct client_pending pending;
	struct client_stats stats;
};

struct rpc_client *rpc_client_new(struct rpc_server *s, int fd);
/* Immediate teardown; only outside the client's callbacks (server free). */
void rpc_client_free(struct rpc_client *c);
/* Schedule teardown (safe anywhere); reason is logged. */
void rpc_client_close(struct rpc_client *c, const char *reason);
/* Cut for holding too much of all clients' unfinished input (-32007). */
void rpc_client_input_over_budget(struct rpc_client *c);
/* Stop reading; close once the replies already produced are written. */
void rpc_client_drain(struct rpc_client *c);

/* Memory its output holds: queued, and replies waiting for their turn. */
size_t rpc_client_queued_cost(const struct rpc_client *c);
/* The part of it not shared with other clients (frames, notifications). */
size_t rpc_client_private_cost(const struct rpc_client *c);

/*
 * Output. Everything queued to a client is written in the order queued
 * and never dropped; a client whose queued output goes over the hard
 * limit (--max-output), or the biggest one when all clients' output goes
 * over the global budget (--output-budget), is disconnected.
 *
 * Room: a client has room while its queued output is below the soft limit
 * (--client-output) and fewer than RPC_CLIENT_FDS_MAX descriptors wait.
 * What can wait (stdout from its cursor, the newest frame, coalesced
 * notifications) is sent only while it has room; once its output has
 * drained back below half the soft limit, rpc_notify_client_room(c) is
 * called to send what waited.
 */
bool rpc_client_has_room(const struct rpc_client *c);
/* Bytes already written to the socket that the client has not read yet
 * (the kernel's count, SIOCOUTQ: buffer sizes, not line lengths). */
size_t rpc_client_unread(const struct rpc_client *c);
/* A line that must not be lost (a reference is taken). */
void rpc_client_send_shared(struct rpc_client *c, struct shared_line *l);

/*
 * A line made of a copied head, a shared body sent by reference (many
 * clients' queues share one body without copies) and a copied tail, in
 * order with everything else queued to the client; with fd >= 0, a file
 * descriptor passed with its first byte (SCM_RIGHTS). fd is duplicated: the caller
 * keeps its own; the duplicate is closed once sent, or when the client
 * goes away with it unsent. Returns false, queueing nothing, when the
 * client is closing, already has RPC_CLIENT_FDS_MAX descriptors waiting
 * (wait for rpc_notify_client_room), or the fd cannot be duplicated. A
 * client that reads with read() instead of recvmsg() loses the
 * descriptor (the kernel closes it), never the line.
 */
#define RPC_CLIENT_FDS_MAX 8
bool rpc_client_send_parts(struct rpc_client *c, const char *head, struct shared_line *body,
			   const char *tail, int fd);

/* Called by the client when its output drained below half the soft
 * limit after it had gone above it (rpc_notify.c). */
void rpc_notify_client_room(struct rpc_client *c);
/* Drops the notifications waiting for room (client teardown). */
void rpc_notify_client_clear(struct rpc_client *c);

/* Ending a call: exactly one of these, once. result/data are stolen. */
void call_result(struct rpc_call *call, json_t *result);
void call_error(struct rpc_call *call, int code, const char *message, json_t *data);
void call_errorf(struct rpc_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* End the call with result, JSON text already serialised (no newline),
 * sent by reference, with fd >= 0 passed along (see rpc_client_send_parts)
 * -- when its reply can go out at once (no reply of this client before it
 * is pending, not in a batch). false: the call is untouched; end it with
 * call_reply_line. */
bool call_result_shared(struct rpc_call *call, struct shared_line *result, int fd);
/* End the call with its whole reply line already serialised (id and
 * newline included; malloc'd, ownership taken): for large results built
 * off the loop. fd >= 0 is passed with the reply's first byte (it is
 * duplicated: the caller keeps its own). */
void call_reply_line(struct rpc_call *call, char *line, size_t len, int fd);
/* Map a failed cam request to its JSON-RPC error. */
void call_cam_error(struct rpc_call *call, const struct cam_reply *r);

#endif
