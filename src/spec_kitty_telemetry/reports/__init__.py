"""Run reports: one agent run, a window of runs, a feature's work, and pictures of them.

Every figure here is read from the recorded events at read time; costs go
through the cost report's one pricing rule (:class:`spec_kitty_telemetry.cost.RunningTotal`
and :func:`spec_kitty_telemetry.cost.cost_report`), never a second one.
"""

from __future__ import annotations

from .runs import RunRow, WorkReport, find_run, list_runs, run_detail, work_report
from .summary import RunSummary, run_summary

__all__ = [
    "RunRow",
    "RunSummary",
    "WorkReport",
    "find_run",
    "list_runs",
    "run_detail",
    "run_summary",
    "work_report",
]
