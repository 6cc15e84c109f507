/*
 * The script's life as the daemon tells it. A run begins when the cam
 * acknowledges EXEC, or says that it started a script by itself, and gets
 * the next run id; its output is marked as that run's in the history. It
 * ends when the cam says so (stdin event 0), when the cam soft-reboots or
 * turns out to have re-initialised unseen, or when the link is lost. The
 * end is announced (script_running false, and why) only once the run's
 * last output is in the history. exec stops a running script and uploads
 * the new one only after that end, so that no run's output mixes with the
 * next one's.
 */
#include "cam_int.h"

#include "log.h"
#include "stdout_log.h"

/* How long exec waits for the end of the script it stopped, in command
 * timeouts. */
#define EXEC_END_WAIT 3
/* A cam that ends a script without a soft reboot is not waited for longer. */
#define SCRIPT_END_REBOOT_WAIT_MS 500
/* A lossy link fails a command even after its resync and retry now and
 * then: the upload, and the end's drain, start again rather than give up,
 * this many times. */
#define SCRIPT_STEP_TRIES 3

static bool link_glitch(const struct cam_reply *rep)
{
	return rep->err == CAM_E_TIMEOUT || rep->err == CAM_E_PROTOCOL;
}

static void tell_state(struct camera *c)
{
	if (c->listener.state_changed != NULL)
		c->listener.state_changed(c->lctx);
}

const char *run_end_name(enum run_end e)
{
	switch (e) {
	case RUN_END_EXITED: return "exited";
	case RUN_END_STOPPED: return "stopped";
	case RUN_END_REPLACED: return "replaced";
	case RUN_END_LINK: return "link";
	default: return NULL;
	}
}

void cam_script_ended(struct camera *c)
{
	if (!c->script_ending)
		return;
	c->script_ending = false;
	if (c->shared.script_running) {
		c->shared.script_running = false;
		c->shared.end = c->end_cause != RUN_END_NONE ? c->end_cause : RUN_END_EXITED;
		c->end_cause = RUN_END_NONE;
		tell_state(c);
	}
}

/* The new run is told by the caller: exec answers first, so that its
 * caller knows the run id the state then announces. */
static void run_begin(struct camera *c)
{
	cam_script_ended(c);	/* the previous end comes first */
	c->shared.run++;
	c->run_reboots = c->reboots;
	stdout_log_mark_run(c->log, c->shared.run);
	c->shared.script_running = true;
	c->shared.end = RUN_END_NONE;
	c->end_cause = RUN_END_NONE;
}

void cam_script_started(struct camera *c)
{
	if (c->exec_pending) {	/* our EXEC, its answer not handled yet */
		c->exec_pending = false;
		run_begin(c);
		c->exec_run = c->shared.run;
		tell_state(c);
		return;
	}
	/* Begun already on EXEC's answer; else the cam started one itself. */
	if (c->shared.script_running && !c->script_ending)
		return;
	run_begin(c);
	tell_state(c);
}

void cam_script_lost(struct camera *c)
{
	c->exec_pending = false;
	c->end_cause = RUN_END_LINK;
	c->script_ends++;	/* no end request of before may announce */
	c->script_ending = c->shared.script_running;
	cam_script_ended(c);
}

/* ------------------------------------------------------------------ */
/* end of a run: wait for the soft reboot and its resync, drain stdout to
 * the last byte, then announce. The cam prints "MPY: soft reboot" before
 * it re-initialises its protocol, so a drain after the resync gets
 * everything the script and the reboot printed. */

static bool end_ready(struct camera *c, struct cam_req *r, uint64_t now)
{
	if (r->flag)
		return true;
	if ((c->reboots > r->gen && !c->prog_running) || now >= r->deadline) {
		r->flag = true;		/* waited: from now on a plain drain */
		r->deadline = 0;
		return true;
	}
	return false;
}

