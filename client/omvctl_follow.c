/*
 * omvctl's commands that follow notifications: exec --follow, stdout
 * --follow, events, stream and snapshot. Each subscribes first, then runs
 * the client's loop (omv_client_wait) until its goal, a deadline or Ctrl-C.
 */
#include "omvctl.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image_write.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

enum run_result { RUN_DONE, RUN_INTERRUPTED, RUN_TIMEOUT, RUN_ERROR };

/* Dispatch notifications until *done, Ctrl-C, or deadline (0: none). */
static enum run_result run_until(struct ctl *ctl, const bool *done, uint64_t deadline)
{
	while (!*done) {
		int wait = 500;

		if (ctl_interrupted)
			return RUN_INTERRUPTED;
		if (deadline) {
			uint64_t now = now_ms();

			if (now >= deadline)
				return RUN_TIMEOUT;
			if (deadline - now < (uint64_t)wait)
				wait = (int)(deadline - now);
		}
		if (omv_client_wait(ctl->c, wait) < 0)
			return RUN_ERROR;
	}
	return RUN_DONE;
}

static int subscribe(struct ctl *ctl, const char *const *topics, const char *frame_format)
{
	if (ctl_connect(ctl))
		return EXIT_FAIL;
	return omv_client_subscribe(ctl->c, topics, frame_format) < 0 ? ctl_fail(ctl) : EXIT_OK;
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

/* ---- exec / stdout -------------------------------------------------------- */

struct follow {
	struct ctl *ctl;
	bool started;		/* exec's reply is in: what follows is this script's */
	bool running;		/* its start was announced */
	bool ended;		/* state said it stopped: its output is all printed */
	uint64_t end_event_ms;	/* when the cam's raw end event came; 0 before */
};

/* omvd announces script_running=false only after the script's last output
 * (the cam's soft-reboot line included). A daemon that never does, after
 * the cam said the script ended, is not waited for longer than this. */
#define EXEC_END_GRACE_MS 3000

static void print_stdout(const struct ctl *ctl, json_t *params)
{
	const char *text = json_string_value(json_object_get(params, "text"));

	if (!text)
		return;
	if (ctl->json) {
		ctl_print_json(json_incref(params));
	} else {
		fputs(text, stdout);
		fflush(stdout);
	}
}

/* The script's start and end come from the shared state's script_running;
 * an end only counts after a start, so the end of a script this exec
 * replaced is not taken for the new one's. */
static void on_exec_notify(omv_client *c, const char *method, json_t *params, void *arg)
{
	struct follow *f = arg;

	if (!f->started)
		return;	/* the end or output of the script this exec replaced */
	if (strcmp(method, "stdout") == 0) {
		print_stdout(f->ctl, params);
	} else if (strcmp(method, "state") == 0) {
		json_t *running = json_object_get(params, "script_running");

		if (json_is_true(running))
			f->running = true;
		else if (json_is_false(running) && f->running)
			f->ended = true;
	} else if (strcmp(method, "event") == 0) {
		const char *name = json_string_value(json_object_get(params, "name"));

		if (f->running && !f->end_event_ms && name && strcmp(name, "stdin") == 0 &&
		    json_integer_value(json_object_get(params, "event")) == 0)
			f->end_event_ms = now_ms();
	}
}

/* Print the script's output until its end is announced. */
static int follow_script(struct ctl *ctl, struct follow *f)
{
	while (!f->ended) {
		int wait = 500;

		if (ctl_interrupted)
			return 130;
		if (f->end_event_ms) {
			uint64_t now = now_ms();

			if (now >= f->end_event_ms + EXEC_END_GRACE_MS)
				break;
			if (f->end_event_ms + EXEC_END_GRACE_MS - now < (uint64_t)wait)
				wait = (int)(f->end_event_ms + EXEC_END_GRACE_MS - now);
		}
		if (omv_client_wait(ctl->c, wait) < 0)
			return ctl_fail(ctl);
	}
	return EXIT_OK;
}

int cmd_exec(struct ctl *ctl, int argc, char **argv)
{
	static const char *const topics[] = { "stdout", "event", "state", NULL };
	struct follow f = { .ctl = ctl };
	const char *file = NULL;
	bool follow = false;
	unsigned char *script;
	size_t len;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
			follow = true;
		else if (!file)
			file = argv[i];
		else
			return ctl_usage_error("exec", "unexpected argument '%s'", argv[i]);
	}
	if (!file)
		return ctl_usage_error("exec", "no script FILE given (use - for standard input)");
	script = ctl_slurp(file, &len);
	if (!script)
		return ctl_error("cannot read %s: %s", strcmp(file, "-") ? file : "standard input",
				 strerror(errno));
	if (memchr(script, '\0', len)) {
		free(script);
		return ctl_error("%s is not a text script", file);
	}
	if (follow) {
		omv_client_on_notify(ctl->c, on_exec_notify, &f);
		rc = subscribe(ctl, topics, NULL);
		if (rc) {
			free(script);
			return rc;
		}
	}
	if (!follow && ctl_connect(ctl)) {
		free(script);
		return EXIT_FAIL;
	}
	rc = omv_client_exec(ctl->c, (const char *)script, NULL);
	free(script);
	if (rc < 0)
		return ctl_fail(ctl);
	f.started = true;
	if (!follow) {
		if (ctl->json)
			ctl_print_json(json_null());
		return EXIT_OK;
	}
	return follow_script(ctl, &f);
}

