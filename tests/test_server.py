"""The team server over HTTP: a real ``serve`` process (uvicorn) over a real PostgreSQL.

One server per module, over a database of its own; each test writes through
a token of a project of its own, so tests never see each other's events.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from server_proc import SCRIPT, ServerProcess, new_token
from spec_kitty_telemetry.cost import GROUP_BYS
from spec_kitty_telemetry.server.sync import sync_project
from spec_kitty_telemetry.testing import make_event

pytest_plugins = ["pg"]

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(server_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(server_db, tmp_path_factory.mktemp("serve") / "serve.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def client(server: ServerProcess, server_db: str) -> Iterator[httpx.Client]:
    """A client of the server with the token of a fresh project."""
    headers = {"Authorization": f"Bearer {new_token(server_db)}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        yield http


def records(n: int, **fields: Any) -> list[dict[str, Any]]:
    return [make_event(lamport_clock=i + 1, **fields).to_dict() for i in range(n)]


def all_events(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 7, **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/v1/events", params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["events"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_health_and_openapi(server: ServerProcess):
    """/healthz answers ok without a token; the OpenAPI document lists the API's routes."""
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    spec = httpx.get(server.url + "/openapi.json").json()
    assert {"/api/v1/events", "/api/v1/cost-summary", "/healthz"} <= set(spec["paths"])
    assert httpx.get(server.url + "/docs").status_code == 200


def test_requests_without_a_valid_token_are_refused(server: ServerProcess):
    """No token, another scheme or a token nobody issued: 401, and nothing is stored."""
    body = {"events": records(1)}
    for headers in ({}, {"Authorization": "Basic eDp5"}, {"Authorization": "Bearer skt_nope"}):
        answer = httpx.post(server.url + "/api/v1/events", json=body, headers=headers)
        assert answer.status_code == 401
        assert httpx.get(server.url + "/api/v1/events", headers=headers).status_code == 401


def test_a_batch_is_stored_once_and_a_resend_is_all_duplicates(client: httpx.Client):
    """POST counts new and duplicate events; sending the batch again stores nothing twice."""
    batch = records(5)
    first = client.post("/api/v1/events", json={"events": batch})
    assert first.json() == {"received": 5, "new": 5, "duplicates": 0}
    again = client.post("/api/v1/events", json={"events": [*batch, *records(1)]})
    assert again.json() == {"received": 6, "new": 1, "duplicates": 5}
    stored = all_events(client)
    assert len(stored) == 6
    assert sorted(r["event_id"] for r in stored[:5]) == sorted(r["event_id"] for r in batch)


def test_one_bad_event_rejects_the_batch_naming_event_and_field(client: httpx.Client):
    """A batch with an invalid event is a 422 naming its index, id and field; none is stored."""
    batch = records(3)
    batch[1]["lamport_clock"] = -4
    answer = client.post("/api/v1/events", json={"events": batch})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert (detail["event"], detail["event_id"], detail["field"]) == (
        1,
        batch[1]["event_id"],
        "lamport_clock",
    )
    assert all_events(client) == []


