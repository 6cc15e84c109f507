/*
 * The frames omvd sends us, kept as reference-counted JPEGs so every
 * viewer sends the same bytes without a copy. Listeners (streams, waiting
 * snapshots) make omv-web want frames from omvd; when the last one goes,
 * the wish is withdrawn after a short linger, so a page reload or a burst
 * of snapshots does not switch the cam's stream off and on.
 */
#include "web.h"

#include <stdlib.h>
#include <string.h>

#define LINGER_MS 2000

struct frames {
	struct web *w;
	struct web_list listening;
	int listeners;
	struct event *linger;
	uint64_t received, not_jpeg, last_number;
};

void web_frame_ref(struct web_frame *f)
{
	f->refs++;
}

void web_frame_unref(struct web_frame *f)
{
	if (f && --f->refs == 0) {
		free(f->jpeg);
		free(f);
	}
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
	struct frames *fr = arg;

	if (fr->listeners == 0)
		upstream_want_frames(fr->w->up, false);
}

struct frames *frames_new(struct web *w)
{
	struct frames *fr = calloc(1, sizeof *fr);

	if (!fr)
		return NULL;
	fr->w = w;
	web_list_init(&fr->listening);
	fr->linger = evtimer_new(w->base, on_linger, fr);
	if (!fr->linger) {
		free(fr);
		return NULL;
	}
	return fr;
}

void frames_free(struct frames *fr)
{
	if (!fr)
		return;
	event_free(fr->linger);
	free(fr);
}

void frames_listen(struct frames *fr, struct frame_listener *l)
{
	web_list_add(&fr->listening, &l->link);
	if (fr->listeners++ == 0) {
		evtimer_del(fr->linger);
		upstream_want_frames(fr->w->up, true);
	}
}

void frames_unlisten(struct frames *fr, struct frame_listener *l)
{
	struct timeval tv = { LINGER_MS / 1000, (LINGER_MS % 1000) * 1000 };

	if (!l->link.next)
		return;
	web_list_del(&l->link);
	if (--fr->listeners == 0)
		evtimer_add(fr->linger, &tv);
}

void frames_on_frame(struct frames *fr, const omv_frame *of)
{
	struct web_list *node, *next;
	struct web_frame *f;

	fr->received++;
	if (fr->listeners == 0)	/* the last frames before the wish is withdrawn */
		return;
	/* Until omvd encodes raw frames for JPEG subscribers, a cam streaming
	 * raw sends them as they are: nothing we can serve as JPEG. */
	if (strcmp(of->encoding, "jpeg") != 0 || !of->data || of->len == 0) {
		fr->not_jpeg++;
		return;
	}
	f = calloc(1, sizeof *f);
	if (!f || !(f->jpeg = malloc(of->len))) {
		free(f);
		return;
	}
	memcpy(f->jpeg, of->data, of->len);
	f->len = of->len;
	f->number = of->number;
	f->width = of->width;
	f->height = of->height;
	f->refs = 1;
	fr->last_number = f->number;
	/* A listener may leave (and free itself) from its callback. */
	web_list_each(node, next, &fr->listening) {
		struct frame_listener *l = WEB_LIST_ITEM(node, struct frame_listener, link);

		l->on_frame(l, f);
	}
	web_frame_unref(f);
}

json_t *frames_stats(const struct frames *fr)
{
	return json_pack("{s:I,s:I,s:I,s:i}", "received", (json_int_t)fr->received,
			 "not_jpeg", (json_int_t)fr->not_jpeg, "last_number",
			 (json_int_t)fr->last_number, "listeners", fr->listeners);
}
