/*
 * camsim: scripts. Output on stdout, stdin/system events, the soft reboot
 * after a script ends, registered channels, STOP, EXEC while a script runs
 * (it ends, the new one is thrown away), tracebacks, a full stdout ring
 * that loses what was unread (as on a cam), and one that blocks instead
 * (--stdout-block).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simhost.h"

/* Run a script that ends by itself; after its soft reboot, resync and
 * return everything it printed. */
static char *run_to_end(struct sh *h, const char *script)
{
	sh_clear_events(h);
	sh_exec(h, script);
	CHECKF(sh_wait_event(h, OMV_CHAN_SYSTEM, OMV_EV_SOFT_REBOOT, 3000), "no soft reboot");
	CHECK(sh_has_event(h, OMV_CHAN_STDIN, OMV_EV_STDIN_STARTED));
	CHECK(sh_has_event(h, OMV_CHAN_STDIN, OMV_EV_STDIN_STOPPED));
	sh_handshake(h, 4082);
	return sh_read_stdout_until(h, "MPY: soft reboot\n", 3000);
}

static void check_text(char *got, const char *want)
{
	CHECKF(!strcmp(got, want), "stdout:\n'%s'\nwanted:\n'%s'", got, want);
	free(got);
}

static void check_register(struct sh *h)
{
	struct omv_channel_info ch[OMV_CHANNELS_MAX];
	uint8_t req[OMV_READ_REQ_SIZE], buf[64];
	int ticks = -1, echo = -1;
	size_t n;
	char first[11];

	sh_clear_events(h);
	sh_exec(h, "import protocol, time\n"
		   "class Ticks:\n"
		   "    def read(self, offset, size):\n"
		   "        print('never at top level')\n"
		   "        return b''\n"
		   "\n"
		   "ch = protocol.register(name=\"ticks\", backend=Ticks())\n"
		   "ch2 = protocol.register(name='echo', backend=Buffer())\n"
		   "while True:\n"
		   "    time.sleep_ms(20)\n");
	CHECK(sh_wait_event(h, OMV_CHAN_SYSTEM, OMV_EV_CHANNEL_REGISTERED, 2000));
	CHECK(sh_has_event(h, OMV_CHAN_STDIN, OMV_EV_STDIN_STARTED));
	/* both registrations happen in the same step */
	sh_ok(h, OMV_OP_CHANNEL_LIST, 0, NULL, 0);
	CHECK(omv_channel_list_decode(ch, OMV_CHANNELS_MAX, &n, h->data, h->len) == 0);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(ch[i].name, "ticks")) {
			ticks = ch[i].id;
			CHECK(ch[i].flags == (OMV_CH_READ | OMV_CH_DYNAMIC));
		}
		if (!strcmp(ch[i].name, "echo")) {
			echo = ch[i].id;
			CHECK(ch[i].flags == (OMV_CH_READ | OMV_CH_WRITE | OMV_CH_DYNAMIC));
		}
	}
	CHECKF(ticks >= 5 && echo >= 5 && ticks != echo, "ticks %d echo %d", ticks, echo);
	CHECK(sh_stat(h, "script_running") == 1);

	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, (uint8_t)ticks) == 10);
	omv_read_req_encode(0, 10, req);
	sh_ok(h, OMV_OP_CHANNEL_READ, (uint8_t)ticks, req, sizeof req);
	CHECK(h->len == 10 && strspn((char *)h->data, "0123456789") == 10);
	memcpy(first, h->data, 11);
	sh_run(h, 20, NULL);
	sh_ok(h, OMV_OP_CHANNEL_READ, (uint8_t)ticks, req, sizeof req);
	CHECK(strcmp((char *)h->data, first) > 0);
	CHECK(sh_u32(h, OMV_OP_CHANNEL_POLL, 0) & 1u << ticks);

	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, (uint8_t)echo) == 0);
	n = omv_write_req_encode(0, "abc", 3, buf, sizeof buf);
	sh_ok(h, OMV_OP_CHANNEL_WRITE, (uint8_t)echo, buf, n);
	n = omv_write_req_encode(3, "123", 3, buf, sizeof buf);
	sh_ok(h, OMV_OP_CHANNEL_WRITE, (uint8_t)echo, buf, n);
	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, (uint8_t)echo) == 6);
	omv_read_req_encode(0, 6, req);
	sh_ok(h, OMV_OP_CHANNEL_READ, (uint8_t)echo, req, sizeof req);
	CHECK(h->len == 6 && !memcmp(h->data, "abc123", 6));
	omv_read_req_encode(2, 5, req);
	sh_nak(h, OMV_OP_CHANNEL_READ, (uint8_t)echo, req, sizeof req, OMV_ST_INVALID);

	/* STOP: soft reboot, and the channels vanish without UNREGISTERED */
	sh_clear_events(h);
	sh_ioctl(h, OMV_CHAN_STDIN, OMV_IOCTL_STDIN_STOP, NULL, 0, OMV_ST_SUCCESS);
	CHECK(sh_wait_event(h, OMV_CHAN_SYSTEM, OMV_EV_SOFT_REBOOT, 2000));
	CHECK(sh_has_event(h, OMV_CHAN_STDIN, OMV_EV_STDIN_STOPPED));
	CHECK(!sh_has_event(h, OMV_CHAN_SYSTEM, OMV_EV_CHANNEL_UNREGISTERED));
	/* the cam is back at sequence 0 with default caps */
	CHECK(sh_stat(h, "seq") == 0);
	sh_handshake(h, 4082);
	sh_ok(h, OMV_OP_CHANNEL_LIST, 0, NULL, 0);
	CHECK(omv_channel_list_decode(ch, OMV_CHANNELS_MAX, &n, h->data, h->len) == 0);
	CHECK(n == 4);	/* usb, stdin, stdout, stream */
	CHECK(sh_stat(h, "script_running") == 0);
	free(sh_read_stdout_until(h, "MPY: soft reboot\n", 2000));
}

