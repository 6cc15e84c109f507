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

struct bufferevent;
struct event;
struct rpc_server;

enum client_topic {
	TOPIC_LINK = 1u << 0,
	TOPIC_EVENT = 1u << 1,
	TOPIC_STDOUT = 1u << 2,
	TOPIC_FRAME = 1u << 3,
	TOPIC_STATE = 1u << 4,
};

enum frame_encoding {
	FRAME_ENC_NONE,
	FRAME_ENC_JPEG,
	FRAME_ENC_RGB888,
	FRAME_ENC_NATIVE,
	FRAME_ENC_COUNT,
};

/* One serialised line shared by many clients' output queues. */
struct shared_line {
	unsigned refs;
	size_t len;
	char data[];
};
struct shared_line *shared_line_new(const json_t *msg);
void shared_line_unref(struct shared_line *l);

/* The replies of one request line (a request or a batch), in order. */
struct reply_slot {
	TAILQ_ENTRY(reply_slot) link;
	bool batch;
	size_t count;
	size_t pending;		/* calls still running (+1 while dispatching) */
	json_t **replies;	/* count entries; NULL: nothing to send */
};

/* One request being served. Methods keep what they need in the scratch. */
struct rpc_call {
	TAILQ_ENTRY(rpc_call) link;
	struct rpc_client *client;
	struct reply_slot *slot;
	size_t index;
	json_t *id;		/* NULL for a notification */
	const char *method;	/* static name from the method table */
	/* per-method scratch */
	uint8_t chan;
	uint32_t u32;
	int kind;
	char *text;
};

struct client_event {
	uint8_t chan, opcode;
	uint16_t code;
};
#define CLIENT_EVENTS_MAX 256

struct client_stats {
	uint64_t calls, errors, frames_sent, frames_dropped, bytes_in, bytes_out;
	uint64_t stdout_missed;	/* stdout bytes that left the history unread */
};

struct rpc_client {
	TAILQ_ENTRY(rpc_client) link;
	struct rpc_server *server;
	uint64_t id;
	char name[64];
	struct bufferevent *bev;
	struct cam_owner *owner;
	struct event *input_ev;		/* process buffered lines later */
	struct event *free_ev;		/* free outside any callback chain */

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
	uint64_t stdout_cursor;		/* next stdout byte read_stdout returns */
	uint64_t stdout_sent;		/* next stdout byte to notify */
	bool stdout_behind;		/* stdout notifications wait for room */
	struct shared_line *state_held;	/* state to send after that stdout */
	uint64_t last_frame;		/* newest frame number read_frame returned */
	struct client_event events[CLIENT_EVENTS_MAX];
	unsigned ev_head, ev_count;
	struct shared_line *pending_frame;	/* newest frame waiting for room */
	struct client_stats stats;
};

struct rpc_client *rpc_client_new(struct rpc_server *s, int fd);
/* Immediate teardown; only outside the client's callbacks (server free). */
void rpc_client_free(struct rpc_client *c);
/* Schedule teardown (safe anywhere); reason is logged. */
void rpc_client_close(struct rpc_client *c, const char *reason);
/* Stop reading; close once the replies already produced are written. */
void rpc_client_drain(struct rpc_client *c);

size_t rpc_client_queued(const struct rpc_client *c);
/* Server push: a notification line (never dropped) or a frame (dropped,
 * newest wins, while the output queue is above the soft limit). */
void rpc_client_send_shared(struct rpc_client *c, struct shared_line *l);
void rpc_client_send_frame(struct rpc_client *c, struct shared_line *l);
void rpc_client_push_event(struct rpc_client *c, uint8_t chan, uint8_t opcode, uint16_t code);

/* Ending a call: exactly one of these, once. result/data are stolen. */
void call_result(struct rpc_call *call, json_t *result);
void call_error(struct rpc_call *call, int code, const char *message, json_t *data);
void call_errorf(struct rpc_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Map a failed cam request to its JSON-RPC error. */
void call_cam_error(struct rpc_call *call, const struct cam_reply *r);

#endif
