/*
 * omvctl's one-shot commands: status, info, stats, profile, channels,
 * channel read/write, stop, reset, boot and the generic call.
 */
#include "omvctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* For commands without arguments: check there are none, then connect. */
static int ready(struct ctl *ctl, int argc, char **argv)
{
	if (argc > 1)
		return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[1]);
	return ctl_connect(ctl);
}

/* --json form of a command: one method's result, printed as it is. */
static int print_call(struct ctl *ctl, const char *method, json_t *params)
{
	json_t *res;
	int rc = omv_client_call(ctl->c, method, params, &res);

	json_decref(params);
	if (rc < 0)
		return ctl_fail(ctl);
	ctl_print_json(res);
	return EXIT_OK;
}

static const char *yes_no(bool v)
{
	return v ? "yes" : "no";
}

int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	int rc;
	omv_status st;

	if ((rc = ready(ctl, argc, argv)))
		return rc;
	if (ctl->json)
		return print_call(ctl, "status", NULL);
	if (omv_client_status(ctl->c, &st) < 0)
		return ctl_fail(ctl);
	printf("link:      %s%s%s\n", st.link, st.port[0] ? " on " : "", st.port);
	printf("caps:      crc %s, seq %s, ack %s, events %s, max payload %" PRIu32 "\n",
	       yes_no(st.caps.crc), yes_no(st.caps.seq), yes_no(st.caps.ack),
	       yes_no(st.caps.events), st.caps.max_payload);
	printf("uptime:    %.1f s\n", (double)st.uptime_ms / 1000.0);
	printf("streaming: %s", st.streaming ? "on" : "off");
	if (st.streaming)
		printf(" (%s", st.raw ? "raw" : "jpeg");
	if (st.streaming && st.res_width > 0)
		printf(", %dx%d", st.res_width, st.res_height);
	printf("%s\n", st.streaming ? ")" : "");
	printf("script:    %s\n", st.script_running ? "running" : "not running");
	printf("clients:   %d\n", st.clients);
	return EXIT_OK;
}

/* info --json: everything the human form shows, in one object. */
static int info_json(struct ctl *ctl)
{
	static const char *const methods[] = { "version", "system_info", "status", "channel_list" };
	json_t *out = json_object();

	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		json_t *res;

		if (omv_client_call(ctl->c, methods[i], NULL, &res) < 0) {
			json_decref(out);
			return ctl_fail(ctl);
		}
		if (strcmp(methods[i], "status") == 0) {
			json_object_set(out, "caps", json_object_get(res, "caps"));
			json_decref(res);
		} else {
			json_object_set_new(out, strcmp(methods[i], "channel_list") == 0
					    ? "channels" : methods[i], res);
		}
	}
	ctl_print_json(out);
	return EXIT_OK;
}

/* The capability flags, in the order info prints them. */
static const struct {
	const char *label;
	size_t offset;
} hw_flags[] = {
	{ "GPU", offsetof(omv_system_info, gpu_present) },
	{ "NPU", offsetof(omv_system_info, npu_present) },
	{ "ISP", offsetof(omv_system_info, isp_present) },
	{ "VENC", offsetof(omv_system_info, venc_present) },
	{ "JPEG", offsetof(omv_system_info, jpeg_present) },
	{ "DRAM", offsetof(omv_system_info, dram_present) },
	{ "CRC", offsetof(omv_system_info, crc_present) },
	{ "PMU", offsetof(omv_system_info, pmu_present) },
	{ "WiFi", offsetof(omv_system_info, wifi_present) },
	{ "BT", offsetof(omv_system_info, bt_present) },
	{ "SD", offsetof(omv_system_info, sd_present) },
	{ "ETH", offsetof(omv_system_info, eth_present) },
	{ "multicore", offsetof(omv_system_info, multicore_present) },
};

static void print_triple(const char *label, const int v[3])
{
	printf("%-22s %d.%d.%d\n", label, v[0], v[1], v[2]);
}

