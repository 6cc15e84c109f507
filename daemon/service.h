/*
 * systemd integration through sd-daemon: readiness, status line, watchdog
 * pings from the event loop, stopping, and sockets passed by socket
 * activation. Every call is a no-op without systemd.
 */
#ifndef OMVD_SERVICE_H
#define OMVD_SERVICE_H

struct event_base;
struct service;

/* Arms the watchdog timer (half of WATCHDOG_USEC) when enabled. */
struct service *service_new(struct event_base *base);
void service_free(struct service *s);

/*
 * The listening socket passed by systemd: the fd (>= 3), -1 when none was
 * passed, -2 when what was passed is unusable (logged).
 */
int service_listen_fd(void);

void service_ready(struct service *s);
void service_status(struct service *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void service_stopping(struct service *s);

#endif
