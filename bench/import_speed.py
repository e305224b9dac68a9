"""Importing Claude Code transcripts: time against ``orjson.loads`` over the same lines.

Usage: python bench/import_speed.py [--megabytes 300] [--keep DIR]

Writes synthetic session files of the size asked for (user prompts, tool
results, assistant lines streamed on three lines each with growing usage,
sidechains, the odd ``<synthetic>`` line), then times, best of three rounds run in turn:

* the floor: ``orjson.loads`` on every line of every file;
* the reader: ``claude_code.read_sessions`` (parse, de-duplicate streamed copies);
* the whole import as a dry run (read, map to features, segment by hour,
  check the logs), which is what ``import claude-code --dry-run`` does.

The target (issue 11) is the reader within 2x of the floor.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from spec_kitty_telemetry.sources import import_sessions
from spec_kitty_telemetry.sources.claude_code import find_session_files, read_sessions

LINES_PER_SESSION = 3000
ROUNDS = 3


def write_sessions(folder: Path, megabytes: int, project: Path) -> int:
    """Write session files totalling about ``megabytes`` MB; return the number of lines."""
    rng = random.Random(11)
    target = megabytes * 1024 * 1024
    written = lines = session = 0
    start = datetime(2026, 11, 1, tzinfo=UTC)
    while written < target:
        session += 1
        sid = f"bench-{session:05d}"
        branch = f"001-login-WP{session % 9 + 1:02d}"
        cwd = f"{project}/.worktrees/{branch}"
        path = folder / f"-bench-{session % 20}" / f"{sid}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        moment = start + timedelta(hours=session)
        with path.open("wb") as handle:
            for turn in range(LINES_PER_SESSION // 4):
                moment += timedelta(seconds=rng.randint(5, 40))
                base = {
                    "sessionId": sid,
                    "cwd": cwd,
                    "gitBranch": branch,
                    "isSidechain": turn % 17 == 0,
                    "timestamp": moment.isoformat().replace("+00:00", "Z"),
                    "version": "2.0.50",
                }
                text = "x" * rng.randint(200, 3000)
                user = {
                    **base,
                    "type": "user",
                    "uuid": f"u{turn}",
                    "message": {
                        "role": "user",
                        "content": [{"type": "tool_result", "content": text}],
                    },
                }
                handle.write(orjson.dumps(user) + b"\n")
                model = "<synthetic>" if turn % 97 == 0 else "claude-sonnet-4-5"
                for copy, output in enumerate((1, rng.randint(20, 200), rng.randint(200, 900))):
                    assistant = {
                        **base,
                        "type": "assistant",
                        "uuid": f"a{turn}-{copy}",
                        "requestId": f"req_{sid}_{turn}",
                        "message": {
                            "id": f"msg_{sid}_{turn}",
                            "model": model,
                            "role": "assistant",
                            "content": [{"type": "text", "text": "y" * rng.randint(50, 600)}],
                            "usage": {
                                "input_tokens": rng.randint(1, 50),
                                "output_tokens": output,
                                "cache_creation_input_tokens": rng.randint(0, 3000),
                                "cache_read_input_tokens": rng.randint(1000, 90000),
                                "cache_creation": {
                                    "ephemeral_5m_input_tokens": 0,
                                    "ephemeral_1h_input_tokens": 0,
                                },
                            },
                        },
                    }
                    handle.write(orjson.dumps(assistant) + b"\n")
                lines += 4
            written += handle.tell()
    return lines


def floor(files: list[Path]) -> None:
    """Parse every line with orjson and nothing else."""
    loads = orjson.loads
    for path in files:
        with path.open("rb") as handle:
            for line in handle:
                loads(line)


def timed(work: Callable[[], object]) -> float:
    """Run ``work`` once; return the seconds it took."""
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def main() -> None:
    """Generate, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="write the transcripts here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = args.keep or Path(scratch)
        project = base / "project"
        (project / "kitty-specs" / "001-login").mkdir(parents=True, exist_ok=True)
        sessions = base / "claude"
        began = time.perf_counter()
        lines = write_sessions(sessions, args.megabytes, project.resolve())
        files = find_session_files([sessions])
        size = sum(p.stat().st_size for p in files)
        print(
            f"transcripts: {size / 1e6:,.0f} MB, {lines:,} lines, {len(files)} files "
            f"(written in {time.perf_counter() - began:.1f} s)"
        )
        now = datetime(2026, 12, 2, tzinfo=UTC)
        works: dict[str, Callable[[], object]] = {
            "orjson.loads per line (floor)": lambda: floor(files),
            "claude_code.read_sessions": lambda: read_sessions(files),
            "import_sessions --dry-run": lambda: import_sessions(
                "claude-code", project, paths=[sessions], dry_run=True, now=now
            ),
        }
        best = dict.fromkeys(works, float("inf"))
        for _ in range(ROUNDS):  # interleaved, so a busy spell hits every candidate alike
            for name, work in works.items():
                best[name] = min(best[name], timed(work))
        summary = import_sessions("claude-code", project, paths=[sessions], dry_run=True, now=now)
        floor_s = best["orjson.loads per line (floor)"]
        for name, seconds in best.items():
            print(
                f"{name:34s} {seconds:7.2f} s  {size / 1e6 / seconds:7.1f} MB/s  "
                f"{seconds / floor_s:5.2f}x floor"
            )
        print(
            json.dumps(
                {
                    "responses": summary.responses,
                    "streamed_copies": summary.duplicate_responses,
                    "synthetic_lines": summary.synthetic_lines,
                    "events_that_would_be_written": summary.events_new,
                }
            )
        )


if __name__ == "__main__":
    sys.exit(main())
