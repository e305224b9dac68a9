"""The immutable event record and the execution payload it carries.

An event on disk is one JSON object with exactly the keys of
:meth:`Event.to_dict`, sorted, written the way Python's ``json.dumps(...,
sort_keys=True)`` writes it. That is the line format of spec-kitty's own
telemetry, so logs move between the two tools unchanged.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from ulid import ULID

from .errors import InvalidEventError

__all__ = [
    "EXECUTION_EVENT",
    "Event",
    "ExecutionPayload",
    "new_event_id",
    "normalize_event_id",
]

#: ``event_type`` of the record written after every agent invocation.
EXECUTION_EVENT: Final = "ExecutionEvent"

_CANONICAL_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


def normalize_event_id(value: object) -> str:
    """Return the canonical form (26-char uppercase ULID) of an event id.

    ULIDs in any case are accepted, and so are UUIDs (32 hex digits, or 36
    characters with dashes) from tools that key events by UUID: a UUID is the
    same 128 bits, so it converts to a ULID without losing identity.
    """
    if not isinstance(value, str):
        raise ValueError(f"event id must be a string, not {type(value).__name__}")
    if _CANONICAL_ULID.fullmatch(value):
        return value
    if len(value) == 26:
        upper = value.upper()
        if _CANONICAL_ULID.fullmatch(upper):
            return upper
    elif len(value) in (32, 36):
        try:
            return str(ULID.from_uuid(uuid.UUID(value)))
        except ValueError:
            pass
    raise ValueError(f"not a ULID or UUID: {value!r}")


def new_event_id(*, after: str | None = None, at: datetime | None = None) -> str:
    """Return a fresh ULID for an event created at ``at`` (default: now).

    With ``after``, the id is also strictly greater than that id. Writers pass
    the largest id already in their log, which keeps ids in a log increasing
    even when two ids fall in the same millisecond or a clock steps back.
    """
    candidate = ULID.from_datetime(at) if at is not None else ULID()
    text = str(candidate)
    if after is not None and text <= after:
        text = str(ULID.from_int(int(ULID.from_str(after)) + 1))
    return text


EventId = Annotated[str, BeforeValidator(normalize_event_id)]
NonBlankStr = Annotated[str, StringConstraints(strict=True, min_length=1, pattern=r"\S")]


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
    lamport_clock: int = Field(ge=0, strict=True)
    causation_id: EventId | None = None

    @field_validator("timestamp")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        # A naive timestamp is taken to be UTC already; anything else is converted.
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

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
        """Build an event from a stored mapping, raising InvalidEventError if it is not one."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidEventError(_describe(exc)) from None

    def to_json(self) -> str:
        """Return the event as one line of the log format (no trailing newline).

        Raises InvalidEventError if the payload holds something JSON cannot
        represent (NaN, infinity, arbitrary objects).
        """
        try:
            return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidEventError(f"payload is not JSON-serialisable: {exc}") from None


TokenCount = Annotated[int | None, Field(ge=0, strict=True)]


class ExecutionPayload(BaseModel):
    """What one agent invocation cost and how it ended; the payload of an ``ExecutionEvent``.

    Token counts are ``None`` when the agent did not report them, which is not
    the same as 0. ``input_tokens`` is the *total* input, cache reads and cache
    writes included; ``cache_read_tokens`` and ``cache_write_tokens`` are parts of
    it, and ``reasoning_tokens`` is part of ``output_tokens``. Keys this model
    does not know are kept as they are.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    wp_id: str | None = None
    agent: NonBlankStr
    role: NonBlankStr
    model: str | None = None
    input_tokens: TokenCount = None
    output_tokens: TokenCount = None
    cache_read_tokens: TokenCount = None
    cache_write_tokens: TokenCount = None
    reasoning_tokens: TokenCount = None
    cost_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    duration_ms: int = Field(default=0, ge=0, strict=True)
    success: bool = Field(default=True, strict=True)
    error: str | None = None
    exit_code: int | None = Field(default=0, strict=True)

    @model_validator(mode="after")
    def _parts_within_totals(self) -> Self:
        # Catches the commonest unit mistake: passing an API's *uncached* input count.
        cached = (self.cache_read_tokens or 0) + (self.cache_write_tokens or 0)
        if self.input_tokens is not None and cached > self.input_tokens:
            raise ValueError(
                f"cache_read_tokens + cache_write_tokens ({cached}) exceed input_tokens "
                f"({self.input_tokens}); input_tokens must be the total input, cache included"
            )
        if (
            self.output_tokens is not None
            and self.reasoning_tokens is not None
            and self.reasoning_tokens > self.output_tokens
        ):
            raise ValueError(
                f"reasoning_tokens ({self.reasoning_tokens}) exceed output_tokens "
                f"({self.output_tokens}); output_tokens must include reasoning"
            )
        return self

    @classmethod
    def build(cls, **fields: Any) -> dict[str, Any]:
        """Validate payload fields and return the JSON-ready payload dict.

        Raises InvalidEventError naming every offending field.
        """
        try:
            return cls.model_validate(fields).model_dump(mode="json")
        except ValidationError as exc:
            raise InvalidEventError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """Turn pydantic's report into one line that names each bad field."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "event"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
