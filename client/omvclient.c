/*
 * libomvclient core: the connection to omvd, newline-delimited JSON-RPC
 * framing, request ids, matching replies to waiting (blocking) or async
 * calls, and dispatching notifications to the caller's callbacks.
 *
 * Every reply and notification goes through handle_message(), whether it
 * was read by a blocking call or by omv_client_process(), so notifications
 * are never lost while a blocking call waits. A line is taken out of the
 * input buffer before it is dispatched, so callbacks may make blocking
 * calls themselves.
 */
#include "omvclient_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A reply line bigger than this means the stream is broken. */
#define MAX_LINE (256u << 20)
#define READ_CHUNK (64u << 10)
/* omvd passes one descriptor per line; room for more costs nothing. */
#define MAX_FDS_PER_READ 16

struct pending {
	struct pending *next;
	json_int_t id;
	omv_reply_cb cb;	/* async calls */
	void *arg;
	bool blocking;
	bool done;		/* blocking calls: reply (or failure) is in */
	int status;
	json_t *result;
	json_t *error;		/* the error object of a failed reply */
};

struct omv_client {
	int fd;
	pid_t child;		/* the transport's process (ssh), or 0 */
	int timeout_ms;
	json_int_t next_id;

	char *in;		/* bytes read, not yet dispatched: [in_start, in_len) */
	size_t in_start, in_len, in_cap;
	size_t in_scanned;	/* bytes after in_start known to hold no '\n' */
	int *fds;		/* descriptors received, not yet given to a line */
	size_t fd_head, fd_count, fd_cap;

	struct pending *pending;
	size_t npending;

	omv_notify_cb notify_cb;
	void *notify_arg;
	omv_frame_cb frame_cb;
	void *frame_arg;

	int err_code;
	int err_errno;		/* errno behind a local error, or 0 */
	char err_msg[512];
	json_t *err_data;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int omv_set_error(omv_client *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->err_code = code;
	c->err_errno = 0;
	va_start(ap, fmt);
	vsnprintf(c->err_msg, sizeof c->err_msg, fmt, ap);
	va_end(ap);
	json_decref(c->err_data);
	c->err_data = NULL;
	return code;
}

/* Take the error of a reply ({code, message, data}) as the last error. */
static int set_rpc_error(omv_client *c, json_t *error)
{
	json_t *code = json_object_get(error, "code");
	const char *msg = json_string_value(json_object_get(error, "message"));
	int rc = json_is_integer(code) ? (int)json_integer_value(code) : OMV_EPROTO;

	if (rc >= 0)	/* a server must not make a failure look like success */
		rc = OMV_EPROTO;
	omv_set_error(c, rc, "%s", msg ? msg : "error without message");
	c->err_data = json_incref(json_object_get(error, "data"));
	return rc;
}

omv_client *omv_client_new(void)
{
	omv_client *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->fd = -1;
	c->timeout_ms = OMV_DEFAULT_TIMEOUT_MS;
	c->next_id = 1;
	return c;
}

/* ---- descriptors passed with lines ---------------------------------- */

static int queue_fd(omv_client *c, int fd)
{
	if (c->fd_head + c->fd_count == c->fd_cap) {
		if (c->fd_head > 0) {
			memmove(c->fds, c->fds + c->fd_head, c->fd_count * sizeof *c->fds);
			c->fd_head = 0;
		} else {
			size_t cap = c->fd_cap ? c->fd_cap * 2 : 8;
			int *fds = realloc(c->fds, cap * sizeof *fds);

			if (!fds)
				return -1;
			c->fds = fds;
			c->fd_cap = cap;
		}
	}
	c->fds[c->fd_head + c->fd_count++] = fd;
	return 0;
}

static int next_fd(void *arg)
{
	omv_client *c = arg;

	if (c->fd_count == 0)
		return -1;
	c->fd_count--;
	return c->fds[c->fd_head++];
}

static void close_queued_fds(omv_client *c)
{
	int fd;

	while ((fd = next_fd(c)) >= 0)
		close(fd);
	c->fd_head = 0;
}

/* The descriptors of a received control message, queued in order. A
 * descriptor that cannot be queued is closed: its line then comes
 * without data instead of with another frame's. */
static void take_fds(omv_client *c, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;
		int *fds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, fds + i, sizeof fd);
			if (queue_fd(c, fd) < 0)
				close(fd);
		}
	}
}

