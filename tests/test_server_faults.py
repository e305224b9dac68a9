"""Faults under load: PostgreSQL restarted while clients post to a real ``serve`` process.

The server is not restarted: its pool replaces the broken connections once
PostgreSQL is back, and requests in between are answered 503 (retried by
the clients). Every event ends up stored exactly once.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import psycopg

from server_proc import ServerProcess, new_token, post_retrying
from spec_kitty_telemetry.server.devdb import TemporaryPostgres
from spec_kitty_telemetry.testing import make_event

pytest_plugins = ["pg"]

CLIENTS, BATCHES, SIZE = 4, 30, 50


def test_postgresql_restarted_mid_load_loses_and_duplicates_nothing(
    pg_cluster: TemporaryPostgres, pg_url: str, tmp_path: Path
):
    """PostgreSQL stops and starts while 4 clients post: the same server recovers, 0 lost/dup."""
    token = new_token(pg_url, "faults")
    server = ServerProcess(pg_url, tmp_path / "serve.log")
    server.start()
    batches = [
        [
            [
                make_event(lamport_clock=b * SIZE + i + 1, node_id=f"c{c}").to_dict()
                for i in range(SIZE)
            ]
            for b in range(BATCHES)
        ]
        for c in range(CLIENTS)
    ]
    expected = {r["event_id"] for client in batches for batch in client for r in batch}
    posted = threading.Semaphore(0)
    retries: list[int] = []
    started: list[float] = []  # when each batch's first attempt was sent
    failures: list[BaseException] = []

    def client(mine: list[list[dict[str, object]]]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
                for batch in mine:
                    started.append(time.monotonic())
                    answer, tries = post_retrying(http, "/api/v1/events", {"events": batch})
                    assert answer.status_code == 200, answer.text
                    retries.append(tries)
                    posted.release()
                    time.sleep(0.1)  # paced, so the load outlasts the outage
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    try:
        for _ in range(CLIENTS * 3):  # a few batches in, mid-load
            assert posted.acquire(timeout=60)
        stopped_at = time.monotonic()
        pg_cluster.stop()
        time.sleep(2.0)
        pg_cluster.start()
        back_at = time.monotonic()
        for thread in threads:
            thread.join(180)
        assert server.process is not None
        assert server.process.poll() is None  # never restarted
        assert httpx.get(server.url + "/healthz").status_code == 200
    finally:
        server.stop()
    assert failures == []
    # Requests were sent while PostgreSQL was down (answered 503 and retried, or
    # held by the pool until it was back: either way, recovered without a restart).
    assert any(stopped_at <= t <= back_at for t in started)
    assert max(started) > back_at
    with psycopg.connect(pg_url) as connection:
        stored = [row[0] for row in connection.execute("SELECT event_id FROM events")]
    assert len(stored) == len(set(stored)) == CLIENTS * BATCHES * SIZE
    assert set(stored) == expected
