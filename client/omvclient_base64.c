/*
 * Base64 (RFC 4648 standard alphabet, with padding): how omvd carries bytes
 * in JSON strings. Decoding is strict: whitespace or bad padding is an error.
 */
#include "omvclient.h"

#include <stdlib.h>
#include <string.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *omv_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t groups = (len + 2) / 3;
	char *out, *o;

	if (groups > (SIZE_MAX - 1) / 4)
		return NULL;
	out = malloc(groups * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i += 3) {
		size_t left = len - i;
		uint32_t v = (uint32_t)in[i] << 16;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = left > 1 ? alphabet[v >> 6 & 63] : '=';
		*o++ = left > 2 ? alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int sextet(char ch)
{
	const char *p = ch ? strchr(alphabet, ch) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

unsigned char *omv_base64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text), pad = 0;
	unsigned char *out, *o;

	*len = 0;
	if (n % 4)
		return NULL;
	if (n && text[n - 1] == '=')
		pad = n >= 2 && text[n - 2] == '=' ? 2 : 1;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int q[4];
		uint32_t v = 0;

		for (int k = 0; k < 4; k++) {
			bool padded = last && k >= 4 - (int)pad;

			q[k] = padded ? 0 : sextet(text[i + k]);
			if (q[k] < 0) {
				free(out);
				return NULL;
			}
			v = v << 6 | (uint32_t)q[k];
		}
		*o++ = (unsigned char)(v >> 16);
		if (!last || pad < 2)
			*o++ = (unsigned char)(v >> 8);
		if (!last || pad < 1)
			*o++ = (unsigned char)v;
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}
