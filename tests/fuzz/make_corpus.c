/*
 * make-corpus DIR: writes the seed corpora of the harnesses and the
 * JSON-RPC dictionary under DIR (corpus/rpc, corpus/host, corpus/frame,
 * corpus/cam, rpc.dict). The committed files under tests/fuzz come from
 *   build-fuzz/tests/fuzz/make-corpus tests/fuzz
 * Run it again when methods or the script formats change.
 *
 * Seeds: one request of each method of docs/rpc.md and the scenarios the
 * integration tests play (locks, scripts, streaming, batches, errors); the
 * handshake and the exchanges of tests/unit/test_host.c as host scripts;
 * stream frames of each pixel format, JPEGs made with turbojpeg; answers
 * of a hostile cam: bad statuses, payloads of the wrong size, channel
 * names that are not UTF-8, stdout that is not UTF-8, stray events, odd
 * frames, silence.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include "cam_script.h"
#include "host_script.h"
#include "protocol/msg.h"
#include "protocol/packet.h"

static char root[512];

static void die(const char *what)
{
	fprintf(stderr, "make-corpus: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void make_dir(const char *sub)
{
	char path[600];

	snprintf(path, sizeof path, "%s/%s", root, sub);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
}

static void put(const char *dir, const char *name, const void *data, size_t len)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

/* ---- JSON-RPC ---- */

static void rpc(const char *name, const char *lines)
{
	put("corpus/rpc", name, lines, strlen(lines));
}

#define REQ(id, method, params) \
	"{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"" method "\",\"params\":" params "}\n"
#define CALL(id, method) "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"" method "\"}\n"

static const char *const methods[] = {
	"is_connected", "status", "clients", "version", "system_info", "host_stats",
	"device_stats", "reset", "boot", "update_capabilities", "resync", "poll_events",
	"exec", "stop", "read_stdout", "streaming", "read_frame", "has_channel",
	"channel_size", "channel_read", "channel_write", "read_status", "update_channels",
	"get_channel", "channel_list", "channel_lock", "channel_unlock", "channel_shape",
	"channel_size_id", "channel_read_id", "channel_write_id", "channel_ioctl",
	"send_command", "profiler_mode", "profiler_reset", "profiler_event", "read_profile",
	"subscribe", "unsubscribe",
};

static const char *const words[] = {
	/* parameter names */
	"script", "enable", "raw", "resolution", "format", "shm", "name", "size", "data",
	"channel_id", "offset", "length", "cmd", "fmt", "args", "opcode", "channel",
	"exclusive", "config", "counter_num", "event_id", "topics", "frame_format",
	/* values */
	"link", "event", "stdout", "frame", "state", "none", "jpeg", "rgb888", "native",
	"stdin", "stream", "buf", "profile", "extra", "<II", ">hH", "bB?", "qQdf", "4x",
};

static void dict_entry(FILE *f, const char *value)
{
	fputc('"', f);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		if (*p < 0x20)
			fprintf(f, "\\x%02X", *p);
		else
			fputc(*p, f);
	}
	fputs("\"\n", f);
}

static void rpc_dict(void)
{
	static const char *const tokens[] = {
		"{\"jsonrpc\":\"2.0\",", "\"id\":", "\"method\":", "\"params\":{", "\"params\":[",
		"}\n", "[{", "},{", "}]\n", "\"2.0\"", "\"1.0\"", "null", "true", "false", "[]",
		"{}", "\"\"", "\\u0000", "\\ud800", "\\u00e9", "\\\"", "1e400", "-0", "0.5",
		"9223372036854775807", "-9223372036854775808", "18446744073709551616",
		"4294967295", "65535", "256", "\r\n", "\x1e",
	};
	char path[600], quoted[64];
	FILE *f;

	snprintf(path, sizeof path, "%s/rpc.dict", root);
	f = fopen(path, "w");
	if (f == NULL)
		die(path);
	fputs("# JSON-RPC dictionary of fuzz-rpc (written by make-corpus)\n", f);
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		snprintf(quoted, sizeof quoted, "\"%s\"", methods[i]);
		dict_entry(f, quoted);
	}
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		snprintf(quoted, sizeof quoted, "\"%s\"", words[i]);
		dict_entry(f, quoted);
	}
	for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
		dict_entry(f, tokens[i]);
	if (fclose(f) != 0)
		die(path);
}

