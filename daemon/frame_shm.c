/* Sealed memfds for frames (see frame_shm.h). */
#include "frame_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define FRAME_SHM_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

int frame_shm_open(size_t len, void **map)
{
	int fd, e;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	fd = memfd_create("omvd-frame", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	/* Populated at once: one call instead of a page fault per page. */
	if (ftruncate(fd, (off_t)len) < 0 ||
	    (*map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
			 0)) == MAP_FAILED) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int frame_shm_seal(int fd, size_t len, void **map)
{
	int e;

	/* F_SEAL_WRITE is refused while a writable shared mapping exists. */
	munmap(*map, len);
	*map = NULL;
	if (fcntl(fd, F_ADD_SEALS, FRAME_SHM_SEALS) < 0 ||
	    (*map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		e = errno;
		*map = NULL;
		close(fd);
		errno = e;
		return -1;
	}
	return 0;
}

void frame_shm_discard(int fd, size_t len, void *map)
{
	munmap(map, len);
	close(fd);
}