/* Wait for the transport's process once its end of the pipe is closed: it
 * exits by itself on end of file; one that lingers is terminated. Returns
 * its wait status. */
static int reap_child(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), status = 0;
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	if (pidfd < 0 || poll(&pfd, 1, 1000) <= 0)
		kill(pid, SIGTERM);
	if (pidfd >= 0)
		close(pidfd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* Close the connection; *status (may be NULL) gets the transport
 * process's wait status, -1 when there was none. */
static void close_fd(omv_client *c, int *status)
{
	if (status)
		*status = -1;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->child > 0) {
		int st = reap_child(c->child);

		if (status)
			*status = st;
	}
	c->child = 0;
	close_queued_fds(c);
}

bool omv_client_passes_fds(const omv_client *c)
{
	return c->fd >= 0 && c->child == 0;
}

void omv_client_attach(omv_client *c, int fd, pid_t child)
{
	c->fd = fd;
	c->child = child;
	c->in_start = c->in_len = c->in_scanned = 0;
}

void omv_client_detach(omv_client *c, int *status)
{
	close_fd(c, status);
	c->in_start = c->in_len = c->in_scanned = 0;
}

int omv_set_error_errno(omv_client *c, int code, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err_msg, sizeof c->err_msg, fmt, ap);
	va_end(ap);
	c->err_code = code;
	c->err_errno = e;
	json_decref(c->err_data);
	c->err_data = NULL;
	return code;
}

void omv_client_set_timeout(omv_client *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

int omv_client_timeout(const omv_client *c)
{
	return c->timeout_ms;
}

int omv_client_error_code(const omv_client *c)
{
	return c->err_code;
}

int omv_client_error_errno(const omv_client *c)
{
	return c->err_errno;
}

const char *omv_client_error_message(const omv_client *c)
{
	return c->err_msg;
}

json_t *omv_client_error_data(const omv_client *c)
{
	return c->err_data;
}

int omv_client_fd(const omv_client *c)
{
	return c->fd;
}

size_t omv_client_pending(const omv_client *c)
{
	return c->npending;
}

void omv_client_on_notify(omv_client *c, omv_notify_cb cb, void *arg)
{
	c->notify_cb = cb;
	c->notify_arg = arg;
}

void omv_client_on_frame(omv_client *c, omv_frame_cb cb, void *arg)
{
	c->frame_cb = cb;
	c->frame_arg = arg;
}

/* ---- pending calls --------------------------------------------------- */

static void unlink_pending(omv_client *c, struct pending *p)
{
	for (struct pending **pp = &c->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			c->npending--;
			return;
		}
	}
}

static void free_pending(struct pending *p)
{
	json_decref(p->result);
	json_decref(p->error);
	free(p);
}

/* The call's outcome is in p; deliver it. Async calls are unlinked and
 * freed here, blocking ones are left for their waiter. */
static void complete(omv_client *c, struct pending *p)
{
	if (p->blocking) {
		p->done = true;
		return;
	}
	unlink_pending(c, p);
	if (p->error)
		set_rpc_error(c, p->error);
	if (p->cb)
		p->cb(c, p->status, p->status == OMV_OK ? p->result : NULL, p->arg);
	else
		omv_frame_close_fd(p->result);
	free_pending(p);
}

/* Fail every outstanding call with code (the connection is gone). */
static void fail_all(omv_client *c, int code, const char *why)
{
	struct pending *p;

	/* Restart from the head each time: a callback may add or finish calls. */
	for (;;) {
		for (p = c->pending; p && p->done; p = p->next)
			;
		if (!p)
			return;
		p->status = code;
		omv_set_error(c, code, "%s", why);
		complete(c, p);
	}
}

static void connection_lost(omv_client *c, int code, const char *why)
{
	char text[400];
	int status;

	omv_client_detach(c, &status);
	/* Over ssh, how the transport ended says more than the end of file. */
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		snprintf(text, sizeof text, "the ssh link ended: ssh exited with status %d",
			 WEXITSTATUS(status));
	else if (status != -1 && WIFSIGNALED(status))
		snprintf(text, sizeof text, "the ssh link ended: ssh killed by signal %d",
			 WTERMSIG(status));
	else
		snprintf(text, sizeof text, "%s", why);
	fail_all(c, code, text);
	omv_set_error(c, code, "%s", text);
}

