/*
 * camsim: an emulated OpenMV cam on a pseudo-terminal. This header holds
 * the one simulator object that every part shares and the entry points
 * each file offers the others.
 *
 * Data path: host bytes -> pty.c (magic baud gate) -> faults.c (packet
 * faults, link shaping) -> protocol/cam state machine -> device.c (command
 * dispatch, channels) -> cam packets -> faults.c -> pty.c -> host.
 */
#ifndef CAMSIM_H
#define CAMSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "frames.h"
#include "protocol/cam.h"

struct sim_opts {
	const char *link;		/* --link symlink, or NULL */
	const char *control;		/* --control socket path, or NULL */
	bool any_baud, profile, verbose;
	unsigned stdout_ring;		/* bytes */
	bool stdout_block;		/* a full ring blocks the script instead */
	bool strict_writes;		/* refuse a WRITE the channel cannot take */
	unsigned fps;			/* 0: a frame as soon as the last was taken */
	unsigned frame_w, frame_h;
	unsigned max_payload;
	uint64_t seed;
	double drop_rate, corrupt_rate, garbage_rate;
	unsigned delay_ms;
	unsigned link_rate;		/* bytes per second, 0 = unlimited */
	unsigned link_latency_us;
	double reboot_after;		/* seconds, 0 = never */
	unsigned replug_ms;
	uint8_t fw[3], proto[3], boot[3];
	uint16_t usb_vid, usb_pid;
	uint32_t dev_id[3];		/* the device id (serial) in SYS_INFO */
	unsigned pmu_events;
	unsigned flash_kb, ram_kb;
	/* hostile cam */
	bool hostile_jpeg;		/* JPEG headers claim 8192x8192 */
	double event_flood;		/* NOTIFY events per second, 0 = off */
	char extra_channel[OMV_CHANNEL_NAME_MAX + 1];	/* raw bytes, "" = none */
};

enum chan_kind { CHK_USB, CHK_STDIN, CHK_STDOUT, CHK_STREAM, CHK_PROFILE, CHK_TICKS,
		 CHK_BUFFER };

#define SIM_BUFFER_CHANNEL_SIZE 4096u
#define SIM_SCRIPT_MAX (64u * 1024u)

struct channel {
	bool present;
	uint8_t id, flags;
	char name[OMV_CHANNEL_NAME_MAX + 1];
	enum chan_kind kind;
	bool locked;
	uint64_t last_lock_ms;
	uint8_t *buf;			/* CHK_BUFFER contents */
	size_t len;
};

struct stdout_ring {
	uint8_t *buf;
	size_t cap, head, used;		/* head: oldest byte */
	struct evbuffer *pending;	/* written but not yet in the ring */
	struct event *notify_ev;	/* every 50 ms while data waits */
};

struct stream {
	bool enabled, raw;
	unsigned raw_w, raw_h;
	uint8_t *frame;			/* header + pixels of the ready frame */
	size_t frame_len;
	uint32_t pixfmt;
	unsigned w, h;
	bool ready;			/* produced, not yet released by UNLOCK */
	uint32_t number;		/* of the last frame produced */
	size_t read_hi;			/* bytes read contiguously from 0 */
	bool counted;			/* this frame already counted as read */
	struct event *timer;
	struct frame_gen *gen;
};

struct profile {
	bool exclusive;
	uint32_t event_ids[OMV_PROFILE_EVENTS_MAX];
	uint32_t calls;			/* activity since the last reset */
	uint8_t *snap;			/* records frozen at LOCK */
	size_t snap_len;
	bool frozen;
};

struct sim_counters {
	uint64_t frames_produced, frames_read, locks, stdout_bytes, stdout_read, stdout_lost;
	uint64_t commands, soft_reboots, unplugs, replugs, ignored_bytes;
	uint64_t out_packets, out_dropped, out_corrupted, out_garbage, out_overflow;
	uint64_t in_packets, in_dropped, in_corrupted, in_garbage;
};

struct faults;
struct script;
struct control;
struct flood;

struct sim {
	struct sim_opts o;
	struct event_base *base;
	uint64_t t0_ms;

