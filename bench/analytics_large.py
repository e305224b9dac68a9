"""Report times of the analytics commands over 1M events, and where they go.

Usage: python bench/analytics_large.py [--events 1000000] [--features 20] [--skip-floors]
       [--only baseline,scoreboard,anomalies,budget,review]

Uses the project ``bench/cost_report.py`` generates (cached under
``bench/.data/``, the same events: several agents, roles and models, reported
and estimated costs, failures, a few phase transitions), seen through a
scratch root whose ``kitty-specs`` is a link to it, so the frozen baseline
this bench writes never lands in the cached data. Prints:

* in this process, the floor of the reports: reading the execution records
  through the query layer, and the same records priced one by one into runs
  (``analytics.runs.priced_runs``, the cost report's rule per event), to show
  what share of each report is pricing (CPU time of this process);
* each command as a real subprocess (interpreter start-up included), with its
  wall time, CPU time (the figure a loaded machine moves least) and peak
  RSS: ``baseline`` over every event (default groups ``agent,role``),
  ``scoreboard --window all --by agent``, ``anomalies``
  over every event against a week frozen first, ``budget`` (three budgets of
  the scratch root's config: the project's month, an agent's week, a model's
  day in tokens, at a moment half-way through the data) and ``review`` of one
  week in the middle of the data.

No target is set by the issue beyond "report times over 1M events".
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from cost_report import _tree_rss_kb, project

from spec_kitty_telemetry.analytics.runs import priced_runs
from spec_kitty_telemetry.pricing import load_pricing
from spec_kitty_telemetry.query import EventFilter, iter_project_records

#: Bounds holding every generated event (they start 2025-09-01).
SINCE, UNTIL = "2025-01-01", "2026-12-31"
#: The week frozen for ``anomalies`` to score against.
FROZEN = "2025-W37"
#: The week ``review`` reviews (it compares with the week before, and FROZEN's drift).
REVIEWED = "2025-W40"
#: The moment ``budget`` is asked about: mid-October, so the month holds a fortnight.
BUDGET_AT = "2025-10-15T12:00"
#: The scratch root's settings: three budgets, and alerts kept to the alert log.
CONFIG = """\
alerts:
  sinks: []
budgets:
  - name: project month
    limit_usd: 50000
    period: month
  - name: claude week
    scope: {agent: claude}
    limit_usd: 5000
    period: week
    timezone: Europe/Paris
  - name: gpt-5 day tokens
    scope: {model: gpt-5}
    limit_tokens: 100000000
    period: day
"""


def run(root: Path, *args: str) -> tuple[float, float, float]:
    """Run one telemetry command over ``root``; return wall seconds, CPU seconds, peak RSS (MB).

    CPU time (user and system, of the command and anything it waited for) is
    what a loaded machine moves least: wall time there includes waiting for a
    core.
    """
    exe = Path(sys.executable).with_name("spec-kitty-telemetry")
    command = [str(exe), *args, "--repo", str(root)]
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, env=dict(os.environ)) as child:
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kb(child.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        code = child.wait()
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        raise SystemExit(f"{' '.join(command)} exited with {code}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, peak / 1024


def floors(root: Path) -> None:
    """Time reading the execution records, then reading and pricing them into runs."""
    filters = EventFilter(event_type="ExecutionEvent")
    started = time.process_time()
    count = sum(1 for _ in iter_project_records(root, filters))
    read = time.process_time() - started
    pricing = load_pricing(root)
    started = time.process_time()
    priced = sum(1 for _ in priced_runs(iter_project_records(root, filters), pricing))
    both = time.process_time() - started
    assert priced == count
    print(f"{count:,} execution events (CPU time of this process)", flush=True)
    print(f"  read through the query layer: {read:.1f} s ({read / count * 1e6:.1f} us/event)")
    print(
        f"  read and priced into runs:    {both:.1f} s ({both / count * 1e6:.1f} us/event; "
        f"pricing {(both - read) / count * 1e6:.1f} us/event)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--skip-floors", action="store_true", help="Time the commands only.")
    parser.add_argument(
        "--only", default="", help="Comma-separated commands to time (the freeze always runs)."
    )
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    data = project(args.events, args.features)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "kitty-specs").symlink_to(data / "kitty-specs")
        (root / ".kittify").mkdir()
        (root / ".kittify" / "telemetry.yaml").write_text(CONFIG)
        if not args.skip_floors:
            floors(root)
        span = ("--since", SINCE, "--until", UNTIL)
        wall, cpu, rss = run(root, "baseline", "--week", FROZEN, "--freeze")
        print(
            f"baseline --week {FROZEN} --freeze: {wall:.1f} s wall, {cpu:.1f} s CPU, "
            f"peak RSS {rss:.0f} MB",
            flush=True,
        )
        for label, command in (
            ("baseline (every event)", ("baseline", *span)),
            (
                "scoreboard --window all --by agent",
                ("scoreboard", "--window", "all", "--by", "agent"),
            ),
            ("anomalies (every event)", ("anomalies", *span, "--baseline", FROZEN)),
            (f"budget --at {BUDGET_AT} (3 budgets)", ("budget", "--at", BUDGET_AT)),
            (f"review --week {REVIEWED}", ("review", "--week", REVIEWED, "--at", UNTIL)),
        ):
            if only and command[0] not in only:
                continue
            wall, cpu, rss = run(root, *command)
            print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {rss:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
