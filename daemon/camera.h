/*
 * The cam as the daemon sees it: owns the serial link (cam_link), drives
 * the pure host state machine, runs the handshake, caches what it learned,
 * serves requests from many owners (one per client) round-robin with one
 * command on the wire at a time, resyncs and retries once on protocol
 * errors, reconnects with backoff, drains stdout and fetches frames.
 *
 * Everything is asynchronous: a request ends with exactly one call of its
 * cam_done_fn, unless its owner was freed first (then never).
 */
#ifndef OMVD_CAMERA_H
#define OMVD_CAMERA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/msg.h"

struct event_base;
struct frame;
struct stdout_log;
struct cam_owner;

enum link_state {
	LINK_CLOSED,		/* no port; retrying with backoff */
	LINK_OPENING,
	LINK_SYNCING,
	LINK_NEGOTIATING,
	LINK_READY,
};
const char *link_state_name(enum link_state s);	/* "closed", ... */

struct camera_options {
	const char *port;	/* default /dev/ttyACM0 */
	int baudrate;		/* default 921600 */
	struct omv_caps want;	/* crc seq ack events on, max_payload 4096 */
	unsigned timeout_ms;	/* per command, default 1000 */
	unsigned max_retry;	/* resync attempts, default 3 */
	double drop_rate;	/* test only: drop received packets */
	uint32_t seed;		/* for drop_rate */
	size_t max_response;	/* bound on one reassembled response, 32 MiB */
	size_t stdout_history;	/* bytes of stdout kept for polling clients */
};
void camera_options_default(struct camera_options *o);

/* Errors a request can end with. */
enum cam_err {
	CAM_OK = 0,
	CAM_E_NOT_CONNECTED,	/* link not ready (or dropped mid-request) */
	CAM_E_TIMEOUT,		/* no answer after resync + retry */
	CAM_E_STATUS,		/* cam answered NAK with status */
	CAM_E_NO_CHANNEL,	/* no channel of that name/id */
	CAM_E_BUSY,		/* NAK BUSY: not now */
	CAM_E_PROTOCOL,		/* garbled after resync + retry */
	CAM_E_INVALID,		/* bad arguments (too long, ...) */
	CAM_E_TOO_BIG,		/* response above max_response */
	CAM_E_LOCKED,		/* channel locked by another owner */
};
const char *cam_err_message(int err);

struct cam_reply {
	int err;		/* enum cam_err */
	uint16_t status;	/* NAK status for CAM_E_STATUS / CAM_E_BUSY */
	const uint8_t *data;	/* valid during the callback only */
	size_t len;
};
typedef void (*cam_done_fn)(void *arg, const struct cam_reply *r);

/* What the camera tells the server side. Any callback may be NULL. */
struct camera_listener {
	void (*link_changed)(void *ctx, enum link_state st, const char *reason);
	/* Every cam event, decoded (also those handled internally). */
	void (*event)(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code);
	void (*channels_changed)(void *ctx);
	/* New stdout text; it is already in the stdout log. */
	void (*stdout_data)(void *ctx, const char *text, size_t len);
	/* A new frame was fetched; take a frame_ref() to keep it. */
	void (*frame)(void *ctx, struct frame *f);
	/* Shared cam state changed (streaming, raw, script running, run). */
	void (*state_changed)(void *ctx);
	/* A lock the owner held could not be kept (the cam released it and
	 * would not give it back, the channel went, the link was lost). */
	void (*lock_lost)(void *ctx, struct cam_owner *owner, uint8_t chan, const char *reason);
};

struct camera *camera_new(struct event_base *base, const struct camera_options *o,
			  const struct camera_listener *l, void *ctx);
/* Closes the link, leaving the cam sane (streaming off when we turned it on). */
void camera_free(struct camera *c);
void camera_reopen(struct camera *c);	/* SIGHUP: close and reopen the port */

enum link_state camera_state(const struct camera *c);
/* The bound on one reassembled answer (max_response). */
size_t camera_max_response(const struct camera *c);
const char *camera_port(const struct camera *c);
/* Why the link is in its state ("connected", or why it is down). */
const char *camera_reason(const struct camera *c);
/* The cam's USB serial number, else its device id in hex; NULL before
 * the first connect (cam_serial.c). */
const char *camera_serial(const struct camera *c);

/* Cached by the last handshake, kept while the link is down; NULL
 * before the first. */
const struct omv_version *camera_version(const struct camera *c);
const struct omv_sysinfo *camera_sysinfo(const struct camera *c);
/* Cached after the handshake; NULL / 0 while not ready. */
const struct omv_caps *camera_caps(const struct camera *c);
/* A channel as clients see it: its name with invalid UTF-8 repaired
 * (each bad byte U+FFFD), so that it can be listed and asked for. */
#define CAM_CHANNEL_NAME_MAX (3 * OMV_CHANNEL_NAME_MAX)
struct cam_channel {
	uint8_t id;
	uint8_t flags;
	char name[CAM_CHANNEL_NAME_MAX + 1];
};
size_t camera_channels(const struct camera *c, const struct cam_channel **list);
const struct cam_channel *camera_channel_by_name(const struct camera *c, const char *name);
const struct cam_channel *camera_channel_by_id(const struct camera *c, uint8_t id);
/* The cam's channel list decoded into the same form; -1 if it does not
 * decode. */
