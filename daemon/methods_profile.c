/* Profiler methods: no-ops (null) on a cam without a profile channel. */
#include <stdlib.h>
#include <string.h>

#include "methods.h"
#include "rpc.h"

static const struct cam_channel *profile_channel(struct rpc_call *call)
{
	return camera_channel_by_name(call_camera(call), "profile");
}

static void profile_ioctl(struct rpc_call *call, uint8_t chan, uint32_t request,
			  const uint32_t *args, unsigned nargs, cam_done_fn done)
{
	uint8_t bytes[8];

	for (unsigned i = 0; i < nargs; i++)
		omv_put_u32(bytes + 4 * i, args[i]);
	camera_channel_ioctl(call_owner(call), chan, request, bytes, 4 * nargs, done, call);
}

/* The PMU counters of the cam; 0 when it has none. */
static unsigned pmu_counters(struct rpc_call *call)
{
	const struct omv_sysinfo *si = camera_sysinfo(call_camera(call));

	return si != NULL ? omv_sysinfo_pmu_eventcnt(si) : 0;
}

static void m_profiler_mode(struct rpc_call *call, json_t *params)
{
	const struct cam_channel *ch;
	bool exclusive;
	uint32_t arg;

	if (param_bool(call, params, "exclusive", false, false, &exclusive) < 0 ||
	    !require_link(call))
		return;
	ch = profile_channel(call);
	if (ch == NULL) {
		call_result(call, json_null());
		return;
	}
	arg = exclusive;
	profile_ioctl(call, ch->id, OMV_IOCTL_PROFILE_MODE, &arg, 1, done_null);
}

/*
 * RESET clears the counters and restores the default event of every
 * counter; then each counter i gets event config[i] (call->text holds the
 * ids, call->kind their count, call->u32 the next one to set).
 */
static void reset_step_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	uint32_t args[2];

	if (r->err != CAM_OK) {
		call_cam_error(call, r);
		return;
	}
	if (call->u32 >= (uint32_t)call->kind) {
		call_result(call, json_null());
		return;
	}
	args[0] = call->u32;
	memcpy(&args[1], call->text + sizeof args[1] * call->u32, sizeof args[1]);
	call->u32++;
	profile_ioctl(call, call->chan, OMV_IOCTL_PROFILE_SET_EVENT, args, 2, reset_step_done);
}

static void m_profiler_reset(struct rpc_call *call, json_t *params)
{
	const struct cam_channel *ch;
	json_t *config = json_object_get(params, "config"), *v;
	uint32_t *ids;
	size_t i;

	if (config != NULL && !json_is_null(config) && !json_is_array(config)) {
		call_error(call, RPC_INVALID_PARAMS, "invalid params: 'config' must be a list or null",
			   NULL);
		return;
	}
	json_array_foreach(config, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX) {
			call_errorf(call, RPC_INVALID_PARAMS,
				    "invalid params: config[%zu] must be an event id (0..%u)", i,
				    UINT32_MAX);
			return;
		}
	}
	if (!require_link(call))
		return;
	ch = profile_channel(call);
	if (ch == NULL) {
		call_result(call, json_null());
		return;
	}
	if (json_array_size(config) > pmu_counters(call)) {
		call_errorf(call, RPC_INVALID_PARAMS,
			    "invalid params: 'config' has %zu event ids, the cam has %u counters",
			    json_array_size(config), pmu_counters(call));
		return;
	}
	ids = calloc(json_array_size(config) + 1, sizeof *ids);
	if (ids == NULL) {
		call_error(call, RPC_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	json_array_foreach(config, i, v)
		ids[i] = (uint32_t)json_integer_value(v);
	call->text = (char *)ids;	/* freed with the call */
	call->kind = (int)json_array_size(config);
	call->u32 = 0;
	call->chan = ch->id;
	profile_ioctl(call, ch->id, OMV_IOCTL_PROFILE_RESET, NULL, 0, reset_step_done);
}

static void m_profiler_event(struct rpc_call *call, json_t *params)
{
	const struct cam_channel *ch;
	unsigned counters;
	int64_t counter, event;
	uint32_t args[2];

	if (param_int(call, params, "counter_num", true, 0, 0, UINT32_MAX, &counter) < 0 ||
	    param_int(call, params, "event_id", true, 0, 0, UINT32_MAX, &event) < 0 ||
	    !require_link(call))
		return;
	ch = profile_channel(call);
	counters = pmu_counters(call);
	if (ch == NULL || counters == 0) {
		call_result(call, json_null());	/* no profiler or no PMU: nothing to bind */
		return;
	}
	if (counter >= counters) {
		call_errorf(call, RPC_INVALID_PARAMS,
			    "invalid params: 'counter_num' is %lld, the cam has %u counters",
			    (long long)counter, counters);
		return;
	}
	args[0] = (uint32_t)counter;
	args[1] = (uint32_t)event;
	profile_ioctl(call, ch->id, OMV_IOCTL_PROFILE_SET_EVENT, args, 2, done_null);
}

static json_t *record_json(const struct omv_profile_record *rec)
{
	json_t *events = json_array();

	for (unsigned i = 0; i < rec->nevents; i++)
		json_array_append_new(events, json_integer((json_int_t)rec->events[i]));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			 "address", (json_int_t)rec->address, "caller", (json_int_t)rec->caller,
			 "call_count", (json_int_t)rec->call_count,
			 "min_ticks", (json_int_t)rec->min_ticks,
			 "max_ticks", (json_int_t)rec->max_ticks,
			 "total_ticks", (json_int_t)rec->total_ticks,
			 "total_cycles", (json_int_t)rec->total_cycles, "events", events);
}

static void read_profile_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	const struct omv_sysinfo *si = camera_sysinfo(call_camera(call));
	unsigned nevents = si != NULL ? omv_sysinfo_pmu_eventcnt(si) : 0;
	size_t size;
	json_t *list;

	if (r->err != CAM_OK) {
		call_cam_error(call, r);
		return;
	}
	if (nevents > OMV_PROFILE_EVENTS_MAX)
		nevents = OMV_PROFILE_EVENTS_MAX;
	size = omv_profile_record_size(nevents);
	if (r->len == 0) {
		call_result(call, json_null());
		return;
	}
	if (r->len % size != 0) {
		call_protocol_error(call,
				    "profile data of %zu bytes is not a whole number of %zu-byte records",
				    r->len, size);
		return;
	}
	list = json_array();
	for (size_t off = 0; off < r->len; off += size) {
		struct omv_profile_record rec;
		if (omv_profile_record_decode(&rec, nevents, r->data + off, size) < 0) {
			json_decref(list);
			call_protocol_error(call, "profile record does not decode");
			return;
		}
		json_array_append_new(list, record_json(&rec));
	}
	call_result(call, list);
}

static void m_read_profile(struct rpc_call *call, json_t *params)
{
	if (!require_link(call))
		return;
	if (profile_channel(call) == NULL) {
		call_result(call, json_null());
		return;
	}
	camera_read_profile(call_owner(call), read_profile_done, call);
}

static const char *const p_mode[] = { "exclusive", NULL };
static const char *const p_reset[] = { "config", NULL };
static const char *const p_event[] = { "counter_num", "event_id", NULL };

const struct method methods_profile[] = {
	{ "profiler_mode", m_profiler_mode, p_mode },
	{ "profiler_reset", m_profiler_reset, p_reset },
	{ "profiler_event", m_profiler_event, p_event },
	{ "read_profile", m_read_profile, NULL },
	{ NULL, NULL, NULL },
};
