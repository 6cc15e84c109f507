/*
 * The daemon's limits seen by clients (docs/rpc.md, "Limits"); one case
 * per run, each with its own camsim and omvd:
 *
 *   request-size  a line over --max-request: -32007, connection closed
 *   values        a line of too many tiny values: -32600, connection kept
 *   int64         integers beyond int64: -32602 with the id, per request
 *   pipeline      a client pipelining without reading: its queued output
 *                 stays bounded, and every reply arrives, in order
 *   state         a stalled `state` subscriber gets the latest state
 *   events        a stalled `event` subscriber: oldest dropped, counted,
 *                 the newest delivered
 *   port-lock     a second omvd on the same port refuses to start
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cam_util.h"

static json_t *error_of(json_t *reply)
{
	json_t *e = json_object_get(reply, "error");

	CHECKF(json_is_object(e), "expected an error reply");
	return e;
}

static void start(const char *const *omvd_args)
{
	const char *sim_args[] = { "--control", h_path("control"), NULL };

	h_start_camsim(sim_args);
	h_start_omvd(omvd_args, true);
}

static void test_request_size(void)
{
	static const char *const args[] = { "--max-request", "65536", NULL };
	struct h_conn *c;
	char *line = malloc(200000);
	json_t *r;

	start(args);
	c = cu_connect();
	CHECK(line != NULL);
	memset(line, ' ', 199999);
	memcpy(line, "{\"x\":\"", 6);
	line[199999] = '\0';
	h_send_line(c, line);
	r = h_recv(c, 5000);
	CHECK(r != NULL);
	CHECK(cu_int(error_of(r), "code") == -32007);
	CHECK(strstr(cu_str(error_of(r), "message"), "65536") != NULL);
	json_decref(r);
	CHECK(h_recv(c, 5000) == NULL);	/* then closed */
	h_close(c);
	free(line);
}

static void test_values(void)
{
	struct h_conn *c;
	size_t n = 0;
	char *line = malloc(200000);
	json_t *r;

	start(NULL);
	c = cu_connect();
	CHECK(line != NULL);
	line[n++] = '[';
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(line + n, "%s{}", i ? "," : "");
	line[n++] = ']';
	line[n] = '\0';
	h_send_line(c, line);
	r = h_recv(c, 5000);
	CHECK(r != NULL && json_is_null(json_object_get(r, "id")));
	CHECK(cu_int(error_of(r), "code") == -32600);
	CHECK(strstr(cu_str(error_of(r), "message"), "16384") != NULL);
	json_decref(r);
	/* Not a reason to hang up. */
	r = h_result(c, "is_connected", NULL);
	CHECK(json_is_true(r));
	json_decref(r);
	h_close(c);
	free(line);
}

static void test_int64(void)
{
	struct h_conn *c;
	json_t *r, *e;

	start(NULL);
	c = cu_connect();
	h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"channel_size_id\","
		       "\"params\":{\"channel_id\":-99999999999999999999}}");
	r = h_recv(c, 5000);
	CHECK(r != NULL && cu_int(r, "id") == 5);
	CHECK(cu_int(error_of(r), "code") == -32602);
	json_decref(r);
	/* Only the request holding one fails; 9223372036854775807 is fine. */
	h_send_line(c, "[{\"jsonrpc\":\"2.0\",\"id\":9223372036854775807,"
		       "\"method\":\"is_connected\"},"
		       "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"is_connected\","
		       "\"params\":{\"x\":9223372036854775808}},"
		       "{\"jsonrpc\":\"2.0\",\"id\":\"99999999999999999999\","
		       "\"method\":\"is_connected\"}]");
	r = h_recv(c, 5000);
	CHECK(json_is_array(r) && json_array_size(r) == 3);
	CHECK(cu_int(json_array_get(r, 0), "id") == INT64_MAX);
	CHECK(json_is_true(json_object_get(json_array_get(r, 0), "result")));
	e = json_array_get(r, 1);
	CHECK(cu_int(e, "id") == 2 && cu_int(error_of(e), "code") == -32602);
	CHECK(strcmp(cu_str(json_array_get(r, 2), "id"), "99999999999999999999") == 0);
	CHECK(json_is_true(json_object_get(json_array_get(r, 2), "result")));
	json_decref(r);
	/* An id beyond int64 is answered with a number id, not a parse error. */
	h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,"
		       "\"method\":\"is_connected\"}");
	r = h_recv(c, 5000);
	CHECK(r != NULL && json_is_number(json_object_get(r, "id")));
	CHECK(json_number_value(json_object_get(r, "id")) > 1.8e19);
	CHECK(cu_int(error_of(r), "code") == -32602);
	json_decref(r);
	h_close(c);
}

