/*
 * The profile channel (--profile): a handful of made-up per-function
 * records whose counts grow while the cam runs. MODE, SET_EVENT and RESET
 * change them visibly: exclusive mode halves the ticks (callees excluded),
 * event counter k counts call_count * (event id + 1), RESET zeroes the
 * counts and restores the default event ids.
 * The records are frozen while the channel is locked.
 */
#include <stdlib.h>
#include <string.h>

#include "camsim.h"

#define RECORDS 6

static void reply(struct sim *s, uint16_t status, const void *data, size_t len)
{
	omv_cam_reply(&s->cam, status, data, len, sim_now_ms());
}

static size_t record_size(const struct sim *s)
{
	return omv_profile_record_size(s->o.pmu_events);
}

/* All records as they are now, in a malloc'd buffer of *len bytes. */
static uint8_t *build(struct sim *s, size_t *len)
{
	struct profile *p = &s->prof;
	size_t rs = record_size(s);
	uint8_t *out = calloc(RECORDS, rs);

	if (!out)
		return NULL;
	for (unsigned i = 0; i < RECORDS; i++) {
		struct omv_profile_record r = { .nevents = s->o.pmu_events };
		uint64_t per_call = 40 + 25 * i;

		r.address = 0x08010000u + i * 0x140u;
		r.caller = 0x08004000u + i * 0x20u;
		r.call_count = p->calls * (i + 1);
		if (r.call_count) {
			r.min_ticks = (uint32_t)per_call - 5;
			r.max_ticks = (uint32_t)per_call * 3;
		}
		r.total_ticks = r.call_count * per_call / (p->exclusive ? 2 : 1);
		r.total_cycles = r.total_ticks * 480;
		for (unsigned k = 0; k < r.nevents; k++)
			r.events[k] = (uint64_t)r.call_count * (p->event_ids[k] + 1);
		omv_profile_record_encode(&r, out + i * rs);
	}
	*len = RECORDS * rs;
	return out;
}

/* The RESET ioctl: counts to zero, default PMU event assignment. */
static void clear_counters(struct profile *p)
{
	p->calls = 0;
	for (unsigned k = 0; k < OMV_PROFILE_EVENTS_MAX; k++)
		p->event_ids[k] = k;
}

void profile_reset_state(struct sim *s)
{
	s->prof.exclusive = false;
	clear_counters(&s->prof);
	profile_freeze(s, false);
}

void profile_tick(struct sim *s)
{
	if (s->o.profile && s->cam_up)
		s->prof.calls++;
}

void profile_freeze(struct sim *s, bool on)
{
	struct profile *p = &s->prof;

	free(p->snap);
	p->snap = NULL;
	p->snap_len = 0;
	p->frozen = on;
	if (on)
		p->snap = build(s, &p->snap_len);
}

static void do_read(struct sim *s, const struct omv_packet *cmd)
{
	struct profile *p = &s->prof;
	uint8_t *fresh = NULL;
	const uint8_t *data = p->snap;
	size_t len = p->snap_len;
	uint32_t off, n;

	if (!p->frozen || !data)
		data = fresh = build(s, &len);
	if (!data || omv_read_req_decode(&off, &n, cmd->payload, cmd->length) < 0 ||
	    (uint64_t)off + n > len)
		reply(s, OMV_ST_INVALID, NULL, 0);
	else
		reply(s, OMV_ST_SUCCESS, data + off, n);
	free(fresh);
}

static void do_ioctl(struct sim *s, const struct omv_packet *cmd)
{
	struct profile *p = &s->prof;
	const uint8_t *arg;
	size_t arg_len;
	uint32_t req;

	omv_ioctl_req_decode(&req, &arg, &arg_len, cmd->payload, cmd->length);
	switch (req) {
	case OMV_IOCTL_PROFILE_MODE:
		p->exclusive = omv_get_u32(arg) != 0;
		break;
	case OMV_IOCTL_PROFILE_SET_EVENT: {
		uint32_t counter = omv_get_u32(arg), id = omv_get_u32(arg + 4);
		if (counter >= s->o.pmu_events) {
			reply(s, OMV_ST_INVALID, NULL, 0);
			return;
		}
		p->event_ids[counter] = id;
		break;
	}
	case OMV_IOCTL_PROFILE_RESET:
		clear_counters(p);
		break;
	default:
		reply(s, OMV_ST_INVALID, NULL, 0);
		return;
	}
	reply(s, OMV_ST_SUCCESS, NULL, 0);
}

void profile_command(struct sim *s, const struct omv_packet *cmd)
{
	uint8_t buf[4 * OMV_SHAPE_MAX];
	struct omv_shape shape = { .ndim = 2, .dim = { RECORDS, 0 } };

	switch (cmd->opcode) {
	case OMV_OP_CHANNEL_SHAPE:
		shape.dim[1] = (uint32_t)record_size(s);
		reply(s, OMV_ST_SUCCESS, buf, omv_shape_encode(&shape, buf));
		break;
	case OMV_OP_CHANNEL_SIZE:
		omv_put_u32(buf, (uint32_t)(RECORDS * record_size(s)));
		reply(s, OMV_ST_SUCCESS, buf, 4);
		break;
	case OMV_OP_CHANNEL_READ:
		do_read(s, cmd);
		break;
	case OMV_OP_CHANNEL_IOCTL:
		do_ioctl(s, cmd);
		break;
	default:
		reply(s, OMV_ST_INVALID, NULL, 0);
		break;
	}
}

void profile_free(struct sim *s)
{
	free(s->prof.snap);
	s->prof.snap = NULL;
}
