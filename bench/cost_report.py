"""`spec-kitty agent telemetry cost --json` over 1M events, next to a parse-only floor.

Usage: python bench/cost_report.py [--events 1000000] [--features 20] [--runs 3]

Generates (once; cached under bench/.data/) a project of ``--events`` events
spread over ``--features`` feature logs, in the exact line format the store
writes, with the mix a real project has: several agents and roles, models in
several spellings (one only the genai-prices catalogue knows, one nobody
prices), cache tokens, reported and missing costs, failures, and a few
non-execution events. Then, in the same run, it measures:

* the floor: reading every line of those files and ``orjson.loads``-ing it,
  in this process, nothing else;
* the command: ``spec-kitty agent telemetry cost --json`` as a real
  subprocess (interpreter start-up included), wall time and peak RSS; it
  folds large projects in one forked worker per CPU;
* the same report folded serially (``project_cost_report(..., workers=1)``
  in a subprocess), since the floor is one process on one core;
* the first command run with an empty catalogue cache (it imports
  genai-prices once), apart from the warm runs.

Best and median of the interleaved runs are printed. Targets (the
issue's): command within 1.5x of the floor, peak RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from spec_kitty_telemetry._records import dumps_record, event_record, execution_payload
from spec_kitty_telemetry.ids import new_event_id

DATA = Path(__file__).parent / ".data"

# (agent, model spelling, share of runs, reports its own cost)
MIX = [
    ("claude", "claude-sonnet-4.5", 30, True),
    ("claude", "claude-sonnet-4-5-20250929", 10, False),
    ("claude", "sonnet", 5, False),
    ("claude", "claude-opus-4-1", 5, True),
    ("claude", "claude-haiku-4-5", 5, False),
    ("codex", "gpt-5-codex", 20, False),
    ("codex", "gpt-5", 5, False),
    ("gemini", "gemini-2.5-pro", 10, False),
    ("copilot", "claude-3-7-sonnet", 7, False),  # priced by the catalogue only
    ("copilot", "internal-llm-x", 3, False),  # priced by nobody
]
ROLES = ["implementer", "implementer", "implementer", "reviewer", "planner"]


def generate(
    root: Path, events: int, features: int, seed: int = 7, start: datetime | None = None
) -> None:
    """Write ``events`` events over ``features`` logs under ``root/kitty-specs``.

    ``start`` (default 2025-09-01) is the instant the events follow; a later
    one gives events with ids above every earlier log's, as new runs have.
    """
    rng = random.Random(seed)
    weights = [share for _, _, share, _ in MIX]
    per_feature = events // features
    start = start or datetime(2025, 9, 1, tzinfo=UTC)
    for number in range(1, features + 1):
        slug = f"{number:03d}-feature-{number}"
        folder = root / "kitty-specs" / slug
        folder.mkdir(parents=True, exist_ok=True)
        lines = []
        last_id = None
        moment = start
        for clock in range(1, per_feature + 1):
            moment += timedelta(seconds=rng.randint(5, 200))
            node = rng.choice(["laptop-ana", "laptop-bo", "ci"])
            if rng.random() < 0.05:
                payload = {"phase": rng.choice(["plan", "implement", "review"]), "wp_id": "WP01"}
                event_type = "PhaseTransition"
            else:
                agent, model, _, reports = rng.choices(MIX, weights)[0]
                total_in = rng.randint(2_000, 260_000)
                cache_read = rng.randint(0, total_in // 2)
                cache_write = rng.randint(0, (total_in - cache_read) // 4)
                output = rng.randint(100, 12_000)
                success = rng.random() > 0.04
                payload = execution_payload(
                    wp_id=f"WP{rng.randint(1, 12):02d}",
                    agent=agent,
                    role=rng.choice(ROLES),
                    model=model,
                    input_tokens=total_in,
                    output_tokens=output,
                    cache_read_tokens=cache_read,
                    cache_write_tokens=cache_write,
                    reasoning_tokens=None,
                    cost_usd=round(rng.uniform(0.01, 3.0), 6) if reports else None,
                    duration_ms=rng.randint(2_000, 600_000),
                    success=success,
                    error=None if success else "agent exited with status 1",
                    exit_code=0 if success else 1,
                )
                event_type = "ExecutionEvent"
            last_id = new_event_id(after=last_id, at=moment)
            record = event_record(
                event_id=last_id,
                event_type=event_type,
                aggregate_id=slug,
                payload=payload,
                timestamp=moment,
                node_id=node,
                lamport_clock=clock,
            )
            lines.append(dumps_record(record))
        (folder / "execution.events.jsonl").write_bytes(b"".join(lines))


def project(events: int, features: int) -> Path:
    """The cached generated project for these sizes (generated on first use)."""
    root = DATA / f"cost-{events}-{features}"
    done = root / ".complete"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        generate(root, events, features)
        done.write_text("")
        print(f"generated {root} in {time.perf_counter() - started:.1f} s")
    return root


def parse_floor(root: Path) -> tuple[float, int]:
    """Seconds to read and orjson.loads every line of every log, and the line count."""
    logs = sorted((root / "kitty-specs").glob("*/execution.events.jsonl"))
    started = time.perf_counter()
    count = 0
    loads = orjson.loads
    for log in logs:
        with log.open("rb") as handle:
            for line in handle:
                loads(line)
                count += 1
    return time.perf_counter() - started, count


def _tree_rss_kb(pid: int) -> int:
    """Summed VmRSS of a process and its descendants (an upper bound: shared pages count twice)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


