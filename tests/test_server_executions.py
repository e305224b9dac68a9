"""Executions with phases on a real ``serve`` process over a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from server_proc import ServerProcess, new_token
from spec_kitty_telemetry.ids import new_event_id
from spec_kitty_telemetry.server.executions import DEFAULT_PHASES

pytest_plugins = ["pg"]


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


def start(http: httpx.Client, **fields: Any) -> str:
    body = {"feature": "014-team-server", "wp_id": "WP01", "agent": "claude", **fields}
    answer = http.post("/api/v1/executions", json=body)
    assert answer.status_code == 200, answer.text
    execution_id: str = answer.json()["execution_id"]
    return execution_id


def stored_types(http: httpx.Client) -> list[str]:
    page = http.get("/api/v1/events", params={"limit": 1000}).json()
    return [e["event_type"] for e in page["events"]]


def test_an_execution_is_a_start_phases_and_a_completion_with_its_duration(client: httpx.Client):
    """Start, two phases and a completion read back as one execution; duration end minus start."""
    execution = start(client, timestamp="2026-12-01T10:00:00Z")
    for phase in ("failing_tests", "implement"):
        answer = client.post(
            f"/api/v1/executions/{execution}/phases",
            json={"phase": phase, "status": "COMPLETED", "duration_ms": 1000},
        )
        assert answer.json()["new"] is True
    done = client.post(
        f"/api/v1/executions/{execution}/completion",
        json={"status": "COMPLETED", "timestamp": "2026-12-01T10:02:30Z"},
    )
    assert done.status_code == 200
    shown = client.get(f"/api/v1/executions/{execution}").json()
    assert shown["status"] == "COMPLETED"
    assert shown["duration_ms"] == 150_000
    assert [p["phase"] for p in shown["phases"]] == ["failing_tests", "implement"]
    assert (shown["feature"], shown["wp_id"], shown["agent"]) == (
        "014-team-server",
        "WP01",
        "claude",
    )
    assert stored_types(client) == [
        "ExecutionStarted",
        "ExecutionPhaseCompleted",
        "ExecutionPhaseCompleted",
        "ExecutionCompleted",
    ]
    again = client.post(f"/api/v1/executions/{execution}/completion", json={"status": "FAILED"})
    assert again.status_code == 409
    late = client.post(
        f"/api/v1/executions/{execution}/phases", json={"phase": "verify", "status": "COMPLETED"}
    )
    assert late.status_code == 409
    assert len(stored_types(client)) == 4


def test_a_duplicate_phase_post_is_ignored_and_a_new_one_appends(client: httpx.Client):
    """A phase event id posted twice is stored once; the same phase again (rework) appends."""
    execution = start(client)
    event_id = new_event_id()
    body = {"phase": "verify", "status": "FAILED", "event_id": event_id}
    first = client.post(f"/api/v1/executions/{execution}/phases", json=body)
    second = client.post(f"/api/v1/executions/{execution}/phases", json=body)
    assert (first.json()["new"], second.json()["new"]) == (True, False)
    assert second.json()["event_id"] == event_id
    shown = client.get(f"/api/v1/executions/{execution}").json()
    assert len(shown["phases"]) == 1
    assert shown["status"] == "FAILED"  # the last phase failed, no completion yet
    rework = {"phase": "verify", "status": "COMPLETED"}
    client.post(f"/api/v1/executions/{execution}/phases", json=rework)
    shown = client.get(f"/api/v1/executions/{execution}").json()
    assert [p["status"] for p in shown["phases"]] == ["FAILED", "COMPLETED"]
    assert shown["status"] == "STARTED"


@pytest.mark.parametrize(
    "body",
    [
        {"phase": "deploy", "status": "COMPLETED"},
        {"phase": "verify", "status": "DONE"},
        {"phase": "verify", "status": "COMPLETED", "duration_ms": -1},
        {"phase": "verify", "status": "COMPLETED", "surprise": 1},
        {"phase": "verify", "status": "COMPLETED", "event_id": "not-an-id"},
        {"phase": "verify", "status": "COMPLETED", "timestamp": "yesterday"},
    ],
)
def test_invalid_phase_posts_are_422_and_store_nothing(client: httpx.Client, body):
    """Unknown phase or status, bad count, extra field, id or time: 422, nothing appended."""
    execution = start(client)
    answer = client.post(f"/api/v1/executions/{execution}/phases", json=body)
    assert answer.status_code == 422, answer.text
    assert stored_types(client) == ["ExecutionStarted"]


def test_phase_names_are_the_projects_own_once_set(client: httpx.Client):
    """The defaults apply until PUT sets the project's names; then only those are accepted."""
    assert client.get("/api/v1/project/phases").json() == {"phases": list(DEFAULT_PHASES)}
    names = ["plan", "code", "review"]
    assert client.put("/api/v1/project/phases", json={"phases": names}).status_code == 200
    execution = start(client)
    ok = client.post(
        f"/api/v1/executions/{execution}/phases", json={"phase": "review", "status": "COMPLETED"}
    )
    assert ok.status_code == 200
    old = client.post(
        f"/api/v1/executions/{execution}/phases", json={"phase": "verify", "status": "COMPLETED"}
    )
    assert old.status_code == 422
    assert "review" in old.json()["detail"]
    for bad in (["Plan"], [], ["a", "a"], ["x" * 65]):
        assert client.put("/api/v1/project/phases", json={"phases": bad}).status_code == 422