static void on_stdout_notify(omv_client *c, const char *method, json_t *params, void *arg)
{
	if (strcmp(method, "stdout") == 0)
		print_stdout(arg, params);
}

int cmd_stdout(struct ctl *ctl, int argc, char **argv)
{
	static const char *const topics[] = { "stdout", NULL };
	bool follow = false, never = false;
	char *text;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
			follow = true;
		else
			return ctl_usage_error("stdout", "unexpected argument '%s'", argv[i]);
	}
	if (!follow) {
		if (ctl_connect(ctl))
			return EXIT_FAIL;
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
	rc = subscribe(ctl, topics, NULL);
	if (rc)
		return rc;
	return run_until(ctl, &never, 0) == RUN_ERROR ? ctl_fail(ctl) : EXIT_OK;
}

/* ---- events --------------------------------------------------------------- */

struct events {
	struct ctl *ctl;
	long left;		/* lines still to print; < 0: no limit */
	bool done;
};

static void on_event_notify(omv_client *c, const char *method, json_t *params, void *arg)
{
	struct events *ev = arg;

	if (ev->done)
		return;
	if (ev->ctl->json) {
		ctl_print_json(json_pack("{s:s,s:O}", "topic", method, "params", params));
	} else {
		printf("%s", method);
		print_fields(params);
		printf("\n");
	}
	fflush(stdout);
	if (ev->left > 0 && --ev->left == 0)
		ev->done = true;
}

static int parse_count(const char *cmd, int argc, char **argv, long *count)
{
	*count = -1;
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--count") == 0 || strcmp(argv[i], "-n") == 0) &&
		    i + 1 < argc) {
			char *end;

			*count = strtol(argv[++i], &end, 10);
			if (*end || *count <= 0)
				return ctl_usage_error(cmd, "invalid count '%s'", argv[i]);
		} else {
			return ctl_usage_error(cmd, "unexpected argument '%s'", argv[i]);
		}
	}
	return EXIT_OK;
}

int cmd_events(struct ctl *ctl, int argc, char **argv)
{
	static const char *const topics[] = { "event", "link", "state", NULL };
	struct events ev = { .ctl = ctl };
	int rc = parse_count("events", argc, argv, &ev.left);

	if (rc)
		return rc;
	omv_client_on_notify(ctl->c, on_event_notify, &ev);
	rc = subscribe(ctl, topics, NULL);
	if (rc)
		return rc;
	return run_until(ctl, &ev.done, 0) == RUN_ERROR ? ctl_fail(ctl) : EXIT_OK;
}

/* ---- streaming helpers ------------------------------------------------------- */

/* Turn streaming on when it is off; *enabled tells whether we did. */
static int streaming_on(struct ctl *ctl, bool *enabled)
{
	omv_status st;

	*enabled = false;
	if (omv_client_status(ctl->c, &st) < 0)
		return ctl_fail(ctl);
	if (st.streaming)
		return EXIT_OK;
	if (omv_client_streaming(ctl->c, true, false, 0, 0) < 0)
		return ctl_fail(ctl);
	*enabled = true;
	return EXIT_OK;
}

/* Put streaming back as it was; keeps the first failure. */
static int streaming_restore(struct ctl *ctl, bool enabled, int rc)
{
	if (!enabled || omv_client_fd(ctl->c) < 0)
		return rc;
	if (omv_client_streaming(ctl->c, false, false, 0, 0) < 0 && rc == EXIT_OK)
		return ctl_fail(ctl);
	return rc;
}

