/*
 * Frames on their way to clients. Each frame's `frame` lines are built
 * once per encoding and transport that some client wants (the bytes as
 * base64 in the line, or in a sealed memfd passed with it), on the frame
 * workers; the loop only queues lines that are ready, so it stays free
 * for the cam's link. Subscribers get frames in the order they were read
 * (newest wins when the workers fall behind); a read_frame reply is built
 * off the loop too and ends its call when ready.
 */
#ifndef OMVD_RPC_FRAMES_H
#define OMVD_RPC_FRAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "frame.h"

struct rpc_call;
struct rpc_client;
struct rpc_server;

struct rpc_frames;

/* workers: threads (0: one per CPU, at most 4); max_pixels: decode limit
 * (0: the default). NULL when the workers cannot be started. */
struct rpc_frames *rpc_frames_new(struct rpc_server *s, unsigned workers, size_t max_pixels);
/* After every client is gone. */
void rpc_frames_free(struct rpc_frames *fr);

/* A new frame from the cam: prepared for, then sent to, the subscribers. */
void rpc_frames_publish(struct rpc_frames *fr, struct frame *f);
/* read_frame of f: ends the call, at once or once its reply is built. */
void rpc_frames_read(struct rpc_frames *fr, struct rpc_call *call, struct frame *f,
		     enum frame_encoding enc, bool shm);

/* The client's output drained: a shared-memory frame that waited for
 * room goes now. */
void rpc_frames_client_room(struct rpc_client *c);
/* The client goes: what waited for it is dropped. */
void rpc_frames_client_clear(struct rpc_client *c);

#endif
