/*
 * What the omv-web tests share: a case's camsim, omvd and omv-web (on a
 * free port, with a known token), requests to it, its MJPEG and event
 * streams as a viewer reads them, and running the case a test names.
 * Every case starts its own programs; they are stopped at exit.
 */
#ifndef OMV_WEB_CASE_H
#define OMV_WEB_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "harness.h"
#include "http_util.h"

#define TOKEN "test-token-0123456789abcdef"
#define AUTH "X-OMV-Token: " TOKEN "\r\n"
#define SKIP 77

/* omv-web's port, omv-web and omvd of the running case. */
extern int port;
extern struct h_proc web, omvd;

/* j["a"]["b"]... (NULL-terminated keys), or NULL. */
json_t *jpath_(json_t *j, ...);
#define JP(j, ...) jpath_(j, __VA_ARGS__, (const char *)NULL)

/* omv-web with a known token (unless the extra args say otherwise);
 * returns once it printed the address it serves. */
void start_web(const char *const *extra);
/* camsim (frames of frame_size, 60 fps), omvd and omv-web. */
void start_all_size(const char *const *web_extra, const char *frame_size);
/* The same, at 320x240. */
void start_all(const char *const *web_extra);
/* SIGTERM to omv-web, which must exit cleanly. */
void stop_web(void);

/* One request on a new connection (see http_do); its status. */
int get(const char *path, const char *headers, unsigned char **body, char **hdrs);
int post(const char *path, const char *headers, const char *body, unsigned char **resp);
/* The JSON body of a GET that must answer want_status with JSON. */
json_t *get_json(const char *path, const char *headers, int want_status);
bool has_header(const char *hdrs, const char *line);
/* /api/status with the token. */
json_t *status_json(void);

/* /stream.mjpg, its headers read and checked. */
struct hc *open_stream(int rcvbuf);
/* A frame as a viewer sees it: omvd's number (X-Frame-Number) and the
 * number camsim drew in the picture (its barcode). camsim counts the
 * frames it made, omvd those it read: both must only grow. */
struct seen {
	uint32_t number, barcode;
};
/* The next part: a valid JPEG of w x h. */
struct seen next_frame(struct hc *c, int want_w, int want_h);
/* b came after a. */
void check_after(struct seen a, struct seen b);

/* /events, its headers read and checked. */
struct hc *open_events(void);
/* The data of the next event of that name whose data contains needle. */
json_t *next_event(struct hc *c, const char *name, const char *needle, unsigned ms);

/* The exit status of a program that stops on its own within ms. */
int exit_status(struct h_proc *p, unsigned ms);

/* Ends the case as skipped (exit status SKIP), saying why. */
void web_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

struct web_case {
	const char *name;
	void (*run)(void);
};
/* main() of a test program: runs the case argv[1] names, then stops
 * omv-web if it still runs. */
int web_case_main(int argc, char **argv, const struct web_case *cases, size_t n);

#endif
