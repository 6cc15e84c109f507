"""From the ``port`` a program passes (as it would to the openmv package) to
the daemon that serves that cam. The rules are omvctl's: $OMVD_SOCKET,
$OMVD_RUNTIME_DIR (default /run/omvd), ssh:// connect strings."""

import os
import stat
import time
import urllib.parse

from .connection import Connection, SshTransport, UnixTransport
from .errors import NotConnectedException, OMVException


def runtime_dir():
    """Where the daemons' sockets are: $OMVD_RUNTIME_DIR, else /run/omvd
    (the systemd units put /run/omvd/<tty>.sock there)."""
    return os.environ.get("OMVD_RUNTIME_DIR") or "/run/omvd"


def open_transport(port, timeout):
    """A connected transport for port: an omvd socket path, a serial port
    path served by a daemon, ``ssh://[user@]host[:port][/socket]``, or None
    (see find_socket)."""
    if port is None:
        port = find_socket()
    port = os.fspath(port)
    if port.startswith("ssh://"):
        return SshTransport(*parse_ssh(port))
    return UnixTransport(socket_for(port, timeout), timeout)


def parse_ssh(url):
    """(host, user or None, port or None, socket path or None) of an
    ssh:// URL."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError as e:
        raise ValueError(f"bad port in {url!r}") from e
    if not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"not ssh://[user@]host[:port][/path/to/socket]: {url!r}")
    return parts.hostname, parts.username, port, parts.path or None


def list_sockets():
    """The sockets in the runtime directory, sorted (not the symlinks to
    them, such as the by-serial aliases)."""
    directory = runtime_dir()
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [p for p in (os.path.join(directory, n) for n in names if not n.startswith("."))
            if _is_socket(p)]


def _is_socket(path):
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def find_socket():
    """The daemon for port None: $OMVD_SOCKET; else omvd.sock in the
    runtime directory when it exists; else the only socket there."""
    if os.environ.get("OMVD_SOCKET"):
        return os.environ["OMVD_SOCKET"]
    default = os.path.join(runtime_dir(), "omvd.sock")
    if os.path.exists(default):
        return default
    found = list_sockets()
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotConnectedException(
            f"no omvd socket in {runtime_dir()}: pass the port or set OMVD_SOCKET")
    raise NotConnectedException(
        f"{len(found)} omvd sockets in {runtime_dir()}, choose one: {', '.join(found)}")


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
    by_name = os.path.join(runtime_dir(), os.path.basename(tty) + ".sock")
    if os.path.exists(by_name):
        return by_name
    # A daemon with another socket name (omvd.socket serves /dev/openmv0).
    for path in list_sockets():
        served = _served_port(path, timeout)
        if served is not None and os.path.realpath(served) == tty:
            return path
    raise NotConnectedException(f"no omvd serves {port} (looked in {runtime_dir()})")


def _served_port(path, timeout):
    """The port the daemon at path serves, or None when it does not say."""
    try:
        conn = Connection(UnixTransport(path, timeout))
    except NotConnectedException:
        return None
    try:
        deadline = time.monotonic() + (2.0 if timeout is None else timeout)
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
