/*
 * A client's output queue (see rpc_outq.h). Items are chunks that small
 * lines are copied into, references to shared lines, or large malloc'd
 * lines taken over; each is written from its offset with one sendmsg()
 * over many items, an item carrying a descriptor starting a sendmsg of
 * its own so the descriptor travels with the line's first byte.
 */
#include "rpc_outq.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* What malloc adds to each block (glibc: header and rounding). */
#define MALLOC_OVERHEAD 16
/* Lines shorter than this are copied into chunks of CHUNK_ALLOC bytes. */
#define COALESCE_MAX 1024
#define CHUNK_ALLOC 4096
/* iovecs per sendmsg */
#define WRITE_IOV 64

struct outq_item {
	TAILQ_ENTRY(outq_item) link;
	size_t off;			/* bytes already written */
	size_t len;			/* bytes in the item */
	size_t cap;			/* inline chunk capacity; 0 otherwise */
	struct shared_line *line;	/* a shared line, or */
	char *owned;			/* a malloc'd line taken over, or data[] */
	int fd;				/* passed with the first byte; -1: none */
	char data[];
};

/* Memory of the shared lines that some queue holds: one process, one
 * loop, so one total. */
static size_t shared_total;

size_t outq_shared_total(void)
{
	return shared_total;
}

struct shared_line *shared_line_alloc(size_t len)
{
	struct shared_line *l = malloc(sizeof *l + len);

	if (l == NULL)
		return NULL;
	l->refs = 1;
	l->queued = 0;
	l->len = len;
	return l;
}

struct shared_line *shared_line_new(const json_t *msg)
{
	size_t n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
	struct shared_line *l;

	if (n == 0 || (l = shared_line_alloc(n + 1)) == NULL)
		return NULL;
	if (json_dumpb(msg, l->data, n, JSON_COMPACT) != n) {
		free(l);
		return NULL;
	}
	l->data[n] = '\n';
	return l;
}

void shared_line_unref(struct shared_line *l)
{
	if (l != NULL && --l->refs == 0)
		free(l);
}

static const char *item_bytes(const struct outq_item *it)
{
	if (it->line != NULL)
		return it->line->data;
	return it->owned != NULL ? it->owned : it->data;
}

static size_t line_cost(const struct shared_line *l)
{
	return sizeof *l + l->len + MALLOC_OVERHEAD;
}

static size_t item_cost(const struct outq_item *it)
{
	size_t cost = sizeof *it + it->cap + MALLOC_OVERHEAD;

	if (it->line != NULL)
		cost += line_cost(it->line);
	else if (it->owned != NULL)
		cost += it->len + MALLOC_OVERHEAD;
	return cost;
}

/* Takes the item out of the queue's sums. */
static void item_forget(struct outq *q, struct outq_item *it)
{
	q->cost -= item_cost(it);
	if (it->line != NULL) {
		q->shared -= line_cost(it->line);
		if (--it->line->queued == 0)
			shared_total -= line_cost(it->line);
	}
	if (it->fd >= 0)
		q->fds--;
}

static void item_free(struct outq_item *it)
{
	shared_line_unref(it->line);
	free(it->owned);
	if (it->fd >= 0)
		close(it->fd);
	free(it);
}

void outq_init(struct outq *q)
{
	TAILQ_INIT(&q->items);
	q->bytes = q->cost = q->shared = 0;
	q->fds = 0;
}

void outq_clear(struct outq *q)
{
	struct outq_item *it;

	while ((it = TAILQ_FIRST(&q->items)) != NULL) {
		TAILQ_REMOVE(&q->items, it, link);
		item_forget(q, it);
		item_free(it);
	}
	outq_init(q);
}

static struct outq_item *item_new(size_t cap)
{
	struct outq_item *it = malloc(sizeof *it + cap);

	if (it == NULL)
		return NULL;
	memset(it, 0, sizeof *it);
	it->cap = cap;
	it->fd = -1;
	return it;
}

