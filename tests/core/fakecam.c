/*
 * The fake cam of the core tests (see fakecam.h): protocol state from
 * protocol/cam.c, channel behaviour just rich enough for the camera's
 * operations, bytes through a real pty so that the camera's own port and
 * link code is what is being tested.
 */
#include "fakecam.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void arm_tick(struct fakecam *f)
{
	uint64_t d = omv_cam_deadline(&f->cam), now = now_ms();
	struct timeval tv;

	if (d == OMV_DEADLINE_NONE) {
		evtimer_del(f->tick);
		return;
	}
	d = d > now ? d - now : 0;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)(d % 1000) * 1000;
	evtimer_add(f->tick, &tv);
}

static void cam_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct fakecam *f = ctx;

	evbuffer_add(f->out, buf, len);
	if (f->wr != NULL)
		event_add(f->wr, NULL);
}

static void reply(struct fakecam *f, uint16_t status, const void *data, size_t len)
{
	omv_cam_reply(&f->cam, status, data, len, now_ms());
}

static void reply_u32(struct fakecam *f, uint32_t v)
{
	uint8_t b[4];

	omv_put_u32(b, v);
	reply(f, OMV_ST_SUCCESS, b, 4);
}

static void channel_list(struct fakecam *f)
{
	struct omv_channel_info ch[4] = {
		{ OMV_CHAN_STDIN, OMV_CH_WRITE | OMV_CH_EXEC, "stdin" },
		{ OMV_CHAN_STDOUT, OMV_CH_READ, "stdout" },
		{ OMV_CHAN_STREAM, OMV_CH_READ | OMV_CH_LOCK | OMV_CH_STREAM, "stream" },
		{ FAKECAM_BUF_CHAN, OMV_CH_READ | OMV_CH_WRITE | OMV_CH_LOCK, "buf" },
	};
	struct omv_channel_info all[6];
	uint8_t out[6 * OMV_CHANNEL_ENTRY_SIZE];
	size_t n = 4, len;

	memcpy(all, ch, sizeof ch);
	if (f->extra_channel)
		all[n++] = (struct omv_channel_info){ 6, OMV_CH_READ | OMV_CH_DYNAMIC, "extra" };
	if (f->profile)
		all[n++] = (struct omv_channel_info){ OMV_CHAN_PROFILE, OMV_CH_READ | OMV_CH_LOCK,
						      "profile" };
	len = omv_channel_list_encode(all, n, out, sizeof out);
	reply(f, OMV_ST_SUCCESS, out, len);
}

static void do_read(struct fakecam *f, const struct omv_packet *cmd)
{
	uint32_t off, len;

	if (omv_read_req_decode(&off, &len, cmd->payload, cmd->length) < 0) {
		reply(f, OMV_ST_INVALID, NULL, 0);
		return;
	}
	switch (cmd->chan) {
	case OMV_CHAN_STDOUT:
		if (len > f->stdout_len)
			len = (uint32_t)f->stdout_len;
		reply(f, OMV_ST_SUCCESS, f->stdout_buf, len);
		memmove(f->stdout_buf, f->stdout_buf + len, f->stdout_len - len);
		f->stdout_len -= len;
		return;
	case OMV_CHAN_STREAM:
		if (!f->stream_locked || f->frame == NULL || off > f->frame_len ||
		    len > f->frame_len - off) {
			reply(f, OMV_ST_INVALID, NULL, 0);
			return;
		}
		reply(f, OMV_ST_SUCCESS, f->frame + off, len);
		return;
	case OMV_CHAN_PROFILE: {
		uint8_t rec[3 * 40];

		for (size_t i = 0; i < sizeof rec; i++)
			rec[i] = (uint8_t)(i + 1);
		if (!f->profile || !f->locks[OMV_CHAN_PROFILE] || off > sizeof rec ||
		    len > sizeof rec - off) {
			reply(f, OMV_ST_INVALID, NULL, 0);
			return;
		}
		reply(f, OMV_ST_SUCCESS, rec + off, len);
		return;
	}
	case FAKECAM_BUF_CHAN:
		if (off > f->buf_len || len > f->buf_len - off) {
			reply(f, OMV_ST_INVALID, NULL, 0);
			return;
		}
		reply(f, OMV_ST_SUCCESS, f->buf_chan + off, len);
		return;
	default:
		reply(f, OMV_ST_INVALID, NULL, 0);
	}
}

