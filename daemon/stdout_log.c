/*
 * The stdout history: a byte ring addressed by absolute position. Byte p
 * (counted since the log was made) lives at ring[p % capacity] while
 * p >= end - capacity; older bytes are gone and readers are told how many
 * they missed. Run marks (position, run id) are kept in order while they
 * cover bytes still in the ring.
 */
#include "stdout_log.h"

#include <stdlib.h>
#include <string.h>

/* More runs than this within one history's worth of bytes: the oldest
 * marks go (their bytes count as the next older run's). */
#define STDOUT_LOG_MARKS 64

struct run_mark {
	uint64_t pos;		/* first byte of the run's output */
	uint64_t run;
};

struct stdout_log {
	char *ring;
	size_t capacity;
	uint64_t end;		/* absolute position of the next byte */
	struct run_mark marks[STDOUT_LOG_MARKS];	/* oldest first */
	unsigned nmarks;
};

uint64_t stdout_log_start(const struct stdout_log *l)
{
	return l->end > l->capacity ? l->end - l->capacity : 0;
}

static void drop_oldest_mark(struct stdout_log *l)
{
	memmove(l->marks, l->marks + 1, (l->nmarks - 1) * sizeof l->marks[0]);
	l->nmarks--;
}

/* Marks are needed while the next one starts inside the window. */
static void prune_marks(struct stdout_log *l)
{
	while (l->nmarks >= 2 && l->marks[1].pos <= stdout_log_start(l))
		drop_oldest_mark(l);
}

struct stdout_log *stdout_log_new(size_t capacity)
{
	struct stdout_log *l = calloc(1, sizeof *l);

	if (l == NULL)
		return NULL;
	if (capacity == 0)
		capacity = 1;
	l->ring = malloc(capacity);
	if (l->ring == NULL) {
		free(l);
		return NULL;
	}
	l->capacity = capacity;
	return l;
}

void stdout_log_free(struct stdout_log *l)
{
	if (l == NULL)
		return;
	free(l->ring);
	free(l);
}

void stdout_log_append(struct stdout_log *l, const char *data, size_t len)
{
	/* Only the last capacity bytes can survive this append. */
	if (len > l->capacity) {
		l->end += len - l->capacity;
		data += len - l->capacity;
		len = l->capacity;
	}
	while (len > 0) {
		size_t at = (size_t)(l->end % l->capacity);
		size_t n = l->capacity - at;

		if (n > len)
			n = len;
		memcpy(l->ring + at, data, n);
		l->end += n;
		data += n;
		len -= n;
	}
	prune_marks(l);
}

uint64_t stdout_log_end(const struct stdout_log *l)
{
	return l->end;
}

size_t stdout_log_read(const struct stdout_log *l, uint64_t *cursor, char *out,
		       size_t max, uint64_t *missed)
{
	uint64_t start = stdout_log_start(l);
	size_t done = 0;

	*missed = 0;
	if (*cursor < start) {
		*missed = start - *cursor;
		*cursor = start;
	}
	if (*cursor > l->end)		/* a cursor from the future: nothing yet */
		*cursor = l->end;
	while (done < max && *cursor < l->end) {
		size_t at = (size_t)(*cursor % l->capacity);
		uint64_t avail = l->end - *cursor;
		size_t n = l->capacity - at;

		if (n > avail)
			n = (size_t)avail;
		if (n > max - done)
			n = max - done;
		memcpy(out + done, l->ring + at, n);
		done += n;
		*cursor += n;
	}
	return done;
}

void stdout_log_mark_run(struct stdout_log *l, uint64_t run)
{
	/* A run that printed nothing leaves no trace. */
	if (l->nmarks > 0 && l->marks[l->nmarks - 1].pos == l->end) {
		l->marks[l->nmarks - 1].run = run;
		return;
	}
	if (l->nmarks == STDOUT_LOG_MARKS)
		drop_oldest_mark(l);
	l->marks[l->nmarks].pos = l->end;
	l->marks[l->nmarks].run = run;
	l->nmarks++;
}

uint64_t stdout_log_reader_start(const struct stdout_log *l)
{
	uint64_t start = stdout_log_start(l);

	if (l->nmarks > 0 && l->marks[l->nmarks - 1].pos > start)
		return l->marks[l->nmarks - 1].pos;
	return start;
}

uint64_t stdout_log_run_at(const struct stdout_log *l, uint64_t pos, uint64_t *next)
{
	unsigned i = l->nmarks;

	while (i > 0 && l->marks[i - 1].pos > pos)
		i--;
	*next = i < l->nmarks ? l->marks[i].pos : UINT64_MAX;
	return i > 0 ? l->marks[i - 1].run : 0;
}

size_t stdout_log_read_run(const struct stdout_log *l, uint64_t *cursor, char *out,
			   size_t max, uint64_t *missed, uint64_t *run, bool *run_done)
{
	uint64_t start = stdout_log_start(l), pos = *cursor < start ? start : *cursor, next;
	size_t n;

	*run = stdout_log_run_at(l, pos, &next);
	if (next != UINT64_MAX && next - pos < max)
		max = (size_t)(next - pos);
	n = stdout_log_read(l, cursor, out, max, missed);
	*run_done = *cursor == next;
	return n;
}
