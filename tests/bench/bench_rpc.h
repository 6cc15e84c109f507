/*
 * A fleet of JSON-RPC clients of omvd driven from one poll loop: frame
 * notifications are counted without being parsed as JSON (they can be
 * hundreds of KiB), replies to calls are parsed and matched by id. Calls
 * on one client keep every other client drained, as busy clients would.
 */
#ifndef OMV_BENCH_RPC_H
#define OMV_BENCH_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct fclient {
	int fd;
	char *buf;
	size_t start, len, cap, scan;	/* unconsumed bytes are buf[start..len) */
	unsigned next_id, want_id;
	json_t *reply;			/* reply to want_id, once it came */
	bool broken;
	/* frames counted while counting is on */
	bool counting;
	double frames, data_bytes;
	double bytes_in, fds_in;	/* socket bytes and descriptors received */
	double total_frames;		/* ever, counting or not */
	/* optional: every frame notification line, as it came */
	void (*on_frame)(void *arg, const char *line, size_t n);
	void *frame_arg;
	/* fleet_call_frame: the reply is looked at, not parsed */
	bool want_frame;
	int frame_result;		/* 1 a frame, 0 null, -1 an error */
};

struct fleet {
	struct fclient *c;
	unsigned n;
	struct pollfd *pfd;
};

/* n connections to the socket; -1 when any fails (nothing said). */
int fleet_open(struct fleet *f, const char *sock, unsigned n);
void fleet_close(struct fleet *f);
/* Replace client i by a fresh connection (churn); -1 on failure. */
int fleet_reconnect(struct fleet *f, unsigned i, const char *sock);
/* Drop client i's connection without replacing it. */
void fleet_drop(struct fleet *f, unsigned i);

/* Read whatever arrives for up to timeout_s (returns at the first data
 * when `once`). -1 when a connection broke. */
int fleet_pump(struct fleet *f, double timeout_s, bool once);

/*
 * Call method on client i (params stolen, may be NULL); pumps everybody
 * until the reply. Returns the "result" (new reference; JSON null is
 * returned as json_null()), or NULL on error/timeout (message on stderr).
 */
json_t *fleet_call(struct fleet *f, unsigned i, const char *method, json_t *params,
		   double timeout_s);

/*
 * read_frame on client i with params (JSON text of the object) without
 * parsing the reply (it can be hundreds of KiB): 1 when a frame came, 0
 * when null, -1 on error or timeout.
 */
int fleet_call_frame(struct fleet *f, unsigned i, const char *params, double timeout_s);

/* Start counting frames on every client (resets the counters). Shared
 * memory descriptors that come with frames are closed on arrival. */
void fleet_count(struct fleet *f, bool on);
/* Pump until clients from.. have each had >= n frames, or timeout; 0 ok. */
int fleet_wait_frames(struct fleet *f, unsigned from, double n, double timeout_s);

#endif
