/*
 * omvctl's commands that describe things: status, list, info, stats, and
 * the generic call.
 */
#include "omvctl.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The negotiated caps on one line; "-" while they are unknown. */
static void print_caps(const json_t *caps)
{
	if (!json_is_object(caps)) {
		printf("-\n");
		return;
	}
	printf("crc %s, seq %s, ack %s, events %s, max payload %" JSON_INTEGER_FORMAT "\n",
	       yes_no(json_is_true(json_object_get(caps, "crc"))),
	       yes_no(json_is_true(json_object_get(caps, "seq"))),
	       yes_no(json_is_true(json_object_get(caps, "ack"))),
	       yes_no(json_is_true(json_object_get(caps, "events"))),
	       json_integer_value(json_object_get(caps, "max_payload")));
}

static const char *str_or_dash(const json_t *v)
{
	return json_is_string(v) && json_string_value(v)[0] ? json_string_value(v) : "-";
}

int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	json_t *st, *shared, *res, *run;
	const char *link, *reason;
	int rc;

	if ((rc = ctl_no_operands(ctl, argc, argv)) || (rc = ctl_connect(ctl)))
		return rc;
	if (ctl->json)
		return print_call(ctl, "status", NULL);
	if (omv_client_call(ctl->c, "status", NULL, &st) < 0)
		return ctl_fail(ctl);
	link = str_or_dash(json_object_get(st, "link"));
	reason = json_string_value(json_object_get(st, "reason"));
	shared = json_object_get(st, "shared");
	res = json_object_get(shared, "resolution");
	run = json_object_get(shared, "run");
	if (strcmp(link, "ready") != 0 && reason && *reason)
		printf("link:      %s: %s\n", link, reason);
	else
		printf("link:      %s\n", link);
	printf("port:      %s\n", str_or_dash(json_object_get(st, "port")));
	printf("serial:    %s\n", str_or_dash(json_object_get(st, "serial")));
	printf("caps:      ");
	print_caps(json_object_get(st, "caps"));
	printf("uptime:    %.1f s\n",
	       (double)json_integer_value(json_object_get(st, "uptime_ms")) / 1000.0);
	if (json_is_true(json_object_get(shared, "streaming"))) {
		printf("streaming: on (%s", json_is_true(json_object_get(shared, "raw")) ? "raw" : "jpeg");
		if (json_array_size(res) == 2)
			printf(", %" JSON_INTEGER_FORMAT "x%" JSON_INTEGER_FORMAT,
			       json_integer_value(json_array_get(res, 0)),
			       json_integer_value(json_array_get(res, 1)));
		printf(")\n");
	} else {
		printf("streaming: off\n");
	}
	printf("script:    %s", json_is_true(json_object_get(shared, "script_running"))
	       ? "running" : "not running");
	if (json_is_integer(run))
		printf(" (run %" JSON_INTEGER_FORMAT ")", json_integer_value(run));
	printf("\nclients:   %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(st, "clients")));
	json_decref(st);
	return EXIT_OK;
}

/* ---- list ------------------------------------------------------------------ */

static const struct {
	uint16_t vid, pid;
	const char *name;
} boards[] = {
	{ 0x37C5, 0x1202, "OpenMV Cam M4" },
	{ 0x37C5, 0x1203, "OpenMV Cam M7" },
	{ 0x37C5, 0x1204, "OpenMV Cam H7" },
	{ 0x37C5, 0x124A, "OpenMV Cam H7 Plus" },
	{ 0x37C5, 0x1205, "PureThermal" },
	{ 0x37C5, 0x1206, "OpenMV Cam N6" },
	{ 0x37C5, 0x1060, "OpenMV Cam RT1062" },
	{ 0x37C5, 0x16E3, "OpenMV Cam AE3" },
	{ 0x1209, 0xABD1, "OpenMV Cam (older board)" },
};

/* The board's name from its USB ids, or "vid:pid"; "-" without them. */
static void board_name(const json_t *sysinfo, char *buf, size_t size)
{
	json_t *vid = json_object_get(sysinfo, "usb_vid"), *pid = json_object_get(sysinfo, "usb_pid");

	snprintf(buf, size, "-");
	if (!json_is_integer(vid) || !json_is_integer(pid))
		return;
	for (size_t i = 0; i < sizeof boards / sizeof boards[0]; i++) {
		if (boards[i].vid == json_integer_value(vid) && boards[i].pid == json_integer_value(pid)) {
			snprintf(buf, size, "%s", boards[i].name);
			return;
		}
	}
	snprintf(buf, size, "%04" JSON_INTEGER_FORMAT "x:%04" JSON_INTEGER_FORMAT "x",
		 json_integer_value(vid), json_integer_value(pid));
}

/* What list shows of one socket: {socket, port, serial, board, link,
 * reason, clients} (clients: the others, not this one). */
