"""spec-kitty-telemetry: every AI coding agent run recorded as an immutable event.

The public API is what ``__all__`` lists; modules whose names start with an
underscore are private. Names are imported on first use, so a short-lived
process that only emits (``spec-kitty agent telemetry emit``) never pays for
pydantic, typer or rich.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "ClockStorage": "clock",
    "FileClockStorage": "clock",
    "InMemoryClockStorage": "clock",
    "LamportClock": "clock",
    "TelemetryConfig": "config",
    "find_project_root": "config",
    "load_config": "config",
    "CLOCK_FILENAME": "emit",
    "EVENTS_FILENAME": "emit",
    "emit_event": "emit",
    "emit_execution_event": "emit",
    "emit_execution_record": "emit",
    "emit_record": "emit",
    "ClockError": "errors",
    "ConfigError": "errors",
    "InvalidEventError": "errors",
    "StoreError": "errors",
    "StoreLockTimeout": "errors",
    "TelemetryError": "errors",
    "EXECUTION_EVENT": "events",
    "Event": "events",
    "ExecutionPayload": "events",
    "new_event_id": "ids",
    "normalize_event_id": "ids",
    "LogHead": "jsonl_store",
    "ReadReport": "jsonl_store",
    "SimpleJsonStore": "jsonl_store",
    "EventStore": "store",
    "InMemoryEventStore": "store",
    "causal_order": "store",
}

__all__ = [
    "CLOCK_FILENAME",
    "EVENTS_FILENAME",
    "EXECUTION_EVENT",
    "ClockError",
    "ClockStorage",
    "ConfigError",
    "Event",
    "EventStore",
    "ExecutionPayload",
    "FileClockStorage",
    "InMemoryClockStorage",
    "InMemoryEventStore",
    "InvalidEventError",
    "LamportClock",
    "LogHead",
    "ReadReport",
    "SimpleJsonStore",
    "StoreError",
    "StoreLockTimeout",
    "TelemetryConfig",
    "TelemetryError",
    "__version__",
    "causal_order",
    "emit_event",
    "emit_execution_event",
    "emit_execution_record",
    "emit_record",
    "find_project_root",
    "load_config",
    "new_event_id",
    "normalize_event_id",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from .clock import ClockStorage, FileClockStorage, InMemoryClockStorage, LamportClock
    from .config import TelemetryConfig, find_project_root, load_config
    from .emit import (
        CLOCK_FILENAME,
        EVENTS_FILENAME,
        emit_event,
        emit_execution_event,
        emit_execution_record,
        emit_record,
    )
    from .errors import (
        ClockError,
        ConfigError,
        InvalidEventError,
        StoreError,
        StoreLockTimeout,
        TelemetryError,
    )
    from .events import EXECUTION_EVENT, Event, ExecutionPayload
    from .ids import new_event_id, normalize_event_id
    from .jsonl_store import LogHead, ReadReport, SimpleJsonStore
    from .store import EventStore, InMemoryEventStore, causal_order
