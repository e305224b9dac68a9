"""``lanes``: how work packages moved through spec-kitty's lanes, from its status log.

The figures are the library's (:func:`spec_kitty_telemetry.sources.status_log.lane_report`);
this module picks the feature, prints a table and the summary, or ``--json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from .._json_output import print_document
from ._format import Column, Grid, choose, console
from ._reports import RepoOption

if TYPE_CHECKING:
    from ..sources.status_log import FlowStats, LaneReport

__all__ = ["register"]


def lanes(
    feature: Annotated[
        str | None,
        typer.Option(
            "--feature",
            metavar="NAME",
            help="One feature (a folder under kitty-specs/); default: the whole project.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    repo: RepoOption = None,
) -> None:
    """Show each work package's lanes, review rounds, rejections, cycle and blocked time.

    Read from spec-kitty's kitty-specs/<feature>/status.events.jsonl, never written.
    Records that are not lane transitions are counted and skipped.

    Examples:
      spec-kitty agent telemetry lanes --feature 001-login

      spec-kitty agent telemetry lanes --json

    """
    from ..errors import InvalidOptionError
    from ..project import SPECS_DIRNAME
    from ..sources.status_log import STATUS_FILENAME, lane_report, project_lane_report
    from ._project import report_root

    root, _is_project = report_root(repo)
    if feature is not None:
        folder = root / SPECS_DIRNAME / feature
        if not (folder / STATUS_FILENAME).is_file():
            raise InvalidOptionError(
                f"no {STATUS_FILENAME} in {SPECS_DIRNAME}/{feature}", parameter="feature"
            )
        report = lane_report(folder)
    else:
        report = project_lane_report(root)
    for log in report.logs:
        for problem in log.malformed:
            typer.echo(f"Warning: {problem.describe()}", err=True)
    if as_json:
        print_document(report.to_dict())
        return
    _print(report)


def duration(seconds: float | None) -> str:
    """Show a duration as ``2d 3h``, ``5h 30m`` or ``12m``; ``-`` when there is none."""
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"


def _summary(stats: FlowStats) -> str:
    rate = stats.first_pass_rate
    shown = "-" if rate is None else f"{rate:.0%}"
    return (
        f"First-pass rate {shown} ({stats.first_pass} of {stats.done} done); "
        f"rework cycles {stats.rework_cycles}; cycle time p50 {duration(stats.cycle_p50_seconds)}, "
        f"p95 {duration(stats.cycle_p95_seconds)}"
    )


def _print(report: LaneReport) -> None:
    out = console()
    grid = Grid(
        [
            Column("Work package", "name"),
            Column("Lane", "fixed"),
            Column("Reviews"),
            Column("Rejections"),
            Column("Cycle"),
            Column("Blocked"),
            Column("Started by", "name"),
        ]
    )
    for key, flow in report.work_packages.items():
        grid.rows.append(
            [
                key,
                flow.lane,
                str(flow.review_rounds),
                str(flow.rejections),
                duration(flow.cycle_seconds),
                duration(flow.blocked_seconds) if flow.blocked_seconds else "-",
                flow.started_by.display,
            ]
        )
    title = f"Lanes: {report.feature}" if report.feature else "Lanes: all features"
    out.print(choose([grid], out.width).table(title=title))
    out.print(_summary(report.stats))
    for what in ("agent", "model", "role"):
        groups = report.by(what)
        if len(groups) > 1:
            for name, stats in groups.items():
                out.print(f"  {what} {name}: {_summary(stats)}")


def register(app: typer.Typer) -> None:
    """Add the ``lanes`` command to ``app``."""
    from ._command import Command

    app.command("lanes", cls=Command)(lanes)
