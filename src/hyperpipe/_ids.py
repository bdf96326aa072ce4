"""Random ids in ``uuid.uuid4()``'s format, without importing ``uuid`` (it imports ``platform``,
a few milliseconds of every process's start-up, for its time-based ids)."""

from __future__ import annotations

import os

__all__ = ["uuid4_hex", "uuid4_str"]


def uuid4_hex() -> str:
    """``uuid.uuid4().hex``: 32 hex digits, version 4, RFC 4122 variant."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    return raw.hex()


def uuid4_str() -> str:
    """``str(uuid.uuid4())``: the hex digits grouped 8-4-4-4-12."""
    h = uuid4_hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
