/*
 * A client's output queue and descriptor passing, driven directly: an RPC
 * server without a cam, a client on one end of a socketpair, the test
 * reading the other end.
 *
 *   queue    small lines coalesced (their cost near their length), large
 *            and shared ones by reference, all written in order
 *   fds      a descriptor arrives with its line's first byte, in order
 *            with the other lines, also when the socket was full
 *   cut      descriptors still queued are closed when the client is cut;
 *            at most RPC_CLIENT_FDS_MAX wait at once
 *   limits   a client over the hard limit is cut; over the global budget,
 *            the client holding the most is cut, the others kept; a line
 *            queued to many clients counts once
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "harness.h"
#include "rpc_client.h"
#include "rpc_outq.h"
#include "rpc_server.h"

static struct shared_line *line_of(const char *fmt, int n, size_t pad)
{
	char head[64];
	int hl = snprintf(head, sizeof head, fmt, n);
	struct shared_line *l = shared_line_alloc((size_t)hl + pad + 1);

	CHECK(l != NULL);
	memcpy(l->data, head, (size_t)hl);
	memset(l->data + hl, 'x', pad);
	l->data[(size_t)hl + pad] = '\n';
	return l;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A memfd holding text. */
static int memfd_with(const char *text)
{
	int fd = memfd_create("test", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	return fd;
}

/* ---- the queue alone ---- */

static void test_queue(void)
{
	enum { N = 20000 };
	int sv[2];
	struct outq q;
	char *got = NULL, *want = NULL;
	size_t got_len = 0, want_len = 0;
	struct shared_line *big = line_of("{\"big\":%d,\"pad\":\"", 1, 200000);
	FILE *wf = open_memstream(&want, &want_len);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	outq_init(&q);
	for (int i = 0; i < N; i++) {
		char line[64];
		int n = snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":true}\n",
				 i);
		CHECK(outq_add_copy(&q, line, (size_t)n) == 0);
		fwrite(line, 1, (size_t)n, wf);
		if (i == N / 2) {
			CHECK(outq_add_shared(&q, big, -1) == 0);
			fwrite(big->data, 1, big->len, wf);
			/* A malloc'd line above the coalescing size, taken over. */
			struct shared_line *o = line_of("{\"owned\":%d,\"pad\":\"", i, 1500);
			size_t olen = o->len;
			char *owned = malloc(olen);
			CHECK(owned != NULL);
			memcpy(owned, o->data, olen);
			shared_line_unref(o);
			fwrite(owned, 1, olen, wf);
			CHECK(outq_add_owned(&q, owned, olen) == 0);
			/* A small line right after a large one goes to a new chunk. */
			CHECK(outq_add_copy(&q, "{}\n", 3) == 0);
			fwrite("{}\n", 1, 3, wf);
		}
	}
	fclose(wf);
	CHECK(big->refs == 2);
	CHECK(q.bytes == want_len);
	/* 20000 lines of ~40 bytes coalesced: the cost stays near the bytes
	 * (an evbuffer chain per line would cost 25 times more). */
	CHECKF(q.cost < want_len * 11 / 10 + 64 * 1024, "cost %zu for %zu bytes", q.cost,
	       want_len);
	got = malloc(want_len);
	CHECK(got != NULL);
	while (q.bytes > 0 || got_len < want_len) {
		ssize_t w = outq_write(&q, sv[0], 100000);
		CHECK(w >= 0);
		ssize_t r = read(sv[1], got + got_len, want_len - got_len);
		CHECK(r >= 0);
		got_len += (size_t)r;
	}
	CHECK(got_len == want_len && memcmp(got, want, want_len) == 0);
	CHECK(q.cost == 0 && big->refs == 1);
	outq_clear(&q);
	shared_line_unref(big);
	free(got);
	free(want);
	close(sv[0]);
	close(sv[1]);
}

/* ---- through a client ---- */

struct fixture {
	struct event_base *base;
	struct rpc_server *server;
	struct rpc_client *client;
	int peer;
};

static void fixture_start_with(struct fixture *f, const struct rpc_server_options *o)
{
	char err[256];
	int sv[2];

	f->base = event_base_new();
	CHECK(f->base != NULL);
	f->server = rpc_server_new(f->base, o, err, sizeof err);
	CHECKF(f->server != NULL, "%s", err);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	f->client = rpc_client_new(f->server, sv[0]);
	CHECK(f->client != NULL);
	f->peer = sv[1];
}

