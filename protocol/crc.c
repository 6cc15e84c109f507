/*
 * Table-driven CRCs of the OpenMV protocol. Both are MSB-first (not
 * reflected): CRC-16 uses one 256-entry table, CRC-32 slices 8 bytes per
 * step with eight tables. The tables are built once at load time.
 */
#include "protocol/crc.h"

#define CRC16_POLY 0xF94Fu
#define CRC32_POLY 0xFA567D89u

static uint16_t crc16_table[256];
static uint32_t crc32_table[8][256];

__attribute__((constructor))
static void crc_tables_build(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint16_t c16 = (uint16_t)(i << 8);
		uint32_t c32 = (uint32_t)i << 24;
		for (int bit = 0; bit < 8; bit++) {
			c16 = (uint16_t)((c16 & 0x8000u) ? ((unsigned)c16 << 1) ^ CRC16_POLY : (unsigned)c16 << 1);
			c32 = (c32 & 0x80000000u) ? (c32 << 1) ^ CRC32_POLY : c32 << 1;
		}
		crc16_table[i] = c16;
		crc32_table[0][i] = c32;
	}
	/* Table k advances a byte that still has k zero bytes after it. */
	for (unsigned k = 1; k < 8; k++)
		for (unsigned i = 0; i < 256; i++) {
			uint32_t prev = crc32_table[k - 1][i];
			crc32_table[k][i] = (prev << 8) ^ crc32_table[0][prev >> 24];
		}
}

uint16_t omv_crc16_update(uint16_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len--)
		crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ *p++) & 0xFF]);
	return crc;
}

uint32_t omv_crc32_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len >= 8) {
		uint32_t hi = crc ^ ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
				     (uint32_t)p[2] << 8 | p[3]);
		crc = crc32_table[7][hi >> 24] ^ crc32_table[6][(hi >> 16) & 0xFF] ^
		      crc32_table[5][(hi >> 8) & 0xFF] ^ crc32_table[4][hi & 0xFF] ^
		      crc32_table[3][p[4]] ^ crc32_table[2][p[5]] ^
		      crc32_table[1][p[6]] ^ crc32_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc << 8) ^ crc32_table[0][(crc >> 24) ^ *p++];
	return crc;
}
