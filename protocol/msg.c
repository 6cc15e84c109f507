/*
 * Payload codecs of the protocol's fixed layouts, plus the name tables of
 * opcodes, statuses and host results. Encoders write every byte of their
 * layout (reserved bytes as zero); decoders check the size first.
 */
#include <string.h>

#include "protocol/host.h"
#include "protocol/msg.h"
#include "protocol/packet.h"

const struct omv_caps omv_caps_default = {
	.crc = true, .seq = true, .ack = true, .events = true,
	.max_payload = OMV_CAM_PAYLOAD,
};

const char *omv_status_name(unsigned status)
{
	static const char *const names[] = {
		"SUCCESS", "FAILED", "INVALID", "TIMEOUT", "BUSY",
		"CHECKSUM", "SEQUENCE", "OVERFLOW", "FRAGMENT", "UNKNOWN",
	};
	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "?";
}

const char *omv_opcode_name(unsigned opcode)
{
	switch (opcode) {
	case OMV_OP_PROTO_SYNC: return "PROTO_SYNC";
	case OMV_OP_PROTO_GET_CAPS: return "PROTO_GET_CAPS";
	case OMV_OP_PROTO_SET_CAPS: return "PROTO_SET_CAPS";
	case OMV_OP_PROTO_STATS: return "PROTO_STATS";
	case OMV_OP_PROTO_VERSION: return "PROTO_VERSION";
	case OMV_OP_SYS_RESET: return "SYS_RESET";
	case OMV_OP_SYS_BOOT: return "SYS_BOOT";
	case OMV_OP_SYS_INFO: return "SYS_INFO";
	case OMV_OP_SYS_EVENT: return "SYS_EVENT";
	case OMV_OP_SYS_MEMORY: return "SYS_MEMORY";
	case OMV_OP_CHANNEL_LIST: return "CHANNEL_LIST";
	case OMV_OP_CHANNEL_POLL: return "CHANNEL_POLL";
	case OMV_OP_CHANNEL_LOCK: return "CHANNEL_LOCK";
	case OMV_OP_CHANNEL_UNLOCK: return "CHANNEL_UNLOCK";
	case OMV_OP_CHANNEL_SHAPE: return "CHANNEL_SHAPE";
	case OMV_OP_CHANNEL_SIZE: return "CHANNEL_SIZE";
	case OMV_OP_CHANNEL_READ: return "CHANNEL_READ";
	case OMV_OP_CHANNEL_WRITE: return "CHANNEL_WRITE";
	case OMV_OP_CHANNEL_IOCTL: return "CHANNEL_IOCTL";
	case OMV_OP_CHANNEL_EVENT: return "CHANNEL_EVENT";
	default: return "?";
	}
}

const char *omv_result_name(int code)
{
	switch (code) {
	case OMV_OK: return "OK";
	case OMV_ERR_NAK: return "NAK";
	case OMV_ERR_TIMEOUT: return "TIMEOUT";
	case OMV_ERR_TOO_BIG: return "TOO_BIG";
	case OMV_ERR_PROTOCOL: return "PROTOCOL";
	case OMV_ERR_CANCELLED: return "CANCELLED";
	default: return "?";
	}
}

void omv_caps_encode(const struct omv_caps *c, uint8_t out[OMV_CAPS_SIZE])
{
	uint32_t flags = (c->crc ? OMV_CAP_CRC : 0) | (c->seq ? OMV_CAP_SEQ : 0) |
			 (c->ack ? OMV_CAP_ACK : 0) | (c->events ? OMV_CAP_EVENTS : 0);

	memset(out, 0, OMV_CAPS_SIZE);
	omv_put_u32(out, flags);
	omv_put_u16(out + 4, c->max_payload);
}

int omv_caps_decode(struct omv_caps *c, const uint8_t *p, size_t n)
{
	if (n != OMV_CAPS_SIZE)
		return -1;
	uint32_t flags = omv_get_u32(p);
	c->crc = flags & OMV_CAP_CRC;
	c->seq = flags & OMV_CAP_SEQ;
	c->ack = flags & OMV_CAP_ACK;
	c->events = flags & OMV_CAP_EVENTS;
	c->max_payload = omv_get_u16(p + 4);
	return 0;
}

void omv_version_encode(const struct omv_version *v, uint8_t out[OMV_VERSION_SIZE])
{
	memset(out, 0, OMV_VERSION_SIZE);
	memcpy(out, v->protocol, 3);
	memcpy(out + 3, v->bootloader, 3);
	memcpy(out + 6, v->firmware, 3);
}

