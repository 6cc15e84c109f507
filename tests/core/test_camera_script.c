/*
 * The script through the camera, against the fake cam on a pty: exec
 * across a soft reboot, a cam that ends a script without one, uploads of
 * two clients at once, and a client that leaves during its exec.
 * Run with a test name as argument, or none for all.
 */
#include <event2/event.h>
#include <string.h>

#include "camtest.h"

static bool script_running(void *arg)
{
	struct camera_shared s;

	camera_shared_state(((struct t *)arg)->cam, &s);
	return s.script_running;
}

static void test_exec_soft_reboot(void)
{
	struct t t;
	struct call c[3];
	struct cam_owner *o;
	char script1[400], script2[300];
	size_t lists;
	long stop, reset, exec;

	setup(&t, 128);	/* small payload: scripts go in 120-byte chunks */
	o = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	memset(script1, 'a', sizeof script1);
	memset(script2, 'b', sizeof script2);
	camera_exec(o, script1, sizeof script1, done_cb, &c[0]);
	wait_call(&t, &c[0]);
	CHECK_EQ(c[0].err, CAM_OK);
	CHECK_EQ(t.fc->script_len, sizeof script1);
	CHECK(memcmp(t.fc->script, script1, sizeof script1) == 0);
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN), 4);	/* 120*3+40 */
	CHECK(fakecam_find(t.fc, 0, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN, 360) >= 0);
	CHECK(tu_run_until(t.base, script_running, &t, WAIT_MS));
	CHECK(t.state_changed >= 1);

	/* replacing a running script: STOP, soft reboot, resync, upload */
	lists = fakecam_count(t.fc, OMV_OP_CHANNEL_LIST, 0);
	camera_exec(o, script2, sizeof script2, done_cb, &c[1]);
	wait_call(&t, &c[1]);
	CHECK_EQ(c[1].err, CAM_OK);
	CHECK_EQ(t.fc->script_len, sizeof script2);
	CHECK(memcmp(t.fc->script, script2, sizeof script2) == 0);
	CHECK(t.fc->script_running);
	CHECK_EQ(t.fc->syncs, 2);
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_LIST, 0), lists + 1);
	stop = fakecam_find(t.fc, 0, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STDIN, OMV_IOCTL_STDIN_STOP);
	CHECK(stop >= 0);
	reset = fakecam_find(t.fc, (size_t)stop, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STDIN,
			     OMV_IOCTL_STDIN_RESET);
	exec = fakecam_find(t.fc, (size_t)stop, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STDIN,
			    OMV_IOCTL_STDIN_EXEC);
	CHECK(reset > stop && exec > reset);
	CHECK(tu_run_until(t.base, script_running, &t, WAIT_MS));

	camera_stop(o, done_cb, &c[2]);
	wait_call(&t, &c[2]);
	CHECK_EQ(c[2].err, CAM_OK);
	CHECK(!t.fc->script_running);
	CHECK(tu_run_until(t.base, is_ready, &t, WAIT_MS));
	camera_owner_free(o);
	teardown(&t);
}

static bool upload_begun(void *arg)
{
	return fakecam_count(((struct t *)arg)->fc, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN) >= 1;
}

static bool fc_runs_400(void *arg)
{
	struct fakecam *fc = ((struct t *)arg)->fc;

	return fc->script_running && fc->script_len == 400;
}

/* A client that leaves in the middle of its exec: the upload is finished
 * in the daemon's name, so the daemon knows the cam runs a script and the
 * next exec stops it first (EXEC over a running script would be thrown
 * away by the cam). */
static void test_exec_owner_gone(void)
{
	struct t t;
	struct call c[2];
	struct cam_owner *a, *b;
	char script1[400], script2[300];

	setup(&t, 128);
	a = camera_owner_new(t.cam);
	b = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	memset(script1, 'a', sizeof script1);
	memset(script2, 'b', sizeof script2);
	camera_exec(a, script1, sizeof script1, done_cb, &c[0]);
	CHECK(tu_run_until(t.base, upload_begun, &t, WAIT_MS));
	camera_owner_free(a);
	CHECK(tu_run_until(t.base, fc_runs_400, &t, WAIT_MS));
	CHECK(memcmp(t.fc->script, script1, sizeof script1) == 0);
	CHECK(tu_run_until(t.base, script_running, &t, WAIT_MS));
	CHECK(!c[0].called);

	camera_exec(b, script2, sizeof script2, done_cb, &c[1]);
	wait_call(&t, &c[1]);
	CHECK_EQ(c[1].err, CAM_OK);
	CHECK(fakecam_find(t.fc, 0, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STDIN, OMV_IOCTL_STDIN_STOP) >= 0);
	CHECK(t.fc->script_running && t.fc->script_len == sizeof script2);
	CHECK(memcmp(t.fc->script, script2, sizeof script2) == 0);
	camera_owner_free(b);
	teardown(&t);
}

