/*
 * Many clients on one cam: frames read once and fanned out in order, stdout
 * seen whole by every poller, a lock freed when its holder is killed, a
 * stalled subscriber that neither slows the others nor grows the daemon,
 * hundreds of connections and the client limit, clients that leave in the
 * middle of calls, and the end of a script announced after its last output.
 *
 * One case per run (argv[1]), each with its own camsim and omvd, so that
 * meson runs them as separate, short tests.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cam_util.h"

#define MIB (1024 * 1024)

static struct h_proc start_sim(const char *extra1, const char *extra2)
{
	const char *args[] = { "--control", h_path("control"), extra1, extra2, NULL };

	return h_start_camsim(args);
}

/*
 * ASan keeps freed memory in a quarantine on purpose (256 MiB by default),
 * which would show in the resident size of a daemon that frees all it
 * allocates; the memory bounds below are about omvd, so omvd runs without
 * it in the sanitizer build.
 */
static void no_quarantine_for_children(void)
{
#if defined(__SANITIZE_ADDRESS__)
	const char *old = getenv("ASAN_OPTIONS");
	char opts[512];

	snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0",
		 old != NULL ? old : "", old != NULL && old[0] != '\0' ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
#endif
}

/* omvd with its log in h_path("omvd.log"), ready on the cam. */
static struct h_proc start_omvd_logged(void)
{
	char *argv[] = { "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>\"$OMVD_TEST_LOG\"",
			 getenv("OMVD"), "--port", (char *)h_path("cam"), "--socket",
			 (char *)h_path("omvd.sock"), NULL };
	uint64_t deadline = h_now_ms() + 10000;
	struct h_proc p;
	struct h_conn *c;

	CHECK(argv[3] != NULL);
	setenv("OMVD_TEST_LOG", h_path("omvd.log"), 1);
	p = h_spawn(argv, false);
	while ((c = h_connect(h_path("omvd.sock"))) == NULL) {
		CHECKF(h_now_ms() < deadline, "omvd socket did not accept in time");
		usleep(5000);
	}
	CHECK(cu_wait_connected(c, true, 10000));
	h_close(c);
	return p;
}

