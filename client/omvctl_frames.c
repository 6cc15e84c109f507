/*
 * omvctl's frame commands: snapshot (one frame to an image file or
 * standard output) and stream (the frame rate, or every frame written as
 * MJPEG, raw RGB888 or numbered image files).
 */
#include "omvctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_write.h"
#include "omvctl_output.h"

/* ---- snapshot ----------------------------------------------------------- */

/* A frame notification arrived: read_frame has one to give. */
static void on_shot_frame(omv_client *c, const omv_frame *f, void *arg)
{
	*(bool *)arg = true;
}

/* The file's bytes for frame f (as_jpeg: f holds a JPEG). */
static int frame_file(const omv_frame *f, enum image_type type, bool as_jpeg,
		      unsigned char **bytes, size_t *len)
{
	if (as_jpeg) {
		*bytes = malloc(f->len);
		if (!*bytes)
			return -1;
		memcpy(*bytes, f->data, f->len);
		*len = f->len;
		return 0;
	}
	if (f->len != (size_t)f->width * (size_t)f->height * 3) {
		errno = EPROTO;
		return -1;
	}
	return image_file_encode(type, f->data, f->width, f->height, bytes, len);
}

enum shot_result { SHOT_SAVED, SHOT_NONE, SHOT_FAILED };

/* Fetch the newest frame and write it; SHOT_NONE when there was none newer. */
static enum shot_result save_frame(struct ctl *ctl, struct output *out, enum image_type type,
				   int *rc)
{
	/* omvd gives JPEG whatever the cam streams (passed through, or encoded
	 * once from raw pixels). */
	bool as_jpeg = type == IMAGE_JPEG;
	unsigned char *bytes;
	omv_frame *f;
	size_t len;

	if (omv_client_read_frame_shm(ctl->c, as_jpeg ? "jpeg" : "rgb888", &f) < 0) {
		*rc = ctl_fail(ctl);
		return SHOT_FAILED;
	}
	if (!f)
		return SHOT_NONE;
	if (frame_file(f, type, as_jpeg, &bytes, &len) < 0) {
		*rc = errno == EPROTO ? ctl_error("frame has %zu bytes, not %dx%d RGB", f->len,
						  f->width, f->height)
				      : ctl_error("cannot encode the frame: %s", strerror(errno));
		omv_frame_free(f);
		return SHOT_FAILED;
	}
	if (output_write(out, bytes, len) < 0 || output_close(out, true) < 0) {
		*rc = ctl_error("cannot write %s: %s", out->path, strerror(errno));
	} else {
		FILE *info = output_is_stdout(out) ? stderr : stdout;

		*rc = EXIT_OK;
		if (ctl->json)
			ctl_fprint_json(info, json_pack("{s:s,s:I,s:i,s:i,s:s}", "file", out->path,
							"number", (json_int_t)f->number,
							"width", f->width, "height", f->height,
							"encoding", as_jpeg ? "jpeg" : "rgb888"));
		else
			fprintf(info, "%s: frame %llu, %dx%d\n",
				output_is_stdout(out) ? "standard output" : out->path,
				(unsigned long long)f->number, f->width, f->height);
	}
	free(bytes);
	omv_frame_free(f);
	return *rc == EXIT_OK ? SHOT_SAVED : SHOT_FAILED;
}