static void do_write(struct fakecam *f, const struct omv_packet *cmd)
{
	uint32_t off, len;
	const uint8_t *data;
	uint8_t *dst;
	size_t cap, *used;

	if (omv_write_req_decode(&off, &data, &len, cmd->payload, cmd->length) < 0) {
		reply(f, OMV_ST_INVALID, NULL, 0);
		return;
	}
	if (cmd->chan == OMV_CHAN_STDIN) {
		dst = f->script, cap = sizeof f->script, used = &f->script_len;
	} else if (cmd->chan == FAKECAM_BUF_CHAN) {
		dst = f->buf_chan, cap = sizeof f->buf_chan, used = &f->buf_len;
	} else {
		reply(f, OMV_ST_INVALID, NULL, 0);
		return;
	}
	if (off > cap || len > cap - off) {
		reply(f, OMV_ST_OVERFLOW, NULL, 0);
		return;
	}
	memcpy(dst + off, data, len);
	if (off + len > *used)
		*used = off + len;
	reply(f, OMV_ST_SUCCESS, NULL, 0);
}

static void do_ioctl(struct fakecam *f, const struct omv_packet *cmd)
{
	uint32_t req;
	const uint8_t *arg;
	size_t arg_len;

	if (omv_ioctl_req_decode(&req, &arg, &arg_len, cmd->payload, cmd->length) < 0) {
		reply(f, OMV_ST_INVALID, NULL, 0);
		return;
	}
	if (cmd->chan == OMV_CHAN_STDIN) {
		reply(f, OMV_ST_SUCCESS, NULL, 0);
		if (req == OMV_IOCTL_STDIN_RESET) {
			f->script_len = 0;
		} else if (req == OMV_IOCTL_STDIN_EXEC) {
			if (f->script_running)
				fakecam_soft_reboot(f);
			f->script_running = true;
			fakecam_event(f, OMV_CHAN_STDIN, OMV_EV_STDIN_STARTED);
		} else if (req == OMV_IOCTL_STDIN_STOP && f->script_running) {
			fakecam_soft_reboot(f);
		}
		return;
	}
	if (cmd->chan == OMV_CHAN_STREAM) {
		if (req == OMV_IOCTL_STREAM_CTRL && arg_len == 4)
			f->streaming = omv_get_u32(arg) != 0;
		else if (req == OMV_IOCTL_STREAM_RAW_CTRL && arg_len == 4)
			f->raw = omv_get_u32(arg) != 0;
		else if (req == OMV_IOCTL_STREAM_RAW_CFG && arg_len == 8)
			f->raw_w = omv_get_u32(arg), f->raw_h = omv_get_u32(arg + 4);
		else {
			reply(f, OMV_ST_INVALID, NULL, 0);
			return;
		}
		reply(f, OMV_ST_SUCCESS, NULL, 0);
		return;
	}
	reply(f, OMV_ST_INVALID, NULL, 0);
}

