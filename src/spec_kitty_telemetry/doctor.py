"""A health check of a project's event logs and of the repository around them.

``doctor`` answers "is anything wrong with what we record?" without changing
a byte: per log, how many events, which lines no reader can use and why (by
the one line rule, ``_lines.parse_line``), how many duplicate lines a merge
left, how the clock file compares with the log, and whether the package could
safely write there; per repository, whether git merges the logs with
``union`` and ignores the sidecars, and whether the committed config holds
something that looks like a secret.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ._lines import parse_line
from ._safe_paths import write_problem
from .clock import FileClockStorage
from .config import CONFIG_PATH
from .errors import InvalidEventError, StoreError
from .project import CLOCK_FILENAME, EVENTS_FILENAME, feature_store
from .query import feature_logs
from .redact import find_secrets

__all__ = ["DoctorReport", "LogHealth", "diagnose"]

#: Sidecar names git must ignore, as they appear next to a log (the pid is an example).
_SIDECARS: Final = (
    f".{EVENTS_FILENAME}.lock",
    f".{EVENTS_FILENAME}.index.json",
    CLOCK_FILENAME,
    f"{CLOCK_FILENAME}.12345.tmp",
    # What reports derive from the log (projections, rollups, its ids), named as written:
    f".{EVENTS_FILENAME}.projection-keep-00000000",
    f".{EVENTS_FILENAME}.rollup-00000000",
    f".{EVENTS_FILENAME}.ids",
)
_LISTED_LINES: Final = 20
_GIT_TIMEOUT: Final = 10.0


@dataclass
class LogHealth:
    """What ``doctor`` found in one feature's log."""

    path: Path
    events: int = 0
    duplicates: int = 0
    #: Reason (the field the line rule names first) -> number of lines.
    malformed: dict[str, int] = field(default_factory=dict)
    malformed_lines: list[int] = field(default_factory=list)
    max_lamport_clock: int | None = None
    clock_state: str = "missing"
    clock_value: int | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self, root: Path) -> dict[str, Any]:
        """Return the findings as JSON-ready data, paths relative to ``root``."""
        return {
            "path": _relative(self.path, root),
            "events": self.events,
            "duplicates": self.duplicates,
            "malformed": dict(sorted(self.malformed.items())),
            "malformed_lines": self.malformed_lines[:_LISTED_LINES],
            "max_lamport_clock": self.max_lamport_clock,
            "clock_file": {"state": self.clock_state, "value": self.clock_value},
            "problems": self.problems,
        }