/* ---- dispatch ----------------------------------------------------------- */

static void handle_notification(omv_client *c, const char *method, json_t *params)
{
	if (c->frame_cb && strcmp(method, "frame") == 0) {
		omv_frame *f = omv_frame_from_json(params);

		if (f) {
			c->frame_cb(c, f, c->frame_arg);
			omv_frame_free(f);
		}
	}
	if (c->notify_cb)
		c->notify_cb(c, method, params, c->notify_arg);
	omv_frame_close_fd(params);	/* a mapping made from it stays */
}

static void handle_reply(omv_client *c, json_t *msg)
{
	json_t *id = json_object_get(msg, "id");
	json_t *error = json_object_get(msg, "error");
	struct pending *p;

	if (!json_is_integer(id))
		return;	/* not ours (e.g. id null for a line the server could not read) */
	for (p = c->pending; p; p = p->next)
		if (p->id == json_integer_value(id) && !p->done)
			break;
	if (!p) {	/* a call that timed out: its late reply is dropped */
		omv_frame_close_fd(json_object_get(msg, "result"));
		return;
	}
	if (error) {
		json_t *code = json_object_get(error, "code");

		p->status = json_is_integer(code) && json_integer_value(code) < 0
			? (int)json_integer_value(code) : OMV_EPROTO;
		p->error = json_incref(error);
	} else if (json_object_get(msg, "result")) {
		p->status = OMV_OK;
		p->result = json_incref(json_object_get(msg, "result"));
	} else {
		p->status = OMV_EPROTO;
		p->error = json_pack("{s:i,s:s}", "code", OMV_EPROTO,
				     "message", "reply without result or error");
	}
	complete(c, p);
}

static void handle_message(omv_client *c, json_t *msg)
{
	const char *method;

	if (json_is_array(msg)) {	/* a batch reply */
		size_t i;
		json_t *v;

		json_array_foreach(msg, i, v)
			handle_message(c, v);
		return;
	}
	if (!json_is_object(msg))
		return;
	method = json_string_value(json_object_get(msg, "method"));
	if (method && !json_object_get(msg, "id"))
		handle_notification(c, method, json_object_get(msg, "params"));
	else
		handle_reply(c, msg);
}

/* Dispatch the complete lines in the buffer: all of them, or when until
 * is given, up to the one that completes that blocking call (what comes
 * after its reply is dispatched after it returns). Returns false when the
 * stream is broken (the connection has then been dropped). */
static bool dispatch_lines(omv_client *c, const struct pending *until)
{
	for (;;) {
		char *line = c->in + c->in_start;
		size_t avail = c->in_len - c->in_start;
		char *nl = avail > c->in_scanned
			? memchr(line + c->in_scanned, '\n', avail - c->in_scanned) : NULL;
		json_error_t jerr;
		json_t *msg;
		size_t len;

		if (!nl) {
			c->in_scanned = avail;
			if (avail > MAX_LINE) {
				connection_lost(c, OMV_EPROTO, "omvd sent a line that is too long");
				return false;
			}
			return true;
		}
		len = (size_t)(nl - line);
		c->in_start += len + 1;
		c->in_scanned = 0;
		if (len == 0 || (len == 1 && line[0] == '\r'))
			continue;
		/* Text from the cam may hold NUL bytes (\u0000): valid JSON. */
		msg = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
		if (!msg) {
			connection_lost(c, OMV_EPROTO, "omvd sent invalid JSON");
			return false;
		}
		omv_frame_attach_fds(msg, next_fd, c);
		handle_message(c, msg);
		json_decref(msg);
		if (c->fd < 0)	/* the link went away meanwhile */
			return false;
		if (until && until->done)
			return true;
	}
}

static bool has_complete_line(const omv_client *c)
{
	size_t avail = c->in_len - c->in_start;

	return avail > c->in_scanned &&
	       memchr(c->in + c->in_start + c->in_scanned, '\n', avail - c->in_scanned);
}

/* Read what the socket has (one read). >0 bytes read, 0 nothing pending,
 * <0 the connection is gone (already handled). */