static void rpc_seeds(void)
{
	char line[5000];

	/* One call of each method, without and with typical parameters. */
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"%s\"}\n",
			 i + 1, methods[i]);
		rpc(methods[i], line);
	}
	rpc("exec_params", REQ(1, "exec", "{\"script\":\"print('hi')\"}"));
	rpc("streaming_params", REQ(1, "streaming",
				    "{\"enable\":true,\"raw\":true,\"resolution\":[64,48]}"));
	rpc("read_frame_params", REQ(1, "read_frame", "{\"format\":\"jpeg\",\"shm\":false}"));
	rpc("channel_by_name",
	    REQ(1, "has_channel", "{\"name\":\"buf\"}")
	    REQ(2, "channel_write", "{\"name\":\"buf\",\"data\":\"aGVsbG8=\"}")
	    REQ(3, "channel_size", "{\"name\":\"buf\"}")
	    REQ(4, "channel_read", "{\"name\":\"buf\",\"size\":4}")
	    REQ(5, "channel_read", "{\"name\":\"stdout\"}")
	    REQ(6, "get_channel", "{\"name\":\"stream\"}")
	    REQ(7, "get_channel", "{\"channel_id\":6}"));
	rpc("channel_by_id",
	    REQ(1, "channel_lock", "{\"channel_id\":5}")
	    REQ(2, "channel_write_id", "{\"channel_id\":5,\"data\":\"AAECAw==\",\"offset\":2}")
	    REQ(3, "channel_size_id", "{\"channel_id\":5}")
	    REQ(4, "channel_read_id", "{\"channel_id\":5,\"offset\":0,\"length\":4}")
	    REQ(5, "channel_shape", "{\"channel_id\":4}")
	    REQ(6, "channel_unlock", "{\"channel_id\":5}"));
	rpc("ioctl",
	    REQ(1, "channel_ioctl", "{\"channel_id\":1,\"cmd\":3}")
	    REQ(2, "channel_ioctl", "{\"channel_id\":3,\"cmd\":2,\"fmt\":\"II\",\"args\":[64,48]}")
	    REQ(3, "channel_ioctl",
		"{\"channel_id\":4,\"cmd\":1,\"fmt\":\"<bH?q\",\"args\":[-1,2,true,3]}"));
	rpc("send_command",
	    REQ(1, "send_command", "{\"opcode\":33}")
	    REQ(2, "send_command", "{\"opcode\":38,\"channel\":5,\"data\":\"AAAAAAQAAAA=\"}")
	    REQ(3, "send_command", "{\"opcode\":4,\"channel\":0,\"data\":\"\"}")
	    REQ(4, "send_command", "{\"opcode\":0}"));
	rpc("profiler",
	    REQ(1, "profiler_mode", "{\"exclusive\":true}")
	    REQ(2, "profiler_event", "{\"counter_num\":0,\"event_id\":17}")
	    REQ(3, "profiler_reset", "{\"config\":[1,2,3]}")
	    CALL(4, "read_profile")
	    REQ(5, "profiler_reset", "{\"config\":null}"));
	rpc("script",
	    REQ(1, "subscribe", "{\"topics\":[\"stdout\",\"state\",\"event\"]}")
	    REQ(2, "exec", "{\"script\":\"import time\\nprint('a')\"}")
	    CALL(3, "read_stdout")
	    CALL(4, "stop")
	    CALL(5, "poll_events"));
	rpc("stream",
	    REQ("s", "subscribe", "{\"topics\":[\"frame\",\"link\"],\"frame_format\":\"native\"}")
	    REQ("on", "streaming", "{\"enable\":true}")
	    REQ("f", "read_frame", "{\"format\":\"rgb888\"}")
	    REQ("f2", "read_frame", "{\"format\":\"native\"}")
	    REQ("off", "streaming", "{\"enable\":false}")
	    REQ("u", "unsubscribe", "{\"topics\":[\"frame\"]}"));
	rpc("link",
	    CALL(1, "resync") CALL(2, "update_capabilities") CALL(3, "update_channels")
	    CALL(4, "reset") CALL(5, "status") CALL(6, "boot") CALL(7, "version"));
	rpc("batch",
	    "[" REQ(1, "status", "{}") ",{\"jsonrpc\":\"2.0\",\"method\":\"stop\"},1,"
	    "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"nope\"},"
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"version\"}]\n"
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"poll_events\"}]\n");
	rpc("errors",
	    "not json\n[]\n[1,2]\n\"x\"\n{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"status\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"status\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":7}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"status\",\"params\":\"x\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"status\",\"params\":[1]}\n"
	    REQ(5, "channel_read", "{\"name\":\"buf\",\"bogus\":1}")
	    REQ(6, "channel_read_id", "{\"channel_id\":300,\"offset\":-1,\"length\":\"x\"}")
	    REQ(7, "exec", "{\"script\":null}")
	    "\n \t\r\n{\"jsonrpc\":\"2.0\",\"method\":\"status\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"status\"}");
	rpc("big_numbers",
	    "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"status\"}\n"
	    REQ(1, "channel_read", "{\"name\":\"buf\",\"size\":99999999999999999999}")
	    REQ(2.5, "channel_read_id", "{\"channel_id\":5,\"offset\":4294967295,\"length\":4294967295}"));

	/* Two clients at once (fuzz_rpc.c splits at the first RS): a lock
	 * taken by one and wanted by the other, streaming wished by both. */
	rpc("two_clients",
	    REQ(1, "channel_lock", "{\"channel_id\":5}")
	    REQ(2, "streaming", "{\"enable\":true}")
	    REQ(3, "channel_write", "{\"name\":\"buf\",\"data\":\"AQID\"}")
	    CALL(4, "clients")
	    "\x1e"
	    REQ(1, "channel_lock", "{\"channel_id\":5}")
	    REQ(2, "subscribe", "{\"topics\":[\"frame\",\"state\"],\"frame_format\":\"jpeg\"}")
	    REQ(3, "channel_read_id", "{\"channel_id\":5,\"offset\":0,\"length\":2}")
	    REQ(4, "streaming", "{\"enable\":false}")
	    CALL(5, "poll_events"));

	/* Pipelined past the per-client limit of calls in flight. */
	line[0] = '\0';
	for (int i = 0; i < 80; i++)
		snprintf(line + strlen(line), sizeof line - strlen(line),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"host_stats\"}\n", i);
	rpc("pipelined", line);

	/* A line over the request limit (4000 bytes), then one that is not read. */
	snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"exec\","
		 "\"params\":{\"script\":\"%4010d\"}}\n" CALL(2, "status"), 0);
	rpc("too_large", line);
}

