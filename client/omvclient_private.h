/*
 * Internals shared by the files of libomvclient (not installed).
 */
#ifndef OMVCLIENT_PRIVATE_H
#define OMVCLIENT_PRIVATE_H

#include <sys/types.h>

#include "omvclient.h"

/* Record the client's last error; returns code for `return set_error(...)`. */
int omv_set_error(omv_client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same, keeping e (an errno value) for omv_client_error_errno(). */
int omv_set_error_errno(omv_client *c, int code, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Take fd (non-blocking, close-on-exec) as the connection; child is the
 * process at its far end (ssh), or 0. */
void omv_client_attach(omv_client *c, int fd, pid_t child);
/* Whether the connection can carry file descriptors (a local socket, not
 * a pipe to ssh): shared-memory frames need it. */
bool omv_client_passes_fds(const omv_client *c);
/* Close the connection; *status (may be NULL) gets the wait status of the
 * process at its far end, -1 when there was none. */
void omv_client_detach(omv_client *c, int *status);

/* Build an omv_frame from a read_frame result or a frame notification's
 * params: data decoded from base64, or the shared memory of its "fd"
 * member mapped (the fd stays open). NULL on bad input. */
omv_frame *omv_frame_from_json(const json_t *obj);

/* Descriptors passed with lines (SCM_RIGHTS) belong to the frame objects
 * with an "shm" member, in order: each such object of msg (a reply, a
 * notification or a batch) gets the next one as its "fd" member (-1 when
 * none came). */
void omv_frame_attach_fds(json_t *msg, int (*next_fd)(void *arg), void *arg);
/* The frame object of a reply or notification that has shared memory. */
json_t *omv_frame_shm_object(json_t *msg);
/* Close the frame object's "fd" (if any), marking it -1. */
void omv_frame_close_fd(json_t *obj);

#endif
