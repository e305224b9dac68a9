"""Streaming reads of a large log: time and peak memory, next to a parse-only floor.

Usage: python bench/read_stream.py [--events 1000000]

Each reader runs in its own subprocess so its peak RSS is its own. Uses the
log bench/emit_latency.py generates (and generates it if missing).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from emit_latency import big_log

READERS = {
    "orjson.loads per line (floor)": (
        "import orjson\n"
        "n = 0\n"
        "with open(PATH, 'rb') as f:\n"
        "    for line in f:\n"
        "        orjson.loads(line); n += 1\n"
    ),
    "SimpleJsonStore.iter_records": (
        "from spec_kitty_telemetry import SimpleJsonStore\n"
        "n = sum(1 for _ in SimpleJsonStore(PATH).iter_records())\n"
    ),
    "SimpleJsonStore.iter_events (pydantic Event)": (
        "from spec_kitty_telemetry import SimpleJsonStore\n"
        "n = sum(1 for _ in SimpleJsonStore(PATH).iter_events())\n"
    ),
}


def run(code: str, path: Path) -> tuple[float, float, int]:
    """Run ``code`` in a fresh interpreter; return wall seconds, peak RSS in MB, events."""
    script = (
        f"PATH = {str(path)!r}\n{code}"
        "import resource, json\n"
        "print(json.dumps([n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))\n"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    elapsed = time.perf_counter() - started
    count, rss_kb = json.loads(out)
    return elapsed, rss_kb / 1024, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    path = big_log(args.events)
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{path.stat().st_size / 1e6:.0f} MB, {args.events:,} events")
    print(f"{'reader':>46} {'seconds':>8} {'x floor':>8} {'peak RSS MB':>12}")
    floor = None
    for name, code in READERS.items():
        seconds, rss, count = run(code, path)
        assert count == args.events, (name, count)
        floor = floor or seconds
        print(f"{name:>46} {seconds:>8.2f} {seconds / floor:>8.2f} {rss:>12.0f}")
    print(f"(this benchmark process itself: {baseline_rss:.0f} MB)")


if __name__ == "__main__":
    main()