static void push(struct outq *q, struct outq_item *it)
{
	TAILQ_INSERT_TAIL(&q->items, it, link);
	q->bytes += it->len;
	q->cost += item_cost(it);
	if (it->line != NULL) {
		q->shared += line_cost(it->line);
		if (it->line->queued++ == 0)
			shared_total += line_cost(it->line);
	}
	if (it->fd >= 0)
		q->fds++;
}

int outq_add_copy(struct outq *q, const void *data, size_t len)
{
	struct outq_item *tail = TAILQ_LAST(&q->items, outq_items);
	const char *p = data;

	while (len > 0) {
		size_t n;
		if (tail == NULL || tail->len >= tail->cap) {	/* full, or not a chunk */
			size_t cap = len > CHUNK_ALLOC / 2 ? len : CHUNK_ALLOC - sizeof *tail
										  - MALLOC_OVERHEAD;
			tail = item_new(cap);
			if (tail == NULL)
				return -1;
			push(q, tail);
		}
		n = tail->cap - tail->len < len ? tail->cap - tail->len : len;
		memcpy(tail->data + tail->len, p, n);
		tail->len += n;
		q->bytes += n;
		p += n;
		len -= n;
	}
	return 0;
}

int outq_add_owned(struct outq *q, char *data, size_t len)
{
	struct outq_item *it;

	if (len < COALESCE_MAX) {
		int rc = outq_add_copy(q, data, len);
		free(data);
		return rc;
	}
	it = item_new(0);
	if (it == NULL) {
		free(data);
		return -1;
	}
	it->owned = data;
	it->len = len;
	push(q, it);
	return 0;
}

int outq_add_shared(struct outq *q, struct shared_line *l, int fd)
{
	struct outq_item *it;

	if (fd < 0 && l->len < COALESCE_MAX)
		return outq_add_copy(q, l->data, l->len);
	it = item_new(0);
	if (it == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	l->refs++;
	it->line = l;
	it->len = l->len;
	it->fd = fd;
	push(q, it);
	return 0;
}

/* The items from the head up to the next one carrying a descriptor. */
static int gather(struct outq *q, struct iovec *iov, size_t max, int *fd)
{
	struct outq_item *it;
	int n = 0;

	*fd = -1;
	TAILQ_FOREACH(it, &q->items, link) {
		if (n == WRITE_IOV || max == 0 || (it->fd >= 0 && n > 0))
			break;
		if (it->fd >= 0)
			*fd = it->fd;	/* only ever at the head, before its first byte */
		iov[n].iov_base = (char *)item_bytes(it) + it->off;
		iov[n].iov_len = it->len - it->off < max ? it->len - it->off : max;
		max -= iov[n].iov_len;
		n++;
	}
	return n;
}

static void consume(struct outq *q, size_t n)
{
	struct outq_item *it;

	q->bytes -= n;
	while (n > 0 && (it = TAILQ_FIRST(&q->items)) != NULL) {
		size_t left = it->len - it->off;
		if (it->fd >= 0) {
			/* Sent with the first byte of this write. */
			close(it->fd);
			it->fd = -1;
			q->fds--;
		}
		if (n < left) {
			it->off += n;
			return;
		}
		n -= left;
		TAILQ_REMOVE(&q->items, it, link);
		item_forget(q, it);
		item_free(it);
	}
}

ssize_t outq_write(struct outq *q, int sock, size_t max)
{
	size_t total = 0;

	while (q->bytes > 0 && total < max) {
		struct iovec iov[WRITE_IOV];
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} ctl;
		struct msghdr m = { .msg_iov = iov };
		ssize_t n;
		int fd;

		m.msg_iovlen = (size_t)gather(q, iov, max - total, &fd);
		if (fd >= 0 && TAILQ_FIRST(&q->items)->off == 0) {
			memset(&ctl, 0, sizeof ctl);
			m.msg_control = ctl.buf;
			m.msg_controllen = sizeof ctl.buf;
			ctl.h.cmsg_level = SOL_SOCKET;
			ctl.h.cmsg_type = SCM_RIGHTS;
			ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(&ctl.h), &fd, sizeof fd);
		}
		n = sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -1;
		}
		consume(q, (size_t)n);
		total += (size_t)n;
	}
	return (ssize_t)total;
}