/* VmRSS of a process, in bytes. */
static long rss_bytes(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	CHECKF(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	CHECK(kb > 0);
	return kb * 1024;
}

static int64_t frames_fetched(struct h_conn *c)
{
	json_t *r = h_result(c, "status", NULL);
	int64_t n = cu_int(json_object_get(r, "counters"), "frames_fetched");

	json_decref(r);
	return n;
}

static int64_t sim_stat(const char *key)
{
	json_t *r = cu_control("stats");
	int64_t n = cu_int(r, key);

	json_decref(r);
	return n;
}

static void streaming(struct h_conn *c, bool on)
{
	json_decref(h_result(c, "streaming", json_pack("{s:b}", "enable", on)));
}

/* The id of the (only) client whose subscriptions include topic. */
static int64_t subscriber_id(struct h_conn *c, const char *topic)
{
	json_t *list = h_result(c, "clients", NULL), *e, *t;
	int64_t id = -1;
	size_t i, j;

	json_array_foreach(list, i, e)
		json_array_foreach(json_object_get(e, "subscriptions"), j, t)
			if (strcmp(json_string_value(t), topic) == 0)
				id = cu_int(e, "id");
	json_decref(list);
	CHECKF(id > 0, "no client subscribed to %s", topic);
	return id;
}

/* ---- a: one read per frame, the same frames for every subscriber ---- */

#define SUBSCRIBERS 8
#define FRAMES 30

struct quiet {
	struct h_conn *c;
	int64_t fetched, read;
};

/* Streaming is off on the cam and the daemon took every frame it read. */
static bool cam_and_daemon_agree(void *arg)
{
	struct quiet *q = arg;
	json_t *st = cu_control("stats");
	bool off = json_is_false(json_object_get(st, "streaming"));

	json_decref(st);
	q->fetched = frames_fetched(q->c);
	q->read = sim_stat("frames_read");
	return off && q->fetched == q->read && sim_stat("locks") == q->read;
}

static void test_frames(void)
{
	static const char *const formats[SUBSCRIBERS] = {
		"none", "none", "none", "jpeg", "none", "rgb888", "none", "native",
	};
	struct h_conn *sub[SUBSCRIBERS];
	int64_t first = -1;
	struct quiet q;
	json_t *r;

	/* Each subscription is a wish for frames: they flow from the first
	 * one on; the last subscriber's first frame is where all compare. */
	for (int i = 0; i < SUBSCRIBERS; i++) {
		sub[i] = cu_connect();
		if (i == 0)
			CHECK(frames_fetched(sub[0]) == 0 && sim_stat("frames_read") == 0);
		r = h_result(sub[i], "subscribe", json_pack("{s:[s], s:s}", "topics", "frame",
							     "frame_format", formats[i]));
		json_decref(r);
	}
	r = h_next_notification(sub[SUBSCRIBERS - 1], "frame", 5000);
	CHECK(r != NULL);
	first = cu_int(json_object_get(r, "params"), "number");
	json_decref(r);
	/* Round-robin, so that no subscriber falls behind into frame dropping. */
	for (int k = 0; k < FRAMES; k++) {
		for (int i = 0; i < SUBSCRIBERS; i++) {
			json_t *n = NULL, *p;

			if (k == 0 && i == SUBSCRIBERS - 1)
				continue;	/* had it */
			do {	/* the frames from before the last subscription */
				json_decref(n);
				n = h_next_notification(sub[i], "frame", 5000);
				CHECKF(n != NULL, "subscriber %d: no frame %d", i, k);
				p = json_object_get(n, "params");
			} while (k == 0 && cu_int(p, "number") < first);
			CHECKF(cu_int(p, "number") == first + k,
			       "subscriber %d got frame %lld where %lld was due", i,
			       (long long)cu_int(p, "number"), (long long)(first + k));
			CHECK(cu_int(p, "width") == 320 && cu_int(p, "height") == 240);
			CHECK((json_object_get(p, "data") != NULL) == (strcmp(formats[i], "none") != 0));
			json_decref(n);
		}
	}
	CHECK(first >= 1);
	for (int i = 0; i < SUBSCRIBERS; i++)	/* the wishes go: streaming stops */
		json_decref(h_result(sub[i], "unsubscribe", json_pack("{s:[s]}", "topics",
								       "frame")));

	/* Once streaming is off and the last fetch over, the daemon took
	 * exactly the frames the cam handed out, with one LOCK each, however
	 * many subscribers. */
	q.c = sub[1];
	CHECKF(h_wait_until(cam_and_daemon_agree, &q, 5000),
	       "daemon fetched %lld frames, cam saw %lld read (and %lld LOCKs)",
	       (long long)q.fetched, (long long)q.read, (long long)sim_stat("locks"));
	CHECK(q.fetched >= first + FRAMES - 1);
	CHECK(sim_stat("frames_produced") - q.read <= 1);
	for (int i = 0; i < SUBSCRIBERS; i++)
		h_close(sub[i]);
}

/* ---- b: every poller sees all of stdout ---- */

#define LINES 200

static void test_stdout_pollers(void)
{
	struct h_conn *a = cu_connect(), *b = cu_connect(), *conns[2] = { a, b };
	size_t cap = LINES * 40 + 1024, elen = 0;
	char *script = malloc(cap), *expected = malloc(cap), *seen[2];
	size_t slen = 0, seen_len[2] = { 0, 0 };
	uint64_t deadline;

	CHECK(script != NULL && expected != NULL);
	slen += (size_t)snprintf(script + slen, cap - slen, "import time\n");
	for (int i = 1; i <= LINES; i++) {
		slen += (size_t)snprintf(script + slen, cap - slen,
					 "print(\"line %03d of %d\")\ntime.sleep_ms(1)\n", i, LINES);
		elen += (size_t)snprintf(expected + elen, cap - elen, "line %03d of %d\n", i, LINES);
	}
	elen += (size_t)snprintf(expected + elen, cap - elen, "MPY: soft reboot\n");
	for (int k = 0; k < 2; k++) {
		seen[k] = calloc(1, cap);
		CHECK(seen[k] != NULL);
	}
	json_decref(h_result(a, "exec", json_pack("{s:s}", "script", script)));

	deadline = h_now_ms() + 8000;
	while (seen_len[0] < elen || seen_len[1] < elen) {
		CHECKF(h_now_ms() < deadline, "stdout incomplete: %zu and %zu of %zu bytes",
		       seen_len[0], seen_len[1], elen);
		for (int k = 0; k < 2; k++) {
			json_t *r = h_result(conns[k], "read_stdout", NULL);
			const char *text = json_string_value(r);

			CHECK(text != NULL || json_is_null(r));
			if (text != NULL) {
				size_t n = strlen(text);

				CHECKF(seen_len[k] + n <= elen, "client %d got more than printed", k);
				memcpy(seen[k] + seen_len[k], text, n);
				seen_len[k] += n;
			}
			json_decref(r);
		}
		usleep(2000);
	}
	for (int k = 0; k < 2; k++) {
		CHECKF(memcmp(seen[k], expected, elen) == 0, "client %d saw:\n%s", k, seen[k]);
		free(seen[k]);
	}
	{
		json_t *list = h_result(a, "clients", NULL), *e;
		size_t i;

		json_array_foreach(list, i, e)
			CHECKF(cu_int(e, "stdout_missed") == 0, "client %lld missed %lld bytes",
			       (long long)cu_int(e, "id"), (long long)cu_int(e, "stdout_missed"));
		json_decref(list);
	}
	free(script);
	free(expected);
	h_close(a);
	h_close(b);
}

/* ---- c: a killed lock holder gives its lock back ---- */

/* camsim's script-registered channels cannot be locked, and the stream's
 * LOCK races with omvd's own frame fetches; the profile channel's LOCK is
 * refused only while locked or within 10 ms of the previous one. */
#define PROFILE_CHAN 4

/* Child: lock the channel, say so on ready_fd, then hang until killed.
 * Only _exit here: the harness's exit handlers belong to the parent. */
static void lock_holder(int ready_fd)
{
	struct h_conn *c = h_connect(h_path("omvd.sock"));
	char line[128];
	uint64_t deadline = h_now_ms() + 5000;

	if (c == NULL)
		_exit(2);
	for (int id = 1; h_now_ms() < deadline; id++) {
		json_t *r;
		bool granted;

		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
			 "\"channel_lock\",\"params\":{\"channel_id\":%d}}", id, PROFILE_CHAN);
		h_send_line(c, line);
		r = h_recv(c, 5000);
		if (r == NULL)
			_exit(3);
		granted = json_is_true(json_object_get(r, "result"));
		json_decref(r);
		if (granted) {
			if (write(ready_fd, "L", 1) != 1)
				_exit(4);
			for (;;)
				pause();
		}
		usleep(2000);	/* the cam refuses a LOCK within 10 ms of the last */
	}
	_exit(5);
}

