/* Unit tests of the daemon's JSON-RPC parsing, struct packing and UTF-8
 * repair (no sockets, no cam; base64 is tests/unit/test_base64.c's). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/rpc.h"
#include "daemon/struct_pack.h"
#include "daemon/utf8.h"
#include "harness.h"

static int error_code(const json_t *resp)
{
	return (int)json_integer_value(json_object_get(json_object_get(resp, "error"), "code"));
}

static void test_parse_errors(void)
{
	struct rpc_message m;

	CHECK(!rpc_parse("", 0, &m));
	CHECK(!rpc_parse(" \t\r", 3, &m));

	CHECK(rpc_parse("{oops", 5, &m));
	CHECK(m.error != NULL && error_code(m.error) == RPC_PARSE_ERROR);
	CHECK(json_is_null(json_object_get(m.error, "id")));
	rpc_message_clear(&m);

	CHECK(rpc_parse("{} trailing", 11, &m));
	CHECK(m.error != NULL && error_code(m.error) == RPC_PARSE_ERROR);
	rpc_message_clear(&m);

	CHECK(rpc_parse("[]", 2, &m));
	CHECK(m.error != NULL && error_code(m.error) == RPC_INVALID_REQUEST);
	rpc_message_clear(&m);

	/* A scalar is valid JSON but not a request. */
	CHECK(rpc_parse("42", 2, &m));
	CHECK(m.error == NULL && m.count == 1 && !m.batch);
	CHECK(m.reqs[0].error != NULL && error_code(m.reqs[0].error) == RPC_INVALID_REQUEST);
	rpc_message_clear(&m);
}

static void test_parse_requests(void)
{
	struct rpc_message m;
	const char *ok = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"status\",\"params\":{\"a\":1}}";
	const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"status\"}";
	const char *null_id = "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"x\"}";

	CHECK(rpc_parse(ok, strlen(ok), &m));
	CHECK(m.count == 1 && m.reqs[0].error == NULL);
	CHECK(strcmp(m.reqs[0].method, "status") == 0);
	CHECK(json_integer_value(m.reqs[0].id) == 7);
	CHECK(json_is_object(m.reqs[0].params));
	rpc_message_clear(&m);

	CHECK(rpc_parse(note, strlen(note), &m));
	CHECK(m.reqs[0].error == NULL && m.reqs[0].id == NULL);	/* notification */
	rpc_message_clear(&m);

	CHECK(rpc_parse(null_id, strlen(null_id), &m));
	CHECK(m.reqs[0].error == NULL && json_is_null(m.reqs[0].id));	/* not a notification */
	rpc_message_clear(&m);

	static const char *const invalid[] = {
		"{\"id\":1,\"method\":\"x\"}",				/* no jsonrpc */
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"x\"}",	/* wrong version */
		"{\"jsonrpc\":\"2.0\",\"id\":1}",			/* no method */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",		/* method not a string */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":3}",
		"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"x\"}",	/* id an object */
		"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"x\"}",
	};
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		CHECK(rpc_parse(invalid[i], strlen(invalid[i]), &m));
		CHECKF(m.count == 1 && m.reqs[0].error != NULL &&
		       error_code(m.reqs[0].error) == RPC_INVALID_REQUEST, "case %zu", i);
		rpc_message_clear(&m);
	}
	/* The id is echoed when it could be read. */
	CHECK(rpc_parse(invalid[2], strlen(invalid[2]), &m));
	CHECK(json_integer_value(json_object_get(m.reqs[0].error, "id")) == 1);
	rpc_message_clear(&m);
}

static void test_parse_batch(void)
{
	struct rpc_message m;
	const char *b = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},1,"
			"{\"jsonrpc\":\"2.0\",\"method\":\"n\"}]";
	char *big;
	size_t n = 0;

	CHECK(rpc_parse(b, strlen(b), &m));
	CHECK(m.batch && m.count == 3 && m.error == NULL);
	CHECK(m.reqs[0].error == NULL && strcmp(m.reqs[0].method, "a") == 0);
	CHECK(m.reqs[1].error != NULL && error_code(m.reqs[1].error) == RPC_INVALID_REQUEST);
	CHECK(m.reqs[2].error == NULL && m.reqs[2].id == NULL);
	rpc_message_clear(&m);

	/* Batches are bounded. */
	big = malloc(4 * (RPC_MAX_BATCH + 1) + 2);
	big[n++] = '[';
	for (int i = 0; i <= RPC_MAX_BATCH; i++) {
		if (i > 0)
			big[n++] = ',';
		big[n++] = '1';
	}
	big[n++] = ']';
	CHECK(rpc_parse(big, n, &m));
	CHECK(m.error != NULL && error_code(m.error) == RPC_INVALID_REQUEST);
	rpc_message_clear(&m);
	free(big);
}