int omv_version_decode(struct omv_version *v, const uint8_t *p, size_t n)
{
	if (n != OMV_VERSION_SIZE)
		return -1;
	memcpy(v->protocol, p, 3);
	memcpy(v->bootloader, p + 3, 3);
	memcpy(v->firmware, p + 6, 3);
	return 0;
}

/* SYS_INFO offsets. */
enum {
	SI_CPU = 0, SI_DEV = 4, SI_USB = 16, SI_CHIP = 20, SI_HWCAPS = 40,
	SI_FLASH = 48, SI_RAM = 52, SI_FB = 56, SI_STREAM = 60,
};

void omv_sysinfo_encode(const struct omv_sysinfo *s, uint8_t out[OMV_SYSINFO_SIZE])
{
	memset(out, 0, OMV_SYSINFO_SIZE);
	omv_put_u32(out + SI_CPU, s->cpu_id);
	for (int i = 0; i < 3; i++) {
		omv_put_u32(out + SI_DEV + 4 * i, s->dev_id[i]);
		omv_put_u32(out + SI_CHIP + 4 * i, s->chip_id[i]);
	}
	omv_put_u32(out + SI_USB, (uint32_t)s->usb_vid << 16 | s->usb_pid);
	omv_put_u32(out + SI_HWCAPS, s->hw_caps[0]);
	omv_put_u32(out + SI_HWCAPS + 4, s->hw_caps[1]);
	omv_put_u32(out + SI_FLASH, s->flash_kb);
	omv_put_u32(out + SI_RAM, s->ram_kb);
	omv_put_u32(out + SI_FB, s->framebuffer_kb);
	omv_put_u32(out + SI_STREAM, s->stream_buffer_kb);
}

int omv_sysinfo_decode(struct omv_sysinfo *s, const uint8_t *p, size_t n)
{
	if (n < OMV_SYSINFO_SIZE)
		return -1;
	s->cpu_id = omv_get_u32(p + SI_CPU);
	for (int i = 0; i < 3; i++) {
		s->dev_id[i] = omv_get_u32(p + SI_DEV + 4 * i);
		s->chip_id[i] = omv_get_u32(p + SI_CHIP + 4 * i);
	}
	uint32_t usb = omv_get_u32(p + SI_USB);
	s->usb_vid = (uint16_t)(usb >> 16);
	s->usb_pid = (uint16_t)usb;
	s->hw_caps[0] = omv_get_u32(p + SI_HWCAPS);
	s->hw_caps[1] = omv_get_u32(p + SI_HWCAPS + 4);
	s->flash_kb = omv_get_u32(p + SI_FLASH);
	s->ram_kb = omv_get_u32(p + SI_RAM);
	s->framebuffer_kb = omv_get_u32(p + SI_FB);
	s->stream_buffer_kb = omv_get_u32(p + SI_STREAM);
	return 0;
}

void omv_stats_encode(const struct omv_proto_stats *s, uint8_t out[OMV_STATS_SIZE])
{
	const uint32_t v[8] = { s->sent, s->received, s->checksum, s->sequence,
				s->retransmit, s->transport, s->sent_events,
				s->max_ack_queue_depth };
	for (int i = 0; i < 8; i++)
		omv_put_u32(out + 4 * i, v[i]);
}

int omv_stats_decode(struct omv_proto_stats *s, const uint8_t *p, size_t n)
{
	if (n != OMV_STATS_SIZE)
		return -1;
	s->sent = omv_get_u32(p);
	s->received = omv_get_u32(p + 4);
	s->checksum = omv_get_u32(p + 8);
	s->sequence = omv_get_u32(p + 12);
	s->retransmit = omv_get_u32(p + 16);
	s->transport = omv_get_u32(p + 20);
	s->sent_events = omv_get_u32(p + 24);
	s->max_ack_queue_depth = omv_get_u32(p + 28);
	return 0;
}

size_t omv_channel_list_encode(const struct omv_channel_info *ch, size_t count,
			       uint8_t *out, size_t cap)
{
	if (count > cap / OMV_CHANNEL_ENTRY_SIZE)
		return 0;
	for (size_t i = 0; i < count; i++) {
		uint8_t *e = out + i * OMV_CHANNEL_ENTRY_SIZE;
		memset(e, 0, OMV_CHANNEL_ENTRY_SIZE);
		e[0] = ch[i].id;
		e[1] = ch[i].flags;
		memcpy(e + 2, ch[i].name, strnlen(ch[i].name, OMV_CHANNEL_NAME_MAX));
	}
	return count * OMV_CHANNEL_ENTRY_SIZE;
}

