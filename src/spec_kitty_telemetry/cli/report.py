"""``report list|show|summary``: the runs, one run, a feature's work, a window in numbers.

The figures are the library's (:mod:`spec_kitty_telemetry.reports`); this
module parses options and lays out text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import typer

from .._json_output import print_document
from ..usage import PRICED_TOKEN_FIELDS
from ._format import Column, Grid, choose, console, count, money
from ._project import report_root
from ._reports import (
    AgentOption,
    FeatureOption,
    JsonOption,
    ModelOption,
    RepoOption,
    RoleOption,
    SinceOption,
    SuccessOption,
    UntilOption,
    WpOption,
    event_filter,
    hint_unmatched_features,
)

if TYPE_CHECKING:
    from ..reports import RunRow, WorkReport

__all__ = ["register"]

report_app = typer.Typer(
    help="Run reports: recent runs, one run in full, a summary for a pull request.",
    no_args_is_help=True,
    add_completion=False,
)


def _duration(ms: object) -> str:
    from ..reports.summary import duration_text

    if isinstance(ms, bool) or not isinstance(ms, int | float):
        return "-"
    return duration_text(ms)


def _run_cost(row: RunRow) -> str:
    if row.cost_usd is None:
        return money(None)
    return money(row.cost_usd, exact=row.cost_usd, estimated=row.estimated)


def _status(success: object) -> str:
    return "ok" if success is True else "failed" if success is False else "-"


#: The runs table's layouts, widest first: the columns kept (merged ones joined by a space).
_RUN_LAYOUTS: Final = (
    ("time", "feature", "wp", "agent", "model", "role"),
    ("time", "feature", "wp", "agent", "model"),
    ("time", "feature wp", "agent model"),
    ("time", "run"),
)


def _runs_grid(rows: list[RunRow], level: int = 0) -> Grid:
    """Build the runs table at one of :data:`_RUN_LAYOUTS` (status, duration, cost always)."""
    kept = _RUN_LAYOUTS[level]
    headers = {
        "time": Column("time (UTC)", "fixed"),
        "feature": Column("feature", "name"),
        "wp": Column("wp", "fixed"),
        "agent": Column("agent", "name"),
        "model": Column("model", "name"),
        "role": Column("role", "name"),
        "feature wp": Column("feature wp", "name"),
        "agent model": Column("agent model", "name"),
        "run": Column("feature wp agent model", "name"),
    }
    columns = [
        *(headers[name] for name in kept),
        Column("status", "fixed"),
        Column("duration"),
        Column("cost"),
    ]
    cells = []
    for row in rows:
        data = row.to_dict()
        fields = {
            "time": row.event.timestamp.strftime("%Y-%m-%d %H:%M"),
            "feature": data["feature"],
            "wp": data["wp_id"] or "",
            "agent": data["agent"] or "",
            "model": data["model"] or "",
            "role": data["role"] or "",
        }
        fields["feature wp"] = _joined(fields["feature"], fields["wp"])
        fields["agent model"] = _joined(fields["agent"], fields["model"])
        fields["run"] = _joined(fields["feature wp"], fields["agent model"])
        cells.append(
            [
                *(fields[name] for name in kept),
                _status(data["success"]),
                _duration(data["duration_ms"]),
                _run_cost(row),
            ]
        )
    grid = Grid(columns, cells)
    if level:
        grid.note = "Columns merged or left out to fit (--json has every field)."
    return grid


def _joined(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _print_runs(rows: list[RunRow], title: str | None = None) -> None:
    """Print the widest runs table that fits the console."""
    out = console()
    grid = choose([_runs_grid(rows, level) for level in range(len(_RUN_LAYOUTS))], out.width)
    out.print(grid.table(title=title))
    if grid.note:
        out.print(grid.note, soft_wrap=True, markup=False)


def _print_estimate_note(rows: list[RunRow]) -> None:
    if any(row.estimated for row in rows):
        typer.echo("~ estimated from token counts at list prices, as the cost report estimates it.")


def list_command(
    feature: FeatureOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    wp: WpOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    role: RoleOption = None,
    success: SuccessOption = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="Show at most N runs.")] = 20,
    as_json: JsonOption = False,
    repo: RepoOption = None,
) -> None:
    """List recent runs, newest first: time, work, agent, model, role, status, duration, cost.

    Examples:
      spec-kitty agent telemetry report list --limit 5

      spec-kitty agent telemetry report list --agent claude --failure --since 2025-11-01

    """
    from ..reports import list_runs

    root, is_project = report_root(repo)
    filters = event_filter(
        root,
        feature=feature,
        since=since,
        until=until,
        wp_id=wp,
        agent=agent,
        model=model,
        role=role,
        success=success,
    )
    rows = list_runs(root, filters, limit=limit)
    if is_project:
        hint_unmatched_features(root, feature)
    if as_json:
        print_document({"runs": [row.to_dict() for row in rows]})
        return
    if not rows:
        typer.echo("No runs found.")
        return
    _print_runs(rows)
    _print_estimate_note(rows)


def show_command(
    run: Annotated[
        str,
        typer.Argument(
            metavar="ID|FEATURE[/WP]",
            help="An event id (or a unique start of one), or a feature folder name, "
            "optionally with /WP.",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
    repo: RepoOption = None,
) -> None:
    """Show one run in full, or the runs and phases of a feature or work package.

    Examples:
      spec-kitty agent telemetry report show 01K9R5GC

      spec-kitty agent telemetry report show 002-cost-report/WP01

    """
    from ..reports import run_detail, work_report
    from ..reports.runs import looks_like_run_id

    root, _ = report_root(repo)
    if looks_like_run_id(run):
        detail = run_detail(root, run)
        if as_json:
            print_document(detail)
        else:
            _print_run(detail)
        return
    work = work_report(root, run)
    if as_json:
        print_document(work.to_dict())
    else:
        _print_work(work)


def _print_run(detail: dict[str, Any]) -> None:
    run, event = detail["run"], detail["event"]
    payload = event["payload"]
    lines = [
        f"Run {run['event_id']}",
        f"  when       {run['timestamp']}",
        f"  work       {run['feature']}" + (f" / {run['wp_id']}" if run["wp_id"] else ""),
        f"  agent      {run['agent'] or '-'}   model {run['model'] or '-'}   "
        f"role {run['role'] or '-'}",
        f"  status     {_status(run['success'])}   exit code {payload.get('exit_code')}   "
        f"duration {_duration(run['duration_ms'])}",
    ]
    if isinstance(payload.get("error"), str) and payload["error"]:
        lines.append(f"  error      {payload['error']}")
    lines.append(
        f"  lifecycle  feature phase {detail['lifecycle_phase'] or '-'}"
        + (f", {run['wp_id']} phase {detail['wp_phase'] or '-'}" if run["wp_id"] else "")
    )
    environment = detail["environment"] or {}
    where = [f"{key} {value}" for key, value in environment.items() if value is not None]
    lines.append(f"  where      {', '.join(where) if where else '-'}")
    typer.echo("\n".join(lines))
    typer.echo("")
    grid = Grid(
        [
            Column("model", "name"),
            Column("input"),
            Column("output"),
            Column("cache read"),
            Column("cache write"),
            Column("cost"),
        ],
    )
    for row in detail["by_model"]:
        cost = row["total_cost_usd"]
        grid.rows.append(
            [
                row["group_key"],
                *(_count(row[name]) for name in PRICED_TOKEN_FIELDS),
                money(None)
                if cost is None
                else money(_decimal(cost), estimated=bool(row["estimated_event_count"])),
            ]
        )
    console().print(grid.table(title="Tokens and cost by model"))
    _print_phases(detail["phases"])
    typer.echo("")
    typer.echo("Every recorded field: report show ID --json")


def _decimal(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(value))


def _count(value: object) -> str:
    return count(value) if type(value) is int else "-"


def _bar(part: float, whole: float, width: int = 24) -> str:
    """Return a bar of ``width`` cells at most, as long as ``part``'s share of ``whole``."""
    if whole <= 0 or part <= 0:
        return ""
    cells = max(1, round(width * part / whole))
    return "█" * cells


