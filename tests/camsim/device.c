/*
 * The cam itself: drives the protocol/cam state machine, dispatches the
 * commands it passes up, keeps the channel table (built-in and script
 * registered), the stdin script buffer, and the soft reboot that follows
 * the end of every script.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camsim.h"

#define LOCK_INTERVAL_MS 10
#define RESET_REPLUG_MS 200	/* SYS_RESET / SYS_BOOT: back after this long */
#define SOFT_REBOOT_WAIT_MS 100	/* let the answer in flight finish first */
#define FIRST_DYNAMIC_ID 5

static void reply(struct sim *s, uint16_t status, const void *data, size_t len)
{
	omv_cam_reply(&s->cam, status, data, len, sim_now_ms());
}

struct channel *device_channel(struct sim *s, uint8_t id)
{
	if (id >= OMV_CHANNELS_MAX || !s->ch[id].present)
		return NULL;
	return &s->ch[id];
}

static void add_channel(struct sim *s, uint8_t id, const char *name, uint8_t flags,
			enum chan_kind kind)
{
	struct channel *c = &s->ch[id];

	memset(c, 0, sizeof *c);
	c->present = true;
	c->id = id;
	c->flags = flags;
	c->kind = kind;
	snprintf(c->name, sizeof c->name, "%s", name);
}

static void remove_dynamic_channels(struct sim *s)
{
	for (unsigned i = 0; i < OMV_CHANNELS_MAX; i++) {
		struct channel *c = &s->ch[i];
		if (c->present && (c->flags & OMV_CH_DYNAMIC)) {
			free(c->buf);
			memset(c, 0, sizeof *c);
		}
	}
}

/* A ticks or buffer channel at the first free id; dynamic ones are a
 * script's (announced, gone at the soft reboot). Returns the id or -1. */
static int add_data_channel(struct sim *s, const char *name, bool dynamic)
{
	bool ticks = !strcmp(name, "ticks");

	for (unsigned i = 0; i < OMV_CHANNELS_MAX; i++)
		if (s->ch[i].present && !strncmp(s->ch[i].name, name, OMV_CHANNEL_NAME_MAX))
			return -1;
	for (unsigned i = FIRST_DYNAMIC_ID; i < OMV_CHANNELS_MAX; i++) {
		if (s->ch[i].present)
			continue;
		add_channel(s, (uint8_t)i, name,
			    OMV_CH_READ | (dynamic ? OMV_CH_DYNAMIC : 0) | (ticks ? 0 : OMV_CH_WRITE),
			    ticks ? CHK_TICKS : CHK_BUFFER);
		if (!ticks && !(s->ch[i].buf = malloc(SIM_BUFFER_CHANNEL_SIZE))) {
			s->ch[i].present = false;
			return -1;
		}
		if (dynamic)
			omv_cam_event(&s->cam, OMV_CHAN_SYSTEM, OMV_EV_CHANNEL_REGISTERED);
		sim_log(s, "channel %u registered", i);
		return (int)i;
	}
	return -1;
}

int device_register_channel(struct sim *s, const char *name)
{
	return add_data_channel(s, name, true);
}

/* Current bytes of a channel that holds plain data (ticks, buffer). */
static size_t data_of(struct sim *s, struct channel *c, const uint8_t **data, char *tmp)
{
	if (c->kind == CHK_TICKS) {
		uint64_t ms = (sim_now_ms() - s->t0_ms) % 10000000000ull;
		snprintf(tmp, 11, "%010" PRIu64, ms);
		*data = (const uint8_t *)tmp;
		return 10;
	}
	*data = c->buf;
	return c->len;
}

