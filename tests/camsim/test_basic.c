/*
 * camsim: magic baud, the reference handshake, the firmware's payload
 * limits (4082 after SYNC, SET_CAPS from 50), the channel list with the
 * usb channel first, the values of VERSION and SYS_INFO, every opcode
 * with its success and failure answers, and writes that fail inside the
 * cam but are ACKed anyway.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "simhost.h"

static void check_bad_option(void)
{
	const char *bin = getenv("OMV_CAMSIM");
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(bin, bin, "--drop-rate", "2", (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 2, "bad option: status %d", status);
}

static void check_channel_list(struct sh *h)
{
	struct omv_channel_info ch[OMV_CHANNELS_MAX];
	size_t n;

	sh_ok(h, OMV_OP_CHANNEL_LIST, 0, NULL, 0);
	CHECK(omv_channel_list_decode(ch, OMV_CHANNELS_MAX, &n, h->data, h->len) == 0);
	CHECKF(n == 6, "%zu channels", n);
	CHECK(ch[0].id == 0 && !strcmp(ch[0].name, "usb") && ch[0].flags == OMV_CH_PHYSICAL);
	CHECK(ch[1].id == 1 && !strcmp(ch[1].name, "stdin") &&
	      ch[1].flags == (OMV_CH_WRITE | OMV_CH_EXEC));
	CHECK(ch[2].id == 2 && !strcmp(ch[2].name, "stdout") && ch[2].flags == OMV_CH_READ);
	CHECK(ch[3].id == 3 && !strcmp(ch[3].name, "stream") &&
	      ch[3].flags == (OMV_CH_READ | OMV_CH_LOCK | OMV_CH_STREAM));
	CHECK(ch[4].id == 4 && !strcmp(ch[4].name, "profile") &&
	      ch[4].flags == (OMV_CH_READ | OMV_CH_LOCK));
	/* --extra-channel: a name that is not UTF-8, there from power-up */
	CHECK(ch[5].id == 5 && !strcmp(ch[5].name, "bad\xff\xfe") &&
	      ch[5].flags == (OMV_CH_READ | OMV_CH_WRITE));
	/* the usb channel is the transport: nothing to read, lock or poll */
	sh_nak(h, OMV_OP_CHANNEL_SIZE, 0, NULL, 0, OMV_ST_INVALID);
	sh_nak(h, OMV_OP_CHANNEL_LOCK, 0, NULL, 0, OMV_ST_INVALID);
}

static int cam_max_payload(struct sh *h)
{
	json_t *j = sh_control(h, "stats");
	int v = (int)json_integer_value(json_object_get(json_object_get(j, "caps"),
							"max_payload"));

	json_decref(j);
	return v;
}

static void set_caps_payload(struct sh *h, uint16_t max_payload, uint16_t want_status)
{
	uint8_t caps[OMV_CAPS_SIZE];

	omv_caps_encode(&(struct omv_caps){ true, true, true, true, max_payload }, caps);
	/* a raw SET_CAPS: the host's own clamp would hide the cam's answer */
	if (want_status == OMV_ST_SUCCESS)
		sh_ok(h, OMV_OP_PROTO_SET_CAPS, 0, caps, sizeof caps);
	else
		sh_nak(h, OMV_OP_PROTO_SET_CAPS, 0, caps, sizeof caps, want_status);
}

/* As the firmware: the cam's whole buffer right after SYNC, and SET_CAPS
 * from 50 up to it; anything else refused and nothing changed. */
static void check_payload_limits(struct sh *h)
{
	CHECK(sh_sync(h, 2000) == OMV_OK);
	CHECK(cam_max_payload(h) == 4082);
	/* a 96-byte CHANNEL_LIST in one packet, before any SET_CAPS */
	uint64_t before = h->host.stats.received - h->host.stats.events;
	sh_ok(h, OMV_OP_CHANNEL_LIST, 0, NULL, 0);
	CHECK(h->len == 6 * OMV_CHANNEL_ENTRY_SIZE);
	CHECK(h->host.stats.received - h->host.stats.events == before + 1);
	set_caps_payload(h, OMV_MIN_PAYLOAD - 1, OMV_ST_INVALID);
	set_caps_payload(h, 4083, OMV_ST_INVALID);
	CHECK(cam_max_payload(h) == 4082);
	set_caps_payload(h, OMV_MIN_PAYLOAD, OMV_ST_SUCCESS);
	sh_ok(h, OMV_OP_PROTO_STATS, 0, NULL, 0);	/* after the ACK that switches */
	CHECK(cam_max_payload(h) == OMV_MIN_PAYLOAD);
	sh_handshake(h, 4082);
}

