/*
 * omvctl's commands that follow notifications about scripts and events:
 * exec (with --follow), stdout (with --follow) and events.
 */
#include "omvctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- exec ------------------------------------------------------------------ */

/* What MicroPython prints first when a script dies of an exception. */
#define TRACEBACK "Traceback (most recent call last):"

enum script_end { END_NONE, END_DONE, END_REPLACED, END_LINK_LOST };

struct follow {
	struct ctl *ctl;
	bool started;		/* exec's reply is in: what follows is this run's */
	json_int_t run;		/* its run id; 0 when omvd gives none */
	bool running;		/* its start was announced */
	bool done;		/* ended: see end */
	enum script_end end;
	json_int_t other_run;	/* END_REPLACED: the run that replaced it */
	char reason[256];	/* END_LINK_LOST: why */

	/* Traceback detection across stdout chunks. */
	bool traceback;
	bool at_start;		/* tail begins at the start of the output */
	char tail[sizeof TRACEBACK];
	size_t tail_len;
};

static void scan_traceback(struct follow *f, const char *text)
{
	size_t mlen = strlen(TRACEBACK), n = strlen(text), total = f->tail_len + n, keep;
	char *buf = malloc(total + 1);

	if (!buf)
		return;
	memcpy(buf, f->tail, f->tail_len);
	memcpy(buf + f->tail_len, text, n + 1);
	for (const char *p = strstr(buf, TRACEBACK); p; p = strstr(p + 1, TRACEBACK))
		if (p > buf ? p[-1] == '\n' : f->at_start)
			f->traceback = true;
	/* A marker split between chunks, with the byte before it. */
	keep = total < mlen ? total : mlen;
	if (keep < total)
		f->at_start = false;
	memcpy(f->tail, buf + total - keep, keep);
	f->tail_len = keep;
	free(buf);
}

static void print_stdout(const struct ctl *ctl, json_t *params)
{
	json_t *text = json_object_get(params, "text");

	if (!json_is_string(text))
		return;
	if (ctl->json) {
		ctl_print_json(json_incref(params));
	} else {
		/* Every byte the cam printed, NUL bytes included. */
		fwrite(json_string_value(text), 1, json_string_length(text), stdout);
		fflush(stdout);
	}
}

/* Whether a notification's run id (when it has one) is not ours. */
static bool other_run(const struct follow *f, json_t *params, json_int_t *run)
{
	json_t *r = json_object_get(params, "run");

	*run = json_is_integer(r) ? json_integer_value(r) : 0;
	return f->run && *run && *run != f->run;
}

static void finish(struct follow *f, enum script_end end)
{
	f->done = true;
	f->end = end;
}

static void on_exec_notify(omv_client *c, const char *method, json_t *params, void *arg)
{
	struct follow *f = arg;
	json_int_t run;

	if (!f->started || f->done)
		return;	/* the output or end of the script this exec replaced */
	if (strcmp(method, "stdout") == 0) {
		if (other_run(f, params, &run))
			return;
		scan_traceback(f, json_string_value(json_object_get(params, "text")) ?: "");
		print_stdout(f->ctl, params);
	} else if (strcmp(method, "state") == 0) {
		json_t *running = json_object_get(params, "script_running");

		if (other_run(f, params, &run) && run > f->run) {
			f->other_run = run;
			finish(f, END_REPLACED);
		} else if (json_is_true(running)) {
			f->running = true;
		} else if (json_is_false(running) && (f->running || run == f->run)) {
			const char *end = json_string_value(json_object_get(params, "end"));

			/* Replaced: the state of the run that replaced it names it. */
			if (!end || strcmp(end, "replaced") != 0)
				finish(f, END_DONE);
		}
	} else if (strcmp(method, "link") == 0) {
		const char *state = json_string_value(json_object_get(params, "state"));
		const char *reason = json_string_value(json_object_get(params, "reason"));

		if (state && strcmp(state, "closed") == 0) {
			snprintf(f->reason, sizeof f->reason, "%s", reason ? reason : "link closed");
			finish(f, END_LINK_LOST);
		}
	}
}

/* The exit status for how the followed script ended. */
static int follow_status(struct follow *f, enum run_result res, bool stop_on_exit)
{
	switch (res) {
	case RUN_DONE:
		break;
	case RUN_INTERRUPTED:
		/* Only a script still ours is stopped. */
		if (stop_on_exit && omv_client_stop(f->ctl->c) < 0)
			ctl_fail(f->ctl);
		return EXIT_INTERRUPTED;
	default:
		return ctl_fail(f->ctl);
	}
	switch (f->end) {
	case END_REPLACED:
		return ctl_error("another client replaced the script (run %" JSON_INTEGER_FORMAT
				 " started)", f->other_run);
	case END_LINK_LOST:
		return ctl_error("lost the link to the cam while the script ran: %s", f->reason);
	default:
		return f->traceback ? ctl_error("the script ended with an exception") : EXIT_OK;
	}
}

