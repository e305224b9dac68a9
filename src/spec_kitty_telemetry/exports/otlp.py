"""Agent runs as OpenTelemetry log records, sent over OTLP/HTTP with JSON encoding.

Each event becomes one log record. Execution events carry the GenAI semantic
convention attributes (``gen_ai.request.model``, ``gen_ai.usage.*``); our
``input_tokens`` is already the whole input, cache reads and writes included,
as ``gen_ai.usage.input_tokens`` wants it. No cost attribute is standard yet,
so cost goes under our own ``spec_kitty.`` namespace, priced by the cost
report's rule. ``spec_kitty.event_id`` lets a receiver drop a record it
already has, so exporting the same window twice is harmless.

In OTLP's JSON mapping 64-bit integers are decimal strings, and times are
nanoseconds since the epoch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

from .._records import EXECUTION_EVENT
from ..usage import PRICED_TOKEN_FIELDS
from .http import check_url, post_json

if TYPE_CHECKING:
    from ..events import Event
    from ..pricing import Pricing

__all__ = ["OtlpResult", "export_otlp", "logs_url", "otlp_log_record", "otlp_payload"]

#: Records per request: small enough for any collector's default body limit.
BATCH_SIZE: Final = 500
_SCOPE: Final = "spec_kitty_telemetry"
#: OTLP severity numbers: INFO for a run that succeeded, ERROR for one that failed.
_INFO, _ERROR = 9, 17

#: Our priced token fields (input, output, cache read, cache write) → GenAI attributes.
_GEN_AI_USAGE: Final = tuple(
    zip(
        PRICED_TOKEN_FIELDS,
        (
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_creation.input_tokens",
        ),
        strict=True,
    )
)


@dataclass(frozen=True)
class OtlpResult:
    """What an export sent: records, requests, and the newest event time (for the next --since)."""

    records: int
    requests: int
    newest: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data: ``export --otlp --json``."""
        return {
            "records": self.records,
            "requests": self.requests,
            "newest": None if self.newest is None else self.newest.isoformat(),
        }


def logs_url(url: str) -> str:
    """Return the logs endpoint: ``url`` as given, or with ``/v1/logs`` when it has no path."""
    check_url(url, "otlp")
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        parts = parts._replace(path="/v1/logs")
    return urlunsplit(parts)


def _value(value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value if isinstance(value, str) else json.dumps(value)}


def _attributes(pairs: Iterable[tuple[str, object]]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in pairs if value is not None]


def _nanos(moment: datetime) -> str:
    return str(int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000)


def otlp_log_record(event: Event, pricing: Pricing) -> dict[str, Any]:
    """Return one event as an OTLP JSON log record."""
    from ..reports.runs import priced

    payload = event.payload
    pairs: list[tuple[str, object]] = [
        ("spec_kitty.event_id", event.event_id),
        ("spec_kitty.event_type", event.event_type),
        ("spec_kitty.feature", event.aggregate_id),
        ("spec_kitty.node_id", event.node_id),
        ("spec_kitty.lamport_clock", event.lamport_clock),
        ("spec_kitty.wp_id", _text(payload.get("wp_id"))),
    ]
    severity = _INFO
    if event.event_type == EXECUTION_EVENT:
        run = priced(event, pricing)
        success = payload.get("success", True)
        severity = _INFO if success is not False else _ERROR
        pairs += [
            ("gen_ai.operation.name", "invoke_agent"),
            ("gen_ai.agent.name", _text(payload.get("agent"))),
            ("gen_ai.request.model", _text(payload.get("model"))),
            *(
                (attribute, payload.get(name))
                for name, attribute in _GEN_AI_USAGE
                if type(payload.get(name)) is int
            ),
            ("spec_kitty.role", _text(payload.get("role"))),
            ("spec_kitty.success", success if isinstance(success, bool) else None),
            ("spec_kitty.exit_code", _integer(payload.get("exit_code"))),
            ("spec_kitty.duration_ms", _integer(payload.get("duration_ms"))),
            ("spec_kitty.cost_usd", None if run.cost_usd is None else float(run.cost_usd)),
            ("spec_kitty.cost_estimated", run.estimated),
            ("error.type", _text(payload.get("error")) if success is False else None),
        ]
    else:
        pairs += [
            (f"spec_kitty.{key}", _text(payload.get(key))) for key in ("from_phase", "to_phase")
        ]
    time = _nanos(event.timestamp)
    return {
        "timeUnixNano": time,
        "observedTimeUnixNano": time,
        "severityNumber": severity,
        "severityText": "INFO" if severity == _INFO else "ERROR",
        "eventName": f"spec_kitty.{event.event_type}",
        "body": {"stringValue": f"{event.event_type} {event.aggregate_id}"},
        "attributes": _attributes(pairs),
    }


def otlp_payload(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Wrap log records in the ``resourceLogs`` envelope of one OTLP request."""
    from .._spec_kitty_cli import our_version

    return {
        "resourceLogs": [
            {
                "resource": {"attributes": _attributes([("service.name", "spec-kitty-telemetry")])},
                "scopeLogs": [
                    {"scope": {"name": _SCOPE, "version": our_version()}, "logRecords": records}
                ],
            }
        ]
    }


def _batches(
    events: Iterable[Event], pricing: Pricing
) -> Iterator[tuple[list[dict[str, Any]], datetime]]:
    batch: list[dict[str, Any]] = []
    newest: datetime | None = None
    for event in events:
        batch.append(otlp_log_record(event, pricing))
        newest = event.timestamp if newest is None else max(newest, event.timestamp)
        if len(batch) == BATCH_SIZE:
            yield batch, newest
            batch = []
    if batch and newest is not None:
        yield batch, newest


def export_otlp(
    events: Iterable[Event],
    url: str,
    pricing: Pricing,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> OtlpResult:
    """Send ``events`` to an OTLP/HTTP logs endpoint in batches; raise ExportError on a refusal.

    Batches already accepted stay accepted; a re-run resends them, which a
    receiver can drop by ``spec_kitty.event_id``.
    """
    endpoint = logs_url(url)
    records = requests = 0
    newest: datetime | None = None
    for batch, batch_newest in _batches(events, pricing):
        body = json.dumps(otlp_payload(batch)).encode()
        post_json(endpoint, body, headers=headers, timeout=timeout)
        records += len(batch)
        requests += 1
        newest = batch_newest if newest is None else max(newest, batch_newest)
    return OtlpResult(records, requests, newest)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _integer(value: object) -> int | None:
    return value if type(value) is int else None
