/*
 * A fake cam for the core tests: the protocol's cam state machine on the
 * master side of a pty (or on a socket), run in the test's own event
 * loop, with a handful of channels (stdin, stdout, stream, a read/write
 * "buf" channel), a log of the commands it answered, and knobs to
 * misbehave (swallow answers, soft-reboot, vanish).
 */
#ifndef FAKECAM_H
#define FAKECAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/cam.h"

struct event_base;
struct event;
struct evbuffer;

#define FAKECAM_LOG_MAX 4096
#define FAKECAM_BUF_CHAN 5

struct fakecam_cmd {
	uint8_t opcode, chan;
	uint32_t arg0;		/* first u32 of the payload (ioctl request, offset) */
	uint32_t arg1;
};

struct fakecam {
	struct event_base *base;
	int master, slave;
	char link[256];		/* symlink to the slave, the path the camera opens */
	struct event *rd, *wr, *tick;
	struct evbuffer *out;
	struct omv_cam cam;

	/* knobs */
	unsigned swallow;	/* answer none of the next N commands */
	uint8_t swallow_op;	/* only those with this opcode (0: any) */
	/* Sees each command first; true when it answered it (omv_cam_reply
	 * on f->cam) or chose not to, false to let the fake cam answer. */
	bool (*answer)(void *arg, struct fakecam *f, const struct omv_packet *cmd);
	void *answer_arg;
	bool extra_channel;	/* list a dynamic "extra" channel (id 6) */
	bool profile;		/* list the profile channel (id 4): 3 records */
	bool mute;		/* hear nothing (bytes in are dropped) */
	unsigned auto_frames;	/* on stream UNLOCK: next frame + NOTIFY first */
	uint16_t frame_seed;

	/* state */
	uint8_t script[65536];
	size_t script_len;
	bool script_running;
	uint8_t stdout_buf[4096];
	size_t stdout_len;
	uint8_t *frame;		/* the frame ready in the stream channel */
	size_t frame_len;
	bool stream_locked;
	bool locks[8];
	uint8_t buf_chan[4096];
	size_t buf_len;
	bool streaming, raw;
	uint32_t raw_w, raw_h;

	/* what it saw */
	struct fakecam_cmd log[FAKECAM_LOG_MAX];
	size_t nlog;
	unsigned syncs;		/* SYNCs seen (the cam answers them itself) */
};

/* A new pty and the symlink link_path -> slave; with link_path NULL, no
 * port until fakecam_attach(). */
struct fakecam *fakecam_new(struct event_base *base, const char *link_path,
			    uint16_t max_payload);
/* Serve the cam on fd (a pty master or a connected stream socket), which
 * it takes over; the previous one is closed. fd -1 unplugs the cam. */
void fakecam_attach(struct fakecam *f, int fd);
/* The cam goes away: pty closed, symlink removed. */
void fakecam_free(struct fakecam *f);

size_t fakecam_count(const struct fakecam *f, uint8_t opcode, uint8_t chan);
/* Index of the first log entry at or after from matching, or -1. */
long fakecam_find(const struct fakecam *f, size_t from, uint8_t opcode, uint8_t chan,
		  uint32_t arg0);

void fakecam_print(struct fakecam *f, const char *text);	/* + stdout NOTIFY */
void fakecam_write_stdout(struct fakecam *f, const void *data, size_t n);	/* any bytes */
/* A frame (header + pixels, copied) ready in the stream channel + NOTIFY. */
void fakecam_new_frame(struct fakecam *f, const uint8_t *data, size_t len);
void fakecam_event(struct fakecam *f, uint8_t chan, uint16_t code);
/* What a script end does on the firmware: stdin 0, SOFT_REBOOT, re-init. */
void fakecam_soft_reboot(struct fakecam *f);

/* A 32-byte header + pixels of an RGB565 frame, w*h, malloc'd. */
uint8_t *fakecam_make_rgb565(uint32_t w, uint32_t h, uint16_t seed, size_t *len);

#endif