/* ---- host scripts ---- */

struct script {
	uint8_t b[8192];
	size_t len;
};

static void s_bytes(struct script *s, const void *p, size_t n)
{
	if (n > 0)
		memcpy(s->b + s->len, p, n);
	s->len += n;
}

static void s_u8(struct script *s, uint8_t v)
{
	s_bytes(s, &v, 1);
}

static void s_u16(struct script *s, uint16_t v)
{
	s_u8(s, (uint8_t)v);
	s_u8(s, (uint8_t)(v >> 8));
}

static void s_command(struct script *s, uint8_t opcode, uint8_t chan, const void *payload,
		      uint8_t len, uint8_t rx, uint8_t then)
{
	s_u8(s, HOP_COMMAND);
	s_u8(s, opcode);
	s_u8(s, chan);
	s_u16(s, 1000);
	s_u8(s, len);
	s_bytes(s, payload, len);
	s_u8(s, rx);
	s_u8(s, then);
}

/* A packet from the cam for the command in flight, in sequence. */
static void s_reply(struct script *s, uint8_t flags, const void *payload, uint16_t len,
		    unsigned pieces)
{
	s_u8(s, HOP_PACKET);
	s_u8(s, (uint8_t)(HOW_HOST_SEQ | HOW_CMD | HOW_CRC | (pieces - 1) << HOW_PIECES_SHIFT));
	s_u8(s, 0);
	s_u8(s, flags);
	s_u8(s, 0);
	s_u8(s, 0);
	s_u16(s, len);
	s_bytes(s, payload, len);
}

