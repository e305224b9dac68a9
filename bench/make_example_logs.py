"""Write the example event logs checked in under kitty-specs/ (the README's cost report).

Usage: python bench/make_example_logs.py [--force]

Each of this repository's three features gets an ``execution.events.jsonl``
with a few dozen agent runs, written through SimpleJsonStore so the lines are
exactly what the emitter writes. The runs are drawn from a seeded generator to
look like a real project: Claude Code (which reports its cost) under three
spellings of Sonnet and the ``opus`` alias, Codex and Gemini (tokens, no cost),
Copilot (reports nothing), a local model no price table knows, a run that used
two models, cache reads and writes, failures, and phase transitions. Event ids
are random, so re-running changes ids but not the report.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from spec_kitty_telemetry import EVENTS_FILENAME, Event, SimpleJsonStore
from spec_kitty_telemetry._records import execution_payload
from spec_kitty_telemetry.ids import new_event_id

ROOT = Path(__file__).resolve().parent.parent

FEATURES = {
    # feature: (first day, work packages, runs)
    "001-event-store-foundation": (datetime(2025, 11, 3, 9, tzinfo=UTC), 4, 14),
    "002-cost-report": (datetime(2025, 11, 10, 9, tzinfo=UTC), 3, 18),
    "003-orchestrator-integration": (datetime(2025, 11, 12, 9, tzinfo=UTC), 3, 16),
}


def _claude(rng: random.Random) -> dict[str, Any]:
    total_in = rng.randint(30_000, 180_000)
    cache_read = int(total_in * rng.uniform(0.5, 0.85))
    cache_write = int((total_in - cache_read) * rng.uniform(0.2, 0.6))
    output = rng.randint(2_000, 14_000)
    model = rng.choice(["claude-sonnet-4.5", "claude-sonnet-4-5-20250929", "sonnet", "opus"])
    reports = rng.random() < 0.6  # Claude Code prints total_cost_usd; older hooks do not
    cost = None
    if reports:  # what Claude Code would have charged, at list prices
        rate_in, rate_out, rate_read, rate_write = (
            (15, 75, 1.5, 18.75) if model == "opus" else (3, 15, 0.3, 3.75)
        )
        uncached = total_in - cache_read - cache_write
        cost = round(
            (
                uncached * rate_in
                + cache_read * rate_read
                + cache_write * rate_write
                + output * rate_out
            )
            / 1e6,
            6,
        )
    return {
        "agent": "claude",
        "model": model,
        "input_tokens": total_in,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "output_tokens": output,
        "reasoning_tokens": None,
        "cost_usd": cost,
    }


def _claude_with_subagent(rng: random.Random) -> dict[str, Any]:
    main_in, sub_in = rng.randint(60_000, 120_000), rng.randint(8_000, 20_000)
    main_read, sub_read = main_in // 2, sub_in // 4
    main_out, sub_out = rng.randint(4_000, 9_000), rng.randint(500, 2_000)
    return {
        "agent": "claude",
        "model": "claude-sonnet-4-5-20250929",
        "input_tokens": main_in + sub_in,
        "cache_read_tokens": main_read + sub_read,
        "cache_write_tokens": 0,
        "output_tokens": main_out + sub_out,
        "cost_usd": None,
        "models": {
            "claude-sonnet-4-5-20250929": {
                "input_tokens": main_in,
                "output_tokens": main_out,
                "cache_read_tokens": main_read,
                "cache_write_tokens": 0,
                "reasoning_tokens": None,
                "cost_usd": None,
            },
            "claude-haiku-4-5-20251001": {
                "input_tokens": sub_in,
                "output_tokens": sub_out,
                "cache_read_tokens": sub_read,
                "cache_write_tokens": 0,
                "reasoning_tokens": None,
                "cost_usd": None,
            },
        },
    }


def _codex(rng: random.Random) -> dict[str, Any]:
    total_in = rng.randint(20_000, 150_000)
    output = rng.randint(1_500, 10_000)
    return {
        "agent": "codex",
        "model": "gpt-5-codex",
        "input_tokens": total_in,
        "cache_read_tokens": int(total_in * rng.uniform(0.3, 0.8)),
        "output_tokens": output,
        "reasoning_tokens": int(output * rng.uniform(0.2, 0.6)),
    }


def _gemini(rng: random.Random) -> dict[str, Any]:
    total_in = rng.randint(15_000, 90_000)
    return {
        "agent": "gemini",
        "model": rng.choice(["gemini-2.5-pro", "models/gemini-2.5-pro"]),
        "input_tokens": total_in,
        "cache_read_tokens": int(total_in * rng.uniform(0.0, 0.5)),
        "output_tokens": rng.randint(1_000, 8_000),
    }


def _copilot(rng: random.Random) -> dict[str, Any]:
    return {"agent": "copilot", "model": rng.choice(["gpt-4.1", None])}  # reports no usage


def _local(rng: random.Random) -> dict[str, Any]:
    return {
        "agent": "opencode",
        "model": "acme-coder-7b",  # a self-hosted model no price table lists
        "input_tokens": rng.randint(5_000, 40_000),
        "output_tokens": rng.randint(500, 4_000),
    }


KINDS = [(_claude, 40), (_codex, 25), (_gemini, 15), (_copilot, 10), (_local, 5)]


def events_for(feature: str, start: datetime, work_packages: int, runs: int, rng: random.Random):
    """The feature's events in order: runs per work package, phase changes in between."""
    moment = start
    clock = 0
    last_id: str | None = None
    nodes = ["laptop-ana", "laptop-bo", "ci"]

    def stamp() -> dict[str, Any]:
        nonlocal moment, clock, last_id
        moment += timedelta(minutes=rng.randint(4, 90))
        clock += 1
        last_id = new_event_id(after=last_id, at=moment)
        return {
            "event_id": last_id,
            "aggregate_id": feature,
            "lamport_clock": clock,
            "timestamp": moment,
            "node_id": rng.choice(nodes),
        }

    done = 0
    for number in range(1, work_packages + 1):
        wp = f"WP{number:02d}"
        yield Event(
            event_type="PhaseTransition",
            payload={"wp_id": wp, "from_phase": "planned", "to_phase": "doing"},
            **stamp(),
        )
        share = runs // work_packages + (1 if number <= runs % work_packages else 0)
        for index in range(share):
            kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
            usage = kind(rng)
            if feature == "002-cost-report" and done == 5:
                usage = _claude_with_subagent(rng)
            done += 1
            failed = rng.random() < 0.12
            role = "reviewer" if index == share - 1 else "implementer"
            payload = execution_payload(
                wp_id=wp,
                role=role,
                duration_ms=rng.randint(20_000, 900_000),
                success=not failed,
                error="agent exited with status 1: tests failed" if failed else None,
                exit_code=1 if failed else 0,
                **usage,
            )
            yield Event(event_type="ExecutionEvent", payload=payload, **stamp())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="Replace existing logs.")
    args = parser.parse_args()
    rng = random.Random(2025_11)
    for feature, (start, work_packages, runs) in FEATURES.items():
        log = ROOT / "kitty-specs" / feature / EVENTS_FILENAME
        if log.exists():
            if not args.force:
                raise SystemExit(f"{log} exists; pass --force to replace it")
            log.unlink()
        store = SimpleJsonStore(log)
        written = store.save_events(events_for(feature, start, work_packages, runs, rng))
        print(f"{log.relative_to(ROOT)}: {written} events")


if __name__ == "__main__":
    main()
