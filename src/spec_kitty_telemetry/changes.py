"""What a run changed in its git working tree: files, lines and commits.

A run's changes are the difference between two snapshots of the working
tree, one taken just before the agent starts and one just after it ends —
not a diff against HEAD, so edits already lying in the tree before the run
are not counted as the run's, and files the agent commits are still counted.
A snapshot is a git tree object written through a private, temporary index
(``GIT_INDEX_FILE``): ``git add -A`` then ``git write-tree``. The user's own
index, staged changes and branches are never touched; .gitignore is
respected; the package's own sidecars under ``kitty-specs/`` (event logs,
clock files, lock, index and temp files) are left out, since other runs write
them at any moment.

The temporary index starts as a copy of the repository's index, so git
re-reads only the files whose stat data changed: that is what keeps a
snapshot of a 10,000-file tree within tens of milliseconds
(``bench/changes_overhead.py``). The end snapshot reuses the start's index
and is never written as a tree: ``git diff-index --cached`` compares the
start tree with the index itself. The start tree's ``write-tree`` runs while
the agent starts, which is safe because the start state is fixed in the
index once ``add -A`` has returned (see :meth:`ChangeCapture._snapshot`).

Capturing never raises and never holds a run up for long: every git call
shares one time limit per snapshot, and outside a git work tree, without git,
or when git is slow or fails, the changes are recorded as unknown with the
reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from .environment import git_head, git_work_tree
from .outputs import CHANGES_KEY

__all__ = [
    "CHANGES_ERROR_KEY",
    "CHANGES_KEY",
    "DEFAULT_GIT_TIMEOUT",
    "MAX_CHANGED_PATHS",
    "SIDECAR_PATHSPECS",
    "ChangeCapture",
    "RunChanges",
]

#: Payload key saying why the changes are unknown (only when ``changes`` is None).
CHANGES_ERROR_KEY: Final = "changes_error"
#: Most paths kept in each of the created/modified/deleted/renamed lists; counts are exact.
MAX_CHANGED_PATHS: Final = 100
#: Seconds all git calls of one snapshot may take together before the changes are unknown.
DEFAULT_GIT_TIMEOUT: Final = 5.0

#: The package's own files, kept out of both snapshots: each event log and its
#: ``.execution.events.jsonl.*`` sidecars (lock, index, projections, temp files),
#: and the clock with its temp files, in any folder below a ``kitty-specs`` one.
#: Plain pathspecs, whose ``*`` spans folders too: git matches each of the
#: tree's paths against them, and ``:(glob)`` ones with ``**`` cost ~5 ms of
#: CPU per 10,000 paths more (``bench/changes_overhead.py``).
SIDECAR_PATHSPECS: Final = (
    ":(exclude)*kitty-specs/*execution.events.jsonl*",
    ":(exclude)*kitty-specs/*.telemetry-clock.json*",
)

_STATUS_LIST: Final = {"A": "created", "M": "modified", "T": "modified", "D": "deleted"}


class _Unknown(Exception):
    """Why the changes cannot be known (git missing, slow, or not a work tree)."""


@dataclass(frozen=True)
class RunChanges:
    """What a run changed, or why that is unknown (``error`` set, figures absent).

    ``created``/``modified``/``deleted`` hold paths relative to the work tree's
    top, ``renamed`` ``[old, new]`` pairs, each list cut at ``max_paths``
    (``paths_truncated`` says so); the ``files_*`` counts are always exact.
    Lines are those of text files (git's ``--numstat``); binary files are
    counted in ``binary_files`` and add no lines. ``commits`` counts commits
    reachable from ``head_after`` but not ``head_before``.
    """

    error: str | None = None
    files_created: int = 0
    files_modified: int = 0
    files_deleted: int = 0
    files_renamed: int = 0
    binary_files: int = 0
    lines_added: int = 0
    lines_deleted: int = 0
    created: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    renamed: list[list[str]] = field(default_factory=list)
    paths_truncated: bool = False
    head_before: str | None = None
    head_after: str | None = None
    commits: int | None = 0

    @property
    def known(self) -> bool:
        """Whether the changes were captured (False: see ``error``)."""
        return self.error is None

    def payload_fields(self) -> dict[str, Any]:
        """Return the payload fields: ``changes``; when unknown, None and ``changes_error``."""
        if self.error is not None:
            return {CHANGES_KEY: None, CHANGES_ERROR_KEY: self.error}
        figures = {
            name: getattr(self, name)
            for name in (
                "files_created",
                "files_modified",
                "files_deleted",
                "files_renamed",
                "binary_files",
                "lines_added",
                "lines_deleted",
                "created",
                "modified",
                "deleted",
                "renamed",
                "paths_truncated",
                "head_before",
                "head_after",
                "commits",
            )
        }
        return {CHANGES_KEY: figures}


@dataclass(frozen=True)
class _Snapshot:
    """A snapshot: the work tree's top, its tree and HEAD.

    ``tree`` is None for the end snapshot (its state is left in the index) and
    for the start one until its write-tree, run beside the agent, is collected.
    """

    top: Path
    tree: str | None
    head: str | None


class ChangeCapture:
    """Snapshot a working tree at :meth:`start`, report the run's changes at :meth:`finish`.

    Neither method raises. Used as a context manager, the temporary index is
    removed even when :meth:`finish` is never reached.

    Example::

        capture = ChangeCapture(Path.cwd())
        capture.start()
        subprocess.run(agent_command)
        changes = capture.finish()   # RunChanges; changes.error says why if unknown
    """

    def __init__(
        self,
        where: str | Path | None = None,
        *,
        timeout: float = DEFAULT_GIT_TIMEOUT,
        max_paths: int = MAX_CHANGED_PATHS,
    ) -> None:
        self.where = Path(where) if where is not None else Path.cwd()
        self.timeout = timeout
        self.max_paths = max_paths
        self._folder: str | None = None
        self._before: _Snapshot | None = None
        #: The start snapshot's ``write-tree``, running while the agent starts.
        self._writing: tuple[subprocess.Popen[bytes], float] | None = None
        self._error: str | None = "changes were not captured: start() was not called"

    def __enter__(self) -> ChangeCapture:
        """Take the start snapshot."""
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        """Remove the temporary index."""
        self.close()

    def start(self) -> None:
        """Snapshot the tree as it is before the run."""
        self.close()
        try:
            self._folder = tempfile.mkdtemp(prefix="spec-kitty-changes-")
            self._before = self._snapshot(first=True)
            self._error = None
        except _Unknown as exc:
            self._error = str(exc)
        except Exception as exc:  # noqa: BLE001 - capturing must never break the run
            self._error = f"changes unknown: {type(exc).__name__}: {exc}"

    def finish(self) -> RunChanges:
        """Snapshot the tree again and return what changed since :meth:`start`."""
        try:
            if self._error is not None or self._before is None:
                return RunChanges(error=self._error or "changes unknown")
            after = self._snapshot(first=False)
            return self._compare(self._before, after)
        except _Unknown as exc:
            return RunChanges(error=str(exc))
        except Exception as exc:  # noqa: BLE001 - capturing must never break the run
            return RunChanges(error=f"changes unknown: {type(exc).__name__}: {exc}")
        finally:
            self.close()

    def close(self) -> None:
        """Remove the temporary index (done by :meth:`finish`; safe to call again)."""
        if self._writing is not None:
            process = self._writing[0]
            self._writing = None
            if process.poll() is None:
                process.kill()
            process.communicate()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _snapshot(self, *, first: bool) -> _Snapshot:
        deadline = time.monotonic() + self.timeout
        assert self._folder is not None
        if first:
            top, real_index = self._where_tree_is(deadline)
            # A copy of the real index lets git skip every file whose stat data is unchanged.
            if real_index.is_file():
                shutil.copyfile(real_index, Path(self._folder) / "index")
        else:
            assert self._before is not None
            top = self._before.top
            self._before = replace(self._before, tree=self._written_tree())
        self._git(["add", "-A", "--", ".", *SIDECAR_PATHSPECS], deadline, cwd=top, env=self._env)
        if not first:  # the end state stays in the index: diff-index reads it there
            return _Snapshot(top=top, tree=None, head=_head(top))
        # Once ``add -A`` is done the index holds the id of every file's start
        # content (the blobs are written): the state is fixed, and write-tree
        # reads only the index and the object store, never the work tree. So
        # it may run while the agent starts, and finish() collects it before
        # the index is touched again; an agent writing at once changes nothing.
        process = self._spawn(["write-tree"], cwd=top, env=self._env)
        self._writing = (process, deadline)
        return _Snapshot(top=top, tree=None, head=_head(top))

    def _written_tree(self) -> str:
        """Wait for the start snapshot's write-tree (within its time limit); its tree id."""
        assert self._writing is not None
        process, deadline = self._writing
        self._writing = None
        return self._wait(process, ["write-tree"], deadline).decode().strip()

    @property
    def _env(self) -> dict[str, str]:
        """The environment of git calls on the snapshot's index: the private one."""
        assert self._folder is not None
        return {"GIT_INDEX_FILE": str(Path(self._folder) / "index")}

    def _where_tree_is(self, deadline: float) -> tuple[Path, Path]:
        """Find the work tree's top and its index file from ``.git`` itself, saving a process.

        When the environment points git elsewhere (``GIT_DIR``, ``GIT_WORK_TREE``,
        as in a git hook), git is asked instead.
        """
        if not any(name in os.environ for name in ("GIT_DIR", "GIT_WORK_TREE")):
            found = git_work_tree(self.where.resolve())
            if found is None:
                raise _Unknown("changes unknown: not inside a git work tree")
            return found[0], found[1] / "index"
        output = self._git(["rev-parse", "--show-toplevel", "--git-path", "index"], deadline)
        lines = output.decode("utf-8", "surrogateescape").splitlines()
        if len(lines) < 2 or not lines[0]:
            raise _Unknown("changes unknown: not inside a git work tree")
        real_index = Path(lines[1])
        return Path(lines[0]), real_index if real_index.is_absolute() else self.where / real_index

    def _compare(self, before: _Snapshot, after: _Snapshot) -> RunChanges:
        deadline = time.monotonic() + self.timeout
        assert before.tree is not None
        diff = self._git(
            ["diff-index", "--cached", "-M", "-z", "--raw", "--numstat", before.tree],
            deadline,
            cwd=after.top,
            env=self._env,
        )
        commits: int | None = 0
        if before.head != after.head:
            commits = None
            if before.head is None and after.head is not None:
                counted = self._git(["rev-list", "--count", after.head], deadline, cwd=after.top)
                commits = int(counted.strip())
            elif before.head is not None and after.head is not None:
                counted = self._git(
                    ["rev-list", "--count", f"{before.head}..{after.head}"],
                    deadline,
                    cwd=after.top,
                    check=False,
                )
                commits = int(counted.strip()) if counted.strip().isdigit() else None
        return _parse_diff(diff, self.max_paths, before.head, after.head, commits)

    def _git(
        self,
        args: Sequence[str],
        deadline: float,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> bytes:
        if deadline - time.monotonic() <= 0:
            raise _Unknown(f"changes unknown: git took longer than {self.timeout:g}s")
        return self._wait(self._spawn(args, cwd=cwd, env=env), args, deadline, check=check)

    def _spawn(
        self, args: Sequence[str], *, cwd: Path | None, env: Mapping[str, str] | None
    ) -> subprocess.Popen[bytes]:
        environ = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", **(env or {})}
        try:
            return subprocess.Popen(
                ["git", *args],
                cwd=cwd if cwd is not None else self.where,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError:
            raise _Unknown("changes unknown: git is not installed (not on PATH)") from None
        except OSError as exc:
            raise _Unknown(f"changes unknown: cannot run git: {exc}") from None

    def _wait(
        self,
        process: subprocess.Popen[bytes],
        args: Sequence[str],
        deadline: float,
        *,
        check: bool = True,
    ) -> bytes:
        # A process already done (a write-tree that ran beside the agent) is read in full.
        timeout = None if process.poll() is not None else max(deadline - time.monotonic(), 0)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise _Unknown(f"changes unknown: git took longer than {self.timeout:g}s") from None
        if check and process.returncode != 0:
            message = stderr.decode("utf-8", "replace").strip().splitlines()
            reason = message[-1] if message else f"exit code {process.returncode}"
            if "not a git repository" in reason:
                raise _Unknown("changes unknown: not inside a git work tree")
            raise _Unknown(f"changes unknown: git {args[0]}: {reason}")
        return stdout


def _head(top: Path) -> str | None:
    """Read the commit HEAD points at from git's files (no process); None on an unborn branch."""
    try:
        return git_head(top)[1]
    except Exception:  # noqa: BLE001 - an unreadable HEAD is an unknown one
        return None


def _parse_diff(
    output: bytes,
    max_paths: int,
    head_before: str | None,
    head_after: str | None,
    commits: int | None,
) -> RunChanges:
    """Read ``git diff-tree -r -M -z --raw --numstat`` output into a :class:`RunChanges`.

    The raw records (``:modes shas STATUS``, then one path or two for a
    rename) come first, the numstat ones (``added<TAB>deleted<TAB>path``, or
    an empty path followed by the old and new names) after them.
    """
    tokens = output.decode("utf-8", "surrogateescape").split("\0")
    lists: dict[str, list[Any]] = {"created": [], "modified": [], "deleted": [], "renamed": []}
    counts = dict.fromkeys(lists, 0)
    binary = added = deleted = 0
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if not token:
            continue
        if token.startswith(":"):
            status = token.rsplit(" ", 1)[-1][:1]
            if status in ("R", "C"):
                entry: Any = tokens[position : position + 2]
                position += 2
                kind = "renamed" if status == "R" else "created"
                if kind == "created":
                    entry = entry[1]
            else:
                entry = tokens[position]
                position += 1
                kind = _STATUS_LIST.get(status, "modified")
            counts[kind] += 1
            if len(lists[kind]) < max_paths:
                lists[kind].append(entry)
            continue
        plus, _, rest = token.partition("\t")
        minus, _, path = rest.partition("\t")
        if not path:  # a rename: the old and new names follow
            position += 2
        if plus == "-" and minus == "-":
            binary += 1
        elif plus.isdigit() and minus.isdigit():
            added += int(plus)
            deleted += int(minus)
    return RunChanges(
        files_created=counts["created"],
        files_modified=counts["modified"],
        files_deleted=counts["deleted"],
        files_renamed=counts["renamed"],
        binary_files=binary,
        lines_added=added,
        lines_deleted=deleted,
        created=lists["created"],
        modified=lists["modified"],
        deleted=lists["deleted"],
        renamed=lists["renamed"],
        paths_truncated=any(counts[kind] > len(lists[kind]) for kind in lists),
        head_before=head_before,
        head_after=head_after,
        commits=commits,
    )