int omv_channel_list_decode(struct omv_channel_info *ch, size_t max, size_t *count,
			    const uint8_t *p, size_t n)
{
	size_t entries = n / OMV_CHANNEL_ENTRY_SIZE;

	if (n % OMV_CHANNEL_ENTRY_SIZE || entries > max)
		return -1;
	for (size_t i = 0; i < entries; i++) {
		const uint8_t *e = p + i * OMV_CHANNEL_ENTRY_SIZE;
		const uint8_t *nul = memchr(e + 2, 0, OMV_CHANNEL_NAME_MAX + 1);
		if (!nul)
			return -1;
		ch[i].id = e[0];
		ch[i].flags = e[1];
		memset(ch[i].name, 0, sizeof(ch[i].name));
		memcpy(ch[i].name, e + 2, (size_t)(nul - (e + 2)));
	}
	*count = entries;
	return 0;
}

int omv_u32_decode(uint32_t *v, const uint8_t *p, size_t n)
{
	if (n != 4)
		return -1;
	*v = omv_get_u32(p);
	return 0;
}

size_t omv_shape_encode(const struct omv_shape *s, uint8_t out[4 * OMV_SHAPE_MAX])
{
	unsigned ndim = s->ndim > OMV_SHAPE_MAX ? OMV_SHAPE_MAX : s->ndim;

	for (unsigned i = 0; i < ndim; i++)
		omv_put_u32(out + 4 * i, s->dim[i]);
	return 4 * (size_t)ndim;
}

int omv_shape_decode(struct omv_shape *s, const uint8_t *p, size_t n)
{
	if (n == 0 || n % 4 || n > 4 * OMV_SHAPE_MAX)
		return -1;
	memset(s, 0, sizeof(*s));
	s->ndim = (unsigned)(n / 4);
	for (unsigned i = 0; i < s->ndim; i++)
		s->dim[i] = omv_get_u32(p + 4 * i);
	return 0;
}

void omv_read_req_encode(uint32_t offset, uint32_t length, uint8_t out[OMV_READ_REQ_SIZE])
{
	omv_put_u32(out, offset);
	omv_put_u32(out + 4, length);
}

int omv_read_req_decode(uint32_t *offset, uint32_t *length, const uint8_t *p, size_t n)
{
	if (n != OMV_READ_REQ_SIZE)
		return -1;
	*offset = omv_get_u32(p);
	*length = omv_get_u32(p + 4);
	return 0;
}

size_t omv_write_req_encode(uint32_t offset, const void *data, uint32_t length,
			    uint8_t *out, size_t cap)
{
	if (cap < OMV_WRITE_HDR_SIZE || length > cap - OMV_WRITE_HDR_SIZE)
		return 0;
	omv_put_u32(out, offset);
	omv_put_u32(out + 4, length);
	if (length)
		memcpy(out + OMV_WRITE_HDR_SIZE, data, length);
	return OMV_WRITE_HDR_SIZE + (size_t)length;
}

int omv_write_req_decode(uint32_t *offset, const uint8_t **data, uint32_t *length,
			 const uint8_t *p, size_t n)
{
	if (n < OMV_WRITE_HDR_SIZE || omv_get_u32(p + 4) != n - OMV_WRITE_HDR_SIZE)
		return -1;
	*offset = omv_get_u32(p);
	*length = omv_get_u32(p + 4);
	*data = p + OMV_WRITE_HDR_SIZE;
	return 0;
}

size_t omv_ioctl_req_encode(uint32_t request, const void *arg, size_t arg_len,
			    uint8_t *out, size_t cap)
{
	if (cap < 4 || arg_len > cap - 4)
		return 0;
	omv_put_u32(out, request);
	if (arg_len)
		memcpy(out + 4, arg, arg_len);
	return 4 + arg_len;
}

int omv_ioctl_req_decode(uint32_t *request, const uint8_t **arg, size_t *arg_len,
			 const uint8_t *p, size_t n)
{
	if (n < 4)
		return -1;
	*request = omv_get_u32(p);
	*arg = p + 4;
	*arg_len = n - 4;
	return 0;
}

