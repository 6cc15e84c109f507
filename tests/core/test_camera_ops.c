/*
 * What owners do through the camera, against the fake cam on a pty:
 * round-robin fairness, cancellation on owner free, bounded queues, lock
 * ownership, stdout drain, frame fetch, shared streaming state, channel
 * events and channel I/O. The script's life is test_camera_script.c's.
 * Run with a test name as argument, or none for all.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "camtest.h"
#include "daemon/cam_int.h"
#include "daemon/clock.h"
#include "daemon/frame.h"
#include "daemon/frame_codec.h"
#include "daemon/log.h"
#include "daemon/stdout_log.h"

static void test_round_robin(void)
{
	struct t t;
	struct call a[3], b[3];
	struct cam_owner *oa, *ob;

	setup(&t, 1024);
	oa = camera_owner_new(t.cam);
	ob = camera_owner_new(t.cam);
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	norder = 0;
	for (int i = 0; i < 3; i++) {
		a[i].tag = 10 + i;
		camera_command(oa, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &a[i]);
	}
	for (int i = 0; i < 3; i++) {
		b[i].tag = 20 + i;
		camera_command(ob, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &b[i]);
	}
	CHECK(!a[0].called);	/* never inside the call */
	wait_call(&t, &b[2]);
	CHECK_EQ(norder, 6);
	CHECK_EQ(order[0], 10);
	CHECK_EQ(order[1], 20);
	CHECK_EQ(order[2], 11);
	CHECK_EQ(order[3], 21);
	CHECK_EQ(order[4], 12);
	CHECK_EQ(order[5], 22);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(a[i].err, CAM_OK);
		CHECK_EQ(a[i].len, 4);
	}
	camera_owner_free(oa);
	camera_owner_free(ob);
	teardown(&t);
}

/* Frees the owner from inside the callback of its first request. */

static struct cam_owner *free_me;

static void done_and_free(void *arg, const struct cam_reply *r)
{
	done_cb(arg, r);
	camera_owner_free(free_me);
	free_me = NULL;
}

static bool fc_swallowed(void *arg)
{
	return ((struct fakecam *)arg)->swallow == 0;
}

static void test_owner_free(void)
{
	struct t t;
	struct call a[3], b[3], c1, d1;
	struct cam_owner *oa, *ob, *oc;
	struct camera_counters k;

	setup(&t, 1024);
	oa = camera_owner_new(t.cam);
	ob = camera_owner_new(t.cam);
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	norder = 0;
	free_me = oa;
	a[0].tag = 10;
	camera_command(oa, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_and_free, &a[0]);
	for (int i = 1; i < 3; i++) {
		a[i].tag = 10 + i;
		camera_command(oa, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &a[i]);
	}
	for (int i = 0; i < 3; i++) {
		b[i].tag = 20 + i;
		camera_command(ob, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &b[i]);
	}
	wait_call(&t, &b[2]);
	tu_run_for(t.base, 50);
	CHECK(a[0].called && !a[1].called && !a[2].called);
	CHECK_EQ(norder, 4);

	/* freed while its command is on the wire (and never answered): no
	 * callback, and the next owner is served after the resync */
	oc = camera_owner_new(t.cam);
	memset(&c1, 0, sizeof c1);
	memset(&d1, 0, sizeof d1);
	t.fc->swallow = 1;
	camera_command(oc, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c1);
	CHECK(tu_run_until(t.base, fc_swallowed, t.fc, WAIT_MS));	/* it reached the cam */
	camera_owner_free(oc);
	camera_command(ob, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &d1);
	wait_call(&t, &d1);
	CHECK_EQ(d1.err, CAM_OK);
	CHECK(!c1.called);
	camera_counters(t.cam, &k);
	CHECK_EQ(k.resyncs, 1);
	camera_owner_free(ob);
	teardown(&t);
}

static void test_queue_full(void)
{
	struct t t;
	static struct call c[300];
	struct cam_owner *o;
	int refused = 0, ok = 0;

	setup(&t, 1024);
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	norder = 0;
	for (int i = 0; i < 300; i++) {
		c[i].tag = i;
		camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c[i]);
	}
	CHECK(tu_run_until(t.base, call_done, &c[255], 10000));
	for (int i = 0; i < 300; i++) {
		CHECK(c[i].called);
		if (c[i].err == CAM_E_INVALID)
			refused++;
		else if (c[i].err == CAM_OK)
			ok++;
	}
	CHECK_EQ(ok, 256);
	CHECK_EQ(refused, 44);
	camera_owner_free(o);
	teardown(&t);
}