static void data_command(struct sim *s, struct channel *c, const struct omv_packet *cmd)
{
	char tmp[16];
	const uint8_t *data, *in;
	size_t len = data_of(s, c, &data, tmp);
	uint8_t buf[4 * OMV_SHAPE_MAX];
	struct omv_shape shape = { .ndim = 1, .dim = { (uint32_t)len } };
	uint32_t off, n;

	switch (cmd->opcode) {
	case OMV_OP_CHANNEL_SIZE:
		omv_put_u32(buf, (uint32_t)len);
		reply(s, OMV_ST_SUCCESS, buf, 4);
		break;
	case OMV_OP_CHANNEL_SHAPE:
		reply(s, OMV_ST_SUCCESS, buf, omv_shape_encode(&shape, buf));
		break;
	case OMV_OP_CHANNEL_READ:
		if (omv_read_req_decode(&off, &n, cmd->payload, cmd->length) < 0 ||
		    (uint64_t)off + n > len)
			reply(s, OMV_ST_INVALID, NULL, 0);
		else
			reply(s, OMV_ST_SUCCESS, data + off, n);
		break;
	case OMV_OP_CHANNEL_WRITE:
		/* offset 0 starts a new message; later chunks continue it. A
		 * chunk the buffer cannot take is dropped, and still ACKed
		 * (--strict-writes: refused). */
		if (omv_write_req_decode(&off, &in, &n, cmd->payload, cmd->length) < 0 || !n) {
			reply(s, OMV_ST_INVALID, NULL, 0);
			break;
		}
		if (off > c->len || (uint64_t)off + n > SIM_BUFFER_CHANNEL_SIZE) {
			reply(s, !s->o.strict_writes ? OMV_ST_SUCCESS :
				 off > c->len ? OMV_ST_INVALID : OMV_ST_OVERFLOW, NULL, 0);
			break;
		}
		if (off == 0)
			c->len = 0;
		memcpy(c->buf + off, in, n);
		if (off + n > c->len)
			c->len = off + n;
		reply(s, OMV_ST_SUCCESS, NULL, 0);
		break;
	default:
		reply(s, OMV_ST_INVALID, NULL, 0);
		break;
	}
}

static void start_script(struct sim *s, const uint8_t *text, size_t len)
{
	omv_cam_event(&s->cam, OMV_CHAN_STDIN, OMV_EV_STDIN_STARTED);
	s->script = script_start(s, (const char *)text, len);
	sim_log(s, "script started (%zu bytes)", len);
	if (!s->script)
		device_soft_reboot_later(s);	/* out of memory: it ends at once */
}

static void stdin_ioctl(struct sim *s, uint32_t req)
{
	switch (req) {
	case OMV_IOCTL_STDIN_STOP:
		reply(s, OMV_ST_SUCCESS, NULL, 0);
		if (s->script)
			device_soft_reboot_later(s);
		break;
	case OMV_IOCTL_STDIN_EXEC:
		reply(s, OMV_ST_SUCCESS, NULL, 0);
		/* As the firmware: a running script is interrupted, and its soft
		 * reboot clears the uploaded one, which never runs. */
		if (s->script || s->soft_reboot_pending)
			device_soft_reboot_later(s);
		else
			start_script(s, s->stdin_buf, s->stdin_len);
		break;
	case OMV_IOCTL_STDIN_RESET:
		s->stdin_len = 0;
		reply(s, OMV_ST_SUCCESS, NULL, 0);
		break;
	default:
		reply(s, OMV_ST_INVALID, NULL, 0);
		break;
	}
}

