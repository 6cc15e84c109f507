/*
 * omvd with camsim: every method with its values checked against what
 * camsim was told to be, custom channels, streaming and frames, the
 * cam's error statuses, and a client leaving in the middle of a call.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam_util.h"

static void check_triple(json_t *t, int a, int b, int c)
{
	CHECK(json_is_array(t) && json_array_size(t) == 3);
	CHECKF(json_integer_value(json_array_get(t, 0)) == a &&
	       json_integer_value(json_array_get(t, 1)) == b &&
	       json_integer_value(json_array_get(t, 2)) == c, "version triple %d.%d.%d", a, b, c);
}

static void test_device(struct h_conn *c)
{
	static const char *const keys[] = {
		"cpu_id", "device_id", "chip_id", "usb_vid", "usb_pid", "flash_size_kb",
		"ram_size_kb", "framebuffer_size_kb", "stream_buffer_size_kb", "gpu_present",
		"npu_present", "isp_present", "venc_present", "jpeg_present", "dram_present",
		"crc_present", "pmu_present", "wifi_present", "bt_present", "sd_present",
		"eth_present", "multicore_present", "usb_highspeed", "pmu_eventcnt",
	};
	json_t *r;

	r = h_result(c, "is_connected", NULL);
	CHECK(json_is_true(r));
	json_decref(r);

	r = h_result(c, "version", NULL);
	check_triple(json_object_get(r, "protocol_version"), 2, 0, 0);
	check_triple(json_object_get(r, "bootloader_version"), 3, 1, 0);
	check_triple(json_object_get(r, "firmware_version"), 4, 5, 6);
	json_decref(r);

	r = h_result(c, "system_info", NULL);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		CHECKF(json_object_get(r, keys[i]) != NULL, "system_info lacks %s", keys[i]);
	CHECK(json_object_size(r) == sizeof keys / sizeof keys[0]);
	CHECK(cu_int(r, "usb_vid") == 0x37C5 && cu_int(r, "usb_pid") == 0x1204);
	CHECK(cu_int(r, "flash_size_kb") == 4096 && cu_int(r, "ram_size_kb") == 1024);
	CHECK(cu_int(r, "pmu_eventcnt") == 2);
	CHECK(json_array_size(json_object_get(r, "device_id")) == 3);
	CHECK(json_is_boolean(json_object_get(r, "jpeg_present")));
	json_decref(r);

	r = h_result(c, "status", NULL);
	CHECK(strcmp(cu_str(r, "link"), "ready") == 0);
	CHECK(strcmp(cu_str(r, "port"), h_path("cam")) == 0);
	CHECK(json_is_true(json_object_get(json_object_get(r, "caps"), "crc")));
	CHECK(cu_int(json_object_get(r, "caps"), "max_payload") >= 52);
	CHECK(cu_int(json_object_get(r, "counters"), "received") > 0);
	json_decref(r);

	r = h_result(c, "host_stats", NULL);
	CHECK(cu_int(r, "sent") > 0 && cu_int(r, "received") > 0 && cu_int(r, "checksum") == 0);
	json_decref(r);
	r = h_result(c, "device_stats", NULL);
	CHECK(cu_int(r, "received") > 0 && cu_int(r, "sent") > 0);
	CHECK(json_object_get(r, "max_ack_queue_depth") != NULL);
	json_decref(r);

	/* A raw command: PROTO_VERSION answers 16 bytes starting 2,0,0. */
	r = h_result(c, "send_command", json_pack("{s:i}", "opcode", 0x04));
	size_t len;
	uint8_t *v = h_b64_decode(json_string_value(r), &len);
	CHECK(v != NULL && len == 16 && v[0] == 2 && v[1] == 0 && v[6] == 4 && v[7] == 5);
	free(v);
	json_decref(r);
}

