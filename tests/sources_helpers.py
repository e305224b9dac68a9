"""Staging the session-log fixtures of ``tests/fixtures/sources`` into a test's project.

The fixtures hold ``{ROOT}`` where a session's working folder names the
project; staging writes them under a temporary folder with the real path in
its place, so the mapping of sessions to this project is tested for real.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sources"


def new_project(root: Path, *features: str) -> Path:
    """Make a project at ``root`` with these feature folders; return its resolved path."""
    for feature in features:
        (root / "kitty-specs" / feature).mkdir(parents=True)
    (root / "kitty-specs").mkdir(parents=True, exist_ok=True)
    return root.resolve()


def stage(name: str, target: Path, root: Path) -> Path:
    """Copy fixture folder ``name`` to ``target``, ``{ROOT}`` replaced by ``root``; return it."""
    source = FIXTURES / name
    for path in sorted(source.rglob("*")):
        if path.is_dir():
            continue
        relative = Path(str(path.relative_to(source)).replace("ROOT", "project"))
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(path.read_bytes().replace(b"{ROOT}", str(root).encode()))
    return target


def copy_tree(source: Path, target: Path) -> Path:
    """Copy a staged folder (to import it from two places)."""
    shutil.copytree(source, target)
    return target


def records(root: Path, feature: str) -> list[dict[str, Any]]:
    """The records of a feature's log, in file order (none without a log)."""
    path = root / "kitty-specs" / feature / "execution.events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
