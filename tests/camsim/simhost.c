/*
 * Test support for the camsim tests (see simhost.h): process control, the
 * host end of the pty, a poll() loop with deadlines around omv_host, and
 * the control socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simhost.h"

#define CMD_TIMEOUT_MS 2000
#define RX_LIMIT (8u << 20)
#define RAW_IN_SIZE 65536u

static struct sh *current;	/* to kill camsim when a check fails */

void sh_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (current && current->pid > 0) {
		kill(current->pid, SIGKILL);
		waitpid(current->pid, NULL, 0);
		if (current->dir[0]) {
			char cmd[128];
			snprintf(cmd, sizeof cmd, "rm -rf '%s'", current->dir);
			if (system(cmd) != 0)
				fprintf(stderr, "could not remove %s\n", current->dir);
		}
	}
	exit(1);
}

uint64_t sh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- camsim process ---- */

bool sh_read_line(struct sh *h, char *buf, size_t cap, unsigned timeout_ms)
{
	uint64_t deadline = sh_now_ms() + timeout_ms;
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd p = { .fd = h->out_fd, .events = POLLIN };
		uint64_t now = sh_now_ms();
		char c;

		if (now >= deadline)
			return false;
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		if (read(h->out_fd, &c, 1) != 1)
			return false;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return true;
}

void sh_start(struct sh *h, const char *const *extra)
{
	const char *bin = getenv("OMV_CAMSIM");
	char *argv[64];
	int pipefd[2], argc = 0;

	memset(h, 0, sizeof *h);
	h->fd = -1;
	current = h;
	CHECKF(bin, "OMV_CAMSIM not set");
	snprintf(h->dir, sizeof h->dir, "/tmp/camsim-test-XXXXXX");
	CHECK(mkdtemp(h->dir));
	snprintf(h->link, sizeof h->link, "%s/cam", h->dir);
	snprintf(h->ctl, sizeof h->ctl, "%s/ctl", h->dir);
	argv[argc++] = (char *)bin;
	argv[argc++] = "--link";
	argv[argc++] = h->link;
	argv[argc++] = "--control";
	argv[argc++] = h->ctl;
	for (; extra && *extra && argc < 62; extra++)
		argv[argc++] = (char *)*extra;
	argv[argc] = NULL;
	CHECK(pipe(pipefd) == 0);
	h->pid = fork();
	CHECK(h->pid >= 0);
	if (h->pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(bin, argv);
		_exit(127);
	}
	close(pipefd[1]);
	h->out_fd = pipefd[0];
	CHECKF(sh_read_line(h, h->pty, sizeof h->pty, 5000), "camsim printed no pty path");
	CHECKF(!strncmp(h->pty, "/dev/pts/", 9), "first line '%s' is not a pty", h->pty);
	char target[128];
	ssize_t n = readlink(h->link, target, sizeof target - 1);
	CHECK(n > 0);
	target[n] = '\0';
	CHECKF(!strcmp(target, h->pty), "link -> %s, printed %s", target, h->pty);
}

void sh_stop(struct sh *h)
{
	uint64_t deadline = sh_now_ms() + 5000;
	int status = 0;
	pid_t r = 0;

	sh_close(h);
	kill(h->pid, SIGTERM);
	while (sh_now_ms() < deadline && (r = waitpid(h->pid, &status, WNOHANG)) == 0) {
		struct pollfd p = { .fd = h->out_fd, .events = POLLIN };
		char buf[256];
		if (poll(&p, 1, 20) > 0 && read(h->out_fd, buf, sizeof buf) <= 0)
			p.fd = -1;	/* EOF: keep waiting on waitpid */
	}
	CHECKF(r == h->pid, "camsim did not exit on SIGTERM");
	h->pid = 0;
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "camsim exit status %d", status);
	CHECKF(access(h->link, F_OK) != 0 && errno == ENOENT, "link left behind");
	CHECKF(access(h->ctl, F_OK) != 0 && errno == ENOENT, "control socket left behind");
	close(h->out_fd);
	CHECKF(rmdir(h->dir) == 0, "%s: %s", h->dir, strerror(errno));
	free(h->data);
	h->data = NULL;
	current = NULL;
}

/* ---- the host end of the pty ---- */

static void on_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct sh *h = ctx;
	size_t off = 0;

	/* an empty ACK: the test may hold it back to provoke a retransmission */
	if (len == OMV_HDR_SIZE && (buf[4] & OMV_F_ACK) && h->withhold_acks) {
		h->withhold_acks--;
		h->acks_withheld++;
		return;
	}
	while (off < len && h->fd >= 0) {
		ssize_t n = write(h->fd, buf + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = h->fd, .events = POLLOUT };
			poll(&p, 1, 100);
			continue;
		}
		break;		/* the pty went away */
	}
}

