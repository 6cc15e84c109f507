/*
 * omvctl: command-line tool for omvd, on libomvclient. This file holds the
 * global options, the command table with each command's help, connecting,
 * and the error/JSON printing helpers the commands share.
 */
#include "omvctl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t ctl_interrupted;

struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct command commands[] = {
	{ "status", cmd_status, "status",
	  "Show the link state (and why it is down), the port, the cam's serial,\n"
	  "negotiated caps, uptime, the shared cam state (streaming, script) and\n"
	  "the number of clients." },
	{ "list", cmd_list, "list",
	  "List every omvd socket in the runtime directory ($OMVD_RUNTIME_DIR,\n"
	  "default /run/omvd) with its port, the cam's serial, board, link state\n"
	  "and the number of other clients." },
	{ "wait", cmd_wait, "wait [--timeout S]",
	  "Wait until omvd's socket exists and omvd is connected to the cam\n"
	  "(for scripts: omvd may start after omvctl, or before the cam is\n"
	  "plugged in).\n"
	  "  --timeout S   give up after S seconds (default 30)" },
	{ "info", cmd_info, "info",
	  "Show the cam's system information: firmware, protocol and bootloader\n"
	  "versions, USB id, memory sizes, capability flags, link caps and channels." },
	{ "exec", cmd_exec, "exec FILE|- [--follow [--stop-on-exit]]",
	  "Run a MicroPython script (FILE, or standard input for -) on the cam.\n"
	  "A script larger than the cam's stdin (when the cam tells its size) is\n"
	  "refused before anything is sent.\n"
	  "  -f, --follow     print the script's output until it ends; the exit\n"
	  "                   status is 1 when it ends with a traceback, when the\n"
	  "                   link to the cam is lost, or when another client\n"
	  "                   replaced the script; 130 on Ctrl-C\n"
	  "  --stop-on-exit   with --follow: stop the script on Ctrl-C" },
	{ "stop", cmd_stop, "stop", "Stop the running script." },
	{ "stdout", cmd_stdout, "stdout [--follow]",
	  "Print what the cam printed since this client's previous read (a new\n"
	  "connection starts with the latest script's output).\n"
	  "  -f, --follow   keep printing new output until Ctrl-C" },
	{ "snapshot", cmd_snapshot, "snapshot -o FILE|- [--format F] [--timeout S]",
	  "Save one frame. The format follows the file name's extension (.jpg,\n"
	  ".jpeg, .png, .ppm) or --format; - writes to standard output (JPEG\n"
	  "unless --format says otherwise). A JPEG frame is saved as the cam sent\n"
	  "it. The file is replaced only once the frame is complete. Streaming is\n"
	  "enabled for the shot if it was off, and turned off again afterwards.\n"
	  "  -o, --output FILE   where to write the image (- for standard output)\n"
	  "  --format F          jpeg, png or ppm\n"
	  "  --timeout S         how long to wait for a frame (default: the\n"
	  "                      global --timeout)" },
	{ "stream", cmd_stream,
	  "stream [-o FILE|-|PATTERN] [--format F] [--count N] [--duration S] [-q]",
	  "Receive frames as they come. Without -o, show the frame rate: one\n"
	  "updating line on a terminal, else one line per second. With -o, write\n"
	  "the frames, and report once per second on standard error:\n"
	  "  -o FILE|-        one stream: MJPEG (concatenated JPEG frames, the\n"
	  "                   default) or raw RGB888 frames (--format rgb24, for\n"
	  "                   ffmpeg -f rawvideo -pix_fmt rgb24 -s WxH)\n"
	  "  -o PATTERN       one file per frame, numbered from 1: the name holds\n"
	  "                   one %d conversion (frame-%06d.jpg); the format\n"
	  "                   follows the extension (.jpg, .png, .ppm)\n"
	  "  --format F       mjpeg or rgb24 for a stream; jpeg, png or ppm for\n"
	  "                   numbered files\n"
	  "  -n, --count N    stop after N frames\n"
	  "  --duration S     stop after S seconds\n"
	  "  -q, --quiet      no rate lines" },
	{ "channels", cmd_channels, "channels",
	  "List the cam's channels: id, name and flags (read, write, exec, lock,\n"
	  "stream, dynamic, physical)." },
	{ "channel", cmd_channel, "channel read NAME [--size N] | channel write NAME DATA|@FILE",
	  "read: copy the channel's bytes (all available, or N) to standard output.\n"
	  "write: send DATA, or the contents of FILE, to the channel.\n"
	  "An error status from the cam is shown by name (INVALID, OVERFLOW, ...)." },
	{ "events", cmd_events, "events [--channel NAME|ID] [--no-frames] [--count N]",
	  "Print cam events by name (script started/stopped, SOFT_REBOOT, frame\n"
	  "ready, ...), link changes and shared-state changes, one line each with\n"
	  "the time it arrived, until Ctrl-C.\n"
	  "  --channel C      only the events of channel C (a name or an id)\n"
	  "  --no-frames      leave out the stream channel's frame-ready events\n"
	  "  -n, --count N    stop after N lines" },
	{ "stats", cmd_stats, "stats", "Show the host-side and cam-side transport counters." },
	{ "profile", cmd_profile,
	  "profile [--firmware ELF] | profile mode exclusive|inclusive | profile reset |\n"
	  "  profile event COUNTER EVENT_ID",
	  "Show the profiler's per-function records (firmware built with the\n"
	  "profiler): calls, ticks, cycles and the PMU event counts. A busy cam is\n"
	  "asked again until the --timeout.\n"
	  "  --firmware ELF   name the functions and callers from the firmware's\n"
	  "                   symbols (the ELF file the cam runs)\n"
	  "mode: count a function's ticks with (inclusive) or without (exclusive)\n"
	  "its callees. reset: clear the counters and restore the default PMU\n"
	  "events. event: count EVENT_ID in PMU counter COUNTER." },
	{ "reset", cmd_reset, "reset [--wait [--timeout S]]",
	  "Reset the cam; the link drops and comes back.\n"
	  "  --wait        return once the link is back (default at most 30 s)" },
	{ "boot", cmd_boot, "boot [--wait [--timeout S]]",
	  "Send the cam into its bootloader; the link drops.\n"
	  "  --wait        return once the link has dropped" },
	{ "call", cmd_call, "call METHOD [JSON-PARAMS]",
	  "Call any omvd method and print its JSON result. The methods are\n"
	  "described in " OMVD_DOCDIR "/rpc.md.\n"
	  "Example: omvctl call channel_read '{\"name\":\"ticks\",\"size\":10}'" },
	{ "bridge", cmd_bridge, "bridge [--socket PATH]",
	  "Copy standard input to omvd's socket and the socket to standard\n"
	  "output, for remote control over ssh (--host ssh://...: it is what\n"
	  "runs on the far side)." },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct option global_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "host", required_argument, NULL, 'H' },
	{ "json", no_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};
