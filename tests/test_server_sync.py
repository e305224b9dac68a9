"""`sync --server`: every local event reaches the server once, resumably, through faults.

A real ``serve`` process over a real PostgreSQL; logs are real files in a
temporary project.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server_proc import SCRIPT, ServerProcess
from spec_kitty_telemetry.jsonl_store import SimpleJsonStore
from spec_kitty_telemetry.postgres_store import open_pool
from spec_kitty_telemetry.server.auth import create_token
from spec_kitty_telemetry.server.sync import SyncError, sync_project
from spec_kitty_telemetry.testing import make_event

pytest_plugins = ["pg"]

_projects = itertools.count()


class CutOff(Exception):
    """Raised by a progress callback to stop a sync midway, as a crash would."""


@pytest.fixture(scope="module")
def server(server_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(server_db, tmp_path_factory.mktemp("serve") / "serve.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def token(server_db: str) -> str:
    pool = open_pool(server_db, max_size=1)
    try:
        return create_token(pool, f"sync-{next(_projects)}")
    finally:
        pool.close()


def make_repo(root: Path, features: dict[str, int]) -> Path:
    for feature, count in features.items():
        store = SimpleJsonStore(root / "kitty-specs" / feature / "execution.events.jsonl")
        store.save_events(
            make_event(aggregate_id=feature, lamport_clock=n + 1) for n in range(count)
        )
    return root


def stored_ids(server: ServerProcess, token: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        body = httpx.get(server.url + "/api/v1/events", params=params, headers=headers).json()
        ids += [r["event_id"] for r in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def local_ids(root: Path) -> set[str]:
    return {
        event.event_id
        for log in (root / "kitty-specs").glob("*/execution.events.jsonl")
        for event in SimpleJsonStore(log).load_all_events()
    }


def test_a_second_sync_sends_nothing(server: ServerProcess, token: str, tmp_path: Path):
    """The first sync sends every event once; the second sends none; the server has each once."""
    root = make_repo(tmp_path, {"001-a": 30, "002-b": 12})
    first = sync_project(root, server.url, token, batch_size=8)
    assert (first.sent, first.new, first.duplicates) == (42, 42, 0)
    second = sync_project(root, server.url, token, batch_size=8)
    assert second.sent == 0
    ids = stored_ids(server, token)
    assert sorted(ids) == sorted(local_ids(root))


def test_a_sync_cut_off_resumes_without_resending(
    server: ServerProcess, token: str, tmp_path: Path
):
    """Stopped after its third batch, sync resumes after the last confirmed one: 0 resent."""
    root = make_repo(tmp_path, {"001-a": 50})
    calls = itertools.count(1)

    def stop_after_three(done: int, total: int) -> None:
        if next(calls) == 3:
            raise CutOff

    with pytest.raises(CutOff):
        sync_project(root, server.url, token, batch_size=10, progress=stop_after_three)
    assert len(stored_ids(server, token)) == 30
    rest = sync_project(root, server.url, token, batch_size=10)
    assert (rest.sent, rest.duplicates) == (20, 0)
    assert sorted(stored_ids(server, token)) == sorted(local_ids(root))


def test_events_appended_later_are_sent_and_a_rewritten_log_is_sent_again(
    server: ServerProcess, token: str, tmp_path: Path
):
    """New lines are sent alone; a line merged in before the synced part resends all (dups)."""
    root = make_repo(tmp_path, {"001-a": 5})
    sync_project(root, server.url, token)
    log = root / "kitty-specs" / "001-a" / "execution.events.jsonl"
    SimpleJsonStore(log).save_event(make_event(aggregate_id="001-a", lamport_clock=9))
    appended = sync_project(root, server.url, token)
    assert (appended.sent, appended.new) == (1, 1)
    merged = make_event(aggregate_id="001-a", lamport_clock=2).to_json() + "\n"
    log.write_text(merged + log.read_text())
    again = sync_project(root, server.url, token)
    assert again.features[0].restarted
    assert (again.sent, again.new, again.duplicates) == (7, 1, 6)
    assert len(stored_ids(server, token)) == 7


def test_malformed_and_unfinished_lines_are_not_sent(
    server: ServerProcess, token: str, tmp_path: Path
):
    """Garbage lines are skipped and counted; a last line without newline waits for the next."""
    root = make_repo(tmp_path, {"001-a": 2})
    log = root / "kitty-specs" / "001-a" / "execution.events.jsonl"
    unfinished = make_event(aggregate_id="001-a").to_json()
    with log.open("a") as out:
        out.write("not json\n\n" + unfinished)
    report = sync_project(root, server.url, token)
    assert (report.sent, report.features[0].skipped_lines) == (2, 1)
    with log.open("a") as out:
        out.write("\n")
    assert sync_project(root, server.url, token).sent == 1


def test_sync_command_dry_run_and_token_sources(server: ServerProcess, token: str, tmp_path):
    """The CLI takes the token from the environment or a file; --dry-run sends nothing."""
    root = make_repo(tmp_path / "repo", {"001-a": 4})
    env = {**os.environ, "SPEC_KITTY_TELEMETRY_TOKEN": token}
    command = [str(SCRIPT), "sync", "--server", server.url, "--repo", str(root)]
    dry = subprocess.run([*command, "--dry-run"], capture_output=True, text=True, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "Dry run: 4 events would be sent" in dry.stdout
    assert stored_ids(server, token) == []
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    plain_env = {k: v for k, v in env.items() if k != "SPEC_KITTY_TELEMETRY_TOKEN"}
    real = subprocess.run(
        [*command, "--token-file", str(token_file)], capture_output=True, text=True, env=plain_env
    )
    assert real.returncode == 0, real.stderr
    assert "4 events sent, 4 new, 0 already there" in real.stdout
    missing = subprocess.run(command, capture_output=True, text=True, env=plain_env)
    assert missing.returncode == 2
    assert "SPEC_KITTY_TELEMETRY_TOKEN" in missing.stderr


def test_a_refused_token_is_a_sync_error(server: ServerProcess, tmp_path: Path):
    """A token the server does not know stops sync with a SyncError naming the 401."""
    root = make_repo(tmp_path, {"001-a": 1})
    with pytest.raises(SyncError, match="401"):
        sync_project(root, server.url, "skt_unknown")


def test_server_sigkilled_mid_sync_loses_and_duplicates_nothing(
    server_db: str, token: str, tmp_path: Path
):
    """The server is SIGKILLed while a sync runs and restarted: every event stored exactly once."""
    root = make_repo(tmp_path, {"001-a": 1500, "002-b": 1500})
    victim = ServerProcess(server_db, tmp_path / "victim.log")
    victim.start()
    sent = threading.Event()
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(
                sync_project(
                    root, victim.url, token, batch_size=50, progress=lambda d, t: sent.set()
                )
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert sent.wait(60)
        victim.kill()
        time.sleep(1.0)
        victim.start()
        worker.join(120)
        assert not worker.is_alive()
        ids = stored_ids(victim, token)
    finally:
        victim.stop()
    assert not isinstance(outcome[0], BaseException), outcome[0]
    assert len(ids) == len(set(ids)) == 3000
    assert set(ids) == local_ids(root)
