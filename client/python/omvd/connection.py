"""One JSON-RPC connection to omvd: newline-delimited JSON over a Unix
socket (with frames in shared memory passed as file descriptors), or over
the stdin/stdout of ``ssh host omvctl bridge``."""

import json
import mmap
import os
import select
import shlex
import signal
import socket
import subprocess
import time
from collections import deque

from .errors import NotConnectedException, OMVException, TimeoutException

_RECV_SIZE = 256 * 1024
_MAX_FDS = 16  # the kernel delivers the fds of one message per receive


def _remaining(deadline):
    """Seconds left until deadline (None: no deadline); raises on expiry."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutException("no answer from omvd in time")
    return left


class UnixTransport:
    """A Unix stream socket to the daemon; receives file descriptors."""

    passes_fds = True

    def __init__(self, path, timeout):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(path)
        except OSError as e:
            self._sock.close()
            raise NotConnectedException(f"cannot reach omvd at {path}: {e.strerror or e}") from e

    def send(self, data, deadline):
        try:
            self._sock.settimeout(_remaining(deadline))
            self._sock.sendall(data)
        except socket.timeout as e:
            raise TimeoutException("omvd does not take the request in time") from e
        except OSError as e:
            raise NotConnectedException(f"connection to omvd lost: {e.strerror or e}") from e

    def recv(self, deadline):
        """Bytes and file descriptors received; b'' when the daemon hung up."""
        try:
            self._sock.settimeout(_remaining(deadline))
            data, fds, flags, _ = socket.recv_fds(self._sock, _RECV_SIZE, _MAX_FDS)
        except socket.timeout as e:
            raise TimeoutException("no answer from omvd in time") from e
        except OSError as e:
            raise NotConnectedException(f"connection to omvd lost: {e.strerror or e}") from e
        if flags & socket.MSG_CTRUNC:
            for fd in fds:
                os.close(fd)
            raise OMVException("file descriptors from omvd were truncated")
        return data, fds

    def close(self):
        self._sock.close()


class SshTransport:
    """``ssh -T [-p PORT] [-l USER] -- HOST 'omvctl bridge [--socket PATH]'``
    (as omvctl runs it; $OMVCTL_REMOTE names another program on the far
    side), JSON-RPC over its stdin and stdout. ssh's own messages go to our
    stderr; it ignores Ctrl-C, which is the program's to handle."""

    passes_fds = False

    def __init__(self, host, user=None, port=None, path=None):
        remote = (os.environ.get("OMVCTL_REMOTE") or "omvctl") + " bridge"
        if path:
            remote += " --socket " + shlex.quote(path)  # the far side's shell parses it
        argv = ["ssh", "-T"]
        if port:
            argv += ["-p", str(port)]
        if user:
            argv += ["-l", user]
        argv += ["--", host, remote]
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          bufsize=0, preexec_fn=_ignore_sigint)
        except OSError as e:
            raise NotConnectedException(f"cannot run ssh: {e.strerror or e}") from e

    def send(self, data, deadline):
        _remaining(deadline)
        view = memoryview(data)
        try:
            while view:
                view = view[self._proc.stdin.write(view):]
        except OSError as e:
            # ssh gone (EPIPE): its exit status says why, as on reading
            raise self._ended() from e

    def recv(self, deadline):
        fd = self._proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], _remaining(deadline))
        if not ready:
            raise TimeoutException("no answer from omvd in time")
        data = os.read(fd, _RECV_SIZE)
        if not data:
            raise self._ended()
        return data, []

    def _ended(self):
        try:
            status = self._proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            status = "still running"
        return NotConnectedException(f"the ssh link to omvd ended (ssh exit status {status})")

    def close(self):
        self._proc.stdin.close()
        self._proc.stdout.close()
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _map_shared(fd, size):
    """A read-only view of size bytes of a frame's memfd; closes the fd."""
    try:
        if size == 0:
            return memoryview(b"")
        return memoryview(mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ))
    finally:
        os.close(fd)


class Connection:
    """Messages in and out over a transport, one JSON text per line.

    A message whose result or params carry ``"shm": {"size": N}`` takes the
    next received file descriptor; its bytes are mapped and put under
    ``"data"`` as a read-only memoryview."""

    def __init__(self, transport):
        self.transport = transport
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf known to hold no newline
        self._fds = deque()

    @property
    def passes_fds(self):
        """True when frames can come in shared memory."""
        return self.transport.passes_fds

    def send(self, message, deadline):
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        self.transport.send(line, deadline)

    def receive(self, deadline):
        """The next message (a dict or list), waiting until deadline."""
        while True:
            nl = self._buf.find(b"\n", self._scanned)
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[:nl + 1]
                self._scanned = 0
                return self._parse(line)
            self._scanned = len(self._buf)
            data, fds = self.transport.recv(deadline)
            self._fds.extend(fds)
            if not data:
                raise NotConnectedException("omvd closed the connection")
            self._buf += data

    def _parse(self, line):
        try:
            message = json.loads(line)
        except ValueError as e:
            raise OMVException(f"omvd sent a line that is not JSON: {e}") from e
        if isinstance(message, dict):
            for holder in (message.get("result"), message.get("params")):
                if isinstance(holder, dict) and isinstance(holder.get("shm"), dict):
                    if not self._fds:
                        raise OMVException("omvd sent a shared-memory frame without its fd")
                    size = int(holder.pop("shm")["size"])
                    holder["data"] = _map_shared(self._fds.popleft(), size)
        return message

    def close(self):
        while self._fds:
            os.close(self._fds.popleft())
        self.transport.close()
