"""``report summary --format markdown|github``: the summary as Markdown tables.

GitHub renders the same Markdown in a job summary (the file named by
``$GITHUB_STEP_SUMMARY``), so ``--format github`` differs only in where it goes:
appended to that file when the variable is set, printed otherwise.
"""

from __future__ import annotations

from decimal import Decimal

from ..reports.summary import GroupLine, RunSummary, duration_text
from ._format import money

__all__ = ["profile_markdown", "summary_markdown"]


def _cost(amount: Decimal | None, estimated: bool) -> str:
    return money(amount, estimated=estimated)


def _percent(part: float, whole: float) -> str:
    return "-" if not whole else f"{100 * part / whole:.1f}%"


def _group_table(title: str, lines: list[GroupLine]) -> list[str]:
    out = [f"| {title} | runs | succeeded | cost |", "|---|---:|---:|---:|"]
    for line in lines:
        ok = "-" if line.succeeded is None else _percent(line.succeeded, line.runs)
        out.append(
            f"| {_cell(line.key)} | {line.runs:,} | {ok} | {_cost(line.cost_usd, line.estimated)} |"
        )
    return out


def _cell(text: str) -> str:
    """Keep a name from breaking the table (a pipe) or being read as markup."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")


def summary_markdown(summary: RunSummary, *, title: str, profile: bool = False) -> str:
    """Render ``summary`` as Markdown (ends with a newline)."""
    rate = "-" if summary.success_rate is None else f"{100 * summary.success_rate:.1f}%"
    lines = [
        f"### {title}",
        "",
        "| runs | success rate | total cost | mean duration | p95 duration |",
        "|---:|---:|---:|---:|---:|",
        f"| {summary.runs:,} | {rate} | {_cost(summary.cost_usd, summary.cost_estimated)} "
        f"| {duration_text(summary.mean_duration_ms)} "
        f"| {duration_text(summary.p95_duration_ms)} |",
        "",
        *_group_table("agent", summary.by_agent),
        "",
        *_group_table("model", summary.by_model),
    ]
    if profile:
        lines += ["", *profile_markdown(summary.profile)]
    notes = []
    if summary.cost_estimated:
        notes.append("~ estimated from token counts at list prices.")
    if summary.unpriced_runs:
        notes.append(f"{summary.unpriced_runs:,} runs could not be priced and add nothing.")
    if notes:
        lines += ["", " ".join(notes)]
    return "\n".join(lines) + "\n"


def profile_markdown(profile: dict[str, float]) -> list[str]:
    """Return the phase profile as Markdown lines (one line saying so when none was recorded)."""
    if not profile:
        return ["No run recorded phases."]
    whole = sum(profile.values())
    out = ["| phase | total | share |", "|---|---:|---:|"]
    for name, ms in profile.items():
        out.append(f"| {_cell(name)} | {duration_text(ms)} | {_percent(ms, whole)} |")
    return out
