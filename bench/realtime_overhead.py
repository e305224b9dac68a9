"""What the real-time check adds to a median in-process emit.

Usage: python bench/realtime_overhead.py [--emits 2000]

Three projects, each with a frozen baseline of 200 runs: one without
``alerts.realtime``, one with it on (every run normal, so no alert is
raised), and for reference one without a config file. Each gets ``--emits``
emits of a normal run in one process (the baseline is read once, on the first
emit, which is reported apart). Prints median emit times and the difference.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spec_kitty_telemetry import EVENTS_FILENAME, SimpleJsonStore
from spec_kitty_telemetry.analytics import freeze_baseline, project_baseline
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.testing import make_execution_event


def _project(root: Path, realtime: bool | None) -> Path:
    feature = root / "kitty-specs" / "001-bench"
    store = SimpleJsonStore(feature / EVENTS_FILENAME)
    start = datetime(2025, 11, 3, tzinfo=UTC)
    store.save_events(
        make_execution_event(
            aggregate_id="001-bench",
            lamport_clock=i + 1,
            timestamp=start + timedelta(minutes=30 * i),
            agent="claude",
            role="implementer",
            duration_ms=60_000 + 100 * i,
            cost_usd=1.0 + i / 1000,
        )
        for i in range(200)
    )
    if realtime is not None:
        (root / ".kittify").mkdir()
        (root / ".kittify" / "telemetry.yaml").write_text(
            f"alerts:\n  realtime: {str(realtime).lower()}\n  sinks: []\n"
        )
        freeze_baseline(root, project_baseline(root, week="2025-W45"))
    return feature


def _emits(feature: Path, count: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(count + 1):
        started = time.perf_counter()
        emit_execution_record(
            feature,
            "001-bench",
            "WP01",
            "claude",
            "implementer",
            duration_ms=70_000,
            cost_usd=1.1,
            environment={},
        )
        times.append(time.perf_counter() - started)
    return times[0], times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emits", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for name, realtime in (("no config", None), ("realtime off", False), ("realtime on", True)):
            feature = _project(Path(tmp) / name.replace(" ", "-"), realtime)
            first, rest = _emits(feature, args.emits)
            results[name] = statistics.median(rest)
            print(
                f"{name:>12}: first emit {first * 1000:.2f} ms, "
                f"median {results[name] * 1000:.3f} ms over {args.emits}"
            )
        print(
            f"real-time check adds {(results['realtime on'] - results['realtime off']) * 1000:.3f}"
            " ms to the median emit (target: at most 0.2 ms)"
        )


if __name__ == "__main__":
    main()
