"""Importing agents' session logs: time against ``orjson.loads`` over the same lines.

Usage: python bench/import_speed.py [--megabytes 300] [--agent all|claude-code|codex|gemini]
                                    [--rounds 3] [--keep DIR]

For each agent, writes synthetic session files of about the size asked for,
built from the formats' facts, then times, best of ``--rounds`` rounds run
in turn (interleaved, so a busy spell on a shared machine hits every
candidate alike, and the ratios of one run compare):

* the floor: ``orjson.loads`` on every line of every file;
* the reader: the agent's ``read_sessions`` (parse, de-duplicate, make pieces);
* ``import --dry-run``: the whole import writing nothing (read, map to
  features, segment by hour, check the logs);
* ``import``: the same, writing the events (into a fresh copy of the
  project each round, so every round writes them all).

The shapes: Claude Code sessions have a prompt or tool result, then a
response streamed on three lines with growing usage, per turn (sidechains,
the odd ``<synthetic>`` line); Codex rollouts have per turn a prompt, a
function call and its output, an agent message and a ``token_count`` line
written twice (the repeat adds nothing), the odd null ``info``; Gemini
CLI chats (JSONL) have per turn a prompt, the reply written three times
as it changes (without tokens, with them, with tool results) and a ``$set``
of the time. The target (issue 11) is the reader and the import within 2x
of the floor.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from spec_kitty_telemetry.sources import IMPORTERS, import_sessions

TURNS_PER_SESSION = 750
NOW = datetime(2026, 12, 2, tzinfo=UTC)
START = datetime(2026, 11, 1, tzinfo=UTC)


#: Words of code and prose, with quotes, braces and escapes.
_WORDS = (
    "def",
    "return",
    "self",
    "the",
    "value",
    "=",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    ".",
    "import",
    "from",
    "path",
    "file",
    "line",
    "test",
    "assert",
    "if",
    "else",
    "for",
    "in",
    "not",
    "None",
    "True",
    "False",
    "error",
    "usage",
    "token",
    "count",
    "session",
    "model",
    "cwd",
    "branch",
    "print(x)",
    '"quoted"',
    "tab\tnew\nline",
    '{"key":',
    "1}",
    "0",
    "1",
    "2",
    "42",
    "3.14",
    "==",
    "!=",
    "<=",
    ">=",
    "->",
    "#",
    "TODO",
)


def _text_pool(rng: random.Random) -> str:
    """Text like a transcript's: code and prose with quotes, braces and escapes."""
    return " ".join(rng.choice(_WORDS) for _ in range(40_000))


