/*
 * Unit tests of libomvclient against the fake server: framing across
 * split reads, notifications during blocking calls, error replies, the
 * server going away, timeouts, async calls, typed decoding. Connecting
 * and base64 are in test_client_connect.c.
 * Usage: test_client_lib CASE
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_server.h"
#include "omvclient.h"

static omv_client *connect_to(struct fake *f)
{
	omv_client *c = omv_client_new();

	TCHECK(c != NULL);
	TCHECKF(omv_client_connect(c, f->path) == 0, "%s", omv_client_error_message(c));
	return c;
}

/* ---- async replies and notifications, split anywhere ------------------- */

struct log {
	int replies, notes, frames;
	int last_status;
	json_t *last_result;
	char methods[16][16];
	uint64_t frame_numbers[16];
	size_t frame_len;
};

static void on_reply(omv_client *c, int status, json_t *result, void *arg)
{
	struct log *l = arg;

	l->replies++;
	l->last_status = status;
	json_decref(l->last_result);
	l->last_result = json_incref(result);
}

static void on_note(omv_client *c, const char *method, json_t *params, void *arg)
{
	struct log *l = arg;

	if (l->notes < 16)
		snprintf(l->methods[l->notes], sizeof l->methods[0], "%s", method);
	l->notes++;
}

static void on_frame(omv_client *c, const omv_frame *f, void *arg)
{
	struct log *l = arg;

	TCHECK(l->frames < 16);
	l->frame_numbers[l->frames++] = f->number;
	l->frame_len = f->len;
}

static void test_framing(void)
{
	static const char two_and_a_half[] =
		"{\"jsonrpc\":\"2.0\",\"method\":\"link\",\"params\":{}}\n"
		"{\"jsonrpc\":\"2.0\",\"method\":\"state\",\"params\":{}}\n{\"jsonr";
	struct fake f;
	struct log l = { 0 };
	omv_client *c;
	long long id;
	char line[128], *big;
	size_t n, big_len = 1 << 20;

	fake_init(&f);
	c = connect_to(&f);
	fake_accept(&f);
	omv_client_on_notify(c, on_note, &l);
	TCHECK(omv_client_call_async(c, "version", NULL, on_reply, &l) == 0);
	TCHECK(omv_client_pending(c) == 1);
	id = fake_expect(&f, "version", NULL);

	/* A reply in three pieces: nothing is delivered before the newline. */
	n = (size_t)snprintf(line, sizeof line,
			     "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"a\":1}}\n", id);
	fake_send(&f, line, 5);
	TCHECK(omv_client_wait(c, 2000) == 1);
	TCHECK(l.replies == 0);
	fake_send(&f, line + 5, n - 6);
	TCHECK(omv_client_wait(c, 2000) == 1);
	TCHECK(l.replies == 0);
	fake_send(&f, line + n - 1, 1);
	TCHECK(omv_client_wait(c, 2000) == 1);
	TCHECK(l.replies == 1 && l.last_status == 0);
	TCHECK(json_integer_value(json_object_get(l.last_result, "a")) == 1);
	TCHECK(omv_client_pending(c) == 0);

	/* Two notifications and half of a third in one write. */
	fake_send(&f, two_and_a_half, strlen(two_and_a_half));
	TCHECK(omv_client_wait(c, 2000) == 1);
	TCHECK(l.notes == 2);
	TCHECK(strcmp(l.methods[0], "link") == 0 && strcmp(l.methods[1], "state") == 0);
	fake_sendf(&f, "pc\":\"2.0\",\"method\":\"event\",\"params\":{\"channel\":1}}");
	TCHECK(omv_client_wait(c, 2000) == 1);
	TCHECK(l.notes == 3 && strcmp(l.methods[2], "event") == 0);

	/* A 1 MiB line arrives over many reads. */
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"stdout\",\"params\":{\"text\":\"";
	static const char tail[] = "\"}}\n";

	n = strlen(head) + big_len + strlen(tail);
	big = malloc(n);
	TCHECK(big != NULL);
	memcpy(big, head, strlen(head));
	memset(big + strlen(head), 'x', big_len);
	memcpy(big + n - strlen(tail), tail, strlen(tail));
	fake_send(&f, big, 4000);
	TCHECK(omv_client_wait(c, 2000) == 1);
	TCHECK(l.notes == 3);
	/* The rest from a thread-free loop: write in slices, process between. */
	for (size_t off = 4000; off < n; off += 100000) {
		size_t len = n - off < 100000 ? n - off : 100000;

		fake_send(&f, big + off, len);
		while (omv_client_wait(c, 0) == 1)
			;
	}
	for (int i = 0; i < 100 && l.notes == 3; i++)
		TCHECK(omv_client_wait(c, 2000) >= 0);
	TCHECK(l.notes == 4 && strcmp(l.methods[3], "stdout") == 0);
	free(big);

	json_decref(l.last_result);
	omv_client_free(c);
	fake_done(&f);
}

