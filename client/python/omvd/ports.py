"""From the ``port`` a program passes (as it would to the openmv package) to
the daemon that serves that cam."""

import glob
import os
import stat
import time
import urllib.parse

from .connection import Connection, SshTransport, UnixTransport
from .errors import NotConnectedException, OMVException

# Where the systemd units put the daemons' sockets: /run/omvd/<tty>.sock.
RUNTIME_DIR = "/run/omvd"


def open_transport(port, timeout):
    """A connected transport for port: an omvd socket path, a serial port
    path served by a daemon, ``ssh://[user@]host[:port][/socket]``, or None
    ($OMVD_SOCKET, else the only socket in /run/omvd)."""
    if port is None:
        port = os.environ.get("OMVD_SOCKET") or only_socket()
    port = os.fspath(port)
    if port.startswith("ssh://"):
        return SshTransport(*parse_ssh(port))
    return UnixTransport(socket_for(port, timeout), timeout)


def parse_ssh(url):
    """(destination, port or None, socket path or None) of an ssh:// URL."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError as e:
        raise ValueError(f"bad port in {url!r}") from e
    if not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"not ssh://[user@]host[:port][/path/to/socket]: {url!r}")
    host = parts.hostname if parts.username is None else f"{parts.username}@{parts.hostname}"
    return host, port, parts.path or None


def only_socket():
    """The one daemon socket in RUNTIME_DIR."""
    found = sorted(glob.glob(os.path.join(RUNTIME_DIR, "*.sock")))
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotConnectedException(
            f"no omvd socket in {RUNTIME_DIR}: pass the port or set OMVD_SOCKET")
    raise NotConnectedException(
        f"several omvd sockets in {RUNTIME_DIR} ({', '.join(found)}): pass the port")


def socket_for(port, timeout):
    """The daemon's socket for port: port itself when it is a socket (or
    does not exist yet), else the socket of the daemon serving that tty."""
    try:
        mode = os.stat(port).st_mode
    except OSError:
        return port  # connecting says why
    if stat.S_ISSOCK(mode):
        return port
    if not stat.S_ISCHR(mode):
        raise NotConnectedException(f"{port} is neither omvd's socket nor a serial port")
    tty = os.path.realpath(port)
    by_name = os.path.join(RUNTIME_DIR, os.path.basename(tty) + ".sock")
    if os.path.exists(by_name):
        return by_name
    # A daemon with another socket name (omvd.socket serves /dev/openmv0).
    for path in sorted(glob.glob(os.path.join(RUNTIME_DIR, "*.sock"))):
        served = _served_port(path, timeout)
        if served is not None and os.path.realpath(served) == tty:
            return path
    raise NotConnectedException(f"no omvd serves {port} (looked in {RUNTIME_DIR})")


def _served_port(path, timeout):
    """The port the daemon at path serves, or None when it does not say."""
    try:
        conn = Connection(UnixTransport(path, timeout))
    except NotConnectedException:
        return None
    try:
        deadline = time.monotonic() + timeout
        conn.send({"jsonrpc": "2.0", "id": 1, "method": "status"}, deadline)
        while True:
            reply = conn.receive(deadline)
            if isinstance(reply, dict) and reply.get("id") == 1:
                result = reply.get("result")
                return result.get("port") if isinstance(result, dict) else None
    except OMVException:
        return None
    finally:
        conn.close()
