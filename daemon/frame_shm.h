/*
 * Shared memory for frames given to local clients: a memfd holding the
 * bytes, sealed (no write, shrink, grow, or further sealing), so every
 * client can map it read-only and none can change what the others see,
 * while the daemon has long moved on to other frames.
 *
 * The bytes are written into the memfd, not made through a mapping of
 * it: a fresh mapping per frame costs a page fault per page (and its
 * unmapping a TLB flush on every CPU the daemon's threads run on), far
 * more than the copy the kernel makes on write.
 */
#ifndef OMVD_FRAME_SHM_H
#define OMVD_FRAME_SHM_H

#include <stddef.h>

/* A sealed memfd (close-on-exec) holding a copy of len bytes (not 0);
 * -1 (errno set) on failure. */
int frame_shm_new(const void *data, size_t len);

#endif
