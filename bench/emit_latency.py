"""In-process emit latency into an empty log and into a 1M-event log.

Usage: python bench/emit_latency.py [--events 1000000] [--emits 2000] [--fsync]

The large log is generated once into bench/.data/ (about 560 MB) and copied
fresh for every run, so each run starts from the same file with no index:
the first emit pays the one-off scan a fresh clone or a git merge costs, and
is reported on its own. Median and p99 are over the emits after it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.ids import new_event_id
from spec_kitty_telemetry.project import EVENTS_FILENAME

DATA = Path(__file__).with_name(".data")

_LINE = (
    '{{"aggregate_id": "043-telemetry-foundation", "causation_id": null, '
    '"event_id": "{event_id}", "event_type": "ExecutionEvent", "lamport_clock": {clock}, '
    '"node_id": "cli:WP{wp:02d}", "payload": {{"agent": "copilot", "cache_read_tokens": null, '
    '"cache_write_tokens": null, "cost_usd": 0.42, "duration_ms": {duration}, "error": null, '
    '"exit_code": 0, "input_tokens": {tokens}, "model": "claude-sonnet-4.5", '
    '"output_tokens": 1785, "reasoning_tokens": null, "role": "implementer", '
    '"success": true, "wp_id": "WP{wp:02d}"}}, "timestamp": "2026-02-16T09:12:58.036834+00:00"}}\n'
)


def big_log(events: int) -> Path:
    """Return a cached log of ``events`` lines in the emitter's format, generating it once."""
    path = DATA / f"emit-{events}" / EVENTS_FILENAME
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as handle:
        last = None
        batch = []
        for n in range(1, events + 1):
            last = new_event_id(after=last)
            batch.append(
                _LINE.format(
                    event_id=last, clock=n, wp=n % 12, duration=n % 90_000, tokens=1000 + n
                )
            )
            if len(batch) == 10_000:
                handle.writelines(batch)
                batch.clear()
        handle.writelines(batch)
    tmp.rename(path)
    print(
        f"generated {events:,} events ({path.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return path


def measure(feature_dir: Path, emits: int, fsync: bool) -> tuple[float, list[float]]:
    """Emit ``emits`` + 1 events; return the first one's time and the rest's, in ms."""
    timings = []
    for n in range(emits + 1):
        started = time.perf_counter_ns()
        record = emit_execution_record(
            feature_dir,
            "043-telemetry-foundation",
            f"WP{n % 12:02d}",
            "claude",
            "implementer",
            model="claude-sonnet-4.5",
            input_tokens=12_000,
            output_tokens=800,
            cache_read_tokens=9_000,
            duration_ms=41_000,
            fsync=fsync,
        )
        timings.append((time.perf_counter_ns() - started) / 1e6)
        if record is None:
            raise SystemExit("emit failed; see the warning above")
    return timings[0], timings[1:]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--emits", type=int, default=2_000)
    parser.add_argument("--fsync", action="store_true")
    args = parser.parse_args()

    source = big_log(args.events)
    with tempfile.TemporaryDirectory(dir=DATA) as scratch:
        empty_dir = Path(scratch) / "empty"
        big_dir = Path(scratch) / "big"
        big_dir.mkdir()
        shutil.copyfile(source, big_dir / EVENTS_FILENAME)
        os.sync()

        empty_first, empty = measure(empty_dir, args.emits, args.fsync)
        big_first, big = measure(big_dir, args.emits, args.fsync)

    mode = "fsync" if args.fsync else "no fsync"
    print(f"emit latency, {args.emits:,} emits each, {mode}")
    print(f"{'log':>22} {'median ms':>10} {'p99 ms':>8} {'first ms':>9}")
    print(f"{'empty':>22} {statistics.median(empty):>10.3f} {p99(empty):>8.3f} {empty_first:>9.1f}")
    print(
        f"{f'{args.events:,} events':>22} {statistics.median(big):>10.3f} "
        f"{p99(big):>8.3f} {big_first:>9.1f}"
    )
    print(
        f"ratio of medians (big / empty): {statistics.median(big) / statistics.median(empty):.2f}"
    )
    print(f"ratio of p99s    (big / empty): {p99(big) / p99(empty):.2f}")
    print("first emit into the big log: no index yet (fresh clone or merge), so it scans once")


if __name__ == "__main__":
    main()
