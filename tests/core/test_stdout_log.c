/* stdout history: cursors, wrap-around, missed bytes, many readers, the
 * runs the bytes belong to. */
#include <string.h>

#include "daemon/stdout_log.h"
#include "testutil.h"

static void test_basic(void)
{
	struct stdout_log *l = stdout_log_new(16);
	uint64_t cur = 0, missed = 99;
	char buf[64];
	size_t n;

	CHECK_EQ(stdout_log_end(l), 0);
	n = stdout_log_read(l, &cur, buf, sizeof buf, &missed);
	CHECK_EQ(n, 0);
	CHECK_EQ(missed, 0);
	stdout_log_append(l, "hello ", 6);
	stdout_log_append(l, "world", 5);
	CHECK_EQ(stdout_log_end(l), 11);
	n = stdout_log_read(l, &cur, buf, 4, &missed);	/* partial read */
	CHECK_EQ(n, 4);
	CHECK(memcmp(buf, "hell", 4) == 0);
	CHECK_EQ(cur, 4);
	n = stdout_log_read(l, &cur, buf, sizeof buf, &missed);
	CHECK_EQ(n, 7);
	CHECK(memcmp(buf, "o world", 7) == 0);
	CHECK_EQ(cur, 11);
	CHECK_EQ(missed, 0);
	stdout_log_free(l);
}

static void test_wrap_and_missed(void)
{
	struct stdout_log *l = stdout_log_new(8);
	uint64_t slow = 0, fast = 0, missed;
	char buf[64];
	size_t n;

	stdout_log_append(l, "abcdef", 6);
	n = stdout_log_read(l, &fast, buf, sizeof buf, &missed);
	CHECK_EQ(n, 6);
	stdout_log_append(l, "ghijk", 5);	/* wraps: ring holds "defghijk" */
	n = stdout_log_read(l, &fast, buf, sizeof buf, &missed);
	CHECK_EQ(n, 5);
	CHECK(memcmp(buf, "ghijk", 5) == 0);
	CHECK_EQ(missed, 0);
	n = stdout_log_read(l, &slow, buf, sizeof buf, &missed);
	CHECK_EQ(missed, 3);	/* "abc" fell out */
	CHECK_EQ(n, 8);
	CHECK(memcmp(buf, "defghijk", 8) == 0);
	CHECK_EQ(slow, 11);
	/* one append longer than the ring keeps its tail */
	stdout_log_append(l, "0123456789ABCDEF", 16);
	CHECK_EQ(stdout_log_end(l), 27);
	n = stdout_log_read(l, &slow, buf, sizeof buf, &missed);
	CHECK_EQ(missed, 8);
	CHECK_EQ(n, 8);
	CHECK(memcmp(buf, "89ABCDEF", 8) == 0);
	/* a cursor from the future reads nothing and is pulled back */
	slow = 1000;
	n = stdout_log_read(l, &slow, buf, sizeof buf, &missed);
	CHECK_EQ(n, 0);
	CHECK_EQ(slow, 27);
	stdout_log_free(l);
}

static void test_many_readers(void)
{
	struct stdout_log *l = stdout_log_new(100);
	uint64_t cur[10] = { 0 }, missed;
	char buf[256], expect[256];
	uint64_t total = 0;

	for (int round = 0; round < 50; round++) {
		char chunk[7];

		for (int i = 0; i < 7; i++)
			chunk[i] = (char)('a' + (round * 7 + i) % 26);
		stdout_log_append(l, chunk, sizeof chunk);
		total += sizeof chunk;
		/* reader r reads every (r+1)th round */
		for (int r = 0; r < 10; r++) {
			uint64_t before = cur[r];
			size_t n;

			if (round % (r + 1) != 0)
				continue;
			n = stdout_log_read(l, &cur[r], buf, sizeof buf, &missed);
			CHECK_EQ(cur[r], total);
			CHECK_EQ(before + missed + n, total);
			CHECK(n <= 100);
			for (size_t i = 0; i < n; i++)
				expect[i] = (char)('a' + (total - n + i) % 26);
			CHECK(memcmp(buf, expect, n) == 0);
		}
	}
	stdout_log_free(l);
}

/* Runs: where each one's output begins, reads that stop there, where a
 * new reader starts, and marks that go when their bytes have gone. */
static void test_runs(void)
{
	struct stdout_log *l = stdout_log_new(16);
	uint64_t cur = 0, missed, run, next;
	bool done;
	char buf[64];
	size_t n;

	stdout_log_append(l, "boot\n", 5);	/* before any known run */
	CHECK_EQ(stdout_log_reader_start(l), 0);
	stdout_log_mark_run(l, 1);
	stdout_log_append(l, "one\n", 4);
	stdout_log_mark_run(l, 2);
	stdout_log_mark_run(l, 3);	/* run 2 printed nothing: no trace */
	stdout_log_append(l, "three", 5);
	CHECK_EQ(stdout_log_reader_start(l), 9);
	CHECK_EQ(stdout_log_run_at(l, 4, &next), 0);
	CHECK_EQ(next, 5);
	CHECK_EQ(stdout_log_run_at(l, 5, &next), 1);
	CHECK_EQ(next, 9);
	CHECK_EQ(stdout_log_run_at(l, 12, &next), 3);
	CHECK_EQ(next, UINT64_MAX);

	n = stdout_log_read_run(l, &cur, buf, sizeof buf, &missed, &run, &done);
	CHECK(n == 5 && memcmp(buf, "boot\n", 5) == 0 && run == 0 && done);
	n = stdout_log_read_run(l, &cur, buf, 2, &missed, &run, &done);
	CHECK(n == 2 && memcmp(buf, "on", 2) == 0 && run == 1 && !done);
	n = stdout_log_read_run(l, &cur, buf, sizeof buf, &missed, &run, &done);
	CHECK(n == 2 && memcmp(buf, "e\n", 2) == 0 && run == 1 && done);
	n = stdout_log_read_run(l, &cur, buf, sizeof buf, &missed, &run, &done);
	CHECK(n == 5 && memcmp(buf, "three", 5) == 0 && run == 3 && !done);
	CHECK_EQ(cur, 14);

	/* The ring wraps: run 1's bytes are gone, a reader from 0 learns so
	 * and reads run 3's, starting where the window starts. */
	stdout_log_append(l, " and more", 9);	/* end 23, window 7..23 */
	CHECK_EQ(stdout_log_reader_start(l), 9);
	cur = 0;
	n = stdout_log_read_run(l, &cur, buf, sizeof buf, &missed, &run, &done);
	CHECK(missed == 7 && run == 1 && n == 2 && done);
	stdout_log_append(l, "0123456789", 10);	/* end 33, window 17..33 */
	CHECK_EQ(stdout_log_reader_start(l), 17);	/* run 3's start fell out */
	CHECK_EQ(stdout_log_run_at(l, 17, &next), 3);
	stdout_log_free(l);
}

int main(void)
{
	test_basic();
	test_wrap_and_missed();
	test_many_readers();
	test_runs();
	return 0;
}