static void s_packet(struct script *s, uint8_t how, uint8_t seq, uint8_t flags, uint8_t opcode,
		     uint8_t chan, const void *payload, uint16_t len)
{
	s_u8(s, HOP_PACKET);
	s_u8(s, how);
	s_u8(s, seq);
	s_u8(s, flags);
	s_u8(s, opcode);
	s_u8(s, chan);
	s_u16(s, len);
	s_bytes(s, payload, len);
}

static void s_time(struct script *s, uint16_t ms)
{
	s_u8(s, HOP_TIME);
	s_u16(s, ms);
}

static void s_sync(struct script *s)
{
	s_u8(s, HOP_SYNC);
	s_u16(s, 1000);
	s_reply(s, OMV_F_ACK, NULL, 0, 1);
}

#define ACKED (OMV_F_ACK | OMV_F_ACK_REQ)

/* A response of len bytes in fragments of at most max bytes. */
static void s_fragments(struct script *s, const uint8_t *p, size_t len, size_t max)
{
	while (len > max) {
		s_reply(s, OMV_F_ACK_REQ | OMV_F_FRAGMENT, p, (uint16_t)max, 2);
		p += max;
		len -= max;
	}
	s_reply(s, OMV_F_ACK_REQ, p, (uint16_t)len, 1);
}

static void s_caps(struct script *s, uint16_t max_payload)
{
	struct omv_caps caps = { true, true, true, true, max_payload };
	uint8_t p[OMV_CAPS_SIZE];

	omv_caps_encode(&caps, p);
	s_command(s, OMV_OP_PROTO_GET_CAPS, 0, NULL, 0, 0, THEN_NOTHING);
	s_reply(s, OMV_F_ACK_REQ, p, sizeof p, 1);
	s_u8(s, HOP_SET_CAPS);
	s_bytes(s, p, sizeof p);
	s_u16(s, 1000);
	s_reply(s, ACKED, NULL, 0, 1);
}

static void host(const char *name, const struct script *s)
{
	put("corpus/host", name, s->b, s->len);
}