/* ---- a blocking call with notifications before its reply ---------------- */

static void script_interleaved(struct fake *f)
{
	json_t *params;
	long long id = fake_expect(f, "channel_size", &params);
	const char *name = json_string_value(json_object_get(params, "name"));

	TCHECK(name && strcmp(name, "ticks") == 0);
	json_decref(params);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"stdout\",\"params\":{\"text\":\"hi\\n\"}}");
	/* Frame 7 with 6 bytes of rgb888 data ("AAECAwQF" = 00 01 02 03 04 05). */
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"frame\",\"params\":{\"number\":7,"
		   "\"width\":2,\"height\":1,\"format\":1,\"depth\":0,\"raw_size\":4,"
		   "\"encoding\":\"rgb888\",\"data\":\"AAECAwQF\"}}");
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"frame\",\"params\":{\"number\":8,"
		   "\"width\":2,\"height\":1,\"format\":1,\"depth\":0,\"raw_size\":4}}");
	/* The reply and a notification after it, in one write. */
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":42}\n"
		   "{\"jsonrpc\":\"2.0\",\"method\":\"state\",\"params\":{}}", id);
}

static void test_interleaved(void)
{
	struct fake f;
	struct log l = { 0 };
	omv_client *c;
	size_t size = 0;

	fake_init(&f);
	fake_run(&f, script_interleaved, NULL);
	c = connect_to(&f);
	omv_client_on_notify(c, on_note, &l);
	omv_client_on_frame(c, on_frame, &l);
	TCHECK(omv_client_channel_size(c, "ticks", &size) == 0);
	TCHECK(size == 42);
	/* Everything sent before the reply was dispatched, in order. */
	TCHECK(l.notes == 3);
	TCHECK(strcmp(l.methods[0], "stdout") == 0 && strcmp(l.methods[1], "frame") == 0);
	TCHECK(l.frames == 2 && l.frame_numbers[0] == 7 && l.frame_numbers[1] == 8);
	TCHECK(l.frame_len == 0);	/* frame 8 had no data */
	/* What followed the reply waits for the caller's next dispatch. */
	TCHECK(omv_client_wait(c, 2000) == 1);
	TCHECK(l.notes == 4 && strcmp(l.methods[3], "state") == 0);
	omv_client_free(c);
	fake_done(&f);
}

/* ---- error replies ------------------------------------------------------- */

static void script_errors(struct fake *f)
{
	long long id;

	id = fake_expect(f, "channel_read", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32000,"
		   "\"message\":\"cam not connected\"}}", id);
	id = fake_expect(f, "exec", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32002,"
		   "\"message\":\"cam error\",\"data\":{\"status\":3,\"name\":\"FAILED\"}}}", id);
	id = fake_expect(f, "no_such_method", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32601,"
		   "\"message\":\"method not found\"}}", id);
	/* A result of the wrong type for a typed call. */
	id = fake_expect(f, "has_channel", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"yes\"}", id);
	/* null: the channel does not exist; then a success clears the error. */
	id = fake_expect(f, "channel_read", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":null}", id);
}