def _print_phases(phases: dict[str, float]) -> None:
    typer.echo("")
    if not phases:
        typer.echo("Phases: none recorded.")
        return
    whole = sum(phases.values())
    typer.echo("Phases:")
    widest = max(len(name) for name in phases)
    for name, ms in phases.items():
        share = 100 * ms / whole if whole else 0.0
        typer.echo(f"  {name:<{widest}}  {_duration(ms):>9}  {share:5.1f}%  {_bar(ms, whole)}")


def _print_work(work: WorkReport) -> None:
    title = work.feature + (f" / {work.wp_id}" if work.wp_id else "")
    if work.runs:
        _print_runs(work.runs, f"Runs of {title}")
        _print_estimate_note(work.runs)
    else:
        typer.echo(f"No runs of {title}.")
    typer.echo("")
    if not work.spans:
        typer.echo("Timeline: no phase transitions recorded.")
        return
    known = [s.cost_usd for s in work.spans if s.cost_usd is not None]
    top_cost = max(known, default=0)
    top_time = max((s.duration_seconds or 0.0 for s in work.spans), default=0.0)
    grid = Grid(
        [
            Column("phase", "name"),
            Column("wp", "fixed"),
            Column("started (UTC)", "fixed"),
            Column("time"),
            Column("", "fixed"),
            Column("runs"),
            Column("cost"),
            Column("", "fixed"),
        ],
    )
    for span in work.spans:
        seconds = span.duration_seconds
        grid.rows.append(
            [
                span.phase or "(before first phase)",
                span.wp_id or "",
                span.started_at.strftime("%Y-%m-%d %H:%M"),
                "open"
                if span.ended_at is None
                else _duration(None if seconds is None else int(seconds * 1000)),
                _bar(seconds or 0.0, top_time, 12),
                f"{span.invocations:,}",
                money(
                    span.cost_usd,
                    estimated=bool(span.estimated_invocations),
                    unpriced=bool(span.unpriced_invocations),
                ),
                _bar(float(span.cost_usd or 0), float(top_cost), 12),
            ]
        )
    console().print(grid.table(title=f"Timeline of {title}"))


