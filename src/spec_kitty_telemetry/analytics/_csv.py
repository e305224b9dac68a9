"""The one CSV writer of the reports: rows of flat mappings, a header from the first row.

Reports build nested ``--json`` documents; CSV needs flat rows, so nested
mappings are flattened into dotted column names (``duration_ms.p95``) and
lists joined with ``;``. The standard :mod:`csv` module does the quoting.
Exports that need CSV can use :func:`write_csv` too.
"""

from __future__ import annotations

import csv
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
            flat[name] = "" if value is None else value
    return flat


def write_csv(rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """Write ``rows`` (flattened) as CSV with a header row; return the number of rows.

    Columns are the union of the rows' keys, in the order they first appear,
    so a row that lacks a figure gets an empty cell rather than a shifted one.
    """
    flat = [flatten(row) for row in rows]
    columns: dict[str, None] = {}
    for row in flat:
        columns.update(dict.fromkeys(row))
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(flat)
    return len(flat)
