/*
 * omvd with no cam (its port does not exist): the socket side alone.
 * JSON-RPC framing and every error path, -32000 from every cam method,
 * the methods that work without a cam, ordering, half-close, many
 * clients, the client limit, stale and live sockets, clean shutdown.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MAX_REQUEST 65536

static struct h_conn *conn(void)
{
	struct h_conn *c = h_connect(h_path("omvd.sock"));

	CHECK(c != NULL);
	return c;
}

/* The next reply must be an error with this code (and id, if id >= 0). */
static void expect_error_line(struct h_conn *c, const char *line, int code)
{
	json_t *r;

	h_send_line(c, line);
	r = h_recv(c, 5000);
	CHECKF(r != NULL, "no answer to %s", line);
	CHECKF(json_integer_value(json_object_get(json_object_get(r, "error"), "code")) == code,
	       "%s: expected %d", line, code);
	json_decref(r);
}

static void test_framing_errors(void)
{
	struct h_conn *c = conn();
	json_t *r, *e;

	expect_error_line(c, "{not json", -32700);
	expect_error_line(c, "\x01\x02\xff\xfe", -32700);
	expect_error_line(c, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", -32700);
	expect_error_line(c, "42", -32600);
	expect_error_line(c, "\"text\"", -32600);
	expect_error_line(c, "[]", -32600);
	expect_error_line(c, "{\"jsonrpc\":\"2.0\",\"id\":1}", -32600);
	expect_error_line(c, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"status\"}", -32600);
	expect_error_line(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"params\":7}",
			  -32600);
	expect_error_line(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no_such_method\"}",
			  -32601);
	expect_error_line(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"params\":[1]}",
			  -32602);

	h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"is_connected\",\"params\":[]}");
	r = h_recv(c, 5000);
	CHECK(r != NULL && json_is_false(json_object_get(r, "result")));
	json_decref(r);

	/* Empty lines are ignored; a parse error has id null. */
	h_send_line(c, "");
	h_send_line(c, "{bad");
	r = h_recv(c, 5000);
	CHECK(r != NULL && json_is_null(json_object_get(r, "id")));
	json_decref(r);

	/* Batch mixing valid, invalid and notifications: one array, in order,
	 * without the notification. */
	h_send_line(c, "[{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"is_connected\"},"
		       "{\"foo\":1},"
		       "{\"jsonrpc\":\"2.0\",\"method\":\"is_connected\"},"
		       "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"}]");
	r = h_recv(c, 5000);
	CHECK(json_is_array(r) && json_array_size(r) == 3);
	e = json_array_get(r, 0);
	CHECK(strcmp(json_string_value(json_object_get(e, "id")), "a") == 0);
	CHECK(json_is_false(json_object_get(e, "result")));
	e = json_array_get(r, 1);
	CHECK(json_is_null(json_object_get(e, "id")));
	CHECK(json_integer_value(json_object_get(json_object_get(e, "error"), "code")) == -32600);
	e = json_array_get(r, 2);
	CHECK(json_integer_value(json_object_get(e, "id")) == 3);
	CHECK(json_integer_value(json_object_get(json_object_get(e, "error"), "code")) == -32601);
	json_decref(r);

	/* A batch of invalid elements answers each of them. */
	h_send_line(c, "[1,2]");
	r = h_recv(c, 5000);
	CHECK(json_is_array(r) && json_array_size(r) == 2);
	json_decref(r);

	/* Notifications (also of unknown methods, also in a batch) get nothing:
	 * the next line received answers the request after them. */
	h_send_line(c, "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}");
	h_send_line(c, "[{\"jsonrpc\":\"2.0\",\"method\":\"status\"}]");
	h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"is_connected\"}");
	r = h_recv(c, 5000);
	CHECK(r != NULL && json_integer_value(json_object_get(r, "id")) == 99);
	json_decref(r);

	/* id null is a request, not a notification. */
	h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"is_connected\"}");
	r = h_recv(c, 5000);
	CHECK(r != NULL && json_is_null(json_object_get(r, "id")) &&
	      json_is_false(json_object_get(r, "result")));
	json_decref(r);
	h_close(c);
}