/* ---- stream ---------------------------------------------------------------- */

struct rate {
	struct ctl *ctl;
	long left;		/* frames still to count; < 0: no limit */
	bool done;
	uint64_t frames, bytes, first_ms, last_ms, first_number, last_number;
	uint64_t win_start, win_frames, win_bytes;
	double fps, bps;
	int width, height;
};

static void print_rate(const struct rate *r, bool final)
{
	printf("\rframe %llu  %dx%d  %.1f fps  %.1f KB/s  (%llu frames)%s",
	       (unsigned long long)r->last_number, r->width, r->height, r->fps,
	       r->bps / 1024.0, (unsigned long long)r->frames, final ? "\n" : "   ");
	fflush(stdout);
}

static void on_stream_frame(omv_client *c, const omv_frame *f, void *arg)
{
	struct rate *r = arg;
	uint64_t now = now_ms();

	if (r->done)
		return;
	if (r->frames++ == 0) {
		r->first_ms = r->win_start = now;
		r->first_number = f->number;
	}
	r->last_ms = now;
	r->last_number = f->number;
	r->width = f->width;
	r->height = f->height;
	r->bytes += f->raw_size;
	r->win_frames++;
	r->win_bytes += f->raw_size;
	if (now - r->win_start >= 1000) {
		double secs = (double)(now - r->win_start) / 1000.0;

		r->fps = (double)r->win_frames / secs;
		r->bps = (double)r->win_bytes / secs;
		r->win_start = now;
		r->win_frames = r->win_bytes = 0;
		if (!r->ctl->json)
			print_rate(r, false);
	}
	if (r->left > 0 && --r->left == 0)
		r->done = true;
}

int cmd_stream(struct ctl *ctl, int argc, char **argv)
{
	static const char *const topics[] = { "frame", NULL };
	struct rate r = { .ctl = ctl };
	bool enabled;
	enum run_result res;
	int rc = parse_count("stream", argc, argv, &r.left);

	if (rc)
		return rc;
	omv_client_on_frame(ctl->c, on_stream_frame, &r);
	rc = subscribe(ctl, topics, NULL);
	if (rc || (rc = streaming_on(ctl, &enabled)))
		return rc;
	res = run_until(ctl, &r.done, 0);
	if (r.frames > 1 && r.last_ms > r.first_ms) {
		double secs = (double)(r.last_ms - r.first_ms) / 1000.0;

		r.fps = (double)(r.frames - 1) / secs;
		r.bps = (double)(r.bytes - r.bytes / r.frames) / secs;
	}
	if (ctl->json)
		ctl_print_json(json_pack("{s:I,s:I,s:I,s:i,s:i,s:f,s:f}",
					 "frames", (json_int_t)r.frames,
					 "first", (json_int_t)r.first_number,
					 "last", (json_int_t)r.last_number,
					 "width", r.width, "height", r.height,
					 "fps", r.fps, "bytes_per_s", r.bps));
	else if (r.frames)
		print_rate(&r, true);
	rc = res == RUN_ERROR ? ctl_fail(ctl) : EXIT_OK;
	return streaming_restore(ctl, enabled, rc);
}

/* ---- snapshot ----------------------------------------------------------- */

struct shot {
	bool seen;		/* a frame notification arrived */
	uint32_t format;
};

static void on_shot_frame(omv_client *c, const omv_frame *f, void *arg)
{
	struct shot *s = arg;

	s->seen = true;
	s->format = f->format;
}

/* Fetch the newest frame and write it; 1 when there was none to read. */
static int save_frame(struct ctl *ctl, const char *path, enum image_type type,
		      const struct shot *s)
{
	bool as_jpeg = type == IMAGE_JPEG && s->format == OMV_PIXFORMAT_JPEG;
	omv_frame *f;
	int rc;

	rc = omv_client_read_frame(ctl->c, as_jpeg ? "jpeg" : "rgb888", &f);
	if (rc == OMV_RPC_INVALID_PARAMS && as_jpeg) {	/* it became raw meanwhile */
		as_jpeg = false;
		rc = omv_client_read_frame(ctl->c, "rgb888", &f);
	}
	if (rc < 0)
		return ctl_fail(ctl);
	if (!f)
		return 1;
	if (!as_jpeg && f->len != (size_t)f->width * (size_t)f->height * 3) {
		rc = ctl_error("frame has %zu bytes, not %dx%d RGB", f->len, f->width, f->height);
		omv_frame_free(f);
		return rc;
	}
	if (as_jpeg)
		rc = image_write_bytes(path, f->data, f->len);
	else if (type == IMAGE_PPM)
		rc = image_write_ppm(path, f->data, f->width, f->height);
	else if (type == IMAGE_PNG)
		rc = image_write_png(path, f->data, f->width, f->height);
	else
		rc = image_write_jpeg(path, f->data, f->width, f->height, 90);
	if (rc < 0) {
		rc = ctl_error("cannot write %s: %s", path, strerror(errno));
	} else {
		if (ctl->json)
			ctl_print_json(json_pack("{s:s,s:I,s:i,s:i,s:s}", "file", path,
						 "number", (json_int_t)f->number,
						 "width", f->width, "height", f->height,
						 "encoding", as_jpeg ? "jpeg" : "rgb888"));
		else
			printf("%s: frame %llu, %dx%d\n", path, (unsigned long long)f->number,
			       f->width, f->height);
		rc = EXIT_OK;
	}
	omv_frame_free(f);
	return rc;
}

