"""Helpers shared by the benchmarks that time the installed command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path


def console_script(name: str = "spec-kitty") -> str:
    """Return the path of console script ``name`` of this environment."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        sys.exit(f"{name} is not installed in this environment (pip install -e .)")
    return found


def wall_time(command: list[str], cwd: Path) -> float:
    """Run ``command`` in ``cwd`` (output discarded) and return its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started
