/*
 * The cam's serial port in the harnesses (daemon/serial_port.h, linked in
 * place of serial_port.c): each open is a new socketpair whose other end
 * the fake cam serves, so bytes cross within one turn of the one event
 * loop instead of through a tty and the kernel's workers. A closed port
 * unplugs the fake cam until the next open, as a replug would.
 */
#include "fuzz_port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/serial_port.h"
#include "tests/core/fakecam.h"

struct serial_port {
	int fd;
};

static struct fakecam *port_cam;

void fuzz_port_plug(struct fakecam *fc)
{
	port_cam = fc;
}

struct serial_port *serial_port_open(const char *path, int baudrate, char *err, size_t errlen)
{
	struct serial_port *p;
	int sv[2];

	if (port_cam == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOENT));
		errno = ENOENT;
		return NULL;
	}
	p = malloc(sizeof *p);
	if (p == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		int e = p == NULL ? ENOMEM : errno;

		free(p);
		snprintf(err, errlen, "%s", strerror(e));
		errno = e;
		return NULL;
	}
	fakecam_attach(port_cam, sv[1]);
	p->fd = sv[0];
	return p;
}

int serial_port_fd(const struct serial_port *p)
{
	return p->fd;
}

void serial_port_close(struct serial_port *p)
{
	close(p->fd);
	if (port_cam != NULL)
		fakecam_attach(port_cam, -1);
	free(p);
}
