"""Event ids: canonical ULIDs, UUID conversion, and generation order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st
from ulid import ULID

from spec_kitty_telemetry.ids import is_ulid, new_event_id, normalize_event_id


def test_canonical_ulid_is_returned_unchanged():
    """A canonical ULID (the form we write) passes through as is."""
    assert normalize_event_id("01KHJVJWDM0HGAGYGXJYKD1JQG") == "01KHJVJWDM0HGAGYGXJYKD1JQG"


def test_lowercase_ulid_is_uppercased():
    """ULIDs are case-insensitive; the canonical form is uppercase."""
    assert normalize_event_id("01khjvjwdm0hgagygxjykd1jqg") == "01KHJVJWDM0HGAGYGXJYKD1JQG"


@given(st.uuids())
def test_uuid_forms_convert_to_the_same_ulid_as_python_ulid(value: uuid.UUID):
    """32-hex and 36-char UUIDs become the ULID with the same 128 bits (python-ulid agrees)."""
    expected = str(ULID.from_uuid(value))
    assert normalize_event_id(str(value)) == expected
    assert normalize_event_id(value.hex) == expected
    assert normalize_event_id(str(value).upper()) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-an-id",
        "01KHJVJWDM0HGAGYGXJYKD1JQ",  # 25 chars
        "01KHJVJWDM0HGAGYGXJYKD1JQU",  # U is not in Crockford's alphabet
        "01KHJVJWDM0HGAGYGXJYKD1JQGG",  # 27 chars
        "01KHJVJWDM0HGAGYGXJYKD1JQ-",  # not the alphabet
        "g" * 32,
        None,
        123,
    ],
)
def test_anything_else_is_rejected(bad: object):
    """Strings that are neither a ULID nor a UUID, and non-strings, raise ValueError."""
    with pytest.raises(ValueError, match=r"ULID|string"):
        normalize_event_id(bad)


def test_spec_kitty_fallback_ids_are_ids_above_the_ulid_range_or_not():
    """uuid4().hex[:26] (what spec-kitty writes without python-ulid) is an id, uppercased.

    Half of those start with 8 to f: above every ULID, yet still an id; only
    is_ulid tells them apart.
    """
    for first in "0123456789abcdef":
        value = first + uuid.uuid4().hex[1:26]
        assert normalize_event_id(value) == value.upper()
        assert is_ulid(normalize_event_id(value)) == (first in "01234567")


def test_new_ids_after_an_id_above_every_ulid_are_still_ulids():
    """No ULID sorts above an id starting with F; a new one is made from the clock instead."""
    made = new_event_id(after="F" * 26)
    assert is_ulid(made)
    assert ULID.from_str(made).datetime.year >= 2025


def test_new_ids_carry_their_creation_time():
    """The ULID timestamp of a new id is the time it was made for (python-ulid decodes it)."""
    at = datetime(2026, 2, 16, 9, 12, 58, 36000, tzinfo=UTC)
    assert ULID.from_str(new_event_id(at=at)).datetime == at


def test_new_id_is_above_the_given_floor_even_from_the_past():
    """With ``after``, a new id sorts after it, even when the clock is behind that id."""
    later = new_event_id(at=datetime.now(UTC) + timedelta(days=1))
    following = new_event_id(after=later)
    assert following > later
    assert ULID.from_str(following).milliseconds - ULID.from_str(later).milliseconds in (0, 1)


def test_two_writers_extending_the_same_future_id_do_not_collide():
    """Clones that both pass a future id (a UUID, a fast clock) still make different ids."""
    future = normalize_event_id(str(uuid.uuid4()))
    made = {new_event_id(after=future) for _ in range(1000)}
    assert len(made) == 1000
    assert all(i > future for i in made)


def test_the_last_possible_millisecond_does_not_stop_id_generation():
    """A log holding the largest ULID still gets new, valid, distinct ids (order gives way)."""
    largest = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
    made = {new_event_id(after=largest) for _ in range(100)}
    assert len(made) == 100
    assert all(normalize_event_id(i) == i for i in made)


def test_ids_made_in_sequence_with_a_floor_strictly_increase():
    """Chaining ``after`` gives strictly increasing ids within one millisecond too."""
    ids = [new_event_id()]
    for _ in range(1000):
        ids.append(new_event_id(after=ids[-1]))
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(normalize_event_id(i) == i for i in ids)
