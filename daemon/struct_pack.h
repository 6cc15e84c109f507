/*
 * A subset of Python's struct.pack for channel_ioctl arguments: byte-order
 * prefixes @ = < > !, codes x b B ? h H i I l L q Q f d with repeat
 * counts, values taken from a JSON array. Without a prefix the format is
 * packed as with '<' (little-endian, standard sizes, no alignment), as
 * the openmv package does.
 */
#ifndef OMVD_STRUCT_PACK_H
#define OMVD_STRUCT_PACK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Packs args (a JSON array) by fmt into a malloc'd buffer (*out, *out_len;
 * *out is non-NULL on success even for zero bytes). On failure returns -1
 * and writes a message saying what is wrong to err.
 */
int struct_pack(const char *fmt, const json_t *args, uint8_t **out, size_t *out_len,
		char *err, size_t errlen);

#endif