static void host_seeds(void)
{
	static const struct omv_channel_info channels[] = {
		{ 0, OMV_CH_PHYSICAL, "usb" }, { 1, OMV_CH_WRITE | OMV_CH_EXEC, "stdin" },
		{ 2, OMV_CH_READ, "stdout" }, { 3, OMV_CH_READ | OMV_CH_LOCK | OMV_CH_STREAM, "stream" },
		{ 4, OMV_CH_READ | OMV_CH_LOCK, "profile" }, { 7, OMV_CH_READ | OMV_CH_DYNAMIC, "ticks" },
	};
	struct omv_version version = { { 1, 0, 2 }, { 1, 0, 3 }, { 5, 0, 0 } };
	struct omv_sysinfo info = { .cpu_id = 0xC27, .usb_vid = 0x37C5, .usb_pid = 0x1206,
				    .hw_caps = { OMV_HW_JPEG | OMV_HW_PMU | 4u << 8, 0 } };
	struct omv_proto_stats stats = { 10, 9, 1, 0, 2, 0, 5, 3 };
	struct omv_frame_hdr hdr = { 4, 2, OMV_PIXFMT_RGB565, 2, OMV_FRAME_HDR_SIZE, 30.0f };
	struct omv_shape shape = { { 3, 48 }, 2 };
	uint8_t buf[1024], req[16], status[2];
	struct script s;
	size_t n;

	/* The daemon's handshake, with 52-byte fragments before SET_CAPS. */
	memset(&s, 0, sizeof s);
	s_u8(&s, 31);
	s_sync(&s);
	s_caps(&s, 64);
	n = omv_channel_list_encode(channels, 6, buf, sizeof buf);
	s_command(&s, OMV_OP_CHANNEL_LIST, 0, NULL, 0, 0, THEN_NOTHING);
	s_fragments(&s, buf, n, 64);
	omv_version_encode(&version, buf);
	s_command(&s, OMV_OP_PROTO_VERSION, 0, NULL, 0, 0, THEN_NOTHING);
	s_reply(&s, OMV_F_ACK_REQ, buf, OMV_VERSION_SIZE, 1);
	omv_sysinfo_encode(&info, buf);
	s_command(&s, OMV_OP_SYS_INFO, 0, NULL, 0, 0, THEN_NOTHING);
	s_fragments(&s, buf, OMV_SYSINFO_SIZE, 64);
	omv_stats_encode(&stats, buf);
	s_command(&s, OMV_OP_PROTO_STATS, 0, NULL, 0, 0, THEN_COMMAND);
	s_reply(&s, OMV_F_ACK_REQ, buf, OMV_STATS_SIZE, 3);
	omv_put_u32(buf, 1u << 2 | 1u << 3);
	s_reply(&s, OMV_F_ACK_REQ, buf, 4, 1);	/* the POLL done() started */
	host("handshake", &s);

	/* A frame: LOCK, SIZE, READ in fragments with events between, UNLOCK. */
	memset(&s, 0, sizeof s);
	s_u8(&s, 63);
	s_sync(&s);
	s_command(&s, OMV_OP_CHANNEL_LOCK, 3, NULL, 0, 0, THEN_NOTHING);
	s_reply(&s, ACKED, NULL, 0, 1);
	s_command(&s, OMV_OP_CHANNEL_SIZE, 3, NULL, 0, 0, THEN_NOTHING);
	omv_put_u32(buf, OMV_FRAME_HDR_SIZE + 16);
	s_reply(&s, OMV_F_ACK_REQ, buf, 4, 1);
	omv_read_req_encode(0, OMV_FRAME_HDR_SIZE + 16, req);
	s_command(&s, OMV_OP_CHANNEL_READ, 3, req, OMV_READ_REQ_SIZE, 2, THEN_NOTHING);
	omv_frame_hdr_encode(&hdr, buf);
	for (int i = 0; i < 16; i++)
		buf[OMV_FRAME_HDR_SIZE + i] = (uint8_t)(i * 17);
	s_reply(&s, OMV_F_ACK_REQ | OMV_F_FRAGMENT, buf, 30, 2);
	s_packet(&s, HOW_CRC, 0, OMV_F_EVENT, OMV_OP_CHANNEL_EVENT, 2, NULL, 0);
	omv_put_u16(status, OMV_EV_SOFT_REBOOT);
	s_packet(&s, HOW_CRC, 0, OMV_F_EVENT, OMV_OP_SYS_EVENT, 0, status, 2);
	s_reply(&s, OMV_F_ACK_REQ, buf + 30, OMV_FRAME_HDR_SIZE + 16 - 30, 1);
	s_command(&s, OMV_OP_CHANNEL_UNLOCK, 3, NULL, 0, 0, THEN_SYNC);
	s_reply(&s, ACKED, NULL, 0, 1);
	s_time(&s, 2000);
	host("frame", &s);

	/* NAK BUSY, a retransmitted copy, an out-of-sequence packet, a timeout. */
	memset(&s, 0, sizeof s);
	s_u8(&s, 0);
	s_sync(&s);
	s_command(&s, OMV_OP_CHANNEL_LOCK, 3, NULL, 0, 0, THEN_NOTHING);
	omv_put_u16(status, OMV_ST_BUSY);
	s_reply(&s, OMV_F_NAK | OMV_F_ACK_REQ, status, 2, 1);
	s_command(&s, OMV_OP_CHANNEL_SHAPE, 4, NULL, 0, 0, THEN_NOTHING);
	s_packet(&s, HOW_CMD | HOW_CRC, 77, OMV_F_ACK_REQ, 0, 0, buf, 8);
	n = omv_shape_encode(&shape, buf);
	s_reply(&s, OMV_F_ACK_REQ, buf, (uint16_t)n, 1);
	s_packet(&s, HOW_CMD | HOW_CRC, 1, OMV_F_ACK_REQ | OMV_F_RTX, OMV_OP_CHANNEL_SHAPE, 4,
		 buf, (uint16_t)n);
	s_command(&s, OMV_OP_CHANNEL_POLL, 0, NULL, 0, 0, THEN_NOTHING);
	s_time(&s, 999);
	s_time(&s, 1);
	host("nak_rtx_timeout", &s);

	/* Damage: bad CRCs, a flipped byte, garbage, a response too big for
	 * the caller's buffer, cancel, reset, a command that gets no reply. */
	memset(&s, 0, sizeof s);
	s_u8(&s, 0);
	s_sync(&s);
	s_command(&s, OMV_OP_CHANNEL_READ, 5, req, OMV_READ_REQ_SIZE, 1, THEN_NOTHING);
	memset(buf, 0xAA, 200);
	s_packet(&s, HOW_HOST_SEQ | HOW_CMD, 0, OMV_F_ACK_REQ, 0, 0, buf, 40);
	s_packet(&s, HOW_HOST_SEQ | HOW_CMD | HOW_CRC | HOW_FLIP, 13, OMV_F_ACK_REQ, 0, 0, buf, 40);
	s_u8(&s, HOP_WIRE);
	s_u8(&s, 12);
	s_bytes(&s, "\xAA\xD5\xAA\xD5\x00\x00\x00\x26\xFF\xFF\xAA\xD5", 12);
	s_fragments(&s, buf, 200, 52);
	s_command(&s, OMV_OP_CHANNEL_SIZE, 2, NULL, 0, 0, THEN_NOTHING);
	s_u8(&s, HOP_CANCEL);
	s_command(&s, OMV_OP_CHANNEL_SIZE, 2, NULL, 0, 0, THEN_NOTHING);
	s_u8(&s, HOP_RESET);
	s_u8(&s, HOP_NOREPLY);
	s_u8(&s, OMV_OP_SYS_RESET);
	s_u8(&s, 0);
	s_sync(&s);
	s_fragments(&s, buf, 200, 52);
	host("damage", &s);

	/* A reply over the reassembly limit (1 KiB) after caps allow 1 KiB packets. */
	memset(&s, 0, sizeof s);
	s_u8(&s, 0);
	s_sync(&s);
	s_caps(&s, 1024);
	omv_read_req_encode(0, 2048, req);
	s_command(&s, OMV_OP_CHANNEL_READ, 7, req, OMV_READ_REQ_SIZE, 0, THEN_NOTHING);
	memset(buf, 0x55, sizeof buf);
	s_reply(&s, OMV_F_ACK_REQ | OMV_F_FRAGMENT, buf, 1000, 4);
	s_reply(&s, OMV_F_ACK_REQ, buf, 1000, 1);
	host("too_big", &s);
}

