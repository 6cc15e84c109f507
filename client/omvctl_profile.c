/*
 * omvctl profile: the profiler's records as a table (function names from
 * the firmware's ELF file with --firmware), and its settings: mode, reset,
 * event.
 */
#include "omvctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omvctl_symbols.h"

/* How often a busy cam is asked again (it refuses a LOCK within about
 * 10 ms of the previous one). */
#define BUSY_RETRY_MS 20

/* read_profile, asked again while the cam says BUSY, up to the timeout. */
static int read_profile(struct ctl *ctl, json_t **recs)
{
	uint64_t deadline = ctl->timeout_ms > 0 ? ctl_now_ms() + (uint64_t)ctl->timeout_ms : 0;
	int rc;

	while ((rc = omv_client_read_profile(ctl->c, recs)) == OMV_RPC_BUSY) {
		if (ctl_interrupted)
			return EXIT_INTERRUPTED;
		if (deadline && ctl_now_ms() + BUSY_RETRY_MS >= deadline)
			break;
		nanosleep(&(struct timespec){ 0, BUSY_RETRY_MS * 1000000L }, NULL);
	}
	return rc < 0 ? ctl_fail(ctl) : EXIT_OK;
}

static uint64_t u64(const json_t *r, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(r, key));
}

/* An address as a function name (with --firmware), else in hex. */
static void address_text(struct symbols *syms, uint64_t addr, char *buf, size_t size)
{
	if (!syms || !symbols_name(syms, addr, buf, size))
		snprintf(buf, size, "0x%08" PRIx64, addr);
}

static void events_text(const json_t *events, char *buf, size_t size)
{
	size_t i, n = 0;
	json_t *v;

	snprintf(buf, size, "-");
	json_array_foreach(events, i, v)
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%" JSON_INTEGER_FORMAT,
				      i ? "," : "", json_integer_value(v));
}

static void print_table(json_t *recs, struct symbols *syms)
{
	int wf = 10, wc = 10;
	size_t i;
	json_t *r;

	json_array_foreach(recs, i, r) {
		char name[256];
		int len;

		address_text(syms, u64(r, "address"), name, sizeof name);
		if ((len = (int)strlen(name)) > wf)
			wf = len;
		address_text(syms, u64(r, "caller"), name, sizeof name);
		if ((len = (int)strlen(name)) > wc)
			wc = len;
	}
	printf("%-*s  %-*s %10s %10s %10s %12s %12s  %s\n", wf, "function", wc, "caller",
	       "calls", "min", "max", "total", "cycles", "events");
	json_array_foreach(recs, i, r) {
		char fn[256], caller[256], events[256];

		address_text(syms, u64(r, "address"), fn, sizeof fn);
		address_text(syms, u64(r, "caller"), caller, sizeof caller);
		events_text(json_object_get(r, "events"), events, sizeof events);
		printf("%-*s  %-*s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %12" PRIu64
		       " %12" PRIu64 "  %s\n", wf, fn, wc, caller, u64(r, "call_count"),
		       u64(r, "min_ticks"), u64(r, "max_ticks"), u64(r, "total_ticks"),
		       u64(r, "total_cycles"), events);
	}
}

/* With --json and --firmware, each record gets function and caller_function. */
static void name_records(json_t *recs, struct symbols *syms)
{
	size_t i;
	json_t *r;

	json_array_foreach(recs, i, r) {
		char name[256];

		if (symbols_name(syms, u64(r, "address"), name, sizeof name))
			json_object_set_new(r, "function", json_string(name));
		if (symbols_name(syms, u64(r, "caller"), name, sizeof name))
			json_object_set_new(r, "caller_function", json_string(name));
	}
}

static int show(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "firmware", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct symbols *syms = NULL;
	const char *elf = NULL;
	json_t *recs;
	char err[512];
	int opt, rc;

	while ((opt = ctl_getopt(ctl, argc, argv, NULL, opts)) != -1) {
		if (opt != 'e')
			return EXIT_USAGE;
		elf = optarg;
	}
	if (optind < argc)
		return ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	if (elf && !(syms = symbols_open(elf, err, sizeof err)))
		return ctl_error("cannot read the firmware's symbols: %s", err);
	if ((rc = ctl_connect(ctl)) || (rc = read_profile(ctl, &recs))) {
		symbols_close(syms);
		return rc;
	}
	if (json_is_null(recs)) {
		if (ctl->json)
			ctl_print_json(json_null());
		else
			printf("no profile data (the firmware has no profiler, or nothing ran)\n");
	} else if (ctl->json) {
		if (syms)
			name_records(recs, syms);
		ctl_print_json(json_incref(recs));
	} else {
		print_table(recs, syms);
	}
	json_decref(recs);
	symbols_close(syms);
	return EXIT_OK;
}

/* The settings act on the cam's profiler: say so when there is none
 * (omvd ignores them then). */
static int require_profiler(struct ctl *ctl)
{
	bool has;
	int rc = ctl_connect(ctl);

	if (rc)
		return rc;
	if (omv_client_has_channel(ctl->c, "profile", &has) < 0)
		return ctl_fail(ctl);
	return has ? EXIT_OK : ctl_error("the cam has no profiler (firmware built without it)");
}

static long parse_number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 0);

	return *s && !*end && v >= 0 && v <= 0xFFFFFFFFL ? v : -1;
}

static int setting(struct ctl *ctl, int argc, char **argv)
{
	const char *what = argv[0];
	long counter = 0, event = 0;
	bool exclusive = false;
	int rc;

	if (ctl_getopt(ctl, argc, argv, NULL, NULL) != -1)
		return EXIT_USAGE;
	argc -= optind;
	argv += optind;
	if (strcmp(what, "mode") == 0) {
		if (argc != 1 || (strcmp(argv[0], "exclusive") && strcmp(argv[0], "inclusive")))
			return ctl_usage_error(ctl, "mode takes exclusive or inclusive");
		exclusive = strcmp(argv[0], "exclusive") == 0;
	} else if (strcmp(what, "event") == 0) {
		if (argc != 2 || (counter = parse_number(argv[0])) < 0 ||
		    (event = parse_number(argv[1])) < 0)
			return ctl_usage_error(ctl, "event takes COUNTER and EVENT_ID (numbers)");
	} else if (argc != 0) {
		return ctl_usage_error(ctl, "unexpected argument '%s'", argv[0]);
	}
	if ((rc = require_profiler(ctl)))
		return rc;
	if (strcmp(what, "mode") == 0)
		rc = omv_client_profiler_mode(ctl->c, exclusive);
	else if (strcmp(what, "event") == 0)
		rc = omv_client_profiler_event(ctl->c, (int)counter, (int)event);
	else
		rc = omv_client_profiler_reset(ctl->c);
	if (rc < 0)
		return ctl_fail(ctl);
	if (ctl->json)
		ctl_print_json(json_null());
	return EXIT_OK;
}

int cmd_profile(struct ctl *ctl, int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "mode") == 0 || strcmp(argv[1], "reset") == 0 ||
			  strcmp(argv[1], "event") == 0))
		return setting(ctl, argc - 1, argv + 1);
	return show(ctl, argc, argv);
}
