/*
 * /snapshot.jpg and /snapshot.png: the next frame that arrives (so a shot
 * is never older than the request), as the cam's JPEG or re-encoded as
 * PNG. A waiting shot is a frame listener, so the cam streams while it
 * waits; it gives up after WEB_CALL_TIMEOUT_MS.
 */
#include "web.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "image_encode.h"

#define MAX_WAITING 64

struct shot {
	struct frame_listener l;	/* first: the listener is the shot */
	struct snapshots *s;
	struct evhttp_request *req;
	struct event *timer;
	bool png;
	struct web_list link;		/* in snapshots.waiting */
};

struct snapshots {
	struct web *w;
	struct web_list waiting;
	int count;
};

static void forget(struct shot *shot)
{
	struct snapshots *s = shot->s;

	http_forget_close(s->w->http, shot->req);
	frames_unlisten(s->w->frames, &shot->l);
	web_list_del(&shot->link);
	s->count--;
	if (shot->timer)
		event_free(shot->timer);
	free(shot);
}

static void release_frame(const void *data, size_t len, void *arg)
{
	omv_frame_free(arg);
}

static void reply_png(struct evhttp_request *req, const omv_frame *f)
{
	unsigned char *rgb, *png;
	size_t len;
	int w, h;

	if (image_jpeg_decode(f->data, f->len, &rgb, &w, &h) < 0) {
		http_reply_error(req, 502, "frame %llu does not decode",
				 (unsigned long long)f->number);
		return;
	}
	if (image_png_encode(rgb, w, h, &png, &len) < 0) {
		free(rgb);
		http_reply_error(req, 503, "cannot encode PNG");
		return;
	}
	free(rgb);
	http_reply_bytes(req, "image/png", png, len);
	free(png);
}

static void reply_jpeg(struct evhttp_request *req, const omv_frame *f)
{
	struct evbuffer *buf = evbuffer_new();
	omv_frame *ref;

	if (!buf) {
		http_reply_error(req, 503, "out of memory");
		return;
	}
	/* The cam's bytes, untouched and uncopied. */
	http_common_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "image/jpeg");
	ref = omv_frame_ref(f);
	if (evbuffer_add_reference(buf, ref->data, ref->len, release_frame, ref) < 0)
		omv_frame_free(ref);
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

static void on_frame(struct frame_listener *l, const omv_frame *f)
{
	struct shot *shot = (struct shot *)l;
	struct evhttp_request *req = shot->req;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	bool png = shot->png;
	char value[80];

	forget(shot);
	snprintf(value, sizeof value, "%llu", (unsigned long long)f->number);
	evhttp_add_header(out, "X-Frame-Number", value);
	snprintf(value, sizeof value, "inline; filename=\"frame-%llu.%s\"",
		 (unsigned long long)f->number, png ? "png" : "jpg");
	evhttp_add_header(out, "Content-Disposition", value);
	if (png)
		reply_png(req, f);
	else
		reply_jpeg(req, f);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct shot *shot = arg;
	struct evhttp_request *req = shot->req;

	forget(shot);
	http_reply_error(req, 504, "no frame within %d s (is the cam connected?)",
			 WEB_CALL_TIMEOUT_MS / 1000);
}

/* The client left before the frame came: nothing to answer. */
static void shot_closed(void *arg)
{
	forget(arg);
}

void snapshot_request(struct snapshots *s, struct evhttp_request *req, bool png)
{
	struct timeval tv = { WEB_CALL_TIMEOUT_MS / 1000, (WEB_CALL_TIMEOUT_MS % 1000) * 1000 };
	struct shot *shot;

	if (s->count >= MAX_WAITING) {
		http_reply_error(req, 503, "too many snapshots waiting");
		return;
	}
	shot = calloc(1, sizeof *shot);
	if (!shot || !(shot->timer = evtimer_new(s->w->base, on_timeout, shot))) {
		free(shot);
		http_reply_error(req, 503, "out of memory");
		return;
	}
	shot->s = s;
	shot->req = req;
	shot->png = png;
	shot->l.on_frame = on_frame;
	web_list_add(&s->waiting, &shot->link);
	s->count++;
	evtimer_add(shot->timer, &tv);
	http_on_close(s->w->http, req, shot_closed, shot);
	frames_listen(s->w->frames, &shot->l);
}

struct snapshots *snapshots_new(struct web *w)
{
	struct snapshots *s = calloc(1, sizeof *s);

	if (s) {
		s->w = w;
		web_list_init(&s->waiting);
	}
	return s;
}

void snapshots_free(struct snapshots *s)
{
	if (!s)
		return;
	while (!web_list_empty(&s->waiting)) {
		struct shot *shot = WEB_LIST_ITEM(s->waiting.next, struct shot, link);
		struct evhttp_request *req = shot->req;

		forget(shot);
		http_reply_error(req, 503, "omv-web is stopping");
	}
	free(s);
}