/* ---- frames ---- */

static void frame(const char *name, uint32_t w, uint32_t h, uint32_t format, uint32_t size,
		  uint32_t offset, const uint8_t *pixels, size_t len)
{
	struct omv_frame_hdr hdr = { w, h, format, size, offset, 25.0f };
	uint8_t data[65536];

	memset(data, 0, sizeof data);
	omv_frame_hdr_encode(&hdr, data);
	memcpy(data + offset, pixels, len);
	put("corpus/frame", name, data, offset + len);
}

static void jpeg(const char *name, int w, int h, int subsamp, int format)
{
	tjhandle tj = tjInitCompress();
	uint8_t rgb[64 * 64 * 3], *out = NULL;
	unsigned long len = 0;

	for (int i = 0; i < w * h * 3; i++)
		rgb[i] = (uint8_t)(i * 7 + i / (w * 3) * 29);
	if (tj == NULL || tjCompress2(tj, rgb, w, 0, h, format, &out, &len, subsamp, 75, 0) < 0) {
		fprintf(stderr, "make-corpus: turbojpeg: %s\n", tjGetErrorStr());
		exit(1);
	}
	frame(name, (uint32_t)w, (uint32_t)h, OMV_PIXFMT_JPEG, (uint32_t)len, OMV_FRAME_HDR_SIZE,
	      out, len);
	tjFree(out);
	tjDestroy(tj);
}

