"""CSV that opens cleanly in a spreadsheet: RFC 4180, UTF-8, one row per event.

Written by the standard library's :mod:`csv` (CRLF line ends, fields quoted
when they hold a comma, quote or line break, as RFC 4180 says). Text that a
spreadsheet would run as a formula (a cell starting ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) gets a leading ``'`` so it is shown, not
evaluated: a model name or an error text from a log is data from anywhere.
Numbers are written as numbers and never get the quote.

The event columns (:data:`EVENT_COLUMNS`) are a stable interface: new ones are
only ever added at the end; payload keys without a column of their own are
kept, as JSON, in ``other_payload``, so nothing recorded is left out.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Final

from .._records import EXECUTION_EVENT
from ..usage import USAGE_FIELDS

if TYPE_CHECKING:
    from ..cost import CostReport
    from ..events import Event
    from ..pricing import Pricing

__all__ = [
    "EVENT_COLUMNS",
    "event_rows",
    "safe_cell",
    "write_csv",
    "write_events_csv",
    "write_report_csv",
]

#: Payload fields with a column of their own, in column order.
_PAYLOAD_COLUMNS: Final = (
    "wp_id",
    "agent",
    "role",
    "model",
    "success",
    "exit_code",
    "error",
    "duration_ms",
    *USAGE_FIELDS,  # the token counts, then cost_usd
    "from_phase",
    "to_phase",
    "actor",
)
_ENVIRONMENT_COLUMNS: Final = ("ci", "ci_build_id", "git_branch", "git_commit")

#: The columns of ``export --format csv``, in order; documented in the README.
EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "event_id",
    "timestamp",
    "feature",
    "event_type",
    "node_id",
    "lamport_clock",
    "causation_id",
    *_PAYLOAD_COLUMNS,
    "counted_cost_usd",
    "cost_estimated",
    *_ENVIRONMENT_COLUMNS,
    "phases",
    "other_payload",
)

_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Return ``value`` as a CSV cell: text a spreadsheet would evaluate gets a leading ``'``.

    None is an empty cell; booleans are ``true``/``false``; numbers pass as they are;
    mappings and lists become JSON (then judged as text).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: IO[str]) -> int:
    """Write ``rows`` under a header of ``columns`` (missing keys are empty); return rows written.

    ``out`` should be opened with ``newline=""``, as the csv module asks.
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in columns])
    written = 0
    for row in rows:
        writer.writerow([safe_cell(row.get(name)) for name in columns])
        written += 1
    return written


def event_rows(events: Iterable[Event], pricing: Pricing) -> Iterator[dict[str, Any]]:
    """Flatten each event into a row of :data:`EVENT_COLUMNS` (``counted_cost_usd`` priced)."""
    from ..reports.runs import priced

    for event in events:
        payload = event.payload
        row: dict[str, Any] = {
            "event_id": event.event_id,
            "timestamp": event.timestamp.isoformat(),
            "feature": event.aggregate_id,
            "event_type": event.event_type,
            "node_id": event.node_id,
            "lamport_clock": event.lamport_clock,
            "causation_id": event.causation_id,
        }
        for name in _PAYLOAD_COLUMNS:
            row[name] = payload.get(name)
        environment = payload.get("environment")
        if isinstance(environment, Mapping):
            for name in _ENVIRONMENT_COLUMNS:
                row[name] = environment.get(name)
        if event.event_type == EXECUTION_EVENT:
            run = priced(event, pricing)
            row["counted_cost_usd"] = (
                None if run.cost_usd is None else float(round(run.cost_usd, 6))
            )
            row["cost_estimated"] = run.estimated
        if "phases" in payload:
            row["phases"] = payload["phases"]
        other = {
            key: value
            for key, value in payload.items()
            if key not in _PAYLOAD_COLUMNS and key not in ("environment", "phases")
        }
        if isinstance(environment, Mapping):
            rest = {k: v for k, v in environment.items() if k not in _ENVIRONMENT_COLUMNS}
            if rest:
                other["environment"] = rest
        elif environment is not None:
            other["environment"] = environment
        row["other_payload"] = other or None
        yield row


def write_events_csv(events: Iterable[Event], out: IO[str], pricing: Pricing) -> int:
    """Write events as CSV with the :data:`EVENT_COLUMNS` header; return how many."""
    return write_csv(event_rows(events, pricing), EVENT_COLUMNS, out)


def write_report_csv(report: CostReport, out: IO[str]) -> int:
    """Write a cost report as CSV: one row per group, then the TOTAL row; return data rows.

    The columns are the keys of ``cost --json``'s summaries, in that order, so
    the CSV and the JSON never disagree about a figure.
    """
    document = report.to_dict()
    rows = [*document["summaries"], document["total"]]
    columns = list(document["total"].keys())
    return write_csv(rows, columns, out)
