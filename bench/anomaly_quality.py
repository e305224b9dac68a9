"""False-negative and false-positive rates of the anomaly scores on synthetic streams.

Usage: python bench/anomaly_quality.py [--runs 500] [--seed 7]

Four groups (agent x role) run stationary streams: lognormal durations, costs
and token counts (sigma 0.5 on the log scale) and Bernoulli failures (8%).
A baseline is computed over one week of each, then a second week of the same
streams is scored with injected anomalies mixed in: per group, 10 runs 15x
slower than the median, 10 runs 15x dearer, 10 runs with 15x the tokens, two
bursts of 5 failures in a row, and one run of a model no price table knows.
An injected anomaly is found when a score of its kind names its run (for a
burst, any run of it). Printed: the false-negative rate over injected
anomalies and the false-positive rate over the normal runs (runs flagged by
any per-run score); the target is under 5% for each.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from spec_kitty_telemetry.analytics.anomalies import detect_anomalies
from spec_kitty_telemetry.analytics.baseline import compute_baseline
from spec_kitty_telemetry.analytics.runs import priced_runs
from spec_kitty_telemetry.ids import new_event_id
from spec_kitty_telemetry.pricing import Pricing

GROUPS = [
    ("claude", "implementer"),
    ("claude", "reviewer"),
    ("codex", "implementer"),
    ("gemini", "implementer"),
]
SIGMA = 0.5
FAILURE_RATE = 0.08
FACTOR = 15.0


def _record(when: datetime, agent: str, role: str, **payload: Any) -> dict[str, Any]:
    base = {
        "agent": agent,
        "role": role,
        "model": "claude-sonnet-4-5",
        "wp_id": "WP01",
        "success": True,
        "error": None,
        "exit_code": 0,
    }
    base.update(payload)
    return {
        "aggregate_id": "001-bench",
        "causation_id": None,
        "event_id": new_event_id(),
        "event_type": "ExecutionEvent",
        "lamport_clock": 1,
        "node_id": "bench",
        "payload": base,
        "timestamp": when.isoformat(),
    }


def _normal(
    rng: random.Random, when: datetime, agent: str, role: str, index: int
) -> dict[str, Any]:
    centre = 2.0 + index  # groups differ in scale
    failed = rng.random() < FAILURE_RATE
    return _record(
        when,
        agent,
        role,
        duration_ms=int(math.exp(rng.gauss(math.log(60_000 * centre), SIGMA))),
        cost_usd=round(math.exp(rng.gauss(math.log(0.2 * centre), SIGMA)), 6),
        input_tokens=int(math.exp(rng.gauss(math.log(40_000 * centre), SIGMA))),
        output_tokens=int(math.exp(rng.gauss(math.log(3_000 * centre), SIGMA))),
        success=not failed,
        error="tests failed: 1" if failed else None,
        exit_code=1 if failed else 0,
    )


def _week(rng: random.Random, start: datetime, runs: int) -> list[dict[str, Any]]:
    records = []
    for index, (agent, role) in enumerate(GROUPS):
        for _ in range(runs):
            when = start + timedelta(seconds=rng.uniform(0, 7 * 86400))
            records.append(_normal(rng, when, agent, role, index))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="normal runs per group per week")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pricing = Pricing(catalogue=False)
    week1 = datetime(2026, 11, 16, tzinfo=UTC)
    week2 = week1 + timedelta(days=7)
    baseline = compute_baseline(_week(rng, week1, args.runs), pricing=pricing, week="2026-W47")
    normal = _week(rng, week2, args.runs)
    injected: list[tuple[str, set[str]]] = []  # (kind, event ids)
    extra: list[dict[str, Any]] = []
    for index, (agent, role) in enumerate(GROUPS):
        centre = 2.0 + index
        for kind, field, median in (
            ("duration", "duration_ms", 60_000 * centre),
            ("cost", "cost_usd", 0.2 * centre),
            ("tokens", "input_tokens", 40_000 * centre),
        ):
            for _ in range(10):
                record = _normal(
                    rng, week2 + timedelta(seconds=rng.uniform(0, 7 * 86400)), agent, role, index
                )
                payload = record["payload"]
                payload.update(success=True, error=None, exit_code=0)
                value = median * FACTOR * math.exp(rng.gauss(0, SIGMA / 4))
                if field == "input_tokens":
                    payload["input_tokens"] = int(value)
                    payload["output_tokens"] = int(3_000 * centre * FACTOR)
                else:
                    payload[field] = round(value, 6) if field == "cost_usd" else int(value)
                extra.append(record)
                injected.append((kind, {record["event_id"]}))
        for _ in range(2):
            at = week2 + timedelta(seconds=rng.uniform(0, 7 * 86400))
            burst = []
            for step in range(5):
                record = _normal(rng, at + timedelta(milliseconds=step), agent, role, index)
                record["payload"].update(success=False, error="tests failed: 9", exit_code=1)
                burst.append(record)
            extra.extend(burst)
            injected.append(("failure_streak", {r["event_id"] for r in burst}))
        record = _normal(
            rng, week2 + timedelta(seconds=rng.uniform(0, 7 * 86400)), agent, role, index
        )
        record["payload"].update(
            model="acme-coder-7b", cost_usd=None, success=True, error=None, exit_code=0
        )
        extra.append(record)
        injected.append(("unknown_model", {record["event_id"]}))
    started = time.perf_counter()
    report = detect_anomalies(priced_runs(normal + extra, pricing), baseline)
    elapsed = time.perf_counter() - started
    flagged: dict[str, set[str]] = {}
    for anomaly in report.anomalies:
        flagged.setdefault(anomaly.kind, set()).add(anomaly.event_id)
    missed = sum(1 for kind, ids in injected if not ids & flagged.get(kind, set()))
    normal_ids = {r["event_id"] for r in normal}
    per_run = {a.event_id for a in report.anomalies if a.kind != "failure_rate"}
    false_positives = len(per_run & normal_ids)
    print(
        f"groups: {len(GROUPS)}, baseline runs: {len(GROUPS) * args.runs}, "
        f"scored runs: {report.checked} ({len(normal)} normal, {len(extra)} injected)"
    )
    print(
        f"injected anomalies: {len(injected)}, missed: {missed}, "
        f"false-negative rate: {missed / len(injected):.2%}"
    )
    print(
        f"normal runs flagged: {false_positives} of {len(normal)}, "
        f"false-positive rate: {false_positives / len(normal):.2%}"
    )
    print(
        f"group failure-rate findings (window level): "
        f"{sum(a.kind == 'failure_rate' for a in report.anomalies)}"
    )
    print(f"scoring time: {elapsed * 1000:.0f} ms ({elapsed / report.checked * 1e6:.1f} us/run)")


if __name__ == "__main__":
    main()
