/*
 * The text of a frame on the socket: the frame object of docs/rpc.md in
 * one encoding (metadata, then the bytes as base64, or the size of the
 * shared memory passed along, or nothing when the frame cannot be given
 * in that encoding), and a whole read_frame reply made of it. Written by
 * hand, not through jansson: a JSON tree (and its escaping scan) of a
 * base64 string of hundreds of KiB costs several copies per frame. Runs
 * on the frame workers.
 */
#ifndef OMVD_FRAME_TEXT_H
#define OMVD_FRAME_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "frame.h"

struct frame_codec;
struct shared_line;

/* How a `frame` notification wraps a frame object. */
#define FRAME_TEXT_NOTE_HEAD "{\"jsonrpc\":\"2.0\",\"method\":\"frame\",\"params\":"
#define FRAME_TEXT_NOTE_TAIL "}\n"

/* The frame object of f in enc (no newline): with the bytes in base64, or
 * with shm the image's memfd made and its size named. NULL when out of
 * memory. */
struct shared_line *frame_text_object(struct frame *f, enum frame_encoding enc, bool shm,
				      struct frame_codec *codec);
/* The reply to a read_frame call with this id (JSON text) whose result is
 * obj; malloc'd, with its newline. NULL when out of memory. */
char *frame_text_reply(const struct shared_line *obj, const char *id, size_t *len);

#endif
