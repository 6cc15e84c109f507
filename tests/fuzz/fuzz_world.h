/*
 * The daemon in one process for the harnesses: an event loop, the
 * JSON-RPC server on a socket in a private temporary directory, and
 * optionally the camera linked to the fake cam of the core tests
 * (tests/core/fakecam.c) through a socketpair (fuzz_port.c). Clients are socketpairs handed to the
 * server, so each input gets a fresh connection without accept().
 * Everything is set up once per process and reused by every input.
 */
#ifndef FUZZ_WORLD_H
#define FUZZ_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct rpc_server;
struct camera;
struct fakecam;

struct fuzz_world {
	struct event_base *base;
	struct rpc_server *server;
	struct camera *cam;		/* NULL in a world without a cam */
	struct fakecam *fc;
};

/* The one world of this process, built on first use: the server takes
 * request lines up to max_request bytes. */
struct fuzz_world *fuzz_world_get(bool with_cam, size_t max_request);

/* Runs the loop until cond(arg) holds; aborts naming what after ms. */
void fuzz_run_until(struct fuzz_world *w, bool (*cond)(void *), void *arg, unsigned ms,
		    const char *what);

/* With a cam: wait for the link to be ready (it comes back at once after
 * a reset or boot), leave a frame waiting on the cam and, with print, a
 * line of stdout. */
void fuzz_world_ready(struct fuzz_world *w, bool print);

/* Our end of a client's socket (non-blocking) and what was read from it. */
struct fuzz_conn {
	int fd;
	char *buf;
	size_t len, cap;
};

/* A new client of the server. */
struct fuzz_conn *fuzz_connect(struct fuzz_world *w);

/* One client's part in fuzz_talk(). */
struct fuzz_talk {
	const uint8_t *in;	/* what it sends, then it shuts down its writing side */
	size_t in_len;
	char *out;		/* everything it got until the daemon closed
				 * (malloc'd, NUL-terminated) */
	size_t out_len;
};

/* Connects n clients that then talk at once; returns when the daemon has
 * closed every connection, and aborts when that takes more than ms. */
void fuzz_talk(struct fuzz_world *w, struct fuzz_talk *t, size_t n, unsigned ms);

/* Reads one line (without its newline; malloc'd) within ms. */
char *fuzz_read_line(struct fuzz_world *w, struct fuzz_conn *c, size_t *len, unsigned ms);

#endif
