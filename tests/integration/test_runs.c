/*
 * Script runs as clients see them through omvd: exec returns a run id,
 * `state` announces it, `stdout` notifications carry it, and a follower
 * sees exactly its run's output, whole characters, before the end is
 * announced; runs end whatever the cam says or fails to say (lossy link,
 * soft reboot unseen, events off).
 *
 * One case per run (argv[1]), each with its own camsim and omvd.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam_util.h"

static struct h_proc start_sim(const char *const *extra)
{
	const char *args[16] = { "--control", h_path("control") };
	size_t n = 2;

	for (; extra != NULL && *extra != NULL && n < 15; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	return h_start_camsim(args);
}

static int64_t exec_script(struct h_conn *c, const char *script)
{
	json_t *r = h_result(c, "exec", json_pack("{s:s}", "script", script));
	int64_t run = json_integer_value(r);

	CHECKF(json_is_integer(r) && run >= 1, "exec did not return a run id");
	json_decref(r);
	return run;
}

static struct h_conn *subscribed(const char *topic1, const char *topic2)
{
	struct h_conn *c = cu_connect();

	json_decref(h_result(c, "subscribe", json_pack("{s:[s,s]}", "topics", topic1, topic2)));
	return c;
}

struct text {
	char *s;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		CHECK(t->s != NULL);
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

/*
 * What a follower subscribed to stdout and state sees of run `run`: the
 * text of the stdout notifications of that run, up to the state that
 * says it ended; returns why it ended (that state's `end`, in a static
 * buffer). Output of an earlier run may still come (it is not this run's);
 * output of a later run, or a state of a later run before this one's end,
 * fails the test.
 */
static const char *follow(struct h_conn *sub, int64_t run, struct text *out, unsigned ms)
{
	static char end[32];

	uint64_t deadline = h_now_ms() + ms;

	out->len = 0;
	text_add(out, "");
	for (;;) {
		uint64_t now = h_now_ms();
		json_t *m = now < deadline ? h_next_any(sub, (unsigned)(deadline - now)) : NULL;
		const char *method;
		json_t *p;
		int64_t r;

		CHECKF(m != NULL, "run %lld did not end; its stdout so far: [%s]", (long long)run,
		       out->s);
		method = cu_str(m, "method");
		p = json_object_get(m, "params");
		r = cu_int(p, "run");
		if (strcmp(method, "stdout") == 0) {
			CHECKF(r <= run, "output of run %lld while following run %lld", (long long)r,
			       (long long)run);
			if (r == run)
				text_add(out, cu_str(p, "text"));
		} else if (strcmp(method, "state") == 0) {
			CHECKF(r <= run, "run %lld began before run %lld ended", (long long)r,
			       (long long)run);
			if (r == run && json_is_false(json_object_get(p, "script_running"))) {
				snprintf(end, sizeof end, "%s", cu_str(p, "end"));
				json_decref(m);
				return end;
			}
		}
		json_decref(m);
	}
}

static json_t *status_shared(struct h_conn *c)
{
	json_t *r = h_result(c, "status", NULL);
	json_t *sh = json_incref(json_object_get(r, "shared"));

	json_decref(r);
	return sh;
}

/* ---- 50 short runs followed to their end on a link that loses 2% ---- */

#define DROP_RUNS 50

