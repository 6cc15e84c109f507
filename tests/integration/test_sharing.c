/*
 * The sharing rules of docs/rpc.md held against clients that try to break
 * them, on camsim through omvd: the stream and stdout channels stay the
 * daemon's (frames keep flowing to the others), locks survive the
 * daemon's resyncs and the cam's soft reboots and are never held twice,
 * send_command passes through or refuses clearly; and the error codes and
 * names the openmv package's users expect.
 *
 * One case per run (argv[1]), each with its own camsim and omvd.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam_util.h"

#define STREAM 3
#define STDOUT 2
#define PROFILE 4

static struct h_proc start_sim(const char *extra)
{
	const char *args[] = { "--control", h_path("control"), extra, NULL };

	return h_start_camsim(args);
}

/* The error of a call that must fail with code, its message containing needle. */
static void expect_error(struct h_conn *c, const char *method, json_t *params, int code,
			 const char *needle)
{
	json_t *resp = h_call(c, method, params), *err = json_object_get(resp, "error");

	CHECKF(err != NULL && cu_int(err, "code") == code, "%s: want %d, got %s", method, code,
	       err != NULL ? cu_str(err, "message") : "a result");
	CHECKF(needle == NULL || strstr(cu_str(err, "message"), needle) != NULL,
	       "%s: '%s' not in '%s'", method, needle, cu_str(err, "message"));
	json_decref(resp);
}

static int64_t next_frame_number(struct h_conn *sub)
{
	json_t *n = h_next_notification(sub, "frame", 5000);
	int64_t number;

	CHECKF(n != NULL, "no frame came");
	number = cu_int(json_object_get(n, "params"), "number");
	json_decref(n);
	return number;
}

static bool sim_streaming(void)
{
	json_t *st = cu_control("stats");
	bool on = json_is_true(json_object_get(st, "streaming"));

	json_decref(st);
	return on;
}

static bool shared_streaming(struct h_conn *c)
{
	json_t *r = h_result(c, "status", NULL);
	bool on = json_is_true(json_object_get(json_object_get(r, "shared"), "streaming"));

	json_decref(r);
	return on;
}

/* ---- nobody takes the stream from the others ---- */

static void test_stream_steal(void)
{
	struct h_conn *sub = cu_connect(), *thief = cu_connect();
	char *read_stream = h_b64_encode("\0\0\0\0\0\0\x10\0", 8);	/* offset 0, 4096 */
	char *ctrl_off = h_b64_encode("\0\0\0\0\0\0\0\0", 8);	/* STREAM_CTRL 0 */
	int64_t before, after;

	/* A subscription alone is a wish for frames: streaming comes on. */
	CHECK(!sim_streaming());
	json_decref(h_result(sub, "subscribe", json_pack("{s:[s]}", "topics", "frame")));
	before = next_frame_number(sub);
	CHECK(sim_streaming() && shared_streaming(thief));

	expect_error(thief, "channel_lock", json_pack("{s:i}", "channel_id", STREAM), -32602,
		     "read_frame");
	expect_error(thief, "channel_unlock", json_pack("{s:i}", "channel_id", STREAM), -32602,
		     "streaming");
	expect_error(thief, "channel_read", json_pack("{s:s}", "name", "stream"), -32602,
		     "read_frame");
	expect_error(thief, "channel_read_id", json_pack("{s:i, s:i, s:i}", "channel_id", STREAM,
							 "offset", 0, "length", 4096), -32602,
		     "read_frame");
	for (int cmd = 0; cmd <= 2; cmd++)
		expect_error(thief, "channel_ioctl", json_pack("{s:i, s:i, s:s, s:[i,i]}",
							       "channel_id", STREAM, "cmd", cmd,
							       "fmt", "II", "args", 0, 0),
			     -32602, "streaming");
	expect_error(thief, "send_command", json_pack("{s:i, s:i}", "opcode", 0x22, "channel",
						      STREAM), -32602, "streaming");
	expect_error(thief, "send_command", json_pack("{s:i, s:i}", "opcode", 0x23, "channel",
						      STREAM), -32602, "streaming");
	expect_error(thief, "send_command", json_pack("{s:i, s:i, s:s}", "opcode", 0x26, "channel",
						      STREAM, "data", read_stream), -32602,
		     "streaming");
	expect_error(thief, "send_command", json_pack("{s:i, s:i, s:s}", "opcode", 0x28, "channel",
						      STREAM, "data", ctrl_off), -32602,
		     "streaming");
	/* The size of the stream channel is harmless. */
	json_decref(h_result(thief, "channel_size", json_pack("{s:s}", "name", "stream")));

	/* Frames still flow to the subscriber, one after the other. */
	after = next_frame_number(sub);
	for (int i = 0; i < 5; i++) {
		int64_t n = next_frame_number(sub);

		CHECKF(n == after + 1, "frame %lld after %lld", (long long)n, (long long)after);
		after = n;
	}
	CHECK(after > before && sim_streaming());

	/* The wish goes with the subscription. */
	json_decref(h_result(sub, "unsubscribe", json_pack("{s:[s]}", "topics", "frame")));
	CHECK(!shared_streaming(thief));
	free(read_stream);
	free(ctrl_off);
	h_close(sub);
	h_close(thief);
}

