"""Where the package may write: never through a link, never outside the project.

Event logs are committed and cloned, so a repository is input from other
people: it can commit ``kitty-specs/002-x/execution.events.jsonl`` as a
symlink to ``~/.bashrc``, or a feature folder as a symlink to a system folder.
Every file the package writes (logs, locks, the index, clock files and their
temp copies) is therefore opened here, by one rule:

* The file itself is opened with ``O_NOFOLLOW`` (and ``O_NONBLOCK``, then
  checked to be a regular file): a link, FIFO or device in its place is
  refused, never written through.
* If its path names a project folder (a component ``kitty-specs`` or
  ``.kittify``; the folder above it is the project root), the file's folder
  must resolve inside ``<real project root>/kitty-specs`` (or ``.kittify``).
  A symlink that stays inside (a feature folder linked to another feature
  folder) is fine; one leading anywhere else is refused. A path naming no
  project folder (a store a library user opened on ``/tmp/x.jsonl``) has no
  project to stay in and is only held to the first rule.

The check cannot be raced: the folder is opened first, the path the kernel
reports for that open descriptor (``/proc/self/fd``, ``F_GETPATH`` on macOS)
is what gets checked, and the file is then opened relative to the descriptor
(``dir_fd``). A link swapped in after the check changes nothing, because the
descriptor still names the folder that was checked. Missing folders are
created one level at a time the same way, each level checked before anything
is created in it. A refusal is an :class:`UnsafePathError` naming the path.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path
from types import TracebackType

from .errors import UnsafePathError

__all__ = [
    "MARKERS",
    "SafeFolder",
    "UnsafePathError",
    "open_file",
    "open_folder",
    "read_sidecar",
    "write_problem",
]

#: The project folders writes must stay in; the folder holding one is the project root.
MARKERS = ("kitty-specs", ".kittify")

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_DIR_FLAGS = os.O_RDONLY | _DIRECTORY | _CLOEXEC
#: Platforms where folders can be opened and files opened relative to them (not Windows).
_BY_DESCRIPTOR = os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd
_HAVE_PROC = os.path.isdir("/proc/self/fd")


class SafeFolder:
    """A folder checked by :func:`open_folder`, held open so the check cannot go stale.

    Files are opened, renamed and removed relative to it. Close it (or use it
    as a context manager) when done.
    """

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self.fd = fd  # None where the platform cannot open folders (Windows)

    def open(self, name: str, flags: int, mode: int = 0o644) -> int:
        """Open ``name`` in this folder without following a link; refuse anything not a file."""
        try:
            if self.fd is None:  # pragma: no cover - Windows
                fd = os.open(self.path / name, flags | _CLOEXEC, mode)
            else:
                fd = os.open(name, flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC, mode, dir_fd=self.fd)
        except OSError as exc:
            problem = _entry_problem(self, name)
            if problem is not None:
                raise UnsafePathError(f"{self.path / name}: refusing to write: {problem}") from exc
            raise
        try:
            kind = os.fstat(fd).st_mode
        except OSError:
            os.close(fd)
            raise
        if not stat.S_ISREG(kind):
            os.close(fd)
            raise UnsafePathError(
                f"{self.path / name}: refusing to write: {_kind(kind)}, not a regular file"
            )
        return fd

    def replace(self, source: str, target: str) -> None:
        """Rename ``source`` over ``target`` in this folder; refuse a link at ``target``."""
        problem = _entry_problem(self, target)
        if problem is not None:
            raise UnsafePathError(f"{self.path / target}: refusing to write: {problem}")
        if self.fd is None:  # pragma: no cover - Windows
            os.replace(self.path / source, self.path / target)
        else:
            os.replace(source, target, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def unlink(self, name: str) -> None:
        """Remove ``name`` from this folder (a missing one is fine)."""
        try:
            if self.fd is None:  # pragma: no cover - Windows
                os.unlink(self.path / name)
            else:
                os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def names(self) -> list[str]:
        """List the names of the entries in this folder."""
        return os.listdir(self.path if self.fd is None else self.fd)

    def sync(self) -> None:
        """Make entries created or renamed here durable.

        Without it a crash can lose a new file even though its content was
        synced. Best effort: some filesystems cannot sync a folder.
        """
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self.fd)

    def close(self) -> None:
        """Let the folder go."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)

    def __enter__(self) -> SafeFolder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_folder(folder: str | Path, *, create: bool = False) -> SafeFolder:
    """Open ``folder`` for writing into, after checking it stays inside its project.

    With ``create``, missing folders are made (inside the project, one checked
    level at a time). Raises UnsafePathError when the folder resolves outside
    its project, and OSError when it cannot be opened or created.
    """
    path = Path(folder)
    spot = _project_of(path)
    if not _BY_DESCRIPTOR:  # pragma: no cover - Windows: check the resolved path, then use it
        if create:
            path.mkdir(parents=True, exist_ok=True)
        if spot is not None:
            _check_inside(path, os.path.realpath(path), _zone_of(os.path.realpath(spot[0]), spot))
        return SafeFolder(path, None)
    if spot is None:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return SafeFolder(path, os.open(path, _DIR_FLAGS))
    root, below = spot
    if create:
        os.makedirs(root, exist_ok=True)  # above the project: nothing of it to guard yet
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        zone = _zone_of(_real_path(root_fd, root), spot)
        try:
            fd = os.open(path, _DIR_FLAGS)
        except FileNotFoundError:
            if not create:
                raise
            return SafeFolder(path, _create_below(root_fd, root, below, zone))
        try:
            _check_inside(path, _real_path(fd, path), zone)
        except BaseException:
            os.close(fd)
            raise
        return SafeFolder(path, fd)
    finally:
        os.close(root_fd)


