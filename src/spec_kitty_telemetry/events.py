"""The immutable event record and the execution payload it carries.

An event on disk is one JSON object with exactly the keys of
:meth:`Event.to_dict`, sorted, written the way Python's ``json.dumps(...,
sort_keys=True)`` writes it. That is the line format of spec-kitty's own
telemetry, so logs move between the two tools unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Self, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ._lines import check_record, utc_timestamp
from ._records import EXECUTION_EVENT, MAX_LAMPORT_CLOCK, dumps_record
from .errors import InvalidEventError
from .ids import new_event_id, normalize_event_id
from .usage import strict_payload

__all__ = [
    "EXECUTION_EVENT",
    "Event",
    "ExecutionPayload",
    "new_event_id",
    "normalize_event_id",
]


EventId = Annotated[str, BeforeValidator(normalize_event_id)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value


# str.strip() is the writers' rule too (_records.py), so both agree on what "blank" is.
NonBlankStr = Annotated[str, StringConstraints(strict=True), AfterValidator(_not_blank)]
OptionalStr = Annotated[str | None, Field(strict=True)]


class Event(BaseModel):
    """One immutable fact: something of ``event_type`` happened to ``aggregate_id``.

    Events are ordered by ``(lamport_clock, node_id)`` rather than by wall-clock
    time, because the machines writing one log do not share a clock.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: EventId
    event_type: NonBlankStr
    aggregate_id: NonBlankStr
    payload: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime
    node_id: NonBlankStr
    lamport_clock: int = Field(ge=0, le=MAX_LAMPORT_CLOCK, strict=True)
    causation_id: EventId | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _in_utc(cls, value: object) -> datetime:
        # The readers' rule (_lines.utc_timestamp), not pydantic's own parser: numbers are
        # not timestamps in the line format, naive means UTC, and an instant outside the
        # years 1-9999 in UTC is refused rather than overflowing later.
        if not isinstance(value, str | datetime):
            raise ValueError("must be an ISO 8601 string or a datetime")
        return utc_timestamp(value)

    def to_dict(self) -> dict[str, Any]:
        """Return the event as the JSON-ready mapping stored on disk."""
        return {
            "aggregate_id": self.aggregate_id,
            "causation_id": self.causation_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "lamport_clock": self.lamport_clock,
            "node_id": self.node_id,
            "payload": self.payload,
            "timestamp": self.timestamp.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Build an event from a stored mapping, raising InvalidEventError if it is not one.

        The mapping is judged by the readers' line rule (``_lines.check_record``),
        so it is an event here exactly when every reader of a log takes its line for one.
        """
        if isinstance(data, Mapping):
            data = dict(data)  # the rule stores canonical ids back; leave the caller's alone
        return cls.from_accepted_record(check_record(data)[1])

    @classmethod
    def from_accepted_record(cls, record: Mapping[str, Any]) -> Self:
        """Build an event from a record the line rule has accepted, without checking it again.

        Readers use this: validating again would cost more than the rest of a read,
        and a second set of checks could only disagree with the first.
        """
        event = cls.model_construct(
            event_id=record["event_id"],
            event_type=record["event_type"],
            aggregate_id=record["aggregate_id"],
            payload=record["payload"],
            timestamp=utc_timestamp(record["timestamp"]),
            node_id=record["node_id"],
            lamport_clock=record["lamport_clock"],
            causation_id=record.get("causation_id"),
        )
        return cast(Self, event)  # pydantic's mypy plugin types it as Event

    def to_json(self) -> str:
        """Return the event as one line of the log format (no trailing newline).

        Raises InvalidEventError if the payload holds something JSON cannot
        represent (NaN, infinity, arbitrary objects).
        """
        return dumps_record(self.to_dict()).decode().rstrip("\n")


_INT64_MAX = 2**63 - 1
#: A count or cost, already judged (and made a plain int or float) by ``usage.strict``.
TokenCount = Annotated[int | None, Field(strict=True)]


class ExecutionPayload(BaseModel):
    """What one agent invocation cost and how it ended; the payload of an ``ExecutionEvent``.

    Token counts and ``duration_ms`` are ``None`` when unknown, which is not
    the same as 0. ``input_tokens`` is the *total* input, cache reads and cache
    writes included; ``cache_read_tokens`` and ``cache_write_tokens`` are parts of
    it, and ``reasoning_tokens`` is part of ``output_tokens``. Keys this model
    does not know are kept as they are.

    Readers use it for typed access (``ExecutionPayload.model_validate(event.payload)``);
    writers validate with the equivalent plain function in ``_records`` to keep
    pydantic off the emit path. The usage figures are judged by
    :func:`spec_kitty_telemetry.usage.strict`, the rule every writer and reader uses;
    the fields below only give them their types.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    wp_id: OptionalStr = None
    agent: NonBlankStr
    role: NonBlankStr
    model: OptionalStr = None
    # The usage fields, as named in usage.TOKEN_FIELDS (tests/test_usage.py holds them equal).
    input_tokens: TokenCount = None
    output_tokens: TokenCount = None
    cache_read_tokens: TokenCount = None
    cache_write_tokens: TokenCount = None
    reasoning_tokens: TokenCount = None
    cost_usd: float | None = Field(default=None, strict=True)
    duration_ms: int | None = Field(default=None, ge=0, le=_INT64_MAX, strict=True)
    success: bool = Field(default=True, strict=True)
    error: OptionalStr = None
    exit_code: int | None = Field(default=0, ge=-_INT64_MAX - 1, le=_INT64_MAX, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _usage_rules(cls, data: Any) -> Any:
        # Counts, the cost bound and parts within totals: the one rule, from usage.py.
        if not isinstance(data, Mapping):
            return data  # pydantic says what is wrong with the type
        try:
            figures = strict_payload(data)
        except InvalidEventError as exc:
            raise ValueError(str(exc)) from None
        return {**data, **figures}
