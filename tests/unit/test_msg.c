/*
 * Payload codec tests: every layout round-trips, sits at the documented
 * byte offsets, and is rejected at wrong sizes. Also the name tables and
 * the built-in ioctl argument sizes.
 */
#include <string.h>

#include "protocol/host.h"
#include "protocol/msg.h"
#include "protocol/packet.h"
#include "check.h"

static void test_caps(void)
{
	struct omv_caps in = { .crc = true, .seq = false, .ack = true, .events = false,
			       .max_payload = 4082 }, out;
	uint8_t buf[OMV_CAPS_SIZE + 1];

	memset(buf, 0xEE, sizeof(buf));
	omv_caps_encode(&in, buf);
	CHECK_EQ(omv_get_u32(buf), OMV_CAP_CRC | OMV_CAP_ACK);
	CHECK_EQ(omv_get_u16(buf + 4), 4082);
	for (int i = 6; i < OMV_CAPS_SIZE; i++)
		CHECK_EQ(buf[i], 0);
	CHECK_EQ(buf[OMV_CAPS_SIZE], 0xEE);
	CHECK_EQ(omv_caps_decode(&out, buf, OMV_CAPS_SIZE), 0);
	CHECK(out.crc && !out.seq && out.ack && !out.events);
	CHECK_EQ(out.max_payload, 4082);
	CHECK_EQ(omv_caps_decode(&out, buf, OMV_CAPS_SIZE - 1), -1);
	CHECK_EQ(omv_caps_decode(&out, buf, OMV_CAPS_SIZE + 1), -1);

	CHECK(omv_caps_default.crc && omv_caps_default.seq && omv_caps_default.ack &&
	      omv_caps_default.events);
	CHECK_EQ(omv_caps_default.max_payload, 4082);	/* a stock cam after SYNC */
	CHECK_EQ(OMV_MIN_PAYLOAD, 50);
}

static void test_version(void)
{
	struct omv_version in = { { 2, 0, 0 }, { 1, 2, 3 }, { 4, 5, 6 } }, out;
	uint8_t buf[OMV_VERSION_SIZE];

	omv_version_encode(&in, buf);
	const uint8_t want[OMV_VERSION_SIZE] = { 2, 0, 0, 1, 2, 3, 4, 5, 6 };
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	CHECK_EQ(omv_version_decode(&out, buf, sizeof(buf)), 0);
	CHECK(memcmp(&in, &out, sizeof(in)) == 0);
	CHECK_EQ(omv_version_decode(&out, buf, 15), -1);
	CHECK_EQ(omv_version_decode(&out, buf, 0), -1);
}

static void test_sysinfo(void)
{
	struct omv_sysinfo in = {
		.cpu_id = 0xC27, .dev_id = { 1, 2, 3 }, .usb_vid = 0x37C5, .usb_pid = 0x1206,
		.chip_id = { 0x5640, 0, 7 }, .hw_caps = { OMV_HW_NPU | (6u << 8) | OMV_HW_USB_HS, 9 },
		.flash_kb = 32768, .ram_kb = 4096, .framebuffer_kb = 2048, .stream_buffer_kb = 512,
	}, out;
	uint8_t buf[80];

	memset(buf, 0xEE, sizeof(buf));
	omv_sysinfo_encode(&in, buf);
	CHECK_EQ(omv_get_u32(buf), 0xC27);
	CHECK_EQ(omv_get_u32(buf + 12), 3);
	CHECK_EQ(omv_get_u32(buf + 16), 0x37C51206u);
	CHECK_EQ(omv_get_u32(buf + 20), 0x5640);
	CHECK_EQ(omv_get_u32(buf + 32), 0);	/* reserved */
	CHECK_EQ(omv_get_u32(buf + 36), 0);
	CHECK_EQ(omv_get_u32(buf + 40), in.hw_caps[0]);
	CHECK_EQ(omv_get_u32(buf + 44), 9);
	CHECK_EQ(omv_get_u32(buf + 48), 32768);
	CHECK_EQ(omv_get_u32(buf + 60), 512);
	CHECK_EQ(omv_get_u32(buf + 72), 0);
	CHECK_EQ(buf[76], 0xEE);
	CHECK_EQ(omv_sysinfo_decode(&out, buf, 76), 0);
	CHECK(memcmp(&in, &out, sizeof(in)) == 0);
	CHECK_EQ(omv_sysinfo_pmu_eventcnt(&out), 6);
	CHECK_EQ(omv_sysinfo_decode(&out, buf, 80), 0);	/* older 80-byte variant */
	CHECK_EQ(omv_sysinfo_decode(&out, buf, 75), -1);
}