static void test_errors(void)
{
	struct fake f;
	omv_client *c;
	unsigned char *data = (unsigned char *)"x";
	size_t len = 1;
	bool has;

	fake_init(&f);
	fake_run(&f, script_errors, NULL);
	c = connect_to(&f);
	TCHECK(omv_client_channel_read(c, "ticks", 10, &data, &len) == OMV_RPC_NOT_CONNECTED);
	TCHECK(data == NULL && len == 0);
	TCHECK(omv_client_error_code(c) == -32000);
	TCHECK(strcmp(omv_client_error_message(c), "cam not connected") == 0);
	TCHECK(omv_client_exec(c, "print(1)", NULL) == OMV_RPC_CAM_ERROR);
	TCHECK(strcmp(omv_client_error_message(c), "cam error") == 0);
	TCHECK(json_integer_value(json_object_get(omv_client_error_data(c), "status")) == 3);
	TCHECK(omv_client_call(c, "no_such_method", NULL, NULL) == OMV_RPC_METHOD_NOT_FOUND);
	TCHECK(omv_client_error_data(c) == NULL);
	TCHECK(omv_client_has_channel(c, "x", &has) == OMV_EPROTO);
	TCHECK(omv_client_error_code(c) == OMV_EPROTO);
	TCHECK(omv_client_channel_read(c, "nope", -1, &data, &len) == 0);
	TCHECK(data == NULL);
	TCHECK(omv_client_error_code(c) == 0);
	omv_client_free(c);
	fake_done(&f);
}

/* ---- the server goes away -------------------------------------------- */

static void script_close(struct fake *f)
{
	fake_expect(f, "status", NULL);
	/* Something valid first: it must still be dispatched. */
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"link\",\"params\":{\"state\":\"closed\"}}");
	close(f->fd);
	f->fd = -1;
}

static void test_close(void)
{
	struct fake f;
	struct log l = { 0 };
	omv_client *c;
	omv_status st;

	fake_init(&f);
	fake_run(&f, script_close, NULL);
	c = connect_to(&f);
	omv_client_on_notify(c, on_note, &l);
	TCHECK(omv_client_status(c, &st) == OMV_ECLOSED);
	TCHECK(strstr(omv_client_error_message(c), "closed") != NULL);
	TCHECK(l.notes == 1);
	TCHECK(omv_client_fd(c) == -1);
	TCHECK(omv_client_stop(c) == OMV_ECLOSED);
	TCHECK(omv_client_pending(c) == 0);
	/* The same client can connect again. */
	TCHECK(omv_client_connect(c, f.path) == 0);
	TCHECK(omv_client_fd(c) >= 0);
	TCHECK(omv_client_connect(c, f.path) == OMV_EINVAL);
	omv_client_free(c);
	fake_done(&f);
}

/* Async calls in flight fail with OMV_ECLOSED when the server closes. */
static void test_close_async(void)
{
	struct fake f;
	struct log l = { 0 };
	omv_client *c;

	fake_init(&f);
	c = connect_to(&f);
	fake_accept(&f);
	TCHECK(omv_client_call_async(c, "stop", NULL, on_reply, &l) == 0);
	TCHECK(omv_client_call_async(c, "reset", NULL, on_reply, &l) == 0);
	fake_expect(&f, "stop", NULL);
	close(f.fd);
	f.fd = -1;
	for (int i = 0; i < 10 && omv_client_fd(c) >= 0; i++)
		omv_client_wait(c, 2000);
	TCHECK(l.replies == 2 && l.last_status == OMV_ECLOSED);
	TCHECK(omv_client_process(c) == OMV_ECLOSED);
	omv_client_free(c);
	fake_done(&f);
}

/* Freeing the client completes async calls with OMV_ECANCELLED. */
static void test_free_pending(void)
{
	struct fake f;
	struct log l = { 0 };
	omv_client *c;

	fake_init(&f);
	c = connect_to(&f);
	fake_accept(&f);
	TCHECK(omv_client_call_async(c, "stop", NULL, on_reply, &l) == 0);
	omv_client_free(c);
	TCHECK(l.replies == 1 && l.last_status == OMV_ECANCELLED);
	TCHECK(fake_wait_eof(&f));
	fake_done(&f);
}

