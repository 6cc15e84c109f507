/*
 * A small blocking HTTP/1.1 client for the omv-web tests: raw requests on
 * a TCP socket, responses read with deadlines, bodies de-chunked, and the
 * parts of a multipart (MJPEG) stream. Independent of the server's code.
 */
#ifndef OMV_WEB_HTTP_UTIL_H
#define OMV_WEB_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hc;

/* Connect to 127.0.0.1:port; rcvbuf > 0 sets SO_RCVBUF first. NULL on
 * failure. */
struct hc *hc_connect(int port, int rcvbuf);
void hc_close(struct hc *c);
int hc_fd(const struct hc *c);
/* Send bytes as they are (no framing added). */
void hc_send(struct hc *c, const void *data, size_t len);
void hc_sendf(struct hc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read a response's status line and headers; its status, or -1 on
 * timeout/EOF. */
int hc_response(struct hc *c, unsigned timeout_ms);
/* A header of that response (case-insensitive name), or NULL. */
const char *hc_header(const struct hc *c, const char *name);
/* The whole body (Content-Length, chunked, or to EOF); NULL on timeout.
 * NUL-terminated after *len. */
unsigned char *hc_body(struct hc *c, size_t *len, unsigned timeout_ms);

/* A line of the body (de-chunked), without CRLF; false on timeout/EOF. */
bool hc_line(struct hc *c, char *out, size_t size, unsigned timeout_ms);

/* One part of a multipart body (de-chunked): its headers and bytes. */
struct hc_part {
	char headers[1024];
	unsigned char *data;	/* malloc'd */
	size_t len;
};
/* The next part after "--boundary"; false on timeout, EOF or bad framing. */
bool hc_part(struct hc *c, const char *boundary, struct hc_part *p, unsigned timeout_ms);
/* A header of a part (case-insensitive), in a static buffer, or NULL. */
const char *hc_part_header(const struct hc_part *p, const char *name);

/* True when the server closes the connection within timeout_ms. */
bool hc_wait_eof(struct hc *c, unsigned timeout_ms);

/* One request on a new connection: method, path, extra header lines
 * ("Name: value\r\n"... or NULL), body (or NULL). Returns the status;
 * *body and *headers (copy of the header block) when not NULL. */
int http_do(int port, const char *method, const char *path, const char *headers,
	    const char *body, size_t body_len, unsigned char **resp, size_t *resp_len,
	    char **resp_headers);

#endif
