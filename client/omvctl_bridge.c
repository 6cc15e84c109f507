/*
 * omvctl bridge: standard input to omvd's socket, the socket to standard
 * output, byte for byte, both ways at once. It is what `--host ssh://...`
 * runs on the far side; any program that can talk to a pipe reaches omvd
 * through it.
 */
#include "omvctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BRIDGE_BUF (64u << 10)

/* One direction of the copy. */
struct flow {
	int from, to;
	char buf[BRIDGE_BUF];
	size_t off, len;	/* bytes [off, len) still to write */
	bool eof;		/* from is at its end */
	bool closed;		/* the end was passed on */
};

/* Read into the empty buffer; a read error ends the flow like its end. */
static void flow_read(struct flow *f)
{
	ssize_t n = read(f->from, f->buf, sizeof f->buf);

	if (n > 0) {
		f->off = 0;
		f->len = (size_t)n;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		f->eof = true;
	}
}

/* Write what is buffered; false when the reader is gone. */
static bool flow_write(struct flow *f)
{
	ssize_t n = write(f->to, f->buf + f->off, f->len - f->off);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	f->off += (size_t)n;
	if (f->off == f->len)
		f->off = f->len = 0;
	return true;
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0)
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	return flags;
}

int cmd_bridge(struct ctl *ctl, int argc, char **argv)
{
	static struct flow up, down;	/* stdin -> omvd, omvd -> stdout */
	int rc, in_flags, out_flags;

	if ((rc = ctl_no_operands(ctl, argc, argv)) || (rc = ctl_connect(ctl)))
		return rc;
	/* The library made the connection; the bytes are copied raw. */
	up = (struct flow){ .from = STDIN_FILENO, .to = omv_client_fd(ctl->c) };
	down = (struct flow){ .from = omv_client_fd(ctl->c), .to = STDOUT_FILENO };
	in_flags = set_nonblock(STDIN_FILENO);
	out_flags = set_nonblock(STDOUT_FILENO);
	rc = EXIT_OK;
	/* Until omvd's side ends and all of it is delivered. */
	while (!(down.eof && down.len == 0)) {
		struct pollfd pfd[2] = { { .fd = -1 }, { .fd = -1 } };
		struct flow *flows[2] = { &up, &down };

		if (ctl_interrupted) {
			rc = EXIT_INTERRUPTED;
			break;
		}
		for (int i = 0; i < 2; i++) {
			struct flow *f = flows[i];

			if (f->len) {
				pfd[i] = (struct pollfd){ .fd = f->to, .events = POLLOUT };
			} else if (!f->eof) {
				pfd[i] = (struct pollfd){ .fd = f->from, .events = POLLIN };
			} else if (f == &up && !f->closed) {
				/* The client is done sending: tell omvd, keep
				 * delivering its answers. */
				shutdown(up.to, SHUT_WR);
				f->closed = true;
			}
		}
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].events == POLLIN)
				flow_read(flows[i]);
			else if (!flow_write(flows[i]))
				goto out;	/* nobody left to deliver to */
		}
	}
out:
	if (in_flags >= 0)
		fcntl(STDIN_FILENO, F_SETFL, in_flags);
	if (out_flags >= 0)
		fcntl(STDOUT_FILENO, F_SETFL, out_flags);
	return rc;
}
