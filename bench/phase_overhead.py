"""Overhead of one ``track_phase`` inside a tracked invocation (target: under 10 µs).

Usage: python bench/phase_overhead.py [--phases 200000]

Times ``with track_phase(name): pass`` in a loop inside one real
``track_invocation`` (the event is written once, at the end, and not timed),
minus the same loop without the phase; with one name, with the five names
the plan uses in turn, and through the decorator. Best of 5 rounds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from spec_kitty_telemetry import track_invocation, track_phase

NAMES = ("context_loading", "ai_execution", "scope_checking", "validation", "git_operations")


def _loop(count: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(count):
        pass
    return time.perf_counter_ns() - started


def _with(count: int, names: tuple[str, ...]) -> float:
    phases = [track_phase(name) for name in names]
    turns = len(phases)
    started = time.perf_counter_ns()
    for index in range(count):
        with phases[index % turns]:
            pass
    return time.perf_counter_ns() - started


def _decorated(count: int) -> float:
    @track_phase("validation")
    def noop() -> None:
        return None

    started = time.perf_counter_ns()
    for _ in range(count):
        noop()
    return time.perf_counter_ns() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=200_000)
    count = parser.parse_args().phases
    with tempfile.TemporaryDirectory() as tmp:
        feature = Path(tmp) / "kitty-specs" / "001-bench"
        with track_invocation(feature, "001-bench", agent="bench", role="implementer"):
            empty = min(_loop(count) for _ in range(5))
            one = min(_with(count, NAMES[:1]) for _ in range(5))
            five = min(_with(count, NAMES) for _ in range(5))
            decorated = min(_decorated(count) for _ in range(5))
            cold = time.perf_counter_ns()
            with track_phase("first"):
                pass
            first = time.perf_counter_ns() - cold
    print(f"phases per round: {count:,} (best of 5)")
    for label, total in (
        ("with track_phase, one name", one),
        ("with track_phase, five names in turn", five),
        ("@track_phase decorator", decorated),
    ):
        per = (total - empty) / count / 1000
        print(f"{label:<38} {per:6.2f} µs per phase   (target < 10 µs: {per < 10})")
    print(f"{'a new name, first use':<38} {first / 1000:6.2f} µs")


if __name__ == "__main__":
    main()
