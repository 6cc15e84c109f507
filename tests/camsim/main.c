/*
 * omv-camsim: command line, the event loop, and orderly shutdown.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "camsim.h"

uint64_t sim_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t sim_now_ms(void)
{
	return sim_now_us() / 1000u;
}

static bool verbose;

void sim_log(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	fprintf(stderr, "omv-camsim: [%8.3f] ", (double)(sim_now_ms() - s->t0_ms) / 1000.0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fputs(
"Usage: omv-camsim [OPTION]...\n"
"An emulated OpenMV cam (protocol v2) on a pseudo-terminal. Prints the pty\n"
"path as the first line on stdout (and again after every replug). The protocol\n"
"is on while a host has the pty open at 921600 baud. See omv-camsim(1).\n"
"\n"
"Link:\n"
"  --link PATH             keep a symlink PATH -> the pty (removed on exit)\n"
"  --control PATH          control socket (Unix stream, line commands, JSON replies)\n"
"  --any-baud              speak the protocol at any baud (default: only 921600)\n"
"  --max-payload N         cam protocol buffer payload, also the max payload\n"
"                          after SYNC (50..65535, default 4082)\n"
"  --replug-ms N           unplugged time for unplug/--reboot-after (default 300)\n"
"  --reboot-after SECONDS  simulate a cam reboot (unplug + replug) once, after SECONDS\n"
"Cam:\n"
"  --fps N                 stream frame rate (default 30; 0 = as fast as frames are taken)\n"
"  --frame-size WxH        JPEG frame size (default 320x240)\n"
"  --stdout-ring N         stdout ring buffer bytes (default 1024)\n"
"  --stdout-block          a full stdout ring makes the script wait (default:\n"
"                          it is emptied and unread output lost, as on a cam)\n"
"  --strict-writes         refuse a CHANNEL_WRITE the channel cannot take with\n"
"                          OVERFLOW (default: dropped and ACKed, as on a cam)\n"
"  --profile               add the profile channel (id 4)\n"
"  --pmu-events N          PMU event counters reported in SYS_INFO (0..16, default 0)\n"
"  --fw-version X.Y.Z      firmware version (default 4.7.0)\n"
"  --protocol-version X.Y.Z  (default 2.0.0)\n"
"  --bootloader-version X.Y.Z  (default 3.1.0)\n"
"  --usb-vid N, --usb-pid N  USB ids in SYS_INFO (default 0x37C5:0x1204)\n"
"  --device-id HEX          device id in SYS_INFO, 24 hex digits\n"
"  --flash-kb N, --ram-kb N  sizes in SYS_INFO (default 2048, 1024)\n"
"Hostile cam:\n"
"  --hostile-jpeg          JPEG frames whose headers claim 8192x8192 (~13 KB)\n"
"  --event-flood N         send N NOTIFY events per second (stdout, stream)\n"
"  --extra-channel NAME    a buffer channel from power-up; \\xHH escapes allowed,\n"
"                          e.g. 'bad\\xff\\xfe' for a name that is not UTF-8\n"
"  (on the control socket: set event-flood N, set hostile-jpeg 0|1,\n"
"   glitch MS [now] to go silent mid-answer, register NAME)\n"
"Faults (per packet, both directions, reproducible with --seed):\n"
"  --seed N                seed of the fault generator (default 1)\n"
"  --drop-rate P           lose a packet with probability P (0..1)\n"
"  --corrupt-rate P        flip one random bit of a packet with probability P\n"
"  --garbage-rate P        insert 1..16 random bytes before a packet with probability P\n"
"  --delay-ms N            delay every cam write by N ms (order kept)\n"
"  --link-rate BYTES_PER_S serialise both directions at this rate (default unlimited)\n"
"  --link-latency-us N     add this latency to both directions\n"
"Other:\n"
"  -v, --verbose           log what happens to stderr\n"
"  -h, --help              this text\n"
"\n"
"Scripts: print(...), time.sleep_ms/sleep/sleep_us, while True:, X.snapshot(),\n"
"protocol.register(name=\"N\", backend=...) and raise are understood; other lines\n"
"are ignored. A channel named \"ticks\" reads a 10-digit millisecond counter; any\n"
"other name is a 4 KiB buffer that reads back what was last written.\n", f);
}

static _Noreturn void bad(const char *fmt, ...)
{
	va_list ap;

	fputs("omv-camsim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

static unsigned long num(const char *opt, const char *arg, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max)
		bad("--%s: '%s' is not a number in %lu..%lu", opt, arg, min, max);
	return v;
}

static double real(const char *opt, const char *arg, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= min && v <= max))
		bad("--%s: '%s' is not a number in %g..%g", opt, arg, min, max);
	return v;
}

/* 24 hex digits: three 32-bit words, as hosts print the device id. */
static void device_id(const char *arg, uint32_t out[3])
{
	char word[9] = { 0 };

	if (strlen(arg) != 24 || strspn(arg, "0123456789abcdefABCDEF") != 24)
		bad("--device-id: '%s' is not 24 hex digits", arg);
	for (int i = 0; i < 3; i++) {
		memcpy(word, arg + 8 * i, 8);
		out[i] = (uint32_t)strtoul(word, NULL, 16);
	}
}