static void test_channels(struct h_conn *c)
{
	json_t *r, *e;
	const char *key;
	size_t i;
	bool seen[4] = { false };

	/* The package's shape: {"<id>": {name, flags}}. */
	r = h_result(c, "channel_list", NULL);
	CHECK(json_is_object(r));
	json_object_foreach(r, key, e) {
		long id = strtol(key, NULL, 10);
		const char *name = cu_str(e, "name");

		CHECK(json_object_size(e) == 2 && json_is_integer(json_object_get(e, "flags")));
		if (id == 1) seen[1] = strcmp(name, "stdin") == 0;
		if (id == 2) seen[2] = strcmp(name, "stdout") == 0;
		if (id == 3) seen[3] = strcmp(name, "stream") == 0 && (cu_int(e, "flags") & 0x08);
	}
	CHECK(seen[1] && seen[2] && seen[3]);
	json_decref(r);

	r = h_result(c, "has_channel", json_pack("{s:s}", "name", "stream"));
	CHECK(json_is_true(r));
	json_decref(r);
	r = h_result(c, "has_channel", json_pack("{s:s}", "name", "nope"));
	CHECK(json_is_false(r));
	json_decref(r);
	r = h_result(c, "get_channel", json_pack("{s:s}", "name", "stdout"));
	CHECK(json_integer_value(r) == 2);
	json_decref(r);
	r = h_result(c, "get_channel", json_pack("{s:i}", "channel_id", 3));
	CHECK(strcmp(json_string_value(r), "stream") == 0);
	json_decref(r);
	r = h_result(c, "get_channel", json_pack("{s:i}", "channel_id", 30));
	CHECK(json_is_null(r));
	json_decref(r);
	r = h_result(c, "channel_size", json_pack("{s:s}", "name", "nope"));
	CHECK(json_integer_value(r) == 0);
	json_decref(r);
	r = h_result(c, "channel_read", json_pack("{s:s}", "name", "nope"));
	CHECK(json_is_null(r));
	json_decref(r);
	r = h_result(c, "channel_write", json_pack("{s:s, s:s}", "name", "nope", "data", "AAEC"));
	CHECK(json_is_false(r));
	json_decref(r);
	r = h_result(c, "read_status", NULL);
	CHECK(json_is_boolean(json_object_get(r, "stdin")) &&
	      json_is_boolean(json_object_get(r, "stream")));
	json_decref(r);
	r = h_result(c, "channel_shape", json_pack("{s:i}", "channel_id", 3));
	CHECK(json_is_array(r) && json_array_size(r) >= 1);
	json_decref(r);
	r = h_result(c, "channel_size_id", json_pack("{s:i}", "channel_id", 3));
	CHECK(json_is_integer(r));
	json_decref(r);
	/* A channel id the cam does not list (after a refresh of the list):
	 * channel not found, for every by-id method, without asking the cam. */
	static const char *const by_id[] = { "channel_shape", "channel_size_id", "channel_lock",
					     "channel_unlock" };
	for (i = 0; i < 4; i++)
		CHECKF(h_error_code(c, by_id[i], json_pack("{s:i}", "channel_id", 200)) == -32003,
		       "%s", by_id[i]);
	CHECK(h_error_code(c, "channel_read_id", json_pack("{s:i, s:i, s:i}", "channel_id", 200,
							    "offset", 0, "length", 4)) == -32003);
	CHECK(h_error_code(c, "channel_write_id", json_pack("{s:i, s:s}", "channel_id", 200,
							     "data", "AAEC")) == -32003);
	CHECK(h_error_code(c, "channel_ioctl", json_pack("{s:i, s:i}", "channel_id", 200,
							  "cmd", 1)) == -32003);

	/* No profile channel on this cam: the profiler methods do nothing. */
	static const char *const prof[] = { "profiler_mode", "profiler_reset", "read_profile" };
	for (i = 0; i < 3; i++) {
		r = h_result(c, prof[i], NULL);
		CHECKF(json_is_null(r), "%s", prof[i]);
		json_decref(r);
	}
	r = h_result(c, "profiler_event", json_pack("{s:i, s:i}", "counter_num", 0, "event_id", 3));
	CHECK(json_is_null(r));
	json_decref(r);
}

