"""Record what an agent invocation did, without ever getting in the agent's way.

The functions here are fire-and-forget: whatever goes wrong (bad arguments, a
read-only directory, a full disk, a lock held too long) is logged as one
warning and they return None. Telemetry must never break the run it observes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from .clock import FileClockStorage, LamportClock
from .events import EXECUTION_EVENT, Event, ExecutionPayload, new_event_id
from .jsonl_store import LogHead, SimpleJsonStore

__all__ = [
    "CLOCK_FILENAME",
    "EVENTS_FILENAME",
    "emit_event",
    "emit_execution_event",
]

logger = logging.getLogger(__name__)

#: The event log inside each feature directory.
EVENTS_FILENAME: Final = "execution.events.jsonl"
#: The Lamport clock of a feature's log, kept next to it (machine-local; not committed).
CLOCK_FILENAME: Final = ".telemetry-clock.json"

DEFAULT_LOCK_TIMEOUT: Final = 2.0


def emit_event(
    feature_dir: str | Path,
    aggregate_id: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    node_id: str = "cli",
    causation_id: str | None = None,
    fsync: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Event | None:
    """Append one event to ``<feature_dir>/execution.events.jsonl``; never raise.

    The event's Lamport clock is greater than every clock already in the log
    (including lines other nodes appended or a git merge brought in), so an
    event emitted later always sorts later. Returns the stored event, or None
    after logging a warning if it could not be recorded.
    """
    try:
        return _append(
            Path(feature_dir),
            aggregate_id,
            event_type,
            payload,
            node_id=node_id,
            causation_id=causation_id,
            fsync=fsync,
            lock_timeout=lock_timeout,
        )
    except Exception as exc:  # noqa: BLE001 - telemetry must not break its host
        logger.warning("telemetry: %s event for %r not recorded: %s", event_type, aggregate_id, exc)
        return None


def emit_execution_event(
    feature_dir: str | Path,
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
    duration_ms: int = 0,
    success: bool = True,
    error: str | None = None,
    exit_code: int | None = 0,
    node_id: str = "cli",
    causation_id: str | None = None,
    fsync: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    **extra: Any,
) -> Event | None:
    """Record one agent invocation as an ``ExecutionEvent``; never raise.

    Token counts left as None mean "not reported" (not zero). ``input_tokens``
    is the total input including cache reads and writes. Extra keyword
    arguments are stored in the payload as given. Returns the stored event, or
    None after logging one warning if it could not be recorded.
    """
    try:
        payload = ExecutionPayload.build(
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
            Path(feature_dir),
            feature_slug,
            EXECUTION_EVENT,
            payload,
            node_id=node_id,
            causation_id=causation_id,
            fsync=fsync,
            lock_timeout=lock_timeout,
        )
    except Exception as exc:  # noqa: BLE001 - telemetry must not break its host
        logger.warning(
            "telemetry: %s for %r (wp %s) not recorded: %s",
            EXECUTION_EVENT,
            feature_slug,
            wp_id,
            exc,
        )
        return None


def _append(
    feature_dir: Path,
    aggregate_id: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    node_id: str,
    causation_id: str | None,
    fsync: bool,
    lock_timeout: float,
) -> Event:
    store = SimpleJsonStore(feature_dir / EVENTS_FILENAME, fsync=fsync, lock_timeout=lock_timeout)
    clock = LamportClock(FileClockStorage(feature_dir / CLOCK_FILENAME, fsync=fsync))

    def build(head: LogHead) -> Event:
        # Runs under the log's lock: the clock's receive rule against the log
        # itself, and an id above every id in it, make the event sort last.
        now = datetime.now(UTC)
        return Event(
            event_id=new_event_id(after=head.max_event_id, at=now),
            event_type=event_type,
            aggregate_id=aggregate_id,
            payload=payload,
            timestamp=now,
            node_id=node_id,
            lamport_clock=clock.update(head.max_lamport_clock or 0),
            causation_id=causation_id,
        )

    return store.append(build)
