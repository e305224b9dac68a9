"""Webhook delivery latency: from a run's ``emit`` to the endpoint receiving it.

Usage: python bench/webhook_latency.py [--runs 20] [--fail-first 0]

A real HTTP server on loopback plays the endpoint; each run is recorded by
the installed ``spec-kitty agent telemetry emit`` command in a subprocess.
Printed: the emit command's wall time without any webhook configured and
with one (what the agent waits; runs alternate, so both see the same machine
load), and the time from the emit starting to the endpoint receiving the run
(the sender is started by the emit; its cold start included). The target is
delivery within 10 s when the endpoint is up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _commands import console_script

received: dict[str, float] = {}
failures = [0]
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            failing = failures[0] > 0
            failures[0] -= failing
            if not failing:
                received.setdefault(self.headers["Idempotency-Key"], time.perf_counter())
        self.send_response(503 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fail-first", type=int, default=0, help="503s before each run")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    spec_kitty = console_script()
    emit_times, latencies, baseline = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "kitty-specs" / "001-bench").mkdir(parents=True)
        (root / ".kittify").mkdir()
        (root / ".kittify" / "telemetry.yaml").write_text(
            f"exports:\n  webhooks:\n    - url: {url}\n"
        )
        plain = root / "plain"
        (plain / "kitty-specs" / "001-bench").mkdir(parents=True)
        (plain / ".kittify").mkdir()
        (plain / ".kittify" / "telemetry.yaml").write_text("node_id: bench\n")
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(
                [
                    spec_kitty,
                    "agent",
                    "telemetry",
                    "emit",
                    "--feature",
                    "001-bench",
                    "--role",
                    "implementer",
                    "--agent",
                    "claude",
                    "--cost-usd",
                    "0.1",
                ],
                cwd=plain,
                check=True,
                capture_output=True,
            )
            baseline.append(time.perf_counter() - started)
            with lock:
                failures[0] = args.fail_first
            started = time.perf_counter()
            done = subprocess.run(
                [
                    spec_kitty,
                    "agent",
                    "telemetry",
                    "emit",
                    "--feature",
                    "001-bench",
                    "--role",
                    "implementer",
                    "--agent",
                    "claude",
                    "--cost-usd",
                    "0.1",
                ],
                cwd=root,
                check=True,
                capture_output=True,
            )
            emit_times.append(time.perf_counter() - started)
            del done
            deadline = time.perf_counter() + 60
            before = len(received)
            while len(received) == before and time.perf_counter() < deadline:
                time.sleep(0.002)
            with lock:
                newest = max(received.values()) if len(received) > before else None
            latencies.append(float("inf") if newest is None else newest - started)
            time.sleep(0.2)  # let that sender exit, so each run pays a cold sender start
    server.shutdown()

    def figures(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        return (
            f"median {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
            f"max {max(values) * 1000:7.1f} ms"
        )

    print(f"runs: {args.runs}, endpoint failing first {args.fail_first} requests of each")
    print(f"emit wall time, no webhooks configured:        {figures(baseline)}")
    print(f"emit wall time, one webhook (what agent waits): {figures(emit_times)}")
    print(f"emit start -> endpoint received:                {figures(latencies)}")
    within = sum(latency <= 10 for latency in latencies)
    print(f"delivered within 10 s: {within}/{args.runs}")


if __name__ == "__main__":
    main()
