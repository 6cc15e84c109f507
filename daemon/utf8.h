/*
 * UTF-8 repair for text that comes from the cam (stdout, channel names)
 * or from parser messages: JSON strings must be valid UTF-8, so invalid
 * bytes become U+FFFD.
 */
#ifndef OMVD_UTF8_H
#define OMVD_UTF8_H

#include <stddef.h>

#include <jansson.h>

/* A JSON string of text with every invalid byte replaced by U+FFFD. */
json_t *utf8_json_string(const char *text, size_t len);

/* The NUL-terminated text with every invalid byte replaced by U+FFFD,
 * into out (at most cap bytes with the NUL; 3 * strlen + 1 always fits),
 * cut at a character boundary when it does not fit. */
void utf8_repair(const char *text, char *out, size_t cap);

/* Bytes at the end of text that start a sequence not yet complete (0..3):
 * a reader holds them back until the rest arrives. */
size_t utf8_incomplete_tail(const char *text, size_t len);

#endif
