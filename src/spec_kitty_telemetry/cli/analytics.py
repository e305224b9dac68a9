"""The monitoring commands: ``baseline``, ``anomalies``, ``budget``, ``scoreboard``, ``review``.

Each parses its options, calls one function of :mod:`spec_kitty_telemetry.analytics`
and formats the result: a table, ``--json`` (the one document convention) or
``--csv`` (the analytics CSV writer). Settings come from the ``alerts:`` and
``budgets:`` sections of ``.kittify/telemetry.yaml``, validated by
``analytics.settings``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._json_output import print_document
from ._format import Column, Grid, console
from ._project import report_root
from ._reports import JsonOption, RepoOption, SinceOption, UntilOption

if TYPE_CHECKING:
    from ..analytics.baseline import Baseline
    from ..analytics.settings import AlertSettings

__all__ = ["register"]

CsvOption = Annotated[
    bool, typer.Option("--csv", help="Print CSV (one row per group) instead of a table.")
]
AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        metavar="DATETIME",
        help="Report as of this ISO 8601 instant instead of now (UTC if naive).",
        show_default=False,
    ),
]


def _now(at: str | None) -> datetime:
    """Return ``--at`` as an aware instant (a date means its midnight, UTC), else now."""
    if at is None:
        return datetime.now(UTC)
    from ..query import parse_time_bound

    moment = parse_time_bound(at, "at")
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _alert_settings(root: Path) -> AlertSettings:
    from ..analytics.settings import alert_settings
    from ..config import load_config

    config = load_config(root)
    return alert_settings(config.section("alerts"), config.path)


def _bound(text: str | None, name: str, *, upper: bool) -> datetime | None:
    """Parse --since/--until into an instant (a date: its first or last moment, UTC)."""
    if text is None:
        return None
    from ..query import parse_time_bound

    value = parse_time_bound(text, name)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    start = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return start + timedelta(days=1, microseconds=-1) if upper else start


def _csv(rows: list[dict[str, Any]]) -> None:
    from ..analytics._csv import write_csv

    write_csv(rows, sys.stdout)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    from ..analytics.anomalies import format_duration

    return format_duration(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _usd(value: float | None) -> str:
    """Show USD through the one money formatter (cents, half up); ``-`` when there is none."""
    if value is None:
        return "-"
    from ._format import money

    return money(Decimal(str(value)))


def _tokens(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _print_grid(grid: Grid, *narrower: Grid) -> None:
    """Print the widest layout that fits the console (the shared rule: numbers are never cut)."""
    from ._format import choose

    out = console()
    chosen = choose([grid, *narrower], out.width)
    out.print(chosen.table())
    if chosen.note:
        out.print(chosen.note, soft_wrap=True, markup=False)


def _narrow(grid: Grid, keep: tuple[str, ...], note: str) -> Grid:
    """Return the table with only the ``keep`` columns, and a note saying what was left out."""
    index = [i for i, column in enumerate(grid.columns) if column.header in keep]
    return Grid(
        [grid.columns[i] for i in index],
        [[row[i] for i in index] for row in grid.rows],
        note=note,
    )


def _baseline_rows(baseline: Baseline) -> Grid:
    grid = Grid(
        [
            Column("group", "name"),
            Column("runs"),
            Column("success"),
            Column("95% interval"),
            Column("p50"),
            Column("p95"),
            Column("p99"),
            Column("mean cost"),
            Column("input"),
            Column("output"),
            Column("", "fixed"),
        ]
    )
    for group in baseline.groups:
        unpriced = group.figure("cost_usd.unpriced") or 0
        grid.rows.append(
            [
                group.key,
                f"{group.sample_size:,}",
                _pct(group.figure("success_rate")),
                f"{_pct(group.figure('success_interval.low'))}-"
                f"{_pct(group.figure('success_interval.high'))}",
                _ms(group.figure("duration_ms.p50")),
                _ms(group.figure("duration_ms.p95")),
                _ms(group.figure("duration_ms.p99")),
                _usd(group.figure("cost_usd.mean")) + ("*" if unpriced else ""),
                _tokens(group.figure("tokens.input_mean")),
                _tokens(group.figure("tokens.output_mean")),
                "too small" if group.too_small else "",
            ]
        )
    return grid


def baseline(
    group_by: Annotated[
        str,
        typer.Option(
            "--group-by",
            "-g",
            metavar="FIELDS",
            help="Group by agent, model, role, feature, wp, or several: agent,role.",
        ),
    ] = "agent,role",
    week: Annotated[
        str | None,
        typer.Option(metavar="WEEK", help="The ISO week (2026-W48); default: the last full week."),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    min_sample: Annotated[
        int | None,
        typer.Option(
            "--min-sample",
            metavar="N",
            help="Groups with fewer runs are too small to alert on (default: alerts.min_sample, "
            "else 20).",
            show_default=False,
        ),
    ] = None,
    freeze: Annotated[
        bool, typer.Option("--freeze", help="Write .kittify/baselines/<WEEK>.json.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --freeze: replace a file with other figures.")
    ] = False,
    compare: Annotated[
        str | None,
        typer.Option(
            "--compare",
            metavar="WEEK",
            help="Report what moved by more than 5% since the baseline frozen for WEEK.",
            show_default=False,
        ),
    ] = None,
    at: AtOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    repo: RepoOption = None,
) -> None:
    """Report what normal looks like per group: success rate, durations, cost, tokens.

    Durations are exact percentiles; the success rate has a 95% Wilson
    interval; costs are priced as `cost` prices them (* marks groups with
    unpriced runs, which are left out of the mean). --freeze writes the week's
    baseline for `anomalies` to score against; it never replaces a file with
    other figures unless --force.

    Examples:
      spec-kitty agent telemetry baseline --week 2026-W47

      spec-kitty agent telemetry baseline --week 2026-W47 --freeze

      spec-kitty agent telemetry baseline --week 2026-W48 --compare 2026-W47 --json

    """
    from ..analytics._weeks import last_full_week
    from ..analytics.baseline import (
        compare_baselines,
        freeze_baseline,
        load_baseline,
        project_baseline,
    )
    from ..analytics.runs import parse_group_by
    from ..errors import InvalidOptionError

    root, _is_project = report_root(repo)
    fields = parse_group_by(group_by)
    lower, upper = _bound(since, "since", upper=False), _bound(until, "until", upper=True)
    if lower is None and upper is None and week is None:
        week = last_full_week(_now(at))
    if freeze and week is None:
        raise InvalidOptionError("--freeze needs a --week, not --since/--until", parameter="freeze")
    minimum = min_sample if min_sample is not None else _alert_settings(root).min_sample
    if minimum < 1:
        raise InvalidOptionError(f"must be at least 1, got {minimum}", parameter="min_sample")
    current = project_baseline(
        root, fields, week=week, since=lower, until=upper, min_sample=minimum
    )
    drifts = None
    if compare is not None:
        drifts = compare_baselines(load_baseline(root, compare), current)
    frozen: tuple[Path, bool] | None = None
    if freeze:
        frozen = freeze_baseline(root, current, force=force)
    if as_json:
        document: dict[str, Any] = {"baseline": current.to_dict()}
        if drifts is not None:
            document["compare"] = {"week": compare, "drifts": [d.to_dict() for d in drifts]}
        if frozen is not None:
            document["frozen"] = {"path": str(frozen[0]), "changed": frozen[1]}
        print_document(document)
        return
    if as_csv:
        _csv([g.to_dict() for g in current.groups])
        return
    period = f"{week}" if week else f"{since or '...'} to {until or '...'}"
    typer.echo(
        f"Baseline {period} by {','.join(fields)}: {len(current.groups)} groups, "
        f"{sum(g.sample_size for g in current.groups):,} runs; groups under {minimum} runs "
        "are too small to alert on."
    )
    if current.groups:
        full = _baseline_rows(current)
        _print_grid(
            full,
            _narrow(
                full,
                ("group", "runs", "success", "p50", "p95", "mean cost", ""),
                "95% interval, p99 and token columns left out to fit (--json has them).",
            ),
        )
        if any(g.figure("cost_usd.unpriced") for g in current.groups):
            typer.echo("* some runs could not be priced and are left out of the mean cost.")
    if drifts is not None:
        if not drifts:
            typer.echo(f"Nothing moved more than 5% since {compare}.")
        for drift in drifts:
            change = "" if drift.change is None else f" ({drift.change:+.1%})"
            typer.echo(
                f"moved since {compare}: {drift.group} {drift.figure}: "
                f"{_fig(drift.before)} -> {_fig(drift.after)}{change}"
            )
    if frozen is not None:
        typer.echo(f"{'Frozen' if frozen[1] else 'Unchanged'}: {frozen[0]}")


def _fig(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:,.6g}"


def anomalies(
    since: SinceOption = None,
    until: UntilOption = None,
    baseline_week: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            metavar="WEEK",
            help="Score against this frozen week (default: the latest frozen before the window).",
            show_default=False,
        ),
    ] = None,
    alert: Annotated[
        bool, typer.Option("--alert", help="Also raise each anomaly as an alert (deduplicated).")
    ] = False,
    at: AtOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    repo: RepoOption = None,
) -> None:
    """List runs the frozen baseline of their group says are unusual, and why.

    Durations, costs and token counts are scored by a robust z-score of their
    logarithm (3.5 or more: warning, 7: critical); failures by how improbable a
    streak or a count is at the baseline's failure rate; unpriced runs and
    unknown models where the baseline had none. The window defaults to the
    7 days before now.

    Examples:
      spec-kitty agent telemetry anomalies

      spec-kitty agent telemetry anomalies --since 2026-11-23 --baseline 2026-W47 --json

    """
    from ..analytics.anomalies import detect_anomalies, runs_to_score
    from ..analytics.baseline import choose_frozen, load_baseline
    from ..pricing import load_pricing
    from ..query import EventFilter, iter_project_records

    root, _is_project = report_root(repo)
    settings = _alert_settings(root)
    end = _bound(until, "until", upper=True) or _now(at)
    start = _bound(since, "since", upper=False) or end - timedelta(days=7)
    week = baseline_week or choose_frozen(root, start)
    frozen = load_baseline(root, week)
    filters = EventFilter(event_type="ExecutionEvent", since=start, until=end)
    runs = runs_to_score(iter_project_records(root, filters), frozen, load_pricing(root))
    report = detect_anomalies(runs, frozen, z_threshold=settings.z_threshold, alpha=settings.alpha)
    if alert:
        from ..analytics.alerts import anomaly_alert, raise_alerts, wait_for_sinks

        raise_alerts(root, [anomaly_alert(a) for a in report.anomalies], settings, now=_now(at))
        wait_for_sinks()
    if as_json:
        print_document(report.to_dict())
        return
    if as_csv:
        _csv([a.to_dict() for a in report.anomalies])
        return
    for anomaly in report.anomalies:
        typer.echo(f"{anomaly.severity:<8} {anomaly.kind:<14} {anomaly.message}")
    typer.echo(
        f"{len(report.anomalies)} anomal{'y' if len(report.anomalies) == 1 else 'ies'} in "
        f"{report.checked:,} runs from {start.isoformat()} to {end.isoformat()}, "
        f"against baseline {week}."
    )
    if report.too_small_groups:
        typer.echo(f"Not scored, too small to alert on: {', '.join(report.too_small_groups)}.")
    if report.unbaselined_groups:
        typer.echo(f"Not scored, not in the baseline: {', '.join(report.unbaselined_groups)}.")


def budget(
    at: AtOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
) -> None:
    """Show each budget of .kittify/telemetry.yaml: used, left, level, reset and outlook.

    Levels: GREEN below 50% of the limit, YELLOW from 50%, RED above 80% (set
    per budget with levels:). "runs out" is when the limit is reached at the
    period's burn rate so far, if before the reset. ~ marks spend estimated
    from token counts; runs that cannot be priced are counted and named, never
    taken as $0. Crossing red, or the limit, raises an alert once per period.

    Examples:
      spec-kitty agent telemetry budget

      spec-kitty agent telemetry budget --at 2026-11-30T12:00 --json

    """
    from ..analytics.alerts import budget_alerts, raise_alerts, wait_for_sinks
    from ..analytics.budget import project_budgets
    from ..analytics.settings import budget_settings
    from ..config import load_config

    root, _is_project = report_root(repo)
    config = load_config(root)
    budgets = budget_settings(config.section("budgets"), config.path)
    moment = _now(at)
    statuses = project_budgets(root, budgets, moment)
    settings = _alert_settings(root)
    raise_alerts(root, [a for s in statuses for a in budget_alerts(s)], settings, now=moment)
    wait_for_sinks()
    if as_json:
        print_document({"at": moment.isoformat(), "budgets": [s.to_dict() for s in statuses]})
        return
    if not statuses:
        typer.echo("No budgets configured (add a budgets: list to .kittify/telemetry.yaml).")
        return
    grid = Grid(
        [
            Column("budget", "name"),
            Column("scope", "name"),
            Column("used"),
            Column("limit"),
            Column("used %"),
            Column("level", "fixed"),
            Column("resets in"),
            Column("runs out", "fixed"),
        ]
    )
    notes = []
    for status in statuses:
        doc = status.to_dict()
        usd = status.unit == "usd"
        used = _usd(doc["consumed"]) if usd else f"{doc['consumed']:,} tok"
        if usd and status.estimated_runs:
            used = "~" + used
        if usd and status.unpriced_runs:
            used += "*"
            models = ", ".join(f"{m}: {n}" for m, n in doc["unpriced_models"].items())
            notes.append(
                f"* {status.budget.name}: {status.unpriced_runs} run(s) could not be priced "
                f"and are not in the spend ({models})."
            )
        out = status.projected_exhaustion
        grid.rows.append(
            [
                status.budget.name,
                status.budget.scope
                + ("" if status.budget.scope_value is None else f" {status.budget.scope_value}"),
                used,
                _usd(doc["limit"]) if usd else f"{doc['limit']:,} tok",
                f"{doc['percent_used']:.1f}%",
                "EXHAUSTED" if status.exhausted else status.level,
                _span(doc["seconds_until_reset"]),
                "-"
                if out is None
                else out.astimezone(status.budget.zone).strftime("%Y-%m-%d %H:%M %Z"),
            ]
        )
    _print_grid(grid)
    if any(s.estimated_runs for s in statuses if s.unit == "usd"):
        typer.echo("~ includes spend estimated from token counts at list prices.")
    for note in notes:
        typer.echo(note)


def _row_cost(row: dict[str, Any], cents: Decimal) -> str:
    """Show a row's cost in ``cents`` (rounded with the other rows); ``unknown*`` if none priced."""
    from ._format import money

    if row["runs"] and row["unpriced_runs"] == row["runs"]:
        return "unknown*"
    return money(cents, estimated=row["estimated_runs"] > 0, unpriced=row["unpriced_runs"] > 0)


