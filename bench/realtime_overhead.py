"""What the real-time check adds to a median in-process emit.

Usage: python bench/realtime_overhead.py [--emits 2000]

Three projects, each with a frozen baseline of 200 runs: one without
``alerts.realtime``, one with it on (every run normal, so no alert is
raised), and for reference one without a config file. They get ``--emits``
emits of a normal run each in one process, in turn (round robin, every other
round in reverse order, so the load of a busy machine drifts over all three
alike and none always runs right after the same one); the first emit of each, which
reads the baseline, is reported apart. Prints the median emit times, the
median of the paired on-minus-off differences (wall time, and the CPU time
of the emitting thread, which I/O waits and other processes do not move),
and the CPU time of the check alone (``check_recorded`` on one recorded run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spec_kitty_telemetry import EVENTS_FILENAME, SimpleJsonStore
from spec_kitty_telemetry.analytics import freeze_baseline, project_baseline
from spec_kitty_telemetry.analytics.realtime import check_recorded
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


def _emit(feature: Path) -> tuple[float, float]:
    """Emit one normal run; return its wall time and the CPU time this thread spent on it."""
    started, cpu = time.perf_counter(), time.thread_time()
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
    return time.perf_counter() - started, time.thread_time() - cpu


def _check_cpu(feature: Path, count: int) -> float:
    """CPU time of the check alone on the last recorded run, per call (best of 5 rounds)."""
    record = json.loads((feature / EVENTS_FILENAME).read_text().splitlines()[-1])
    rounds = []
    for _ in range(5):
        started = time.thread_time()
        for _ in range(count):
            check_recorded(feature, record)
        rounds.append((time.thread_time() - started) / count)
    return min(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emits", type=int, default=2000)
    args = parser.parse_args()
    names = {"no config": None, "realtime off": False, "realtime on": True}
    with tempfile.TemporaryDirectory() as tmp:
        features = {
            name: _project(Path(tmp) / name.replace(" ", "-"), realtime)
            for name, realtime in names.items()
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        for name, feature in features.items():
            wall, _cpu = _emit(feature)
            print(f"{name:>12}: first emit {wall * 1000:.2f} ms (reads the baseline)")
        order = list(features.items())
        for number in range(args.emits):  # round robin: the machine's load drifts over all three
            # and every other round backwards, so no project always follows the same one
            for name, feature in order if number % 2 == 0 else order[::-1]:
                times[name].append(_emit(feature))
        for name in names:
            wall = statistics.median(t[0] for t in times[name])
            cpu = statistics.median(t[1] for t in times[name])
            print(f"{name:>12}: median {wall * 1000:.3f} ms wall, {cpu * 1000:.3f} ms CPU")
        on, off = times["realtime on"], times["realtime off"]
        for index, what in ((0, "wall"), (1, "CPU")):
            paired = [a[index] - b[index] for a, b in zip(on, off, strict=True)]
            print(
                f"real-time check adds {statistics.median(paired) * 1000:.3f} ms {what} to the "
                f"median emit (median of {args.emits} paired differences; target: at most 0.2 ms)"
            )
        cpu = _check_cpu(features["realtime on"], 1000)
        print(f"the check alone: {cpu * 1e6:.1f} us of CPU per recorded run")


if __name__ == "__main__":
    main()
