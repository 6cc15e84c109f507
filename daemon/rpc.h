/*
 * JSON-RPC 2.0 message handling: one line in, validated requests out;
 * response objects built. No I/O here.
 */
#ifndef OMVD_RPC_H
#define OMVD_RPC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum rpc_code {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL_ERROR = -32603,
	RPC_NOT_CONNECTED = -32000,
	RPC_TIMEOUT = -32001,
	RPC_CAM_STATUS = -32002,
	RPC_NO_CHANNEL = -32003,
	RPC_BUSY = -32004,
	RPC_PROTOCOL = -32005,
	RPC_LOCKED = -32006,
	RPC_REQUEST_TOO_LARGE = -32007,
	RPC_RESPONSE_TOO_LARGE = -32008,
};

/* With at most max_outstanding calls before reading pauses, a batch can
 * not overflow the camera's per-owner queue (256). */
#define RPC_MAX_BATCH 128

/* JSON values one line may hold (counted cheaply before parsing): the
 * parser spends about 100 bytes on each, so a line of tiny values would
 * cost thirty times its size. More: -32600. */
#define RPC_MAX_VALUES 16384

/* One element of a message: a valid request, or the error it earned. */
struct rpc_request {
	json_t *id;		/* borrowed from the message; NULL: notification */
	const char *method;	/* NULL when invalid */
	json_t *params;		/* borrowed; NULL when absent */
	json_t *error;		/* owned error response when invalid, else NULL */
};

struct rpc_message {
	json_t *root;		/* owns everything borrowed above */
	bool batch;
	size_t count;
	struct rpc_request *reqs;
	json_t *error;		/* the whole line failed (parse error, empty batch) */
};

/*
 * Parses one line (without its newline). Returns false for a line with
 * nothing in it (blank), which gets no answer. Otherwise fills msg: either
 * msg->error is set, or there are count requests to run, each possibly
 * with its own error response. A request holding an integer beyond 64
 * bits gets -32602 (an id beyond 64 bits is answered as a real number).
 */
bool rpc_parse(const char *line, size_t len, struct rpc_message *msg);
void rpc_message_clear(struct rpc_message *msg);

/* Response objects. id NULL means null; result/data are stolen. */
json_t *rpc_result(json_t *id, json_t *result);
json_t *rpc_error(json_t *id, int code, const char *message, json_t *data);
/* A notification (server push): params stolen. */
json_t *rpc_notification(const char *method, json_t *params);

/* Compact one-line serialisation with the trailing newline; malloc'd. */
char *rpc_dump_line(const json_t *msg, size_t *len);

#endif
