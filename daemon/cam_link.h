/*
 * The cam's byte link in the event loop: opens the port (serial_port),
 * reads into a callback, writes at once (what does not fit is queued,
 * bounded, and flushed when the fd is writable). A read of 0 bytes or
 * EIO/ENXIO means the device went away: the fd is closed at once. Closed
 * links reopen by themselves with backoff (100 ms doubling to 2 s), and at
 * once when the port's path reappears in its directory (inotify).
 */
#ifndef OMVD_CAM_LINK_H
#define OMVD_CAM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct cam_link;

/* The cam's events (its link, and the camera's own timers) run at this
 * priority, before any other: the next fragment's ACK and the next command
 * never wait behind client work (main.c gives the event base priorities). */
#define CAM_EVENT_PRIORITY 0
#define CAM_LINK_BACKOFF_MIN_MS 100u
#define CAM_LINK_BACKOFF_MAX_MS 2000u
#define CAM_LINK_WRITE_MAX      (1u << 20)	/* bytes queued before we give up */

struct cam_link_ops {
	/* The port was opened; writes are accepted from now on. */
	void (*up)(void *ctx);
	/* Bytes from the cam. */
	void (*input)(void *ctx, const uint8_t *data, size_t len);
	/* The link is down: an open attempt failed, or the device went away
	 * (not called for cam_link_close()). A reopen is scheduled. */
	void (*down)(void *ctx, const char *reason);
};

struct cam_link *cam_link_new(struct event_base *base, const char *path, int baudrate,
			      const struct cam_link_ops *ops, void *ctx);
/* Closes without calling down(); tries to flush queued bytes first. */
void cam_link_free(struct cam_link *l);

/* First open attempt happens from the loop, never inside this call. */
void cam_link_start(struct cam_link *l);
/* Close now (queued bytes get one last non-blocking flush) and reopen
 * after the current backoff. No down() call: the caller knows. */
void cam_link_close(struct cam_link *l);
/* Close (if open) and try to open again right away, backoff reset. */
void cam_link_reopen(struct cam_link *l);
/* The link worked (handshake done): the next reopen waits the minimum. */
void cam_link_backoff_reset(struct cam_link *l);

bool cam_link_is_open(const struct cam_link *l);
/* Write bytes (queued when the fd takes them not all at once); -1 when
 * closed or the queue is over CAM_LINK_WRITE_MAX. */
int cam_link_write(struct cam_link *l, const void *data, size_t len);
/*
 * Outside the event loop (shutdown only): wait up to ms for the fd, flush
 * queued bytes and hand what arrives to input(). -1 when closed or the
 * device failed (no down() call then).
 */
int cam_link_pump(struct cam_link *l, unsigned ms);
/* Milliseconds the next reopen waits. */
unsigned cam_link_backoff_ms(const struct cam_link *l);

#endif
