"""The typer app: every command registered, one-line errors, two spellings.

The telemetry commands form one group, run as ``spec-kitty-telemetry ...`` or
as ``spec-kitty agent telemetry ...`` (see ``spec_kitty_telemetry.__main__``
for why there are two spellings). Each command parses its options and calls
one public library function. Errors the library raises on
purpose (:class:`~spec_kitty_telemetry.errors.TelemetryError`) become a
one-line message on stderr and exit code 2, in one place: :class:`._command.CommandLine`,
which also prints usage errors (a mistyped option or command) as one line.
Loaded only when a command line needs typer (see ``cli/__init__.py``).
"""

from __future__ import annotations

from typing import Any

import typer

from ._command import CommandLine as _CommandLine
from .analytics import register as _register_analytics_commands
from .cost import cost as _cost_report, register as _register_cost_commands
from .emit import register as _register_emit_command
from .events import register as _register_events_command
from .export import register as _register_export_command
from .imports import register as _register_import_commands
from .lanes import register as _register_lanes_command
from .lifecycle import register as _register_lifecycle_commands
from .phase import register as _register_phase_command
from .report import register as _register_report_commands
from .run import register as _register_run_command
from .server import register as _register_server_commands
from .setup import register as _register_setup_commands

__all__ = ["app", "main", "run_telemetry", "telemetry_app"]


_EXAMPLES = (
    "Examples:\n\n"
    "  spec-kitty agent telemetry cost --group-by model --since 2025-11-10\n\n"
    "  spec-kitty agent telemetry run --feature 001-login --wp WP01 --role implementer"
    " -- claude -p 'Implement WP01' --output-format json\n\n"
    "  spec-kitty agent telemetry emit --feature 001-login --role reviewer --agent codex"
    " --input-tokens 30000 --output-tokens 1500\n\n"
    "  spec-kitty agent telemetry timeline --feature 001-login"
)

app = typer.Typer(
    name="spec-kitty",
    cls=_CommandLine,
    help="spec-kitty tooling; this package provides the agent telemetry commands.",
    epilog=_EXAMPLES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
agent_app = typer.Typer(
    cls=_CommandLine,
    help="Commands used by and about coding agents.",
    epilog=_EXAMPLES,
    no_args_is_help=True,
    add_completion=False,
)
telemetry_app = typer.Typer(
    name="spec-kitty-telemetry",
    cls=_CommandLine,
    epilog=_EXAMPLES,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(agent_app, name="agent")
agent_app.add_typer(telemetry_app, name="telemetry")
_register_analytics_commands(telemetry_app)
_register_cost_commands(telemetry_app)
_register_emit_command(telemetry_app)
_register_events_command(telemetry_app)
_register_import_commands(telemetry_app)
_register_lanes_command(telemetry_app)
_register_export_command(telemetry_app)
_register_lifecycle_commands(telemetry_app)
_register_phase_command(telemetry_app)
_register_report_commands(telemetry_app)
_register_run_command(telemetry_app)
_register_server_commands(telemetry_app)
_register_setup_commands(telemetry_app)


def _print_version(value: bool) -> None:
    if value:
        from .._spec_kitty_cli import our_version

        typer.echo(f"spec-kitty-telemetry version {our_version()}")
        raise typer.Exit()


@telemetry_app.callback(invoke_without_command=True)
def telemetry(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Agent execution telemetry: what coding agents cost, how long they take, how often they fail.

    Every agent run is one event in kitty-specs/<feature>/execution.events.jsonl.
    Without a command, prints the cost report (the `cost` command's defaults).
    """
    if ctx.invoked_subcommand is None:  # the report people run most: cost, by agent
        _cost_report()


#: How the help screens' examples spell the commands; rewritten for the other spelling.
_EXAMPLE_PREFIX = "spec-kitty agent telemetry"


def run_telemetry(args: list[str], prog: str) -> None:
    """Run the telemetry group with ``args``, its help and examples spelled as ``prog``."""
    command = typer.main.get_command(telemetry_app)
    if prog != _EXAMPLE_PREFIX:
        _respell_examples(command, prog)
    command.main(args=args, prog_name=prog)


def _respell_examples(command: Any, prog: str) -> None:  # typer's private click Command
    """Show ``prog`` in the examples of ``command`` and its subcommands' help screens."""
    for attribute in ("help", "epilog"):
        text = getattr(command, attribute, None)
        if text:
            setattr(command, attribute, text.replace(_EXAMPLE_PREFIX, prog))
    for sub in getattr(command, "commands", {}).values():
        _respell_examples(sub, prog)


def main() -> None:
    """Run the whole typer app as ``spec-kitty`` (the help screens when spec-kitty is absent)."""
    app(prog_name="spec-kitty")
