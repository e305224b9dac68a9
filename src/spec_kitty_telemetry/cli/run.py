"""``spec-kitty agent telemetry run -- <agent command…>``: wrap one agent invocation."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import InvalidOptionError
from ..integration import ROLES, feature_dir_for
from ..runner import run_agent

__all__ = ["register"]


def run(
    command: Annotated[
        list[str], typer.Argument(help="The agent command and its arguments, after --.")
    ],
    feature: Annotated[str, typer.Option("--feature", help="Feature slug, e.g. 001-login.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    wp: Annotated[
        str | None, typer.Option("--wp", "--wp-id", help="Work package, e.g. WP01.")
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Agent name; default: from its output, else the program."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model, when the agent's output does not name it."),
    ] = None,
) -> None:
    """Run an agent command, pass its input and output through, and record its usage.

    The command's stdin, stdout and stderr reach you unchanged (stdout is read
    through a pipe, so the agent does not see a terminal there). Usage is read
    from Claude Code json/stream-json, Codex exec --json and Gemini CLI json
    output; for anything else the event still records duration and exit code.
    Exits with the command's exit code, or 127 if it cannot be started.

    Examples:
      spec-kitty agent telemetry run --feature 001-login --wp WP01 --role implementer
        -- claude -p "Implement WP01" --output-format json

      spec-kitty agent telemetry run --feature 001-login --wp WP01 --role reviewer
        -- codex exec --json -m gpt-5-codex "Review WP01"

    """
    if role not in ROLES:
        raise InvalidOptionError(f"--role: expected one of {', '.join(ROLES)}, got {role!r}")
    feature_dir = feature_dir_for(feature)
    outcome = run_agent(
        command,
        feature_dir=feature_dir,
        feature_slug=feature,
        role=role,
        wp_id=wp,
        agent=agent,
        model=model,
    )
    if not outcome.started:
        typer.echo(f"Error: {outcome.result.error}", err=True)
    raise typer.Exit(outcome.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``run`` to the ``telemetry`` command group."""
    app.command(
        "run",
        context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
    )(run)
