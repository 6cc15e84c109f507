/*
 * The link program and cam events. The program is the ordered list of
 * link-level steps that run before any request gets the wire: SYNC,
 * GET_CAPS, SET_CAPS, CHANNEL_LIST, PROTO_VERSION, SYS_INFO and the
 * streaming state; a handshake does them all, a resync SYNC + SET_CAPS,
 * a soft reboot adds the channel list and streaming. Events decide which
 * steps are due (and what the daemon drains and fetches next).
 */
#include "cam_int.h"

#include <stdio.h>
#include <string.h>

#include "cam_link.h"
#include "cam_serial.h"
#include "log.h"

/* ------------------------------------------------------------------ */
/* the link program: handshake, resync, refreshes */

void cam_prog_request(struct camera *c, unsigned steps, const char *reason)
{
	if (!cam_link_is_open(c->link))
		return;
	if ((steps & PROG_SYNC) && !(c->prog & PROG_SYNC)) {
		snprintf(c->prog_reason, sizeof c->prog_reason, "%s", reason);
		if (c->established) {
			c->counters.resyncs++;
			log_info("cam %s: resync (%s)", c->port, reason);
		}
	}
	/* A rebooted cam forgot its channels and streaming state. */
	if (steps & PROG_REINIT)
		memset(&c->cam_stream, 0, sizeof c->cam_stream);
	if ((steps & PROG_SET_CAPS) && !c->cam_caps_known)
		steps |= PROG_GET_CAPS;
	c->prog |= steps;
	c->prog_running = true;
	cam_kick(c);
}

static void prog_failed(struct camera *c, const char *what)
{
	char reason[160];

	/* A request that timed out waits for its retry while the resync goes
	 * on. When the cam stays silent through the resyncs allowed (one lost
	 * SYNC on a lossy link is no reason to give up), the request ends
	 * with TIMEOUT before the link is given up on. */
	c->resync_failures++;
	if (c->res_code == OMV_ERR_TIMEOUT && c->retry != NULL &&
	    c->resync_failures >= c->opt.max_retry) {
		struct cam_reply rep = { .err = CAM_E_TIMEOUT };
		struct cam_req *r = c->retry;

		c->retry = NULL;
		r->retried = false;
		r->ops->result(c, r, &rep);
	}
	if (c->resync_failures > c->opt.max_retry) {
		snprintf(reason, sizeof reason, "no answer after %u resyncs (%s)",
			 c->opt.max_retry, what);
		cam_link_drop(c, reason);
		return;
	}
	cam_prog_request(c, PROG_RESYNC, what);
}

static void prog_done(struct camera *c)
{
	c->prog_running = false;
	c->resync_failures = 0;
	c->resync_gen++;
	if (!c->established) {
		char fw[64] = "";

		c->established = true;
		c->last_down[0] = '\0';	/* the next failure is news again */
		if (c->ever_established)
			c->counters.reconnects++;
		c->ever_established = true;
		c->ready_since = cam_now();
		cam_link_backoff_reset(c->link);
		if (c->have_version)
			snprintf(fw, sizeof fw, ", firmware %u.%u.%u",
				 c->version.firmware[0], c->version.firmware[1],
				 c->version.firmware[2]);
		log_info("cam %s: link up (max payload %u%s)", c->port,
			 c->host.caps.max_payload, fw);
		cam_set_state(c, LINK_READY, "connected");
	} else if (c->state != LINK_READY) {
		cam_set_state(c, LINK_READY, "resynced (%s)", c->prog_reason);
	}
	if (c->channels_refreshed) {
		c->channels_refreshed = false;
		if (c->listener.channels_changed != NULL)
			c->listener.channels_changed(c->lctx);
	}
}

static void negotiated_caps(const struct camera *c, struct omv_caps *caps)
{
	*caps = c->opt.want;
	if (c->cam_caps_known && c->cam_caps.max_payload < caps->max_payload)
		caps->max_payload = c->cam_caps.max_payload;
	if (caps->max_payload < OMV_MIN_PAYLOAD)
		caps->max_payload = OMV_MIN_PAYLOAD;
}

