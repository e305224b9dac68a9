"""Event ids: ULIDs, canonical form and generation.

Kept free of third-party imports because it sits on the emit path of
short-lived processes, where import time is most of the cost: encoding a ULID
is a few lines, while importing python-ulid pulls in ``importlib.metadata``
(about 20 ms here, twice the interpreter's own start-up). The tests check this
module against python-ulid.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime

__all__ = ["new_event_id", "normalize_event_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32, in ASCII order
_VALUES = {char: value for value, char in enumerate(_ALPHABET)}
_CANONICAL = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_MAX = (1 << 128) - 1


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _decode(text: str) -> int:
    value = 0
    for char in text:
        value = (value << 5) | _VALUES[char]
    return value


def normalize_event_id(value: object) -> str:
    """Return the canonical form (26-char uppercase ULID) of an event id.

    ULIDs in any case are accepted, and so are UUIDs (32 hex digits, or 36
    characters with dashes) from tools that key events by UUID: a UUID is the
    same 128 bits, so it converts to a ULID without losing identity.
    Raises ValueError for anything else.
    """
    if not isinstance(value, str):
        raise ValueError(f"event id must be a string, not {type(value).__name__}")
    if _CANONICAL.fullmatch(value):
        return value
    if len(value) == 26:
        upper = value.upper()
        if _CANONICAL.fullmatch(upper):
            return upper
    elif len(value) in (32, 36):
        import uuid

        try:
            return _encode(uuid.UUID(value).int)
        except ValueError:
            pass
    raise ValueError(f"not a ULID or UUID: {value!r}")


def new_event_id(*, after: str | None = None, at: datetime | None = None) -> str:
    """Return a fresh ULID for an event created at ``at`` (default: now).

    With ``after`` (a canonical id), the result is also greater than it, so ids
    in a log keep rising in file order even when a clock steps back or the log
    holds an id from the future (a machine whose clock runs ahead, or a UUID
    from another tool). The id then borrows the millisecond of ``after`` (or
    the next one) but keeps 80 fresh random bits: two clones extending the same
    log never make the same id.
    """
    millis = int(at.timestamp() * 1000) if at is not None else time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | random_bits
    if after is not None and value <= (floor := _decode(after)):
        floor_millis = floor >> 80
        value = (floor_millis << 80) | random_bits
        if value <= floor:
            value = ((floor_millis + 1) << 80) | random_bits
        if value > _MAX:
            # Only an id in the log's very last millisecond of ULID time gets here;
            # uniqueness matters more than order, so fall back to the clock.
            value = (millis << 80) | random_bits
    return _encode(value)
