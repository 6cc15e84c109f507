/*
 * The cam's byte link: one fd in libevent, a bounded output queue, and the
 * reopen policy (backoff, plus an inotify watch on the port's directory so
 * that a replugged cam or a re-created symlink is picked up at once).
 */
#include "cam_link.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "serial_port.h"

struct cam_link {
	struct event_base *base;
	char *path;
	char *dir;		/* watched for the path to reappear */
	char *name;
	int baudrate;
	const struct cam_link_ops *ops;
	void *ctx;

	struct serial_port *port;	/* NULL while closed */
	struct event *rd, *wr;
	struct evbuffer *out;

	struct event *retry;
	unsigned backoff_ms;

	int ino_fd;
	struct event *ino_ev;
};

static void try_open(struct cam_link *l);

static void schedule_retry(struct cam_link *l)
{
	struct timeval tv = { l->backoff_ms / 1000, (l->backoff_ms % 1000) * 1000 };

	evtimer_add(l->retry, &tv);
	l->backoff_ms *= 2;
	if (l->backoff_ms > CAM_LINK_BACKOFF_MAX_MS)
		l->backoff_ms = CAM_LINK_BACKOFF_MAX_MS;
}

/* One last non-blocking attempt to get queued bytes out (e.g. SYS_RESET). */
static void flush_now(struct cam_link *l)
{
	int fd = serial_port_fd(l->port);

	while (evbuffer_get_length(l->out) > 0) {
		if (evbuffer_write(l->out, fd) <= 0)
			break;
	}
}

static void close_port(struct cam_link *l)
{
	if (l->port == NULL)
		return;
	event_free(l->rd);
	event_free(l->wr);
	l->rd = l->wr = NULL;
	serial_port_close(l->port);
	l->port = NULL;
	evbuffer_drain(l->out, evbuffer_get_length(l->out));
}

/* The device went away or misbehaved: close at once, tell, retry later. */
static void link_lost(struct cam_link *l, const char *reason)
{
	close_port(l);
	schedule_retry(l);
	if (l->ops->down != NULL)
		l->ops->down(l->ctx, reason);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct cam_link *l = arg;
	uint8_t buf[65536];
	char reason[128];
	ssize_t n;

	n = read(fd, buf, sizeof buf);
	if (n > 0) {
		l->ops->input(l->ctx, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0)
		snprintf(reason, sizeof reason, "port %s: device gone (end of file)", l->path);
	else
		snprintf(reason, sizeof reason, "port %s: %s", l->path, strerror(errno));
	link_lost(l, reason);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct cam_link *l = arg;
	char reason[128];

	if (evbuffer_write(l->out, fd) < 0 && errno != EAGAIN && errno != EINTR) {
		snprintf(reason, sizeof reason, "port %s: write: %s", l->path, strerror(errno));
		link_lost(l, reason);
		return;
	}
	if (evbuffer_get_length(l->out) > 0)
		event_add(l->wr, NULL);
}

static void try_open(struct cam_link *l)
{
	char err[160], reason[256];
	int fd;

	if (l->port != NULL)
		return;
	l->port = serial_port_open(l->path, l->baudrate, err, sizeof err);
	if (l->port == NULL) {
		snprintf(reason, sizeof reason, "port %s: %s", l->path, err);
		schedule_retry(l);
		if (l->ops->down != NULL)
			l->ops->down(l->ctx, reason);
		return;
	}
	fd = serial_port_fd(l->port);
	l->rd = event_new(l->base, fd, EV_READ | EV_PERSIST, on_read, l);
	l->wr = event_new(l->base, fd, EV_WRITE, on_write, l);
	event_priority_set(l->rd, CAM_EVENT_PRIORITY);
	event_priority_set(l->wr, CAM_EVENT_PRIORITY);
	event_add(l->rd, NULL);
	if (l->ops->up != NULL)
		l->ops->up(l->ctx);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	try_open(arg);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct cam_link *l = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool seen = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->len > 0 && strcmp(ev->name, l->name) == 0)
				seen = true;
			p += sizeof *ev + ev->len;
		}
	}
	if (seen && l->port == NULL) {
		evtimer_del(l->retry);
		l->backoff_ms = CAM_LINK_BACKOFF_MIN_MS;
		try_open(l);
	}
}