/* ---- stdout: every client's own cursor, also through the channel methods ---- */

static void test_stdout_channel(void)
{
	struct h_conn *a = cu_connect(), *b = cu_connect();
	char *read_stdout_raw = h_b64_encode("\0\0\0\0\x40\0\0\0", 8);	/* offset 0, 64 */
	json_t *r;
	uint8_t *data;
	size_t len;

	json_decref(h_result(a, "exec", json_pack("{s:s}", "script", "print(\"0123456789\")\n")));
	CHECK(cu_wait_stdout(b, "MPY: soft reboot\n", 5000));	/* all of it is in */

	/* A: the same bytes through the channel methods, from its cursor. */
	r = h_result(a, "channel_size", json_pack("{s:s}", "name", "stdout"));
	CHECK(json_integer_value(r) == 11 + 17);
	json_decref(r);
	r = h_result(a, "channel_size_id", json_pack("{s:i}", "channel_id", STDOUT));
	CHECK(json_integer_value(r) == 11 + 17);
	json_decref(r);
	r = h_result(a, "channel_read", json_pack("{s:s, s:i}", "name", "stdout", "size", 4));
	data = h_b64_decode(json_string_value(r), &len);
	CHECK(data != NULL && len == 4 && memcmp(data, "0123", 4) == 0);
	free(data);
	json_decref(r);
	/* by id: offset skips unread bytes */
	r = h_result(a, "channel_read_id", json_pack("{s:i, s:i, s:i}", "channel_id", STDOUT,
						     "offset", 2, "length", 3));
	data = h_b64_decode(json_string_value(r), &len);
	CHECK(data != NULL && len == 3 && memcmp(data, "678", 3) == 0);
	free(data);
	json_decref(r);
	r = h_result(a, "read_status", NULL);
	CHECK(json_is_true(json_object_get(r, "stdout")));
	json_decref(r);
	r = h_result(a, "read_stdout", NULL);
	CHECK(json_is_string(r) && strcmp(json_string_value(r), "9\nMPY: soft reboot\n") == 0);
	json_decref(r);
	r = h_result(a, "read_status", NULL);
	CHECK(json_is_false(json_object_get(r, "stdout")));
	json_decref(r);
	r = h_result(a, "channel_read", json_pack("{s:s}", "name", "stdout"));
	CHECK(json_is_string(r) && strcmp(json_string_value(r), "") == 0);
	json_decref(r);
	/* Raw READs of stdout would drain the cam behind everybody's back. */
	expect_error(a, "send_command", json_pack("{s:i, s:i, s:s}", "opcode", 0x26, "channel",
						  STDOUT, "data", read_stdout_raw), -32602,
		     "read_stdout");
	free(read_stdout_raw);
	h_close(a);
	h_close(b);
}

/* ---- locks: kept across resyncs and soft reboots, never held twice ---- */

static int holders(struct h_conn *c, int chan, int64_t *holder)
{
	json_t *list = h_result(c, "clients", NULL), *e, *l;
	size_t i, k;
	int n = 0;

	json_array_foreach(list, i, e)
		json_array_foreach(json_object_get(e, "locks"), k, l)
			if (json_integer_value(l) == chan) {
				n++;
				*holder = cu_int(e, "id");
			}
	json_decref(list);
	return n;
}