/* ---- timeouts and late replies -------------------------------------------- */

static void script_timeout(struct fake *f)
{
	long long first = fake_expect(f, "version", NULL);
	long long second = fake_expect(f, "channel_size", NULL);

	/* The late answer to the call that timed out must not be taken for
	 * the answer to the next one. */
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":1}", first);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":2}", second);
}

static void test_timeout(void)
{
	struct fake f;
	omv_client *c;
	omv_version v;
	size_t size = 0;

	fake_init(&f);
	fake_run(&f, script_timeout, NULL);
	c = connect_to(&f);
	TCHECK(omv_client_timeout(c) == OMV_DEFAULT_TIMEOUT_MS);
	omv_client_set_timeout(c, 100);
	TCHECK(omv_client_version(c, &v) == OMV_ETIMEOUT);
	TCHECK(strstr(omv_client_error_message(c), "version") != NULL);
	omv_client_set_timeout(c, 5000);
	TCHECK(omv_client_channel_size(c, "x", &size) == 0);
	TCHECK(size == 2);
	omv_client_free(c);
	fake_done(&f);
}

/* ---- async calls answered out of order ------------------------------------ */

struct slot {
	int status;
	json_int_t value;
	bool done;
};

static void on_slot(omv_client *c, int status, json_t *result, void *arg)
{
	struct slot *s = arg;

	s->done = true;
	s->status = status;
	s->value = json_integer_value(result);
}

static void test_async(void)
{
	struct fake f;
	struct slot s[3] = { { 0 } };
	omv_client *c;
	long long id[3];

	fake_init(&f);
	c = connect_to(&f);
	fake_accept(&f);
	TCHECK(omv_client_fd(c) >= 0);
	for (int i = 0; i < 3; i++)
		TCHECK(omv_client_call_async(c, "channel_size", NULL, on_slot, &s[i]) == 0);
	for (int i = 0; i < 3; i++)
		id[i] = fake_expect(&f, "channel_size", NULL);
	TCHECK(id[0] != id[1] && id[1] != id[2]);
	fake_sendf(&f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":300}", id[2]);
	fake_sendf(&f, "[{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":100},"
		   "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32004,\"message\":\"busy\"}}]",
		   id[0], id[1]);
	for (int i = 0; i < 10 && !(s[0].done && s[2].done); i++)
		TCHECK(omv_client_wait(c, 2000) >= 0);
	TCHECK(s[0].done && s[0].status == 0 && s[0].value == 100);
	TCHECK(s[1].done && s[1].status == OMV_RPC_BUSY);
	TCHECK(s[2].done && s[2].status == 0 && s[2].value == 300);
	TCHECK(omv_client_pending(c) == 0);
	/* Nothing pending: wait times out quietly. */
	TCHECK(omv_client_wait(c, 10) == 0);
	omv_client_free(c);
	fake_done(&f);
}

/* ---- a callback making a blocking call of its own ----------------------- */

static void script_nested(struct fake *f)
{
	long long outer = fake_expect(f, "status", NULL), inner;

	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"channel\":0}}");
	inner = fake_expect(f, "get_channel", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"stream\"}", inner);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"link\":\"ready\"}}",
		   outer);
}

static void on_note_call(omv_client *c, const char *method, json_t *params, void *arg)
{
	char **name = arg;

	TCHECK(omv_client_get_channel_name(c, 3, name) == 0);
}

static void test_nested(void)
{
	struct fake f;
	omv_client *c;
	omv_status st;
	char *name = NULL;

	fake_init(&f);
	fake_run(&f, script_nested, NULL);
	c = connect_to(&f);
	omv_client_on_notify(c, on_note_call, &name);
	TCHECK(omv_client_status(c, &st) == 0);
	TCHECK(strcmp(st.link, "ready") == 0);
	TCHECK(name && strcmp(name, "stream") == 0);
	free(name);
	omv_client_free(c);
	fake_done(&f);
}

