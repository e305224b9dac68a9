"""OTLP log records from agents' own telemetry, turned into ExecutionEvents.

Claude Code and Codex export OpenTelemetry logs; a team that points
``OTEL_EXPORTER_OTLP_ENDPOINT`` at the server gets every model request
recorded without a wrapper. Two kinds of record carry usage:

* Claude Code's ``claude_code.api_request``: ``model``, ``cost_usd``,
  ``duration_ms``, ``input_tokens`` (without cache tokens, Anthropic's
  convention: converted by :func:`~spec_kitty_telemetry.agent_usage.anthropic_usage`,
  the one place that conversion lives), ``output_tokens``,
  ``cache_read_tokens``, ``cache_creation_tokens``, ``request_id``, ``session.id``;
* Codex's ``codex.sse_event`` with ``event.kind=response.completed``:
  ``input_token_count`` (cached input within it, as in OpenAI's usage),
  ``output_token_count`` (reasoning within it), ``cached_token_count``,
  ``reasoning_token_count``.

Every other record is valid OTLP that is not ours: accepted and dropped. The
figures are judged by ``usage.lenient``, as everything an agent says about
itself is: an unusable figure is left out and noted, the request still recorded.

Idempotency: an exporter retries a whole request after a timeout, so the
event id is derived from the record: a ULID whose time is the record's and
whose 80 other bits are the SHA-256 of the agent and the request id (or, for
a record without one, of the record itself). A retried record gets the same
id and the store's key refuses it a second time.

Attribution: a record goes to the feature named by the attribute
``spec_kitty.feature`` (on the record, else on its resource: what
``OTEL_RESOURCE_ATTRIBUTES`` sets), else to the catch-all feature
:data:`CATCH_ALL_FEATURE`; ``spec_kitty.wp`` and ``spec_kitty.role`` likewise.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from .._lines import utc_timestamp
from .._records import EXECUTION_EVENT, MAX_LAMPORT_CLOCK, event_record, execution_payload
from ..agent_usage import anthropic_usage
from ..errors import InvalidEventError
from ..ids import normalize_event_id
from ..store import Record, StoreHead
from ..usage import USAGE_ERROR_KEY, Usage, is_count, lenient

__all__ = [
    "CATCH_ALL_FEATURE",
    "DEFAULT_ROLE",
    "JSON",
    "PROTOBUF",
    "Execution",
    "Intake",
    "OtlpError",
    "decode",
    "event_id_of",
    "intake",
    "response_body",
]

JSON: Final = "application/json"
PROTOBUF: Final = "application/x-protobuf"
#: The feature of records that name none (no ``spec_kitty.feature`` attribute).
CATCH_ALL_FEATURE: Final = "otlp"
#: The role of records that name none (no ``spec_kitty.role`` attribute).
DEFAULT_ROLE: Final = "agent"
#: Node id of the events made here: the server, not the machine that ran the agent.
NODE_ID: Final = "otlp"
_ATTRIBUTION_MAX: Final = 200
_INTEGER: Final = re.compile(r"[0-9]{1,20}")
_DECIMAL: Final = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?")
_NANOS: Final = re.compile(r"[0-9]{1,20}")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class OtlpError(Exception):
    """The body is not an OTLP logs request (a 400), or its encoding is not served (415)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Execution:
    """One usage record found in a request: what its event is made of."""

    key: str  # what identifies it across retries: "<agent>\0<request id or digest>"
    timestamp: datetime
    aggregate_id: str
    payload: dict[str, Any]


@dataclass
class Intake:
    """What a request held: executions to store, records refused and why."""

    executions: list[Execution] = field(default_factory=list)
    rejected: int = 0
    ignored: int = 0
    messages: list[str] = field(default_factory=list)

    def reject(self, message: str) -> None:
        self.rejected += 1
        if len(self.messages) < 5:
            self.messages.append(message)

    def build(self, head: StoreHead) -> list[Record]:
        """Return the events, clocks after ``head`` (for ``PostgresEventStore.append_records``)."""
        clock = head.max_lamport_clock or 0
        records = []
        for execution in self.executions:
            clock = min(clock + 1, MAX_LAMPORT_CLOCK)
            records.append(
                event_record(
                    event_id=event_id_of(execution.key, execution.timestamp),
                    event_type=EXECUTION_EVENT,
                    aggregate_id=execution.aggregate_id,
                    payload=execution.payload,
                    timestamp=execution.timestamp,
                    node_id=NODE_ID,
                    lamport_clock=clock,
                )
            )
        return records


def event_id_of(key: str, at: datetime) -> str:
    """Return the event id of a record: a ULID of its time, the rest a digest of ``key``."""
    millis = int(at.timestamp() * 1000)
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:10], "big")
    return normalize_event_id(f"{(millis << 80) | digest:032x}")  # 128 bits: a UUID's hex