static void watch_dir(struct cam_link *l)
{
	l->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (l->ino_fd < 0)
		return;
	if (inotify_add_watch(l->ino_fd, l->dir, IN_CREATE | IN_MOVED_TO) < 0) {
		/* No watch, no harm: backoff still finds the port. */
		close(l->ino_fd);
		l->ino_fd = -1;
		return;
	}
	l->ino_ev = event_new(l->base, l->ino_fd, EV_READ | EV_PERSIST, on_inotify, l);
	event_add(l->ino_ev, NULL);
}

struct cam_link *cam_link_new(struct event_base *base, const char *path, int baudrate,
			      const struct cam_link_ops *ops, void *ctx)
{
	struct cam_link *l = calloc(1, sizeof *l);
	char *tmp;

	if (l == NULL)
		return NULL;
	l->base = base;
	l->path = strdup(path);
	tmp = strdup(path);
	l->dir = tmp ? strdup(dirname(tmp)) : NULL;
	free(tmp);
	tmp = strdup(path);
	l->name = tmp ? strdup(basename(tmp)) : NULL;
	free(tmp);
	l->out = evbuffer_new();
	l->retry = evtimer_new(base, on_retry, l);
	if (l->path == NULL || l->dir == NULL || l->name == NULL || l->out == NULL ||
	    l->retry == NULL) {
		l->ino_fd = -1;
		cam_link_free(l);
		return NULL;
	}
	l->baudrate = baudrate;
	l->ops = ops;
	l->ctx = ctx;
	l->backoff_ms = CAM_LINK_BACKOFF_MIN_MS;
	watch_dir(l);
	return l;
}

void cam_link_free(struct cam_link *l)
{
	if (l == NULL)
		return;
	if (l->port != NULL)
		flush_now(l);
	close_port(l);
	if (l->ino_ev != NULL)
		event_free(l->ino_ev);
	if (l->ino_fd >= 0)
		close(l->ino_fd);
	if (l->retry != NULL)
		event_free(l->retry);
	if (l->out != NULL)
		evbuffer_free(l->out);
	free(l->path);
	free(l->dir);
	free(l->name);
	free(l);
}

void cam_link_start(struct cam_link *l)
{
	struct timeval now = { 0, 0 };

	evtimer_add(l->retry, &now);
}

void cam_link_close(struct cam_link *l)
{
	if (l->port == NULL)
		return;
	flush_now(l);
	close_port(l);
	schedule_retry(l);
}

void cam_link_reopen(struct cam_link *l)
{
	struct timeval now = { 0, 0 };

	close_port(l);
	l->backoff_ms = CAM_LINK_BACKOFF_MIN_MS;
	evtimer_add(l->retry, &now);
}

void cam_link_backoff_reset(struct cam_link *l)
{
	l->backoff_ms = CAM_LINK_BACKOFF_MIN_MS;
}

bool cam_link_is_open(const struct cam_link *l)
{
	return l->port != NULL;
}

int cam_link_write(struct cam_link *l, const void *data, size_t len)
{
	if (l->port == NULL)
		return -1;
	/* Nothing queued: try the fd at once. A command (or ACK) then leaves
	 * now instead of after another turn of the loop, and the write event
	 * is not armed and disarmed for every packet. Errors are left for
	 * on_write to report, outside the caller's protocol callback. */
	if (evbuffer_get_length(l->out) == 0) {
		ssize_t n = write(serial_port_fd(l->port), data, len);

		if (n == (ssize_t)len)
			return 0;
		if (n > 0) {
			data = (const uint8_t *)data + n;
			len -= (size_t)n;
		}
	}
	if (evbuffer_get_length(l->out) + len > CAM_LINK_WRITE_MAX)
		return -1;
	if (evbuffer_add(l->out, data, len) < 0)
		return -1;
	event_add(l->wr, NULL);
	return 0;
}

int cam_link_pump(struct cam_link *l, unsigned ms)
{
	struct pollfd p;
	uint8_t buf[4096];
	ssize_t n;

	if (l->port == NULL)
		return -1;
	p.fd = serial_port_fd(l->port);
	p.events = POLLIN | (evbuffer_get_length(l->out) > 0 ? POLLOUT : 0);
	p.revents = 0;
	if (poll(&p, 1, (int)ms) < 0)
		return errno == EINTR ? 0 : -1;
	if (p.revents & POLLOUT) {
		if (evbuffer_write(l->out, p.fd) < 0 && errno != EAGAIN)
			return -1;
	}
	if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
		n = read(p.fd, buf, sizeof buf);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n > 0)
			l->ops->input(l->ctx, buf, (size_t)n);
	}
	return 0;
}

unsigned cam_link_backoff_ms(const struct cam_link *l)
{
	return l->backoff_ms;
}
