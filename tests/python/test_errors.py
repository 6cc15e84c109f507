"""The openmv package's exceptions (and the daemon's more precise ones)
from omvd's errors; the subclassing example of the openmv package
(retry_if_failed with _send_cmd_wait_resp)."""

import os
import struct
import subprocess
import unittest

import omvd
from omvd import (BusyException, Camera, ChannelLockedException, ChannelNotFoundException,
                  ChecksumException, NotConnectedException, OMVException, Opcode,
                  ResyncException, SequenceException, TimeoutException)
from omvd.errors import error_from_reply
from omvtest import CALL_TIMEOUT, Rig, env_path, rpc, wait_until

rig = None


def setUpModule():
    global rig
    # A short daemon timeout, so that a silent cam is noticed quickly.
    rig = Rig(camsim_args=["--profile"], omvd_args=["--timeout", "0.3"])


def tearDownModule():
    rig.close()


class MyCamera(Camera):
    """The openmv package's subclassing example."""

    @Camera.retry_if_failed
    def my_custom_command(self, payload):
        return self._send_cmd_wait_resp(Opcode.PROTO_STATS, 0, payload)


class MappingTest(unittest.TestCase):
    """The daemon's error objects, as docs/rpc.md lists them."""

    def check(self, error, cls):
        e = error_from_reply(error)
        self.assertIs(type(e), cls)
        self.assertIsInstance(e, OMVException)
        self.assertEqual(e.code, error["code"])
        self.assertEqual(str(e), error["message"])

    def test_codes(self):
        self.check({"code": -32000, "message": "cam not connected"}, NotConnectedException)
        self.check({"code": -32001, "message": "timeout"}, TimeoutException)
        self.check({"code": -32003, "message": "channel not found"}, ChannelNotFoundException)
        self.check({"code": -32004, "message": "busy"}, BusyException)
        self.check({"code": -32006, "message": "locked"}, ChannelLockedException)
        self.check({"code": -32602, "message": "invalid params"}, OMVException)

    def test_statuses(self):
        self.check({"code": -32005, "message": "p", "data": {"status": 5, "name": "CHECKSUM"}},
                   ChecksumException)
        self.check({"code": -32005, "message": "p", "data": {"status": 6, "name": "SEQUENCE"}},
                   SequenceException)
        self.check({"code": -32005, "message": "p", "data": {"name": "TIMEOUT"}},
                   TimeoutException)
        self.check({"code": -32005, "message": "p", "data": {"name": "UNEXPECTED"}},
                   OMVException)
        self.check({"code": -32002, "message": "f", "data": {"status": 1, "name": "FAILED"}},
                   OMVException)
        self.assertEqual(error_from_reply({"code": -32002, "message": "f",
                                           "data": {"status": 2, "name": "INVALID"}}).data,
                         {"status": 2, "name": "INVALID"})

    def test_hierarchy(self):
        for cls in (TimeoutException, ChecksumException, SequenceException, BusyException,
                    ChannelNotFoundException, ResyncException):
            self.assertTrue(issubclass(cls, OMVException))
        self.assertTrue(issubclass(NotConnectedException, ResyncException))
        self.assertTrue(issubclass(ChannelLockedException, BusyException))