bool cam_prog_issue(struct camera *c)
{
	uint64_t now = cam_now();
	unsigned timeout = c->opt.timeout_ms;
	struct omv_caps caps;
	size_t arg_len;
	int rc = 0;

	while (c->prog != 0) {
		unsigned step = c->prog & -c->prog;	/* lowest bit first */

		switch (step) {
		case PROG_SYNC:
			cam_set_state(c, LINK_SYNCING, "%s", c->prog_reason);
			cam_locks_released(c);	/* the cam releases them on SYNC */
			c->syncs_sent++;
			c->host_cancelling = true;
			omv_host_sync(&c->host, now, timeout);
			c->host_cancelling = false;
			break;
		case PROG_GET_CAPS:
			if (c->state != LINK_NEGOTIATING)
				cam_set_state(c, LINK_NEGOTIATING, "%s", c->prog_reason);
			rc = omv_host_command(&c->host, OMV_OP_PROTO_GET_CAPS, 0, NULL, 0, now,
					      timeout, NULL, 0);
			break;
		case PROG_SET_CAPS:
			if (c->state != LINK_NEGOTIATING)
				cam_set_state(c, LINK_NEGOTIATING, "%s", c->prog_reason);
			negotiated_caps(c, &caps);
			rc = omv_host_set_caps(&c->host, &caps, now, timeout);
			break;
		case PROG_CHANNELS:
			rc = omv_host_command(&c->host, OMV_OP_CHANNEL_LIST, 0, NULL, 0, now,
					      timeout, NULL, 0);
			break;
		case PROG_VERSION:
			rc = omv_host_command(&c->host, OMV_OP_PROTO_VERSION, 0, NULL, 0, now,
					      timeout, NULL, 0);
			break;
		case PROG_SYSINFO:
			rc = omv_host_command(&c->host, OMV_OP_SYS_INFO, 0, NULL, 0, now,
					      timeout, NULL, 0);
			break;
		case PROG_LOCKS:
			rc = cam_relock_issue(c, cam_now_us());
			if (rc == 0)
				return false;
			if (rc == 2) {
				c->prog &= ~step;
				continue;
			}
			rc = rc < 0 ? -1 : 0;
			break;
		case PROG_STREAM:
			if (!cam_stream_next(c, &c->prog_ioreq, c->prog_ioarg, &arg_len)) {
				c->prog &= ~step;
				continue;
			}
			{
				uint8_t buf[16];
				size_t n = omv_ioctl_req_encode(c->prog_ioreq, c->prog_ioarg,
								arg_len, buf, sizeof buf);

				rc = omv_host_command(&c->host, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STREAM,
						      buf, n, now, timeout, NULL, 0);
			}
			break;
		default:
			c->prog &= ~step;
			continue;
		}
		if (rc < 0) {	/* cannot happen with an idle host; do not spin */
			log_err("cam %s: could not send %s step", c->port,
				step == PROG_SET_CAPS ? "SET_CAPS" : "link");
			c->prog &= ~step;
			continue;
		}
		c->inflight = INF_PROG;
		c->prog_step = step;
		return true;
	}
	prog_done(c);
	return true;
}

