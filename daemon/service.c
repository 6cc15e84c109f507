/*
 * systemd integration through sd-daemon. Every sd_* call below is a no-op
 * when the daemon was not started by systemd (no NOTIFY_SOCKET, no
 * WATCHDOG_USEC, no LISTEN_FDS), so the daemon runs the same by hand.
 */
#include "service.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "log.h"

struct service {
	struct event *watchdog;		/* NULL when systemd does not watch us */
	bool notify_failed;		/* logged once, not on every ping */
};

static void notify(struct service *s, const char *state)
{
	int r = sd_notify(0, state);

	if (r >= 0) {
		s->notify_failed = false;
		return;
	}
	if (!s->notify_failed)
		log_warn("cannot notify systemd: %s", strerror(-r));
	s->notify_failed = true;
}

/*
 * Pinged from the event loop itself rather than a thread, so that a loop
 * stuck in a callback stops the pings and systemd restarts us.
 */
static void watchdog_ping(evutil_socket_t fd, short what, void *arg)
{
	notify(arg, "WATCHDOG=1");
}

static int watchdog_arm(struct service *s, struct event_base *base)
{
	uint64_t usec = 0;
	int r = sd_watchdog_enabled(0, &usec);
	struct timeval half;

	if (r < 0) {
		log_warn("ignoring the watchdog settings: %s", strerror(-r));
		return 0;
	}
	if (r == 0 || usec == 0)
		return 0;

	usec = usec > 1 ? usec / 2 : 1;
	half.tv_sec = (time_t)(usec / 1000000);
	half.tv_usec = (suseconds_t)(usec % 1000000);
	s->watchdog = event_new(base, -1, EV_PERSIST, watchdog_ping, s);
	if (s->watchdog == NULL || event_add(s->watchdog, &half) < 0)
		return -1;
	log_debug("watchdog: pinging every %llu ms", (unsigned long long)usec / 1000);
	return 0;
}

struct service *service_new(struct event_base *base)
{
	struct service *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	if (watchdog_arm(s, base) < 0) {
		log_err("cannot arm the watchdog timer");
		service_free(s);
		return NULL;
	}
	return s;
}

void service_free(struct service *s)
{
	if (s == NULL)
		return;
	if (s->watchdog != NULL)
		event_free(s->watchdog);
	free(s);
}

int service_listen_fd(void)
{
	int n = sd_listen_fds(1);
	int r;

	if (n < 0) {
		log_err("socket activation: %s", strerror(-n));
		return -2;
	}
	if (n == 0)
		return -1;
	if (n > 1) {
		log_err("socket activation: got %d sockets, expected one", n);
		return -2;
	}
	r = sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0);
	if (r < 0) {
		log_err("socket activation: fd %d: %s", SD_LISTEN_FDS_START, strerror(-r));
		return -2;
	}
	if (r == 0) {
		log_err("socket activation: fd %d is not a listening Unix stream socket",
			SD_LISTEN_FDS_START);
		return -2;
	}
	return SD_LISTEN_FDS_START;
}

void service_ready(struct service *s)
{
	notify(s, "READY=1");
}

void service_status(struct service *s, const char *fmt, ...)
{
	char line[512] = "STATUS=";
	size_t head = strlen(line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + head, sizeof line - head, fmt, ap);
	va_end(ap);
	/* A newline would start a new assignment in the notify message. */
	for (char *p = line + head; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	notify(s, line);
}

void service_stopping(struct service *s)
{
	notify(s, "STOPPING=1");
}