static void frame_seeds(void)
{
	uint8_t px[2048];

	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 37 + 11);
	frame("gray", 8, 4, OMV_PIXFMT_GRAYSCALE, 1, OMV_FRAME_HDR_SIZE, px, 32);
	frame("gray_short_header", 5, 3, OMV_PIXFMT_GRAYSCALE, 1, OMV_FRAME_HDR_MIN, px, 15);
	frame("rgb565", 6, 3, OMV_PIXFMT_RGB565, 2, OMV_FRAME_HDR_SIZE, px, 36);
	frame("rgb565_odd_offset", 3, 3, OMV_PIXFMT_RGB565, 2, 37, px, 20);
	/* 0 bytes per pixel, and none: a header msg.h accepts, no pixels */
	frame("gray_no_pixels", 59, 16131, OMV_PIXFMT_GRAYSCALE, 0, OMV_FRAME_HDR_MIN, px, 0);
	frame("compressed_other", 16, 16, OMV_PIXFMT_COMPRESSED | 0x0C060000u, 64,
	      OMV_FRAME_HDR_SIZE, px, 64);
	jpeg("jpeg_444", 16, 8, TJSAMP_444, TJPF_RGB);
	jpeg("jpeg_420", 24, 16, TJSAMP_420, TJPF_RGB);
	jpeg("jpeg_gray", 8, 8, TJSAMP_GRAY, TJPF_RGB);
}

/* ---- hostile cam answers ---- */

static void cam(const char *name, const struct script *s)
{
	put("corpus/cam", name, s->b, s->len);
}

static void a_reply(struct script *s, uint8_t status, const void *p, uint16_t len)
{
	s_u8(s, ANS_REPLY);
	s_u8(s, status);
	s_u16(s, len);
	s_bytes(s, p, len);
}

static void a_event(struct script *s, uint8_t chan, uint16_t code)
{
	s_u8(s, ANS_EVENT);
	s_u8(s, chan);
	s_u16(s, code);
}