static void test_param_errors(void)
{
	struct h_conn *c = conn();
	json_t *r;

	/* Invalid params are reported before "not connected". */
	CHECK(h_error_code(c, "exec", NULL) == -32602);
	CHECK(h_error_code(c, "exec", json_pack("{s:i}", "script", 5)) == -32602);
	CHECK(h_error_code(c, "exec", json_pack("{s:s, s:i}", "script", "x", "bogus", 1)) == -32602);
	CHECK(h_error_code(c, "streaming", json_pack("{s:s}", "enable", "yes")) == -32602);
	CHECK(h_error_code(c, "streaming", json_pack("{s:b, s:b}", "enable", 1, "raw", 1)) == -32602);
	CHECK(h_error_code(c, "streaming", json_pack("{s:b, s:[i]}", "enable", 1, "resolution", 3)) ==
	      -32602);
	CHECK(h_error_code(c, "read_frame", json_pack("{s:s}", "format", "png")) == -32602);
	CHECK(h_error_code(c, "channel_read", json_pack("{s:i}", "name", 1)) == -32602);
	CHECK(h_error_code(c, "channel_read", json_pack("{s:s, s:i}", "name", "x", "size", -1)) ==
	      -32602);
	CHECK(h_error_code(c, "channel_write", json_pack("{s:s, s:s}", "name", "x", "data", "!!")) ==
	      -32602);
	CHECK(h_error_code(c, "channel_lock", json_pack("{s:i}", "channel_id", 256)) == -32602);
	CHECK(h_error_code(c, "channel_read_id", json_pack("{s:i}", "channel_id", 1)) == -32602);
	CHECK(h_error_code(c, "channel_ioctl", json_pack("{s:i, s:i, s:s, s:[i]}", "channel_id", 3,
							 "cmd", 0, "fmt", "<B", "args", 300)) ==
	      -32602);
	CHECK(h_error_code(c, "channel_ioctl", json_pack("{s:i, s:i, s:[i]}", "channel_id", 3,
							 "cmd", 0, "args", 1)) == -32602);
	CHECK(h_error_code(c, "send_command", json_pack("{s:i}", "opcode", 300)) == -32602);
	CHECK(h_error_code(c, "get_channel", json_object()) == -32602);
	CHECK(h_error_code(c, "subscribe", json_pack("{s:[s]}", "topics", "weather")) == -32602);
	CHECK(h_error_code(c, "subscribe", json_pack("{s:[s], s:s}", "topics", "frame",
						     "frame_format", "bmp")) == -32602);
	CHECK(h_error_code(c, "subscribe", NULL) == -32602);

	/* The message names the parameter. */
	r = h_call(c, "exec", json_pack("{s:i}", "script", 5));
	CHECK(strstr(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
		     "'script'") != NULL);
	json_decref(r);
	h_close(c);
}