static void stdin_command(struct sim *s, const struct omv_packet *cmd)
{
	const uint8_t *in;
	uint32_t off, n, req;
	uint8_t buf[4 * OMV_SHAPE_MAX];
	size_t arg_len;

	switch (cmd->opcode) {
	case OMV_OP_CHANNEL_WRITE:
		if (omv_write_req_decode(&off, &in, &n, cmd->payload, cmd->length) < 0 || !n) {
			reply(s, OMV_ST_INVALID, NULL, 0);
			break;
		}
		/* beyond the script buffer: dropped, and still ACKed
		 * (--strict-writes: refused) */
		if ((uint64_t)off + n > SIM_SCRIPT_MAX) {
			reply(s, s->o.strict_writes ? OMV_ST_OVERFLOW : OMV_ST_SUCCESS, NULL, 0);
			break;
		}
		if (off > s->stdin_len)
			memset(s->stdin_buf + s->stdin_len, ' ', off - s->stdin_len);
		memcpy(s->stdin_buf + off, in, n);
		if (off + n > s->stdin_len)
			s->stdin_len = off + n;
		reply(s, OMV_ST_SUCCESS, NULL, 0);
		break;
	case OMV_OP_CHANNEL_SIZE:
		omv_put_u32(buf, (uint32_t)s->stdin_len);
		reply(s, OMV_ST_SUCCESS, buf, 4);
		break;
	case OMV_OP_CHANNEL_IOCTL:
		omv_ioctl_req_decode(&req, &in, &arg_len, cmd->payload, cmd->length);
		stdin_ioctl(s, req);
		break;
	default:
		reply(s, OMV_ST_INVALID, NULL, 0);
		break;
	}
}

static void stdout_command(struct sim *s, const struct omv_packet *cmd)
{
	uint8_t buf[4 * OMV_SHAPE_MAX];
	struct omv_shape shape = { .ndim = 1, .dim = { (uint32_t)s->so.used } };

	switch (cmd->opcode) {
	case OMV_OP_CHANNEL_SIZE:
		omv_put_u32(buf, (uint32_t)s->so.used);
		reply(s, OMV_ST_SUCCESS, buf, 4);
		break;
	case OMV_OP_CHANNEL_SHAPE:
		reply(s, OMV_ST_SUCCESS, buf, omv_shape_encode(&shape, buf));
		break;
	case OMV_OP_CHANNEL_READ:
		stdout_read(s, cmd);
		break;
	default:
		reply(s, OMV_ST_INVALID, NULL, 0);
		break;
	}
}

static bool has_data(struct sim *s, const struct channel *c)
{
	switch (c->kind) {
	case CHK_USB: return false;
	case CHK_STDOUT: return s->so.used > 0;
	case CHK_STREAM: return stream_frame_ready(s);
	case CHK_PROFILE: return true;
	case CHK_TICKS: return true;
	case CHK_BUFFER: return c->len > 0;
	case CHK_STDIN: return false;
	}
	return false;
}

static void lock_command(struct sim *s, struct channel *c, bool lock)
{
	uint64_t now = sim_now_ms();

	if (!(c->flags & OMV_CH_LOCK)) {
		reply(s, OMV_ST_INVALID, NULL, 0);
		return;
	}
	if (!lock) {
		if (!c->locked) {
			reply(s, OMV_ST_INVALID, NULL, 0);
			return;
		}
		c->locked = false;
		if (c->kind == CHK_STREAM)
			stream_release(s);
		if (c->kind == CHK_PROFILE)
			profile_freeze(s, false);
		reply(s, OMV_ST_SUCCESS, NULL, 0);
		return;
	}
	if (c->locked || now - c->last_lock_ms < LOCK_INTERVAL_MS ||
	    (c->kind == CHK_STREAM && !stream_frame_ready(s))) {
		reply(s, OMV_ST_BUSY, NULL, 0);
		return;
	}
	c->locked = true;
	c->last_lock_ms = now;
	s->n.locks++;
	if (c->kind == CHK_PROFILE)
		profile_freeze(s, true);
	reply(s, OMV_ST_SUCCESS, NULL, 0);
}

