"""spec-kitty-telemetry: every AI coding agent run recorded as an immutable event.

The public API is what ``__all__`` lists; modules whose names start with an
underscore are private. Names are imported on first use, so a short-lived
process that only emits (``spec-kitty agent telemetry emit``) never pays for
pydantic, typer or rich.

The public surface is written once, in ``_EXPORTS`` (name -> the module that
defines it): ``__all__`` and the lazy ``__getattr__`` derive from it. Type
checkers cannot run code, so the ``TYPE_CHECKING`` block below spells the same
imports out (as explicit ``X as X`` re-exports); ``tests/test_package.py``
fails when the two differ.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AgentUsage": "agent_usage",
    "parse_agent_output": "agent_usage",
    "ChangeCapture": "changes",
    "RunChanges": "changes",
    "LamportClock": "clock",
    "find_project_root": "config",
    "load_config": "config",
    "TelemetryConfig": "config",
    "cost_report": "cost",
    "cost_summary": "cost",
    "CostReport": "cost",
    "CostSummary": "cost",
    "EventPrice": "cost",
    "EventPricer": "cost",
    "project_cost_report": "cost",
    "emit_event": "emit",
    "emit_execution_event": "emit",
    "emit_execution_record": "emit",
    "emit_record": "emit",
    "emit_with_result": "_emit_result",
    "EmitResult": "_emit_result",
    "capture_environment": "environment",
    "classify_failure": "failure_kinds",
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
    "Event": "events",
    "EXECUTION_EVENT": "events",
    "ExecutionPayload": "events",
    "new_event_id": "ids",
    "normalize_event_id": "ids",
    "current_invocation": "integration",
    "InvocationResult": "integration",
    "record_invocation": "integration",
    "track_invocation": "integration",
    "mark_phase": "phases",
    "track_phase": "phases",
    "list_runs": "reports",
    "run_summary": "reports",
    "write_csv": "exports",
    "SimpleJsonStore": "jsonl_store",
    "TestCounts": "junit",
    "emit_transition": "lifecycle",
    "feature_timeline": "lifecycle",
    "PostgresEventStore": "postgres_store",  # needs the server extra; psycopg loads on first use
    "canonical_model_name": "pricing",
    "load_pricing": "pricing",
    "Pricing": "pricing",
    "EVENTS_FILENAME": "project",
    "EventFilter": "query",
    "iter_execution_events": "query",
    "iter_project_events": "query",
    "query_execution_events": "query",
    "query_project_events": "query",
    "run_agent": "runner",
    "causal_order": "store",
    "import_sessions": "sources",
    "lane_report": "sources.status_log",
    "project_lane_report": "sources.status_log",
    "EventStore": "store",
    "InMemoryEventStore": "store",
    "StoreHead": "store",
}

__all__ = ["__version__", *_EXPORTS]


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
    from ._emit_result import (
        EmitResult as EmitResult,
        emit_with_result as emit_with_result,
    )
    from .agent_usage import (
        AgentUsage as AgentUsage,
        parse_agent_output as parse_agent_output,
    )
    from .changes import (
        ChangeCapture as ChangeCapture,
        RunChanges as RunChanges,
    )
    from .clock import (
        LamportClock as LamportClock,
    )
    from .config import (
        TelemetryConfig as TelemetryConfig,
        find_project_root as find_project_root,
        load_config as load_config,
    )
    from .cost import (
        CostReport as CostReport,
        CostSummary as CostSummary,
        EventPrice as EventPrice,
        EventPricer as EventPricer,
        cost_report as cost_report,
        cost_summary as cost_summary,
        project_cost_report as project_cost_report,
    )
    from .emit import (
        emit_event as emit_event,
        emit_execution_event as emit_execution_event,
        emit_execution_record as emit_execution_record,
        emit_record as emit_record,
    )
    from .environment import (
        capture_environment as capture_environment,
    )
    from .errors import (
        ClockError as ClockError,
        ConfigError as ConfigError,
        InvalidClockValueError as InvalidClockValueError,
        InvalidEventError as InvalidEventError,
        InvalidOptionError as InvalidOptionError,
        PricingError as PricingError,
        ProjectNotFoundError as ProjectNotFoundError,
        QueryError as QueryError,
        StoreError as StoreError,
        StoreLockTimeout as StoreLockTimeout,
        TelemetryError as TelemetryError,
        UnsafePathError as UnsafePathError,
    )
    from .events import (
        EXECUTION_EVENT as EXECUTION_EVENT,
        Event as Event,
        ExecutionPayload as ExecutionPayload,
    )
    from .exports import (
        write_csv as write_csv,
    )
    from .failure_kinds import (
        classify_failure as classify_failure,
    )
    from .ids import (
        new_event_id as new_event_id,
        normalize_event_id as normalize_event_id,
    )
    from .integration import (
        InvocationResult as InvocationResult,
        current_invocation as current_invocation,
        record_invocation as record_invocation,
        track_invocation as track_invocation,
    )
    from .jsonl_store import (
        SimpleJsonStore as SimpleJsonStore,
    )
    from .junit import (
        TestCounts as TestCounts,
    )
    from .lifecycle import (
        emit_transition as emit_transition,
        feature_timeline as feature_timeline,
    )
    from .phases import (
        mark_phase as mark_phase,
        track_phase as track_phase,
    )
    from .postgres_store import (
        PostgresEventStore as PostgresEventStore,
    )
    from .pricing import (
        Pricing as Pricing,
        canonical_model_name as canonical_model_name,
        load_pricing as load_pricing,
    )
    from .project import (
        EVENTS_FILENAME as EVENTS_FILENAME,
    )
    from .query import (
        EventFilter as EventFilter,
        iter_execution_events as iter_execution_events,
        iter_project_events as iter_project_events,
        query_execution_events as query_execution_events,
        query_project_events as query_project_events,
    )
    from .reports import (
        list_runs as list_runs,
        run_summary as run_summary,
    )
    from .runner import (
        run_agent as run_agent,
    )
    from .sources import (
        import_sessions as import_sessions,
    )
    from .sources.status_log import (
        lane_report as lane_report,
        project_lane_report as project_lane_report,
    )
    from .store import (
        EventStore as EventStore,
        InMemoryEventStore as InMemoryEventStore,
        StoreHead as StoreHead,
        causal_order as causal_order,
    )