static void test_stats(void)
{
	struct omv_proto_stats in = { 1, 2, 3, 4, 5, 6, 7, 0xFFFFFFFFu }, out;
	uint8_t buf[OMV_STATS_SIZE];

	omv_stats_encode(&in, buf);
	for (int i = 0; i < 7; i++)
		CHECK_EQ(omv_get_u32(buf + 4 * i), i + 1);
	CHECK_EQ(omv_stats_decode(&out, buf, sizeof(buf)), 0);
	CHECK(memcmp(&in, &out, sizeof(in)) == 0);
	CHECK_EQ(omv_stats_decode(&out, buf, 31), -1);
	CHECK_EQ(omv_stats_decode(&out, buf, 28), -1);
}

static void test_channel_list(void)
{
	struct omv_channel_info in[3] = {
		{ 1, OMV_CH_WRITE | OMV_CH_EXEC, "stdin" },
		{ 3, OMV_CH_READ | OMV_CH_LOCK | OMV_CH_STREAM, "stream" },
		{ 9, OMV_CH_DYNAMIC | OMV_CH_READ, "thirteenchars" },
	}, out[4];
	uint8_t buf[64];
	size_t count = 99;

	CHECK_EQ(omv_channel_list_encode(in, 3, buf, 47), 0);
	CHECK_EQ(omv_channel_list_encode(in, 3, buf, sizeof(buf)), 48);
	CHECK_EQ(buf[16], 3);
	CHECK(memcmp(buf + 18, "stream\0", 7) == 0);
	CHECK_EQ(buf[47], 0);	/* 13-char name still NUL-terminated */
	CHECK_EQ(omv_channel_list_decode(out, 4, &count, buf, 48), 0);
	CHECK_EQ(count, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(out[i].id, in[i].id);
		CHECK_EQ(out[i].flags, in[i].flags);
		CHECK(strcmp(out[i].name, in[i].name) == 0);
	}
	CHECK_EQ(omv_channel_list_decode(out, 4, &count, buf, 0), 0);
	CHECK_EQ(count, 0);
	CHECK_EQ(omv_channel_list_decode(out, 4, &count, buf, 47), -1);
	CHECK_EQ(omv_channel_list_decode(out, 2, &count, buf, 48), -1);
	memset(buf + 2, 'x', 14);	/* name without NUL */
	CHECK_EQ(omv_channel_list_decode(out, 4, &count, buf, 48), -1);
}

static void test_small_values(void)
{
	uint8_t buf[16];
	uint32_t v, off, len;
	struct omv_shape sh = { { 640, 480, 2, 9 }, 3 }, sh2;

	omv_put_u32(buf, 0xDEADBEEF);
	CHECK_EQ(omv_u32_decode(&v, buf, 4), 0);
	CHECK_EQ(v, 0xDEADBEEFu);
	CHECK_EQ(omv_u32_decode(&v, buf, 3), -1);
	CHECK_EQ(omv_u32_decode(&v, buf, 5), -1);

	CHECK_EQ(omv_shape_encode(&sh, buf), 12);
	CHECK_EQ(omv_shape_decode(&sh2, buf, 12), 0);
	CHECK_EQ(sh2.ndim, 3);
	CHECK_EQ(sh2.dim[0], 640);
	CHECK_EQ(sh2.dim[2], 2);
	CHECK_EQ(omv_shape_decode(&sh2, buf, 4), 0);
	CHECK_EQ(sh2.ndim, 1);
	CHECK_EQ(omv_shape_decode(&sh2, buf, 0), -1);
	CHECK_EQ(omv_shape_decode(&sh2, buf, 6), -1);
	CHECK_EQ(omv_shape_decode(&sh2, buf, 20), -1);

	omv_read_req_encode(100, 2000, buf);
	CHECK_EQ(omv_get_u32(buf), 100);
	CHECK_EQ(omv_get_u32(buf + 4), 2000);
	CHECK_EQ(omv_read_req_decode(&off, &len, buf, 8), 0);
	CHECK_EQ(off, 100);
	CHECK_EQ(len, 2000);
	CHECK_EQ(omv_read_req_decode(&off, &len, buf, 7), -1);
	CHECK_EQ(omv_read_req_decode(&off, &len, buf, 9), -1);
}

