/* omvd: options and wiring of the camera, the RPC server, systemd and
 * signals. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "cam_link.h"
#include "camera.h"
#include "log.h"
#include "rpc_server.h"
#include "serial_port.h"
#include "service.h"
#include "socket_alias.h"

struct daemon {
	struct event_base *base;
	struct service *svc;
	struct rpc_server *server;
	struct camera *cam;
	const char *port;	/* named in the systemd status line */
	struct socket_alias alias;	/* by-serial/<serial>.sock */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: omvd [OPTION]...\n"
		"Own an OpenMV cam's serial link and serve JSON-RPC 2.0 on a Unix socket.\n\n"
		"  -p, --port PATH          serial port (default /dev/ttyACM0)\n"
		"  -b, --baudrate N         baud rate (default 921600)\n"
		"  -s, --socket PATH        socket path (default /run/omvd/omvd.sock)\n"
		"      --crc, --no-crc      packet CRCs (default on)\n"
		"      --seq, --no-seq      sequence numbers (default on)\n"
		"      --ack, --no-ack      acknowledgements (default on)\n"
		"      --events, --no-events  cam events (default on)\n"
		"  -t, --timeout SECONDS    silence allowed within an answer (default 1.0)\n"
		"      --max-retry N        resync attempts (default 3)\n"
		"      --max-payload N      wanted max payload (default 4096)\n"
		"      --drop-rate P        test only: drop received packets\n"
		"      --seed N             seed for --drop-rate\n"
		"      --max-request BYTES  longest request line (default 4194304)\n"
		"      --input-budget BYTES  unfinished input of all clients (default 67108864)\n"
		"      --client-output BYTES  a client's output above which its reading\n"
		"                           pauses and notifications wait (default 4194304)\n"
		"      --max-output BYTES   a client's output above which it is cut\n"
		"                           (default 67108864)\n"
		"      --output-budget BYTES  output of all clients (default 67108864)\n"
		"      --max-clients N      clients at once (default 1024)\n"
		"      --stdout-history BYTES  stdout kept for polling clients\n"
		"      --frame-workers N    threads preparing frames (default: one per CPU, up to 4)\n"
		"      --max-frame-pixels N  largest frame decoded (default 8388608)\n"
		"  -v, --verbose            more log lines (repeatable)\n"
		"  -q, --quiet              fewer log lines\n"
		"  -h, --help               this text\n"
		"  -V, --version            version\n");
}

enum {
	OPT_CRC = 256, OPT_NO_CRC, OPT_SEQ, OPT_NO_SEQ, OPT_ACK, OPT_NO_ACK, OPT_EVENTS,
	OPT_NO_EVENTS, OPT_MAX_RETRY, OPT_MAX_PAYLOAD, OPT_DROP_RATE, OPT_SEED,
	OPT_MAX_REQUEST, OPT_MAX_CLIENTS, OPT_STDOUT_HISTORY, OPT_INPUT_BUDGET,
	OPT_CLIENT_OUTPUT, OPT_MAX_OUTPUT, OPT_OUTPUT_BUDGET, OPT_FRAME_WORKERS,
	OPT_MAX_FRAME_PIXELS,
};

static const struct option long_options[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "baudrate", required_argument, NULL, 'b' },
	{ "socket", required_argument, NULL, 's' },
	{ "crc", no_argument, NULL, OPT_CRC },
	{ "no-crc", no_argument, NULL, OPT_NO_CRC },
	{ "seq", no_argument, NULL, OPT_SEQ },
	{ "no-seq", no_argument, NULL, OPT_NO_SEQ },
	{ "ack", no_argument, NULL, OPT_ACK },
	{ "no-ack", no_argument, NULL, OPT_NO_ACK },
	{ "events", no_argument, NULL, OPT_EVENTS },
	{ "no-events", no_argument, NULL, OPT_NO_EVENTS },
	{ "timeout", required_argument, NULL, 't' },
	{ "max-retry", required_argument, NULL, OPT_MAX_RETRY },
	{ "max-payload", required_argument, NULL, OPT_MAX_PAYLOAD },
	{ "drop-rate", required_argument, NULL, OPT_DROP_RATE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "max-request", required_argument, NULL, OPT_MAX_REQUEST },
	{ "input-budget", required_argument, NULL, OPT_INPUT_BUDGET },
	{ "client-output", required_argument, NULL, OPT_CLIENT_OUTPUT },
	{ "max-output", required_argument, NULL, OPT_MAX_OUTPUT },
	{ "output-budget", required_argument, NULL, OPT_OUTPUT_BUDGET },
	{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "stdout-history", required_argument, NULL, OPT_STDOUT_HISTORY },
	{ "frame-workers", required_argument, NULL, OPT_FRAME_WORKERS },
	{ "max-frame-pixels", required_argument, NULL, OPT_MAX_FRAME_PIXELS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Whole-string unsigned parse within [min, max]; exits on bad input. */
static unsigned long long parse_uint(const char *opt, const char *s, unsigned long long min,
				     unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "omvd: --%s: expected an integer in [%llu, %llu], got '%s'\n", opt,
			min, max, s);
		exit(2);
	}
	return v;
}