static void test_cam_methods_not_connected(void)
{
	struct h_conn *c = conn();
	static const char *const no_params[] = {
		"version", "system_info", "device_stats", "reset", "boot", "update_capabilities",
		"resync", "stop", "read_frame", "read_status", "update_channels", "channel_list",
		"profiler_mode", "profiler_reset", "read_profile",
	};
	json_t *r;

	for (size_t i = 0; i < sizeof no_params / sizeof no_params[0]; i++)
		CHECKF(h_error_code(c, no_params[i], NULL) == -32000, "%s", no_params[i]);
	struct { const char *method; const char *params; } with[] = {
		{ "exec", "{\"script\":\"print(1)\"}" },
		{ "streaming", "{\"enable\":true}" },
		{ "has_channel", "{\"name\":\"stdin\"}" },
		{ "channel_size", "{\"name\":\"stdin\"}" },
		{ "channel_read", "{\"name\":\"stdin\"}" },
		{ "channel_write", "{\"name\":\"stdin\",\"data\":\"AA==\"}" },
		{ "get_channel", "{\"channel_id\":1}" },
		{ "channel_lock", "{\"channel_id\":4}" },
		{ "channel_unlock", "{\"channel_id\":4}" },
		{ "channel_shape", "{\"channel_id\":3}" },
		{ "channel_size_id", "{\"channel_id\":3}" },
		{ "channel_read_id", "{\"channel_id\":4,\"offset\":0,\"length\":4}" },
		{ "channel_write_id", "{\"channel_id\":1,\"data\":\"\"}" },
		{ "channel_ioctl", "{\"channel_id\":4,\"cmd\":0,\"fmt\":\"<I\",\"args\":[1]}" },
		{ "send_command", "{\"opcode\":4}" },
		{ "profiler_event", "{\"counter_num\":0,\"event_id\":1}" },
	};
	for (size_t i = 0; i < sizeof with / sizeof with[0]; i++)
		CHECKF(h_error_code(c, with[i].method, json_loads(with[i].params, 0, NULL)) == -32000,
		       "%s", with[i].method);

	/* What works without a cam. */
	r = h_result(c, "is_connected", NULL);
	CHECK(json_is_false(r));
	json_decref(r);
	r = h_result(c, "status", NULL);
	CHECK(strcmp(json_string_value(json_object_get(r, "link")), "ready") != 0);
	CHECK(json_is_null(json_object_get(r, "caps")));
	CHECK(json_integer_value(json_object_get(r, "clients")) >= 1);
	CHECK(json_is_integer(json_object_get(r, "uptime_ms")));
	CHECK(json_is_object(json_object_get(r, "counters")));
	CHECK(json_is_false(json_object_get(json_object_get(r, "shared"), "streaming")));
	CHECK(strcmp(json_string_value(json_object_get(r, "port")), h_path("nocam")) == 0);
	json_decref(r);
	r = h_result(c, "host_stats", NULL);
	CHECK(json_is_integer(json_object_get(r, "sent")) &&
	      json_is_integer(json_object_get(r, "checksum")));
	json_decref(r);
	r = h_result(c, "poll_events", NULL);
	CHECK(json_is_array(r) && json_array_size(r) == 0);
	json_decref(r);
	r = h_result(c, "read_stdout", NULL);
	CHECK(json_is_null(r));
	json_decref(r);
	r = h_result(c, "subscribe", json_pack("{s:[s,s]}", "topics", "link", "state"));
	CHECK(json_array_size(r) == 2);
	json_decref(r);
	r = h_result(c, "unsubscribe", json_pack("{s:[s]}", "topics", "link"));
	CHECK(json_array_size(r) == 1 && strcmp(json_string_value(json_array_get(r, 0)), "state") == 0);
	json_decref(r);
	r = h_result(c, "clients", NULL);
	CHECK(json_is_array(r) && json_array_size(r) >= 1);
	json_t *me = json_array_get(r, json_array_size(r) - 1);
	CHECK(json_is_true(json_object_get(me, "self")));
	CHECK(json_integer_value(json_object_get(me, "stdout_missed")) == 0);
	CHECK(json_integer_value(json_object_get(me, "calls")) > 30);
	CHECK(json_integer_value(json_object_get(me, "errors")) >= 31);
	CHECK(json_integer_value(json_object_get(me, "bytes_in")) > 0);
	CHECK(json_array_size(json_object_get(me, "subscriptions")) == 1);
	json_decref(r);
	h_close(c);
}

/* Many requests in one write: replies come back in request order. */
static void test_ordering(void)
{
	struct h_conn *c = conn();
	char line[128];
	int n = 200;

	for (int i = 1; i <= n; i++) {
		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"}", i,
			 i % 3 == 0 ? "version" : i % 3 == 1 ? "status" : "nope");
		h_send_line(c, line);
	}
	for (int i = 1; i <= n; i++) {
		json_t *r = h_recv(c, 5000);
		CHECKF(r != NULL && json_integer_value(json_object_get(r, "id")) == i, "reply %d", i);
		json_decref(r);
	}
	h_close(c);
}

static void test_request_limit(void)
{
	struct h_conn *c = conn();
	char *big = malloc(MAX_REQUEST + 2);
	const char *head = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"is_connected\"}";
	json_t *r;

	/* Exactly at the limit (padded with spaces) is served. */
	memset(big, ' ', MAX_REQUEST);
	memcpy(big, head, strlen(head));
	big[MAX_REQUEST] = '\0';
	h_send_line(c, big);
	r = h_recv(c, 5000);
	CHECK(r != NULL && json_integer_value(json_object_get(r, "id")) == 5);
	json_decref(r);

	/* One byte more: -32007, then the connection closes. */
	big[MAX_REQUEST] = ' ';
	big[MAX_REQUEST + 1] = '\0';
	h_send_line(c, big);
	r = h_recv(c, 5000);
	CHECK(r != NULL);
	CHECK(json_integer_value(json_object_get(json_object_get(r, "error"), "code")) == -32007);
	json_decref(r);
	CHECK(h_recv(c, 5000) == NULL);	/* EOF */
	h_close(c);

	/* A line that never ends is cut as soon as it passes the limit. */
	c = conn();
	memset(big, 'x', MAX_REQUEST + 1);
	CHECK(write(h_conn_fd(c), big, MAX_REQUEST + 1) == MAX_REQUEST + 1);
	r = h_recv(c, 5000);
	CHECK(r != NULL);
	CHECK(json_integer_value(json_object_get(json_object_get(r, "error"), "code")) == -32007);
	json_decref(r);
	CHECK(h_recv(c, 5000) == NULL);
	h_close(c);
	free(big);
}

