"""Frame objects of the daemon (docs/rpc.md) as Python values."""

import base64

from .errors import OMVException

# What the caller asks for -> the encoding the daemon sends.
WIRE_ENCODING = {"jpeg": "jpeg", "rgb888": "rgb888", "numpy": "rgb888"}


def wire_encoding(kind):
    """The daemon's encoding for kind ("jpeg", "rgb888" or "numpy")."""
    try:
        return WIRE_ENCODING[kind]
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(WIRE_ENCODING)}, "
                         f"not {kind!r}") from None


def numpy_module():
    """numpy, or an ImportError that says what needs it."""
    try:
        import numpy
    except ImportError as e:
        raise ImportError('frames(format="numpy") needs numpy (python3-numpy)') from e
    return numpy


def frame_value(frame, kind):
    """The frame dict with data as kind wants it, or None when the daemon
    could not give this frame in that encoding.

    The pixels are ``bytes`` when they came base64-encoded, a read-only
    ``memoryview`` of the shared mapping when they came in shared memory
    (no copy), and for "numpy" a read-only array of shape (height, width, 3).
    """
    data = frame.get("data")
    if frame.get("encoding") != WIRE_ENCODING[kind] or data is None:
        return None
    if isinstance(data, str):
        data = base64.b64decode(data)
    if kind == "numpy":
        np = numpy_module()
        data = np.frombuffer(data, dtype=np.uint8).reshape(frame["height"], frame["width"], 3)
    return dict(frame, data=data)


def frame_bytes(frame, kind):
    """As frame_value, with data always ``bytes`` (the openmv package's
    read_frame shape); raises OMVException for a frame that did not decode."""
    value = frame_value(frame, kind)
    if value is None:
        raise OMVException(f"frame {frame.get('number')} could not be decoded to {kind}")
    if not isinstance(value["data"], bytes):
        value["data"] = bytes(value["data"])
    return value