static bool fc_not_streaming(void *arg)
{
	return !((struct t *)arg)->fc->streaming;
}

static bool fc_streaming(void *arg)
{
	return ((struct t *)arg)->fc->streaming;
}

static bool fc_unlocked_buf(void *arg)
{
	return !((struct fakecam *)arg)->locks[FAKECAM_BUF_CHAN];
}

static void test_locks(void)
{
	struct t t;
	struct call c[6];
	struct cam_owner *oa, *ob;

	setup(&t, 1024);
	oa = camera_owner_new(t.cam);
	ob = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	camera_channel_lock(oa, FAKECAM_BUF_CHAN, done_cb, &c[0]);
	wait_call(&t, &c[0]);
	CHECK_EQ(c[0].err, CAM_OK);
	CHECK(t.fc->locks[FAKECAM_BUF_CHAN]);
	camera_channel_lock(ob, FAKECAM_BUF_CHAN, done_cb, &c[1]);
	camera_channel_unlock(ob, FAKECAM_BUF_CHAN, done_cb, &c[2]);
	wait_call(&t, &c[2]);
	CHECK_EQ(c[1].err, CAM_E_LOCKED);
	CHECK_EQ(c[2].err, CAM_E_LOCKED);
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_LOCK, FAKECAM_BUF_CHAN), 1);
	/* the owner leaves: the daemon gives its lock back */
	camera_owner_free(oa);
	CHECK(tu_run_until(t.base, fc_unlocked_buf, t.fc, WAIT_MS));
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_UNLOCK, FAKECAM_BUF_CHAN), 1);
	camera_channel_lock(ob, FAKECAM_BUF_CHAN, done_cb, &c[3]);
	wait_call(&t, &c[3]);
	CHECK_EQ(c[3].err, CAM_OK);
	CHECK(camera_owner_holds(ob, FAKECAM_BUF_CHAN));
	/* a resync releases every lock on the cam: the daemon takes its
	 * owners' locks again before anything else */
	camera_resync(ob, done_cb, &c[4]);
	wait_call(&t, &c[4]);
	CHECK_EQ(c[4].err, CAM_OK);
	CHECK(t.fc->locks[FAKECAM_BUF_CHAN]);
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_LOCK, FAKECAM_BUF_CHAN), 3);
	CHECK(camera_owner_holds(ob, FAKECAM_BUF_CHAN));
	CHECK_EQ(t.locks_lost, 0);
	oa = camera_owner_new(t.cam);
	camera_channel_lock(oa, FAKECAM_BUF_CHAN, done_cb, &c[5]);
	wait_call(&t, &c[5]);
	CHECK_EQ(c[5].err, CAM_E_LOCKED);
	camera_owner_free(oa);
	camera_owner_free(ob);
	teardown(&t);
}

static bool lock_lost(void *arg)
{
	return ((struct t *)arg)->locks_lost > 0;
}

/* A soft reboot takes the script's channels away: a lock of one of them
 * cannot be taken again, and its holder is told. */
static void test_lock_channel_gone(void)
{
	struct t t;
	struct call c[2];
	struct cam_owner *o;

	setup(&t, 1024);
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	t.fc->extra_channel = true;
	camera_update_channels(o, done_cb, &c[0]);
	wait_call(&t, &c[0]);
	CHECK(camera_channel_by_name(t.cam, "extra") != NULL);
	camera_channel_lock(o, 6, done_cb, &c[1]);
	wait_call(&t, &c[1]);
	CHECK_EQ(c[1].err, CAM_OK);
	t.fc->extra_channel = false;
	fakecam_soft_reboot(t.fc);
	CHECK(tu_run_until(t.base, lock_lost, &t, WAIT_MS));
	CHECK_EQ(t.lost_chan, 6);
	CHECK(!camera_owner_holds(o, 6));
	CHECK(camera_channel_by_name(t.cam, "extra") == NULL);
	camera_owner_free(o);
	teardown(&t);
}

static bool out_has_world(void *arg)
{
	return strstr(((struct t *)arg)->out, "world\n") != NULL;
}

