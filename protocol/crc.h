/*
 * CRCs of the OpenMV protocol: CRC-16 (poly 0xF94F) over the header and
 * CRC-32 (poly 0xFA567D89) over the payload. Both MSB-first, not reflected,
 * init all ones, no final xor.
 */
#ifndef OMV_CRC_H
#define OMV_CRC_H

#include <stddef.h>
#include <stdint.h>

#define OMV_CRC16_INIT 0xFFFFu
#define OMV_CRC32_INIT 0xFFFFFFFFu

/* Continue a CRC over more bytes; start from the *_INIT value. */
uint16_t omv_crc16_update(uint16_t crc, const void *data, size_t len);
uint32_t omv_crc32_update(uint32_t crc, const void *data, size_t len);

static inline uint16_t omv_crc16(const void *data, size_t len)
{
	return omv_crc16_update(OMV_CRC16_INIT, data, len);
}

static inline uint32_t omv_crc32(const void *data, size_t len)
{
	return omv_crc32_update(OMV_CRC32_INIT, data, len);
}

#endif
