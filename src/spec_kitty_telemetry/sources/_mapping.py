r"""Which feature and work package an agent session belongs to: the ``import:`` settings.

spec-kitty runs each work package in a git worktree of the project on its own
branch (``001-login-WP01``), so a session's ``cwd`` says whether it worked on
this project at all and its git branch (or, when the agent does not log one,
the worktree's folder name) says which feature and WP. The patterns are
regular expressions with named groups ``feature`` and optionally ``wp``; a
project whose branches are named otherwise sets its own in
``.kittify/telemetry.yaml``::

    import:
      catch_all: 000-unassigned
      patterns:
        - '^feature/(?P<feature>\d{3}-[a-z0-9-]+)/(?P<wp>WP\d+)$'

A session of this project whose branch and folder match no pattern, or name a
feature with no folder under ``kitty-specs/``, goes to the catch-all feature.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Final

from ..config import CONFIG_PATH, load_config
from ..errors import ConfigError
from ..project import SPECS_DIRNAME

__all__ = ["DEFAULT_CATCH_ALL", "DEFAULT_PATTERNS", "Placement", "SessionMapper"]

#: The feature that receives sessions of this project that name no feature.
DEFAULT_CATCH_ALL: Final = "000-unassigned"
#: spec-kitty's names: ``<NNN-feature>-<WPnn>`` for a WP's worktree, ``<NNN-feature>`` alone.
DEFAULT_PATTERNS: Final = (
    r"^(?P<feature>\d{3}-[A-Za-z0-9._-]+?)-(?P<wp>WP\d+)$",
    r"^(?P<feature>\d{3}-[A-Za-z0-9._-]+)$",
)
_SECTION: Final = "import"
_KEYS: Final = frozenset({"catch_all", "patterns"})


@dataclass(frozen=True)
class Placement:
    """Where a session's usage is recorded: a feature (folder name) and perhaps a WP."""

    feature: str
    wp_id: str | None
    #: False for a session of another repository (recorded only with ``all_projects``).
    in_project: bool


@dataclass
class SessionMapper:
    """Maps a session's working folder and git branch to a feature and work package."""

    root: Path
    patterns: Sequence[re.Pattern[str]]
    catch_all: str = DEFAULT_CATCH_ALL
    #: Folders of this project: its root and the git worktrees it lists.
    worktrees: tuple[Path, ...] = ()
    _cache: dict[tuple[str | None, str | None], Placement] = field(default_factory=dict)
    _by_hash: dict[str, Path] | None = None

    @classmethod
    def for_project(cls, root: Path) -> SessionMapper:
        """Read the project's ``import:`` settings; raise ConfigError naming file and key."""
        config = load_config(root)
        where = config.path or root / CONFIG_PATH
        section = config.section(_SECTION)
        patterns: Sequence[str] = DEFAULT_PATTERNS
        catch_all = DEFAULT_CATCH_ALL
        if section is not None:
            if not isinstance(section, Mapping):
                raise ConfigError(f"{where}: {_SECTION}: expected a mapping")
            unknown = sorted(str(key) for key in section if key not in _KEYS)
            if unknown:
                raise ConfigError(f"{where}: {_SECTION}.{unknown[0]}: unknown key")
            patterns = _patterns(section.get("patterns", DEFAULT_PATTERNS), where)
            catch_all = _catch_all(section.get("catch_all", DEFAULT_CATCH_ALL), where)
        compiled = []
        for number, text in enumerate(patterns):
            try:
                pattern = re.compile(text)
            except re.error as exc:
                raise ConfigError(
                    f"{where}: {_SECTION}.patterns[{number}]: not a regular expression: {exc}"
                ) from None
            if "feature" not in pattern.groupindex:
                raise ConfigError(
                    f"{where}: {_SECTION}.patterns[{number}]: needs a (?P<feature>...) group"
                )
            compiled.append(pattern)
        resolved = root.resolve()
        return cls(resolved, compiled, catch_all, (resolved, *_git_worktrees(resolved)))

    def owns(self, cwd: str | None) -> Path | None:
        """Return the folder of this project (root or worktree) holding ``cwd``, or None."""
        if not cwd:
            return None
        where = PurePath(cwd)
        best: Path | None = None
        for folder in self.worktrees:
            inside = where == folder or folder in where.parents
            if inside and (best is None or len(folder.parts) > len(best.parts)):
                best = folder
        return best

    def folder_for_hash(self, project_hash: str) -> Path | None:
        """Return the folder of this project whose path's SHA-256 (hex) is ``project_hash``.

        The hashes are worked out once per mapper: an import asks once per response.
        """
        if self._by_hash is None:
            self._by_hash = {}
            for folder in reversed(self.worktrees):  # the first folder wins a (no) collision
                self._by_hash[hashlib.sha256(str(folder).encode()).hexdigest()] = folder
        return self._by_hash.get(project_hash)

    def place(self, cwd: str | None, branch: str | None) -> Placement:
        """Return the feature and WP of a session that ran in ``cwd`` on ``branch``."""
        key = (cwd, branch)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._place(cwd, branch)
        return found

    def _place(self, cwd: str | None, branch: str | None) -> Placement:
        folder = self.owns(cwd)
        if folder is None:
            return Placement(self.catch_all, None, in_project=False)
        names = [branch] if branch else []
        if cwd:
            # the worktree's own folder, then each folder from cwd up to it
            where = PurePath(cwd)
            names += [part for part in (folder.name, where.name) if part]
        for name in names:
            for pattern in self.patterns:
                match = pattern.search(name)
                if match is None:
                    continue
                feature = match.group("feature")
                wp = match.groupdict().get("wp")
                if feature and (self.root / SPECS_DIRNAME / feature).is_dir():
                    return Placement(feature, wp or None, in_project=True)
        return Placement(self.catch_all, None, in_project=True)


def _patterns(value: Any, where: Path) -> Sequence[str]:
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{where}: {_SECTION}.patterns: expected a non-empty list of texts")
    for number, text in enumerate(value):
        if not isinstance(text, str) or not text:
            raise ConfigError(
                f"{where}: {_SECTION}.patterns[{number}]: expected a regular expression text, "
                f"got {text!r}"
            )
    return list(value)


def _catch_all(value: Any, where: Path) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or value in (".", "..")
        or "/" in value
        or "\\" in value
    ):
        raise ConfigError(
            f"{where}: {_SECTION}.catch_all: expected a feature folder name, got {value!r}"
        )
    return value


def _git_worktrees(root: Path) -> list[Path]:
    """Return the worktrees git lists for the repository at ``root`` (none without git)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "worktree", "list", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode != 0:
        return []
    return [
        Path(line.removeprefix("worktree ")).resolve()
        for line in done.stdout.splitlines()
        if line.startswith("worktree ")
    ]
