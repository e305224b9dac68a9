"""``phase NAME``: start a named phase of the run that ``spec-kitty agent telemetry run`` wraps."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["register"]


def phase(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The phase starting now.")],
) -> None:
    """Start phase NAME of the wrapped agent run; it lasts until the next phase or the run's end.

    Only inside `spec-kitty agent telemetry run -- <agent>` (which names a marks
    file in $SPEC_KITTY_TELEMETRY_PHASE_FILE); elsewhere it exits 2.

    Examples:
      spec-kitty agent telemetry phase validation

    """
    from ..phases import mark_phase

    mark_phase(name)


def register(group: typer.Typer) -> None:
    """Add the ``phase`` command to the ``telemetry`` command group."""
    from ._command import Command

    group.command("phase", cls=Command)(phase)
