/*
 * Internals of the camera, shared by its files: camera.c (link life,
 * protocol driving, answers, dispatch, public getters), cam_prog.c (the
 * handshake/resync program and cam events), cam_queue.c (owners,
 * per-owner FIFOs, round-robin choice), cam_ops.c (client operations as
 * small state machines), cam_locks.c (lock books), cam_script.c (runs,
 * their ends, exec) and cam_fetch.c (the daemon's own work: stdout
 * drain, frame fetch, streaming state). Nothing outside the camera
 * includes this.
 */
#ifndef OMVD_CAM_INT_H
#define OMVD_CAM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "camera.h"
#include "clock.h"
#include "protocol/host.h"

struct cam_link;
struct event;

/* Steps of the link program (handshake, resync), done in this order
 * before any request gets the wire. */
enum {
	PROG_SYNC = 1u << 0,
	PROG_GET_CAPS = 1u << 1,
	PROG_SET_CAPS = 1u << 2,
	PROG_CHANNELS = 1u << 3,
	PROG_VERSION = 1u << 4,
	PROG_SYSINFO = 1u << 5,
	PROG_STREAM = 1u << 6,	/* bring the cam's streaming in line */
	PROG_LOCKS = 1u << 7,	/* take the locks owners hold again */
};
#define PROG_HANDSHAKE (PROG_SYNC | PROG_GET_CAPS | PROG_SET_CAPS | PROG_CHANNELS | \
			PROG_VERSION | PROG_SYSINFO | PROG_STREAM)
#define PROG_RESYNC (PROG_SYNC | PROG_SET_CAPS)
/* What a (soft) rebooted cam has forgotten. */
#define PROG_REINIT (PROG_CHANNELS | PROG_STREAM)

#define CAM_OWNER_QUEUE_MAX 256
/* While frames are wanted, try a fetch when none was tried for a while:
 * a lost NOTIFY (or a fetch cut short by a resync) would otherwise leave
 * a frame waiting on the cam, which writes no new one (and sends no new
 * NOTIFY) until that one is taken. The while is a little more than the
 * cam's frame period (the shortest gap between recent frames: losses only
 * make gaps longer), between these bounds; an early try costs one LOCK
 * answered BUSY, a late one a frame. */
#define CAM_FRAME_POLL_MS 200
#define CAM_FRAME_POLL_MIN_MS 10
/* Without the events capability the cam is polled this often: fast
 * enough for every frame while frames are wanted, and about as often as a
 * cam repeats its stdout NOTIFY otherwise. */
#define CAM_POLL_STREAM_MS 5
#define CAM_POLL_IDLE_MS 50
/* The frame rate is measured over this many frames; a longer gap
 * between two frames starts it over (and reads as 0 in status). */
#define CAM_FPS_FRAMES 16
#define CAM_FPS_GAP_US 1000000

struct cam_req;

/*
 * A request is a small state machine. At its turn, issue() either puts
 * one command on the wire (cam_send), or ends the request
 * (cam_req_finish), or asks for the link program and waits (ready()).
 * issue() must be repeatable: a retry after a resync calls it again for
 * the same step. result() gets the answer of that command; errors come
 * here too so that a composite operation can clean up (unlock).
 */
struct cam_req_ops {
	const char *name;
	void (*issue)(struct camera *c, struct cam_req *r);
	void (*result)(struct camera *c, struct cam_req *r, const struct cam_reply *rep);
	/* Optional: may the request take its turn now (now in us)? */
	bool (*ready)(struct camera *c, struct cam_req *r, uint64_t now);
	/* Optional: called once when the request ends, however it ends
	 * (also when cancelled or failed without a turn). */
	void (*finished)(struct camera *c, struct cam_req *r);
	/* Survives the handshake instead of failing with NOT_CONNECTED. */
	bool waits_for_link;
	/* Once started, finished in the daemon's name when its owner goes
	 * (exec: a half-done upload would leave the script state unknown). */
	bool outlives_owner;
};

