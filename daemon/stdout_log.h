/*
 * Bounded history of the cam's stdout, read by many clients at their own
 * pace. Positions are absolute byte counts since the daemon started; a
 * reader keeps its own cursor and learns how much it missed when it falls
 * behind the window. The history also remembers where each script run's
 * output begins, so that a reader can tell whose output a byte is.
 */
#ifndef OMVD_STDOUT_LOG_H
#define OMVD_STDOUT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stdout_log;

struct stdout_log *stdout_log_new(size_t capacity);
void stdout_log_free(struct stdout_log *l);
void stdout_log_append(struct stdout_log *l, const char *data, size_t len);
uint64_t stdout_log_end(const struct stdout_log *l);	/* total bytes ever */
uint64_t stdout_log_start(const struct stdout_log *l);	/* the oldest byte kept */

/*
 * Copy out what lies between *cursor and the end, at most max bytes; sets
 * *missed to the bytes lost to the window (0 normally) and advances *cursor.
 * Returns the number of bytes written to out.
 */
size_t stdout_log_read(const struct stdout_log *l, uint64_t *cursor, char *out,
		       size_t max, uint64_t *missed);

/* stdout_log_read within one run's output: stops where the next run's
 * output begins. *run: the run the bytes belong to (0: before any known
 * run); *run_done: the read reached the start of the next run's output. */
size_t stdout_log_read_run(const struct stdout_log *l, uint64_t *cursor, char *out,
			   size_t max, uint64_t *missed, uint64_t *run, bool *run_done);

/* What is appended from now on is the output of run `run` (ids from 1). */
void stdout_log_mark_run(struct stdout_log *l, uint64_t run);
/* Where a new reader starts: the first byte of the latest run's output
 * still in the history, else the oldest byte kept. */
uint64_t stdout_log_reader_start(const struct stdout_log *l);
/* The run whose output byte pos is (0: before any known run), and where
 * the next run's output begins (UINT64_MAX: none yet). */
uint64_t stdout_log_run_at(const struct stdout_log *l, uint64_t pos, uint64_t *next);

#endif
