"""Load on the team server: 16 clients x 50 batches x 100 events, each stored exactly once.

Starts a throwaway PostgreSQL (fsync on, as a real one) and ``serve`` in a
subprocess, then 16 threads POST their batches; every batch is sent twice
(the second answered as all duplicates, as a client that timed out and
resent would be). Prints throughput, request latency p50/p99, the stored
count and the bytes per stored event.

    .venv/bin/python bench/server_load.py [--clients 16] [--batches 50] [--size 100]
        [--restart-postgres]

With ``--restart-postgres`` PostgreSQL is stopped (fast shutdown) once a
quarter of the batches are in and started again 2 s later, the server left
running; clients retry 503s and broken connections (``post_retrying``), and
the script prints how long after PostgreSQL was back the first request
succeeded, and how many requests were retried.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from server_proc import ServerProcess, post_retrying
from spec_kitty_telemetry.postgres_store import open_pool
from spec_kitty_telemetry.server import schema
from spec_kitty_telemetry.server.auth import create_token
from spec_kitty_telemetry.server.devdb import TemporaryPostgres
from spec_kitty_telemetry.testing import make_event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--restart-postgres", action="store_true")
    args = parser.parse_args()
    with TemporaryPostgres(fast=False) as cluster:
        with psycopg.connect(cluster.url, autocommit=True) as connection:
            connection.execute("CREATE DATABASE load")
        url = cluster.url_for("load")
        schema.upgrade(url)
        pool = open_pool(url, max_size=1)
        token = create_token(pool, "load")
        pool.close()
        server = ServerProcess(url, cluster.root / "serve.log")
        server.start()
        try:
            run(server, token, args, cluster if args.restart_postgres else None)
        finally:
            server.stop()
        with psycopg.connect(url) as connection:
            rows, size = connection.execute(
                "SELECT count(*), pg_total_relation_size('events') FROM events"
            ).fetchone()  # type: ignore[misc]
        expected = args.clients * args.batches * args.size
        print(f"stored: {rows} of {expected} events (exactly once: {rows == expected})")
        print(f"bytes per stored event (table + indexes): {size / max(rows, 1):.0f}")


def run(
    server: ServerProcess,
    token: str,
    args: argparse.Namespace,
    restart: TemporaryPostgres | None,
) -> None:
    latencies: list[float] = []
    done = threading.Semaphore(0)
    retried = [0]
    back_at: list[float] = []
    first_ok_after: list[float] = []
    counts = {"new": 0, "duplicates": 0}
    lock = threading.Lock()
    batches = [
        [
            [
                make_event(
                    event_type="ExecutionEvent",
                    aggregate_id=f"00{c % 4}-load",
                    lamport_clock=b * args.size + i + 1,
                    node_id=f"client{c}",
                    payload={
                        "agent": "claude",
                        "role": "implementer",
                        "input_tokens": 1000,
                        "output_tokens": 200,
                        "model": "claude-sonnet-4.5",
                    },
                ).to_dict()
                for i in range(args.size)
            ]
            for b in range(args.batches)
        ]
        for c in range(args.clients)
    ]

    def client(mine: list[list[dict[str, object]]]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
            for batch in mine:
                for _ in range(2):  # the resend of a client that gave up waiting
                    start = time.perf_counter()
                    answer, tries = post_retrying(http, "/api/v1/events", {"events": batch})
                    elapsed = time.perf_counter() - start
                    answer.raise_for_status()
                    body = answer.json()
                    done.release()
                    with lock:
                        retried[0] += tries
                        if back_at and not first_ok_after:
                            first_ok_after.append(time.perf_counter() - back_at[0])
                        latencies.append(elapsed)
                        counts["new"] += body["new"]
                        counts["duplicates"] += body["duplicates"]

    threads = [threading.Thread(target=client, args=(b,)) for b in batches]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    if restart is not None:
        for _ in range(len(threads) * args.batches // 2):  # a quarter of the batches, sent twice
            done.acquire()
        restart.stop()
        time.sleep(2.0)
        restart.start()
        back_at.append(time.perf_counter())
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    sent = 2 * args.clients * args.batches * args.size
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{args.clients} clients x {args.batches} batches x {args.size} events, each sent twice")
    print(
        f"requests: {len(latencies)} in {wall:.1f} s; {sent / wall:,.0f} events/s sent, "
        f"{counts['new'] / wall:,.0f} new events/s stored"
    )
    print(f"latency per batch: p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms")
    print(f"answers: {counts['new']} new, {counts['duplicates']} duplicates")
    if restart is not None:
        print(
            "PostgreSQL stopped for 2 s mid-load: first success "
            f"{first_ok_after[0] * 1000:.0f} ms after it was back; {retried[0]} requests retried"
        )


if __name__ == "__main__":
    main()
