/*
 * camsim's test-pattern frames (frames.c): the same frame number always
 * gives the same bytes, so a host can check a frame it got against the
 * one camsim made (omvd-bench does).
 */
#ifndef CAMSIM_FRAMES_H
#define CAMSIM_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frame_gen;
struct frame_gen *frames_new(void);
void frames_free(struct frame_gen *g);
/* A whole frame (32-byte header + pixels) in a malloc'd buffer. */
uint8_t *frames_render(struct frame_gen *g, uint32_t number, unsigned w, unsigned h,
		       bool raw, float fps, size_t *len, uint32_t *pixfmt);
/* Make a JPEG frame's stream header and JPEG header both claim w x h
 * (a hostile cam); false if it is no JPEG frame. */
bool frames_claim_size(uint8_t *frame, size_t len, unsigned w, unsigned h);
#define SIM_HOSTILE_DIM 8192u
/* The frame number in rows 0..15 of an RGB888 picture (row 8 sampled). */
uint32_t frames_barcode(const uint8_t *rgb, unsigned w);

#endif
