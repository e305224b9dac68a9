"""Set a repository up for telemetry: git attributes, ignore rules and a commented config.

Event logs are merged from many branches, so they need git's ``union`` merge
driver (without it a merge leaves conflict markers in the log), and the
machine-local sidecars next to them (lock, index, clock, temporary files) must
stay out of commits. :func:`init_repository` writes exactly those lines, once:
it appends what is missing to the user's files and never rewrites a line that
is already there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from .config import CONFIG_PATH
from .errors import ConfigError

__all__ = [
    "ATTRIBUTE_RULES",
    "IGNORE_RULES",
    "SetupChange",
    "SetupReport",
    "init_repository",
    "missing_lines",
]

#: Lines ``.gitattributes`` needs: union merges (and LF endings) for every event log.
ATTRIBUTE_RULES: Final = ("kitty-specs/**/execution.events.jsonl merge=union eol=lf",)
#: Lines ``.gitignore`` needs: every machine-local file written next to a log, and the
#: alert log (what this machine's sinks were sent, and its dedupe state; spec 011).
IGNORE_RULES: Final = (
    "kitty-specs/**/.execution.events.jsonl.*",
    "kitty-specs/**/.telemetry-clock.json*",
    ".kittify/alerts.jsonl",
    ".kittify/webhook-spool/",
)
_HEADER: Final = "# spec-kitty-telemetry (written by `spec-kitty agent telemetry init`)"

_CONFIG_TEMPLATE: Final = """\
# spec-kitty-telemetry settings for this project (committed: no secrets here).

# node_id names this machine or agent in the events it writes (default: cli).
# node_id: my-laptop

# Prices in USD per million tokens for the cost report; they win over the
# table shipped with the package and the genai-prices catalogue.
# pricing:
#   models:
#     acme-coder-7b: {input: 0.05, output: 0.10}
#   aliases:
#     opus: claude-opus-4-1
"""


@dataclass(frozen=True)
class SetupChange:
    """One file ``init`` created or appended to, and the lines it added."""

    path: str
    action: str  # "created" or "appended"
    lines: tuple[str, ...]


@dataclass
class SetupReport:
    """What :func:`init_repository` changed (nothing, when run a second time)."""

    root: Path
    changes: list[SetupChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready data."""
        return {
            "root": str(self.root),
            "changes": [
                {"path": c.path, "action": c.action, "lines": list(c.lines)} for c in self.changes
            ],
        }


def missing_lines(path: Path, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """Return the lines of ``wanted`` that ``path`` does not hold yet (whitespace aside)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return wanted
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    present = {" ".join(line.split()) for line in text.splitlines()}
    return tuple(line for line in wanted if " ".join(line.split()) not in present)


def init_repository(root: str | Path) -> SetupReport:
    """Add the attribute and ignore rules and a commented config to the project at ``root``.

    Idempotent: a second run changes nothing. Existing content is kept byte
    for byte; missing lines are appended under a one-line header. The config
    file is created only when absent. Raises ConfigError naming the file when
    one cannot be read or written (a symlink is never followed).
    """
    root = Path(root)
    report = SetupReport(root.resolve())
    for name, wanted in ((".gitattributes", ATTRIBUTE_RULES), (".gitignore", IGNORE_RULES)):
        path = root / name
        lines = missing_lines(path, wanted)
        if lines:
            existed = path.exists()
            _append_lines(path, lines)
            report.changes.append(SetupChange(name, "appended" if existed else "created", lines))
    config = root / CONFIG_PATH
    if config.parent.is_symlink():
        raise ConfigError(f"{config.parent}: is a symbolic link; not writing through it")
    if not config.exists() and not config.is_symlink():
        try:
            config.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{config.parent}: cannot create: {exc}") from exc
        _write_new(config, _CONFIG_TEMPLATE)
        report.changes.append(SetupChange(str(CONFIG_PATH), "created", ()))
    return report


def _append_lines(path: Path, lines: tuple[str, ...]) -> None:
    """Append ``lines`` under the header, starting on a fresh line."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot open for appending: {exc}") from exc
    try:
        size = os.fstat(fd).st_size
        prefix = ""
        if size:
            last = os.pread(fd, 1, size - 1)
            prefix = "\n" if last == b"\n" else "\n\n"
        text = prefix + "\n".join((_HEADER, *lines)) + "\n"
        os.write(fd, text.encode())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot append: {exc}") from exc
    finally:
        os.close(fd)


def _write_new(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create: {exc}") from exc
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
