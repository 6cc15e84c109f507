/* JSON-RPC 2.0 parsing, validation and response building (jansson). */
#include "rpc.h"

#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a cheap pass over a line found before the parser sees it. */
struct line_scan {
	size_t values;		/* containers and separators: about the values */
	size_t overflows;	/* integer literals beyond 64 bits */
	uint8_t flagged[RPC_MAX_BATCH / 8 + 1];	/* requests holding one */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* digits (n of them, after any minus) beyond the range of int64_t. */
static bool int_overflows(const char *digits, size_t n, bool negative)
{
	while (n > 1 && *digits == '0')
		digits++, n--;
	if (n != 19)
		return n > 19;
	return memcmp(digits, negative ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

/* The index after the string opening at s[i] (len when unterminated). A
 * line is mostly long strings (scripts, base64): found with memchr. */
static size_t skip_string(const char *s, size_t i, size_t len)
{
	size_t from = i + 1;

	for (;;) {
		const char *q = from < len ? memchr(s + from, '"', len - from) : NULL;
		size_t at, escapes = 0;
		if (q == NULL)
			return len;
		at = (size_t)(q - s);
		while (at - escapes > i + 1 && s[at - escapes - 1] == '\\')
			escapes++;
		if (escapes % 2 == 0)
			return at + 1;
		from = at + 1;
	}
}

/*
 * Counts the values (to refuse a line that would cost the parser far more
 * than its size) and finds the integer literals beyond 64 bits, noting
 * which top-level element (request of a batch) holds each. When out is
 * given, the line is copied there with each such literal made a real
 * ("...0.0") so the parser takes it.
 */
static void scan_line(const char *s, size_t len, struct line_scan *sc, char *out, size_t *out_len)
{
	size_t i = 0, depth = 0, elem = 0, o = 0;
	bool array = false, started = false;

	memset(sc, 0, sizeof *sc);
	while (i < len) {
		size_t from = i;
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, i, len);
		} else if (c == '-' || is_digit(c)) {
			size_t d = i + (c == '-'), j = d, end;
			bool integer;
			while (j < len && is_digit(s[j]))
				j++;
			integer = j >= len || (s[j] != '.' && s[j] != 'e' && s[j] != 'E');
			/* The whole token, so both passes see the same tokens. */
			end = j;
			while (end < len && (is_digit(s[end]) || s[end] == '.' || s[end] == 'e' ||
					     s[end] == 'E' || s[end] == '+' || s[end] == '-'))
				end++;
			if (integer && j > d && int_overflows(s + d, j - d, c == '-')) {
				size_t e = array ? elem : 0;
				sc->overflows++;
				if (e < RPC_MAX_BATCH)
					sc->flagged[e / 8] |= (uint8_t)(1u << (e % 8));
				if (out != NULL) {
					memcpy(out + o, s + i, j - i);
					memcpy(out + o + (j - i), ".0", 2);
					memcpy(out + o + (j - i) + 2, s + j, end - j);
					o += end - i + 2;
					i = from = end;
					continue;
				}
			}
			i = end;
		} else {
			if (c == '[' || c == '{') {
				if (!started)
					array = c == '[';
				depth++;
				sc->values++;
			} else if (c == ']' || c == '}') {
				depth -= depth > 0;
			} else if (c == ',') {
				sc->values++;
				if (depth == 1)
					elem++;
			}
			if (out == NULL && sc->values > RPC_MAX_VALUES)
				return;	/* refused whatever follows */
			if (c != ' ' && c != '\t' && c != '\r')
				started = true;
			i++;
		}
		if (out != NULL) {
			if (i > len)
				i = len;
			memcpy(out + o, s + from, i - from);
			o += i - from;
		}
	}
	if (out_len != NULL)
		*out_len = o;
}

static bool scan_flagged(const struct line_scan *sc, size_t i)
{
	return i < RPC_MAX_BATCH && (sc->flagged[i / 8] & (1u << (i % 8)));
}

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

static void parse_one(json_t *v, bool overflow, struct rpc_request *r)
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
	if (overflow) {
		r->error = rpc_error(id, RPC_INVALID_PARAMS,
				     "invalid params: an integer beyond 64 bits", NULL);
		return;
	}
	r->id = id;
	r->method = json_string_value(method);
	r->params = params;
}

bool rpc_parse(const char *line, size_t len, struct rpc_message *msg)
{
	struct line_scan sc;
	json_error_t jerr;
	json_t *root;

	memset(msg, 0, sizeof *msg);
	if (is_blank(line, len))
		return false;
	scan_line(line, len, &sc, NULL, NULL);
	if (sc.values > RPC_MAX_VALUES) {
		char text[128];
		snprintf(text, sizeof text, "invalid request: more than %d JSON values in one line",
			 RPC_MAX_VALUES);
		msg->error = rpc_error(NULL, RPC_INVALID_REQUEST, text, NULL);
		return true;
	}
	if (sc.overflows > 0) {
		/* Parsed with those integers as reals, then answered -32602. */
		char *copy = malloc(len + 2 * sc.overflows);
		size_t copy_len;
		if (copy == NULL) {
			msg->error = rpc_error(NULL, RPC_INTERNAL_ERROR, "out of memory", NULL);
			return true;
		}
		scan_line(line, len, &sc, copy, &copy_len);
		root = json_loadb(copy, copy_len, JSON_DECODE_ANY, &jerr);
		free(copy);
	} else {
		root = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	}
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
			parse_one(json_array_get(root, i), scan_flagged(&sc, i), &msg->reqs[i]);
		return true;
	}
	msg->reqs = calloc(1, sizeof *msg->reqs);
	if (msg->reqs == NULL) {
		msg->error = rpc_error(NULL, RPC_INTERNAL_ERROR, "out of memory", NULL);
		return true;
	}
	msg->count = 1;
	parse_one(root, scan_flagged(&sc, 0), &msg->reqs[0]);
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
