/*
 * The cam's end of the wire: a pseudo-terminal, the --link symlink to its
 * slave, the magic-baud gate, and unplug/replug.
 *
 * camsim keeps its own descriptor of the slave open for the whole life of
 * a pty. Without it, reading the master fails with EIO whenever no host
 * has the slave open, and the host's termios would be lost between opens.
 *
 * A pty has no DTR line, yet a real cam drops out of protocol mode when the
 * host closes the port (DTR low). camsim watches opens and closes of the
 * slave with inotify instead: with no host, the protocol is inactive, and
 * what the cam wrote but nobody read is thrown away, so the next host does
 * not start with stale packets. Bytes the host wrote before it closed
 * still reach the cam, as they do over USB (a host that sends SYS_RESET
 * and closes at once still resets the cam): input stays on for a short
 * grace period after the last close.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <termios.h>
#include <unistd.h>

#include "camsim.h"

#define BAUD_CHECK_MS 100
#define CLOSE_GRACE_MS 50	/* input still taken after the last host closed */
#define OUT_LIMIT (1024u * 1024u)	/* bytes waiting for a host that does not read */

static void link_remove(struct sim *s)
{
	if (s->o.link)
		unlink(s->o.link);
}

/* Point --link at the current slave without a moment where it is missing. */
static int link_update(struct sim *s)
{
	char tmp[4096];

	if (!s->o.link)
		return 0;
	snprintf(tmp, sizeof tmp, "%s.tmp%ld", s->o.link, (long)getpid());
	unlink(tmp);
	if (symlink(s->pty_name, tmp) < 0 || rename(tmp, s->o.link) < 0) {
		fprintf(stderr, "omv-camsim: link %s: %s\n", s->o.link, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Count opens and closes of the slave by hosts since the last call. */
static void watch_drain(struct sim *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int before = s->hosts;
	ssize_t n;

	while ((n = read(s->ino_fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				s->hosts = 1;	/* lost count: assume someone is there */
			else if (ev->wd == s->watch && (ev->mask & IN_OPEN))
				s->hosts++;
			else if (ev->wd == s->watch && (ev->mask & IN_CLOSE))
				s->hosts--;
			p += sizeof *ev + ev->len;
		}
	}
	if (s->hosts < 0)
		s->hosts = 0;
	if (before && !s->hosts && s->plugged) {
		/* the last host went away: what it did not read is lost */
		tcflush(s->slave, TCIFLUSH);
		evbuffer_drain(s->out, evbuffer_get_length(s->out));
		s->closed_at_ms = sim_now_ms();
		sim_log(s, "host closed the port");
	}
}

/* Is the protocol on? A host has the port open at the magic baud. */
static bool link_check(struct sim *s)
{
	struct termios t;
	bool active;

	if (!s->plugged)
		return false;
	watch_drain(s);
	if (!s->hosts)
		active = s->active && sim_now_ms() < s->closed_at_ms + CLOSE_GRACE_MS;
	else if (s->o.any_baud)
		active = true;
	else
		active = tcgetattr(s->master, &t) == 0 && cfgetospeed(&t) == B921600;
	if (active != s->active) {
		s->active = active;
		sim_log(s, "protocol %s", active ? "active" : "inactive");
		if (active)
			device_link_activated(s);
		else
			evbuffer_drain(s->out, evbuffer_get_length(s->out));
	}
	return active;
}

static void flush_out(struct sim *s)
{
	while (evbuffer_get_length(s->out)) {
		int n = evbuffer_write(s->out, s->master);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			/* nobody can take it: drop rather than spin */
			evbuffer_drain(s->out, evbuffer_get_length(s->out));
		}
		if (n <= 0)
			break;
	}
	if (evbuffer_get_length(s->out))
		event_add(s->wr_ev, NULL);
	else
		event_del(s->wr_ev);
}

void pty_write(struct sim *s, const uint8_t *data, size_t len)
{
	/* the gate as last checked: re-checking here could re-initialise the
	 * cam state machine from inside its own write callback; nobody reads
	 * while no host has the port */
	if (!s->plugged || !s->active || !s->hosts)
		return;
	if (evbuffer_get_length(s->out) + len > OUT_LIMIT) {
		s->n.out_overflow++;
		return;
	}
	evbuffer_add(s->out, data, len);
	flush_out(s);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	flush_out(arg);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	uint8_t buf[16384];
	ssize_t n = read(fd, buf, sizeof buf);

	if (n <= 0)
		return;		/* EAGAIN; EIO cannot happen while we hold the slave */
	if (!link_check(s)) {
		/* a real cam would hand these to its REPL */
		s->n.ignored_bytes += (uint64_t)n;
		return;
	}
	faults_in(s, buf, (size_t)n);
}

static void on_baud_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;

	link_check(s);
	profile_tick(s);
}

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
	link_check(arg);
}

static int pty_plug(struct sim *s)
{
	struct termios t;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
	    ptsname_r(m, s->pty_name, sizeof s->pty_name) != 0) {
		fprintf(stderr, "omv-camsim: pty: %s\n", strerror(errno));
		if (m >= 0)
			close(m);
		return -1;
	}
	s->slave = open(s->pty_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s->slave < 0) {
		fprintf(stderr, "omv-camsim: %s: %s\n", s->pty_name, strerror(errno));
		close(m);
		return -1;
	}
	if (tcgetattr(s->slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s->slave, TCSANOW, &t);
	}
	/* watched from now on: our own open above is not counted */
	s->hosts = 0;
	s->watch = inotify_add_watch(s->ino_fd, s->pty_name, IN_OPEN | IN_CLOSE);
	if (s->watch < 0) {
		fprintf(stderr, "omv-camsim: inotify %s: %s\n", s->pty_name, strerror(errno));
		close(s->slave);
		close(m);
		return -1;
	}
	evutil_make_socket_nonblocking(m);
	s->master = m;
	s->plugged = true;
	s->active = false;
	s->rd_ev = event_new(s->base, m, EV_READ | EV_PERSIST, on_readable, s);
	s->wr_ev = event_new(s->base, m, EV_WRITE | EV_PERSIST, on_writable, s);
	event_add(s->rd_ev, NULL);
	if (link_update(s) < 0)
		return -1;
	device_power_on(s);
	printf("%s\n", s->pty_name);
	fflush(stdout);
	sim_log(s, "plugged in on %s", s->pty_name);
	return 0;
}

