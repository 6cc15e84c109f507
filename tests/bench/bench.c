/*
 * omvd-bench: options and the order of a run. Each run measures every
 * selected link profile x frame kind (link limit, direct, omvd), then the
 * round trips, then the lossy profile, then omvd's memory; figures are
 * medians over --runs.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

const struct link_profile bench_profiles[N_PROFILES] = {
	{ "pty", 0, 0 },
	{ "usb-hs", 40000000, 125 },
	{ "usb-fs", 1000000, 1000 },
};

const struct frame_kind bench_kinds[N_KINDS] = {
	{ "qvga-jpeg", 320, 240, false, 0 },
	{ "vga-jpeg", 640, 480, false, 0 },
	{ "qvga-rgb565", 320, 240, true, 0 },
};

const unsigned bench_fan_clients[N_FAN] = { 8, 64 };

static struct bench_opts opts;

void bench_log(const struct bench_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->verbose)
		return;
	fputs("omvd-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static unsigned failures;

void bench_fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	fputs("omvd-bench: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fputs(
"Usage: omvd-bench [OPTION]...\n"
"Benchmark omvd against the protocol core used directly and the link limit,\n"
"on camsim links shaped like a pty, USB high speed and USB full speed.\n"
"\n"
"  --quick              short windows, 1 run, few calls, 5 s churn\n"
"  --runs N             runs; every figure is the median (default 3, max 15)\n"
"  --window SECONDS     length of one frame-rate measurement (default 2)\n"
"  --calls N            round trips per latency figure (default 500)\n"
"  --churn-seconds S    client churn before the last memory figure (default 20)\n"
"  --profiles LIST      pty,usb-hs,usb-fs,lossy (default all)\n"
"  --lossy-seconds S    window per fault level of the lossy profile (default 10,\n"
"                       quick 4)\n"
"  --sizes LIST         qvga-jpeg,vga-jpeg,qvga-rgb565 (default all)\n"
"  --no-omvd            only the baselines (no daemon needed)\n"
"  --json FILE          also write the figures as JSON\n"
"  --camsim PATH        omv-camsim binary (default: $OMV_CAMSIM, or the build's)\n"
"  --omvd PATH          omvd binary (default: $OMVD, or the build's)\n"
"  -v, --verbose        progress on stderr, children's stderr shown\n"
"  -h, --help           this text\n", f);
}

static _Noreturn void bad(const char *fmt, const char *arg)
{
	fputs("omvd-bench: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

static double number(const char *opt, const char *arg, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= min && v <= max))
		bad("bad value for --%s", opt);
	return v;
}

/* A comma-separated list of names into on[]. */
static void pick(const char *opt, const char *arg, const char *const names[], int n, bool *on)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	if (!copy)
		exit(1);
	memset(on, 0, (size_t)n * sizeof *on);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;
		for (i = 0; i < n && strcmp(tok, names[i]); i++)
			;
		if (i == n)
			bad("unknown name in --%s", opt);
		on[i] = true;
	}
	free(copy);
}

enum { O_QUICK = 256, O_RUNS, O_WINDOW, O_CALLS, O_CHURN, O_PROFILES, O_SIZES, O_NO_OMVD,
       O_JSON, O_CAMSIM, O_OMVD, O_LOSSY_SECONDS };

#define LOSSY_NAME "lossy"	/* in --profiles: not a link of its own */

static void parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, O_QUICK },
		{ "runs", required_argument, NULL, O_RUNS },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "calls", required_argument, NULL, O_CALLS },
		{ "churn-seconds", required_argument, NULL, O_CHURN },
		{ "profiles", required_argument, NULL, O_PROFILES },
		{ "lossy-seconds", required_argument, NULL, O_LOSSY_SECONDS },
		{ "sizes", required_argument, NULL, O_SIZES },
		{ "no-omvd", no_argument, NULL, O_NO_OMVD },
		{ "json", required_argument, NULL, O_JSON },
		{ "camsim", required_argument, NULL, O_CAMSIM },
		{ "omvd", required_argument, NULL, O_OMVD },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pnames[N_PROFILES + 1], *knames[N_KINDS];
	bool pon[N_PROFILES + 1];
	double runs = NAN, window = NAN, calls = NAN, churn = NAN, lossy = NAN;
	bool quick = false;
	int c;

	for (int i = 0; i < N_PROFILES; i++)
		pnames[i] = bench_profiles[i].name, o->profile_on[i] = true;
	pnames[N_PROFILES] = LOSSY_NAME;
	o->lossy_on = true;
	for (int i = 0; i < N_KINDS; i++)
		knames[i] = bench_kinds[i].name, o->kind_on[i] = true;
	o->camsim = getenv("OMV_CAMSIM");
	o->omvd = getenv("OMVD");
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case O_QUICK: quick = true; break;
		case O_RUNS: runs = number("runs", optarg, 1, BENCH_MAX_RUNS); break;
		case O_WINDOW: window = number("window", optarg, 0.1, 600); break;
		case O_CALLS: calls = number("calls", optarg, 10, 1000000); break;
		case O_CHURN: churn = number("churn-seconds", optarg, 0, 86400); break;
		case O_PROFILES:
			pick("profiles", optarg, pnames, N_PROFILES + 1, pon);
			memcpy(o->profile_on, pon, sizeof o->profile_on);
			o->lossy_on = pon[N_PROFILES];
			break;
		case O_LOSSY_SECONDS: lossy = number("lossy-seconds", optarg, 0.5, 3600); break;
		case O_SIZES: pick("sizes", optarg, knames, N_KINDS, o->kind_on); break;
		case O_NO_OMVD: o->no_omvd = true; break;
		case O_JSON: o->json_path = optarg; break;
		case O_CAMSIM: o->camsim = optarg; break;
		case O_OMVD: o->omvd = optarg; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'", argv[optind]);
	o->runs = (unsigned)(isnan(runs) ? (quick ? 1 : 3) : runs);
	o->window_s = isnan(window) ? (quick ? 1.0 : 2.0) : window;
	o->calls = (unsigned)(isnan(calls) ? (quick ? 100 : 500) : calls);
	o->churn_s = isnan(churn) ? (quick ? 5.0 : 20.0) : churn;
	o->lossy_s = isnan(lossy) ? (quick ? 4.0 : 10.0) : lossy;
