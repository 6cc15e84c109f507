/*
 * Subscriptions: stdout, state, event, frame (per encoding, shared by all
 * subscribers, dropped for a slow reader but never for the others) and
 * link notifications across an unplug and a camsim restart.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam_util.h"

static json_t *subscribe(struct h_conn *c, json_t *params)
{
	json_t *r = h_result(c, "subscribe", params);

	CHECK(json_is_array(r));
	return r;
}

static json_t *params_of(json_t *note)
{
	json_t *p = json_object_get(note, "params");

	CHECK(json_is_object(p));
	CHECK(json_object_get(note, "id") == NULL);	/* a notification */
	return p;
}

static void test_stdout(void)
{
	struct h_conn *a = cu_connect(), *b = cu_connect();
	char text[4096] = "";
	uint64_t deadline = h_now_ms() + 5000;
	json_t *r;

	json_decref(subscribe(a, json_pack("{s:[s]}", "topics", "stdout")));
	r = h_result(b, "exec", json_pack("{s:s}", "script", "print(\"to subscribers\")\n"));
	json_decref(r);
	while (strstr(text, "to subscribers") == NULL) {
		uint64_t now = h_now_ms();
		CHECKF(now < deadline, "no stdout notification (got '%s')", text);
		json_t *n = h_next_notification(a, "stdout", (unsigned)(deadline - now));
		if (n == NULL)
			continue;
		strncat(text, cu_str(params_of(n), "text"), sizeof text - strlen(text) - 1);
		json_decref(n);
	}
	/* Subscribing does not consume the polling cursor: read_stdout has it too. */
	CHECK(cu_wait_stdout(a, "to subscribers", 5000));
	/* A client that connects later starts with the latest run's output. */
	{
		struct h_conn *late = cu_connect();
		r = h_result(late, "read_stdout", NULL);
		CHECK(json_is_string(r) && strstr(json_string_value(r), "to subscribers") != NULL);
		json_decref(r);
		h_close(late);
	}
	r = h_result(a, "unsubscribe", json_pack("{s:[s]}", "topics", "stdout"));
	CHECK(json_array_size(r) == 0);
	json_decref(r);
	h_close(a);
	h_close(b);
}

static void test_state_and_event(void)
{
	struct h_conn *a = cu_connect(), *b = cu_connect();
	json_t *n, *r;

	json_decref(subscribe(a, json_pack("{s:[s,s]}", "topics", "state", "event")));
	r = h_result(b, "streaming", json_pack("{s:b}", "enable", 1));
	json_decref(r);
	/* The end of test_stdout's script may be announced first (once its
	 * last output is drained). */
	for (;;) {
		n = h_next_notification(a, "state", 5000);
		CHECK(n != NULL);
		bool on = json_is_true(json_object_get(params_of(n), "streaming"));
		json_decref(n);
		if (on)
			break;
	}

	/* B leaves: its streaming wish goes with it. */
	h_close(b);
	for (;;) {
		n = h_next_notification(a, "state", 5000);
		CHECK(n != NULL);
		bool off = json_is_false(json_object_get(params_of(n), "streaming"));
		json_decref(n);
		if (off)
			break;
	}

	json_decref(cu_control("event 2 77"));
	for (;;) {
		n = h_next_notification(a, "event", 5000);
		CHECK(n != NULL);
		json_t *p = params_of(n);
		bool match = cu_int(p, "channel") == 2 && cu_int(p, "event") == 77;
		if (match)
			CHECK(strcmp(cu_str(p, "name"), "stdout") == 0);
		json_decref(n);
		if (match)
			break;
	}
	h_close(a);
}

static json_t *next_frame(struct h_conn *c)
{
	json_t *n = h_next_notification(c, "frame", 5000);

	CHECKF(n != NULL, "no frame notification");
	return n;
}

static void test_frames(void)
{
	struct h_conn *a = cu_connect(), *j = cu_connect(), *m = cu_connect(), *s = cu_connect();
	json_t *r, *n, *p;
	int64_t prev = -1;
	uint32_t prev_code = 0;

	r = subscribe(a, json_pack("{s:[s], s:s}", "topics", "frame", "frame_format", "rgb888"));
	CHECK(json_array_size(r) == 1);
	json_decref(r);
	json_decref(subscribe(j, json_pack("{s:[s], s:s}", "topics", "frame", "frame_format", "jpeg")));
	json_decref(subscribe(m, json_pack("{s:[s]}", "topics", "frame")));	/* metadata only */
	r = h_result(s, "streaming", json_pack("{s:b}", "enable", 1));
	json_decref(r);

	for (int i = 0; i < 4; i++) {
		size_t len;
		uint8_t *data;
		uint32_t code;
		n = next_frame(a);
		p = params_of(n);
		CHECK(strcmp(cu_str(p, "encoding"), "rgb888") == 0);
		CHECK(cu_int(p, "width") == 320 && cu_int(p, "height") == 240);
		data = cu_frame_data(p, &len);
		CHECK(len == 320 * 240 * 3);
		code = cu_barcode(data, 320, 240);
		if (prev >= 0) {
			/* The cam's numbering and the daemon's advance together. */
			CHECK(cu_int(p, "number") > prev);
			CHECK(code - prev_code == (uint32_t)(cu_int(p, "number") - prev));
		}
		prev = cu_int(p, "number");
		prev_code = code;
		free(data);
		json_decref(n);
	}

	n = next_frame(j);
	p = params_of(n);
	CHECK(strcmp(cu_str(p, "encoding"), "jpeg") == 0);
	{
		size_t len;
		uint8_t *data = cu_frame_data(p, &len);
		CHECK(len == (size_t)cu_int(p, "depth") && data[0] == 0xFF && data[1] == 0xD8);
		free(data);
	}
	json_decref(n);
	n = next_frame(m);
	p = params_of(n);
	CHECK(json_object_get(p, "data") == NULL && cu_int(p, "number") > 0);
	json_decref(n);

	/* Everybody gets the same frames: m's next numbers follow a's. */
	r = h_result(a, "unsubscribe", json_pack("{s:[s]}", "topics", "frame"));
	json_decref(r);
	h_close(a);
	h_close(j);
	h_close(m);
	r = h_result(s, "streaming", json_pack("{s:b}", "enable", 0));
	json_decref(r);
	h_close(s);
}

