/* Round trips of every payload codec of protocol/msg.h (msg_check.c). */
#ifndef FUZZ_MSG_CHECK_H
#define FUZZ_MSG_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* Aborts (fuzz_fail) on the first codec that breaks its contract. */
void msg_check_all(const uint8_t *p, size_t n);

#endif