/* ---- a big request while the server floods us ------------------------------- */

#define FLOOD_NOTES 64
#define FLOOD_TEXT (64 << 10)
#define BIG_SCRIPT (4 << 20)

static void script_flood(struct fake *f)
{
	char *note = malloc(FLOOD_TEXT + 100);
	int n = sprintf(note, "{\"jsonrpc\":\"2.0\",\"method\":\"stdout\",\"params\":{\"text\":\"");
	json_t *params;
	long long id;

	/* Neither side reads while the other writes, unless the client keeps
	 * reading while its request does not fit into the socket. */
	memset(note + n, 'y', FLOOD_TEXT);
	n += FLOOD_TEXT;
	n += sprintf(note + n, "\"}}\n");
	for (int i = 0; i < FLOOD_NOTES; i++)
		fake_send(f, note, (size_t)n);
	free(note);
	id = fake_expect(f, "exec", &params);
	TCHECK(strlen(json_string_value(json_object_get(params, "script"))) == BIG_SCRIPT);
	json_decref(params);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":12}", id);
}

static void test_flood(void)
{
	struct fake f;
	struct log l = { 0 };
	omv_client *c;
	char *script = malloc(BIG_SCRIPT + 1);
	uint64_t run = 0;

	memset(script, '#', BIG_SCRIPT);
	script[BIG_SCRIPT] = '\0';
	fake_init(&f);
	fake_run(&f, script_flood, NULL);
	c = connect_to(&f);
	omv_client_on_notify(c, on_note, &l);
	TCHECKF(omv_client_exec(c, script, &run) == 0, "%s", omv_client_error_message(c));
	TCHECK(run == 12);
	TCHECK(l.notes == FLOOD_NOTES);
	free(script);
	omv_client_free(c);
	fake_done(&f);
}

/* ---- invalid JSON from the server ------------------------------------------- */

static void script_garbage(struct fake *f)
{
	fake_expect(f, "stop", NULL);
	fake_sendf(f, "this is not json");
	fake_wait_eof(f);
}

static void test_garbage(void)
{
	struct fake f;
	omv_client *c;

	fake_init(&f);
	fake_run(&f, script_garbage, NULL);
	c = connect_to(&f);
	TCHECK(omv_client_stop(c) == OMV_EPROTO);
	TCHECK(omv_client_fd(c) == -1);	/* the stream cannot be trusted any more */
	omv_client_free(c);
	fake_done(&f);
}

/* ---- text holding NUL bytes (a cam may print any byte) ------------------- */

static void script_nul(struct fake *f)
{
	long long id = fake_expect(f, "read_stdout", NULL);

	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"stdout\",\"params\":{\"text\":\"a\\u0000b\\n\"}}");
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"ab\\n\"}", id);
}

static void on_nul_note(omv_client *c, const char *method, json_t *params, void *arg)
{
	json_t *text = json_object_get(params, "text");

	TCHECK(json_string_length(text) == 4 && memcmp(json_string_value(text), "a\0b\n", 4) == 0);
	*(int *)arg += 1;
}

static void test_nul(void)
{
	struct fake f;
	omv_client *c;
	char *text = NULL;
	int notes = 0;

	fake_init(&f);
	fake_run(&f, script_nul, NULL);
	c = connect_to(&f);
	omv_client_on_notify(c, on_nul_note, &notes);
	TCHECK(omv_client_read_stdout(c, &text) == 0);
	TCHECK(notes == 1 && text != NULL && strcmp(text, "ab\n") == 0);
	TCHECK(omv_client_fd(c) >= 0);	/* valid JSON: the connection stays */
	free(text);
	omv_client_free(c);
	fake_done(&f);
}

/* ---- typed calls: request params and result decoding ------------------------ */

