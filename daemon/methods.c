/* Method lookup, request checks common to all methods, parameter helpers. */
#include "methods.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "rpc.h"
#include "rpc_server.h"

static const struct method *const method_tables[] = {
	methods_device, methods_script, methods_stream,
	methods_channel, methods_profile, methods_subscribe,
};

static const struct method *method_find(const char *name)
{
	for (size_t t = 0; t < sizeof method_tables / sizeof method_tables[0]; t++)
		for (const struct method *m = method_tables[t]; m->name != NULL; m++)
			if (strcmp(m->name, name) == 0)
				return m;
	return NULL;
}

struct camera *call_camera(const struct rpc_call *call)
{
	return call->client->server->cam;
}

bool require_link(struct rpc_call *call)
{
	struct camera *cam = call_camera(call);

	/* While the link comes up (or resyncs) the camera queues requests and
	 * fails them itself if it does not make it. */
	if (cam != NULL && call->client->owner != NULL && camera_state(cam) != LINK_CLOSED)
		return true;
	call_error(call, RPC_NOT_CONNECTED, "cam not connected", NULL);
	return false;
}

struct cam_owner *call_owner(const struct rpc_call *call)
{
	return call->client->owner;
}

static void run_again(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	json_t *params = call->again;

	if (r->err != CAM_OK) {
		call_cam_error(call, r);
		return;
	}
	call->again = NULL;
	method_find(call->method)->fn(call, params);
	json_decref(params);
}

bool require_channel(struct rpc_call *call, json_t *params, uint8_t chan)
{
	if (camera_channel_by_id(call_camera(call), chan) != NULL)
		return true;
	if (call->refreshed) {
		call_errorf(call, RPC_NO_CHANNEL, "channel not found: the cam has no channel %u", chan);
		return false;
	}
	call->refreshed = true;
	call->again = json_incref(params);
	camera_update_channels(call_owner(call), run_again, call);
	return false;
}

static bool param_known(const struct method *m, const char *key)
{
	if (m->params == NULL)
		return false;
	for (const char *const *p = m->params; *p != NULL; p++)
		if (strcmp(*p, key) == 0)
			return true;
	return false;
}

void methods_dispatch(struct rpc_call *call, const char *name, json_t *params)
{
	const struct method *m = method_find(name);
	const char *key;
	json_t *value;

	if (m == NULL) {
		call_errorf(call, RPC_METHOD_NOT_FOUND, "method not found: %.64s", name);
		return;
	}
	call->method = m->name;
	if (json_is_array(params) && json_array_size(params) == 0)
		params = NULL;	/* "params": [] says "no parameters" too */
	if (params != NULL && !json_is_object(params)) {
		call_error(call, RPC_INVALID_PARAMS,
			   "invalid params: parameters are given by name (an object)", NULL);
		return;
	}
	json_object_foreach(params, key, value) {
		if (!param_known(m, key)) {
			call_errorf(call, RPC_INVALID_PARAMS, "invalid params: unknown parameter '%.64s'",
				    key);
			return;
		}
	}
	m->fn(call, params);
}

static json_t *param_get(json_t *params, const char *name)
{
	json_t *v = params != NULL ? json_object_get(params, name) : NULL;

	return json_is_null(v) ? NULL : v;
}

static int param_missing(struct rpc_call *call, const char *name)
{
	call_errorf(call, RPC_INVALID_PARAMS, "invalid params: '%s' is required", name);
	return -1;
}