static void cam_command(void *ctx, const struct omv_packet *cmd)
{
	struct fakecam *f = ctx;
	struct fakecam_cmd *e;
	uint8_t buf[OMV_SYSINFO_SIZE];

	if (f->nlog < FAKECAM_LOG_MAX) {
		e = &f->log[f->nlog++];
		e->opcode = cmd->opcode;
		e->chan = cmd->chan;
		e->arg0 = cmd->length >= 4 ? omv_get_u32(cmd->payload) : 0;
		e->arg1 = cmd->length >= 8 ? omv_get_u32(cmd->payload + 4) : 0;
	}
	if (f->swallow > 0 && (f->swallow_op == 0 || f->swallow_op == cmd->opcode)) {
		f->swallow--;
		return;		/* never answered: the host times out */
	}
	if (f->answer != NULL && f->answer(f->answer_arg, f, cmd))
		return;
	switch (cmd->opcode) {
	case OMV_OP_PROTO_VERSION: {
		struct omv_version v = { { 2, 0, 0 }, { 1, 2, 3 }, { 4, 6, 0 } };

		omv_version_encode(&v, buf);
		reply(f, OMV_ST_SUCCESS, buf, OMV_VERSION_SIZE);
		return;
	}
	case OMV_OP_SYS_INFO: {
		struct omv_sysinfo s = { .cpu_id = 0xC27, .usb_vid = 0x37C5, .usb_pid = 0x1206,
					 .flash_kb = 2048, .ram_kb = 1024 };

		omv_sysinfo_encode(&s, buf);
		reply(f, OMV_ST_SUCCESS, buf, OMV_SYSINFO_SIZE);
		return;
	}
	case OMV_OP_CHANNEL_LIST:
		channel_list(f);
		return;
	case OMV_OP_CHANNEL_POLL:
		reply_u32(f, (f->stdout_len ? 1u << OMV_CHAN_STDOUT : 0) |
			  (f->frame ? 1u << OMV_CHAN_STREAM : 0));
		return;
	case OMV_OP_CHANNEL_LOCK:
		if (cmd->chan == OMV_CHAN_STREAM) {
			if (f->frame == NULL || f->stream_locked) {
				reply(f, OMV_ST_BUSY, NULL, 0);
				return;
			}
			f->stream_locked = true;
		} else if (cmd->chan < 8) {
			if (f->locks[cmd->chan]) {
				reply(f, OMV_ST_BUSY, NULL, 0);
				return;
			}
			f->locks[cmd->chan] = true;
		}
		reply(f, OMV_ST_SUCCESS, NULL, 0);
		return;
	case OMV_OP_CHANNEL_UNLOCK:
		if (cmd->chan == OMV_CHAN_STREAM) {
			if (f->stream_locked) {
				free(f->frame);	/* the cam may now write the next */
				f->frame = NULL;
				f->frame_len = 0;
			}
			f->stream_locked = false;
			if (f->auto_frames > 0) {
				/* The next frame and its NOTIFY beat the answer. */
				size_t len;
				uint8_t *fr = fakecam_make_rgb565(4, 2, ++f->frame_seed, &len);

				f->auto_frames--;
				fakecam_new_frame(f, fr, len);
				free(fr);
			}
		} else if (cmd->chan < 8) {
			f->locks[cmd->chan] = false;
		}
		reply(f, OMV_ST_SUCCESS, NULL, 0);
		return;
	case OMV_OP_CHANNEL_SHAPE:
		if (cmd->chan == OMV_CHAN_PROFILE && f->profile) {
			struct omv_shape sh = { { 3, 40 }, 2 };
			uint8_t b[16];

			reply(f, OMV_ST_SUCCESS, b, omv_shape_encode(&sh, b));
		} else {
			reply(f, OMV_ST_INVALID, NULL, 0);
		}
		return;
	case OMV_OP_CHANNEL_SIZE:
		if (cmd->chan == OMV_CHAN_STDOUT)
			reply_u32(f, (uint32_t)f->stdout_len);
		else if (cmd->chan == OMV_CHAN_STREAM)
			reply_u32(f, f->stream_locked ? (uint32_t)f->frame_len : 0);
		else if (cmd->chan == FAKECAM_BUF_CHAN)
			reply_u32(f, (uint32_t)f->buf_len);
		else
			reply(f, OMV_ST_INVALID, NULL, 0);
		return;
	case OMV_OP_CHANNEL_READ:
		do_read(f, cmd);
		return;
	case OMV_OP_CHANNEL_WRITE:
		do_write(f, cmd);
		return;
	case OMV_OP_CHANNEL_IOCTL:
		do_ioctl(f, cmd);
		return;
	default:
		reply(f, OMV_ST_UNKNOWN, NULL, 0);
		return;
	}
}

static void cam_on_reset(void *ctx)
{
	struct fakecam *f = ctx;

	memset(f->locks, 0, sizeof f->locks);
	if (f->stream_locked) {
		f->stream_locked = false;
	}
}

static const struct omv_cam_ops cam_ops = { cam_write, cam_command, cam_on_reset };

/* The SYNC is answered inside the state machine: count it from the bytes. */
static void count_syncs(struct fakecam *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + OMV_HDR_SIZE <= n; i++)
		if (p[i] == 0xAA && p[i + 1] == 0xD5 && p[i + 5] == OMV_OP_PROTO_SYNC &&
		    p[i + 4] == 0 && p[i + 6] == 0 && p[i + 7] == 0)
			f->syncs++;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct fakecam *f = arg;
	uint8_t buf[65536];
	ssize_t n = read(fd, buf, sizeof buf);

	if (n <= 0 || f->mute)
		return;
	count_syncs(f, buf, (size_t)n);
	omv_cam_input(&f->cam, buf, (size_t)n, now_ms());
	arm_tick(f);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct fakecam *f = arg;

	if (evbuffer_write(f->out, fd) < 0 && errno != EAGAIN) {
		evbuffer_drain(f->out, evbuffer_get_length(f->out));
		return;
	}
	if (evbuffer_get_length(f->out) > 0)
		event_add(f->wr, NULL);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct fakecam *f = arg;

	omv_cam_tick(&f->cam, now_ms());
	arm_tick(f);
}