def _text(rng: random.Random, pool: str, size: int) -> str:
    start = rng.randint(0, len(pool) - size)
    return pool[start : start + size]


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _write(path: Path, lines: list[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    path.write_bytes(data)
    return len(data)


def claude_session(
    rng: random.Random, number: int, project: Path, pool: str
) -> list[dict[str, Any]]:
    """One Claude Code session: per turn a tool result, then a response streamed on three lines."""
    sid = f"bench-{number:05d}"
    branch = f"001-login-WP{number % 9 + 1:02d}"
    moment = START + timedelta(hours=number)
    lines: list[dict[str, Any]] = []
    for turn in range(TURNS_PER_SESSION):
        moment += timedelta(seconds=rng.randint(5, 40))
        base = {
            "sessionId": sid,
            "cwd": f"{project}/.worktrees/{branch}",
            "gitBranch": branch,
            "isSidechain": turn % 17 == 0,
            "timestamp": _stamp(moment),
            "version": "2.0.50",
        }
        content = [{"type": "tool_result", "content": _text(rng, pool, rng.randint(200, 3000))}]
        lines.append({**base, "type": "user", "message": {"role": "user", "content": content}})
        model = "<synthetic>" if turn % 97 == 0 else "claude-sonnet-4-5"
        for copy, output in enumerate((1, rng.randint(20, 200), rng.randint(200, 900))):
            usage = {
                "input_tokens": rng.randint(1, 50),
                "output_tokens": output,
                "cache_creation_input_tokens": rng.randint(0, 3000),
                "cache_read_input_tokens": rng.randint(1000, 90000),
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            }
            message = {
                "id": f"msg_{sid}_{turn}",
                "model": model,
                "role": "assistant",
                "content": [{"type": "text", "text": _text(rng, pool, rng.randint(50, 600))}],
                "usage": usage,
            }
            lines.append(
                {
                    **base,
                    "type": "assistant",
                    "uuid": f"a{turn}-{copy}",
                    "requestId": f"req_{sid}_{turn}",
                    "message": message,
                }
            )
    return lines


def codex_session(
    rng: random.Random, number: int, project: Path, pool: str
) -> list[dict[str, Any]]:
    """One Codex rollout: metadata, then per turn chatter and a token count written twice."""
    sid = f"0199a213-0000-7000-8000-{number:012d}"
    branch = f"001-login-WP{number % 9 + 1:02d}"
    cwd = f"{project}/.worktrees/{branch}"
    moment = START + timedelta(hours=number)
    meta = {"id": sid, "cwd": cwd, "git": {"branch": branch}, "cli_version": "0.63.0"}
    lines: list[dict[str, Any]] = [
        {"timestamp": _stamp(moment), "type": "session_meta", "payload": meta},
        {"timestamp": _stamp(moment), "type": "turn_context", "payload": {"model": "gpt-5-codex"}},
    ]
    totals = dict.fromkeys(
        ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens"), 0
    )
    for turn in range(TURNS_PER_SESSION):
        moment += timedelta(seconds=rng.randint(5, 40))
        at = _stamp(moment)
        prompt = {
            "type": "message",
            "role": "user",
            "content": _text(rng, pool, rng.randint(100, 800)),
        }
        call = {
            "type": "function_call",
            "name": "shell",
            "arguments": _text(rng, pool, rng.randint(50, 300)),
        }
        output = {
            "type": "function_call_output",
            "output": _text(rng, pool, rng.randint(300, 3000)),
        }
        lines += [
            {"timestamp": at, "type": "response_item", "payload": prompt},
            {"timestamp": at, "type": "response_item", "payload": call},
            {"timestamp": at, "type": "response_item", "payload": output},
            {"timestamp": at, "type": "event_msg", "payload": {"type": "agent_message"}},
        ]
        step = {
            "input_tokens": rng.randint(2000, 90000),
            "cached_input_tokens": rng.randint(0, 1500),
            "output_tokens": rng.randint(300, 900),
            "reasoning_output_tokens": rng.randint(0, 200),
        }
        for name, value in step.items():
            totals[name] += value
        info = (
            None
            if turn % 50 == 0
            else {"total_token_usage": dict(totals), "last_token_usage": step}
        )
        count = {
            "timestamp": at,
            "type": "event_msg",
            "payload": {"type": "token_count", "info": info},
        }
        lines += [count, count]
    return lines


def gemini_session(
    rng: random.Random, number: int, project: Path, pool: str
) -> list[dict[str, Any]]:
    """One Gemini CLI chat (JSONL): per turn a prompt and a reply written three times."""
    sid = f"gem-{number:05d}"
    project_hash = hashlib.sha256(str(project).encode()).hexdigest()
    moment = START + timedelta(hours=number)
    lines: list[dict[str, Any]] = [
        {"sessionId": sid, "projectHash": project_hash, "startTime": _stamp(moment)}
    ]
    for turn in range(TURNS_PER_SESSION):
        moment += timedelta(seconds=rng.randint(5, 40))
        at = _stamp(moment)
        lines.append(
            {
                "id": f"u{turn}",
                "timestamp": at,
                "type": "user",
                "content": _text(rng, pool, rng.randint(100, 800)),
            }
        )
        reply: dict[str, Any] = {
            "id": f"r{turn}",
            "timestamp": at,
            "type": "gemini",
            "model": "gemini-2.5-pro",
            "content": _text(rng, pool, rng.randint(50, 600)),
            "tokens": None,
        }
        tokens = {
            "input": rng.randint(2000, 90000),
            "output": rng.randint(20, 900),
            "cached": rng.randint(0, 1500),
            "thoughts": rng.randint(0, 200),
            "tool": 0,
            "total": 0,
        }
        result = [
            {
                "id": f"t{turn}",
                "name": "read_file",
                "result": _text(rng, pool, rng.randint(300, 3000)),
            }
        ]
        lines += [
            reply,
            {**reply, "tokens": tokens},
            {**reply, "tokens": tokens, "toolCalls": result},
            {"$set": {"lastUpdated": at}},
        ]
    return lines


SESSIONS: dict[str, Callable[[random.Random, int, Path, str], list[dict[str, Any]]]] = {
    "claude-code": claude_session,
    "codex": codex_session,
    "gemini": gemini_session,
}


def _session_path(agent: str, folder: Path, number: int) -> Path:
    if agent == "claude-code":
        return folder / f"-bench-{number % 20}" / f"bench-{number:05d}.jsonl"
    if agent == "codex":
        return (
            folder
            / "sessions"
            / "2026"
            / "11"
            / f"{number % 28 + 1:02d}"
            / (f"rollout-2026-11-01T00-00-00-0199a213-0000-7000-8000-{number:012d}.jsonl")
        )
    return folder / "hash" / "chats" / f"session-2026-11-01T00-00-{number:08d}.jsonl"


def write_sessions(agent: str, folder: Path, megabytes: int, project: Path) -> int:
    """Write ``agent``'s session files totalling about ``megabytes`` MB; return the line count."""
    rng = random.Random(11)
    pool = _text_pool(rng)
    written = lines = number = 0
    while written < megabytes * 1024 * 1024:
        number += 1
        session = SESSIONS[agent](rng, number, project, pool)
        written += _write(_session_path(agent, folder, number), session)
        lines += len(session)
    return lines


def floor(files: list[Path]) -> None:
    """Parse every line with orjson and nothing else."""
    loads = orjson.loads
    for path in files:
        with path.open("rb") as handle:
            for line in handle:
                loads(line)


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Run ``work`` once; return the wall and CPU seconds it took.

    CPU time (``time.process_time``) leaves out the time spent waiting for a
    processor, so on a shared, loaded machine its ratios wander less than
    the wall times'; both are printed.
    """
    began, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - began, time.process_time() - cpu


def bench(agent: str, base: Path, megabytes: int, rounds: int) -> dict[str, Any]:
    """Generate one agent's sessions, time the candidates, print and return the figures."""
    project = base / "project"
    (project / "kitty-specs" / "001-login").mkdir(parents=True, exist_ok=True)
    sessions = base / agent
    lines = write_sessions(agent, sessions, megabytes, project.resolve())
    importer = IMPORTERS[agent]
    files = importer.find_files([sessions])
    size = sum(p.stat().st_size for p in files)
    print(f"{agent}: {size / 1e6:,.0f} MB, {lines:,} lines, {len(files)} files")
    fresh = iter(range(rounds))

    def real_import() -> object:
        target = base / f"project-{next(fresh)}"
        shutil.copytree(project, target)
        return import_sessions(agent, target, paths=[sessions], now=NOW)

    works: dict[str, Callable[[], object]] = {
        "orjson.loads per line (floor)": lambda: floor(files),
        f"{agent} read_sessions": lambda: importer.read(files, None),
        "import --dry-run": lambda: import_sessions(
            agent, project, paths=[sessions], dry_run=True, now=NOW
        ),
        "import": real_import,
    }
    best = dict.fromkeys(works, float("inf"))
    best_cpu = dict.fromkeys(works, float("inf"))
    for _ in range(rounds):
        for name, work in works.items():
            wall, cpu = timed(work)
            best[name] = min(best[name], wall)
            best_cpu[name] = min(best_cpu[name], cpu)
    summary = import_sessions(agent, project, paths=[sessions], dry_run=True, now=NOW)
    floor_s, floor_cpu = (
        best["orjson.loads per line (floor)"],
        best_cpu["orjson.loads per line (floor)"],
    )
    ratios = {}
    for name, seconds in best.items():
        ratios[name] = seconds / floor_s
        print(
            f"  {name:32s} {seconds:7.2f} s  {size / 1e6 / seconds:7.1f} MB/s  "
            f"{seconds / floor_s:5.2f}x floor   CPU {best_cpu[name]:6.2f} s "
            f"{best_cpu[name] / floor_cpu:5.2f}x floor"
        )
    figures = {
        "responses": summary.responses,
        "copies_or_repeats": summary.duplicate_responses,
        "events": summary.events_new,
        # the process's peak so far (the floor holds nothing; a read holds its pieces)
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(f"  {json.dumps(figures)}")
    return {"megabytes": size / 1e6, "lines": lines, "ratios": ratios, **figures}


def main() -> None:
    """Generate, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--agent", choices=["all", *SESSIONS], default="all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the transcripts here and keep them")
    args = parser.parse_args()
    agents = list(SESSIONS) if args.agent == "all" else [args.agent]
    with tempfile.TemporaryDirectory() as scratch:
        for agent in agents:
            base = (args.keep or Path(scratch)) / f"bench-{agent}"
            if base.exists():
                shutil.rmtree(base)
            bench(agent, base, args.megabytes, args.rounds)
            if args.keep is None:
                shutil.rmtree(base)


if __name__ == "__main__":
    sys.exit(main())
