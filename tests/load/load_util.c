/* omvd-load: the daemon under test, /proc figures, raw clients. */
#include "load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- watchdog pings (a fake NOTIFY_SOCKET) ---- */

#define PINGS_MAX 100000
static uint64_t pings[PINGS_MAX];
static size_t npings;
static pthread_mutex_t pings_lock = PTHREAD_MUTEX_INITIALIZER;

static void *notify_main(void *arg)
{
	struct daemon_run *d = arg;
	char buf[512];

	for (;;) {
		ssize_t n = recv(d->notify_fd, buf, sizeof buf - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NULL;	/* socket shut down */
		}
		if (n == 0)
			return NULL;
		buf[n] = '\0';
		if (strstr(buf, "WATCHDOG=1") != NULL) {
			pthread_mutex_lock(&pings_lock);
			if (npings < PINGS_MAX)
				pings[npings++] = h_now_ms();
			pthread_mutex_unlock(&pings_lock);
		}
	}
}

double watchdog_max_gap(uint64_t from, uint64_t to)
{
	uint64_t prev = from, gap = 0;

	pthread_mutex_lock(&pings_lock);
	for (size_t i = 0; i < npings; i++) {
		if (pings[i] < from || pings[i] > to)
			continue;
		if (pings[i] - prev > gap)
			gap = pings[i] - prev;
		prev = pings[i];
	}
	pthread_mutex_unlock(&pings_lock);
	if (to - prev > gap)
		gap = to - prev;
	return (double)gap;
}

/* ---- the daemon ---- */

void daemon_start(struct daemon_run *d, const char *const *cam_args,
		  const char *const *omvd_args, unsigned watchdog_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char usec[32];
	int log_fd, saved;

	memset(d, 0, sizeof *d);
	/* meson test sets it: glibc would then touch every byte it hands out,
	 * and the daemon's resident memory would not be what it uses. */
	unsetenv("MALLOC_PERTURB_");
	d->cam = h_start_camsim(cam_args);
	unlink(h_path("notify"));
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", h_path("notify"));
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(d->notify_fd >= 0);
	CHECK(bind(d->notify_fd, (struct sockaddr *)&addr, sizeof addr) == 0);
	npings = 0;
	CHECK(pthread_create(&d->notify_thread, NULL, notify_main, d) == 0);

	d->log_path = strdup(h_path("omvd.log"));
	log_fd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(log_fd >= 0);
	saved = dup(2);
	dup2(log_fd, 2);
	setenv("NOTIFY_SOCKET", addr.sun_path, 1);
	snprintf(usec, sizeof usec, "%u", watchdog_ms * 1000);
	setenv("WATCHDOG_USEC", usec, 1);
	d->omvd = h_start_omvd(omvd_args, true);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	dup2(saved, 2);
	close(saved);
	close(log_fd);
}

void daemon_stop(struct daemon_run *d)
{
	int st = h_stop(&d->omvd, 15, 10000);

	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char cmd[512];
		fprintf(stderr, "omvd-load: omvd did not stop cleanly (status %d); its log ends:\n",
			st);
		snprintf(cmd, sizeof cmd, "tail -n 120 '%s' >&2", d->log_path);
		if (system(cmd) != 0)
			fprintf(stderr, "omvd-load: cannot show %s\n", d->log_path);
		h_fail(__FILE__, __LINE__, "omvd failed");
	}
	h_stop(&d->cam, 15, 5000);
	shutdown(d->notify_fd, SHUT_RDWR);
	close(d->notify_fd);
	pthread_join(d->notify_thread, NULL);
	free((char *)d->log_path);
}

size_t log_lines(const struct daemon_run *d)
{
	FILE *f = fopen(d->log_path, "r");
	size_t n = 0;
	int ch;

	if (f == NULL)
		return 0;
	while ((ch = getc_unlocked(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* ---- /proc ---- */

static long status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			v = strtol(line + klen + 1, NULL, 10);
	fclose(f);
	return v;
}

long proc_rss_kb(pid_t pid)
{
	return status_kb(pid, "VmRSS");
}

long proc_hwm_kb(pid_t pid)
{
	return status_kb(pid, "VmHWM");
}

void proc_reset_hwm(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "5", 1) < 0)
			perror("clear_refs");
		close(fd);
	}
}

long proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (dir == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* ---- raw clients ---- */

int raw_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", h_path("omvd.sock"));
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

size_t raw_write(int fd, const void *buf, size_t len, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		uint64_t now = h_now_ms();
		if (now >= deadline)
			break;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		poll(&p, 1, (int)(deadline - now));
	}
	return done;
}

ssize_t raw_discard(int fd)
{
	char buf[65536];
	ssize_t total = 0, n;

	while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
		total += n;
	if (n == 0)
		return -1;
	return total;
}

char *raw_call(int fd, const char *request, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	size_t len = 0, cap = 65536, scanned = 0;
	char *buf = malloc(cap);

	if (buf == NULL || raw_write(fd, request, strlen(request), timeout_ms) < strlen(request)) {
		free(buf);
		return NULL;
	}
	for (;;) {
		/* Only the bytes not searched yet: replies can be tens of MiB. */
		char *nl = memchr(buf + scanned, '\n', len - scanned);
		scanned = len;
		if (nl != NULL) {
			size_t n = (size_t)(nl - buf) + 1;
			if (strncmp(buf, "{\"jsonrpc\":\"2.0\",\"method\"", 25) != 0) {
				buf[n - 1] = '\0';
				return buf;	/* a reply; what follows is not ours */
			}
			memmove(buf, buf + n, len - n);	/* a notification */
			len -= n;
			scanned = 0;
			continue;
		}
		uint64_t now = h_now_ms();
		if (now >= deadline)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		if (cap - len < 4096) {
			char *bigger = realloc(buf, cap * 2);
			if (bigger == NULL)
				break;
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
		if (n > 0)
			len += (size_t)n;
	}
	free(buf);
	return NULL;
}

/* ---- the polite client ---- */

#define POLITE_PACE_MS 10
#define POLITE_TIMEOUT_MS 60000

static void *polite_main(void *arg)
{
	struct polite *p = arg;
	int fd = raw_connect();
	unsigned id = 0;

	while (!p->stop && fd >= 0) {
		char req[128];
		uint64_t t0 = h_now_ms();
		char *reply;
		double ms;

		snprintf(req, sizeof req,
			 "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"is_connected\"}\n", ++id);
		reply = raw_call(fd, req, POLITE_TIMEOUT_MS);
		ms = (double)(h_now_ms() - t0);
		if (reply == NULL) {
			p->unanswered++;
			close(fd);
			fd = raw_connect();
		}
		free(reply);
		pthread_mutex_lock(&p->lock);
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 4096;
			p->lat_ms = realloc(p->lat_ms, p->cap * sizeof *p->lat_ms);
			CHECK(p->lat_ms != NULL);
		}
		p->lat_ms[p->n++] = ms;
		pthread_mutex_unlock(&p->lock);
		sleep_ms(POLITE_PACE_MS);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

void polite_start(struct polite *p)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	CHECK(pthread_create(&p->thread, NULL, polite_main, p) == 0);
}

void polite_stop(struct polite *p)
{
	p->stop = true;
	pthread_join(p->thread, NULL);
}

size_t polite_count(struct polite *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->n;
	pthread_mutex_unlock(&p->lock);
	return n;
}

double polite_max(struct polite *p, size_t from, size_t to)
{
	double m = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t i = from; i < to && i < p->n; i++)
		if (p->lat_ms[i] > m)
			m = p->lat_ms[i];
	pthread_mutex_unlock(&p->lock);
	return m;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double polite_pct(const struct polite *p, double pct)
{
	double *sorted, v;
	size_t i;

	if (p->n == 0)
		return INFINITY;	/* never answered at all */
	sorted = malloc(p->n * sizeof *sorted);
	CHECK(sorted != NULL);
	memcpy(sorted, p->lat_ms, p->n * sizeof *sorted);
	qsort(sorted, p->n, sizeof *sorted, cmp_double);
	i = (size_t)ceil(pct / 100.0 * (double)p->n);
	v = sorted[i == 0 ? 0 : i - 1];
	free(sorted);
	return v;
}
