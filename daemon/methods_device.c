/* Methods about the link and the device: status, clients, info, stats,
 * reset/boot, capabilities, resync, polled events. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "methods.h"
#include "protocol/packet.h"
#include "rpc.h"
#include "rpc_server.h"

static json_t *caps_json(const struct omv_caps *caps)
{
	if (caps == NULL)
		return json_null();
	return json_pack("{s:b, s:b, s:b, s:b, s:i}", "crc", caps->crc, "seq", caps->seq, "ack",
			 caps->ack, "events", caps->events, "max_payload", caps->max_payload);
}

static json_t *triple_json(const uint8_t v[3])
{
	return json_pack("[i, i, i]", v[0], v[1], v[2]);
}

static void m_is_connected(struct rpc_call *call, json_t *params)
{
	struct camera *cam = call_camera(call);

	call_result(call, json_boolean(cam != NULL && camera_state(cam) == LINK_READY));
}

static void m_status(struct rpc_call *call, json_t *params)
{
	struct rpc_server *s = call->client->server;
	struct camera *cam = s->cam;
	struct camera_counters cnt = { 0 };
	struct camera_shared sh = { 0 };
	json_t *counters;

	if (cam != NULL) {
		camera_counters(cam, &cnt);
		camera_shared_state(cam, &sh);
	}
	counters = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			     "sent", (json_int_t)cnt.sent, "received", (json_int_t)cnt.received,
			     "checksum", (json_int_t)cnt.checksum,
			     "sequence", (json_int_t)cnt.sequence,
			     "duplicates", (json_int_t)cnt.duplicates,
			     "events", (json_int_t)cnt.events, "timeouts", (json_int_t)cnt.timeouts,
			     "resyncs", (json_int_t)cnt.resyncs, "retries", (json_int_t)cnt.retries,
			     "reconnects", (json_int_t)cnt.reconnects,
			     "frames_fetched", (json_int_t)cnt.frames_fetched,
			     "stdout_bytes", (json_int_t)cnt.stdout_bytes,
			     "connected_ms", (json_int_t)cnt.connected_ms);
	call_result(call, json_pack("{s:s, s:s?, s:s?, s:s?, s:o, s:I, s:f, s:o, s:o, s:i}",
				    "link", link_state_name(cam ? camera_state(cam) : LINK_CLOSED),
				    "reason", cam ? camera_reason(cam) : NULL,
				    "port", cam ? camera_port(cam) : NULL,
				    "serial", cam ? camera_serial(cam) : NULL,
				    "caps", caps_json(cam && camera_state(cam) == LINK_READY
						      ? camera_caps(cam) : NULL),
				    "uptime_ms", (json_int_t)(clock_now_ms() - s->started_ms),
				    "fps", cam ? camera_fps(cam) : 0.0,
				    "counters", counters, "shared", shared_state_json(&sh),
				    "clients", s->nclients));
}

static json_t *client_json(struct rpc_client *c, bool self)
{
	json_t *locks = json_array();

	/* The camera's books: one holder per lock, whatever happened. */
	for (unsigned ch = 0; ch < 256 && c->owner != NULL; ch++)
		if (camera_owner_holds(c->owner, (uint8_t)ch))
			json_array_append_new(locks, json_integer(ch));
	return json_pack("{s:I, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
			 "id", (json_int_t)c->id, "self", self, "name", c->name,
			 "calls", (json_int_t)c->stats.calls, "errors", (json_int_t)c->stats.errors,
			 "frames_sent", (json_int_t)c->stats.frames_sent,
			 "frames_dropped", (json_int_t)c->stats.frames_dropped,
			 "notifications_dropped", (json_int_t)c->stats.notifications_dropped,
			 "stdout_missed", (json_int_t)c->stats.stdout_missed,
			 "bytes_in", (json_int_t)c->stats.bytes_in,
			 "bytes_out", (json_int_t)c->stats.bytes_out,
			 "queued_bytes", (json_int_t)rpc_client_queued_cost(c),
			 "subscriptions", topics_json(c->topics), "locks", locks);
}

static void m_clients(struct rpc_call *call, json_t *params)
{
	json_t *list = json_array();
	struct rpc_client *c;

	TAILQ_FOREACH(c, &call->client->server->clients, link)
		if (!c->closing)
			json_array_append_new(list, client_json(c, c == call->client));
	call_result(call, list);
}

/* version and system_info answer from what the last handshake cached,
 * also while the link is down. */
static void m_version(struct rpc_call *call, json_t *params)
{
	const struct omv_version *v = call_camera(call) ? camera_version(call_camera(call)) : NULL;

	if (v == NULL) {
		call_error(call, RPC_NOT_CONNECTED, "cam not connected", NULL);
		return;
	}
	call_result(call, json_pack("{s:o, s:o, s:o}", "protocol_version", triple_json(v->protocol),
				    "bootloader_version", triple_json(v->bootloader),
				    "firmware_version", triple_json(v->firmware)));
}

