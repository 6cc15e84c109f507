/* UTF-8 validation with U+FFFD replacement. */
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid sequence starting at p (at most n bytes), 0 if invalid. */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t need;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;	/* overlong, out of range, or a surrogate */
	return need;
}

json_t *utf8_json_string(const char *text, size_t len)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t i = 0, o = 0;
	char *out;
	json_t *s;

	/* Fast path: already valid. */
	while (i < len) {
		size_t k = utf8_seq_len(p + i, len - i);
		if (k == 0)
			break;
		i += k;
	}
	if (i == len)
		return json_stringn_nocheck(text, len);

	out = malloc(len * 3 + 1);	/* each bad byte grows to 3 */
	if (out == NULL)
		return NULL;
	memcpy(out, text, i);
	o = i;
	while (i < len) {
		size_t k = utf8_seq_len(p + i, len - i);
		if (k == 0) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		}
	}
	s = json_stringn_nocheck(out, o);
	free(out);
	return s;
}

void utf8_repair(const char *text, char *out, size_t cap)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t len = strlen(text), i = 0, o = 0;

	while (i < len) {
		size_t k = utf8_seq_len(p + i, len - i);
		const void *from = k > 0 ? (const void *)(p + i) : "\xEF\xBF\xBD";
		size_t n = k > 0 ? k : 3;

		if (o + n + 1 > cap)
			break;
		memcpy(out + o, from, n);
		o += n;
		i += k > 0 ? k : 1;
	}
	if (cap > 0)
		out[o] = '\0';
}

size_t utf8_incomplete_tail(const char *text, size_t len)
{
	const uint8_t *p = (const uint8_t *)text;

	/* Look back at most 3 bytes for a lead byte whose sequence runs past the end. */
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		uint8_t c = p[len - back];
		size_t need;
		if ((c & 0xC0) == 0x80)
			continue;	/* continuation byte: keep looking */
		if (c >= 0xC2 && c <= 0xDF)
			need = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 4;
		else
			return 0;
		return need > back ? back : 0;
	}
	return 0;
}
