/*
 * The connection to omvd: one libomvclient connection driven by our loop
 * (its fd watched level-triggered, omv_client_process() when readable).
 * It subscribes to link, stdout and state for the page, and to JPEG
 * frames while someone here wants them; when omvd goes away it reconnects
 * with backoff and subscribes again.
 */
#include "web.h"

#include <stdlib.h>
#include <string.h>

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000
/* A send to omvd blocks our loop at most this long (omvd reads at once;
 * this only bounds a wedged daemon). */
#define SEND_TIMEOUT_MS 2000

struct upstream {
	struct web *w;
	char *path;
	omv_client *c;
	struct event *ev_read;
	struct event *ev_retry;
	int retry_ms;
	bool want_frames;	/* someone here wants frames */
	bool frames_on;		/* what we asked of omvd */
	char last_error[256];
};

static void schedule_retry(struct upstream *up);

bool upstream_connected(const struct upstream *up)
{
	return up->c && omv_client_fd(up->c) >= 0;
}

int upstream_call(struct upstream *up, const char *method, json_t *params, omv_reply_cb cb,
		  void *arg)
{
	int rc = -1;

	if (upstream_connected(up))
		rc = omv_client_call_async(up->c, method, params, cb, arg) == OMV_OK ? 0 : -1;
	json_decref(params);
	return rc;
}

/* A call whose failure only matters as a log line. Without the cam it
 * is tried again when the link is up (see on_notify). */
static void logged_reply(omv_client *c, int status, json_t *result, void *arg)
{
	if (status < 0 && status != OMV_ECLOSED && status != OMV_ECANCELLED &&
	    status != OMV_RPC_NOT_CONNECTED)
		web_log("%s: %s", (const char *)arg, omv_client_error_message(c));
}

static void ask_streaming(struct upstream *up, bool on)
{
	upstream_call(up, "streaming", json_pack("{s:b}", "enable", on), logged_reply,
		      on ? "streaming on" : "streaming off");
}

static void apply_frames(struct upstream *up)
{
	if (!upstream_connected(up) || up->want_frames == up->frames_on)
		return;
	up->frames_on = up->want_frames;
	if (up->frames_on) {
		/* A frame subscription is a streaming wish in omvd; saying so
		 * with streaming{enable} as well keeps older daemons streaming. */
		upstream_call(up, "subscribe",
			      json_pack("{s:[s],s:s}", "topics", "frame", "frame_format", "jpeg"),
			      logged_reply, "subscribe frame");
		ask_streaming(up, true);
	} else {
		upstream_call(up, "unsubscribe", json_pack("{s:[s]}", "topics", "frame"),
			      logged_reply, "unsubscribe frame");
		ask_streaming(up, false);
	}
}

void upstream_want_frames(struct upstream *up, bool want)
{
	up->want_frames = want;
	apply_frames(up);
}

static void on_notify(omv_client *c, const char *method, json_t *params, void *arg)
{
	struct upstream *up = arg;
	const char *state = json_string_value(json_object_get(params, "state"));

	if (strcmp(method, "frame") == 0)
		return;
	/* Streaming can only be asked for while the cam is there: after omvd
	 * (re)started before the cam was ready, ask again once it is. */
	if (strcmp(method, "link") == 0 && up->frames_on && state && strcmp(state, "ready") == 0)
		ask_streaming(up, true);
	events_on_notify(up->w->events, method, params);
}

static void on_frame(omv_client *c, const omv_frame *f, void *arg)
{
	struct upstream *up = arg;

	frames_on_frame(up->w->frames, f);
}

static void drop_connection(struct upstream *up, const char *why)
{
	if (up->ev_read) {
		event_free(up->ev_read);
		up->ev_read = NULL;
	}
	/* Pending calls complete (with OMV_ECANCELLED) inside the free. */
	omv_client_free(up->c);
	up->c = NULL;
	up->frames_on = false;
	snprintf(up->last_error, sizeof up->last_error, "%s", why);
	events_on_daemon(up->w->events, false, why);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;

	if (omv_client_process(up->c) < 0) {
		char why[sizeof up->last_error];

		snprintf(why, sizeof why, "lost omvd: %s", omv_client_error_message(up->c));
		web_log("%s", why);
		drop_connection(up, why);
		schedule_retry(up);
	}
}

static bool try_connect(struct upstream *up)
{
	up->c = omv_client_new();
	if (!up->c)
		return false;
	if (omv_client_connect(up->c, up->path) != OMV_OK) {
		const char *msg = omv_client_error_message(up->c);

		if (strcmp(msg, up->last_error) != 0)	/* say it once, not every retry */
			web_log("%s", msg);
		snprintf(up->last_error, sizeof up->last_error, "%s", msg);
		omv_client_free(up->c);
		up->c = NULL;
		return false;
	}
	omv_client_set_timeout(up->c, SEND_TIMEOUT_MS);
	omv_client_on_notify(up->c, on_notify, up);
	omv_client_on_frame(up->c, on_frame, up);
	up->ev_read = event_new(up->w->base, omv_client_fd(up->c), EV_READ | EV_PERSIST,
				on_readable, up);
	if (!up->ev_read || event_add(up->ev_read, NULL) < 0) {
		drop_connection(up, "out of memory");
		return false;
	}
	web_log("connected to omvd at %s", up->path);
	up->last_error[0] = '\0';
	upstream_call(up, "subscribe",
		      json_pack("{s:[sss]}", "topics", "link", "stdout", "state"),
		      logged_reply, "subscribe");
	events_on_daemon(up->w->events, true, NULL);
	apply_frames(up);
	return true;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;

	if (try_connect(up)) {
		up->retry_ms = RETRY_MIN_MS;
		return;
	}
	schedule_retry(up);
}

static void schedule_retry(struct upstream *up)
{
	struct timeval tv = { up->retry_ms / 1000, (up->retry_ms % 1000) * 1000 };

	evtimer_add(up->ev_retry, &tv);
	up->retry_ms = up->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : up->retry_ms * 2;
}

struct upstream *upstream_new(struct web *w, const char *socket_path)
{
	struct upstream *up = calloc(1, sizeof *up);

	if (!up)
		return NULL;
	up->w = w;
	up->retry_ms = RETRY_MIN_MS;
	up->path = strdup(socket_path);
	up->ev_retry = evtimer_new(w->base, on_retry, up);
	if (!up->path || !up->ev_retry) {
		upstream_free(up);
		return NULL;
	}
	if (!try_connect(up))
		schedule_retry(up);
	return up;
}

void upstream_free(struct upstream *up)
{
	if (!up)
		return;
	if (up->ev_read)
		event_free(up->ev_read);
	omv_client_free(up->c);
	if (up->ev_retry)
		event_free(up->ev_retry);
	free(up->path);
	free(up);
}
