/*
 * CRC tests: fixed vectors, a cross-check of the table-driven code against
 * a plain bit-by-bit implementation over random buffers of many lengths and
 * alignments, and incremental updates against one-shot results.
 */
#include <string.h>

#include "protocol/crc.h"
#include "check.h"

static uint16_t crc16_bitwise(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0xF94F) : (uint16_t)(crc << 1);
	}
	return crc;
}

static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint32_t)p[i] << 24;
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x80000000u) ? (crc << 1) ^ 0xFA567D89u : crc << 1;
	}
	return crc;
}

static void test_vectors(void)
{
	const uint8_t sync_hdr[8] = { 0xAA, 0xD5, 0, 0, 0, 0, 0, 0 };
	const uint8_t zeros[4] = { 0 };

	CHECK_EQ(omv_crc16("123456789", 9), 0xE541);
	CHECK_EQ(omv_crc32("123456789", 9), 0x41B403D3u);
	CHECK_EQ(omv_crc16("", 0), 0xFFFF);
	CHECK_EQ(omv_crc32("", 0), 0xFFFFFFFFu);
	CHECK_EQ(omv_crc16(sync_hdr, 8), 0xACB0);
	CHECK_EQ(omv_crc32(zeros, 4), 0xFF70CA75u);
}

static void test_cross_check(void)
{
	struct rng r = { 0x1234567887654321ULL };
	enum { MAX = 4200 };
	uint8_t *buf = xmalloc(MAX + 8);

	rng_fill(&r, buf, MAX + 8);
	/* Every length up to 300 at every alignment 0..7, then larger ones. */
	for (size_t len = 0; len <= 300; len++)
		for (size_t align = 0; align < 8; align++) {
			CHECK_EQ(omv_crc16(buf + align, len), crc16_bitwise(buf + align, len));
			CHECK_EQ(omv_crc32(buf + align, len), crc32_bitwise(buf + align, len));
		}
	for (int i = 0; i < 200; i++) {
		size_t len = rng_below(&r, MAX), align = rng_below(&r, 8);
		rng_fill(&r, buf, MAX + 8);
		CHECK_EQ(omv_crc16(buf + align, len), crc16_bitwise(buf + align, len));
		CHECK_EQ(omv_crc32(buf + align, len), crc32_bitwise(buf + align, len));
	}
	free(buf);
}

static void test_incremental(void)
{
	struct rng r = { 42 };
	enum { LEN = 1000 };
	uint8_t buf[LEN];

	rng_fill(&r, buf, LEN);
	uint16_t whole16 = omv_crc16(buf, LEN);
	uint32_t whole32 = omv_crc32(buf, LEN);
	/* Every split point in two pieces. */
	for (size_t cut = 0; cut <= LEN; cut++) {
		CHECK_EQ(omv_crc16_update(omv_crc16(buf, cut), buf + cut, LEN - cut), whole16);
		CHECK_EQ(omv_crc32_update(omv_crc32(buf, cut), buf + cut, LEN - cut), whole32);
	}
	/* Many random pieces. */
	for (int round = 0; round < 50; round++) {
		uint16_t c16 = OMV_CRC16_INIT;
		uint32_t c32 = OMV_CRC32_INIT;
		size_t off = 0;
		while (off < LEN) {
			size_t n = 1 + rng_below(&r, 40);
			if (n > LEN - off)
				n = LEN - off;
			c16 = omv_crc16_update(c16, buf + off, n);
			c32 = omv_crc32_update(c32, buf + off, n);
			off += n;
		}
		CHECK_EQ(c16, whole16);
		CHECK_EQ(c32, whole32);
	}
}

int main(void)
{
	test_vectors();
	test_cross_check();
	test_incremental();
	printf("crc: ok\n");
	return 0;
}