struct slow_check {
	struct h_conn *observer;
	int64_t slow_id;
	int64_t dropped;
};

static bool slow_dropped(void *arg)
{
	struct slow_check *sc = arg;
	json_t *list = h_result(sc->observer, "clients", NULL), *e;
	size_t i;

	json_array_foreach(list, i, e) {
		if (cu_int(e, "id") == sc->slow_id) {
			sc->dropped = cu_int(e, "frames_dropped");
			CHECK(cu_int(e, "queued_bytes") < 64 << 20);
		}
	}
	json_decref(list);
	return sc->dropped > 0;
}

/* A subscriber that stops reading loses frames; the others do not wait. */
static void test_slow_subscriber(void)
{
	struct h_conn *slow = cu_connect(), *obs = cu_connect();
	struct slow_check sc = { obs, -1, 0 };
	json_t *r, *e, *n;
	size_t i;

	json_decref(subscribe(slow, json_pack("{s:[s], s:s}", "topics", "frame", "frame_format",
					      "rgb888")));
	r = h_result(obs, "clients", NULL);
	json_array_foreach(r, i, e)
		if (json_array_size(json_object_get(e, "subscriptions")) == 1)
			sc.slow_id = cu_int(e, "id");
	json_decref(r);
	CHECK(sc.slow_id > 0);
	r = h_result(obs, "streaming", json_pack("{s:b}", "enable", 1));
	json_decref(r);
	CHECK(h_wait_until(slow_dropped, &sc, 10000));
	/* The observer is served meanwhile. */
	r = h_result(obs, "version", NULL);
	json_decref(r);
	/* The slow one catches up and still gets frames. */
	n = next_frame(slow);
	json_decref(n);
	r = h_result(obs, "streaming", json_pack("{s:b}", "enable", 0));
	json_decref(r);
	h_close(slow);
	h_close(obs);
}

static bool link_state_seen(struct h_conn *c, const char *state, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;

	for (;;) {
		uint64_t now = h_now_ms();
		if (now >= deadline)
			return false;
		json_t *n = h_next_notification(c, "link", (unsigned)(deadline - now));
		if (n == NULL)
			return false;
		bool match = strcmp(cu_str(params_of(n), "state"), state) == 0;
		json_decref(n);
		if (match)
			return true;
	}
}

static void test_link(struct h_proc *sim, struct h_proc *omvd)
{
	struct h_conn *a = cu_connect();
	const char *sim_args[] = { "--control", h_path("control"), NULL };
	json_t *r;

	json_decref(subscribe(a, json_pack("{s:[s]}", "topics", "link")));
	json_decref(cu_control("unplug 300"));
	CHECK(link_state_seen(a, "closed", 5000));
	CHECK(link_state_seen(a, "ready", 10000));
	CHECK(cu_wait_connected(a, true, 5000));
	r = h_result(a, "channel_list", NULL);
	CHECK(json_object_size(r) >= 3);
	json_decref(r);

	/* SIGHUP reopens the port. */
	CHECK(kill(omvd->pid, SIGHUP) == 0);
	CHECK(link_state_seen(a, "closed", 5000));
	CHECK(link_state_seen(a, "ready", 10000));

	/* camsim gone, then back on the same link path. */
	h_stop(sim, SIGTERM, 5000);
	CHECK(link_state_seen(a, "closed", 5000));
	/* What the handshake cached is answered while the link is down. */
	r = h_result(a, "version", NULL);
	CHECK(json_integer_value(json_array_get(json_object_get(r, "firmware_version"), 0)) == 4);
	json_decref(r);
	r = h_result(a, "system_info", NULL);
	CHECK(cu_int(r, "usb_vid") == 0x37C5);
	json_decref(r);
	CHECK(h_error_code(a, "device_stats", NULL) == -32000);
	*sim = h_start_camsim(sim_args);
	CHECK(link_state_seen(a, "ready", 10000));
	r = h_result(a, "version", NULL);
	CHECK(json_is_array(json_object_get(r, "firmware_version")));
	json_decref(r);
	h_close(a);
}

int main(void)
{
	const char *sim_args[] = { "--control", h_path("control"), NULL };
	struct h_proc sim = h_start_camsim(sim_args);
	struct h_proc omvd = h_start_omvd(NULL, true);

	test_stdout();
	test_state_and_event();
	test_frames();
	test_slow_subscriber();
	test_link(&sim, &omvd);
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	h_stop(&sim, SIGTERM, 5000);
	printf("ok\n");
	return 0;
}
