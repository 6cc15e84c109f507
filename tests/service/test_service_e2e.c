/*
 * End-to-end checks of omvd's systemd integration, with camsim as the cam:
 * the notify protocol as a Type=notify service sees it (READY only once the
 * socket accepts, STATUS following the link, watchdog pings, STOPPING on
 * SIGTERM, clean exit), and socket activation through
 * systemd-socket-activate (a client that connected before omvd ran gets
 * served; the activation socket is left to its owner).
 *
 * Usage: test_service_e2e notify|activation|bad-socket
 * Environment: OMVD, OMV_CAMSIM, SOCKET_ACTIVATE (systemd-socket-activate).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define SKIP 77

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

/* What the daemon told "systemd" so far. */
struct notified {
	int fd;
	bool ready, stopping;
	int pings;
	char status[512];	/* the latest STATUS= value */
};

/* sd_notify may pack several assignments into one datagram. */
static const char *find_line(const char *msg, const char *key)
{
	size_t len = strlen(key);

	for (const char *p = msg; p != NULL; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, key, len) == 0)
			return p + len;
	}
	return NULL;
}

static bool has_line(const char *msg, const char *line)
{
	const char *rest = find_line(msg, line);

	return rest != NULL && (*rest == '\n' || *rest == '\0');
}

/* Reads one message within timeout_ms into n; false on timeout. */
static bool notify_next(struct notified *n, unsigned timeout_ms)
{
	struct pollfd p = { .fd = n->fd, .events = POLLIN };
	char msg[1024];
	const char *status;
	ssize_t len;

	if (poll(&p, 1, (int)timeout_ms) != 1)
		return false;
	len = recv(n->fd, msg, sizeof msg - 1, MSG_DONTWAIT);
	CHECK(len >= 0);
	msg[len] = '\0';
	n->ready |= has_line(msg, "READY=1");
	n->stopping |= has_line(msg, "STOPPING=1");
	n->pings += has_line(msg, "WATCHDOG=1");
	status = find_line(msg, "STATUS=");
	if (status != NULL) {
		len = (ssize_t)strcspn(status, "\n");
		CHECK((size_t)len < sizeof n->status);
		memcpy(n->status, status, (size_t)len);
		n->status[len] = '\0';
	}
	return true;
}

/* Reads messages until cond(n, arg) holds or timeout_ms passes. */
static bool notify_until(struct notified *n, bool (*cond)(const struct notified *, const void *),
			 const void *arg, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	while (!cond(n, arg)) {
		uint64_t now = h_now_ms();

		if (now >= deadline || !notify_next(n, (unsigned)(deadline - now)))
			return cond(n, arg);
	}
	return true;
}

static bool is_ready(const struct notified *n, const void *arg)
{
	return n->ready;
}

struct link_status {
	const char *port;
	bool ready;
};

/* The status names the port and says whether the link is ready. */
static bool status_link(const struct notified *n, const void *arg)
{
	const struct link_status *want = arg;

	return strstr(n->status, want->port) != NULL &&
	       (strstr(n->status, "ready") != NULL) == want->ready;
}

static bool pinged_thrice(const struct notified *n, const void *arg)
{
	return n->pings >= 3;
}

static struct notified notify_socket(const char *path)
{
	struct notified n = { .fd = -1 };
	struct sockaddr_un sa;

