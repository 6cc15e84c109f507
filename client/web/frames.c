/*
 * The frames omvd sends us, JPEGs kept by reference (libomvclient's
 * omv_frame) so every viewer sends the same bytes without a copy. Listeners (streams, waiting
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
	omv_frame *f;

	fr->received++;
	if (fr->listeners == 0)	/* the last frames before the wish is withdrawn */
		return;
	/* omvd sends JPEG to a JPEG subscriber whatever the cam streams; a
	 * frame that does not decode comes without data. */
	if (strcmp(of->encoding, "jpeg") != 0 || !of->data || of->len == 0) {
		fr->not_jpeg++;
		return;
	}
	f = omv_frame_ref(of);
	fr->last_number = f->number;
	/* A listener may leave (and free itself) from its callback. */
	web_list_each(node, next, &fr->listening) {
		struct frame_listener *l = WEB_LIST_ITEM(node, struct frame_listener, link);

		l->on_frame(l, f);
	}
	omv_frame_free(f);
}

json_t *frames_stats(const struct frames *fr)
{
	return json_pack("{s:I,s:I,s:I,s:i}", "received", (json_int_t)fr->received,
			 "not_jpeg", (json_int_t)fr->not_jpeg, "last_number",
			 (json_int_t)fr->last_number, "listeners", fr->listeners);
}