/* A client that shuts its writing side still gets its answers. */
static void test_half_close(void)
{
	struct h_conn *c = conn();
	json_t *r;

	h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"is_connected\"}");
	/* The last line may lack its newline. */
	const char *last = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"status\"}";
	CHECK(write(h_conn_fd(c), last, strlen(last)) == (ssize_t)strlen(last));
	shutdown(h_conn_fd(c), SHUT_WR);
	r = h_recv(c, 5000);
	CHECK(r != NULL && json_integer_value(json_object_get(r, "id")) == 1);
	json_decref(r);
	r = h_recv(c, 5000);
	CHECK(r != NULL && json_integer_value(json_object_get(r, "id")) == 2);
	json_decref(r);
	CHECK(h_recv(c, 5000) == NULL);
	h_close(c);
}

#define MANY 300

static void test_many_clients(void)
{
	struct h_conn **cs = calloc(MANY, sizeof *cs);
	json_t *r;

	for (int i = 0; i < MANY; i++)
		cs[i] = conn();
	for (int i = 0; i < MANY; i++)
		h_send_line(cs[i], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"is_connected\"}");
	for (int i = 0; i < MANY; i++) {
		r = h_recv(cs[i], 5000);
		CHECKF(r != NULL && json_is_false(json_object_get(r, "result")), "client %d", i);
		json_decref(r);
	}
	r = h_result(cs[0], "status", NULL);
	CHECK(json_integer_value(json_object_get(r, "clients")) >= MANY);
	json_decref(r);
	for (int i = 0; i < MANY; i++)
		h_close(cs[i]);
	free(cs);
}

/* A client gone with requests unanswered does not disturb the others. */
static void test_abrupt_close(void)
{
	struct h_conn *a = conn(), *b = conn();
	json_t *r;

	for (int i = 0; i < 50; i++)
		h_send_line(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}");
	h_close(a);
	r = h_result(b, "is_connected", NULL);
	CHECK(json_is_false(r));
	json_decref(r);
	h_close(b);
}

static struct h_proc spawn_omvd(const char *sock, const char *extra1, const char *extra2)
{
	char *argv[] = { (char *)getenv("OMVD"), "--port", (char *)h_path("nocam"), "--socket",
			 (char *)sock, (char *)extra1, (char *)extra2, NULL };

	return h_spawn(argv, false);
}

static struct h_conn *connect_within(const char *sock, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;
	struct h_conn *c;

	while ((c = h_connect(sock)) == NULL && h_now_ms() < deadline)
		usleep(5000);
	return c;
}

static void test_client_limit(void)
{
	const char *sock = h_path("limited.sock");
	struct h_proc p = spawn_omvd(sock, "--max-clients", "2");
	struct h_conn *a = connect_within(sock, 5000), *b, *c;
	json_t *r;

	CHECK(a != NULL);
	b = h_connect(sock);
	CHECK(b != NULL);
	r = h_result(b, "is_connected", NULL);	/* both are really served */
	json_decref(r);
	c = h_connect(sock);
	CHECK(c != NULL);
	r = h_recv(c, 5000);	/* the third gets one error line, then EOF */
	CHECK(r != NULL && json_object_get(r, "error") != NULL);
	json_decref(r);
	CHECK(h_recv(c, 5000) == NULL);
	h_close(c);
	r = h_result(a, "is_connected", NULL);
	json_decref(r);
	h_close(a);
	h_close(b);
	CHECK(h_stop(&p, SIGTERM, 5000) == 0);
}

static bool sock_gone(void *path)
{
	struct stat st;

	return stat(path, &st) < 0 && errno == ENOENT;
}

