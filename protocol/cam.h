/*
 * The cam side of the protocol as a pure state machine, as stock firmware
 * behaves: camsim drives it with bytes and time and answers commands.
 *
 * - Validates each command: sequence (NAK SEQUENCE), header/payload CRC
 *   (NAK CHECKSUM when the header was sound but the payload CRC failed),
 *   length above max payload (NAK OVERFLOW), opcode/channel rules (system
 *   opcodes only on channel 0, else NAK INVALID).
 * - A valid PROTO_SYNC (the fixed 10-byte packet) is recognised anywhere in
 *   the byte stream, also inside a partial packet or while waiting for an
 *   ACK: state resets to default caps, seq 0, and on_reset() is called.
 * - Responses are fragmented by the negotiated max payload (FRAGMENT on all
 *   but the last). With the ack cap each packet carries ACK_REQ and the
 *   next is sent only after the host's ACK; an unACKed packet is resent
 *   with RTX after 500, 1000, 2000 ms, or at once when the host NAKs it,
 *   and after the third resend (4000 ms later, or at the next NAK) the cam
 *   gives up and re-initialises (like SYNC, without an answer). While a
 *   packet waits for its ACK, or the application works on a command, other
 *   input is held back, unread, until that ends (a SYNC still gets
 *   through); ACKs and NAKs that match nothing waiting are ignored.
 * - After SYNC or a re-init all caps are on with the cam's own max payload.
 * - Events go out at any time (also between fragments) when the events cap
 *   is on; they do not advance the sequence and are not ACKed.
 * - SET_CAPS is answered under the old caps, which change once that answer
 *   is ACKed (or sent, without the ack cap).
 */
#ifndef OMV_CAM_H
#define OMV_CAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "packet.h"

#define OMV_RTX_FIRST_MS 500u
#define OMV_RTX_RETRIES  3u
#define OMV_CAM_HELD_PACKETS 4u	/* input held while waiting, in max packets */

struct omv_cam;

struct omv_cam_ops {
	/* One whole packet to put on the wire. */
	void (*write)(void *ctx, const uint8_t *buf, size_t len);
	/*
	 * A valid command that the application must answer, now or later,
	 * with omv_cam_reply(); input waits until it does, as on a cam that
	 * handles one command at a time. Protocol opcodes (SYNC, GET_CAPS,
	 * SET_CAPS, PROTO_STATS) are answered by the state machine and never
	 * reach it.
	 */
	void (*command)(void *ctx, const struct omv_packet *cmd);
	/* Protocol state was re-initialised (SYNC, give-up, omv_cam_reinit):
	 * the application releases channel locks. */
	void (*on_reset)(void *ctx);
};

struct omv_cam {
	struct omv_caps caps;
	struct omv_caps pending_caps;
	bool caps_pending;
	uint16_t cam_max_payload;	/* what GET_CAPS reports */

	struct omv_decoder dec;
	uint8_t *dec_buf;
	uint8_t *held;			/* input not yet decoded, in order */
	size_t held_len, held_cap;
	uint8_t sync_window[OMV_HDR_SIZE];	/* last bytes seen, for SYNC */
	size_t sync_fill;
	uint8_t seq;

	/* command being answered */
	bool cmd_active;
	uint8_t cmd_op, cmd_chan;

	/* response being sent */
	uint8_t *resp;
	size_t resp_len, resp_cap, resp_off;
	uint8_t resp_flags_base;	/* ACK or NAK */
	bool waiting_ack;
	uint8_t wait_seq;
	uint8_t *last_pkt;		/* kept for retransmission */
	size_t last_len, last_cap;
	unsigned retries;
	uint64_t rtx_deadline;

	uint8_t *tx;
	size_t tx_cap;

	const struct omv_cam_ops *ops;
	void *ctx;
	struct omv_proto_stats stats;

	/* private */
	uint8_t cmd_seq;		/* seq of the command being answered */
	bool awaiting_reply;		/* handed to ops->command, not answered yet */
	bool resp_fixed_seq;		/* answer carries cmd_seq, counter stays */
	bool resp_all_sent;		/* last packet of the response is out */
	bool last_crc;			/* last_pkt was encoded with CRCs */
	bool processing;		/* process_held() is running */
	uint64_t now;			/* time of the input being processed */
};

/* cam_max_payload: what this cam can take (OMV_CAM_PAYLOAD for stock), and
 * its max payload after SYNC. */
int omv_cam_init(struct omv_cam *c, const struct omv_cam_ops *ops, void *ctx,
		 uint16_t cam_max_payload);
void omv_cam_free(struct omv_cam *c);

void omv_cam_input(struct omv_cam *c, const uint8_t *data, size_t len, uint64_t now);

/*
 * Answer the command passed to ops->command. status OMV_ST_SUCCESS sends
 * data (copied; fragmented as needed) with the ACK flag, or an empty ACK
 * when len is 0; any other status sends a NAK with that status.
 */
void omv_cam_reply(struct omv_cam *c, uint16_t status, const void *data, size_t len,
		   uint64_t now);

/* Send an event (dropped when the events cap is off). Use OMV_EV_NOTIFY
 * for an empty-payload notification. */
void omv_cam_event(struct omv_cam *c, uint8_t chan, uint16_t code);

/* Soft reboot: back to default caps and seq 0, pending response dropped,
 * on_reset() called. */
void omv_cam_reinit(struct omv_cam *c);

uint64_t omv_cam_deadline(const struct omv_cam *c);	/* OMV_DEADLINE_NONE if idle */
void omv_cam_tick(struct omv_cam *c, uint64_t now);

#ifndef OMV_DEADLINE_NONE
#define OMV_DEADLINE_NONE UINT64_MAX
#endif

#endif