int cmd_snapshot(struct ctl *ctl, int argc, char **argv)
{
	static const char *const topics[] = { "frame", NULL };
	int wait_ms = ctl->timeout_ms;
	const char *path = NULL;
	struct shot s = { 0 };
	enum image_type type;
	uint64_t deadline;
	bool enabled;
	int rc;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) &&
		    i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			wait_ms = ctl_parse_seconds(argv[++i]);
			if (wait_ms < 0)
				return ctl_usage_error("snapshot", "invalid --timeout '%s'", argv[i]);
		} else {
			return ctl_usage_error("snapshot", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!path)
		return ctl_usage_error("snapshot", "no output file given (-o FILE)");
	type = image_type_of(path);
	if (type == IMAGE_UNKNOWN)
		return ctl_usage_error("snapshot", "'%s': use a .ppm, .png, .jpg or .jpeg name",
				       path);
	omv_client_on_frame(ctl->c, on_shot_frame, &s);
	rc = subscribe(ctl, topics, NULL);
	if (rc || (rc = streaming_on(ctl, &enabled)))
		return rc;
	deadline = wait_ms > 0 ? now_ms() + (uint64_t)wait_ms : 0;
	for (;;) {
		enum run_result res = run_until(ctl, &s.seen, deadline);

		if (res == RUN_ERROR) {
			rc = ctl_fail(ctl);
			break;
		}
		if (res == RUN_INTERRUPTED) {
			rc = 130;
			break;
		}
		if (res == RUN_TIMEOUT) {
			rc = ctl_error("no frame from the cam within %.1f s", wait_ms / 1000.0);
			break;
		}
		rc = save_frame(ctl, path, type, &s);
		if (rc != 1)
			break;
		s.seen = false;	/* nothing newer than our last read: wait for the next */
	}
	return streaming_restore(ctl, enabled, rc);
}

/* ---- wait ------------------------------------------------------------------ */

struct link_wait {
	bool ready;
};

static void on_link_notify(omv_client *c, const char *method, json_t *params, void *arg)
{
	struct link_wait *w = arg;
	const char *state = json_string_value(json_object_get(params, "state"));

	if (strcmp(method, "link") == 0 && state != NULL)
		w->ready = strcmp(state, "ready") == 0;
}

int cmd_wait(struct ctl *ctl, int argc, char **argv)
{
	static const char *const topics[] = { "link", NULL };
	struct link_wait w = { false };
	int wait_ms = 30000, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			wait_ms = ctl_parse_seconds(argv[++i]);
			if (wait_ms < 0)
				return ctl_usage_error("wait", "invalid --timeout '%s'", argv[i]);
		} else {
			return ctl_usage_error("wait", "unexpected argument '%s'", argv[i]);
		}
	}
	/* Subscribe first, then ask: a link that comes up in between is seen. */
	omv_client_on_notify(ctl->c, on_link_notify, &w);
	rc = subscribe(ctl, topics, NULL);
	if (rc)
		return rc;
	if (omv_client_is_connected(ctl->c, &w.ready) < 0)
		return ctl_fail(ctl);
	switch (run_until(ctl, &w.ready, now_ms() + (uint64_t)wait_ms)) {
	case RUN_DONE:
		return EXIT_OK;
	case RUN_TIMEOUT:
		return ctl_error("cam not connected after %.1f s", wait_ms / 1000.0);
	case RUN_INTERRUPTED:
		return 130;
	default:
		return ctl_fail(ctl);
	}
}