static void test_stale_and_live_socket(void)
{
	const char *sock = h_path("sub/dir/stale.sock");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct h_proc p, q;
	struct h_conn *c;
	struct stat st;
	int fd, status;

	/* A socket file nobody listens on (a crashed daemon's) is replaced. */
	mkdir(h_path("sub"), 0755);
	mkdir(h_path("sub/dir"), 0755);
	strcpy(addr.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
	close(fd);
	p = spawn_omvd(sock, NULL, NULL);
	c = connect_within(sock, 5000);
	CHECK(c != NULL);
	CHECK(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0660);

	/* A second daemon on a live socket refuses to start and leaves it be. */
	q = spawn_omvd(sock, NULL, NULL);
	CHECK(waitpid(q.pid, &status, 0) == q.pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	q.pid = -1;
	json_t *r = h_result(c, "is_connected", NULL);
	json_decref(r);
	h_close(c);

	/* SIGTERM: clean exit, socket file removed. */
	CHECK(h_stop(&p, SIGTERM, 5000) == 0);
	CHECK(h_wait_until(sock_gone, (void *)sock, 1000));

	/* The parent directory is created when missing. */
	sock = h_path("new/dir/omvd.sock");
	p = spawn_omvd(sock, NULL, NULL);
	c = connect_within(sock, 5000);
	CHECK(c != NULL);
	h_close(c);
	CHECK(h_stop(&p, SIGTERM, 5000) == 0);
}

/* Random bytes and mutated requests: the daemon answers what it can and
 * keeps serving (deterministic generator). */
static void test_garbage(void)
{
	static const char *const templates[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}",
		"[{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"channel_read\",\"params\":"
		"{\"name\":\"a\",\"size\":3}},{\"jsonrpc\":\"2.0\",\"method\":\"stop\"}]",
		"{\"jsonrpc\":\"2.0\",\"id\":2.5,\"method\":\"channel_ioctl\",\"params\":"
		"{\"channel_id\":3,\"cmd\":1,\"fmt\":\"<2I\",\"args\":[1,2]}}",
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"subscribe\",\"params\":"
		"{\"topics\":[\"frame\"],\"frame_format\":\"rgb888\"}}",
	};
	struct h_conn *c = conn();
	uint32_t seed = 12345;
	char line[512];
	json_t *r;

	for (int i = 0; i < 3000; i++) {
		seed = seed * 1103515245u + 12345u;
		if (i % 3 == 0) {
			size_t n = 1 + (seed >> 8) % 200;
			for (size_t k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				line[k] = (char)(1 + (seed >> 16) % 255);	/* no NUL */
			}
			line[n] = '\0';
		} else {
			const char *t = templates[(seed >> 8) % 4];
			size_t n = strlen(t);
			memcpy(line, t, n + 1);
			for (int m = 0; m < 3; m++) {
				seed = seed * 1103515245u + 12345u;
				line[(seed >> 8) % n] = (char)(32 + (seed >> 20) % 95);
			}
		}
		h_send_line(c, line);
	}
	/* Everything before the marker has been handled once it is answered. */
	h_send_line(c, "{\"jsonrpc\":\"2.0\",\"id\":\"marker\",\"method\":\"is_connected\"}");
	for (;;) {
		r = h_recv(c, 10000);
		CHECKF(r != NULL, "the daemon stopped answering after garbage");
		bool marker = json_is_string(json_object_get(r, "id")) &&
			      strcmp(json_string_value(json_object_get(r, "id")), "marker") == 0;
		json_decref(r);
		if (marker)
			break;
	}
	h_close(c);
	c = conn();
	r = h_result(c, "status", NULL);
	json_decref(r);
	h_close(c);
}

static int run_status(char *const argv[])
{
	struct h_proc p = h_spawn(argv, true);
	int status;

	CHECK(waitpid(p.pid, &status, 0) == p.pid);
	close(p.out_fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_options(void)
{
	char *version[] = { getenv("OMVD"), "--version", NULL };
	char *help[] = { getenv("OMVD"), "--help", NULL };
	char *bad[] = { getenv("OMVD"), "--timeout", "soon", NULL };
	char *unknown[] = { getenv("OMVD"), "--frobnicate", NULL };
	struct h_proc p = h_spawn(version, true);
	char *line = h_read_line(&p, 5000);

	CHECK(line != NULL && strncmp(line, "omvd ", 5) == 0);
	free(line);
	h_stop(&p, SIGTERM, 5000);
	CHECK(run_status(help) == 0);
	CHECK(run_status(bad) == 2);
	CHECK(run_status(unknown) == 2);
}

int main(void)
{
	const char *extra[] = { "--port", h_path("nocam"), "--max-request", "65536", NULL };
	struct h_proc omvd = h_start_omvd(extra, false);

	test_framing_errors();
	test_param_errors();
	test_cam_methods_not_connected();
	test_ordering();
	test_request_limit();
	test_half_close();
	test_garbage();
	test_abrupt_close();
	test_many_clients();
	test_client_limit();
	test_stale_and_live_socket();
	test_options();
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	printf("ok\n");
	return 0;
}
