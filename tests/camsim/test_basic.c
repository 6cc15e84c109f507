/*
 * camsim: magic baud, the reference handshake, the values of VERSION and
 * SYS_INFO, and every opcode with its success and failure answers.
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
	CHECKF(n == 4, "%zu channels", n);
	CHECK(ch[0].id == 1 && !strcmp(ch[0].name, "stdin") &&
	      ch[0].flags == (OMV_CH_WRITE | OMV_CH_EXEC));
	CHECK(ch[1].id == 2 && !strcmp(ch[1].name, "stdout") && ch[1].flags == OMV_CH_READ);
	CHECK(ch[2].id == 3 && !strcmp(ch[2].name, "stream") &&
	      ch[2].flags == (OMV_CH_READ | OMV_CH_LOCK | OMV_CH_STREAM));
	CHECK(ch[3].id == 4 && !strcmp(ch[3].name, "profile") &&
	      ch[3].flags == (OMV_CH_READ | OMV_CH_LOCK));
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

int main(void)
{
	struct sh h;
	const char *extra[] = { "--fw-version", "4.7.1", "--usb-pid", "0x1206",
				"--pmu-events", "2", "--profile", NULL };

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
	check_info(&h);
	check_profile(&h);
	check_opcodes(&h);
	sh_stop(&h);
	puts("ok");
	return 0;
}
