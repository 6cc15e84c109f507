/*
 * The JSON-RPC method table (docs/rpc.md) and the helpers methods share:
 * parameter extraction with precise -32602 messages, and access to the
 * client's camera. Each method ends its call with call_result/call_error,
 * at once or from a cam callback.
 */
#ifndef OMVD_METHODS_H
#define OMVD_METHODS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "camera.h"
#include "rpc_client.h"

typedef void (*method_fn)(struct rpc_call *call, json_t *params);

struct method {
	const char *name;
	method_fn fn;
	const char *const *params;	/* accepted parameter names, NULL-terminated */
};

/* Runs a request: unknown method and params shape checks, then fn.
 * params may be NULL (absent). */
void methods_dispatch(struct rpc_call *call, const char *method, json_t *params);

/* The tables of each area, NULL-name terminated. */
extern const struct method methods_device[];
extern const struct method methods_script[];
extern const struct method methods_stream[];
extern const struct method methods_channel[];
extern const struct method methods_profile[];
extern const struct method methods_subscribe[];

struct camera *call_camera(const struct rpc_call *call);
/* For methods that talk to the cam, after their parameters are checked
 * (invalid params win over not connected): false, with the call ended
 * by -32000, when there is no link at all. */
bool require_link(struct rpc_call *call);
struct cam_owner *call_owner(const struct rpc_call *call);
/* For by-id methods, after require_link: true when the cam lists the
 * channel. Else the channel list is refreshed once (the channel may be
 * newer than the cache) and the method runs again with the same params,
 * or the call ends with -32003; false then. */
bool require_channel(struct rpc_call *call, json_t *params, uint8_t chan);

/* stdout through the client's own cursor (methods_script.c): the bytes
 * waiting for it, and at most max of them taken (malloc'd; NULL when out
 * of memory), bytes that left the history counted as missed. */
size_t client_stdout_available(struct rpc_call *call);
char *client_stdout_take(struct rpc_call *call, size_t max, size_t *len);

/* -32005 for an answer of the cam that does not decode. */
void call_protocol_error(struct rpc_call *call, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Completions for cam operations whose result is null; the second also
 * announces the shared state, which the operation changed. */
void done_null(void *arg, const struct cam_reply *r);
void done_null_state(void *arg, const struct cam_reply *r);

/*
 * Parameter helpers: return 0 and set *out (the default when the
 * parameter is absent and not required), or end the call with -32602
 * naming the parameter and return -1. JSON null counts as absent.
 */
int param_bool(struct rpc_call *call, json_t *params, const char *name, bool required,
	       bool dflt, bool *out);
int param_int(struct rpc_call *call, json_t *params, const char *name, bool required,
	      int64_t dflt, int64_t min, int64_t max, int64_t *out);
int param_string(struct rpc_call *call, json_t *params, const char *name, bool required,
		 const char **out, size_t *len);
/* Base64 text decoded into a malloc'd buffer (*out non-NULL on success). */
int param_bytes(struct rpc_call *call, json_t *params, const char *name, bool required,
		uint8_t **out, size_t *len);
/* A channel id 0..255. */
int param_channel_id(struct rpc_call *call, json_t *params, uint8_t *out);

/* JSON for bytes from the cam: base64 string, or null when empty and
 * empty_is_null is set. */
json_t *json_base64(const uint8_t *data, size_t len, bool empty_is_null);
/* Channel name by id from the cam's cache, or NULL. */
const char *channel_name(struct camera *cam, uint8_t chan);
/* The `event` object {channel, event, name}. */
json_t *event_json(struct camera *cam, uint8_t chan, uint16_t code);
/* The shared-state object of status and of the state topic. */
json_t *shared_state_json(const struct camera_shared *sh);
/* The 'frame_format' parameter (subscribe). */
int param_frame_format(struct rpc_call *call, json_t *params, const char *dflt, bool none_ok,
		       enum frame_encoding *out);
/* A client's topic names. */
json_t *topics_json(unsigned topics);

#endif