#ifdef BENCH_CAMSIM
	if (!o->camsim)
		o->camsim = BENCH_CAMSIM;
#endif
#ifdef BENCH_OMVD
	if (!o->omvd)
		o->omvd = BENCH_OMVD;
#endif
	if (!o->camsim || access(o->camsim, X_OK) < 0)
		bad("no camsim binary at '%s' (--camsim)", o->camsim ? o->camsim : "");
	if (!o->no_omvd && (!o->omvd || access(o->omvd, X_OK) < 0))
		bad("no omvd binary at '%s' (--omvd, or --no-omvd)", o->omvd ? o->omvd : "");
}

static void describe_machine(struct bench_results *r)
{
	char model[128] = "?", line[256];
	struct utsname u;
	double load[3] = { 0, 0, 0 };
	struct timespec coarse = { 0, 0 };
	time_t t = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "model name : %127[^\n]", model) == 1)
			break;
	if (f)
		fclose(f);
	uname(&u);
	getloadavg(load, 3);
	/* libevent's default timer clock: its tick bounds timer precision */
	clock_getres(CLOCK_MONOTONIC_COARSE, &coarse);
	snprintf(r->machine, sizeof r->machine,
		 "%s, %ld CPUs, Linux %s %s, coarse clock %.1f ms, load %.2f at start", model,
		 sysconf(_SC_NPROCESSORS_ONLN), u.release, u.machine,
		 (double)coarse.tv_nsec / 1e6 + (double)coarse.tv_sec * 1e3, load[0]);
	strftime(r->started, sizeof r->started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void remove_dir(void)
{
	if (opts.dir)
		nftw(opts.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The limit of one combo from this run's frame size. */
static void measure_limit(const struct bench_opts *o, int p, struct combo_figs *c)
{
	const struct link_profile *lp = &bench_profiles[p];
	double bytes, rate;

	if (!fig_has(&c->frame_bytes))
		return;
	bytes = c->frame_bytes.v[c->frame_bytes.n - 1];
	if (lp->rate) {
		fig_add(&c->limit_fps, 1.0 / link_limit_s(lp, bytes));
		return;
	}
	rate = pty_copy_rate((size_t)bytes, o->window_s / 2);
	if (rate > 0) {
		fig_add(&c->pty_copy_mbps, rate / 1e6);
		fig_add(&c->limit_fps, rate / bytes);
	}
}

static void one_run(const struct bench_opts *o, struct bench_results *r, unsigned run)
{
	bench_crc(&r->crc, o->window_s / 2);
	for (int p = 0; p < N_PROFILES; p++) {
		if (!o->profile_on[p])
			continue;
		for (int k = 0; k < N_KINDS; k++) {
			struct combo_figs *c = &r->combo[p][k];
			if (!o->kind_on[k])
				continue;
			fprintf(stderr, "omvd-bench: run %u/%u: %s %s\n", run + 1, o->runs,
				bench_profiles[p].name, bench_kinds[k].name);
			bench_direct(o, &bench_profiles[p], &bench_kinds[k], c);
			measure_limit(o, p, c);
			if (!o->no_omvd)
				bench_omvd_streams(o, &bench_profiles[p], &bench_kinds[k], c);
		}
		fprintf(stderr, "omvd-bench: run %u/%u: %s round trips\n", run + 1, o->runs,
			bench_profiles[p].name);
		bench_direct_rtt(o, &bench_profiles[p], &r->rtt[p]);
		if (!o->no_omvd)
			bench_omvd_rtt(o, &bench_profiles[p], &r->rtt[p]);
	}
	if (!o->no_omvd && o->lossy_on)
		bench_lossy(o, run, r->lossy);
	if (!o->no_omvd) {
		fprintf(stderr, "omvd-bench: run %u/%u: memory and churn\n", run + 1, o->runs);
		bench_omvd_memory(o, &r->mem);
		fprintf(stderr, "omvd-bench: run %u/%u: shared memory against base64\n", run + 1,
			o->runs);
		bench_shm(o, &r->shm);
	}
	r->runs_done = run + 1;
}

int main(int argc, char **argv)
{
	static struct bench_results results;
	char tmpl[] = "/tmp/omvd-bench-XXXXXX";
	int rc = 0;

	parse(argc, argv, &opts);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmpl)) {
		perror("omvd-bench: mkdtemp");
		return 1;
	}
	opts.dir = tmpl;
	atexit(remove_dir);
	describe_machine(&results);
	for (unsigned run = 0; run < opts.runs; run++)
		one_run(&opts, &results, run);
	report_table(&opts, &results);
	if (opts.json_path && report_json(&opts, &results, opts.json_path) < 0)
		rc = 1;
	if (failures) {
		fprintf(stderr, "omvd-bench: %u measurement(s) failed\n", failures);
		rc = 1;
	}
	return rc;
}