static void end_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	uint32_t size;
	bool last;

	/* r->pos: drains started again after a glitch */
	if (link_glitch(rep) && ++r->pos < SCRIPT_STEP_TRIES) {
		r->step = 0;
		return;
	}
	last = rep->err != CAM_OK ||
	       (r->step == 0 && (omv_u32_decode(&size, rep->data, rep->len) < 0 || size == 0));

	/* An end that a newer one (or a new run) overtook is not this
	 * request's to announce. */
	if (last && r->gen2 == c->script_ends)
		cam_script_ended(c);
	cam_drain_result(c, r, rep);
}

static const struct cam_req_ops op_script_end = {
	.name = "script end", .issue = cam_drain_issue, .result = end_result, .ready = end_ready,
};

void cam_script_ending(struct camera *c)
{
	struct cam_req *r;

	if (!c->shared.script_running || c->script_ending)
		return;
	c->script_ending = true;
	r = cam_req_new(c->out_owner, &op_script_end, NULL, NULL);
	if (r == NULL) {	/* out of memory: announce without waiting */
		cam_script_ended(c);
		return;
	}
	r->gen = c->run_reboots;
	r->gen2 = ++c->script_ends;
	r->deadline = cam_now_us() + SCRIPT_END_REBOOT_WAIT_MS * 1000;
	cam_req_submit(r);
}

/* ------------------------------------------------------------------ */
/* exec: [STOP, wait for the end to be announced,] RESET, WRITE..., EXEC */

enum { EXEC_START, EXEC_WAIT, EXEC_RESET, EXEC_WRITE, EXEC_RUN };

static bool exec_ready(struct camera *c, struct cam_req *r, uint64_t now)
{
	/* The cam has one script buffer: two uploads must not interleave.
	 * The later exec goes after, and replaces the earlier's script. */
	if (c->exec_active != NULL && c->exec_active != r)
		return false;
	if (r->step != EXEC_WAIT)
		return true;
	return (!c->shared.script_running && c->prog == 0) || now >= r->deadline;
}

static void exec_fail(struct camera *c, struct cam_req *r, int err)
{
	c->exec_pending = false;
	cam_req_fail(c, r, err, 0);
}

static void exec_send(struct camera *c, struct cam_req *r, uint32_t request)
{
	if (cam_send_ioctl(c, r, OMV_CHAN_STDIN, request, NULL, 0) < 0)
		exec_fail(c, r, CAM_E_INVALID);
}

static void exec_done(struct camera *c, struct cam_req *r)
{
	uint64_t run = c->exec_run;

	cam_req_ok(c, r, &run, sizeof run);
}

static void exec_issue(struct camera *c, struct cam_req *r)
{
	uint16_t max = cam_max_payload(c);

	c->exec_active = r;
	switch (r->step) {
	case EXEC_START:
		if (!c->shared.script_running) {
			r->step = EXEC_RESET;
			break;
		}
		r->deadline = cam_now_us() + (uint64_t)c->opt.timeout_ms * EXEC_END_WAIT * 1000;
		if (!c->script_ending) {
			c->end_cause = RUN_END_REPLACED;
			exec_send(c, r, OMV_IOCTL_STDIN_STOP);
			return;
		}
		r->step = EXEC_WAIT;	/* its end is being drained: wait */
		return;
	case EXEC_WAIT:
		/* No end in time: the cam did not stop, or its end went
		 * unseen; say it ended, then upload anyway. */
		if (c->shared.script_running) {
			log_warn("cam %s: no end of the running script after STOP; uploading anyway",
				 c->port);
			c->script_ends++;
			c->script_ending = true;
			cam_script_ended(c);
		}
		r->deadline = 0;
		r->step = EXEC_RESET;
		break;
	default:
		break;
	}
	/* A soft reboot between RESET and EXEC empties the script buffer:
	 * start the upload again. */
	if (r->step != EXEC_RESET && c->reboots != r->gen2)
		r->step = EXEC_RESET;
	switch (r->step) {
	case EXEC_RESET:
		r->gen2 = c->reboots;
		r->pos = 0;
		exec_send(c, r, OMV_IOCTL_STDIN_RESET);
		return;
	case EXEC_WRITE: {
		uint8_t buf[OMV_PAYLOAD_LIMIT];
		uint32_t chunk = (uint32_t)(r->len - r->pos);
		size_t n;

		if (chunk > (uint32_t)max - OMV_WRITE_HDR_SIZE)
			chunk = (uint32_t)max - OMV_WRITE_HDR_SIZE;
		n = omv_write_req_encode(r->pos, r->buf + r->pos, chunk, buf, sizeof buf);
		r->sent = chunk;
		if (cam_send(c, r, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN, buf, n) < 0)
			exec_fail(c, r, CAM_E_INVALID);
		return;
	}
	case EXEC_RUN:
		/* A retry of an EXEC whose start the cam announced meanwhile:
		 * sending it again would replace the script. */
		if (r->flag && !c->exec_pending) {
			exec_done(c, r);
			return;
		}
		r->flag = true;
		c->exec_pending = true;
		c->exec_run = 0;
		exec_send(c, r, OMV_IOCTL_STDIN_EXEC);
		return;
	default:
		exec_fail(c, r, CAM_E_INVALID);
		return;
	}
}

