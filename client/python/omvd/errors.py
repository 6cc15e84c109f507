"""Exceptions of the omvd package.

The four classes of the openmv package (OMVException and its Timeout,
Checksum and Sequence subclasses) keep their meaning; the daemon knows a
few causes more precisely and raises subclasses of them, so code written
for the openmv package catches everything it caught before.
"""


class OMVException(Exception):
    """Base class of every error the cam, the link or the daemon reports.

    ``code`` is the daemon's JSON-RPC error code (None when the client found
    the error itself) and ``data`` the error's data object, if any.
    """

    def __init__(self, message="", code=None, data=None):
        super().__init__(message)
        self.code = code
        self.data = data


class TimeoutException(OMVException):
    """The cam (or the daemon) did not answer within the timeout."""


class ChecksumException(OMVException):
    """A CRC error persisted after the daemon's resync and retry."""


class SequenceException(OMVException):
    """A sequence error persisted after the daemon's resync and retry."""


class ResyncException(OMVException):
    """The call failed because the cam's link was being re-established.

    Methods decorated with ``Camera.retry_if_failed`` wait for the link and
    retry once when they see it.
    """


class NotConnectedException(ResyncException):
    """The cam is not connected to the daemon (link down, or it dropped
    during the call), or the daemon cannot be reached."""


class BusyException(OMVException):
    """The cam said "not now" (BUSY); the call may be tried again."""


class ChannelLockedException(BusyException):
    """The channel is locked by another client of the daemon."""


class ChannelNotFoundException(OMVException):
    """No channel with that id exists on the cam."""


# JSON-RPC error codes of omvd (docs/rpc.md).
NOT_CONNECTED = -32000
TIMEOUT = -32001
CAM_STATUS = -32002
CHANNEL_NOT_FOUND = -32003
BUSY = -32004
PROTOCOL = -32005
CHANNEL_LOCKED = -32006

_BY_CODE = {
    NOT_CONNECTED: NotConnectedException,
    TIMEOUT: TimeoutException,
    CHANNEL_NOT_FOUND: ChannelNotFoundException,
    BUSY: BusyException,
    CHANNEL_LOCKED: ChannelLockedException,
}

# The cam's status names (a NAK's status, or the error that persisted).
_BY_STATUS = {
    "TIMEOUT": TimeoutException,
    "CHECKSUM": ChecksumException,
    "SEQUENCE": SequenceException,
    "BUSY": BusyException,
}


def error_from_reply(error):
    """The exception for a JSON-RPC error object of omvd."""
    code = error.get("code")
    message = error.get("message", "")
    data = error.get("data")
    cls = _BY_CODE.get(code, OMVException)
    if code in (CAM_STATUS, PROTOCOL) and isinstance(data, dict):
        cls = _BY_STATUS.get(data.get("name"), OMVException)
    return cls(message, code, data)
