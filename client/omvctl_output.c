/*
 * Output files of omvctl snapshot and stream (omvctl_output.h).
 */
#include "omvctl_output.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool output_is_stdout(const struct output *o)
{
	return strcmp(o->path, "-") == 0;
}

/* A temporary file in path's directory: ".NAME.XXXXXX". */
static FILE *open_temporary(struct output *o)
{
	char *copy1 = strdup(o->path), *copy2 = strdup(o->path);
	FILE *f = NULL;
	int fd = -1, e = ENOMEM;

	if (copy1 && copy2 &&
	    asprintf(&o->tmp, "%s/.%s.XXXXXX", dirname(copy1), basename(copy2)) >= 0) {
		fd = mkostemp(o->tmp, O_CLOEXEC);
		e = errno;
		/* The mode a new file would get: mkostemp makes it 0600. */
		if (fd >= 0) {
			mode_t mask = umask(0);

			umask(mask);
			fchmod(fd, 0666 & ~mask);
			f = fdopen(fd, "wb");
			e = errno;
		}
	} else {
		o->tmp = NULL;
	}
	if (!f) {
		if (fd >= 0) {
			close(fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		o->tmp = NULL;
	}
	free(copy1);
	free(copy2);
	errno = e;
	return f;
}

int output_open(struct output *o, const char *path, bool atomic)
{
	struct stat st;

	o->path = path;
	o->tmp = NULL;
	if (output_is_stdout(o)) {
		o->f = stdout;
		return 0;
	}
	/* A device or a pipe (or a path not there yet without atomic) is
	 * written in place. */
	if (atomic && (stat(path, &st) < 0 ? errno == ENOENT : S_ISREG(st.st_mode)))
		o->f = open_temporary(o);
	else
		o->f = fopen(path, "wbe");
	return o->f ? 0 : -1;
}

int output_write(struct output *o, const void *data, size_t len)
{
	if (fwrite(data, 1, len, o->f) != len || fflush(o->f) != 0)
		return -1;
	return 0;
}

int output_close(struct output *o, bool commit)
{
	int rc = 0, e = 0;

	if (output_is_stdout(o)) {
		if (fflush(stdout) != 0)
			return -1;
		return 0;
	}
	if (ferror(o->f) || fclose(o->f) != 0) {
		rc = -1;
		e = errno ? errno : EIO;
	}
	o->f = NULL;
	if (o->tmp) {
		if (commit && rc == 0 && rename(o->tmp, o->path) < 0) {
			rc = -1;
			e = errno;
		}
		if (!commit || rc < 0)
			unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
	errno = e;
	return rc;
}

/* ---- name patterns -------------------------------------------------------- */

int pattern_parse(const char *name, struct name_pattern *p)
{
	size_t n = 0;
	int found = 0;

	memset(p, 0, sizeof *p);
	for (const char *s = name; *s; s++) {
		if (n + 1 >= sizeof p->text)
			return -1;
		if (*s != '%') {
			p->text[n++] = *s;
			continue;
		}
		if (s[1] == '%') {
			p->text[n++] = '%';
			s++;
			continue;
		}
		if (found++)
			return -1;
		s++;
		if (*s == '0') {
			p->zero = true;
			s++;
		}
		while (*s >= '0' && *s <= '9' && p->width < 100)
			p->width = p->width * 10 + (*s++ - '0');
		if (*s != 'd' || p->width >= 100)
			return -1;
		p->at = n;
	}
	p->text[n] = '\0';
	return found;
}

bool pattern_name(const struct name_pattern *p, unsigned long n, char *buf, size_t size)
{
	char num[128];
	int len;

	if (p->zero)
		snprintf(num, sizeof num, "%0*lu", p->width, n);
	else
		snprintf(num, sizeof num, "%*lu", p->width, n);
	len = snprintf(buf, size, "%.*s%s%s", (int)p->at, p->text, num, p->text + p->at);
	return len >= 0 && (size_t)len < size;
}