@dataclass
class DoctorReport:
    """Every log's health and the repository-wide problems."""

    root: Path
    logs: list[LogHealth] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Checks that could not run (no git), said rather than passed silently.
    notes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Whether nothing needs fixing (duplicates and clock caches are not problems)."""
        return not self.problems and not any(log.problems for log in self.logs)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "root": str(self.root),
            "healthy": self.healthy,
            "logs": [log.to_dict(self.root) for log in self.logs],
            "problems": self.problems,
            "notes": self.notes,
        }


def diagnose(root: str | Path) -> DoctorReport:
    """Check every feature log of the project at ``root``, and the repository around them.

    Only reads. Raises nothing for what it finds: every finding is in the report.
    """
    root = Path(root).resolve()
    report = DoctorReport(root)
    logs = feature_logs(root)
    for log in logs:
        report.logs.append(_check_log(log))
    _check_git(root, logs, report)
    _check_config(root, report)
    _check_webhooks(root, report)
    return report


def _check_log(path: Path) -> LogHealth:
    health = LogHealth(path)
    store = feature_store(path.parent)
    highest = -1
    try:
        for record in store.iter_records():
            highest = max(highest, record["lamport_clock"])
    except StoreError as exc:
        health.problems.append(f"cannot read: {exc}")
        return health
    read = store.last_read
    if read is not None:
        health.events, health.duplicates = read.events, read.duplicates
        health.malformed_lines = list(read.malformed_lines)
        health.malformed = _reasons(path, read.malformed_lines)
    health.max_lamport_clock = highest if highest >= 0 else None
    if health.malformed_lines:
        count = len(health.malformed_lines)
        health.problems.append(f"{count} malformed line{'s' if count != 1 else ''}")
    clock = FileClockStorage(path.with_name(CLOCK_FILENAME))
    health.clock_state, health.clock_value = clock.describe()
    for target in (path, *(path.with_name(name) for name in _SIDECARS[:3])):
        problem = write_problem(target)
        if problem is not None:
            health.problems.append(f"unsafe to write: {problem}")
    return health


def _reasons(path: Path, numbers: list[int]) -> dict[str, int]:
    """Ask the line rule why each malformed line is not an event; count by reason."""
    wanted = set(numbers)
    reasons: Counter[str] = Counter()
    if not wanted:
        return {}
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if number in wanted:
                    reasons[_reason(line.rstrip(b"\n"))] += 1
    except OSError:
        return {"unreadable": len(numbers)}
    return dict(reasons)


def _reason(line: bytes) -> str:
    try:
        parse_line(line)
    except InvalidEventError as exc:
        message = str(exc)
    else:
        return "torn line"  # an event now: the line was unfinished when it was read
    head, _, rest = message.partition(": ")
    if rest == "missing":
        return f"missing {head}"
    if rest == "not a key of the line format":
        return "unknown key"
    return head if rest else message


def _check_git(root: Path, logs: list[Path], report: DoctorReport) -> None:
    """Check union merges for every log and ignore rules for every sidecar."""
    if not logs:
        return
    relative = [_relative(log, root) for log in logs]
    attributes = _git(root, ["check-attr", "merge", "--stdin"], relative)
    if attributes is None:
        report.notes.append("not a git repository (or git is missing): git checks skipped")
        return
    for line, log in zip(attributes.splitlines(), logs, strict=False):
        if not line.endswith(": merge: union"):
            for health in report.logs:
                if health.path == log:
                    health.problems.append(
                        "git merges it without merge=union: a merge can leave conflict markers"
                        " (run `spec-kitty agent telemetry init`)"
                    )
    folder = Path(relative[0]).parent
    sidecars = [str(folder / name) for name in _SIDECARS]
    ignored = set((_git(root, ["check-ignore", "--no-index", "--stdin"], sidecars) or "").split())
    exposed = [sidecar for sidecar in sidecars if sidecar not in ignored]
    if exposed:
        report.problems.append(
            f"git does not ignore {', '.join(exposed)}: machine-local files would be"
            " committed (run `spec-kitty agent telemetry init`)"
        )


def _git(root: Path, args: list[str], lines: list[str]) -> str | None:
    """Run a read-only git command fed ``lines``; None when git or the repository is missing."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # check-ignore exits 1 when nothing is ignored; 128 means no repository.
    return done.stdout if done.returncode in (0, 1) else None


def _check_config(root: Path, report: DoctorReport) -> None:
    """Warn about secret-looking values in the committed config (never printing them)."""
    path = root / CONFIG_PATH
    problem = write_problem(path) if path.is_symlink() else None
    if problem is not None:
        report.problems.append(f"unsafe config: {problem}")
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    for kind, (start, _end) in find_secrets(text):
        line = text.count("\n", 0, start) + 1
        report.problems.append(
            f"{CONFIG_PATH}:{line}: looks like a {kind}; name secrets by environment"
            " variable instead of committing them"
        )


def _check_webhooks(root: Path, report: DoctorReport) -> None:
    """Report webhook deliveries that failed every attempt (they wait in the spool)."""
    from .exports.spool import SPOOL_DIR, Spool

    for delivery in Spool(root).stuck():
        report.problems.append(
            f"{SPOOL_DIR}: webhook delivery {delivery.key} to {delivery.url} failed "
            f"{delivery.attempts} times (last: {delivery.last_error}); "
            "`export --flush` retries it"
        )


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