static void on_done(void *ctx, const struct omv_result *r)
{
	struct sh *h = ctx;

	h->done = true;
	h->code = r->code;
	h->status = r->status;
	free(h->data);
	h->data = malloc(r->len + 1);
	CHECK(h->data);
	if (r->len)
		memcpy(h->data, r->data, r->len);
	h->data[r->len] = 0;
	h->len = r->len;
}

static void on_event(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code)
{
	struct sh *h = ctx;

	if (h->nevents < SH_MAX_EVENTS)
		h->events[h->nevents++] = (struct sh_event){ chan, opcode, code };
}

static const struct omv_host_ops host_ops = { on_write, on_done, on_event };

void sh_set_speed(struct sh *h, speed_t speed)
{
	struct termios t;

	CHECK(tcgetattr(h->fd, &t) == 0);
	cfmakeraw(&t);
	cfsetispeed(&t, speed);
	cfsetospeed(&t, speed);
	CHECK(tcsetattr(h->fd, TCSANOW, &t) == 0);
}

void sh_open(struct sh *h, speed_t speed)
{
	h->fd = open(h->link, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	CHECKF(h->fd >= 0, "open %s: %s", h->link, strerror(errno));
	sh_set_speed(h, speed);
	h->eof = false;
	if (!h->host_up) {
		CHECK(omv_host_init(&h->host, &host_ops, h, RX_LIMIT) == 0);
		h->spy_buf = malloc(OMV_PACKET_SIZE(OMV_PAYLOAD_LIMIT));
		h->raw_buf = malloc(OMV_PACKET_SIZE(OMV_PAYLOAD_LIMIT));
		h->raw_in = malloc(RAW_IN_SIZE);
		CHECK(h->spy_buf && h->raw_buf && h->raw_in);
		h->host_up = true;
	} else {
		omv_host_reset(&h->host);
	}
	omv_decoder_init(&h->spy, h->spy_buf, OMV_PACKET_SIZE(OMV_PAYLOAD_LIMIT),
			 OMV_PAYLOAD_LIMIT, false);
	omv_decoder_init(&h->raw, h->raw_buf, OMV_PACKET_SIZE(OMV_PAYLOAD_LIMIT),
			 OMV_PAYLOAD_LIMIT, true);
	h->raw_have = h->raw_used = 0;
}

void sh_close(struct sh *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	if (h->host_up) {
		omv_host_free(&h->host);
		free(h->spy_buf);
		free(h->raw_buf);
		free(h->raw_in);
		h->spy_buf = h->raw_buf = h->raw_in = NULL;
		h->host_up = false;
	}
}

static void spy(struct sh *h, const uint8_t *buf, size_t len)
{
	struct omv_packet pkt;
	size_t off = 0;

	while (off < len) {
		off += omv_decoder_feed(&h->spy, buf + off, len - off);
		while (omv_decoder_next(&h->spy, &pkt))
			if (pkt.flags & OMV_F_RTX)
				h->rtx_seen++;
	}
}

bool sh_run(struct sh *h, unsigned ms, bool (*cond)(struct sh *h))
{
	uint64_t deadline = sh_now_ms() + ms;

	for (;;) {
		uint64_t now = sh_now_ms(), next = deadline;
		struct pollfd p = { .fd = h->fd, .events = POLLIN };
		uint8_t buf[65536];

		if (cond && cond(h))
			return true;
		if (now >= deadline)
			return false;
		if (h->host_up && omv_host_deadline(&h->host) < next)
			next = omv_host_deadline(&h->host);
		if (cond && next > now + 10)
			next = now + 10;	/* conditions may change without input */
		if (poll(&p, h->fd >= 0 ? 1 : 0, next > now ? (int)(next - now) : 0) > 0) {
			ssize_t n = read(h->fd, buf, sizeof buf);
			if (n > 0) {
				spy(h, buf, (size_t)n);
				omv_host_input(&h->host, buf, (size_t)n, sh_now_ms());
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				h->eof = true;
				close(h->fd);
				h->fd = -1;
			}
		}
		if (h->host_up)
			omv_host_tick(&h->host, sh_now_ms());
	}
}

static bool is_done(struct sh *h)
{
	return h->done;
}

void sh_send_raw(struct sh *h, uint8_t seq, uint8_t chan, uint8_t flags, uint8_t op,
		 const void *payload, uint16_t len, int damage)
{
	uint8_t *pkt = malloc(OMV_PACKET_SIZE((size_t)len));
	size_t n;

	CHECK(pkt);
	n = omv_packet_encode(pkt, OMV_PACKET_SIZE((size_t)len), seq, chan, flags, op, payload,
			      len, true);
	CHECK(n && (damage != 1 || len));
	if (damage == 1)
		pkt[OMV_HDR_SIZE + len / 2] ^= 0x01;
	else if (damage == 2)
		pkt[3] ^= 0x40;
	on_write(h, pkt, n);
	free(pkt);
}

bool sh_recv_raw(struct sh *h, struct omv_packet *pkt, unsigned timeout_ms)
{
	uint64_t deadline = sh_now_ms() + timeout_ms;

	for (;;) {
		while (omv_decoder_next(&h->raw, pkt))
			if (!(pkt->flags & OMV_F_EVENT))
				return true;
		if (h->raw_used < h->raw_have) {
			h->raw_used += omv_decoder_feed(&h->raw, h->raw_in + h->raw_used,
							h->raw_have - h->raw_used);
			continue;
		}

		uint64_t now = sh_now_ms();
		struct pollfd p = { .fd = h->fd, .events = POLLIN };
		ssize_t n;

		if (now >= deadline)
			return false;
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(h->fd, h->raw_in, RAW_IN_SIZE);
		if (n <= 0)
			continue;
		h->raw_have = (size_t)n;
		h->raw_used = 0;
	}
}

int sh_cmd(struct sh *h, uint8_t op, uint8_t chan, const void *payload, size_t len,
	   unsigned timeout_ms)
{
	h->done = false;
	CHECKF(omv_host_command(&h->host, op, chan, payload, len, sh_now_ms(), timeout_ms,
				NULL, 0) == 0, "cannot start %s", omv_opcode_name(op));
	CHECKF(sh_run(h, timeout_ms + 1000, is_done), "%s never ended", omv_opcode_name(op));
	return h->code;
}

void sh_ok(struct sh *h, uint8_t op, uint8_t chan, const void *payload, size_t len)
{
	int rc = sh_cmd(h, op, chan, payload, len, CMD_TIMEOUT_MS);

	CHECKF(rc == OMV_OK, "%s on channel %u: %s status %s", omv_opcode_name(op), chan,
	       omv_result_name(rc), omv_status_name(h->status));
}

void sh_nak(struct sh *h, uint8_t op, uint8_t chan, const void *payload, size_t len,
	    uint16_t status)
{
	int rc = sh_cmd(h, op, chan, payload, len, CMD_TIMEOUT_MS);

	CHECKF(rc == OMV_ERR_NAK && h->status == status, "%s on channel %u: %s %s, want NAK %s",
	       omv_opcode_name(op), chan, omv_result_name(rc), omv_status_name(h->status),
	       omv_status_name(status));
}

int sh_sync(struct sh *h, unsigned timeout_ms)
{
	h->done = false;
	omv_host_sync(&h->host, sh_now_ms(), timeout_ms);
	/* the sync call may have reported the cancelled command: wait again */
	h->done = false;
	if (!sh_run(h, timeout_ms + 1000, is_done))
		return OMV_ERR_TIMEOUT;
	return h->code;
}

void sh_handshake(struct sh *h, uint16_t max_payload)
{
	struct omv_caps caps;

	CHECKF(sh_sync(h, CMD_TIMEOUT_MS) == OMV_OK, "SYNC failed");
	sh_ok(h, OMV_OP_PROTO_GET_CAPS, 0, NULL, 0);
	CHECK(omv_caps_decode(&caps, h->data, h->len) == 0);
	if (caps.max_payload > max_payload)
		caps.max_payload = max_payload;
	caps.crc = caps.seq = caps.ack = caps.events = true;
	h->done = false;
	CHECK(omv_host_set_caps(&h->host, &caps, sh_now_ms(), CMD_TIMEOUT_MS) == 0);
	CHECKF(sh_run(h, CMD_TIMEOUT_MS + 1000, is_done) && h->code == OMV_OK, "SET_CAPS failed");
	CHECK(h->host.caps.max_payload == caps.max_payload);
}

void sh_ioctl(struct sh *h, uint8_t chan, uint32_t req, const void *arg, size_t arg_len,
	      uint16_t want_status)
{
	uint8_t buf[64];
	size_t n = omv_ioctl_req_encode(req, arg, arg_len, buf, sizeof buf);

	CHECK(n);
	if (want_status == OMV_ST_SUCCESS)
		sh_ok(h, OMV_OP_CHANNEL_IOCTL, chan, buf, n);
	else
		sh_nak(h, OMV_OP_CHANNEL_IOCTL, chan, buf, n, want_status);
}

uint32_t sh_u32(struct sh *h, uint8_t op, uint8_t chan)
{
	uint32_t v;

	sh_ok(h, op, chan, NULL, 0);
	CHECKF(omv_u32_decode(&v, h->data, h->len) == 0, "%s answer of %zu bytes",
	       omv_opcode_name(op), h->len);
	return v;
}

/* ---- events ---- */

bool sh_has_event(const struct sh *h, uint8_t chan, uint16_t code)
{
	for (size_t i = 0; i < h->nevents; i++)
		if (h->events[i].chan == chan && h->events[i].code == code)
			return true;
	return false;
}

static uint8_t want_chan;
static uint16_t want_code;

static bool event_seen(struct sh *h)
{
	return sh_has_event(h, want_chan, want_code);
}

bool sh_wait_event(struct sh *h, uint8_t chan, uint16_t code, unsigned timeout_ms)
{
	want_chan = chan;
	want_code = code;
	return sh_run(h, timeout_ms, event_seen);
}

void sh_clear_events(struct sh *h)
{
	h->nevents = 0;
}

/* ---- control socket ---- */

json_t *sh_control(struct sh *h, const char *cmd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint64_t deadline = sh_now_ms() + 3000;
	char buf[8192];
	size_t n = 0;
	json_error_t err;
	json_t *j;

	CHECK(fd >= 0);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", h->ctl);
	CHECKF(connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0, "control: %s",
	       strerror(errno));
	CHECK(write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd) && write(fd, "\n", 1) == 1);
	while (n + 1 < sizeof buf && !memchr(buf, '\n', n)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = sh_now_ms();
		ssize_t r;

		CHECKF(now < deadline, "control '%s': no reply", cmd);
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		r = read(fd, buf + n, sizeof buf - 1 - n);
		CHECKF(r > 0, "control '%s': connection closed", cmd);
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, &err);
	CHECKF(j && json_is_object(j), "control '%s': bad reply '%s'", cmd, buf);
	return j;
}

