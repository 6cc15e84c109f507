/*
 * The input format of the host harness (fuzz_host.c), shared with the
 * seed generator (make_corpus.c): a script of operations on the host
 * state machine, each an opcode byte (modulo HOP_COUNT) and its operands.
 * Integers are little-endian; an input that ends early ends the script.
 *
 *   byte 0           reassembly limit: (1 + b % 64) * 1 KiB
 *   HOP_WIRE         u8 n, n bytes from the cam as they are
 *   HOP_PACKET       u8 how, u8 seq, u8 flags, u8 opcode, u8 chan,
 *                    u16 len, len payload bytes: a cam packet built here
 *   HOP_COMMAND      u8 opcode, u8 chan, u16 timeout_ms, u8 len, len
 *                    payload bytes, u8 rx (0: the host's own buffer, else
 *                    a caller buffer of rx * 64 bytes), u8 then (what the
 *                    done() callback starts: THEN_*)
 *   HOP_SYNC         u16 timeout_ms
 *   HOP_SET_CAPS     16 bytes of SET_CAPS payload, u16 timeout_ms
 *   HOP_NOREPLY      u8 opcode, u8 chan
 *   HOP_TIME         u16 ms: the clock moves on, then a tick
 *   HOP_CANCEL, HOP_RESET
 */
#ifndef FUZZ_HOST_SCRIPT_H
#define FUZZ_HOST_SCRIPT_H

enum host_op {
	HOP_WIRE,
	HOP_PACKET,
	HOP_COMMAND,
	HOP_SYNC,
	HOP_SET_CAPS,
	HOP_NOREPLY,
	HOP_TIME,
	HOP_CANCEL,
	HOP_RESET,
	HOP_COUNT
};

/* HOP_PACKET how bits */
enum {
	HOW_HOST_SEQ = 1 << 0,		/* seq = the host's counter, not the seq byte */
	HOW_CMD = 1 << 1,		/* opcode and chan of the command in flight */
	HOW_CRC = 1 << 2,		/* CRCs as the host's caps say (else the opposite) */
	HOW_FLIP = 1 << 3,		/* one byte damaged: at seq % size, xor flags | 1 */
	HOW_PIECES_SHIFT = 4,		/* bits 4-5: delivered in 1 + n pieces */
};

/* HOP_COMMAND then */
enum { THEN_NOTHING, THEN_COMMAND, THEN_SYNC, THEN_COUNT };

#endif