static ssize_t read_some(omv_client *c)
{
	ssize_t n;

	if (c->in_start > 0 && c->in_start == c->in_len) {
		c->in_start = c->in_len = 0;
	} else if (c->in_start > 0 && c->in_cap - c->in_len < READ_CHUNK) {
		memmove(c->in, c->in + c->in_start, c->in_len - c->in_start);
		c->in_len -= c->in_start;
		c->in_start = 0;
	}
	if (c->in_cap - c->in_len < READ_CHUNK) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 2 * READ_CHUNK;
		char *in = realloc(c->in, cap);

		if (!in) {
			connection_lost(c, OMV_ENOMEM, "out of memory reading from omvd");
			return -1;
		}
		c->in = in;
		c->in_cap = cap;
	}
	{
		/* Frames in shared memory come with a descriptor on the first
		 * byte of their line; the kernel returns one line's at most. */
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_READ)];
		} ctl;
		struct iovec iov = { c->in + c->in_len, c->in_cap - c->in_len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };

		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
		if (n >= 0 && mh.msg_controllen > 0)
			take_fds(c, &mh);
	}
	if (n > 0) {
		c->in_len += (size_t)n;
		return n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n == 0 || errno == ECONNRESET) {
		/* What the server sent before closing still counts. */
		if (dispatch_lines(c, NULL))
			connection_lost(c, OMV_ECLOSED, "connection closed by omvd");
	} else {
		char why[300];

		snprintf(why, sizeof why, "read from omvd: %s", strerror(errno));
		connection_lost(c, OMV_EIO, why);
	}
	return -1;
}

int omv_client_process(omv_client *c)
{
	size_t total = 0;

	if (c->fd < 0)
		return omv_set_error(c, OMV_ECLOSED, "not connected to omvd");
	/* Bounded, so a fast stream of frames cannot starve the caller's loop. */
	while (total < 4 * READ_CHUNK) {
		ssize_t n = read_some(c);

		if (n < 0)
			return c->err_code;
		if (n == 0)
			break;
		total += (size_t)n;
	}
	if (!dispatch_lines(c, NULL))
		return c->err_code;
	return OMV_OK;
}

int omv_client_wait(omv_client *c, int timeout_ms)
{
	struct pollfd pfd;
	int n, rc;

	if (c->fd < 0)
		return omv_set_error(c, OMV_ECLOSED, "not connected to omvd");
	if (has_complete_line(c))
		return dispatch_lines(c, NULL) ? 1 : c->err_code;
	pfd = (struct pollfd){ .fd = c->fd, .events = POLLIN };
	n = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (n < 0 && errno != EINTR)
		return omv_set_error(c, OMV_EIO, "poll: %s", strerror(errno));
	if (n <= 0)
		return 0;
	rc = omv_client_process(c);
	return rc < 0 ? rc : 1;
}

/* ---- sending ------------------------------------------------------------ */

/* Write all of buf; while the socket is full, keep reading what the server
 * sends (without dispatching) so neither side can block the other. */
static int send_all(omv_client *c, const char *buf, size_t len)
{
	uint64_t deadline = c->timeout_ms > 0 ? now_ms() + (uint64_t)c->timeout_ms : 0;

	while (len > 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN | POLLOUT };
		int wait = -1;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			char why[300];

			snprintf(why, sizeof why, "write to omvd: %s", strerror(errno));
			connection_lost(c, errno == EPIPE || errno == ECONNRESET ? OMV_ECLOSED : OMV_EIO,
					why);
			return c->err_code;
		}
		if (deadline) {
			uint64_t now = now_ms();

			if (now >= deadline)
				return omv_set_error(c, OMV_ETIMEOUT, "timed out writing to omvd");
			wait = (int)(deadline - now);
		}
		if (poll(&pfd, 1, wait) > 0 && (pfd.revents & (POLLIN | POLLHUP)))
			if (read_some(c) < 0)
				return c->err_code;
	}
	return OMV_OK;
}

/* Queue a request (a new pending entry) and send it. The entry starts out
 * owned by the caller (blocking): if the connection drops while sending,
 * it is only marked done, never freed under the caller's feet. */
static int start_call(omv_client *c, const char *method, json_t *params,
		      struct pending **out)
{
	struct pending *p;
	json_t *req;
	char *text;
	int rc;

