/*
 * Channel methods: by-name ones of the openmv package (missing channel ->
 * null, false or 0), by-id ones, ioctl with struct packing, raw commands.
 * The stdout and stream channels are the daemon's: stdout reads come from
 * the client's own cursor into the history, and what would take the
 * stream from the others (its lock, raw reads, streaming ioctls) is
 * refused with the method to use instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods.h"
#include "protocol/packet.h"
#include "rpc.h"
#include "struct_pack.h"

enum { RESULT_BASE64, RESULT_BASE64_OR_NULL, RESULT_BASE64_OR_TRUE, RESULT_U32, RESULT_NULL,
       RESULT_TRUE };

static const char stream_refusal[] =
	"the stream channel is the daemon's; use streaming, and read_frame or a frame "
	"subscription";

/* Refuses what would take the stream from the other clients; true when
 * the call has ended. */
static bool refuse_stream(struct rpc_call *call, uint8_t chan, const char *what)
{
	if (chan != OMV_CHAN_STREAM)
		return false;
	call_errorf(call, RPC_INVALID_PARAMS, "invalid params: %s (%s)", stream_refusal, what);
	return true;
}

/* The response limit: a raw read of more could never be answered. */
static uint32_t read_limit(struct rpc_call *call)
{
	size_t max = call_camera(call) != NULL ? camera_max_response(call_camera(call)) : SIZE_MAX;

	return max < UINT32_MAX ? (uint32_t)max : UINT32_MAX - 1;
}

