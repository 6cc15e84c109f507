/*
 * Image files for omvctl: the type a file name asks for, and the file's
 * bytes for an RGB888 frame: PPM (P6), PNG and JPEG (encoded by
 * image_encode.c, shared with omv-web).
 */
#ifndef OMV_IMAGE_WRITE_H
#define OMV_IMAGE_WRITE_H

#include <stddef.h>

enum image_type { IMAGE_UNKNOWN, IMAGE_PPM, IMAGE_PNG, IMAGE_JPEG };

/* From the file name's extension (.ppm, .png, .jpg, .jpeg; any case). */
enum image_type image_type_of(const char *path);
/* From a format name: "ppm", "png", "jpeg" or "jpg". */
enum image_type image_type_named(const char *name);

/* JPEG quality of frames encoded here. */
#define IMAGE_JPEG_QUALITY 90

/* The file's bytes for rgb (w*h*3) in *out (release with free()), *len
 * set; 0, or -1 with errno set. */
int image_file_encode(enum image_type type, const unsigned char *rgb, int w, int h,
		      unsigned char **out, size_t *len);

#endif
