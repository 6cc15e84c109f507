/* A small blocking HTTP/1.1 client for the omv-web tests (http_util.h). */
#include "http_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct hc {
	int fd;
	unsigned char *buf;	/* received, not consumed: [start, len) */
	size_t start, len, cap;
	bool eof;
	char headers[16384];	/* of the last response */
	bool chunked;
	long long content_length;	/* -1: none */
	size_t chunk_left;	/* bytes left in the current chunk */
	bool body_done;		/* the last chunk was read */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct hc *hc_connect(int port, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct hc *c = calloc(1, sizeof *c);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

void hc_close(struct hc *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

int hc_fd(const struct hc *c)
{
	return c->fd;
}

void hc_send(struct hc *c, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the server hung up: the reply says why */
		p += n;
		len -= (size_t)n;
	}
}

void hc_sendf(struct hc *c, const char *fmt, ...)
{
	char *text;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n >= 0) {
		hc_send(c, text, (size_t)n);
		free(text);
	}
}

/* Read more into the buffer; false on EOF or when the deadline passes. */
static bool fill(struct hc *c, uint64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	uint64_t now = now_ms();
	ssize_t n;

	if (c->eof || now >= deadline)
		return false;
	if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
		return false;
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->len - c->start);
		c->len -= c->start;
		c->start = 0;
	}
	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 131072;
		c->buf = realloc(c->buf, c->cap + 1);
	}
	n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n <= 0) {
		c->eof = true;
		return false;
	}
	c->len += (size_t)n;
	return true;
}

/* A line of raw bytes (without CRLF) into out; false on timeout/EOF. */
static bool raw_line(struct hc *c, char *out, size_t size, uint64_t deadline)
{
	for (;;) {
		unsigned char *nl = memchr(c->buf + c->start, '\n', c->len - c->start);

		if (nl) {
			size_t n = (size_t)(nl - (c->buf + c->start));
			size_t keep = n && nl[-1] == '\r' ? n - 1 : n;

			if (keep >= size)
				keep = size - 1;
			memcpy(out, c->buf + c->start, keep);
			out[keep] = '\0';
			c->start += n + 1;
			return true;
		}
		if (!fill(c, deadline))
			return false;
	}
}