static void pty_unplug(struct sim *s)
{
	if (!s->plugged)
		return;
	device_power_off(s);
	faults_flush(s);
	event_free(s->rd_ev);
	event_free(s->wr_ev);
	s->rd_ev = s->wr_ev = NULL;
	evbuffer_drain(s->out, evbuffer_get_length(s->out));
	inotify_rm_watch(s->ino_fd, s->watch);
	close(s->master);
	close(s->slave);
	s->master = s->slave = -1;
	s->plugged = false;
	s->active = false;
	link_remove(s);
	s->n.unplugs++;
	sim_log(s, "unplugged");
}

static void on_replug(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;

	if (s->plugged)
		return;
	if (pty_plug(s) < 0) {
		event_base_loopexit(s->base, NULL);
		return;
	}
	s->n.replugs++;
}

static void on_unplug(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	struct timeval tv = { s->next_replug_ms / 1000, (s->next_replug_ms % 1000) * 1000 };

	pty_unplug(s);
	event_add(s->replug_ev, &tv);
}

void sim_schedule_unplug(struct sim *s, unsigned delay_ms, unsigned replug_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	if (!s->plugged || event_pending(s->unplug_ev, EV_TIMEOUT, NULL))
		return;
	s->next_replug_ms = replug_ms;
	event_add(s->unplug_ev, &tv);
}

static void on_reboot_after(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;

	sim_schedule_unplug(s, 0, s->o.replug_ms);
}

int pty_init(struct sim *s)
{
	struct timeval baud = { 0, BAUD_CHECK_MS * 1000 };

	s->master = s->slave = -1;
	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino_fd < 0) {
		fprintf(stderr, "omv-camsim: inotify: %s\n", strerror(errno));
		return -1;
	}
	s->ino_ev = event_new(s->base, s->ino_fd, EV_READ | EV_PERSIST, on_watch, s);
	s->out = evbuffer_new();
	s->baud_ev = event_new(s->base, -1, EV_PERSIST, on_baud_timer, s);
	s->replug_ev = evtimer_new(s->base, on_replug, s);
	s->unplug_ev = evtimer_new(s->base, on_unplug, s);
	s->reboot_ev = evtimer_new(s->base, on_reboot_after, s);
	if (!s->ino_ev || !s->out || !s->baud_ev || !s->replug_ev || !s->unplug_ev ||
	    !s->reboot_ev)
		return -1;
	event_add(s->ino_ev, NULL);
	event_add(s->baud_ev, &baud);
	if (s->o.reboot_after > 0) {
		struct timeval tv;
		tv.tv_sec = (time_t)s->o.reboot_after;
		tv.tv_usec = (suseconds_t)((s->o.reboot_after - (double)tv.tv_sec) * 1e6);
		event_add(s->reboot_ev, &tv);
	}
	return pty_plug(s);
}

void pty_free(struct sim *s)
{
	if (s->plugged) {
		event_free(s->rd_ev);
		event_free(s->wr_ev);
		close(s->master);
		close(s->slave);
		s->plugged = false;
	}
	link_remove(s);
	if (s->out)
		evbuffer_free(s->out);
	if (s->baud_ev)
		event_free(s->baud_ev);
	if (s->replug_ev)
		event_free(s->replug_ev);
	if (s->unplug_ev)
		event_free(s->unplug_ev);
	if (s->reboot_ev)
		event_free(s->reboot_ev);
	if (s->ino_ev)
		event_free(s->ino_ev);
	if (s->ino_fd >= 0)
		close(s->ino_fd);
}
