/*
 * omvd-load: one function per attack. Each starts its own camsim + omvd
 * with the daemon's default limits, attacks, and judges the figures
 * against the bounds documented in docs/rpc.md ("Limits").
 */
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdint.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* The daemon's defaults (docs/rpc.md, "Limits"). */
#define MIB (1024.0 * 1024.0)
#define MAX_REQUEST (4.0 * MIB)
#define INPUT_BUDGET (64.0 * MIB)
#define CLIENT_OUTPUT (4.0 * MIB)
#define OUTPUT_BUDGET (64.0 * MIB)
/* What one client may cost: its queued output up to the soft limit (where
 * reading its requests pauses) and one request line being read. */
#define PER_CLIENT (CLIENT_OUTPUT + MAX_REQUEST)
/* The bounds. */
#define POLITE_P99_MS 50.0
#define STALL_MS 100.0
#define JOURNAL_LINES_30S 10000.0
#define SLACK 1.1

static const char *const none[] = { NULL };

static unsigned dur(unsigned short_ms, unsigned full_ms)
{
	return load_opt.full ? full_ms : short_ms;
}

static double mib(long kb)
{
	return (double)kb / 1024.0;
}

/* RSS back near where it started once the attackers left: polled, since
 * the daemon frees their memory a moment after they hang up. */
static long settle_rss(pid_t pid, long bound_kb)
{
	uint64_t deadline = h_now_ms() + 5000;
	long rss;

	while ((rss = proc_rss_kb(pid)) > bound_kb && h_now_ms() < deadline)
		sleep_ms(50);
	return rss;
}

static size_t clients_connected(struct h_conn *admin)
{
	json_t *list = h_result(admin, "clients", NULL);
	size_t n = json_array_size(list);

	json_decref(list);
	return n;
}

static void wait_clients(struct h_conn *admin, size_t n)
{
	uint64_t deadline = h_now_ms() + 15000;

	while (clients_connected(admin) != n && h_now_ms() < deadline)
		sleep_ms(50);
}

/* ---- connect()+close() flood ---- */

static volatile bool flood_stop;
static unsigned long flood_count;

static void *flood_main(void *arg)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", h_path("omvd.sock"));
	while (!flood_stop) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
			__atomic_add_fetch(&flood_count, 1, __ATOMIC_RELAXED);
		close(fd);
	}
	return NULL;
}

static void row_flood(const char *row)
{
	struct daemon_run d;
	struct polite p;
	pthread_t th[3];
	uint64_t t0, t1;
	size_t lines0;

	daemon_start(&d, none, none, 1000);
	polite_start(&p);
	sleep_ms(200);
	lines0 = log_lines(&d);
	flood_stop = false;
	flood_count = 0;
	t0 = h_now_ms();
	for (int i = 0; i < 3; i++)
		CHECK(pthread_create(&th[i], NULL, flood_main, NULL) == 0);
	sleep_ms(dur(5000, 30000));
	flood_stop = true;
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	t1 = h_now_ms();
	polite_stop(&p);
	note(row, "connections made", (double)flood_count, "");
	figure(row, "polite client p99", polite_pct(&p, 99), "ms", POLITE_P99_MS, true);
	figure(row, "longest gap between watchdog pings (WatchdogSec=1)",
	       watchdog_max_gap(t0, t1), "ms", 1000, true);
	figure(row, "log lines, per 30 s", (double)(log_lines(&d) - lines0) * 30000.0 /
	       (double)(t1 - t0), "", JOURNAL_LINES_30S, true);
	free(p.lat_ms);
	daemon_stop(&d);
}

/* ---- clients pipelining requests without reading ---- */

