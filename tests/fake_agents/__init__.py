"""Fake agent CLIs for the wrapper tests, and helpers to run them and the real CLI.

Each ``*.py`` here is a small program that prints what one agent CLI prints
(Claude Code, Codex, Gemini CLI) or misbehaves on purpose (garbage, huge
output, being killed). Tests run them as real subprocesses through real pipes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: The console script's code path (``spec_kitty_telemetry.__main__.main``) in a real process.
SPEC_KITTY = [sys.executable, "-m", "spec_kitty_telemetry"]


def agent(name: str, *args: str) -> list[str]:
    """Return the command line that runs fake agent ``name`` with ``args``."""
    return [sys.executable, str(HERE / f"{name}.py"), *args]


def spec_kitty(
    *args: str,
    cwd: Path,
    stdin: bytes | None = None,
    timeout: float = 120,
    columns: int | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``spec-kitty <args>`` in ``cwd`` and capture what it prints.

    The environment is ``os.environ`` plus ``COLUMNS=columns`` when given:
    passed explicitly, because GNU readline (loaded by some test plugins)
    exports ``COLUMNS`` behind ``os.environ``'s back, and tables follow it.
    """
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [*SPEC_KITTY, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def log_records(feature_dir: Path) -> list[dict[str, Any]]:
    """Return the raw records in a feature's log, in file order."""
    path = feature_dir / "execution.events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def new_project(root: Path) -> Path:
    """Create an empty spec-kitty project at ``root``; return it."""
    (root / "kitty-specs").mkdir(parents=True)
    return root
