/*
 * Internals shared by the files of libomvclient (not installed).
 */
#ifndef OMVCLIENT_PRIVATE_H
#define OMVCLIENT_PRIVATE_H

#include "omvclient.h"

/* Record the client's last error; returns code for `return set_error(...)`. */
int omv_set_error(omv_client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Build an omv_frame from a read_frame result or a frame notification's
 * params; data is decoded from base64 when present. NULL on bad input. */
omv_frame *omv_frame_from_json(const json_t *obj);

#endif
