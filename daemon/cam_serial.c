/*
 * The cam's serial (cam_serial.h, camera_serial()). A USB serial number
 * names the cam the way udev does (/dev/openmv/by-serial/...); the device
 * id from SYS_INFO serves cams on a UART or a pty.
 */
#include "cam_serial.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cam_int.h"

/* The first line of a small sysfs file; false when there is none. */
static bool read_attr(const char *dir, const char *name, char *out, size_t size)
{
	char path[PATH_MAX];
	FILE *f;
	bool ok;

	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
	    !(f = fopen(path, "re")))
		return false;
	ok = fgets(out, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		out[strcspn(out, "\r\n")] = '\0';
	return ok && out[0];
}

bool usb_serial_of_port(const char *sysfs_root, const char *port, char *out, size_t size)
{
	char tty[PATH_MAX], link[PATH_MAX], dev[PATH_MAX], probe[PATH_MAX];
	size_t root_len = strlen(sysfs_root);

	if (!realpath(port, tty))
		return false;
	if (snprintf(link, sizeof link, "%s/class/tty/%s/device", sysfs_root, basename(tty)) >=
	    (int)sizeof link || !realpath(link, dev))
		return false;
	/* Up from the tty's device (an interface, or a usb-serial port under
	 * one) to the USB device: the first directory with idVendor. */
	while (strlen(dev) > root_len) {
		struct stat st;

		if (snprintf(probe, sizeof probe, "%s/idVendor", dev) < (int)sizeof probe &&
		    stat(probe, &st) == 0)
			return read_attr(dev, "serial", out, size);
		*strrchr(dev, '/') = '\0';
	}
	return false;
}

void cam_serial_learn(struct camera *c)
{
	if (usb_serial_of_port("/sys", c->port, c->serial, sizeof c->serial))
		return;
	if (c->have_sysinfo)
		snprintf(c->serial, sizeof c->serial, "%08X%08X%08X", c->sysinfo.dev_id[0],
			 c->sysinfo.dev_id[1], c->sysinfo.dev_id[2]);
}

const char *camera_serial(const struct camera *c)
{
	return c->serial[0] ? c->serial : NULL;
}