static void triple(const char *opt, const char *arg, uint8_t out[3])
{
	unsigned a, b, c;
	char tail;

	if (sscanf(arg, "%u.%u.%u%c", &a, &b, &c, &tail) != 3 || a > 255 || b > 255 || c > 255)
		bad("--%s: '%s' is not a version X.Y.Z", opt, arg);
	out[0] = (uint8_t)a;
	out[1] = (uint8_t)b;
	out[2] = (uint8_t)c;
}

static void frame_size(const char *arg, unsigned *w, unsigned *h)
{
	unsigned a, b;
	char tail;

	if (sscanf(arg, "%ux%u%c", &a, &b, &tail) != 2 || a < 8 || b < 8 || a > 4096 || b > 4096)
		bad("--frame-size: '%s' is not WxH with 8..4096", arg);
	*w = a;
	*h = b;
}

enum {
	O_LINK = 256, O_CONTROL, O_ANY_BAUD, O_PROFILE, O_STDOUT_RING, O_FPS, O_FRAME_SIZE,
	O_MAX_PAYLOAD, O_SEED, O_DROP, O_CORRUPT, O_GARBAGE, O_DELAY, O_RATE, O_LATENCY,
	O_REBOOT_AFTER, O_REPLUG, O_FW, O_PROTO, O_BOOT, O_VID, O_PID, O_DEVID, O_PMU, O_FLASH, O_RAM,
	O_STDOUT_BLOCK, O_STRICT_WRITES, O_HOSTILE_JPEG, O_EVENT_FLOOD, O_EXTRA_CHANNEL,
};

