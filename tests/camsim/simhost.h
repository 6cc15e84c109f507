/*
 * Test support for the camsim tests: start omv-camsim on a temporary
 * --link and --control, open its pty like a host does, and drive it with
 * the protocol's host state machine through a poll() loop with deadlines.
 * Every wait has a deadline; nothing sleeps to synchronise.
 */
#ifndef CAMSIM_SIMHOST_H
#define CAMSIM_SIMHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#include <jansson.h>

#include "protocol/host.h"

#define CHECK(cond) \
	((cond) ? (void)0 : sh_fail(__FILE__, __LINE__, "%s", #cond))
#define CHECKF(cond, ...) \
	((cond) ? (void)0 : sh_fail(__FILE__, __LINE__, __VA_ARGS__))
void sh_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define SH_MAX_EVENTS 1024

struct sh_event {
	uint8_t chan, opcode;
	uint16_t code;
};

struct sh {
	pid_t pid;
	int out_fd;			/* camsim's stdout */
	char dir[64], link[96], ctl[96];
	char pty[128];			/* the path camsim printed last */
	int fd;				/* the pty, -1 when closed */
	struct omv_host host;
	bool host_up;

	/* last command */
	bool done;
	int code;
	uint16_t status;
	uint8_t *data;
	size_t len;

	struct sh_event events[SH_MAX_EVENTS];
	size_t nevents;

	unsigned withhold_acks;		/* drop this many outgoing ACKs */
	unsigned acks_withheld;
	unsigned rtx_seen;		/* incoming packets with the RTX flag */
	bool eof;			/* read() said the pty went away */
	struct omv_decoder spy;		/* watches incoming packets */
	uint8_t *spy_buf;
	struct omv_decoder raw;		/* sh_recv_raw's */
	uint8_t *raw_buf, *raw_in;	/* its buffer, bytes read not yet fed */
	size_t raw_have, raw_used;
};

uint64_t sh_now_ms(void);

/* Start camsim with extra args (NULL-terminated), wait for its pty line. */
void sh_start(struct sh *h, const char *const *extra);
/* SIGTERM it, check a clean exit and that the link is gone. */
void sh_stop(struct sh *h);

/* Open the link as a host does (raw, O_NOCTTY) at this speed. */
void sh_open(struct sh *h, speed_t speed);
void sh_set_speed(struct sh *h, speed_t speed);
void sh_close(struct sh *h);

/* Run the loop for up to ms, or until cond(h) holds; returns cond's value. */
bool sh_run(struct sh *h, unsigned ms, bool (*cond)(struct sh *h));

/* Send a command and wait for its end; returns the result code. */
int sh_cmd(struct sh *h, uint8_t op, uint8_t chan, const void *payload, size_t len,
	   unsigned timeout_ms);
/* The same, failing the test unless it succeeds. */
void sh_ok(struct sh *h, uint8_t op, uint8_t chan, const void *payload, size_t len);
/* Expect a NAK with this status. */
void sh_nak(struct sh *h, uint8_t op, uint8_t chan, const void *payload, size_t len,
	    uint16_t status);
int sh_sync(struct sh *h, unsigned timeout_ms);
/* SYNC + GET_CAPS + SET_CAPS (all caps, max_payload). */
void sh_handshake(struct sh *h, uint16_t max_payload);
void sh_ioctl(struct sh *h, uint8_t chan, uint32_t req, const void *arg, size_t arg_len,
	      uint16_t want_status);
uint32_t sh_u32(struct sh *h, uint8_t op, uint8_t chan);	/* SIZE, POLL */

/* Wait for an event (chan, code); true when seen. Seen events are kept. */
bool sh_wait_event(struct sh *h, uint8_t chan, uint16_t code, unsigned timeout_ms);
bool sh_has_event(const struct sh *h, uint8_t chan, uint16_t code);
void sh_clear_events(struct sh *h);

/* One control-socket command; the parsed reply (caller decrefs). */
json_t *sh_control(struct sh *h, const char *cmd);
long long sh_stat(struct sh *h, const char *key);

/* A script through stdin: RESET, WRITE (chunked), EXEC. */
void sh_exec(struct sh *h, const char *script);
/* Drain stdout until it contains want (or timeout); returns all text read. */
char *sh_read_stdout_until(struct sh *h, const char *want, unsigned timeout_ms);

/*
 * Raw packets, past the host state machine (which is then out of step:
 * sh_handshake before using it again). damage: 0 none, 1 flip a payload
 * bit (a sound header, a bad payload CRC), 2 flip a header bit.
 */
void sh_send_raw(struct sh *h, uint8_t seq, uint8_t chan, uint8_t flags, uint8_t op,
		 const void *payload, uint16_t len, int damage);
/* The next non-event packet from the cam within timeout_ms; its payload
 * is valid until the next call. False on timeout. */
bool sh_recv_raw(struct sh *h, struct omv_packet *pkt, unsigned timeout_ms);

/* Next line camsim printed on stdout (the pty path after a replug). */
bool sh_read_line(struct sh *h, char *buf, size_t cap, unsigned timeout_ms);

#endif