static void channel_command(struct sim *s, const struct omv_packet *cmd)
{
	struct channel *c = device_channel(s, cmd->chan);
	const uint8_t *arg;
	size_t arg_len;
	uint32_t req;

	if (!c) {
		reply(s, OMV_ST_INVALID, NULL, 0);
		return;
	}
	if ((cmd->opcode == OMV_OP_CHANNEL_READ && !(c->flags & OMV_CH_READ)) ||
	    (cmd->opcode == OMV_OP_CHANNEL_WRITE && !(c->flags & OMV_CH_WRITE))) {
		reply(s, OMV_ST_INVALID, NULL, 0);
		return;
	}
	if (cmd->opcode == OMV_OP_CHANNEL_LOCK || cmd->opcode == OMV_OP_CHANNEL_UNLOCK) {
		lock_command(s, c, cmd->opcode == OMV_OP_CHANNEL_LOCK);
		return;
	}
	if (cmd->opcode == OMV_OP_CHANNEL_IOCTL) {
		int want;
		if (omv_ioctl_req_decode(&req, &arg, &arg_len, cmd->payload, cmd->length) < 0 ||
		    (c->flags & OMV_CH_DYNAMIC) ||
		    (want = omv_ioctl_arg_size(c->id, req)) < 0 || (size_t)want != arg_len) {
			reply(s, OMV_ST_INVALID, NULL, 0);
			return;
		}
	}
	switch (c->kind) {
	case CHK_USB: reply(s, OMV_ST_INVALID, NULL, 0); break;
	case CHK_STDIN: stdin_command(s, cmd); break;
	case CHK_STDOUT: stdout_command(s, cmd); break;
	case CHK_STREAM: stream_command(s, cmd); break;
	case CHK_PROFILE: profile_command(s, cmd); break;
	case CHK_TICKS:
	case CHK_BUFFER: data_command(s, c, cmd); break;
	}
}

static void list_channels(struct sim *s)
{
	struct omv_channel_info info[OMV_CHANNELS_MAX];
	uint8_t buf[OMV_CHANNELS_MAX * OMV_CHANNEL_ENTRY_SIZE];
	size_t n = 0;

	for (unsigned i = 0; i < OMV_CHANNELS_MAX; i++) {
		if (!s->ch[i].present)
			continue;
		info[n].id = s->ch[i].id;
		info[n].flags = s->ch[i].flags;
		memcpy(info[n].name, s->ch[i].name, sizeof info[n].name);
		n++;
	}
	reply(s, OMV_ST_SUCCESS, buf, omv_channel_list_encode(info, n, buf, sizeof buf));
}

static void poll_channels(struct sim *s)
{
	uint32_t bits = 0;
	uint8_t buf[4];

	for (unsigned i = 0; i < OMV_CHANNELS_MAX; i++)
		if (s->ch[i].present && has_data(s, &s->ch[i]))
			bits |= 1u << i;
	omv_put_u32(buf, bits);
	reply(s, OMV_ST_SUCCESS, buf, 4);
}

static void on_command(void *ctx, const struct omv_packet *cmd)
{
	struct sim *s = ctx;
	uint8_t buf[OMV_SYSINFO_SIZE];

	s->n.commands++;
	switch (cmd->opcode) {
	case OMV_OP_PROTO_VERSION:
		omv_version_encode(&s->version, buf);
		reply(s, OMV_ST_SUCCESS, buf, OMV_VERSION_SIZE);
		break;
	case OMV_OP_SYS_INFO:
		omv_sysinfo_encode(&s->sysinfo, buf);
		reply(s, OMV_ST_SUCCESS, buf, OMV_SYSINFO_SIZE);
		break;
	case OMV_OP_SYS_RESET:
	case OMV_OP_SYS_BOOT:
		/* no answer: the cam drops off the bus and comes back */
		sim_log(s, "%s: rebooting", omv_opcode_name(cmd->opcode));
		sim_schedule_unplug(s, 0, RESET_REPLUG_MS);
		break;
	case OMV_OP_SYS_MEMORY:
		reply(s, OMV_ST_UNKNOWN, NULL, 0);	/* as firmware before 4.8 */
		break;
	case OMV_OP_CHANNEL_LIST:
		list_channels(s);
		break;
	case OMV_OP_CHANNEL_POLL:
		poll_channels(s);
		break;
	case OMV_OP_CHANNEL_LOCK:
	case OMV_OP_CHANNEL_UNLOCK:
	case OMV_OP_CHANNEL_SHAPE:
	case OMV_OP_CHANNEL_SIZE:
	case OMV_OP_CHANNEL_READ:
	case OMV_OP_CHANNEL_WRITE:
	case OMV_OP_CHANNEL_IOCTL:
		channel_command(s, cmd);
		break;
	case OMV_OP_SYS_EVENT:
	case OMV_OP_CHANNEL_EVENT:
		reply(s, OMV_ST_INVALID, NULL, 0);	/* cam -> host only */
		break;
	default:
		reply(s, OMV_ST_UNKNOWN, NULL, 0);
		break;
	}
}

