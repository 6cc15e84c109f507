/*
 * The client fleet of bench_rpc.h: Unix-socket connections to omvd, line
 * framing, frame counting, and calls matched by id.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "bench_rpc.h"

#define BUF_INITIAL 65536u
#define READ_CHUNK 262144u
/* Keys of a notification are near its start; look there first. */
#define HEAD_WINDOW 512u

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void client_reset(struct fclient *c, int fd)
{
	free(c->buf);
	json_decref(c->reply);
	memset(c, 0, sizeof *c);
	c->fd = fd;
}

int fleet_open(struct fleet *f, const char *sock, unsigned n)
{
	f->n = n;
	f->c = calloc(n, sizeof *f->c);
	f->pfd = calloc(n, sizeof *f->pfd);
	if (!f->c || !f->pfd) {
		free(f->c);
		free(f->pfd);
		f->n = 0;
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		client_reset(&f->c[i], -1);
	for (unsigned i = 0; i < n; i++) {
		f->c[i].fd = unix_connect(sock);
		if (f->c[i].fd < 0) {
			fleet_close(f);
			return -1;
		}
	}
	return 0;
}

void fleet_drop(struct fleet *f, unsigned i)
{
	if (f->c[i].fd >= 0)
		close(f->c[i].fd);
	client_reset(&f->c[i], -1);
}

void fleet_close(struct fleet *f)
{
	for (unsigned i = 0; i < f->n; i++) {
		fleet_drop(f, i);
		free(f->c[i].buf);
	}
	free(f->c);
	free(f->pfd);
	memset(f, 0, sizeof *f);
}

int fleet_reconnect(struct fleet *f, unsigned i, const char *sock)
{
	fleet_drop(f, i);
	f->c[i].fd = unix_connect(sock);
	return f->c[i].fd < 0 ? -1 : 0;
}

/* Where the value of "key" starts, or NULL; looked for in the first
 * HEAD_WINDOW bytes only unless whole. */
static const char *value_of(const char *p, size_t n, const char *key, bool whole)
{
	size_t head = n < HEAD_WINDOW ? n : HEAD_WINDOW;
	const char *v = memmem(p, head, key, strlen(key)), *end = p + n;

	if (!v && whole)
		v = memmem(p, n, key, strlen(key));

	if (!v)
		return NULL;
	v += strlen(key);
	while (v < end && (*v == ':' || *v == ' '))
		v++;
	return v < end ? v : NULL;
}

static void count_frame(struct fclient *c, const char *p, size_t n)
{
	const char *end = p + n, *v, *q;

	c->total_frames++;
	if (c->on_frame)
		c->on_frame(c->frame_arg, p, n);
	if (!c->counting)
		return;
	c->frames++;
	v = value_of(p, n, "\"data\"", true);
	if (v && *v == '"' && (q = memchr(v + 1, '"', (size_t)(end - v - 1)))) {
		size_t b64 = (size_t)(q - v - 1), pad = 0;
		if (b64 >= 2)
			pad = (q[-1] == '=') + (q[-2] == '=');
		c->data_bytes += (double)(b64 / 4 * 3 - pad);
	}
}

static void handle_line(struct fclient *c, const char *p, size_t n)
{
	/* omvd writes "jsonrpc", then "method" or "id": a "method" after an
	 * "id", or deep inside a long line, belongs to a reply's result */
	const char *m = value_of(p, n, "\"method\"", false);
	const char *has_id = value_of(p, n, "\"id\"", false);
	json_t *msg, *id, *res;

	if (m && (!has_id || has_id > m)) {
		if (p + n - m >= 7 && !memcmp(m, "\"frame\"", 7))
			count_frame(c, p, n);
		return;
	}
	if (c->want_frame && has_id && strtoul(has_id, NULL, 10) == c->want_id) {
		const char *r = value_of(p, n, "\"result\"", false);

		c->frame_result = r == NULL ? -1 : p + n - r >= 4 && !memcmp(r, "null", 4) ? 0 : 1;
		c->want_frame = false;
		c->want_id = 0;
		return;
	}
	msg = json_loadb(p, n, 0, NULL);
	id = json_object_get(msg, "id");
	if (!msg || !json_is_integer(id) || json_integer_value(id) != c->want_id) {
		json_decref(msg);
		return;
	}
	res = json_object_get(msg, "result");
	json_decref(c->reply);
	c->reply = res ? json_incref(res) : NULL;
	if (!res) {
		char *err = json_dumps(json_object_get(msg, "error"), JSON_COMPACT);
		fprintf(stderr, "omvd-bench: call failed: %s\n", err ? err : "?");
		free(err);
	}
	c->want_id = 0;
	json_decref(msg);
}

static void take_lines(struct fclient *c)
{
	char *nl;

	while ((nl = memchr(c->buf + c->scan, '\n', c->len - c->scan))) {
		handle_line(c, c->buf + c->start, (size_t)(nl - (c->buf + c->start)));
		c->start = c->scan = (size_t)(nl - c->buf) + 1;
	}
	c->scan = c->len;
	if (c->start == c->len) {
		c->start = c->len = c->scan = 0;
	} else if (c->start > c->cap / 2) {
		memmove(c->buf, c->buf + c->start, c->len - c->start);
		c->len -= c->start;
		c->scan -= c->start;
		c->start = 0;
	}
}

/* One recvmsg into the buffer; descriptors passed with frames in shared
 * memory are counted and closed (the bench does not map them). */
static ssize_t recv_some(struct fclient *c)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} ctl;
	struct iovec iov = { c->buf + c->len, c->cap - c->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);

	for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
			close(fd);
		}
		if (c->counting)
			c->fds_in += (double)k;
	}
	return n;
}

