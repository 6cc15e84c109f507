/*
 * Writing a frame to an image file for omvctl: PPM (P6), PNG (libpng) and
 * JPEG (turbojpeg).
 */
#ifndef OMV_IMAGE_WRITE_H
#define OMV_IMAGE_WRITE_H

#include <stddef.h>

enum image_type { IMAGE_UNKNOWN, IMAGE_PPM, IMAGE_PNG, IMAGE_JPEG };

/* From the file name's extension (.ppm, .png, .jpg, .jpeg; any case). */
enum image_type image_type_of(const char *path);

/* rgb is w*h*3 bytes. All return 0, or -1 with errno set. */
int image_write_ppm(const char *path, const unsigned char *rgb, int w, int h);
int image_write_png(const char *path, const unsigned char *rgb, int w, int h);
int image_write_jpeg(const char *path, const unsigned char *rgb, int w, int h,
		     int quality);
/* Bytes as they are (a JPEG the cam already encoded). */
int image_write_bytes(const char *path, const void *data, size_t len);

#endif