_SERIAL = (
    "import json, sys\n"
    "from spec_kitty_telemetry.cost import project_cost_report\n"
    "print(json.dumps(project_cost_report(sys.argv[1], workers=1).to_dict()))\n"
)


def run_command(
    root: Path, cache: Path, *, serial: bool = False
) -> tuple[float, float, dict[str, object]]:
    """One `cost --json` subprocess: wall seconds, peak RSS of its process tree (MB), output.

    ``serial`` runs the same report through the library with ``workers=1``.
    ``cache`` is the catalogue cache folder (``XDG_CACHE_HOME``) it uses.
    """
    exe = Path(sys.executable).with_name("spec-kitty")
    command = [str(exe), "agent", "telemetry", "cost", "--json", "--repo", str(root)]
    if serial:
        command = [sys.executable, "-c", _SERIAL, str(root)]
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    peak = 0
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, env=env) as child:
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kb(child.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out = child.stdout.read() if child.stdout else b""
        child.wait()
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    if child.returncode:
        raise SystemExit(f"cost --json failed with exit code {child.returncode}")
    return elapsed, peak / 1024, json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    root = project(args.events, args.features)
    size = sum(p.stat().st_size for p in (root / "kitty-specs").glob("*/*.jsonl"))
    print(f"project: {args.events:,} events in {args.features} features, {size / 1e6:.0f} MB")

    cache = Path(tempfile.mkdtemp(prefix="cost-bench-cache-"))
    try:
        cold, _, _ = run_command(root, cache)  # empty catalogue cache: imports genai-prices
        floors, walls, serials, tree_peaks = [], [], [], []
        report: dict[str, object] = {}
        for _ in range(args.runs):  # interleaved, so machine noise hits all alike
            floor, lines = parse_floor(root)
            floors.append(floor)
            wall, tree_peak, report = run_command(root, cache)
            walls.append(wall)
            tree_peaks.append(tree_peak)
            serial, _, serial_report = run_command(root, cache, serial=True)
            serials.append(serial)
            assert serial_report["total"] == report["total"], "serial and forked reports differ"
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    # The largest single process (the command or one of its workers), per the kernel.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    total = report["total"]
    assert isinstance(total, dict)
    floor, median_floor = min(floors), statistics.median(floors)

    def row(label: str, values: list[float]) -> None:
        best, median = min(values), statistics.median(values)
        print(
            f"{label:<34}best {best:5.2f} s ({best / floor:4.2f}x)  "
            f"median {median:5.2f} s ({median / median_floor:4.2f}x)  runs: {_runs(values)}"
        )

    print(f"lines parsed:                     {lines:,}")
    print(f"events in report:                 {total['event_count']:,}")
    row("parse-only floor (orjson, 1 core)", floors)
    row("cost --json (forked workers)", walls)
    row("serial fold (workers=1)", serials)
    print(f"first run, cold catalogue cache:  {cold:5.2f} s ({cold / floor:4.2f}x)")
    print(
        "note: the floor is one process on one core; the command forks one worker per CPU,\n"
        "      so its ratio compares two cores against one. The serial row is like for like."
    )
    print("targets: command <= 1.5x the floor; peak RSS < 200 MB")
    print(f"peak RSS, largest process:        {peak_mb:5.0f} MB")
    print(
        f"peak RSS, all processes:          {max(tree_peaks):5.0f} MB (sampled every 50 ms, summed)"
    )
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
