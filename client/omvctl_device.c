/*
 * omvctl's commands about the cam as a whole: wait (for the socket and the
 * link), stop, reset and boot (optionally waiting for the link to follow).
 */
#include "omvctl.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define DEFAULT_WAIT_MS 30000

/* Link states seen on the `link` topic. */
struct link_watch {
	bool ready;		/* the latest state is "ready" */
	bool went_down;		/* a state other than "ready" was seen */
	bool *done;		/* set by the watcher's goal */
	enum { UNTIL_READY, UNTIL_DOWN, UNTIL_BACK } goal;
};

static void on_link(omv_client *c, const char *method, json_t *params, void *arg)
{
	struct link_watch *w = arg;
	const char *state = json_string_value(json_object_get(params, "state"));

	if (strcmp(method, "link") != 0 || !state)
		return;
	w->ready = strcmp(state, "ready") == 0;
	if (!w->ready)
		w->went_down = true;
	if ((w->goal == UNTIL_READY && w->ready) || (w->goal == UNTIL_DOWN && w->went_down) ||
	    (w->goal == UNTIL_BACK && w->went_down && w->ready))
		*w->done = true;
}

/* Subscribe to `link` for w (before the action whose effect it watches). */
static int watch_link(struct ctl *ctl, struct link_watch *w)
{
	static const char *const topics[] = { "link", NULL };

	omv_client_on_notify(ctl->c, on_link, w);
	return ctl_subscribe(ctl, topics, NULL);
}

/* The wait options of reset and boot, and of wait itself. */
static int parse_wait(struct ctl *ctl, int argc, char **argv, bool allow_flag, bool *wait,
		      int *wait_ms)
{
	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*wait = !allow_flag;
	*wait_ms = DEFAULT_WAIT_MS;
	while ((opt = ctl_getopt(ctl, argc, argv, NULL, allow_flag ? opts : opts + 1)) != -1) {
		if (opt == 'w') {
			*wait = true;
		} else if (opt == 'T') {
			*wait_ms = ctl_parse_seconds(optarg);
			if (*wait_ms < 0)
				return ctl_usage_error(ctl, "invalid --timeout '%s'", optarg);
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	return EXIT_OK;
}

/* Connect, retrying while the socket does not exist (yet) or nobody
 * listens on it, until the deadline. */
static int connect_by(struct ctl *ctl, uint64_t deadline)
{
	omv_client_set_timeout(ctl->c, ctl->timeout_ms);
	for (;;) {
		int e;

		if (omv_client_connect(ctl->c, ctl->where) == 0)
			return EXIT_OK;
		e = omv_client_error_errno(ctl->c);
		if ((e != ENOENT && e != ECONNREFUSED) || ctl_now_ms() >= deadline)
			return ctl_fail(ctl);
		if (ctl_interrupted)
			return EXIT_INTERRUPTED;
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
	}
}

int cmd_wait(struct ctl *ctl, int argc, char **argv)
{
	bool done = false, unused;
	struct link_watch w = { .done = &done, .goal = UNTIL_READY };
	uint64_t deadline;
	int wait_ms, rc;

	if ((rc = parse_wait(ctl, argc, argv, false, &unused, &wait_ms)))
		return rc;
	deadline = ctl_now_ms() + (uint64_t)wait_ms;
	if ((rc = connect_by(ctl, deadline)) || (rc = watch_link(ctl, &w)))
		return rc;
	/* Subscribed first, then asked: a link that comes up in between is seen. */
	if (omv_client_is_connected(ctl->c, &done) < 0)
		return ctl_fail(ctl);
	switch (ctl_run_until(ctl, &done, deadline)) {
	case RUN_DONE:
		return EXIT_OK;
	case RUN_TIMEOUT:
		return ctl_error("cam not connected after %.1f s", wait_ms / 1000.0);
	case RUN_INTERRUPTED:
		return EXIT_INTERRUPTED;
	default:
		return ctl_fail(ctl);
	}
}

int cmd_stop(struct ctl *ctl, int argc, char **argv)
{
	int rc;

	if ((rc = ctl_no_operands(ctl, argc, argv)) || (rc = ctl_connect(ctl)))
		return rc;
	if (omv_client_stop(ctl->c) < 0)
		return ctl_fail(ctl);
	if (ctl->json)
		ctl_print_json(json_null());
	return EXIT_OK;
}

/* reset / boot: send it; with --wait, follow the link until goal. */
static int restart(struct ctl *ctl, int argc, char **argv, int (*fn)(omv_client *), int goal)
{
	bool wait, done = false;
	struct link_watch w = { .done = &done, .goal = goal };
	enum run_result res;
	int wait_ms, rc;

	if ((rc = parse_wait(ctl, argc, argv, true, &wait, &wait_ms)))
		return rc;
	if ((rc = wait ? watch_link(ctl, &w) : ctl_connect(ctl)))
		return rc;
	if (fn(ctl->c) < 0)
		return ctl_fail(ctl);
	if (wait) {
		res = ctl_run_until(ctl, &done, ctl_now_ms() + (uint64_t)wait_ms);
		if (res == RUN_TIMEOUT)
			return ctl_error(goal == UNTIL_BACK ? "cam not back after %.1f s"
					 : "link still up after %.1f s", wait_ms / 1000.0);
		if (res != RUN_DONE)
			return ctl_run_status(ctl, res);
	}
	if (ctl->json)
		ctl_print_json(json_null());
	return EXIT_OK;
}

int cmd_reset(struct ctl *ctl, int argc, char **argv)
{
	return restart(ctl, argc, argv, omv_client_reset, UNTIL_BACK);
}

int cmd_boot(struct ctl *ctl, int argc, char **argv)
{
	return restart(ctl, argc, argv, omv_client_boot, UNTIL_DOWN);
}
