"""A project's layout: where its features, their stores and clocks are, and its node id.

A project keeps one log per feature folder,
``<root>/kitty-specs/<feature>/execution.events.jsonl``, with the feature's
Lamport clock file beside it. Every writer and reader that is handed a
folder or a project root (rather than an :class:`~.store.EventStore`) asks
this module for the store, so the answer lives in one place:
:func:`feature_store` for one feature, :func:`project_stores` for all of them.

Kept light: the emit path imports it, and a report lists the logs
(:func:`project_logs`) without loading the JSONL store, its index, lock and
clock, which only reading or writing a store needs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ._log import lazy_logger
from .config import find_project_root, load_config
from .errors import InvalidOptionError, ProjectNotFoundError, QueryError
from .store import EventStore

if TYPE_CHECKING:
    from .clock import LamportClock
    from .jsonl_store import SimpleJsonStore

__all__ = [
    "CLOCK_FILENAME",
    "EVENTS_FILENAME",
    "SPECS_DIRNAME",
    "feature_clock",
    "feature_dir_for",
    "feature_store",
    "node_id_for",
    "project_logs",
    "project_stores",
    "resolve_repo_root",
    "store_for",
]

logger = lazy_logger(__name__)

#: The folder of a project holding one sub-folder per feature.
SPECS_DIRNAME: Final = "kitty-specs"
#: The event log inside each feature directory.
EVENTS_FILENAME: Final = "execution.events.jsonl"
#: The Lamport clock of a feature's log, kept next to it (machine-local; not committed).
CLOCK_FILENAME: Final = ".telemetry-clock.json"

#: What a store waits for another writer by default (the emitters pass their own, shorter).
DEFAULT_LOCK_TIMEOUT: Final = 10.0


def feature_store(
    feature_dir: str | Path, *, fsync: bool = False, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> SimpleJsonStore:
    """Return the store of the feature whose folder is ``feature_dir``: its JSONL log."""
    from .jsonl_store import SimpleJsonStore

    return SimpleJsonStore(
        Path(feature_dir) / EVENTS_FILENAME, fsync=fsync, lock_timeout=lock_timeout
    )


def feature_clock(feature_dir: str | Path, *, fsync: bool = False) -> LamportClock:
    """Return the Lamport clock kept beside the log of the feature in ``feature_dir``."""
    from .clock import FileClockStorage, LamportClock

    return LamportClock(FileClockStorage(Path(feature_dir) / CLOCK_FILENAME, fsync=fsync))


def store_for(target: str | Path | EventStore) -> EventStore:
    """Return ``target`` if it is a store, else the store of the feature folder it names."""
    return target if isinstance(target, EventStore) else feature_store(target)


def project_stores(
    repo_root: str | Path, select: Callable[[str], bool] | None = None
) -> list[tuple[str, SimpleJsonStore]]:
    """Return ``(feature, store)`` for each feature of the project with a log, by folder name.

    The features of :func:`project_logs`, each with its store.
    """
    return [(name, feature_store(log.parent)) for name, log in project_logs(repo_root, select)]


def project_logs(
    repo_root: str | Path, select: Callable[[str], bool] | None = None
) -> list[tuple[str, Path]]:
    """Return ``(feature, log path)`` for each feature of the project with a log, by folder name.

    ``select`` picks features by folder name (all by default). A project
    without ``kitty-specs/`` has none; one that cannot be listed raises
    QueryError. A ``repo_root`` that is not a folder raises
    ProjectNotFoundError: a mistyped path must not read as "no events".
    """
    if not Path(repo_root).is_dir():
        raise ProjectNotFoundError(f"not a folder: {repo_root}", parameter="repo_root")
    specs = Path(repo_root) / SPECS_DIRNAME
    try:
        folders = sorted(p for p in specs.iterdir() if p.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise QueryError(f"{specs}: cannot list features: {exc}") from exc
    logs = []
    for folder in folders:
        if select is None or select(folder.name):
            log = folder / EVENTS_FILENAME
            if log.is_file():
                logs.append((folder.name, log))
    return logs


def node_id_for(feature_dir: str | Path) -> str:
    """Return the ``node_id`` configured for the project holding ``feature_dir``.

    Never raises: a missing or broken ``.kittify/telemetry.yaml`` gives the
    default (a broken one with a warning), so recording still happens.
    """
    default = "cli"
    try:
        root = find_project_root(feature_dir)
        return default if root is None else load_config(root).node_id
    except Exception as exc:  # noqa: BLE001 - a bad config must not stop recording
        from ._emit_result import warn

        warn(logger, f"telemetry: using node_id {default!r}: {exc}")
        return default


def resolve_repo_root(repo: str | Path | None = None) -> Path:
    """Return the project to report on: ``repo``, else the nearest project above the cwd.

    The nearest project is the closest folder holding ``kitty-specs/`` or
    ``.kittify/``; with none, the current directory (which then has no events).
    Raises QueryError when ``repo`` is given but is not a directory.
    """
    if repo is not None:
        path = Path(repo)
        if not path.is_dir():
            raise QueryError(f"not a directory: {path}", parameter="repo")
        return path.resolve()
    return find_project_root() or Path.cwd()


def feature_dir_for(feature: str, start: str | Path | None = None) -> Path:
    """Return ``<project root>/kitty-specs/<feature>`` for the project at or above ``start``.

    Raises InvalidOptionError for a feature name that is not a plain directory
    name, and ProjectNotFoundError when no folder at or above ``start`` (the
    working directory by default) holds ``kitty-specs/`` or ``.kittify/``.
    """
    name = feature.strip()
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise InvalidOptionError(
            f"expected a feature folder name like 001-login, got {feature!r}",
            parameter="feature",
        )
    root = find_project_root(start)
    if root is None:
        here = Path(start if start is not None else Path.cwd()).resolve()
        raise ProjectNotFoundError(
            f"no spec-kitty project (a folder with kitty-specs/ or .kittify/) at or above {here}"
        )
    return root / SPECS_DIRNAME / name