static void test_stdout(void)
{
	struct t t;
	struct camera_counters k;
	uint64_t cursor = 0, missed;
	char buf[64];
	size_t n;

	setup(&t, 1024);
	fakecam_print(t.fc, "hello\n");
	fakecam_print(t.fc, "world\n");
	CHECK(tu_run_until(t.base, out_has_world, &t, WAIT_MS));
	CHECK(strcmp(t.out, "hello\nworld\n") == 0);
	n = stdout_log_read(camera_stdout(t.cam), &cursor, buf, sizeof buf, &missed);
	CHECK_EQ(n, 12);
	CHECK(memcmp(buf, "hello\nworld\n", 12) == 0);
	CHECK_EQ(missed, 0);
	camera_counters(t.cam, &k);
	CHECK_EQ(k.stdout_bytes, 12);
	CHECK_EQ(t.fc->stdout_len, 0);
	teardown(&t);
}

static bool frames_3(void *arg)
{
	return ((struct t *)arg)->nframes >= 3;
}

static bool frames_4(void *arg)
{
	return ((struct t *)arg)->nframes >= 4;
}

static void test_frames(void)
{
	struct t t;
	struct cam_owner *o;
	struct camera_counters k;
	uint8_t *fr;
	size_t len;
	struct frame *f;
	struct frame_codec *codec = frame_codec_new(0);
	const struct frame_image *rgb;
	int64_t t0 = clock_realtime_us(), t1;

	setup(&t, 1024);
	fr = fakecam_make_rgb565(4, 2, 100, &len);
	/* nobody wants frames: a NOTIFY fetches nothing */
	fakecam_new_frame(t.fc, fr, len);
	tu_run_for(t.base, 50);
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_LOCK, OMV_CHAN_STREAM), 0);
	CHECK(camera_latest_frame(t.cam) == NULL);

	o = camera_owner_new(t.cam);
	camera_want_frames(o, true);	/* a wish for frames turns streaming on */
	CHECK(tu_run_until(t.base, fc_streaming, &t, WAIT_MS));
	/* the next two frames come (with their NOTIFY) while the previous
	 * fetch is still finishing: none may be lost */
	t.fc->auto_frames = 2;
	fakecam_new_frame(t.fc, fr, len);
	CHECK(tu_run_until(t.base, frames_3, &t, WAIT_MS));
	tu_run_for(t.base, 50);
	CHECK_EQ(t.nframes, 3);
	CHECK_EQ(t.frames[0], 1);
	CHECK_EQ(t.frames[1], 2);
	CHECK_EQ(t.frames[2], 3);
	t1 = clock_realtime_us();
	f = camera_latest_frame(t.cam);
	CHECK(f != NULL && f->number == 3);
	CHECK_EQ(f->hdr.width, 4);
	CHECK_EQ(f->hdr.pixformat, OMV_PIXFMT_RGB565);
	CHECK_EQ(frame_raw_size(f), 4 * 2 * 2);
	/* stamped with the wall clock when it came, rate measured over 3 */
	CHECK(f->timestamp_us >= t0 && f->timestamp_us <= t1);
	CHECK(f->fps > 0);
	CHECK(camera_fps(t.cam) == f->fps);
	rgb = frame_image(f, FRAME_ENC_RGB888, codec);
	CHECK(rgb != NULL && rgb->data != NULL);
	CHECK_EQ(rgb->len, 4 * 2 * 3);
	frame_codec_free(codec);
	camera_counters(t.cam, &k);
	CHECK_EQ(k.frames_fetched, 3);
	CHECK(!t.fc->stream_locked);
	/* the frame cycle is LOCK, SIZE, READ(0, size), UNLOCK */
	{
		long on = fakecam_find(t.fc, 0, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STREAM,
				       OMV_IOCTL_STREAM_CTRL);
		long lk = on >= 0 ? fakecam_find(t.fc, (size_t)on, OMV_OP_CHANNEL_LOCK,
						OMV_CHAN_STREAM, 0) : -1;

		CHECK(lk >= 0);
		CHECK_EQ(t.fc->log[lk + 1].opcode, OMV_OP_CHANNEL_SIZE);
		CHECK_EQ(t.fc->log[lk + 2].opcode, OMV_OP_CHANNEL_READ);
		CHECK_EQ(t.fc->log[lk + 2].arg1, len);
		CHECK_EQ(t.fc->log[lk + 3].opcode, OMV_OP_CHANNEL_UNLOCK);
	}
	/* a frame whose NOTIFY was lost is found by the poll all the same */
	t.fc->frame = malloc(len);
	memcpy(t.fc->frame, fr, len);
	t.fc->frame_len = len;
	CHECK(tu_run_until(t.base, frames_4, &t, WAIT_MS));
	CHECK_EQ(t.frames[3], 4);

	/* garbage in the stream channel is not a frame */
	fr[0] = 0;
	fr[1] = 0;	/* width 0 */
	fakecam_new_frame(t.fc, fr, len);
	tu_run_for(t.base, 100);
	CHECK_EQ(t.nframes, 4);
	free(fr);
	camera_owner_free(o);
	teardown(&t);
}

