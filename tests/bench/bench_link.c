/*
 * Baselines that need neither camsim nor omvd: CRC-32 throughput of the
 * protocol core against a bit-by-bit CRC, the computed link limit of a
 * shaped link, and a raw byte copy through a pty pair (what the unlimited
 * link can carry at best).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "bench.h"
#include "protocol/crc.h"

#define CRC_BUF 4096u
#define CRC32_POLY 0xFA567D89u

/* The plain definition: MSB first, one bit at a time. */
static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n--) {
		crc ^= (uint32_t)*p++ << 24;
		for (int i = 0; i < 8; i++)
			crc = crc & 0x80000000u ? crc << 1 ^ CRC32_POLY : crc << 1;
	}
	return crc;
}

/* MB/s of fn over 4 KiB buffers for about `seconds`. */
static double crc_rate(uint32_t (*fn)(uint32_t, const uint8_t *, size_t), const uint8_t *buf,
		       double seconds, uint32_t *sink)
{
	double t0 = now_s(), t;
	uint64_t bytes = 0;

	do {
		for (int i = 0; i < 16; i++) {
			*sink ^= fn(OMV_CRC32_INIT, buf, CRC_BUF);
			bytes += CRC_BUF;
		}
		t = now_s() - t0;
	} while (t < seconds);
	return (double)bytes / t / 1e6;
}

static uint32_t crc32_table(uint32_t crc, const uint8_t *p, size_t n)
{
	return omv_crc32_update(crc, p, n);
}

void bench_crc(struct crc_figs *out, double seconds)
{
	static uint8_t buf[CRC_BUF];
	uint32_t sink = 0;

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 131u + 7u);
	if (crc32_bitwise(OMV_CRC32_INIT, buf, sizeof buf) != omv_crc32(buf, sizeof buf))
		bench_fail("omv_crc32 differs from the bitwise CRC");
	fig_add(&out->table_mbps, crc_rate(crc32_table, buf, seconds, &sink));
	fig_add(&out->bitwise_mbps, crc_rate(crc32_bitwise, buf, seconds / 4, &sink));
	if (sink == 0x12345678u)	/* keeps the work observable */
		fputc('\0', stderr);
}

double link_limit_s(const struct link_profile *p, double bytes)
{
	if (p->rate == 0)
		return 0;
	return (double)p->latency_us / 1e6 + bytes / (double)p->rate;
}

static int open_pty_pair(int *master, int *slave)
{
	struct termios tio;
	char *name;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (*master < 0)
		return -1;
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 || !(name = ptsname(*master))) {
		close(*master);
		return -1;
	}
	*slave = open(name, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (*slave < 0) {
		close(*master);
		return -1;
	}
	if (tcgetattr(*slave, &tio) == 0) {
		cfmakeraw(&tio);
		cfsetispeed(&tio, B921600);
		cfsetospeed(&tio, B921600);
		tcsetattr(*slave, TCSANOW, &tio);
	}
	return 0;
}

/* Push `bytes` from master to slave, interleaving writes and reads. */
static int copy_once(int master, int slave, const uint8_t *src, uint8_t *dst, size_t bytes)
{
	size_t sent = 0, got = 0;
	struct pollfd pf[2] = { { master, POLLOUT, 0 }, { slave, POLLIN, 0 } };

	while (got < bytes) {
		pf[0].events = sent < bytes ? POLLOUT : 0;
		if (poll(pf, 2, 1000) <= 0)
			return -1;
		if (pf[0].revents & POLLOUT) {
			ssize_t n = write(master, src + sent, bytes - sent);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				return -1;
		}
		if (pf[1].revents & POLLIN) {
			ssize_t n = read(slave, dst + got, bytes - got);
			if (n > 0)
				got += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				return -1;
		}
	}
	return 0;
}

double pty_copy_rate(size_t bytes, double seconds)
{
	int master, slave;
	uint8_t *src = malloc(bytes), *dst = malloc(bytes);
	double rate = -1, t0, t;
	uint64_t total = 0;

	if (!src || !dst || bytes == 0 || open_pty_pair(&master, &slave) < 0) {
		free(src);
		free(dst);
		return -1;
	}
	for (size_t i = 0; i < bytes; i++)
		src[i] = (uint8_t)(i * 13u);
	t0 = now_s();
	do {
		if (copy_once(master, slave, src, dst, bytes) < 0)
			goto out;
		total += bytes;
		t = now_s() - t0;
	} while (t < seconds);
	if (memcmp(src, dst, bytes) == 0)
		rate = (double)total / t;
out:
	close(slave);
	close(master);
	free(src);
	free(dst);
	return rate;
}
