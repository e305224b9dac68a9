"""Small-file durability helpers: atomic replacement and directory fsync."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` so readers see the old content or the new, never half.

    With ``fsync``, the new content and the rename are on disk when this returns.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        fsync_directory(path.parent)


def fsync_directory(folder: Path) -> None:
    """Make entries just created or renamed in ``folder`` durable.

    Without it a crash can lose a new file even though its content was
    synced. Best effort: where a folder cannot be opened or synced (Windows,
    some network filesystems) there is nothing more to do.
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
