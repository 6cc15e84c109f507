/*
 * Small helpers for the core tests: checks that abort with file:line, a
 * per-test temporary directory, and running the event loop until a
 * condition holds or a deadline passes (never sleeping).
 */
#ifndef CORE_TESTUTIL_H
#define CORE_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct event_base;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

#define CHECK_EQ(a, b) \
	do { \
		long long a_ = (long long)(a), b_ = (long long)(b); \
		if (a_ != b_) { \
			fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, a_, b_); \
			abort(); \
		} \
	} while (0)

uint64_t tu_now_ms(void);
/* A fresh directory under $TMPDIR, removed by tu_cleanup(). */
const char *tu_tmpdir(void);
void tu_cleanup(void);
/* Run the loop until cond(arg) or timeout_ms; returns cond's last value. */
bool tu_run_until(struct event_base *base, bool (*cond)(void *), void *arg,
		  unsigned timeout_ms);
/* Run the loop for ms milliseconds (to check that nothing happens). */
void tu_run_for(struct event_base *base, unsigned ms);

#endif