static void fixture_start(struct fixture *f)
{
	struct rpc_server_options o;

	rpc_server_options_default(&o);
	o.socket_path = h_path("out.sock");
	o.soft_limit = 64 * 1024;
	fixture_start_with(f, &o);
}

static void fixture_stop(struct fixture *f)
{
	rpc_server_free(f->server);
	event_base_free(f->base);
	close(f->peer);
}

/* What the peer received: bytes, and each descriptor with the offset
 * range of the read that brought it. */
struct received {
	char *data;
	size_t len, cap;
	int fds[64];
	size_t fd_from[64], fd_to[64];
	unsigned nfds;
};

static bool receive(struct fixture *f, struct received *r)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (r->cap - r->len < 65536) {
		r->cap = r->cap ? r->cap * 2 : 1 << 20;
		r->data = realloc(r->data, r->cap);
		CHECK(r->data != NULL);
	}
	iov.iov_base = r->data + r->len;
	iov.iov_len = r->cap - r->len;
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof ctl.buf;
	n = recvmsg(f->peer, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return false;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h != NULL; h = CMSG_NXTHDR(&m, h)) {
		size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		CHECK(h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS);
		for (size_t i = 0; i < k; i++) {
			CHECK(r->nfds < 64);
			memcpy(&r->fds[r->nfds], CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			r->fd_from[r->nfds] = r->len;
			r->fd_to[r->nfds] = r->len + (size_t)n;
			r->nfds++;
		}
	}
	r->len += (size_t)n;
	return true;
}

/* Runs the loop and reads until want bytes arrived. */
static void pump(struct fixture *f, struct received *r, size_t want)
{
	uint64_t deadline = h_now_ms() + 10000;

	while (r->len < want) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		while (receive(f, r))
			;
		CHECKF(h_now_ms() < deadline, "got %zu of %zu bytes", r->len, want);
	}
}

static char *fd_text(int fd)
{
	static char text[64];
	ssize_t n = pread(fd, text, sizeof text - 1, 0);

	CHECK(n >= 0);
	text[n] = '\0';
	return text;
}

/* Lines numbered 0..n-1, every third with a memfd naming its line; the
 * peer reads only after all are queued (the socket fills up). */
static void test_fds(void)
{
	enum { N = 60 };
	struct fixture f;
	struct received r = { 0 };
	size_t starts[N], total = 0;
	unsigned with_fd = 0, k = 0;

	fixture_start(&f);
	for (int i = 0; i < N; i++) {
		/* Large lines: 60 x 20 KiB is more than the socket holds. */
		struct shared_line *l = line_of("{\"line\":%d,\"pad\":\"", i, 20000);
		starts[i] = total;
		total += l->len;
		if (i % 3 == 0) {
			char text[32];
			int fd;
			snprintf(text, sizeof text, "fd of line %d", i);
			fd = memfd_with(text);
			/* Room for RPC_CLIENT_FDS_MAX at once: make room first. */
			while (!rpc_client_send_parts(f.client, "", l, "", fd)) {
				CHECK(f.client->out.fds == RPC_CLIENT_FDS_MAX);
				CHECK(!rpc_client_has_room(f.client));
				pump(&f, &r, r.len + 1);
			}
			close(fd);	/* the client holds its own copy */
			with_fd++;
		} else {
			rpc_client_send_shared(f.client, l);
		}
		shared_line_unref(l);
	}
	pump(&f, &r, total);
	CHECK(r.len == total);
	for (int i = 0; i < N; i++) {
		char head[32];
		int hl = snprintf(head, sizeof head, "{\"line\":%d,", i);
		CHECKF(memcmp(r.data + starts[i], head, (size_t)hl) == 0, "line %d out of order", i);
	}
	CHECK(r.nfds == with_fd);
	for (int i = 0; i < N; i += 3, k++) {
		char text[32];
		snprintf(text, sizeof text, "fd of line %d", i);
		CHECKF(strcmp(fd_text(r.fds[k]), text) == 0, "fd %u is '%s', not %s", k,
		       fd_text(r.fds[k]), text);
		/* It came with the read that held the line's first byte. */
		CHECKF(r.fd_from[k] <= starts[i] && starts[i] < r.fd_to[k],
		       "fd of line %d came with bytes %zu..%zu, the line starts at %zu", i,
		       r.fd_from[k], r.fd_to[k], starts[i]);
		close(r.fds[k]);
	}
	CHECK(f.client->out.fds == 0 && f.client->out.cost == 0);
	free(r.data);
	fixture_stop(&f);
}