#define GLOBAL_SHORT "s:H:j"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: omvctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Talk to omvd, the OpenMV cam daemon.\n"
		"\n"
		"Options (also accepted after the command):\n"
		"  -s, --socket PATH  omvd's socket (default: $OMVD_SOCKET, else\n"
		"                     %s/omvd.sock, else the only socket there)\n"
		"  -H, --host URL     a remote omvd: ssh://[user@]host[:port][/path/to/socket]\n"
		"  -j, --json         print machine-readable JSON\n"
		"  --timeout S        seconds to wait for each reply (default %d)\n"
		"  -h, --help         show this help; COMMAND --help shows a command's\n"
		"  -V, --version      show omvctl's version\n"
		"\n"
		"Commands:\n",
		omv_client_runtime_dir(), OMV_DEFAULT_TIMEOUT_MS / 1000);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %s\n", commands[i].usage);
	fprintf(out, "\nExit status: 0 ok, 1 the cam or omvd reported an error, 2 usage,\n"
		     "3 cannot connect to omvd, 130 interrupted. See omvctl(1).\n");
}

static void command_help(const struct command *cmd)
{
	printf("usage: omvctl [OPTIONS] %s\n\n%s\n", cmd->usage, cmd->help);
}

/* ---- options ---------------------------------------------------------------- */

