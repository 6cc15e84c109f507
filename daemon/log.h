/*
 * One line per thing worth knowing, to stderr. When stderr is the journal
 * (JOURNAL_STREAM names it) lines carry <N> priority prefixes instead of a
 * timestamp.
 */
#ifndef OMVD_LOG_H
#define OMVD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* Lines above max_level are not written (default LOG_LVL_INFO). */
void log_init(const char *ident, int max_level);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Whether lines of this level are written at all. */
bool log_enabled(int level);

/*
 * A rate limit for a kind of line that outsiders can cause at will (client
 * connections): at most burst lines per window; the rest are counted, for
 * a summary line once the window is over.
 */
struct log_limit {
	unsigned burst;
	uint64_t window_ms;
	uint64_t window_start;
	unsigned used;		/* lines written in this window */
	unsigned long suppressed;	/* lines counted instead, to summarise */
};
/* True when a line may be written now; else it is counted as suppressed. */
bool log_limit_allow(struct log_limit *l, uint64_t now_ms);

#define log_err(...)    log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
