/*
 * JSON-RPC 2.0 output checks (see jsonrpc_check.h).
 *
 * Each request line is turned into an expectation of what must come back
 * for it, then the responses (notifications set aside) are matched to the
 * expectations in order. Where JSON-RPC leaves the server a choice, both
 * answers are accepted: an error whose id is null stands for any request
 * whose id the server could not tell, a batch may be refused as a whole,
 * and a line jansson cannot read only because of a number beyond int64 or
 * double or a \u0000 may get an answer or none. Optional expectations
 * make the matching a small dynamic programme over the band of reply
 * positions they allow.
 */
#include "jsonrpc_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define RPC_PARSE_ERROR -32700
#define RPC_INVALID_REQUEST -32600
#define RPC_REQUEST_TOO_LARGE -32007

static bool has_only_keys(json_t *o, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		const char *const *k = keys;
		while (*k != NULL && strcmp(*k, key) != 0)
			k++;
		if (*k == NULL)
			return false;
	}
	return true;
}

static bool is_version(json_t *v)
{
	return json_is_string(v) && strcmp(json_string_value(v), "2.0") == 0;
}

static bool valid_id(json_t *id)
{
	return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

static void check_response(json_t *r, const char *line)
{
	static const char *const keys[] = { "jsonrpc", "id", "result", "error", NULL };
	static const char *const err_keys[] = { "code", "message", "data", NULL };
	json_t *err;

	if (!json_is_object(r) || !has_only_keys(r, keys) || !is_version(json_object_get(r, "jsonrpc")))
		fuzz_fail("not a JSON-RPC 2.0 response: %.300s", line);
	if (!valid_id(json_object_get(r, "id")))
		fuzz_fail("response without a valid id: %.300s", line);
	err = json_object_get(r, "error");
	if ((err == NULL) == (json_object_get(r, "result") == NULL))
		fuzz_fail("response needs exactly one of result and error: %.300s", line);
	if (err != NULL && (!json_is_object(err) || !has_only_keys(err, err_keys) ||
			    !json_is_integer(json_object_get(err, "code")) ||
			    !json_is_string(json_object_get(err, "message"))))
		fuzz_fail("malformed error object: %.300s", line);
}

static void check_notification(json_t *n, const char *line)
{
	static const char *const keys[] = { "jsonrpc", "method", "params", NULL };
	json_t *params = json_object_get(n, "params");

	if (!has_only_keys(n, keys) || !is_version(json_object_get(n, "jsonrpc")) ||
	    !json_is_string(json_object_get(n, "method")) ||
	    (params != NULL && !json_is_object(params) && !json_is_array(params)))
		fuzz_fail("not a JSON-RPC 2.0 notification: %.300s", line);
}

json_t *jrc_parse_line(const char *line, size_t len, int *is_notification)
{
	json_error_t err;
	json_t *v = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	size_t i;
	json_t *e;

	if (v == NULL)
		fuzz_fail("output line is not JSON (%s): %.300s", err.text, line);
	*is_notification = json_is_object(v) && json_object_get(v, "method") != NULL;
	if (*is_notification) {
		check_notification(v, line);
	} else if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			fuzz_fail("empty batch response: %.300s", line);
		json_array_foreach(v, i, e)
			check_response(e, line);
	} else {
		check_response(v, line);
	}
	return v;
}

/* ---- what a request line must get back ---- */

enum exp_kind {
	EXP_NONE,	/* nothing: notifications, blank lines */
	EXP_ONE,	/* one response object */
	EXP_BATCH,	/* one array; optional when every element is a notification */
	EXP_ANY,	/* optional, any well-formed answer */
};

struct expect {
	enum exp_kind kind;
	json_t *ids;		/* ONE: [id]; BATCH: the ids the array must carry */
	int code;		/* ONE: the error code it must have, 0 for any */
	size_t line;		/* 1-based, for messages */
};

static bool optional(const struct expect *e)
{
	return e->kind == EXP_ANY || (e->kind == EXP_BATCH && json_array_size(e->ids) == 0);
}

static bool is_request_notification(json_t *v)
{
	json_t *params = json_object_get(v, "params");

	return json_is_object(v) && json_object_get(v, "id") == NULL &&
	       is_version(json_object_get(v, "jsonrpc")) &&
	       json_is_string(json_object_get(v, "method")) &&
	       (params == NULL || json_is_object(params) || json_is_array(params));
}