int omv_ioctl_arg_size(uint8_t chan, uint32_t request)
{
	switch (chan) {
	case OMV_CHAN_STDIN:
		switch (request) {
		case OMV_IOCTL_STDIN_STOP:
		case OMV_IOCTL_STDIN_EXEC:
		case OMV_IOCTL_STDIN_RESET: return 0;
		}
		return -1;
	case OMV_CHAN_STREAM:
		switch (request) {
		case OMV_IOCTL_STREAM_CTRL:
		case OMV_IOCTL_STREAM_RAW_CTRL:
		case OMV_IOCTL_STREAM_SOURCE: return 4;
		case OMV_IOCTL_STREAM_RAW_CFG: return 8;
		}
		return -1;
	case OMV_CHAN_PROFILE:
		switch (request) {
		case OMV_IOCTL_PROFILE_MODE: return 4;
		case OMV_IOCTL_PROFILE_SET_EVENT: return 8;
		case OMV_IOCTL_PROFILE_RESET: return 0;
		}
		return -1;
	default:
		return -1;
	}
}

void omv_frame_hdr_encode(const struct omv_frame_hdr *h, uint8_t out[OMV_FRAME_HDR_SIZE])
{
	uint32_t fps_bits;

	memset(out, 0, OMV_FRAME_HDR_SIZE);
	omv_put_u32(out, h->width);
	omv_put_u32(out + 4, h->height);
	omv_put_u32(out + 8, h->pixformat);
	omv_put_u32(out + 12, h->size);
	omv_put_u32(out + 16, h->offset);
	memcpy(&fps_bits, &h->fps, sizeof(fps_bits));
	omv_put_u32(out + 20, fps_bits);
}

size_t omv_frame_pixel_bytes(const struct omv_frame_hdr *h)
{
	if (h->pixformat & OMV_PIXFMT_COMPRESSED)
		return h->size;
	return (size_t)h->width * h->height * h->size;
}

#define FRAME_DIM_MAX 16384u

int omv_frame_hdr_decode(struct omv_frame_hdr *h, const uint8_t *p, size_t n)
{
	if (n < OMV_FRAME_HDR_MIN)
		return -1;
	h->width = omv_get_u32(p);
	h->height = omv_get_u32(p + 4);
	h->pixformat = omv_get_u32(p + 8);
	h->size = omv_get_u32(p + 12);
	h->offset = omv_get_u32(p + 16);
	h->fps = 0;
	/* fps exists only where the header is long enough to hold it. */
	if (h->offset >= 24 && n >= 24) {
		uint32_t fps_bits = omv_get_u32(p + 20);
		memcpy(&h->fps, &fps_bits, sizeof(h->fps));
	}
	if (h->width == 0 || h->height == 0 || h->width > FRAME_DIM_MAX ||
	    h->height > FRAME_DIM_MAX)
		return -1;
	if (h->offset < OMV_FRAME_HDR_MIN || h->offset > n)
		return -1;
	if (omv_frame_pixel_bytes(h) > n - h->offset)
		return -1;
	return 0;
}

void omv_profile_record_encode(const struct omv_profile_record *r, uint8_t *out)
{
	unsigned nev = r->nevents > OMV_PROFILE_EVENTS_MAX ? OMV_PROFILE_EVENTS_MAX : r->nevents;
	uint8_t *q = out;

	omv_put_u32(q, r->address);
	omv_put_u32(q + 4, r->caller);
	omv_put_u32(q + 8, r->call_count);
	omv_put_u32(q + 12, r->min_ticks);
	omv_put_u32(q + 16, r->max_ticks);
	omv_put_u64(q + 20, r->total_ticks);
	omv_put_u64(q + 28, r->total_cycles);
	q += 36;
	for (unsigned i = 0; i < nev; i++, q += 8)
		omv_put_u64(q, r->events[i]);
	omv_put_u32(q, 0);
}

int omv_profile_record_decode(struct omv_profile_record *r, unsigned nevents,
			      const uint8_t *p, size_t n)
{
	if (nevents > OMV_PROFILE_EVENTS_MAX || n < omv_profile_record_size(nevents))
		return -1;
	memset(r, 0, sizeof(*r));
	r->address = omv_get_u32(p);
	r->caller = omv_get_u32(p + 4);
	r->call_count = omv_get_u32(p + 8);
	r->min_ticks = omv_get_u32(p + 12);
	r->max_ticks = omv_get_u32(p + 16);
	r->total_ticks = omv_get_u64(p + 20);
	r->total_cycles = omv_get_u64(p + 28);
	r->nevents = nevents;
	for (unsigned i = 0; i < nevents; i++)
		r->events[i] = omv_get_u64(p + 36 + 8 * i);
	return 0;
}
