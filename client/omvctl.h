/*
 * Shared pieces of omvctl: the run context every command gets, and the
 * helpers for reporting errors and printing JSON.
 */
#ifndef OMVCTL_H
#define OMVCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "omvclient.h"

struct ctl {
	omv_client *c;
	const char *socket;
	bool json;		/* --json: machine-readable output */
	int timeout_ms;		/* --timeout */
};

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Set by SIGINT/SIGTERM; follow loops end when it is set. */
extern volatile sig_atomic_t ctl_interrupted;

/* Connect to omvd unless connected; EXIT_OK or EXIT_FAIL (reported).
 * Commands call it after checking their arguments. */
int ctl_connect(struct ctl *ctl);
/* "omvctl: <message of the client's last error>"; returns EXIT_FAIL. */
int ctl_fail(const struct ctl *ctl);
/* "omvctl: <printf message>"; returns EXIT_FAIL. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "omvctl CMD: <message>" plus a hint to --help; returns EXIT_USAGE. */
int ctl_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print a JSON value on one line (steals v). */
void ctl_print_json(json_t *v);
/* The whole of a file ("-": standard input), NUL-terminated; NULL with
 * errno set. */
unsigned char *ctl_slurp(const char *path, size_t *len);
/* Parse a non-negative number of seconds into ms; -1 when invalid. */
int ctl_parse_seconds(const char *s);

/* The commands: argv[0] is the command name. */
int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_info(struct ctl *ctl, int argc, char **argv);
int cmd_stop(struct ctl *ctl, int argc, char **argv);
int cmd_stats(struct ctl *ctl, int argc, char **argv);
int cmd_profile(struct ctl *ctl, int argc, char **argv);
int cmd_reset(struct ctl *ctl, int argc, char **argv);
int cmd_boot(struct ctl *ctl, int argc, char **argv);
int cmd_call(struct ctl *ctl, int argc, char **argv);
int cmd_channels(struct ctl *ctl, int argc, char **argv);
int cmd_channel(struct ctl *ctl, int argc, char **argv);
int cmd_exec(struct ctl *ctl, int argc, char **argv);
int cmd_stdout(struct ctl *ctl, int argc, char **argv);
int cmd_events(struct ctl *ctl, int argc, char **argv);
int cmd_stream(struct ctl *ctl, int argc, char **argv);
int cmd_snapshot(struct ctl *ctl, int argc, char **argv);
int cmd_wait(struct ctl *ctl, int argc, char **argv);

#endif
