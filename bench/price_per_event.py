"""CPU microseconds to price one event: a whole cost report per event vs. EventPricer.

Usage: python bench/price_per_event.py [--events 20000]

Reads the first ``--events`` execution events of the project ``bench/cost_report.py``
generates (cached under bench/.data/) and prints CPU µs per event for:

* ``cost_report([record])``: a whole report around each event (what the
  real-time check and ``events`` did);
* ``EventPricer(pricing)(record)``: the one-event price, same fold and rules;
* ``analytics.runs.priced_runs``: records to priced runs, as every analytics
  command reads them.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from cost_report import project

from spec_kitty_telemetry.analytics.runs import priced_runs
from spec_kitty_telemetry.cost import EventPricer, cost_report
from spec_kitty_telemetry.pricing import load_pricing
from spec_kitty_telemetry.query import iter_project_records


def per_event(records: list[dict[str, Any]], work: Callable[[Iterable[Any]], None]) -> float:
    """CPU µs per record of ``work`` over every record."""
    started = time.process_time()
    work(records)
    return (time.process_time() - started) / len(records) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    root = project(200_000, 20)
    pricing = load_pricing(root)
    executions = (r for r in iter_project_records(root) if r.get("event_type") == "ExecutionEvent")
    records = list(itertools.islice(executions, args.events))
    price_of = EventPricer(pricing)

    def whole_reports(batch: Iterable[Any]) -> None:
        for record in batch:
            cost_report([record], "feature", pricing=pricing)

    def pricer(batch: Iterable[Any]) -> None:
        for record in batch:
            price_of(record)

    def runs(batch: Iterable[Any]) -> None:
        for _run in priced_runs(batch, pricing):
            pass

    print(f"{len(records):,} execution events, CPU µs per event")
    for name, work in (
        ("cost_report([record])", whole_reports),
        ("EventPricer(record)", pricer),
        ("priced_runs", runs),
    ):
        print(f"  {name:<24} {per_event(records, work):8.1f}")


if __name__ == "__main__":
    main()
