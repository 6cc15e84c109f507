/*
 * Bounded history of the cam's stdout, read by many clients at their own
 * pace. Positions are absolute byte counts since the daemon started; a
 * reader keeps its own cursor and learns how much it missed when it falls
 * behind the window.
 */
#ifndef OMVD_STDOUT_LOG_H
#define OMVD_STDOUT_LOG_H

#include <stddef.h>
#include <stdint.h>

struct stdout_log;

struct stdout_log *stdout_log_new(size_t capacity);
void stdout_log_free(struct stdout_log *l);
void stdout_log_append(struct stdout_log *l, const char *data, size_t len);
uint64_t stdout_log_end(const struct stdout_log *l);	/* total bytes ever */

/*
 * Copy out what lies between *cursor and the end, at most max bytes; sets
 * *missed to the bytes lost to the window (0 normally) and advances *cursor.
 * Returns the number of bytes written to out.
 */
size_t stdout_log_read(const struct stdout_log *l, uint64_t *cursor, char *out,
		       size_t max, uint64_t *missed);

#endif
