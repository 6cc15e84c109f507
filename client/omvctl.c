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
	  "Show the daemon's link state, negotiated caps, uptime, the shared cam\n"
	  "state (streaming, script) and the number of clients." },
	{ "wait", cmd_wait, "wait [--timeout S]",
	  "Wait until omvd is connected to the cam (for scripts: omvd may start\n"
	  "before the cam is plugged in).\n"
	  "  --timeout S   give up after S seconds (default 30)" },
	{ "info", cmd_info, "info",
	  "Show the cam's system information: firmware, protocol and bootloader\n"
	  "versions, USB id, memory sizes, capability flags, link caps and channels." },
	{ "exec", cmd_exec, "exec FILE|- [--follow]",
	  "Run a MicroPython script (FILE, or standard input for -) on the cam.\n"
	  "  --follow, -f   print the script's output until it stops (or Ctrl-C)" },
	{ "stop", cmd_stop, "stop", "Stop the running script." },
	{ "stdout", cmd_stdout, "stdout [--follow]",
	  "Print what the cam printed since this client's previous read (a new\n"
	  "connection reads the daemon's history).\n"
	  "  --follow, -f   keep printing new output until Ctrl-C" },
	{ "snapshot", cmd_snapshot, "snapshot -o FILE [--timeout S]",
	  "Save one frame. The format follows the extension: .ppm (P6), .png, or\n"
	  ".jpg/.jpeg (the cam's own JPEG bytes when the frame is JPEG, else\n"
	  "encoded here). Streaming is enabled for the shot if it was off, and\n"
	  "turned off again afterwards.\n"
	  "  -o, --output FILE   where to write the image\n"
	  "  --timeout S         how long to wait for a frame (default: the\n"
	  "                      global --timeout)" },
	{ "stream", cmd_stream, "stream [--count N]",
	  "Show live frame rate and bytes per second on one updating line.\n"
	  "  --count N, -n N   stop after N frames (default: until Ctrl-C)" },
	{ "channels", cmd_channels, "channels", "List the cam's channels: id, name, flags." },
	{ "channel", cmd_channel, "channel read NAME [--size N] | channel write NAME DATA|@FILE",
	  "read: copy the channel's bytes (all available, or N) to standard output.\n"
	  "write: send DATA, or the contents of FILE, to the channel." },
	{ "events", cmd_events, "events [--count N]",
	  "Print cam events, link changes and shared-state changes, one line each,\n"
	  "until Ctrl-C.\n"
	  "  --count N, -n N   stop after N lines" },
	{ "stats", cmd_stats, "stats", "Show the host-side and cam-side transport counters." },
	{ "profile", cmd_profile, "profile",
	  "Show the cam's profiler records (firmware built with the profiler only)." },
	{ "reset", cmd_reset, "reset", "Reset the cam; the link drops and comes back." },
	{ "boot", cmd_boot, "boot", "Send the cam into its bootloader; the link drops." },
	{ "call", cmd_call, "call METHOD [JSON-PARAMS]",
	  "Call any omvd method (see docs/rpc.md) and print its JSON result.\n"
	  "Example: omvctl call channel_read '{\"name\":\"ticks\",\"size\":10}'" },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
	fprintf(out,
		"usage: omvctl [--socket PATH] [--json] [--timeout S] COMMAND [ARGS]\n"
		"\n"
		"Talk to omvd, the OpenMV cam daemon.\n"
		"\n"
		"Options:\n"
		"  --socket PATH   omvd's socket (default: $OMVD_SOCKET, else %s)\n"
		"  --json          print machine-readable JSON\n"
		"  --timeout S     seconds to wait for each reply (default %d)\n"
		"  -h, --help      show this help; COMMAND --help shows a command's\n"
		"\n"
		"Commands:\n",
		OMV_DEFAULT_SOCKET, OMV_DEFAULT_TIMEOUT_MS / 1000);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %s\n", commands[i].usage);
}

static void command_help(const struct command *cmd)
{
	printf("usage: omvctl [OPTIONS] %s\n\n%s\n", cmd->usage, cmd->help);
}

int ctl_connect(struct ctl *ctl)
{
	if (omv_client_fd(ctl->c) >= 0)
		return EXIT_OK;
	return omv_client_connect(ctl->c, ctl->socket) < 0 ? ctl_fail(ctl) : EXIT_OK;
}

int ctl_fail(const struct ctl *ctl)
{
	int code = omv_client_error_code(ctl->c);
	const char *msg = omv_client_error_message(ctl->c);

	if (code == OMV_RPC_NOT_CONNECTED && strstr(msg, "not connected") == NULL)
		fprintf(stderr, "omvctl: cam not connected (%s)\n", msg);
	else if (code == OMV_RPC_NOT_CONNECTED)
		fprintf(stderr, "omvctl: cam not connected\n");
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

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "omvctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see omvctl %s --help)\n", cmd);
	return EXIT_USAGE;
}

void ctl_print_json(json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (text) {
		puts(text);
		free(text);
	}
	json_decref(v);
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

int main(int argc, char **argv)
{
	struct ctl ctl = { .timeout_ms = OMV_DEFAULT_TIMEOUT_MS };
	const struct command *cmd;
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else if (strcmp(a, "--json") == 0) {
			ctl.json = true;
		} else if (strcmp(a, "--socket") == 0 && i + 1 < argc) {
			ctl.socket = argv[++i];
		} else if (strncmp(a, "--socket=", 9) == 0) {
			ctl.socket = a + 9;
		} else if ((strcmp(a, "--timeout") == 0 && i + 1 < argc) ||
			   strncmp(a, "--timeout=", 10) == 0) {
			const char *v = a[9] == '=' ? a + 10 : argv[++i];

			ctl.timeout_ms = ctl_parse_seconds(v);
			if (ctl.timeout_ms < 0) {
				fprintf(stderr, "omvctl: invalid --timeout '%s'\n", v);
				return EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "omvctl: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[i]);
	if (!cmd) {
		fprintf(stderr, "omvctl: unknown command '%s' (see omvctl --help)\n", argv[i]);
		return EXIT_USAGE;
	}
	if (wants_help(argc - i, argv + i)) {
		command_help(cmd);
		return EXIT_OK;
	}
	if (!ctl.socket)
		ctl.socket = omv_client_default_socket();
	ctl.c = omv_client_new();
	if (!ctl.c)
		return ctl_error("out of memory");
	omv_client_set_timeout(ctl.c, ctl.timeout_ms);
	setup_signals();
	rc = cmd->run(&ctl, argc - i, argv + i);
	omv_client_free(ctl.c);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = ctl_error("writing output: %s", strerror(errno));
	return rc;
}
