"""Start-up wall time of ``cost`` on a 10-event project (and ``emit``) beside ``python -c pass``.

Usage: python bench/startup.py [--runs 15]

Issue 9's small-project target: ``cost`` over 10 events takes at most 100 ms
of wall time. A report on a small project is nearly all start-up (imports,
reading the price table's copy, printing), so this is what a user waits for
after every run. Each figure is a real subprocess of the installed console
script in a temporary project of two features and ten runs (reported costs,
costs estimated from tokens, a failure, two models), with stdout piped as a
script or a pager would read it. The commands are interleaved so machine
noise hits all alike, after warm-up runs (the OS file cache, the price
table's user-cache copy and the bytecode caches are warm: run with
``env -u PYTHONDONTWRITEBYTECODE``). ``emit`` runs in a second project, so
the cost project stays at ten events; it is printed for reference. So is the
floor: a bare interpreter importing the modules every report needs (typing,
pathlib, decimal and json), so what is ours shows as the difference. A warm
report imports no orjson (it parses no line), so orjson's import (which loads
dataclasses, inspect, uuid and more) is printed beside it for reference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _commands import console_script, wall_time

from spec_kitty_telemetry.jsonl_store import SimpleJsonStore
from spec_kitty_telemetry.project import EVENTS_FILENAME
from spec_kitty_telemetry.testing import make_execution_event

TARGET_MS = 100.0
EVENTS = 10
#: What any report imports before it runs a line of ours: the standard library modules
#: every module of the package uses (json writes ``--json`` and reads small projections).
FLOOR = "floor: import typing pathlib decimal json"
#: The floor before a warm report stopped importing orjson (for comparison).
ORJSON_FLOOR = "floor + orjson (before round 3)"


def write_project(root: Path) -> None:
    """Write ten runs in two features: reported and estimated costs, two models, a failure."""
    start = datetime(2025, 11, 3, 9, tzinfo=UTC)
    for index in range(EVENTS):
        feature = "001-alpha" if index < 6 else "002-beta"
        priced: dict[str, object] = (
            {"cost_usd": 0.05 + index / 100}
            if index % 3 == 0
            else {"input_tokens": 40_000 + 1_000 * index, "output_tokens": 2_000 + index}
        )
        event = make_execution_event(
            aggregate_id=feature,
            lamport_clock=index + 1,
            node_id="bench",
            timestamp=start + timedelta(hours=7 * index),
            agent="claude" if index % 2 else "codex",
            model="claude-sonnet-4.5" if index % 2 else "gpt-5-codex",
            wp_id=f"WP0{index % 3 + 1}",
            success=index != 4,
            duration_ms=60_000 + 1_000 * index,
            **priced,
        )
        SimpleJsonStore(root / "kitty-specs" / feature / EVENTS_FILENAME).save_event(event)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    telemetry = console_script("spec-kitty-telemetry")
    emit_options = [
        "--feature", "001-bench", "--role", "implementer", "--agent", "claude",
        "--model", "claude-sonnet-4-5", "--wp-id", "WP01", "--input-tokens", "48210",
        "--output-tokens", "3120", "--duration-ms", "95400",
    ]  # fmt: skip
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        FLOOR: [sys.executable, "-c", "import typing, pathlib, decimal, json"],
        ORJSON_FLOOR: [sys.executable, "-c", "import typing, pathlib, decimal, json, orjson"],
        "spec-kitty-telemetry cost --json": [telemetry, "cost", "--json"],
        "spec-kitty-telemetry cost": [telemetry, "cost"],
        "spec-kitty-telemetry cost -g day": [telemetry, "cost", "-g", "day"],
        "spec-kitty agent telemetry cost --json": [
            console_script(),
            "agent",
            "telemetry",
            "cost",
            "--json",
        ],
        "spec-kitty-telemetry emit": [telemetry, "emit", *emit_options],
    }
    with tempfile.TemporaryDirectory() as tmp:
        project, emitting = Path(tmp, "project"), Path(tmp, "emitting")
        write_project(project)
        (emitting / "kitty-specs" / "001-bench").mkdir(parents=True)
        where = {name: emitting if "emit" in name else project for name in commands}
        for _ in range(3):  # warm the file cache, the bytecode and the price table's copy
            for name, command in commands.items():
                wall_time(command, where[name])
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(wall_time(command, where[name]))

    print(f"runs: {args.runs} each, interleaved; cost project: {EVENTS} events, stdout piped")
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    bare_ms = medians["python -c pass"]
    for name, ms in medians.items():
        line = f"{name:44} median {ms:6.1f} ms"
        if name != "python -c pass":
            line += f"  {ms / bare_ms:4.1f}x python -c pass"
        if " cost" in name:
            line += f"  {ms - medians[FLOOR]:+6.1f} ms over the floor"
            line += f"  ({'within' if ms <= TARGET_MS else 'OVER'} the {TARGET_MS:g} ms target)"
        print(line)


if __name__ == "__main__":
    main()