void fakecam_attach(struct fakecam *f, int fd)
{
	if (f->rd != NULL) {
		event_free(f->rd);
		event_free(f->wr);
		f->rd = f->wr = NULL;
	}
	if (f->master >= 0)
		close(f->master);
	f->master = fd;
	if (fd < 0)
		return;
	f->rd = event_new(f->base, fd, EV_READ | EV_PERSIST, on_read, f);
	f->wr = event_new(f->base, fd, EV_WRITE, on_write, f);
	event_add(f->rd, NULL);
	if (evbuffer_get_length(f->out) > 0)
		event_add(f->wr, NULL);
}

struct fakecam *fakecam_new(struct event_base *base, const char *link_path,
			    uint16_t max_payload)
{
	struct fakecam *f = calloc(1, sizeof *f);
	struct termios tio;
	int master;

	if (f == NULL)
		return NULL;
	f->base = base;
	f->master = f->slave = -1;
	f->out = evbuffer_new();
	f->tick = evtimer_new(base, on_tick, f);
	if (omv_cam_init(&f->cam, &cam_ops, f, max_payload) < 0)
		abort();
	if (link_path == NULL)
		return f;
	snprintf(f->link, sizeof f->link, "%s", link_path);
	master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		abort();
	/* Hold the slave open ourselves: a master without any slave open
	 * reports hang-up and would spin the loop. */
	f->slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (f->slave < 0 || tcgetattr(f->slave, &tio) < 0)
		abort();
	cfmakeraw(&tio);
	tcsetattr(f->slave, TCSANOW, &tio);
	unlink(link_path);
	if (symlink(ptsname(master), link_path) < 0)
		abort();
	fakecam_attach(f, master);
	return f;
}

void fakecam_free(struct fakecam *f)
{
	if (f == NULL)
		return;
	if (f->link[0] != '\0')
		unlink(f->link);
	fakecam_attach(f, -1);
	event_free(f->tick);
	evbuffer_free(f->out);
	if (f->slave >= 0)
		close(f->slave);
	omv_cam_free(&f->cam);
	free(f->frame);
	free(f);
}

size_t fakecam_count(const struct fakecam *f, uint8_t opcode, uint8_t chan)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nlog; i++)
		if (f->log[i].opcode == opcode && f->log[i].chan == chan)
			n++;
	return n;
}

long fakecam_find(const struct fakecam *f, size_t from, uint8_t opcode, uint8_t chan,
		  uint32_t arg0)
{
	for (size_t i = from; i < f->nlog; i++)
		if (f->log[i].opcode == opcode && f->log[i].chan == chan &&
		    f->log[i].arg0 == arg0)
			return (long)i;
	return -1;
}

void fakecam_event(struct fakecam *f, uint8_t chan, uint16_t code)
{
	omv_cam_event(&f->cam, chan, code);
}

void fakecam_print(struct fakecam *f, const char *text)
{
	fakecam_write_stdout(f, text, strlen(text));
}

void fakecam_write_stdout(struct fakecam *f, const void *data, size_t n)
{
	if (n > sizeof f->stdout_buf - f->stdout_len)
		n = sizeof f->stdout_buf - f->stdout_len;
	memcpy(f->stdout_buf + f->stdout_len, data, n);
	f->stdout_len += n;
	fakecam_event(f, OMV_CHAN_STDOUT, OMV_EV_NOTIFY);
}

void fakecam_new_frame(struct fakecam *f, const uint8_t *data, size_t len)
{
	free(f->frame);
	f->frame = malloc(len);
	memcpy(f->frame, data, len);
	f->frame_len = len;
	fakecam_event(f, OMV_CHAN_STREAM, OMV_EV_NOTIFY);
}

void fakecam_soft_reboot(struct fakecam *f)
{
	f->script_running = false;
	f->script_len = 0;
	f->streaming = false;
	fakecam_event(f, OMV_CHAN_STDIN, OMV_EV_STDIN_STOPPED);
	fakecam_event(f, OMV_CHAN_SYSTEM, OMV_EV_SOFT_REBOOT);
	omv_cam_reinit(&f->cam);
}

uint8_t *fakecam_make_rgb565(uint32_t w, uint32_t h, uint16_t seed, size_t *len)
{
	struct omv_frame_hdr hdr = { w, h, OMV_PIXFMT_RGB565, 2, OMV_FRAME_HDR_SIZE, 0 };
	uint8_t *p;

	*len = OMV_FRAME_HDR_SIZE + (size_t)w * h * 2;
	p = malloc(*len);
	omv_frame_hdr_encode(&hdr, p);
	for (size_t i = 0; i < (size_t)w * h; i++)
		omv_put_u16(p + OMV_FRAME_HDR_SIZE + 2 * i, (uint16_t)(seed + i));
	return p;
}