static json_t *describe_socket(struct ctl *ctl, const char *path)
{
	omv_client *c = omv_client_new();
	json_t *st = NULL, *si = NULL, *row;
	char board[64];

	if (!c)
		return NULL;
	omv_client_set_timeout(c, ctl->timeout_ms);
	if (omv_client_connect(c, path) < 0 || omv_client_call(c, "status", NULL, &st) < 0) {
		row = json_pack("{s:s, s:s, s:s}", "socket", path, "link", "unreachable",
				"reason", omv_client_error_message(c));
		omv_client_free(c);
		return row;
	}
	/* Cached by omvd after the first connect; unknown before. */
	if (omv_client_call(c, "system_info", NULL, &si) < 0)
		si = NULL;
	board_name(si, board, sizeof board);
	row = json_pack("{s:s, s:O, s:O, s:s, s:O, s:O, s:I}", "socket", path,
			"port", json_object_get(st, "port"), "serial", json_object_get(st, "serial"),
			"board", board, "link", json_object_get(st, "link"),
			"reason", json_object_get(st, "reason") ? json_object_get(st, "reason")
								 : json_null(),
			"clients", json_integer_value(json_object_get(st, "clients")) - 1);
	json_decref(si);
	json_decref(st);
	omv_client_free(c);
	return row;
}

static int field_width(const json_t *rows, const char *key, int min)
{
	size_t i;
	json_t *r;
	int w = min;

	json_array_foreach(rows, i, r) {
		int len = (int)strlen(str_or_dash(json_object_get(r, key)));

		if (len > w)
			w = len;
	}
	return w;
}

int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	char **sockets;
	json_t *rows, *r;
	size_t i;
	int rc, ws, wp, wn, wb;

	if ((rc = ctl_no_operands(ctl, argc, argv)))
		return rc;
	sockets = omv_client_list_sockets();
	rows = json_array();
	for (i = 0; sockets && sockets[i]; i++)
		json_array_append_new(rows, describe_socket(ctl, sockets[i]));
	if (ctl->json) {
		ctl_print_json(rows);
		free(sockets);
		return EXIT_OK;
	}
	if (!sockets || !sockets[0])
		fprintf(stderr, "omvctl: no omvd socket in %s\n", omv_client_runtime_dir());
	free(sockets);
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return EXIT_OK;
	}
	ws = field_width(rows, "socket", 6);
	wp = field_width(rows, "port", 4);
	wn = field_width(rows, "serial", 6);
	wb = field_width(rows, "board", 5);
	printf("%-*s  %-*s  %-*s  %-*s  %-11s %s\n", ws, "SOCKET", wp, "PORT", wn, "SERIAL",
	       wb, "BOARD", "LINK", "CLIENTS");
	json_array_foreach(rows, i, r) {
		const char *link = str_or_dash(json_object_get(r, "link"));
		json_t *clients = json_object_get(r, "clients");

		printf("%-*s  %-*s  %-*s  %-*s  %-11s ", ws, str_or_dash(json_object_get(r, "socket")),
		       wp, str_or_dash(json_object_get(r, "port")),
		       wn, str_or_dash(json_object_get(r, "serial")),
		       wb, str_or_dash(json_object_get(r, "board")), link);
		if (json_is_integer(clients))
			printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(clients));
		else
			printf("- (%s)\n", str_or_dash(json_object_get(r, "reason")));
	}
	json_decref(rows);
	return EXIT_OK;
}

/* ---- info ------------------------------------------------------------------ */

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
			json_object_set(out, "serial", json_object_get(res, "serial"));
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
	omv_system_info si;
	omv_version ver;
	omv_channel *chans;
	size_t nchans;
	json_t *st, *sij;
	char board[64];
	int rc;

	if ((rc = ctl_no_operands(ctl, argc, argv)) || (rc = ctl_connect(ctl)))
		return rc;
	if (ctl->json)
		return info_json(ctl);
	if (omv_client_version(ctl->c, &ver) < 0 || omv_client_system_info(ctl->c, &si) < 0 ||
	    omv_client_call(ctl->c, "status", NULL, &st) < 0)
		return ctl_fail(ctl);
	if (omv_client_channel_list(ctl->c, &chans, &nchans) < 0) {
		json_decref(st);
		return ctl_fail(ctl);
	}
	sij = json_pack("{s:i, s:i}", "usb_vid", si.usb_vid, "usb_pid", si.usb_pid);
	board_name(sij, board, sizeof board);
	json_decref(sij);
	printf("%-22s %s\n", "Board:", board);
	printf("%-22s %s\n", "Serial:", str_or_dash(json_object_get(st, "serial")));
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
	printf("%-22s ", "Link caps:");
	print_caps(json_object_get(st, "caps"));
	printf("%-22s", "Channels:");
	for (size_t i = 0; i < nchans; i++)
		printf(" %s(%d)", chans[i].name, chans[i].id);
	printf("\n");
	free(chans);
	json_decref(st);
	return EXIT_OK;
}

int cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	omv_host_stats h;
	omv_device_stats d;
	int rc;

	if ((rc = ctl_no_operands(ctl, argc, argv)) || (rc = ctl_connect(ctl)))
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

int cmd_call(struct ctl *ctl, int argc, char **argv)
{
	json_t *params = NULL, *res;
	json_error_t jerr;
	char *text;
	int rc, opt = ctl_getopt(ctl, argc, argv, NULL, NULL);

	if (opt != -1)
		return EXIT_USAGE;
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 2 || argc > 3)
		return ctl_usage_error(ctl, "expected METHOD [JSON-PARAMS]");
	if (argc == 3) {
		params = json_loads(argv[2], JSON_DECODE_ANY, &jerr);
		if (!params)
			return ctl_usage_error(ctl, "params are not JSON: %s", jerr.text);
		if (!json_is_object(params) && !json_is_array(params)) {
			json_decref(params);
			return ctl_usage_error(ctl, "params must be a JSON object or array");
		}
	}
	if ((rc = ctl_connect(ctl))) {
		json_decref(params);
		return rc;
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