static void script_typed(struct fake *f)
{
	json_t *p;
	long long id;

	id = fake_expect(f, "system_info", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"cpu_id\":3735928559,"
		   "\"device_id\":[1,2,3],\"chip_id\":[4,5,6],\"usb_vid\":14277,\"usb_pid\":4612,"
		   "\"flash_size_kb\":2048,\"ram_size_kb\":1024,\"framebuffer_size_kb\":400,"
		   "\"stream_buffer_size_kb\":64,\"jpeg_present\":true,\"pmu_present\":false,"
		   "\"usb_highspeed\":true,\"pmu_eventcnt\":4}}", id);
	id = fake_expect(f, "version", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"protocol_version\":[2,0,0],"
		   "\"bootloader_version\":[1,2,3],\"firmware_version\":[4,6,1]}}", id);
	id = fake_expect(f, "streaming", &p);
	TCHECK(json_is_true(json_object_get(p, "enable")) && json_is_true(json_object_get(p, "raw")));
	TCHECK(json_integer_value(json_array_get(json_object_get(p, "resolution"), 0)) == 160);
	json_decref(p);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":null}", id);
	id = fake_expect(f, "read_frame", &p);
	TCHECK(strcmp(json_string_value(json_object_get(p, "format")), "jpeg") == 0);
	json_decref(p);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"number\":5,\"width\":320,"
		   "\"height\":240,\"format\":101056512,\"depth\":3,\"raw_size\":3,"
		   "\"encoding\":\"jpeg\",\"data\":\"/9j/\"}}", id);
	id = fake_expect(f, "channel_write", &p);
	TCHECK(strcmp(json_string_value(json_object_get(p, "data")), "Zm9vYmFy") == 0);
	json_decref(p);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":true}", id);
	id = fake_expect(f, "channel_read", &p);
	TCHECK(json_integer_value(json_object_get(p, "size")) == 3);
	json_decref(p);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"Zm9v\"}", id);
	id = fake_expect(f, "channel_list", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"4\":{\"name\":\"ticks\","
		   "\"flags\":1},\"1\":{\"name\":\"stdin\",\"flags\":3}}}", id);
	id = fake_expect(f, "subscribe", &p);
	TCHECK(json_array_size(json_object_get(p, "topics")) == 2);
	TCHECK(strcmp(json_string_value(json_object_get(p, "frame_format")), "none") == 0);
	json_decref(p);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":[\"frame\",\"stdout\"]}", id);
	id = fake_expect(f, "get_channel", &p);
	TCHECK(strcmp(json_string_value(json_object_get(p, "name")), "ticks") == 0);
	json_decref(p);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":4}", id);
	id = fake_expect(f, "channel_read_id", &p);
	TCHECK(json_integer_value(json_object_get(p, "channel_id")) == 9);
	TCHECK(json_integer_value(json_object_get(p, "offset")) == 100);
	TCHECK(json_integer_value(json_object_get(p, "length")) == 3);
	json_decref(p);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"YWJj\"}", id);
	id = fake_expect(f, "channel_write_id", &p);
	TCHECK(strcmp(json_string_value(json_object_get(p, "data")), "eHl6") == 0);
	TCHECK(json_integer_value(json_object_get(p, "offset")) == 5);
	json_decref(p);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":null}", id);
	id = fake_expect(f, "channel_shape", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":[12,48]}", id);
	id = fake_expect(f, "read_stdout", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"hello\\n\"}", id);
	id = fake_expect(f, "read_stdout", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":null}", id);
	id = fake_expect(f, "channel_ioctl", &p);
	TCHECK(strcmp(json_string_value(json_object_get(p, "fmt")), "I") == 0);
	json_decref(p);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":true}", id);
	id = fake_expect(f, "channel_ioctl", NULL);
	fake_sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"AQI=\"}", id);
}