static void test_write_ioctl(void)
{
	uint8_t buf[64];
	const uint8_t *data;
	size_t arg_len;
	uint32_t off, len, req;

	CHECK_EQ(omv_write_req_encode(7, "hello", 5, buf, 12), 0);
	CHECK_EQ(omv_write_req_encode(7, "hello", 5, buf, 13), 13);
	CHECK_EQ(omv_write_req_decode(&off, &data, &len, buf, 13), 0);
	CHECK_EQ(off, 7);
	CHECK_EQ(len, 5);
	CHECK(memcmp(data, "hello", 5) == 0);
	CHECK_EQ(omv_write_req_decode(&off, &data, &len, buf, 12), -1);
	CHECK_EQ(omv_write_req_decode(&off, &data, &len, buf, 14), -1);
	CHECK_EQ(omv_write_req_decode(&off, &data, &len, buf, 7), -1);
	CHECK_EQ(omv_write_req_encode(0, NULL, 0, buf, 8), 8);
	CHECK_EQ(omv_write_req_decode(&off, &data, &len, buf, 8), 0);
	CHECK_EQ(len, 0);

	uint8_t arg[8];
	omv_put_u32(arg, 320);
	omv_put_u32(arg + 4, 240);
	CHECK_EQ(omv_ioctl_req_encode(OMV_IOCTL_STREAM_RAW_CFG, arg, 8, buf, 11), 0);
	CHECK_EQ(omv_ioctl_req_encode(OMV_IOCTL_STREAM_RAW_CFG, arg, 8, buf, 12), 12);
	CHECK_EQ(omv_ioctl_req_decode(&req, &data, &arg_len, buf, 12), 0);
	CHECK_EQ(req, OMV_IOCTL_STREAM_RAW_CFG);
	CHECK_EQ(arg_len, 8);
	CHECK_EQ(omv_get_u32(data + 4), 240);
	CHECK_EQ(omv_ioctl_req_decode(&req, &data, &arg_len, buf, 4), 0);
	CHECK_EQ(arg_len, 0);
	CHECK_EQ(omv_ioctl_req_decode(&req, &data, &arg_len, buf, 3), -1);
}

static void test_ioctl_sizes(void)
{
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STDIN, OMV_IOCTL_STDIN_STOP), 0);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STDIN, OMV_IOCTL_STDIN_EXEC), 0);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STDIN, OMV_IOCTL_STDIN_RESET), 0);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STDIN, 0), -1);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STDIN, 4), -1);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STREAM, OMV_IOCTL_STREAM_CTRL), 4);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STREAM, OMV_IOCTL_STREAM_RAW_CTRL), 4);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STREAM, OMV_IOCTL_STREAM_RAW_CFG), 8);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STREAM, OMV_IOCTL_STREAM_SOURCE), 4);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STREAM, 4), -1);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_PROFILE, OMV_IOCTL_PROFILE_MODE), 4);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_PROFILE, OMV_IOCTL_PROFILE_SET_EVENT), 8);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_PROFILE, OMV_IOCTL_PROFILE_RESET), 0);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_PROFILE, 3), -1);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_SYSTEM, 0), -1);
	CHECK_EQ(omv_ioctl_arg_size(OMV_CHAN_STDOUT, 0), -1);
	CHECK_EQ(omv_ioctl_arg_size(5, 0), -1);
	CHECK_EQ(omv_ioctl_arg_size(200, 1), -1);
}

