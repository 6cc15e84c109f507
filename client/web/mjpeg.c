/*
 * /stream.mjpg: multipart/x-mixed-replace, one JPEG per part, the form
 * browsers, ffmpeg/ffplay, VLC and OpenCV read. Every viewer is a frame
 * listener with its own backpressure: a frame is queued for it only while
 * at most two frames' worth of the previous ones wait unsent (two frames
 * may arrive in one read from omvd, before the first went out), so a slow
 * viewer loses frames (newest wins) and never holds up the others. The
 * JPEG bytes are shared by reference, never copied per viewer.
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
	struct viewer *prev, *next;
	uint64_t sent, dropped;
};

struct mjpeg {
	struct web *w;
	struct viewer *viewers;
	int count;
	uint64_t sent, dropped;	/* over all viewers, past and present */
};

static void release_frame(const void *data, size_t len, void *arg)
{
	web_frame_unref(arg);
}

static void on_frame(struct frame_listener *l, struct web_frame *f)
{
	struct viewer *v = (struct viewer *)l;
	struct evbuffer *part;

	if (http_queued(v->req) > 2 * f->len) {
		v->dropped++;
		v->m->dropped++;
		return;
	}
	part = evbuffer_new();
	if (!part)
		return;
	evbuffer_add_printf(part,
			    "--" BOUNDARY "\r\n"
			    "Content-Type: image/jpeg\r\n"
			    "Content-Length: %zu\r\n"
			    "X-Frame-Number: %llu\r\n"
			    "\r\n",
			    f->len, (unsigned long long)f->number);
	web_frame_ref(f);
	if (evbuffer_add_reference(part, f->jpeg, f->len, release_frame, f) < 0)
		web_frame_unref(f);
	evbuffer_add(part, "\r\n", 2);
	evhttp_send_reply_chunk(v->req, part);
	evbuffer_free(part);
	v->sent++;
	v->m->sent++;
}

static void forget(struct viewer *v)
{
	struct mjpeg *m = v->m;

	frames_unlisten(m->w->frames, &v->l);
	if (v->prev)
		v->prev->next = v->next;
	else
		m->viewers = v->next;
	if (v->next)
		v->next->prev = v->prev;
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
	v->next = m->viewers;
	if (v->next)
		v->next->prev = v;
	m->viewers = v;
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

	if (m)
		m->w = w;
	return m;
}

void mjpeg_free(struct mjpeg *m)
{
	if (!m)
		return;
	while (m->viewers) {
		struct evhttp_request *req = m->viewers->req;

		http_forget_close(m->w->http, req);
		forget(m->viewers);
		evhttp_send_reply_end(req);
	}
	free(m);
}