struct cam_req {
	TAILQ_ENTRY(cam_req) entry;
	struct cam_owner *owner;
	const struct cam_req_ops *ops;
	cam_done_fn done;
	void *arg;
	int refused;		/* cam_err when refused at submission */

	int step;
	bool retried;		/* this step was already retried once */
	uint8_t opcode, chan;
	uint32_t offset, length, pos, sent;
	uint64_t gen, gen2;
	uint64_t deadline;	/* us (cam_now_us): not before; 0 = none */
	bool flag;
	int err;		/* error kept while cleaning up (unlock) */
	uint16_t status;
	uint8_t *buf;		/* owned: payload / script / write data */
	size_t len;
	uint8_t *rx;		/* owned: collected answer */
	size_t rx_len;
	bool raw;
	uint32_t width, height;
	uint32_t ioreq;		/* ioctl sent by a streaming step */
	uint8_t ioarg[8];
};

struct cam_owner {
	TAILQ_ENTRY(cam_owner) entry;
	struct camera *cam;
	TAILQ_HEAD(, cam_req) reqs;
	unsigned nreqs;
	bool streaming;		/* asked for streaming */
	bool want_frames;
	bool internal;
};

enum inflight { INF_NONE, INF_PROG, INF_REQ };

struct cam_event {
	uint8_t chan, opcode;
	uint16_t code;
};
#define CAM_EVQ_SIZE 256

/* What the cam was last told about streaming; unknown after a (re)connect
 * or soft reboot. */
struct cam_stream_state {
	bool on_known, on;
	bool raw_known, raw;
	bool cfg_known;
	uint32_t w, h;
};

struct camera {
	struct event_base *base;
	struct camera_options opt;
	char *port;
	struct camera_listener listener;
	void *lctx;
	struct cam_link *link;
	struct omv_host host;
	bool host_cancelling;	/* ignore done() from our own cancel */

	enum link_state state;
	bool established;	/* handshake completed on this link */
	bool ever_established;	/* to count reconnects */
	char reason[256];
	char last_down[256];	/* to log a repeated open failure once */

	/* link program */
	unsigned prog, prog_step;
	bool prog_running;	/* steps requested, prog_done() not yet run */
	uint32_t prog_ioreq;	/* the streaming ioctl PROG_STREAM sent */
	uint8_t prog_ioarg[8];
	char prog_reason[96];	/* why the program runs (for link_changed) */
	uint64_t prog_wait_us;	/* a step may not be sent before (cam_now_us) */
	unsigned resync_failures;
	uint64_t resync_gen;	/* completed programs */
	uint64_t reboots;	/* protocol re-inits seen (soft reboots) */
	uint64_t syncs_sent;	/* SYNCs sent: each released every lock */
	bool channels_refreshed;

	/* the wire */
	enum inflight inflight;
	struct cam_req *cur;	/* whose command is on the wire; NULL if orphaned */
	uint8_t sent_op, sent_chan;	/* that command */
	struct cam_req *retry;	/* re-issue first once the resync is done */
	bool result_ready;
	int res_code;
	uint16_t res_status;
	uint8_t *res_data;	/* malloc'd copy of the answer, or borrowed: */
	bool res_borrowed;	/* the sender's own buffer (cam_send_into) */
	uint8_t *rx_user;	/* that buffer, while its command is on the wire */
	size_t res_len;

	/* cached */
	struct omv_caps cam_caps;	/* as the cam reported them */
	bool cam_caps_known;
	struct omv_version version;
	bool have_version;
	struct omv_sysinfo sysinfo;
	bool have_sysinfo;
	char serial[128];	/* cam_serial.c; "" before the first connect */
	struct cam_channel channels[OMV_CHANNELS_MAX];
	size_t nchannels;

