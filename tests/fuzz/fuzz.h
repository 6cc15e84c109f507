/* What every harness shares: libFuzzer's entry point and failing loudly. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: the message to stderr, then abort(), which libFuzzer
 * reports as a crash and saves the input that caused it. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
