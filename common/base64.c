/* Base64 encoding and strict decoding for bytes carried in JSON strings. */
#include "base64.h"

#include <stdlib.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t omv_b64_encoded_len(size_t len)
{
	return (len / 3 + (len % 3 != 0)) * 4;
}

void omv_b64_encode_to(const void *data, size_t len, char *out)
{
	const uint8_t *p = data;
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = b64_alphabet[(v >> 6) & 63];
		*out++ = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = b64_alphabet[(v >> 6) & 63];
		*out++ = '=';
	}
}

char *omv_b64_encode(const void *data, size_t len)
{
	size_t n;
	char *out;

	if (len / 3 >= (SIZE_MAX - 1) / 4 - 1)
		return NULL;	/* the text's length would not fit a size_t */
	n = omv_b64_encoded_len(len);
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	omv_b64_encode_to(data, len, out);
	out[n] = '\0';
	return out;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

uint8_t *omv_b64_decode(const char *text, size_t text_len, size_t *out_len)
{
	size_t pad = 0, i, o = 0;
	uint8_t *out;

	if (text_len % 4 != 0)
		return NULL;
	if (text_len > 0 && text[text_len - 1] == '=')
		pad = (text_len > 1 && text[text_len - 2] == '=') ? 2 : 1;
	out = malloc(text_len / 4 * 3 - pad + 1);
	if (out == NULL)
		return NULL;

	for (i = 0; i < text_len; i += 4) {
		int last = (i + 4 == text_len);
		int v[4];
		for (int k = 0; k < 4; k++) {
			char c = text[i + k];
			if (c == '=' && last && k >= 4 - (int)pad)
				v[k] = 0;
			else if ((v[k] = b64_value(c)) < 0)
				goto bad;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if (last && pad == 2) {
			if (w & 0xFFFF)
				goto bad;	/* non-zero bits hidden before "==" */
			out[o++] = (uint8_t)(w >> 16);
		} else if (last && pad == 1) {
			if (w & 0xFF)
				goto bad;
			out[o++] = (uint8_t)(w >> 16);
			out[o++] = (uint8_t)(w >> 8);
		} else {
			out[o++] = (uint8_t)(w >> 16);
			out[o++] = (uint8_t)(w >> 8);
			out[o++] = (uint8_t)w;
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
bad:
	free(out);
	return NULL;
}