static void test_responses(void)
{
	json_t *id = json_string("abc");
	json_t *r = rpc_result(id, json_integer(5));
	json_t *e = rpc_error(NULL, RPC_METHOD_NOT_FOUND, "nope \xff", json_pack("{s:i}", "x", 1));
	size_t len;
	char *line = rpc_dump_line(r, &len);

	CHECK(strcmp(json_string_value(json_object_get(r, "id")), "abc") == 0);
	CHECK(json_integer_value(json_object_get(r, "result")) == 5);
	CHECK(strcmp(json_string_value(json_object_get(r, "jsonrpc")), "2.0") == 0);
	CHECK(line != NULL && line[len - 1] == '\n' && memchr(line, '\n', len - 1) == NULL);
	CHECK(error_code(e) == RPC_METHOD_NOT_FOUND && json_is_null(json_object_get(e, "id")));
	/* Invalid UTF-8 in a message is repaired, not dropped. */
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(e, "error"), "message")),
		     "nope \xEF\xBF\xBD") == 0);
	CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(e, "error"),
								 "data"), "x")) == 1);
	free(line);
	json_decref(r);
	json_decref(e);
	json_decref(id);
}

static void expect_pack(const char *fmt, const char *args, const char *hex)
{
	json_t *a = json_loads(args, 0, NULL);
	uint8_t *out = NULL;
	size_t len = 0;
	char err[160], got[512] = "";

	CHECKF(struct_pack(fmt, a, &out, &len, err, sizeof err) == 0, "%s: %s", fmt, err);
	for (size_t i = 0; i < len && 2 * i + 2 < sizeof got; i++)
		sprintf(got + 2 * i, "%02x", out[i]);
	CHECKF(strcmp(got, hex) == 0, "pack %s %s = %s, want %s", fmt, args, got, hex);
	free(out);
	json_decref(a);
}

