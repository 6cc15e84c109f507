/*
 * omvd-load: reproduces, against camsim + omvd, each way a client or a
 * broken cam can try to stall, bloat or starve the daemon, and prints the
 * measured figure next to its bound (see docs/rpc.md, "Limits").
 */
#ifndef OMVD_LOAD_H
#define OMVD_LOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

struct load_opts {
	bool full;		/* the durations, not the short ones */
	unsigned soak_min;	/* soak mode: minutes of churn */

};
extern struct load_opts load_opt;

/* ---- results ---- */


/* One figure of a row, printed and judged at once. le: figure <= bound. */
void figure(const char *row, const char *what, double value, const char *unit, double bound,
	    bool le);
/* A figure printed without a bound (context). */
void note(const char *row, const char *what, double value, const char *unit);
void skip(const char *row, const char *why);

/* ---- the daemon under test ---- */

struct daemon_run {
	struct h_proc cam, omvd;
	int notify_fd;			/* watchdog pings arrive here */
	pthread_t notify_thread;
	const char *log_path;		/* omvd's stderr */
};
/* camsim (with cam_args) and omvd (with omvd_args, started under a fake
 * systemd watchdog of watchdog_ms), connected to each other. */
void daemon_start(struct daemon_run *d, const char *const *cam_args,
		  const char *const *omvd_args, unsigned watchdog_ms);
void daemon_stop(struct daemon_run *d);
/* Largest gap between watchdog pings seen within [from, to] (ms). */
double watchdog_max_gap(uint64_t from_ms, uint64_t to_ms);
/* Lines omvd has written to its log so far. */
size_t log_lines(const struct daemon_run *d);

/* /proc figures of a process (kB, count). */
long proc_rss_kb(pid_t pid);
long proc_hwm_kb(pid_t pid);
void proc_reset_hwm(pid_t pid);
long proc_fds(pid_t pid);

/* ---- clients ---- */

/* A raw, connected, non-blocking socket to omvd; -1 on failure. */
int raw_connect(void);
/* Writes all of buf, waiting up to timeout_ms; bytes written. */
size_t raw_write(int fd, const void *buf, size_t len, unsigned timeout_ms);
/* Reads and throws away what is there; -1 when the peer closed. */
ssize_t raw_discard(int fd);
/* One call on a raw socket: the reply line (malloc'd) within timeout_ms,
 * NULL on timeout or hang-up. Notifications are skipped. */
char *raw_call(int fd, const char *request, unsigned timeout_ms);

/* A polite client: one `is_connected` at a time, paced, its latencies
 * recorded until stopped. */
struct polite {
	pthread_t thread;
	pthread_mutex_t lock;	/* lat_ms and n, read while it runs */
	volatile bool stop;
	double *lat_ms;
	size_t n, cap;
	size_t unanswered;
};
void polite_start(struct polite *p);
void polite_stop(struct polite *p);
/* Percentile (0..100) of the latencies, ms. */
double polite_pct(const struct polite *p, double pct);
/* Latencies so far. */
size_t polite_count(struct polite *p);
/* Longest of the latencies [from, to). */
double polite_max(struct polite *p, size_t from, size_t to);

void sleep_ms(unsigned ms);

/* ---- rows ---- */

struct row {
	const char *name;
	const char *what;
	void (*run)(const char *name);
	bool in_short;		/* part of `meson test --suite load` */
};
extern const struct row load_rows[];

void soak_run(unsigned minutes);

#endif