def decode(body: bytes, content_type: str, content_encoding: str, limit: int) -> Any:
    """Return the request as OTLP/JSON would spell it (protobuf is converted to that form).

    ``limit`` bounds the decompressed size of a gzip body (413 beyond).
    """
    encoding = content_encoding.strip().lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise OtlpError(f"the body is not gzip: {exc}") from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise OtlpError(f"the body is over {limit} bytes uncompressed", 413)
    elif encoding not in ("", "identity"):
        raise OtlpError(f"Content-Encoding {encoding!r} is not served (gzip is)", 415)
    kind = content_type.partition(";")[0].strip().lower()
    if kind == JSON:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise OtlpError(f"the body is not JSON: {exc}") from None
    if kind == PROTOBUF:
        from google.protobuf import json_format
        from google.protobuf.message import DecodeError
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
            ExportLogsServiceRequest,
        )

        message = ExportLogsServiceRequest()
        try:
            message.ParseFromString(body)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise OtlpError(f"the body is not an OTLP logs request: {exc}") from None
        return json_format.MessageToDict(message)
    raise OtlpError(f"Content-Type {kind!r} is not served: send {JSON} or {PROTOBUF}", 415)


def response_body(intake: Intake, content_type: str) -> bytes:
    """Return the ExportLogsServiceResponse in the request's encoding (partial success)."""
    message = "; ".join(intake.messages)
    if content_type.partition(";")[0].strip().lower() == PROTOBUF:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
            ExportLogsPartialSuccess,
            ExportLogsServiceResponse,
        )

        answer = ExportLogsServiceResponse()
        if intake.rejected:
            answer.partial_success.CopyFrom(
                ExportLogsPartialSuccess(
                    rejected_log_records=intake.rejected, error_message=message
                )
            )
        serialised: bytes = answer.SerializeToString()
        return serialised
    document: dict[str, Any] = {}
    if intake.rejected:
        document["partialSuccess"] = {
            "rejectedLogRecords": intake.rejected,
            "errorMessage": message,
        }
    return orjson.dumps(document)


def intake(document: Any) -> Intake:
    """Find the usage records of an OTLP logs request (raises OtlpError for another shape)."""
    if type(document) is not dict:
        raise OtlpError('expected an ExportLogsServiceRequest object {"resourceLogs": [...]}')
    found = Intake()
    for resource_logs in _list(document, "resourceLogs", "the request"):
        resource = _attributes(_dict(resource_logs).get("resource"))
        for scope_logs in _list(_dict(resource_logs), "scopeLogs", "resourceLogs[]"):
            for record in _list(_dict(scope_logs), "logRecords", "scopeLogs[]"):
                _consider(found, resource, _dict(record))
    return found


def _dict(value: Any) -> dict[str, Any]:
    return value if type(value) is dict else {}


def _list(document: dict[str, Any], key: str, where: str) -> list[Any]:
    value = document.get(key, [])
    if type(value) is not list:
        raise OtlpError(f"{where}: {key} must be a list")
    return value


def _attributes(holder: Any) -> dict[str, Any]:
    """Return the attributes of a resource or record as plain values (arrays, maps left out)."""
    attributes: dict[str, Any] = {}
    entries = _dict(holder).get("attributes")
    for entry in entries if type(entries) is list else ():
        if type(entry) is dict and type(entry.get("key")) is str:
            attributes[entry["key"]] = _value(entry.get("value"))
    return attributes


def _value(value: Any) -> Any:
    """Return an OTLP AnyValue as a Python value (64-bit integers come as strings in JSON)."""
    if type(value) is not dict:
        return None
    if type(text := value.get("stringValue")) is str:
        return text
    if type(flag := value.get("boolValue")) is bool:
        return flag
    number = value.get("intValue")
    if type(number) is int:
        return number
    if type(number) is str and re.fullmatch(r"-?[0-9]{1,20}", number):
        return int(number)
    real = value.get("doubleValue")
    if isinstance(real, int | float) and not isinstance(real, bool):
        return float(real)
    return None


def _figure(value: Any) -> Any:
    """Return a usage figure as reported, numbers written as text (Claude Code's) as numbers.

    Whether the number is a usable count or cost is the usage rule's to say.
    """
    if type(value) is str:
        if _INTEGER.fullmatch(value):
            return int(value)
        if _DECIMAL.fullmatch(value):
            return float(value)
    return value


