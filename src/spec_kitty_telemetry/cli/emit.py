"""The ``emit`` entry in the typer app: listed in ``--help``, implemented in ``emit_command``.

The console script normally runs ``emit`` without loading typer at all (see
``spec_kitty_telemetry.__main__``); this command covers every other way into
the typer app and hands the arguments over untouched, so there is one
definition of the options.
"""

from __future__ import annotations

import typer

from ..emit_command import SUMMARY, main as emit_main

__all__ = ["register"]


def emit(ctx: typer.Context) -> None:
    """Hand every argument to the argparse implementation of ``emit``."""
    raise typer.Exit(emit_main(ctx.args, prog=ctx.command_path))


def register(app: typer.Typer) -> None:
    """Add ``emit`` to the ``telemetry`` command group."""
    from ._command import Command

    app.command(
        "emit",
        cls=Command,
        help=SUMMARY + " Run with --help for its options.",
        short_help=SUMMARY,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )(emit)
