"""omvd.Client: one connection to the daemon, with what a daemon adds to a
cam: subscriptions, frame and stdout iterators, status and clients."""

import itertools
import threading
import time
from collections import deque

from .connection import Connection
from .errors import NotConnectedException, TimeoutException, error_from_reply
from .frames import frame_value, numpy_module, wire_encoding
from .ports import open_transport

# Local queues, per topic, between the socket and the iterators: when a
# queue is full its oldest entry goes (frames: the newest win, as in the
# daemon).
_QUEUE_LIMITS = {"frame": 4, "stdout": 4096}
_QUEUE_LIMIT = 256

_DEFAULT = object()  # "the client's timeout"
_NOTHING = object()


class Client:
    """A connection to omvd.

    ``port`` is the daemon's socket path, a serial port path that a daemon
    serves (``/dev/ttyACM0``, a ``/dev/serial/by-id/...`` link: the socket
    is ``/run/omvd/<tty>.sock``), ``ssh://[user@]host[:port][/socket]`` (runs
    ``ssh host omvctl bridge``), or None: ``$OMVD_SOCKET``, else
    ``/run/omvd/omvd.sock``, else the only socket in /run/omvd
    (``$OMVD_RUNTIME_DIR``). ``timeout`` (seconds, None for none) bounds
    every call. Use it as a context manager, or call open() and close().

    Replies and pushed notifications share the connection: notifications
    that arrive while a call waits are kept, per topic, for the iterators
    (notifications(), frames(), stdout_lines()). Calls from several
    threads are serialised.
    """

    def __init__(self, port=None, *, timeout=1.0):
        self.port = port
        self.timeout = timeout
        self._conn = None
        self._io = threading.RLock()
        self._next_id = 0
        self._awaited = set()
        self._replies = {}
        self._queues = {}  # topic -> deque of (arrival number, params)
        self._arrivals = itertools.count()
        self._link_state = None

    # ---- connection ----

    def open(self):
        """Connect to the daemon (if not connected yet); returns self."""
        with self._io:
            if self._conn is None:
                self._conn = Connection(open_transport(self.port, self.timeout))
        return self

    def close(self):
        """Close this connection. The daemon drops this client's
        subscriptions, streaming wish and channel locks; the cam and the
        other clients carry on."""
        with self._io:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                conn.close()
            self._replies.clear()
            self._queues.clear()
            self._link_state = None

    @property
    def closed(self):
        """True when not connected to the daemon."""
        return self._conn is None

    def __enter__(self):
        return self.open()

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()

    # ---- calls ----

    def _deadline(self, timeout):
        if timeout is _DEFAULT:
            timeout = self.timeout
        return None if timeout is None else time.monotonic() + timeout

    def call(self, method, params=None, *, timeout=_DEFAULT):
        """Call a JSON-RPC method of omvd (docs/rpc.md) with params (a dict,
        or None) and return its result as decoded from JSON. Errors raise
        the matching OMVException subclass. ``timeout`` defaults to the
        client's."""
        deadline = self._deadline(timeout)
        with self._io:
            conn = self._connection()
            self._next_id += 1
            rid = self._next_id
            request = {"jsonrpc": "2.0", "id": rid, "method": method}
            if params:
                request["params"] = params
            self._awaited.add(rid)
            try:
                conn.send(request, deadline)
                while rid not in self._replies:
                    self._receive_one(deadline)
                reply = self._replies.pop(rid)
            finally:
                self._awaited.discard(rid)
        self._after_receive()
        if "error" in reply:
            raise error_from_reply(reply["error"])
        return reply.get("result")

    def _connection(self):
        if self._conn is None:
            raise NotConnectedException("not connected to omvd")
        return self._conn

    def _receive_one(self, deadline):
        """Read one message (with self._io held) and file it."""
        conn = self._connection()
        try:
            message = conn.receive(deadline)
        except NotConnectedException:
            self.close()
            raise
        if not isinstance(message, dict):
            return
        if "method" in message:
            self._notify(message["method"], message.get("params"))
        elif message.get("id") in self._awaited:
            self._replies[message["id"]] = message
        # else: the late reply of a call that timed out

    def _notify(self, topic, params):
        """File one notification. Subclasses take the topics they handle."""
        if topic == "link" and isinstance(params, dict):
            self._link_state = params.get("state")
        queue = self._queues.get(topic)
        if queue is None:
            queue = self._queues[topic] = deque(maxlen=_QUEUE_LIMITS.get(topic, _QUEUE_LIMIT))
        queue.append((next(self._arrivals), params))

    def _after_receive(self):
        """Called after messages were read, without self._io held."""

    def _next_notification(self, topics, timeout):
        """The oldest (topic, params) of topics (all when empty), reading
        the connection until one comes."""
        deadline = self._deadline(timeout)
        while True:
            with self._io:
                heads = [(queue[0][0], topic) for topic, queue in self._queues.items()
                         if queue and (not topics or topic in topics)]
                if heads:
                    topic = min(heads)[1]
                    item = (topic, self._queues[topic].popleft()[1])
                else:
                    item = _NOTHING
                    self._receive_one(deadline)
            self._after_receive()
            if item is not _NOTHING:
                return item

    # ---- what the daemon adds ----

    def status(self):
        """The daemon's status: link state and reason, port, negotiated
        caps, fps, counters, shared cam state, number of clients."""
        return self.call("status")

    def clients(self):
        """One dict per client of the daemon; ``self`` is True for this one."""
        return self.call("clients")

    def wait_ready(self, timeout=_DEFAULT):
        """Wait until the daemon's link to the cam is ready (subscribes to
        the ``link`` topic); raises NotConnectedException when it is not
        ready in time."""
        deadline = self._deadline(timeout)
        self.subscribe("link")
        if self.status()["link"] == "ready":
            return
        try:
            while self._link_state != "ready":
                with self._io:
                    self._receive_one(deadline)
                self._after_receive()
        except TimeoutException as e:
            raise NotConnectedException("the cam's link to omvd is not ready") from e

    def subscribe(self, *topics, frame_format="none", shm=None):
        """Ask for notifications on topics ("link", "event", "stdout",
        "frame", "state"); returns this client's topics. With "frame",
        frame_format ("none", "jpeg", "rgb888", "native") says what pixels
        frames carry, and shm whether they come in shared memory (default:
        whenever the connection can pass file descriptors)."""
        params = {"topics": list(topics)}
        if "frame" in topics:
            if shm is None:
                shm = frame_format != "none" and self._connection().passes_fds
            params.update(frame_format=frame_format, shm=bool(shm))
            self._queues.pop("frame", None)
        return self.call("subscribe", params)

    def unsubscribe(self, *topics):
        """Stop notifications on topics; returns this client's topics."""
        return self.call("unsubscribe", {"topics": list(topics)})

    def frames(self, format="jpeg", *, timeout=None):
        """Iterate over the cam's frames as they come (streaming is on while
        the iterator runs).

        Each frame is a dict: width, height, format, depth, raw_size,
        number, timestamp, fps, encoding, and data: the JPEG bytes
        ("jpeg"), w*h*3 RGB bytes ("rgb888"), or a (h, w, 3) uint8 numpy
        array ("numpy"). Pixels that came in shared memory are a read-only
        memoryview of it, not a copy. Frames the daemon could not decode are
        left out; the iterator waits ``timeout`` seconds at most for each
        frame (None: forever) and raises TimeoutException after that.
        """
        wire = wire_encoding(format)
        if format == "numpy":
            numpy_module()
        self.subscribe("frame", frame_format=wire)
        try:
            while True:
                frame = frame_value(self._next_notification(("frame",), timeout)[1], format)
                if frame is not None:
                    yield frame
        finally:
            if not self.closed:
                self.unsubscribe("frame")

    def stdout_lines(self, *, timeout=None):
        """Iterate over the lines the cam's scripts print (without the
        newline), as they come, starting with what the running (or last)
        script printed so far. The subscription has its own cursor:
        read_stdout() still returns everything too. Waits ``timeout``
        seconds at most for more output (None: forever), then raises
        TimeoutException."""
        self.subscribe("stdout")
        partial = ""
        try:
            while True:
                partial += self._next_notification(("stdout",), timeout)[1]["text"]
                *lines, partial = partial.split("\n")
                yield from lines
        finally:
            if not self.closed:
                self.unsubscribe("stdout")

    def notifications(self, *topics, timeout=None):
        """Iterate over (topic, params) of the notifications of topics (all
        the subscribed ones when none are given), in the order they came:
        link, event, stdout, frame (as sent: see frames() for pixels),
        state, and lock (a lock the daemon could not keep for this
        client). Waits ``timeout`` seconds at most for each (None:
        forever), then raises TimeoutException."""
        while True:
            yield self._next_notification(topics, timeout)
