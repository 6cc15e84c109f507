/*
 * Firmware symbols through libdwfl (omvctl_symbols.h). elfutils reads an
 * ELF file of any architecture in-process, so an ARM firmware resolves on
 * an x86 host without a cross toolchain's addr2line; and it knows the
 * Thumb bit of ARM function addresses.
 */
#include "omvctl_symbols.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <elfutils/libdwfl.h>

struct symbols {
	Dwfl *dwfl;
};

static const Dwfl_Callbacks callbacks = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

struct symbols *symbols_open(const char *path, char *err, size_t errlen)
{
	struct symbols *s = calloc(1, sizeof *s);

	if (!s || !(s->dwfl = dwfl_begin(&callbacks))) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	/* Offline: the file's own addresses, as the firmware was linked. */
	if (!dwfl_report_offline(s->dwfl, "firmware", path, -1) ||
	    dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
		snprintf(err, errlen, "%s: %s", path, dwfl_errmsg(-1));
		symbols_close(s);
		return NULL;
	}
	return s;
}

void symbols_close(struct symbols *s)
{
	if (!s)
		return;
	dwfl_end(s->dwfl);
	free(s);
}

bool symbols_name(struct symbols *s, uint64_t addr, char *buf, size_t size)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	GElf_Off offset = 0;
	GElf_Sym sym;
	const char *name;

	if (!mod)
		return false;
	name = dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL);
	if (!name)
		return false;
	if (offset)
		snprintf(buf, size, "%s+0x%" PRIx64, name, (uint64_t)offset);
	else
		snprintf(buf, size, "%s", name);
	return true;
}
