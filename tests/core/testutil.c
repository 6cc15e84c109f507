/* Helpers of the core tests (see testutil.h). */
#include "testutil.h"

#include <dirent.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[PATH_MAX];

uint64_t tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof tmpdir, "%s/omvd-core-XXXXXX", base ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL)
			abort();
	}
	return tmpdir;
}

void tu_cleanup(void)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX + 300];

	if (tmpdir[0] == '\0')
		return;
	d = opendir(tmpdir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

bool tu_run_until(struct event_base *base, bool (*cond)(void *), void *arg,
		  unsigned timeout_ms)
{
	bool expired = false;
	struct event *timer = evtimer_new(base, on_expire, &expired);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	bool ok;

	evtimer_add(timer, &tv);
	while (!(ok = cond(arg)) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(timer);
	return ok;
}

static bool never(void *arg)
{
	return false;
}

void tu_run_for(struct event_base *base, unsigned ms)
{
	tu_run_until(base, never, NULL, ms);
}