static void test_script_and_custom_channel(struct h_conn *c)
{
	static const char script[] =
		"import protocol, time\n"
		"ch = protocol.register(name=\"echo\", backend=Echo())\n"
		"print(\"registered echo\")\n"
		"while True:\n"
		"    time.sleep_ms(50)\n";
	const char *payload = "round trip \x01\x02\xff through omvd";
	size_t plen = strlen(payload), len;
	char *b64 = h_b64_encode(payload, plen);
	json_t *r, *resp, *err;
	int64_t id;
	uint8_t *back;

	r = h_result(c, "exec", json_pack("{s:s}", "script", "print(\"hello from exec\")\n"));
	CHECK(json_is_integer(r) && json_integer_value(r) >= 1);	/* the run id */
	json_decref(r);
	CHECK(cu_wait_stdout(c, "hello from exec", 5000));

	r = h_result(c, "poll_events", NULL);
	CHECK(json_is_array(r) && json_array_size(r) > 0);	/* stdin / soft reboot events */
	json_decref(r);

	r = h_result(c, "exec", json_pack("{s:s}", "script", script));
	json_decref(r);
	CHECK(cu_wait_channel(c, "echo", 5000));
	CHECK(cu_wait_stdout(c, "registered echo", 5000));

	r = h_result(c, "channel_write", json_pack("{s:s, s:s}", "name", "echo", "data", b64));
	CHECK(json_is_true(r));
	json_decref(r);
	r = h_result(c, "channel_size", json_pack("{s:s}", "name", "echo"));
	CHECK(json_integer_value(r) >= (json_int_t)plen);
	json_decref(r);
	r = h_result(c, "channel_read", json_pack("{s:s, s:i}", "name", "echo", "size", (int)plen));
	back = h_b64_decode(json_string_value(r), &len);
	CHECK(back != NULL && len == plen && memcmp(back, payload, plen) == 0);
	free(back);
	json_decref(r);

	/* The same through the by-id methods. */
	r = h_result(c, "get_channel", json_pack("{s:s}", "name", "echo"));
	id = json_integer_value(r);
	CHECK(id >= 5);
	json_decref(r);
	r = h_result(c, "channel_write_id", json_pack("{s:I, s:s, s:i}", "channel_id", id, "data",
						      "QUJDRA==", "offset", 0));
	CHECK(json_is_null(r));
	json_decref(r);
	r = h_result(c, "channel_read_id", json_pack("{s:I, s:i, s:i}", "channel_id", id, "offset", 0,
						     "length", 4));
	CHECK(strcmp(json_string_value(r), "QUJDRA==") == 0);	/* "ABCD" */
	json_decref(r);

	/* The cam refuses an ioctl on it: -32002 with the status. */
	resp = h_call(c, "channel_ioctl", json_pack("{s:I, s:i, s:s, s:[i]}", "channel_id", id, "cmd",
						    7, "fmt", "<I", "args", 1));
	err = json_object_get(resp, "error");
	CHECK(cu_int(err, "code") == -32002);
	CHECK(strcmp(cu_str(json_object_get(err, "data"), "name"), "INVALID") == 0);
	CHECK(cu_int(json_object_get(err, "data"), "status") == 2);
	json_decref(resp);

	r = h_result(c, "stop", NULL);
	CHECK(json_is_null(r));
	json_decref(r);
	free(b64);
}

static void test_frames(struct h_conn *c)
{
	json_t *r, *f;
	uint8_t *data;
	size_t len;
	uint32_t code1, code2;
	int64_t n1;

	r = h_result(c, "streaming", json_pack("{s:b}", "enable", 1));
	CHECK(json_is_null(r));
	json_decref(r);

	f = cu_wait_frame(c, "rgb888", 5000);
	CHECK(f != NULL);
	CHECK(cu_int(f, "width") == 320 && cu_int(f, "height") == 240);
	CHECK(cu_int(f, "format") == 0x06060000);
	CHECK(strcmp(cu_str(f, "encoding"), "rgb888") == 0);
	/* the JPEG's bytes, without the stream header, as the package says */
	CHECK(cu_int(f, "raw_size") == cu_int(f, "depth") && cu_int(f, "depth") > 0);
	data = cu_frame_data(f, &len);
	CHECK(len == 320 * 240 * 3);
	code1 = cu_barcode(data, 320, 240);
	n1 = cu_int(f, "number");
	free(data);
	json_decref(f);

	/* A newer frame has a larger daemon number and a larger cam barcode,
	 * and they advance together. */
	f = cu_wait_frame(c, "rgb888", 5000);
	CHECK(f != NULL && cu_int(f, "number") > n1);
	data = cu_frame_data(f, &len);
	code2 = cu_barcode(data, 320, 240);
	CHECKF(code2 > code1 && code2 - code1 == (uint32_t)(cu_int(f, "number") - n1),
	       "barcodes %u -> %u for numbers %lld -> %lld", code1, code2, (long long)n1,
	       (long long)cu_int(f, "number"));
	free(data);
	json_decref(f);

	f = cu_wait_frame(c, "jpeg", 5000);
	CHECK(f != NULL && strcmp(cu_str(f, "encoding"), "jpeg") == 0);
	data = cu_frame_data(f, &len);
	CHECK(len == (size_t)cu_int(f, "depth") && len > 2 && data[0] == 0xFF && data[1] == 0xD8);
	free(data);
	json_decref(f);

	r = h_result(c, "status", NULL);
	CHECK(json_is_true(json_object_get(json_object_get(r, "shared"), "streaming")));
	json_decref(r);

	/* Raw frames at a chosen resolution. */
	r = h_result(c, "streaming", json_pack("{s:b, s:b, s:[i,i]}", "enable", 1, "raw", 1,
					       "resolution", 64, 48));
	json_decref(r);
	uint64_t deadline = h_now_ms() + 5000;
	for (;;) {
		f = cu_wait_frame(c, "native", 5000);
		CHECK(f != NULL);
		if (cu_int(f, "format") != 0x06060000)
			break;
		json_decref(f);	/* a JPEG frame from before the switch */
		CHECK(h_now_ms() < deadline);
	}
	CHECK(cu_int(f, "width") == 64 && cu_int(f, "height") == 48);
	json_decref(f);
	f = cu_wait_frame(c, "rgb888", 5000);
	CHECK(f != NULL);
	data = cu_frame_data(f, &len);
	CHECK(len == 64 * 48 * 3);
	free(data);
	json_decref(f);
	f = cu_wait_frame(c, "native", 5000);
	CHECK(f != NULL);
	json_decref(f);
	/* JPEG of a raw frame: encoded by the daemon. */
	f = cu_wait_frame(c, "jpeg", 5000);
	CHECK(f != NULL && cu_int(f, "format") != 0x06060000);
	CHECK(strcmp(cu_str(f, "encoding"), "jpeg") == 0);
	data = cu_frame_data(f, &len);
	CHECK(len > 2 && data[0] == 0xFF && data[1] == 0xD8);
	free(data);
	json_decref(f);
	r = h_result(c, "status", NULL);
	CHECK(json_is_true(json_object_get(json_object_get(r, "shared"), "raw")));
	json_decref(r);

	r = h_result(c, "streaming", json_pack("{s:b}", "enable", 0));
	json_decref(r);
	r = h_result(c, "status", NULL);
	CHECK(json_is_false(json_object_get(json_object_get(r, "shared"), "streaming")));
	json_decref(r);
}