static void test_lock_holder_killed(void)
{
	struct h_conn *b = cu_connect();
	json_t *params = json_pack("{s:i}", "channel_id", PROFILE_CHAN), *resp, *e;
	struct pollfd pfd;
	int fds[2], status, other_errors = 0;
	uint64_t deadline;
	bool granted = false;
	pid_t pid;
	char byte;

	CHECK(pipe2(fds, O_CLOEXEC) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		lock_holder(fds[1]);
	}
	close(fds[1]);
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	CHECKF(poll(&pfd, 1, 8000) == 1 && read(fds[0], &byte, 1) == 1,
	       "the child did not get the lock");
	close(fds[0]);

	/* Held by the child: refused without asking the cam. */
	CHECK(h_error_code(b, "channel_lock", json_incref(params)) == -32006);
	{
		json_t *list = h_result(b, "clients", NULL);
		size_t i;
		int holders = 0;

		json_array_foreach(list, i, e) {
			json_t *locks = json_object_get(e, "locks");

			if (json_array_size(locks) == 1 &&
			    json_integer_value(json_array_get(locks, 0)) == PROFILE_CHAN)
				holders++;
		}
		CHECK(holders == 1);
		json_decref(list);
	}

	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));

	/* Until omvd has seen the hang-up and the cam the UNLOCK, the answer
	 * is "locked" or "busy"; then the lock is B's. */
	deadline = h_now_ms() + 5000;
	while (!granted) {
		CHECKF(h_now_ms() < deadline, "the lock was not given back");
		resp = h_call(b, "channel_lock", json_incref(params));
		if (json_is_true(json_object_get(resp, "result"))) {
			granted = true;
		} else if (json_object_get(resp, "error") != NULL) {
			int64_t code = cu_int(json_object_get(resp, "error"), "code");

			if (code != -32006 && code != -32004)
				other_errors++;
		} else {
			CHECK(json_is_false(json_object_get(resp, "result")));
		}
		json_decref(resp);
		if (!granted)
			usleep(2000);
	}
	CHECK(other_errors == 0);
	resp = h_result(b, "channel_unlock", json_incref(params));
	CHECK(json_is_true(resp));
	json_decref(resp);
	json_decref(params);
	h_close(b);
}