int cmd_snapshot(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'F' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const topics[] = { "frame", NULL };
	const char *path = NULL, *format = NULL;
	int wait_ms = ctl->timeout_ms, opt, rc;
	bool seen = false;
	struct output out;
	enum image_type type;
	uint64_t deadline;
	bool enabled, saved = false;

	while ((opt = ctl_getopt(ctl, argc, argv, "o:", opts)) != -1) {
		if (opt == 'o') {
			path = optarg;
		} else if (opt == 'F') {
			format = optarg;
		} else if (opt == 'T') {
			wait_ms = ctl_parse_seconds(optarg);
			if (wait_ms < 0)
				return ctl_usage_error(ctl, "invalid --timeout '%s'", optarg);
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	if (!path)
		return ctl_usage_error(ctl, "no output file given (-o FILE, or - for standard output)");
	type = format ? image_type_named(format)
		      : strcmp(path, "-") == 0 ? IMAGE_JPEG : image_type_of(path);
	if (format && type == IMAGE_UNKNOWN)
		return ctl_usage_error(ctl, "unknown --format '%s' (jpeg, png or ppm)", format);
	if (type == IMAGE_UNKNOWN)
		return ctl_usage_error(ctl, "'%s': name a .jpg, .png or .ppm file, or give --format",
				       path);
	/* Where the image goes is checked before waiting for it. */
	if (output_open(&out, path, true) < 0)
		return ctl_error("cannot write %s: %s", path, strerror(errno));
	omv_client_on_frame(ctl->c, on_shot_frame, &seen);
	rc = ctl_subscribe(ctl, topics, NULL);
	if (rc || (rc = ctl_streaming_on(ctl, &enabled))) {
		output_close(&out, false);
		return rc;
	}
	deadline = wait_ms > 0 ? ctl_now_ms() + (uint64_t)wait_ms : 0;
	for (;;) {
		enum run_result res = ctl_run_until(ctl, &seen, deadline);
		enum shot_result shot;

		if (res == RUN_TIMEOUT) {
			rc = ctl_error("no frame from the cam within %.1f s", wait_ms / 1000.0);
			break;
		}
		if (res != RUN_DONE) {
			rc = ctl_run_status(ctl, res);
			break;
		}
		shot = save_frame(ctl, &out, type, &rc);
		if (shot != SHOT_NONE) {
			saved = shot == SHOT_SAVED;
			break;
		}
		seen = false;	/* nothing newer than our last read: wait for the next */
	}
	if (!saved && out.f)
		output_close(&out, false);
	return ctl_streaming_restore(ctl, enabled, rc);
}

/* ---- stream ---------------------------------------------------------------- */

enum stream_kind { TO_NOTHING, TO_MJPEG, TO_RGB24, TO_FILES };

struct streamer {
	struct ctl *ctl;
	enum stream_kind kind;
	enum image_type image;		/* TO_FILES */
	struct name_pattern pattern;	/* TO_FILES */
	struct output out;		/* TO_MJPEG, TO_RGB24 */
	const char *encoding;		/* what frames must carry; NULL: none */
	long left;			/* frames still to take; < 0: no limit */
	bool done;
	int rc;				/* the first failure */

	FILE *report;			/* rate lines; NULL: none */
	bool live;			/* one updating line (a terminal) */
	uint64_t frames, bytes, skipped, first_ms, last_ms, first_number, last_number;
	uint64_t win_start, win_frames, win_bytes;
	double fps, bps;
	int width, height;
};

static void print_rate(struct streamer *st, bool final)
{
	fprintf(st->report, "%sframe %llu  %dx%d  %.1f fps  %.1f KB/s  (%llu frames)%s",
		st->live ? "\r" : "", (unsigned long long)st->last_number, st->width,
		st->height, st->fps, st->bps / 1024.0, (unsigned long long)st->frames,
		st->live && !final ? "   " : "\n");
	fflush(st->report);
}

static void stop_with(struct streamer *st, int rc)
{
	st->done = true;
	if (st->rc == EXIT_OK)
		st->rc = rc;
}

/* Write one frame where it goes; false once the output failed. */
static bool write_frame(struct streamer *st, const omv_frame *f)
{
	unsigned char *bytes = NULL;
	char name[1100];
	struct output file;
	size_t len;
	bool ok;

	if (st->kind == TO_MJPEG || st->kind == TO_RGB24) {
		if (output_write(&st->out, f->data, f->len) == 0)
			return true;
		/* The reader went away (ffplay closed): the end, not a fault. */
		stop_with(st, errno == EPIPE && output_is_stdout(&st->out) ? EXIT_OK
			  : ctl_error("cannot write %s: %s", st->out.path, strerror(errno)));
		return false;
	}
	if (!pattern_name(&st->pattern, (unsigned long)st->frames + 1, name, sizeof name)) {
		stop_with(st, ctl_error("file name too long"));
		return false;
	}
	if (st->image == IMAGE_JPEG) {
		bytes = f->data;
		len = f->len;
	} else if (image_file_encode(st->image, f->data, f->width, f->height, &bytes, &len) < 0) {
		stop_with(st, ctl_error("cannot encode frame %llu: %s",
					(unsigned long long)f->number, strerror(errno)));
		return false;
	}
	ok = output_open(&file, name, true) == 0;
	if (ok) {
		ok = output_write(&file, bytes, len) == 0;
		if (output_close(&file, ok) < 0)
			ok = false;
	}
	if (!ok)
		stop_with(st, ctl_error("cannot write %s: %s", name, strerror(errno)));
	if (bytes != f->data)
		free(bytes);
	return ok;
}

/* The frame is what was asked for: the encoding, and for raw RGB a
 * constant size (a rawvideo reader was told one). */
static bool usable(struct streamer *st, const omv_frame *f)
{
	if (!st->encoding)
		return true;
	if (!f->data || strcmp(f->encoding, st->encoding) != 0) {
		st->skipped++;	/* omvd could not give it in that encoding */
		return false;
	}
	if (strcmp(st->encoding, "rgb888") != 0)
		return true;
	if (f->len != (size_t)f->width * (size_t)f->height * 3) {
		st->skipped++;
		return false;
	}
	if (st->kind == TO_RGB24 && st->frames && (f->width != st->width || f->height != st->height)) {
		stop_with(st, ctl_error("the frame size changed from %dx%d to %dx%d: raw RGB output "
					"needs one size", st->width, st->height, f->width, f->height));
		return false;
	}
	return true;
}

static void on_stream_frame(omv_client *c, const omv_frame *f, void *arg)
{
	struct streamer *st = arg;
	uint64_t now = ctl_now_ms();

	if (st->done || !usable(st, f) || (st->kind != TO_NOTHING && !write_frame(st, f)))
		return;
	if (st->frames++ == 0) {
		st->first_ms = st->win_start = now;
		st->first_number = f->number;
	}
	st->last_ms = now;
	st->last_number = f->number;
	st->width = f->width;
	st->height = f->height;
	st->bytes += f->raw_size;
	st->win_frames++;
	st->win_bytes += f->raw_size;
	if (now - st->win_start >= 1000) {
		double secs = (double)(now - st->win_start) / 1000.0;

		st->fps = (double)st->win_frames / secs;
		st->bps = (double)st->win_bytes / secs;
		st->win_start = now;
		st->win_frames = st->win_bytes = 0;
		if (st->report)
			print_rate(st, false);
	}
	if (st->left > 0 && --st->left == 0)
		st->done = true;
}

/* Where -o and --format send the frames; EXIT_OK or a usage error. */
static int stream_target(struct ctl *ctl, struct streamer *st, const char *path,
			 const char *format)
{
	int is_pattern;

	if (!path) {
		if (format)
			return ctl_usage_error(ctl, "--format needs -o");
		st->kind = TO_NOTHING;
		return EXIT_OK;
	}
	is_pattern = strcmp(path, "-") ? pattern_parse(path, &st->pattern) : 0;
	if (is_pattern < 0)
		return ctl_usage_error(ctl, "'%s': a numbered name holds one %%d (or %%06d); "
				       "write %%%% for a percent sign", path);
	if (is_pattern) {
		st->kind = TO_FILES;
		st->image = format ? image_type_named(format) : image_type_of(st->pattern.text);
		if (st->image == IMAGE_UNKNOWN)
			return ctl_usage_error(ctl, "'%s': name .jpg, .png or .ppm files, or give "
					       "--format jpeg, png or ppm", path);
		st->encoding = st->image == IMAGE_JPEG ? "jpeg" : "rgb888";
		return EXIT_OK;
	}
	if (!format || strcmp(format, "mjpeg") == 0)
		st->kind = TO_MJPEG;
	else if (strcmp(format, "rgb24") == 0)
		st->kind = TO_RGB24;
	else
		return ctl_usage_error(ctl, "unknown --format '%s' (mjpeg or rgb24; jpeg, png or "
				       "ppm with a numbered name)", format);
	st->encoding = st->kind == TO_MJPEG ? "jpeg" : "rgb888";
	return EXIT_OK;
}

static void stream_summary(struct streamer *st)
{
	bool stream = st->kind == TO_MJPEG || st->kind == TO_RGB24;
	FILE *out = stream && output_is_stdout(&st->out) ? stderr : stdout;

	if (st->frames > 1 && st->last_ms > st->first_ms) {
		double secs = (double)(st->last_ms - st->first_ms) / 1000.0;

		st->fps = (double)(st->frames - 1) / secs;
		st->bps = (double)(st->bytes - st->bytes / st->frames) / secs;
	}
	if (st->ctl->json) {
		ctl_fprint_json(out, json_pack("{s:I,s:I,s:I,s:i,s:i,s:f,s:f,s:I}",
					       "frames", (json_int_t)st->frames,
					       "first", (json_int_t)st->first_number,
					       "last", (json_int_t)st->last_number,
					       "width", st->width, "height", st->height,
					       "fps", st->fps, "bytes_per_s", st->bps,
					       "skipped", (json_int_t)st->skipped));
	} else if (st->report && st->frames) {
		print_rate(st, true);
	}
}

int cmd_stream(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'F' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const topics[] = { "frame", NULL };
	struct streamer st = { .ctl = ctl, .left = -1 };
	const char *path = NULL, *format = NULL;
	int duration_ms = -1, opt, rc;
	bool enabled, quiet = false;
	enum run_result res;

	while ((opt = ctl_getopt(ctl, argc, argv, "o:n:q", opts)) != -1) {
		switch (opt) {
		case 'o':
			path = optarg;
			break;
		case 'F':
			format = optarg;
			break;
		case 'n':
			st.left = ctl_parse_count(optarg);
			if (st.left < 0)
				return ctl_usage_error(ctl, "invalid count '%s'", optarg);
			break;
		case 'D':
			duration_ms = ctl_parse_seconds(optarg);
			if (duration_ms <= 0)
				return ctl_usage_error(ctl, "invalid --duration '%s'", optarg);
			break;
		case 'q':
			quiet = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	if ((rc = stream_target(ctl, &st, path, format)))
		return rc;
	if ((st.kind == TO_MJPEG || st.kind == TO_RGB24) && output_open(&st.out, path, false) < 0)
		return ctl_error("cannot write %s: %s", path, strerror(errno));
	if (!quiet && !ctl->json) {
		bool to_stdout = (st.kind == TO_MJPEG || st.kind == TO_RGB24) &&
				 strcmp(path, "-") == 0;

		st.report = to_stdout ? stderr : stdout;
		st.live = st.kind == TO_NOTHING && isatty(STDOUT_FILENO);
	}
	omv_client_on_frame(ctl->c, on_stream_frame, &st);
	rc = ctl_subscribe(ctl, topics, st.encoding ? st.encoding : "none");
	if (rc == EXIT_OK)
		rc = ctl_streaming_on(ctl, &enabled);
	if (rc == EXIT_OK) {
		res = ctl_run_until(ctl, &st.done, duration_ms > 0
				    ? ctl_now_ms() + (uint64_t)duration_ms : 0);
		rc = res == RUN_TIMEOUT ? EXIT_OK : ctl_run_status(ctl, res);
		if (st.rc != EXIT_OK)
			rc = st.rc;
		stream_summary(&st);
		rc = ctl_streaming_restore(ctl, enabled, rc);
	}
	if ((st.kind == TO_MJPEG || st.kind == TO_RGB24) &&
	    output_close(&st.out, true) < 0 && rc == EXIT_OK && errno != EPIPE)
		rc = ctl_error("cannot write %s: %s", path, strerror(errno));
	return rc;
}
