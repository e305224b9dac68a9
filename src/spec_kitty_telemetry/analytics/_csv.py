"""CSV of the analytics reports: their nested ``--json`` rows, flattened for a spreadsheet.

Reports build nested ``--json`` documents; CSV needs flat rows, so nested
mappings are flattened into dotted column names (``duration_ms.p95``) and
lists joined with ``;``. Writing is the exports' one CSV writer
(:func:`spec_kitty_telemetry.exports.csv_export.write_csv`: RFC 4180, and no
cell a spreadsheet would evaluate as a formula — a model or group name
starting with ``=`` comes out as text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TextIO

__all__ = ["flatten", "write_csv"]


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings into dotted keys; lists become ``;``-joined text, None empty."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple):
            flat[name] = ";".join(str(item) for item in value)
        else:
            flat[name] = value  # None: an empty cell, written by the exports' rule
    return flat


def write_csv(rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """Write ``rows`` (flattened) as CSV with a header row; return the number of rows.

    Columns are the union of the rows' keys, in the order they first appear,
    so a row that lacks a figure gets an empty cell rather than a shifted one.
    """
    from ..exports.csv_export import write_csv as write_rows

    flat = [flatten(row) for row in rows]
    columns: dict[str, None] = {}
    for row in flat:
        columns.update(dict.fromkeys(row))
    return write_rows(flat, list(columns), out)
