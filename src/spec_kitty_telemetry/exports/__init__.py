"""Events out of the logs: CSV for spreadsheets, JSONL, OpenTelemetry, and webhooks.

Exports never change a log; each reads the recorded events and writes
elsewhere, pricing by the cost report's one rule where a cost is shown.
"""

from __future__ import annotations

from .csv_export import EVENT_COLUMNS, event_rows, write_csv, write_events_csv, write_report_csv
from .jsonl_export import write_events_jsonl
from .otlp import OtlpResult, export_otlp, otlp_log_record, otlp_payload

__all__ = [
    "EVENT_COLUMNS",
    "OtlpResult",
    "event_rows",
    "export_otlp",
    "otlp_log_record",
    "otlp_payload",
    "write_csv",
    "write_events_csv",
    "write_events_jsonl",
    "write_report_csv",
]