class DaemonErrorsTest(unittest.TestCase):
    def setUp(self):
        self.cam = MyCamera(rig.socket, timeout=CALL_TIMEOUT)
        self.cam.connect()

    def tearDown(self):
        self.cam.disconnect()

    def test_missing_channel(self):
        with self.assertRaises(ChannelNotFoundException) as cm:
            self.cam._channel_size(200)
        self.assertEqual(cm.exception.code, -32003)
        with self.assertRaises(ChannelNotFoundException):
            self.cam._channel_read(200, 0, 4)

    def test_locked_by_another_client(self):
        profile = self.cam.get_channel("profile")
        wait_until(lambda: self.cam._channel_lock(profile), what="the lock")
        try:
            with Camera(rig.socket, timeout=CALL_TIMEOUT) as other:
                with self.assertRaises(ChannelLockedException) as cm:
                    other._channel_lock(profile)
                self.assertIsInstance(cm.exception, BusyException)
        finally:
            self.cam._channel_unlock(profile)

    def test_busy(self):
        profile = self.cam.get_channel("profile")
        wait_until(lambda: self.cam._channel_lock(profile), what="the lock")
        try:
            # A raw LOCK of a locked channel: the cam answers BUSY.
            with self.assertRaises(BusyException) as cm:
                self.cam._send_cmd_wait_resp(Opcode.CHANNEL_LOCK, profile)
            self.assertEqual(cm.exception.code, -32004)
        finally:
            self.cam._channel_unlock(profile)

    def test_refused_by_the_daemon(self):
        with self.assertRaises(OMVException) as cm:
            self.cam._channel_lock(self.cam.get_channel("stream"))
        self.assertEqual(cm.exception.code, -32602)
        self.assertIn("read_frame", str(cm.exception))

    def test_timeout(self):
        rig.cam_control("set delay-ms 2000")
        try:
            with self.assertRaises(TimeoutException) as cm:
                self.cam.device_stats()
            self.assertEqual(cm.exception.code, -32001)
        finally:
            rig.cam_control("set delay-ms 0")
        self.cam.wait_ready(CALL_TIMEOUT)
        self.assertEqual(len(self.cam.device_stats()), 8)

    def test_client_side_timeout(self):
        with Camera(rig.socket, timeout=CALL_TIMEOUT) as cam:
            cam.timeout = 0.02
            rig.cam_control("set delay-ms 100")  # below omvd's 0.3 s
            try:
                with self.assertRaises(TimeoutException) as cm:
                    cam.device_stats()
                self.assertIsNone(cm.exception.code)  # found by the client
            finally:
                rig.cam_control("set delay-ms 0")
            cam.timeout = CALL_TIMEOUT
            # The late reply is dropped, the next call gets its own.
            self.assertEqual(cam.version(), self.cam.version())
            self.assertEqual(len(cam.host_stats()), 4)
            self.assertIsInstance(cam.has_channel("stdin"), bool)

    def test_subclass_example(self):
        stats = self.cam.my_custom_command(b"")
        self.assertEqual(len(stats), 32)
        self.assertGreater(struct.unpack("<8I", stats)[1], 0)   # the cam received packets
        self.assertEqual(MyCamera.my_custom_command.__name__, "my_custom_command")

    def test_retry_if_failed_retries_once(self):
        calls = []

        class Flaky(Camera):
            @Camera.retry_if_failed
            def flaky(self, error):
                calls.append(error)
                if len(calls) == 1:
                    raise error
                return self.version()

        with Flaky(rig.socket, timeout=CALL_TIMEOUT) as cam:
            self.assertEqual(cam.flaky(ResyncException("link re-established")), cam.version())
            self.assertEqual(len(calls), 2)
            calls.clear()
            with self.assertRaises(ChecksumException):
                cam.flaky(ChecksumException("not a resync"))
            self.assertEqual(len(calls), 1)


class NotConnectedTest(unittest.TestCase):
    def test_no_daemon(self):
        cam = Camera(os.path.join(rig.dir, "nothing.sock"), timeout=CALL_TIMEOUT)
        with self.assertRaises(NotConnectedException) as cm:
            cam.connect()
        self.assertIn("nothing.sock", str(cm.exception))
        self.assertIs(cam.is_connected(), False)

    def test_call_after_disconnect(self):
        cam = Camera(rig.socket, timeout=CALL_TIMEOUT)
        cam.connect()
        cam.disconnect()
        with self.assertRaises(NotConnectedException):
            cam.device_stats()

    def test_no_cam(self):
        path = os.path.join(rig.dir, "nocam.sock")
        daemon = subprocess.Popen([env_path("OMVD"), "--port", os.path.join(rig.dir, "none"),
                                   "--socket", path, "-q"])
        try:
            client = omvd.Client(path, timeout=CALL_TIMEOUT)
            wait_until(lambda: rpc(path, "status", quiet=True), what="omvd's socket")
            with client:
                self.assertNotEqual(client.status()["link"], "ready")
                with self.assertRaises(NotConnectedException) as cm:
                    client.call("device_stats")
                self.assertEqual(cm.exception.code, -32000)
            cam = Camera(path, timeout=0.2)
            with self.assertRaises(NotConnectedException):
                cam.connect()
            self.assertTrue(cam.closed)
        finally:
            daemon.terminate()
            daemon.wait()


if __name__ == "__main__":
    unittest.main()
