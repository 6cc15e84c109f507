/*
 * omvd-load: each row of the daemon's resource limits, measured against
 * camsim + omvd and judged against its bound; a soak mode of mixed churn.
 *
 *   omvd-load                  every row, short durations
 *   omvd-load --full           the durations (30 s floods, ...)
 *   omvd-load --row NAME ...   some rows
 *   omvd-load --soak MINUTES   mixed churn with cam link faults
 *
 * Exit status: 0 when every figure is within its bound, 1 when one is not,
 * 77 when every row asked for was skipped (camsim lacks what it needs).
 */
#include "load.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct load_opts load_opt;
static unsigned figures, broken, skipped, rows_run;

void figure(const char *row, const char *what, double value, const char *unit, double bound,
	    bool le)
{
	bool ok = le ? value <= bound : value >= bound;

	figures++;
	broken += !ok;
	printf("%-14s %-58s %12.2f %-4s %s %10.2f  %s\n", row, what, value, unit,
	       le ? "<=" : ">=", bound, ok ? "ok" : "BROKEN");
	fflush(stdout);
}

void note(const char *row, const char *what, double value, const char *unit)
{
	printf("%-14s %-58s %12.2f %s\n", row, what, value, unit);
	fflush(stdout);
}

void skip(const char *row, const char *why)
{
	skipped++;
	printf("%-14s SKIPPED: %s\n", row, why);
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: omvd-load [--full] [--row NAME]... [--soak MINUTES] [--list]\n"
		   "Runs omvd (OMVD) against camsim (OMV_CAMSIM) under each attack on its\n"
		   "resources and prints the measured figure next to its bound.\n");
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "full", no_argument, NULL, 'f' },
		{ "row", required_argument, NULL, 'r' },
		{ "soak", required_argument, NULL, 's' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *wanted[64];
	unsigned nwanted = 0;
	int c;

	while ((c = getopt_long(argc, argv, "fr:s:lh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': load_opt.full = true; break;
		case 'r':
			if (nwanted < 64)
				wanted[nwanted++] = optarg;
			break;
		case 's': load_opt.soak_min = (unsigned)atoi(optarg); break;
		case 'l':
			for (const struct row *r = load_rows; r->name; r++)
				printf("%-14s %s\n", r->name, r->what);
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	raise_fd_limit();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (load_opt.soak_min > 0) {
		soak_run(load_opt.soak_min);
	} else {
		for (const struct row *r = load_rows; r->name; r++) {
			bool run = nwanted == 0;
			for (unsigned i = 0; i < nwanted; i++)
				run |= strcmp(wanted[i], r->name) == 0;
			if (!run)
				continue;
			printf("# %s: %s\n", r->name, r->what);
			rows_run++;
			r->run(r->name);
		}
		if (rows_run == 0) {
			fprintf(stderr, "omvd-load: no such row (see --list)\n");
			return 2;
		}
	}
	printf("%u figures, %u within bounds, %u broken, %u rows skipped\n", figures,
	       figures - broken, broken, skipped);
	if (broken > 0)
		return 1;
	return skipped > 0 && skipped == rows_run ? 77 : 0;
}