static void test_streaming_shared(void)
{
	struct t t;
	struct call c[5];
	struct cam_owner *oa, *ob;
	struct camera_shared s;

	setup(&t, 1024);
	oa = camera_owner_new(t.cam);
	ob = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	camera_streaming(oa, true, false, 0, 0, done_cb, &c[0]);
	camera_streaming(ob, true, true, 64, 48, done_cb, &c[1]);
	wait_call(&t, &c[1]);
	CHECK_EQ(c[0].err, CAM_OK);
	CHECK_EQ(c[1].err, CAM_OK);
	CHECK(t.fc->streaming && t.fc->raw);
	CHECK_EQ(t.fc->raw_w, 64);
	CHECK_EQ(t.fc->raw_h, 48);
	CHECK_EQ(fakecam_find(t.fc, 0, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STREAM,
			      OMV_IOCTL_STREAM_CTRL) >= 0, 1);
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STREAM), 4);
	camera_shared_state(t.cam, &s);
	CHECK(s.streaming && s.raw && s.raw_width == 64);
	CHECK(t.state_changed >= 2);

	/* raw without a resolution is refused */
	camera_streaming(oa, true, true, 0, 0, done_cb, &c[2]);
	wait_call(&t, &c[2]);
	CHECK_EQ(c[2].err, CAM_E_INVALID);

	/* one owner withdraws: still on for the other */
	camera_streaming(oa, false, false, 0, 0, done_cb, &c[3]);
	wait_call(&t, &c[3]);
	CHECK(t.fc->streaming);

	/* a soft reboot makes the cam forget: the daemon says it again */
	fakecam_soft_reboot(t.fc);
	CHECK(tu_run_until(t.base, fc_streaming, &t, WAIT_MS));
	CHECK(t.fc->raw && t.fc->raw_w == 64);

	/* a soft reboot whose events were lost: the next command meets NAK
	 * SEQUENCE, and the resync says the streaming state again */
	t.fc->streaming = false;
	t.fc->raw = false;
	omv_cam_reinit(&t.fc->cam);
	memset(&c[4], 0, sizeof c[4]);
	camera_command(oa, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c[4]);
	wait_call(&t, &c[4]);
	CHECK_EQ(c[4].err, CAM_OK);	/* retried after the resync */
	CHECK(tu_run_until(t.base, fc_streaming, &t, WAIT_MS));
	CHECK(t.fc->raw);

	/* the last streaming owner leaves: streaming goes off */
	camera_owner_free(ob);
	if (!tu_run_until(t.base, fc_not_streaming, &t, WAIT_MS))
		for (size_t i = 0; i < t.fc->nlog; i++)
			fprintf(stderr, "%zu op %x chan %u arg %u %u\n", i, t.fc->log[i].opcode, t.fc->log[i].chan, t.fc->log[i].arg0, t.fc->log[i].arg1);
	CHECK(!t.fc->streaming);
	camera_shared_state(t.cam, &s);
	CHECK(!s.streaming);
	camera_owner_free(oa);
	teardown(&t);
}

static bool channels_changed(void *arg)
{
	return ((struct t *)arg)->channels_changed > 1;
}

