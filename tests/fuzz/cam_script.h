/*
 * The input format of the hostile-cam harness (fuzz_cam.c), shared with
 * the seed generator (make_corpus.c): the cam's answers, one for each
 * command it gets in turn, each a kind byte (modulo ANS_COUNT) and its
 * operands (little-endian). Once the input runs out the cam answers as
 * usual.
 */
#ifndef FUZZ_CAM_SCRIPT_H
#define FUZZ_CAM_SCRIPT_H

enum answer_kind {
	ANS_USUAL,	/* the fake cam answers */
	ANS_REPLY,	/* u8 status, u16 len, len bytes: this answer instead */
	ANS_SILENT,	/* no answer at all */
	ANS_EVENT,	/* u8 chan, u16 code: an event first, then as usual */
	ANS_PRINT,	/* u8 n, n bytes: on stdout first, then as usual */
	ANS_FRAME,	/* u16 n, n bytes: the next frame first, then as usual */
	ANS_COUNT
};

#endif
