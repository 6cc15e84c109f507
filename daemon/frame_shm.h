/*
 * Shared memory for frames given to local clients: a memfd holding the
 * bytes, sealed (no write, shrink, grow, or further sealing), so every
 * client can map it read-only and none can change what the others see,
 * while the daemon has long moved on to other frames.
 *
 * An image can be made straight into the memfd (frame_shm_open, write
 * through *map, frame_shm_seal): no copy, and the daemon reads the same
 * pages through a read-only mapping afterwards.
 */
#ifndef OMVD_FRAME_SHM_H
#define OMVD_FRAME_SHM_H

#include <stddef.h>

/* A memfd (close-on-exec) of len bytes (not 0), mapped writable at *map;
 * -1 (errno set) on failure. */
int frame_shm_open(size_t len, void **map);
/* Unmaps the writable mapping at *map, seals the memfd and maps it again
 * read-only (*map). 0, or -1 with fd closed and nothing mapped. */
int frame_shm_seal(int fd, size_t len, void **map);
/* Discards an open memfd and its writable mapping (the image failed). */
void frame_shm_discard(int fd, size_t len, void *map);

#endif
