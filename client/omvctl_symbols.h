/*
 * Function names for firmware addresses (profile --firmware ELF), from the
 * ELF file's symbol table through elfutils' libdwfl.
 */
#ifndef OMVCTL_SYMBOLS_H
#define OMVCTL_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbols;

/* NULL with a message in err when path is not a readable ELF file. */
struct symbols *symbols_open(const char *path, char *err, size_t errlen);
void symbols_close(struct symbols *s);
/* "function" or "function+0x1c" into buf; false when no function holds
 * addr. */
bool symbols_name(struct symbols *s, uint64_t addr, char *buf, size_t size);

#endif