	n.fd = unix_socket(SOCK_DGRAM, path, &sa);
	CHECK(bind(n.fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	return n;
}

static char *const *omvd_argv(const char *port, const char *sock)
{
	static char *argv[8];

	argv[0] = getenv("OMVD");
	argv[1] = "--port";
	argv[2] = (char *)port;
	argv[3] = "--socket";
	argv[4] = (char *)sock;
	argv[5] = "-v";
	argv[6] = NULL;
	CHECKF(argv[0] != NULL, "OMVD is not set");
	return argv;
}

static bool exited_zero(int status)
{
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * omvd as a Type=notify service with a watchdog: READY=1 only once the
 * socket accepts, STATUS= follows the link and names the port, WATCHDOG=1
 * keeps coming, STOPPING=1 and a clean exit on SIGTERM.
 */
static int test_notify(void)
{
	char sock[256], port[256];
	struct link_status up = { port, true }, down = { port, false };
	struct h_proc cam, omvd;
	struct notified n;
	struct h_conn *c;
	struct stat sb;
	json_t *res;
	int st;

	cam = h_start_camsim(NULL);
	snprintf(sock, sizeof sock, "%s", h_path("omvd.sock"));
	snprintf(port, sizeof port, "%s", h_path("cam"));
	n = notify_socket(h_path("notify"));

	/* What systemd sets for Type=notify + WatchdogSec (WATCHDOG_PID is
	 * optional: without it the pings are for whoever reads them). */
	CHECK(setenv("NOTIFY_SOCKET", h_path("notify"), 1) == 0);
	CHECK(setenv("WATCHDOG_USEC", "400000", 1) == 0);
	omvd = h_spawn(omvd_argv(port, sock), false);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");

	CHECKF(notify_until(&n, is_ready, NULL, 5000), "no READY=1 from omvd within 5 s");
	/* READY=1 means the socket accepts now, not soon. */
	c = h_connect(sock);
	CHECKF(c != NULL, "READY=1 sent before %s accepted connections", sock);

	/* The status line follows the link up, then down when the cam goes. */
	CHECKF(notify_until(&n, status_link, &up, 5000),
	       "no STATUS= naming %s and \"ready\" (last: \"%s\")", port, n.status);
	printf("status with the link up: %s\n", n.status);
	res = h_call(c, "is_connected", NULL);
	CHECK(json_is_true(json_object_get(res, "result")));
	json_decref(res);
	h_stop(&cam, SIGTERM, 5000);
	CHECKF(notify_until(&n, status_link, &down, 5000),
	       "no STATUS= change naming %s after the cam went away (last: \"%s\")",
	       port, n.status);
	printf("status with the cam gone: %s\n", n.status);

	/* Every half WATCHDOG_USEC; a few have come by now or soon will. */
	CHECKF(notify_until(&n, pinged_thrice, NULL, 2000), "only %d WATCHDOG=1 pings", n.pings);

	h_close(c);
	st = h_stop(&omvd, SIGTERM, 5000);
	CHECKF(exited_zero(st), "omvd exit status %d after SIGTERM", st);
	while (!n.stopping && notify_next(&n, 0))
		;
	CHECKF(n.stopping, "no STOPPING=1 on SIGTERM");
	CHECKF(stat(sock, &sb) < 0 && errno == ENOENT, "%s left behind", sock);
	close(n.fd);
	return 0;
}

/* A datagram socket receives once it is bound to its path. */
static bool path_exists(void *arg)
{
	struct stat sb;

	return stat(arg, &sb) == 0;
}

/* systemd-socket-activate binds the path before it listens: the socket
 * is ready once a connection is accepted into its backlog. */
struct activated {
	const char *path;
	struct h_conn *c;
};

static bool accepts(void *arg)
{
	struct activated *a = arg;

	a->c = h_connect(a->path);
	return a->c != NULL;
}

/* Arguments for systemd-socket-activate -l PATH [-d] omvd ..., forwarding
 * the variables it would otherwise drop. */
static struct h_proc spawn_activated(const char *listen, bool datagram,
				     const char *port, const char *sock)
{
	static const char *forward[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
					 "LSAN_OPTIONS", "NOTIFY_SOCKET" };
	char *argv[32];
	char *const *omvd = omvd_argv(port, sock);
	int n = 0;

	argv[n++] = getenv("SOCKET_ACTIVATE");
	argv[n++] = "-l";
	argv[n++] = (char *)listen;
	if (datagram)
		argv[n++] = "-d";
	for (size_t i = 0; i < sizeof forward / sizeof forward[0]; i++) {
		if (getenv(forward[i]) != NULL) {
			argv[n++] = "-E";
			argv[n++] = (char *)forward[i];
		}
	}
	for (int i = 0; omvd[i] != NULL; i++)
		argv[n++] = omvd[i];
	argv[n] = NULL;
	return h_spawn(argv, false);
}

/*
 * Socket activation: the client connects while only the activator listens;
 * omvd, started on that connection, serves it from the passed socket, and
 * leaves the socket file (it belongs to the activator, i.e. systemd).
 */
static int test_activation(void)
{
	char listen[256], sock[256], port[256];
	struct h_proc cam, omvd;
	struct activated act;
	struct notified n;
	struct h_conn *c;
	struct stat sb;
	json_t *res;
	int st;

	if (getenv("SOCKET_ACTIVATE") == NULL) {
		printf("no systemd-socket-activate: skipped\n");
		return SKIP;
	}
	cam = h_start_camsim(NULL);
	snprintf(listen, sizeof listen, "%s", h_path("activated.sock"));
	/* --socket names a path that must stay unused. */
	snprintf(sock, sizeof sock, "%s", h_path("unused.sock"));
	snprintf(port, sizeof port, "%s", h_path("cam"));
	n = notify_socket(h_path("notify"));

	CHECK(setenv("NOTIFY_SOCKET", h_path("notify"), 1) == 0);
	omvd = spawn_activated(listen, false, port, sock);
	unsetenv("NOTIFY_SOCKET");
	/* Before omvd runs: only the backlog of the activator's socket. */
	act.path = listen;
	CHECKF(h_wait_until(accepts, &act, 5000), "%s never accepted a connection", listen);
	c = act.c;
	CHECK(!notify_next(&n, 0));
	res = h_call(c, "is_connected", NULL);
	CHECKF(json_object_get(res, "result") != NULL, "is_connected failed");
	json_decref(res);
	res = h_call(c, "status", NULL);
	CHECK(json_is_object(json_object_get(res, "result")));
	json_decref(res);

	CHECKF(notify_until(&n, is_ready, NULL, 5000), "no READY=1 from the activated omvd");
	CHECKF(stat(sock, &sb) < 0, "omvd created --socket despite activation");

	h_close(c);
	st = h_stop(&omvd, SIGTERM, 5000);
	CHECKF(exited_zero(st), "omvd exit status %d after SIGTERM", st);
	CHECKF(stat(listen, &sb) == 0 && S_ISSOCK(sb.st_mode),
	       "omvd removed the activation socket %s", listen);
	h_stop(&cam, SIGTERM, 5000);
	close(n.fd);
	return 0;
}

struct reaped {
	pid_t pid;
	int status;
};

static bool exited(void *arg)
{
	struct reaped *r = arg;

	return waitpid(r->pid, &r->status, WNOHANG) == r->pid;
}

/* A passed socket omvd cannot serve (datagram): it must give up, not
 * fall back to --socket behind systemd's back. */
static int test_bad_socket(void)
{
	char listen[256], sock[256], port[256];
	struct sockaddr_un sa;
	struct h_proc omvd;
	struct reaped r;
	struct stat sb;
	int fd;

	if (getenv("SOCKET_ACTIVATE") == NULL) {
		printf("no systemd-socket-activate: skipped\n");
		return SKIP;
	}
	snprintf(listen, sizeof listen, "%s", h_path("dgram.sock"));
	snprintf(sock, sizeof sock, "%s", h_path("unused.sock"));
	snprintf(port, sizeof port, "%s", h_path("cam"));
	omvd = spawn_activated(listen, true, port, sock);
	CHECKF(h_wait_until(path_exists, listen, 5000), "%s never appeared", listen);

	/* A datagram wakes the activator, which then execs omvd. */
	fd = unix_socket(SOCK_DGRAM, listen, &sa);
	CHECK(sendto(fd, "x", 1, 0, (struct sockaddr *)&sa, sizeof sa) == 1);
	close(fd);

	r.pid = omvd.pid;
	CHECKF(h_wait_until(exited, &r, 5000), "omvd kept running on a datagram socket");
	CHECKF(WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0,
	       "omvd exit status %d", r.status);
	CHECKF(stat(sock, &sb) < 0, "omvd fell back to --socket");
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "notify") == 0)
		return test_notify();
	if (argc == 2 && strcmp(argv[1], "activation") == 0)
		return test_activation();
	if (argc == 2 && strcmp(argv[1], "bad-socket") == 0)
		return test_bad_socket();
	fprintf(stderr, "usage: %s notify|activation|bad-socket\n", argv[0]);
	return 2;
}