static size_t count_events(const struct sh *h, uint8_t chan, uint16_t code)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nevents; i++)
		n += h->events[i].chan == chan && h->events[i].code == code;
	return n;
}

/* A loop that prints faster than the host reads: nothing may be lost. */
static void check_blocking(struct sh *h)
{
	char *text;
	size_t lines = 0;

	sh_exec(h, "while True:\n    print('tick')\n");
	sh_clear_events(h);
	sh_run(h, 100, NULL);	/* let it fill the ring and block */
	CHECK(sh_stat(h, "stdout_waiting") == 64);
	/* NOTIFY past half full, then again every 50 ms while data waits */
	CHECK(sh_has_event(h, OMV_CHAN_STDOUT, OMV_EV_NOTIFY));
	sh_clear_events(h);
	sh_run(h, 130, NULL);
	CHECKF(count_events(h, OMV_CHAN_STDOUT, OMV_EV_NOTIFY) >= 2, "%zu NOTIFYs in 130 ms",
	       count_events(h, OMV_CHAN_STDOUT, OMV_EV_NOTIFY));
	text = sh_read_stdout_until(h, "tick\ntick\ntick\ntick\ntick\ntick\ntick\ntick\ntick\n"
				    "tick\ntick\ntick\ntick\ntick\ntick\ntick\ntick\ntick\n", 3000);
	/* all whole lines, each exactly "tick" */
	for (char *p = text; strlen(p) >= 5; p += 5, lines++)
		CHECKF(!strncmp(p, "tick\n", 5), "lost output at line %zu", lines);
	CHECK(lines >= 18);
	free(text);
	sh_clear_events(h);
	sh_ioctl(h, OMV_CHAN_STDIN, OMV_IOCTL_STDIN_STOP, NULL, 0, OMV_ST_SUCCESS);
	CHECK(sh_wait_event(h, OMV_CHAN_SYSTEM, OMV_EV_SOFT_REBOOT, 2000));
	sh_handshake(h, 4082);
	free(sh_read_stdout_until(h, "MPY: soft reboot\n", 2000));
}

static bool two_soft_reboots(struct sh *h)
{
	return count_events(h, OMV_CHAN_SYSTEM, OMV_EV_SOFT_REBOOT) >= 2;
}

/* EXEC while a script runs, as on the firmware: the running script ends
 * (soft reboot), and the one just uploaded is thrown away with the stdin
 * buffer. Only STOP, the reboot, then a new upload and EXEC run it. */
static void check_exec_while_running(struct sh *h)
{
	char *text;

	sh_clear_events(h);
	sh_exec(h, "while True:\n    time.sleep_ms(10)\n");
	CHECK(sh_wait_event(h, OMV_CHAN_STDIN, OMV_EV_STDIN_STARTED, 2000));
	sh_clear_events(h);
	sh_exec(h, "print(\"second\", 2, sep='-')\n");
	CHECK(sh_wait_event(h, OMV_CHAN_SYSTEM, OMV_EV_SOFT_REBOOT, 2000));
	/* nothing more happens: no second start, no second reboot */
	CHECK(!sh_run(h, 300, two_soft_reboots));
	CHECK(count_events(h, OMV_CHAN_STDIN, OMV_EV_STDIN_STARTED) == 0);
	CHECK(count_events(h, OMV_CHAN_STDIN, OMV_EV_STDIN_STOPPED) == 1);
	CHECK(sh_stat(h, "script_running") == 0);
	sh_handshake(h, 4082);
	CHECK(sh_u32(h, OMV_OP_CHANNEL_SIZE, OMV_CHAN_STDIN) == 0);
	text = sh_read_stdout_until(h, "MPY: soft reboot\n", 2000);
	check_text(text, "MPY: soft reboot\n");
	/* the way that works */
	check_text(run_to_end(h, "print(\"second\", 2, sep='-')\n"),
		   "second-2\nMPY: soft reboot\n");
}

