/*
 * omv-web: options and wiring only (see web.h for the rooms).
 */
#include "web.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void web_log(const char *fmt, ...)
{
	va_list ap;

	fputs("omv-web: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: omv-web [--socket PATH] [--listen HOST:PORT] [--token-file FILE]\n"
		"               [--public-view] [--max-viewers N] [--max-connections N]\n"
		"               [--timeout S]\n"
		"\n"
		"A live view of an OpenMV cam in the browser and an MJPEG stream, served\n"
		"from omvd's socket.\n"
		"\n"
		"  --socket PATH         omvd's socket (default $OMVD_SOCKET or %s)\n"
		"  --listen HOST:PORT    where to serve (default 127.0.0.1:8080; port 0 picks\n"
		"                        one); an address other than loopback serves the\n"
		"                        network: only when you mean it\n"
		"  --token-file FILE     read the control token from FILE (mode 0600) instead\n"
		"                        of making one at start\n"
		"  --public-view         let anyone who can connect view without the token\n"
		"                        (control always needs it)\n"
		"  --max-viewers N       MJPEG streams at once (default 32)\n"
		"  --max-connections N   HTTP connections at once (default 256)\n"
		"  --timeout S           close a connection idle in a request, or not taking\n"
		"                        its reply, for S seconds (default 10)\n"
		"  --version, --help\n",
		OMV_DEFAULT_SOCKET);
}

static int positive(const char *arg, const char *name)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v < 1 || v > 100000) {
		fprintf(stderr, "omv-web: %s must be a number from 1 to 100000\n", name);
		exit(2);
	}
	return (int)v;
}

static void parse_options(struct web_options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 't' },
		{ "public-view", no_argument, NULL, 'p' },
		{ "max-viewers", required_argument, NULL, 'v' },
		{ "max-connections", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*o = (struct web_options){
		.socket_path = omv_client_default_socket(),
		.listen = "127.0.0.1:8080",
		.max_viewers = 32,
		.max_connections = 256,
		.timeout_s = 10,
	};
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o->socket_path = optarg; break;
		case 'l': o->listen = optarg; break;
		case 't': o->token_file = optarg; break;
		case 'p': o->public_view = true; break;
		case 'v': o->max_viewers = positive(optarg, "--max-viewers"); break;
		case 'c': o->max_connections = positive(optarg, "--max-connections"); break;
		case 'T': o->timeout_s = positive(optarg, "--timeout"); break;
		case 'V': printf("omv-web %s\n", OMV_WEB_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "omv-web: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct web *w = arg;

	web_log("%s: stopping", strsignal((int)sig));
	event_base_loopbreak(w->base);
}

/* The address as a browser would write it: [v6] in brackets. */
static void print_urls(const struct web *w, const char *token_path)
{
	const char *colon = strrchr(w->opt.listen, ':');
	int hostlen = (int)(colon - w->opt.listen);
	const char *host = w->opt.listen;
	char shown[300];

	if (hostlen == 0 || (hostlen == 7 && strncmp(host, "0.0.0.0", 7) == 0))
		snprintf(shown, sizeof shown, "127.0.0.1");
	else if (memchr(host, ':', (size_t)hostlen) && host[0] != '[')
		snprintf(shown, sizeof shown, "[%.*s]", hostlen, host);
	else
		snprintf(shown, sizeof shown, "%.*s", hostlen, host);
	printf("omv-web: serving http://%s:%d/ for omvd at %s\n", shown, w->port,
	       w->opt.socket_path);
	if (token_path)
		printf("omv-web: control token written to %s\n", token_path);
	printf("omv-web: open http://%s:%d/?token=%s\n", shown, w->port, w->token);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct web w = { 0 };
	struct event *sigs[2];
	int rc = 1;

	parse_options(&w.opt, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (auth_init(&w) < 0)
		return 1;
	w.base = event_base_new();
	if (!w.base) {
		web_log("cannot create the event loop");
		return 1;
	}
	w.frames = frames_new(&w);
	w.mjpeg = mjpeg_new(&w);
	w.shots = snapshots_new(&w);
	w.events = events_new(&w);
	w.up = upstream_new(&w, w.opt.socket_path);
	sigs[0] = evsignal_new(w.base, SIGINT, on_signal, &w);
	sigs[1] = evsignal_new(w.base, SIGTERM, on_signal, &w);
	if (!w.frames || !w.mjpeg || !w.shots || !w.events || !w.up || !sigs[0] || !sigs[1] ||
	    event_add(sigs[0], NULL) < 0 || event_add(sigs[1], NULL) < 0) {
		web_log("out of memory");
		goto out;
	}
	if (http_start(&w) < 0)
		goto out;
	print_urls(&w, auth_save(&w));
	event_base_dispatch(w.base);
	rc = 0;
out:
	/* Streams first (they hold frames and connections), then the calls
	 * still waiting on omvd (their requests get an answer), then HTTP. */
	mjpeg_free(w.mjpeg);
	snapshots_free(w.shots);
	events_free(w.events);
	upstream_free(w.up);
	http_free(w.http);
	frames_free(w.frames);
	for (int i = 0; i < 2; i++)
		if (sigs[i])
			event_free(sigs[i]);
	event_base_free(w.base);
	return rc;
}