/* A client cut with descriptors still queued closes them. */
static void test_cut(void)
{
	struct fixture f;
	struct shared_line *l = line_of("{\"line\":%d}", 0, 0);
	long before;
	unsigned sent = 0;

	fixture_start(&f);
	before = open_fds();
	for (int i = 0; i < RPC_CLIENT_FDS_MAX + 3; i++) {
		int fd = memfd_with("x");
		sent += rpc_client_send_parts(f.client, "", l, "", fd);
		close(fd);
	}
	CHECK(sent == RPC_CLIENT_FDS_MAX);
	CHECK(open_fds() == before + RPC_CLIENT_FDS_MAX);
	rpc_client_close(f.client, "test");
	CHECK(open_fds() == before);
	CHECK(!rpc_client_send_parts(f.client, "", l, "", 0));
	event_base_loop(f.base, EVLOOP_NONBLOCK);	/* frees the client */
	CHECK(f.server->nclients == 0 && f.server->out_total == 0);
	shared_line_unref(l);
	fixture_stop(&f);
}

/* n lines of about 2 KiB, each its own (queued by reference). */
static void send_lines(struct rpc_client *c, int n)
{
	for (int i = 0; i < n; i++) {
		struct shared_line *l = line_of("{\"line\":%d,\"pad\":\"", i, 2000);
		rpc_client_send_shared(c, l);
		shared_line_unref(l);
	}
}

static void test_limits(void)
{
	struct rpc_server_options o;
	struct shared_line *l = line_of("{\"line\":%d,\"pad\":\"", 0, 2000);
	struct fixture f;
	struct rpc_client *b;
	size_t one;
	int sv[2];

	rpc_server_options_default(&o);
	o.socket_path = h_path("out.sock");
	o.soft_limit = 8 * 1024;
	o.hard_limit = 48 * 1024;
	o.output_budget = 64 * 1024;
	fixture_start_with(&f, &o);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	b = rpc_client_new(f.server, sv[0]);
	CHECK(b != NULL);
	/* Nobody reads and the loop does not run: everything stays queued. */
	/* One line queued to both counts once in the daemon's total. */
	rpc_client_send_shared(f.client, l);
	one = outq_shared_total();
	rpc_client_send_shared(b, l);
	CHECK(one > 2000 && outq_shared_total() == one);
	CHECK(f.server->out_total + one < 2 * one);
	send_lines(f.client, 20);		/* ~40 KiB */
	send_lines(b, 9);			/* ~20 KiB */
	CHECK(!f.client->closing && !b->closing);
	CHECK(!rpc_client_has_room(f.client) && !rpc_client_has_room(b));
	CHECK(f.server->out_total + outq_shared_total() ==
	      rpc_client_queued_cost(f.client) + rpc_client_queued_cost(b) - one);
	/* Over the global budget: the biggest goes, its memory at once. */
	send_lines(b, 5);
	CHECK(f.client->closing && !b->closing);
	CHECK(f.server->out_total + outq_shared_total() == rpc_client_queued_cost(b));
	/* Over its own limit: cut. */
	send_lines(b, 10);
	CHECK(b->closing && f.server->out_total == 0 && outq_shared_total() == 0);
	event_base_loop(f.base, EVLOOP_NONBLOCK);
	CHECK(f.server->nclients == 0);
	CHECK(l->refs == 1);
	shared_line_unref(l);
	close(sv[1]);
	fixture_stop(&f);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "all";
	bool all = strcmp(which, "all") == 0;

	if (all || strcmp(which, "queue") == 0)
		test_queue();
	if (all || strcmp(which, "fds") == 0)
		test_fds();
	if (all || strcmp(which, "cut") == 0)
		test_cut();
	if (all || strcmp(which, "limits") == 0)
		test_limits();
	printf("client_out %s: ok\n", which);
	return 0;
}