/* A CHANNEL_WRITE the channel cannot take is ACKed all the same. */
static void check_failed_writes(struct sh *h)
{
	static uint8_t buf[4096];
	size_t n;

	/* stdin: beyond its 64 KiB */
	n = omv_write_req_encode(64 * 1024 - 2, "abcd", 4, buf, sizeof buf);
	sh_ok(h, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN, buf, n);
	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDIN) == 0);
	/* a buffer channel: past its 4 KiB, and with a gap */
	n = omv_write_req_encode(0, "hello", 5, buf, sizeof buf);
	sh_ok(h, OMV_OP_CHANNEL_WRITE, 5, buf, n);
	n = omv_write_req_encode(4094, "toolong", 7, buf, sizeof buf);
	sh_ok(h, OMV_OP_CHANNEL_WRITE, 5, buf, n);
	n = omv_write_req_encode(100, "gap", 3, buf, sizeof buf);
	sh_ok(h, OMV_OP_CHANNEL_WRITE, 5, buf, n);
	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, 5) == 5);
	/* no data at all, or no such channel: refused */
	n = omv_write_req_encode(0, "", 0, buf, sizeof buf);
	sh_nak(h, OMV_OP_CHANNEL_WRITE, 5, buf, n, OMV_ST_INVALID);
	n = omv_write_req_encode(0, "x", 1, buf, sizeof buf);
	sh_nak(h, OMV_OP_CHANNEL_WRITE, 9, buf, n, OMV_ST_INVALID);
}

static void check_info(struct sh *h)
{
	struct omv_version v;
	struct omv_sysinfo si;

	sh_ok(h, OMV_OP_PROTO_VERSION, 0, NULL, 0);
	CHECK(omv_version_decode(&v, h->data, h->len) == 0);
	CHECK(v.protocol[0] == 2 && v.protocol[1] == 0 && v.protocol[2] == 0);
	CHECK(v.firmware[0] == 4 && v.firmware[1] == 7 && v.firmware[2] == 1);
	CHECK(v.bootloader[0] == 3 && v.bootloader[1] == 1 && v.bootloader[2] == 0);

	sh_ok(h, OMV_OP_SYS_INFO, 0, NULL, 0);
	CHECK(h->len == OMV_SYSINFO_SIZE);
	CHECK(omv_sysinfo_decode(&si, h->data, h->len) == 0);
	CHECK(si.usb_vid == 0x37C5 && si.usb_pid == 0x1206);
	CHECK(si.flash_kb == 2048 && si.ram_kb == 1024);
	CHECK(si.hw_caps[0] & OMV_HW_JPEG);
	CHECK(si.hw_caps[0] & OMV_HW_PMU);
	CHECK(omv_sysinfo_pmu_eventcnt(&si) == 2);
}

static void check_profile(struct sh *h)
{
	struct omv_shape shape;
	struct omv_profile_record r;
	uint8_t req[OMV_READ_REQ_SIZE], arg[8];
	size_t rs = omv_profile_record_size(2);
	uint32_t size;

	sh_ok(h, OMV_OP_CHANNEL_SHAPE, OMV_CHAN_PROFILE, NULL, 0);
	CHECK(omv_shape_decode(&shape, h->data, h->len) == 0);
	CHECK(shape.ndim == 2 && shape.dim[0] > 0 && shape.dim[1] == rs);

	/* event counter 1 counts event 7: call_count * 8 */
	omv_put_u32(arg, 1);
	omv_put_u32(arg + 4, 7);
	sh_ioctl(h, OMV_CHAN_PROFILE, OMV_IOCTL_PROFILE_SET_EVENT, arg, 8, OMV_ST_SUCCESS);
	omv_put_u32(arg, 2);	/* only two counters */
	sh_ioctl(h, OMV_CHAN_PROFILE, OMV_IOCTL_PROFILE_SET_EVENT, arg, 8, OMV_ST_INVALID);

	/* counts grow every 100 ms while the cam runs */
	sh_run(h, 250, NULL);
	sh_ok(h, OMV_OP_CHANNEL_LOCK, OMV_CHAN_PROFILE, NULL, 0);
	size = sh_u32(h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_PROFILE);
	CHECK(size == shape.dim[0] * rs);
	omv_read_req_encode(0, size, req);
	sh_ok(h, OMV_OP_CHANNEL_READ, OMV_CHAN_PROFILE, req, sizeof req);
	CHECK(h->len == size);
	CHECK(omv_profile_record_decode(&r, 2, h->data, rs) == 0);
	CHECK(r.call_count > 0 && r.events[1] == (uint64_t)r.call_count * 8);
	/* a second LOCK so soon is refused: it is already held */
	sh_nak(h, OMV_OP_CHANNEL_LOCK, OMV_CHAN_PROFILE, NULL, 0, OMV_ST_BUSY);
	sh_ok(h, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_PROFILE, NULL, 0);
	sh_nak(h, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_PROFILE, NULL, 0, OMV_ST_INVALID);

	/* RESET zeroes the counts */
	sh_ioctl(h, OMV_CHAN_PROFILE, OMV_IOCTL_PROFILE_RESET, NULL, 0, OMV_ST_SUCCESS);
	omv_read_req_encode(0, (uint32_t)rs, req);
	sh_ok(h, OMV_OP_CHANNEL_READ, OMV_CHAN_PROFILE, req, sizeof req);
	CHECK(omv_profile_record_decode(&r, 2, h->data, h->len) == 0);
	CHECK(r.call_count == 0 && r.total_ticks == 0);
	arg[0] = 1;
	sh_ioctl(h, OMV_CHAN_PROFILE, OMV_IOCTL_PROFILE_MODE, arg, 4, OMV_ST_SUCCESS);
}

