"""The one way every command prints ``--json``: one document, two-space indent, keys as built.

Kept free of typer and rich, because ``emit`` (run once per agent call) uses it
too. Key order is the order the library builds each document in, which the
README documents per command; stored events keep the log's sorted keys.
``events --jsonl`` is the exception, for streaming: one stored event per line,
exactly as in the log.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["dumps_document", "dumps_line", "logged", "print_document"]


def dumps_document(document: Any) -> str:
    """Return ``document`` as the ``--json`` output of a command (no trailing newline)."""
    with _json_depth():
        return json.dumps(document, indent=2)


def dumps_line(record: Any) -> str:
    """Return one stored event as a line of the log format (keys sorted, one line)."""
    with _json_depth():
        return json.dumps(record, sort_keys=True)


def logged(record: Any) -> Any:
    """Return ``record`` with its keys sorted at every level, as the log writes it."""
    text = dumps_line(record)
    with _json_depth():
        return json.loads(text)


def print_document(document: Any, out: TextIO | None = None) -> None:
    """Print ``document`` as the ``--json`` output, followed by a newline."""
    print(dumps_document(document), file=out if out is not None else sys.stdout)


@contextmanager
def _json_depth() -> Iterator[None]:
    """Let ``json.dumps`` write any record the reader could read.

    orjson reads objects nested up to 1,024 deep; Python's encoder counts each
    level against the recursion limit (1,000 by default), so the limit is
    raised for the time of the output.
    """
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, 4 * 1024 + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)