SummaryFormat = Literal["text", "markdown", "github"]


def summary_command(
    feature: FeatureOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    wp: WpOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    role: RoleOption = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="text, markdown (for a pull request) or github (appended to "
            "$GITHUB_STEP_SUMMARY when it is set, else printed).",
        ),
    ] = "text",
    profile: Annotated[
        bool, typer.Option("--profile", help="Add the time spent in each recorded phase.")
    ] = False,
    as_json: JsonOption = False,
    repo: RepoOption = None,
) -> None:
    """Summarize runs: total cost, success rate, mean and p95 duration, by agent and model.

    Examples:
      spec-kitty agent telemetry report summary --since 2025-11-01

      spec-kitty agent telemetry report summary --format github --profile

    """
    from ..errors import InvalidOptionError
    from ..reports import run_summary
    from ._summary_markdown import summary_markdown

    if output_format not in ("text", "markdown", "github"):
        raise InvalidOptionError(f"--format {output_format!r}: choose text, markdown or github")
    root, is_project = report_root(repo)
    filters = event_filter(
        root,
        feature=feature,
        since=since,
        until=until,
        wp_id=wp,
        agent=agent,
        model=model,
        role=role,
        success=None,
    )
    summary = run_summary(root, filters)
    if is_project:
        hint_unmatched_features(root, feature)
    if as_json:
        print_document(summary.to_dict())
        return
    window = (
        f"{since} to {until}"
        if since and until
        else f"since {since}"
        if since
        else f"until {until}"
        if until
        else "all recorded runs"
    )
    text = summary_markdown(summary, title=f"Agent runs: {window}", profile=profile)
    if output_format == "text":
        _print_summary_text(summary, profile)
        return
    target = os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    if output_format == "github" and target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(text)
        typer.echo(f"Summary appended to {target}", err=True)
        return
    typer.echo(text, nl=False)


def _print_summary_text(summary: Any, profile: bool) -> None:
    from ..reports.summary import duration_text

    rate = "-" if summary.success_rate is None else f"{100 * summary.success_rate:.1f}%"
    typer.echo(
        f"Runs {summary.runs:,}, succeeded {summary.succeeded:,} ({rate}); total cost "
        f"{money(summary.cost_usd, estimated=summary.cost_estimated)}; duration mean "
        f"{duration_text(summary.mean_duration_ms)}, p95 {duration_text(summary.p95_duration_ms)}"
    )
    out = console()
    for title, lines in (("agent", summary.by_agent), ("model", summary.by_model)):
        grid = Grid([Column(title, "name"), Column("runs"), Column("succeeded"), Column("cost")])
        for line in lines:
            grid.rows.append(
                [
                    line.key,
                    f"{line.runs:,}",
                    "-" if line.succeeded is None else f"{line.succeeded:,}",
                    money(line.cost_usd, estimated=line.estimated),
                ]
            )
        out.print(grid.table())
    if profile:
        _print_phases(summary.profile)
    if summary.cost_estimated:
        typer.echo("~ estimated from token counts at list prices.")
    if summary.unpriced_runs:
        typer.echo(f"{summary.unpriced_runs:,} runs could not be priced and add nothing.")


def html_command(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Where to write the page.", show_default=False
        ),
    ],
    feature: FeatureOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    role: RoleOption = None,
    repo: RepoOption = None,
) -> None:
    """Write one self-contained HTML page of the spend: charts drawn inline, no network needed.

    Cost per day stacked by model, cost by feature and by agent, success rate
    and p95 duration per day, and each feature's timeline of phases and work
    packages.

    Examples:
      spec-kitty agent telemetry report html -o report.html

      spec-kitty agent telemetry report html -o november.html --since 2025-11-01

    """
    from ..reports.html import write_html_report

    root, is_project = report_root(repo)
    filters = event_filter(
        root, feature=feature, since=since, until=until, agent=agent, model=model, role=role
    )
    path = write_html_report(root, output, filters)
    if is_project:
        hint_unmatched_features(root, feature)
    typer.echo(f"Wrote {path}")


def register(group: typer.Typer) -> None:
    """Add the ``report`` command group to the ``telemetry`` command group."""
    from ._command import Command, CommandLine

    report_app.info.cls = CommandLine
    report_app.command("list", cls=Command)(list_command)
    report_app.command("show", cls=Command)(show_command)
    report_app.command("summary", cls=Command)(summary_command)
    report_app.command("html", cls=Command)(html_command)
    group.add_typer(report_app, name="report")