	/* pty.c */
	int master, slave;
	char pty_name[128];
	bool plugged, active;
	int ino_fd, watch;		/* inotify on the slave: who has it open */
	int hosts;			/* opens by others minus closes */
	uint64_t closed_at_ms;		/* when the last host closed */
	struct event *rd_ev, *wr_ev, *baud_ev, *replug_ev, *unplug_ev, *reboot_ev, *ino_ev;
	struct evbuffer *out;
	unsigned next_replug_ms;

	struct faults *faults;
	struct control *control;
	struct flood *flood;

	/* device.c */
	struct omv_cam cam;
	bool cam_up;
	struct event *cam_timer, *soft_reboot_ev;
	bool soft_reboot_pending;
	uint64_t soft_reboot_deadline;
	struct channel ch[OMV_CHANNELS_MAX];
	struct omv_sysinfo sysinfo;
	struct omv_version version;
	uint8_t *stdin_buf;
	size_t stdin_len;
	struct stdout_ring so;
	struct stream st;
	struct profile prof;
	struct script *script;

	struct sim_counters n;
};

uint64_t sim_now_ms(void);
uint64_t sim_now_us(void);
void sim_log(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pty.c */
void pty_write(struct sim *s, const uint8_t *data, size_t len);
/* Pull the plug after delay_ms and put it back replug_ms later. */
void sim_schedule_unplug(struct sim *s, unsigned delay_ms, unsigned replug_ms);
int pty_init(struct sim *s);
void pty_free(struct sim *s);

/* faults.c */
int faults_init(struct sim *s);
void faults_free(struct sim *s);
void faults_flush(struct sim *s);	/* drop queued bytes (unplug) */
void faults_out(struct sim *s, const uint8_t *pkt, size_t len);
void faults_in(struct sim *s, const uint8_t *data, size_t len);
/* Change a fault or shaping option by its option name; -1 if unknown. */
int faults_set(struct sim *s, const char *name, double value);
/* Go silent both ways for ms: at once, or after the cam's next packet
 * that has more fragments after it (in the middle of an answer). */
void faults_glitch(struct sim *s, unsigned ms, bool now);
bool faults_silent(const struct sim *s);	/* a glitch is on */

/* device.c */
int device_init(struct sim *s);
void device_free(struct sim *s);
void device_power_on(struct sim *s);
void device_power_off(struct sim *s);
void device_input(struct sim *s, const uint8_t *data, size_t len);
void device_link_activated(struct sim *s);
void device_soft_reboot_later(struct sim *s);
/* A script's channel (dynamic, announced); id or -1. */
int device_register_channel(struct sim *s, const char *name);
struct channel *device_channel(struct sim *s, uint8_t id);

/* stdout.c */
int stdout_init(struct sim *s);
void stdout_free(struct sim *s);
void stdout_clear(struct sim *s);
void stdout_put(struct sim *s, const char *text, size_t len);
bool stdout_blocked(const struct sim *s);	/* output still waiting for room */
void stdout_read(struct sim *s, const struct omv_packet *cmd);

/* stream.c */
int stream_init(struct sim *s);
void stream_free(struct sim *s);
void stream_reset(struct sim *s);	/* power off: streaming off, frame gone */
void stream_soft_reboot(struct sim *s);	/* raw settings back to defaults */
void stream_command(struct sim *s, const struct omv_packet *cmd);
bool stream_frame_ready(const struct sim *s);
void stream_release(struct sim *s);	/* UNLOCK: the cam may write the next */

/* profile.c */
void profile_reset_state(struct sim *s);
void profile_tick(struct sim *s);
void profile_command(struct sim *s, const struct omv_packet *cmd);
void profile_freeze(struct sim *s, bool on);	/* LOCK / UNLOCK */
void profile_free(struct sim *s);

/* script.c */
struct script *script_start(struct sim *s, const char *text, size_t len);
void script_free(struct script *sc);
void script_resume(struct script *sc);	/* stdout has room again */

/* control.c */
int control_init(struct sim *s);
void control_free(struct sim *s);
/* "ab\xff" -> raw bytes into out (cap with NUL); length, or -1 if bad. */
int unescape_name(const char *in, char *out, size_t cap);

/* flood.c: the event flood (--event-flood) */
int flood_init(struct sim *s);
void flood_free(struct sim *s);
void flood_set_rate(struct sim *s, double per_second);

#endif
