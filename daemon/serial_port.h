/*
 * Opening a cam's serial port: real devices (/dev/ttyACM*, /dev/ttyUSB*)
 * through libserialport after resolving symlinks, anything libserialport
 * refuses (pseudo-terminals such as camsim's) with open() + termios.
 * The port ends up raw 8N1 at the requested rate, DTR asserted, taken
 * exclusively (flock and TIOCEXCL) and non-blocking; reads and writes are the
 * caller's business on serial_port_fd().
 */
#ifndef OMVD_SERIAL_PORT_H
#define OMVD_SERIAL_PORT_H

#include <stddef.h>

struct serial_port;

/*
 * NULL on failure with errno set and a one-line reason in err
 * ("No such file or directory", ...), without the path.
 */
struct serial_port *serial_port_open(const char *path, int baudrate, char *err, size_t errlen);
/*
 * -1 with a reason in err when another process holds the port (its lock
 * or TIOCEXCL); 0 otherwise, also when the port is absent for now.
 */
int serial_port_check_free(const char *path, char *err, size_t errlen);
int serial_port_fd(const struct serial_port *p);
/* True when the port went through the open()+termios fallback. */
int serial_port_is_fallback(const struct serial_port *p);
void serial_port_close(struct serial_port *p);

#endif