static double parse_double(const char *opt, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "omvd: --%s: expected a number in [%g, %g], got '%s'\n", opt, min,
			max, s);
		exit(2);
	}
	return v;
}

static void parse_options(int argc, char **argv, struct camera_options *co,
			  struct rpc_server_options *so, int *log_level)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "p:b:s:t:vqhV", long_options, NULL)) != -1) {
		switch (opt) {
		case 'p': co->port = optarg; break;
		case 'b': co->baudrate = (int)parse_uint("baudrate", optarg, 1, 100000000); break;
		case 's': so->socket_path = optarg; break;
		case OPT_CRC: co->want.crc = true; break;
		case OPT_NO_CRC: co->want.crc = false; break;
		case OPT_SEQ: co->want.seq = true; break;
		case OPT_NO_SEQ: co->want.seq = false; break;
		case OPT_ACK: co->want.ack = true; break;
		case OPT_NO_ACK: co->want.ack = false; break;
		case OPT_EVENTS: co->want.events = true; break;
		case OPT_NO_EVENTS: co->want.events = false; break;
		case 't':
			co->timeout_ms = (unsigned)(parse_double("timeout", optarg, 0.001, 3600) * 1000);
			break;
		case OPT_MAX_RETRY: co->max_retry = (unsigned)parse_uint("max-retry", optarg, 0, 100); break;
		case OPT_MAX_PAYLOAD:
			co->want.max_payload = (uint16_t)parse_uint("max-payload", optarg, 52, 65535);
			break;
		case OPT_DROP_RATE: co->drop_rate = parse_double("drop-rate", optarg, 0, 1); break;
		case OPT_SEED: co->seed = (uint32_t)parse_uint("seed", optarg, 0, UINT32_MAX); break;
		case OPT_MAX_REQUEST:
			so->max_request = parse_uint("max-request", optarg, 64, 1u << 30);
			break;
		case OPT_INPUT_BUDGET:
			so->input_budget = parse_uint("input-budget", optarg, 1024, 1ull << 40);
			break;
		case OPT_CLIENT_OUTPUT:
			so->soft_limit = parse_uint("client-output", optarg, 1024, 1ull << 40);
			break;
		case OPT_MAX_OUTPUT:
			so->hard_limit = parse_uint("max-output", optarg, 1024, 1ull << 40);
			break;
		case OPT_OUTPUT_BUDGET:
			so->output_budget = parse_uint("output-budget", optarg, 1024, 1ull << 40);
			break;
		case OPT_MAX_CLIENTS:
			so->max_clients = (unsigned)parse_uint("max-clients", optarg, 1, 1000000);
			break;
		case OPT_STDOUT_HISTORY:
			co->stdout_history = parse_uint("stdout-history", optarg, 1024, 1u << 30);
			break;
		case OPT_FRAME_WORKERS:
			so->frame_workers = (unsigned)parse_uint("frame-workers", optarg, 1, 64);
			break;
		case OPT_MAX_FRAME_PIXELS:
			so->max_frame_pixels = parse_uint("max-frame-pixels", optarg, 1, 1u << 28);
			break;
		case 'v': *log_level = *log_level < LOG_LVL_DEBUG ? *log_level + 1 : LOG_LVL_DEBUG; break;
		case 'q': *log_level = *log_level > LOG_LVL_ERR ? *log_level - 1 : LOG_LVL_ERR; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("omvd %s\n", OMVD_VERSION); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "omvd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (so->soft_limit > so->hard_limit || so->hard_limit > so->output_budget) {
		fprintf(stderr, "omvd: expected --client-output <= --max-output <= --output-budget\n");
		exit(2);
	}
	if (so->max_request > so->input_budget) {
		fprintf(stderr, "omvd: expected --max-request <= --input-budget\n");
		exit(2);
	}
	/* A reply that could never be queued is refused with -32008. */
	if (so->max_response > so->hard_limit)
		so->max_response = so->hard_limit;
}

/* Room for every client plus the port and the loop's own descriptors. */
static void raise_fd_limit(unsigned max_clients)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= (rlim_t)max_clients + 64)
		return;
	rl.rlim_cur = rl.rlim_max < (rlim_t)max_clients + 64 ? rl.rlim_max : (rlim_t)max_clients + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("cannot raise the descriptor limit: %s", strerror(errno));
}

