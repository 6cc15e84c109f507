/*
 * The host side of the protocol as a pure state machine: no I/O and no
 * clock of its own. The caller feeds received bytes and the current time
 * in milliseconds, and gets bytes to transmit, completed commands and cam
 * events back through callbacks. At most one command is in flight.
 *
 * Rules it implements (see docs/protocol.md): host and cam share one
 * sequence counter; a command carries the counter, every response packet
 * (each fragment) carries it too and advances it; SYNC and its answer reset
 * it to 0 and do not advance it. Every packet with ACK_REQ is ACKed at once
 * with an empty ACK packet (same seq, chan, opcode). A copy of the packet
 * just accepted is ACKed again and dropped. Events never advance the
 * counter and never touch the deadlines.
 *
 * Recovery happens in round trips: a response packet that arrives damaged
 * (sound header, bad payload CRC) is NAKed at once, and the cam sends it
 * again; one that is overdue (a retransmission timeout, RTO, after it was
 * asked for, then 2, 4, ... RTOs more) is probed: the ACK of the packet
 * before it is repeated, a NAK asks for it (at most OMV_HOST_NAKS per
 * packet, each costing the cam one of its tries), and a command that got
 * no answer at all is sent again (same seq: the cam refuses a copy of
 * what it already did). A command the cam NAKs with CHECKSUM is sent
 * again under the next seq. The RTO follows the measured round trip (RFC
 * 6298: smoothed RTT and variance, no samples from retried exchanges,
 * doubled by each probe until the cam shows it still answers at its
 * usual speed), clamped to [OMV_RTO_MIN_MS, the command's timeout].
 * After 15 RTOs of silence, but not before OMV_GIVE_UP_MIN_MS, the
 * command ends with OMV_ERR_TIMEOUT, for a resync: what round trips could
 * not fix. The command's timeout itself is an inactivity timeout: every
 * packet that makes progress on the command re-arms it, so a long answer
 * never times out while it flows.
 */
#ifndef OMV_HOST_H
#define OMV_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "packet.h"

#define OMV_DEADLINE_NONE UINT64_MAX

#define OMV_RTO_MIN_MS      5u		/* floor of the retransmission timeout */
#define OMV_GIVE_UP_MIN_MS  250u	/* silence before giving up early */
#define OMV_RTO_INITIAL_MS  1000u	/* before the first round-trip sample */
#define OMV_HOST_NAKS       3u		/* per expected packet: the cam's tries */
#define OMV_HOST_RESENDS    3u		/* resends of a command NAKed CHECKSUM */

/* How a command ended. */
enum omv_result_code {
	OMV_OK = 0,
	OMV_ERR_NAK,		/* cam answered NAK; see status */
	OMV_ERR_TIMEOUT,	/* silent for the timeout, or probes unanswered */
	OMV_ERR_TOO_BIG,	/* response larger than the reassembly limit */
	OMV_ERR_PROTOCOL,	/* unexpected response (wrong opcode/channel) */
	OMV_ERR_CANCELLED,	/* omv_host_sync() or omv_host_cancel() */
};
const char *omv_result_name(int code);

struct omv_result {
	int code;		/* enum omv_result_code */
	uint16_t status;	/* NAK status when code == OMV_ERR_NAK */
	const uint8_t *data;	/* reassembled response payload */
	size_t len;
};

struct omv_host;

struct omv_host_ops {
	/* Bytes to put on the wire, one whole packet per call. */
	void (*write)(void *ctx, const uint8_t *buf, size_t len);
	/* The command in flight ended. result->data is valid during the call
	 * only (unless the caller supplied the buffer). */
	void (*done)(void *ctx, const struct omv_result *result);
	/* A cam event: chan 0 + SYS_EVENT for system events, otherwise
	 * CHANNEL_EVENT on chan. code is OMV_EV_NOTIFY for an empty payload. */
	void (*event)(void *ctx, uint8_t chan, uint8_t opcode, uint16_t code);
};

struct omv_host_stats {
	uint64_t sent;		/* packets sent (commands, ACKs, NAKs) */
	uint64_t received;	/* valid packets received */
	uint64_t checksum;	/* CRC failures */
	uint64_t sequence;	/* packets dropped for an unexpected sequence */
	uint64_t duplicates;	/* copies re-ACKed and dropped */
	uint64_t events;
	uint64_t timeouts;	/* commands ended by OMV_ERR_TIMEOUT */
	uint64_t naks;		/* NAK answers received */
	uint64_t unexpected;	/* responses matching no command in flight */
	uint64_t damaged;	/* damaged response packets NAKed at once */
	uint64_t probes;	/* overdue packets probed */
	uint64_t resent;	/* commands sent again (NAK CHECKSUM, no answer) */
	uint64_t gave_up;	/* timeouts after unanswered probes (early) */
};

/* Round-trip estimate, RFC 6298 style (times in microseconds). */
struct omv_rtt {
	bool valid;		/* a sample was taken */
	uint32_t srtt_us, rttvar_us;
	uint32_t rto_ms;	/* from the samples */
	unsigned backoff;	/* doublings by probes, until undone */
};

