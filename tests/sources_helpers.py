"""Staging the session-log fixtures of ``tests/fixtures/sources`` into a test's project.

The fixtures hold ``{ROOT}`` where a session's working folder names the
project; staging writes them under a temporary folder with the real path in
its place, so the mapping of sessions to this project is tested for real.
"""

from __future__ import annotations

import hashlib
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


def path_hash(folder: Path) -> str:
    """Gemini CLI's project hash: the SHA-256 (hex) of the folder's path."""
    return hashlib.sha256(str(folder).encode()).hexdigest()


def stage(name: str, target: Path, root: Path, worktree: Path | None = None) -> Path:
    """Copy fixture folder ``name`` to ``target`` with the project's real paths; return it.

    ``{ROOT}`` becomes ``root``; ``{HASH}`` and a folder named ``HASH`` its
    project hash, ``{WTHASH}``/``WTHASH`` that of ``worktree``.
    """
    source = FIXTURES / name
    names = {"ROOT": "project", "WTHASH": path_hash(worktree or root), "HASH": path_hash(root)}
    texts = {f"{{{key}}}": value for key, value in names.items()} | {"{ROOT}": str(root)}
    for path in sorted(source.rglob("*")):
        if path.is_dir():
            continue
        relative = str(path.relative_to(source))
        for key, value in names.items():
            relative = relative.replace(key, value)
        text = path.read_text()
        for key, value in texts.items():
            text = text.replace(key, value)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text)
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
