/*
 * The camera's link against the fake cam on a pty: handshake and cached
 * values, NAK answers, resync and retry, giving up after max_retry,
 * packet loss, link loss and reconnection, no port at start, reset.
 * Run with a test name as argument, or none for all.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "camtest.h"
#include "daemon/frame.h"
#include "daemon/log.h"
#include "daemon/stdout_log.h"

static void test_handshake(void)
{
	struct t t;
	const struct cam_channel *list;
	const struct cam_channel *ch;
	int i, seen = 0;
	const enum link_state want[] = { LINK_OPENING, LINK_SYNCING, LINK_NEGOTIATING, LINK_READY };

	setup(&t, 1024);
	CHECK_EQ(camera_caps(t.cam)->max_payload, 1024);	/* min(4096, cam's) */
	CHECK(camera_caps(t.cam)->crc && camera_caps(t.cam)->events);
	CHECK(camera_version(t.cam) != NULL);
	CHECK_EQ(camera_version(t.cam)->firmware[0], 4);
	CHECK_EQ(camera_version(t.cam)->firmware[1], 6);
	CHECK(camera_sysinfo(t.cam) != NULL);
	CHECK_EQ(camera_sysinfo(t.cam)->usb_pid, 0x1206);
	CHECK_EQ(camera_sysinfo(t.cam)->cpu_id, 0xC27);
	CHECK_EQ(camera_channels(t.cam, &list), 4);
	ch = camera_channel_by_name(t.cam, "buf");
	CHECK(ch != NULL && ch->id == FAKECAM_BUF_CHAN);
	CHECK(camera_channel_by_id(t.cam, OMV_CHAN_STREAM) != NULL);
	CHECK(camera_channel_by_name(t.cam, "nope") == NULL);
	/* closed -> opening -> syncing -> negotiating -> ready, in order */
	for (i = 0; i < t.nstates && seen < 4; i++)
		if (t.states[i] == want[seen])
			seen++;
	CHECK_EQ(seen, 4);
	CHECK_EQ(t.states[t.nstates - 1], LINK_READY);
	CHECK_EQ(t.fc->syncs, 1);
	/* the reference order after SYNC/caps (answered inside the cam) */
	CHECK_EQ(t.fc->log[0].opcode, OMV_OP_CHANNEL_LIST);
	CHECK_EQ(t.fc->log[1].opcode, OMV_OP_PROTO_VERSION);
	CHECK_EQ(t.fc->log[2].opcode, OMV_OP_SYS_INFO);
	CHECK(strcmp(link_state_name(LINK_NEGOTIATING), "negotiating") == 0);
	teardown(&t);

	/* a cam with a bigger buffer is clipped to what we want */
	setup(&t, 8178);
	CHECK_EQ(camera_caps(t.cam)->max_payload, 4096);
	teardown(&t);
}

static void test_resync_retry(void)
{
	struct t t;
	struct call c[3];
	struct cam_owner *o;
	struct camera_counters k;
	uint64_t start;

	setup(&t, 1024);
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	/* one answer lost: timeout, resync, retry succeeds */
	t.fc->swallow = 1;
	start = tu_now_ms();
	camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c[0]);
	wait_call(&t, &c[0]);
	CHECK_EQ(c[0].err, CAM_OK);
	CHECK(tu_now_ms() - start >= TIMEOUT_MS);
	CHECK_EQ(t.fc->syncs, 2);
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_POLL, 0), 2);
	camera_counters(t.cam, &k);
	CHECK_EQ(k.resyncs, 1);
	CHECK_EQ(k.retries, 1);
	CHECK(k.timeouts >= 1 || k.resyncs == 1);
	CHECK_EQ(camera_state(t.cam), LINK_READY);

	/* lost twice: the caller hears TIMEOUT, the link stays up */
	t.fc->swallow = 2;
	t.fc->swallow_op = OMV_OP_CHANNEL_POLL;
	camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c[1]);
	wait_call(&t, &c[1]);
	CHECK_EQ(c[1].err, CAM_E_TIMEOUT);
	CHECK(tu_run_until(t.base, is_ready, &t, WAIT_MS));
	camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c[2]);
	wait_call(&t, &c[2]);
	CHECK_EQ(c[2].err, CAM_OK);
	camera_counters(t.cam, &k);
	CHECK_EQ(k.resyncs, 3);
	camera_owner_free(o);
	teardown(&t);
}

