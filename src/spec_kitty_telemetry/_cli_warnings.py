"""What the commands print on stderr: one ``Error:`` line, and ``Warning:`` lines.

Errors the library raises on purpose name the parameter at fault
(``TelemetryError.parameter``, e.g. ``group_by``); :func:`error_message`
phrases it as the flag that sets it (``--group-by``), for every command, in
this one place. A command that records reads what happened from the
emitter's :class:`~spec_kitty_telemetry.EmitResult` and prints each warning
and the reason for a lost event as one ``Warning: ...`` line, so every
command reports a lost event the same way.
Kept free of typer and pydantic: ``emit`` imports it on its fast path.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import TelemetryError

__all__ = [
    "error_message",
    "new_folder_warning",
    "print_error",
    "print_warning",
]


def error_message(exc: TelemetryError) -> str:
    """Return the error as the command line says it: the parameter spelled as its flag."""
    if exc.parameter is None:
        return str(exc)
    return f"--{exc.parameter.replace('_', '-')}: {exc.message}"


def print_error(exc: TelemetryError) -> None:
    """Print ``Error: <message>`` as one line on stderr."""
    print(f"Error: {error_message(exc)}", file=sys.stderr, flush=True)


def print_warning(message: str) -> None:
    """Print ``Warning: <message>`` as one line on stderr."""
    print(f"Warning: {message}", file=sys.stderr, flush=True)


def new_folder_warning(feature_dir: Path) -> str:
    """Say that recording created the feature folder (a typo in --feature, perhaps)."""
    return f"created new feature folder {feature_dir.parent.name}/{feature_dir.name}"