def test_oversized_batches_and_bodies_are_413(client: httpx.Client):
    """More events than a batch may hold, or a body over the byte limit: 413, nothing stored."""
    too_many = client.post("/api/v1/events", json={"events": records(1001)})
    assert too_many.status_code == 413
    huge = b'{"events": [' + b" " * (9 << 20) + b"]}"
    answer = client.post(
        "/api/v1/events", content=huge, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert all_events(client) == []


@pytest.mark.parametrize(
    "body",
    [b"{", b"[]", b'{"events": {}}', b'{"events": [1, "x"]}', b"\xff\xfe", b'{"events": [{}]}'],
)
def test_malformed_bodies_are_4xx(client: httpx.Client, body: bytes):
    """Bodies that are not JSON or not a batch of events get a 400 or 422, never a 500."""
    answer = client.post("/api/v1/events", content=body)
    assert answer.status_code in (400, 422), answer.text
    assert all_events(client) == []


def test_projects_never_see_each_others_events(server: ServerProcess, server_db: str):
    """Project B's token reads none of project A's events, even ones with the same id."""
    batch = records(3, event_type="ExecutionEvent", payload={"agent": "a", "role": "r"})
    a = {"Authorization": f"Bearer {new_token(server_db)}"}
    b = {"Authorization": f"Bearer {new_token(server_db)}"}
    httpx.post(server.url + "/api/v1/events", json={"events": batch}, headers=a)
    assert httpx.get(server.url + "/api/v1/events", headers=b).json()["events"] == []
    again = httpx.post(server.url + "/api/v1/events", json={"events": batch}, headers=b)
    assert again.json()["new"] == 3  # their own copies, not A's
    costs = httpx.get(server.url + "/api/v1/cost-summary", headers=b).json()
    assert costs["total"]["event_count"] == 3


def test_filters_are_the_clis_and_pages_cover_every_match(client: httpx.Client):
    """GET filters by agent, feature glob, model alias and dates; pages hold each match once."""
    claude = records(10, payload={"agent": "claude", "role": "implementer", "model": "sonnet"})
    codex = records(9, aggregate_id="002-other", payload={"agent": "codex", "role": "reviewer"})
    client.post("/api/v1/events", json={"events": claude + codex})
    assert len(all_events(client)) == 19
    assert {r["event_id"] for r in all_events(client, agent="claude")} == {
        r["event_id"] for r in claude
    }
    assert len(all_events(client, feature="002-*")) == 9
    assert len(all_events(client, model="claude-sonnet-4.5", role="implementer")) == 10
    assert all_events(client, until="2000-01-01") == []
    bad = client.get("/api/v1/events", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "since" in bad.json()["detail"]


def _pages(http: httpx.Client, **params: Any) -> list[int]:
    """The size of each page a client walks through, 7 events a page."""
    sizes = []
    cursor = None
    while True:
        query = {**params, "limit": 7, **({"cursor": cursor} if cursor else {})}
        body = http.get("/api/v1/events", params=query).json()
        sizes.append(len(body["events"]))
        cursor = body["next_cursor"]
        if cursor is None:
            return sizes


def test_an_exactly_full_last_page_says_it_is_the_last(client: httpx.Client):
    """A last page holding exactly ``limit`` matches has no next cursor: no empty page follows."""
    claude = records(14, payload={"agent": "claude", "role": "implementer"})
    codex = records(5, payload={"agent": "codex", "role": "reviewer"})
    client.post("/api/v1/events", json={"events": claude + codex})
    assert _pages(client, agent="claude") == [7, 7]
    assert _pages(client, agent="codex") == [5]
    assert _pages(client) == [7, 7, 5]
    assert _pages(client, agent="gemini") == [0]


def _sample_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "kitty-specs", root / "kitty-specs")
    return root


def test_cost_summary_equals_local_cost_json(client: httpx.Client, tmp_path: Path):
    """After a sync, /cost-summary is `cost --json` over the same logs, for every grouping."""
    root = _sample_repo(tmp_path)
    token = client.headers["Authorization"].removeprefix("Bearer ")
    report = sync_project(root, str(client.base_url), token)
    assert report.new > 0
    for group_by in GROUP_BYS:
        local = subprocess.run(
            [str(SCRIPT), "cost", "--json", "--group-by", group_by, "--repo", str(root)],
            capture_output=True,
            text=True,
            check=True,
        )
        remote = client.get("/api/v1/cost-summary", params={"group_by": group_by})
        assert remote.status_code == 200
        assert remote.json() == json.loads(local.stdout), group_by
    assert client.get("/api/v1/cost-summary", params={"group_by": "nope"}).status_code == 422


def test_scoreboard_equals_local_scoreboard_json(client: httpx.Client, tmp_path: Path):
    """After a sync, /scoreboard is `scoreboard --json` over the same logs (but for its end)."""
    root = _sample_repo(tmp_path)
    token = client.headers["Authorization"].removeprefix("Bearer ")
    assert sync_project(root, str(client.base_url), token).new > 0
    for by in (None, "agent", "model", "role"):
        command = [str(SCRIPT), "scoreboard", "--window", "all", "--json", "--repo", str(root)]
        local = subprocess.run(
            [
                *command,
                *(part for field in (by or "").split(",") if field for part in ("--by", field)),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        params = {"window": "all", **({"by": by} if by else {})}
        remote = client.get("/api/v1/scoreboard", params=params)
        assert remote.status_code == 200, remote.text
        mine, theirs = json.loads(local.stdout), remote.json()
        del mine["end"], theirs["end"]  # "now" at each call
        assert theirs == mine, by
        assert theirs["total"]["runs"] > 0
    assert client.get("/api/v1/scoreboard", params={"window": "1y"}).status_code == 422
    assert client.get("/api/v1/scoreboard", params={"by": "agent;drop"}).status_code == 422
    assert client.get("/api/v1/scoreboard", params={"by": "agent,role"}).status_code == 422


def test_dashboard_rows_are_iso_weeks_with_this_weeks_runs(client: httpx.Client, tmp_path: Path):
    """/dashboard: one row per ISO week, oldest first; this week's row counts runs recorded now."""
    from datetime import UTC, datetime, timedelta

    from spec_kitty_telemetry import emit_execution_record

    feature = tmp_path / "repo" / "kitty-specs" / "001-now"
    feature.mkdir(parents=True)
    for cost in (0.25, 0.5):
        emit_execution_record(feature, "001-now", "WP01", "claude", "implementer",
                              cost_usd=cost, duration_ms=1000)  # fmt: skip
    token = client.headers["Authorization"].removeprefix("Bearer ")
    assert sync_project(tmp_path / "repo", str(client.base_url), token).new == 2
    answer = client.get("/api/v1/dashboard", params={"weeks": 3})
    assert answer.status_code == 200, answer.text
    weeks = answer.json()["weeks"]
    now = datetime.now(UTC)
    expected = [(now - timedelta(weeks=back)).isocalendar() for back in (2, 1, 0)]
    assert [row["week"] for row in weeks] == [f"{y}-W{w:02d}" for y, w, _ in expected]
    assert [row["runs"] for row in weeks] == [0, 0, 2]
    assert weeks[-1]["total_cost_usd"] == 0.75
    assert weeks[-1]["mean_duration_ms"] == 1000
    assert client.get("/api/v1/dashboard", params={"weeks": 0}).status_code == 422
    older = client.get("/api/v1/dashboard", params={"weeks": 1, "until": "2025-11-16"}).json()
    assert [row["week"] for row in older["weeks"]] == ["2025-W46"]
    assert older["weeks"][0]["runs"] == 0  # this project's runs are all of this week
    assert client.get("/api/v1/dashboard", params={"until": "soon"}).status_code == 422


def test_token_create_prints_a_token_stored_only_as_its_hash(server: ServerProcess, server_db):
    """`serve token create` prints a working token once; the database holds only its SHA-256."""
    made = subprocess.run(
        [str(SCRIPT), "serve", "token", "create", "--project", "web-shop"],
        capture_output=True,
        text=True,
        check=True,
        env={"SPEC_KITTY_TELEMETRY_DATABASE_URL": server_db, "PATH": "/usr/bin:/bin"},
    )
    token = made.stdout.strip()
    assert token.startswith("skt_")
    answer = httpx.get(server.url + "/api/v1/project", headers={"Authorization": f"Bearer {token}"})
    assert answer.json() == {"project": "web-shop"}
    with psycopg.connect(server_db) as connection:
        hashes = [row[0] for row in connection.execute("SELECT token_sha256 FROM api_tokens")]
        tables = connection.execute("SELECT * FROM api_tokens").fetchall()
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert token not in repr(tables)


def test_serve_without_a_database_is_a_one_line_error():
    """`serve` with no --database-url and no environment variable exits 2 naming the flag."""
    done = subprocess.run(
        [str(SCRIPT), "serve"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "--database-url" in done.stderr


def test_serve_dev_runs_on_a_throwaway_database_and_deletes_it(tmp_path: Path):
    """`serve --dev` prints a working token, and on SIGTERM stops PostgreSQL and removes it."""
    import glob
    import signal
    import time

    from spec_kitty_telemetry.server.devdb import free_port

    before = set(glob.glob("/tmp/skt-pg-*"))
    port = free_port()
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SCRIPT), "serve", "--dev", "--port", str(port)], stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 90
        token = None
        while time.monotonic() < deadline and token is None:
            for line in log.read_text().splitlines():
                if line.startswith("API token for project 'dev': "):
                    token = line.rsplit(" ", 1)[1]
            time.sleep(0.2)
        assert token is not None, log.read_text()
        headers = {"Authorization": f"Bearer {token}"}
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/project", headers=headers)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None
        assert answer.json() == {"project": "dev"}
        new_dirs = set(glob.glob("/tmp/skt-pg-*")) - before
        assert len(new_dirs) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    assert not Path(new_dirs.pop()).exists()