/* ---- d: a stalled subscriber neither blocks others nor grows omvd ---- */

#define STALL_FRAMES 100
/* 100 RGB888 QVGA frames in base64 are about 30 MiB: a daemon that queued
 * them all would pass this. */
#define STALL_GROWTH_MAX (16L * MIB)
#define CALL_MAX_MS 2000

static void timed_call(struct h_conn *c, const char *method, json_t *params, uint64_t *worst)
{
	uint64_t t0 = h_now_ms(), dt;

	json_decref(h_result(c, method, params));
	dt = h_now_ms() - t0;
	CHECKF(dt < CALL_MAX_MS, "%s took %llu ms while a subscriber stalled", method,
	       (unsigned long long)dt);
	if (dt > *worst)
		*worst = dt;
}

static void test_stalled_subscriber(pid_t omvd)
{
	struct h_conn *stalled = cu_connect(), *other = cu_connect();
	int small = 4096;
	long before, after;
	int64_t start, id;
	uint64_t worst = 0, deadline;
	json_t *e;

	CHECK(setsockopt(h_conn_fd(stalled), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
	json_decref(h_result(stalled, "subscribe", json_pack("{s:[s], s:s}", "topics", "frame",
							      "frame_format", "rgb888")));
	id = subscriber_id(other, "frame");
	before = rss_bytes(omvd);
	start = frames_fetched(other);
	streaming(other, true);
	deadline = h_now_ms() + 9000;
	while (frames_fetched(other) < start + STALL_FRAMES) {
		CHECKF(h_now_ms() < deadline, "only %lld frames fetched",
		       (long long)(frames_fetched(other) - start));
		timed_call(other, "channel_size", json_pack("{s:s}", "name", "stream"), &worst);
		timed_call(other, "is_connected", NULL, &worst);
		timed_call(other, "device_stats", NULL, &worst);
	}
	after = rss_bytes(omvd);
	CHECKF(after - before < STALL_GROWTH_MAX, "omvd grew by %ld KiB over %d frames",
	       (after - before) / 1024, STALL_FRAMES);
	e = cu_client(other, id);
	CHECK(e != NULL);
	CHECKF(cu_int(e, "frames_dropped") > 0, "the stalled client lost no frame");
	CHECK(cu_int(e, "queued_bytes") < 16L * MIB);
	json_decref(e);
	streaming(other, false);
	fprintf(stderr, "stalled: rss %+ld KiB, slowest call %llu ms\n", (after - before) / 1024,
		(unsigned long long)worst);
	h_close(stalled);
	h_close(other);
}

/* ---- e: many connections; the client limit ---- */

#define MANY 256

static void test_many_clients(void)
{
	struct h_conn **cs = calloc(MANY, sizeof *cs);
	char line[160];
	json_t *r;

	int64_t size;

	CHECK(cs != NULL);
	for (int i = 0; i < MANY; i++)
		cs[i] = cu_connect();
	/* Streaming is off: the stream's size stays what it is now. */
	r = h_result(cs[0], "channel_size", json_pack("{s:s}", "name", "stream"));
	size = json_integer_value(r);
	json_decref(r);
	for (int i = 0; i < MANY; i++) {
		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
			 "\"channel_size\",\"params\":{\"name\":\"stream\"}}", 1000 + i);
		h_send_line(cs[i], line);
	}
	for (int i = 0; i < MANY; i++) {
		r = h_recv(cs[i], 10000);
		CHECKF(r != NULL && cu_int(r, "id") == 1000 + i, "client %d: no reply", i);
		CHECKF(json_is_integer(json_object_get(r, "result")) &&
		       json_integer_value(json_object_get(r, "result")) == size,
		       "client %d: wrong answer", i);
		json_decref(r);
	}
	r = h_result(cs[0], "status", NULL);
	CHECK(cu_int(r, "clients") == MANY);
	json_decref(r);
	for (int i = 0; i < MANY; i++)
		h_close(cs[i]);
	free(cs);
}

#define LIMIT 10

static bool only_one_client(void *arg)
{
	json_t *r = h_result(arg, "status", NULL);
	bool one = cu_int(r, "clients") == 1;

	json_decref(r);
	return one;
}

static void channel_size_ok(struct h_conn *c)
{
	json_t *r = h_result(c, "channel_size", json_pack("{s:s}", "name", "stream"));

	CHECK(json_is_integer(r));
	json_decref(r);
}

static void test_client_limit(struct h_proc *omvd)
{
	const char *limit_args[] = { "--max-clients", "10", NULL };
	struct h_conn *cs[LIMIT], *extra;
	json_t *r;

	CHECK(h_stop(omvd, SIGTERM, 5000) == 0);
	*omvd = h_start_omvd(limit_args, true);
	cs[0] = cu_connect();
	/* The harness's own start-up connection may still be closing. */
	CHECK(h_wait_until(only_one_client, cs[0], 5000));
	for (int i = 1; i < LIMIT; i++) {
		cs[i] = cu_connect();
		channel_size_ok(cs[i]);
	}
	extra = cu_connect();	/* accepted by the kernel, refused by omvd */
	r = h_recv(extra, 5000);
	CHECK(r != NULL && json_object_get(r, "error") != NULL);
	CHECK(strstr(cu_str(json_object_get(r, "error"), "message"), "too many clients") != NULL);
	json_decref(r);
	CHECK(h_recv(extra, 5000) == NULL);
	h_close(extra);
	for (int i = 0; i < LIMIT; i++)
		channel_size_ok(cs[i]);
	for (int i = 0; i < LIMIT; i++)
		h_close(cs[i]);
}

/* ---- f: clients that leave in the middle of calls ---- */

#define LEAVERS 40
#define LEAVE_GROWTH_MAX (8L * MIB)

static char *big_script(void)
{
	size_t cap = 48 * 1024, len = 0;
	char *s = malloc(cap);

	CHECK(s != NULL);
	len += (size_t)snprintf(s, cap, "import time\n");
	while (len + 64 < cap)
		len += (size_t)snprintf(s + len, cap - len, "# padding to make the upload long\n");
	snprintf(s + len, cap - len, "while True:\n    time.sleep_ms(20)\n");
	return s;
}

static void one_leaver(const char *exec_line, int i)
{
	struct h_conn *c = cu_connect();

	if (i % 2 == 0)
		h_send_line(c, exec_line);
	h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"read_frame\","
		       "\"params\":{\"format\":\"rgb888\"}}");
	for (int k = 0; k < 5; k++)
		h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"channel_list\"}");
	h_close(c);
}