/* NAKs that are answers, not protocol errors */
static void test_nak_status(void)
{
	struct t t;
	struct call c[2];
	struct cam_owner *o;
	struct camera_counters k;

	setup(&t, 1024);
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	camera_command(o, OMV_OP_CHANNEL_SIZE, 9, NULL, 0, done_cb, &c[0]);
	camera_command(o, OMV_OP_CHANNEL_LOCK, OMV_CHAN_STREAM, NULL, 0, done_cb, &c[1]);
	wait_call(&t, &c[1]);
	CHECK_EQ(c[0].err, CAM_E_STATUS);
	CHECK_EQ(c[0].status, OMV_ST_INVALID);
	CHECK_EQ(c[1].err, CAM_E_BUSY);	/* no frame */
	camera_counters(t.cam, &k);
	CHECK_EQ(k.resyncs, 0);
	camera_owner_free(o);
	teardown(&t);
}

static void test_reconnect(void)
{
	struct t t;
	struct call c[3];
	struct cam_owner *o;
	struct camera_counters k;
	int closed_at;

	setup(&t, 1024);
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	t.fc->swallow = 1;
	camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c[0]);
	tu_run_for(t.base, 20);
	fakecam_free(t.fc);	/* unplugged with a command on the wire */
	t.fc = NULL;
	CHECK(tu_run_until(t.base, is_closed, &t, WAIT_MS));
	closed_at = t.nstates - 1;
	CHECK(strstr(t.reasons[closed_at], "port") != NULL);
	wait_call(&t, &c[0]);
	CHECK_EQ(c[0].err, CAM_E_NOT_CONNECTED);
	CHECK(camera_caps(t.cam) == NULL);
	camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c[1]);
	wait_call(&t, &c[1]);
	CHECK_EQ(c[1].err, CAM_E_NOT_CONNECTED);
	/* plugged back: the same path comes back, the link too */
	t.fc = fakecam_new(t.base, t.link, 1024);
	CHECK(tu_run_until(t.base, is_ready, &t, WAIT_MS));
	camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c[2]);
	wait_call(&t, &c[2]);
	CHECK_EQ(c[2].err, CAM_OK);
	camera_counters(t.cam, &k);
	CHECK_EQ(k.reconnects, 1);

	/* SIGHUP: close and open again */
	closed_at = t.nstates;
	camera_reopen(t.cam);
	CHECK_EQ(camera_state(t.cam), LINK_CLOSED);
	CHECK(strcmp(t.reasons[closed_at], "reopen requested") == 0);
	CHECK(tu_run_until(t.base, is_ready, &t, WAIT_MS));
	camera_counters(t.cam, &k);
	CHECK_EQ(k.reconnects, 2);
	camera_owner_free(o);
	teardown(&t);
}

static void test_no_port_then_port(void)
{
	struct t t;
	struct call c;
	struct cam_owner *o;
	int closed = 0;

	setup_opts(&t, 1024, false, 3);
	CHECK(tu_run_until(t.base, is_closed, &t, WAIT_MS));
	tu_run_for(t.base, 500);	/* several reopen attempts */
	for (int i = 0; i < t.nstates; i++)
		if (t.states[i] == LINK_CLOSED)
			closed++;
	CHECK_EQ(closed, 1);	/* told once, not per attempt */
	CHECK(strstr(t.reasons[t.nstates - 1], "No such file") != NULL);
	CHECK(strstr(t.reasons[t.nstates - 1], t.link) != NULL);
	o = camera_owner_new(t.cam);
	memset(&c, 0, sizeof c);
	camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c);
	wait_call(&t, &c);
	CHECK_EQ(c.err, CAM_E_NOT_CONNECTED);
	/* By now the reopen backoff is at 1.6 s; the directory watch must
	 * notice the port long before that. */
	tu_run_for(t.base, 1200);
	t.fc = fakecam_new(t.base, t.link, 1024);
	CHECK(tu_run_until(t.base, is_ready, &t, 800));
	camera_owner_free(o);
	teardown(&t);
}

