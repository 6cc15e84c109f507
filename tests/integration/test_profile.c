/*
 * A cam with the profile channel and a PMU: profiler methods and decoded
 * records checked against camsim's made-up counters; channel locks shared
 * between clients; an ioctl that succeeds; reset and boot.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam_util.h"

#define PMU_EVENTS 2

/* Every record: address/caller layout, events sized to the PMU, event k
 * counting call_count * (event id of k + 1), ticks halved when exclusive. */
static void check_records(json_t *list, const int64_t ids[PMU_EVENTS], bool exclusive)
{
	json_t *rec;
	size_t i;

	CHECK(json_is_array(list) && json_array_size(list) == 6);
	json_array_foreach(list, i, rec) {
		int64_t calls = cu_int(rec, "call_count"), per_call = 40 + 25 * (int64_t)i;
		json_t *events = json_object_get(rec, "events");
		CHECK(cu_int(rec, "address") == 0x08010000 + (int64_t)i * 0x140);
		CHECK(cu_int(rec, "caller") == 0x08004000 + (int64_t)i * 0x20);
		CHECK(json_array_size(events) == PMU_EVENTS);
		for (int k = 0; k < PMU_EVENTS; k++)
			CHECKF(json_integer_value(json_array_get(events, k)) == calls * (ids[k] + 1),
			       "record %zu event %d: %lld, want %lld (calls %lld, id %lld)", i, k,
			       (long long)json_integer_value(json_array_get(events, k)),
			       (long long)(calls * (ids[k] + 1)), (long long)calls, (long long)ids[k]);
		CHECK(cu_int(rec, "total_ticks") == calls * per_call / (exclusive ? 2 : 1));
		CHECK(cu_int(rec, "total_cycles") == cu_int(rec, "total_ticks") * 480);
	}
}

/* read_profile locks the channel; when the cam says BUSY (a LOCK within
 * 10 ms of the previous one) the daemon asks again itself: one call. */
static json_t *read_profile(struct h_conn *c)
{
	return h_result(c, "read_profile", NULL);
}

static void test_profiler(struct h_conn *c)
{
	int64_t ids[PMU_EVENTS] = { 0, 1 };
	json_t *r;

	r = read_profile(c);
	check_records(r, ids, false);
	json_decref(r);

	r = h_result(c, "profiler_event", json_pack("{s:i, s:i}", "counter_num", 1, "event_id", 9));
	CHECK(json_is_null(r));
	json_decref(r);
	ids[1] = 9;
	CHECK(h_error_code(c, "profiler_event", json_pack("{s:i, s:i}", "counter_num", PMU_EVENTS,
							  "event_id", 1)) == -32602);
	r = h_result(c, "profiler_mode", json_pack("{s:b}", "exclusive", 1));
	CHECK(json_is_null(r));
	json_decref(r);
	r = read_profile(c);
	check_records(r, ids, true);
	json_decref(r);

	r = h_result(c, "profiler_reset", json_pack("{s:n}", "config"));
	CHECK(json_is_null(r));
	json_decref(r);
	ids[1] = 1;	/* reset restores the default events; the mode stays */
	r = read_profile(c);
	check_records(r, ids, true);
	json_decref(r);

	/* A config list gives each counter its event in turn. */
	r = h_result(c, "profiler_reset", json_pack("{s:[i,i]}", "config", 5, 7));
	CHECK(json_is_null(r));
	json_decref(r);
	ids[0] = 5;
	ids[1] = 7;
	r = read_profile(c);
	check_records(r, ids, true);
	json_decref(r);
	r = h_result(c, "profiler_reset", json_pack("{s:[i]}", "config", 3));
	json_decref(r);
	ids[0] = 3;	/* the counters it does not name are back to their default */
	ids[1] = 1;
	r = read_profile(c);
	check_records(r, ids, true);
	json_decref(r);
	CHECK(h_error_code(c, "profiler_reset", json_pack("{s:[i,i,i]}", "config", 1, 2, 3)) ==
	      -32602);
	CHECK(h_error_code(c, "profiler_reset", json_pack("{s:[s]}", "config", "x")) == -32602);

	/* Back-to-back reads: each LOCK within 10 ms of the last one is BUSY
	 * on the cam, never an error for the caller. */
	for (int i = 0; i < 20; i++) {
		r = read_profile(c);
		CHECK(json_array_size(r) == 6);
		json_decref(r);
	}
}

static bool holds_lock(struct h_conn *observer, int chan)
{
	json_t *list = h_result(observer, "clients", NULL), *e, *l;
	size_t i, k;
	bool held = false;

	json_array_foreach(list, i, e)
		json_array_foreach(json_object_get(e, "locks"), k, l)
			held |= json_integer_value(l) == chan;
	json_decref(list);
	return held;
}

