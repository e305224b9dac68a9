"""Monitoring over the recorded runs: baselines, anomalies, budgets, the scoreboard, alerts, review.

Each report reads events through the query layer and prices them with the
cost report's own rule (:func:`.runs.priced_runs`), and aggregates through one
function (:func:`.runs.group_samples`), so all of them agree with ``cost``
and with each other.
"""

from __future__ import annotations

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