def _time(record: dict[str, Any], attributes: Mapping[str, Any]) -> datetime | None:
    for key in ("timeUnixNano", "observedTimeUnixNano"):
        nanos = record.get(key)
        if type(nanos) is str and _NANOS.fullmatch(nanos):
            nanos = int(nanos)
        if type(nanos) is int and 0 < nanos < 253402300800 * 10**9:  # before the year 10000
            return _EPOCH + timedelta(microseconds=nanos // 1000)
    stamp = attributes.get("event.timestamp")
    if type(stamp) is str:
        try:
            return utc_timestamp(stamp)
        except (InvalidEventError, ValueError):
            return None
    return None


def _name(
    record: dict[str, Any], attributes: Mapping[str, Any], resource: Mapping[str, Any]
) -> str:
    """Return the event's full name: ``claude_code.api_request``, ``codex.sse_event``...

    Claude Code puts the full name in the body and the short one in
    ``event.name``; either is taken (the short one under its service's prefix).
    """
    body = _value(record.get("body"))
    if type(body) is str and "." in body:
        return body
    name = attributes.get("event.name")
    if type(name) is not str:
        return ""
    if "." not in name and resource.get("service.name") == "claude-code":
        return f"claude_code.{name}"
    return name


def _attributed(key: str, attributes: Mapping[str, Any], resource: Mapping[str, Any]) -> str | None:
    for holder in (attributes, resource):
        value = holder.get(key)
        if type(value) is str and value.strip():
            if len(value) > _ATTRIBUTION_MAX or "\x00" in value:
                raise ValueError(f"{key} must be at most {_ATTRIBUTION_MAX} characters, no NUL")
            return value
    return None


def _consider(found: Intake, resource: Mapping[str, Any], record: dict[str, Any]) -> None:
    attributes = _attributes(record)
    name = _name(record, attributes, resource)
    if name == "claude_code.api_request":
        agent, reader = "claude", _claude
    elif name == "codex.sse_event" and attributes.get("event.kind") == "response.completed":
        agent, reader = "codex", _codex
    else:
        found.ignored += 1
        return
    at = _time(record, attributes)
    if at is None:
        found.reject(f"a {name} record has no time")
        return
    try:
        feature = _attributed("spec_kitty.feature", attributes, resource) or CATCH_ALL_FEATURE
        wp_id = _attributed("spec_kitty.wp", attributes, resource)
        role = _attributed("spec_kitty.role", attributes, resource) or DEFAULT_ROLE
    except ValueError as exc:
        found.reject(f"a {name} record: {exc}")
        return
    figures, notes, ids = reader(attributes)
    usage, usage_notes = lenient(figures)
    notes += usage_notes
    duration = _figure(attributes.get("duration_ms"))
    if duration is not None and not is_count(duration):
        notes.append(f"duration_ms {duration!r} is not a whole number in 0..2**63-1: dropped")
        duration = None
    model = attributes.get("model")
    extra = {
        "source": f"otlp {name}",
        **{k: v for k, v in ids.items() if type(v) is str},
        **({USAGE_ERROR_KEY: "; ".join(notes)} if notes else {}),
    }
    try:
        payload = execution_payload(
            agent=agent,
            role=role,
            wp_id=wp_id,
            model=model if type(model) is str and model else None,
            duration_ms=duration,
            exit_code=None,
            **usage.to_dict(),
            **extra,
        )
    except InvalidEventError as exc:  # not reachable by the readers' figures; kept honest
        found.reject(f"a {name} record: {exc}")
        return
    request_id = ids.get("request_id")
    identity = request_id if type(request_id) is str and request_id else _digest(record, resource)
    found.executions.append(Execution(f"{agent}\0{identity}", at, feature, payload))


def _digest(record: dict[str, Any], resource: Mapping[str, Any]) -> str:
    """Return what identifies a record without a request id: the record itself, as sent."""
    return hashlib.sha256(
        orjson.dumps([record, resource], option=orjson.OPT_SORT_KEYS, default=str)
    ).hexdigest()


def _claude(attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    names: Sequence[str] = (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_creation_tokens",
        "cost_usd",
    )
    usage, note = anthropic_usage(
        {name: _figure(attributes.get(name)) for name in names},
        ("input_tokens", "cache_read_tokens", "cache_creation_tokens"),
        "output_tokens",
        cost_key="cost_usd",
    )
    ids = {"request_id": attributes.get("request_id"), "session_id": attributes.get("session.id")}
    return usage.to_dict(), [note] if note else [], ids


def _codex(attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    # OpenAI's convention is ours (cached input within input, reasoning within output).
    figures = Usage(
        input_tokens=_figure(attributes.get("input_token_count")),
        output_tokens=_figure(attributes.get("output_token_count")),
        cache_read_tokens=_figure(attributes.get("cached_token_count")),
        reasoning_tokens=_figure(attributes.get("reasoning_token_count")),
    )
    ids = {
        "request_id": attributes.get("request_id"),
        "session_id": attributes.get("conversation.id"),
    }
    return figures.to_dict(), [], ids