static void m_system_info(struct rpc_call *call, json_t *params)
{
	const struct omv_sysinfo *si = call_camera(call) ? camera_sysinfo(call_camera(call)) : NULL;
	uint32_t caps;
	json_t *o;

	if (si == NULL) {
		call_error(call, RPC_NOT_CONNECTED, "cam not connected", NULL);
		return;
	}
	caps = si->hw_caps[0];
	o = json_pack("{s:I, s:[I,I,I], s:[I,I,I], s:i, s:i, s:I, s:I, s:I, s:I}",
		      "cpu_id", (json_int_t)si->cpu_id,
		      "device_id", (json_int_t)si->dev_id[0], (json_int_t)si->dev_id[1],
		      (json_int_t)si->dev_id[2],
		      "chip_id", (json_int_t)si->chip_id[0], (json_int_t)si->chip_id[1],
		      (json_int_t)si->chip_id[2],
		      "usb_vid", si->usb_vid, "usb_pid", si->usb_pid,
		      "flash_size_kb", (json_int_t)si->flash_kb, "ram_size_kb", (json_int_t)si->ram_kb,
		      "framebuffer_size_kb", (json_int_t)si->framebuffer_kb,
		      "stream_buffer_size_kb", (json_int_t)si->stream_buffer_kb);
	static const struct { const char *key; uint32_t bit; } flags[] = {
		{ "gpu_present", OMV_HW_GPU }, { "npu_present", OMV_HW_NPU },
		{ "isp_present", OMV_HW_ISP }, { "venc_present", OMV_HW_VENC },
		{ "jpeg_present", OMV_HW_JPEG }, { "dram_present", OMV_HW_DRAM },
		{ "crc_present", OMV_HW_CRC }, { "pmu_present", OMV_HW_PMU },
		{ "wifi_present", OMV_HW_WIFI }, { "bt_present", OMV_HW_BT },
		{ "sd_present", OMV_HW_SD }, { "eth_present", OMV_HW_ETH },
		{ "multicore_present", OMV_HW_MULTICORE }, { "usb_highspeed", OMV_HW_USB_HS },
	};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		json_object_set_new(o, flags[i].key, json_boolean(caps & flags[i].bit));
	json_object_set_new(o, "pmu_eventcnt", json_integer(omv_sysinfo_pmu_eventcnt(si)));
	call_result(call, o);
}

static void m_host_stats(struct rpc_call *call, json_t *params)
{
	struct camera_counters cnt = { 0 };

	if (call_camera(call) != NULL)
		camera_counters(call_camera(call), &cnt);
	call_result(call, json_pack("{s:I, s:I, s:I, s:I}", "sent", (json_int_t)cnt.sent,
				    "received", (json_int_t)cnt.received,
				    "checksum", (json_int_t)cnt.checksum,
				    "sequence", (json_int_t)cnt.sequence));
}

static void device_stats_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;
	struct omv_proto_stats st;

	if (r->err != CAM_OK) {
		call_cam_error(call, r);
		return;
	}
	if (omv_stats_decode(&st, r->data, r->len) < 0) {
		call_protocol_error(call, "PROTO_STATS answer of %zu bytes", r->len);
		return;
	}
	call_result(call, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				    "sent", (json_int_t)st.sent, "received", (json_int_t)st.received,
				    "checksum", (json_int_t)st.checksum,
				    "sequence", (json_int_t)st.sequence,
				    "retransmit", (json_int_t)st.retransmit,
				    "transport", (json_int_t)st.transport,
				    "sent_events", (json_int_t)st.sent_events,
				    "max_ack_queue_depth", (json_int_t)st.max_ack_queue_depth));
}

static void m_device_stats(struct rpc_call *call, json_t *params)
{
	if (!require_link(call))
		return;
	camera_command(call_owner(call), OMV_OP_PROTO_STATS, 0, NULL, 0, device_stats_done, call);
}

static void m_reset(struct rpc_call *call, json_t *params)
{
	if (!require_link(call))
		return;
	camera_reset(call_owner(call), done_null, call);
}

static void m_boot(struct rpc_call *call, json_t *params)
{
	if (!require_link(call))
		return;
	camera_boot(call_owner(call), done_null, call);
}

static void m_resync(struct rpc_call *call, json_t *params)
{
	if (!require_link(call))
		return;
	camera_resync(call_owner(call), done_null, call);
}

static void update_caps_done(void *arg, const struct cam_reply *r)
{
	struct rpc_call *call = arg;

	if (r->err != CAM_OK)
		call_cam_error(call, r);
	else
		call_result(call, caps_json(camera_caps(call_camera(call))));
}

static void m_update_capabilities(struct rpc_call *call, json_t *params)
{
	if (!require_link(call))
		return;
	camera_update_caps(call_owner(call), update_caps_done, call);
}

static void m_poll_events(struct rpc_call *call, json_t *params)
{
	struct rpc_client *c = call->client;
	json_t *list = json_array();

	for (unsigned i = 0; i < c->ev_count; i++) {
		const struct client_event *e = &c->events[(c->ev_head + i) % CLIENT_EVENTS_MAX];
		json_array_append_new(list, event_json(call_camera(call), e->chan, e->code));
	}
	c->ev_head = 0;
	c->ev_count = 0;
	call_result(call, list);
}

const struct method methods_device[] = {
	{ "is_connected", m_is_connected, NULL },
	{ "status", m_status, NULL },
	{ "clients", m_clients, NULL },
	{ "version", m_version, NULL },
	{ "system_info", m_system_info, NULL },
	{ "host_stats", m_host_stats, NULL },
	{ "device_stats", m_device_stats, NULL },
	{ "reset", m_reset, NULL },
	{ "boot", m_boot, NULL },
	{ "update_capabilities", m_update_capabilities, NULL },
	{ "resync", m_resync, NULL },
	{ "poll_events", m_poll_events, NULL },
	{ NULL, NULL, NULL },
};