/* stdout from the client's cursor as a channel read: raw bytes. */
static void stdout_read_result(struct rpc_call *call, size_t skip, size_t max)
{
	size_t len;
	char *data;

	if (skip > 0) {
		data = client_stdout_take(call, skip, &len);
		free(data);
	}
	data = client_stdout_take(call, max, &len);
	if (data == NULL) {
		call_error(call, RPC_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	call_result(call, json_base64((const uint8_t *)data, len, false));
	free(data);
}

/* Completion for commands whose answer maps directly to a result kind. */
static void simple_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	uint32_t v;

	if (r->err != CAM_OK) {
		call_cam_error(call, r);
		return;
	}
	switch (call->kind) {
	case RESULT_BASE64:
		call_result(call, json_base64(r->data, r->len, false));
		break;
	case RESULT_BASE64_OR_NULL:
		call_result(call, json_base64(r->data, r->len, true));
		break;
	case RESULT_BASE64_OR_TRUE:
		call_result(call, r->len > 0 ? json_base64(r->data, r->len, false) : json_true());
		break;
	case RESULT_U32:
		if (omv_u32_decode(&v, r->data, r->len) < 0) {
			call_protocol_error(call, "expected a u32 answer, got %zu bytes", r->len);
			return;
		}
		call_result(call, json_integer(v));
		break;
	case RESULT_NULL:
		call_result(call, json_null());
		break;
	default:
		call_result(call, json_true());
		break;
	}
}

/* The 'name' parameter looked up in the cam's channel cache (NULL when
 * missing); *failed when the call has ended (bad name, no link). Call it
 * after the other parameters are checked. */
static const struct cam_channel *named_channel(struct rpc_call *call, json_t *params,
						    int *failed)
{
	const char *name;

	*failed = param_string(call, params, "name", true, &name, NULL) < 0 ||
		  !require_link(call);
	if (*failed)
		return NULL;
	return camera_channel_by_name(call_camera(call), name);
}

static void m_has_channel(struct rpc_call *call, json_t *params)
{
	int failed;
	const struct cam_channel *ch = named_channel(call, params, &failed);

	if (!failed)
		call_result(call, json_boolean(ch != NULL));
}

static void m_channel_size(struct rpc_call *call, json_t *params)
{
	int failed;
	const struct cam_channel *ch = named_channel(call, params, &failed);

	if (failed)
		return;
	if (ch == NULL) {
		call_result(call, json_integer(0));
		return;
	}
	if (ch->id == OMV_CHAN_STDOUT) {
		call_result(call, json_integer((json_int_t)client_stdout_available(call)));
		return;
	}
	call->kind = RESULT_U32;
	camera_command(call_owner(call), OMV_OP_CHANNEL_SIZE, ch->id, NULL, 0, simple_done, call);
}

static void m_channel_read(struct rpc_call *call, json_t *params)
{
	const struct cam_channel *ch;
	int64_t size;
	int failed;

	if (param_int(call, params, "size", false, -1, 0, UINT32_MAX - 1, &size) < 0)
		return;
	ch = named_channel(call, params, &failed);
	if (failed)
		return;
	if (ch == NULL) {
		call_result(call, json_null());
		return;
	}
	if (refuse_stream(call, ch->id, "channel_read"))
		return;
	if (size > read_limit(call))
		size = read_limit(call);
	if (ch->id == OMV_CHAN_STDOUT) {
		stdout_read_result(call, 0, size < 0 ? SIZE_MAX : (size_t)size);
		return;
	}
	call->kind = RESULT_BASE64;
	camera_channel_read(call_owner(call), ch->id, 0, size < 0 ? UINT32_MAX : (uint32_t)size,
			    simple_done, call);
}

static void m_channel_write(struct rpc_call *call, json_t *params)
{
	const struct cam_channel *ch;
	uint8_t *data;
	size_t len;
	int failed;

	if (param_bytes(call, params, "data", true, &data, &len) < 0)
		return;
	ch = named_channel(call, params, &failed);
	if (failed) {
		free(data);
		return;
	}
	if (ch == NULL) {
		free(data);
		call_result(call, json_false());
		return;
	}
	call->kind = RESULT_TRUE;
	camera_channel_write(call_owner(call), ch->id, 0, data, len, simple_done, call);
	free(data);
}

static void read_status_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	const struct cam_channel *list;
	size_t n;
	uint32_t bits;
	json_t *o;

	if (r->err != CAM_OK) {
		call_cam_error(call, r);
		return;
	}
	if (omv_u32_decode(&bits, r->data, r->len) < 0) {
		call_protocol_error(call, "CHANNEL_POLL answer of %zu bytes", r->len);
		return;
	}
	o = json_object();
	n = camera_channels(call_camera(call), &list);
	/* stdout is ready when this client has unread output, whatever the
	 * cam's ring holds (the daemon drains it). */
	bits &= ~(1u << OMV_CHAN_STDOUT);
	if (client_stdout_available(call) > 0)
		bits |= 1u << OMV_CHAN_STDOUT;
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, list[i].name,
				    json_boolean(list[i].id < 32 && (bits & (1u << list[i].id))));
	call_result(call, o);
}

static void m_read_status(struct rpc_call *call, json_t *params)
{
	if (require_link(call))
		camera_command(call_owner(call), OMV_OP_CHANNEL_POLL, 0, NULL, 0, read_status_done,
			       call);
}

static void m_update_channels(struct rpc_call *call, json_t *params)
{
	call->kind = RESULT_NULL;
	if (require_link(call))
		camera_update_channels(call_owner(call), simple_done, call);
}

static void m_get_channel(struct rpc_call *call, json_t *params)
{
	const struct cam_channel *ch;
	const char *name;
	int64_t id;

	if (param_string(call, params, "name", false, &name, NULL) < 0 ||
	    param_int(call, params, "channel_id", false, -1, 0, 255, &id) < 0)
		return;
	if (name == NULL && id < 0) {
		call_error(call, RPC_INVALID_PARAMS,
			   "invalid params: one of 'name' or 'channel_id' is required", NULL);
		return;
	}
	if (!require_link(call))
		return;
	if (name != NULL) {
		ch = camera_channel_by_name(call_camera(call), name);
		call_result(call, ch != NULL ? json_integer(ch->id) : json_null());
	} else {
		ch = camera_channel_by_id(call_camera(call), (uint8_t)id);
		call_result(call, ch != NULL ? json_string(ch->name) : json_null());
	}
}