static int64_t sim_locks(void)
{
	json_t *st = cu_control("stats");
	int64_t n = cu_int(st, "locks");

	json_decref(st);
	return n;
}

/* The lock is A's alone in the books, and B is refused. (That the cam
 * holds it for A shows in its LOCK count and in A's UNLOCK, which a cam
 * that had released it would refuse.) */
static void check_held(struct h_conn *b, int64_t a_id)
{
	int64_t holder = 0;

	CHECK(holders(b, PROFILE, &holder) == 1 && holder == a_id);
	expect_error(b, "channel_lock", json_pack("{s:i}", "channel_id", PROFILE), -32006, NULL);
}

static void test_locks(void)
{
	struct h_conn *a = cu_connect(), *b = cu_connect();
	int64_t a_id = cu_self_id(a), locks, holder = 0;
	json_t *r, *n;

	cu_lock(a, PROFILE, 5000);
	check_held(b, a_id);

	/* A resync (any client may ask for one) releases every lock on the
	 * cam: the daemon takes A's again before anything else. */
	locks = sim_locks();
	json_decref(h_result(b, "resync", NULL));
	CHECK(sim_locks() == locks + 1);
	check_held(b, a_id);

	/* A soft reboot does the same. */
	locks = sim_locks();
	json_decref(cu_control("soft-reboot"));
	{
		uint64_t deadline = h_now_ms() + 5000;

		while (sim_locks() == locks) {
			CHECKF(h_now_ms() < deadline, "the lock was not taken again");
			usleep(10000);
		}
	}
	check_held(b, a_id);
	r = h_result(a, "channel_unlock", json_pack("{s:i}", "channel_id", PROFILE));
	CHECK(json_is_true(r));	/* the cam held it for A */
	json_decref(r);
	CHECK(holders(b, PROFILE, &holder) == 0);

	/* A lock the daemon cannot keep (the cam is gone): its holder is told. */
	cu_lock(b, PROFILE, 5000);
	json_decref(cu_control("unplug 300"));
	n = h_next_notification(b, "lock", 5000);
	CHECKF(n != NULL, "no lock notification");
	CHECK(cu_int(json_object_get(n, "params"), "channel") == PROFILE);
	CHECK(json_is_false(json_object_get(json_object_get(n, "params"), "held")));
	CHECK(strlen(cu_str(json_object_get(n, "params"), "reason")) > 0);
	json_decref(n);
	CHECK(holders(a, PROFILE, &holder) == 0);
	CHECK(cu_wait_connected(a, true, 10000));
	cu_lock(a, PROFILE, 5000);	/* nobody holds it */
	h_close(a);
	h_close(b);
}

/* ---- send_command: a pass-through, or a refusal that says what to use ---- */

static int64_t resyncs(struct h_conn *c)
{
	json_t *r = h_result(c, "status", NULL);
	int64_t n = cu_int(json_object_get(r, "counters"), "resyncs");

	json_decref(r);
	return n;
}

static void test_send_command(void)
{
	struct h_conn *c = cu_connect();
	char *caps = h_b64_encode("\x0f\0\0\0\0\x10\0\0\0\0\0\0\0\0\0\0", 16);
	int64_t before;
	json_t *r;

	expect_error(c, "send_command", json_pack("{s:i, s:s}", "opcode", 0x02, "data", caps),
		     -32602, "update_capabilities");
	expect_error(c, "send_command", json_pack("{s:i, s:s}", "opcode", 0x00, "data", "AA=="),
		     -32602, "no data");
	expect_error(c, "send_command", json_pack("{s:i, s:s}", "opcode", 0x10, "data", "AA=="),
		     -32602, "no data");
	expect_error(c, "send_command", json_pack("{s:i, s:i, s:s}", "opcode", 0x22, "channel",
						  PROFILE, "data", "AA=="), -32602, "no data");
	/* PROTO_SYNC is the daemon's resync: the link stays consistent. */
	before = resyncs(c);
	r = h_result(c, "send_command", json_pack("{s:i}", "opcode", 0x00));
	CHECK(json_is_null(r));
	json_decref(r);
	CHECK(resyncs(c) == before + 1);
	/* Everything else goes through: PROTO_GET_CAPS answers 16 bytes. */
	r = h_result(c, "send_command", json_pack("{s:i}", "opcode", 0x01));
	{
		size_t len;
		uint8_t *v = h_b64_decode(json_string_value(r), &len);

		CHECK(v != NULL && len == 16);
		free(v);
	}
	json_decref(r);
	/* A read longer than any answer may be is -32008 before the cam is asked. */
	expect_error(c, "channel_read_id", json_pack("{s:i, s:i, s:I}", "channel_id", PROFILE,
						     "offset", 0, "length",
						     (json_int_t)0xFFFFFFFE), -32008, NULL);
	free(caps);
	h_close(c);
}

