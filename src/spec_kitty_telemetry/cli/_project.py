"""Which project a read command reports on: ``cost``, ``events``, ``timeline``, ``doctor`` alike.

Outside a project there is nothing to report, which is not an error: the
command prints one ``Note:`` line on stderr naming where it looked, then its
empty report, and exits 0. A ``--repo`` that is not a directory is a mistake
in the command line: exit 2 (``QueryError`` from ``resolve_repo_root``).
Kept free of typer: ``cost``'s fast route uses it.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["report_root"]


def report_root(repo: Path | None) -> tuple[Path, bool]:
    """Return the project root to read and whether it is a project (noted on stderr if not)."""
    from ..config import find_project_root
    from ..project import resolve_repo_root

    root = resolve_repo_root(repo)  # raises for a --repo that is not a directory
    if find_project_root(root) == root:
        return root, True
    where = f"at or above {Path.cwd().resolve()}" if repo is None else f"in --repo {root}"
    print(
        f"Note: no spec-kitty project (a folder with kitty-specs/ or .kittify/) {where}: "
        "nothing to report",
        file=sys.stderr,
    )
    return root, False
