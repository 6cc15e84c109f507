/*
 * Test fixture: a host and a cam state machine talking in-process through
 * two packet queues, with a fake clock, fault injection (drop chosen
 * packets) and a small cam application that serves reads and writes.
 */
#ifndef OMV_TEST_LINK_H
#define OMV_TEST_LINK_H

#include "protocol/cam.h"
#include "protocol/host.h"

struct link;

struct link_queue {
	struct link_msg { uint8_t *data; size_t len; } *items;
	size_t head, count, cap;
};

/* host_deadline: the host's give-up time when the event arrived. */
struct link_event { uint8_t chan, opcode; uint16_t code; uint64_t host_deadline; };

struct link {
	struct omv_host host;
	struct omv_cam cam;
	uint64_t now;

	struct link_queue to_cam, to_host;
	size_t piece;		/* deliver bytes in pieces of this size (0: whole) */
	/* Return true to drop a packet put on the wire (any side). */
	bool (*drop)(struct link *l, bool to_cam, const struct omv_packet *pkt);
	/* Return true to damage one that is not dropped: its last byte is
	 * flipped (the payload CRC, or the header CRC of an empty packet). */
	bool (*damage)(struct link *l, bool to_cam, const struct omv_packet *pkt);
	/* Called for every packet the cam puts on the wire, before delivery. */
	void (*cam_wrote)(struct link *l, const struct omv_packet *pkt);
	void *user;
	uint64_t dropped, damaged;

	/* last completed host command */
	bool done;
	struct omv_result result;
	uint8_t *data;		/* copy of result.data */
	size_t data_len;
	uint64_t done_at;

	struct link_event events[256];
	size_t nevents;
	unsigned cam_resets;

	/* cam application */
	uint8_t *chan_data;	/* what CHANNEL_READ serves */
	size_t chan_len;
	uint8_t *written;	/* what CHANNEL_WRITE stored */
	size_t written_len;
	unsigned commands_seen;
	bool app_silent;	/* do not answer commands */
};

void link_init(struct link *l, uint16_t cam_max_payload, size_t host_rx_limit);
void link_free(struct link *l);

/* Deliver queued packets until both queues are empty. */
void link_pump(struct link *l);
/* Pump, and advance the fake clock to the next deadline, until the host
 * command completes or nothing is left to happen before now + max_ms.
 * Returns whether the command completed. */
bool link_run(struct link *l, uint64_t max_ms);
/* Pump and tick until the cam has nothing left to retransmit. */
void link_settle(struct link *l, uint64_t max_ms);

/* Start a command and run it to completion; returns the result code. */
int link_command(struct link *l, uint8_t opcode, uint8_t chan, const void *payload,
		 size_t len, uint32_t timeout_ms);
int link_sync(struct link *l);
int link_set_caps(struct link *l, const struct omv_caps *caps);
/* SYNC, GET_CAPS, SET_CAPS with all caps on and max_payload clipped. */
void link_connect(struct link *l, uint16_t max_payload);
/* CHANNEL_READ of the stream channel; returns the result code. */
int link_read(struct link *l, uint32_t offset, uint32_t length, uint32_t timeout_ms);

/* Parse one whole packet as written by either side. */
void link_parse(const uint8_t *buf, size_t len, struct omv_packet *pkt);

#endif
