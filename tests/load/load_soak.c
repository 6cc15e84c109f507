/*
 * omvd-load --soak: minutes of mixed client churn (connect, subscribe,
 * lock, exec/stop, streaming toggles, pipelining, clients killed mid-way)
 * with faults on the cam link. omvd's RSS and descriptors, measured idle
 * after a warm-up and again idle at the end, must stay within 10%.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define WORKERS 4

static volatile bool churn_stop;
static unsigned long churn_ops;

static const char *const scripts[] = {
	"print('soak')\n",
	"import time\nwhile True:\n    print('tick')\n    time.sleep_ms(20)\n",
	"import csi\ncsi0 = csi.CSI()\nwhile True:\n    img = csi0.snapshot()\n",
};

static void call(int fd, const char *method, const char *params)
{
	char req[512];
	char *reply;

	snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}\n", method,
		 params ? ",\"params\":" : "", params ? params : "");
	reply = raw_call(fd, req, 10000);
	free(reply);
}

static void exec_script(int fd, const char *script)
{
	json_t *p = json_pack("{s:s}", "script", script);
	char *text = json_dumps(p, JSON_COMPACT);

	call(fd, "exec", text);
	free(text);
	json_decref(p);
}

/* Reads what comes for ms, or not at all (a stalled subscriber). */
static void linger(int fd, unsigned ms, bool read)
{
	for (uint64_t end = h_now_ms() + ms; h_now_ms() < end;) {
		if (read && raw_discard(fd) < 0)
			return;
		sleep_ms(10);
	}
}

static void churn_once(unsigned *seed)
{
	int fd = raw_connect();
	unsigned what = (unsigned)rand_r(seed) % 9;
	char buf[8192];
	size_t n = 0;

	if (fd < 0)
		return;
	switch (what) {
	case 0:
		call(fd, "subscribe", "{\"topics\":[\"link\",\"event\",\"stdout\",\"state\",\"frame\"],"
				      "\"frame_format\":\"jpeg\"}");
		linger(fd, (unsigned)rand_r(seed) % 500, true);
		break;
	case 1:
		call(fd, "subscribe", "{\"topics\":[\"frame\",\"state\"],\"frame_format\":\"rgb888\"}");
		linger(fd, (unsigned)rand_r(seed) % 1000, false);	/* stalled */
		break;
	case 2:
		call(fd, "channel_lock", "{\"channel_id\":1}");
		call(fd, "channel_list", NULL);
		if (rand_r(seed) % 2)
			call(fd, "channel_unlock", "{\"channel_id\":1}");
		break;
	case 3:
		exec_script(fd, scripts[(unsigned)rand_r(seed) % 3]);
		call(fd, "read_stdout", NULL);
		linger(fd, (unsigned)rand_r(seed) % 300, true);
		if (rand_r(seed) % 2)
			call(fd, "stop", NULL);
		break;
	case 4:
		call(fd, "streaming", rand_r(seed) % 2 ? "{\"enable\":true}" : "{\"enable\":false}");
		call(fd, "read_frame", "{\"format\":\"rgb888\"}");
		break;
	case 5:
		call(fd, "status", NULL);
		call(fd, "clients", NULL);
		call(fd, "version", NULL);
		call(fd, "poll_events", NULL);
		break;
	case 6:	/* killed mid-request: a batch sent, nothing read */
		raw_write(fd, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"system_info\"},"
			  "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"read_status\"}]\n", 99, 1000);
		break;
	case 7:	/* pipelining without reading, then gone */
		while (n + 60 < sizeof buf)
			n += (size_t)sprintf(buf + n, "{\"jsonrpc\":\"2.0\",\"id\":%zu,"
					     "\"method\":\"is_connected\"}\n", n);
		raw_write(fd, buf, n, 200);
		break;
	default:	/* half a line, then gone */
		raw_write(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth", 29, 200);
		break;
	}
	close(fd);
	__atomic_add_fetch(&churn_ops, 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	while (!churn_stop)
		churn_once(&seed);
	return NULL;
}

static void churn(unsigned seconds, int ctl)
{
	pthread_t th[WORKERS];
	uint64_t end = h_now_ms() + (uint64_t)seconds * 1000, next_unplug = h_now_ms() + 30000;

	churn_stop = false;
	for (uintptr_t i = 0; i < WORKERS; i++)
		CHECK(pthread_create(&th[i], NULL, worker_main, (void *)(i + 1)) == 0);
	while (h_now_ms() < end) {
		sleep_ms(200);
		if (h_now_ms() >= next_unplug) {	/* the cam goes away now and then */
			if (write(ctl, "unplug 500\n", 11) != 11)
				perror("control");
			next_unplug = h_now_ms() + 30000;
		}
		raw_discard(ctl);
	}
	churn_stop = true;
	for (int i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);
}

/* Where omvd's resident memory is: its heap, other anonymous mappings,
 * files (code, libraries); kB. */
static void rss_parts(pid_t pid, long *heap, long *anon, long *file)
{
	char path[64], line[512];
	int kind = 0;	/* 0 heap, 1 anon, 2 file */
	FILE *f;

	*heap = *anon = *file = 0;
	snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long a, b;
		long kb;
		char name[256] = "";
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &a, &b, name) >= 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			kind = strcmp(name, "[heap]") == 0 ? 0 : name[0] == '/' ? 2 : 1;
			continue;
		}
		if (sscanf(line, "Rss: %ld kB", &kb) == 1)
			*(kind == 0 ? heap : kind == 1 ? anon : file) += kb;
	}
	fclose(f);
}

