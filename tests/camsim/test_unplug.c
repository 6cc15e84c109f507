/*
 * camsim: unplug and replug through the control socket, SYS_RESET (also
 * from a host that closes the port right after writing it), and
 * --reboot-after. Each time the host sees the pty go away, the link comes
 * back pointing at a new pty (also printed on stdout) that works, with
 * the cam's state reset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simhost.h"

static bool gone(struct sh *h)
{
	return h->eof;
}

/* The pty went away; wait for the new path and check the link. */
static void replugged(struct sh *h)
{
	char target[128];
	ssize_t n;

	CHECKF(sh_run(h, 2000, gone), "the host did not see the unplug");
	sh_close(h);
	CHECKF(sh_read_line(h, h->pty, sizeof h->pty, 3000), "no new pty path printed");
	n = readlink(h->link, target, sizeof target - 1);
	CHECKF(n > 0, "link missing after replug: %s", strerror(errno));
	target[n] = '\0';
	CHECKF(!strcmp(target, h->pty), "link -> %s, printed %s", target, h->pty);
	sh_open(h, B921600);
	sh_handshake(h, 4082);
	sh_ok(h, OMV_OP_SYS_INFO, 0, NULL, 0);
}

static bool host_gone(struct sh *h)
{
	return sh_stat(h, "hosts") == 0 && sh_stat(h, "protocol_active") == 0;
}

/* Closing the port is like DTR going low: the protocol stops, and what the
 * cam wrote that the host did not read is not left for the next host. */
static void check_close(struct sh *h)
{
	uint8_t buf[256];

	CHECK(sh_stat(h, "hosts") == 1);
	json_decref(sh_control(h, "print unread"));
	json_decref(sh_control(h, "notify"));	/* on the wire, never read */
	sh_close(h);
	CHECKF(sh_run(h, 1000, host_gone), "camsim did not notice the close");
	sh_open(h, B115200);	/* not the magic baud: the cam stays silent */
	CHECK(read(h->fd, buf, sizeof buf) < 0 && errno == EAGAIN);
	sh_set_speed(h, B921600);
	sh_handshake(h, 4082);
	CHECK(sh_stat(h, "hosts") == 1 && sh_stat(h, "protocol_active") == 1);
	/* the cam's stdout itself is not lost, only what was on the wire */
	free(sh_read_stdout_until(h, "unread\n", 1000));
}

/* SYS_RESET and close at once: over USB the bytes reach the cam before
 * the port closes, so the cam still reboots. */
static void check_reset_then_close(struct sh *h)
{
	long long unplugs = sh_stat(h, "unplugs");
	char target[128];
	ssize_t n;

	CHECK(omv_host_send_noreply(&h->host, OMV_OP_SYS_RESET, 0) == 0);
	sh_close(h);
	CHECKF(sh_read_line(h, h->pty, sizeof h->pty, 3000), "the cam did not reboot");
	CHECK(sh_stat(h, "unplugs") == unplugs + 1);
	n = readlink(h->link, target, sizeof target - 1);
	CHECK(n > 0);
	target[n] = '\0';
	CHECK(!strcmp(target, h->pty));
	sh_open(h, B921600);
	sh_handshake(h, 4082);
	sh_ok(h, OMV_OP_SYS_INFO, 0, NULL, 0);
}

int main(void)
{
	struct sh h;
	uint8_t arg[4];
	json_t *j;
	const char *extra[] = { "--replug-ms", "100", NULL };
	const char *reboot[] = { "--reboot-after", "0.2", "--replug-ms", "50", NULL };

	sh_start(&h, extra);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);
	check_close(&h);
	omv_put_u32(arg, 1);
	sh_ioctl(&h, OMV_CHAN_STREAM, OMV_IOCTL_STREAM_CTRL, arg, 4, OMV_ST_SUCCESS);
	CHECK(sh_stat(&h, "streaming") == 1);

	j = sh_control(&h, "unplug");
	CHECK(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	replugged(&h);
	CHECK(sh_stat(&h, "unplugs") == 1 && sh_stat(&h, "replugs") == 1);
	CHECK(sh_stat(&h, "streaming") == 0);	/* a fresh cam */

	/* SYS_RESET: no answer, the cam drops off and comes back */
	CHECK(omv_host_send_noreply(&h.host, OMV_OP_SYS_RESET, 0) == 0);
	replugged(&h);
	CHECK(sh_stat(&h, "unplugs") == 2);
	check_reset_then_close(&h);

	j = sh_control(&h, "bogus");
	CHECK(json_is_false(json_object_get(j, "ok")) && json_object_get(j, "error"));
	json_decref(j);
	sh_stop(&h);

	/* --reboot-after: the pty goes away by itself once */
	sh_start(&h, reboot);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);
	replugged(&h);
	sh_stop(&h);
	puts("ok");
	return 0;
}
