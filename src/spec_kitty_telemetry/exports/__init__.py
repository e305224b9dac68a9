"""Events out of the logs: CSV for spreadsheets, JSONL, OpenTelemetry, and webhooks.

Exports never change a log; each reads the recorded events and writes
elsewhere, pricing by the cost report's one rule where a cost is shown.
Names are loaded on first use: the emitter imports the webhook spool from
here on every run, and must not pay for the CSV or OTLP writers.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "EVENT_COLUMNS",
    "ExportError",
    "OtlpResult",
    "event_rows",
    "export_otlp",
    "flush_webhooks",
    "otlp_log_record",
    "otlp_payload",
    "spool_alert",
    "write_csv",
    "write_events_csv",
    "write_events_jsonl",
    "write_report_csv",
]

_HOMES = {
    "EVENT_COLUMNS": "csv_export",
    "event_rows": "csv_export",
    "write_csv": "csv_export",
    "write_events_csv": "csv_export",
    "write_report_csv": "csv_export",
    "write_events_jsonl": "jsonl_export",
    "OtlpResult": "otlp",
    "export_otlp": "otlp",
    "otlp_log_record": "otlp",
    "otlp_payload": "otlp",
    "ExportError": "errors",
    "flush_webhooks": "webhooks",
    "spool_alert": "webhooks",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