/* {"<id>": {name, flags}} as the package's _channel_list (keys are
 * strings in JSON). */
static void channel_list_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	struct cam_channel list[OMV_CHANNELS_MAX];
	size_t n;
	json_t *o;

	if (r->err != CAM_OK) {
		call_cam_error(call, r);
		return;
	}
	if (camera_channel_list_decode(list, OMV_CHANNELS_MAX, &n, r->data, r->len) < 0) {
		call_protocol_error(call, "CHANNEL_LIST answer of %zu bytes", r->len);
		return;
	}
	o = json_object();
	for (size_t i = 0; i < n; i++) {
		char key[4];

		snprintf(key, sizeof key, "%u", list[i].id);
		json_object_set_new(o, key, json_pack("{s:s, s:i}", "name", list[i].name, "flags",
						      list[i].flags));
	}
	call_result(call, o);
}

static void m_channel_list(struct rpc_call *call, json_t *params)
{
	if (require_link(call))
		camera_command(call_owner(call), OMV_OP_CHANNEL_LIST, 0, NULL, 0, channel_list_done,
			       call);
}

static void lock_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;

	if (r->err == CAM_OK) {
		call_result(call, json_true());
	} else if (r->err == CAM_E_BUSY) {
		call_result(call, json_false());
	} else {
		call_cam_error(call, r);
	}
}

static void m_channel_lock(struct rpc_call *call, json_t *params)
{
	if (param_channel_id(call, params, &call->chan) < 0 ||
	    refuse_stream(call, call->chan, "channel_lock") || !require_link(call) ||
	    !require_channel(call, params, call->chan))
		return;
	camera_channel_lock(call_owner(call), call->chan, lock_done, call);
}

static void unlock_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;

	if (r->err == CAM_OK) {
		call_result(call, json_true());
	} else if (r->err == CAM_E_STATUS || r->err == CAM_E_BUSY) {
		call_result(call, json_false());
	} else {
		call_cam_error(call, r);
	}
}

static void m_channel_unlock(struct rpc_call *call, json_t *params)
{
	if (param_channel_id(call, params, &call->chan) < 0 ||
	    refuse_stream(call, call->chan, "channel_unlock") || !require_link(call) ||
	    !require_channel(call, params, call->chan))
		return;
	camera_channel_unlock(call_owner(call), call->chan, unlock_done, call);
}

static void shape_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	struct omv_shape shape;
	json_t *a;

	if (r->err != CAM_OK) {
		call_cam_error(call, r);
		return;
	}
	if (omv_shape_decode(&shape, r->data, r->len) < 0) {
		call_protocol_error(call, "CHANNEL_SHAPE answer of %zu bytes", r->len);
		return;
	}
	a = json_array();
	for (unsigned i = 0; i < shape.ndim; i++)
		json_array_append_new(a, json_integer(shape.dim[i]));
	call_result(call, a);
}

static void m_channel_shape(struct rpc_call *call, json_t *params)
{
	if (param_channel_id(call, params, &call->chan) < 0 || !require_link(call) ||
	    !require_channel(call, params, call->chan))
		return;
	camera_command(call_owner(call), OMV_OP_CHANNEL_SHAPE, call->chan, NULL, 0, shape_done,
		       call);
}

static void m_channel_size_id(struct rpc_call *call, json_t *params)
{
	if (param_channel_id(call, params, &call->chan) < 0 || !require_link(call) ||
	    !require_channel(call, params, call->chan))
		return;
	if (call->chan == OMV_CHAN_STDOUT) {
		call_result(call, json_integer((json_int_t)client_stdout_available(call)));
		return;
	}
	call->kind = RESULT_U32;
	camera_command(call_owner(call), OMV_OP_CHANNEL_SIZE, call->chan, NULL, 0, simple_done,
		       call);
}

