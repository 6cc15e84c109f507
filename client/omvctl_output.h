/*
 * Where omvctl writes frames: standard output, a file replaced only once
 * it is complete, a file written as frames come, or numbered files from a
 * name pattern (frame-%06d.jpg).
 */
#ifndef OMVCTL_OUTPUT_H
#define OMVCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct output {
	FILE *f;
	const char *path;	/* as given; "-" is standard output */
	char *tmp;		/* written under this name, renamed at commit */
};

/* Open path for writing ("-": standard output). atomic: a regular file is
 * written under a temporary name beside it and only replaced by
 * output_close(o, true), so a failure leaves an old file alone. 0, or -1
 * with errno set (an unwritable place fails here, before any frame). */
int output_open(struct output *o, const char *path, bool atomic);
/* Write and flush (a reader gets each frame at once); 0, or -1 with errno. */
int output_write(struct output *o, const void *data, size_t len);
/* Close; commit puts an atomic file in place, otherwise it is removed.
 * 0, or -1 with errno (of the first failure). */
int output_close(struct output *o, bool commit);
/* Whether o writes to standard output. */
bool output_is_stdout(const struct output *o);

/* A file name with one frame-number conversion: %d, %Nd or %0Nd (%% for
 * a percent sign). */
struct name_pattern {
	char text[1024];	/* the name with the conversion cut out, %% as % */
	size_t at;		/* where the number goes in text */
	int width;
	bool zero;
};
/* 1 when name is a valid pattern (filled in), 0 when it has no
 * conversion, -1 when it has a bad or second one. */
int pattern_parse(const char *name, struct name_pattern *p);
/* The name for frame n; false when it does not fit in size. */
bool pattern_name(const struct name_pattern *p, unsigned long n, char *buf, size_t size);

#endif