/* When the cam tells how many bytes its stdin takes (a shape on the stdin
 * channel), a script larger than that is refused before it is sent. */
static int check_stdin_size(struct ctl *ctl, const char *file, size_t len)
{
	json_t *shape;
	json_int_t room;
	int id;

	if (omv_client_get_channel_id(ctl->c, "stdin", &id) < 0 || id < 0 ||
	    ctl_call(ctl, "channel_shape", json_pack("{s:i}", "channel_id", id), &shape) < 0)
		return EXIT_OK;	/* the cam does not say: the cam judges */
	room = json_integer_value(json_array_get(shape, 0));
	json_decref(shape);
	if (room <= 0 || len <= (size_t)room)
		return EXIT_OK;
	return ctl_error("%s is %zu bytes, more than the cam's stdin takes (%" JSON_INTEGER_FORMAT
			 " bytes): not sent", file, len, room);
}

static int send_script(struct ctl *ctl, struct follow *f, const char *file,
		       const char *script, size_t len)
{
	json_t *res;
	const char *status;
	int rc = check_stdin_size(ctl, file, len);

	if (rc)
		return rc;
	if (ctl_call(ctl, "exec", json_pack("{s:s}", "script", script), &res) == 0) {
		f->run = json_is_integer(res) ? json_integer_value(res) : 0;
		f->started = true;
		json_decref(res);
		return EXIT_OK;
	}
	status = json_string_value(json_object_get(omv_client_error_data(ctl->c), "name"));
	if (status && strcmp(status, "OVERFLOW") == 0)
		return ctl_error("%s (%zu bytes) is more than the cam's stdin takes (OVERFLOW)",
				 file, len);
	return ctl_fail(ctl);
}

int cmd_exec(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "stop-on-exit", no_argument, NULL, OPT_COMMAND },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const topics[] = { "stdout", "state", "link", NULL };
	struct follow f = { .ctl = ctl, .at_start = true };
	bool follow = false, stop_on_exit = false;
	const char *file, *name;
	unsigned char *script;
	size_t len;
	int opt, rc;

	while ((opt = ctl_getopt(ctl, argc, argv, "f", opts)) != -1) {
		if (opt == 'f')
			follow = true;
		else if (opt == OPT_COMMAND)
			stop_on_exit = true;
		else
			return EXIT_USAGE;
	}
	if (optind >= argc)
		return ctl_usage_error(ctl, "no script FILE given (use - for standard input)");
	if (optind + 1 < argc)
		return ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind + 1]);
	if (stop_on_exit && !follow)
		return ctl_usage_error(ctl, "--stop-on-exit goes with --follow");
	file = argv[optind];
	name = strcmp(file, "-") ? file : "standard input";
	script = ctl_slurp(file, &len);
	if (!script)
		return ctl_error("cannot read %s: %s", name, strerror(errno));
	if (memchr(script, '\0', len)) {
		free(script);
		return ctl_error("%s is not a text script", name);
	}
	if (follow) {
		omv_client_on_notify(ctl->c, on_exec_notify, &f);
		rc = ctl_subscribe(ctl, topics, NULL);
	} else {
		rc = ctl_connect(ctl);
	}
	if (rc == EXIT_OK)
		rc = send_script(ctl, &f, name, (const char *)script, len);
	free(script);
	if (rc)
		return rc;
	if (!follow) {
		if (ctl->json)
			ctl_print_json(f.run ? json_integer(f.run) : json_null());
		return EXIT_OK;
	}
	return follow_status(&f, ctl_run_until(ctl, &f.done, 0), stop_on_exit);
}

/* ---- stdout ---------------------------------------------------------------- */

static void on_stdout_notify(omv_client *c, const char *method, json_t *params, void *arg)
{
	if (strcmp(method, "stdout") == 0)
		print_stdout(arg, params);
}

int cmd_stdout(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const topics[] = { "stdout", NULL };
	bool follow = false, never = false;
	char *text;
	int opt, rc;

	while ((opt = ctl_getopt(ctl, argc, argv, "f", opts)) != -1) {
		if (opt != 'f')
			return EXIT_USAGE;
		follow = true;
	}
	if (optind < argc)
		return ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	if (!follow) {
		if ((rc = ctl_connect(ctl)))
			return rc;
		if (omv_client_read_stdout(ctl->c, &text) < 0)
			return ctl_fail(ctl);
		if (ctl->json)
			ctl_print_json(text ? json_string(text) : json_null());
		else if (text)
			fputs(text, stdout);
		free(text);
		return EXIT_OK;
	}
	omv_client_on_notify(ctl->c, on_stdout_notify, ctl);
	if ((rc = ctl_subscribe(ctl, topics, NULL)))
		return rc;
	return ctl_run_status(ctl, ctl_run_until(ctl, &never, 0));
}