static void check_opcodes(struct sh *h)
{
	uint8_t req[OMV_READ_REQ_SIZE], buf[64], arg[8] = { 0 };
	struct omv_proto_stats st;
	struct omv_shape shape;
	const char *text = "print('x')\n";
	size_t n;
	uint32_t poll;

	poll = sh_u32(h, OMV_OP_CHANNEL_POLL, 0);
	CHECKF(poll == 1u << OMV_CHAN_PROFILE, "poll bitmap %#x", poll);

	/* stream: no frame, so LOCK is BUSY and there is nothing to read */
	sh_nak(h, OMV_OP_CHANNEL_LOCK, OMV_CHAN_STREAM, NULL, 0, OMV_ST_BUSY);
	sh_nak(h, OMV_OP_CHANNEL_UNLOCK, OMV_CHAN_STREAM, NULL, 0, OMV_ST_INVALID);
	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STREAM) == 0);
	sh_ok(h, OMV_OP_CHANNEL_SHAPE, OMV_CHAN_STREAM, NULL, 0);
	CHECK(omv_shape_decode(&shape, h->data, h->len) == 0 && shape.dim[0] == 0);
	omv_read_req_encode(0, 1, req);
	sh_nak(h, OMV_OP_CHANNEL_READ, OMV_CHAN_STREAM, req, sizeof req, OMV_ST_INVALID);

	/* stdout: empty, not lockable, not writable */
	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDOUT) == 0);
	sh_nak(h, OMV_OP_CHANNEL_READ, OMV_CHAN_STDOUT, req, sizeof req, OMV_ST_INVALID);
	sh_nak(h, OMV_OP_CHANNEL_LOCK, OMV_CHAN_STDOUT, NULL, 0, OMV_ST_INVALID);
	n = omv_write_req_encode(0, "x", 1, buf, sizeof buf);
	sh_nak(h, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDOUT, buf, n, OMV_ST_INVALID);

	/* stdin: WRITE with offsets, not readable */
	n = omv_write_req_encode(0, text, 5, buf, sizeof buf);
	sh_ok(h, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN, buf, n);
	n = omv_write_req_encode(5, text + 5, (uint32_t)strlen(text) - 5, buf, sizeof buf);
	sh_ok(h, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN, buf, n);
	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDIN) == strlen(text));
	sh_nak(h, OMV_OP_CHANNEL_READ, OMV_CHAN_STDIN, req, sizeof req, OMV_ST_INVALID);
	sh_ioctl(h, OMV_CHAN_STDIN, OMV_IOCTL_STDIN_RESET, NULL, 0, OMV_ST_SUCCESS);
	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDIN) == 0);

	/* IOCTL argument sizes are checked */
	sh_ioctl(h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_CTRL, arg, 2, OMV_ST_INVALID);
	sh_ioctl(h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_RAW_CFG, arg, 4, OMV_ST_INVALID);
	sh_ioctl(h, OMV_CHAN_STREAM, 99, arg, 4, OMV_ST_INVALID);
	sh_ioctl(h, OMV_CHAN_STDIN, OMV_IOCTL_STDIN_STOP, arg, 4, OMV_ST_INVALID);
	sh_ioctl(h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_SOURCE, arg, 4, OMV_ST_SUCCESS);
	sh_ioctl(h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_RAW_CFG, arg, 8, OMV_ST_INVALID); /* 0x0 */

	/* unknown things */
	sh_nak(h, OMV_OP_CHANNEL_SIZE, 9, NULL, 0, OMV_ST_INVALID);
	sh_nak(h, OMV_OP_SYS_MEMORY, 0, NULL, 0, OMV_ST_UNKNOWN);
	sh_nak(h, 0x30, 0, NULL, 0, OMV_ST_UNKNOWN);
	sh_nak(h, OMV_OP_SYS_INFO, 1, NULL, 0, OMV_ST_INVALID);

	/* the cam counts for real */
	sh_ok(h, OMV_OP_PROTO_STATS, 0, NULL, 0);
	CHECK(omv_stats_decode(&st, h->data, h->len) == 0);
	CHECKF(st.received >= 40 && st.sent >= 30, "stats received %u sent %u", st.received,
	       st.sent);
	CHECK(sh_stat(h, "commands") >= 30);
	CHECK(sh_stat(h, "locks") == 1);
}

