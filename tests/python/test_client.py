"""What omvd adds to the openmv package's Camera: omvd.Client with
subscriptions, frame and stdout iterators, status() and clients(); frames
in shared memory over the Unix socket."""

import importlib.util
import itertools
import sys
import unittest
from unittest import mock

import omvd
from omvd import Camera, Client, TimeoutException
from omvtest import CALL_TIMEOUT, JPEG, Rig, barcode

rig = None


def setUpModule():
    global rig
    rig = Rig(camsim_args=["--fps", "60"])


def tearDownModule():
    rig.close()


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.client = Client(rig.socket, timeout=CALL_TIMEOUT).open()

    def tearDown(self):
        self.client.close()

    def test_status(self):
        status = self.client.status()
        self.assertEqual(status["link"], "ready")
        self.assertEqual(status["port"], rig.link)
        self.assertEqual(set(status["caps"]), {"crc", "seq", "ack", "events", "max_payload"})
        self.assertTrue({"streaming", "raw", "resolution", "script_running", "run"}
                        <= set(status["shared"]))
        self.assertGreaterEqual(status["clients"], 1)

    def test_clients(self):
        with Client(rig.socket, timeout=CALL_TIMEOUT) as other:
            other.subscribe("state")
            listed = self.client.clients()
            self.assertGreaterEqual(len(listed), 2)
            mine = [c for c in listed if c["self"]]
            self.assertEqual(len(mine), 1)
            theirs = [c for c in other.clients() if c["self"]][0]
            self.assertNotEqual(mine[0]["id"], theirs["id"])
            self.assertEqual(theirs["subscriptions"], ["state"])

    def test_subscribe_and_unsubscribe(self):
        self.assertEqual(sorted(self.client.subscribe("state", "link")), ["link", "state"])
        self.assertEqual(self.client.unsubscribe("link"), ["state"])
        self.assertEqual(self.client.unsubscribe("state"), [])

    def test_call_errors(self):
        with self.assertRaises(omvd.OMVException) as cm:
            self.client.call("no_such_method")
        self.assertEqual(cm.exception.code, -32601)

    def test_wait_ready(self):
        self.assertIsNone(self.client.wait_ready())


class FramesTest(unittest.TestCase):
    def setUp(self):
        self.client = Client(rig.socket, timeout=CALL_TIMEOUT).open()

    def tearDown(self):
        self.client.close()

    def take(self, fmt, n=3):
        return list(itertools.islice(self.client.frames(fmt, timeout=CALL_TIMEOUT), n))

    def test_jpeg(self):
        frames = self.take("jpeg")
        for f in frames:
            data = bytes(f["data"])
            self.assertEqual(f["encoding"], "jpeg")
            self.assertEqual(f["format"], JPEG)
            self.assertEqual(data[:2], b"\xff\xd8")
            self.assertEqual(data[-2:], b"\xff\xd9")
            self.assertEqual(len(data), f["depth"])
        numbers = [f["number"] for f in frames]
        self.assertEqual(numbers, sorted(set(numbers)))

    def test_rgb888(self):
        for f in self.take("rgb888"):
            self.assertEqual(f["encoding"], "rgb888")
            self.assertEqual(len(f["data"]), f["width"] * f["height"] * 3)
            self.assertGreater(barcode(f), 0)

    def test_shared_memory(self):
        """Over the Unix socket the pixels come in shared memory: a
        read-only view of the daemon's memfd, not a copy."""
        frame = self.take("rgb888", 1)[0]
        self.assertIsInstance(frame["data"], memoryview)
        self.assertTrue(frame["data"].readonly)
        me = [c for c in self.client.clients() if c["self"]][0]
        self.assertGreater(me["frames_sent"], 0)

    @unittest.skipUnless(importlib.util.find_spec("numpy"), "numpy is not installed")
    def test_numpy(self):
        f = self.take("numpy", 1)[0]
        self.assertEqual(f["data"].shape, (f["height"], f["width"], 3))
        self.assertEqual(str(f["data"].dtype), "uint8")
        self.assertFalse(f["data"].flags.writeable)
        self.assertGreater(barcode(dict(f, data=f["data"].tobytes())), 0)

    def test_numpy_is_optional(self):
        with mock.patch.dict(sys.modules, {"numpy": None}):  # as if not installed
            with self.assertRaises(ImportError) as cm:
                next(self.client.frames("numpy"))
        self.assertIn("numpy", str(cm.exception))
        rgb = self.take("rgb888", 1)[0]  # the rest does not need it
        self.assertEqual(len(rgb["data"]), rgb["width"] * rgb["height"] * 3)

    def test_bad_format(self):
        with self.assertRaises(ValueError):
            next(self.client.frames("bmp"))

    def test_streaming_follows_the_iterator(self):
        frames = self.client.frames("jpeg", timeout=CALL_TIMEOUT)
        next(frames)
        self.assertIs(self.client.status()["shared"]["streaming"], True)
        me = [c for c in self.client.clients() if c["self"]][0]
        self.assertIn("frame", me["subscriptions"])
        frames.close()
        me = [c for c in self.client.clients() if c["self"]][0]
        self.assertNotIn("frame", me["subscriptions"])

    def test_iterator_timeout(self):
        with self.assertRaises(TimeoutException):
            next(self.client.notifications(timeout=0.05))  # nothing subscribed


class StdoutTest(unittest.TestCase):
    def test_stdout_lines_and_state(self):
        with Camera(rig.socket, timeout=CALL_TIMEOUT) as cam:
            cam.subscribe("state")
            cam.exec('print("first")\nprint("second", "part")\n')
            got = []
            for line in cam.stdout_lines(timeout=CALL_TIMEOUT):
                got.append(line)
                if line == "second part":
                    break
            self.assertEqual(got[-2:], ["first", "second part"])
            for topic, params in cam.notifications(timeout=CALL_TIMEOUT):
                if topic == "state" and params["run"] == cam.run_id \
                        and not params["script_running"]:
                    break


if __name__ == "__main__":
    unittest.main()
