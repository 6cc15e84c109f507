/*
 * Typed calls of libomvclient: one C function per omvd method
 * (docs/rpc.md), converting C arguments to JSON params and the JSON result
 * to C values. Results of an unexpected shape are OMV_EPROTO.
 */
#include "omvclient_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Call with params (stolen; NULL for none) and return the result in *res. */
static int call(omv_client *c, const char *method, json_t *params, json_t **res)
{
	int rc = omv_client_call(c, method, params, res);

	json_decref(params);
	return rc;
}

static int bad_result(omv_client *c, const char *method, json_t *res)
{
	json_decref(res);
	return omv_set_error(c, OMV_EPROTO, "unexpected result of %s", method);
}

/* Call a method whose result must be of one JSON type. */
static int call_typed(omv_client *c, const char *method, json_t *params, json_type type,
		      json_t **res)
{
	int rc = call(c, method, params, res);

	if (rc < 0)
		return rc;
	if (json_typeof(*res) != type && !(type == JSON_INTEGER && json_is_real(*res)))
		return bad_result(c, method, *res);
	return OMV_OK;
}

static int call_bool(omv_client *c, const char *method, json_t *params, bool *out)
{
	json_t *res;
	int rc = call(c, method, params, &res);

	if (rc < 0)
		return rc;
	if (!json_is_boolean(res))
		return bad_result(c, method, res);
	if (out)
		*out = json_is_true(res);
	json_decref(res);
	return OMV_OK;
}

static int call_null(omv_client *c, const char *method, json_t *params)
{
	json_t *res;
	int rc = call(c, method, params, &res);

	json_decref(res);
	return rc;
}

/* Decode a base64 (or null) result into the data and len out-params. */
static int call_bytes(omv_client *c, const char *method, json_t *params,
		      unsigned char **data, size_t *len)
{
	json_t *res;
	int rc = call(c, method, params, &res);

	*data = NULL;
	*len = 0;
	if (rc < 0)
		return rc;
	if (json_is_string(res)) {
		*data = omv_base64_decode(json_string_value(res), len);
		if (!*data)
			return bad_result(c, method, res);
	} else if (!json_is_null(res)) {
		return bad_result(c, method, res);
	}
	json_decref(res);
	return OMV_OK;
}