static void on_write(void *ctx, const uint8_t *buf, size_t len)
{
	faults_out(ctx, buf, len);
}

static void on_reset(void *ctx)
{
	struct sim *s = ctx;

	for (unsigned i = 0; i < OMV_CHANNELS_MAX; i++)
		s->ch[i].locked = false;
	profile_freeze(s, false);
}

static const struct omv_cam_ops cam_ops = {
	.write = on_write,
	.command = on_command,
	.on_reset = on_reset,
};

static void device_rearm(struct sim *s)
{
	uint64_t deadline, now;
	struct timeval tv;

	if (!s->cam_up)
		return;
	deadline = omv_cam_deadline(&s->cam);
	if (deadline == OMV_DEADLINE_NONE) {
		event_del(s->cam_timer);
		return;
	}
	now = sim_now_ms();
	deadline = deadline > now ? deadline - now : 0;
	tv.tv_sec = (time_t)(deadline / 1000);
	tv.tv_usec = (suseconds_t)(deadline % 1000) * 1000;
	event_add(s->cam_timer, &tv);
}

static void on_cam_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;

	if (!s->cam_up)
		return;
	omv_cam_tick(&s->cam, sim_now_ms());
	device_rearm(s);
}

void device_input(struct sim *s, const uint8_t *data, size_t len)
{
	if (!s->cam_up)
		return;
	omv_cam_input(&s->cam, data, len, sim_now_ms());
	device_rearm(s);
}

void device_link_activated(struct sim *s)
{
	if (s->cam_up) {
		omv_cam_reinit(&s->cam);
		device_rearm(s);
	}
}

static void device_soft_reboot_now(struct sim *s)
{
	s->soft_reboot_pending = false;
	event_del(s->soft_reboot_ev);
	if (!s->cam_up)
		return;
	script_free(s->script);
	s->script = NULL;
	omv_cam_event(&s->cam, OMV_CHAN_STDIN, OMV_EV_STDIN_STOPPED);
	omv_cam_event(&s->cam, OMV_CHAN_SYSTEM, OMV_EV_SOFT_REBOOT);
	stdout_put(s, "MPY: soft reboot\n", 17);
	remove_dynamic_channels(s);
	s->stdin_len = 0;
	stream_soft_reboot(s);
	omv_cam_reinit(&s->cam);
	s->n.soft_reboots++;
	sim_log(s, "soft reboot");
	device_rearm(s);
}

static bool cam_idle(const struct sim *s)
{
	return !s->cam.cmd_active && !s->cam.waiting_ack;
}

static void on_soft_reboot(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	struct timeval tv = { 0, 2000 };

	if (!s->soft_reboot_pending)
		return;
	if (cam_idle(s) || sim_now_ms() >= s->soft_reboot_deadline)
		device_soft_reboot_now(s);
	else
		event_add(s->soft_reboot_ev, &tv);
}

void device_soft_reboot_later(struct sim *s)
{
	if (s->soft_reboot_pending)
		return;
	s->soft_reboot_pending = true;
	s->soft_reboot_deadline = sim_now_ms() + SOFT_REBOOT_WAIT_MS;
	event_active(s->soft_reboot_ev, EV_TIMEOUT, 0);
}

