/* Streaming methods: streaming, read_frame, and the frame_format
 * parameter of subscribe. */
#include "frame.h"
#include "methods.h"
#include "rpc.h"
#include "rpc_frames.h"
#include "rpc_server.h"

#define RESOLUTION_MAX 16384

int param_frame_format(struct rpc_call *call, json_t *params, const char *dflt, bool none_ok,
		       enum frame_encoding *out)
{
	const char *name;
	int enc;

	if (param_string(call, params, "frame_format", false, &name, NULL) < 0)
		return -1;
	if (name == NULL)
		name = dflt;
	enc = frame_encoding_from_name(name);
	if (enc < 0 || (enc == FRAME_ENC_NONE && !none_ok)) {
		call_errorf(call, RPC_INVALID_PARAMS,
			    "invalid params: 'frame_format' must be %s\"jpeg\", \"rgb888\" or \"native\"",
			    none_ok ? "\"none\", " : "");
		return -1;
	}
	*out = (enum frame_encoding)enc;
	return 0;
}

static void m_streaming(struct rpc_call *call, json_t *params)
{
	bool enable, raw;
	int64_t w = 0, h = 0;
	json_t *res;

	if (param_bool(call, params, "enable", true, false, &enable) < 0 ||
	    param_bool(call, params, "raw", false, false, &raw) < 0)
		return;
	res = json_object_get(params, "resolution");
	if (res != NULL && !json_is_null(res)) {
		if (!json_is_array(res) || json_array_size(res) != 2 ||
		    !json_is_integer(json_array_get(res, 0)) ||
		    !json_is_integer(json_array_get(res, 1))) {
			call_error(call, RPC_INVALID_PARAMS,
				   "invalid params: 'resolution' must be [width, height]", NULL);
			return;
		}
		w = json_integer_value(json_array_get(res, 0));
		h = json_integer_value(json_array_get(res, 1));
		if (w < 1 || w > RESOLUTION_MAX || h < 1 || h > RESOLUTION_MAX) {
			call_errorf(call, RPC_INVALID_PARAMS,
				    "invalid params: 'resolution' %lldx%lld out of range 1..%d",
				    (long long)w, (long long)h, RESOLUTION_MAX);
			return;
		}
	} else if (raw && enable) {
		call_error(call, RPC_INVALID_PARAMS,
			   "invalid params: 'resolution' is required with raw", NULL);
		return;
	}
	if (!require_link(call))
		return;
	camera_streaming(call_owner(call), enable, raw, (uint32_t)w, (uint32_t)h, done_null_state,
			 call);
}

static void m_read_frame(struct rpc_call *call, json_t *params)
{
	struct rpc_client *c = call->client;
	struct frame *f;
	const char *name;
	bool shm;
	int enc;

	if (param_string(call, params, "format", false, &name, NULL) < 0 ||
	    param_bool(call, params, "shm", false, false, &shm) < 0)
		return;
	enc = frame_encoding_from_name(name != NULL ? name : "rgb888");
	if (enc <= FRAME_ENC_NONE) {
		call_error(call, RPC_INVALID_PARAMS,
			   "invalid params: 'format' must be \"rgb888\", \"jpeg\" or \"native\"", NULL);
		return;
	}
	if (!require_link(call))
		return;
	f = camera_latest_frame(call_camera(call));
	if (f == NULL || f->number <= c->last_frame) {
		call_result(call, json_null());
		return;
	}
	c->last_frame = f->number;
	rpc_frames_read(c->server->frames, call, f, (enum frame_encoding)enc, shm);
}

static const char *const streaming_params[] = { "enable", "raw", "resolution", NULL };
static const char *const read_frame_params[] = { "format", "shm", NULL };

const struct method methods_stream[] = {
	{ "streaming", m_streaming, streaming_params },
	{ "read_frame", m_read_frame, read_frame_params },
	{ NULL, NULL, NULL },
};
