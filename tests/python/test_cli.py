"""python3 -m omvd: its commands against camsim and omvd."""

import importlib.util
import json
import os
import subprocess
import sys
import unittest

from omvtest import CALL_TIMEOUT, Rig

rig = None


def setUpModule():
    global rig
    rig = Rig(camsim_args=["--fw-version", "5.1.2"])


def tearDownModule():
    rig.close()


def omvd_cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "omvd", "--port", rig.socket, *args],
                          input=stdin, capture_output=True, text=True, timeout=CALL_TIMEOUT * 2)


class CliTest(unittest.TestCase):
    def test_status(self):
        r = omvd_cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["link"], "ready")

    def test_info(self):
        r = omvd_cli("info")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("firmware_version: 5.1.2\n", r.stdout)
        self.assertIn("usb_vid: 14277\n", r.stdout)

    def test_clients(self):
        r = omvd_cli("clients")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("(this one)", r.stdout)

    def test_exec_follow(self):
        r = omvd_cli("exec", "--follow", "-", stdin='print("one")\nprint("two")\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "one\ntwo\nMPY: soft reboot\n")

    def test_snapshot_with_pillow_or_not(self):
        path = os.path.join(rig.dir, "snap.png")
        r = omvd_cli("snapshot", path)
        if importlib.util.find_spec("PIL") is None:
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("needs Pillow", r.stderr)
        else:
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_snapshot(self):
        for name in ("snap.jpg", "snap.ppm"):
            path = os.path.join(rig.dir, name)
            r = omvd_cli("snapshot", path)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path, "rb") as f:
                data = f.read()
            if name.endswith(".jpg"):
                self.assertEqual(data[:2], b"\xff\xd8")
            else:
                self.assertTrue(data.startswith(b"P6\n320 240\n255\n"))
                self.assertEqual(len(data), len(b"P6\n320 240\n255\n") + 320 * 240 * 3)

    def test_errors(self):
        r = subprocess.run([sys.executable, "-m", "omvd", "--port",
                            os.path.join(rig.dir, "none.sock"), "status"],
                           capture_output=True, text=True, timeout=CALL_TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("none.sock", r.stderr)


if __name__ == "__main__":
    unittest.main()
