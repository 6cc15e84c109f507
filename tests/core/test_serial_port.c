/* Port opening: a pty behind a symlink takes the termios fallback and ends
 * up raw, 921600, non-blocking and exclusive; a missing port says why. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "daemon/serial_port.h"
#include "testutil.h"

int main(void)
{
	char link[512], err[200];
	struct serial_port *p;
	struct termios tio;
	int master, fd, excl = 0;

	snprintf(link, sizeof link, "%s/port", tu_tmpdir());
	p = serial_port_open(link, 921600, err, sizeof err);
	CHECK(p == NULL);
	CHECK(strstr(err, "No such file") != NULL);

	master = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
	CHECK(symlink(ptsname(master), link) == 0);
	p = serial_port_open(link, 921600, err, sizeof err);
	CHECK(p != NULL);
	CHECK(serial_port_is_fallback(p));
	fd = serial_port_fd(p);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(tcgetattr(fd, &tio) == 0);
	CHECK(cfgetospeed(&tio) == B921600);
	CHECK(!(tio.c_lflag & (ICANON | ECHO | ISIG)));
	CHECK(!(tio.c_oflag & OPOST));
	CHECK((tio.c_cflag & CSIZE) == CS8);
	CHECK(!(tio.c_cflag & (PARENB | CSTOPB | CRTSCTS)));
	CHECK(ioctl(fd, TIOCGEXCL, &excl) == 0 && excl == 1);
	/* bytes pass untouched both ways */
	CHECK(write(master, "\x0d\x0a\x03\xff", 4) == 4);
	{
		struct pollfd pfd = { fd, POLLIN, 0 };
		unsigned char b[8];

		CHECK(poll(&pfd, 1, 2000) == 1);
		CHECK(read(fd, b, sizeof b) == 4);
		CHECK(memcmp(b, "\x0d\x0a\x03\xff", 4) == 0);
	}
	serial_port_close(p);

	p = serial_port_open(link, 12345, err, sizeof err);
	CHECK(p == NULL);	/* no such rate on a tty */
	close(master);
	tu_cleanup();
	return 0;
}