static void check_log_calm(void)
{
	FILE *f = fopen(h_path("omvd.log"), "r");
	char line[1024];
	int bad = 0;
	bool up = false;

	CHECK(f != NULL);
	while (fgets(line, sizeof line, f) != NULL) {
		up = up || strstr(line, "link up") != NULL;
		if (strstr(line, " error: ") != NULL || strstr(line, " warning: ") != NULL ||
		    strstr(line, "Sanitizer") != NULL || strstr(line, "runtime error") != NULL) {
			fprintf(stderr, "omvd logged: %s", line);
			bad++;
		}
	}
	fclose(f);
	CHECK(up);	/* the log is the daemon's */
	CHECK(bad == 0);
}

static void test_leave_mid_call(pid_t omvd)
{
	struct h_conn *obs = cu_connect(), *sub = cu_connect();
	char *script = big_script();
	json_t *req = json_pack("{s:s, s:i, s:s, s:{s:s}}", "jsonrpc", "2.0", "id", 1, "method",
				"exec", "params", "script", script);
	char *exec_line = json_dumps(req, JSON_COMPACT);
	long before, after;
	json_t *r;

	json_decref(req);
	/* Frames flow meanwhile, to a subscriber and into read_frame. */
	json_decref(h_result(sub, "subscribe", json_pack("{s:[s], s:s}", "topics", "frame",
							  "frame_format", "jpeg")));
	streaming(obs, true);
	json_decref(h_next_notification(sub, "frame", 5000));
	one_leaver(exec_line, 0);	/* warm-up: first-time allocations */
	r = h_result(obs, "version", NULL);
	json_decref(r);
	before = rss_bytes(omvd);
	for (int i = 0; i < LEAVERS; i++) {
		one_leaver(exec_line, i);
		r = h_result(obs, "channel_list", NULL);
		CHECK(json_object_size(r) >= 3);
		json_decref(r);
	}
	/* The cam is still usable by everyone: a script runs and prints. */
	json_decref(h_result(obs, "exec", json_pack("{s:s}", "script", "print(\"still here\")\n")));
	CHECK(cu_wait_stdout(obs, "still here", 5000));
	r = h_next_notification(sub, "frame", 5000);
	CHECK(r != NULL);
	json_decref(r);
	after = rss_bytes(omvd);
	CHECKF(after - before < LEAVE_GROWTH_MAX, "omvd grew by %ld KiB", (after - before) / 1024);
	r = h_result(obs, "status", NULL);
	CHECK(cu_int(r, "clients") == 2);
	json_decref(r);
	streaming(obs, false);
	h_close(sub);
	h_close(obs);
	free(exec_line);
	free(script);
}

