/*
 * Shared pieces of omvctl: the run context every command gets, option
 * parsing, connecting, reporting errors, printing JSON, and waiting for
 * notifications.
 */
#ifndef OMVCTL_H
#define OMVCTL_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "omvclient.h"

struct ctl {
	omv_client *c;
	const char *cmd;	/* the command's name, for messages */
	const char *where;	/* --host or --socket; NULL: find the socket */
	bool json;		/* --json: machine-readable output */
	int timeout_ms;		/* --timeout: for each reply */

	/* ctl_getopt()'s merged option tables for the argv being parsed. */
	char **opt_argv;
	char opt_short[64];
	struct option opt_long[32];
};

/* Exit statuses (omvctl(1), EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* the cam or omvd said no, or output failed */
	EXIT_USAGE = 2,
	EXIT_CONNECT = 3,	/* cannot reach omvd */
	EXIT_INTERRUPTED = 130,	/* Ctrl-C (SIGINT) or SIGTERM */
};

/* Set by SIGINT/SIGTERM; waiting loops end when it is set. */
extern volatile sig_atomic_t ctl_interrupted;

/* The value of the global --timeout option. Commands' long-only options
 * use values from OPT_COMMAND up; 's', 'H' and 'j' are global too. */
enum { OPT_TIMEOUT = 0x100, OPT_COMMAND = 0x200 };

/*
 * Like getopt_long() over a command's arguments (argv[0] is the command
 * or subcommand), the global options (--socket, --host, --json,
 * --timeout) being accepted among them. Returns the command's next option
 * (its val), -1 at the end (optind is then the first operand), or '?'
 * once the usage error is printed (return EXIT_USAGE).
 */
int ctl_getopt(struct ctl *ctl, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);
/* For commands without options: parse the global ones, then no operands. */
int ctl_no_operands(struct ctl *ctl, int argc, char **argv);

/* Connect to omvd unless connected: EXIT_OK, or EXIT_CONNECT (reported
 * with a hint). Commands call it after checking their arguments. */
int ctl_connect(struct ctl *ctl);
/* omv_client_call() with params stolen (NULL for none). */
int ctl_call(struct ctl *ctl, const char *method, json_t *params, json_t **result);
/* "omvctl: <the client's last error>"; EXIT_FAIL, or EXIT_CONNECT when
 * omvd could not be reached. */
int ctl_fail(const struct ctl *ctl);
/* "omvctl: <printf message>"; returns EXIT_FAIL. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "omvctl CMD: <message>" and where to find help; returns EXIT_USAGE. */
int ctl_usage_error(const struct ctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print a JSON value on one line (steals v), on standard output or f. */
void ctl_print_json(json_t *v);
void ctl_fprint_json(FILE *f, json_t *v);
/* The whole of a file ("-": standard input), NUL-terminated; NULL with
 * errno set. */
unsigned char *ctl_slurp(const char *path, size_t *len);
/* Parse a non-negative number of seconds into ms; -1 when invalid. */
int ctl_parse_seconds(const char *s);
/* Parse a positive count; -1 when invalid. */
long ctl_parse_count(const char *s);

/* ---- waiting for notifications (omvctl_notify.c) ---------------------- */

uint64_t ctl_now_ms(void);

enum run_result { RUN_DONE, RUN_INTERRUPTED, RUN_TIMEOUT, RUN_ERROR };

/* Dispatch notifications until *done, Ctrl-C, or deadline (0: none). */
enum run_result ctl_run_until(struct ctl *ctl, const bool *done, uint64_t deadline);
/* Connect and subscribe to topics (NULL-terminated). */
int ctl_subscribe(struct ctl *ctl, const char *const *topics, const char *frame_format);
/* Turn streaming on when it is off; *enabled tells whether we did. */
int ctl_streaming_on(struct ctl *ctl, bool *enabled);
/* Put streaming back as it was; keeps rc unless rc is EXIT_OK. */
int ctl_streaming_restore(struct ctl *ctl, bool enabled, int rc);
/* The exit status for how a wait ended other than RUN_DONE. */
int ctl_run_status(const struct ctl *ctl, enum run_result res);

/* ---- the commands: argv[0] is the command name ------------------------ */

int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_list(struct ctl *ctl, int argc, char **argv);
int cmd_info(struct ctl *ctl, int argc, char **argv);
int cmd_stats(struct ctl *ctl, int argc, char **argv);
int cmd_call(struct ctl *ctl, int argc, char **argv);
int cmd_stop(struct ctl *ctl, int argc, char **argv);
int cmd_reset(struct ctl *ctl, int argc, char **argv);
int cmd_boot(struct ctl *ctl, int argc, char **argv);
int cmd_wait(struct ctl *ctl, int argc, char **argv);
int cmd_profile(struct ctl *ctl, int argc, char **argv);
int cmd_channels(struct ctl *ctl, int argc, char **argv);
int cmd_channel(struct ctl *ctl, int argc, char **argv);
int cmd_exec(struct ctl *ctl, int argc, char **argv);
int cmd_stdout(struct ctl *ctl, int argc, char **argv);
int cmd_events(struct ctl *ctl, int argc, char **argv);
int cmd_stream(struct ctl *ctl, int argc, char **argv);
int cmd_snapshot(struct ctl *ctl, int argc, char **argv);
int cmd_bridge(struct ctl *ctl, int argc, char **argv);

#endif
