"""``init`` and ``doctor``: set a repository up, and check the health of its logs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._json_output import print_document

if TYPE_CHECKING:
    from ..doctor import DoctorReport

__all__ = ["register"]

RepoOption = Annotated[
    Path | None,
    typer.Option(
        metavar="PATH",
        help="Project root (default: the nearest folder above the current one holding "
        "kitty-specs/ or .kittify/, else the current folder).",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of text.")
]


def init(repo: RepoOption = None, as_json: JsonOption = False) -> None:
    """Set this repository up: union merges for event logs, ignore rules, a commented config.

    Appends to .gitattributes and .gitignore only the lines they lack, and
    creates .kittify/telemetry.yaml when there is none; existing content is
    never changed, so running it again changes nothing.

    Examples:
      spec-kitty agent telemetry init

      spec-kitty agent telemetry init --repo ../other-project --json

    """
    from ..query import resolve_repo_root
    from ..repo_setup import init_repository

    report = init_repository(resolve_repo_root(repo))
    if as_json:
        print_document(report.to_dict())
        return
    if not report.changes:
        typer.echo(f"{report.root}: already set up, nothing changed.")
        return
    typer.echo(f"{report.root}:")
    for change in report.changes:
        typer.echo(f"  {change.path}: {change.action}")
        for line in change.lines:
            typer.echo(f"    + {line}")


def doctor(repo: RepoOption = None, as_json: JsonOption = False) -> None:
    """Check the event logs and the repository around them; change nothing.

    Per log: events, malformed lines by reason, duplicate lines, the clock
    file against the log, links where the package writes. Per repository:
    union merges and ignore rules in git, secret-looking config values.
    Exit 0 when healthy, 1 when it found problems.

    Examples:
      spec-kitty agent telemetry doctor

      spec-kitty agent telemetry doctor --json

    """
    from .._emit_result import collecting
    from ..doctor import DoctorReport, diagnose
    from ._project import report_root

    root, is_project = report_root(repo)
    with collecting():  # the readers' "skipped N lines" warnings: the report says more
        report = diagnose(root) if is_project else DoctorReport(root)
    if as_json:
        print_document(report.to_dict())
    else:
        _print_doctor(report)
    if not report.healthy:
        raise typer.Exit(1)


def _print_doctor(report: DoctorReport) -> None:
    problems = len(report.problems) + sum(len(log.problems) for log in report.logs)
    verdict = "healthy" if report.healthy else f"{problems} problem{'s' * (problems != 1)}"
    plural = "s" * (len(report.logs) != 1)
    typer.echo(f"{report.root}: {len(report.logs)} log{plural}, {verdict}")
    for log in report.logs:
        facts = log.to_dict(report.root)
        line = (
            f"  {facts['path']}: {_count(log.events, 'event')}, "
            f"{_count(log.duplicates, 'duplicate line')}"
        )
        if log.malformed:
            reasons = ", ".join(f"{why} {n}" for why, n in sorted(log.malformed.items()))
            shown = ", ".join(str(n) for n in facts["malformed_lines"])
            more = len(log.malformed_lines) - len(facts["malformed_lines"])
            where = f"line{'s' * (len(log.malformed_lines) != 1)} {shown}"
            where += f" and {more:,} more" if more > 0 else ""
            line += f", {len(log.malformed_lines):,} malformed ({reasons}; {where})"
        typer.echo(line)
        clock = log.clock_state if log.clock_value is None else f"{log.clock_value:,}"
        highest = "none" if log.max_lamport_clock is None else f"{log.max_lamport_clock:,}"
        typer.echo(f"    clock file: {clock}; largest clock in the log: {highest}")
        for problem in log.problems:
            typer.echo(f"    problem: {problem}")
    for problem in report.problems:
        typer.echo(f"  problem: {problem}")
    for note in report.notes:
        typer.echo(f"  note: {note}")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def register(app: typer.Typer) -> None:
    """Add ``init`` and ``doctor`` to the ``telemetry`` command group."""
    from ._command import Command

    app.command("init", cls=Command)(init)
    app.command("doctor", cls=Command)(doctor)