void device_power_on(struct sim *s)
{
	if (s->cam_up)
		return;
	if (omv_cam_init(&s->cam, &cam_ops, s, (uint16_t)s->o.max_payload) < 0) {
		sim_log(s, "cam state machine: out of memory");
		return;
	}
	memset(s->ch, 0, sizeof s->ch);
	/* the transport itself is channel 0, listed first */
	add_channel(s, OMV_CHAN_SYSTEM, "usb", OMV_CH_PHYSICAL, CHK_USB);
	add_channel(s, OMV_CHAN_STDIN, "stdin", OMV_CH_WRITE | OMV_CH_EXEC, CHK_STDIN);
	add_channel(s, OMV_CHAN_STDOUT, "stdout", OMV_CH_READ, CHK_STDOUT);
	add_channel(s, OMV_CHAN_STREAM, "stream", OMV_CH_READ | OMV_CH_LOCK | OMV_CH_STREAM,
		    CHK_STREAM);
	if (s->o.profile)
		add_channel(s, OMV_CHAN_PROFILE, "profile", OMV_CH_READ | OMV_CH_LOCK,
			    CHK_PROFILE);
	if (s->o.extra_channel[0])
		add_data_channel(s, s->o.extra_channel, false);
	s->cam_up = true;
}

void device_power_off(struct sim *s)
{
	if (!s->cam_up)
		return;
	script_free(s->script);
	s->script = NULL;
	s->soft_reboot_pending = false;
	event_del(s->soft_reboot_ev);
	event_del(s->cam_timer);
	stdout_clear(s);
	stream_reset(s);
	profile_reset_state(s);
	for (unsigned i = 0; i < OMV_CHANNELS_MAX; i++)
		free(s->ch[i].buf);
	memset(s->ch, 0, sizeof s->ch);
	s->stdin_len = 0;
	omv_cam_free(&s->cam);
	s->cam_up = false;
}

static void defaults(struct sim *s)
{
	struct omv_sysinfo *si = &s->sysinfo;

	memcpy(s->version.protocol, s->o.proto, 3);
	memcpy(s->version.bootloader, s->o.boot, 3);
	memcpy(s->version.firmware, s->o.fw, 3);
	si->cpu_id = 0x411FC271;	/* Cortex-M7 r1p1 */
	memcpy(si->dev_id, s->o.dev_id, sizeof si->dev_id);
	si->usb_vid = s->o.usb_vid;
	si->usb_pid = s->o.usb_pid;
	si->chip_id[0] = 0x5640;	/* OV5640 */
	si->hw_caps[0] = OMV_HW_JPEG | OMV_HW_CRC | (s->o.pmu_events & 0xFF) << 8 |
			 (s->o.pmu_events ? OMV_HW_PMU : 0);
	si->flash_kb = s->o.flash_kb;
	si->ram_kb = s->o.ram_kb;
	si->framebuffer_kb = 400;
	si->stream_buffer_kb = 64;
}

int device_init(struct sim *s)
{
	defaults(s);
	s->stdin_buf = malloc(SIM_SCRIPT_MAX);
	s->cam_timer = evtimer_new(s->base, on_cam_timer, s);
	s->soft_reboot_ev = evtimer_new(s->base, on_soft_reboot, s);
	if (!s->stdin_buf || !s->cam_timer || !s->soft_reboot_ev)
		return -1;
	if (stdout_init(s) < 0 || stream_init(s) < 0)
		return -1;
	profile_reset_state(s);
	return 0;
}

void device_free(struct sim *s)
{
	device_power_off(s);
	stdout_free(s);
	stream_free(s);
	profile_free(s);
	free(s->stdin_buf);
	if (s->cam_timer)
		event_free(s->cam_timer);
	if (s->soft_reboot_ev)
		event_free(s->soft_reboot_ev);
}