/* Read what is there; -1 on EOF or error. */
static int read_client(struct fclient *c)
{
	for (;;) {
		ssize_t n;

		if (c->cap - c->len < READ_CHUNK / 4) {
			size_t cap = c->cap ? c->cap * 2 : BUF_INITIAL;
			char *b;
			while (cap - c->len < READ_CHUNK / 4)
				cap *= 2;
			b = realloc(c->buf, cap);
			if (!b)
				return -1;
			c->buf = b;
			c->cap = cap;
		}
		n = recv_some(c);
		if (n > 0) {
			c->len += (size_t)n;
			if (c->counting)
				c->bytes_in += (double)n;
			take_lines(c);
			if ((size_t)n < READ_CHUNK / 4)
				return 0;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
}

int fleet_pump(struct fleet *f, double timeout_s, bool once)
{
	double deadline = now_s() + timeout_s;
	int rc = 0;

	do {
		double left = deadline - now_s();
		unsigned k = 0;
		int ready;

		for (unsigned i = 0; i < f->n; i++)
			f->pfd[k++] = (struct pollfd){ f->c[i].fd, POLLIN, 0 };
		ready = poll(f->pfd, k, left > 0 ? (int)(left * 1000.0) + 1 : 0);
		if (ready <= 0)
			continue;
		for (unsigned i = 0; i < f->n; i++) {
			struct fclient *c = &f->c[i];
			if (c->fd < 0 || !(f->pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (read_client(c) < 0) {
				close(c->fd);
				c->fd = -1;
				c->broken = true;
				rc = -1;
			}
		}
		if (once)
			break;
	} while (now_s() < deadline);
	return rc;
}

static int send_all(struct fclient *c, const char *s, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, s + off, n - off);
		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { c->fd, POLLOUT, 0 };
			if (poll(&pf, 1, 2000) <= 0)
				return -1;
		} else if (!(w < 0 && errno == EINTR)) {
			return -1;
		}
	}
	return 0;
}

json_t *fleet_call(struct fleet *f, unsigned i, const char *method, json_t *params,
		   double timeout_s)
{
	struct fclient *c = &f->c[i];
	double deadline = now_s() + timeout_s;
	json_t *req;
	char *text;
	int rc;

	if (c->fd < 0) {
		json_decref(params);
		return NULL;
	}
	c->want_id = ++c->next_id;
	json_decref(c->reply);
	c->reply = NULL;
	req = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", (json_int_t)c->want_id,
			"method", method);
	if (params)
		json_object_set_new(req, "params", params);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return NULL;
	rc = send_all(c, text, strlen(text));
	free(text);
	if (rc < 0 || send_all(c, "\n", 1) < 0)
		return NULL;
	while (c->want_id && c->fd >= 0 && now_s() < deadline)
		fleet_pump(f, deadline - now_s(), true);
	if (c->want_id) {
		fprintf(stderr, "omvd-bench: no answer to %s\n", method);
		c->want_id = 0;
		return NULL;
	}
	return json_incref(c->reply);
}

void fleet_count(struct fleet *f, bool on)
{
	for (unsigned i = 0; i < f->n; i++) {
		struct fclient *c = &f->c[i];
		c->counting = on;
		if (on)
			c->frames = c->data_bytes = c->bytes_in = c->fds_in = 0;
	}
}

int fleet_call_frame(struct fleet *f, unsigned i, const char *params, double timeout_s)
{
	struct fclient *c = &f->c[i];
	double deadline = now_s() + timeout_s;
	char line[512];
	int n;

	if (c->fd < 0)
		return -1;
	c->want_id = ++c->next_id;
	c->want_frame = true;
	n = snprintf(line, sizeof line,
		     "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"read_frame\",\"params\":%s}\n",
		     c->want_id, params);
	if (n < 0 || (size_t)n >= sizeof line || send_all(c, line, (size_t)n) < 0)
		return -1;
	while (c->want_id && c->fd >= 0 && now_s() < deadline)
		fleet_pump(f, deadline - now_s(), true);
	if (c->want_id) {
		c->want_id = 0;
		c->want_frame = false;
		return -1;
	}
	return c->frame_result;
}

int fleet_wait_frames(struct fleet *f, unsigned from, double n, double timeout_s)
{
	double deadline = now_s() + timeout_s;

	for (;;) {
		unsigned i;
		for (i = from; i < f->n && f->c[i].total_frames >= n; i++)
			;
		if (i == f->n)
			return 0;
		if (now_s() >= deadline)
			return -1;
		fleet_pump(f, deadline - now_s(), true);
	}
}
