/*
 * The control socket (--control PATH): lets tests look inside the cam and
 * trigger things deterministically. Unix stream socket, one command per
 * line, one JSON object per reply line. See omv-camsim(1) for the list.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "camsim.h"

#define MAX_LINE 65536

struct client {
	struct bufferevent *bev;
	struct client *next;
	struct control *ctl;
};

struct control {
	struct sim *sim;
	struct evconnlistener *listener;
	struct client *clients;
};

static json_t *caps_json(const struct omv_caps *c)
{
	return json_pack("{s:b, s:b, s:b, s:b, s:i}", "crc", c->crc, "seq", c->seq, "ack", c->ack,
			 "events", c->events, "max_payload", (int)c->max_payload);
}

static json_t *stats_json(struct sim *s)
{
	json_t *o = json_object(), *names = json_array();
	const struct sim_counters *n = &s->n;

	for (unsigned i = 0; i < OMV_CHANNELS_MAX; i++)
		if (s->ch[i].present)
			json_array_append_new(names, json_string(s->ch[i].name));
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "frames_produced", json_integer((json_int_t)n->frames_produced));
	json_object_set_new(o, "frames_read", json_integer((json_int_t)n->frames_read));
	json_object_set_new(o, "frame_number", json_integer(s->st.number));
	json_object_set_new(o, "frame_ready", json_boolean(s->st.ready));
	json_object_set_new(o, "locks", json_integer((json_int_t)n->locks));
	json_object_set_new(o, "stdout_bytes", json_integer((json_int_t)n->stdout_bytes));
	json_object_set_new(o, "stdout_read", json_integer((json_int_t)n->stdout_read));
	json_object_set_new(o, "stdout_lost", json_integer((json_int_t)n->stdout_lost));
	json_object_set_new(o, "stdout_waiting", json_integer((json_int_t)s->so.used));
	json_object_set_new(o, "pty", json_string(s->plugged ? s->pty_name : ""));
	json_object_set_new(o, "plugged", json_boolean(s->plugged));
	json_object_set_new(o, "protocol_active", json_boolean(s->plugged && s->active));
	json_object_set_new(o, "hosts", json_integer(s->hosts));
	json_object_set_new(o, "script_running", json_boolean(s->script != NULL));
	json_object_set_new(o, "streaming", json_boolean(s->st.enabled));
	json_object_set_new(o, "silent", json_boolean(faults_silent(s)));
	json_object_set_new(o, "event_flood", json_real(s->o.event_flood));
	json_object_set_new(o, "hostile_jpeg", json_boolean(s->o.hostile_jpeg));
	json_object_set_new(o, "raw", json_boolean(s->st.raw));
	json_object_set_new(o, "seq", json_integer(s->cam_up ? s->cam.seq : 0));
	if (s->cam_up) {
		const struct omv_proto_stats *p = &s->cam.stats;
		json_object_set_new(o, "caps", caps_json(&s->cam.caps));
		json_object_set_new(o, "proto_stats",
			json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
				  "sent", (int)p->sent, "received", (int)p->received,
				  "checksum", (int)p->checksum, "sequence", (int)p->sequence,
				  "retransmit", (int)p->retransmit, "transport", (int)p->transport,
				  "sent_events", (int)p->sent_events));
	}
	json_object_set_new(o, "channels", names);
	json_object_set_new(o, "commands", json_integer((json_int_t)n->commands));
	json_object_set_new(o, "soft_reboots", json_integer((json_int_t)n->soft_reboots));
	json_object_set_new(o, "unplugs", json_integer((json_int_t)n->unplugs));
	json_object_set_new(o, "replugs", json_integer((json_int_t)n->replugs));
	json_object_set_new(o, "ignored_bytes", json_integer((json_int_t)n->ignored_bytes));
	json_object_set_new(o, "packets_out", json_integer((json_int_t)n->out_packets));
	json_object_set_new(o, "packets_in", json_integer((json_int_t)n->in_packets));
	json_object_set_new(o, "dropped_out", json_integer((json_int_t)n->out_dropped));
	json_object_set_new(o, "dropped_in", json_integer((json_int_t)n->in_dropped));
	json_object_set_new(o, "corrupted_out", json_integer((json_int_t)n->out_corrupted));
	json_object_set_new(o, "corrupted_in", json_integer((json_int_t)n->in_corrupted));
	json_object_set_new(o, "garbage_out", json_integer((json_int_t)n->out_garbage));
	json_object_set_new(o, "garbage_in", json_integer((json_int_t)n->in_garbage));
	json_object_set_new(o, "overflow_out", json_integer((json_int_t)n->out_overflow));
	return o;
}

static json_t *ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *error(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

int unescape_name(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	while (*in) {
		unsigned v;
		char c = *in++;

		if (c == '\\' && *in == 'x') {
			if (sscanf(in + 1, "%2x", &v) != 1 || !isxdigit((unsigned char)in[1]) ||
			    !isxdigit((unsigned char)in[2]) || v == 0)
				return -1;
			c = (char)v;
			in += 3;
		} else if (c == '\\' && *in == '\\') {
			in++;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return (int)n;
}

/* set NAME VALUE: the hostile-cam switches, else a fault or shaping option. */
static int set_option(struct sim *s, const char *name, double v)
{
	if (!strcmp(name, "event-flood") && v >= 0 && v <= 1e6) {
		s->o.event_flood = v;
		flood_set_rate(s, v);
		return 0;
	}
	if (!strcmp(name, "hostile-jpeg") && (v == 0 || v == 1)) {
		s->o.hostile_jpeg = v != 0;
		return 0;
	}
	return faults_set(s, name, v);
}