/* A global option: 0 when taken, or the exit status of a bad value. */
static int global_option(struct ctl *ctl, int opt, const char *arg)
{
	switch (opt) {
	case 's':
	case 'H':
		ctl->where = arg;
		return 0;
	case 'j':
		ctl->json = true;
		return 0;
	case OPT_TIMEOUT:
		ctl->timeout_ms = ctl_parse_seconds(arg);
		if (ctl->timeout_ms < 0)
			return ctl_usage_error(ctl, "invalid --timeout '%s'", arg);
		return 0;
	}
	return -1;
}

/* The usage error getopt found in argv (opterr is off: we say it). */
static int option_error(const struct ctl *ctl, int ret, char **argv)
{
	const char *arg = argv[optind - 1];

	if (ret == ':')
		return ctl_usage_error(ctl, "option '%s' needs a value", arg);
	if (optopt && strncmp(arg, "--", 2) != 0)
		return ctl_usage_error(ctl, "unknown option '-%c'", optopt);
	return ctl_usage_error(ctl, "unknown option '%s'", arg);
}

static void merge_options(struct ctl *ctl, const char *shortopts,
			  const struct option *longopts)
{
	size_t n = 0;

	snprintf(ctl->opt_short, sizeof ctl->opt_short, ":%s" GLOBAL_SHORT,
		 shortopts ? shortopts : "");
	for (; longopts && longopts[n].name; n++)
		ctl->opt_long[n] = longopts[n];
	/* A command's own option wins over a global one of the same name
	 * (wait --timeout is how long to wait). */
	for (const struct option *g = global_options; g->name; g++) {
		bool own = false;

		for (size_t i = 0; i < n; i++)
			own = own || strcmp(ctl->opt_long[i].name, g->name) == 0;
		if (!own)
			ctl->opt_long[n++] = *g;
	}
	ctl->opt_long[n] = (struct option){ NULL, 0, NULL, 0 };
}

int ctl_getopt(struct ctl *ctl, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	if (ctl->opt_argv != argv) {
		ctl->opt_argv = argv;
		merge_options(ctl, shortopts, longopts);
		optind = 0;	/* restart scanning: a new argument vector */
	}
	for (;;) {
		int opt = getopt_long(argc, argv, ctl->opt_short, ctl->opt_long, NULL);
		int rc;

		if (opt == '?' || opt == ':') {
			option_error(ctl, opt, argv);
			return '?';
		}
		rc = global_option(ctl, opt, optarg);
		if (rc < 0)
			return opt;	/* the command's */
		if (rc > 0)
			return '?';
	}
}

int ctl_no_operands(struct ctl *ctl, int argc, char **argv)
{
	int opt = ctl_getopt(ctl, argc, argv, NULL, NULL);

	if (opt != -1)
		return EXIT_USAGE;
	if (optind < argc)
		return ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	return EXIT_OK;
}

int ctl_parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 86400.0 * 365)
		return -1;
	return (int)(v * 1000.0 + 0.5);
}

long ctl_parse_count(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end || v <= 0 ? -1 : v;
}

/* ---- connecting and errors ---------------------------------------------------- */

int ctl_connect(struct ctl *ctl)
{
	if (omv_client_fd(ctl->c) >= 0)
		return EXIT_OK;
	omv_client_set_timeout(ctl->c, ctl->timeout_ms);
	if (omv_client_connect(ctl->c, ctl->where) < 0)
		return ctl_fail(ctl);
	return EXIT_OK;
}

/* Why omvd could not be reached, and what to try. */
static int connect_failed(const struct ctl *ctl)
{
	int e = omv_client_error_errno(ctl->c);

	fprintf(stderr, "omvctl: %s\n", omv_client_error_message(ctl->c));
	if (e == EACCES || e == EPERM)
		fprintf(stderr, "omvctl: permission denied: is this user in group omvd? "
				"(log in again after joining it)\n");
	else if (e == ENOENT || e == ECONNREFUSED)
		fprintf(stderr, "omvctl: is omvd running? (--socket PATH, OMVD_SOCKET; "
				"omvctl list)\n");
	else if (!ctl->where && e == 0)
		fprintf(stderr, "omvctl: choose one with --socket PATH (omvctl list)\n");
	return EXIT_CONNECT;
}

