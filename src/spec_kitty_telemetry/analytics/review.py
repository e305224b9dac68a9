"""The weekly review: one Markdown page an operator reads (or pastes into a PR) every week.

It gathers what the other reports say about one ISO week: spend against the
week before (by agent and by model), the features and work packages that
cost the most, the anomalies against the latest frozen baseline, the budgets,
the scoreboard, what drifted since the last frozen week, and the runs that
could not be priced. Each part is computed by the module that owns it
(``cost.cost_report``, ``anomalies``, ``budget``, ``scoreboard``,
``baseline``), so the page never disagrees with the commands; this module
only reads the week once and lays the answers out as plain Markdown
(GitHub-flavoured tables, no HTML), so it renders in an issue or a PR.

Money is shown in cents through the one money formatter, and each table's
rows are rounded with the cost report's largest-remainder rule
(``_money``, the cost report's ``apportioned``) so they add up to the
total shown, exactly as ``cost`` shows them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._money import in_cents
from .._records import EXECUTION_EVENT
from ._weeks import week_bounds, week_name

if TYPE_CHECKING:
    from ..cost import CostReport, CostSummary
    from ..pricing import Pricing
    from .anomalies import AnomalyReport
    from .baseline import Drift
    from .budget import BudgetStatus
    from .runs import Run
    from .scoreboard import Scoreboard
    from .settings import AlertSettings, BudgetSettings

__all__ = ["LISTED", "TOP", "Money", "WeeklyReview", "project_review"]

#: How USD is shown: ``money(amount, estimated=, unpriced=, exact=)`` (``cli._format.money``).
Money = Callable[..., str]

#: Rows in each "top cost drivers" table.
TOP: Final = 5
#: Anomalies and unpriced runs listed at most; the rest are counted.
LISTED: Final = 20
_NONE: Final = "(none)"


def _cell(text: object) -> str:
    """Make a value safe inside a Markdown table cell (a ``|`` would end the cell)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: int = 1) -> list[str]:
    """Lay out a GitHub-flavoured table; columns from ``right`` on are numbers, aligned right."""
    align = ["---" if i < right else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines.extend("| " + " | ".join(_cell(value) for value in row) + " |" for row in rows)
    return lines


def _money(money: Money, summary: CostSummary | None, shown: Decimal | None) -> str:
    """Show a row's cost: ``~`` estimated, ``*`` partly unpriced, ``unknown*`` if none priced."""
    if summary is None or shown is None:
        return "-"
    if not summary.cost_known:
        return money(None)
    return money(
        shown,
        estimated=summary.estimated_event_count > 0,
        unpriced=summary.unpriced_event_count > 0,
        exact=summary.total_cost_usd,
    )


def _change(now: Decimal | None, before: Decimal | None) -> str:
    if now is None and before is None:
        return "-"
    if before is None or before == 0:
        return "new" if now else "-"
    if now is None:
        return "-100%"
    return f"{(now - before) / before:+.0%}"


def _shown(report: CostReport) -> tuple[dict[str, Decimal], Decimal]:
    cents, total = in_cents(
        [s.total_cost_usd for s in report.summaries], report.total.total_cost_usd
    )
    return {s.group_key: c for s, c in zip(report.summaries, cents, strict=True)}, total


@dataclass(frozen=True)
class WeeklyReview:
    """Everything the review page shows; :meth:`markdown` lays it out."""

    week: str
    previous: str
    start: datetime
    end: datetime
    at: datetime
    spend: dict[str, tuple[CostReport, CostReport]]
    features: CostReport
    work_packages: list[tuple[str, CostSummary, Decimal]]
    runs: list[Run]
    anomalies: AnomalyReport | None
    anomaly_week: str | None
    budgets: list[BudgetStatus]
    scoreboard: Scoreboard
    drift_week: str | None
    drifts: list[Drift]

    def markdown(self, money: Money) -> str:
        """Return the review as Markdown, one trailing newline; ``money`` formats USD.

        The formatter is the CLI's one money rule (``cli._format.money``), passed
        in because the library never imports the CLI.
        """
        last_day = (self.end - timedelta(days=1)).date()
        lines = [
            f"# Weekly review {self.week}",
            "",
            f"{self.start.date().isoformat()} to {last_day.isoformat()} (UTC)"
            + (
                f", in progress: as of {self.at.isoformat()}"
                if self.at < self.end - timedelta(microseconds=1)
                else ""
            )
            + ". ~ estimated from token counts, * some runs could not be priced.",
        ]
        for part in (
            self._spend,
            self._drivers,
            self._anomalies,
            self._budgets,
            self._scoreboard,
            self._drift,
            self._unpriced,
        ):
            lines += ["", *part(money)]
        return "\n".join(lines) + "\n"

    def _spend(self, money: Money) -> list[str]:
        this, last = self.spend["agent"]
        _, this_total = _shown(this)
        _, last_total = _shown(last)
        lines = [
            "## Spend",
            "",
            f"{_money(money, this.total, this_total)} in {this.total.event_count:,} runs this "
            "week, "
            f"{_money(money, last.total, last_total)} in {last.total.event_count:,} runs in "
            f"{self.previous} ({_change(this_total, last_total)}).",
        ]
        for dimension, (now, before) in self.spend.items():
            now_cents, now_total = _shown(now)
            before_cents, before_total = _shown(before)
            rows_now = {s.group_key: s for s in now.summaries}
            rows_before = {s.group_key: s for s in before.summaries}
            keys = sorted(
                rows_now.keys() | rows_before.keys(),
                key=lambda k: (-now_cents.get(k, Decimal(0)), -before_cents.get(k, Decimal(0)), k),
            )
            rows: list[list[object]] = [
                [
                    key,
                    f"{rows_now[key].event_count:,}" if key in rows_now else "-",
                    _money(money, rows_now.get(key), now_cents.get(key)),
                    _money(money, rows_before.get(key), before_cents.get(key)),
                    _change(now_cents.get(key), before_cents.get(key)),
                ]
                for key in keys
            ]
            rows.append(
                [
                    "**total**",
                    f"{now.total.event_count:,}",
                    _money(money, now.total, now_total),
                    _money(money, before.total, before_total),
                    _change(now_total, before_total),
                ]
            )
            lines += ["", f"### By {dimension}", ""]
            lines += _table([dimension, "runs", self.week, self.previous, "change"], rows)
        return lines

    def _drivers(self, money: Money) -> list[str]:
        cents, total = _shown(self.features)
        lines = ["## Top cost drivers", ""]
        if not self.features.summaries:
            return [*lines, "No runs this week."]
        feature_rows: list[list[object]] = [
            [
                s.group_key,
                f"{s.event_count:,}",
                _money(money, s, cents[s.group_key]),
                _share(s, cents[s.group_key], total),
            ]
            for s in self.features.summaries[:TOP]
        ]
        lines += _table(["feature", "runs", "cost", "share"], feature_rows)
        wp_rows: list[list[object]] = [
            [
                f"{feature} {s.group_key}",
                f"{s.event_count:,}",
                _money(money, s, shown),
                _share(s, shown, total),
            ]
            for feature, s, shown in self.work_packages[:TOP]
        ]
        lines.append("")
        if wp_rows:
            lines += _table(["work package", "runs", "cost", "share"], wp_rows)
        else:
            lines.append("No run named a work package.")
        return lines

    def _anomalies(self, money: Money) -> list[str]:
        lines = ["## Anomalies", ""]
        report = self.anomalies
        if report is None:
            return [
                *lines,
                "No frozen baseline to score against "
                "(freeze one with `spec-kitty agent telemetry baseline --freeze --week WEEK`).",
            ]
        found = report.anomalies
        lines.append(
            f"{len(found)} in {report.checked:,} runs, against the baseline of {self.anomaly_week}."
        )
        if found:
            lines.append("")
            lines += [f"- **{a.severity}** {a.kind}: {a.message}" for a in found[:LISTED]]
            if len(found) > LISTED:
                lines.append(f"- and {len(found) - LISTED} more (`anomalies --json`).")
        for label, groups in (
            ("too small to alert on", report.too_small_groups),
            ("not in the baseline", report.unbaselined_groups),
        ):
            if groups:
                lines += ["", f"Not scored, {label}: {', '.join(groups)}."]
        return lines

    def _budgets(self, money: Money) -> list[str]:
        lines = ["## Budgets", ""]
        if not self.budgets:
            return [*lines, "No budgets configured."]
        rows: list[list[object]] = []
        for status in self.budgets:
            doc = status.to_dict()
            if status.unit == "usd":
                used = money(
                    status.consumed,
                    estimated=status.estimated_runs > 0,
                    unpriced=status.unpriced_runs > 0,
                )
                limit = money(status.limit)
            else:
                used, limit = f"{doc['consumed']:,} tokens", f"{doc['limit']:,} tokens"
            rows.append(
                [
                    status.budget.name,
                    doc["period_start"][:10],
                    used,
                    limit,
                    f"{doc['percent_used']:.1f}%",
                    "EXHAUSTED" if status.exhausted else status.level,
                ]
            )
        in_progress = self.at < self.end - timedelta(microseconds=1)
        lines.append(f"As of {self.at.isoformat()}." if in_progress else "At the end of the week.")
        lines.append("")
        lines += _table(["budget", "period from", "used", "limit", "used %", "level"], rows, 2)
        return lines

    def _scoreboard(self, money: Money) -> list[str]:
        total = self.scoreboard.total
        doc = total.to_dict(())
        _, cents = in_cents([], total.total_cost_usd)
        done = total.completed_work_packages
        per_wp = (
            "-"
            if not done
            else money((total.total_cost_usd / done), exact=total.total_cost_usd / done)
        )
        cost = money(cents, estimated=total.estimated_runs > 0, unpriced=total.unpriced_runs > 0)
        failures = ", ".join(f"{k}: {n}" for k, n in doc["failures_by_kind"].items()) or "none"
        return [
            "## Scoreboard",
            "",
            f"- runs: {total.runs:,}, success rate {_pct(doc['success_rate'])}",
            f"- duration: mean {_ms(total.mean_duration_ms)}, p95 {_ms(total.p95_duration_ms)}",
            f"- work packages completed: {done}, first pass {_pct(doc['first_pass_rate'])}, "
            f"rework cycles {_number(doc['mean_rework_cycles'])} on average",
            f"- cost: {cost}, per completed work package {per_wp}",
            f"- failures: {failures}",
        ]

    def _drift(self, money: Money) -> list[str]:
        lines = ["## Baseline drift", ""]
        if self.drift_week is None:
            return [*lines, "No baseline was frozen before this week."]
        if not self.drifts:
            return [*lines, f"Nothing moved more than 5% since {self.drift_week}."]
        rows = [
            [
                d.group,
                d.figure,
                _figure(d.before),
                _figure(d.after),
                "-" if d.change is None else f"{d.change:+.1%}",
            ]
            for d in self.drifts
        ]
        lines.append(f"Moved more than 5% since {self.drift_week}:")
        lines.append("")
        return lines + _table(["group", "figure", self.drift_week, self.week, "change"], rows, 2)

    def _unpriced(self, money: Money) -> list[str]:
        from ..cost import UNPRICED_REASONS

        unpriced = [run for run in self.runs if run.cost_usd is None]
        lines = ["## Runs that could not be priced", ""]
        if not unpriced:
            return [*lines, "None: every run this week was priced."]
        lines.append(
            f"{len(unpriced)} of {len(self.runs):,} runs; they are left out of every cost above."
        )
        lines.append("")
        rows = [
            [
                f"`{run.event_id}`",
                run.feature,
                run.agent,
                run.unknown_model or run.model,
                UNPRICED_REASONS.get(run.unpriced_reason or "", run.unpriced_reason or ""),
            ]
            for run in unpriced[:LISTED]
        ]
        lines += _table(["event", "feature", "agent", "model", "why"], rows, 5)
        if len(unpriced) > LISTED:
            lines += ["", f"And {len(unpriced) - LISTED} more."]
        return lines


def _share(summary: CostSummary, part: Decimal, whole: Decimal) -> str:
    """Return a row's share of the week's cost; ``-`` if its cost is unknown or none."""
    return "-" if whole <= 0 or not summary.cost_known else f"{part / whole:.0%}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ms(value: float | None) -> str:
    from .anomalies import format_duration

    return "-" if value is None else format_duration(value)


def _figure(value: float | None) -> str:
    return "none" if value is None else f"{value:,.6g}"


def _work_packages(
    records: Sequence[Mapping[str, Any]], pricing: Pricing
) -> list[tuple[str, CostSummary, Decimal]]:
    """Price each feature's work packages by the cost report; cents add up to the week."""
    from ..cost import cost_report

    by_feature: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_feature[record["aggregate_id"]].append(record)
    rows = [
        (feature, summary)
        for feature, mine in sorted(by_feature.items())
        for summary in cost_report(mine, "wp", pricing=pricing).summaries
    ]
    exact = [summary.total_cost_usd for _, summary in rows]
    cents, _ = in_cents(exact, sum(exact, Decimal(0)))
    found = [
        (feature, summary, shown)
        for (feature, summary), shown in zip(rows, cents, strict=True)
        if summary.group_key != _NONE
    ]
    found.sort(key=lambda row: (-row[1].total_cost_usd, row[0], row[1].group_key))
    return found


def project_review(
    root: str | Path,
    week: str,
    *,
    now: datetime | None = None,
    pricing: Pricing | None = None,
    alert_settings: AlertSettings | None = None,
    budgets: list[BudgetSettings] | None = None,
) -> WeeklyReview:
    """Gather the review of ``week`` for the project at ``root``, as of ``now`` (default: now).

    A week still in progress is reviewed up to ``now``; budgets are shown as
    of the end of the week (or ``now``). Settings default to the project's
    ``.kittify/telemetry.yaml``.
    """
    from ..config import load_config
    from ..cost import cost_report
    from ..pricing import load_pricing
    from ..query import EventFilter, iter_project_records
    from .anomalies import detect_anomalies
    from .baseline import baseline_of_runs, compare_baselines, frozen_weeks, load_baseline
    from .budget import project_budgets
    from .runs import priced_runs
    from .scoreboard import project_scoreboard
    from .settings import alert_settings as read_alert_settings, budget_settings

    start, end = week_bounds(week)
    previous = week_name((start - timedelta(days=7)).date())
    moment = now if now is not None else datetime.now(UTC)
    at = min(moment, end - timedelta(microseconds=1))
    pricing = pricing if pricing is not None else load_pricing(root)
    if alert_settings is None or budgets is None:
        config = load_config(root)
        if alert_settings is None:
            alert_settings = read_alert_settings(config.section("alerts"), config.path)
        if budgets is None:
            budgets = budget_settings(config.section("budgets"), config.path)

    # One read of both weeks, split by the predicates of the two weeks' filters: the
    # records two reads would give, for one pass over the logs.
    last_start, last_end = start - timedelta(days=7), start - timedelta(microseconds=1)
    in_this = EventFilter(event_type=EXECUTION_EVENT, since=start, until=at).predicate
    in_last = EventFilter(event_type=EXECUTION_EVENT, since=last_start, until=last_end).predicate
    assert in_this is not None
    assert in_last is not None
    this_week: list[dict[str, Any]] = []
    last_week: list[dict[str, Any]] = []
    both = EventFilter(event_type=EXECUTION_EVENT, since=last_start, until=at)
    for record in iter_project_records(root, both):
        if in_this(record):
            this_week.append(record)
        elif in_last(record):
            last_week.append(record)
    spend = {
        dimension: (
            cost_report(this_week, dimension, pricing=pricing),
            cost_report(last_week, dimension, pricing=pricing),
        )
        for dimension in ("agent", "model")
    }
    runs = sorted(priced_runs(this_week, pricing), key=lambda r: (r.timestamp, r.event_id))
    weeks = frozen_weeks(root)
    ended = [w for w in weeks if week_bounds(w)[1] <= start]
    chosen = ended or weeks
    anomaly_week = chosen[-1] if chosen else None
    anomalies = None
    if anomaly_week is not None:
        anomalies = detect_anomalies(
            runs,
            load_baseline(root, anomaly_week),
            z_threshold=alert_settings.z_threshold,
            alpha=alert_settings.alpha,
        )
    drift_week = ended[-1] if ended else None
    drifts: list[Drift] = []
    if drift_week is not None:
        frozen = load_baseline(root, drift_week)
        current = baseline_of_runs(
            runs,
            frozen.group_by,
            min_sample=frozen.min_sample,
            start=start,
            end=at,
            week=week,
        )
        drifts = compare_baselines(frozen, current)
    statuses = project_budgets(root, budgets, at, pricing=pricing)
    return WeeklyReview(
        week=week_name(start.date()),
        previous=previous,
        start=start,
        end=end,
        at=at,
        spend=spend,
        features=cost_report(this_week, "feature", pricing=pricing),
        work_packages=_work_packages(this_week, pricing),
        runs=runs,
        anomalies=anomalies,
        anomaly_week=anomaly_week,
        budgets=statuses,
        scoreboard=project_scoreboard(root, "7d", at, pricing=pricing, start=start, runs=runs),
        drift_week=drift_week,
        drifts=drifts,
    )
