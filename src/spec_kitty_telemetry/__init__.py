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
    "AgentUsage": "agent_usage",
    "parse_agent_output": "agent_usage",
    "ClockStorage": "clock",
    "FileClockStorage": "clock",
    "InMemoryClockStorage": "clock",
    "LamportClock": "clock",
    "TelemetryConfig": "config",
    "find_project_root": "config",
    "load_config": "config",
    "CostReport": "cost",
    "CostSummary": "cost",
    "cost_report": "cost",
    "cost_summary": "cost",
    "project_cost_report": "cost",
    "CLOCK_FILENAME": "emit",
    "EVENTS_FILENAME": "emit",
    "emit_event": "emit",
    "emit_execution_event": "emit",
    "emit_execution_record": "emit",
    "emit_record": "emit",
    "capture_environment": "environment",
    "ClockError": "errors",
    "ConfigError": "errors",
    "InvalidClockValueError": "errors",
    "InvalidEventError": "errors",
    "InvalidOptionError": "errors",
    "PricingError": "errors",
    "ProjectNotFoundError": "errors",
    "QueryError": "errors",
    "StoreError": "errors",
    "StoreLockTimeout": "errors",
    "TelemetryError": "errors",
    "UnsafePathError": "errors",
    "EXECUTION_EVENT": "events",
    "Event": "events",
    "ExecutionPayload": "events",
    "new_event_id": "ids",
    "normalize_event_id": "ids",
    "InvocationResult": "integration",
    "current_invocation": "integration",
    "record_invocation": "integration",
    "track_invocation": "integration",
    "mark_phase": "phases",
    "track_phase": "phases",
    "list_runs": "reports",
    "run_summary": "reports",
    "write_csv": "exports",
    "SimpleJsonStore": "jsonl_store",
    "emit_transition": "lifecycle",
    "feature_timeline": "lifecycle",
    "Pricing": "pricing",
    "canonical_model_name": "pricing",
    "load_pricing": "pricing",
    "EventFilter": "query",
    "iter_execution_events": "query",
    "iter_project_events": "query",
    "query_execution_events": "query",
    "query_project_events": "query",
    "run_agent": "runner",
    "EventStore": "store",
    "InMemoryEventStore": "store",
    "ReadReport": "store",
    "StoreHead": "store",
    "causal_order": "store",
}

__all__ = [
    "CLOCK_FILENAME",
    "EVENTS_FILENAME",
    "EXECUTION_EVENT",
    "AgentUsage",
    "ClockError",
    "ClockStorage",
    "ConfigError",
    "CostReport",
    "CostSummary",
    "Event",
    "EventFilter",
    "EventStore",
    "ExecutionPayload",
    "FileClockStorage",
    "InMemoryClockStorage",
    "InMemoryEventStore",
    "InvalidClockValueError",
    "InvalidEventError",
    "InvalidOptionError",
    "InvocationResult",
    "LamportClock",
    "Pricing",
    "PricingError",
    "ProjectNotFoundError",
    "QueryError",
    "ReadReport",
    "SimpleJsonStore",
    "StoreError",
    "StoreHead",
    "StoreLockTimeout",
    "TelemetryConfig",
    "TelemetryError",
    "UnsafePathError",
    "__version__",
    "canonical_model_name",
    "capture_environment",
    "causal_order",
    "cost_report",
    "cost_summary",
    "current_invocation",
    "emit_event",
    "emit_execution_event",
    "emit_execution_record",
    "emit_record",
    "emit_transition",
    "feature_timeline",
    "find_project_root",
    "iter_execution_events",
    "iter_project_events",
    "list_runs",
    "load_config",
    "load_pricing",
    "mark_phase",
    "new_event_id",
    "normalize_event_id",
    "parse_agent_output",
    "project_cost_report",
    "query_execution_events",
    "query_project_events",
    "record_invocation",
    "run_agent",
    "run_summary",
    "track_invocation",
    "track_phase",
    "write_csv",
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
    from .agent_usage import AgentUsage, parse_agent_output
    from .clock import ClockStorage, FileClockStorage, InMemoryClockStorage, LamportClock
    from .config import TelemetryConfig, find_project_root, load_config
    from .cost import CostReport, CostSummary, cost_report, cost_summary, project_cost_report
    from .emit import (
        CLOCK_FILENAME,
        EVENTS_FILENAME,
        emit_event,
        emit_execution_event,
        emit_execution_record,
        emit_record,
    )
    from .environment import capture_environment
    from .errors import (
        ClockError,
        ConfigError,
        InvalidClockValueError,
        InvalidEventError,
        InvalidOptionError,
        PricingError,
        ProjectNotFoundError,
        QueryError,
        StoreError,
        StoreLockTimeout,
        TelemetryError,
        UnsafePathError,
    )
    from .events import EXECUTION_EVENT, Event, ExecutionPayload
    from .ids import new_event_id, normalize_event_id
    from .integration import (
        InvocationResult,
        current_invocation,
        record_invocation,
        track_invocation,
    )
    from .jsonl_store import SimpleJsonStore
    from .lifecycle import emit_transition, feature_timeline
    from .pricing import Pricing, canonical_model_name, load_pricing
    from .query import (
        EventFilter,
        iter_execution_events,
        iter_project_events,
        query_execution_events,
        query_project_events,
    )
    from .runner import run_agent
    from .store import EventStore, InMemoryEventStore, ReadReport, StoreHead, causal_order
