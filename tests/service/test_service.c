/*
 * Unit test of daemon/service.c against a fake systemd: a datagram socket
 * standing in for NOTIFY_SOCKET, and the LISTEN_FDS/WATCHDOG_USEC
 * environment that systemd would set.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "daemon/service.h"

#define CHECK(cond) \
	((cond) ? (void)0 : fail(__LINE__, "%s", #cond))

static char tmpdir[64];
static char notify_path[128];

static void cleanup(void)
{
	if (notify_path[0] != '\0')
		unlink(notify_path);
	if (tmpdir[0] != '\0')
		rmdir(tmpdir);
}

__attribute__((noreturn, format(printf, 2, 3)))
static void fail(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "test_service.c:%d: check failed: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cleanup();
	exit(1);
}

static int unix_socket(int type, const char *path, struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	CHECK(strlen(path) < sizeof sa->sun_path);
	strcpy(sa->sun_path, path);
	return fd;
}

/* The fake systemd side: NOTIFY_SOCKET names a datagram socket we read. */
static int notify_listen(void)
{
	struct sockaddr_un sa;
	int fd;

	CHECK(mkdtemp(strcpy(tmpdir, "/tmp/omvd-svc-XXXXXX")) != NULL);
	snprintf(notify_path, sizeof notify_path, "%s/notify", tmpdir);
	fd = unix_socket(SOCK_DGRAM, notify_path, &sa);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(setenv("NOTIFY_SOCKET", notify_path, 1) == 0);
	return fd;
}

/* Next notify message within timeout_ms, NUL-terminated in buf. */
static const char *notify_recv(int fd, char *buf, size_t size, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return NULL;
	n = recv(fd, buf, size - 1, MSG_DONTWAIT);
	CHECK(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void expect_message(int fd, const char *want)
{
	char buf[1024];
	const char *got = notify_recv(fd, buf, sizeof buf, 2000);

	if (got == NULL)
		fail(__LINE__, "no notify message, expected \"%s\"", want);
	if (strcmp(got, want) != 0)
		fail(__LINE__, "notify message \"%s\", expected \"%s\"", got, want);
}

static void test_notify_messages(int nfd)
{
	struct event_base *base = event_base_new();
	struct service *s;
	char buf[64];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	s = service_new(base);
	CHECK(s != NULL);

	service_ready(s);
	service_status(s, "link %s on %s", "ready", "/dev/ttyACM0");
	service_status(s, "two\nlines");
	service_stopping(s);

	expect_message(nfd, "READY=1");
	expect_message(nfd, "STATUS=link ready on /dev/ttyACM0");
	expect_message(nfd, "STATUS=two lines");
	expect_message(nfd, "STOPPING=1");
	CHECK(notify_recv(nfd, buf, sizeof buf, 0) == NULL);

	service_free(s);
	event_base_free(base);
}

struct ping_count {
	int fd;
	int pings;
	int others;
};

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct ping_count *pc = arg;
	char buf[256];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT)) >= 0) {
		buf[n] = '\0';
		if (strcmp(buf, "WATCHDOG=1") == 0)
			pc->pings++;
		else
			pc->others++;
	}
}

