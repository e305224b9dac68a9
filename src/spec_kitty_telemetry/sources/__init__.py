"""Reading what agents and spec-kitty already write: session logs and lifecycle logs.

Every coding agent keeps its own session log with exact token usage, so a
project's history can be imported rather than only recorded from now on.
One module per agent reads its files into per-response usage
(``claude_code``, ``codex``, ``gemini``); ``_common`` turns that into
ordinary ``ExecutionEvent``s in the feature logs, the same way for all.
:func:`import_sessions` is the one entry point the CLI calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final

from ..errors import InvalidOptionError
from . import claude_code, codex, gemini
from ._common import SOURCE_PREFIX, ImportSummary, SourceRead, import_pieces

__all__ = ["IMPORTERS", "SOURCE_PREFIX", "ImportSummary", "Importer", "import_sessions"]


@dataclass(frozen=True)
class Importer:
    """How to find and read one agent's session files."""

    source: str
    agent: str
    default_roots: Callable[[], list[Path]]
    find_files: Callable[[Iterable[Path]], list[Path]]
    read: Callable[[Sequence[Path], Callable[[int], None] | None], SourceRead]


#: The importers by the name the command line takes.
IMPORTERS: Final[dict[str, Importer]] = {
    claude_code.SOURCE: Importer(
        claude_code.SOURCE,
        claude_code.AGENT,
        claude_code.default_roots,
        claude_code.find_session_files,
        claude_code.read_sessions,
    ),
    codex.SOURCE: Importer(
        codex.SOURCE,
        codex.AGENT,
        codex.default_roots,
        codex.find_session_files,
        codex.read_sessions,
    ),
    gemini.SOURCE: Importer(
        gemini.SOURCE,
        gemini.AGENT,
        gemini.default_roots,
        gemini.find_session_files,
        gemini.read_sessions,
    ),
}


def import_sessions(
    source: str,
    root: str | Path,
    *,
    paths: Sequence[str | Path] | None = None,
    since: datetime | date | None = None,
    dry_run: bool = False,
    all_projects: bool = False,
    now: datetime | None = None,
    on_files: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import one agent's sessions into the project at ``root``; return what was imported.

    ``paths`` are folders or files to read instead of the agent's own folders.
    ``on_files`` is told how many files will be read, ``progress`` how many
    were. Raises InvalidOptionError (parameter ``source``) for an unknown
    importer and ConfigError for a bad ``import:`` section.
    """
    importer = IMPORTERS.get(source)
    if importer is None:
        raise InvalidOptionError(
            f"unknown source {source!r} (expected one of {', '.join(sorted(IMPORTERS))})",
            parameter="source",
        )
    roots = [Path(p) for p in paths] if paths else importer.default_roots()
    files = importer.find_files(roots)
    if on_files is not None:
        on_files(len(files))
    read = importer.read(files, progress)
    return import_pieces(
        Path(root),
        importer.source,
        importer.agent,
        read,
        since=since,
        dry_run=dry_run,
        all_projects=all_projects,
        now=now,
    )
