"""Event ids at their edges: borrowing the millisecond of ``after``, the random part, and the
last millisecond of ULID time. python-ulid decodes what ``new_event_id`` makes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from ulid import ULID

from spec_kitty_telemetry.ids import is_ulid, new_event_id, normalize_event_id

_RANDOM_BITS = 80
_LAST_MILLISECOND = (1 << 48) - 1


def ulid_of(millis: int, random_part: int) -> str:
    """The canonical text of the ULID with these two parts (python-ulid encodes it)."""
    return str(ULID.from_int((millis << _RANDOM_BITS) | random_part))


def parts(event_id: str) -> tuple[int, int]:
    """The millisecond and the random part of an id."""
    value = int(ULID.from_str(event_id))
    return value >> _RANDOM_BITS, value & ((1 << _RANDOM_BITS) - 1)


def test_an_id_after_a_future_one_takes_its_millisecond_when_the_random_part_allows():
    """``after`` in the future with random part 0: the new id is in that very millisecond."""
    future = int((datetime.now(UTC) + timedelta(days=30)).timestamp() * 1000)
    after = ulid_of(future, 0)
    for _ in range(50):
        made = new_event_id(after=after)
        millis, random_part = parts(made)
        assert made > after
        assert millis == future
        assert random_part > 0


def test_an_id_after_a_full_millisecond_takes_the_next_one():
    """``after`` with the largest random part: no id above it in its millisecond, so the next."""
    future = int((datetime.now(UTC) + timedelta(days=30)).timestamp() * 1000)
    after = ulid_of(future, (1 << _RANDOM_BITS) - 1)
    for _ in range(50):
        made = new_event_id(after=after)
        assert made > after
        assert parts(made)[0] == future + 1


def test_an_id_after_a_past_one_keeps_its_own_time():
    """``after`` in the past does not pull the new id back: it is stamped with ``at``."""
    at = datetime(2026, 2, 16, 9, 12, 58, 36000, tzinfo=UTC)
    after = ulid_of(int(at.timestamp() * 1000) - 1, (1 << _RANDOM_BITS) - 1)
    made = new_event_id(after=after, at=at)
    assert ULID.from_str(made).datetime == at
    assert made > after


def test_an_id_equal_to_after_is_never_returned():
    """``after`` in the same millisecond as ``at``: the new id is above it, never equal."""
    at = datetime(2026, 2, 16, 9, 12, 58, 36000, tzinfo=UTC)
    millis = int(at.timestamp() * 1000)
    for random_part in (0, 1, (1 << _RANDOM_BITS) - 2, (1 << _RANDOM_BITS) - 1):
        after = ulid_of(millis, random_part)
        made = new_event_id(after=after, at=at)
        assert made > after
        assert parts(made)[0] in (millis, millis + 1)


def test_the_last_millisecond_of_ulid_time_falls_back_to_the_clock():
    """Nothing is above the largest ULID: the id is a canonical one made at ``at``."""
    at = datetime(2026, 2, 16, 9, 12, 58, 36000, tzinfo=UTC)
    for after in ("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", ulid_of(_LAST_MILLISECOND, (1 << 80) - 1)):
        made = new_event_id(after=after, at=at)
        assert normalize_event_id(made) == made  # canonical: 26 characters, first at most 7
        assert ULID.from_str(made).datetime == at


def test_the_last_millisecond_still_takes_ids_above_a_low_random_part():
    """In the last millisecond an id above ``after`` still exists while the random part allows."""
    after = ulid_of(_LAST_MILLISECOND, 0)
    made = new_event_id(after=after)
    assert made > after
    assert normalize_event_id(made) == made
    assert parts(made)[0] == _LAST_MILLISECOND


def test_new_ids_carry_80_random_bits_and_the_exact_millisecond():
    """The random part uses all 80 bits, and never spills into the millisecond."""
    at = datetime(2026, 2, 16, 9, 12, 58, 36000, tzinfo=UTC)
    made = [new_event_id(at=at) for _ in range(200)]
    assert all(ULID.from_str(i).datetime == at for i in made)
    assert max(parts(i)[1] for i in made) >= 1 << (_RANDOM_BITS - 1)
    assert len(set(made)) == len(made)


def test_an_id_made_now_carries_the_current_millisecond():
    """Without ``at`` the id is stamped with the wall clock, to the millisecond."""
    before = time.time_ns() // 1_000_000
    made = new_event_id()
    after = time.time_ns() // 1_000_000
    assert before <= parts(made)[0] <= after


def test_ids_around_the_unix_epoch_encode_canonically():
    """The first millisecond of ULID time encodes with leading zeros, 26 characters long."""
    made = new_event_id(at=datetime(1970, 1, 1, tzinfo=UTC))
    assert made.startswith("0000000000")
    assert normalize_event_id(made) == made
    assert parts(made)[0] == 0


def test_the_largest_ulid_is_a_ulid_and_the_next_id_is_not():
    """``is_ulid`` holds up to the 128-bit maximum inclusive: ``7ZZ…Z`` (python-ulid's largest)
    is a ULID; the next canonical id, ``800…0``, is another tool's id."""
    largest = str(ULID.from_int((1 << 128) - 1))
    assert is_ulid(largest)
    assert is_ulid(normalize_event_id(largest.lower()))
    assert not is_ulid("8" + "0" * 25)
