/*
 * base64 tests (common/base64.c, the codec of omvd and libomvclient): the
 * RFC 4648 vectors, a cross-check of the encoder against a plain
 * bit-by-bit one over random buffers of every length up to 300, round
 * trips, and the texts the strict decoder must refuse.
 */
#include <string.h>

#include "common/base64.h"
#include "check.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Six bits at a time, most significant first, '=' to a multiple of 4. */
static char *encode_bitwise(const uint8_t *p, size_t n)
{
	char *out = xmalloc(n / 3 * 4 + 5), *o = out;
	size_t bits = n * 8;

	for (size_t at = 0; at < bits; at += 6) {
		unsigned v = 0;

		for (size_t b = at; b < at + 6; b++)
			v = v << 1 | (b < bits ? (p[b / 8] >> (7 - b % 8)) & 1u : 0u);
		*o++ = alphabet[v];
	}
	while ((o - out) % 4 != 0)
		*o++ = '=';
	*o = '\0';
	return out;
}

static void test_vectors(void)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		size_t plain = strlen(v[i][0]), len = 99;
		char *e = omv_b64_encode(v[i][0], plain);
		uint8_t *d = omv_b64_decode(v[i][1], strlen(v[i][1]), &len);

		CHECK(e != NULL && strcmp(e, v[i][1]) == 0);
		CHECK(d != NULL);
		CHECK_EQ(len, plain);
		CHECK(memcmp(d, v[i][0], len) == 0 && d[len] == '\0');
		free(e);
		free(d);
	}
}

static void test_random(void)
{
	struct rng r = { 0x6261736536347631ULL };
	uint8_t buf[301];

	for (size_t n = 0; n < sizeof buf; n++) {
		char *e, *want, to[405];
		uint8_t *d;
		size_t len;

		rng_fill(&r, buf, n);
		e = omv_b64_encode(buf, n);
		want = encode_bitwise(buf, n);
		CHECK(e != NULL && strcmp(e, want) == 0);
		CHECK_EQ(omv_b64_encoded_len(n), strlen(want));
		/* encode_to writes exactly that many characters. */
		memset(to, '#', sizeof to);
		omv_b64_encode_to(buf, n, to);
		CHECK(memcmp(to, want, strlen(want)) == 0 && to[strlen(want)] == '#');
		d = omv_b64_decode(e, strlen(e), &len);
		CHECK(d != NULL);
		CHECK_EQ(len, n);
		CHECK(memcmp(d, buf, n) == 0 && d[n] == '\0');
		free(e);
		free(want);
		free(d);
	}
}

static void test_refused(void)
{
	/* Bad length, characters outside the alphabet (space, '!'), '=' not
	 * at the end or three of them, and bits set under the padding ("Zh=="
	 * and "Zm9=" would decode to "f" and "fo" if they were ignored). */
	static const char *const bad[] = {
		"Zg=", "Zm9 v", "Zm 9v", "Zm9v!A==", "Z===", "====", "Zg==Zg==", "A=AA", "Zg=a",
		"Zh==", "Zm9=",
	};
	size_t len;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (omv_b64_decode(bad[i], strlen(bad[i]), &len) != NULL) {
			fprintf(stderr, "accepted '%s'\n", bad[i]);
			exit(1);
		}
	}
	/* A NUL inside the given length is not base64 either. */
	CHECK(omv_b64_decode("Zm9\0", 4, &len) == NULL);
	CHECK(omv_b64_decode("Zg==\0\0\0\0", 8, &len) == NULL);
	/* Only the given length is read. */
	{
		uint8_t *d = omv_b64_decode("Zm9vYmFy", 4, &len);

		CHECK(d != NULL && len == 3 && memcmp(d, "foo", 3) == 0);
		free(d);
	}
}

int main(void)
{
	test_vectors();
	test_random();
	test_refused();
	printf("base64 ok\n");
	return 0;
}