static bool lock_free(void *observer)
{
	return !holds_lock(observer, 4);
}

static void test_locks(void)
{
	struct h_conn *a = cu_connect(), *b = cu_connect();
	json_t *r;

	cu_lock(a, 4, 5000);
	CHECK(holds_lock(b, 4));
	CHECK(h_error_code(b, "channel_lock", json_pack("{s:i}", "channel_id", 4)) == -32006);
	r = h_result(a, "channel_unlock", json_pack("{s:i}", "channel_id", 4));
	CHECK(json_is_true(r));
	json_decref(r);
	CHECK(!holds_lock(b, 4));
	cu_lock(b, 4, 5000);

	/* B leaves holding the lock: it is released for A once omvd has
	 * seen B go (a close is no request: A may be heard first). */
	h_close(b);
	CHECK(h_wait_until(lock_free, a, 5000));
	cu_lock(a, 4, 5000);
	r = h_result(a, "channel_unlock", json_pack("{s:i}", "channel_id", 4));
	json_decref(r);
	h_close(a);
}

static void test_ioctl(struct h_conn *c)
{
	int64_t ids[PMU_EVENTS] = { 0, 1 };
	json_t *r, *st, *resp;

	json_decref(h_result(c, "profiler_reset", NULL));	/* the default events */
	/* MODE(0) on the profile channel, packed as the package packs "I":
	 * little-endian, 4 bytes. Success without data is true. */
	r = h_result(c, "channel_ioctl", json_pack("{s:i, s:i, s:s, s:[i]}", "channel_id", 4,
						   "cmd", 0, "fmt", "I", "args", 0));
	CHECK(json_is_true(r));
	json_decref(r);
	r = read_profile(c);
	check_records(r, ids, false);
	json_decref(r);
	/* A wrong size ("H" is 2 bytes) is the cam's INVALID. */
	resp = h_call(c, "channel_ioctl", json_pack("{s:i, s:i, s:s, s:[i]}", "channel_id", 4,
						    "cmd", 0, "fmt", "H", "args", 1));
	CHECK(cu_int(json_object_get(resp, "error"), "code") == -32002);
	json_decref(resp);

	/* Streaming controls on the stream channel are the daemon's. */
	resp = h_call(c, "channel_ioctl", json_pack("{s:i, s:i, s:s, s:[i]}", "channel_id", 3,
						    "cmd", 0, "fmt", "<I", "args", 1));
	CHECK(cu_int(json_object_get(resp, "error"), "code") == -32602);
	CHECK(strstr(cu_str(json_object_get(resp, "error"), "message"), "streaming") != NULL);
	json_decref(resp);
	st = cu_control("stats");
	CHECK(json_is_false(json_object_get(st, "streaming")));
	json_decref(st);
}

static bool link_seen(struct h_conn *c, const char *state)
{
	uint64_t deadline = h_now_ms() + 10000;

	while (h_now_ms() < deadline) {
		json_t *n = h_next_notification(c, "link", 10000);
		if (n == NULL)
			return false;
		bool match = strcmp(cu_str(json_object_get(n, "params"), "state"), state) == 0;
		json_decref(n);
		if (match)
			return true;
	}
	return false;
}

static void test_reset_and_boot(struct h_conn *c)
{
	json_t *r;

	json_decref(h_result(c, "subscribe", json_pack("{s:[s]}", "topics", "link")));
	r = h_result(c, "reset", NULL);
	CHECK(json_is_null(r));
	json_decref(r);
	CHECK(link_seen(c, "closed"));
	CHECK(link_seen(c, "ready"));
	r = h_result(c, "boot", NULL);
	CHECK(json_is_null(r));
	json_decref(r);
	CHECK(link_seen(c, "closed"));
}

int main(void)
{
	const char *sim_args[] = { "--control", h_path("control"), "--profile", "--pmu-events", "2",
				   NULL };
	struct h_proc sim = h_start_camsim(sim_args);
	struct h_proc omvd = h_start_omvd(NULL, true);
	struct h_conn *c = cu_connect();
	json_t *r;

	r = h_result(c, "get_channel", json_pack("{s:s}", "name", "profile"));
	CHECK(json_integer_value(r) == 4);
	json_decref(r);
	test_profiler(c);
	test_locks();
	test_ioctl(c);
	test_reset_and_boot(c);
	h_close(c);
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	h_stop(&sim, SIGTERM, 5000);
	printf("ok\n");
	return 0;
}