int cmd_info(struct ctl *ctl, int argc, char **argv)
{
	int rc;
	omv_system_info si;
	omv_version ver;
	omv_status st;
	omv_channel *chans;
	size_t nchans;

	if ((rc = ready(ctl, argc, argv)))
		return rc;
	if (ctl->json)
		return info_json(ctl);
	if (omv_client_version(ctl->c, &ver) < 0 || omv_client_system_info(ctl->c, &si) < 0 ||
	    omv_client_status(ctl->c, &st) < 0 ||
	    omv_client_channel_list(ctl->c, &chans, &nchans) < 0)
		return ctl_fail(ctl);
	print_triple("Firmware version:", ver.firmware);
	print_triple("Protocol version:", ver.protocol);
	print_triple("Bootloader version:", ver.bootloader);
	printf("%-22s 0x%08" PRIX32 "\n", "CPU ID:", si.cpu_id);
	printf("%-22s %08" PRIX32 "%08" PRIX32 "%08" PRIX32 "\n", "Device ID:",
	       si.device_id[0], si.device_id[1], si.device_id[2]);
	printf("%-22s 0x%" PRIX32 " 0x%" PRIX32 " 0x%" PRIX32 "\n", "Sensor chip IDs:",
	       si.chip_id[0], si.chip_id[1], si.chip_id[2]);
	printf("%-22s %04x:%04x (%s speed)\n", "USB VID:PID:", si.usb_vid, si.usb_pid,
	       si.usb_highspeed ? "high" : "full");
	printf("%-22s %" PRIu32 " KB\n", "Flash:", si.flash_size_kb);
	printf("%-22s %" PRIu32 " KB\n", "RAM:", si.ram_size_kb);
	printf("%-22s %" PRIu32 " KB\n", "Framebuffer:", si.framebuffer_size_kb);
	printf("%-22s %" PRIu32 " KB\n", "Stream buffer:", si.stream_buffer_size_kb);
	printf("%-22s", "Hardware:");
	for (size_t i = 0; i < sizeof hw_flags / sizeof hw_flags[0]; i++) {
		bool on = *(const bool *)((const char *)&si + hw_flags[i].offset);

		printf(" %s%s", hw_flags[i].label, on ? "+" : "-");
	}
	printf("\n%-22s %" PRIu32 "\n", "PMU event counters:", si.pmu_eventcnt);
	printf("%-22s crc %s, seq %s, ack %s, events %s, max payload %" PRIu32 "\n",
	       "Link caps:", yes_no(st.caps.crc), yes_no(st.caps.seq), yes_no(st.caps.ack),
	       yes_no(st.caps.events), st.caps.max_payload);
	printf("%-22s", "Channels:");
	for (size_t i = 0; i < nchans; i++)
		printf(" %s(%d)", chans[i].name, chans[i].id);
	printf("\n");
	free(chans);
	return EXIT_OK;
}

static int simple(struct ctl *ctl, int argc, char **argv, int (*fn)(omv_client *))
{
	int rc = ready(ctl, argc, argv);

	if (rc)
		return rc;
	if (fn(ctl->c) < 0)
		return ctl_fail(ctl);
	if (ctl->json)
		ctl_print_json(json_null());
	return EXIT_OK;
}

int cmd_stop(struct ctl *ctl, int argc, char **argv)
{
	return simple(ctl, argc, argv, omv_client_stop);
}

int cmd_reset(struct ctl *ctl, int argc, char **argv)
{
	return simple(ctl, argc, argv, omv_client_reset);
}

int cmd_boot(struct ctl *ctl, int argc, char **argv)
{
	return simple(ctl, argc, argv, omv_client_boot);
}

int cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	int rc;
	omv_host_stats h;
	omv_device_stats d;

	if ((rc = ready(ctl, argc, argv)))
		return rc;
	if (ctl->json) {
		json_t *host, *dev;

		if (omv_client_call(ctl->c, "host_stats", NULL, &host) < 0)
			return ctl_fail(ctl);
		if (omv_client_call(ctl->c, "device_stats", NULL, &dev) < 0) {
			json_decref(host);
			return ctl_fail(ctl);
		}
		ctl_print_json(json_pack("{s:o,s:o}", "host", host, "device", dev));
		return EXIT_OK;
	}
	if (omv_client_host_stats(ctl->c, &h) < 0 || omv_client_device_stats(ctl->c, &d) < 0)
		return ctl_fail(ctl);
	printf("host:   sent %" PRIu64 ", received %" PRIu64 ", checksum errors %" PRIu64
	       ", sequence errors %" PRIu64 "\n", h.sent, h.received, h.checksum, h.sequence);
	printf("device: sent %" PRIu64 ", received %" PRIu64 ", checksum errors %" PRIu64
	       ", sequence errors %" PRIu64 ", retransmits %" PRIu64 ", transport errors %"
	       PRIu64 ", events sent %" PRIu64 ", max ack queue %" PRIu64 "\n",
	       d.sent, d.received, d.checksum, d.sequence, d.retransmit, d.transport,
	       d.sent_events, d.max_ack_queue_depth);
	return EXIT_OK;
}

int cmd_profile(struct ctl *ctl, int argc, char **argv)
{
	int rc;
	json_t *recs, *r;
	size_t i;

	if ((rc = ready(ctl, argc, argv)))
		return rc;
	if (omv_client_read_profile(ctl->c, &recs) < 0)
		return ctl_fail(ctl);
	if (ctl->json) {
		ctl_print_json(recs);
		return EXIT_OK;
	}
	if (json_is_null(recs)) {
		printf("no profile data (the firmware has no profiler, or nothing ran)\n");
		json_decref(recs);
		return EXIT_OK;
	}
	printf("%-10s %-10s %10s %10s %10s %12s %12s\n", "address", "caller", "calls",
	       "min", "max", "total", "cycles");
	json_array_foreach(recs, i, r) {
#define U(k) (uint64_t)json_integer_value(json_object_get(r, k))
		printf("0x%08" PRIx64 " 0x%08" PRIx64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		       " %12" PRIu64 " %12" PRIu64 "\n", U("address"), U("caller"),
		       U("call_count"), U("min_ticks"), U("max_ticks"), U("total_ticks"),
		       U("total_cycles"));
#undef U
	}
	json_decref(recs);
	return EXIT_OK;
}