/* The id a response to this element carries: its own when valid, else null. */
static json_t *answer_id(json_t *v)
{
	json_t *id = json_is_object(v) ? json_object_get(v, "id") : NULL;

	return id != NULL && valid_id(id) ? json_incref(id) : json_null();
}

static bool is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	return true;
}

static void expect_line(struct expect *e, const char *line, size_t len)
{
	json_error_t err;
	json_t *v, *el;
	size_t i;

	e->ids = json_array();
	if (is_blank(line, len)) {
		e->kind = EXP_NONE;
		return;
	}
	v = json_loadb(line, len, JSON_DECODE_ANY, &err);
	if (v == NULL) {
		/* Numbers beyond int64 or double, and \u0000, are valid JSON
		 * that jansson refuses by default. */
		if (strstr(err.text, "too big") != NULL || strstr(err.text, "overflow") != NULL ||
		    strstr(err.text, "JSON_ALLOW_NUL") != NULL) {
			e->kind = EXP_ANY;
		} else {
			e->kind = EXP_ONE;
			e->code = RPC_PARSE_ERROR;
			json_array_append_new(e->ids, json_null());
		}
		return;
	}
	if (json_is_array(v) && json_array_size(v) == 0) {
		e->kind = EXP_ONE;
		e->code = RPC_INVALID_REQUEST;
		json_array_append_new(e->ids, json_null());
	} else if (json_is_array(v)) {
		e->kind = EXP_BATCH;
		json_array_foreach(v, i, el)
			if (!is_request_notification(el))
				json_array_append_new(e->ids, answer_id(el));
	} else if (is_request_notification(v)) {
		e->kind = EXP_NONE;
	} else {
		e->kind = EXP_ONE;
		json_array_append_new(e->ids, answer_id(v));
	}
	json_decref(v);
}

static bool is_error_with_null_id(json_t *r)
{
	return json_is_object(r) && json_is_null(json_object_get(r, "id")) &&
	       json_object_get(r, "error") != NULL;
}