static void note_rss_parts(pid_t pid, const char *when)
{
	long heap, anon, file;
	char what[96];

	rss_parts(pid, &heap, &anon, &file);
	snprintf(what, sizeof what, "%s: heap / other anonymous / files", when);
	printf("%-14s %-58s %7.2f / %.2f / %.2f MiB\n", "soak", what, heap / 1024.0,
	       anon / 1024.0, file / 1024.0);
}

/* omvd idle again (only the admin connection) and its figures. */
static void idle_figures(struct h_conn *admin, pid_t pid, long *rss, long *fds)
{
	uint64_t deadline = h_now_ms() + 15000;

	for (;;) {
		json_t *r = h_call(admin, "clients", NULL);
		size_t n = json_array_size(json_object_get(r, "result"));
		json_decref(r);
		if (n == 1 || h_now_ms() > deadline)
			break;
		sleep_ms(50);
	}
	call(h_conn_fd(admin), "stop", NULL);
	call(h_conn_fd(admin), "streaming", "{\"enable\":false}");
	sleep_ms(6000);	/* the daemon trims its heap within 5 s of calm */
	*rss = proc_rss_kb(pid);
	*fds = proc_fds(pid);
}

void soak_run(unsigned minutes)
{
	static const char *const omvd_args[] = { NULL };
	const char *cam_args[] = { "--control", h_path("ctl"), "--drop-rate", "0.001",
				   "--corrupt-rate", "0.001", "--seed", "7", NULL };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	/* Warm-up: long enough for every path to have run once (caches,
	 * buffers kept for the newest frame), so start and end compare alike. */
	unsigned total = minutes * 60, warm = total / 10 > 20 ? (total / 10 < 60 ? total / 10 : 60) : 20;
	struct daemon_run d;
	struct h_conn *admin;
	long rss0, fd0, rss1, fd1;
	int ctl;

	daemon_start(&d, cam_args, omvd_args, 1000);
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", h_path("ctl"));
	ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(ctl >= 0 && connect(ctl, (struct sockaddr *)&addr, sizeof addr) == 0);
	admin = h_connect(h_path("omvd.sock"));
	CHECK(admin != NULL);
	printf("# soak: %u s of churn with %d workers, cam link faults (drop and corrupt "
	       "0.001 per packet, an unplug every 30 s)\n", total, WORKERS);
	churn(warm, ctl);
	idle_figures(admin, d.omvd.pid, &rss0, &fd0);
	note("soak", "RSS idle after the warm-up", (double)rss0 / 1024, "MiB");
	note("soak", "descriptors idle after the warm-up", (double)fd0, "");
	note_rss_parts(d.omvd.pid, "RSS idle after the warm-up");
	proc_reset_hwm(d.omvd.pid);
	churn(total - warm, ctl);
	note("soak", "peak RSS during the churn", (double)proc_hwm_kb(d.omvd.pid) / 1024, "MiB");
	idle_figures(admin, d.omvd.pid, &rss1, &fd1);
	note("soak", "client sessions", (double)churn_ops, "");
	note("soak", "RSS idle at the end", (double)rss1 / 1024, "MiB");
	note("soak", "descriptors idle at the end", (double)fd1, "");
	note_rss_parts(d.omvd.pid, "RSS idle at the end");
	figure("soak", "RSS end / start", (double)rss1 / (double)rss0, "", 1.1, true);
	figure("soak", "descriptors end / start", (double)fd1 / (double)fd0, "", 1.1, true);
	h_close(admin);
	close(ctl);
	daemon_stop(&d);
}
