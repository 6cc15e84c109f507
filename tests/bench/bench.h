/*
 * omvd-bench: shared types. A run measures, for every link profile and
 * frame size, the link limit, the protocol core driven in-process
 * ("direct"), and omvd with 1, 8 and 64 clients; then small-call round
 * trips, omvd's memory and CPU, camsim's own capacity and CRC speed.
 * Every figure is collected once per run and reported as the median.
 */
#ifndef OMV_BENCH_H
#define OMV_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_MAX_RUNS 15

/* One figure: a value per run; reported as the median. */
struct fig {
	double v[BENCH_MAX_RUNS];
	unsigned n;
};
void fig_add(struct fig *f, double v);
/* Median of the runs, or NAN when there is none. */
double fig_median(const struct fig *f);
bool fig_has(const struct fig *f);

/* Percentile p (0..100) of v[0..n-1] (sorted in place), NAN if n == 0. */
double percentile(double *v, size_t n, double p);
/* Monotonic clock in seconds. */
double now_s(void);
/* Sleep for s seconds (pacing only, never synchronisation). */
void sleep_s(double s);

struct link_profile {
	const char *name;
	unsigned rate;		/* bytes per second, 0 = unlimited pty */
	unsigned latency_us;
};

struct frame_kind {
	const char *name;
	unsigned w, h;
	bool raw;		/* RGB565 instead of JPEG */
	unsigned fps;		/* camsim's frame rate; 0: as fast as taken */
};

#define N_PROFILES 3
#define N_KINDS 3
extern const struct link_profile bench_profiles[N_PROFILES];
extern const struct frame_kind bench_kinds[N_KINDS];

struct bench_opts {
	unsigned runs;
	double window_s;	/* length of one frame-rate measurement */
	unsigned calls;		/* round trips per latency figure */
	double churn_s;
	bool profile_on[N_PROFILES];
	bool kind_on[N_KINDS];
	bool no_omvd;		/* skip the daemon parts */
	bool lossy_on;		/* the lossy profile */
	double lossy_s;		/* its window per fault level */
	const char *json_path;
	const char *camsim;	/* binaries */
	const char *omvd;
	const char *dir;	/* temporary directory for links and sockets */
	bool verbose;
};

/* Fan-out levels measured through omvd. */
#define N_FAN 2
extern const unsigned bench_fan_clients[N_FAN];	/* 8, 64 */

/* Figures of one profile x frame kind. */
struct combo_figs {
	struct fig frame_bytes;		/* cam frame (header + pixels) */
	struct fig limit_fps;		/* frame bytes alone over the link */
	struct fig pty_copy_mbps;	/* unlimited pty only */
	struct fig direct_fps[2];	/* [0] ACKs on, [1] ACKs off */
	struct fig camsim_cpu_fps;	/* frames per camsim CPU second */
	struct fig camsim_cpu_share;	/* camsim CPU seconds per wall second */
	struct fig omvd_fps[2];		/* 1 client: [0] passthrough, [1] rgb888 */
	struct fig omvd_mbps[2];	/* frame bytes delivered per second */
	struct fig fan_fps[N_FAN];	/* per client, median over clients */
	struct fig fan_min_fps[N_FAN];	/* slowest client */
	struct fig fan_cam_reads[N_FAN];	/* cam-side frame reads per second */
	struct fig fan_read_once[N_FAN];	/* 1 when cam reads == frames each client got */
	struct fig cpu_per_kframe[1 + N_FAN];	/* omvd CPU s per 1000 frames: 1, 8, 64 */
	struct fig rss_fan_kb[N_FAN];
	struct fig fan_bench_cpu_share[N_FAN];	/* the bench's own CPU s per s */
	/* frame work off the loop (bench_frames.c) */
	struct fig sub_none_fps;	/* 1 client subscribed without data */
	struct fig poll_rgb_fps;	/* 1 client polling read_frame rgb888 */
	struct fig fan8_rgb_fps, fan8_rgb_min_fps;	/* 8 rgb888 subscribers */
};

/* VGA RGB888 to subscribers: [0] base64 in the line, [1] shared memory. */
enum { VIA_BASE64, VIA_SHM, N_VIA };
struct shm_figs {
	struct fig fps1[N_VIA];		/* one subscriber */
	struct fig fps8[N_VIA], fps8_min[N_VIA];	/* 8: median, slowest */
	struct fig cpu_ms_per_frame[N_VIA];	/* omvd, with 8 subscribers */
	struct fig bytes_per_frame[N_VIA];	/* written to each of the 8 */
	struct fig cam_reads[N_VIA];	/* frames omvd read per second, 8 clients */
	struct fig decode_ms;		/* turbojpeg, one frame to RGB888, this process */
};

