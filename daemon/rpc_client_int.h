/*
 * Internals of a client connection, shared by its files:
 * rpc_client.c (the connection: life cycle, socket callbacks, writing,
 * flow control), rpc_client_output.c (queueing output within its limits
 * and accounting its memory), rpc_client_input.c (request lines, batches
 * dispatched a slice at a time) and rpc_call.c (reply slots and the
 * ending of calls). Nothing outside them includes this.
 */
#ifndef OMVD_RPC_CLIENT_INT_H
#define OMVD_RPC_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "rpc_client.h"

/* ---- the connection (rpc_client.c) ---- */

/* Too much in flight or queued to take more requests now. */
bool client_busy(const struct rpc_client *c);
/* Stop reading while busy; read again (and take the lines already
 * buffered) once it is not. */
void client_maybe_pause(struct rpc_client *c);
void client_maybe_resume(struct rpc_client *c);
/* Go on with the buffered input on the next loop turn. */
void client_input_next_turn(struct rpc_client *c);
/* A draining client closes once its replies are out. */
void client_check_drained(struct rpc_client *c);
/* Write what the socket takes of the queued output. */
void client_write(struct rpc_client *c);

/* ---- output (rpc_client_output.c) ---- */

/* Memory the client's output holds that no other client shares. */
size_t client_private(const struct rpc_client *c);
/* Tells the server how client_private() changed since it was before. */
void client_account(struct rpc_client *c, size_t before);
/* After output was queued or a reply stored: accounting, limits, and a
 * write when the socket allows. */
void client_output_queued(struct rpc_client *c, size_t before);
/* Queue a malloc'd line (ownership taken), a copy, or a shared line with
 * fd (taken) on its first byte; nothing once the client is closing. */
void client_send_owned(struct rpc_client *c, char *data, size_t len);
void client_send_copy(struct rpc_client *c, const char *data, size_t len);
bool client_send_line(struct rpc_client *c, struct shared_line *l, int fd);

/* ---- input (rpc_client_input.c) ---- */

/* Dispatch the buffered request lines, within the client's slice. */
void client_process_input(struct rpc_client *c);
/* Keeps the server's total of buffered input bytes up to date. */
void client_input_account(struct rpc_client *c);

/* ---- reply slots and calls (rpc_call.c) ---- */

/* A slot for the count replies of one request line, last in order. */
struct reply_slot *slot_new(struct rpc_client *c, size_t count, bool batch);
/* Gives the slot's memory back (it is out of the client's list). */
void slot_free(struct rpc_client *c, struct reply_slot *slot);
/* Reply i of the slot (stolen), serialised now; NULL: no reply. */
void slot_set(struct rpc_client *c, struct reply_slot *slot, size_t i, json_t *reply);
/* Sends the slots at the head whose calls have all ended, in order. */
void slots_flush(struct rpc_client *c);
/* One call (or the dispatching) of the slot is over. */
void slot_done_one(struct rpc_client *c, struct reply_slot *slot);
/* A call's memory, without ending it (teardown). */
void call_free(struct rpc_call *call);

#endif
