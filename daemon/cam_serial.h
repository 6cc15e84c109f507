/*
 * Which cam this is: its USB serial number when the port is a USB device
 * (read from sysfs), else the device id the cam reports (SYS_INFO).
 */
#ifndef OMVD_CAM_SERIAL_H
#define OMVD_CAM_SERIAL_H

#include <stdbool.h>
#include <stddef.h>

struct camera;

/* The serial number of the USB device behind the tty at port (a path,
 * symlinks resolved), read under sysfs_root ("/sys"); false when the port
 * is not on USB (a pty, a built-in UART) or the device has none. */
bool usb_serial_of_port(const char *sysfs_root, const char *port, char *out, size_t size);

/* Learn the serial once the handshake has read SYS_INFO (cam_prog). */
void cam_serial_learn(struct camera *c);

#endif
