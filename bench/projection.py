"""`cost --json` from projections: cold, warm, after an append, and on a tiny project.

Usage: python bench/projection.py [--events 1000000] [--features 20] [--runs 2]

Uses the project ``bench/cost_report.py`` generates (cached under bench/.data/),
copied to a scratch folder so appends never touch the cache. In one run it
prints, with the figures the issue's targets are stated in:

* the floor: read every line of every log and ``orjson.loads`` it, one process;
* cold (no projection): ``cost --json -g G`` for agent, model, feature and day,
  as real subprocesses: wall, CPU (user + system) and peak RSS; CPU / floor;
* warm (projections present, nothing appended), the same commands;
* after appending 10,000 events to one log: the command, next to the floor of
  those 10,000 lines;
* a 10-event project, beside ``python -c pass``: both console scripts (the
  typer-free route of ``cost``) and the typer app (the route help and
  unusual command lines take), wall and CPU.

The price caches (``$XDG_CACHE_HOME``) live in the scratch folder, warmed by
the first command, so other programs sharing ``~/.cache`` cannot disturb them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from spec_kitty_telemetry._cells import RUNS

sys.path.insert(0, str(Path(__file__).parent))

from _commands import console_script
from cost_report import generate, project

GROUPS = ("agent", "model", "feature", "day")


def floor(logs: list[Path], skip: dict[Path, int] | None = None) -> float:
    """CPU seconds to read and orjson.loads every line (after ``skip`` bytes of each log)."""
    started = time.process_time()
    for log in logs:
        with log.open("rb") as handle:
            handle.seek((skip or {}).get(log, 0))
            for line in handle.read().split(b"\n"):
                if line:
                    orjson.loads(line)
    return time.process_time() - started


def measure(command: list[str]) -> tuple[float, float, float]:
    """Run ``command``; return wall seconds, CPU seconds and peak RSS in MB.

    The RSS is the child's ``ru_maxrss``, which counts pages shared with this
    process before the child's exec: below this process's own size it is an
    upper bound, not the command's figure.
    """
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def best(command: list[str], runs: int) -> tuple[float, float, float]:
    results = [measure(command) for _ in range(runs)]
    return min(r[0] for r in results), min(r[1] for r in results), max(r[2] for r in results)


def drop_projections(root: Path) -> None:
    """Delete every projection and rollup, so the next report is cold."""
    for path in (root / "kitty-specs").glob("*/.execution.events.jsonl.*"):
        path.unlink()


def _sidecars(root: Path) -> dict[Path, bytes]:
    """Every projection, rollup and ids file of the project, with its bytes."""
    return {path: path.read_bytes() for path in (root / "kitty-specs").glob("*/.execution.*")}


def _restore(root: Path, kept: dict[Path, bytes]) -> None:
    """Put the project's projections, rollups and ids files back as ``kept``."""
    drop_projections(root)
    for path, data in kept.items():
        path.write_bytes(data)


def _put_back(log: Path, size: int, mtime_ns: int) -> None:
    """Cut ``log`` back to ``size`` bytes and its modification time before the append.

    The projections check a log's size and time: a log cut back to the size
    they folded, with the time they recorded, is the file they folded.
    """
    os.truncate(log, size)
    os.utime(log, ns=(mtime_ns, mtime_ns))


def cells(root: Path, logs: list[Path]) -> None:
    """Print each kind of projection's size on disk and its cells per execution event."""
    from spec_kitty_telemetry._timed import day_cells, untimed_cells
    from spec_kitty_telemetry.cost import thresholds_of
    from spec_kitty_telemetry.pricing import load_pricing
    from spec_kitty_telemetry.projection import fold_log

    folder = root / "kitty-specs"
    kinds = (
        ("full key", "*/.*.projection"),
        ("narrowed", "*/.*.projection-keep-*"),
        ("local-day", "*/.*.projection-day-*"),
        ("rollups", "*/.*.rollup-*"),
    )
    for kind, pattern in kinds:
        size = sum(path.stat().st_size for path in folder.glob(pattern))
        print(f"projections on disk, {kind:<9}: {size / 1e6:6.2f} MB")
    thresholds = thresholds_of(load_pricing(root))
    shapes = (
        ("full key", {}),
        ("-g agent", {"days": untimed_cells("agent", None, None)}),
        ("-g model", {"days": untimed_cells("model", None, None)}),
        ("-g day", {"days": day_cells("day", None, None, None, UTC)}),
    )
    for kind, options in shapes:
        folds = [fold_log(log, thresholds, save=False, durations=False, **options) for log in logs]
        count = sum(len(state.fold.cells) for state in folds)
        runs = sum(cell.sums[RUNS] for state in folds for cell in state.fold.cells.values())
        print(f"cells, {kind:<13}: {count:8,}  {count / max(runs, 1):.4f} per execution event")


