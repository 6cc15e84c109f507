/*
 * Packet framing: the encoder and the incremental stream decoder.
 *
 * The decoder keeps at most one packet's worth of bytes. It validates what
 * it holds every time it is called (so max_payload and check_crc may change
 * between calls) and, on any rejection, drops bytes up to the next possible
 * sync byte and scans again from there.
 */
#include <string.h>

#include "protocol/crc.h"
#include "protocol/msg.h"
#include "protocol/packet.h"

#define SYNC_LO ((uint8_t)(OMV_SYNC_WORD & 0xFF))
#define SYNC_HI ((uint8_t)(OMV_SYNC_WORD >> 8))

size_t omv_packet_encode(uint8_t *out, size_t cap, uint8_t seq, uint8_t chan,
			 uint8_t flags, uint8_t opcode, const void *payload,
			 uint16_t length, bool crc)
{
	size_t total = OMV_PACKET_SIZE((size_t)length);

	if (total > cap || (length && !payload))
		return 0;
	/* The payload goes first: it may already sit at out + OMV_HDR_SIZE. */
	if (length)
		memmove(out + OMV_HDR_SIZE, payload, length);
	omv_put_u16(out, OMV_SYNC_WORD);
	out[2] = seq;
	out[3] = chan;
	out[4] = flags;
	out[5] = opcode;
	omv_put_u16(out + 6, length);
	omv_put_u16(out + 8, crc ? omv_crc16(out, 8) : 0);
	if (length)
		omv_put_u32(out + OMV_HDR_SIZE + length,
			    crc ? omv_crc32(out + OMV_HDR_SIZE, length) : 0);
	return total;
}

void omv_decoder_init(struct omv_decoder *d, uint8_t *buf, size_t cap,
		      uint16_t max_payload, bool check_crc)
{
	memset(d, 0, sizeof(*d));
	d->buf = buf;
	d->cap = cap;
	d->max_payload = max_payload;
	d->check_crc = check_crc;
}

void omv_decoder_reset(struct omv_decoder *d)
{
	d->len = 0;
	d->taken = false;
}

static void drop_front(struct omv_decoder *d, size_t n)
{
	memmove(d->buf, d->buf + n, d->len - n);
	d->len -= n;
}

/* Drop the first byte and everything up to the next possible sync start. */
static void skip_to_next_sync(struct omv_decoder *d)
{
	const uint8_t *next = d->len > 1 ? memchr(d->buf + 1, SYNC_LO, d->len - 1) : NULL;
	size_t n = next ? (size_t)(next - d->buf) : d->len;

	d->stats.skipped += n;
	drop_front(d, n);
}

static void parse_header(const uint8_t *b, struct omv_packet *pkt)
{
	pkt->seq = b[2];
	pkt->chan = b[3];
	pkt->flags = b[4];
	pkt->opcode = b[5];
	pkt->length = omv_get_u16(b + 6);
	pkt->payload = NULL;
	pkt->raw = NULL;
	pkt->raw_len = 0;
}

/* Skip the packet at the front and tell the owner why, after the buffer is
 * consistent again (the callback may reset the decoder). */
static void reject_sound_header(struct omv_decoder *d, int why)
{
	struct omv_packet hdr;

	parse_header(d->buf, &hdr);
	skip_to_next_sync(d);
	if (d->reject)
		d->reject(d->reject_ctx, &hdr, why);
}

/*
 * Bring the buffer to a state where it starts with a plausible packet.
 * Returns true when that packet is complete and valid.
 */
static bool settle(struct omv_decoder *d)
{
	if (d->taken) {
		d->taken = false;
		drop_front(d, OMV_PACKET_SIZE((size_t)omv_get_u16(d->buf + 6)));
	}
	for (;;) {
		if (d->len == 0)
			return false;
		if (d->buf[0] != SYNC_LO) {
			skip_to_next_sync(d);
			continue;
		}
		if (d->len < 2)
			return false;
		if (d->buf[1] != SYNC_HI) {
			skip_to_next_sync(d);
			continue;
		}
		if (d->len < OMV_HDR_SIZE)
			return false;
		if (d->check_crc && omv_crc16(d->buf, 8) != omv_get_u16(d->buf + 8)) {
			d->stats.checksum++;
			skip_to_next_sync(d);
			continue;
		}
		size_t length = omv_get_u16(d->buf + 6);
		if (length > d->max_payload || OMV_PACKET_SIZE(length) > d->cap) {
			d->stats.overflow++;
			reject_sound_header(d, OMV_REJECT_OVERFLOW);
			continue;
		}
		if (d->len < OMV_PACKET_SIZE(length))
			return false;
		if (length && d->check_crc &&
		    omv_crc32(d->buf + OMV_HDR_SIZE, length) !=
		    omv_get_u32(d->buf + OMV_HDR_SIZE + length)) {
			d->stats.checksum++;
			reject_sound_header(d, OMV_REJECT_PAYLOAD_CRC);
			continue;
		}
		return true;
	}
}

size_t omv_decoder_feed(struct omv_decoder *d, const uint8_t *data, size_t len)
{
	size_t need, n;

	settle(d);
	if (d->len < OMV_HDR_SIZE)
		need = OMV_HDR_SIZE - d->len;
	else
		need = OMV_PACKET_SIZE((size_t)omv_get_u16(d->buf + 6)) - d->len;
	n = len < need ? len : need;
	if (n) {
		memcpy(d->buf + d->len, data, n);
		d->len += n;
	}
	return n;
}

bool omv_decoder_next(struct omv_decoder *d, struct omv_packet *pkt)
{
	if (!settle(d))
		return false;
	parse_header(d->buf, pkt);
	pkt->payload = pkt->length ? d->buf + OMV_HDR_SIZE : NULL;
	pkt->raw = d->buf;
	pkt->raw_len = OMV_PACKET_SIZE((size_t)pkt->length);
	d->taken = true;
	d->stats.packets++;
	return true;
}
