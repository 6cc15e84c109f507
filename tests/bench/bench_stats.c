/*
 * Medians over runs, percentiles over samples, and the clock.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double percentile(double *v, size_t n, double p)
{
	double rank, frac;
	size_t lo;

	if (n == 0)
		return NAN;
	qsort(v, n, sizeof *v, cmp_double);
	/* linear interpolation between closest ranks */
	rank = p / 100.0 * (double)(n - 1);
	lo = (size_t)rank;
	if (lo + 1 >= n)
		return v[n - 1];
	frac = rank - (double)lo;
	return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

void fig_add(struct fig *f, double v)
{
	if (isnan(v) || f->n >= BENCH_MAX_RUNS)
		return;
	f->v[f->n++] = v;
}

bool fig_has(const struct fig *f)
{
	return f->n > 0;
}

double fig_median(const struct fig *f)
{
	double tmp[BENCH_MAX_RUNS];

	memcpy(tmp, f->v, f->n * sizeof tmp[0]);
	return percentile(tmp, f->n, 50.0);
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0)
		;
}