/* The firmware's ring: output that does not fit empties it, and only the
 * tail of the text being written stays. */
static void check_overflow(void)
{
	struct sh h;
	const char *extra[] = { "--stdout-ring", "64", NULL };
	char long_line[200];

	sh_start(&h, extra);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);
	/* 31 + 31 bytes fit; the next 11 do not: 62 bytes lost */
	check_text(run_to_end(&h, "print('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')\n"
				  "print('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')\n"
				  "print('cccccccccc')\n"),
		   "cccccccccc\nMPY: soft reboot\n");
	CHECK(sh_stat(&h, "stdout_lost") == 62);
	/* a line longer than the ring: its last 64 bytes */
	memset(long_line, 'x', 100);
	snprintf(long_line + 100, sizeof long_line - 100, "END");
	char script[256];
	snprintf(script, sizeof script, "print('%s')\nwhile True:\n    time.sleep_ms(10)\n",
		 long_line);
	sh_exec(&h, script);
	char *text = sh_read_stdout_until(&h, "END\n", 2000);
	CHECKF(strlen(text) == 64 && !strncmp(text, long_line + 104 - 64, 60) &&
	       !strcmp(text + 60, "END\n"), "stdout: '%s'", text);
	free(text);
	CHECK(sh_stat(&h, "stdout_lost") == 62 + 104 - 64);
	sh_stop(&h);
}

int main(void)
{
	struct sh h;
	const char *extra[] = { "--stdout-ring", "64", "--stdout-block", NULL };

	sh_start(&h, extra);
	sh_open(&h, B921600);
	sh_handshake(&h, 4082);

	check_text(run_to_end(&h, "print('hello')\n"), "hello\nMPY: soft reboot\n");
	CHECK(sh_stat(&h, "soft_reboots") == 1);
	CHECK(sh_stat(&h, "script_running") == 0);

	check_text(run_to_end(&h, "import time\n"
				  "# a comment\n"
				  "print('a', \"b\")  # trailing\n"
				  "print(clock.fps(), \"FPS\")\n"
				  "time.sleep_ms(30)\n"
				  "print(f'x{1}y', end='')\n"
				  "time.sleep(0.02)\n"
				  "raise ValueError('boom')\n"
				  "print('never')\n"),
		   "a b\n29.97 FPS\nx1yTraceback (most recent call last):\n"
		   "  File \"<stdin>\", line 8, in <module>\nValueError: boom\n"
		   "MPY: soft reboot\n");
	check_text(run_to_end(&h, "print('x')\nwhile True:\nprint('y')\n"),
		   "Traceback (most recent call last):\n  File \"<stdin>\", line 3\n"
		   "IndentationError: expected an indented block\nMPY: soft reboot\n");
	check_text(run_to_end(&h, "print('x')\n    print('y')\n"),
		   "Traceback (most recent call last):\n  File \"<stdin>\", line 2\n"
		   "IndentationError: unexpected indent\nMPY: soft reboot\n");

	check_text(run_to_end(&h, "import time\n"
				  "def f():\n"
				  "    print('in f')\n"
				  "try:\n"
				  "    print('try')\n"
				  "except Exception as e:\n"
				  "    print('except')\n"
				  "finally:\n"
				  "    print('finally')\n"
				  "for i in range(3):\n"
				  "    print(i)\n"
				  "if x:\n"
				  "  print('if')\n"
				  "else:\n"
				  "  print('else')\n"
				  "print('end')\n"),
		   "try\nfinally\nend\nMPY: soft reboot\n");
	check_text(run_to_end(&h, "if True:\n    print('a')\n  print('b')\n"),
		   "Traceback (most recent call last):\n  File \"<stdin>\", line 3\n"
		   "IndentationError: unindent doesn't match any outer indent level\n"
		   "MPY: soft reboot\n");
	CHECK(sh_stat(&h, "soft_reboots") == 6);

	check_register(&h);
	check_blocking(&h);
	check_exec_while_running(&h);
	sh_stop(&h);
	check_overflow();
	puts("ok");
	return 0;
}