static const struct option long_opts[] = {
	{ "link", required_argument, NULL, O_LINK },
	{ "control", required_argument, NULL, O_CONTROL },
	{ "any-baud", no_argument, NULL, O_ANY_BAUD },
	{ "profile", no_argument, NULL, O_PROFILE },
	{ "stdout-ring", required_argument, NULL, O_STDOUT_RING },
	{ "fps", required_argument, NULL, O_FPS },
	{ "frame-size", required_argument, NULL, O_FRAME_SIZE },
	{ "max-payload", required_argument, NULL, O_MAX_PAYLOAD },
	{ "seed", required_argument, NULL, O_SEED },
	{ "drop-rate", required_argument, NULL, O_DROP },
	{ "corrupt-rate", required_argument, NULL, O_CORRUPT },
	{ "garbage-rate", required_argument, NULL, O_GARBAGE },
	{ "delay-ms", required_argument, NULL, O_DELAY },
	{ "link-rate", required_argument, NULL, O_RATE },
	{ "link-latency-us", required_argument, NULL, O_LATENCY },
	{ "reboot-after", required_argument, NULL, O_REBOOT_AFTER },
	{ "replug-ms", required_argument, NULL, O_REPLUG },
	{ "fw-version", required_argument, NULL, O_FW },
	{ "protocol-version", required_argument, NULL, O_PROTO },
	{ "bootloader-version", required_argument, NULL, O_BOOT },
	{ "usb-vid", required_argument, NULL, O_VID },
	{ "usb-pid", required_argument, NULL, O_PID },
	{ "device-id", required_argument, NULL, O_DEVID },
	{ "pmu-events", required_argument, NULL, O_PMU },
	{ "flash-kb", required_argument, NULL, O_FLASH },
	{ "ram-kb", required_argument, NULL, O_RAM },
	{ "stdout-block", no_argument, NULL, O_STDOUT_BLOCK },
	{ "strict-writes", no_argument, NULL, O_STRICT_WRITES },
	{ "hostile-jpeg", no_argument, NULL, O_HOSTILE_JPEG },
	{ "event-flood", required_argument, NULL, O_EVENT_FLOOD },
	{ "extra-channel", required_argument, NULL, O_EXTRA_CHANNEL },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void parse(int argc, char **argv, struct sim_opts *o)
{
	int c;

	*o = (struct sim_opts){
		.stdout_ring = 1024, .fps = 30, .frame_w = 320, .frame_h = 240,
		.max_payload = OMV_CAM_PAYLOAD, .seed = 1, .replug_ms = 300,
		.fw = { 4, 7, 0 }, .proto = { 2, 0, 0 }, .boot = { 3, 1, 0 },
		.usb_vid = 0x37C5, .usb_pid = 0x1204, .flash_kb = 2048, .ram_kb = 1024,
		.dev_id = { 0x0033003A, 0x3138510B, 0x36383730 },
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", long_opts, NULL)) != -1) {
		const char *n = optind > 0 && optind <= argc ? argv[optind - 1] + 2 : "";
		switch (c) {
		case O_LINK: o->link = optarg; break;
		case O_CONTROL: o->control = optarg; break;
		case O_ANY_BAUD: o->any_baud = true; break;
		case O_PROFILE: o->profile = true; break;
		case O_STDOUT_RING: o->stdout_ring = (unsigned)num("stdout-ring", optarg, 16, 1u << 20); break;
		case O_FPS: o->fps = (unsigned)num("fps", optarg, 0, 1000); break;
		case O_FRAME_SIZE: frame_size(optarg, &o->frame_w, &o->frame_h); break;
		case O_MAX_PAYLOAD:
			o->max_payload = (unsigned)num("max-payload", optarg, OMV_MIN_PAYLOAD,
						       OMV_PAYLOAD_LIMIT);
			break;
		case O_SEED: o->seed = num("seed", optarg, 0, ULONG_MAX); break;
		case O_DROP: o->drop_rate = real("drop-rate", optarg, 0, 1); break;
		case O_CORRUPT: o->corrupt_rate = real("corrupt-rate", optarg, 0, 1); break;
		case O_GARBAGE: o->garbage_rate = real("garbage-rate", optarg, 0, 1); break;
		case O_DELAY: o->delay_ms = (unsigned)num("delay-ms", optarg, 0, 60000); break;
		case O_RATE: o->link_rate = (unsigned)num("link-rate", optarg, 0, 1u << 30); break;
		case O_LATENCY:
			o->link_latency_us = (unsigned)num("link-latency-us", optarg, 0, 60000000);
			break;
		case O_REBOOT_AFTER: o->reboot_after = real("reboot-after", optarg, 0, 86400); break;
		case O_REPLUG: o->replug_ms = (unsigned)num("replug-ms", optarg, 0, 600000); break;
		case O_FW: triple("fw-version", optarg, o->fw); break;
		case O_PROTO: triple("protocol-version", optarg, o->proto); break;
		case O_BOOT: triple("bootloader-version", optarg, o->boot); break;
		case O_VID: o->usb_vid = (uint16_t)num("usb-vid", optarg, 0, 0xFFFF); break;
		case O_PID: o->usb_pid = (uint16_t)num("usb-pid", optarg, 0, 0xFFFF); break;
		case O_DEVID: device_id(optarg, o->dev_id); break;
		case O_PMU: o->pmu_events = (unsigned)num("pmu-events", optarg, 0, OMV_PROFILE_EVENTS_MAX); break;
		case O_FLASH: o->flash_kb = (unsigned)num("flash-kb", optarg, 0, UINT32_MAX); break;
		case O_RAM: o->ram_kb = (unsigned)num("ram-kb", optarg, 0, UINT32_MAX); break;
		case O_STDOUT_BLOCK: o->stdout_block = true; break;
		case O_STRICT_WRITES: o->strict_writes = true; break;
		case O_HOSTILE_JPEG: o->hostile_jpeg = true; break;
		case O_EVENT_FLOOD: o->event_flood = real("event-flood", optarg, 0, 1e6); break;
		case O_EXTRA_CHANNEL:
			if (unescape_name(optarg, o->extra_channel, sizeof o->extra_channel) <= 0)
				bad("--extra-channel: '%s' is not a name of 1..%d bytes", optarg,
				    OMV_CHANNEL_NAME_MAX);
			break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		case ':': bad("option '%s' needs a value", argv[optind - 1]);
		default: bad("unknown option '%s'", optind > 0 ? argv[optind - 1] : n);
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'", argv[optind]);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

/* Link shaping and the 10 ms lock rule need timers finer than the
 * coarse monotonic clock libevent uses by default (4 ms ticks on some
 * kernels). */
static struct event_base *new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int main(int argc, char **argv)
{
	static struct sim sim;
	struct sim *s = &sim;
	struct event *sigterm = NULL, *sigint = NULL;
	int rc = 1;

	parse(argc, argv, &s->o);
	s->master = s->slave = s->ino_fd = -1;
	verbose = s->o.verbose;
	signal(SIGPIPE, SIG_IGN);
	s->t0_ms = sim_now_ms();
	s->base = new_base();
	if (!s->base)
		return 1;
	sigterm = evsignal_new(s->base, SIGTERM, on_signal, s->base);
	sigint = evsignal_new(s->base, SIGINT, on_signal, s->base);
	if (!sigterm || !sigint || event_add(sigterm, NULL) < 0 || event_add(sigint, NULL) < 0)
		goto out;
	if (faults_init(s) < 0 || device_init(s) < 0 || flood_init(s) < 0 ||
	    control_init(s) < 0 || pty_init(s) < 0)
		goto out;
	event_base_dispatch(s->base);
	rc = 0;
out:
	control_free(s);
	pty_free(s);
	flood_free(s);
	device_free(s);
	faults_free(s);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	event_base_free(s->base);
	return rc;
}