static void test_reset(void)
{
	struct t t;
	struct call c;
	struct cam_owner *o;

	setup(&t, 1024);
	o = camera_owner_new(t.cam);
	memset(&c, 0, sizeof c);
	camera_reset(o, done_cb, &c);
	wait_call(&t, &c);
	CHECK_EQ(c.err, CAM_OK);
	CHECK(strstr(t.reasons[t.nstates - 1], "reset") != NULL ||
	      camera_state(t.cam) != LINK_READY);
	/* the port is still there: the link comes back by itself */
	CHECK(tu_run_until(t.base, is_ready, &t, WAIT_MS));
	camera_owner_free(o);
	teardown(&t);
}

static void test_resync_gives_up(void)
{
	struct t t;
	struct call c;
	struct cam_owner *o;
	struct camera_counters k;

	setup_opts(&t, 1024, true, 1);
	CHECK(tu_run_until(t.base, is_ready, &t, WAIT_MS));
	o = camera_owner_new(t.cam);
	memset(&c, 0, sizeof c);
	t.fc->mute = true;	/* the cam hangs */
	camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c);
	CHECK(tu_run_until(t.base, is_closed, &t, WAIT_MS));
	CHECK(strstr(t.reasons[t.nstates - 1], "no answer after 1 resyncs") != NULL);
	wait_call(&t, &c);
	CHECK_EQ(c.err, CAM_E_TIMEOUT);	/* the cam went silent while it waited */
	/* the port is still there: reopened, handshake again once it talks */
	t.fc->mute = false;
	CHECK(tu_run_until(t.base, is_ready, &t, WAIT_MS));
	camera_counters(t.cam, &k);
	CHECK_EQ(k.reconnects, 1);
	CHECK(k.timeouts >= 3);	/* the command, then SYNC twice */
	camera_owner_free(o);
	teardown(&t);
}

static void test_drop_rate(void)
{
	struct t t;
	struct camera_options o;
	static struct call c[40];
	struct cam_owner *ow;
	struct camera_counters k;
	uint8_t data[200];
	int ok = 0;

	memset(&t, 0, sizeof t);
	t.base = event_base_new();
	snprintf(t.link, sizeof t.link, "%s/cam", tu_tmpdir());
	t.fc = fakecam_new(t.base, t.link, 256);
	camera_options_default(&o);
	o.port = t.link;
	o.timeout_ms = 100;
	o.drop_rate = 0.1;
	o.seed = 42;
	t.cam = camera_new(t.base, &o, &ct_listener, &t);
	CHECK(tu_run_until(t.base, is_ready, &t, 10000));
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i ^ 0x5A);
	ow = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	memcpy(t.fc->buf_chan, data, sizeof data);
	t.fc->buf_len = sizeof data;
	for (int i = 0; i < 40; i++) {
		/* wait for the link between requests: a lost SYNC answer may
		 * cost it, and requests then fail NOT_CONNECTED by design */
		CHECK(tu_run_until(t.base, is_ready, &t, 10000));
		camera_channel_read(ow, FAKECAM_BUF_CHAN, 0, sizeof data, done_cb, &c[i]);
		CHECK(tu_run_until(t.base, call_done, &c[i], 10000));
		/* never a wrong answer: right bytes, or an error */
		if (c[i].err == CAM_OK) {
			CHECK_EQ(c[i].len, sizeof data);
			CHECK(memcmp(c[i].data, data, sizeof data) == 0);
			ok++;
		} else {
			CHECK(c[i].err == CAM_E_TIMEOUT || c[i].err == CAM_E_NOT_CONNECTED ||
			      c[i].err == CAM_E_PROTOCOL);
		}
	}
	camera_counters(t.cam, &k);
	CHECK(k.recovered + k.resyncs > 0);	/* the drops did bite */
	CHECK(ok >= 30);	/* and recovery worked most of the time */
	camera_owner_free(ow);
	teardown(&t);
}

static const struct camtest_case tests[] = {
	{ "handshake", test_handshake },
	{ "resync_retry", test_resync_retry },
	{ "nak_status", test_nak_status },
	{ "reconnect", test_reconnect },
	{ "no_port", test_no_port_then_port },
	{ "reset", test_reset },
	{ "gives_up", test_resync_gives_up },
	{ "drop_rate", test_drop_rate },
};

int main(int argc, char **argv)
{
	return camtest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