static void test_watchdog(int nfd)
{
	struct event_base *base = event_base_new();
	struct ping_count pc = { .fd = nfd };
	struct timeval one_second = { 1, 0 };
	struct event *reader;
	struct service *s;
	char pid[32];

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	CHECK(setenv("WATCHDOG_USEC", "200000", 1) == 0);
	CHECK(setenv("WATCHDOG_PID", pid, 1) == 0);
	s = service_new(base);
	CHECK(s != NULL);

	reader = event_new(base, nfd, EV_READ | EV_PERSIST, on_notify, &pc);
	CHECK(reader != NULL && event_add(reader, NULL) == 0);
	CHECK(event_base_loopexit(base, &one_second) == 0);
	CHECK(event_base_dispatch(base) == 0);
	on_notify(nfd, EV_READ, &pc);

	/* Half of 200 ms: about ten pings in a second. */
	if (pc.pings < 6 || pc.pings > 14)
		fail(__LINE__, "%d watchdog pings in 1 s, expected about 10", pc.pings);
	CHECK(pc.others == 0);
	printf("watchdog: %d pings in 1 s\n", pc.pings);

	event_free(reader);
	service_free(s);
	event_base_free(base);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* A watchdog meant for another process must not make us ping. */
static void test_watchdog_other_pid(int nfd)
{
	struct event_base *base = event_base_new();
	struct timeval tenth = { 0, 100000 };
	struct service *s;
	char pid[32], buf[64];

	snprintf(pid, sizeof pid, "%d", (int)getpid() + 1);
	CHECK(setenv("WATCHDOG_USEC", "20000", 1) == 0);
	CHECK(setenv("WATCHDOG_PID", pid, 1) == 0);
	s = service_new(base);
	CHECK(s != NULL);
	CHECK(event_base_loopexit(base, &tenth) == 0);
	CHECK(event_base_dispatch(base) == 0);
	CHECK(notify_recv(nfd, buf, sizeof buf, 0) == NULL);
	service_free(s);
	event_base_free(base);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* Puts fd at 3, where systemd passes the first socket. */
static void move_to_fd3(int fd)
{
	CHECK(fd >= 0);
	if (fd != 3) {
		CHECK(dup2(fd, 3) == 3);
		close(fd);
	}
}

static void set_listen_env(const char *nfds)
{
	char pid[32];

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	CHECK(setenv("LISTEN_FDS", nfds, 1) == 0);
	CHECK(setenv("LISTEN_PID", pid, 1) == 0);
}

static void test_listen_fd(void)
{
	struct sockaddr_un sa;
	char path[128];
	int fd, dgram;

	/* Nothing passed. */
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	CHECK(service_listen_fd() == -1);

	/* A listening Unix stream socket on fd 3. */
	snprintf(path, sizeof path, "%s/listen.sock", tmpdir);
	fd = unix_socket(SOCK_STREAM, path, &sa);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(listen(fd, 4) == 0);
	move_to_fd3(fd);
	set_listen_env("1");
	CHECK(service_listen_fd() == 3);
	/* The variables are consumed, so children do not inherit them. */
	CHECK(getenv("LISTEN_FDS") == NULL);
	CHECK(service_listen_fd() == -1);

	/* LISTEN_PID of another process: not for us. */
	CHECK(setenv("LISTEN_FDS", "1", 1) == 0);
	CHECK(setenv("LISTEN_PID", "1", 1) == 0);
	CHECK(service_listen_fd() == -1);
	close(3);
	unlink(path);

	/* A bound but not listening socket is unusable. */
	fd = unix_socket(SOCK_STREAM, path, &sa);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	move_to_fd3(fd);
	set_listen_env("1");
	CHECK(service_listen_fd() == -2);
	close(3);
	unlink(path);

	/* A datagram socket is unusable. */
	dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	move_to_fd3(dgram);
	set_listen_env("1");
	CHECK(service_listen_fd() == -2);
	close(3);

	/* Not a socket at all. */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	move_to_fd3(fd);
	set_listen_env("1");
	CHECK(service_listen_fd() == -2);

	/* Two sockets where one is expected. */
	CHECK(dup2(3, 4) == 4);
	set_listen_env("2");
	CHECK(service_listen_fd() == -2);
	close(3);
	close(4);
}

/* Without systemd every call must be harmless. */
static void test_without_systemd(void)
{
	struct event_base *base = event_base_new();
	struct service *s;

	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	s = service_new(base);
	CHECK(s != NULL);
	service_ready(s);
	service_status(s, "idle");
	service_stopping(s);
	CHECK(service_listen_fd() == -1);
	service_free(s);
	event_base_free(base);
}

int main(void)
{
	int first, nfd;

	log_init("test_service", LOG_LVL_WARNING);
	/* Keep fd 3 and 4 free for the socket-activation cases. */
	close(3);
	close(4);
	first = notify_listen();
	nfd = fcntl(first, F_DUPFD_CLOEXEC, 10);
	CHECK(nfd >= 10);
	close(first);
	test_notify_messages(nfd);
	test_watchdog(nfd);
	test_watchdog_other_pid(nfd);
	test_listen_fd();
	test_without_systemd();
	close(nfd);
	cleanup();
	printf("service: all checks passed\n");
	return 0;
}