static void test_channels_and_io(void)
{
	struct t t;
	struct call c[4];
	struct cam_owner *o;
	uint8_t data[300];

	setup(&t, 128);
	CHECK_EQ(t.channels_changed, 1);
	t.fc->extra_channel = true;
	fakecam_event(t.fc, OMV_CHAN_SYSTEM, OMV_EV_CHANNEL_REGISTERED);
	CHECK(tu_run_until(t.base, channels_changed, &t, WAIT_MS));
	CHECK(camera_channel_by_name(t.cam, "extra") != NULL);
	CHECK(t.events >= 1);

	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7);
	camera_channel_write(o, FAKECAM_BUF_CHAN, 0, data, sizeof data, done_cb, &c[0]);
	camera_channel_read(o, FAKECAM_BUF_CHAN, 0, UINT32_MAX, done_cb, &c[1]);
	camera_channel_read(o, FAKECAM_BUF_CHAN, 10, 5, done_cb, &c[2]);
	wait_call(&t, &c[2]);
	CHECK_EQ(c[0].err, CAM_OK);
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_WRITE, FAKECAM_BUF_CHAN), 3);
	CHECK_EQ(c[1].err, CAM_OK);
	CHECK_EQ(c[1].len, sizeof data);	/* a fragmented answer */
	CHECK(memcmp(c[1].data, data, sizeof data) == 0);
	CHECK_EQ(c[2].len, 5);
	CHECK(memcmp(c[2].data, data + 10, 5) == 0);
	camera_channel_ioctl(o, OMV_CHAN_STREAM, 77, NULL, 0, done_cb, &c[3]);
	wait_call(&t, &c[3]);
	CHECK_EQ(c[3].err, CAM_E_STATUS);
	camera_owner_free(o);
	teardown(&t);
}

static bool fc_stream_off_sent(void *arg)
{
	struct fakecam *f = arg;

	return f->nlog > 0 && f->log[f->nlog - 1].opcode == OMV_OP_CHANNEL_IOCTL &&
	       f->log[f->nlog - 1].arg0 == OMV_IOCTL_STREAM_CTRL && !f->streaming;
}

static void test_free_streaming_off(void)
{
	struct t t;
	struct call c;
	struct cam_owner *o;

	setup(&t, 1024);
	o = camera_owner_new(t.cam);
	memset(&c, 0, sizeof c);
	camera_streaming(o, true, false, 0, 0, done_cb, &c);
	wait_call(&t, &c);
	CHECK(t.fc->streaming);
	camera_owner_free(o);
	tu_run_for(t.base, 20);
	CHECK(!t.fc->streaming);	/* the last owner left */

	o = camera_owner_new(t.cam);
	memset(&c, 0, sizeof c);
	camera_streaming(o, true, false, 0, 0, done_cb, &c);
	wait_call(&t, &c);
	CHECK(t.fc->streaming);
	/* the daemon stops with an owner still streaming */
	camera_free(t.cam);
	t.cam = NULL;
	CHECK(tu_run_until(t.base, fc_stream_off_sent, t.fc, WAIT_MS));
	fakecam_free(t.fc);
	event_base_free(t.base);
	tu_cleanup();
}

static bool flood_handled(void *arg)
{
	struct t *t = arg;
	struct camera_counters k;

	camera_counters(t->cam, &k);
	return k.resyncs == 1 && camera_state(t->cam) == LINK_READY && t->out_len == 3;
}

static void test_event_flood(void)
{
	struct t t;

	setup(&t, 1024);
	/* more NOTIFYs than the event queue holds, in one read, then the
	 * event that matters: it must not be the one lost */
	memcpy(t.fc->stdout_buf, "ok\n", 3);
	t.fc->stdout_len = 3;
	for (int i = 0; i < 600; i++)
		fakecam_event(t.fc, OMV_CHAN_STDOUT, OMV_EV_NOTIFY);
	fakecam_soft_reboot(t.fc);
	CHECK(tu_run_until(t.base, flood_handled, &t, WAIT_MS));
	CHECK(t.events >= 256);
	CHECK(strcmp(t.out, "ok\n") == 0);
	teardown(&t);
}

/* How long omvd waits for a NOTIFY before it tries a fetch itself: a
 * little over the cam's frame period, the shortest recent gap. */
