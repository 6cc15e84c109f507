/*
 * Shared memory for frames given to local clients: a memfd holding a copy
 * of the bytes, sealed (no write, shrink, grow, or further sealing), so
 * every client can map it read-only and none can change what the others
 * see, while the daemon has long moved on to other frames.
 */
#ifndef OMVD_FRAME_SHM_H
#define OMVD_FRAME_SHM_H

#include <stddef.h>

/* A sealed memfd (close-on-exec) of len bytes copied from data, or -1
 * (errno set). len must not be 0. */
int frame_shm_make(const void *data, size_t len);

#endif