static void cam_seeds(void)
{
	static const struct omv_channel_info odd[] = {
		{ 1, OMV_CH_WRITE | OMV_CH_EXEC, "stdin" }, { 2, OMV_CH_READ, "stdout" },
		{ 3, OMV_CH_READ | OMV_CH_LOCK | OMV_CH_STREAM, "stream" },
		{ 5, 0xFF, "b\xffu\xc3" }, { 9, OMV_CH_READ | OMV_CH_DYNAMIC, "\xe2\x82" },
		{ 5, OMV_CH_READ, "twice" }, { 31, 0, "" },
	};
	static const uint8_t sizes[] = { 0, 1, 3, 5, 7, 15, 17, 75 };
	struct omv_frame_hdr hdr = { 8192, 8192, OMV_PIXFMT_JPEG, 4, OMV_FRAME_HDR_SIZE, 0 };
	uint8_t buf[1024];
	struct script s;
	size_t n;

	/* A channel list with names that are not UTF-8, a duplicate id and
	 * an empty name, given to whichever commands come first. */
	memset(&s, 0, sizeof s);
	n = omv_channel_list_encode(odd, sizeof odd / sizeof odd[0], buf, sizeof buf);
	for (int i = 0; i < 4; i++) {
		s_u8(&s, ANS_USUAL);
		a_reply(&s, OMV_ST_SUCCESS, buf, (uint16_t)n);
	}
	cam("channel_names", &s);

	/* Every status, known or not. */
	memset(&s, 0, sizeof s);
	for (uint8_t st = 1; st <= 10; st++)
		a_reply(&s, st == 10 ? 200 : st, NULL, 0);
	cam("statuses", &s);

	/* Successful answers of the wrong size. */
	memset(&s, 0, sizeof s);
	memset(buf, 0xA5, sizeof buf);
	for (size_t i = 0; i < sizeof sizes; i++)
		a_reply(&s, OMV_ST_SUCCESS, buf, sizes[i]);
	cam("sizes", &s);

	/* stdout that is not UTF-8, or splits a character. */
	memset(&s, 0, sizeof s);
	s_u8(&s, ANS_PRINT);
	s_u8(&s, 9);
	s_bytes(&s, "a\xff\xfe\xc3(\xe2\x82\n\xe2", 9);
	s_u8(&s, ANS_PRINT);
	s_u8(&s, 3);
	s_bytes(&s, "\x82\xac\x00", 3);
	cam("stdout_bytes", &s);

	/* Events nobody asked for: channels registered and gone, reboots,
	 * scripts starting and stopping, channels that do not exist. */
	memset(&s, 0, sizeof s);
	a_event(&s, 0, OMV_EV_CHANNEL_REGISTERED);
	a_event(&s, 0, OMV_EV_SOFT_REBOOT);
	a_event(&s, 1, OMV_EV_STDIN_STARTED);
	a_event(&s, 1, OMV_EV_STDIN_STOPPED);
	a_event(&s, 0, OMV_EV_CHANNEL_UNREGISTERED);
	a_event(&s, 200, OMV_EV_NOTIFY);
	a_event(&s, 3, 7);
	cam("events", &s);

	/* Frames: a JPEG header over a few bytes, a header past the end, a
	 * small gray frame. */
	memset(&s, 0, sizeof s);
	omv_frame_hdr_encode(&hdr, buf);
	memcpy(buf + OMV_FRAME_HDR_SIZE, "\xff\xd8\xff\xd9", 4);
	s_u8(&s, ANS_FRAME);
	s_u16(&s, OMV_FRAME_HDR_SIZE + 4);
	s_bytes(&s, buf, OMV_FRAME_HDR_SIZE + 4);
	hdr = (struct omv_frame_hdr){ 4, 4, OMV_PIXFMT_GRAYSCALE, 1, 4000, 0 };
	omv_frame_hdr_encode(&hdr, buf);
	s_u8(&s, ANS_FRAME);
	s_u16(&s, OMV_FRAME_HDR_SIZE + 16);
	s_bytes(&s, buf, OMV_FRAME_HDR_SIZE + 16);
	hdr.offset = OMV_FRAME_HDR_SIZE;
	omv_frame_hdr_encode(&hdr, buf);
	s_u8(&s, ANS_FRAME);
	s_u16(&s, OMV_FRAME_HDR_SIZE + 16);
	s_bytes(&s, buf, OMV_FRAME_HDR_SIZE + 16);
	cam("frames", &s);

	/* Silence, twice: a timeout, a resync and a retry each. */
	memset(&s, 0, sizeof s);
	s_u8(&s, ANS_SILENT);
	s_u8(&s, ANS_USUAL);
	s_u8(&s, ANS_USUAL);
	s_u8(&s, ANS_SILENT);
	cam("silence", &s);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make-corpus DIR (writes DIR/corpus/* and DIR/rpc.dict)\n");
		return 2;
	}
	snprintf(root, sizeof root, "%s", argv[1]);
	make_dir("corpus");
	make_dir("corpus/rpc");
	make_dir("corpus/host");
	make_dir("corpus/frame");
	make_dir("corpus/cam");
	rpc_seeds();
	rpc_dict();
	host_seeds();
	frame_seeds();
	cam_seeds();
	return 0;
}