def _cycles(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _span(seconds: int) -> str:
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"


def scoreboard(
    window: Annotated[str, typer.Option(metavar="WINDOW", help="24h, 7d, 30d, 90d or all.")] = "7d",
    by: Annotated[
        str | None,
        typer.Option(
            metavar="FIELD", help="Add a row per agent, model or role.", show_default=False
        ),
    ] = None,
    at: AtOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    repo: RepoOption = None,
) -> None:
    """One screen of how the agents did: runs, success, duration, cost, first-pass rate.

    The first-pass rate is the share of work packages completed in the window
    (moved to done or approved) that never went back from review to
    implementation; rework cycles count those returns. Costs are priced as
    `cost` prices them; runs that cannot be priced are counted apart.

    Examples:
      spec-kitty agent telemetry scoreboard

      spec-kitty agent telemetry scoreboard --window 30d --by agent --json

    """
    from ..analytics.runs import parse_group_by
    from ..analytics.scoreboard import project_scoreboard
    from ..errors import InvalidOptionError

    root, _is_project = report_root(repo)
    fields: tuple[str, ...] = ()
    if by is not None:
        if by not in ("agent", "model", "role"):
            raise InvalidOptionError(f"expected agent, model or role, got {by!r}", parameter="by")
        fields = parse_group_by(by)
    board = project_scoreboard(root, window, _now(at), fields)
    document = board.to_dict()
    if as_json:
        print_document(document)
        return
    if as_csv:
        _csv([document["total"], *document["rows"]])
        return
    total = document["total"]
    row_cents, total_cents = board.shown_costs()
    since = "all time" if board.start is None else f"since {board.start.isoformat()}"
    typer.echo(f"Scoreboard, {window} ({since} to {board.end.isoformat()})")
    lines = [
        ("runs", f"{total['runs']:,}"),
        ("success rate", _pct(total["success_rate"])),
        ("duration", f"mean {_ms(total['mean_duration_ms'])}, p95 {_ms(total['p95_duration_ms'])}"),
        (
            "work packages",
            f"{total['completed_work_packages']} completed, first pass "
            f"{_pct(total['first_pass_rate'])}, rework cycles "
            f"{_cycles(total['mean_rework_cycles'])} on average",
        ),
        (
            "cost",
            f"{'~' if total['estimated_runs'] else ''}{_usd(float(total_cents))}"
            f"{'*' if total['unpriced_runs'] else ''}, per completed work package "
            f"{_usd(total['cost_per_completed_wp_usd'])}",
        ),
        (
            "failures",
            ", ".join(f"{kind}: {n}" for kind, n in total["failures_by_kind"].items()) or "none",
        ),
    ]
    for label, text in lines:
        typer.echo(f"  {label:<14} {text}")
    if total["unpriced_runs"]:
        typer.echo(
            f"  * {total['unpriced_runs']} run(s) could not be priced and are not in the cost."
        )
    if board.rows:
        grid = Grid(
            [
                Column(by or "", "name"),
                Column("runs"),
                Column("success"),
                Column("mean"),
                Column("p95"),
                Column("first pass"),
                Column("cost"),
                Column("failures"),
            ]
        )
        for row, cents in zip(document["rows"], row_cents, strict=True):
            grid.rows.append(
                [
                    "/".join(row["group"].values()),
                    f"{row['runs']:,}",
                    _pct(row["success_rate"]),
                    _ms(row["mean_duration_ms"]),
                    _ms(row["p95_duration_ms"]),
                    _pct(row["first_pass_rate"]),
                    _row_cost(row, cents),
                    f"{sum(row['failures_by_kind'].values()):,}",
                ]
            )
        _print_grid(grid)


def alerts(
    since: SinceOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
) -> None:
    """List the alerts raised (the alert log, .kittify/alerts.jsonl by default), newest last.

    Alerts are raised by `budget` (red and exhausted budgets, once per period),
    by `anomalies --alert`, and as runs are recorded when alerts.realtime is
    true; one key is not raised again within alerts.cooldown (default 24h).

    Examples:
      spec-kitty agent telemetry alerts --since 2026-11-23

    """
    from ..analytics.alerts import read_alerts

    root, _is_project = report_root(repo)
    lower = _bound(since, "since", upper=False)
    found = []
    for record in read_alerts(root, _alert_settings(root)):
        try:
            raised = datetime.fromisoformat(str(record.get("raised_at")))
        except ValueError:
            continue
        if lower is None or raised >= lower:
            found.append(record)
    if as_json:
        print_document({"alerts": found})
        return
    if not found:
        typer.echo("No alerts.")
        return
    for record in found:
        typer.echo(
            f"{record.get('raised_at')}  {record.get('severity', ''):<8} "
            f"{record.get('what', '')}: {record.get('why', '')}"
        )


def review(
    week: Annotated[
        str | None,
        typer.Option(metavar="WEEK", help="The ISO week (2026-W48); default: the last full week."),
    ] = None,
    at: AtOption = None,
    repo: RepoOption = None,
) -> None:
    """Print the weekly review of WEEK as Markdown, ready for a PR or an issue.

    Spend against the week before (by agent and model), the features and work
    packages that cost the most, anomalies against the latest frozen baseline,
    budgets, the scoreboard, what moved since the last frozen week, and the
    runs that could not be priced. A week in progress is reviewed up to now
    (or --at).

    Examples:
      spec-kitty agent telemetry review --week 2026-W48

      spec-kitty agent telemetry review --week 2026-W48 > review-2026-W48.md

    """
    from ..analytics._weeks import last_full_week
    from ..analytics.review import project_review
    from ._format import money

    root, _is_project = report_root(repo)
    moment = _now(at)
    typer.echo(
        project_review(root, week or last_full_week(moment), now=moment).markdown(money), nl=False
    )


def register(group: typer.Typer) -> None:
    """Add the monitoring commands to the ``telemetry`` command group."""
    from ._command import Command

    for command in (baseline, anomalies, budget, scoreboard, alerts, review):
        group.command(command.__name__, cls=Command)(command)
