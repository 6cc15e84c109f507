/*
 * Harness: a broken or hostile cam. The input is what the cam answers,
 * command after command (cam_script.h; SYNC and capabilities are the
 * protocol's own and stay sound): each answer lets the fake cam answer as usual, or
 * answers with any status and payload, or says nothing, or first raises
 * an event, prints any bytes on stdout or makes any frame ready. Meanwhile
 * a client subscribed to every topic asks for everything the cam's
 * answers feed: versions, info, channels, sizes, reads, the profile, a
 * frame, stdout, events.
 *
 * What must hold: the client's output is JSON-RPC 2.0 answering each of
 * its requests (jsonrpc_check.c) within 20 s, whatever the cam said; and
 * once the cam behaves again, the link comes back. With OMVD_FUZZ_SHOW
 * set, the commands the cam gets and the client's output are printed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cam_script.h"
#include "daemon/clock.h"
#include "fuzz.h"
#include "fuzz_world.h"
#include "jsonrpc_check.h"
#include "tests/core/fakecam.h"

#define MAX_REQUEST 4000
#define TALK_MS 20000
/* Each silence costs a timeout, a resync and a retry: one per input. */
#define MAX_SILENCES 1

static const char requests[] =
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\",\"params\":{\"topics\":"
	"[\"link\",\"event\",\"stdout\",\"frame\",\"state\"],\"frame_format\":\"rgb888\"}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"version\"}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"system_info\"}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"channel_list\"}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"get_channel\",\"params\":{\"channel_id\":5}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"has_channel\",\"params\":{\"name\":\"buf\"}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"read_status\"}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"channel_size\",\"params\":{\"name\":\"buf\"}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"channel_read\",\"params\":{\"name\":\"buf\"}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"channel_shape\",\"params\":{\"channel_id\":4}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"channel_lock\",\"params\":{\"channel_id\":5}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"channel_unlock\",\"params\":{\"channel_id\":5}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"read_profile\"}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":\"update_channels\"}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":15,\"method\":\"read_frame\",\"params\":{\"format\":\"native\"}}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":16,\"method\":\"read_stdout\"}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"poll_events\"}\n"
	"{\"jsonrpc\":\"2.0\",\"id\":18,\"method\":\"status\"}\n";

struct script {
	struct fuzz_reader in;
	unsigned silences;
};

static bool answer(void *arg, struct fakecam *f, const struct omv_packet *cmd)
{
	struct script *s = arg;
	uint8_t kind, u8, buf[65535];
	uint16_t u16;

	if (getenv("OMVD_FUZZ_SHOW") != NULL)
		printf("cam got %s on channel %u\n", omv_opcode_name(cmd->opcode), cmd->chan);
	if (!fuzz_take_u8(&s->in, &kind))
		return false;
	switch (kind % ANS_COUNT) {
	case ANS_REPLY:
		if (!fuzz_take_u8(&s->in, &u8) || !fuzz_take_u16(&s->in, &u16))
			return false;
		if (u16 > s->in.left)
			u16 = (uint16_t)s->in.left;
		fuzz_take(&s->in, buf, u16);
		omv_cam_reply(&f->cam, u8, buf, u16, clock_now_ms());
		return true;
	case ANS_SILENT:
		return s->silences++ < MAX_SILENCES;
	case ANS_EVENT:
		if (fuzz_take_u8(&s->in, &u8) && fuzz_take_u16(&s->in, &u16))
			fakecam_event(f, u8, u16);
		return false;
	case ANS_PRINT:
		if (fuzz_take_u8(&s->in, &u8) && fuzz_take(&s->in, buf, u8))
			fakecam_write_stdout(f, buf, u8);
		return false;
	case ANS_FRAME:
		if (fuzz_take_u16(&s->in, &u16) && fuzz_take(&s->in, buf, u16) && !f->stream_locked)
			fakecam_new_frame(f, buf, u16);
		return false;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_world *w = fuzz_world_get(true, MAX_REQUEST);
	struct script s = { { data, size }, 0 };
	struct fuzz_talk t = { (const uint8_t *)requests, sizeof requests - 1, NULL, 0 };

	fuzz_world_ready(w, false);
	w->fc->answer = answer;
	w->fc->answer_arg = &s;
	fuzz_talk(w, &t, 1, TALK_MS);
	w->fc->answer = NULL;
	if (getenv("OMVD_FUZZ_SHOW") != NULL)
		fwrite(t.out, 1, t.out_len, stdout);
	jrc_check_exchange(t.in, t.in_len, MAX_REQUEST, t.out, t.out_len);
	free(t.out);
	/* The cam behaves again: the link must come back (checked by the
	 * next input's fuzz_world_ready, or now for the last one). */
	fuzz_world_ready(w, false);
	return 0;
}
