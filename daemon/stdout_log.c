/*
 * The stdout history: a byte ring addressed by absolute position. Byte p
 * (counted since the log was made) lives at ring[p % capacity] while
 * p >= end - capacity; older bytes are gone and readers are told how many
 * they missed.
 */
#include "stdout_log.h"

#include <stdlib.h>
#include <string.h>

struct stdout_log {
	char *ring;
	size_t capacity;
	uint64_t end;		/* absolute position of the next byte */
};

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
}

uint64_t stdout_log_end(const struct stdout_log *l)
{
	return l->end;
}

size_t stdout_log_read(const struct stdout_log *l, uint64_t *cursor, char *out,
		       size_t max, uint64_t *missed)
{
	uint64_t start = l->end > l->capacity ? l->end - l->capacity : 0;
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