def start_up(small: Path, runs: int) -> None:
    """Print start-up figures: ``cost --json`` on a 10-event project by each route."""
    repo = ["--json", "--repo", str(small)]
    typer_route = (
        "import sys; from spec_kitty_telemetry.cli import run_telemetry; "
        "run_telemetry(sys.argv[1:], 'spec-kitty-telemetry')"
    )
    routes = {
        "spec-kitty-telemetry cost": [console_script("spec-kitty-telemetry"), "cost", *repo],
        "spec-kitty agent telemetry cost": [console_script(), "agent", "telemetry", "cost", *repo],
        "typer app (help, unusual lines)": [sys.executable, "-c", typer_route, "cost", *repo],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    for command in routes.values():
        measure(command)  # writes the projection and the price caches
    for name, command in routes.items():
        wall, cpu, rss = best(command, runs)
        print(
            f"10-event project, {name:<32} wall {wall * 1000:5.0f} ms  CPU {cpu * 1000:5.0f} ms"
            f"  peak RSS {rss:4.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="projection-bench-"))
    os.environ["XDG_CACHE_HOME"] = str(scratch / "cache")
    root = scratch / "project"
    shutil.copytree(project(args.events, args.features), root)
    logs = sorted((root / "kitty-specs").glob("*/execution.events.jsonl"))
    exe = [console_script(), "agent", "telemetry", "cost", "--json", "--repo", str(root)]
    base = floor(logs)
    size = sum(log.stat().st_size for log in logs)
    print(f"{args.events:,} events in {len(logs)} logs, {size / 1e6:.0f} MB")
    print(f"floor (read + orjson.loads, one process): {base:.2f} s CPU")
    for group in GROUPS:
        cold = []
        for _ in range(args.runs):
            drop_projections(root)
            cold.append(measure([*exe, "-g", group]))
        wall, cpu, rss = min(r[0] for r in cold), min(r[1] for r in cold), max(r[2] for r in cold)
        print(
            f"cold  -g {group:<8} wall {wall:6.2f} s  CPU {cpu:6.2f} s  "
            f"{cpu / base:4.2f}x floor  peak RSS {rss:5.0f} MB"
        )
    for group in GROUPS:
        measure([*exe, "-g", group])  # both projections present before the warm runs
    for group in GROUPS:
        wall, cpu, rss = best([*exe, "-g", group], args.runs)
        print(f"warm  -g {group:<8} wall {wall:6.2f} s  CPU {cpu:6.2f} s  peak RSS {rss:5.0f} MB")
    cells(root, logs)
    # Appending 10,000 events to the first log, and reporting (each projection catches
    # up on its first report): new runs (ids above the log's), then runs merged from
    # another branch (ids among the log's: the duplicate check reads the kept ids).
    # Each figure is the best of ``runs``: the log, its projections, rollups and ids
    # file are put back as they were before the append between runs.
    target = logs[0]
    last = orjson.loads(target.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1])["timestamp"]
    for label, start in (
        ("new runs", datetime.fromisoformat(last) + timedelta(seconds=1)),
        ("ids among the log's", None),
    ):
        before = {log: log.stat().st_size for log in logs}
        mtime = target.stat().st_mtime_ns
        extra = scratch / f"extra-{len(label)}"
        generate(extra, 10_000, 1, seed=11, start=start)
        added = next((extra / "kitty-specs").glob("*/execution.events.jsonl")).read_bytes()
        with target.open("ab") as handle:
            handle.write(added)
        appended_floor = floor([target], before)
        _put_back(target, before[target], mtime)
        kept = _sidecars(root)
        for group in ("agent", "day"):
            results = []
            for _ in range(args.runs):
                _restore(root, kept)
                _put_back(target, before[target], mtime)
                with target.open("ab") as handle:
                    handle.write(added)
                results.append(measure([*exe, "-g", group]))
            wall, cpu = min(r[0] for r in results), min(r[1] for r in results)
            print(
                f"after appending 10,000 events ({label}), -g {group:<5}: wall {wall:.2f} s"
                f"  CPU {cpu:.2f} s (target <= 0.25 s + 1.5 x {appended_floor:.3f} s"
                f" = {0.25 + 1.5 * appended_floor:.2f} s)"
            )
        with target.open("ab") as handle:  # the next scenario appends after these
            handle.write(added)
        for group in GROUPS:
            measure([*exe, "-g", group])
    # A 10-event project.
    small = scratch / "small"
    generate(small, 10, 1, seed=3)
    start_up(small, max(args.runs, 5))
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
