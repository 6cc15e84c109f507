/* Profiler methods: no-ops (null) on a cam without a profile channel. */
#include <string.h>

#include "methods.h"
#include "rpc.h"

static const struct omv_channel_info *profile_channel(struct rpc_call *call)
{
	return camera_channel_by_name(call_camera(call), "profile");
}

static void profile_ioctl(struct rpc_call *call, uint8_t chan, uint32_t request,
			  const uint32_t *args, unsigned nargs)
{
	uint8_t bytes[8];

	for (unsigned i = 0; i < nargs; i++)
		omv_put_u32(bytes + 4 * i, args[i]);
	camera_channel_ioctl(call_owner(call), chan, request, bytes, 4 * nargs, done_null,
			     call);
}

static void m_profiler_mode(struct rpc_call *call, json_t *params)
{
	const struct omv_channel_info *ch;
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
	profile_ioctl(call, ch->id, OMV_IOCTL_PROFILE_MODE, &arg, 1);
}

static void m_profiler_reset(struct rpc_call *call, json_t *params)
{
	const struct omv_channel_info *ch;
	json_t *config = json_object_get(params, "config");

	if (config != NULL && !json_is_null(config) && !json_is_array(config)) {
		call_error(call, RPC_INVALID_PARAMS, "invalid params: 'config' must be a list or null",
			   NULL);
		return;
	}
	if (!require_link(call))
		return;
	ch = profile_channel(call);
	if (ch == NULL) {
		call_result(call, json_null());
		return;
	}
	profile_ioctl(call, ch->id, OMV_IOCTL_PROFILE_RESET, NULL, 0);
}

static void m_profiler_event(struct rpc_call *call, json_t *params)
{
	const struct omv_channel_info *ch;
	const struct omv_sysinfo *si;
	unsigned counters;
	int64_t counter, event;
	uint32_t args[2];

	if (param_int(call, params, "counter_num", true, 0, 0, UINT32_MAX, &counter) < 0 ||
	    param_int(call, params, "event_id", true, 0, 0, UINT32_MAX, &event) < 0 ||
	    !require_link(call))
		return;
	ch = profile_channel(call);
	si = camera_sysinfo(call_camera(call));
	counters = si != NULL ? omv_sysinfo_pmu_eventcnt(si) : 0;
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
	profile_ioctl(call, ch->id, OMV_IOCTL_PROFILE_SET_EVENT, args, 2);
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
		call_errorf(call, RPC_PROTOCOL,
			    "profile data of %zu bytes is not a whole number of %zu-byte records",
			    r->len, size);
		return;
	}
	list = json_array();
	for (size_t off = 0; off < r->len; off += size) {
		struct omv_profile_record rec;
		if (omv_profile_record_decode(&rec, nevents, r->data + off, size) < 0) {
			json_decref(list);
			call_error(call, RPC_PROTOCOL, "profile record does not decode", NULL);
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
