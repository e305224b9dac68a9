"""spec-kitty-telemetry: every AI coding agent run recorded as an immutable event.

The public API is what ``__all__`` lists; modules whose names start with an
underscore are private.
"""

from __future__ import annotations

from .clock import ClockStorage, FileClockStorage, InMemoryClockStorage, LamportClock
from .config import TelemetryConfig, find_project_root, load_config
from .emit import CLOCK_FILENAME, EVENTS_FILENAME, emit_event, emit_execution_event
from .errors import (
    ClockError,
    ConfigError,
    InvalidEventError,
    StoreError,
    StoreLockTimeout,
    TelemetryError,
)
from .events import EXECUTION_EVENT, Event, ExecutionPayload, new_event_id, normalize_event_id
from .jsonl_store import LogHead, ReadReport, SimpleJsonStore
from .store import EventStore, InMemoryEventStore, causal_order

__version__ = "0.1.0"

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
    "find_project_root",
    "load_config",
    "new_event_id",
    "normalize_event_id",
]
