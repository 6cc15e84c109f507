/* Leveled logging to stderr, journal-aware. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static const char *log_ident = "omvd";
static int log_max = LOG_LVL_INFO;
static int log_journal;

/* JOURNAL_STREAM is "dev:ino" of the journal stream given as stderr. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(2, &st) < 0)
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_init(const char *ident, int max_level)
{
	if (ident != NULL)
		log_ident = ident;
	log_max = max_level;
	log_journal = stderr_is_journal();
}

bool log_enabled(int level)
{
	return level <= log_max;
}

bool log_limit_allow(struct log_limit *l, uint64_t now_ms)
{
	if (l->window_start == 0 || now_ms - l->window_start >= l->window_ms) {
		l->window_start = now_ms;
		l->used = 0;
	}
	if (l->used < l->burst) {
		l->used++;
		return true;
	}
	l->suppressed++;
	return false;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
	static const char *names[] = { "", "", "", "error", "warning",
				       "notice", "info", "debug" };
	char line[1024];

	if (level > log_max)
		return;
	vsnprintf(line, sizeof line, fmt, ap);

	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", level, line);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s %s: %s\n", stamp, ts.tv_nsec / 1000000,
			log_ident, names[level], line);
	}
}
