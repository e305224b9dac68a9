"""OTLP/HTTP logs intake (``POST /v1/logs``) on a real ``serve`` process over a real PostgreSQL.

Requests are built as Claude Code and Codex export them: OTLP/JSON by hand,
protobuf with the ``opentelemetry-proto`` message classes.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from server_proc import ServerProcess, new_token
from spec_kitty_telemetry.ids import is_ulid
from spec_kitty_telemetry.server.otlp import CATCH_ALL_FEATURE, event_id_of

pytest_plugins = ["pg"]

T0 = 1_780_000_000_000_000_000  # ns since the epoch (2026-05-28)


@pytest.fixture(scope="module")
def server(server_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(server_db, tmp_path_factory.mktemp("serve") / "serve.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def client(server: ServerProcess, server_db: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {new_token(server_db)}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        yield http


def attrs(**values: Any) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        key = key.replace("__", ".")
        if isinstance(value, bool):
            out.append({"key": key, "value": {"boolValue": value}})
        elif isinstance(value, int):
            out.append({"key": key, "value": {"intValue": str(value)}})
        elif isinstance(value, float):
            out.append({"key": key, "value": {"doubleValue": value}})
        else:
            out.append({"key": key, "value": {"stringValue": value}})
    return out


def claude_record(request_id: str, offset_s: int = 0, **extra: Any) -> dict[str, Any]:
    """A claude_code.api_request as Claude Code exports it (figures as strings)."""
    figures = {
        "model": "claude-sonnet-4-5-20250929",
        "cost_usd": "0.0123",
        "duration_ms": "2345",
        "input_tokens": "100",
        "output_tokens": "250",
        "cache_read_tokens": "4000",
        "cache_creation_tokens": "600",
        "request_id": request_id,
        "session__id": "sess-1",
        "event__name": "api_request",
        **extra,
    }
    return {
        "timeUnixNano": str(T0 + offset_s * 10**9),
        "body": {"stringValue": "claude_code.api_request"},
        "attributes": attrs(**figures),
    }


def logs(records: list[dict[str, Any]], **resource: Any) -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": attrs(service__name="claude-code", **resource)},
                "scopeLogs": [
                    {"scope": {"name": "com.anthropic.claude_code"}, "logRecords": records}
                ],
            }
        ]
    }


def executions(http: httpx.Client) -> list[dict[str, Any]]:
    page = http.get("/api/v1/events", params={"type": "ExecutionEvent", "limit": 1000})
    assert page.status_code == 200, page.text
    events: list[dict[str, Any]] = page.json()["events"]
    return events


def test_claude_api_requests_become_execution_events_once(client: httpx.Client):
    """Claude api_request records are stored once each, input made total; a retry adds none."""
    other = {"timeUnixNano": str(T0), "body": {"stringValue": "claude_code.tool_result"}}
    body = logs(
        [claude_record("req_1"), claude_record("req_2", 5), other],
        spec_kitty__feature="014-team-server",
        spec_kitty__wp="WP03",
    )
    first = client.post("/v1/logs", json=body)
    assert first.status_code == 200, first.text
    assert first.json() == {}
    assert client.post("/v1/logs", json=body).status_code == 200  # the exporter's retry
    stored = executions(client)
    assert len(stored) == 2
    payload = next(e for e in stored if e["payload"]["request_id"] == "req_1")["payload"]
    assert payload["agent"] == "claude"
    assert payload["model"] == "claude-sonnet-4-5-20250929"
    assert payload["input_tokens"] == 100 + 4000 + 600  # Anthropic's input excludes the cache
    assert payload["cache_read_tokens"] == 4000
    assert payload["cache_write_tokens"] == 600
    assert payload["output_tokens"] == 250
    assert payload["cost_usd"] == 0.0123
    assert payload["duration_ms"] == 2345
    assert payload["session_id"] == "sess-1"
    assert payload["wp_id"] == "WP03"
    assert {e["aggregate_id"] for e in stored} == {"014-team-server"}
    assert {e["lamport_clock"] for e in stored} == {1, 2}
    cost = client.get("/api/v1/cost-summary").json()
    assert cost["total"]["event_count"] == 2


def test_records_naming_no_feature_go_to_the_catch_all(client: httpx.Client):
    """Without a spec_kitty.feature attribute a record is stored under the catch-all feature."""
    client.post("/v1/logs", json=logs([claude_record("req_x")]))
    (event,) = executions(client)
    assert event["aggregate_id"] == CATCH_ALL_FEATURE
    assert event["payload"]["role"] == "agent"


def codex_request(kind: str = "response.completed") -> ExportLogsServiceRequest:
    document = {
        "resourceLogs": [
            {
                "resource": {"attributes": attrs(service__name="codex_cli_rs")},
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": str(T0),
                                "attributes": attrs(
                                    event__name="codex.sse_event",
                                    event__kind=kind,
                                    model="gpt-5-codex",
                                    conversation__id="conv-9",
                                    input_token_count=5000,
                                    output_token_count=700,
                                    cached_token_count=3000,
                                    reasoning_token_count=200,
                                ),
                            },
                            {
                                "timeUnixNano": str(T0),
                                "attributes": attrs(
                                    event__name="codex.sse_event", event__kind="response.created"
                                ),
                            },
                        ]
                    }
                ],
            }
        ]
    }
    return json_format.ParseDict(document, ExportLogsServiceRequest())


@pytest.mark.parametrize("compressed", [False, True])
def test_codex_completed_responses_over_protobuf_are_stored_once(
    client: httpx.Client, compressed: bool
):
    """A Codex response.completed as protobuf (plain or gzip) is one event; a resend adds none."""
    body = codex_request().SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    if compressed:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    for _ in range(2):
        answer = client.post("/v1/logs", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/x-protobuf"
        parsed = ExportLogsServiceResponse.FromString(answer.content)
        assert parsed.partial_success.rejected_log_records == 0
    (event,) = executions(client)
    payload = event["payload"]
    assert (payload["agent"], payload["model"], payload["session_id"]) == (
        "codex",
        "gpt-5-codex",
        "conv-9",
    )
    assert payload["input_tokens"] == 5000  # OpenAI's input already holds the cached part
    assert payload["cache_read_tokens"] == 3000
    assert payload["output_tokens"] == 700
    assert payload["reasoning_tokens"] == 200


def test_a_record_without_time_is_rejected_and_a_bad_figure_dropped(client: httpx.Client):
    """No time: counted in partialSuccess, not stored. A figure that is no count: dropped, noted."""
    timeless = claude_record("req_t")
    del timeless["timeUnixNano"]
    odd = claude_record("req_o", output_tokens="lots")
    answer = client.post("/v1/logs", json=logs([timeless, odd]))
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == 1
    assert "no time" in partial["errorMessage"]
    (event,) = executions(client)
    assert event["payload"]["request_id"] == "req_o"
    assert event["payload"]["output_tokens"] is None
    assert "output_tokens 'lots'" in event["payload"]["usage_error"]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{", {"Content-Type": "application/json"}, 400),
        (b'{"resourceLogs": 3}', {"Content-Type": "application/json"}, 400),
        (b"[]", {"Content-Type": "application/json"}, 400),
        (b"\xff\x00garbage", {"Content-Type": "application/x-protobuf"}, 400),
        (b"{}", {"Content-Type": "text/plain"}, 415),
        (b"{}", {"Content-Type": "application/json", "Content-Encoding": "br"}, 415),
        (b"not gzip", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400),
    ],
)
def test_bodies_that_are_not_otlp_logs_are_4xx(client: httpx.Client, body, headers, status):
    """Malformed OTLP bodies, other media types and encodings: a 4xx naming why, nothing stored."""
    answer = client.post("/v1/logs", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert executions(client) == []


def test_a_gzip_bomb_is_413(client: httpx.Client):
    """A gzip body inflating past the body limit is refused with 413 before it is all inflated."""
    bomb = gzip.compress(b" " * (9 << 20))
    answer = client.post(
        "/v1/logs",
        content=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 413


def test_otlp_intake_needs_the_projects_token(server: ServerProcess):
    """No token or an unknown one: 401, as for every other endpoint."""
    body = logs([claude_record("req_a")])
    assert httpx.post(server.url + "/v1/logs", json=body).status_code == 401
    bad = {"Authorization": "Bearer skt_unknown"}
    assert httpx.post(server.url + "/v1/logs", json=body, headers=bad).status_code == 401


def test_event_ids_are_ulids_of_the_record_time_and_request():
    """The id is a ULID of the record's millisecond, the same for the same request, else not."""
    at = datetime(2026, 5, 28, 12, 0, tzinfo=UTC)
    first = event_id_of("claude\0req_1", at)
    assert first == event_id_of("claude\0req_1", at)
    assert first != event_id_of("claude\0req_2", at)
    assert first != event_id_of("codex\0req_1", at)
    assert is_ulid(first)
    from ulid import ULID

    assert ULID.from_str(first).datetime == at