static void m_channel_read_id(struct rpc_call *call, json_t *params)
{
	int64_t offset, length;

	if (param_channel_id(call, params, &call->chan) < 0 ||
	    param_int(call, params, "offset", true, 0, 0, UINT32_MAX, &offset) < 0 ||
	    param_int(call, params, "length", true, 0, 0, UINT32_MAX - 1, &length) < 0 ||
	    refuse_stream(call, call->chan, "channel_read_id") || !require_link(call) ||
	    !require_channel(call, params, call->chan))
		return;
	if (length > read_limit(call)) {
		call_errorf(call, RPC_RESPONSE_TOO_LARGE,
			    "response too large: 'length' is above the limit of %u bytes",
			    read_limit(call));
		return;
	}
	/* On stdout, offset skips that many of the client's unread bytes. */
	if (call->chan == OMV_CHAN_STDOUT) {
		stdout_read_result(call, (size_t)offset, (size_t)length);
		return;
	}
	call->kind = RESULT_BASE64;
	camera_channel_read(call_owner(call), call->chan, (uint32_t)offset, (uint32_t)length,
			    simple_done, call);
}

static void m_channel_write_id(struct rpc_call *call, json_t *params)
{
	int64_t offset;
	uint8_t *data;
	size_t len;

	if (param_channel_id(call, params, &call->chan) < 0 ||
	    param_int(call, params, "offset", false, 0, 0, UINT32_MAX, &offset) < 0 ||
	    param_bytes(call, params, "data", true, &data, &len) < 0)
		return;
	if (!require_link(call) || !require_channel(call, params, call->chan)) {
		free(data);
		return;
	}
	call->kind = RESULT_NULL;
	camera_channel_write(call_owner(call), call->chan, (uint32_t)offset, data, len, simple_done,
			     call);
	free(data);
}

static void m_channel_ioctl(struct rpc_call *call, json_t *params)
{
	int64_t cmd;
	const char *fmt;
	json_t *args = json_object_get(params, "args");
	uint8_t *packed = NULL;
	size_t packed_len = 0;
	char err[160];

	if (param_channel_id(call, params, &call->chan) < 0 ||
	    param_int(call, params, "cmd", true, 0, 0, UINT32_MAX, &cmd) < 0 ||
	    param_string(call, params, "fmt", false, &fmt, NULL) < 0)
		return;
	if (args != NULL && !json_is_null(args) && !json_is_array(args)) {
		call_error(call, RPC_INVALID_PARAMS, "invalid params: 'args' must be an array", NULL);
		return;
	}
	if (fmt == NULL && json_array_size(args) > 0) {
		call_error(call, RPC_INVALID_PARAMS, "invalid params: 'args' given without 'fmt'",
			   NULL);
		return;
	}
	if (call->chan == OMV_CHAN_STREAM && cmd <= OMV_IOCTL_STREAM_RAW_CFG &&
	    refuse_stream(call, call->chan, "channel_ioctl of a streaming control"))
		return;
	if (fmt != NULL) {
		json_t *empty = json_array();
		int rc = struct_pack(fmt, json_is_array(args) ? args : empty, &packed, &packed_len,
				     err, sizeof err);
		json_decref(empty);
		if (rc < 0) {
			call_errorf(call, RPC_INVALID_PARAMS, "invalid params: %s", err);
			return;
		}
	}
	if (!require_link(call) || !require_channel(call, params, call->chan)) {
		free(packed);
		return;
	}
	call->kind = RESULT_BASE64_OR_TRUE;
	camera_channel_ioctl(call_owner(call), call->chan, (uint32_t)cmd, packed, packed_len,
			     simple_done, call);
	free(packed);
}

/* What send_command may not do, with the method to use instead; NULL
 * when the command may go (a CHANNEL_READ length is clamped here). */