def open_file(path: str | Path, flags: int, mode: int = 0o644) -> int:
    """Open the file ``path`` for writing by the rule above; return its descriptor."""
    target = Path(path)
    with open_folder(target.parent) as folder:
        return folder.open(target.name, flags, mode)


def read_sidecar(path: str | Path, limit: int) -> bytes:
    """Read a small machine-local file (an index, a clock) without ever blocking on it.

    A FIFO, device or link in its place, or a file over ``limit`` bytes, is not
    a sidecar the package wrote: OSError (UnsafePathError), so the caller
    treats it as missing. Opening a FIFO for reading would otherwise wait for
    a writer forever, and a link to ``/dev/zero`` would never end.
    """
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = stat.filemode(info.st_mode)
            raise UnsafePathError(f"{path}: not a regular file (mode {kind}); ignored")
        if info.st_size > limit:
            raise UnsafePathError(f"{path}: larger than {limit} bytes; ignored")
        return os.read(fd, limit + 1)
    finally:
        os.close(fd)


def write_problem(path: str | Path) -> str | None:
    """Say why the package would refuse to write ``path``, or None if it would not.

    Only looks: nothing is created or changed. For ``doctor``, which reports
    links a repository holds where the package writes.
    """
    target = Path(path)
    folder = target.parent
    while not folder.exists() and folder != folder.parent:  # check what exists of the path
        if folder.is_symlink():
            return f"{folder} is a symbolic link to a missing folder"
        folder = folder.parent
    try:
        with open_folder(folder) as opened:
            if folder == target.parent:
                problem = _entry_problem(opened, target.name)
                if problem is not None:
                    return f"{target}: {problem}"
    except UnsafePathError as exc:
        return str(exc)
    except OSError as exc:
        return f"{folder}: cannot open: {exc.strerror or exc}"
    return None


def _project_of(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """Split ``path`` into its project root and the components from the project folder down.

    Works on the path as written (made absolute, not resolved, ``..`` kept), so
    a link in it cannot move the project: the innermost ``kitty-specs`` or
    ``.kittify`` component decides.
    """
    text = os.fspath(path)  # strings, not pathlib: this runs several times per emit
    if not os.path.isabs(text):
        text = os.path.join(os.getcwd(), text)
    parts = text.split(os.sep)
    for index in range(len(parts) - 1, 0, -1):
        if parts[index] in MARKERS:
            below = tuple(part for part in parts[index:] if part not in ("", "."))
            return os.sep.join(parts[:index]) or os.sep, below
    return None


def _zone_of(real_root: str, spot: tuple[str, tuple[str, ...]]) -> str:
    return os.path.join(real_root, spot[1][0])


def _create_below(root_fd: int, root: str, below: tuple[str, ...], zone: str) -> int:
    """Open (making what is missing) each folder of ``below`` under the root, checking each."""
    parent = os.dup(root_fd)
    here = Path(root)
    try:
        for name in below:
            here = here / name
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=parent)
            except FileNotFoundError:
                # mkdir never follows a link at ``name``; one made meanwhile, or a
                # dangling link, is left to the open below.
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=parent)
                child = os.open(name, _DIR_FLAGS, dir_fd=parent)
            os.close(parent)
            parent = child
            _check_inside(here, _real_path(child, here), zone)
    except BaseException:
        os.close(parent)
        raise
    return parent


def _check_inside(path: Path, real: str, zone: str) -> None:
    if real != zone and not real.startswith(zone + os.sep):
        raise UnsafePathError(
            f"{path}: refusing to write: it resolves to {real}, outside the project's {zone}"
        )


def _real_path(fd: int, path: str | Path) -> str:
    """Return the path the kernel knows for the open folder ``fd`` (opened as ``path``)."""
    if _HAVE_PROC:
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    if sys.platform == "darwin":  # pragma: no cover - macOS
        import fcntl

        raw = fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024))
        return os.fsdecode(raw.split(b"\0", 1)[0])
    # Elsewhere: resolve the path and make sure it still names the open folder.
    real = os.path.realpath(path)  # pragma: no cover - no /proc
    if not os.path.samestat(os.stat(real), os.fstat(fd)):  # pragma: no cover
        raise UnsafePathError(f"{path}: refusing to write: it changed while being checked")
    return real  # pragma: no cover


def _entry_problem(folder: SafeFolder, name: str) -> str | None:
    """Say what is wrong with the entry ``name`` in ``folder`` as a write target (None: nothing)."""
    try:
        if folder.fd is None:  # pragma: no cover - Windows
            info = os.lstat(folder.path / name)
        else:
            info = os.stat(name, dir_fd=folder.fd, follow_symlinks=False)
    except OSError:
        return None  # missing: it will be created
    if stat.S_ISREG(info.st_mode):
        return None
    if not stat.S_ISLNK(info.st_mode):
        return f"{_kind(info.st_mode)}, not a regular file"
    try:
        where = os.readlink(name, dir_fd=folder.fd) if folder.fd is not None else "elsewhere"
    except OSError:  # pragma: no cover - replaced meanwhile
        where = "elsewhere"
    return f"it is a symbolic link (to {where}); the package never writes through a link"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"
