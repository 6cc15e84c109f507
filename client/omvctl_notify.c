/*
 * Waiting in omvctl: run the client's loop until a command's goal, a
 * deadline or Ctrl-C; subscribing; and the streaming wish of commands
 * that need frames.
 */
#include "omvctl.h"

#include <string.h>
#include <time.h>

uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

enum run_result ctl_run_until(struct ctl *ctl, const bool *done, uint64_t deadline)
{
	while (!*done) {
		int wait = 500;

		if (ctl_interrupted)
			return RUN_INTERRUPTED;
		if (deadline) {
			uint64_t now = ctl_now_ms();

			if (now >= deadline)
				return RUN_TIMEOUT;
			if (deadline - now < (uint64_t)wait)
				wait = (int)(deadline - now);
		}
		if (omv_client_wait(ctl->c, wait) < 0)
			return RUN_ERROR;
	}
	return RUN_DONE;
}

int ctl_run_status(const struct ctl *ctl, enum run_result res)
{
	switch (res) {
	case RUN_DONE:
		return EXIT_OK;
	case RUN_INTERRUPTED:
		return EXIT_INTERRUPTED;
	case RUN_TIMEOUT:
		return ctl_error("timed out");
	default:
		return ctl_fail(ctl);
	}
}

int ctl_subscribe(struct ctl *ctl, const char *const *topics, const char *frame_format)
{
	int rc = ctl_connect(ctl);

	if (rc)
		return rc;
	/* Frames with data come in shared memory where the connection allows:
	 * no base64 to decode, no copy. */
	if (frame_format != NULL && strcmp(frame_format, "none") != 0)
		rc = omv_client_subscribe_shm(ctl->c, topics, frame_format);
	else
		rc = omv_client_subscribe(ctl->c, topics, frame_format);
	return rc < 0 ? ctl_fail(ctl) : EXIT_OK;
}

int ctl_streaming_on(struct ctl *ctl, bool *enabled)
{
	json_t *st;
	bool on;

	*enabled = false;
	if (omv_client_call(ctl->c, "status", NULL, &st) < 0)
		return ctl_fail(ctl);
	on = json_is_true(json_object_get(json_object_get(st, "shared"), "streaming"));
	json_decref(st);
	if (on)
		return EXIT_OK;
	if (omv_client_streaming(ctl->c, true, false, 0, 0) < 0)
		return ctl_fail(ctl);
	*enabled = true;
	return EXIT_OK;
}

int ctl_streaming_restore(struct ctl *ctl, bool enabled, int rc)
{
	if (!enabled || omv_client_fd(ctl->c) < 0)
		return rc;
	if (omv_client_streaming(ctl->c, false, false, 0, 0) < 0 && rc == EXIT_OK)
		return ctl_fail(ctl);
	return rc;
}
