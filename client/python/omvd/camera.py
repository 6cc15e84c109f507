"""omvd.Camera: the openmv package's Camera, through the daemon.

Every method keeps the openmv package's name, parameters, defaults and
result shape; each is one call to the daemon's method of the same name
(docs/rpc.md), so any number of programs can use the cam at once."""

import base64
import functools
import logging
import warnings
from collections import deque

from .client import Client
from .constants import EventType
from .errors import ResyncException
from .frames import frame_bytes

log = logging.getLogger("omvd")

_DEFAULTS = {"baudrate": 921600, "max_retry": 3, "drop_rate": 0.0}


class OptionWarning(UserWarning):
    """A Camera option that the daemon decides for every client."""


def _retry_if_failed(func):
    """Decorator for methods that talk to the cam: when the call fails
    because the cam's link was being re-established (ResyncException),
    wait for the link and run the method once more."""

    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        try:
            return func(self, *args, **kwargs)
        except ResyncException:
            if self.closed:
                raise
            self.wait_ready()
            return func(self, *args, **kwargs)

    return wrapper


def _b64(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def _bytes_or_none(value):
    return None if value is None else base64.b64decode(value)


def _tuples(info, keys):
    """info with the lists under keys as tuples (the package's shapes)."""
    return {k: tuple(v) if k in keys and isinstance(v, list) else v for k, v in info.items()}


class Camera(Client):
    """The openmv package's Camera, served by omvd and shared with every
    other client of the daemon.

    ``port`` selects the daemon (see Client): its socket, the serial port it
    serves, an ``ssh://`` URL, or None. The protocol options (baudrate,
    crc, seq, ack, max_retry, max_payload, drop_rate) belong to the daemon,
    which negotiates the link once for all clients: values that differ
    from what it uses give one OptionWarning at connect(). ``events=False``
    is honoured: this client then gets no events. ``timeout`` bounds each
    call, in seconds.

    The context manager calls connect() and disconnect(). Events the
    daemon pushes reach _handle_event() while any method runs and from
    poll_events().
    """

    def __init__(self, port=None, *, baudrate=921600, crc=True, seq=True, ack=True, events=True,
                 timeout=1.0, max_retry=3, max_payload=4096, drop_rate=0.0):
        super().__init__(port, timeout=timeout)
        self.baudrate = baudrate
        self.max_retry = max_retry
        self.drop_rate = drop_rate
        self.caps = {"crc": crc, "seq": seq, "ack": ack, "events": events,
                     "max_payload": max_payload}
        self._wanted = dict(self.caps)
        self._warned = False
        self._events = deque()
        self._channels = None  # {id: {"name", "flags"}}; None until (re)loaded
        self._version = None
        self.sysinfo = None
        self.run_id = None

    retry_if_failed = staticmethod(_retry_if_failed)

    # ---- connection ----

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.disconnect()

    def connect(self):
        """Connect to the daemon and wait (up to the timeout) for its link
        to the cam; caches the version and system info (and the channel
        list when first used)."""
        self.disconnect()
        self.open()
        try:
            if self._wanted["events"]:
                self.subscribe("event")
            self.wait_ready()
            self._check_options(self.status()["caps"])
            self._channels = self._version = self.sysinfo = None
            self.version()
            self.system_info()
        except BaseException:
            self.close()
            raise

    def disconnect(self):
        """Close this program's connection to the daemon. The cam's port
        stays open: the daemon and its other clients carry on."""
        self.close()
        self._events.clear()

    def is_connected(self):
        """True when connected to the daemon and its link to the cam is up."""
        if self.closed:
            return False
        try:
            return bool(self.call("is_connected"))
        except ResyncException:
            return False

    def _check_options(self, caps):
        """Say once which options the daemon overrides."""
        self.caps = dict(caps)
        wanted = self._wanted
        ignored = [f"{k}={wanted[k]} (omvd: {caps.get(k)})" for k in ("crc", "seq", "ack")
                   if caps.get(k) != wanted[k]]
        if wanted["events"] and not caps.get("events"):
            ignored.append("events=True (omvd runs the link without events)")
        if wanted["max_payload"] < caps.get("max_payload", 0):
            ignored.append(f"max_payload={wanted['max_payload']} "
                           f"(omvd: {caps.get('max_payload')})")
        for name, default in _DEFAULTS.items():
            if getattr(self, name) != default:
                ignored.append(f"{name}={getattr(self, name)} (set on omvd's command line)")
        if ignored and not self._warned:
            self._warned = True
            warnings.warn("omvd negotiates the link for all its clients; ignored: "
                          + ", ".join(ignored), OptionWarning, stacklevel=4)

    @_retry_if_failed
    def reset(self):
        """Reset the cam (for every client). The daemon reconnects by itself
        when the cam is back; this connection stays open."""
        self.call("reset")

    @_retry_if_failed
    def boot(self):
        """Jump the cam into its bootloader (for every client)."""
        self.call("boot")

    @_retry_if_failed
    def update_capabilities(self):
        """Have the daemon renegotiate the link's capabilities with the cam
        (its own settings, for all clients); updates ``caps``."""
        self._check_options(self.call("update_capabilities"))

    def poll_events(self):
        """Deliver the events that reached the daemon so far to
        _handle_event() without doing anything else."""
        self.call("poll_events")  # the events come as notifications before the reply

    # ---- scripts ----

    @_retry_if_failed
    def exec(self, script):
        """Run script (MicroPython source) on the cam, stopping the running
        one first. The daemon's run id of the new script is kept in
        ``run_id``."""
        self.run_id = self.call("exec", {"script": script})

    @_retry_if_failed
    def stop(self):
        """Stop the running script."""
        self.call("stop")

    @_retry_if_failed
    def read_stdout(self):
        """What the scripts printed since this client's previous call, as a
        string, or None when nothing was."""
        return self.call("read_stdout")

    # ---- streaming ----

    @_retry_if_failed
    def streaming(self, enable, raw=False, resolution=None):
        """Turn this client's wish for the frame stream on or off (the cam
        streams while any client wants it). raw selects uncompressed frames
        on the wire, scaled to resolution (width, height)."""
        self.call("streaming", {"enable": bool(enable), "raw": bool(raw),
                                "resolution": None if resolution is None else list(resolution)})

    @_retry_if_failed
    def read_frame(self):
        """The newest frame this client has not seen yet, or None.

        A dict: width, height, format, depth, data (RGB888 bytes, width *
        height * 3), raw_size; plus the daemon's number, timestamp, fps and
        encoding."""
        params = {"format": "rgb888"}
        if self._connection().passes_fds:
            params["shm"] = True
        frame = self.call("read_frame", params)
        return None if frame is None else frame_bytes(frame, "rgb888")

    # ---- channels ----

    @_retry_if_failed
    def has_channel(self, name):
        """True when a channel of that name exists on the cam."""
        return self.call("has_channel", {"name": name})

    @_retry_if_failed
    def channel_size(self, name):
        """Bytes available on the named channel; 0 when empty or missing."""
        return self.call("channel_size", {"name": name})

    @_retry_if_failed
    def channel_read(self, name, size=None):
        """Read size bytes (None: all available) from the named channel;
        None when the channel does not exist."""
        params = {"name": name}
        if size is not None:
            params["size"] = size
        return _bytes_or_none(self.call("channel_read", params))

    @_retry_if_failed
    def channel_write(self, name, data):
        """Write data to the named channel; False when it does not exist."""
        return self.call("channel_write", {"name": name, "data": _b64(data)})

    @_retry_if_failed
    def read_status(self):
        """{channel name: data ready} for every channel."""
        return self.call("read_status")

    @_retry_if_failed
    def update_channels(self):
        """Refresh the channel list (the daemon's and ``channels_by_id``)."""
        self.call("update_channels")
        self._channels = self._channel_list()

    @_retry_if_failed
    def get_channel(self, name=None, channel_id=None):
        """The id of the channel called name, or the name of channel_id;
        None when there is no such channel."""
        if name is not None:
            return self.call("get_channel", {"name": name})
        if channel_id is not None:
            return self.call("get_channel", {"channel_id": channel_id})
        raise ValueError("Must specify either name or channel_id")

    @property
    def channels_by_id(self):
        """{id: {"name": str, "flags": int}}, reloaded after channel events."""
        if self._channels is None:
            self._channels = self._channel_list()
        return self._channels

    @property
    def channels_by_name(self):
        """{name: id} of channels_by_id."""
        return {ch["name"]: cid for cid, ch in self.channels_by_id.items()}

    # ---- device ----

    def version(self):
        """{protocol_version, bootloader_version, firmware_version}, each a
        (major, minor, patch) tuple; cached at connect()."""
        if self._version is None:
            info = self.call("version")
            self._version = _tuples(info, info.keys())
        return dict(self._version)

    def system_info(self):
        """The cam's identity, memory sizes and capability flags (the
        openmv package's keys); cached at connect()."""
        if self.sysinfo is None:
            self.sysinfo = _tuples(self.call("system_info"), ("device_id", "chip_id"))
        return dict(self.sysinfo)

    def print_system_info(self):
        """Log the system information and versions at INFO level."""
        info = self.system_info()
        versions = self.version()
        flags = [k[:-len("_present")] for k, v in info.items() if k.endswith("_present") and v]
        lines = [
            "cam system information:",
            f"  CPU ID:        0x{info['cpu_id']:08X}",
            "  device ID:     " + "".join(f"{w:08X}" for w in info["device_id"]),
            "  sensor chips:  " + ", ".join(f"0x{c:04X}" for c in info["chip_id"]),
            f"  USB:           {info['usb_vid']:04X}:{info['usb_pid']:04X}"
            + (" (high speed)" if info["usb_highspeed"] else ""),
            f"  flash / RAM:   {info['flash_size_kb']} / {info['ram_size_kb']} KB",
            f"  framebuffer:   {info['framebuffer_size_kb']} KB, stream buffer "
            f"{info['stream_buffer_size_kb']} KB",
            "  hardware:      " + (", ".join(flags) or "none"),
            f"  PMU counters:  {info['pmu_eventcnt']}",
        ]
        lines += [f"  {k.replace('_', ' ')}: " + ".".join(map(str, v))
                  for k, v in versions.items()]
        log.info("\n".join(lines))

    @_retry_if_failed
    def host_stats(self):
        """The daemon's link counters: sent, received, checksum, sequence."""
        return self.call("host_stats")

    @_retry_if_failed
    def device_stats(self):
        """The cam's link counters: sent, received, checksum, sequence,
        retransmit, transport, sent_events, max_ack_queue_depth."""
        return self.call("device_stats")

    # ---- profiler ----

    @_retry_if_failed
    def profiler_mode(self, exclusive=False):
        """Select exclusive (True) or inclusive (False) timing."""
        self.call("profiler_mode", {"exclusive": bool(exclusive)})

    @_retry_if_failed
    def profiler_reset(self, config=None):
        """Clear the profile counters; config None restores the default PMU
        events, a list gives the event id of each counter."""
        self.call("profiler_reset", {"config": config})

    @_retry_if_failed
    def profiler_event(self, counter_num, event_id):
        """Make PMU counter counter_num count event event_id."""
        self.call("profiler_event", {"counter_num": counter_num, "event_id": event_id})

    @_retry_if_failed
    def read_profile(self):
        """The profile records (dicts: address, caller, call_count,
        min_ticks, max_ticks, total_ticks, total_cycles, events tuple), or
        None without a profile channel or data."""
        records = self.call("read_profile")
        if records is None:
            return None
        return [_tuples(r, ("events",)) for r in records]

    # ---- events ----

    def _notify(self, topic, params):
        if topic == "event" and isinstance(params, dict):
            self._events.append((params.get("channel"), params.get("event")))
            return
        if topic == "lock":
            log.warning("omvd could not keep this client's lock: %s", params)
        super()._notify(topic, params)

    def _after_receive(self):
        while self._events:
            self._handle_event(*self._events.popleft())

    def _handle_event(self, channel_id, event):
        """Handle one event from the cam (override to react to events, and
        call super()._handle_event() to keep this): a system event makes the
        channel list reload on its next use; the others are logged."""
        if channel_id == 0:
            self._channels = None
            try:
                log.info("cam event: %s", EventType(event).name)
            except ValueError:
                log.info("cam event: %s", event)
            return
        channel = (self._channels or {}).get(channel_id, {}).get("name", channel_id)
        if channel == "stdin":
            log.info("script %s", "started" if event == 1 else "stopped")
        else:
            log.debug("channel %s: event 0x%04X", channel, event)

    # ---- channels by id ----

    def _channel_lock(self, channel_id):
        """Lock channel_id for this client: True when granted, False when
        the cam is busy; ChannelLockedException when another client holds
        it."""
        return self.call("channel_lock", {"channel_id": channel_id})

    def _channel_unlock(self, channel_id):
        """Release this client's lock on channel_id."""
        return self.call("channel_unlock", {"channel_id": channel_id})

    def _channel_shape(self, channel_id):
        """The channel's shape descriptor, a tuple of ints."""
        return tuple(self.call("channel_shape", {"channel_id": channel_id}))

    def _channel_ioctl(self, channel_id, cmd, fmt=None, *args):
        """Run ioctl cmd on channel_id with args packed by struct format fmt
        (little-endian unless fmt says otherwise): the answer's bytes, or
        True when the cam answered with no data."""
        params = {"channel_id": channel_id, "cmd": cmd}
        if fmt is not None:
            params.update(fmt=fmt, args=list(args))
        answer = self.call("channel_ioctl", params)
        return answer if isinstance(answer, bool) else _bytes_or_none(answer)

    def _channel_size(self, channel_id):
        """Bytes available on channel_id."""
        return self.call("channel_size_id", {"channel_id": channel_id})

    def _channel_read(self, channel_id, offset, length):
        """length bytes of channel_id from offset."""
        return base64.b64decode(self.call("channel_read_id", {
            "channel_id": channel_id, "offset": offset, "length": length}))

    def _channel_write(self, channel_id, data, offset=0):
        """Write data to channel_id at offset."""
        self.call("channel_write_id", {"channel_id": channel_id, "data": _b64(data),
                                       "offset": offset})

    def _channel_list(self):
        """{id: {"name": str, "flags": int}}, fresh from the cam."""
        return {int(cid): ch for cid, ch in self.call("channel_list").items()}

    def _send_cmd_wait_resp(self, opcode, channel=0, data=b""):
        """Send a raw command through the daemon: the answer's payload, or
        None (SYS_RESET, SYS_BOOT, an empty answer). The daemon refuses
        commands that would bypass its sharing rules (docs/rpc.md)."""
        return _bytes_or_none(self.call("send_command", {
            "opcode": int(opcode), "channel": channel, "data": _b64(data)}))

    def _resync(self):
        """Have the daemon resynchronise its link with the cam."""
        self.call("resync")