static const char pipelined[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"is_connected\"}\n";

static void pipeline(const char *row, int n, unsigned ms)
{
	struct daemon_run d;
	struct h_conn *admin;
	char block[64 * sizeof pipelined];
	size_t blen = 0, *off = calloc((size_t)n, sizeof *off);
	int *fds = calloc((size_t)n, sizeof *fds);
	long rss0, growth, after;
	uint64_t deadline;

	CHECK(off != NULL && fds != NULL);
	while (blen + sizeof pipelined - 1 <= sizeof block) {
		memcpy(block + blen, pipelined, sizeof pipelined - 1);
		blen += sizeof pipelined - 1;
	}
	daemon_start(&d, none, none, 1000);
	admin = h_connect(h_path("omvd.sock"));
	CHECK(admin != NULL);
	rss0 = proc_rss_kb(d.omvd.pid);
	proc_reset_hwm(d.omvd.pid);
	for (int i = 0; i < n; i++)
		CHECK((fds[i] = raw_connect()) >= 0);
	deadline = h_now_ms() + ms;
	while (h_now_ms() < deadline) {
		bool moved = false;
		for (int i = 0; i < n; i++) {
			ssize_t w = send(fds[i], block + off[i], blen - off[i],
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0) {
				off[i] = (off[i] + (size_t)w) % blen;
				moved = true;
			}
		}
		if (!moved)
			sleep_ms(5);
	}
	growth = proc_hwm_kb(d.omvd.pid) - rss0;
	note(row, "RSS at the start", mib(rss0), "MiB");
	figure(row, "RSS growth per client", mib(growth) / n, "MiB", PER_CLIENT / MIB * SLACK,
	       true);
	figure(row, "RSS growth", mib(growth), "MiB",
	       (n * CLIENT_OUTPUT < OUTPUT_BUDGET ? n * CLIENT_OUTPUT : OUTPUT_BUDGET) / MIB * SLACK +
	       MAX_REQUEST / MIB, true);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	wait_clients(admin, 1);
	after = settle_rss(d.omvd.pid, (long)((double)rss0 * SLACK));
	figure(row, "RSS after they left / at the start", (double)after / (double)rss0, "",
	       SLACK, true);
	h_close(admin);
	daemon_stop(&d);
	free(off);
	free(fds);
}

static void row_pipeline(const char *row)
{
	pipeline(row, 1, dur(3000, 10000));
}

static void row_pipeline20(const char *row)
{
	pipeline(row, 20, dur(3000, 10000));
}

/* ---- stalled `state` subscribers while streaming is toggled ---- */

static void row_stalled_state(const char *row)
{
	enum { N = 50 };
	static const char sub[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\",\"params\":{\"topics\":[\"state\"]}}\n";
	struct daemon_run d;
	struct h_conn *admin;
	int fds[N];
	long rss0, growth, after;
	unsigned toggles = 0;
	uint64_t deadline;

	daemon_start(&d, none, none, 1000);
	admin = h_connect(h_path("omvd.sock"));
	CHECK(admin != NULL);
	rss0 = proc_rss_kb(d.omvd.pid);
	proc_reset_hwm(d.omvd.pid);
	for (int i = 0; i < N; i++) {
		CHECK((fds[i] = raw_connect()) >= 0);
		CHECK(raw_write(fds[i], sub, sizeof sub - 1, 1000) == sizeof sub - 1);
	}
	deadline = h_now_ms() + dur(5000, 30000);
	while (h_now_ms() < deadline) {
		json_t *r = h_call(admin, "streaming", json_pack("{s:b}", "enable", toggles % 2 == 0));
		json_decref(r);
		toggles++;
	}
	growth = proc_hwm_kb(d.omvd.pid) - rss0;
	note(row, "streaming toggles", toggles, "");
	figure(row, "RSS growth", mib(growth), "MiB",
	       (N * CLIENT_OUTPUT < OUTPUT_BUDGET ? N * CLIENT_OUTPUT : OUTPUT_BUDGET) / MIB * SLACK,
	       true);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	wait_clients(admin, 1);
	after = settle_rss(d.omvd.pid, (long)((double)rss0 * SLACK));
	figure(row, "RSS after they left / at the start", (double)after / (double)rss0, "",
	       SLACK, true);
	h_close(admin);
	daemon_stop(&d);
}

/* ---- one huge line of tiny values ---- */

/* "[{},{},...]\n" of about len bytes. */
static char *tiny_values_line(size_t len)
{
	char *line = malloc(len + 8);
	size_t n = 1;

	CHECK(line != NULL);
	line[0] = '[';
	while (n + 4 < len) {
		memcpy(line + n, "{},", 3);
		n += 3;
	}
	memcpy(line + n, "{}]\n", 4);
	line[n + 4] = '\0';
	return line;
}

/* Sends line, then waits for the one reply; returns its error code (0
 * when none) and the others' longest wait meanwhile. */
static int huge_line(const char *row, const char *what, size_t len)
{
	struct daemon_run d;
	struct polite p;
	char *line = tiny_values_line(len), *reply;
	long rss0, peak;
	int fd, code = 0;
	double quiet;
	size_t quiet_n;
	char *at;

	daemon_start(&d, none, none, 1000);
	polite_start(&p);
	/* The others' longest wait without the attack: this machine's noise. */
	sleep_ms(1000);
	quiet_n = polite_count(&p);
	quiet = polite_max(&p, 0, quiet_n);
	rss0 = proc_rss_kb(d.omvd.pid);
	proc_reset_hwm(d.omvd.pid);
	CHECK((fd = raw_connect()) >= 0);
	/* The daemon may refuse before reading it all: a short write is fine. */
	raw_write(fd, line, strlen(line), 10000);
	reply = raw_call(fd, "", 60000);
	if (reply != NULL && (at = strstr(reply, "\"code\":")) != NULL)
		code = atoi(at + 7);
	sleep_ms(300);
	peak = proc_hwm_kb(d.omvd.pid) - rss0;
	polite_stop(&p);
	note(row, what, (double)len / MIB, "MiB");
	note(row, "error code of the reply", code, "");
	figure(row, "peak RSS growth / line size", (double)peak * 1024.0 / (double)len, "", 3.0,
	       true);
	note(row, "others' longest wait before the line (noise)", quiet, "ms");
	figure(row, "others' longest wait", polite_max(&p, quiet_n, SIZE_MAX), "ms",
	       STALL_MS + quiet, true);
	free(reply);
	free(line);
	free(p.lat_ms);
	close(fd);
	daemon_stop(&d);
	return code;
}

static void row_long_line(const char *row)
{
	huge_line(row, "line of [{},{},...] over --max-request", 15u << 20);
}

static void row_values_line(const char *row)
{
	huge_line(row, "line of [{},{},...] just under --max-request", (4u << 20) - 16);
}

/* ---- 50 clients holding unfinished huge lines ---- */

static void row_held_lines(const char *row)
{
	enum { N = 50 };
	const size_t each = 15u << 20;
	char *chunk = malloc(1 << 20);
	struct daemon_run d;
	size_t sent[N] = { 0 };
	int fds[N];
	long rss0, peak;
	uint64_t deadline;

	CHECK(chunk != NULL);
	memset(chunk, ' ', 1 << 20);
	daemon_start(&d, none, none, 1000);
	rss0 = proc_rss_kb(d.omvd.pid);
	proc_reset_hwm(d.omvd.pid);
	for (int i = 0; i < N; i++) {
		CHECK((fds[i] = raw_connect()) >= 0);
		raw_write(fds[i], "[\"", 2, 1000);
	}
	/* Until every line is out or refused (or the deadline). */
	deadline = h_now_ms() + 20000;
	for (bool busy = true; busy && h_now_ms() < deadline;) {
		bool moved = false;
		busy = false;
		for (int i = 0; i < N; i++) {
			size_t left = each - sent[i];
			ssize_t w;
			if (left == 0)
				continue;
			w = send(fds[i], chunk, left < (1u << 20) ? left : (1u << 20),
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0) {
				sent[i] += (size_t)w;
				moved = true;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				sent[i] = each;	/* refused: the daemon hung up */
				continue;
			}
			busy = true;
		}
		if (!moved)
			sleep_ms(10);
	}
	peak = proc_hwm_kb(d.omvd.pid) - rss0;
	figure(row, "peak RSS growth", mib(peak), "MiB", INPUT_BUDGET / MIB * SLACK, true);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	free(chunk);
	daemon_stop(&d);
}

/* ---- batches of `clients` with 1000 clients connected ---- */

static volatile bool batch_stop;
static unsigned long batches_done;

static void *batch_main(void *arg)
{
	int fd = raw_connect();
	size_t len = 0;
	char *batch = malloc(128 * 64 + 4);

	CHECK(fd >= 0 && batch != NULL);
	batch[len++] = '[';
	for (int i = 0; i < 128; i++)
		len += (size_t)sprintf(batch + len, "%s{\"jsonrpc\":\"2.0\",\"id\":%d,"
				       "\"method\":\"clients\"}", i ? "," : "", i);
	memcpy(batch + len, "]\n", 3);
	len += 2;
	while (!batch_stop) {
		char *reply = raw_call(fd, batch, 120000);
		if (reply == NULL)
			break;
		free(reply);
		__atomic_add_fetch(&batches_done, 1, __ATOMIC_RELAXED);
	}
	free(batch);
	close(fd);
	return NULL;
}

static int cmp_ms(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void row_batch_clients(const char *row)
{
	enum { IDLE = 1000, BATCHERS = 2 };
	static const char *const more[] = { "--max-clients", "1100", NULL };
	int *idle = malloc(IDLE * sizeof *idle), fd;
	struct daemon_run d;
	struct polite p;
	pthread_t th[BATCHERS];
	double one[30];

	CHECK(idle != NULL);
	daemon_start(&d, none, more, 1000);
	for (int i = 0; i < IDLE; i++)
		CHECK((idle[i] = raw_connect()) >= 0);
	/* What one `clients` call costs here and now (this machine, its load). */
	CHECK((fd = raw_connect()) >= 0);
	for (int i = 0; i < 30; i++) {
		uint64_t t0 = h_now_ms();
		char *r = raw_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"clients\"}\n", 10000);
		CHECK(r != NULL);
		free(r);
		one[i] = (double)(h_now_ms() - t0);
	}
	close(fd);
	qsort(one, 30, sizeof *one, cmp_ms);
	polite_start(&p);
	sleep_ms(500);
	batch_stop = false;
	batches_done = 0;
	for (int i = 0; i < BATCHERS; i++)
		CHECK(pthread_create(&th[i], NULL, batch_main, NULL) == 0);
	sleep_ms(dur(5000, 30000));
	polite_stop(&p);
	batch_stop = true;
	for (int i = 0; i < BATCHERS; i++)
		pthread_join(th[i], NULL);
	note(row, "batches of 128 answered", (double)batches_done, "");
	note(row, "one `clients` call alone, median of 30", one[14], "ms");
	/* Batches are interleaved with the others' calls (a turn of the loop
	 * holds about one call per batching client): the others wait for a
	 * small part of what one batch of 128 costs, not for whole batches.
	 * The bound is a tenth of a batch, whatever this machine's speed. */
	figure(row, "polite client p99", polite_pct(&p, 99), "ms",
	       128 * (one[14] > 1 ? one[14] : 1) / 10, true);
	note(row, "polite client longest wait", polite_pct(&p, 100), "ms");
	for (int i = 0; i < IDLE; i++)
		close(idle[i]);
	free(idle);
	free(p.lat_ms);
	daemon_stop(&d);
}

/* ---- integers beyond int64 ---- */

static int reply_code(const char *reply)
{
	const char *at = reply != NULL ? strstr(reply, "\"code\":") : NULL;

	return at != NULL ? atoi(at + 7) : 0;
}

static void row_int64(const char *row)
{
	struct daemon_run d;
	char *r1, *r2;
	int fd;

	daemon_start(&d, none, none, 1000);
	CHECK((fd = raw_connect()) >= 0);
	r1 = raw_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"channel_read_id\",\"params\":"
		      "{\"channel_id\":1,\"offset\":0,\"length\":123456789012345678901234}}\n",
		      5000);
	r2 = raw_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":123456789012345678901234,"
		      "\"method\":\"is_connected\"}\n", 5000);
	note(row, "code for a param beyond int64", reply_code(r1), "");
	figure(row, "param beyond int64 answered -32602 with its id (1 = yes)",
	       reply_code(r1) == -32602 && r1 != NULL && strstr(r1, "\"id\":7") != NULL, "", 1,
	       false);
	note(row, "code for an id beyond int64", reply_code(r2), "");
	figure(row, "id beyond int64 answered with a number id (1 = yes)",
	       r2 != NULL && reply_code(r2) != -32700 && strstr(r2, "\"id\":null") == NULL, "",
	       1, false);
	free(r1);
	free(r2);
	close(fd);
	daemon_stop(&d);
}