	/* owners */
	TAILQ_HEAD(, cam_owner) owners;
	struct cam_owner *rr;	/* served next */
	struct cam_owner *sys, *out_owner, *frame_owner;	/* internal */
	TAILQ_HEAD(, cam_req) refused;
	struct cam_owner *locks[256];	/* who holds each channel's lock */
	bool held[256];		/* taken with channel_lock: kept across resyncs */
	bool relock[256];	/* held, but released by the cam: take it again */
	uint8_t relock_chan;	/* the LOCK the program sent */
	unsigned relock_busy;	/* BUSY answers to it so far */

	/* shared state */
	struct camera_shared shared;
	struct cam_stream_state cam_stream;
	bool stdout_pending, frame_pending;
	bool frame_poll;	/* the pending fetch is a poll, not a NOTIFY */
	bool draining, fetching;	/* a drain / fetch request is queued */
	bool polling;		/* a CHANNEL_POLL request is queued (events off) */
	uint64_t last_poll_ms;	/* when the last one ended */
	/* The script ended (stdin event 0, soft reboot); script_running
	 * stays true until its last stdout is drained (cam_script.c). */
	bool script_ending;
	uint64_t script_ends;	/* ends seen, to match a request to its end */
	uint64_t run_reboots;	/* reboots when the current run began */
	bool exec_pending;	/* EXEC sent, its run not begun yet */
	struct cam_req *exec_active;	/* the exec under way: one at a time */
	enum run_end end_cause;	/* STOP sent for the run: how its end will be told */
	uint64_t exec_run;	/* the run that exec's EXEC began */
	struct frame *latest;
	bool release_unconfirmed;	/* latest's UNLOCK not answered yet */
	uint64_t frame_us[CAM_FPS_FRAMES];	/* when the last frames came */
	unsigned frame_us_count;
	double fps;			/* measured at the last frame */
	struct stdout_log *log;

	struct cam_event evq[CAM_EVQ_SIZE];
	unsigned ev_head, ev_count;

	uint64_t last_fetch_ms;	/* when the last fetch ended */
	uint64_t stream_lock_us;	/* when the last stream LOCK was granted */
	uint64_t client_turn_us;	/* when a client's request last got the wire */
	uint64_t read_sent_us;		/* when the last stream READ went out */
	uint64_t read_bytes_per_ms;	/* stream READ rate measured (cam_fetch.c) */
	struct event *kick_ev, *deadline_ev, *park_ev, *poll_ev;
	uint64_t deadline_armed;	/* the host deadline deadline_ev is set for */
	uint32_t rng;
	struct camera_counters counters;
	struct omv_host_stats past;	/* of links before this one */
	uint64_t ready_since;
};