/* ---- errors: a silent cam is -32001; the cache answers while down ---- */

static void test_timeout(void)
{
	struct h_conn *c = cu_connect();
	json_t *r;

	json_decref(cu_control("set drop-rate 1"));	/* the cam hears nothing */
	expect_error(c, "device_stats", NULL, -32001, "timeout");
	json_decref(cu_control("set drop-rate 0"));
	CHECK(cu_wait_connected(c, true, 15000));
	r = h_result(c, "device_stats", NULL);
	CHECK(cu_int(r, "received") > 0);
	json_decref(r);
	h_close(c);
}

/* ---- a channel name that is not UTF-8 is repaired, not lost ---- */

static void test_bad_name(void)
{
	/* 7 two-byte characters: the cam keeps 13 bytes, half a character. */
	static const char script[] =
		"import protocol, time\n"
		"ch = protocol.register(name=\"ééééééé\", backend=Buffer())\n"
		"while True:\n    time.sleep_ms(50)\n";
	static const char repaired[] = "éééééé\xEF\xBF\xBD";
	struct h_conn *c = cu_connect();
	const char *key;
	json_t *r, *e;
	int64_t id = -1;
	bool listed = false;

	json_decref(h_result(c, "exec", json_pack("{s:s}", "script", script)));
	CHECK(cu_wait_channel(c, repaired, 5000));
	r = h_result(c, "channel_list", NULL);
	json_object_foreach(r, key, e)
		if (strcmp(cu_str(e, "name"), repaired) == 0) {
			listed = true;
			id = strtol(key, NULL, 10);
		}
	CHECK(listed && id >= 5);
	json_decref(r);
	r = h_result(c, "get_channel", json_pack("{s:I}", "channel_id", (json_int_t)id));
	CHECK(json_is_string(r) && strcmp(json_string_value(r), repaired) == 0);
	json_decref(r);
	r = h_result(c, "read_status", NULL);
	CHECK(json_is_boolean(json_object_get(r, repaired)));
	json_decref(r);
	r = h_result(c, "channel_write", json_pack("{s:s, s:s}", "name", repaired, "data", "aGk="));
	CHECK(json_is_true(r));
	json_decref(r);
	r = h_result(c, "channel_read", json_pack("{s:s}", "name", repaired));
	CHECK(json_is_string(r) && strcmp(json_string_value(r), "aGk=") == 0);
	json_decref(r);
	json_decref(h_result(c, "stop", NULL));
	h_close(c);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "";
	struct h_proc sim, omvd;

	if (strcmp(which, "stream-steal") == 0) {
		sim = start_sim(NULL);
		omvd = h_start_omvd(NULL, true);
		test_stream_steal();
	} else if (strcmp(which, "stdout-channel") == 0) {
		sim = start_sim(NULL);
		omvd = h_start_omvd(NULL, true);
		test_stdout_channel();
	} else if (strcmp(which, "locks") == 0) {
		sim = start_sim("--profile");
		omvd = h_start_omvd(NULL, true);
		test_locks();
	} else if (strcmp(which, "send-command") == 0) {
		sim = start_sim("--profile");
		omvd = h_start_omvd(NULL, true);
		test_send_command();
	} else if (strcmp(which, "timeout") == 0) {
		sim = start_sim(NULL);
		omvd = h_start_omvd(NULL, true);
		test_timeout();
	} else if (strcmp(which, "bad-name") == 0) {
		sim = start_sim(NULL);
		omvd = h_start_omvd(NULL, true);
		test_bad_name();
	} else {
		fprintf(stderr, "usage: %s stream-steal|stdout-channel|locks|send-command|timeout|"
			"bad-name\n", argv[0]);
		return 2;
	}
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	h_stop(&sim, SIGTERM, 5000);
	printf("ok\n");
	return 0;
}