static void expect_pack_error(const char *fmt, const char *args, const char *needle)
{
	json_t *a = json_loads(args, 0, NULL);
	uint8_t *out = NULL;
	size_t len;
	char err[160] = "";

	CHECKF(struct_pack(fmt, a, &out, &len, err, sizeof err) < 0, "%s %s must fail", fmt, args);
	CHECKF(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
	json_decref(a);
}

static void test_struct_pack(void)
{
	expect_pack("<I", "[1]", "01000000");
	expect_pack(">I", "[1]", "00000001");
	expect_pack("!H", "[258]", "0102");
	expect_pack("<II", "[640, 480]", "80020000e0010000");
	expect_pack("<2I", "[640, 480]", "80020000e0010000");
	expect_pack("<bB?", "[-1, 255, true]", "ffff01");
	expect_pack("<hx H", "[-2, 3]", "feff000300");
	expect_pack("<q", "[-1]", "ffffffffffffffff");
	expect_pack("<f", "[1.0]", "0000803f");
	expect_pack(">d", "[2]", "4000000000000000");
	expect_pack("<l", "[-2]", "feffffff");
	expect_pack("", "[]", "");
	/* Without a prefix as the openmv package packs: '<', standard sizes,
	 * no alignment; '@' asks for the host's sizes and alignment. */
	expect_pack("BI", "[1, 2]", "0102000000");
	expect_pack("l", "[-2]", "feffffff");
	expect_pack("bH", "[1, 2]", "010200");
	expect_pack("=bH", "[1, 2]", "010200");
	expect_pack("@BI", "[1, 2]", "0100000002000000");
	expect_pack("@l", "[1]", sizeof(long) == 8 ? "0100000000000000" : "01000000");

	expect_pack_error("<B", "[256]", "out of range");
	expect_pack_error("<b", "[-129]", "out of range");
	expect_pack_error("<I", "[-1]", "out of range");
	expect_pack_error("<I", "[]", "more than");
	expect_pack_error("<I", "[1, 2]", "takes 1");
	expect_pack_error("<z", "[1]", "unsupported");
	expect_pack_error("<I", "[\"x\"]", "integer");
	expect_pack_error("<f", "[\"x\"]", "number");
	expect_pack_error("<3", "[]", "without");
	expect_pack_error("<I", "{}", "array");
}

static void test_utf8(void)
{
	json_t *s = utf8_json_string("ok \xc3\xa9", 5);
	CHECK(s != NULL && strcmp(json_string_value(s), "ok \xc3\xa9") == 0);
	json_decref(s);
	s = utf8_json_string("a\xff" "b\xc3", 4);
	CHECK(s != NULL && strcmp(json_string_value(s), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD") == 0);
	json_decref(s);
	s = utf8_json_string("\xed\xa0\x80", 3);	/* a surrogate: 3 bad bytes */
	CHECK(s != NULL && json_string_length(s) == 9);
	json_decref(s);
	CHECK(utf8_incomplete_tail("ab\xc3", 3) == 1);
	CHECK(utf8_incomplete_tail("ab\xe2\x82", 4) == 2);
	CHECK(utf8_incomplete_tail("ab\xe2\x82\xac", 5) == 0);
	CHECK(utf8_incomplete_tail("abc", 3) == 0);
	CHECK(utf8_incomplete_tail("", 0) == 0);
}

/* A line of n tiny values in a batch: [{},{},...]. */
static char *tiny_values(size_t n)
{
	char *line = malloc(3 * n + 2);
	size_t len = 0;

	CHECK(line != NULL);
	line[len++] = '[';
	for (size_t i = 0; i < n; i++) {
		memcpy(line + len, i ? ",{}" : "{}", i ? 3 : 2);
		len += i ? 3 : 2;
	}
	line[len++] = ']';
	line[len] = '\0';
	return line;
}

static void test_parse_limits(void)
{
	struct rpc_message m;
	char *line;

	/* Too many values: refused before parsing, as an invalid request. */
	line = tiny_values(RPC_MAX_VALUES);
	CHECK(rpc_parse(line, strlen(line), &m));
	CHECK(m.error != NULL && error_code(m.error) == RPC_INVALID_REQUEST);
	CHECK(strstr(json_string_value(json_object_get(json_object_get(m.error, "error"),
							"message")), "16384") != NULL);
	rpc_message_clear(&m);
	free(line);
	/* Strings do not count, whatever is in them. */
	line = malloc(100000);
	CHECK(line != NULL);
	strcpy(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"s\":\"");
	for (size_t n = strlen(line); n < 99000; n++)
		line[n] = ",[{"[n % 3];
	strcpy(line + 99000, "\"}}");
	CHECK(rpc_parse(line, strlen(line), &m));
	CHECK(m.error == NULL && m.count == 1 && m.reqs[0].error == NULL);
	rpc_message_clear(&m);
	free(line);
}

static void test_parse_int64(void)
{
	static const char batch[] =
		"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":[-9223372036854775808]},"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"m\",\"params\":[-9223372036854775809]},"
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"m\",\"params\":[\"1\\\"9999999999999999999999\"]},"
		"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"m\",\"params\":{\"a\":[1e300,18446744073709551616]}},"
		"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"m\",\"params\":[9223372036854775807,1.5]}]";
	struct rpc_message m;

	CHECK(rpc_parse(batch, strlen(batch), &m));
	CHECK(m.error == NULL && m.count == 5);
	CHECK(m.reqs[0].error == NULL && m.reqs[0].method != NULL);
	CHECK(m.reqs[1].error != NULL && error_code(m.reqs[1].error) == RPC_INVALID_PARAMS);
	CHECK(json_integer_value(json_object_get(m.reqs[1].error, "id")) == 2);
	CHECK(m.reqs[2].error == NULL);	/* digits in a string (after an escaped quote) */
	CHECK(m.reqs[3].error != NULL && error_code(m.reqs[3].error) == RPC_INVALID_PARAMS);
	CHECK(m.reqs[4].error == NULL);
	CHECK(json_integer_value(json_array_get(m.reqs[4].params, 0)) == INT64_MAX);
	rpc_message_clear(&m);
	/* An id beyond 64 bits: still answered, with a number id. */
	static const char big_id[] =
		"{\"jsonrpc\":\"2.0\",\"id\":-99999999999999999999,\"method\":\"m\"}";
	CHECK(rpc_parse(big_id, strlen(big_id), &m));
	CHECK(m.error == NULL && m.count == 1 && m.reqs[0].error != NULL);
	CHECK(json_is_real(json_object_get(m.reqs[0].error, "id")));
	CHECK(json_real_value(json_object_get(m.reqs[0].error, "id")) < -9.9e19);
	rpc_message_clear(&m);
	/* Malformed numbers next to big ones: a parse error, nothing more. */
	CHECK(rpc_parse("99999999999999999999-99999999999999999999", 41, &m));
	CHECK(m.error != NULL && error_code(m.error) == RPC_PARSE_ERROR);
	rpc_message_clear(&m);
}

/* Random damage to valid lines: every outcome is one answer or none,
 * never a crash or a read out of bounds (the sanitizer build checks). */
static void test_parse_damage(void)
{
	static const char *const seeds[] = {
		"[{\"jsonrpc\":\"2.0\",\"id\":12345678901234567890123,\"method\":\"m\","
		"\"params\":{\"a\":[-99999999999999999999e1,\"\\\"\\\\\",{}]}}]",
		"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"m\",\"params\":[1,2.5e-3,-0,[[]]]}",
	};
	unsigned seed = 12345;

	for (int round = 0; round < 20000; round++) {
		const char *base = seeds[round % 2];
		size_t len = strlen(base);
		char *line = malloc(len + 1);
		struct rpc_message m;

		CHECK(line != NULL);
		memcpy(line, base, len + 1);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			static const char pool[] = "0123456789-+.eE\"\\[]{},: x";
			line[at] = pool[(seed >> 20) % (sizeof pool - 1)];
			if ((seed >> 28) % 4 == 0)
				len = at + 1;	/* cut short */
		}
		if (rpc_parse(line, len, &m)) {
			CHECK(m.error != NULL || m.count > 0);
			rpc_message_clear(&m);
		}
		free(line);
	}
}

int main(void)
{
	test_parse_errors();
	test_parse_requests();
	test_parse_batch();
	test_parse_limits();
	test_parse_int64();
	test_parse_damage();
	test_responses();
	test_struct_pack();
	test_utf8();
	printf("ok\n");
	return 0;
}
