"""The app's command classes: one-line errors and plain help labels, in one place.

Kept apart from ``cli/_app`` so that each command module can name
:class:`Command` when it registers its commands.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from .._cli_warnings import print_error
from ..errors import TelemetryError

__all__ = ["Command", "CommandLine"]


class _HelpLabels:
    """Help screens without typer's type labels where they say nothing to a user.

    typer 0.29 labels every option with its Python type: ``--json <bool>``,
    ``--feature <list[str]>``, and the usage line shows ``{command}...``. A
    flag takes no value, so it gets no label; options name their value with a
    metavar where they are declared (``--since DATE``); arguments are shown
    as ``COMMAND...``. Mixed into every command and group of the app.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
            elif param.param_type_name == "argument":  # named already: command...
                param.display_type_rich = _no_label
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces: list[str] = super().collect_usage_pieces(ctx)  # type: ignore[misc]
        return [piece.replace("{", "").replace("}", "").upper() for piece in pieces]


def _no_label(ctx: Any) -> None:
    """Label nothing in the type column of the help screen."""


class Command(_HelpLabels, TyperCommand):
    """A telemetry command: help labels as :class:`_HelpLabels` draws them."""


class CommandLine(_HelpLabels, TyperGroup):
    """Root group: every error is one ``Error: ...`` line on stderr, exit code 2.

    Library errors (:class:`TelemetryError`) are caught where the command
    runs; usage errors (a mistyped option or command, a missing value) are
    raised by the parser before it, so ``main`` runs the group with
    ``standalone_mode=False`` and prints them itself, instead of typer's
    four-line Rich box.
    """

    def invoke(self, ctx: Any) -> Any:  # the base class types ctx with a private click
        try:
            return super().invoke(ctx)
        except TelemetryError as exc:
            print_error(exc)
            raise typer.Exit(2) from None

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line; exit with its code, usage errors printed as one line."""
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except _usage_error_class() as exc:
            message = _one_line(exc)
            if message:
                typer.echo(message, err=True)
            sys.exit(getattr(exc, "exit_code", 2))
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_error_class() -> type[Exception]:
    """Return the exception class of typer's parser errors (``ClickException``).

    typer 0.29 vendors click as ``typer._click``; earlier releases use the
    ``click`` package. Both are looked up, so the one-line errors do not
    depend on which typer is installed.
    """
    try:
        module = importlib.import_module("typer._click.exceptions")
    except ImportError:  # typer < 0.29
        module = importlib.import_module("click.exceptions")
    found: type[Exception] = module.ClickException
    return found


def _one_line(exc: Any) -> str:
    """Return a parser error as one line: ``Error: no such option --x (did you mean --y?)``."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # the help screen, already shown by Rich
        return str(exc.format_message()).strip()
    possibilities = sorted(getattr(exc, "possibilities", None) or ())
    option = getattr(exc, "option_name", None)
    if type(exc).__name__ == "NoSuchOption" and option:
        hint = f" (did you mean {' or '.join(possibilities)}?)" if possibilities else ""
        return f"Error: no such option {option}{hint}"
    text = " ".join(str(exc.format_message()).split())
    unknown = re.fullmatch(r"No such command (.+?)\.(?: Did you mean (.+)\?)?", text)
    if unknown:
        hint = f" (did you mean {unknown[2]}?)" if unknown[2] else ""
        return f"Error: no such command {unknown[1]}{hint}"
    return f"Error: {text[:1].lower()}{text[1:]}"
