/*
 * The daemon before the cam exists, and under a corrupting link: no call
 * ever returns wrong data, round trips and frames stay intact.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam_util.h"

/* omvd first, camsim later: the daemon finds the cam when it appears. */
static void test_cam_appears(void)
{
	struct h_proc omvd = h_start_omvd(NULL, false);
	struct h_conn *c = cu_connect();
	struct h_proc sim;
	json_t *r;

	r = h_result(c, "is_connected", NULL);
	CHECK(json_is_false(r));
	json_decref(r);
	CHECK(h_error_code(c, "system_info", NULL) == -32000);
	json_decref(h_result(c, "subscribe", json_pack("{s:[s]}", "topics", "link")));

	sim = h_start_camsim(NULL);
	CHECK(cu_wait_connected(c, true, 10000));
	r = h_result(c, "system_info", NULL);
	CHECK(cu_int(r, "usb_vid") == 0x37C5);
	json_decref(r);
	r = h_next_notification(c, "link", 5000);	/* the way up was announced */
	CHECK(r != NULL);
	json_decref(r);
	h_close(c);
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	h_stop(&sim, SIGTERM, 5000);
}

static void test_corrupt_link(void)
{
	const char *sim_args[] = { "--corrupt-rate", "0.02", "--seed", "7", NULL };
	static const char script[] =
		"import protocol, time\n"
		"ch = protocol.register(name=\"echo\", backend=Echo())\n"
		"while True:\n"
		"    time.sleep_ms(50)\n";
	struct h_proc sim = h_start_camsim(sim_args);
	struct h_proc omvd = h_start_omvd(NULL, true);
	struct h_conn *c = cu_connect();
	uint32_t prev_code = 0;
	json_t *r;

	r = h_result(c, "exec", json_pack("{s:s}", "script", script));
	json_decref(r);
	CHECK(cu_wait_channel(c, "echo", 10000));
	for (int i = 0; i < 30; i++) {
		char payload[200];
		size_t len, n = (size_t)snprintf(payload, sizeof payload,
						 "message %d: %0*d", i, 20 + i * 5, i * 7919);
		char *b64 = h_b64_encode(payload, n);
		uint8_t *back;

		r = h_result(c, "channel_write", json_pack("{s:s, s:s}", "name", "echo", "data", b64));
		CHECK(json_is_true(r));
		json_decref(r);
		r = h_result(c, "channel_read", json_pack("{s:s, s:I}", "name", "echo", "size",
							  (json_int_t)n));
		back = h_b64_decode(json_string_value(r), &len);
		CHECKF(back != NULL && len == n && memcmp(back, payload, n) == 0,
		       "round trip %d came back wrong", i);
		free(back);
		free(b64);
		json_decref(r);
	}

	r = h_result(c, "streaming", json_pack("{s:b}", "enable", 1));
	json_decref(r);
	for (int i = 0; i < 5; i++) {
		json_t *f = cu_wait_frame(c, "rgb888", 10000);
		size_t len;
		uint8_t *data;
		uint32_t code;
		CHECK(f != NULL);
		data = cu_frame_data(f, &len);
		CHECK(len == 320 * 240 * 3);
		code = cu_barcode(data, 320, 240);
		CHECKF(code > prev_code, "frame barcode %u after %u", code, prev_code);
		prev_code = code;
		free(data);
		json_decref(f);
	}
	r = h_result(c, "status", NULL);
	CHECK(cu_int(json_object_get(r, "counters"), "checksum") +
	      cu_int(json_object_get(r, "counters"), "resyncs") > 0);	/* faults did happen */
	json_decref(r);
	h_close(c);
	CHECK(h_stop(&omvd, SIGTERM, 5000) == 0);
	h_stop(&sim, SIGTERM, 5000);
}

int main(void)
{
	test_cam_appears();
	test_corrupt_link();
	printf("ok\n");
	return 0;
}
