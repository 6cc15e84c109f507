"""Numbers of the OpenMV protocol that programs pass to the low-level
methods (``_send_cmd_wait_resp``, ``_handle_event``)."""

import enum


class Opcode(enum.IntEnum):
    """Command opcodes of the OpenMV protocol v2."""

    PROTO_SYNC = 0x00
    PROTO_GET_CAPS = 0x01
    PROTO_SET_CAPS = 0x02
    PROTO_STATS = 0x03
    PROTO_VERSION = 0x04
    SYS_RESET = 0x10
    SYS_BOOT = 0x11
    SYS_INFO = 0x12
    SYS_EVENT = 0x13
    SYS_MEMORY = 0x14
    CHANNEL_LIST = 0x20
    CHANNEL_POLL = 0x21
    CHANNEL_LOCK = 0x22
    CHANNEL_UNLOCK = 0x23
    CHANNEL_SHAPE = 0x24
    CHANNEL_SIZE = 0x25
    CHANNEL_READ = 0x26
    CHANNEL_WRITE = 0x27
    CHANNEL_IOCTL = 0x28
    CHANNEL_EVENT = 0x29


class EventType(enum.IntEnum):
    """System events (channel 0)."""

    CHANNEL_REGISTERED = 0
    CHANNEL_UNREGISTERED = 1
    SOFT_REBOOT = 2
