/* Python-struct-style packing of JSON values into ioctl argument bytes. */
#include "struct_pack.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PACK_MAX_BYTES 65536	/* far beyond any ioctl argument */

struct pack_code {
	char code;
	unsigned std_size;	/* with a < > = ! prefix */
	unsigned native_size;	/* with @ or no prefix (LP64 host) */
	bool is_signed;
	bool is_float;
};

static const struct pack_code pack_codes[] = {
	{ 'x', 1, 1, false, false },
	{ 'b', 1, 1, true, false }, { 'B', 1, 1, false, false },
	{ '?', 1, 1, false, false },
	{ 'h', 2, 2, true, false }, { 'H', 2, 2, false, false },
	{ 'i', 4, 4, true, false }, { 'I', 4, 4, false, false },
	{ 'l', 4, sizeof(long), true, false }, { 'L', 4, sizeof(long), false, false },
	{ 'q', 8, 8, true, false }, { 'Q', 8, 8, false, false },
	{ 'f', 4, 4, false, true }, { 'd', 8, 8, false, true },
};

static const struct pack_code *pack_code_find(char c)
{
	for (size_t i = 0; i < sizeof pack_codes / sizeof pack_codes[0]; i++)
		if (pack_codes[i].code == c)
			return &pack_codes[i];
	return NULL;
}

static void pack_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pack_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool host_little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

static void put_uint(uint8_t *p, uint64_t v, unsigned size, bool little)
{
	for (unsigned k = 0; k < size; k++) {
		unsigned shift = 8 * (little ? k : size - 1 - k);
		p[k] = (uint8_t)(v >> shift);
	}
}

/* Range-checks one integer value and returns its two's complement bits. */
static int int_value(const json_t *v, const struct pack_code *pc, unsigned size, size_t index,
		     uint64_t *bits, char *err, size_t errlen)
{
	json_int_t x;

	if (pc->code == '?') {
		if (json_is_boolean(v)) {
			*bits = json_is_true(v);
			return 0;
		}
		if (!json_is_integer(v)) {
			pack_error(err, errlen, "args[%zu]: '?' needs a boolean or integer", index);
			return -1;
		}
		*bits = json_integer_value(v) != 0;
		return 0;
	}
	if (!json_is_integer(v)) {
		pack_error(err, errlen, "args[%zu]: '%c' needs an integer", index, pc->code);
		return -1;
	}
	x = json_integer_value(v);
	if (size < 8) {
		long long lo = pc->is_signed ? -(1LL << (8 * size - 1)) : 0;
		long long hi = pc->is_signed ? (1LL << (8 * size - 1)) - 1 : (1LL << (8 * size)) - 1;
		if (x < lo || x > hi) {
			pack_error(err, errlen, "args[%zu]: %lld out of range for '%c' [%lld, %lld]",
				   index, (long long)x, pc->code, lo, hi);
			return -1;
		}
	} else if (!pc->is_signed && x < 0) {
		pack_error(err, errlen, "args[%zu]: %lld out of range for '%c'", index,
			   (long long)x, pc->code);
		return -1;
	}
	*bits = (uint64_t)x;
	return 0;
}

static int float_value(const json_t *v, const struct pack_code *pc, size_t index, uint64_t *bits,
		       char *err, size_t errlen)
{
	double d;

	if (!json_is_number(v)) {
		pack_error(err, errlen, "args[%zu]: '%c' needs a number", index, pc->code);
		return -1;
	}
	d = json_number_value(v);
	if (pc->code == 'f') {
		float f = (float)d;
		uint32_t u;
		memcpy(&u, &f, 4);
		*bits = u;
	} else {
		memcpy(bits, &d, 8);
	}
	return 0;
}

int struct_pack(const char *fmt, const json_t *args, uint8_t **out, size_t *out_len,
		char *err, size_t errlen)
{
	bool little = host_little_endian(), native = true;
	const char *p = fmt;
	uint8_t *buf;
	size_t len = 0, argi = 0, nargs;

	if (!json_is_array(args)) {
		pack_error(err, errlen, "args must be an array");
		return -1;
	}
	nargs = json_array_size(args);
	buf = calloc(1, PACK_MAX_BYTES);
	if (buf == NULL) {
		pack_error(err, errlen, "out of memory");
		return -1;
	}

	/* No prefix packs like the openmv package, which prefixes '<'. */
	switch (*p) {
	case '@': p++; break;
	case '=': native = false; p++; break;
	case '>': case '!': native = false; little = false; p++; break;
	case '<': p++; /* fall through */
	default: native = false; little = true; break;
	}

	while (*p != '\0') {
		unsigned long count = 1;
		const struct pack_code *pc;
		unsigned size;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (isdigit((unsigned char)*p)) {
			char *end;
			count = strtoul(p, &end, 10);
			if (count > PACK_MAX_BYTES) {
				pack_error(err, errlen, "fmt: repeat count too large");
				goto fail;
			}
			p = end;
			if (*p == '\0') {
				pack_error(err, errlen, "fmt: repeat count without a format code");
				goto fail;
			}
		}
		pc = pack_code_find(*p);
		if (pc == NULL) {
			pack_error(err, errlen, "fmt: unsupported format code '%c'", *p);
			goto fail;
		}
		size = native ? pc->native_size : pc->std_size;
		if (native && pc->code != 'x' && len % size != 0)
			len += size - len % size;	/* native alignment, as '@' does */
		if (len + (size_t)count * size > PACK_MAX_BYTES) {
			pack_error(err, errlen, "fmt: packs more than %d bytes", PACK_MAX_BYTES);
			goto fail;
		}
		for (unsigned long k = 0; k < count; k++) {
			uint64_t bits = 0;
			if (pc->code != 'x') {
				if (argi >= nargs) {
					pack_error(err, errlen, "args: fmt needs more than %zu values",
						   nargs);
					goto fail;
				}
				const json_t *v = json_array_get(args, argi);
				int rc = pc->is_float
					? float_value(v, pc, argi, &bits, err, errlen)
					: int_value(v, pc, size, argi, &bits, err, errlen);
				if (rc < 0)
					goto fail;
				argi++;
			}
			put_uint(buf + len, bits, size, little);
			len += size;
		}
		p++;
	}
	if (argi != nargs) {
		pack_error(err, errlen, "args: fmt takes %zu values, got %zu", argi, nargs);
		goto fail;
	}
	uint8_t *shrunk = realloc(buf, len > 0 ? len : 1);
	*out = shrunk != NULL ? shrunk : buf;
	*out_len = len;
	return 0;
fail:
	free(buf);
	return -1;
}