long long sh_stat(struct sh *h, const char *key)
{
	json_t *j = sh_control(h, "stats");
	json_t *v = json_object_get(j, key);
	long long r;

	CHECKF(v, "stats has no '%s'", key);
	r = json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
	json_decref(j);
	return r;
}

/* ---- scripts ---- */

void sh_exec(struct sh *h, const char *script)
{
	size_t len = strlen(script), off = 0;
	size_t chunk = h->host.caps.max_payload - OMV_WRITE_HDR_SIZE;
	uint8_t *buf = malloc(h->host.caps.max_payload);

	CHECK(buf);
	sh_ioctl(h, OMV_CHAN_STDIN, OMV_IOCTL_STDIN_RESET, NULL, 0, OMV_ST_SUCCESS);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t m = omv_write_req_encode((uint32_t)off, script + off, (uint32_t)n, buf,
						h->host.caps.max_payload);
		CHECK(m);
		sh_ok(h, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN, buf, m);
		off += n;
	}
	free(buf);
	sh_ioctl(h, OMV_CHAN_STDIN, OMV_IOCTL_STDIN_EXEC, NULL, 0, OMV_ST_SUCCESS);
}

char *sh_read_stdout_until(struct sh *h, const char *want, unsigned timeout_ms)
{
	uint64_t deadline = sh_now_ms() + timeout_ms;
	size_t cap = 4096, len = 0;
	char *text = calloc(1, cap);

	CHECK(text);
	while (!strstr(text, want) && sh_now_ms() < deadline) {
		uint32_t avail = sh_u32(h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDOUT);
		uint8_t req[OMV_READ_REQ_SIZE];

		if (!avail) {
			/* wait for the cam's NOTIFY (or a short while) */
			sh_clear_events(h);
			sh_wait_event(h, OMV_CHAN_STDOUT, OMV_EV_NOTIFY, 60);
			continue;
		}
		omv_read_req_encode(0, avail, req);
		sh_ok(h, OMV_OP_CHANNEL_READ, OMV_CHAN_STDOUT, req, sizeof req);
		CHECK(h->len == avail);
		while (len + h->len + 1 > cap)
			CHECK((text = realloc(text, cap *= 2)));
		memcpy(text + len, h->data, h->len);
		len += h->len;
		text[len] = '\0';
	}
	return text;
}
