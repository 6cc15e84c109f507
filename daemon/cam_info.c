/*
 * What the methods read of the camera: link state, what the cam said
 * about itself (version, system info, caps, channels), counters, the
 * shared state, the latest frame and the stdout history. Read-only views;
 * nothing here talks to the cam.
 */
#include "cam_int.h"

#include <string.h>

#include "utf8.h"

enum link_state camera_state(const struct camera *c)
{
	return c->state;
}

size_t camera_max_response(const struct camera *c)
{
	return c->opt.max_response;
}

const char *camera_port(const struct camera *c)
{
	return c->port;
}

const char *camera_reason(const struct camera *c)
{
	return c->reason;
}

const struct omv_version *camera_version(const struct camera *c)
{
	return c->have_version ? &c->version : NULL;
}

const struct omv_sysinfo *camera_sysinfo(const struct camera *c)
{
	return c->have_sysinfo ? &c->sysinfo : NULL;
}

const struct omv_caps *camera_caps(const struct camera *c)
{
	return c->established ? &c->host.caps : NULL;
}

int camera_channel_list_decode(struct cam_channel *out, size_t max, size_t *count,
			       const uint8_t *p, size_t n)
{
	struct omv_channel_info list[OMV_CHANNELS_MAX];

	if (max > OMV_CHANNELS_MAX)
		max = OMV_CHANNELS_MAX;
	if (omv_channel_list_decode(list, max, count, p, n) < 0)
		return -1;
	for (size_t i = 0; i < *count; i++) {
		memset(&out[i], 0, sizeof out[i]);	/* compared whole */
		out[i].id = list[i].id;
		out[i].flags = list[i].flags;
		utf8_repair(list[i].name, out[i].name, sizeof out[i].name);
	}
	return 0;
}

size_t camera_channels(const struct camera *c, const struct cam_channel **list)
{
	*list = c->channels;
	return c->established ? c->nchannels : 0;
}

const struct cam_channel *camera_channel_by_name(const struct camera *c, const char *name)
{
	if (!c->established)
		return NULL;
	for (size_t i = 0; i < c->nchannels; i++)
		if (strcmp(c->channels[i].name, name) == 0)
			return &c->channels[i];
	return NULL;
}

const struct cam_channel *camera_channel_by_id(const struct camera *c, uint8_t id)
{
	if (!c->established)
		return NULL;
	for (size_t i = 0; i < c->nchannels; i++)
		if (c->channels[i].id == id)
			return &c->channels[i];
	return NULL;
}

void camera_counters(const struct camera *c, struct camera_counters *out)
{
	*out = c->counters;
	out->sent = c->past.sent + c->host.stats.sent;
	out->received = c->past.received + c->host.stats.received;
	out->checksum = c->past.checksum + c->host.stats.checksum;
	out->sequence = c->past.sequence + c->host.stats.sequence;
	out->duplicates = c->past.duplicates + c->host.stats.duplicates;
	out->events = c->past.events + c->host.stats.events;
	out->timeouts = c->past.timeouts + c->host.stats.timeouts;
	out->recovered = c->past.damaged + c->host.stats.damaged + c->past.probes +
			 c->host.stats.probes + c->past.resent + c->host.stats.resent;
	out->connected_ms = c->established ? cam_now() - c->ready_since : 0;
}

void camera_shared_state(const struct camera *c, struct camera_shared *out)
{
	*out = c->shared;
}

double camera_fps(const struct camera *c)
{
	if (c->frame_us_count == 0 ||
	    cam_now_us() - c->frame_us[(c->frame_us_count - 1) % CAM_FPS_FRAMES] > CAM_FPS_GAP_US)
		return 0;
	return c->fps;
}

struct frame *camera_latest_frame(struct camera *c)
{
	return c->latest;
}

const struct stdout_log *camera_stdout(const struct camera *c)
{
	return c->log;
}