/* ---- events ------------------------------------------------------------------ */

#define NOTIFY 0xFFFF

struct events {
	struct ctl *ctl;
	const char *channel;	/* --channel: a name or an id; NULL: all */
	bool no_frames;
	long left;		/* lines still to print; < 0: no limit */
	bool done;
};

/* What a cam event means, by channel and code. */
static void event_name(const char *chan, int id, int code, char *buf, size_t size)
{
	static const char *const system[] = { "CHANNEL_REGISTERED", "CHANNEL_UNREGISTERED",
					      "SOFT_REBOOT" };

	if (id == 0 && code >= 0 && code < 3)
		snprintf(buf, size, "%s", system[code]);
	else if (chan && strcmp(chan, "stdin") == 0 && (code == 0 || code == 1))
		snprintf(buf, size, "script %s", code ? "started" : "stopped");
	else if (code == NOTIFY && chan && strcmp(chan, "stream") == 0)
		snprintf(buf, size, "frame ready");
	else if (code == NOTIFY && chan && strcmp(chan, "stdout") == 0)
		snprintf(buf, size, "output waiting");
	else if (code == NOTIFY)
		snprintf(buf, size, "notify");
	else
		snprintf(buf, size, "event %d", code);
}

/* "12:34:56.789", local time now. */
static void time_text(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char hms[16];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(hms, sizeof hms, "%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03ld", hms, ts.tv_nsec / 1000000);
}

/* Print params as "key=value ..." (strings bare, the rest as JSON). */
static void print_fields(json_t *params)
{
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		if (json_is_string(v)) {
			printf(" %s=%s", key, json_string_value(v));
		} else {
			char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

			printf(" %s=%s", key, text ? text : "?");
			free(text);
		}
	}
}

static bool wanted(const struct events *ev, const char *method, const char *chan, int id,
		   int code)
{
	char num[16];

	if (strcmp(method, "event") != 0)
		return !ev->channel;	/* link and state belong to no channel */
	if (ev->no_frames && code == NOTIFY && chan && strcmp(chan, "stream") == 0)
		return false;
	snprintf(num, sizeof num, "%d", id);
	return !ev->channel || strcmp(ev->channel, num) == 0 ||
	       (chan && strcmp(ev->channel, chan) == 0);
}

static void on_event_notify(omv_client *c, const char *method, json_t *params, void *arg)
{
	struct events *ev = arg;
	const char *chan = json_string_value(json_object_get(params, "name"));
	int id = (int)json_integer_value(json_object_get(params, "channel"));
	int code = (int)json_integer_value(json_object_get(params, "event"));
	char when[32], what[64];

	if (ev->done || !wanted(ev, method, chan, id, code))
		return;
	time_text(when, sizeof when);
	if (strcmp(method, "event") == 0)
		event_name(chan, id, code, what, sizeof what);
	if (ev->ctl->json) {
		json_t *line = json_pack("{s:s, s:s, s:O}", "time", when, "topic", method,
					 "params", params);

		if (strcmp(method, "event") == 0)
			json_object_set_new(line, "what", json_string(what));
		ctl_print_json(line);
	} else if (strcmp(method, "event") == 0) {
		char label[80];

		snprintf(label, sizeof label, "%s(%d)", id == 0 ? "system" : chan ? chan : "?", id);
		printf("%s  event  %-12s %s\n", when, label, what);
	} else {
		printf("%s  %-5s", when, method);
		print_fields(params);
		printf("\n");
	}
	fflush(stdout);
	if (ev->left > 0 && --ev->left == 0)
		ev->done = true;
}

int cmd_events(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "channel", required_argument, NULL, 'c' },
		{ "no-frames", no_argument, NULL, OPT_COMMAND },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const topics[] = { "event", "link", "state", NULL };
	struct events ev = { .ctl = ctl, .left = -1 };
	int opt, rc;

	while ((opt = ctl_getopt(ctl, argc, argv, "n:", opts)) != -1) {
		if (opt == 'n') {
			ev.left = ctl_parse_count(optarg);
			if (ev.left < 0)
				return ctl_usage_error(ctl, "invalid count '%s'", optarg);
		} else if (opt == 'c') {
			ev.channel = optarg;
		} else if (opt == OPT_COMMAND) {
			ev.no_frames = true;
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	omv_client_on_notify(ctl->c, on_event_notify, &ev);
	if ((rc = ctl_subscribe(ctl, topics, NULL)))
		return rc;
	return ctl_run_status(ctl, ctl_run_until(ctl, &ev.done, 0));
}