/* ---- the end of a script comes after its last output ---- */

/* Subscriber's view of one script: its stdout until state says it ended. */
static void expect_end_after_output(struct h_conn *sub, const char *expected)
{
	uint64_t deadline = h_now_ms() + 5000;
	bool running = false;
	char text[8192] = "";

	for (;;) {
		uint64_t now = h_now_ms();
		json_t *m, *p;
		const char *method;

		CHECKF(now < deadline, "no end of the script (stdout so far: %s)", text);
		m = h_recv(sub, (unsigned)(deadline - now));
		CHECKF(m != NULL, "no end of the script (stdout so far: %s)", text);
		method = cu_str(m, "method");
		p = json_object_get(m, "params");
		if (strcmp(method, "stdout") == 0) {
			strncat(text, cu_str(p, "text"), sizeof text - strlen(text) - 1);
		} else if (strcmp(method, "state") == 0) {
			json_t *sr = json_object_get(p, "script_running");

			if (json_is_true(sr)) {
				running = true;
			} else if (json_is_false(sr) && running) {
				json_decref(m);
				break;
			}
		}
		json_decref(m);
	}
	CHECKF(strstr(text, expected) != NULL, "when the end came, stdout was:\n%s", text);
	CHECKF(strlen(text) >= 17 && strcmp(text + strlen(text) - 17, "MPY: soft reboot\n") == 0,
	       "the end came before the soft-reboot line; stdout was:\n%s", text);
}