static void test_typed(void)
{
	static const char *const topics[] = { "frame", "stdout", NULL };
	struct fake f;
	omv_client *c;
	omv_system_info si;
	omv_version v;
	omv_frame *fr, *dup;
	omv_channel *chans;
	size_t n;
	unsigned char *data;
	bool written;
	int id;
	char *text;
	uint32_t *shape;
	json_t *args;

	fake_init(&f);
	fake_run(&f, script_typed, NULL);
	c = connect_to(&f);
	TCHECK(omv_client_system_info(c, &si) == 0);
	TCHECK(si.cpu_id == 0xDEADBEEF && si.device_id[2] == 3 && si.chip_id[0] == 4);
	TCHECK(si.usb_vid == 0x37C5 && si.usb_pid == 0x1204 && si.flash_size_kb == 2048);
	TCHECK(si.jpeg_present && !si.pmu_present && si.usb_highspeed && si.pmu_eventcnt == 4);
	TCHECK(omv_client_version(c, &v) == 0);
	TCHECK(v.firmware[0] == 4 && v.firmware[1] == 6 && v.firmware[2] == 1 && v.protocol[0] == 2);
	TCHECK(omv_client_streaming(c, true, true, 160, 120) == 0);
	TCHECK(omv_client_read_frame(c, "jpeg", &fr) == 0);
	TCHECK(fr && fr->number == 5 && fr->width == 320 && fr->format == OMV_PIXFORMAT_JPEG);
	TCHECK(fr->len == 3 && fr->data[0] == 0xFF && fr->data[1] == 0xD8);
	TCHECK(strcmp(fr->encoding, "jpeg") == 0);
	dup = omv_frame_dup(fr);
	TCHECK(dup && dup->data != fr->data && memcmp(dup->data, fr->data, 3) == 0);
	omv_frame_free(dup);
	omv_frame_free(fr);
	TCHECK(omv_client_channel_write(c, "buf", "foobar", 6, &written) == 0 && written);
	TCHECK(omv_client_channel_read(c, "buf", 3, &data, &n) == 0);
	TCHECK(n == 3 && memcmp(data, "foo", 3) == 0);
	free(data);
	TCHECK(omv_client_channel_list(c, &chans, &n) == 0);
	TCHECK(n == 2 && chans[1].id == 4 && strcmp(chans[1].name, "ticks") == 0);
	TCHECK(chans[0].id == 1 && chans[0].flags == 3);
	free(chans);
	TCHECK(omv_client_subscribe(c, topics, NULL) == 0);
	TCHECK(omv_client_get_channel_id(c, "ticks", &id) == 0 && id == 4);
	TCHECK(omv_client_channel_read_id(c, 9, 100, 3, &data, &n) == 0);
	TCHECK(n == 3 && memcmp(data, "abc", 3) == 0);
	free(data);
	TCHECK(omv_client_channel_write_id(c, 9, "xyz", 3, 5) == 0);
	TCHECK(omv_client_channel_shape(c, 9, &shape, &n) == 0);
	TCHECK(n == 2 && shape[0] == 12 && shape[1] == 48);
	free(shape);
	TCHECK(omv_client_read_stdout(c, &text) == 0);
	TCHECK(text && strcmp(text, "hello\n") == 0);
	free(text);
	TCHECK(omv_client_read_stdout(c, &text) == 0 && text == NULL);
	args = json_pack("[i]", 1);
	TCHECK(omv_client_channel_ioctl(c, 4, 0, "I", args, &data, &n) == 0);
	TCHECK(data == NULL && n == 0);
	TCHECK(omv_client_channel_ioctl(c, 4, 1, NULL, NULL, &data, &n) == 0);
	TCHECK(n == 2 && data[0] == 1 && data[1] == 2);
	free(data);
	json_decref(args);
	omv_client_free(c);
	fake_done(&f);
}

static const struct t_case cases[] = {
	{ "framing", test_framing },
	{ "interleaved", test_interleaved },
	{ "errors", test_errors },
	{ "close", test_close },
	{ "close-async", test_close_async },
	{ "free-pending", test_free_pending },
	{ "timeout", test_timeout },
	{ "async", test_async },
	{ "garbage", test_garbage },
	{ "nul", test_nul },
	{ "nested", test_nested },
	{ "flood", test_flood },
	{ "typed", test_typed },
};

int main(int argc, char **argv)
{
	return t_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
