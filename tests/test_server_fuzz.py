"""Fuzzing the real server's API with hypothesis: bad input is always a 4xx, never a 500.

One ``serve`` process over a real PostgreSQL; every example is a real HTTP
request. After a refused request the project holds exactly what it held
before: nothing is half-stored.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from server_proc import ServerProcess, new_token
from spec_kitty_telemetry.errors import InvalidEventError
from spec_kitty_telemetry.store import stored_form
from spec_kitty_telemetry.testing import make_event

pytest_plugins = ["pg"]

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE events; --",
    "1; SELECT pg_sleep(10)",
    "%",
    "_",
    "*",
    "[",
    "[!a-",
    "\\",
    "../../etc/passwd",
    "\x00",
    "$(rm -rf /)",
    "{{7*7}}",
    "é" * 300,
    "9" * 400,
    "-1",
    "1e309",
    "NaN",
    "2026-13-45",
    "0000-00-00",
]
HUGE = st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**400, 1e308, -1e308, 2**53])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def server(server_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(server_db, tmp_path_factory.mktemp("serve") / "serve.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def http(server: ServerProcess, server_db: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {new_token(server_db)}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        yield client


def stored(http: httpx.Client) -> int:
    answer = http.get("/api/v1/events", params={"limit": 1000})
    assert answer.status_code == 200
    return len(answer.json()["events"])


def refused_and_nothing_stored(http: httpx.Client, method: str, path: str, **kwargs: Any) -> None:
    before = stored(http)
    answer = http.request(method, path, **kwargs)
    assert 400 <= answer.status_code < 500, (path, kwargs, answer.status_code, answer.text[:300])
    assert stored(http) == before


WRITE_PATHS = [
    "/api/v1/events",
    "/v1/logs",
    "/api/v1/executions",
    "/api/v1/project/phases",
]


@FUZZ
@given(path=st.sampled_from(WRITE_PATHS), body=st.binary(max_size=300))
def test_bodies_that_are_not_json_are_4xx(http: httpx.Client, path: str, body: bytes):
    """Arbitrary bytes as a JSON body to any writing endpoint: a 4xx, nothing stored."""
    try:
        __import__("orjson").loads(body)
    except ValueError:
        method = "PUT" if path.endswith("phases") else "POST"
        headers = {"Content-Type": "application/json"}
        refused_and_nothing_stored(http, method, path, content=body, headers=headers)


@FUZZ
@given(events=st.lists(json_values, min_size=1, max_size=5))
def test_batches_of_values_that_are_not_events_are_4xx(http: httpx.Client, events: list[Any]):
    """A batch of arbitrary JSON values (wrong types throughout): 4xx, nothing stored."""
    refused_and_nothing_stored(http, "POST", "/api/v1/events", json={"events": events})


@FUZZ
@given(
    field=st.sampled_from(["lamport_clock", "timestamp", "event_id", "node_id", "causation_id"]),
    value=HUGE | json_values,
    usage=st.sampled_from(["input_tokens", "cost_usd", "duration_ms", "cache_read_tokens"]),
    number=HUGE,
)
def test_wrong_or_huge_fields_are_refused_exactly_as_the_line_rule_refuses(
    http: httpx.Client, field: str, value: Any, usage: str, number: Any
):
    """Wrong-typed or huge envelope fields and huge figures: 4xx iff the line rule refuses.

    The server has no rule of its own: what a local log would not hold is
    refused (nothing stored), what it would hold is stored, and neither is a 500.
    """
    record = make_event(event_type="ExecutionEvent", payload={"agent": "a", "role": "r"}).to_dict()
    record["payload"][usage] = number
    record[field] = value
    try:
        stored_form(copy.deepcopy(record))
    except InvalidEventError:
        refused_and_nothing_stored(
            http, "POST", "/api/v1/events", content=_dumps(record), headers=_JSON
        )
    else:
        answer = http.post("/api/v1/events", content=_dumps(record), headers=_JSON)
        assert answer.status_code == 200, answer.text


_JSON = {"Content-Type": "application/json"}


def _dumps(record: dict[str, Any]) -> bytes:
    """JSON with integers of any size (orjson refuses those past 64 bits; the server must not)."""
    import json

    return json.dumps({"events": [record]}).encode()


@FUZZ
@given(
    body=st.dictionaries(
        st.sampled_from(["feature", "wp_id", "agent", "event_id", "timestamp", "phase", "status"]),
        HUGE | st.sampled_from(INJECTIONS) | json_values,
        min_size=1,
    )
)
def test_execution_posts_of_wrong_types_are_4xx(http: httpx.Client, body: dict[str, Any]):
    """Execution start and phase bodies with wrong, huge or injection-shaped values: 4xx."""
    import json

    if (
        type(body.get("feature")) is str
        and body["feature"].strip()
        and "\x00" not in body["feature"]
    ):
        body["feature"] = 7  # keep the start body invalid: a valid one is stored, rightly
    content = json.dumps(body).encode()
    refused_and_nothing_stored(http, "POST", "/api/v1/executions", content=content, headers=_JSON)
    refused_and_nothing_stored(
        http,
        "POST",
        f"/api/v1/executions/{make_event().event_id}/phases",
        content=content,
        headers=_JSON,
    )


@FUZZ
@given(
    path=st.sampled_from(["/api/v1/events", "/api/v1/cost-summary", "/api/v1/executions"]),
    key=st.sampled_from(
        [
            "feature",
            "wp",
            "agent",
            "model",
            "role",
            "type",
            "since",
            "until",
            "success",
            "cursor",
            "limit",
            "group_by",
            "status",
        ]
    ),
    value=st.sampled_from(INJECTIONS) | st.text(max_size=40),
)
def test_injection_shaped_filters_never_500(http: httpx.Client, path: str, key: str, value: str):
    """Filter strings shaped like SQL, globs, paths or huge numbers: 200 or 4xx, never 500."""
    answer = http.get(path, params={key: value})
    assert answer.status_code < 500, (path, key, value, answer.text[:300])
    if answer.status_code == 200:
        assert answer.headers["content-type"].startswith("application/json")


@FUZZ
@given(
    execution_id=(st.sampled_from(INJECTIONS) | st.text(min_size=1, max_size=40)).filter(
        lambda t: t not in (".", "..")  # the dot segments of a URL path, not ids
    )
)
@example(execution_id="/")  # was a 307 redirect to /api/v1/executions/
def test_execution_ids_of_any_shape_are_404_or_4xx(http: httpx.Client, execution_id: str):
    """An execution id that names no execution, whatever its shape: a 4xx, never a 500."""
    from urllib.parse import quote

    answer = http.get("/api/v1/executions/" + quote(execution_id, safe=""))
    assert 400 <= answer.status_code < 500, (execution_id, answer.text[:300])
