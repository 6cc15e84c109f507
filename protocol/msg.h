/*
 * Payload codecs: every fixed payload layout of the protocol, encoded into
 * caller buffers and decoded with size validation. Decoders return 0 on
 * success and -1 when the payload has the wrong size or shape.
 */
#ifndef OMV_MSG_H
#define OMV_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Little-endian helpers used by every codec. */
static inline uint16_t omv_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t omv_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t omv_get_u64(const uint8_t *p)
{
	return (uint64_t)omv_get_u32(p) | (uint64_t)omv_get_u32(p + 4) << 32;
}
static inline void omv_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void omv_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void omv_put_u64(uint8_t *p, uint64_t v)
{
	omv_put_u32(p, (uint32_t)v); omv_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* GET_CAPS response / SET_CAPS request. */
#define OMV_CAPS_SIZE 16
#define OMV_CAP_CRC    (1u << 0)
#define OMV_CAP_SEQ    (1u << 1)
#define OMV_CAP_ACK    (1u << 2)
#define OMV_CAP_EVENTS (1u << 3)
struct omv_caps {
	bool crc, seq, ack, events;
	uint16_t max_payload;
};
/* What a stock cam uses after SYNC and before SET_CAPS (a cam with a
 * bigger buffer starts with its own max payload). */
extern const struct omv_caps omv_caps_default;
void omv_caps_encode(const struct omv_caps *c, uint8_t out[OMV_CAPS_SIZE]);
int omv_caps_decode(struct omv_caps *c, const uint8_t *p, size_t n);

/* PROTO_VERSION. */
#define OMV_VERSION_SIZE 16
struct omv_version {
	uint8_t protocol[3], bootloader[3], firmware[3];
};
void omv_version_encode(const struct omv_version *v, uint8_t out[OMV_VERSION_SIZE]);
int omv_version_decode(struct omv_version *v, const uint8_t *p, size_t n);

/* SYS_INFO (>= 76 bytes accepted; 76 written). */
#define OMV_SYSINFO_SIZE 76
enum omv_hwcap {
	OMV_HW_GPU = 1u << 0, OMV_HW_NPU = 1u << 1, OMV_HW_ISP = 1u << 2,
	OMV_HW_VENC = 1u << 3, OMV_HW_JPEG = 1u << 4, OMV_HW_DRAM = 1u << 5,
	OMV_HW_CRC = 1u << 6, OMV_HW_PMU = 1u << 7,
	/* bits 8..15: PMU event counter count */
	OMV_HW_WIFI = 1u << 16, OMV_HW_BT = 1u << 17, OMV_HW_SD = 1u << 18,
	OMV_HW_ETH = 1u << 19, OMV_HW_USB_HS = 1u << 20, OMV_HW_MULTICORE = 1u << 21,
};
struct omv_sysinfo {
	uint32_t cpu_id;
	uint32_t dev_id[3];
	uint16_t usb_vid, usb_pid;	/* wire: u32 VID<<16|PID */
	uint32_t chip_id[3];
	uint32_t hw_caps[2];
	uint32_t flash_kb, ram_kb, framebuffer_kb, stream_buffer_kb;
};
static inline unsigned omv_sysinfo_pmu_eventcnt(const struct omv_sysinfo *s)
{
	return (s->hw_caps[0] >> 8) & 0xFF;
}
void omv_sysinfo_encode(const struct omv_sysinfo *s, uint8_t out[OMV_SYSINFO_SIZE]);
int omv_sysinfo_decode(struct omv_sysinfo *s, const uint8_t *p, size_t n);

/* PROTO_STATS. */
#define OMV_STATS_SIZE 32
struct omv_proto_stats {
	uint32_t sent, received, checksum, sequence, retransmit, transport,
		 sent_events, max_ack_queue_depth;
};
void omv_stats_encode(const struct omv_proto_stats *s, uint8_t out[OMV_STATS_SIZE]);
int omv_stats_decode(struct omv_proto_stats *s, const uint8_t *p, size_t n);

/* CHANNEL_LIST: 16 bytes per channel. */
#define OMV_CHANNEL_ENTRY_SIZE 16
#define OMV_CHANNEL_NAME_MAX   13	/* characters, NUL excluded */
#define OMV_CHANNELS_MAX       32	/* a u32 poll bitmap can say no more */
enum omv_chan_flag {
	OMV_CH_READ = 1u << 0, OMV_CH_WRITE = 1u << 1, OMV_CH_EXEC = 1u << 2,
	OMV_CH_LOCK = 1u << 3, OMV_CH_STREAM = 1u << 4, OMV_CH_DYNAMIC = 1u << 5,
	OMV_CH_PHYSICAL = 1u << 6,
};
/* Built-in channel ids. */
enum { OMV_CHAN_SYSTEM = 0, OMV_CHAN_STDIN = 1, OMV_CHAN_STDOUT = 2,
       OMV_CHAN_STREAM = 3, OMV_CHAN_PROFILE = 4 };
struct omv_channel_info {
	uint8_t id;
	uint8_t flags;
	char name[OMV_CHANNEL_NAME_MAX + 1];
};
/* Returns bytes written, 0 if cap is too small. */
size_t omv_channel_list_encode(const struct omv_channel_info *ch, size_t count,
			       uint8_t *out, size_t cap);
/* Fills up to max entries; fails on a length that is not a multiple of 16,
 * more than max entries, or a name without NUL. */
int omv_channel_list_decode(struct omv_channel_info *ch, size_t max, size_t *count,
			    const uint8_t *p, size_t n);

/* CHANNEL_POLL (u32 bitmap) and CHANNEL_SIZE (u32). */
int omv_u32_decode(uint32_t *v, const uint8_t *p, size_t n);

/* CHANNEL_SHAPE: 1..4 u32. */
#define OMV_SHAPE_MAX 4
struct omv_shape {
	uint32_t dim[OMV_SHAPE_MAX];
	unsigned ndim;
};
size_t omv_shape_encode(const struct omv_shape *s, uint8_t out[4 * OMV_SHAPE_MAX]);
int omv_shape_decode(struct omv_shape *s, const uint8_t *p, size_t n);

/* CHANNEL_READ request: u32 offset, u32 length. */
#define OMV_READ_REQ_SIZE 8
void omv_read_req_encode(uint32_t offset, uint32_t length, uint8_t out[OMV_READ_REQ_SIZE]);
int omv_read_req_decode(uint32_t *offset, uint32_t *length, const uint8_t *p, size_t n);

/* CHANNEL_WRITE request: u32 offset, u32 length, data[length]. */
#define OMV_WRITE_HDR_SIZE 8
size_t omv_write_req_encode(uint32_t offset, const void *data, uint32_t length,
			    uint8_t *out, size_t cap);
int omv_write_req_decode(uint32_t *offset, const uint8_t **data, uint32_t *length,
			 const uint8_t *p, size_t n);

/* CHANNEL_IOCTL request: u32 request, then argument bytes. */
size_t omv_ioctl_req_encode(uint32_t request, const void *arg, size_t arg_len,
			    uint8_t *out, size_t cap);
int omv_ioctl_req_decode(uint32_t *request, const uint8_t **arg, size_t *arg_len,
			 const uint8_t *p, size_t n);

/* Built-in ioctls and the argument size each takes (-1: unknown request). */
enum { OMV_IOCTL_STDIN_STOP = 1, OMV_IOCTL_STDIN_EXEC = 2, OMV_IOCTL_STDIN_RESET = 3 };
enum { OMV_IOCTL_STREAM_CTRL = 0, OMV_IOCTL_STREAM_RAW_CTRL = 1,
       OMV_IOCTL_STREAM_RAW_CFG = 2, OMV_IOCTL_STREAM_SOURCE = 3 };
enum { OMV_IOCTL_PROFILE_MODE = 0, OMV_IOCTL_PROFILE_SET_EVENT = 1,
       OMV_IOCTL_PROFILE_RESET = 2 };
int omv_ioctl_arg_size(uint8_t chan, uint32_t request);

/* Frame header at the start of stream channel data. */
#define OMV_FRAME_HDR_MIN  20	/* width, height, pixformat, size, offset */
#define OMV_FRAME_HDR_SIZE 32	/* current firmware: + float fps, padding */
#define OMV_PIXFMT_JPEG      0x06060000u
#define OMV_PIXFMT_GRAYSCALE 0x08020001u
#define OMV_PIXFMT_RGB565    0x0C030002u
#define OMV_PIXFMT_COMPRESSED (1u << 25)	/* JPEG, PNG, ... */
struct omv_frame_hdr {
	uint32_t width, height, pixformat;
	uint32_t size;		/* compressed bytes, or bytes per pixel */
	uint32_t offset;	/* where pixel data starts */
	float fps;		/* 0 when absent */
};
void omv_frame_hdr_encode(const struct omv_frame_hdr *h, uint8_t out[OMV_FRAME_HDR_SIZE]);
/*
 * Validates against the whole frame of n bytes: offset within n, pixel
 * bytes (size for compressed formats, w*h*bpp otherwise) within n - offset,
 * width and height non-zero and at most 16384.
 */
int omv_frame_hdr_decode(struct omv_frame_hdr *h, const uint8_t *p, size_t n);
/* Bytes of pixel data the header announces. */
size_t omv_frame_pixel_bytes(const struct omv_frame_hdr *h);

/* Profile records: <5I2Q{n}QI>: address, caller, call_count, min_ticks,
 * max_ticks (u32), total_ticks, total_cycles (u64), n event counts (u64),
 * u32 padding. */
#define OMV_PROFILE_EVENTS_MAX 16
struct omv_profile_record {
	uint32_t address, caller, call_count, min_ticks, max_ticks;
	uint64_t total_ticks, total_cycles;
	uint64_t events[OMV_PROFILE_EVENTS_MAX];
	unsigned nevents;
};
static inline size_t omv_profile_record_size(unsigned nevents)
{
	return 5 * 4 + 2 * 8 + (size_t)nevents * 8 + 4;
}
void omv_profile_record_encode(const struct omv_profile_record *r, uint8_t *out);
int omv_profile_record_decode(struct omv_profile_record *r, unsigned nevents,
			      const uint8_t *p, size_t n);

#endif