static json_t *handle(struct sim *s, char *line)
{
	char *arg = strchr(line, ' ');
	char *end;

	if (arg)
		*arg++ = '\0';
	if (!strcmp(line, "stats"))
		return stats_json(s);
	if (!strcmp(line, "unplug")) {
		unsigned long ms = arg ? strtoul(arg, &end, 10) : s->o.replug_ms;
		if (arg && (end == arg || *end || ms > 600000))
			return error("usage: unplug [MS]");
		if (!s->plugged)
			return error("already unplugged");
		sim_schedule_unplug(s, 0, (unsigned)ms);
		return ok();
	}
	if (!strcmp(line, "reboot")) {
		if (!s->plugged)
			return error("unplugged");
		sim_schedule_unplug(s, 0, 200);
		return ok();
	}
	if (!strcmp(line, "soft-reboot")) {
		if (!s->cam_up)
			return error("unplugged");
		device_soft_reboot_later(s);
		return ok();
	}
	if (!strcmp(line, "notify") || !strcmp(line, "event")) {
		unsigned long chan = OMV_CHAN_STDOUT, code = OMV_EV_NOTIFY;
		if (arg)
			chan = strtoul(arg, &end, 0), arg = end;
		if (!strcmp(line, "event"))
			code = arg ? strtoul(arg, &end, 0) : 0;
		if (!s->cam_up || chan >= OMV_CHANNELS_MAX || code > 0xFFFF)
			return error("bad channel or event code, or unplugged");
		omv_cam_event(&s->cam, (uint8_t)chan, (uint16_t)code);
		return ok();
	}
	if (!strcmp(line, "print")) {
		if (!s->cam_up)
			return error("unplugged");
		if (arg)
			stdout_put(s, arg, strlen(arg));
		stdout_put(s, "\n", 1);
		return ok();
	}
	if (!strcmp(line, "set")) {
		char *value = arg ? strchr(arg, ' ') : NULL;
		if (!value)
			return error("usage: set NAME VALUE");
		*value++ = '\0';
		double v = strtod(value, &end);
		if (end == value || *end || set_option(s, arg, v) < 0)
			return error("unknown option or bad value");
		return ok();
	}
	if (!strcmp(line, "glitch")) {
		char *now = arg ? strchr(arg, ' ') : NULL;
		unsigned long ms;

		if (now)
			*now++ = '\0';
		ms = arg ? strtoul(arg, &end, 10) : 0;
		if (!arg || end == arg || *end || ms == 0 || ms > 600000 ||
		    (now && strcmp(now, "now")))
			return error("usage: glitch MS [now]");
		faults_glitch(s, (unsigned)ms, now != NULL);
		return ok();
	}
	if (!strcmp(line, "register")) {
		char name[OMV_CHANNEL_NAME_MAX + 1];
		int id;

		if (!arg || unescape_name(arg, name, sizeof name) <= 0)
			return error("usage: register NAME (1..13 bytes, \\xHH escapes)");
		if (!s->cam_up || (id = device_register_channel(s, name)) < 0)
			return error("name in use, no free channel, or unplugged");
		return json_pack("{s:b, s:i}", "ok", 1, "id", id);
	}
	if (!strcmp(line, "help"))
		return json_pack("{s:b, s:s}", "ok", 1, "commands",
				 "stats | unplug [MS] | reboot | soft-reboot | notify [CHAN] | "
				 "event CHAN CODE | print TEXT | set NAME VALUE | glitch MS [now] | "
				 "register NAME | help");
	return error("unknown command");
}

static void client_free(struct client *c)
{
	struct client **pp = &c->ctl->clients;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	bufferevent_free(c->bev);
	free(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))) {
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		json_t *reply = handle(c->ctl->sim, line);
		char *text = json_dumps(reply, JSON_COMPACT);
		if (text) {
			bufferevent_write(bev, text, strlen(text));
			bufferevent_write(bev, "\n", 1);
		}
		free(text);
		json_decref(reply);
		free(line);
	}
	if (evbuffer_get_length(in) > MAX_LINE)
		client_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_free(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int len, void *arg)
{
	struct control *ctl = arg;
	struct client *c = calloc(1, sizeof *c);

	if (!c) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->bev = bufferevent_socket_new(ctl->sim->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		free(c);
		return;
	}
	c->next = ctl->clients;
	ctl->clients = c;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int control_init(struct sim *s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *ctl;

	if (!s->o.control)
		return 0;
	if (strlen(s->o.control) >= sizeof sun.sun_path) {
		fprintf(stderr, "omv-camsim: control socket path too long\n");
		return -1;
	}
	strcpy(sun.sun_path, s->o.control);
	unlink(s->o.control);
	ctl = calloc(1, sizeof *ctl);
	if (!ctl)
		return -1;
	ctl->sim = s;
	s->control = ctl;
	ctl->listener = evconnlistener_new_bind(s->base, on_accept, ctl,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
						(struct sockaddr *)&sun, sizeof sun);
	if (!ctl->listener) {
		fprintf(stderr, "omv-camsim: control socket %s: %s\n", s->o.control,
			strerror(errno));
		return -1;
	}
	return 0;
}

void control_free(struct sim *s)
{
	struct control *ctl = s->control;

	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	if (ctl->listener) {
		evconnlistener_free(ctl->listener);
		unlink(s->o.control);
	}
	free(ctl);
	s->control = NULL;
}
