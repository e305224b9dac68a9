"""Atomic replacement of small files (the clock), and cleaning up after crashed writers."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from pathlib import Path

from ._safe_paths import SafeFolder, open_folder


def temp_name(name: str, pid: int) -> str:
    """Name the temp copy of ``name``: hidden, and starting with ``name`` itself.

    So an ignore rule for the file (``.telemetry-clock.json*``) covers its
    copies too, which a crash between write and rename can leave behind.
    """
    hidden = name if name.startswith(".") else f".{name}"
    return f"{hidden}.{pid}.tmp"


def write_atomically(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` so readers see the old content or the new, never half.

    With ``fsync``, the new content and the rename are on disk when this
    returns. Written through :mod:`._safe_paths` (a link at ``path`` or a
    folder outside the project is refused with UnsafePathError). Temp copies
    left by processes that died mid-write are removed first.
    """
    with open_folder(path.parent) as folder:
        _remove_stale_copies(folder, path.name)
        tmp = temp_name(path.name, os.getpid())
        try:
            fd = folder.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            folder.replace(tmp, path.name)
        except BaseException:
            folder.unlink(tmp)
            raise
        if fsync:
            folder.sync()


def _remove_stale_copies(folder: SafeFolder, name: str) -> None:
    """Remove temp copies of ``name`` whose writing process is gone (a crash left them).

    Copies of a live process are kept: it may be writing them now. Also
    removes copies named the way earlier versions did (``.<name>.<pid>.tmp``
    for an already hidden name), which no ignore rule matched.
    """
    if sys.platform == "win32":  # pragma: no cover - no cheap, harmless liveness probe there
        return
    pattern = _copy_pattern(name)
    try:
        names = folder.names()
    except OSError:
        return
    for entry in names:
        match = pattern.fullmatch(entry)
        if match is not None and not _alive(int(match[1])):
            with contextlib.suppress(OSError):  # a read-only folder: it stays, ignored by git
                folder.unlink(entry)


@functools.lru_cache(maxsize=32)
def _copy_pattern(name: str) -> re.Pattern[str]:
    hidden = name if name.startswith(".") else f".{name}"
    return re.compile(rf"(?:{re.escape(hidden)}|{re.escape('.' + name)})\.([0-9]{{1,12}})\.tmp")


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (signal 0 only probes)."""
    if pid <= 0:
        return False  # never a writer's pid; os.kill would address a process group
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False  # gone, or a number no process id can be
    except OSError:
        return True  # exists but is not ours (EPERM): leave its file
    return True