/* More calls in flight than the cam queues per client: reading pauses
 * instead, and every reply comes back, in order, successful. */
static void test_pipelined(void)
{
	struct h_conn *c = cu_connect();
	char line[128];
	int n = 400;

	for (int i = 1; i <= n; i++) {
		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"}", i,
			 i % 2 ? "device_stats" : "channel_list");
		h_send_line(c, line);
	}
	for (int i = 1; i <= n; i++) {
		json_t *r = h_recv(c, 10000);
		CHECKF(r != NULL && cu_int(r, "id") == i, "reply %d", i);
		CHECKF(json_object_get(r, "result") != NULL, "reply %d is an error", i);
		json_decref(r);
	}
	h_close(c);
}

/* Channel refresh, renegotiation and resync keep the link usable. */
static void test_renegotiate(struct h_conn *c)
{
	json_t *r;

	r = h_result(c, "update_channels", NULL);
	CHECK(json_is_null(r));
	json_decref(r);
	r = h_result(c, "update_capabilities", NULL);
	CHECK(json_is_true(json_object_get(r, "seq")) && cu_int(r, "max_payload") >= 52);
	json_decref(r);
	r = h_result(c, "resync", NULL);
	CHECK(json_is_null(r));
	json_decref(r);
	CHECK(cu_wait_connected(c, true, 5000));
	r = h_result(c, "version", NULL);
	check_triple(json_object_get(r, "firmware_version"), 4, 5, 6);
	json_decref(r);
}

/* A client that leaves with calls in flight: the others carry on. */
static void test_leave_mid_call(void)
{
	struct h_conn *a = cu_connect(), *b = cu_connect();
	json_t *r;

	for (int i = 0; i < 20; i++)
		h_send_line(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_stats\"}");
	h_send_line(a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"exec\","
		       "\"params\":{\"script\":\"print(1)\"}}");
	h_close(a);
	r = h_result(b, "version", NULL);
	check_triple(json_object_get(r, "firmware_version"), 4, 5, 6);
	json_decref(r);
	r = h_result(b, "channel_list", NULL);
	CHECK(json_object_size(r) >= 3);
	json_decref(r);
	h_close(b);
}

int main(void)
{
	const char *sim_args[] = { "--control", h_path("control"), "--fw-version", "4.5.6",
				   "--flash-kb", "4096", "--pmu-events", "2", NULL };
	struct h_proc sim = h_start_camsim(sim_args);
	struct h_proc omvd = h_start_omvd(NULL, true);
	struct h_conn *c = cu_connect();

	test_device(c);
	test_channels(c);
	test_script_and_custom_channel(c);
	test_frames(c);
	test_leave_mid_call();
	test_pipelined();
	test_renegotiate(c);
	h_close(c);
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	h_stop(&sim, SIGTERM, 5000);
	printf("ok\n");
	return 0;
}
