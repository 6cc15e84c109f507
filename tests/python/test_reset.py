"""reset() and boot(): the cam reboots for everybody, the daemon
reconnects, and this program's connection to the daemon stays open."""

import unittest

from omvd import Camera, Client, Opcode
from omvtest import CALL_TIMEOUT, Rig

rig = None


def setUpModule():
    global rig
    rig = Rig()


def tearDownModule():
    rig.close()


class StatsCamera(Camera):
    @Camera.retry_if_failed
    def stats(self):
        return self._send_cmd_wait_resp(Opcode.PROTO_STATS)


class ResetTest(unittest.TestCase):
    def rebooted(self, action):
        with StatsCamera(rig.socket, timeout=CALL_TIMEOUT) as cam, \
                Client(rig.socket, timeout=CALL_TIMEOUT) as watcher:
            watcher.subscribe("link")
            self.assertIsNone(action(cam))
            states = []
            for topic, params in watcher.notifications(timeout=CALL_TIMEOUT):
                if topic == "link":
                    states.append(params["state"])
                    if states[-1] == "ready" and len(states) > 1:
                        break
            self.assertNotEqual(states[0], "ready")  # the link dropped, and came back
            # Retried after the link is back if the reboot interrupts it.
            self.assertEqual(len(cam.stats()), 32)
            self.assertFalse(cam.closed)
            self.assertIs(cam.is_connected(), True)

    def test_reset(self):
        self.rebooted(Camera.reset)

    def test_boot(self):
        self.rebooted(Camera.boot)


if __name__ == "__main__":
    unittest.main()
