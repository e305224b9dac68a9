"""Monitoring over the recorded runs: baselines, anomalies, budgets, the scoreboard, alerts.

Each report reads events through the query layer and prices them with the
cost report's own rule (:func:`.runs.priced_runs`), and aggregates through one
function (:func:`.runs.group_samples`), so all of them agree with ``cost``
and with each other. Names are imported on first use: the emitter's
real-time check (``analytics.realtime``) must not pay for the reports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .baseline import (
        Baseline,
        BaselineExistsError,
        GroupBaseline,
        compare_baselines,
        compute_baseline,
        freeze_baseline,
        load_baseline,
        project_baseline,
    )
    from .runs import GroupSamples, Run, group_samples, priced_runs

_EXPORTS = {
    "Baseline": "baseline",
    "BaselineExistsError": "baseline",
    "GroupBaseline": "baseline",
    "compare_baselines": "baseline",
    "compute_baseline": "baseline",
    "freeze_baseline": "baseline",
    "load_baseline": "baseline",
    "project_baseline": "baseline",
    "GroupSamples": "runs",
    "Run": "runs",
    "group_samples": "runs",
    "priced_runs": "runs",
}

__all__ = [
    "Baseline",
    "BaselineExistsError",
    "GroupBaseline",
    "GroupSamples",
    "Run",
    "compare_baselines",
    "compute_baseline",
    "freeze_baseline",
    "group_samples",
    "load_baseline",
    "priced_runs",
    "project_baseline",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