int cmd_channels(struct ctl *ctl, int argc, char **argv)
{
	int rc;
	omv_channel *list;
	size_t n;

	if ((rc = ready(ctl, argc, argv)))
		return rc;
	if (ctl->json)
		return print_call(ctl, "channel_list", NULL);
	if (omv_client_channel_list(ctl->c, &list, &n) < 0)
		return ctl_fail(ctl);
	printf("%4s  %-16s %s\n", "id", "name", "flags");
	for (size_t i = 0; i < n; i++)
		printf("%4d  %-16s 0x%02" PRIx32 "\n", list[i].id, list[i].name, list[i].flags);
	free(list);
	return EXIT_OK;
}

unsigned char *ctl_slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			unsigned char *b = realloc(buf, cap ? cap * 2 : 8192);

			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap = cap ? cap * 2 : 8192;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0) {
			if (ferror(f)) {
				free(buf);
				buf = NULL;
				errno = EIO;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

static int channel_read(struct ctl *ctl, int argc, char **argv)
{
	const char *name = NULL;
	unsigned char *data;
	long size = -1;
	size_t len;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
			char *end;

			size = strtol(argv[++i], &end, 0);
			if (*end || size < 0)
				return ctl_usage_error("channel", "invalid --size '%s'", argv[i]);
		} else if (!name && argv[i][0] != '-') {
			name = argv[i];
		} else {
			return ctl_usage_error("channel", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!name)
		return ctl_usage_error("channel", "read needs a channel NAME");
	if (ctl_connect(ctl))
		return EXIT_FAIL;
	if (omv_client_channel_read(ctl->c, name, size, &data, &len) < 0)
		return ctl_fail(ctl);
	if (!data)
		return ctl_error("no channel named '%s'", name);
	if (ctl->json) {
		char *b64 = omv_base64_encode(data, len);

		ctl_print_json(json_pack("{s:s,s:I,s:s}", "name", name, "size", (json_int_t)len,
					 "data", b64 ? b64 : ""));
		free(b64);
	} else if (fwrite(data, 1, len, stdout) != len) {
		free(data);
		return ctl_error("writing output: %s", strerror(errno));
	}
	free(data);
	return EXIT_OK;
}

static int channel_write(struct ctl *ctl, int argc, char **argv)
{
	unsigned char *data;
	bool written;
	size_t len;
	int rc;

	if (argc != 4)
		return ctl_usage_error("channel", "write needs NAME and DATA (or @FILE)");
	if (ctl_connect(ctl))
		return EXIT_FAIL;
	if (argv[3][0] == '@') {
		data = ctl_slurp(argv[3] + 1, &len);
		if (!data)
			return ctl_error("cannot read %s: %s", argv[3] + 1, strerror(errno));
	} else {
		len = strlen(argv[3]);
		data = (unsigned char *)strdup(argv[3]);
		if (!data)
			return ctl_error("out of memory");
	}
	rc = omv_client_channel_write(ctl->c, argv[2], data, len, &written);
	free(data);
	if (rc < 0)
		return ctl_fail(ctl);
	if (!written)
		return ctl_error("no channel named '%s'", argv[2]);
	if (ctl->json)
		ctl_print_json(json_pack("{s:s,s:I}", "name", argv[2], "written", (json_int_t)len));
	return EXIT_OK;
}

int cmd_channel(struct ctl *ctl, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "read") == 0)
		return channel_read(ctl, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "write") == 0)
		return channel_write(ctl, argc, argv);
	return ctl_usage_error("channel", "expected 'read' or 'write'");
}

int cmd_call(struct ctl *ctl, int argc, char **argv)
{
	json_t *params = NULL, *res;
	json_error_t jerr;
	char *text;
	int rc;

	if (argc < 2 || argc > 3)
		return ctl_usage_error("call", "expected METHOD [JSON-PARAMS]");
	if (argc == 3) {
		params = json_loads(argv[2], JSON_DECODE_ANY, &jerr);
		if (!params)
			return ctl_usage_error("call", "params are not JSON: %s", jerr.text);
		if (!json_is_object(params) && !json_is_array(params)) {
			json_decref(params);
			return ctl_usage_error("call", "params must be a JSON object or array");
		}
	}
	if (ctl_connect(ctl)) {
		json_decref(params);
		return EXIT_FAIL;
	}
	rc = omv_client_call(ctl->c, argv[1], params, &res);
	json_decref(params);
	if (rc < 0)
		return ctl_fail(ctl);
	text = json_dumps(res, JSON_ENCODE_ANY | (ctl->json ? JSON_COMPACT : JSON_INDENT(2)));
	json_decref(res);
	if (text)
		puts(text);
	free(text);
	return EXIT_OK;
}
