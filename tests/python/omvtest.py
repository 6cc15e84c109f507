"""Test harness of the Python package's tests: an emulated cam (omv-camsim)
and omvd on temporary paths, and waiting with deadlines.

meson sets OMVD and OMV_CAMSIM (the programs under test) and PYTHONPATH
(the package's source tree)."""

import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time

CALL_TIMEOUT = 15.0   # seconds; generous: the machine may be loaded
START_TIMEOUT = 10.0

JPEG = 0x06060000
RGB565 = 0x0C030002

# A script that registers two channels: "ticks" (a 10-digit millisecond
# counter) and "buf" (a buffer that returns what was written), then loops.
CHANNEL_SCRIPT = """\
import protocol, time
ticks = protocol.register(name="ticks", backend=Ticks())
buf = protocol.register(name="buf", backend=Buffer())
print("channels ready")
while True:
    time.sleep_ms(20)
"""


def env_path(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set (run the tests through meson test)")
    return value


def wait_until(condition, timeout=CALL_TIMEOUT, what="condition"):
    """condition()'s first true value, polled until the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def read_until(cam, text, timeout=CALL_TIMEOUT):
    """Everything read_stdout() gives until text has appeared."""
    seen = []

    def found():
        out = cam.read_stdout()
        if out is not None:
            assert isinstance(out, str), f"read_stdout returned {type(out)}"
            seen.append(out)
        return text in "".join(seen)

    wait_until(found, timeout, f"{text!r} on stdout")
    return "".join(seen)


def barcode(frame):
    """The frame number camsim writes into rows 0..15 of an RGB888 frame."""
    width, data = frame["width"], frame["data"]
    row = 8 * width * 3
    number = 0
    for bit in range(32):
        x = (2 * bit + 1) * width // 64  # the middle of the bit's columns
        number = number << 1 | (data[row + 3 * x + 1] > 128)
    return number


class Rig:
    """omv-camsim and omvd on a temporary directory."""

    def __init__(self, camsim_args=(), omvd_args=(), socket_name="omvd.sock"):
        """socket_name None names the socket after the pty, as the systemd
        units name it after the tty; it is in run_dir, alone."""
        self.dir = tempfile.mkdtemp(prefix="omvpy-", dir="/tmp")  # short socket paths
        self.run_dir = os.path.join(self.dir, "run")
        os.mkdir(self.run_dir)
        self.link = os.path.join(self.dir, "cam")
        self.control = os.path.join(self.dir, "control")
        self.camsim = None
        self.omvd = None
        try:
            self.camsim = subprocess.Popen(
                [env_path("OMV_CAMSIM"), "--link", self.link, "--control", self.control,
                 *camsim_args], stdout=subprocess.PIPE)
            self.pty = self._first_line(self.camsim)
            if socket_name is None:
                socket_name = os.path.basename(self.pty) + ".sock"
            self.socket = os.path.join(self.run_dir, socket_name)
            self.omvd = subprocess.Popen(
                [env_path("OMVD"), "--port", self.link, "--socket", self.socket, "-q",
                 *omvd_args])
            wait_until(self._ready, START_TIMEOUT, "omvd's link to camsim")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _first_line(proc):
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while not line.endswith(b"\n"):
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 1) if ready else b""
            if not chunk:
                raise RuntimeError("camsim did not print its pty path")
            line += chunk
        return line.decode().strip()

    def _ready(self):
        if self.omvd.poll() is not None:
            raise RuntimeError("omvd exited during start-up")
        return rpc(self.socket, "is_connected", timeout=1.0, quiet=True) is True

    def cam_control(self, command):
        """One command on camsim's control socket; its JSON answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(CALL_TIMEOUT)
            s.connect(self.control)
            s.sendall(command.encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        reply = json.loads(answer)
        if not reply.get("ok"):
            raise RuntimeError(f"camsim {command!r}: {reply}")
        return reply

    def close(self):
        for proc in (self.omvd, self.camsim):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.camsim is not None and self.camsim.stdout is not None:
            self.camsim.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def rpc(path, method, params=None, timeout=CALL_TIMEOUT, quiet=False):
    """A one-off JSON-RPC call without the package (the harness's own
    view of the daemon); None on connection errors when quiet."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            request = {"jsonrpc": "2.0", "id": 1, "method": method}
            if params is not None:
                request["params"] = params
            s.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("omvd closed the connection")
                data += chunk
                while b"\n" in data:
                    line, data = data.split(b"\n", 1)
                    reply = json.loads(line)
                    if reply.get("id") == 1:
                        return reply.get("result")
    except (OSError, ValueError):
        if quiet:
            return None
        raise
