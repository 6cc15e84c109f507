/* The cam's USB serial number from sysfs: a fake sysfs tree with a CDC-ACM
 * tty (serial on the USB device above the interface), a usb-serial tty
 * (two levels up), a USB device without a serial, a built-in UART and a
 * port with no sysfs entry; the port reached through a udev-style
 * symlink. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/cam_serial.h"
#include "testutil.h"

static const char *at(const char *rel)
{
	static char buf[4][512];
	static int n;
	char *p = buf[n++ % 4];

	snprintf(p, sizeof buf[0], "%s/%s", tu_tmpdir(), rel);
	return p;
}

/* mkdir -p */
static void dirs(const char *rel)
{
	char path[512], *s;

	snprintf(path, sizeof path, "%s", at(rel));
	for (s = path + strlen(tu_tmpdir()) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	mkdir(path, 0755);
}

static void file(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");

	CHECK(f != NULL);
	fputs(text, f);
	CHECK(fclose(f) == 0);
}

static void link_to(const char *target, const char *rel)
{
	CHECK(symlink(target, at(rel)) == 0);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static bool serial_of(const char *port_rel, char *out, size_t size)
{
	char root[512];

	snprintf(root, sizeof root, "%s/sys", tu_tmpdir());
	return usb_serial_of_port(root, at(port_rel), out, size);
}

int main(void)
{
	char serial[64];

	dirs("dev");
	dirs("sys/class/tty/ttyACM0");
	dirs("sys/class/tty/ttyUSB0");
	dirs("sys/class/tty/ttyACM1");
	dirs("sys/class/tty/ttyS0");
	/* CDC-ACM: the tty's device is the interface; the USB device is its parent. */
	dirs("sys/devices/pci0/usb1/1-1/1-1:1.0");
	file("sys/devices/pci0/usb1/1-1/idVendor", "37c5\n");
	file("sys/devices/pci0/usb1/1-1/serial", "3A0012345678\n");
	link_to("../../../devices/pci0/usb1/1-1/1-1:1.0", "sys/class/tty/ttyACM0/device");
	/* usb-serial: the tty's device is a port under the interface. */
	dirs("sys/devices/pci0/usb1/1-2/1-2:1.0/ttyUSB0");
	file("sys/devices/pci0/usb1/1-2/idVendor", "0403\n");
	file("sys/devices/pci0/usb1/1-2/serial", "FT12AB\n");
	link_to("../../../devices/pci0/usb1/1-2/1-2:1.0/ttyUSB0", "sys/class/tty/ttyUSB0/device");
	/* A USB device without a serial number. */
	dirs("sys/devices/pci0/usb1/1-3/1-3:1.0");
	file("sys/devices/pci0/usb1/1-3/idVendor", "37c5\n");
	link_to("../../../devices/pci0/usb1/1-3/1-3:1.0", "sys/class/tty/ttyACM1/device");
	/* A built-in UART: no USB device above it. */
	dirs("sys/devices/platform/serial8250");
	link_to("../../../devices/platform/serial8250", "sys/class/tty/ttyS0/device");
	for (const char *const *t = (const char *const[]){ "ttyACM0", "ttyUSB0", "ttyACM1",
							    "ttyS0", "pts7", NULL }; *t; t++) {
		char rel[64];

		snprintf(rel, sizeof rel, "dev/%s", *t);
		file(rel, "");
	}
	link_to("ttyACM0", "dev/openmv0");

	CHECK(serial_of("dev/openmv0", serial, sizeof serial));
	CHECK(strcmp(serial, "3A0012345678") == 0);
	CHECK(serial_of("dev/ttyUSB0", serial, sizeof serial));
	CHECK(strcmp(serial, "FT12AB") == 0);
	CHECK(!serial_of("dev/ttyACM1", serial, sizeof serial));
	CHECK(!serial_of("dev/ttyS0", serial, sizeof serial));
	CHECK(!serial_of("dev/pts7", serial, sizeof serial));
	CHECK(!serial_of("dev/missing", serial, sizeof serial));
	/* The tree is deeper than tu_cleanup() goes. */
	CHECK(nftw(tu_tmpdir(), remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
	return 0;
}
