"""`timeline` and `events --limit 3` over one feature of 1M events: wall time and peak RSS.

Usage: python bench/large_log_reports.py [--events 1000000] [--runs 2]

Generates (once; cached under bench/.data/) a project with one feature whose
log holds ``--events`` lines in the store's exact format: agent invocations
of several work packages, with feature and work-package phase transitions
every few thousand lines. Each command then runs as a real subprocess of the
installed ``spec-kitty``; its peak RSS is the kernel's figure for that one
process (``os.wait4``). Target (issue 7): both stream, peak RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _commands import console_script

from spec_kitty_telemetry._records import dumps_record, event_record, execution_payload
from spec_kitty_telemetry.ids import new_event_id
from spec_kitty_telemetry.lifecycle import PHASE_TRANSITION, transition_payload

DATA = Path(__file__).parent / ".data"
FEATURE = "001-big-feature"
PHASES = ["specify", "plan", "implement", "review"]
WP_PHASES = ["planned", "doing", "for_review", "done"]


def generate(root: Path, events: int, seed: int = 11) -> None:
    """Write ``events`` lines to ``root/kitty-specs/FEATURE``'s log."""
    rng = random.Random(seed)
    folder = root / "kitty-specs" / FEATURE
    folder.mkdir(parents=True, exist_ok=True)
    moment = datetime(2025, 9, 1, tzinfo=UTC)
    last_id: str | None = None
    wp_phase: dict[str, int] = {}
    with (folder / "execution.events.jsonl").open("wb") as handle:
        for clock in range(1, events + 1):
            moment += timedelta(seconds=rng.randint(1, 30))
            wp_id = f"WP{rng.randint(1, 8):02d}"
            if clock % 250_000 == 1:
                step = (clock // 250_000) % len(PHASES)
                previous = PHASES[step - 1] if step else None
                event_type, payload = PHASE_TRANSITION, transition_payload(previous, PHASES[step])
            elif clock % 5_000 == 0:
                now = wp_phase.get(wp_id)
                after = 0 if now is None else min(now + 1, len(WP_PHASES) - 1)
                wp_phase[wp_id] = after
                before = None if now is None else WP_PHASES[now]
                payload = transition_payload(before, WP_PHASES[after], wp_id=wp_id)
                event_type = PHASE_TRANSITION
            else:
                total_in = rng.randint(2_000, 200_000)
                success = rng.random() > 0.05
                payload = execution_payload(
                    wp_id=wp_id,
                    agent=rng.choice(["claude", "codex", "gemini"]),
                    role=rng.choice(["implementer", "reviewer"]),
                    model=rng.choice(["claude-sonnet-4.5", "gpt-5-codex", "gemini-2.5-pro"]),
                    input_tokens=total_in,
                    output_tokens=rng.randint(100, 10_000),
                    cache_read_tokens=rng.randint(0, total_in // 2),
                    cost_usd=round(rng.uniform(0.01, 2.0), 6) if rng.random() < 0.5 else None,
                    duration_ms=rng.randint(1_000, 300_000),
                    success=success,
                    exit_code=0 if success else 1,
                )
                event_type = "ExecutionEvent"
            last_id = new_event_id(after=last_id, at=moment)
            record = event_record(
                event_id=last_id,
                event_type=event_type,
                aggregate_id=FEATURE,
                payload=payload,
                timestamp=moment,
                node_id=rng.choice(["laptop-ana", "laptop-bo", "ci"]),
                lamport_clock=clock,
            )
            handle.write(dumps_record(record))


def project(events: int) -> Path:
    """The cached generated project for this size (generated on first use)."""
    root = DATA / f"large-log-{events}"
    done = root / ".complete"
    if not done.exists():
        started = time.perf_counter()
        generate(root, events)
        done.write_text("")
        print(f"generated {root} in {time.perf_counter() - started:.1f} s")
    return root


def measure(command: list[str]) -> tuple[float, float, int]:
    """Run ``command``; return wall seconds, its peak RSS in MB, and how many lines it printed."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert child.stdout is not None
    lines = child.stdout.read().count(b"\n")
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    return elapsed, usage.ru_maxrss / 1024, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    root = project(args.events)
    log = root / "kitty-specs" / FEATURE / "execution.events.jsonl"
    print(f"log: {args.events:,} events, {log.stat().st_size / 1e6:.0f} MB")
    exe = [console_script(), "agent", "telemetry"]
    commands = {
        "timeline --json": [*exe, "timeline", "--feature", FEATURE, "--json", "--repo", str(root)],
        "events --limit 3": [*exe, "events", "--limit", "3", "--repo", str(root)],
        "events --limit 3 --json": [*exe, "events", "--limit", "3", "--json", "--repo", str(root)],
    }
    for label, command in commands.items():
        results = [measure(command) for _ in range(args.runs)]
        best = min(r[0] for r in results)
        peak = max(r[1] for r in results)
        print(
            f"{label:<26} best {best:6.2f} s  peak RSS {peak:6.0f} MB  "
            f"runs: {', '.join(f'{r[0]:.2f}' for r in results)}  ({results[0][2]} lines out)"
        )
    print("target: peak RSS < 200 MB for each")
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