def test_bug_fixes_link_to_their_execution_even_after_it_completed(client: httpx.Client):
    """A bug fix posted after completion is listed under the execution; unknown ids are 404."""
    execution = start(client)
    client.post(f"/api/v1/executions/{execution}/completion", json={"status": "COMPLETED"})
    fix = client.post(
        f"/api/v1/executions/{execution}/bug-fixes",
        json={"description": "off-by-one in the pager", "phase": "implement", "commit": "abc123"},
    )
    assert fix.status_code == 200
    shown = client.get(f"/api/v1/executions/{execution}").json()
    assert [f["description"] for f in shown["bug_fixes"]] == ["off-by-one in the pager"]
    unknown = new_event_id()
    assert client.get(f"/api/v1/executions/{unknown}").status_code == 404
    assert client.get("/api/v1/executions/..%2F..%2Fetc").status_code == 404
    orphan = client.post(f"/api/v1/executions/{unknown}/bug-fixes", json={"description": "x"})
    assert orphan.status_code == 404


def test_executions_are_listed_by_wp_status_and_dates(client: httpx.Client):
    """GET /executions filters by work package, status and start date (the CLI's bounds)."""
    a = start(client, wp_id="WP01", timestamp="2026-11-01T09:00:00Z")
    b = start(client, wp_id="WP02", timestamp="2026-11-20T09:00:00Z")
    c = start(client, wp_id="WP02", timestamp="2026-11-25T09:00:00Z")
    client.post(f"/api/v1/executions/{b}/completion", json={"status": "BLOCKED"})

    def ids(**params: Any) -> list[str]:
        answer = client.get("/api/v1/executions", params=params)
        assert answer.status_code == 200, answer.text
        return [e["execution_id"] for e in answer.json()["executions"]]

    assert ids() == [c, b, a]
    assert ids(wp="WP02") == [c, b]
    assert ids(status="BLOCKED") == [b]
    assert ids(status="STARTED") == [c, a]
    assert ids(since="2026-11-20", until="2026-11-20") == [b]
    assert ids(until="2026-11-01") == [a]
    assert ids(limit=1) == [c]
    assert client.get("/api/v1/executions", params={"since": "soon"}).status_code == 422
    assert client.get("/api/v1/executions", params={"status": "DONE"}).status_code == 422


def test_another_projects_execution_is_404(server: ServerProcess, server_db: str):
    """Project B can neither see nor extend project A's execution."""
    a = {"Authorization": f"Bearer {new_token(server_db)}"}
    b = {"Authorization": f"Bearer {new_token(server_db)}"}
    with httpx.Client(base_url=server.url, headers=a) as http:
        execution = start(http)
    with httpx.Client(base_url=server.url, headers=b) as http:
        assert http.get(f"/api/v1/executions/{execution}").status_code == 404
        assert http.get("/api/v1/executions").json() == {"executions": []}
        post = http.post(f"/api/v1/executions/{execution}/completion", json={"status": "FAILED"})
        assert post.status_code == 404


def test_a_restarted_execution_id_is_409_and_a_retried_start_is_ignored(client: httpx.Client):
    """A start with the id of a stored start is ignored; the id of another event is 409."""
    execution_id = new_event_id()
    body = {"feature": "f", "event_id": execution_id}
    assert client.post("/api/v1/executions", json=body).json()["new"] is True
    assert client.post("/api/v1/executions", json=body).json()["new"] is False
    phase = client.post(
        f"/api/v1/executions/{execution_id}/phases",
        json={"phase": "implement", "status": "COMPLETED"},
    ).json()["event_id"]
    clash = client.post("/api/v1/executions", json={"feature": "f", "event_id": phase})
    assert clash.status_code == 409
