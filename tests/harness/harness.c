/*
 * Test harness: temporary directory, child processes (camsim, omvd) killed
 * at exit, a blocking newline-delimited JSON-RPC client, deadline-based
 * waiting, and base64 helpers on the shared codec (common/base64.h).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/base64.h"

#define H_MAX_CHILDREN 64
#define H_CALL_TIMEOUT_MS 15000
#define H_START_TIMEOUT_MS 10000

static char h_dir[64];
static pid_t h_children[H_MAX_CHILDREN];
static bool h_cleanup_registered;

/* ---- failure, time ---- */

void h_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);	/* atexit handlers kill the children and remove h_dir */
}

uint64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void h_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- cleanup ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void h_cleanup(void)
{
	for (int i = 0; i < H_MAX_CHILDREN; i++) {
		if (h_children[i] > 0) {
			kill(h_children[i], SIGKILL);
			waitpid(h_children[i], NULL, 0);
			h_children[i] = 0;
		}
	}
	if (h_dir[0] != '\0' && getenv("H_KEEP_TMPDIR") == NULL)
		nftw(h_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void h_init(void)
{
	if (h_cleanup_registered)
		return;
	h_cleanup_registered = true;
	signal(SIGPIPE, SIG_IGN);
	atexit(h_cleanup);
}

const char *h_tmpdir(void)
{
	h_init();
	if (h_dir[0] == '\0') {
		/* /tmp, not $TMPDIR: socket paths must stay under 108 bytes. */
		strcpy(h_dir, "/tmp/omvtest-XXXXXX");
		if (mkdtemp(h_dir) == NULL) {
			h_dir[0] = '\0';
			h_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
		}
	}
	return h_dir;
}

const char *h_path(const char *name)
{
	static char bufs[8][256];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof bufs[0], "%s/%s", h_tmpdir(), name);
	return b;
}

/* ---- processes ---- */

static void child_add(pid_t pid)
{
	for (int i = 0; i < H_MAX_CHILDREN; i++) {
		if (h_children[i] == 0) {
			h_children[i] = pid;
			return;
		}
	}
}

static void child_remove(pid_t pid)
{
	for (int i = 0; i < H_MAX_CHILDREN; i++)
		if (h_children[i] == pid)
			h_children[i] = 0;
}

struct h_proc h_spawn(char *const argv[], bool capture)
{
	struct h_proc p = { -1, -1 };
	int fds[2] = { -1, -1 };

	h_init();
	if (capture && pipe2(fds, O_CLOEXEC) < 0)
		h_fail(__FILE__, __LINE__, "pipe: %s", strerror(errno));
	p.pid = fork();
	if (p.pid < 0)
		h_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
	if (p.pid == 0) {
		if (capture)
			dup2(fds[1], 1);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	child_add(p.pid);
	if (capture) {
		close(fds[1]);
		p.out_fd = fds[0];
	}
	return p;
}

int h_stop(struct h_proc *p, int sig, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	int status = -1;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig != 0 ? sig : SIGTERM);
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid)
			break;
		if (r < 0) {
			status = -1;
			break;
		}
		if (h_now_ms() >= deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
			status = -1;
			break;
		}
		h_sleep_ms(5);
	}
	child_remove(p->pid);
	p->pid = -1;
	if (p->out_fd >= 0) {
		close(p->out_fd);
		p->out_fd = -1;
	}
	return status;
}