static void exec_result(struct camera *c, struct cam_req *r, const struct cam_reply *rep)
{
	/* r->offset: uploads started again after a glitch. EXEC itself is
	 * not sent again: the cam may have run it. */
	if ((r->step == EXEC_RESET || r->step == EXEC_WRITE) && link_glitch(rep) &&
	    ++r->offset < SCRIPT_STEP_TRIES) {
		r->step = EXEC_RESET;
		return;
	}
	if (rep->err != CAM_OK) {
		if (r->step == EXEC_RUN)
			c->exec_pending = false;
		cam_req_finish(c, r, rep);
		return;
	}
	switch (r->step) {
	case EXEC_START:
		r->step = EXEC_WAIT;
		break;
	case EXEC_RESET:
		r->step = r->len > 0 ? EXEC_WRITE : EXEC_RUN;
		break;
	case EXEC_WRITE:
		r->pos += r->sent;
		if (r->pos >= r->len)
			r->step = EXEC_RUN;
		break;
	case EXEC_RUN:
		/* The cam runs it now, whether or not its start event comes. */
		if (c->exec_pending) {
			c->exec_pending = false;
			run_begin(c);
			c->exec_run = c->shared.run;
			exec_done(c, r);
			tell_state(c);
			break;
		}
		exec_done(c, r);
		break;
	default:
		break;
	}
}

static void exec_finished(struct camera *c, struct cam_req *r)
{
	if (c->exec_active == r)
		c->exec_active = NULL;
}

static const struct cam_req_ops op_exec = {
	.name = "exec", .issue = exec_issue, .result = exec_result, .ready = exec_ready,
	.finished = exec_finished, .outlives_owner = true,
};

/* ------------------------------------------------------------------ */
/* stop: STOP; the run's end, when it comes, says it was stopped */

static void stop_issue(struct camera *c, struct cam_req *r)
{
	if (c->shared.script_running && !c->script_ending)
		c->end_cause = RUN_END_STOPPED;
	if (cam_send_ioctl(c, r, OMV_CHAN_STDIN, OMV_IOCTL_STDIN_STOP, NULL, 0) < 0)
		cam_req_fail(c, r, CAM_E_INVALID, 0);
}

static const struct cam_req_ops op_stop = {
	.name = "stop", .issue = stop_issue, .result = cam_req_finish,
};

void camera_stop(struct cam_owner *o, cam_done_fn done, void *arg)
{
	struct cam_req *r = cam_req_new(o, &op_stop, done, arg);

	if (r != NULL)
		cam_req_submit(r);
}

void camera_exec(struct cam_owner *o, const char *script, size_t len, cam_done_fn done, void *arg)
{
	struct cam_req *r = cam_req_new(o, &op_exec, done, arg);

	if (r != NULL)
		cam_req_submit_copy(r, script, len);
}
