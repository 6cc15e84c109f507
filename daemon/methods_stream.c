/* Streaming methods and the frame object shared by read_frame and the
 * `frame` topic. */
#include <string.h>

#include "frame.h"
#include "methods.h"
#include "rpc.h"
#include "rpc_server.h"

#define RESOLUTION_MAX 16384

json_t *frame_json(struct frame *f, enum frame_encoding enc, int *code, const char **msg)
{
	static const char *const enc_names[] = { "none", "jpeg", "rgb888", "native" };
	const uint8_t *data = NULL;
	size_t len = 0;
	json_t *o;

	switch (enc) {
	case FRAME_ENC_NONE:
		break;
	case FRAME_ENC_JPEG:
		if (!frame_is_jpeg(f)) {
			*code = RPC_INVALID_PARAMS;
			*msg = "invalid params: 'jpeg' asked of a raw (not JPEG) frame";
			return NULL;
		}
		data = frame_native(f, &len);
		break;
	case FRAME_ENC_RGB888:
		data = frame_rgb888(f, &len);
		if (data == NULL) {
			*code = RPC_INTERNAL_ERROR;
			*msg = "frame does not decode";
			return NULL;
		}
		break;
	case FRAME_ENC_NATIVE:
	case FRAME_ENC_COUNT:
		data = frame_native(f, &len);
		break;
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "number", (json_int_t)f->number,
		      "width", (json_int_t)f->hdr.width, "height", (json_int_t)f->hdr.height,
		      "format", (json_int_t)f->hdr.pixformat, "depth", (json_int_t)f->hdr.size,
		      "raw_size", (json_int_t)f->len);
	if (o != NULL && enc != FRAME_ENC_NONE) {
		json_object_set_new(o, "encoding", json_string(enc_names[enc]));
		json_object_set_new(o, "data", json_base64(data, len, false));
	}
	return o;
}

/* "jpeg" -> FRAME_ENC_JPEG, ...; -1 when unknown. none_ok allows "none". */
static int encoding_from_name(const char *name, bool none_ok)
{
	if (strcmp(name, "jpeg") == 0)
		return FRAME_ENC_JPEG;
	if (strcmp(name, "rgb888") == 0)
		return FRAME_ENC_RGB888;
	if (strcmp(name, "native") == 0)
		return FRAME_ENC_NATIVE;
	if (none_ok && strcmp(name, "none") == 0)
		return FRAME_ENC_NONE;
	return -1;
}

int param_frame_format(struct rpc_call *call, json_t *params, const char *dflt, bool none_ok,
		       enum frame_encoding *out)
{
	const char *name;
	int enc;

	if (param_string(call, params, "frame_format", false, &name, NULL) < 0)
		return -1;
	if (name == NULL)
		name = dflt;
	enc = encoding_from_name(name, none_ok);
	if (enc < 0) {
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
	const char *name, *msg = NULL;
	int enc, code = 0;
	json_t *o;

	if (param_string(call, params, "format", false, &name, NULL) < 0)
		return;
	enc = encoding_from_name(name != NULL ? name : "rgb888", false);
	if (enc < 0) {
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
	o = frame_json(f, (enum frame_encoding)enc, &code, &msg);
	if (o == NULL) {
		call_error(call, code != 0 ? code : RPC_INTERNAL_ERROR, msg ? msg : "out of memory",
			   NULL);
		return;
	}
	c->last_frame = f->number;
	call_result(call, o);
}

static const char *const streaming_params[] = { "enable", "raw", "resolution", NULL };
static const char *const read_frame_params[] = { "format", NULL };

const struct method methods_stream[] = {
	{ "streaming", m_streaming, streaming_params },
	{ "read_frame", m_read_frame, read_frame_params },
	{ NULL, NULL, NULL },
};
