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

__all__ = ["CANONICAL_ID", "MAX_ULID", "is_ulid", "new_event_id", "normalize_event_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32, in ASCII order
_VALUES = {char: value for value, char in enumerate(_ALPHABET)}
#: The canonical form of an event id: 26 characters of the alphabet, uppercase. A ULID
#: (a first character from 0 to 7) is one; so is any other such string (see normalize_event_id).
CANONICAL_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_MAX = (1 << 128) - 1
#: The largest ULID; canonical ids above it are 26-char ids of other tools, not ULIDs.
MAX_ULID = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"


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
    """Return the canonical form (26 uppercase characters) of an event id.

    ULIDs in any case are accepted, and so is any other 26-character string of
    their alphabet (Crockford's base32): spec-kitty, without python-ulid,
    writes ``uuid4().hex[:26]``, and half of those start with 8 to f, above
    the largest ULID. Such ids identify an event like any other; they are just
    not time-ordered. UUIDs (32 hex digits, or 36 characters with dashes) from
    tools that key events by UUID are converted: a UUID is the same 128 bits,
    so it becomes a ULID without losing identity. Raises ValueError for
    anything else.
    """
    if not isinstance(value, str):
        raise ValueError(f"event id must be a string, not {type(value).__name__}")
    if CANONICAL_ID.fullmatch(value):
        return value
    if len(value) == 26:
        upper = value.upper()
        if CANONICAL_ID.fullmatch(upper):
            return upper
    elif len(value) in (32, 36):
        import uuid

        try:
            return _encode(uuid.UUID(value).int)
        except ValueError:
            pass
    raise ValueError(f"not a ULID or UUID: {value!r}")


def is_ulid(event_id: str) -> bool:
    """Tell whether a canonical event id is a ULID (within 128 bits), not another tool's id."""
    return event_id <= MAX_ULID


def new_event_id(*, after: str | None = None, at: datetime | None = None) -> str:
    """Return a fresh ULID for an event created at ``at`` (default: now).

    With ``after`` (a canonical id), the result is also greater than it, so ids
    in a log keep rising in file order even when a clock steps back or the log
    holds an id from the future (a machine whose clock runs ahead, or a UUID
    from another tool). The id then borrows the millisecond of ``after`` (or
    the next one) but keeps 80 fresh random bits: two clones extending the same
    log never make the same id. No ULID is above an ``after`` that is not one
    (another tool's id, see :func:`normalize_event_id`); the result is then
    made from the clock alone.
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
