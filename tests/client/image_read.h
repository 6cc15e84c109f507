/*
 * Reading back what omvctl snapshot and omv-web write, for the client and
 * web tests: PPM (P6), PNG (libpng), JPEG (turbojpeg); and camsim's
 * frame-number barcode.
 */
#ifndef IMAGE_READ_H
#define IMAGE_READ_H

#include <stddef.h>
#include <stdint.h>

/* Each returns malloc'd RGB888 (w*h*3) or NULL when the file is invalid. */
unsigned char *ppm_read(const char *path, int *w, int *h);
unsigned char *png_read(const char *path, int *w, int *h);
unsigned char *jpeg_read(const char *path, int *w, int *h);
/* The same from bytes in memory. */
unsigned char *png_decode(const unsigned char *data, size_t len, int *w, int *h);
unsigned char *jpeg_decode(const unsigned char *data, size_t len, int *w, int *h);
/* The whole file; NULL on error. */
unsigned char *file_read(const char *path, size_t *len);

/* camsim's barcode: rows 0..15, bit i (MSB first) white across columns
 * [i*w/32, (i+1)*w/32), read on row 8. */
uint32_t barcode_read(const unsigned char *rgb, int w, int h);
/* Draw it (for testing the reader). */
void barcode_draw(unsigned char *rgb, int w, int h, uint32_t number);

#endif