int param_bool(struct rpc_call *call, json_t *params, const char *name, bool required,
	       bool dflt, bool *out)
{
	json_t *v = param_get(params, name);

	if (v == NULL) {
		if (required)
			return param_missing(call, name);
		*out = dflt;
		return 0;
	}
	if (!json_is_boolean(v)) {
		call_errorf(call, RPC_INVALID_PARAMS, "invalid params: '%s' must be a boolean", name);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int param_int(struct rpc_call *call, json_t *params, const char *name, bool required,
	      int64_t dflt, int64_t min, int64_t max, int64_t *out)
{
	json_t *v = param_get(params, name);
	int64_t x;

	if (v == NULL) {
		if (required)
			return param_missing(call, name);
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v)) {
		call_errorf(call, RPC_INVALID_PARAMS, "invalid params: '%s' must be an integer", name);
		return -1;
	}
	x = json_integer_value(v);
	if (x < min || x > max) {
		call_errorf(call, RPC_INVALID_PARAMS,
			    "invalid params: '%s' is %lld, out of range [%lld, %lld]", name,
			    (long long)x, (long long)min, (long long)max);
		return -1;
	}
	*out = x;
	return 0;
}

int param_string(struct rpc_call *call, json_t *params, const char *name, bool required,
		 const char **out, size_t *len)
{
	json_t *v = param_get(params, name);

	if (v == NULL) {
		if (required)
			return param_missing(call, name);
		*out = NULL;
		if (len != NULL)
			*len = 0;
		return 0;
	}
	if (!json_is_string(v)) {
		call_errorf(call, RPC_INVALID_PARAMS, "invalid params: '%s' must be a string", name);
		return -1;
	}
	*out = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return 0;
}

int param_bytes(struct rpc_call *call, json_t *params, const char *name, bool required,
		uint8_t **out, size_t *len)
{
	const char *text;
	size_t text_len;

	if (param_string(call, params, name, required, &text, &text_len) < 0)
		return -1;
	if (text == NULL) {
		text = "";
		text_len = 0;
	}
	*out = omv_b64_decode(text, text_len, len);
	if (*out == NULL) {
		call_errorf(call, RPC_INVALID_PARAMS, "invalid params: '%s' is not valid base64",
			    name);
		return -1;
	}
	return 0;
}

int param_channel_id(struct rpc_call *call, json_t *params, uint8_t *out)
{
	int64_t v;

	if (param_int(call, params, "channel_id", true, 0, 0, 255, &v) < 0)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

void call_protocol_error(struct rpc_call *call, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	call_error(call, RPC_PROTOCOL, text, json_pack("{s:s}", "name", "UNEXPECTED"));
}

void done_null(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;

	if (r->err != CAM_OK)
		call_cam_error(call, r);
	else
		call_result(call, json_null());
}

void done_null_state(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	struct rpc_server *server = call->client->server;	/* call ends below */

	done_null(arg, r);
	if (r->err == CAM_OK)
		rpc_server_announce_state(server);
}

json_t *json_base64(const uint8_t *data, size_t len, bool empty_is_null)
{
	char *text;
	json_t *s;

	if (len == 0 && empty_is_null)
		return json_null();
	text = malloc(omv_b64_encoded_len(len) + 1);
	if (text == NULL)
		return NULL;
	omv_b64_encode_to(data, len, text);
	s = json_stringn_nocheck(text, omv_b64_encoded_len(len));
	free(text);
	return s;
}

const char *channel_name(struct camera *cam, uint8_t chan)
{
	const struct cam_channel *ch = cam != NULL ? camera_channel_by_id(cam, chan) : NULL;

	if (ch != NULL)
		return ch->name;
	return chan == OMV_CHAN_SYSTEM ? "system" : NULL;
}

json_t *event_json(struct camera *cam, uint8_t chan, uint16_t code)
{
	const char *name = channel_name(cam, chan);

	return json_pack("{s:i, s:i, s:o}", "channel", chan, "event", code, "name",
			 name != NULL ? json_string(name) : json_null());
}

json_t *shared_state_json(const struct camera_shared *sh)
{
	json_t *res = sh->raw ? json_pack("[i, i]", sh->raw_width, sh->raw_height) : json_null();

	return json_pack("{s:b, s:b, s:o, s:b, s:o, s:s?}", "streaming", sh->streaming, "raw",
			 sh->raw, "resolution", res, "script_running", sh->script_running, "run",
			 sh->run != 0 ? json_integer((json_int_t)sh->run) : json_null(), "end",
			 run_end_name(sh->end));
}

json_t *topics_json(unsigned topics)
{
	static const char *const names[] = { "link", "event", "stdout", "frame", "state" };
	json_t *a = json_array();

	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		if (topics & (1u << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}
