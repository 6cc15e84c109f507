/*
 * A client's output queue: lines leave in the order they were queued.
 * Small lines are copied into shared chunks (a line of 40 bytes costs 40
 * bytes, not a buffer of its own); large ones and lines shared by many
 * clients are queued by reference. The queue knows what it holds in
 * memory (cost), not just its length, and can attach a file descriptor to
 * a line's first byte (SCM_RIGHTS), which a bufferevent cannot.
 */
#ifndef OMVD_RPC_OUTQ_H
#define OMVD_RPC_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <jansson.h>

/* One serialised line shared by many clients' output queues. */
struct shared_line {
	unsigned refs;
	unsigned queued;	/* output queues holding it (its memory counts once) */
	size_t len;
	char data[];
};
/* Room for len bytes of data (to fill in, len set), one reference. */
struct shared_line *shared_line_alloc(size_t len);
/* msg serialised compactly with its newline; NULL when it cannot be. */
struct shared_line *shared_line_new(const json_t *msg);
void shared_line_unref(struct shared_line *l);

struct outq_item;

struct outq {
	TAILQ_HEAD(outq_items, outq_item) items;
	size_t bytes;		/* not yet written */
	size_t cost;		/* memory held for them, overheads included */
	size_t shared;		/* the part of cost that is shared lines */
	unsigned fds;		/* descriptors waiting to be passed */
};

/* Memory of the shared lines held by any queue, each counted once. */
size_t outq_shared_total(void);

void outq_init(struct outq *q);
/* Drops everything queued, closing the descriptors. */
void outq_clear(struct outq *q);

/* A malloc'd line, ownership taken (copied into a chunk when small).
 * -1 when out of memory (the line is freed). */
int outq_add_owned(struct outq *q, char *data, size_t len);
/* Bytes copied into the queue. */
int outq_add_copy(struct outq *q, const void *data, size_t len);
/* A shared line (a reference is taken; small ones are copied) with, when
 * fd >= 0, that descriptor attached to its first byte. The queue owns fd
 * from here on (also when this fails: it is closed). */
int outq_add_shared(struct outq *q, struct shared_line *l, int fd);

/*
 * Writes what the socket takes, at most max bytes. Returns the bytes
 * written (0: the socket is full), or -1 with errno on a write error.
 */
ssize_t outq_write(struct outq *q, int sock, size_t max);

#endif
