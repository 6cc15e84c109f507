"""Two programs, each with its own Camera, share the cam through omvd:
both get the frames and both get the script's stdout."""

import json
import os
import select
import subprocess
import sys
import time
import unittest

from omvd import Camera
from omvtest import CALL_TIMEOUT, Rig, read_until, wait_until

rig = None
MARKER = "shared-marker"


def setUpModule():
    global rig
    rig = Rig()


def tearDownModule():
    rig.close()


def read_json_line(proc, timeout=CALL_TIMEOUT * 2):
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(proc.stdout.fileno(), 1) if ready else b""
        if not chunk:
            raise AssertionError("the other program did not answer")
        line += chunk
    return json.loads(line)


class SharingTest(unittest.TestCase):
    def test_two_programs(self):
        here = os.path.dirname(os.path.abspath(__file__))
        with Camera(rig.socket, timeout=CALL_TIMEOUT) as cam:
            cam.streaming(True)
            peer = subprocess.Popen([sys.executable, os.path.join(here, "share_peer.py"),
                                     rig.socket, MARKER, "3"], stdout=subprocess.PIPE)
            try:
                self.assertEqual(read_json_line(peer), {"ready": True})
                # Both are connected: the peer waits for the marker.
                self.assertGreaterEqual(len(cam.clients()), 2)
                cam.exec(f'while True:\n    print("{MARKER}")\n    time.sleep_ms(20)\n')
                mine = [wait_until(cam.read_frame, what="a frame")["number"] for _ in range(3)]
                self.assertIn(MARKER, read_until(cam, MARKER))
                theirs = read_json_line(peer)
                self.assertEqual(peer.wait(timeout=CALL_TIMEOUT), 0)
            finally:
                if peer.poll() is None:
                    peer.kill()
                    peer.wait()
                peer.stdout.close()
            self.assertEqual(len(theirs["frames"]), 3)
            for f in theirs["frames"]:
                self.assertEqual(f["size"], f["width"] * f["height"] * 3)
            numbers = [f["number"] for f in theirs["frames"]]
            self.assertEqual(numbers, sorted(set(numbers)))
            self.assertEqual(mine, sorted(set(mine)))
            self.assertIn(MARKER, theirs["stdout"])
            # The peer's disconnect closed its connection, not the cam.
            self.assertIs(cam.is_connected(), True)
            after = wait_until(cam.read_frame, what="a frame after the peer left")
            self.assertGreater(after["number"], mine[-1])
            cam.stop()
            cam.streaming(False)


if __name__ == "__main__":
    unittest.main()