/* camera.c */
void cam_kick(struct camera *c);
void cam_set_state(struct camera *c, enum link_state st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Cancel the command on the wire without hearing about it. */
void cam_host_cancel(struct camera *c);
int cam_send(struct camera *c, struct cam_req *r, uint8_t opcode, uint8_t chan,
	     const void *payload, size_t len);
int cam_send_ioctl(struct camera *c, struct cam_req *r, uint8_t chan, uint32_t request,
		   const void *arg, size_t arg_len);
/* The same, the answer reassembled into rx (rx_cap bytes at most); the
 * reply's data then points there, and cam_take_result() gives NULL. */
int cam_send_into(struct camera *c, struct cam_req *r, uint8_t opcode, uint8_t chan,
		  const void *payload, size_t len, uint8_t *rx, size_t rx_cap);
void cam_send_noreply(struct camera *c, struct cam_req *r, uint8_t opcode);
/* The malloc'd answer of the result being handled; the caller owns it. */
uint8_t *cam_take_result(struct camera *c);
void cam_link_drop(struct camera *c, const char *reason);
uint64_t cam_now(void);
/* The same clock in microseconds, for pacing below a millisecond. */
static inline uint64_t cam_now_us(void)
{
	return clock_now_us();
}
uint16_t cam_max_payload(const struct camera *c);
bool cam_wants_frames(const struct camera *c);

/* cam_prog.c */
void cam_prog_request(struct camera *c, unsigned steps, const char *reason);
/* Issue the next step; true when one was sent or the program ended,
 * false when the next step must wait (prog_wait_us). */
bool cam_prog_issue(struct camera *c);
void cam_prog_result(struct camera *c);
/* The cam re-initialised its protocol (a soft reboot, seen or found out):
 * resync, refresh, and the running script ended. */
void cam_reinit_seen(struct camera *c, const char *reason);
void cam_handle_events(struct camera *c);
/* A NOTIFY on chan: what it asks the daemon to do next. */
void cam_note_notify(struct camera *c, uint8_t chan);

/* cam_queue.c */
struct cam_owner *cam_owner_make(struct camera *c, bool internal);
void cam_owner_destroy(struct cam_owner *o);
struct cam_req *cam_req_new(struct cam_owner *o, const struct cam_req_ops *ops,
			    cam_done_fn done, void *arg);
void cam_req_submit(struct cam_req *r);
/* The same with a copy of the caller's bytes in r->buf (refused when
 * they cannot be copied). */
void cam_req_submit_copy(struct cam_req *r, const void *data, size_t len);
/* End r with err from the loop (bad arguments, full queue). */
void cam_req_refuse(struct cam_req *r, int err);
void cam_req_finish(struct camera *c, struct cam_req *r, const struct cam_reply *rep);
void cam_req_fail(struct camera *c, struct cam_req *r, int err, uint16_t status);
void cam_req_ok(struct camera *c, struct cam_req *r, const void *data, size_t len);
struct cam_req *cam_pick(struct camera *c, uint64_t now);
void cam_fail_all(struct camera *c, bool keep_waiters);
void cam_deliver_refused(struct camera *c);
uint64_t cam_park_deadline(struct camera *c);

/* cam_locks.c */
/* The cam released every lock (SYNC, soft reboot): the daemon's own are
 * forgotten, the owners' are taken again by the program (PROG_LOCKS). */
void cam_locks_released(struct camera *c);
/* The link is gone: every lock is, and holders are told why. */
void cam_locks_drop(struct camera *c, const char *reason);
/* PROG_LOCKS: 1 a LOCK was sent, 0 wait until prog_wait_us, 2 nothing
 * left to take, -1 could not send. */
int cam_relock_issue(struct camera *c, uint64_t now_us);
void cam_relock_result(struct camera *c);
/* The lock is the daemon's until an UNLOCK it sends is answered. */
void cam_unlock_for_daemon(struct camera *c, uint8_t chan);

/* cam_script.c */
/* stdin event 1: a run begins (unless exec's answer began it already). */
void cam_script_started(struct camera *c);
/* The script ended: drain its last stdout, then announce its end. */
void cam_script_ending(struct camera *c);
/* Announce a pending end now. */
void cam_script_ended(struct camera *c);
/* The link is gone: the script is no longer ours to follow. */
void cam_script_lost(struct camera *c);

/* cam_fetch.c */
extern const struct cam_req_ops cam_op_drain, cam_op_fetch, cam_op_stream_apply;
/* A stdout drain step (SIZE, then READ while there is data). */
void cam_drain_issue(struct camera *c, struct cam_req *r);
void cam_drain_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep);
void cam_fetch_maybe_start(struct camera *c);
/* How long after a fetch to try another when no NOTIFY came (ms). */
uint64_t cam_fetch_poll_ms(const struct camera *c);
/* Events off: ask the cam which channels have data (CHANNEL_POLL). */
void cam_poll_start(struct camera *c);
/* Next ioctl that brings the cam's streaming in line; false when none. */
bool cam_stream_next(const struct camera *c, uint32_t *request, uint8_t arg[8], size_t *arg_len);
void cam_stream_applied(struct camera *c, uint32_t request, const uint8_t *arg);
void cam_stream_recompute(struct camera *c);

#endif
