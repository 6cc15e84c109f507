/*
 * A host state machine on a fake wire, for the host tests: the packets it
 * writes are kept, its results and events recorded, and cam packets are
 * made by hand and fed at a given time.
 */
#ifndef OMV_TEST_HOSTWIRE_H
#define OMV_TEST_HOSTWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/host.h"

struct wire {
	struct omv_host h;
	uint8_t out[1024][OMV_PACKET_SIZE(64u)];	/* packets the host wrote */
	size_t out_len[1024];
	size_t nout;
	bool done;
	struct omv_result res;
	uint8_t data[8192];
	unsigned ndone;
	struct { uint8_t chan, opcode; uint16_t code; } ev[16];
	size_t nev;
	bool command_from_done;	/* start a POLL from inside done() */
	int command_from_done_rc;
};

#define RESP (OMV_F_ACK | OMV_F_ACK_REQ)

void w_init(struct wire *w, size_t rx_limit);
/* Feed one cam packet at time now, in two pieces to exercise reassembly;
 * damaged: with one payload bit flipped. */
void cam_send_at(struct wire *w, uint64_t now, bool damaged, uint8_t seq, uint8_t chan,
		 uint8_t flags, uint8_t op, const void *payload, uint16_t len);
/* The same at time 0, undamaged, with or without CRCs. */
void cam_send(struct wire *w, uint8_t seq, uint8_t chan, uint8_t flags, uint8_t op,
	      const void *payload, uint16_t len, bool crc);
/* The i-th packet the host wrote has this header and payload length. */
void expect_out(struct wire *w, size_t i, uint8_t seq, uint8_t chan, uint8_t flags,
		uint8_t op, uint16_t len);
/* SYNC and its answer: the host is synchronised at seq 0. */
void do_sync(struct wire *w);

#endif