/* ---- channel names that are not UTF-8 ---- */

/* A cam registers a channel whose name holds invalid UTF-8: it is listed
 * with the bad bytes replaced by U+FFFD, and every method answers. */
static void row_bad_names(const char *row)
{
	static const char *const calls[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"channel_list\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"read_status\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"get_channel\",\"params\":{\"channel_id\":5}}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"has_channel\",\"params\":{\"name\":\"bad\"}}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"update_channels\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"status\"}\n",
	};
	const char *cam_args[] = { "--extra-channel", "bad\\xff\\xfe", NULL };
	unsigned answered = 0, repaired = 0;
	struct daemon_run d;
	int fd;

	daemon_start(&d, cam_args, none, 1000);
	CHECK((fd = raw_connect()) >= 0);
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		char *r = raw_call(fd, calls[i], 5000);

		if (r != NULL && strstr(r, "\"result\"") != NULL)
			answered++;
		/* U+FFFD is escaped or raw UTF-8 (EF BF BD) in the reply. */
		if (r != NULL && (strstr(r, "bad\xef\xbf\xbd") != NULL ||
				  strstr(r, "bad\\ufffd") != NULL))
			repaired++;
		free(r);
	}
	figure(row, "methods that answered with a result", answered, "",
	       sizeof calls / sizeof calls[0], false);
	figure(row, "replies naming the channel with U+FFFD (list, status, get)", repaired, "",
	       3, false);
	close(fd);
	daemon_stop(&d);
}