static const char *command_refusal(uint8_t opcode, uint8_t chan, uint8_t *data, size_t len,
				   uint32_t limit)
{
	uint32_t offset, length;

	switch (opcode) {
	case OMV_OP_PROTO_SET_CAPS:
		return "PROTO_SET_CAPS is the daemon's: use update_capabilities";
	case OMV_OP_PROTO_SYNC:
	case OMV_OP_SYS_RESET:
	case OMV_OP_SYS_BOOT:
		return len > 0 ? "PROTO_SYNC, SYS_RESET and SYS_BOOT take no data "
				 "(they run resync, reset and boot)" : NULL;
	case OMV_OP_CHANNEL_LOCK:
	case OMV_OP_CHANNEL_UNLOCK:
		if (chan == OMV_CHAN_STREAM)
			return stream_refusal;
		return len > 0 ? "CHANNEL_LOCK and CHANNEL_UNLOCK take no data" : NULL;
	case OMV_OP_CHANNEL_READ:
		if (chan == OMV_CHAN_STREAM)
			return stream_refusal;
		if (chan == OMV_CHAN_STDOUT)
			return "stdout is the daemon's: use read_stdout or channel_read";
		if (omv_read_req_decode(&offset, &length, data, len) == 0 && length > limit)
			omv_read_req_encode(offset, limit, data);
		return NULL;
	case OMV_OP_CHANNEL_IOCTL:
		if (chan == OMV_CHAN_STREAM && len >= 4 &&
		    omv_get_u32(data) <= OMV_IOCTL_STREAM_RAW_CFG)
			return "streaming is the daemon's: use streaming";
		return NULL;
	default:
		return NULL;
	}
}

static void m_send_command(struct rpc_call *call, json_t *params)
{
	int64_t opcode, chan;
	const char *refusal;
	uint8_t *data;
	size_t len;

	if (param_int(call, params, "opcode", true, 0, 0, 255, &opcode) < 0 ||
	    param_int(call, params, "channel", false, 0, 0, 255, &chan) < 0 ||
	    param_bytes(call, params, "data", false, &data, &len) < 0)
		return;
	refusal = command_refusal((uint8_t)opcode, (uint8_t)chan, data, len, read_limit(call));
	if (refusal != NULL) {
		free(data);
		call_errorf(call, RPC_INVALID_PARAMS, "invalid params: %s", refusal);
		return;
	}
	if (!require_link(call)) {
		free(data);
		return;
	}
	call->kind = (opcode == OMV_OP_SYS_RESET || opcode == OMV_OP_SYS_BOOT)
		? RESULT_NULL : RESULT_BASE64_OR_NULL;
	camera_command(call_owner(call), (uint8_t)opcode, (uint8_t)chan, data, len, simple_done,
		       call);
	free(data);
}

static const char *const p_name[] = { "name", NULL };
static const char *const p_read[] = { "name", "size", NULL };
static const char *const p_write[] = { "name", "data", NULL };
static const char *const p_get[] = { "name", "channel_id", NULL };
static const char *const p_id[] = { "channel_id", NULL };
static const char *const p_read_id[] = { "channel_id", "offset", "length", NULL };
static const char *const p_write_id[] = { "channel_id", "data", "offset", NULL };
static const char *const p_ioctl[] = { "channel_id", "cmd", "fmt", "args", NULL };
static const char *const p_command[] = { "opcode", "channel", "data", NULL };

const struct method methods_channel[] = {
	{ "has_channel", m_has_channel, p_name },
	{ "channel_size", m_channel_size, p_name },
	{ "channel_read", m_channel_read, p_read },
	{ "channel_write", m_channel_write, p_write },
	{ "read_status", m_read_status, NULL },
	{ "update_channels", m_update_channels, NULL },
	{ "get_channel", m_get_channel, p_get },
	{ "channel_list", m_channel_list, NULL },
	{ "channel_lock", m_channel_lock, p_id },
	{ "channel_unlock", m_channel_unlock, p_id },
	{ "channel_shape", m_channel_shape, p_id },
	{ "channel_size_id", m_channel_size_id, p_id },
	{ "channel_read_id", m_channel_read_id, p_read_id },
	{ "channel_write_id", m_channel_write_id, p_write_id },
	{ "channel_ioctl", m_channel_ioctl, p_ioctl },
	{ "send_command", m_send_command, p_command },
	{ NULL, NULL, NULL },
};