static void test_follow_drop(void)
{
	static const char script[] = "print(\"a\")\nprint(\"b\")\n";
	static const char expected[] = "a\nb\nMPY: soft reboot\n";
	struct h_conn *sub = subscribed("stdout", "state");
	struct h_conn *ctl = cu_connect();
	struct text out = { 0 };
	int64_t last = 0;
	json_t *sh, *st;

	for (int i = 0; i < DROP_RUNS; i++) {
		int64_t run = exec_script(ctl, script);

		CHECKF(run > last, "run ids must grow: %lld after %lld", (long long)run,
		       (long long)last);
		last = run;
		CHECK(strcmp(follow(sub, run, &out, 15000), "exited") == 0);
		CHECKF(strcmp(out.s, expected) == 0, "run %d (id %lld) printed [%s]", i,
		       (long long)run, out.s);
		/* The daemon and the cam agree that nothing runs. */
		sh = status_shared(ctl);
		CHECK(json_is_false(json_object_get(sh, "script_running")));
		CHECK(cu_int(sh, "run") == run);
		json_decref(sh);
	}
	st = cu_control("stats");
	CHECK(json_is_false(json_object_get(st, "script_running")));
	CHECKF(cu_int(st, "dropped_in") + cu_int(st, "dropped_out") > 0, "no packet was lost");
	fprintf(stderr, "follow-drop: %d runs, %lld packets lost\n", DROP_RUNS,
		(long long)(cu_int(st, "dropped_in") + cu_int(st, "dropped_out")));
	json_decref(st);
	free(out.s);
	h_close(sub);
	h_close(ctl);
}

/* ---- run ids: no follower mixes two runs' output ---- */

static void test_ids(void)
{
	static const char looping[] =
		"import time\nprint(\"first begins\")\nwhile True:\n    print(\"first\")\n"
		"    time.sleep_ms(2)\n";
	struct h_conn *sub = subscribed("stdout", "state");
	struct h_conn *ctl = cu_connect(), *late;
	struct text out = { 0 };
	int64_t r1, r2;
	json_t *sh, *r;

	r1 = exec_script(ctl, looping);
	CHECK(cu_wait_stdout(ctl, "first\nfirst\n", 5000));
	sh = status_shared(ctl);
	CHECK(json_is_true(json_object_get(sh, "script_running")) && cu_int(sh, "run") == r1);
	json_decref(sh);

	/* A client that connects now starts with the running script's output. */
	late = cu_connect();
	r = h_result(late, "read_stdout", NULL);
	CHECK(json_is_string(r) && strncmp(json_string_value(r), "first begins\n", 13) == 0);
	json_decref(r);

	/* The next exec stops the first run, and its end (with all of its
	 * output) is announced before the second run begins. */
	r2 = exec_script(ctl, "print(\"second\")\n");
	CHECK(r2 == r1 + 1);
	CHECK(strcmp(follow(sub, r1, &out, 5000), "replaced") == 0);
	CHECK(strncmp(out.s, "first begins\nfirst\n", 19) == 0);
	CHECK(strstr(out.s, "second") == NULL);
	CHECKF(out.len >= 17 && strcmp(out.s + out.len - 17, "MPY: soft reboot\n") == 0,
	       "run %lld ended without its soft-reboot line: [%s]", (long long)r1, out.s);
	CHECK(strcmp(follow(sub, r2, &out, 5000), "exited") == 0);
	CHECKF(strcmp(out.s, "second\nMPY: soft reboot\n") == 0, "run %lld printed [%s]",
	       (long long)r2, out.s);

	/* A follower that subscribes late gets the latest run's output. */
	json_decref(h_result(late, "subscribe", json_pack("{s:[s]}", "topics", "stdout")));
	r = h_next_notification(late, "stdout", 5000);
	CHECK(r != NULL && cu_int(json_object_get(r, "params"), "run") == r2);
	CHECK(strncmp(cu_str(json_object_get(r, "params"), "text"), "second\n", 7) == 0);
	json_decref(r);
	free(out.s);
	h_close(late);
	h_close(sub);
	h_close(ctl);
}

/* ---- stdout notifications never split a character ---- */

#define UTF8_BYTES 60000