/* ---- two daemons on one port ---- */

static void row_two_daemons(const char *row)
{
	struct daemon_run d;
	char *port, *sock;
	struct h_proc second;
	int log_fd, saved, st;
	char text[4096] = "";
	FILE *f;

	daemon_start(&d, none, none, 1000);
	/* h_path() rotates its buffers: copies, taken after the start. */
	port = strdup(h_path("cam"));
	sock = strdup(h_path("omvd2.sock"));
	const char *argv[] = { getenv("OMVD"), "--port", port, "--socket", sock, NULL };
	log_fd = open(h_path("omvd2.log"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(argv[0] != NULL && log_fd >= 0);
	saved = dup(2);
	dup2(log_fd, 2);
	second = h_spawn((char *const *)argv, false);
	dup2(saved, 2);
	close(saved);
	close(log_fd);
	/* A refusal is at once; one that runs is stopped after 3 s. */
	for (uint64_t end = h_now_ms() + 3000; h_now_ms() < end;) {
		siginfo_t si = { 0 };
		if (waitid(P_PID, (id_t)second.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == second.pid)
			break;	/* exited: h_stop() collects its status */
		sleep_ms(10);
	}
	st = h_stop(&second, 15, 3000);
	f = fopen(h_path("omvd2.log"), "r");
	if (f != NULL) {
		size_t n = fread(text, 1, sizeof text - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	note(row, "second omvd's exit status", st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	     "");
	figure(row, "second omvd refused to start, saying why (1 = yes)",
	       st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0 && strstr(text, "another") != NULL,
	       "", 1, false);
	free(port);
	free(sock);
	daemon_stop(&d);
}

/* ---- a cam flooding events, a subscriber that never reads ---- */

static void row_event_flood(const char *row)
{
	static const char sub[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\",\"params\":{\"topics\":[\"event\"]}}\n";
	const char *cam_args[] = { "--control", h_path("ctl"), NULL };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char block[16 * 1024];
	size_t blen = 0, off = 0;
	struct daemon_run d;
	struct h_conn *admin;
	json_t *list, *e;
	long rss0, growth;
	uint64_t deadline;
	double dropped = 0;
	int ctl, fd;
	size_t i;

	while (blen + 12 <= sizeof block)
		blen += (size_t)sprintf(block + blen, "event 0 7\n");
	daemon_start(&d, cam_args, none, 1000);
	admin = h_connect(h_path("omvd.sock"));
	CHECK(admin != NULL);
	CHECK((fd = raw_connect()) >= 0);
	CHECK(raw_write(fd, sub, sizeof sub - 1, 1000) == sizeof sub - 1);
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", h_path("ctl"));
	ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(ctl >= 0 && connect(ctl, (struct sockaddr *)&addr, sizeof addr) == 0);
	sleep_ms(200);
	rss0 = proc_rss_kb(d.omvd.pid);
	proc_reset_hwm(d.omvd.pid);
	deadline = h_now_ms() + dur(5000, 20000);
	while (h_now_ms() < deadline) {
		ssize_t w = send(ctl, block + off, blen - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0)
			off = (off + (size_t)w) % blen;
		if (raw_discard(ctl) < 0)
			break;
		if (w <= 0)
			sleep_ms(2);
	}
	growth = proc_hwm_kb(d.omvd.pid) - rss0;
	list = h_result(admin, "clients", NULL);
	json_array_foreach(list, i, e) {
		json_t *subs = json_object_get(e, "subscriptions");
		if (json_array_size(subs) == 1)
			dropped = (double)json_integer_value(json_object_get(e, "notifications_dropped"));
	}
	json_decref(list);
	note(row, "events dropped for the subscriber (notifications_dropped)", dropped, "");
	figure(row, "RSS growth", mib(growth), "MiB", PER_CLIENT / MIB * SLACK, true);
	figure(row, "drops counted (1 = yes)", dropped > 0, "", 1, false);
	close(ctl);
	close(fd);
	h_close(admin);
	daemon_stop(&d);
}

/* ---- rows that need camsim's hostile-cam options ---- */

static void row_hostile_jpeg(const char *row)
{
	static const char sub[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\","
				  "\"params\":{\"topics\":[\"frame\"],\"frame_format\":\"rgb888\"}}\n";
	const char *cam_args[] = { "--hostile-jpeg", NULL };
	struct daemon_run d;
	struct polite p;
	long rss0, peak;
	int fd;

	daemon_start(&d, cam_args, none, 1000);
	polite_start(&p);
	rss0 = proc_rss_kb(d.omvd.pid);
	proc_reset_hwm(d.omvd.pid);
	CHECK((fd = raw_connect()) >= 0);
	CHECK(raw_write(fd, sub, sizeof sub - 1, 1000) == sizeof sub - 1);
	for (uint64_t end = h_now_ms() + dur(3000, 10000); h_now_ms() < end;) {
		raw_discard(fd);
		sleep_ms(10);
	}
	polite_stop(&p);
	peak = proc_hwm_kb(d.omvd.pid) - rss0;
	figure(row, "peak RSS growth", mib(peak), "MiB", 64, true);
	figure(row, "others' longest wait", polite_pct(&p, 100), "ms", STALL_MS, true);
	free(p.lat_ms);
	close(fd);
	daemon_stop(&d);
}

/* A long raw read in flight while the cam is silent for 2 s: others must
 * be served within the timeout and one resync after it (inactivity
 * deadlines, not ones that grow with the length asked for). */
static void row_glitch(const char *row)
{
	static const char long_read[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"send_command\",\"params\":"
		"{\"opcode\":38,\"channel\":1,\"data\":\"AAAAAP////8=\"}}\n";
	const char *cam_args[] = { "--control", h_path("ctl"), NULL };
	static const char *const omvd_args[] = { "--timeout", "1", NULL };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct daemon_run d;
	int a, b, ctl;
	uint64_t glitch_end, served = 0;
	char *r;

	daemon_start(&d, cam_args, omvd_args, 1000);
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", h_path("ctl"));
	ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(ctl >= 0 && connect(ctl, (struct sockaddr *)&addr, sizeof addr) == 0);
	CHECK((a = raw_connect()) >= 0 && (b = raw_connect()) >= 0);
	/* The cam goes silent, with a raw CHANNEL_READ of the stdin channel
	 * (offset 0, length 4 GiB - 1) in flight. */
	CHECK(write(ctl, "set drop-rate 1\n", 16) == 16);
	sleep_ms(50);
	raw_write(a, long_read, strlen(long_read), 1000);
	sleep_ms(2000);
	CHECK(write(ctl, "set drop-rate 0\n", 16) == 16);
	glitch_end = h_now_ms();
	r = raw_call(b, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"read_status\"}\n",
		     dur(30000, 120000));
	if (r != NULL && strstr(r, "\"result\"") != NULL)
		served = h_now_ms();
	note(row, "reply to the other client", r != NULL ? (double)reply_code(r) : -1, "(code)");
	figure(row, "other client served after the glitch ended",
	       served ? (double)(served - glitch_end) : (double)dur(30000, 120000), "ms",
	       1000 + 2000, true);
	free(r);
	close(a);
	close(b);
	close(ctl);
	daemon_stop(&d);
}

const struct row load_rows[] = {
	{ "flood", "3 threads connect()+close() in a tight loop", row_flood, true },
	{ "pipeline", "one client pipelining requests without reading", row_pipeline, true },
	{ "pipeline20", "20 clients pipelining without reading", row_pipeline20, true },
	{ "stalled-state", "50 stalled `state` subscribers, streaming toggled",
	  row_stalled_state, true },
	{ "long-line", "one 15 MiB request line of [{},{},...]", row_long_line, true },
	{ "values-line", "a request line of tiny values just under --max-request",
	  row_values_line, true },
	{ "held-lines", "50 clients each holding an unfinished 15 MiB line", row_held_lines,
	  true },
	{ "batch-clients", "batches of 128 `clients` with 1000 clients connected",
	  row_batch_clients, true },
	{ "int64", "integers beyond int64 in params or id", row_int64, true },
	{ "two-daemons", "two omvd on one port", row_two_daemons, true },
	{ "bad-names", "channel names with invalid UTF-8 from the cam", row_bad_names, true },
	{ "event-flood", "cam event flood, a subscriber that never reads", row_event_flood,
	  true },
	{ "hostile-jpeg", "a JPEG whose header claims 8192x8192", row_hostile_jpeg, true },
	{ "glitch", "a raw read of 4 GiB during a 2 s cam glitch", row_glitch, true },
	{ NULL, NULL, NULL, false },
};