static void test_pipeline(void)
{
	static const char *const args[] = { "--client-output", "16384", NULL };
	enum { N = 20000 };
	struct h_conn *admin, *c;
	size_t blen = 0, sent = 0;
	char *block = malloc((size_t)N * 64);
	int64_t id, queued;
	uint64_t deadline;
	json_t *e;
	int fd;

	start(args);
	admin = cu_connect();
	c = cu_connect();
	id = cu_self_id(c);
	CHECK(block != NULL);
	for (int i = 1; i <= N; i++)
		blen += (size_t)sprintf(block + blen,
					"{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"version\"}\n", i);
	/* Write without reading until the daemon stops reading us. */
	fd = h_conn_fd(c);
	while (sent < blen) {
		ssize_t n = send(fd, block + sent, blen - sent, MSG_DONTWAIT);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	CHECK(sent < blen);	/* it did stop: the socket filled up */
	/* The daemon goes on until its output for us reaches the soft limit
	 * (queued_bytes is the memory it holds), and stops there, whatever
	 * was sent: a chunk of replies above it at most. */
	deadline = h_now_ms() + 5000;
	do {
		e = cu_client(admin, id);
		queued = cu_int(e, "queued_bytes");
		json_decref(e);
		CHECKF(queued <= 16384 + 8192, "queued %lld", (long long)queued);
	} while (queued < 16384 && h_now_ms() < deadline);
	CHECKF(queued >= 16384, "queued %lld: the output never filled", (long long)queued);
	for (int i = 0; i < 20; i++) {
		e = cu_client(admin, id);
		queued = cu_int(e, "queued_bytes");
		json_decref(e);
		CHECKF(queued >= 16384 && queued <= 16384 + 8192, "queued %lld", (long long)queued);
	}
	/* Every reply comes, in order, as the client reads. */
	for (int i = 1; i <= N; i++) {
		if (sent < blen) {
			ssize_t n = send(fd, block + sent, blen - sent, MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
		}
		json_t *r = h_recv(c, 10000);
		CHECKF(r != NULL, "reply %d missing", i);
		CHECKF(cu_int(r, "id") == i, "reply %lld where %d was due",
		       (long long)cu_int(r, "id"), i);
		json_decref(r);
	}
	h_close(c);
	h_close(admin);
	free(block);
}

static void test_state(void)
{
	static const char *const args[] = { "--client-output", "4096", NULL };
	struct h_conn *toggler, *sub;
	json_t *r, *last = NULL, *n;
	int notes = 0;

	start(args);
	toggler = cu_connect();
	sub = cu_connect();
	json_decref(h_result(sub, "subscribe", json_pack("{s:[s]}", "topics", "state")));
	/* The subscriber reads nothing while streaming flips 400 times. */
	for (int i = 0; i < 400; i++) {
		r = h_result(toggler, "streaming", json_pack("{s:b}", "enable", i % 2 == 0));
		json_decref(r);
	}
	r = h_result(toggler, "status", NULL);
	CHECK(!json_is_true(json_object_get(json_object_get(r, "shared"), "streaming")));
	json_decref(r);
	/* Now it reads: fewer notifications than changes, the last one right. */
	while ((n = h_next_notification(sub, "state", 1000)) != NULL) {
		json_decref(last);
		last = n;
		notes++;
	}
	CHECK(last != NULL);
	CHECK(!json_is_true(json_object_get(json_object_get(last, "params"), "streaming")));
	CHECKF(notes < 400, "%d state notifications for 400 changes", notes);
	json_decref(last);
	h_close(sub);
	h_close(toggler);
}

static void test_events(void)
{
	static const char *const args[] = { "--client-output", "4096", NULL };
	struct h_conn *admin, *sub, *ctl;
	json_t *e, *n, *last = NULL;
	int64_t id, dropped = -1;
	int notes = 0;

	start(args);
	admin = cu_connect();
	sub = cu_connect();
	id = cu_self_id(sub);
	json_decref(h_result(sub, "subscribe", json_pack("{s:[s]}", "topics", "event")));
	ctl = h_connect(h_path("control"));
	CHECK(ctl != NULL);
	/* 3000 events with codes 1..3000 on the system channel (no meaning). */
	for (int code = 1; code <= 3000; code++) {
		char line[32];
		snprintf(line, sizeof line, "event 0 %d", code + 100);
		h_send_line(ctl, line);
		json_decref(h_recv(ctl, 5000));
	}
	/* Reading now: the newest comes last (events wait in order). */
	while ((n = h_next_notification(sub, "event", 10000)) != NULL) {
		int64_t code = cu_int(json_object_get(n, "params"), "event");
		json_decref(last);
		last = n;
		notes++;
		if (code == 3100)
			break;
	}
	CHECKF(last != NULL && cu_int(json_object_get(last, "params"), "event") == 3100,
	       "the newest event was not delivered");
	e = cu_client(admin, id);
	dropped = cu_int(e, "notifications_dropped");
	json_decref(e);
	CHECKF(dropped > 0, "notifications_dropped %lld", (long long)dropped);
	CHECKF(notes + dropped <= 3000, "%d delivered + %lld dropped > 3000", notes,
	       (long long)dropped);
	json_decref(last);
	h_close(ctl);
	h_close(sub);
	h_close(admin);
}

static void test_port_lock(void)
{
	struct h_proc second;
	uint64_t deadline;
	siginfo_t si;
	int st;

	start(NULL);
	/* h_path() rotates its buffers: copies, taken after the start. */
	char *port = strdup(h_path("cam")), *sock = strdup(h_path("second.sock"));
	const char *argv[] = { getenv("OMVD"), "--port", port, "--socket", sock, NULL };
	second = h_spawn((char *const *)argv, false);
	deadline = h_now_ms() + 5000;
	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)second.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == second.pid)
			break;
		CHECKF(h_now_ms() < deadline, "a second omvd on the same port kept running");
		usleep(10000);
	}
	st = h_stop(&second, SIGTERM, 1000);
	CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
	free(port);
	free(sock);
	/* The first one still serves. */
	{
		struct h_conn *c = cu_connect();
		json_t *r = h_result(c, "is_connected", NULL);
		CHECK(json_is_true(r));
		json_decref(r);
		h_close(c);
	}
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } cases[] = {
		{ "request-size", test_request_size }, { "values", test_values },
		{ "int64", test_int64 }, { "pipeline", test_pipeline },
		{ "state", test_state }, { "events", test_events },
		{ "port-lock", test_port_lock },
	};

	CHECKF(argc == 2, "usage: test_limits CASE");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].fn();
			printf("limits %s: ok\n", argv[1]);
			return 0;
		}
	}
	h_fail(__FILE__, __LINE__, "no case %s", argv[1]);
}
