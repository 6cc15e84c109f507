"""Which daemon a Camera's port selects: the socket itself, the serial
port a daemon serves, $OMVD_SOCKET or the only socket in /run/omvd, and
ssh://[user@]host[:port][/socket] through ``ssh HOST omvctl bridge``."""

import os
import stat
import tempfile
import textwrap
import unittest
from unittest import mock

from omvd import Camera, NotConnectedException, ports
from omvtest import CALL_TIMEOUT, Rig, env_path, read_until, wait_until

rig = None


def setUpModule():
    global rig
    rig = Rig()


def tearDownModule():
    rig.close()


class PortTest(unittest.TestCase):
    def setUp(self):
        self.run_dir = tempfile.mkdtemp(dir=rig.dir)
        patcher = mock.patch.object(ports, "RUNTIME_DIR", self.run_dir)
        patcher.start()
        self.addCleanup(patcher.stop)

    def link_socket(self, name):
        os.symlink(rig.socket, os.path.join(self.run_dir, name))

    def connects(self, port):
        with Camera(port, timeout=CALL_TIMEOUT) as cam:
            return cam.is_connected()

    def test_socket_path(self):
        self.assertTrue(self.connects(rig.socket))

    def test_serial_port_by_tty_name(self):
        # camsim's --link is a symlink to its pty, as /dev/serial/by-id/... is to a tty
        self.link_socket(os.path.basename(os.path.realpath(rig.link)) + ".sock")
        self.assertTrue(self.connects(rig.link))
        self.assertTrue(self.connects(os.path.realpath(rig.link)))

    def test_serial_port_by_daemon_status(self):
        self.link_socket("omvd.sock")  # omvd.socket's name: found by asking the daemon
        self.assertTrue(self.connects(rig.link))

    def test_serial_port_nobody_serves(self):
        with self.assertRaises(NotConnectedException) as cm:
            Camera(rig.link, timeout=CALL_TIMEOUT).connect()
        self.assertIn(rig.link, str(cm.exception))

    def test_not_a_port(self):
        with self.assertRaises(NotConnectedException):
            Camera(__file__, timeout=CALL_TIMEOUT).connect()

    def test_environment(self):
        with mock.patch.dict(os.environ, {"OMVD_SOCKET": rig.socket}):
            self.assertTrue(self.connects(None))

    def test_only_socket(self):
        with mock.patch.dict(os.environ, {"OMVD_SOCKET": ""}):
            with self.assertRaises(NotConnectedException) as cm:
                Camera(timeout=CALL_TIMEOUT).connect()
            self.assertIn("no omvd socket", str(cm.exception))
            self.link_socket("ttyACM0.sock")
            self.assertTrue(self.connects(None))
            self.link_socket("ttyACM1.sock")
            with self.assertRaises(NotConnectedException) as cm:
                Camera(timeout=CALL_TIMEOUT).connect()
            self.assertIn("several", str(cm.exception))


class SshUrlTest(unittest.TestCase):
    def test_forms(self):
        self.assertEqual(ports.parse_ssh("ssh://pi"), ("pi", None, None))
        self.assertEqual(ports.parse_ssh("ssh://alice@pi.local:2222/run/omvd/ttyACM0.sock"),
                         ("alice@pi.local", 2222, "/run/omvd/ttyACM0.sock"))
        self.assertEqual(ports.parse_ssh("ssh://pi/tmp/x.sock"), ("pi", None, "/tmp/x.sock"))
        self.assertEqual(ports.parse_ssh("ssh://[::1]:22"), ("::1", 22, None))
        for bad in ("ssh://", "ssh://host:notaport", "ssh://host/x?y"):
            with self.assertRaises(ValueError):
                ports.parse_ssh(bad)


class SshTest(unittest.TestCase):
    """An ``ssh`` on PATH that runs the remote command here (as ssh to
    localhost would), with omvctl being the one under test."""

    def setUp(self):
        self.bin = tempfile.mkdtemp(dir=rig.dir)
        self.argv_log = os.path.join(self.bin, "argv")
        ssh = os.path.join(self.bin, "ssh")
        with open(ssh, "w") as f:
            f.write(textwrap.dedent(f"""\
                #!/bin/sh
                # ssh [-p PORT] DESTINATION COMMAND...: log, then run COMMAND here.
                printf '%s\\n' "$@" > {self.argv_log}
                [ "$1" = -p ] && shift 2
                shift
                cmd="$*"
                exec sh -c "{env_path("OMVCTL")} ${{cmd#omvctl }}"
                """))
        os.chmod(ssh, stat.S_IRWXU)
        patcher = mock.patch.dict(os.environ, {"PATH": self.bin + os.pathsep + os.environ["PATH"]})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_camera_over_ssh(self):
        url = f"ssh://tester@camhost:2222{rig.socket}"
        with Camera(url, timeout=CALL_TIMEOUT) as cam:
            self.assertTrue(cam.is_connected())
            self.assertEqual(len(cam.version()["firmware_version"]), 3)
            cam.exec('print("over ssh")')
            self.assertIn("over ssh", read_until(cam, "over ssh"))
            cam.streaming(True)
            frame = wait_until(cam.read_frame, what="a frame over ssh")
            cam.streaming(False)
            self.assertEqual(len(frame["data"]), frame["width"] * frame["height"] * 3)
        with open(self.argv_log) as f:
            argv = f.read().split("\n")[:-1]
        self.assertEqual(argv, ["-p", "2222", "tester@camhost", "omvctl", "bridge",
                                "--socket", rig.socket])


if __name__ == "__main__":
    unittest.main()
