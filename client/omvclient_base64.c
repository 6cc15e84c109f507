/*
 * The base64 functions of libomvclient's API: the codec omvd uses
 * (common/base64.c), so both sides accept exactly the same texts.
 */
#include "omvclient.h"

#include <string.h>

#include "common/base64.h"

char *omv_base64_encode(const void *data, size_t len)
{
	return omv_b64_encode(data, len);
}

unsigned char *omv_base64_decode(const char *text, size_t *len)
{
	unsigned char *out = omv_b64_decode(text, strlen(text), len);

	if (out == NULL)
		*len = 0;
	return out;
}
