/*
 * Test harness shared by the integration tests: start camsim and omvd on
 * temporary paths, talk JSON-RPC to the daemon, wait for things with
 * deadlines (never sleeps as synchronisation), and clean up.
 *
 * Paths to the programs under test come from the environment, set by
 * meson: OMV_CAMSIM (camsim binary), OMVD (daemon), OMVCTL (CLI).
 */
#ifndef OMV_HARNESS_H
#define OMV_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* Abort the test with a message (file:line) when cond is false. */
#define CHECK(cond) \
	((cond) ? (void)0 : h_fail(__FILE__, __LINE__, "%s", #cond))
#define CHECKF(cond, ...) \
	((cond) ? (void)0 : h_fail(__FILE__, __LINE__, __VA_ARGS__))
void h_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

uint64_t h_now_ms(void);

/* A fresh temporary directory, removed (with what is in it) at exit. */
const char *h_tmpdir(void);
/* h_tmpdir()/name, in a static rotating buffer. */
const char *h_path(const char *name);

struct h_proc {
	pid_t pid;
	int out_fd;		/* the child's stdout, or -1 */
};

/* Start argv[0] with argv; stdout is a pipe when capture is set. Children
 * are killed at exit if still running. */
struct h_proc h_spawn(char *const argv[], bool capture);
/* SIGTERM (or sig), then wait up to timeout_ms; returns the exit status
 * as from waitpid, or -1 on timeout (then SIGKILLed). */
int h_stop(struct h_proc *p, int sig, unsigned timeout_ms);
/* Read one line of the child's stdout within timeout_ms; NULL on timeout. */
char *h_read_line(struct h_proc *p, unsigned timeout_ms);

/*
 * camsim on a pty with its link at h_path("cam"); extra args appended
 * (NULL-terminated list). Waits for the slave path line.
 */
struct h_proc h_start_camsim(const char *const *extra);
/* omvd on that link and socket h_path("omvd.sock"); waits (deadline) until
 * the socket accepts and, if wait_ready, until is_connected is true. */
struct h_proc h_start_omvd(const char *const *extra, bool wait_ready);

/* A blocking JSON-RPC client connection (newline-delimited). */
struct h_conn;
struct h_conn *h_connect(const char *socket_path);	/* NULL on failure */
void h_close(struct h_conn *c);
int h_conn_fd(const struct h_conn *c);
/* Send a raw line (adds \n). */
void h_send_line(struct h_conn *c, const char *line);
/* Next JSON text from the server within timeout_ms, NULL on timeout/EOF. */
json_t *h_recv(struct h_conn *c, unsigned timeout_ms);
/* Call method with params (stolen, may be NULL); skips notifications that
 * arrive meanwhile (kept for h_next_notification). Returns the whole
 * response object (with "result" or "error"); fails the test on timeout. */
json_t *h_call(struct h_conn *c, const char *method, json_t *params);
/* The result of a call that must succeed (fails the test on error). */
json_t *h_result(struct h_conn *c, const char *method, json_t *params);
/* The error code of a call that must fail. */
int h_error_code(struct h_conn *c, const char *method, json_t *params);
/* Next notification with this method name within timeout_ms, or NULL. */
json_t *h_next_notification(struct h_conn *c, const char *method, unsigned timeout_ms);
/* Next notification of any method, in arrival order (those kept while
 * waiting for replies first), within timeout_ms, or NULL. */
json_t *h_next_any(struct h_conn *c, unsigned timeout_ms);

/* Poll cond(arg) every few ms until true or timeout; returns its last value. */
bool h_wait_until(bool (*cond)(void *arg), void *arg, unsigned timeout_ms);

/* base64 (common/base64.h): encoding fails the test when out of memory;
 * decoding is NULL when s is not canonical base64. */
char *h_b64_encode(const void *data, size_t len);
void *h_b64_decode(const char *s, size_t *len);

#endif