/* Small-call round trips, per profile (QVGA JPEG streaming). */
enum rtt_mode { RTT_DIRECT, RTT_OMVD_IDLE, RTT_OMVD_BUSY1, RTT_OMVD_BUSY8, N_RTT_MODES };
enum rtt_call { RTT_CHANNEL_SIZE, RTT_DEVICE_STATS, N_RTT_CALLS };
struct rtt_figs {
	struct fig p50_ms[N_RTT_MODES][N_RTT_CALLS];
	struct fig p99_ms[N_RTT_MODES][N_RTT_CALLS];
};

struct mem_figs {
	struct fig rss_idle_kb;
	struct fig rss_64_kb;
	struct fig rss_churn_kb;
	struct fig churn_sessions;	/* client sessions completed during churn */
	struct fig churn_frames;	/* frames they received */
};

/* The lossy profile: faults per packet, both ways, at each level. */
#define N_LOSSY 3
struct lossy_level {
	const char *name;
	double rate;		/* drop rate = corrupt rate */
	double min_ratio;	/* target: frames/s against the loss-free level */
	double min_calls_pct;	/* target: calls that succeed, % */
};
extern const struct lossy_level bench_lossy_levels[N_LOSSY];
struct lossy_figs {
	struct fig fps;		/* frames/s the checking subscriber got */
	struct fig ratio;	/* fps / the loss-free level's fps, same run */
	struct fig calls;	/* small calls made in the window */
	struct fig calls_ok_pct;	/* ... that succeeded, % */
	struct fig bad_frames;	/* corrupted or out of order: must be 0 */
	struct fig faults_per_s;	/* packets camsim dropped or corrupted */
};

struct crc_figs {
	struct fig table_mbps;
	struct fig bitwise_mbps;
};

struct bench_results {
	struct combo_figs combo[N_PROFILES][N_KINDS];
	struct rtt_figs rtt[N_PROFILES];
	struct mem_figs mem;
	struct lossy_figs lossy[N_LOSSY];
	struct shm_figs shm;
	struct crc_figs crc;
	char machine[256];
	char started[64];
	unsigned runs_done;
};

/* bench_link.c */
void bench_crc(struct crc_figs *out, double seconds);
/* Seconds the frame bytes alone need on the profile's link. */
double link_limit_s(const struct link_profile *p, double bytes);
/* Raw copy through a fresh pty pair: bytes per second (<= 0 on error). */
double pty_copy_rate(size_t bytes, double seconds);

/* bench_proc.c: processes and /proc */
struct child {
	pid_t pid;
	int out_fd;		/* stdout pipe, or -1 */
};
/* Start argv; stdout piped when capture, stderr dropped when quiet. */
int child_spawn(struct child *c, char *const argv[], bool capture, bool quiet);
void child_stop(struct child *c);
bool child_exited(struct child *c);	/* reaps it if so */
/* One line of the child's stdout within timeout_s into buf; -1 if none. */
int child_read_line(struct child *c, char *buf, size_t cap, double timeout_s);
long proc_rss_kb(pid_t pid);		/* VmRSS, -1 on error */
/* CPU seconds (user + system) of all threads: schedstat run time in ns,
 * else utime + stime from /proc/PID/stat; < 0 on error. */
double proc_cpu_s(pid_t pid);

struct camsim {
	struct child proc;
	char link[512];
	char control[512];
};
int camsim_start(struct camsim *cs, const struct bench_opts *o,
		 const struct link_profile *p, const struct frame_kind *k);
/* camsim with these options (NULL-terminated) besides --link, --control. */
int camsim_spawn(struct camsim *cs, const struct bench_opts *o, const char *const *extra);
void camsim_stop(struct camsim *cs);
struct cam_counters {
	double frames_produced, frames_read;
	double faults;		/* packets camsim dropped or corrupted, both ways */
};
int camsim_counters(struct camsim *cs, struct cam_counters *out);

/* bench_direct.c */
void bench_direct(const struct bench_opts *o, const struct link_profile *p,
		  const struct frame_kind *k, struct combo_figs *out);
void bench_direct_rtt(const struct bench_opts *o, const struct link_profile *p,
		      struct rtt_figs *out);

/* bench_omvd.c, bench_omvd_mem.c */
void bench_omvd_streams(const struct bench_opts *o, const struct link_profile *p,
			const struct frame_kind *k, struct combo_figs *out);
void bench_omvd_rtt(const struct bench_opts *o, const struct link_profile *p,
		    struct rtt_figs *out);
void bench_omvd_memory(const struct bench_opts *o, struct mem_figs *out);
/* bench_frames.c */
void bench_shm(const struct bench_opts *o, struct shm_figs *out);

/* bench_lossy.c */
void bench_lossy(const struct bench_opts *o, unsigned run, struct lossy_figs out[N_LOSSY]);

/* bench_report.c */
void report_table(const struct bench_opts *o, const struct bench_results *r);
int report_json(const struct bench_opts *o, const struct bench_results *r, const char *path);

void bench_log(const struct bench_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A measurement that could not be made: said on stderr, and the bench
 * exits non-zero at the end (the figures it did get are still reported). */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
