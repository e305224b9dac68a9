"""What the write-safety rules cost on the emit path: checked opens and the secret scrubber.

Usage: python bench/write_safety.py [--rounds 20000]

Measured in one process next to the unchecked equivalent, so the machine's
noise hits both alike. An emit checks its feature folder twice (once for the
log session: log, lock and index are opened in it; once for the clock file)
and scrubs one payload.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from spec_kitty_telemetry._safe_paths import open_file, open_folder
from spec_kitty_telemetry.redact import redact_payload

PAYLOAD = {
    "wp_id": "WP03",
    "agent": "claude",
    "role": "implementer",
    "model": "claude-sonnet-4-5-20250929",
    "input_tokens": 48210,
    "output_tokens": 2380,
    "cache_read_tokens": 40100,
    "cache_write_tokens": None,
    "reasoning_tokens": None,
    "cost_usd": None,
    "duration_ms": 73400,
    "success": True,
    "error": None,
    "exit_code": 0,
    "environment": {
        "ci": None,
        "ci_branch": None,
        "ci_build_id": None,
        "ci_commit": None,
        "git_branch": "feature/001-event-store-foundation",
        "git_commit": "4db44c7dd23afb8827dbf76da3277f24f837f31c",
        "telemetry_version": "0.1.0",
    },
}
FAILED = {
    **PAYLOAD,
    "success": False,
    "error": "is_error: API Error: 529 Overloaded; retried 3 times over 41 s, giving up on "
    "the request to the messages endpoint (model claude-sonnet-4-5-20250929)",
}


def per_call_us(action: Callable[[], object], rounds: int) -> float:
    """Median of 5 batches, in microseconds per call."""
    batches = []
    for _ in range(5):
        started = time.perf_counter_ns()
        for _ in range(rounds // 5):
            action()
        batches.append((time.perf_counter_ns() - started) / (rounds // 5) / 1000)
    return statistics.median(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        feature = Path(scratch) / "project" / "kitty-specs" / "001-x"
        feature.mkdir(parents=True)
        target = feature / ".execution.events.jsonl.lock"
        flags = os.O_RDWR | os.O_CREAT

        def plain() -> None:
            os.close(os.open(target, flags, 0o644))

        def checked() -> None:
            os.close(open_file(target, flags))

        def folder() -> None:
            open_folder(feature).close()

        plain_us = per_call_us(plain, args.rounds)
        checked_us = per_call_us(checked, args.rounds)
        folder_us = per_call_us(folder, args.rounds)
    quiet_us = per_call_us(lambda: redact_payload(PAYLOAD), args.rounds)
    failed_us = per_call_us(lambda: redact_payload(FAILED), args.rounds)
    print(f"write safety, {args.rounds:,} calls each (median of 5 batches), microseconds")
    print(f"  open a lock file, unchecked                 {plain_us:8.1f}")
    print(f"  open a lock file, checked (_safe_paths)     {checked_us:8.1f}")
    print(f"  open and check a feature folder             {folder_us:8.1f}")
    print(f"  scrub a successful run's payload            {quiet_us:8.1f}")
    print(f"  scrub a failed run's payload (200-char error){failed_us:7.1f}")
    added = 2 * folder_us + failed_us
    print(f"added to one emit: 2 folder checks + 1 scrub = {added:.0f} us")


if __name__ == "__main__":
    main()