int ctl_fail(const struct ctl *ctl)
{
	int code = omv_client_error_code(ctl->c);
	const char *msg = omv_client_error_message(ctl->c);
	const char *status = json_string_value(json_object_get(omv_client_error_data(ctl->c),
							       "name"));

	if (code == OMV_ECONNECT)
		return connect_failed(ctl);
	if (code == OMV_RPC_NOT_CONNECTED && strstr(msg, "not connected") == NULL)
		fprintf(stderr, "omvctl: cam not connected (%s)\n", msg);
	else if (code == OMV_RPC_NOT_CONNECTED)
		fprintf(stderr, "omvctl: cam not connected\n");
	else if (status)
		fprintf(stderr, "omvctl: %s (%s)\n", msg, status);
	else
		fprintf(stderr, "omvctl: %s\n", msg[0] ? msg : "unknown error");
	return EXIT_FAIL;
}

int ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("omvctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int ctl_usage_error(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	if (ctl->cmd)
		fprintf(stderr, "omvctl %s: ", ctl->cmd);
	else
		fputs("omvctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'omvctl%s%s --help' for more information.\n",
		ctl->cmd ? " " : "", ctl->cmd ? ctl->cmd : "");
	return EXIT_USAGE;
}

int ctl_call(struct ctl *ctl, const char *method, json_t *params, json_t **result)
{
	int rc = omv_client_call(ctl->c, method, params, result);

	json_decref(params);
	return rc;
}

void ctl_fprint_json(FILE *f, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (text) {
		fprintf(f, "%s\n", text);
		free(text);
	}
	json_decref(v);
}

void ctl_print_json(json_t *v)
{
	ctl_fprint_json(stdout, v);
}

unsigned char *ctl_slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			unsigned char *b = realloc(buf, cap ? cap * 2 : 8192);

			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap = cap ? cap * 2 : 8192;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0) {
			if (ferror(f)) {
				free(buf);
				buf = NULL;
				errno = EIO;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

/* ---- main ------------------------------------------------------------------- */

static void on_signal(int sig)
{
	(void)sig;
	ctl_interrupted = 1;
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a follow loop's wait returns at once on Ctrl-C. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

/* The options before the command; the command's index, or -(exit status). */
static int parse_globals(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opterr = 0;
	/* '+': stop at the command; what follows it is the command's. */
	while ((opt = getopt_long(argc, argv, "+:" GLOBAL_SHORT "hV", opts, NULL)) != -1) {
		int rc;

		switch (opt) {
		case 'h':
			usage(stdout);
			return -EXIT_OK;
		case 'V':
			printf("omvctl %s\n", OMVD_VERSION);
			return -EXIT_OK;
		case '?':
		case ':':
			return -option_error(ctl, opt, argv);
		default:
			rc = global_option(ctl, opt, optarg);
			if (rc)
				return -rc;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return -EXIT_USAGE;
	}
	return optind;
}

int main(int argc, char **argv)
{
	struct ctl ctl = { .timeout_ms = OMV_DEFAULT_TIMEOUT_MS };
	const struct command *cmd;
	int i, rc;

	i = parse_globals(&ctl, argc, argv);
	if (i <= 0)
		return -i;
	cmd = find_command(argv[i]);
	if (!cmd) {
		fprintf(stderr, "omvctl: unknown command '%s'\n"
				"Try 'omvctl --help' for more information.\n", argv[i]);
		return EXIT_USAGE;
	}
	if (wants_help(argc - i, argv + i)) {
		command_help(cmd);
		return EXIT_OK;
	}
	ctl.cmd = cmd->name;
	ctl.c = omv_client_new();
	if (!ctl.c)
		return ctl_error("out of memory");
	setup_signals();
	/* Options after the command may still change the timeout:
	 * ctl_connect() applies it. */
	rc = cmd->run(&ctl, argc - i, argv + i);
	omv_client_free(ctl.c);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = ctl_error("writing output: %s", strerror(errno));
	return rc;
}
