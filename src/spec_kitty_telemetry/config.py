"""Project configuration: ``.kittify/telemetry.yaml`` and finding the project root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from ._plain import field, plain
from .errors import ConfigError

__all__ = [
    "BASELINES_DIR",
    "CONFIG_PATH",
    "TelemetryConfig",
    "emitting_project_root",
    "find_project_root",
    "load_config",
]

#: Where a project keeps its telemetry settings, relative to the project root.
CONFIG_PATH: Final = Path(".kittify") / "telemetry.yaml"
#: Where frozen baselines are kept (``analytics.baseline``), relative to the project root;
#: here so the emit's real-time check can watch it without importing the analytics.
BASELINES_DIR: Final = Path(".kittify") / "baselines"

_MARKERS: Final = ("kitty-specs", ".kittify")


@plain(frozen=True)
class TelemetryConfig:
    """Settings read from ``.kittify/telemetry.yaml``; every field has a default."""

    #: Names this machine or agent in the events it writes.
    node_id: str = "cli"
    #: The file the settings came from (None when the project has none).
    path: Path | None = field(default=None, compare=False)
    #: The ``pricing:`` section as written, or None. It is validated when a
    #: report prices events (``pricing.load_pricing``), not here: a typo in a
    #: rate must not stop the emitter from recording runs.
    pricing: Any = None
    #: Every top-level section as written (``budgets:``, ``alerts:``, ``exports:``…).
    #: Each feature validates its own section where it is used, for the same reason
    #: as ``pricing``: a typo in one feature's settings must not stop the others.
    sections: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __init__(
        self,
        node_id: str = "cli",
        path: Path | None = None,
        pricing: Any = None,
        sections: Mapping[str, Any] | None = None,
    ) -> None:
        # Written out rather than generated: compiling a generated __init__ costs a report
        # about 60 k instructions a field at start-up (see _plain).
        object.__setattr__(self, "node_id", node_id)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "pricing", pricing)
        object.__setattr__(self, "sections", {} if sections is None else sections)

    def section(self, name: str) -> Any:
        """Return the top-level ``name:`` section as written in the file, or None when absent."""
        return self.sections.get(name)


def find_project_root(start: str | Path | None = None) -> Path | None:
    """Return the nearest folder at or above ``start`` holding ``kitty-specs/`` or ``.kittify/``."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).is_dir() for marker in _MARKERS):
            return folder
    return None


_ROOTS: dict[tuple[str, str], Path] = {}


def emitting_project_root(folder: str | Path | None) -> Path | None:
    """Return :func:`find_project_root` of ``folder``, remembered for the process once found.

    For what runs after every append (the real-time check, the webhook spool):
    the lookup resolves the path and looks for markers in each parent, which
    cost more than the rest of the work after an append. A found root is kept
    (a project does not move under a running process); a folder outside any
    project is looked up again next time, so a project created later is seen.
    Relative folders are keyed with the working directory.
    """
    text = "" if folder is None else str(folder)
    key = (text, "" if text and os.path.isabs(text) else os.getcwd())  # no Path: per append
    root = _ROOTS.get(key)
    if root is None:
        root = find_project_root(folder)
        if root is not None:
            _ROOTS[key] = root
    return root


def load_config(project_root: str | Path) -> TelemetryConfig:
    """Read the project's telemetry settings; a missing file gives the defaults.

    Raises ConfigError naming the file (and key) when the file is unreadable,
    is not YAML, or holds a value of the wrong kind.
    """
    path = Path(project_root) / CONFIG_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return TelemetryConfig()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc

    import yaml  # only projects with a config file pay for the import

    try:
        document: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {_yaml_problem(exc)}") from exc
    if document is None:
        return TelemetryConfig(path=path)
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    node_id = document.get("node_id", TelemetryConfig.node_id)
    if not isinstance(node_id, str) or not node_id.strip():
        raise ConfigError(f"{path}: node_id must be a non-empty string, got {node_id!r}")
    return TelemetryConfig(
        node_id=node_id,
        path=path,
        pricing=document.get("pricing"),
        sections={str(key): value for key, value in document.items()},
    )


def _yaml_problem(exc: Exception) -> str:
    """One line for a YAML error: where it is (1-based line and column) and what is wrong."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = " ".join(f"{problem}{f' ({context})' if context else ''}".split())
    if mark is None:
        return f"not valid YAML: {text}"
    return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {text}"
