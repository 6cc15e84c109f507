"""Which daemon a Camera's port selects: the socket itself, the serial
port a daemon serves, $OMVD_SOCKET or the only socket in /run/omvd, and
ssh://[user@]host[:port][/socket] through ``ssh HOST omvctl bridge``."""

import os
import socket
import stat
import tempfile
import textwrap
import unittest
from unittest import mock

from omvd import Camera, NotConnectedException, ports
from omvtest import CALL_TIMEOUT, Rig, env_path, read_until, wait_until

rig = None     # its socket is named after its pty, as the units name it after the tty
other = None   # its socket is omvd.sock, as omvd.socket names it


def setUpModule():
    global rig, other
    rig = Rig(socket_name=None)
    other = Rig()


def tearDownModule():
    rig.close()
    other.close()


def runtime_dir(path):
    return mock.patch.dict(os.environ, {"OMVD_RUNTIME_DIR": path, "OMVD_SOCKET": ""})


def connects(port):
    with Camera(port, timeout=CALL_TIMEOUT) as cam:
        return cam.status()["port"]


class PortTest(unittest.TestCase):
    def test_socket_path(self):
        self.assertEqual(connects(rig.socket), rig.link)

    def test_serial_port_by_tty_name(self):
        # camsim's --link is a symlink to its pty, as /dev/serial/by-id/... is to a tty
        with runtime_dir(rig.run_dir):
            self.assertEqual(connects(rig.link), rig.link)
            self.assertEqual(connects(rig.pty), rig.link)

    def test_serial_port_by_daemon_status(self):
        with runtime_dir(other.run_dir):  # omvd.sock: found by asking the daemon
            self.assertEqual(connects(other.link), other.link)

    def test_serial_port_nobody_serves(self):
        with runtime_dir(other.run_dir):
            with self.assertRaises(NotConnectedException) as cm:
                Camera(rig.link, timeout=CALL_TIMEOUT).connect()
        self.assertIn(rig.link, str(cm.exception))

    def test_not_a_port(self):
        with self.assertRaises(NotConnectedException):
            Camera(__file__, timeout=CALL_TIMEOUT).connect()

    def test_environment(self):
        with mock.patch.dict(os.environ, {"OMVD_SOCKET": rig.socket}):
            self.assertEqual(connects(None), rig.link)

    def test_only_socket(self):
        with runtime_dir(rig.run_dir):
            self.assertEqual(connects(None), rig.link)

    def test_omvd_sock_first(self):
        spare = socket.socket(socket.AF_UNIX)
        spare.bind(os.path.join(other.run_dir, "a.sock"))
        try:
            with runtime_dir(other.run_dir):
                self.assertEqual(connects(None), other.link)
        finally:
            spare.close()
            os.unlink(os.path.join(other.run_dir, "a.sock"))

    def test_no_or_several_sockets(self):
        empty = tempfile.mkdtemp(dir=rig.dir)
        with runtime_dir(empty):
            with self.assertRaises(NotConnectedException) as cm:
                Camera(timeout=CALL_TIMEOUT).connect()
            self.assertIn("no omvd socket", str(cm.exception))
            spares = [socket.socket(socket.AF_UNIX) for _ in range(2)]
            try:
                for i, s in enumerate(spares):
                    s.bind(os.path.join(empty, f"ttyACM{i}.sock"))
                os.symlink(os.path.join(empty, "ttyACM0.sock"), os.path.join(empty, "alias.sock"))
                with self.assertRaises(NotConnectedException) as cm:
                    Camera(timeout=CALL_TIMEOUT).connect()
                self.assertIn("2 omvd sockets", str(cm.exception))  # not the symlink
            finally:
                for s in spares:
                    s.close()


class SshUrlTest(unittest.TestCase):
    def test_forms(self):
        self.assertEqual(ports.parse_ssh("ssh://pi"), ("pi", None, None, None))
        self.assertEqual(ports.parse_ssh("ssh://alice@pi.local:2222/run/omvd/ttyACM0.sock"),
                         ("pi.local", "alice", 2222, "/run/omvd/ttyACM0.sock"))
        self.assertEqual(ports.parse_ssh("ssh://pi/tmp/x.sock"), ("pi", None, None, "/tmp/x.sock"))
        self.assertEqual(ports.parse_ssh("ssh://[::1]:22"), ("::1", None, 22, None))
        for bad in ("ssh://", "ssh://host:notaport", "ssh://host/x?y"):
            with self.assertRaises(ValueError):
                ports.parse_ssh(bad)


class SshTest(unittest.TestCase):
    """An ``ssh`` on PATH that runs the far side's command here (as ssh to
    localhost would), the far side's omvctl being the one under test."""

    def setUp(self):
        self.bin = tempfile.mkdtemp(dir=rig.dir)
        self.argv_log = os.path.join(self.bin, "argv")
        ssh = os.path.join(self.bin, "ssh")
        with open(ssh, "w") as f:
            f.write(textwrap.dedent(f"""\
                #!/bin/sh
                # Log the arguments, then run the last one (the command) in a shell.
                printf '%s\\n' "$@" > {self.argv_log}
                for cmd; do :; done
                exec sh -c "$cmd"
                """))
        os.chmod(ssh, stat.S_IRWXU)
        patcher = mock.patch.dict(os.environ, {
            "PATH": self.bin + os.pathsep + os.environ["PATH"],
            "OMVCTL_REMOTE": env_path("OMVCTL")})
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
            jpeg = next(cam.frames("jpeg", timeout=CALL_TIMEOUT))
            self.assertIsInstance(jpeg["data"], bytes)  # base64: no fds over ssh
        with open(self.argv_log) as f:
            argv = f.read().split("\n")[:-1]
        self.assertEqual(argv, ["-T", "-p", "2222", "-l", "tester", "--", "camhost",
                                f"{env_path('OMVCTL')} bridge --socket {rig.socket}"])

    def test_ssh_fails(self):
        with open(os.path.join(self.bin, "ssh"), "w") as f:
            f.write("#!/bin/sh\necho 'ssh: connect to host camhost: refused' >&2\nexit 255\n")
        with self.assertRaises(NotConnectedException) as cm:
            Camera("ssh://camhost", timeout=CALL_TIMEOUT).connect()
        self.assertIn("255", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