/* Timers on the precise monotonic clock: the coarse one libevent uses by
 * default ticks every few ms on many kernels, and frame pacing (the cam's
 * 10 ms lock interval) would overshoot by up to a tick per frame.
 * Two priorities: the cam's events (CAM_EVENT_PRIORITY) first, everything
 * else after; and after each callback of the others the loop looks for
 * new input again, so the cam's link waits behind one client callback at
 * most, not behind every client that was ready. */
static struct event_base *new_event_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	event_config_set_max_dispatch_interval(cfg, NULL, 1, CAM_EVENT_PRIORITY + 1);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base != NULL && event_base_priority_init(base, 2) < 0) {
		event_base_free(base);
		return NULL;
	}
	return base;
}

static void link_hook(void *arg, enum link_state st, const char *reason)
{
	struct daemon *d = arg;

	service_status(d->svc, "link %s on %s%s%s", link_state_name(st), d->port,
		       reason ? ": " : "", reason ? reason : "");
	if (st == LINK_READY && d->cam != NULL)
		socket_alias_set(&d->alias, camera_serial(d->cam));
}

static void stopped_cb(void *arg)
{
	struct daemon *d = arg;

	event_base_loopexit(d->base, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (sig == SIGHUP) {
		log_notice("SIGHUP: reopening the port");
		camera_reopen(d->cam);
		return;
	}
	log_notice("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	service_stopping(d->svc);
	rpc_server_shutdown(d->server, stopped_cb, d);
}

int main(int argc, char **argv)
{
	struct camera_options co;
	struct rpc_server_options so;
	struct daemon d = { 0 };
	struct event *sig_ev[3] = { NULL };
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	int log_level = LOG_LVL_INFO, listen_fd, rc = 1;
	char err[256];

	camera_options_default(&co);
	rpc_server_options_default(&so);
	parse_options(argc, argv, &co, &so, &log_level);
	d.port = co.port;
	log_init("omvd", log_level);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(so.max_clients);
	/* Large buffers (frames, their images and lines, long requests) come
	 * from the heap and are used again, frame after frame: a mapping of
	 * their own would be new pages, faulted in again for every frame
	 * (most of the CPU a decoded VGA frame costs). What the heap keeps
	 * free is bounded by the trim threshold below and the server's trims. */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	/* Freed memory at the top of the heap is kept up to this much (not
	 * given back and faulted in again for every large reply); the server
	 * trims the heap itself after large releases. */
	mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
	if (serial_port_check_free(co.port, err, sizeof err) < 0) {
		log_err("port %s: %s; is another omvd serving it?", co.port, err);
		return 1;
	}

	d.base = new_event_base();
	if (d.base == NULL) {
		log_err("cannot create the event loop");
		return 1;
	}
	d.svc = service_new(d.base);
	/* Before the socket exists: a client may connect and a SIGTERM follow
	 * at once; it must find the handler (it runs only from the loop). */
	for (int i = 0; i < 3; i++) {
		sig_ev[i] = evsignal_new(d.base, sigs[i], signal_cb, &d);
		if (sig_ev[i] == NULL || evsignal_add(sig_ev[i], NULL) < 0) {
			log_err("cannot watch signal %d", sigs[i]);
			goto out;
		}
	}
	listen_fd = service_listen_fd();
	if (listen_fd == -2)
		goto out;
	so.listen_fd = listen_fd;
	so.link_hook = link_hook;
	so.link_hook_arg = &d;
	d.server = rpc_server_new(d.base, &so, err, sizeof err);
	if (d.server == NULL) {
		log_err("%s", err);
		goto out;
	}
	d.cam = camera_new(d.base, &co, rpc_server_camera_listener(), d.server);
	if (d.cam == NULL) {
		log_err("cannot set up the camera");
		goto out;
	}
	rpc_server_set_camera(d.server, d.cam);
	socket_alias_init(&d.alias, listen_fd, so.socket_path);
	service_ready(d.svc);
	service_status(d.svc, "serving on %s", listen_fd >= 0 ? "the systemd socket" : so.socket_path);
	event_base_dispatch(d.base);
	rc = 0;
out:
	socket_alias_clear(&d.alias);
	/* Clients first: their cam owners must go before the camera. */
	rpc_server_free(d.server);
	if (d.cam != NULL)
		camera_free(d.cam);
	for (int i = 0; i < 3; i++)
		if (sig_ev[i] != NULL)
			event_free(sig_ev[i]);
	service_free(d.svc);
	event_base_free(d.base);
	libevent_global_shutdown();
	return rc;
}