int hc_response(struct hc *c, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	char line[4096];
	const char *v;
	size_t used = 0;
	int status;

	if (!raw_line(c, line, sizeof line, deadline) || sscanf(line, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	c->headers[0] = '\0';
	for (;;) {
		if (!raw_line(c, line, sizeof line, deadline))
			return -1;
		if (!line[0])
			break;
		used += (size_t)snprintf(c->headers + used, sizeof c->headers - used, "%s\n", line);
		if (used >= sizeof c->headers)
			used = sizeof c->headers - 1;
	}
	v = hc_header(c, "Transfer-Encoding");
	c->chunked = v && strcasecmp(v, "chunked") == 0;
	v = hc_header(c, "Content-Length");
	c->content_length = v ? atoll(v) : -1;
	c->chunk_left = 0;
	c->body_done = false;
	return status;
}

/* The value of "name:" in a block of "Name: value\n" lines. */
static const char *find_header(const char *block, const char *name)
{
	static char value[1024];
	size_t n = strlen(name);

	for (const char *p = block; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			size_t len;

			v += strspn(v, " \t");
			len = strcspn(v, "\r\n");
			if (len >= sizeof value)
				len = sizeof value - 1;
			memcpy(value, v, len);
			value[len] = '\0';
			return value;
		}
	}
	return NULL;
}

const char *hc_header(const struct hc *c, const char *name)
{
	return find_header(c->headers, name);
}

/* Up to n body bytes (de-chunked) into out; how many, 0 at the end of the
 * body, -1 on timeout or bad framing. */
static ssize_t body_read(struct hc *c, void *out, size_t n, uint64_t deadline)
{
	size_t avail;

	if (c->chunked) {
		char line[64];

		if (c->body_done)
			return 0;
		if (c->chunk_left == 0) {
			if (!raw_line(c, line, sizeof line, deadline))
				return -1;
			if (!line[0] && !raw_line(c, line, sizeof line, deadline))
				return -1;	/* the CRLF after a chunk, then its size */
			c->chunk_left = strtoul(line, NULL, 16);
			if (c->chunk_left == 0) {
				c->body_done = true;
				return 0;
			}
		}
		if (n > c->chunk_left)
			n = c->chunk_left;
	} else if (c->content_length >= 0) {
		if (c->content_length == 0)
			return 0;
		if ((long long)n > c->content_length)
			n = (size_t)c->content_length;
	}
	while (c->start == c->len)
		if (!fill(c, deadline))
			return c->eof && !c->chunked && c->content_length < 0 ? 0 : -1;
	avail = c->len - c->start;
	if (n > avail)
		n = avail;
	memcpy(out, c->buf + c->start, n);
	c->start += n;
	if (c->chunked)
		c->chunk_left -= n;
	else if (c->content_length >= 0)
		c->content_length -= (long long)n;
	return (ssize_t)n;
}

static bool body_exact(struct hc *c, void *out, size_t n, uint64_t deadline)
{
	unsigned char *p = out;

	while (n > 0) {
		ssize_t got = body_read(c, p, n, deadline);

		if (got <= 0)
			return false;
		p += got;
		n -= (size_t)got;
	}
	return true;
}

unsigned char *hc_body(struct hc *c, size_t *len, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	size_t cap = 65536, used = 0;
	unsigned char *out = malloc(cap + 1);

	for (;;) {
		ssize_t n;

		if (cap - used < 16384)
			out = realloc(out, (cap *= 2) + 1);
		n = body_read(c, out + used, cap - used, deadline);
		if (n < 0) {
			free(out);
			return NULL;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	out[used] = '\0';
	*len = used;
	return out;
}

/* A line of the body (de-chunked), without CRLF. */
static bool body_line(struct hc *c, char *out, size_t size, uint64_t deadline);

bool hc_line(struct hc *c, char *out, size_t size, unsigned timeout_ms)
{
	return body_line(c, out, size, now_ms() + timeout_ms);
}

static bool body_line(struct hc *c, char *out, size_t size, uint64_t deadline)
{
	size_t n = 0;

	for (;;) {
		char ch;

		if (!body_exact(c, &ch, 1, deadline))
			return false;
		if (ch == '\n')
			break;
		if (n + 1 < size)
			out[n++] = ch;
	}
	if (n && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return true;
}

bool hc_part(struct hc *c, const char *boundary, struct hc_part *p, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	char line[1024], want[128];
	const char *len;
	size_t used = 0;

	snprintf(want, sizeof want, "--%s", boundary);
	/* Blank lines (the CRLF that ends the previous part) come first. */
	do {
		if (!body_line(c, line, sizeof line, deadline))
			return false;
	} while (!line[0]);
	if (strcmp(line, want) != 0)
		return false;
	p->headers[0] = '\0';
	for (;;) {
		if (!body_line(c, line, sizeof line, deadline))
			return false;
		if (!line[0])
			break;
		used += (size_t)snprintf(p->headers + used, sizeof p->headers - used, "%s\n", line);
		if (used >= sizeof p->headers)
			return false;
	}
	len = hc_part_header(p, "Content-Length");
	if (!len)
		return false;
	p->len = strtoul(len, NULL, 10);
	p->data = malloc(p->len + 1);
	if (!body_exact(c, p->data, p->len, deadline)) {
		free(p->data);
		p->data = NULL;
		return false;
	}
	return true;
}

const char *hc_part_header(const struct hc_part *p, const char *name)
{
	return find_header(p->headers, name);
}

bool hc_wait_eof(struct hc *c, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;

	while (!c->eof) {
		c->start = c->len = 0;	/* whatever comes, only the end matters */
		if (!fill(c, deadline) && !c->eof)
			return false;
	}
	return true;
}

int http_do(int port, const char *method, const char *path, const char *headers,
	    const char *body, size_t body_len, unsigned char **resp, size_t *resp_len,
	    char **resp_headers)
{
	struct hc *c = hc_connect(port, 0);
	unsigned char *b;
	size_t n;
	int status;

	if (!c)
		return -1;
	if (!headers || !strstr(headers, "Host:"))
		hc_sendf(c, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", method, path, port);
	else
		hc_sendf(c, "%s %s HTTP/1.1\r\n", method, path);
	hc_sendf(c, "%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 headers ? headers : "", body ? body_len : 0);
	if (body)
		hc_send(c, body, body_len);
	status = hc_response(c, 15000);
	if (resp_headers)
		*resp_headers = status > 0 ? strdup(c->headers) : NULL;
	b = status > 0 ? hc_body(c, &n, 15000) : NULL;
	if (resp) {
		*resp = b;
		if (resp_len)
			*resp_len = b ? n : 0;
	} else {
		free(b);
	}
	hc_close(c);
	return status;
}