static void test_frame_hdr(void)
{
	struct omv_frame_hdr in = { 320, 240, OMV_PIXFMT_RGB565, 2, OMV_FRAME_HDR_SIZE, 29.5f }, out;
	size_t n = OMV_FRAME_HDR_SIZE + 320 * 240 * 2;
	uint8_t *frame = xmalloc(n);

	memset(frame, 0, n);
	omv_frame_hdr_encode(&in, frame);
	CHECK_EQ(omv_get_u32(frame + 16), 32);
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, n), 0);
	CHECK_EQ(out.width, 320);
	CHECK_EQ(out.pixformat, OMV_PIXFMT_RGB565);
	CHECK(out.fps == 29.5f);
	CHECK_EQ(omv_frame_pixel_bytes(&out), 320 * 240 * 2);
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, n - 1), -1);	/* pixels cut short */
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, 19), -1);

	/* Old 20-byte header: no fps. */
	struct omv_frame_hdr old = { 4, 2, OMV_PIXFMT_GRAYSCALE, 1, 20, 0 };
	uint8_t small[OMV_FRAME_HDR_SIZE];
	omv_frame_hdr_encode(&old, small);
	omv_put_u32(small + 20, 0x41F00000u);	/* pixel bytes, not fps */
	CHECK_EQ(omv_frame_hdr_decode(&out, small, 28), 0);
	CHECK(out.fps == 0);
	CHECK_EQ(omv_frame_pixel_bytes(&out), 8);

	/* JPEG: size is the compressed length. */
	struct omv_frame_hdr jpg = { 640, 480, OMV_PIXFMT_JPEG, 1000, 32, 0 };
	omv_frame_hdr_encode(&jpg, frame);
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, 1032), 0);
	CHECK_EQ(omv_frame_pixel_bytes(&out), 1000);
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, 1031), -1);

	/* Bad dimensions and offsets. */
	struct omv_frame_hdr bad = jpg;
	bad.width = 0;
	omv_frame_hdr_encode(&bad, frame);
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, 2000), -1);
	bad = jpg;
	bad.height = 16385;
	omv_frame_hdr_encode(&bad, frame);
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, 2000), -1);
	bad = jpg;
	bad.offset = 2001;
	omv_frame_hdr_encode(&bad, frame);
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, 2000), -1);
	bad = jpg;
	bad.offset = 12;
	omv_frame_hdr_encode(&bad, frame);
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, 2000), -1);
	bad = (struct omv_frame_hdr){ 16384, 16384, OMV_PIXFMT_RGB565, 0xFFFFFFFFu, 32, 0 };
	omv_frame_hdr_encode(&bad, frame);
	CHECK_EQ(omv_frame_hdr_decode(&out, frame, 2000), -1);
	free(frame);
}

static void test_profile(void)
{
	struct omv_profile_record in = { .address = 0x8001234, .caller = 0x8005678,
					 .call_count = 10, .min_ticks = 1, .max_ticks = 99,
					 .total_ticks = 0x123456789ULL,
					 .total_cycles = 0xFFFFFFFFFFULL, .nevents = 3,
					 .events = { 11, 22, 1ULL << 40 } }, out;
	size_t size = omv_profile_record_size(3);
	uint8_t buf[256];

	CHECK_EQ(size, 5 * 4 + 2 * 8 + 3 * 8 + 4);
	memset(buf, 0xEE, sizeof(buf));
	omv_profile_record_encode(&in, buf);
	CHECK_EQ(omv_get_u32(buf + 16), 99);
	CHECK_EQ(omv_get_u64(buf + 20), 0x123456789ULL);
	CHECK_EQ(omv_get_u64(buf + 52), 1ULL << 40);
	CHECK_EQ(omv_get_u32(buf + size - 4), 0);
	CHECK_EQ(buf[size], 0xEE);
	CHECK_EQ(omv_profile_record_decode(&out, 3, buf, size), 0);
	CHECK_EQ(out.address, in.address);
	CHECK_EQ(out.total_cycles, in.total_cycles);
	CHECK_EQ(out.nevents, 3);
	CHECK_EQ(out.events[2], 1ULL << 40);
	CHECK_EQ(omv_profile_record_decode(&out, 3, buf, size - 1), -1);
	CHECK_EQ(omv_profile_record_decode(&out, OMV_PROFILE_EVENTS_MAX + 1, buf, sizeof(buf)), -1);
	CHECK_EQ(omv_profile_record_decode(&out, 0, buf, omv_profile_record_size(0)), 0);
}

static void test_names(void)
{
	CHECK(strcmp(omv_status_name(OMV_ST_BUSY), "BUSY") == 0);
	CHECK(strcmp(omv_status_name(OMV_ST_UNKNOWN), "UNKNOWN") == 0);
	CHECK(strcmp(omv_status_name(10), "?") == 0);
	CHECK(strcmp(omv_opcode_name(OMV_OP_CHANNEL_READ), "CHANNEL_READ") == 0);
	CHECK(strcmp(omv_opcode_name(OMV_OP_PROTO_SYNC), "PROTO_SYNC") == 0);
	CHECK(strcmp(omv_opcode_name(0x15), "?") == 0);
	CHECK(strcmp(omv_result_name(OMV_ERR_TIMEOUT), "TIMEOUT") == 0);
	CHECK(strcmp(omv_result_name(OMV_OK), "OK") == 0);
	CHECK(strcmp(omv_result_name(-1), "?") == 0);
	for (unsigned op = 0; op < 0x2A; op++)
		CHECK(omv_opcode_name(op) != NULL);
}

int main(void)
{
	test_caps();
	test_version();
	test_sysinfo();
	test_stats();
	test_channel_list();
	test_small_values();
	test_write_ioctl();
	test_ioctl_sizes();
	test_frame_hdr();
	test_profile();
	test_names();
	printf("msg: ok\n");
	return 0;
}