static void test_poll_period(void)
{
	static struct camera c;	/* only the frame times are read */
	uint64_t us = 5000000;

	CHECK_EQ(cam_fetch_poll_ms(&c), CAM_FRAME_POLL_MS);	/* no frame yet */
	c.frame_us[c.frame_us_count++] = us;
	CHECK_EQ(cam_fetch_poll_ms(&c), CAM_FRAME_POLL_MS);	/* one: no gap */
	/* 30 frames/s with frames lost on the way (gaps of 2 and 3 periods),
	 * more frames than the ring holds */
	for (int i = 1; i < 40; i++) {
		us += (i % 5 == 0 ? 3 : i % 7 == 0 ? 2 : 1) * 33333;
		c.frame_us[c.frame_us_count++ % CAM_FPS_FRAMES] = us;
	}
	CHECK_EQ(cam_fetch_poll_ms(&c), 41);	/* 1.25 x 33.3 ms */
	for (int i = 0; i < CAM_FPS_FRAMES; i++) {	/* 200 frames/s */
		us += 5000;
		c.frame_us[c.frame_us_count++ % CAM_FPS_FRAMES] = us;
	}
	CHECK_EQ(cam_fetch_poll_ms(&c), CAM_FRAME_POLL_MIN_MS);
	for (int i = 0; i < CAM_FPS_FRAMES; i++) {	/* 2 frames/s */
		us += 500000;
		c.frame_us[c.frame_us_count++ % CAM_FPS_FRAMES] = us;
	}
	CHECK_EQ(cam_fetch_poll_ms(&c), CAM_FRAME_POLL_MS);
}

static void test_profile_and_caps(void)
{
	struct t t;
	struct call c[5];
	struct cam_owner *o;
	struct omv_caps caps;
	long lk;

	setup(&t, 128);
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	t.fc->profile = true;
	camera_update_channels(o, done_cb, &c[0]);
	wait_call(&t, &c[0]);
	CHECK_EQ(c[0].err, CAM_OK);
	CHECK(camera_channel_by_name(t.cam, "profile") != NULL);

	camera_read_profile(o, done_cb, &c[1]);
	wait_call(&t, &c[1]);
	CHECK_EQ(c[1].err, CAM_OK);
	CHECK_EQ(c[1].len, 120);	/* 3 records of 40 bytes, fragmented */
	for (size_t i = 0; i < 120; i++)
		CHECK_EQ(c[1].data[i], i + 1);
	CHECK(!t.fc->locks[OMV_CHAN_PROFILE]);
	lk = fakecam_find(t.fc, 0, OMV_OP_CHANNEL_LOCK, OMV_CHAN_PROFILE, 0);
	CHECK(lk >= 0);
	CHECK_EQ(t.fc->log[lk + 1].opcode, OMV_OP_CHANNEL_SHAPE);
	CHECK_EQ(t.fc->log[lk + 2].opcode, OMV_OP_CHANNEL_READ);
	CHECK_EQ(t.fc->log[lk + 3].opcode, OMV_OP_CHANNEL_UNLOCK);

	camera_update_caps(o, done_cb, &c[2]);
	wait_call(&t, &c[2]);
	CHECK_EQ(c[2].err, CAM_OK);
	CHECK_EQ(c[2].len, 0);	/* what was agreed is in camera_caps() */
	caps = *camera_caps(t.cam);
	CHECK_EQ(caps.max_payload, 128);
	CHECK(caps.ack && caps.seq);

	/* a raw SYNC is a resync, not a stray packet */
	camera_command(o, OMV_OP_PROTO_SYNC, 0, NULL, 0, done_cb, &c[3]);
	wait_call(&t, &c[3]);
	CHECK_EQ(c[3].err, CAM_OK);
	CHECK_EQ(t.fc->syncs, 2);
	camera_command(o, OMV_OP_CHANNEL_POLL, 0, NULL, 0, done_cb, &c[4]);
	wait_call(&t, &c[4]);
	CHECK_EQ(c[4].err, CAM_OK);
	camera_owner_free(o);
	teardown(&t);
}

static const struct camtest_case tests[] = {
	{ "round_robin", test_round_robin },
	{ "owner_free", test_owner_free },
	{ "queue_full", test_queue_full },
	{ "locks", test_locks },
	{ "lock_channel_gone", test_lock_channel_gone },
	{ "stdout", test_stdout },
	{ "frames", test_frames },
	{ "streaming", test_streaming_shared },
	{ "channels", test_channels_and_io },
	{ "free_streaming_off", test_free_streaming_off },
	{ "profile_caps", test_profile_and_caps },
	{ "event_flood", test_event_flood },
	{ "poll_period", test_poll_period },
};

int main(int argc, char **argv)
{
	return camtest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
