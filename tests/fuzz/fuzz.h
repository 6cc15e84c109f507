/* What every harness shares: libFuzzer's entry point and failing loudly. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: the message to stderr, then abort(), which libFuzzer
 * reports as a crash and saves the input that caused it. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* An input read as operands, little-endian; false once it runs out. */
struct fuzz_reader {
	const uint8_t *p;
	size_t left;
};

static inline bool fuzz_take(struct fuzz_reader *r, void *out, size_t n)
{
	if (r->left < n)
		return false;
	if (n > 0)
		memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

static inline bool fuzz_take_u8(struct fuzz_reader *r, uint8_t *v)
{
	return fuzz_take(r, v, 1);
}

static inline bool fuzz_take_u16(struct fuzz_reader *r, uint16_t *v)
{
	uint8_t b[2];

	if (!fuzz_take(r, b, 2))
		return false;
	*v = (uint16_t)(b[0] | b[1] << 8);
	return true;
}

#endif