/* omvctl exec --follow stops at that end, with all of the output. */
static void test_omvctl_follow(const char *script, const char *expected)
{
	const char *path = h_path("follow.py");
	char *argv[] = { getenv("OMVCTL"), "--socket", (char *)h_path("omvd.sock"), "exec",
			 "--follow", (char *)path, NULL };
	char out[4096] = "", *line;
	struct h_proc p;
	FILE *f;
	int status;

	if (argv[0] == NULL) {
		fprintf(stderr, "OMVCTL not set: omvctl exec --follow not checked\n");
		return;
	}
	f = fopen(path, "w");
	CHECK(f != NULL && fputs(script, f) >= 0 && fclose(f) == 0);
	p = h_spawn(argv, true);
	while ((line = h_read_line(&p, 5000)) != NULL) {
		strncat(out, line, sizeof out - strlen(out) - 2);
		strcat(out, "\n");
		free(line);
	}
	/* Its output ended: it exits by itself (SIGCONT only waits for it). */
	status = h_stop(&p, SIGCONT, 5000);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "omvctl status %d", status);
	CHECKF(strncmp(out, expected, strlen(expected)) == 0 &&
	       strcmp(out + strlen(expected), "MPY: soft reboot\n") == 0,
	       "omvctl exec --follow printed:\n%s", out);
}

static void test_script_end_order(void)
{
	struct h_conn *sub = cu_connect(), *ctl = cu_connect();
	char script[4096], expected[2048];
	size_t slen = 0, elen = 0;

	json_decref(h_result(sub, "subscribe", json_pack("{s:[s,s]}", "topics", "stdout",
							  "state")));
	for (int i = 1; i <= 20; i++) {
		slen += (size_t)snprintf(script + slen, sizeof script - slen,
					 "print(\"out %02d\")\n", i);
		elen += (size_t)snprintf(expected + elen, sizeof expected - elen, "out %02d\n", i);
	}
	/* A script that ends by itself, several times over. */
	for (int round = 0; round < 5; round++) {
		json_decref(h_result(ctl, "exec", json_pack("{s:s}", "script", script)));
		expect_end_after_output(sub, expected);
	}
	/* A script that is stopped. */
	json_decref(h_result(ctl, "exec", json_pack("{s:s}", "script",
						    "import time\nprint(\"looping\")\n"
						    "while True:\n    time.sleep_ms(10)\n")));
	CHECK(cu_wait_stdout(ctl, "looping", 5000));
	json_decref(h_result(ctl, "stop", NULL));
	expect_end_after_output(sub, "looping\n");
	test_omvctl_follow(script, expected);
	h_close(sub);
	h_close(ctl);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "";
	struct h_proc sim, omvd;

	no_quarantine_for_children();
	if (strcmp(which, "frames") == 0) {
		/* Every subscriber must get every frame: the cam may not go
		 * faster than this one process reads 8 clients (an RGB888 one
		 * among them) under sanitizers on a busy machine; omvd no
		 * longer slows the cam down while it converts frames. */
		sim = start_sim("--fps", "15");
		omvd = h_start_omvd(NULL, true);
		test_frames();
	} else if (strcmp(which, "stdout") == 0) {
		sim = start_sim(NULL, NULL);
		omvd = h_start_omvd(NULL, true);
		test_stdout_pollers();
	} else if (strcmp(which, "lock") == 0) {
		sim = start_sim("--profile", NULL);
		omvd = h_start_omvd(NULL, true);
		test_lock_holder_killed();
	} else if (strcmp(which, "stalled") == 0) {
		sim = start_sim("--fps", "60");
		omvd = h_start_omvd(NULL, true);
		test_stalled_subscriber(omvd.pid);
	} else if (strcmp(which, "many") == 0) {
		sim = start_sim(NULL, NULL);
		omvd = h_start_omvd(NULL, true);
		test_many_clients();
		test_client_limit(&omvd);
	} else if (strcmp(which, "leave") == 0) {
		sim = start_sim(NULL, NULL);
		omvd = start_omvd_logged();
		test_leave_mid_call(omvd.pid);
	} else if (strcmp(which, "script-end") == 0) {
		sim = start_sim(NULL, NULL);
		omvd = h_start_omvd(NULL, true);
		test_script_end_order();
	} else {
		fprintf(stderr, "usage: %s frames|stdout|lock|stalled|many|leave|script-end\n",
			argv[0]);
		return 2;
	}
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	if (strcmp(which, "leave") == 0)
		check_log_calm();
	h_stop(&sim, SIGTERM, 5000);
	printf("ok\n");
	return 0;
}
