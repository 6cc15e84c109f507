"""The reference host's typical program, written for the openmv package and
switched to omvd with its import: connect, print the system info, run a
script that registers a custom channel, stream frames for a while counting
fps, read the custom channel, and use the profiler."""

import logging
import time
import unittest

from omvd import Camera  # was: from openmv import Camera
from omvtest import CALL_TIMEOUT, Rig

SCRIPT = """\
import csi, time, protocol
csi0 = csi.CSI()
csi0.reset()
csi0.pixformat(csi.RGB565)
csi0.framesize(csi.QVGA)
ticks = protocol.register(name="ticks", backend=Ticks())
clock = time.clock()
while True:
    clock.tick()
    img = csi0.snapshot()
    print(clock.fps(), "FPS")
"""

rig = None


def setUpModule():
    global rig
    rig = Rig(camsim_args=["--profile", "--pmu-events", "4", "--fps", "50"])


def tearDownModule():
    rig.close()


def program(port, seconds):
    """What such a program does; returns what it saw."""
    seen = {"frames": 0, "numbers": [], "stdout": "", "ticks": [], "profile": None}
    with Camera(port, timeout=CALL_TIMEOUT) as cam:
        cam.print_system_info()
        cam.exec(SCRIPT)
        cam.streaming(True, raw=False)
        cam.profiler_reset()
        cam.profiler_mode(exclusive=False)
        cam.profiler_event(0, 1)
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            frame = cam.read_frame()
            if frame is not None:
                seen["frames"] += 1
                seen["numbers"].append(frame["number"])
            text = cam.read_stdout()
            if text:
                seen["stdout"] += text
            if cam.has_channel("ticks"):
                seen["ticks"].append(cam.channel_read("ticks"))
            time.sleep(0.002)  # a polling program's pace, not synchronisation
        seen["fps"] = seen["frames"] / (time.monotonic() - start)
        seen["profile"] = cam.read_profile()
        cam.streaming(False)
        cam.stop()
    return seen


class ProgramTest(unittest.TestCase):
    def test_typical_program(self):
        with self.assertLogs("omvd", logging.INFO) as logs:
            seen = program(rig.socket, seconds=1.0)
        self.assertTrue(any("cam system information" in line for line in logs.output))
        # Frames: consecutive numbers, none twice, and a plausible rate.
        self.assertGreaterEqual(seen["frames"], 5)
        self.assertEqual(seen["numbers"], sorted(set(seen["numbers"])))
        self.assertGreater(seen["fps"], 0)
        # The script ran: its prints and its custom channel.
        self.assertIn("FPS\n", seen["stdout"])
        self.assertGreater(len(seen["ticks"]), 1)
        values = [int(t) for t in seen["ticks"]]
        self.assertTrue(all(len(t) == 10 for t in seen["ticks"]))
        self.assertEqual(values, sorted(values))
        self.assertGreater(values[-1], values[0])
        # The profiler: records with the cam's 4 PMU events, counter 0 bound to event 1.
        self.assertTrue(seen["profile"])
        for record in seen["profile"]:
            self.assertEqual(len(record["events"]), 4)
            self.assertEqual(record["events"][0], record["call_count"] * 2)


if __name__ == "__main__":
    unittest.main()
