/* Helpers shared by the integration tests that run camsim. */
#include "cam_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct h_conn *cu_connect(void)
{
	struct h_conn *c = h_connect(h_path("omvd.sock"));

	CHECKF(c != NULL, "cannot connect to omvd");
	return c;
}

json_t *cu_control(const char *line)
{
	struct h_conn *c = h_connect(h_path("control"));
	json_t *r;

	CHECKF(c != NULL, "cannot connect to camsim's control socket");
	h_send_line(c, line);
	r = h_recv(c, 5000);
	CHECKF(r != NULL && json_is_true(json_object_get(r, "ok")), "control '%s' failed", line);
	h_close(c);
	return r;
}

bool cu_wait_connected(struct h_conn *c, bool want, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;

	for (;;) {
		json_t *r = h_result(c, "is_connected", NULL);
		bool now = json_is_true(r);
		json_decref(r);
		if (now == want)
			return true;
		if (h_now_ms() >= deadline)
			return false;
		usleep(10000);
	}
}

bool cu_wait_stdout(struct h_conn *c, const char *needle, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;
	char *all = strdup("");

	for (;;) {
		json_t *r = h_result(c, "read_stdout", NULL);
		const char *text = json_string_value(r);
		if (text != NULL) {
			size_t n = strlen(all);
			all = realloc(all, n + strlen(text) + 1);
			strcpy(all + n, text);
		}
		json_decref(r);
		if (strstr(all, needle) != NULL) {
			free(all);
			return true;
		}
		if (h_now_ms() >= deadline) {
			fprintf(stderr, "stdout so far: %s\n", all);
			free(all);
			return false;
		}
		usleep(10000);
	}
}

bool cu_wait_channel(struct h_conn *c, const char *name, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;

	for (;;) {
		json_t *resp = h_call(c, "has_channel", json_pack("{s:s}", "name", name));
		bool found = json_is_true(json_object_get(resp, "result"));
		json_decref(resp);
		if (found)
			return true;
		if (h_now_ms() >= deadline)
			return false;
		usleep(10000);
	}
}

json_t *cu_wait_frame(struct h_conn *c, const char *format, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;

	for (;;) {
		json_t *r = h_result(c, "read_frame", json_pack("{s:s}", "format", format));
		if (!json_is_null(r))
			return r;
		json_decref(r);
		if (h_now_ms() >= deadline)
			return NULL;
		usleep(5000);
	}
}

uint32_t cu_barcode(const uint8_t *rgb, unsigned w, unsigned h)
{
	uint32_t v = 0;

	CHECK(h > 8 && w >= 32);
	for (unsigned i = 0; i < 32; i++) {
		unsigned x = (i * w / 32 + (i + 1) * w / 32) / 2;	/* middle of bit i */
		const uint8_t *p = rgb + ((size_t)8 * w + x) * 3;
		unsigned level = (p[0] + p[1] + p[2]) / 3;
		v = v << 1 | (level > 127);
	}
	return v;
}

uint8_t *cu_frame_data(json_t *frame, size_t *len)
{
	const char *text = json_string_value(json_object_get(frame, "data"));
	uint8_t *d;

	CHECKF(text != NULL, "frame without data");
	d = h_b64_decode(text, len);
	CHECKF(d != NULL, "frame data is not base64");
	return d;
}

const char *cu_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

int64_t cu_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

json_t *cu_client(struct h_conn *observer, int64_t id)
{
	json_t *list = h_result(observer, "clients", NULL), *e, *found = NULL;
	size_t i;

	json_array_foreach(list, i, e)
		if (cu_int(e, "id") == id)
			found = json_incref(e);
	json_decref(list);
	CHECKF(found != NULL, "no client %lld", (long long)id);
	return found;
}

int64_t cu_self_id(struct h_conn *c)
{
	json_t *list = h_result(c, "clients", NULL), *e;
	int64_t id = -1;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_is_true(json_object_get(e, "self"))) {
			CHECK(id < 0);	/* one entry is the caller's */
			id = cu_int(e, "id");
		}
	json_decref(list);
	CHECK(id > 0);
	return id;
}

void cu_lock(struct h_conn *c, int chan, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;

	for (;;) {
		json_t *r = h_result(c, "channel_lock", json_pack("{s:i}", "channel_id", chan));
		bool ok = json_is_true(r);

		json_decref(r);
		if (ok)
			return;
		CHECKF(h_now_ms() < deadline, "channel %d not locked in time", chan);
		usleep(20000);
	}
}