static int error_code(json_t *r)
{
	return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

/* Each response of the array takes one expected id, in any order; a null-id
 * error may stand for any of them. */
static bool batch_matches(json_t *ids, json_t *arr)
{
	size_t n = json_array_size(ids), i, k;
	bool *used, all = false;
	json_t *r;

	if (json_array_size(arr) != n)
		return false;
	used = calloc(n, sizeof *used);
	if (used == NULL)
		fuzz_fail("out of memory");
	json_array_foreach(arr, i, r) {
		json_t *id = json_object_get(r, "id");
		for (k = 0; k < n && (used[k] || !json_equal(json_array_get(ids, k), id)); k++)
			;
		if (k == n && is_error_with_null_id(r))
			for (k = 0; k < n && used[k]; k++)
				;
		if (k == n)
			break;
		used[k] = true;
	}
	all = i == n;
	free(used);
	return all;
}

static bool reply_matches(const struct expect *e, json_t *r)
{
	switch (e->kind) {
	case EXP_ONE:
		if (!json_is_object(r))
			return false;
		if (e->code != 0 && (json_object_get(r, "error") == NULL || error_code(r) != e->code))
			return false;
		return json_equal(json_array_get(e->ids, 0), json_object_get(r, "id")) ||
		       is_error_with_null_id(r);
	case EXP_BATCH:
		if (json_is_object(r))
			return is_error_with_null_id(r);	/* refused as a whole */
		return batch_matches(e->ids, r);
	case EXP_ANY:
		return true;
	case EXP_NONE:
		break;
	}
	return false;
}

static void dump_mismatch(const struct expect *ex, size_t n, json_t *replies)
{
	size_t j = 0;

	fprintf(stderr, "%zu request lines, %zu responses\n", n, json_array_size(replies));
	for (size_t i = 0; i < n && i < 40; i++) {
		char *ids = json_dumps(ex[i].ids, JSON_COMPACT | JSON_ENCODE_ANY);
		fprintf(stderr, "  line %zu: %s ids %.120s code %d\n", ex[i].line,
			(const char *[]){ "none", "one", "batch", "any" }[ex[i].kind],
			ids ? ids : "?", ex[i].code);
		free(ids);
	}
	for (j = 0; j < json_array_size(replies) && j < 40; j++) {
		char *s = json_dumps(json_array_get(replies, j), JSON_COMPACT);
		fprintf(stderr, "  response %zu: %.200s\n", j, s ? s : "?");
		free(s);
	}
}

/*
 * ok[i][j]: expectations i.. match responses j.. exactly. Only the band
 * j in [fixed(i), fixed(i) + opt(i)] can ever hold, fixed and opt being
 * the mandatory and optional expectations before i.
 */
static bool sequence_matches(const struct expect *ex, size_t n, json_t *replies)
{
	size_t m = json_array_size(replies);
	size_t *fixed = calloc(n + 1, sizeof *fixed), *opt = calloc(n + 1, sizeof *opt);
	size_t *row = calloc(n + 1, sizeof *row), cells = 0;
	unsigned char *ok;
	bool result;

	if (fixed == NULL || opt == NULL || row == NULL)
		fuzz_fail("out of memory");
	for (size_t i = 0; i < n; i++) {
		bool needs = ex[i].kind != EXP_NONE && !optional(&ex[i]);
		fixed[i + 1] = fixed[i] + needs;
		opt[i + 1] = opt[i] + optional(&ex[i]);
	}
	for (size_t i = 0; i <= n; i++) {
		row[i] = cells;
		cells += opt[i] + 1;
	}
	ok = calloc(cells, 1);
	if (ok == NULL)
		fuzz_fail("out of memory");
#define CELL(i, j) ((j) >= fixed[i] && (j) <= fixed[i] + opt[i] ? ok[row[i] + (j) - fixed[i]] : 0)
	for (size_t j = fixed[n]; j <= fixed[n] + opt[n]; j++)
		ok[row[n] + j - fixed[n]] = j == m;
	for (size_t i = n; i-- > 0;) {
		for (size_t j = fixed[i]; j <= fixed[i] + opt[i]; j++) {
			bool take = j < m && ex[i].kind != EXP_NONE && CELL(i + 1, j + 1) &&
				    reply_matches(&ex[i], json_array_get(replies, j));
			bool skip = (ex[i].kind == EXP_NONE || optional(&ex[i])) && CELL(i + 1, j);
			ok[row[i] + j - fixed[i]] = take || skip;
		}
	}
	result = CELL(0, 0);
#undef CELL
	free(ok);
	free(row);
	free(opt);
	free(fixed);
	return result;
}

void jrc_check_exchange(const uint8_t *in, size_t in_len, size_t max_request,
			const char *out, size_t out_len)
{
	struct expect *ex = NULL;
	size_t n = 0, cap = 0, pos = 0, lineno = 0;
	json_t *replies = json_array();

	/* The requests, as the daemon frames them: lines, the last one maybe
	 * without its newline; the first line over the limit ends the input. */
	while (pos < in_len) {
		const uint8_t *nl = memchr(in + pos, '\n', in_len - pos);
		size_t len = nl != NULL ? (size_t)(nl - (in + pos)) : in_len - pos;

		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			ex = realloc(ex, cap * sizeof *ex);
			if (ex == NULL)
				fuzz_fail("out of memory");
		}
		memset(&ex[n], 0, sizeof ex[n]);
		ex[n].line = ++lineno;
		if (len > max_request) {
			ex[n].kind = EXP_ONE;
			ex[n].code = RPC_REQUEST_TOO_LARGE;
			ex[n].ids = json_pack("[n]");
			n++;
			break;
		}
		expect_line(&ex[n++], (const char *)in + pos, len);
		pos += len + 1;
	}

	if (out_len > 0 && out[out_len - 1] != '\n')
		fuzz_fail("output ends in the middle of a line: ...%.200s",
			  out + (out_len > 200 ? out_len - 200 : 0));
	for (pos = 0; pos < out_len;) {
		const char *nl = memchr(out + pos, '\n', out_len - pos);
		size_t len = (size_t)(nl - (out + pos));
		int notification;
		json_t *v = jrc_parse_line(out + pos, len, &notification);

		if (notification)
			json_decref(v);
		else
			json_array_append_new(replies, v);
		pos += len + 1;
	}

	if (!sequence_matches(ex, n, replies)) {
		dump_mismatch(ex, n, replies);
		fuzz_fail("the responses do not answer the requests one for one, in order");
	}
	for (size_t i = 0; i < n; i++)
		json_decref(ex[i].ids);
	free(ex);
	json_decref(replies);
}
