/*
 * Standard base64 (RFC 4648 alphabet, with padding): how every byte string
 * crosses the JSON-RPC interface, in omvd and in libomvclient alike.
 */
#ifndef OMV_COMMON_BASE64_H
#define OMV_COMMON_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode len bytes (no NUL). */
size_t omv_b64_encoded_len(size_t len);
/* Writes omv_b64_encoded_len(len) characters to out (no NUL added). */
void omv_b64_encode_to(const void *data, size_t len, char *out);
/* A malloc'd NUL-terminated encoding; NULL when out of memory. */
char *omv_b64_encode(const void *data, size_t len);

/*
 * Strict decode: the length must be a multiple of 4, only the alphabet is
 * accepted (no whitespace, no NUL), '=' only as the final one or two
 * characters, and the unused bits before the padding must be zero: one
 * text for one byte string. Returns a malloc'd buffer with a NUL byte
 * after its *out_len bytes (so decoded text is a C string), or NULL when
 * the text is not canonical base64 (or memory runs out).
 */
uint8_t *omv_b64_decode(const char *text, size_t text_len, size_t *out_len);

#endif
