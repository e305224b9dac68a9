"""Where a project keeps its events: which store each feature uses.

A project keeps one log per feature folder,
``<root>/kitty-specs/<feature>/execution.events.jsonl``, with the feature's
Lamport clock file beside it. Every writer and reader that is handed a
folder or a project root (rather than an :class:`~.store.EventStore`) asks
this module for the store, so the answer lives in one place:
:func:`feature_store` for one feature, :func:`project_stores` for all of them.

Kept light: the emit path imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from .clock import FileClockStorage, LamportClock
from .errors import QueryError
from .jsonl_store import SimpleJsonStore
from .store import EventStore

__all__ = [
    "CLOCK_FILENAME",
    "EVENTS_FILENAME",
    "SPECS_DIRNAME",
    "feature_clock",
    "feature_store",
    "project_stores",
    "store_for",
]

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
    return SimpleJsonStore(
        Path(feature_dir) / EVENTS_FILENAME, fsync=fsync, lock_timeout=lock_timeout
    )


def feature_clock(feature_dir: str | Path, *, fsync: bool = False) -> LamportClock:
    """Return the Lamport clock kept beside the log of the feature in ``feature_dir``."""
    return LamportClock(FileClockStorage(Path(feature_dir) / CLOCK_FILENAME, fsync=fsync))


def store_for(target: str | Path | EventStore) -> EventStore:
    """Return ``target`` if it is a store, else the store of the feature folder it names."""
    return target if isinstance(target, EventStore) else feature_store(target)


def project_stores(
    repo_root: str | Path, select: Callable[[str], bool] | None = None
) -> list[tuple[str, SimpleJsonStore]]:
    """Return ``(feature, store)`` for each feature of the project with a log, by folder name.

    ``select`` picks features by folder name (all by default). A project
    without ``kitty-specs/`` has none; one that cannot be listed raises QueryError.
    """
    specs = Path(repo_root) / SPECS_DIRNAME
    try:
        folders = sorted(p for p in specs.iterdir() if p.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise QueryError(f"{specs}: cannot list features: {exc}") from exc
    stores = []
    for folder in folders:
        if select is None or select(folder.name):
            store = feature_store(folder)
            if store.path.is_file():
                stores.append((folder.name, store))
    return stores