static uint64_t u64(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static bool flag(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

static void triple(const json_t *obj, const char *key, int out[3])
{
	json_t *arr = json_object_get(obj, key);

	for (size_t i = 0; i < 3; i++)
		out[i] = (int)json_integer_value(json_array_get(arr, i));
}

static void words(const json_t *obj, const char *key, uint32_t out[3])
{
	json_t *arr = json_object_get(obj, key);

	for (size_t i = 0; i < 3; i++)
		out[i] = (uint32_t)json_integer_value(json_array_get(arr, i));
}

static void copy_string(char *dst, size_t size, const json_t *v)
{
	snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* ---- connection and device -------------------------------------------- */

int omv_client_is_connected(omv_client *c, bool *connected)
{
	return call_bool(c, "is_connected", NULL, connected);
}

int omv_client_status(omv_client *c, omv_status *out)
{
	json_t *res, *caps, *shared, *resol;
	int rc = call_typed(c, "status", NULL, JSON_OBJECT, &res);

	if (rc < 0)
		return rc;
	memset(out, 0, sizeof *out);
	copy_string(out->link, sizeof out->link, json_object_get(res, "link"));
	copy_string(out->port, sizeof out->port, json_object_get(res, "port"));
	caps = json_object_get(res, "caps");
	out->caps.crc = flag(caps, "crc");
	out->caps.seq = flag(caps, "seq");
	out->caps.ack = flag(caps, "ack");
	out->caps.events = flag(caps, "events");
	out->caps.max_payload = (uint32_t)u64(caps, "max_payload");
	out->uptime_ms = u64(res, "uptime_ms");
	shared = json_object_get(res, "shared");
	out->streaming = flag(shared, "streaming");
	out->raw = flag(shared, "raw");
	out->script_running = flag(shared, "script_running");
	out->run = u64(shared, "run");
	resol = json_object_get(shared, "resolution");
	out->res_width = (int)json_integer_value(json_array_get(resol, 0));
	out->res_height = (int)json_integer_value(json_array_get(resol, 1));
	/* "clients" is a count; accept a list of clients too. */
	if (json_is_array(json_object_get(res, "clients")))
		out->clients = (int)json_array_size(json_object_get(res, "clients"));
	else
		out->clients = (int)u64(res, "clients");
	json_decref(res);
	return OMV_OK;
}

int omv_client_version(omv_client *c, omv_version *out)
{
	json_t *res;
	int rc = call_typed(c, "version", NULL, JSON_OBJECT, &res);

	if (rc < 0)
		return rc;
	triple(res, "protocol_version", out->protocol);
	triple(res, "bootloader_version", out->bootloader);
	triple(res, "firmware_version", out->firmware);
	json_decref(res);
	return OMV_OK;
}

int omv_client_system_info(omv_client *c, omv_system_info *out)
{
	json_t *res;
	int rc = call_typed(c, "system_info", NULL, JSON_OBJECT, &res);

	if (rc < 0)
		return rc;
	memset(out, 0, sizeof *out);
	out->cpu_id = (uint32_t)u64(res, "cpu_id");
	words(res, "device_id", out->device_id);
	words(res, "chip_id", out->chip_id);
	out->usb_vid = (uint16_t)u64(res, "usb_vid");
	out->usb_pid = (uint16_t)u64(res, "usb_pid");
	out->flash_size_kb = (uint32_t)u64(res, "flash_size_kb");
	out->ram_size_kb = (uint32_t)u64(res, "ram_size_kb");
	out->framebuffer_size_kb = (uint32_t)u64(res, "framebuffer_size_kb");
	out->stream_buffer_size_kb = (uint32_t)u64(res, "stream_buffer_size_kb");
	out->gpu_present = flag(res, "gpu_present");
	out->npu_present = flag(res, "npu_present");
	out->isp_present = flag(res, "isp_present");
	out->venc_present = flag(res, "venc_present");
	out->jpeg_present = flag(res, "jpeg_present");
	out->dram_present = flag(res, "dram_present");
	out->crc_present = flag(res, "crc_present");
	out->pmu_present = flag(res, "pmu_present");
	out->wifi_present = flag(res, "wifi_present");
	out->bt_present = flag(res, "bt_present");
	out->sd_present = flag(res, "sd_present");
	out->eth_present = flag(res, "eth_present");
	out->multicore_present = flag(res, "multicore_present");
	out->usb_highspeed = flag(res, "usb_highspeed");
	out->pmu_eventcnt = (uint32_t)u64(res, "pmu_eventcnt");
	json_decref(res);
	return OMV_OK;
}

int omv_client_host_stats(omv_client *c, omv_host_stats *out)
{
	json_t *res;
	int rc = call_typed(c, "host_stats", NULL, JSON_OBJECT, &res);

	if (rc < 0)
		return rc;
	out->sent = u64(res, "sent");
	out->received = u64(res, "received");
	out->checksum = u64(res, "checksum");
	out->sequence = u64(res, "sequence");
	json_decref(res);
	return OMV_OK;
}

int omv_client_device_stats(omv_client *c, omv_device_stats *out)
{
	json_t *res;
	int rc = call_typed(c, "device_stats", NULL, JSON_OBJECT, &res);

	if (rc < 0)
		return rc;
	out->sent = u64(res, "sent");
	out->received = u64(res, "received");
	out->checksum = u64(res, "checksum");
	out->sequence = u64(res, "sequence");
	out->retransmit = u64(res, "retransmit");
	out->transport = u64(res, "transport");
	out->sent_events = u64(res, "sent_events");
	out->max_ack_queue_depth = u64(res, "max_ack_queue_depth");
	json_decref(res);
	return OMV_OK;
}

int omv_client_reset(omv_client *c)
{
	return call_null(c, "reset", NULL);
}

int omv_client_boot(omv_client *c)
{
	return call_null(c, "boot", NULL);
}

int omv_client_resync(omv_client *c)
{
	return call_null(c, "resync", NULL);
}

/* ---- scripts, stdout, frames ----------------------------------------- */

int omv_client_exec(omv_client *c, const char *script, uint64_t *run)
{
	json_t *res;
	int rc;

	if (!script)
		return omv_set_error(c, OMV_EINVAL, "no script given");
	rc = call_typed(c, "exec", json_pack("{s:s}", "script", script), JSON_INTEGER, &res);
	if (rc < 0)
		return rc;
	if (run)
		*run = (uint64_t)json_integer_value(res);
	json_decref(res);
	return OMV_OK;
}

int omv_client_stop(omv_client *c)
{
	return call_null(c, "stop", NULL);
}

int omv_client_read_stdout(omv_client *c, char **text)
{
	json_t *res;
	int rc = call(c, "read_stdout", NULL, &res);

	*text = NULL;
	if (rc < 0)
		return rc;
	if (json_is_string(res)) {
		*text = strdup(json_string_value(res));
		if (!*text) {
			json_decref(res);
			return omv_set_error(c, OMV_ENOMEM, "out of memory");
		}
	} else if (!json_is_null(res)) {
		return bad_result(c, "read_stdout", res);
	}
	json_decref(res);
	return OMV_OK;
}

int omv_client_streaming(omv_client *c, bool enable, bool raw, int width, int height)
{
	json_t *params = json_pack("{s:b,s:b}", "enable", enable, "raw", raw);

	if (width > 0 && height > 0)
		json_object_set_new(params, "resolution", json_pack("[i,i]", width, height));
	return call_null(c, "streaming", params);
}

static int read_frame(omv_client *c, const char *format, bool shm, omv_frame **frame)
{
	json_t *params = json_pack("{s:s}", "format", format ? format : "rgb888"), *res;
	int rc;

	if (shm && omv_client_passes_fds(c))
		json_object_set_new(params, "shm", json_true());
	rc = call(c, "read_frame", params, &res);

	*frame = NULL;
	if (rc < 0)
		return rc;
	if (!json_is_null(res)) {
		*frame = omv_frame_from_json(res);
		omv_frame_close_fd(res);	/* mapped or not, done with it */
		if (!*frame)
			return bad_result(c, "read_frame", res);
	}
	json_decref(res);
	return OMV_OK;
}

int omv_client_read_frame(omv_client *c, const char *format, omv_frame **frame)
{
	return read_frame(c, format, false, frame);
}

int omv_client_read_frame_shm(omv_client *c, const char *format, omv_frame **frame)
{
	return read_frame(c, format, true, frame);
}

/* ---- channels ------------------------------------------------------------ */

int omv_client_has_channel(omv_client *c, const char *name, bool *has)
{
	return call_bool(c, "has_channel", json_pack("{s:s}", "name", name ? name : ""), has);
}

int omv_client_channel_size(omv_client *c, const char *name, size_t *size)
{
	json_t *res;
	int rc = call_typed(c, "channel_size", json_pack("{s:s}", "name", name ? name : ""),
			    JSON_INTEGER, &res);

	if (rc < 0)
		return rc;
	*size = (size_t)json_integer_value(res);
	json_decref(res);
	return OMV_OK;
}

int omv_client_channel_read(omv_client *c, const char *name, long size,
			    unsigned char **data, size_t *len)
{
	json_t *params = json_pack("{s:s}", "name", name ? name : "");

	if (size >= 0)
		json_object_set_new(params, "size", json_integer(size));
	return call_bytes(c, "channel_read", params, data, len);
}

int omv_client_channel_write(omv_client *c, const char *name, const void *data,
			     size_t len, bool *written)
{
	char *b64 = omv_base64_encode(data, len);
	json_t *params;

	if (!b64)
		return omv_set_error(c, OMV_ENOMEM, "out of memory");
	params = json_pack("{s:s,s:s}", "name", name ? name : "", "data", b64);
	free(b64);
	return call_bool(c, "channel_write", params, written);
}

int omv_client_get_channel_id(omv_client *c, const char *name, int *channel_id)
{
	json_t *res;
	int rc = call(c, "get_channel", json_pack("{s:s}", "name", name ? name : ""), &res);

	if (rc < 0)
		return rc;
	if (!json_is_integer(res) && !json_is_null(res))
		return bad_result(c, "get_channel", res);
	*channel_id = json_is_integer(res) ? (int)json_integer_value(res) : -1;
	json_decref(res);
	return OMV_OK;
}

int omv_client_get_channel_name(omv_client *c, int channel_id, char **name)
{
	json_t *res;
	int rc = call(c, "get_channel", json_pack("{s:i}", "channel_id", channel_id), &res);

	*name = NULL;
	if (rc < 0)
		return rc;
	if (json_is_string(res))
		*name = strdup(json_string_value(res));
	else if (!json_is_null(res))
		return bad_result(c, "get_channel", res);
	json_decref(res);
	return OMV_OK;
}

/* {"<id>": {name, flags}}, listed in the order of the ids. */
static int channel_cmp(const void *a, const void *b)
{
	return ((const omv_channel *)a)->id - ((const omv_channel *)b)->id;
}

int omv_client_channel_list(omv_client *c, omv_channel **list, size_t *count)
{
	json_t *res, *v;
	const char *key;
	size_t i = 0;
	int rc = call_typed(c, "channel_list", NULL, JSON_OBJECT, &res);

	*list = NULL;
	*count = 0;
	if (rc < 0)
		return rc;
	*list = calloc(json_object_size(res) + 1, sizeof **list);
	if (!*list) {
		json_decref(res);
		return omv_set_error(c, OMV_ENOMEM, "out of memory");
	}
	json_object_foreach(res, key, v) {
		char *end;
		long id = strtol(key, &end, 10);

		if (*end != '\0' || end == key || id < 0 || id > 255 || !json_is_object(v)) {
			free(*list);
			*list = NULL;
			return bad_result(c, "channel_list", res);
		}
		(*list)[i].id = (int)id;
		copy_string((*list)[i].name, sizeof (*list)[i].name, json_object_get(v, "name"));
		(*list)[i].flags = (uint32_t)u64(v, "flags");
		i++;
	}
	qsort(*list, i, sizeof **list, channel_cmp);
	*count = i;
	json_decref(res);
	return OMV_OK;
}

int omv_client_read_status(omv_client *c, omv_channel_status **list, size_t *count)
{
	json_t *res, *v;
	const char *key;
	size_t i = 0;
	int rc = call_typed(c, "read_status", NULL, JSON_OBJECT, &res);

	*list = NULL;
	*count = 0;
	if (rc < 0)
		return rc;
	*list = calloc(json_object_size(res) + 1, sizeof **list);
	if (!*list) {
		json_decref(res);
		return omv_set_error(c, OMV_ENOMEM, "out of memory");
	}
	json_object_foreach(res, key, v) {
		snprintf((*list)[i].name, sizeof (*list)[i].name, "%s", key);
		(*list)[i].ready = json_is_true(v);
		i++;
	}
	*count = i;
	json_decref(res);
	return OMV_OK;
}

int omv_client_channel_lock(omv_client *c, int channel_id, bool *granted)
{
	return call_bool(c, "channel_lock", json_pack("{s:i}", "channel_id", channel_id),
			 granted);
}

int omv_client_channel_unlock(omv_client *c, int channel_id, bool *released)
{
	return call_bool(c, "channel_unlock", json_pack("{s:i}", "channel_id", channel_id),
			 released);
}

int omv_client_channel_ioctl(omv_client *c, int channel_id, int cmd, const char *fmt,
			     json_t *args, unsigned char **data, size_t *len)
{
	json_t *params = json_pack("{s:i,s:i}", "channel_id", channel_id, "cmd", cmd);

	json_t *res;
	int rc;

	if (fmt)
		json_object_set_new(params, "fmt", json_string(fmt));
	if (args)
		json_object_set(params, "args", args);
	*data = NULL;
	*len = 0;
	rc = call(c, "channel_ioctl", params, &res);
	if (rc < 0)
		return rc;
	/* true: done, no data */
	if (json_is_string(res)) {
		*data = omv_base64_decode(json_string_value(res), len);
		if (!*data)
			return bad_result(c, "channel_ioctl", res);
	} else if (!json_is_true(res)) {
		return bad_result(c, "channel_ioctl", res);
	}
	json_decref(res);
	return OMV_OK;
}

int omv_client_channel_size_id(omv_client *c, int channel_id, size_t *size)
{
	json_t *res;
	int rc = call_typed(c, "channel_size_id", json_pack("{s:i}", "channel_id", channel_id),
			    JSON_INTEGER, &res);

	if (rc < 0)
		return rc;
	*size = (size_t)json_integer_value(res);
	json_decref(res);
	return OMV_OK;
}

int omv_client_channel_shape(omv_client *c, int channel_id, uint32_t **shape, size_t *count)
{
	json_t *res, *v;
	size_t i;
	int rc = call_typed(c, "channel_shape", json_pack("{s:i}", "channel_id", channel_id),
			    JSON_ARRAY, &res);

	*shape = NULL;
	*count = 0;
	if (rc < 0)
		return rc;
	*shape = calloc(json_array_size(res) + 1, sizeof **shape);
	if (!*shape) {
		json_decref(res);
		return omv_set_error(c, OMV_ENOMEM, "out of memory");
	}
	json_array_foreach(res, i, v)
		(*shape)[i] = (uint32_t)json_integer_value(v);
	*count = json_array_size(res);
	json_decref(res);
	return OMV_OK;
}

int omv_client_channel_read_id(omv_client *c, int channel_id, size_t offset, size_t length,
			       unsigned char **data, size_t *len)
{
	return call_bytes(c, "channel_read_id",
			  json_pack("{s:i,s:I,s:I}", "channel_id", channel_id,
				    "offset", (json_int_t)offset, "length", (json_int_t)length),
			  data, len);
}

int omv_client_channel_write_id(omv_client *c, int channel_id, const void *data, size_t len,
				size_t offset)
{
	char *b64 = omv_base64_encode(data, len);
	json_t *params;

	if (!b64)
		return omv_set_error(c, OMV_ENOMEM, "out of memory");
	params = json_pack("{s:i,s:s,s:I}", "channel_id", channel_id, "data", b64,
			   "offset", (json_int_t)offset);
	free(b64);
	return call_null(c, "channel_write_id", params);
}

int omv_client_update_channels(omv_client *c)
{
	return call_null(c, "update_channels", NULL);
}

int omv_client_send_command(omv_client *c, int opcode, int channel, const void *data,
			    size_t len, unsigned char **out, size_t *out_len)
{
	char *b64 = omv_base64_encode(data, len);
	json_t *params;

	if (!b64)
		return omv_set_error(c, OMV_ENOMEM, "out of memory");
	params = json_pack("{s:i,s:i,s:s}", "opcode", opcode, "channel", channel, "data", b64);
	free(b64);
	return call_bytes(c, "send_command", params, out, out_len);
}

int omv_client_update_capabilities(omv_client *c, omv_caps *out)
{
	json_t *res;
	int rc = call_typed(c, "update_capabilities", NULL, JSON_OBJECT, &res);

	if (rc < 0)
		return rc;
	out->crc = flag(res, "crc");
	out->seq = flag(res, "seq");
	out->ack = flag(res, "ack");
	out->events = flag(res, "events");
	out->max_payload = (uint32_t)u64(res, "max_payload");
	json_decref(res);
	return OMV_OK;
}

int omv_client_poll_events(omv_client *c, json_t **events)
{
	return call_typed(c, "poll_events", NULL, JSON_ARRAY, events);
}

int omv_client_clients(omv_client *c, json_t **clients)
{
	return call_typed(c, "clients", NULL, JSON_ARRAY, clients);
}

int omv_client_profiler_mode(omv_client *c, bool exclusive)
{
	return call_null(c, "profiler_mode", json_pack("{s:b}", "exclusive", exclusive));
}

int omv_client_profiler_reset(omv_client *c)
{
	return call_null(c, "profiler_reset", NULL);
}

int omv_client_profiler_event(omv_client *c, int counter_num, int event_id)
{
	return call_null(c, "profiler_event", json_pack("{s:i,s:i}", "counter_num", counter_num,
							"event_id", event_id));
}

int omv_client_read_profile(omv_client *c, json_t **records)
{
	int rc = call(c, "read_profile", NULL, records);

	if (rc < 0)
		return rc;
	if (!json_is_array(*records) && !json_is_null(*records))
		return bad_result(c, "read_profile", *records);
	return OMV_OK;
}

/* ---- subscriptions ------------------------------------------------------ */

static json_t *topic_array(const char *const *topics)
{
	json_t *arr = json_array();

	for (; topics && *topics; topics++)
		json_array_append_new(arr, json_string(*topics));
	return arr;
}

static int subscribe(omv_client *c, const char *const *topics, const char *frame_format,
		     bool shm)
{
	json_t *params = json_pack("{s:o,s:s}", "topics", topic_array(topics),
				   "frame_format", frame_format ? frame_format : "none");

	if (shm && omv_client_passes_fds(c))
		json_object_set_new(params, "shm", json_true());

	return call_null(c, "subscribe", params);
}

int omv_client_subscribe(omv_client *c, const char *const *topics, const char *frame_format)
{
	return subscribe(c, topics, frame_format, false);
}

int omv_client_subscribe_shm(omv_client *c, const char *const *topics,
			     const char *frame_format)
{
	return subscribe(c, topics, frame_format, true);
}

int omv_client_unsubscribe(omv_client *c, const char *const *topics)
{
	return call_null(c, "unsubscribe", json_pack("{s:o}", "topics", topic_array(topics)));
}
