/*
 * Packet framing: constants of the wire format, an encoder, and an
 * incremental decoder that finds packets in an arbitrary byte stream.
 *
 * The decoder checks what can be checked without protocol state: the sync
 * word, the header CRC, the length against the receiver's max payload, and
 * the payload CRC. On any rejection it skips one byte and rescans. Sequence
 * numbers are the business of the state machines (host.h, cam.h).
 */
#ifndef OMV_PACKET_H
#define OMV_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OMV_SYNC_WORD      0xD5AAu	/* bytes AA D5 on the wire */
#define OMV_HDR_SIZE       10u
#define OMV_TRAILER_SIZE   4u		/* crc32 after a non-empty payload */
#define OMV_MIN_PAYLOAD    50u		/* the smallest SET_CAPS accepts */
#define OMV_CAM_PAYLOAD    4082u	/* stock cam buffer 4096 - 14: in force
					 * after SYNC until SET_CAPS */
#define OMV_PAYLOAD_LIMIT  65535u	/* what the u16 length can say */
/* Largest encoded packet for a given payload length. */
#define OMV_PACKET_SIZE(n) (OMV_HDR_SIZE + (n) + ((n) ? OMV_TRAILER_SIZE : 0u))

enum omv_flag {
	OMV_F_ACK      = 1u << 0,
	OMV_F_NAK      = 1u << 1,
	OMV_F_RTX      = 1u << 2,
	OMV_F_ACK_REQ  = 1u << 3,
	OMV_F_FRAGMENT = 1u << 4,
	OMV_F_EVENT    = 1u << 5,
};

enum omv_opcode {
	OMV_OP_PROTO_SYNC     = 0x00,
	OMV_OP_PROTO_GET_CAPS = 0x01,
	OMV_OP_PROTO_SET_CAPS = 0x02,
	OMV_OP_PROTO_STATS    = 0x03,
	OMV_OP_PROTO_VERSION  = 0x04,
	OMV_OP_SYS_RESET      = 0x10,
	OMV_OP_SYS_BOOT       = 0x11,
	OMV_OP_SYS_INFO       = 0x12,
	OMV_OP_SYS_EVENT      = 0x13,
	OMV_OP_SYS_MEMORY     = 0x14,
	OMV_OP_CHANNEL_LIST   = 0x20,
	OMV_OP_CHANNEL_POLL   = 0x21,
	OMV_OP_CHANNEL_LOCK   = 0x22,
	OMV_OP_CHANNEL_UNLOCK = 0x23,
	OMV_OP_CHANNEL_SHAPE  = 0x24,
	OMV_OP_CHANNEL_SIZE   = 0x25,
	OMV_OP_CHANNEL_READ   = 0x26,
	OMV_OP_CHANNEL_WRITE  = 0x27,
	OMV_OP_CHANNEL_IOCTL  = 0x28,
	OMV_OP_CHANNEL_EVENT  = 0x29,
};

/* Status codes carried by a NAK (2-byte payload). */
enum omv_status {
	OMV_ST_SUCCESS  = 0,
	OMV_ST_FAILED   = 1,
	OMV_ST_INVALID  = 2,
	OMV_ST_TIMEOUT  = 3,
	OMV_ST_BUSY     = 4,
	OMV_ST_CHECKSUM = 5,
	OMV_ST_SEQUENCE = 6,
	OMV_ST_OVERFLOW = 7,
	OMV_ST_FRAGMENT = 8,
	OMV_ST_UNKNOWN  = 9,
};

/* Event codes (u16 payload of an event packet). */
enum omv_event {
	OMV_EV_CHANNEL_REGISTERED   = 0,	/* system, channel 0 */
	OMV_EV_CHANNEL_UNREGISTERED = 1,
	OMV_EV_SOFT_REBOOT          = 2,
	OMV_EV_STDIN_STOPPED        = 0,	/* on the stdin channel */
	OMV_EV_STDIN_STARTED        = 1,
	OMV_EV_NOTIFY               = 0xFFFF,	/* empty payload on the wire */
};

const char *omv_status_name(unsigned status);	/* "BUSY", ...; "?" if unknown */
const char *omv_opcode_name(unsigned opcode);	/* "CHANNEL_READ", ... */

/* A decoded packet. payload and raw point into the decoder's buffer and
 * stay valid until the next call into that decoder. */
struct omv_packet {
	uint8_t seq;
	uint8_t chan;
	uint8_t flags;
	uint8_t opcode;
	uint16_t length;
	const uint8_t *payload;
	const uint8_t *raw;	/* the whole packet as it was on the wire */
	size_t raw_len;
};

/*
 * Encode one packet into out (cap bytes). With crc false the CRC fields are
 * written as zero. Returns the encoded size, or 0 if it does not fit.
 */
size_t omv_packet_encode(uint8_t *out, size_t cap, uint8_t seq, uint8_t chan,
			 uint8_t flags, uint8_t opcode, const void *payload,
			 uint16_t length, bool crc);

struct omv_decoder_stats {
	uint64_t packets;	/* accepted */
	uint64_t checksum;	/* header or payload CRC mismatch */
	uint64_t overflow;	/* length above max_payload */
	uint64_t skipped;	/* bytes skipped while scanning for sync */
};

/*
 * Incremental decoder. Memory is the caller's: buf must hold at least
 * OMV_PACKET_SIZE(max_payload) bytes. max_payload and check_crc may be
 * changed between calls (after caps negotiation).
 */
struct omv_decoder {
	uint8_t *buf;
	size_t cap;
	size_t len;		/* bytes held */
	uint16_t max_payload;
	bool check_crc;
	struct omv_decoder_stats stats;
	/*
	 * Optional, NULL after init: told about a packet whose header was
	 * sound but which was rejected anyway (why = OMV_REJECT_*), so that a
	 * receiver can answer it (the cam NAKs it). hdr->payload is NULL.
	 */
	void (*reject)(void *ctx, const struct omv_packet *hdr, int why);
	void *reject_ctx;
	bool taken;		/* the packet at buf[0] was handed out */
};

enum omv_reject { OMV_REJECT_OVERFLOW = 1, OMV_REJECT_PAYLOAD_CRC = 2 };

void omv_decoder_init(struct omv_decoder *d, uint8_t *buf, size_t cap,
		      uint16_t max_payload, bool check_crc);
void omv_decoder_reset(struct omv_decoder *d);	/* drop partial input */

/*
 * Feed bytes and take packets out:
 *   size_t off = 0;
 *   while (off < len) {
 *       off += omv_decoder_feed(d, data + off, len - off);
 *       while (omv_decoder_next(d, &pkt)) handle(&pkt);
 *   }
 * feed() consumes as much as it can hold (never more than needed to finish
 * the packet being assembled); next() returns true and fills *pkt when a
 * whole valid packet is available.
 */
size_t omv_decoder_feed(struct omv_decoder *d, const uint8_t *data, size_t len);
bool omv_decoder_next(struct omv_decoder *d, struct omv_packet *pkt);

#endif