/* Two clients exec at once: the uploads go one after the other (the cam
 * has one script buffer), the later script replaces the earlier. */
static void test_exec_concurrent(void)
{
	struct t t;
	struct call c[2];
	struct cam_owner *a, *b;
	char script1[400], script2[300];
	long reset = -1;
	uint32_t want = 0;

	setup(&t, 128);
	a = camera_owner_new(t.cam);
	b = camera_owner_new(t.cam);
	memset(c, 0, sizeof c);
	memset(script1, 'a', sizeof script1);
	memset(script2, 'b', sizeof script2);
	camera_exec(a, script1, sizeof script1, done_cb, &c[0]);
	camera_exec(b, script2, sizeof script2, done_cb, &c[1]);
	wait_call(&t, &c[0]);
	wait_call(&t, &c[1]);
	CHECK_EQ(c[0].err, CAM_OK);
	CHECK_EQ(c[1].err, CAM_OK);
	CHECK(t.fc->script_running && t.fc->script_len == sizeof script2);
	CHECK(memcmp(t.fc->script, script2, sizeof script2) == 0);
	/* each upload is RESET, its writes in order, EXEC: nothing between */
	for (size_t i = 0; i < t.fc->nlog; i++) {
		const struct fakecam_cmd *k = &t.fc->log[i];

		if (k->chan != OMV_CHAN_STDIN)
			continue;
		if (k->opcode == OMV_OP_CHANNEL_IOCTL && k->arg0 == OMV_IOCTL_STDIN_RESET) {
			CHECK(reset < 0);
			reset = (long)i;
			want = 0;
		} else if (k->opcode == OMV_OP_CHANNEL_WRITE) {
			CHECK(reset >= 0);
			CHECK_EQ(k->arg0, want);
			want += 120;
		} else if (k->opcode == OMV_OP_CHANNEL_IOCTL && k->arg0 == OMV_IOCTL_STDIN_EXEC) {
			CHECK(reset >= 0);
			reset = -1;
		}
	}
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_WRITE, OMV_CHAN_STDIN), 4 + 3);
	camera_owner_free(a);
	camera_owner_free(b);
	teardown(&t);
}

static void test_exec_no_reboot(void)
{
	struct t t;
	struct call c;
	struct cam_owner *o;
	uint64_t start;

	setup(&t, 1024);
	o = camera_owner_new(t.cam);
	memset(&c, 0, sizeof c);
	/* the daemon believes a script runs, the cam has none: STOP brings
	 * no soft reboot, and exec goes on after its deadline */
	fakecam_event(t.fc, OMV_CHAN_STDIN, OMV_EV_STDIN_STARTED);
	CHECK(tu_run_until(t.base, script_running, &t, WAIT_MS));
	start = tu_now_ms();
	camera_exec(o, "x", 1, done_cb, &c);
	wait_call(&t, &c);
	CHECK_EQ(c.err, CAM_OK);
	CHECK(tu_now_ms() - start >= 3 * TIMEOUT_MS);
	CHECK_EQ(fakecam_count(t.fc, OMV_OP_CHANNEL_IOCTL, OMV_CHAN_STDIN), 3);
	CHECK(t.fc->script_running && t.fc->script_len == 1);
	camera_owner_free(o);
	teardown(&t);
}

static const struct camtest_case tests[] = {
	{ "exec", test_exec_soft_reboot },
	{ "exec_no_reboot", test_exec_no_reboot },
	{ "exec_owner_gone", test_exec_owner_gone },
	{ "exec_concurrent", test_exec_concurrent },
};

int main(int argc, char **argv)
{
	return camtest_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
