/* Helpers shared by the integration tests that run camsim. */
#ifndef OMV_CAM_UTIL_H
#define OMV_CAM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* A connection to omvd at h_path("omvd.sock"); fails the test if none. */
struct h_conn *cu_connect(void);
/* One camsim control command; returns its JSON reply (ok checked). */
json_t *cu_control(const char *line);
/* Poll is_connected until it is `want` (deadline ms). */
bool cu_wait_connected(struct h_conn *c, bool want, unsigned ms);
/* Calls read_stdout until the text gathered contains needle (deadline ms). */
bool cu_wait_stdout(struct h_conn *c, const char *needle, unsigned ms);
/* Polls has_channel until it is true (deadline ms). */
bool cu_wait_channel(struct h_conn *c, const char *name, unsigned ms);
/* Polls read_frame(format) until a frame comes (deadline ms); NULL if none. */
json_t *cu_wait_frame(struct h_conn *c, const char *format, unsigned ms);
/* The frame number camsim drew in rows 0..15 of an RGB888 image. */
uint32_t cu_barcode(const uint8_t *rgb, unsigned w, unsigned h);
/* The decoded `data` of a frame object (malloc'd). */
uint8_t *cu_frame_data(json_t *frame, size_t *len);
/* The `clients` entry of client id as observer sees it (fails if none). */
json_t *cu_client(struct h_conn *observer, int64_t id);
/* The caller's own client id (the entry with self true). */
int64_t cu_self_id(struct h_conn *c);
/* channel_lock until granted: false means the cam's 10 ms rule (deadline ms). */
void cu_lock(struct h_conn *c, int chan, unsigned ms);
/* A string member, "" when missing. */
const char *cu_str(json_t *o, const char *key);
int64_t cu_int(json_t *o, const char *key);

#endif