static void test_utf8(void)
{
	static const char script[] =
		"import time\nwhile True:\n    print(\"é€é€é€\")\n    time.sleep_us(200)\n";
	static const char line[] = "é€é€é€\n";
	struct h_conn *sub = subscribed("stdout", "state");
	struct h_conn *ctl = cu_connect();
	struct text out = { 0 }, polled = { 0 };
	uint64_t deadline;
	int64_t run, notes = 0;

	text_add(&out, "");
	text_add(&polled, "");
	run = exec_script(ctl, script);
	deadline = h_now_ms() + 20000;
	while (out.len < UTF8_BYTES) {
		json_t *m = h_next_notification(sub, "stdout", 5000), *p, *r;

		CHECKF(m != NULL && h_now_ms() < deadline, "only %zu bytes of stdout", out.len);
		p = json_object_get(m, "params");
		if (cu_int(p, "run") == run) {
			CHECKF(strstr(cu_str(p, "text"), "\xEF\xBF\xBD") == NULL,
			       "U+FFFD in a stdout notification: [%s]", cu_str(p, "text"));
			text_add(&out, cu_str(p, "text"));
			notes++;
		}
		json_decref(m);
		r = h_result(ctl, "read_stdout", NULL);
		if (json_is_string(r))
			text_add(&polled, json_string_value(r));
		json_decref(r);
	}
	json_decref(h_result(ctl, "stop", NULL));
	/* the rest of it, and the end: stopped */
	CHECK(strcmp(follow(sub, run, &out, 5000), "stopped") == 0);
	/* Whole lines of the pattern, in order, then the reboot line. */
	CHECK(out.len > 17 && strcmp(out.s + out.len - 17, "MPY: soft reboot\n") == 0);
	for (size_t i = 0; i + 17 < out.len; i += sizeof line - 1)
		CHECKF(strncmp(out.s + i, line, sizeof line - 1) == 0, "at byte %zu: [%.40s]", i,
		       out.s + i);
	CHECK(strstr(polled.s, "\xEF\xBF\xBD") == NULL);
	CHECK(polled.len % (sizeof line - 1) == 0 || strstr(polled.s, "MPY") != NULL);
	fprintf(stderr, "utf8: %zu bytes in %lld notifications\n", out.len, (long long)notes);
	free(out.s);
	free(polled.s);
	h_close(sub);
	h_close(ctl);
}

/* ---- a subscriber that does not read gets its stdout when it does ---- */

#define SLOW_LINES 3000
/* omvd's output queue above which a client waits (its soft limit). */
#define SOFT_LIMIT (4L << 20)

/* The subscriber's output queue is full of frames it does not read, so
 * its stdout waits in the history; once it reads, all of the run's output
 * comes, then the run's end. With a history too small for what was
 * printed meanwhile, the bytes lost are counted, and what comes is the
 * tail of the output. */