	*out = NULL;
	if (!method)
		return omv_set_error(c, OMV_EINVAL, "no method given");
	if (params && !json_is_object(params) && !json_is_array(params))
		return omv_set_error(c, OMV_EINVAL, "params must be an object or an array");
	if (c->fd < 0)
		return omv_set_error(c, OMV_ECLOSED, "not connected to omvd");
	p = calloc(1, sizeof *p);
	req = json_pack("{s:s,s:I,s:s}", "jsonrpc", "2.0", "id", (json_int_t)c->next_id,
			"method", method);
	if (!p || !req || (params && json_object_set(req, "params", params) < 0)) {
		free(p);
		json_decref(req);
		return omv_set_error(c, OMV_ENOMEM, "out of memory");
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text) {
		free(p);
		return omv_set_error(c, OMV_ENOMEM, "out of memory");
	}
	p->id = c->next_id++;
	p->blocking = true;
	/* Listed before sending: the reply may be read while we still write. */
	p->next = c->pending;
	c->pending = p;
	c->npending++;
	rc = send_all(c, text, strlen(text));
	if (rc == OMV_OK)
		rc = send_all(c, "\n", 1);
	free(text);
	if (rc < 0) {
		unlink_pending(c, p);
		free_pending(p);
		return rc;
	}
	*out = p;
	return OMV_OK;
}

int omv_client_call_async(omv_client *c, const char *method, json_t *params,
			  omv_reply_cb cb, void *arg)
{
	struct pending *p;
	int rc;

	/* Blocking until sent; the reply is handled later by process(). */
	rc = start_call(c, method, params, &p);
	if (rc < 0)
		return rc;
	p->blocking = false;
	p->cb = cb;
	p->arg = arg;
	if (p->done) {	/* already answered (or failed) while sending */
		p->done = false;
		complete(c, p);
	}
	return OMV_OK;
}

static int finish_blocking(omv_client *c, struct pending *p, json_t **result)
{
	int rc = p->status;

	unlink_pending(c, p);
	if (!result)
		omv_frame_close_fd(p->result);
	if (p->error)
		set_rpc_error(c, p->error);
	else if (rc == OMV_OK) {
		c->err_code = OMV_OK;
		c->err_msg[0] = '\0';
		json_decref(c->err_data);
		c->err_data = NULL;
		if (result) {
			*result = p->result;
			p->result = NULL;
		}
	}
	free_pending(p);
	return rc;
}

int omv_client_call(omv_client *c, const char *method, json_t *params, json_t **result)
{
	struct pending *p;
	uint64_t deadline;
	int rc;

	if (result)
		*result = NULL;
	rc = start_call(c, method, params, &p);
	if (rc < 0)
		return rc;
	deadline = c->timeout_ms > 0 ? now_ms() + (uint64_t)c->timeout_ms : 0;
	while (!p->done) {
		struct pollfd pfd;
		int wait = -1, n;

		if (has_complete_line(c)) {
			dispatch_lines(c, p);
			continue;
		}
		if (c->fd < 0)
			break;	/* already failed by connection_lost() */
		if (deadline) {
			uint64_t now = now_ms();

			if (now >= deadline) {
				unlink_pending(c, p);
				free_pending(p);
				return omv_set_error(c, OMV_ETIMEOUT,
						     "no reply from omvd to %s within %d ms",
						     method, c->timeout_ms);
			}
			wait = (int)(deadline - now);
		}
		pfd = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		n = poll(&pfd, 1, wait);
		if (n < 0 && errno != EINTR) {
			connection_lost(c, OMV_EIO, "poll on the omvd socket failed");
			break;
		}
		if (n > 0 && read_some(c) >= 0)
			dispatch_lines(c, p);
	}
	if (!p->done)
		p->status = c->err_code < 0 ? c->err_code : OMV_ECLOSED;
	return finish_blocking(c, p, result);
}

void omv_client_free(omv_client *c)
{
	if (!c)
		return;
	close_fd(c, NULL);
	fail_all(c, OMV_ECANCELLED, "client freed before the reply arrived");
	/* Blocking waiters cannot exist here (freeing from a callback is not
	 * allowed), but stay safe with what is left. */
	while (c->pending) {
		struct pending *p = c->pending;

		c->pending = p->next;
		free_pending(p);
	}
	json_decref(c->err_data);
	free(c->in);
	free(c->fds);
	free(c);
}
