/*
 * Serial port opening: libserialport for devices it knows (it looks ports
 * up in sysfs, so it needs the real path and refuses ptys), a small
 * open() + termios fallback for the rest. Either way the caller gets a
 * non-blocking, exclusive, raw fd.
 */
#include "serial_port.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

struct serial_port {
	struct sp_port *sp;	/* NULL for the termios fallback */
	int fd;
};

static void set_err(char *err, size_t errlen, const char *what, int errnum)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s", what ? what : "", what ? ": " : "",
			 strerror(errnum));
}

static speed_t baud_to_speed(int baud)
{
	switch (baud) {
	case 9600: return B9600;
	case 19200: return B19200;
	case 38400: return B38400;
	case 57600: return B57600;
	case 115200: return B115200;
	case 230400: return B230400;
	case 460800: return B460800;
	case 921600: return B921600;
	case 1000000: return B1000000;
	case 2000000: return B2000000;
	case 3000000: return B3000000;
	case 4000000: return B4000000;
	default: return B0;
	}
}

/*
 * TIOCEXCL does not stop root: a second daemon started as root would open
 * the port too and both would fight over the stream. An flock() on the
 * tty stops anyone who asks for it, root included, before the port is
 * configured.
 */
static int lock_fd(int fd, char *err, size_t errlen)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return 0;	/* a file system without locks: TIOCEXCL it is */
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "in use by another process (locked)");
	errno = EBUSY;
	return -1;
}

/* Exclusive and non-blocking, whichever way the fd was obtained. */
static int finish_fd(int fd, char *err, size_t errlen)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int e = errno;
		set_err(err, errlen, "fcntl", e);
		errno = e;
		return -1;
	}
	if (ioctl(fd, TIOCEXCL) < 0) {
		int e = errno;
		set_err(err, errlen, "TIOCEXCL", e);
		errno = e;
		return -1;
	}
	return 0;
}

static struct serial_port *open_termios(const char *path, int baud, char *err, size_t errlen)
{
	speed_t speed = baud_to_speed(baud);
	struct termios tio;
	struct serial_port *p;
	int dtr = TIOCM_DTR;
	int fd;

	if (speed == B0) {
		set_err(err, errlen, "unsupported baud rate", EINVAL);
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		set_err(err, errlen, NULL, e);
		errno = e;
		return NULL;
	}
	if (lock_fd(fd, err, errlen) < 0) {
		close(fd);
		errno = EBUSY;
		return NULL;
	}
	if (tcgetattr(fd, &tio) < 0) {
		int e = errno;
		set_err(err, errlen, "tcgetattr", e);
		close(fd);
		errno = e;
		return NULL;
	}
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cflag &= ~(CSTOPB | PARENB | CRTSCTS);
	tio.c_iflag &= ~(IXON | IXOFF | IXANY);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	cfsetispeed(&tio, speed);
	cfsetospeed(&tio, speed);
	if (tcsetattr(fd, TCSANOW, &tio) < 0) {
		int e = errno;
		set_err(err, errlen, "tcsetattr", e);
		close(fd);
		errno = e;
		return NULL;
	}
	/* Ptys have no modem lines: failing to raise DTR there is harmless. */
	(void)ioctl(fd, TIOCMBIS, &dtr);
	if (finish_fd(fd, err, errlen) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL) {
		close(fd);
		set_err(err, errlen, NULL, ENOMEM);
		errno = ENOMEM;
		return NULL;
	}
	p->fd = fd;
	return p;
}

/* Returns NULL quietly when libserialport does not know or cannot set up
 * the port, so that the caller falls back; sets *hard when it failed after
 * the fd was in hand (the fallback would fail the same way). */
static struct serial_port *open_libserialport(const char *real, int baud, int *hard,
					      char *err, size_t errlen)
{
	struct sp_port *sp = NULL;
	struct serial_port *p;
	int fd = -1;

	*hard = 0;
	if (sp_get_port_by_name(real, &sp) != SP_OK)
		return NULL;
	if (sp_open(sp, SP_MODE_READ_WRITE) != SP_OK)
		goto fail;
	if (sp_get_port_handle(sp, &fd) != SP_OK)
		goto fail_open;
	if (lock_fd(fd, err, errlen) < 0) {
		sp_close(sp);
		sp_free_port(sp);
		*hard = 1;
		errno = EBUSY;
		return NULL;
	}
	if (sp_set_baudrate(sp, baud) != SP_OK || sp_set_bits(sp, 8) != SP_OK ||
	    sp_set_parity(sp, SP_PARITY_NONE) != SP_OK || sp_set_stopbits(sp, 1) != SP_OK ||
	    sp_set_flowcontrol(sp, SP_FLOWCONTROL_NONE) != SP_OK)
		goto fail_open;
	/* The cam leaves protocol mode when DTR drops; some UART bridges have
	 * no DTR line, so a failure here is not fatal. */
	(void)sp_set_dtr(sp, SP_DTR_ON);
	if (finish_fd(fd, err, errlen) < 0) {
		int e = errno;
		sp_close(sp);
		sp_free_port(sp);
		*hard = 1;
		errno = e;
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL) {
		sp_close(sp);
		sp_free_port(sp);
		*hard = 1;
		set_err(err, errlen, NULL, ENOMEM);
		errno = ENOMEM;
		return NULL;
	}
	p->sp = sp;
	p->fd = fd;
	return p;

fail_open:
	sp_close(sp);
fail:
	/* Whatever libserialport could not do, the fallback tries; its error
	 * is the one reported. */
	sp_free_port(sp);
	return NULL;
}

struct serial_port *serial_port_open(const char *path, int baudrate, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct serial_port *p;
	int hard;

	/* libserialport refuses symlinks such as udev's /dev/openmv0. */
	if (realpath(path, real) == NULL) {
		int e = errno;
		set_err(err, errlen, NULL, e);
		errno = e;
		return NULL;
	}
	errno = 0;
	p = open_libserialport(real, baudrate, &hard, err, errlen);
	if (p != NULL || hard)
		return p;
	return open_termios(real, baudrate, err, errlen);
}

int serial_port_check_free(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX];
	int fd, rc;

	if (realpath(path, real) == NULL)
		return 0;
	fd = open(real, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != EBUSY)
			return 0;	/* absent or not ours yet: the link retries */
		snprintf(err, errlen, "in use by another process (exclusive)");
		return -1;
	}
	rc = lock_fd(fd, err, errlen);
	close(fd);
	return rc;
}

int serial_port_fd(const struct serial_port *p)
{
	return p->fd;
}

int serial_port_is_fallback(const struct serial_port *p)
{
	return p->sp == NULL;
}

void serial_port_close(struct serial_port *p)
{
	if (p == NULL)
		return;
	if (p->sp != NULL) {
		sp_close(p->sp);
		sp_free_port(p->sp);
	} else {
		close(p->fd);
	}
	free(p);
}
