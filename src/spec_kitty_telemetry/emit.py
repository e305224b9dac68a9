"""Record what an agent invocation did, without ever getting in the agent's way.

The functions here are fire-and-forget: whatever goes wrong (bad arguments, a
read-only directory, a full disk, a lock held too long) is logged as one
warning and they return None. Telemetry must never break the run it observes.

Each emitter writes to a feature folder (its log, ``execution.events.jsonl``,
stamped with the help of the clock file beside it) or to any
:class:`~spec_kitty_telemetry.store.EventStore` given instead, stamped from the
store's head under the store's own append.

``emit_execution_event`` returns the stored :class:`~spec_kitty_telemetry.events.Event`.
``emit_execution_record`` does the same work but returns the stored record as a
plain dict and never imports pydantic, for short-lived processes (the CLI)
where pydantic's import would cost more than the rest of the run.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

from ._emit_result import fail, stored, warn
from ._records import EXECUTION_EVENT, event_record, execution_payload
from .clock import LamportClock, next_timestamp
from .environment import capture_environment
from .errors import ClockError, InvalidEventError
from .ids import new_event_id
from .project import feature_clock, feature_store
from .store import EventStore, StoreHead

if TYPE_CHECKING:
    from .events import Event

__all__ = [
    "EXECUTION_EVENT",
    "emit_event",
    "emit_execution_event",
    "emit_execution_record",
    "emit_record",
]

logger = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT: Final = 2.0

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _never_raises(emitter: Callable[_P, _R | None]) -> Callable[_P, _R | None]:
    """Make even a call with the wrong arguments a warning, not an exception.

    The emitters catch everything inside; this catches what Python raises
    before their body runs (a missing or unexpected argument).
    """

    @functools.wraps(emitter)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        try:
            return emitter(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - telemetry must not break its host
            fail(logger, f"telemetry: {emitter.__name__} call not recorded: {exc}")
            return None

    return guarded


@_never_raises
def emit_record(
    feature_dir: str | Path | EventStore,
    aggregate_id: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    node_id: str = "cli",
    causation_id: str | None = None,
    fsync: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> dict[str, Any] | None:
    """Append one event to ``<feature_dir>/execution.events.jsonl``; return its record or None.

    ``feature_dir`` may instead be the :class:`EventStore` to append to; then
    ``fsync`` and ``lock_timeout`` are the store's own, set when it was made.
    Never raises. The event's Lamport clock is greater than every clock already
    in the log (including lines other nodes appended or a git merge brought
    in), so an event emitted later always sorts later; once the log holds the
    largest value, 2**53-1, new events get that value too and sort by node id
    and event id. When the event cannot be recorded, one warning is logged and
    None returned.
    """
    try:
        return _append(
            feature_dir,
            aggregate_id,
            event_type,
            payload,
            node_id=node_id,
            causation_id=causation_id,
            fsync=fsync,
            lock_timeout=lock_timeout,
        )
    except Exception as exc:  # noqa: BLE001 - telemetry must not break its host
        fail(logger, f"telemetry: {event_type} event for {aggregate_id!r} not recorded: {exc}")
        return None


@_never_raises
def emit_execution_record(
    feature_dir: str | Path | EventStore,
    feature_slug: str,
    wp_id: str | None,
    agent: str,
    role: str,
    *,
    model: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    cost_usd: float | None = None,
    duration_ms: int | None = None,
    success: bool = True,
    error: str | None = None,
    exit_code: int | None = 0,
    node_id: str = "cli",
    causation_id: str | None = None,
    fsync: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    **extra: Any,
) -> dict[str, Any] | None:
    """Record one agent invocation as an ``ExecutionEvent``; return the stored record or None.

    Never raises. Token counts and ``duration_ms`` left as None mean "not
    reported" (not zero).
    ``input_tokens`` is the total input including cache reads and writes; cache
    counts are parts of it and ``reasoning_tokens`` is part of ``output_tokens``.
    Extra keyword arguments are stored in the payload as given. ``feature_dir``
    may instead be an :class:`EventStore`, as for :func:`emit_record`. When the
    event cannot be recorded, one warning is logged and None returned.
    """
    try:
        if "environment" not in extra:  # where it ran; see environment.py
            extra["environment"] = capture_environment(_folder_of(feature_dir))
        payload = execution_payload(
            wp_id=wp_id,
            agent=agent,
            role=role,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            cost_usd=cost_usd,
            duration_ms=duration_ms,
            success=success,
            error=error,
            exit_code=exit_code,
            **extra,
        )
        return _append(
            feature_dir,
            feature_slug,
            EXECUTION_EVENT,
            payload,
            node_id=node_id,
            causation_id=causation_id,
            fsync=fsync,
            lock_timeout=lock_timeout,
        )
    except Exception as exc:  # noqa: BLE001 - telemetry must not break its host
        fail(
            logger,
            f"telemetry: {EXECUTION_EVENT} for {feature_slug!r} (wp {wp_id}) not recorded: {exc}",
        )
        return None


def _returning_event(
    record_fn: Callable[_P, dict[str, Any] | None],
) -> Callable[[Callable[..., object]], Callable[_P, Event | None]]:
    """Make the decorated ``def`` the Event-returning twin of ``record_fn``.

    The ``def`` gives the twin its name and docstring; its arguments, types and
    never-raising behaviour are ``record_fn``'s (``help()`` and ``inspect``
    show ``record_fn``'s parameters), so the two cannot drift apart.
    """

    def twin_of(definition: Callable[..., object]) -> Callable[_P, Event | None]:
        @functools.wraps(definition, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
        def emit(*args: _P.args, **kwargs: _P.kwargs) -> Event | None:
            record = record_fn(*args, **kwargs)
            return None if record is None else _as_event(record)

        shown = inspect.signature(record_fn).replace(return_annotation="Event | None")
        emit.__signature__ = shown  # type: ignore[attr-defined]  # what help() and IDEs show
        return emit

    return twin_of


@_returning_event(emit_record)
def emit_event() -> None:
    """Like :func:`emit_record`, returning the stored Event; never raises."""


@_returning_event(emit_execution_record)
def emit_execution_event() -> None:
    """Record one agent invocation; return the stored Event or None.

    Never raises; the arguments are those of :func:`emit_execution_record`.
    When the event cannot be recorded, one warning is logged and None returned.
    """


def _append(
    target: str | Path | EventStore,
    aggregate_id: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    node_id: str,
    causation_id: str | None,
    fsync: bool,
    lock_timeout: float,
) -> dict[str, Any]:
    if not (isinstance(lock_timeout, int | float) and 0 <= lock_timeout < math.inf):
        raise InvalidEventError(
            f"lock_timeout must be a finite number of seconds >= 0, got {lock_timeout!r}"
        )
    clock: LamportClock | None = None
    if isinstance(target, EventStore):
        store = target
    else:
        store = feature_store(target, fsync=fsync, lock_timeout=lock_timeout)
        clock = feature_clock(target, fsync=fsync)

    def build(head: StoreHead) -> dict[str, Any]:
        # Runs under the store's exclusion: the receive rule against the
        # store itself, and an id above every id in it, make the event sort
        # last. The store's maximum is at most 2**53-1 (lines above are not
        # clock candidates) and the clock saturates there, so the stamp is
        # always valid. A folder's clock file only caches what its log proves.
        now = datetime.now(UTC)
        floor = head.max_lamport_clock or 0
        lamport = next_timestamp(floor)
        if clock is not None:
            try:
                lamport = clock.update(floor)
            except ClockError as exc:
                logger.debug("telemetry: clock file not used: %s", exc)
        return event_record(
            event_id=new_event_id(after=head.max_event_id, at=now),
            event_type=event_type,
            aggregate_id=aggregate_id,
            payload=payload,
            timestamp=now,
            node_id=node_id,
            lamport_clock=lamport,
            causation_id=causation_id,
        )

    record = store.append_record(build)
    stored(record)
    _after_append(target, record)
    return record


def _after_append(target: str | Path | EventStore, record: dict[str, Any]) -> None:
    """Hand a recorded run to what watches recordings; each never raises.

    The real-time check (``alerts.realtime``) scores it; for a feature folder,
    the webhooks queue it (a file in the spool, no network).
    """
    if record["event_type"] != EXECUTION_EVENT:
        return
    from .analytics.realtime import check_recorded

    check_recorded(target, record)
    if not isinstance(target, EventStore):
        from .exports.webhooks import spool_run

        spool_run(target, record)


def _folder_of(target: str | Path | EventStore) -> str | Path | None:
    """Return the folder an event is written from (for a store, None: the working directory)."""
    return None if isinstance(target, EventStore) else target


def _as_event(record: dict[str, Any]) -> Event | None:
    """Turn a stored record into an Event (the record was validated on the way in)."""
    try:
        from .events import Event

        return Event.from_dict(record)
    except Exception as exc:  # noqa: BLE001 - the event is stored; only the return value is lost
        warn(logger, f"telemetry: event {record['event_id']} stored but not returned: {exc}")
        return None
