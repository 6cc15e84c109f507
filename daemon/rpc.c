/* JSON-RPC 2.0 parsing, validation and response building (jansson). */
#include "rpc.h"

#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	return true;
}

/* An id may be a string, a number or null (JSON-RPC 2.0, section 4). */
static bool valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

static void parse_one(json_t *v, struct rpc_request *r)
{
	json_t *version, *method, *id, *params;

	memset(r, 0, sizeof *r);
	if (!json_is_object(v)) {
		r->error = rpc_error(NULL, RPC_INVALID_REQUEST,
				     "invalid request: not a JSON-RPC request object", NULL);
		return;
	}
	id = json_object_get(v, "id");
	if (id != NULL && !valid_id(id)) {
		r->error = rpc_error(NULL, RPC_INVALID_REQUEST,
				     "invalid request: id must be a string, number or null", NULL);
		return;
	}
	version = json_object_get(v, "jsonrpc");
	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0) {
		r->error = rpc_error(id, RPC_INVALID_REQUEST,
				     "invalid request: \"jsonrpc\" must be \"2.0\"", NULL);
		return;
	}
	method = json_object_get(v, "method");
	if (!json_is_string(method)) {
		r->error = rpc_error(id, RPC_INVALID_REQUEST,
				     "invalid request: \"method\" must be a string", NULL);
		return;
	}
	params = json_object_get(v, "params");
	if (params != NULL && !json_is_object(params) && !json_is_array(params)) {
		r->error = rpc_error(id, RPC_INVALID_REQUEST,
				     "invalid request: \"params\" must be an object or array", NULL);
		return;
	}
	r->id = id;
	r->method = json_string_value(method);
	r->params = params;
}

bool rpc_parse(const char *line, size_t len, struct rpc_message *msg)
{
	json_error_t jerr;
	json_t *root;

	memset(msg, 0, sizeof *msg);
	if (is_blank(line, len))
		return false;
	root = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		char text[256];
		snprintf(text, sizeof text, "parse error: %s (column %d)", jerr.text, jerr.column);
		msg->error = rpc_error(NULL, RPC_PARSE_ERROR, text, NULL);
		return true;
	}
	msg->root = root;
	if (json_is_array(root)) {
		size_t n = json_array_size(root);
		msg->batch = true;
		if (n == 0) {
			msg->error = rpc_error(NULL, RPC_INVALID_REQUEST,
					       "invalid request: empty batch", NULL);
			return true;
		}
		if (n > RPC_MAX_BATCH) {
			char text[128];
			snprintf(text, sizeof text,
				 "invalid request: batch of %zu exceeds the limit of %d", n,
				 RPC_MAX_BATCH);
			msg->error = rpc_error(NULL, RPC_INVALID_REQUEST, text, NULL);
			return true;
		}
		msg->reqs = calloc(n, sizeof *msg->reqs);
		if (msg->reqs == NULL) {
			msg->error = rpc_error(NULL, RPC_INTERNAL_ERROR, "out of memory", NULL);
			return true;
		}
		msg->count = n;
		for (size_t i = 0; i < n; i++)
			parse_one(json_array_get(root, i), &msg->reqs[i]);
		return true;
	}
	msg->reqs = calloc(1, sizeof *msg->reqs);
	if (msg->reqs == NULL) {
		msg->error = rpc_error(NULL, RPC_INTERNAL_ERROR, "out of memory", NULL);
		return true;
	}
	msg->count = 1;
	parse_one(root, &msg->reqs[0]);
	return true;
}

void rpc_message_clear(struct rpc_message *msg)
{
	for (size_t i = 0; i < msg->count; i++)
		json_decref(msg->reqs[i].error);
	free(msg->reqs);
	json_decref(msg->error);
	json_decref(msg->root);
	memset(msg, 0, sizeof *msg);
}

json_t *rpc_result(json_t *id, json_t *result)
{
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(),
			 "result", result ? result : json_null());
}

json_t *rpc_error(json_t *id, int code, const char *message, json_t *data)
{
	json_t *err;

	if (message == NULL)
		message = "error";
	err = json_pack("{s:i, s:o}", "code", code, "message",
			utf8_json_string(message, strlen(message)));

	if (err != NULL && data != NULL)
		json_object_set_new(err, "data", data);
	else
		json_decref(data);
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(),
			 "error", err);
}

json_t *rpc_notification(const char *method, json_t *params)
{
	return json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method,
			 "params", params ? params : json_null());
}

char *rpc_dump_line(const json_t *msg, size_t *len)
{
	size_t n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
	char *buf;

	if (n == 0)
		return NULL;
	buf = malloc(n + 1);
	if (buf == NULL)
		return NULL;
	if (json_dumpb(msg, buf, n, JSON_COMPACT) != n) {
		free(buf);
		return NULL;
	}
	buf[n] = '\n';
	*len = n + 1;
	return buf;
}