static void slow_follower(bool history_holds_it)
{
	struct h_conn *slow = cu_connect(), *ctl = cu_connect();
	size_t cap = SLOW_LINES * 24 + 64, slen = 0, elen = 0;
	char *script = malloc(cap), *expected = malloc(cap);
	struct text out = { 0 };
	int small = 4096;
	int64_t id = cu_self_id(slow), run;
	uint64_t deadline;
	json_t *e;

	CHECK(script != NULL && expected != NULL);
	slen += (size_t)snprintf(script, cap, "import time\n");
	for (int i = 0; i < SLOW_LINES; i++) {
		slen += (size_t)snprintf(script + slen, cap - slen, "print(\"line %04d\")\n", i);
		elen += (size_t)snprintf(expected + elen, cap - elen, "line %04d\n", i);
	}
	elen += (size_t)snprintf(expected + elen, cap - elen, "MPY: soft reboot\n");
	CHECK(slen < cap - 1 && elen < cap - 1);
	CHECK(setsockopt(h_conn_fd(slow), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
	json_decref(h_result(slow, "subscribe", json_pack("{s:[s,s,s], s:s}", "topics", "frame",
							  "stdout", "state", "frame_format",
							  "rgb888")));
	deadline = h_now_ms() + 10000;
	for (;;) {
		e = cu_client(ctl, id);
		if (cu_int(e, "queued_bytes") > SOFT_LIMIT)
			break;
		json_decref(e);
		CHECKF(h_now_ms() < deadline, "the subscriber's queue did not fill");
		usleep(20000);
	}
	json_decref(e);
	json_decref(h_result(ctl, "subscribe", json_pack("{s:[s]}", "topics", "state")));
	run = exec_script(ctl, script);
	/* The run ends for the others while the slow one does not read. */
	for (;;) {
		json_t *n = h_next_notification(ctl, "state", 10000), *p;
		bool ended;

		CHECKF(n != NULL, "run %lld did not end", (long long)run);
		p = json_object_get(n, "params");
		ended = cu_int(p, "run") == run && json_is_false(json_object_get(p, "script_running"));
		json_decref(n);
		if (ended)
			break;
	}
	e = cu_client(ctl, id);
	CHECK(cu_int(e, "queued_bytes") > SOFT_LIMIT);
	json_decref(e);
	json_decref(h_result(ctl, "unsubscribe", json_pack("{s:[s]}", "topics", "state")));

	CHECK(strcmp(follow(slow, run, &out, 20000), "exited") == 0);
	e = cu_client(ctl, id);
	if (history_holds_it) {
		CHECKF(out.len == elen && memcmp(out.s, expected, elen) == 0,
		       "the slow subscriber got %zu of %zu bytes: [%.30s ... %.30s]", out.len, elen,
		       out.s, out.s + (out.len > 30 ? out.len - 30 : 0));
		CHECK(cu_int(e, "stdout_missed") == 0);
	} else {
		CHECK(cu_int(e, "stdout_missed") > 0);
		CHECK(out.len + (size_t)cu_int(e, "stdout_missed") >= elen);
		CHECKF(out.len > 17 && out.len < elen &&
		       memcmp(out.s, expected + elen - out.len, out.len) == 0,
		       "the slow subscriber got %zu bytes, not the output's tail", out.len);
	}
	fprintf(stderr, "slow follower: %zu of %zu bytes, %lld missed\n", out.len, elen,
		(long long)cu_int(e, "stdout_missed"));
	json_decref(e);
	free(out.s);
	free(script);
	free(expected);
	h_close(slow);
	h_close(ctl);
}

/* ---- a soft reboot ends the run, seen or found out ---- */

static void reboot_ends_run(void)
{
	static const char looping[] =
		"import time\nprint(\"up\")\nwhile True:\n    time.sleep_ms(10)\n";
	struct h_conn *sub = subscribed("stdout", "state");
	struct h_conn *ctl = cu_connect();
	struct text out = { 0 };
	int64_t run = exec_script(ctl, looping);
	json_t *sh;

	CHECK(cu_wait_stdout(ctl, "up\n", 5000));
	json_decref(cu_control("soft-reboot"));
	CHECK(strcmp(follow(sub, run, &out, 10000), "exited") == 0);
	CHECKF(strcmp(out.s, "up\nMPY: soft reboot\n") == 0, "run printed [%s]", out.s);
	sh = status_shared(ctl);
	CHECK(json_is_false(json_object_get(sh, "script_running")));
	json_decref(sh);
	free(out.s);
	h_close(sub);
	h_close(ctl);
}

/* The cam reboots (unplugged, back): the run ended with the link. */
static void reconnect_ends_run(void)
{
	struct h_conn *sub = subscribed("stdout", "state");
	struct h_conn *ctl = cu_connect();
	struct text out = { 0 };
	int64_t run = exec_script(ctl, "import time\nwhile True:\n    time.sleep_ms(10)\n");
	json_t *sh;

	json_decref(cu_control("reboot"));
	CHECK(strcmp(follow(sub, run, &out, 10000), "link") == 0);
	CHECK(cu_wait_connected(ctl, true, 10000));
	sh = status_shared(ctl);
	CHECK(json_is_false(json_object_get(sh, "script_running")) && cu_int(sh, "run") == run);
	json_decref(sh);
	free(out.s);
	h_close(sub);
	h_close(ctl);
}

/* ---- events off: stdout and frames still flow ---- */

#define FPS_FRAMES 45

/* Frames per second a subscriber gets from omvd (started with extra). */
static double subscriber_fps(const char *const *extra)
{
	struct h_proc omvd = h_start_omvd(extra, true);
	struct h_conn *c = cu_connect();
	uint64_t t0 = 0;
	int64_t first = 0, last = 0;
	json_t *m;

	json_decref(h_result(c, "subscribe", json_pack("{s:[s]}", "topics", "frame")));
	for (int i = 0; i <= FPS_FRAMES; i++) {
		m = h_next_notification(c, "frame", 5000);
		CHECKF(m != NULL, "frame %d did not come", i);
		last = cu_int(json_object_get(m, "params"), "number");
		if (i == 0) {
			first = last;
			t0 = h_now_ms();
		}
		json_decref(m);
	}
	CHECK(last - first >= FPS_FRAMES);
	h_close(c);
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	return FPS_FRAMES * 1000.0 / (double)(h_now_ms() - t0 + 1);
}

static void test_no_events(void)
{
	static const char *const no_events[] = { "--no-events", NULL };
	struct h_proc omvd = h_start_omvd(no_events, true);
	struct h_conn *sub = subscribed("stdout", "state");
	struct h_conn *ctl = cu_connect();
	struct text out = { 0 };
	double with, without;
	int64_t run;
	json_t *r;

	r = h_result(ctl, "status", NULL);
	CHECK(json_is_false(json_object_get(json_object_get(r, "caps"), "events")));
	json_decref(r);
	/* stdout by notification and by polling; the end found all the same */
	run = exec_script(ctl, "print(\"no events here\")\n");
	CHECK(strcmp(follow(sub, run, &out, 10000), "exited") == 0);
	CHECKF(strcmp(out.s, "no events here\nMPY: soft reboot\n") == 0, "run printed [%s]",
	       out.s);
	r = h_result(ctl, "read_stdout", NULL);
	CHECK(json_is_string(r) && strstr(json_string_value(r), "no events here\n") != NULL);
	json_decref(r);
	h_close(sub);
	h_close(ctl);
	/* a soft reboot nobody announces ends the run too */
	reboot_ends_run();
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	free(out.s);

	/* frames at the cam's pace: compared with events on, same cam */
	without = subscriber_fps(no_events);
	with = subscriber_fps(NULL);
	fprintf(stderr, "no-events: %.1f frames/s without events, %.1f with\n", without, with);
	CHECKF(without >= 0.7 * with, "%.1f frames/s without events, %.1f with", without, with);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "";
	const char *drop[] = { "--drop-rate", "0.02", "--seed", "7", NULL };
	/* these runs print faster than the link drains: a full ring waits
	 * instead of losing output (the firmware's ring would lose it) */
	const char *big_ring[] = { "--stdout-ring", "8192", "--stdout-block", NULL };
	const char *big_history[] = { "--stdout-history", "1048576", NULL };
	const char *small_history[] = { "--stdout-history", "8192", NULL };
	struct h_proc sim, omvd = { 0 };

	if (strcmp(which, "follow-drop") == 0) {
		sim = start_sim(drop);
		omvd = h_start_omvd(NULL, true);
		test_follow_drop();
	} else if (strcmp(which, "ids") == 0) {
		sim = start_sim(NULL);
		omvd = h_start_omvd(NULL, true);
		test_ids();
	} else if (strcmp(which, "utf8") == 0) {
		sim = start_sim(big_ring);
		omvd = h_start_omvd(NULL, true);
		test_utf8();
	} else if (strcmp(which, "soft-reboot") == 0) {
		sim = start_sim(NULL);
		omvd = h_start_omvd(NULL, true);
		reboot_ends_run();
		reconnect_ends_run();
	} else if (strcmp(which, "slow-follower") == 0) {
		sim = start_sim(big_ring);
		omvd = h_start_omvd(big_history, true);
		slow_follower(true);
		CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
		omvd = h_start_omvd(small_history, true);
		slow_follower(false);
	} else if (strcmp(which, "no-events") == 0) {
		sim = start_sim(NULL);
		test_no_events();
	} else {
		fprintf(stderr, "usage: %s follow-drop|ids|utf8|soft-reboot|slow-follower|no-events\n",
			argv[0]);
		return 2;
	}
	if (omvd.pid > 0)
		CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	h_stop(&sim, SIGTERM, 5000);
	printf("ok\n");
	return 0;
}
