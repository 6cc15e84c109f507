/*
 * A scripted stand-in for omvd in the library's unit tests: a Unix socket
 * in a temporary directory whose other end the test drives itself, either
 * inline (for the async API) or from a thread (for blocking calls).
 */
#ifndef FAKE_SERVER_H
#define FAKE_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#define TCHECK(cond) \
	((cond) ? (void)0 : t_fail(__FILE__, __LINE__, "%s", #cond))
#define TCHECKF(cond, ...) \
	((cond) ? (void)0 : t_fail(__FILE__, __LINE__, __VA_ARGS__))
void t_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

/* A named test case; t_main runs the one named by argv[1], or all. */
struct t_case {
	const char *name;
	void (*run)(void);
};
int t_main(const struct t_case *cases, size_t n, int argc, char **argv);

struct fake {
	char dir[64];
	char path[100];
	int listen_fd;
	int fd;			/* the accepted connection, -1 before */
	pthread_t thread;
	bool threaded;
	void (*script)(struct fake *f);
	void *arg;
	char *in;		/* bytes read from the client, not yet a full line */
	size_t in_len;
};

/* Listen on a fresh socket path. */
void fake_init(struct fake *f);
/* Accept the (already connecting) client, in the calling thread. */
void fake_accept(struct fake *f);
/* Accept and run script(f) in a thread. */
void fake_run(struct fake *f, void (*script)(struct fake *f), void *arg);
/* Join the thread (if any), close everything, remove the socket. */
void fake_done(struct fake *f);

/* Send raw bytes / a line (newline added). */
void fake_send(struct fake *f, const char *bytes, size_t len);
void fake_sendf(struct fake *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Next request line as JSON (fails the test after 5 s or on EOF). */
json_t *fake_recv(struct fake *f);
/* Receive a request, check its method, return its id. */
long long fake_expect(struct fake *f, const char *method, json_t **params);
/* True when the client closed its end (within 5 s). */
bool fake_wait_eof(struct fake *f);

#endif
