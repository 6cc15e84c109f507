/*
 * The fake omvd of the library's unit tests (see fake_server.h).
 */
#include "fake_server.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

int t_main(const struct t_case *cases, size_t n, int argc, char **argv)
{
	for (size_t i = 0; i < n; i++) {
		if (argc < 2 || strcmp(argv[1], cases[i].name) == 0) {
			cases[i].run();
			if (argc >= 2)
				return 0;
		}
	}
	if (argc >= 2) {
		fprintf(stderr, "unknown case %s\n", argv[1]);
		return 2;
	}
	return 0;
}

void fake_init(struct fake *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof *f);
	f->fd = -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/omvclient-test-XXXXXX");
	TCHECK(mkdtemp(f->dir) != NULL);
	snprintf(f->path, sizeof f->path, "%s/omvd.sock", f->dir);
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TCHECK(f->listen_fd >= 0);
	TCHECK(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	TCHECK(listen(f->listen_fd, 8) == 0);
}

void fake_accept(struct fake *f)
{
	struct pollfd pfd = { .fd = f->listen_fd, .events = POLLIN };

	TCHECKF(poll(&pfd, 1, 5000) == 1, "no client connected");
	f->fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	TCHECK(f->fd >= 0);
}

static void *thread_main(void *arg)
{
	struct fake *f = arg;

	fake_accept(f);
	f->script(f);
	return NULL;
}

void fake_run(struct fake *f, void (*script)(struct fake *f), void *arg)
{
	f->script = script;
	f->arg = arg;
	f->threaded = true;
	TCHECK(pthread_create(&f->thread, NULL, thread_main, f) == 0);
}

void fake_done(struct fake *f)
{
	if (f->threaded)
		pthread_join(f->thread, NULL);
	if (f->fd >= 0)
		close(f->fd);
	close(f->listen_fd);
	free(f->in);
	unlink(f->path);
	rmdir(f->dir);
}

void fake_send(struct fake *f, const char *bytes, size_t len)
{
	while (len > 0) {
		ssize_t n = send(f->fd, bytes, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		TCHECKF(n > 0, "fake server write: %s", strerror(errno));
		bytes += n;
		len -= (size_t)n;
	}
}

void fake_sendf(struct fake *f, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	TCHECK(n >= 0);
	fake_send(f, text, (size_t)n);
	fake_send(f, "\n", 1);
	free(text);
}

json_t *fake_recv(struct fake *f)
{
	json_error_t err;
	char *nl;
	json_t *v;
	size_t len;

	while (!(nl = f->in_len ? memchr(f->in, '\n', f->in_len) : NULL)) {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
		ssize_t n;

		TCHECKF(poll(&pfd, 1, 5000) == 1, "fake server: no request within 5 s");
		f->in = realloc(f->in, f->in_len + 65536);
		TCHECK(f->in != NULL);
		n = read(f->fd, f->in + f->in_len, 65536);
		TCHECKF(n > 0, "fake server: client closed");
		f->in_len += (size_t)n;
	}
	len = (size_t)(nl - f->in);
	v = json_loadb(f->in, len, 0, &err);
	TCHECKF(v != NULL, "fake server: bad request line: %s", err.text);
	memmove(f->in, nl + 1, f->in_len - len - 1);
	f->in_len -= len + 1;
	return v;
}

long long fake_expect(struct fake *f, const char *method, json_t **params)
{
	json_t *req = fake_recv(f);
	const char *m = json_string_value(json_object_get(req, "method"));
	long long id;

	TCHECKF(m && strcmp(m, method) == 0, "expected %s, got %s", method, m ? m : "(none)");
	TCHECK(strcmp(json_string_value(json_object_get(req, "jsonrpc")), "2.0") == 0);
	TCHECK(json_is_integer(json_object_get(req, "id")));
	id = json_integer_value(json_object_get(req, "id"));
	if (params)
		*params = json_incref(json_object_get(req, "params"));
	json_decref(req);
	return id;
}

bool fake_wait_eof(struct fake *f)
{
	struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
	char buf[256];

	for (;;) {
		if (poll(&pfd, 1, 5000) != 1)
			return false;
		ssize_t n = read(f->fd, buf, sizeof buf);

		if (n == 0)
			return true;
		if (n < 0)
			return false;
	}
}
