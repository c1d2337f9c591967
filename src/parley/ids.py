"""Prefixed, time-ordered object ids in the API's style (``msg_01…``, ``toolu_01…``).

An id is the prefix, ``01`` (as the API's ids begin), and 22 base58 characters
encoding a 48-bit millisecond timestamp followed by 80 random bits. The alphabet is in
ASCII order and the width is fixed, so ids of one kind sort by creation time, which
the id-cursor pagination of batches and admin lists relies on.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_WIDTH = 22

PREFIXES = frozenset(
    {
        "msg",
        "toolu",
        "srvtoolu",
        "msgbatch",
        "file",
        "skill",
        "skver",
        "req",
        "wrkspc",
        "user",
        "apikey",
        "invite",
        "spl",
        "prompt",
    }
)


def _base58(value: int) -> str:
    chars = []
    for _ in range(_WIDTH):
        value, rem = divmod(value, 58)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id such as ``msg_01H3…``; ``prefix`` must be one of :data:`PREFIXES`."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = time.time_ns() // 1_000_000
    value = (millis << 80) | secrets.randbits(80)
    return f"{prefix}_01{_base58(value)}"