int camera_channel_list_decode(struct cam_channel *out, size_t max, size_t *count,
			       const uint8_t *p, size_t n);

struct camera_counters {
	uint64_t sent, received, checksum, sequence, duplicates, events, timeouts;
	uint64_t recovered;		/* NAKs and probes for lost or damaged
					 * packets, commands resent */
	uint64_t resyncs, retries, reconnects;
	uint64_t frames_fetched;	/* frames read from the cam */
	uint64_t stdout_bytes;
	uint64_t connected_ms;		/* time on this link, 0 if down */
};
void camera_counters(const struct camera *c, struct camera_counters *out);

/* Why the latest run ended. */
enum run_end {
	RUN_END_NONE,		/* it runs (or no run yet) */
	RUN_END_EXITED,		/* by itself: its end, a traceback, a soft reboot */
	RUN_END_STOPPED,	/* camera_stop */
	RUN_END_REPLACED,	/* camera_exec stopped it for a new script */
	RUN_END_LINK,		/* the link was lost */
};
const char *run_end_name(enum run_end e);	/* "exited", ...; NULL for NONE */

/* Shared cam state, as the daemon set it. */
struct camera_shared {
	bool streaming;		/* on while any owner asked for it or wants frames */
	bool raw;
	uint32_t raw_width, raw_height;
	bool script_running;	/* a run began; false once the ended script's
				 * stdout is drained (after its soft reboot) */
	uint64_t run;		/* id of the latest run, 0 before the first */
	enum run_end end;	/* once it is no longer running */
};
void camera_shared_state(const struct camera *c, struct camera_shared *out);

/*
 * Owners: one per client. Requests of one owner complete in order; owners
 * are served round-robin. Freeing an owner cancels its requests without
 * calling their callbacks, drops its streaming and frame wishes, and
 * unlocks every channel it holds.
 */
struct cam_owner *camera_owner_new(struct camera *c);
void camera_owner_free(struct cam_owner *o);

/* Any opcode, raw (send_command): the reply is the response payload.
 * PROTO_SYNC, SYS_RESET, SYS_BOOT, CHANNEL_LOCK and CHANNEL_UNLOCK run
 * the daemon's own resync, reset, boot and lock books instead. */
void camera_command(struct cam_owner *o, uint8_t opcode, uint8_t chan,
		    const void *payload, size_t len, cam_done_fn done, void *arg);

/* The composite operations of the openmv Python package's Camera class.
 * exec's reply data is the run id (a uint64_t) of the script it started. */
void camera_exec(struct cam_owner *o, const char *script, size_t len, cam_done_fn done, void *arg);
void camera_stop(struct cam_owner *o, cam_done_fn done, void *arg);
/* Streaming stays on while any owner has it enabled (or wants frames);
 * raw/resolution are the last caller's. */
void camera_streaming(struct cam_owner *o, bool enable, bool raw, uint32_t width,
		      uint32_t height, cam_done_fn done, void *arg);
/* length UINT32_MAX: whatever CHANNEL_SIZE says is available, up to
 * max_response; an explicit length above it is CAM_E_TOO_BIG. */
void camera_channel_read(struct cam_owner *o, uint8_t chan, uint32_t offset, uint32_t length,
			 cam_done_fn done, void *arg);
/* Split into (max_payload - 8)-byte chunks with increasing offsets. */
void camera_channel_write(struct cam_owner *o, uint8_t chan, uint32_t offset,
			  const void *data, size_t len, cam_done_fn done, void *arg);
/* Locks belong to the owner, across the cam's resyncs and soft reboots
 * (or lock_lost says otherwise); CAM_E_LOCKED if another owner holds it. */
void camera_channel_lock(struct cam_owner *o, uint8_t chan, cam_done_fn done, void *arg);
void camera_channel_unlock(struct cam_owner *o, uint8_t chan, cam_done_fn done, void *arg);
bool camera_owner_holds(const struct cam_owner *o, uint8_t chan);
void camera_channel_ioctl(struct cam_owner *o, uint8_t chan, uint32_t request,
			  const void *arg_bytes, size_t arg_len, cam_done_fn done, void *arg);
/* LOCK, SHAPE, READ, UNLOCK of the profile channel; reply = raw records,
 * status field unused; record size from the SHAPE. */
void camera_read_profile(struct cam_owner *o, cam_done_fn done, void *arg);
void camera_resync(struct cam_owner *o, cam_done_fn done, void *arg);
void camera_update_caps(struct cam_owner *o, cam_done_fn done, void *arg);
void camera_update_channels(struct cam_owner *o, cam_done_fn done, void *arg);
/* SYS_RESET / SYS_BOOT: done once sent; the link then drops by design. */
void camera_reset(struct cam_owner *o, cam_done_fn done, void *arg);
void camera_boot(struct cam_owner *o, cam_done_fn done, void *arg);

/* The owner wants every frame pushed (frame subscription): a streaming
 * wish like streaming(true), withdrawn with want false or when the owner
 * goes. Frames are fetched while any owner has such a wish. */
void camera_want_frames(struct cam_owner *o, bool want);

/* Frames per second fetched lately; 0 when the stream paused. */
double camera_fps(const struct camera *c);
/* Newest frame held, or NULL; borrowed (frame_ref() to keep it). */
struct frame *camera_latest_frame(struct camera *c);
/* The stdout history every stdout byte goes into. */
const struct stdout_log *camera_stdout(const struct camera *c);

#endif
