/*
 * /stream.mjpg: multipart/x-mixed-replace, one JPEG per part, the form
 * browsers, ffmpeg/ffplay, VLC and OpenCV read. Every viewer is a frame
 * listener with its own backpressure: a frame is queued for it only while
 * at most two frames' worth of the previous ones wait unsent (two frames
 * may arrive in one read from omvd, before the first went out). Past
 * that, the newest frame waits aside and goes out as soon as the queue has
 * drained, replaced by any newer one meanwhile: a slow viewer loses frames
 * (newest wins) and never holds up the others. The JPEG bytes are shared
 * by reference, never copied per viewer.
 */
#include "web.h"

#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#define BOUNDARY "omvframe"
/* What the kernel may hold for one viewer: beyond the frame we queue, a
 * slow viewer's picture lags by at most this much, not by the several
 * megabytes TCP would otherwise buffer. */
#define VIEWER_SNDBUF (256 * 1024)

struct viewer {
	struct frame_listener l;	/* first: the listener is the viewer */
	struct mjpeg *m;
	struct evhttp_request *req;
	struct web_list link;		/* in mjpeg.viewers */
	omv_frame *waiting;	/* the newest frame not yet queued */
	uint64_t sent, dropped;
};

struct mjpeg {
	struct web *w;
	struct web_list viewers;
	int count;
	uint64_t sent, dropped;	/* over all viewers, past and present */
};

static void release_frame(const void *data, size_t len, void *arg)
{
	omv_frame_free(arg);
}

static void on_sent(struct evhttp_connection *evcon, void *arg);

static bool room_for(struct viewer *v, const omv_frame *f)
{
	return http_queued(v->req) <= 2 * f->len;
}

static void send_part(struct viewer *v, const omv_frame *f)
{
	struct evbuffer *part = evbuffer_new();
	omv_frame *ref;

	if (!part)
		return;
	evbuffer_add_printf(part,
			    "--" BOUNDARY "\r\n"
			    "Content-Type: image/jpeg\r\n"
			    "Content-Length: %zu\r\n"
			    "X-Frame-Number: %llu\r\n"
			    "\r\n",
			    f->len, (unsigned long long)f->number);
	ref = omv_frame_ref(f);
	if (evbuffer_add_reference(part, ref->data, ref->len, release_frame, ref) < 0)
		omv_frame_free(ref);
	evbuffer_add(part, "\r\n", 2);
	/* on_sent runs once all that is queued has gone to the kernel. */
	evhttp_send_reply_chunk_with_cb(v->req, part, on_sent, v);
	evbuffer_free(part);
	v->sent++;
	v->m->sent++;
}

static void on_sent(struct evhttp_connection *evcon, void *arg)
{
	struct viewer *v = arg;
	omv_frame *f = v->waiting;

	if (f && room_for(v, f)) {
		v->waiting = NULL;
		send_part(v, f);
		omv_frame_free(f);
	}
}

static void on_frame(struct frame_listener *l, const omv_frame *f)
{
	struct viewer *v = (struct viewer *)l;

	if (!v->waiting && room_for(v, f)) {
		send_part(v, f);
		return;
	}
	if (v->waiting) {	/* overtaken before it could go out */
		omv_frame_free(v->waiting);
		v->dropped++;
		v->m->dropped++;
	}
	v->waiting = omv_frame_ref(f);
}

static void forget(struct viewer *v)
{
	struct mjpeg *m = v->m;

	frames_unlisten(m->w->frames, &v->l);
	omv_frame_free(v->waiting);
	web_list_del(&v->link);
	m->count--;
	free(v);
}

/* The viewer's connection closed; evhttp frees the request after this. */
static void viewer_closed(void *arg)
{
	forget(arg);
}

void mjpeg_request(struct mjpeg *m, struct evhttp_request *req)
{
	struct viewer *v;

	if (m->count >= m->w->opt.max_viewers) {
		http_reply_error(req, 503, "already %d viewers (--max-viewers)", m->count);
		return;
	}
	v = calloc(1, sizeof *v);
	if (!v) {
		http_reply_error(req, 503, "out of memory");
		return;
	}
	v->m = m;
	v->req = req;
	v->l.on_frame = on_frame;
	web_list_add(&m->viewers, &v->link);
	m->count++;
	http_stream_start(m->w->http, req, "multipart/x-mixed-replace;boundary=" BOUNDARY,
			  VIEWER_SNDBUF);
	http_on_close(m->w->http, req, viewer_closed, v);
	frames_listen(m->w->frames, &v->l);
}

json_t *mjpeg_stats(const struct mjpeg *m)
{
	return json_pack("{s:i,s:I,s:I}", "viewers", m->count, "sent", (json_int_t)m->sent,
			 "dropped", (json_int_t)m->dropped);
}

struct mjpeg *mjpeg_new(struct web *w)
{
	struct mjpeg *m = calloc(1, sizeof *m);

	if (m) {
		m->w = w;
		web_list_init(&m->viewers);
	}
	return m;
}

void mjpeg_free(struct mjpeg *m)
{
	if (!m)
		return;
	while (!web_list_empty(&m->viewers)) {
		struct viewer *v = WEB_LIST_ITEM(m->viewers.next, struct viewer, link);
		struct evhttp_request *req = v->req;

		http_forget_close(m->w->http, req);
		forget(v);
		evhttp_send_reply_end(req);
	}
	free(m);
}