struct omv_host {
	/* configuration */
	struct omv_caps caps;		/* in force now */
	struct omv_caps pending_caps;	/* applied when SET_CAPS completes */
	size_t rx_limit;		/* reassembly bound, bytes */

	/* wire */
	struct omv_decoder dec;
	uint8_t *dec_buf;
	uint8_t seq;
	bool seq_valid;		/* false until the first SYNC */

	/* command in flight */
	bool busy;
	uint8_t cmd_op, cmd_chan;
	uint64_t deadline;	/* give up: last progress + timeout */
	uint32_t timeout_ms;	/* of the command in flight */
	uint64_t probe_at;	/* the expected packet is overdue */
	uint64_t asked_at;	/* when the expected packet was asked for */
	uint64_t give_up_at;	/* ... and given up on, for a resync */
	unsigned probes;	/* probes sent for the expected packet */
	unsigned naks;		/* NAKs sent for it (probes, damaged copies) */
	uint64_t probed_at;	/* when the last of them went out */
	unsigned resends;	/* of the command, after NAK CHECKSUM */
	bool answering;		/* a packet of the answer came */
	bool copied;		/* a probe sent the command again */
	bool refusal_due;	/* the last command was copied */
	uint8_t last_seq;	/* seq of the last accepted response packet */
	bool have_last;
	struct omv_rtt rtt;

	/* reassembly */
	uint8_t *rx;
	size_t rx_len, rx_cap;
	bool rx_owned;		/* rx was allocated here */

	uint8_t *tx;		/* one packet being encoded */
	size_t tx_cap;
	uint8_t *cmd_pkt;	/* the command in flight as sent, for a resend */
	size_t cmd_len;

	const struct omv_host_ops *ops;
	void *ctx;
	struct omv_host_stats stats;

	/* private */
	bool cmd_sync;		/* the command in flight is PROTO_SYNC */
	bool cmd_set_caps;	/* ... is SET_CAPS: switch to pending_caps on success */
	bool rx_overrun;	/* response outgrew its bound: consumed, discarded */
	uint8_t last_op, last_chan;	/* of the last accepted response packet */
	bool last_ack_req;		/* ... which asked for an ACK */
	uint64_t now;			/* time of the input being processed */
	uint8_t *own_rx;	/* reassembly buffer when the caller gives none */
	size_t own_rx_size;
};

/*
 * rx_limit bounds any single response (e.g. 32 MiB). Starts with default
 * caps, no valid sequence and no round-trip estimate: the first command
 * should be omv_host_sync(). Returns 0, or -1 on allocation failure.
 */
int omv_host_init(struct omv_host *h, const struct omv_host_ops *ops, void *ctx,
		  size_t rx_limit);
void omv_host_free(struct omv_host *h);

/*
 * Start a command. Fails (-1) when one is already in flight or the payload
 * exceeds the negotiated max payload. timeout_ms is an inactivity timeout
 * (see above). If rx_buf is given, the response is reassembled straight
 * into it (rx_cap bytes; a longer response ends with OMV_ERR_TOO_BIG) and
 * result->data points there.
 */
int omv_host_command(struct omv_host *h, uint8_t opcode, uint8_t chan,
		     const void *payload, size_t len, uint64_t now,
		     uint32_t timeout_ms, uint8_t *rx_buf, size_t rx_cap);

/*
 * Resync: cancel the command in flight (done() with OMV_ERR_CANCELLED),
 * drop partial input, return to default caps and send PROTO_SYNC (seq 0,
 * CRC on); an overdue SYNC is sent again. Its completion arrives through
 * done() like any command. The round-trip estimate is kept.
 */
void omv_host_sync(struct omv_host *h, uint64_t now, uint32_t timeout_ms);

/* SET_CAPS with caps; on success the host switches to them, after ACKing
 * the cam's answer under the old settings. */
int omv_host_set_caps(struct omv_host *h, const struct omv_caps *caps,
		      uint64_t now, uint32_t timeout_ms);

/* Send a command that gets no answer (SYS_RESET, SYS_BOOT). */
int omv_host_send_noreply(struct omv_host *h, uint8_t opcode, uint8_t chan);

/* Bytes from the wire. Any split is fine. */
void omv_host_input(struct omv_host *h, const uint8_t *data, size_t len, uint64_t now);

/* When omv_host_tick must be called next (OMV_DEADLINE_NONE if never):
 * the next probe or the give-up, whichever comes first. */
uint64_t omv_host_deadline(const struct omv_host *h);
/* Probe an overdue packet, or end the command in flight if it is due. */
void omv_host_tick(struct omv_host *h, uint64_t now);
/* The retransmission timeout now in force for a command with this
 * timeout: the estimate clamped to [OMV_RTO_MIN_MS, timeout_ms]. */
uint32_t omv_host_rto(const struct omv_host *h, uint32_t timeout_ms);

/* Cancel the command in flight without a resync (link closed). */
void omv_host_cancel(struct omv_host *h);
/* Forget all state as if freshly initialised (new link), the round-trip
 * estimate included. */
void omv_host_reset(struct omv_host *h);

static inline bool omv_host_busy(const struct omv_host *h) { return h->busy; }

#endif
