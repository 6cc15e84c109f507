"""omvd: the openmv package's Camera through omvd, so that several programs
share one OpenMV cam.

Switch existing code with one import::

    from omvd import Camera          # was: from openmv import Camera

    with Camera("/dev/ttyACM0") as cam:   # the daemon serving that port
        cam.exec('print("hello")')

``Client`` adds what the daemon offers beyond the cam: subscriptions, frame
and stdout iterators, status() and clients().
"""

from .camera import Camera, OptionWarning
from .client import Client
from .constants import EventType, Opcode
from .errors import (BusyException, ChannelLockedException, ChannelNotFoundException,
                     ChecksumException, NotConnectedException, OMVException, ResyncException,
                     SequenceException, TimeoutException)

__version__ = "0.1.0"

__all__ = [
    "Camera", "Client", "OptionWarning", "Opcode", "EventType",
    "OMVException", "TimeoutException", "ChecksumException", "SequenceException",
    "ResyncException", "NotConnectedException", "BusyException", "ChannelLockedException",
    "ChannelNotFoundException",
]