void cam_prog_result(struct camera *c)
{
	unsigned step = c->prog_step;
	const uint8_t *p = c->res_data;
	size_t n = c->res_len;
	struct cam_channel list[OMV_CHANNELS_MAX];
	size_t count;

	c->prog_step = 0;
	if (step == PROG_LOCKS && (c->res_code == OMV_OK ||
				   (c->res_code == OMV_ERR_NAK && c->res_status != OMV_ST_CHECKSUM &&
				    c->res_status != OMV_ST_SEQUENCE &&
				    c->res_status != OMV_ST_TIMEOUT))) {
		cam_relock_result(c);
		return;		/* the bit stays until no lock is left to take */
	}
	if (c->res_code != OMV_OK) {
		bool optional = step == PROG_VERSION || step == PROG_SYSINFO || step == PROG_STREAM;
		char what[96];

		if (c->res_code == OMV_ERR_NAK && optional &&
		    c->res_status != OMV_ST_CHECKSUM && c->res_status != OMV_ST_SEQUENCE &&
		    c->res_status != OMV_ST_TIMEOUT) {
			/* Older firmware may not know it: carry on without. */
			log_warn("cam %s: link step %u refused: %s", c->port, step,
				 omv_status_name(c->res_status));
			if (step == PROG_STREAM)	/* do not ask again and again */
				cam_stream_applied(c, c->prog_ioreq, c->prog_ioarg);
			else
				c->prog &= ~step;
			return;
		}
		if (c->res_code == OMV_ERR_NAK)
			snprintf(what, sizeof what, "NAK %s", omv_status_name(c->res_status));
		else
			snprintf(what, sizeof what, "%s", omv_result_name(c->res_code));
		/* The cam lost our sequence: it re-initialised since the SYNC. */
		if (c->res_code == OMV_ERR_NAK && c->res_status == OMV_ST_SEQUENCE)
			cam_reinit_seen(c, what);
		prog_failed(c, what);
		return;
	}
	switch (step) {
	case PROG_GET_CAPS:
		if (omv_caps_decode(&c->cam_caps, p, n) < 0) {
			prog_failed(c, "bad GET_CAPS answer");
			return;
		}
		c->cam_caps_known = true;
		break;
	case PROG_CHANNELS:
		if (camera_channel_list_decode(list, OMV_CHANNELS_MAX, &count, p, n) < 0) {
			prog_failed(c, "bad CHANNEL_LIST answer");
			return;
		}
		if (count != c->nchannels || memcmp(c->channels, list, count * sizeof list[0]) != 0)
			c->channels_refreshed = true;	/* told once the program is done */
		memcpy(c->channels, list, count * sizeof list[0]);
		c->nchannels = count;
		break;
	case PROG_VERSION:
		c->have_version = omv_version_decode(&c->version, p, n) == 0;
		break;
	case PROG_SYSINFO:
		c->have_sysinfo = omv_sysinfo_decode(&c->sysinfo, p, n) == 0;
		cam_serial_learn(c);
		break;
	case PROG_STREAM:
		cam_stream_applied(c, c->prog_ioreq, c->prog_ioarg);
		return;		/* the bit stays until nothing differs */
	default:
		break;
	}
	c->prog &= ~step;
}

/* ------------------------------------------------------------------ */
/* events */

void cam_reinit_seen(struct camera *c, const char *reason)
{
	c->reboots++;
	cam_locks_released(c);
	cam_prog_request(c, PROG_RESYNC | PROG_REINIT, reason);
	cam_script_ending(c);
}

/* The cam re-initialised its protocol: what was on the wire is lost. */
static void soft_reboot(struct camera *c)
{
	if (c->inflight != INF_NONE) {
		cam_host_cancel(c);
		if (c->inflight == INF_REQ && c->cur != NULL)
			c->retry = c->cur;	/* not its fault: no retry used */
		else if (c->inflight == INF_PROG)
			c->prog |= c->prog_step;
		c->inflight = INF_NONE;
		c->cur = NULL;
		c->prog_step = 0;
		c->result_ready = false;
	}
	cam_reinit_seen(c, "soft reboot");
}

void cam_note_notify(struct camera *c, uint8_t chan)
{
	if (chan == OMV_CHAN_STDOUT) {
		c->stdout_pending = true;
	} else if (chan == OMV_CHAN_STREAM && cam_wants_frames(c)) {
		c->frame_pending = true;
		c->frame_poll = false;
	}
}

static void handle_event(struct camera *c, const struct cam_event *e)
{
	if (c->listener.event != NULL)
		c->listener.event(c->lctx, e->chan, e->opcode, e->code);
	if (!cam_link_is_open(c->link))
		return;
	if (e->chan == OMV_CHAN_SYSTEM && e->opcode == OMV_OP_SYS_EVENT) {
		switch (e->code) {
		case OMV_EV_CHANNEL_REGISTERED:
		case OMV_EV_CHANNEL_UNREGISTERED:
			cam_prog_request(c, PROG_CHANNELS, "channels changed");
			break;
		case OMV_EV_SOFT_REBOOT:
			soft_reboot(c);
			break;
		default:
			break;
		}
		return;
	}
	if (e->opcode != OMV_OP_CHANNEL_EVENT)
		return;
	if (e->chan == OMV_CHAN_STDIN && e->code != OMV_EV_NOTIFY) {
		if (e->code == OMV_EV_STDIN_STARTED)
			cam_script_started(c);
		else
			cam_script_ending(c);	/* announced once stdout is drained */
	} else if (e->code == OMV_EV_NOTIFY) {
		cam_note_notify(c, e->chan);
	}
}

void cam_handle_events(struct camera *c)
{
	while (c->ev_count > 0) {
		struct cam_event e = c->evq[c->ev_head];

		c->ev_head = (c->ev_head + 1) % CAM_EVQ_SIZE;
		c->ev_count--;
		handle_event(c, &e);
	}
}