char *h_read_line(struct h_proc *p, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	char buf[1024];
	size_t n = 0;

	if (p->out_fd < 0)
		return NULL;
	/* One byte at a time: what follows the line stays in the pipe. */
	while (n + 1 < sizeof buf) {
		uint64_t now = h_now_ms();
		struct pollfd pfd = { .fd = p->out_fd, .events = POLLIN };
		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
			return NULL;
		ssize_t r = read(p->out_fd, buf + n, 1);
		if (r <= 0)
			return NULL;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return strdup(buf);
}

static const char *env_path(const char *var)
{
	const char *v = getenv(var);

	if (v == NULL || v[0] == '\0')
		h_fail(__FILE__, __LINE__, "%s is not set (run through meson test)", var);
	return v;
}

/* argv = fixed..., extra..., NULL in a malloc'd array. */
static char **build_argv(const char *const *fixed, size_t nfixed, const char *const *extra)
{
	size_t nextra = 0;
	char **argv;

	while (extra != NULL && extra[nextra] != NULL)
		nextra++;
	argv = calloc(nfixed + nextra + 1, sizeof *argv);
	if (argv == NULL)
		h_fail(__FILE__, __LINE__, "out of memory");
	for (size_t i = 0; i < nfixed; i++)
		argv[i] = (char *)fixed[i];
	for (size_t i = 0; i < nextra; i++)
		argv[nfixed + i] = (char *)extra[i];
	return argv;
}

struct h_proc h_start_camsim(const char *const *extra)
{
	const char *fixed[] = { env_path("OMV_CAMSIM"), "--link", h_path("cam") };
	char **argv = build_argv(fixed, 3, extra);
	struct h_proc p = h_spawn(argv, true);
	char *line;

	free(argv);
	line = h_read_line(&p, H_START_TIMEOUT_MS);
	CHECKF(line != NULL, "camsim did not print its pty path");
	free(line);
	return p;
}

static bool proc_alive(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

struct h_proc h_start_omvd(const char *const *extra, bool wait_ready)
{
	const char *fixed[] = { env_path("OMVD"), "--port", h_path("cam"), "--socket",
				h_path("omvd.sock") };
	char **argv = build_argv(fixed, 5, extra);
	struct h_proc p = h_spawn(argv, false);
	uint64_t deadline = h_now_ms() + H_START_TIMEOUT_MS;
	struct h_conn *c = NULL;

	free(argv);
	while ((c = h_connect(h_path("omvd.sock"))) == NULL) {
		CHECKF(proc_alive(p.pid), "omvd exited during start-up");
		CHECKF(h_now_ms() < deadline, "omvd socket did not accept in time");
		h_sleep_ms(5);
	}
	while (wait_ready) {
		json_t *r = h_result(c, "is_connected", NULL);
		bool ready = json_is_true(r);
		json_decref(r);
		if (ready)
			break;
		CHECKF(h_now_ms() < deadline, "omvd did not connect to the cam in time");
		h_sleep_ms(10);
	}
	h_close(c);
	return p;
}

/* ---- JSON-RPC connection ---- */

struct h_conn {
	int fd;
	char *buf;
	size_t len, cap;
	json_t *stash;		/* notifications received while waiting for replies */
	json_int_t next_id;
};

struct h_conn *h_connect(const char *socket_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct h_conn *c;
	int fd;

	h_init();
	if (strlen(socket_path) >= sizeof addr.sun_path)
		return NULL;
	strcpy(addr.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		close(fd);
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL)
		h_fail(__FILE__, __LINE__, "out of memory");
	c->fd = fd;
	c->stash = json_array();
	return c;
}

void h_close(struct h_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	json_decref(c->stash);
	free(c);
}

int h_conn_fd(const struct h_conn *c)
{
	return c->fd;
}

void h_send_line(struct h_conn *c, const char *line)
{
	size_t len = strlen(line), done = 0;
	char *buf = malloc(len + 1);

	if (buf == NULL)
		h_fail(__FILE__, __LINE__, "out of memory");
	memcpy(buf, line, len);
	buf[len++] = '\n';
	while (done < len) {
		ssize_t n = write(c->fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the server hung up; h_recv will say so */
		done += (size_t)n;
	}
	free(buf);
}

json_t *h_recv(struct h_conn *c, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	for (;;) {
		char *nl = c->len > 0 ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf);
			json_error_t err;
			json_t *v = json_loadb(c->buf, n, 0, &err);
			if (v == NULL)
				h_fail(__FILE__, __LINE__, "server sent a line that is not JSON: %s "
				       "(%.80s)", err.text, c->buf);
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return v;
		}
		uint64_t now = h_now_ms();
		if (now >= deadline)
			return NULL;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 131072;
			c->buf = realloc(c->buf, c->cap);
			if (c->buf == NULL)
				h_fail(__FILE__, __LINE__, "out of memory");
		}
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
}

static bool same_id(json_t *msg, json_int_t id)
{
	json_t *v = json_object_get(msg, "id");

	return json_is_integer(v) && json_integer_value(v) == id;
}

json_t *h_call(struct h_conn *c, const char *method, json_t *params)
{
	json_int_t id = ++c->next_id;
	json_t *req = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", id, "method", method);
	uint64_t deadline = h_now_ms() + H_CALL_TIMEOUT_MS;
	char *line;

	if (params != NULL)
		json_object_set_new(req, "params", params);
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	h_send_line(c, line);
	free(line);
	for (;;) {
		uint64_t now = h_now_ms();
		json_t *msg = now < deadline ? h_recv(c, (unsigned)(deadline - now)) : NULL;
		CHECKF(msg != NULL, "no reply to %s (timeout or connection closed)", method);
		if (same_id(msg, id))
			return msg;
		if (json_object_get(msg, "method") != NULL) {
			json_array_append_new(c->stash, msg);
			continue;
		}
		char *text = json_dumps(msg, JSON_COMPACT);
		h_fail(__FILE__, __LINE__, "unexpected reply while waiting for %s: %.200s", method,
		       text);
	}
}

json_t *h_result(struct h_conn *c, const char *method, json_t *params)
{
	json_t *resp = h_call(c, method, params);
	json_t *result = json_object_get(resp, "result");

	if (result == NULL) {
		char *text = json_dumps(resp, JSON_COMPACT);
		h_fail(__FILE__, __LINE__, "%s failed: %.300s", method, text);
	}
	json_incref(result);
	json_decref(resp);
	return result;
}

int h_error_code(struct h_conn *c, const char *method, json_t *params)
{
	json_t *resp = h_call(c, method, params);
	json_t *err = json_object_get(resp, "error");
	int code;

	if (!json_is_integer(json_object_get(err, "code"))) {
		char *text = json_dumps(resp, JSON_COMPACT);
		h_fail(__FILE__, __LINE__, "%s should have failed: %.300s", method, text);
	}
	code = (int)json_integer_value(json_object_get(err, "code"));
	json_decref(resp);
	return code;
}

static bool is_notification(json_t *msg, const char *method)
{
	json_t *m = json_object_get(msg, "method");

	return json_is_string(m) && strcmp(json_string_value(m), method) == 0;
}

json_t *h_next_notification(struct h_conn *c, const char *method, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	size_t i;
	json_t *msg;

	json_array_foreach(c->stash, i, msg) {
		if (is_notification(msg, method)) {
			json_incref(msg);
			json_array_remove(c->stash, i);
			return msg;
		}
	}
	for (;;) {
		uint64_t now = h_now_ms();
		if (now >= deadline)
			return NULL;
		msg = h_recv(c, (unsigned)(deadline - now));
		if (msg == NULL)
			return NULL;
		if (is_notification(msg, method))
			return msg;
		json_array_append_new(c->stash, msg);
	}
}

json_t *h_next_any(struct h_conn *c, unsigned timeout_ms)
{
	json_t *msg = json_array_get(c->stash, 0);

	if (msg != NULL) {
		json_incref(msg);
		json_array_remove(c->stash, 0);
		return msg;
	}
	msg = h_recv(c, timeout_ms);
	CHECKF(msg == NULL || json_object_get(msg, "method") != NULL,
	       "a reply where a notification was due");
	return msg;
}

bool h_wait_until(bool (*cond)(void *arg), void *arg, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	for (;;) {
		if (cond(arg))
			return true;
		if (h_now_ms() >= deadline)
			return cond(arg);
		h_sleep_ms(5);
	}
}

/* ---- base64 ---- */

char *h_b64_encode(const void *data, size_t len)
{
	char *out = omv_b64_encode(data, len);

	if (out == NULL)
		h_fail(__FILE__, __LINE__, "out of memory");
	return out;
}

void *h_b64_decode(const char *s, size_t *len)
{
	return omv_b64_decode(s, strlen(s), len);
}