static bool control_ok(struct sh *h, const char *cmd)
{
	json_t *j = sh_control(h, cmd);
	bool ok = json_is_true(json_object_get(j, "ok"));

	json_decref(j);
	return ok;
}

/* --strict-writes: the same writes refused, as older camsims did. */
static void check_strict_writes(void)
{
	struct sh h;
	const char *extra[] = { "--strict-writes", "--extra-channel", "buf", NULL };
	static uint8_t buf[64];
	size_t n;

	sh_start(&h, extra);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);
	n = omv_write_req_encode(64 * 1024 - 2, "abcd", 4, buf, sizeof buf);
	sh_nak(&h, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN, buf, n, OMV_ST_OVERFLOW);
	n = omv_write_req_encode(4094, "toolong", 7, buf, sizeof buf);
	sh_nak(&h, OMV_OP_CHANNEL_WRITE, 5, buf, n, OMV_ST_INVALID);	/* a gap */
	n = omv_write_req_encode(0, "hello", 5, buf, sizeof buf);
	sh_ok(&h, OMV_OP_CHANNEL_WRITE, 5, buf, n);
	n = omv_write_req_encode(5, "toolong", 7, buf, sizeof buf);
	sh_ok(&h, OMV_OP_CHANNEL_WRITE, 5, buf, n);
	n = omv_write_req_encode(4094, "xy", 2, buf, sizeof buf);
	sh_nak(&h, OMV_OP_CHANNEL_WRITE, 5, buf, n, OMV_ST_INVALID);
	CHECK(sh_u32(&h, OMV_OP_CHANNEL_SIZE, 5) == 12);
	sh_stop(&h);
}

/* "register NAME" on the control socket: a channel as a script registers
 * it (announced, dynamic), with any bytes in its name. */
static void check_register_control(struct sh *h)
{
	struct omv_channel_info ch[OMV_CHANNELS_MAX];
	size_t n;
	bool found = false;

	sh_clear_events(h);
	CHECK(control_ok(h, "register ctl\\xff\\xc0"));
	CHECK(sh_wait_event(h, OMV_CHAN_SYSTEM, OMV_EV_CHANNEL_REGISTERED, 2000));
	sh_ok(h, OMV_OP_CHANNEL_LIST, 0, NULL, 0);
	CHECK(omv_channel_list_decode(ch, OMV_CHANNELS_MAX, &n, h->data, h->len) == 0);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ch[i].name, "ctl\xff\xc0"))
			found = ch[i].id == 6 &&
				ch[i].flags == (OMV_CH_READ | OMV_CH_WRITE | OMV_CH_DYNAMIC);
	CHECK(found);
	CHECK(!control_ok(h, "register ctl\\xff\\xc0"));	/* in use */
	CHECK(!control_ok(h, "register a\\x00"));
	CHECK(!control_ok(h, "register abcdefghijklmn"));	/* 14 bytes */
	CHECK(!control_ok(h, "register"));
}

int main(void)
{
	struct sh h;
	const char *extra[] = { "--fw-version", "4.7.1", "--usb-pid", "0x1206",
				"--pmu-events", "2", "--profile", "--extra-channel", "bad\\xff\\xfe",
				NULL };

	check_bad_option();
	sh_start(&h, extra);

	/* at 115200 the cam is a REPL: nothing answers */
	sh_open(&h, B115200);
	CHECK(sh_sync(&h, 300) == OMV_ERR_TIMEOUT);
	CHECK(sh_stat(&h, "protocol_active") == 0);
	CHECK(sh_stat(&h, "ignored_bytes") >= OMV_HDR_SIZE);
	/* the magic baud switches the protocol on */
	sh_set_speed(&h, B921600);
	sh_handshake(&h, 4082);
	CHECK(sh_stat(&h, "protocol_active") == 1);
	CHECK(h.host.caps.max_payload == 4082);

	check_channel_list(&h);
	check_payload_limits(&h);
	check_info(&h);
	check_profile(&h);
	check_opcodes(&h);
	check_failed_writes(&h);
	check_register_control(&h);
	sh_stop(&h);
	check_strict_writes();
	puts("ok");
	return 0;
}
