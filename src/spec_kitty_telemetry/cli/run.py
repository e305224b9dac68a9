"""``spec-kitty agent telemetry run -- <agent command…>``: wrap one agent invocation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._cli_warnings import error_message, new_folder_warning, print_warning
from ..errors import InvalidOptionError, TelemetryError
from ..integration import ROLES
from ..project import feature_dir_for
from ..runner import run_agent
from ..tags import parse_tag_options

__all__ = ["register"]


def run(
    command: Annotated[
        list[str], typer.Argument(help="The agent command and its arguments, after --.")
    ],
    feature: Annotated[
        str, typer.Option("--feature", metavar="NAME", help="Feature slug, e.g. 001-login.")
    ],
    role: Annotated[
        str, typer.Option("--role", metavar="ROLE", help=f"One of: {', '.join(ROLES)}.")
    ],
    wp: Annotated[
        str | None,
        typer.Option(
            "--wp", "--wp-id", metavar="WP", help="Work package, e.g. WP01; empty means none."
        ),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            metavar="AGENT",
            help="Agent name; default (also when empty): from its output, else the program.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", metavar="MODEL", help="Model, when the agent's output does not name it."
        ),
    ] = None,
    changes: Annotated[
        bool,
        typer.Option(
            "--changes/--no-changes",
            help="Record the files and lines the run changed in the current git work tree "
            "(unknown outside one).",
        ),
    ] = True,
    junit: Annotated[
        list[str] | None,
        typer.Option(
            "--junit",
            metavar="PATH",
            help="A JUnit XML report the run writes (a path or a glob; repeatable): "
            "its test counts are recorded.",
            show_default=False,
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            metavar="KEY=VALUE",
            help="A label to record with the run, e.g. environment=ci (repeatable; over the "
            "project's default tags; KEY= removes a default one).",
            show_default=False,
        ),
    ] = None,
    phase: Annotated[
        str | None,
        typer.Option(
            "--phase",
            metavar="NAME",
            help="The phase the command starts in; `spec-kitty agent telemetry phase NAME` "
            "inside it starts the next (recorded as phases: name -> ms).",
        ),
    ] = None,
) -> None:
    """Run an agent command, pass its input and output through, and record its usage.

    The command's stdin, stdout and stderr reach you unchanged (stdout is read
    through a pipe, so the agent does not see a terminal there). Usage is read
    from Claude Code json/stream-json, Codex exec --json and Gemini CLI json
    output; for anything else the event still records duration and exit code.
    Exits with the command's exit code: 127 if it is not found, 126 if it
    cannot be executed. Exit 2 before running anything only for a usage error
    (no command, an unknown option, an unknown --role). If the run cannot be
    recorded (no spec-kitty project here, an unusable --feature, a read-only
    log) the agent still runs and one Warning line says so.

    The event also records what the run changed in the git work tree of the
    current folder (files created, modified, deleted, renamed; lines added and
    deleted; commits made), compared with the tree as it was just before the
    run; --no-changes leaves that out. With --junit, the test counts of the
    JUnit reports written during the run are recorded too (unknown, with a
    warning, when a report is missing, older than the run or malformed).

    Examples:
      spec-kitty agent telemetry run --feature 001-login --wp WP01 --role implementer
        -- claude -p "Implement WP01" --output-format json

      spec-kitty agent telemetry run --feature 001-login --wp WP01 --role reviewer
        -- codex exec --json -m gpt-5-codex "Review WP01"

    """
    if role not in ROLES:
        raise InvalidOptionError(f"--role: expected one of {', '.join(ROLES)}, got {role!r}")
    if phase:
        from ..phases import check_phase_name

        check_phase_name(phase)
    if not command:
        raise InvalidOptionError("no command to run: give it after --, e.g. -- claude -p '...'")
    if command[0].startswith("-"):  # no program is named so: an option of ours, misspelt
        raise InvalidOptionError(
            f"no such option {command[0]} (the agent command goes after --, e.g. -- claude ...)"
        )
    tags = parse_tag_options(tag)  # a bad --tag stops here, before the agent runs
    feature_dir: Path | None
    try:
        feature_dir = feature_dir_for(feature)
    except TelemetryError as exc:
        print_warning(f"this run is not recorded: {error_message(exc)}")
        feature_dir = None
    existed = feature_dir is not None and feature_dir.is_dir()
    outcome = run_agent(
        command,
        feature_dir=feature_dir,
        feature_slug=feature_dir.name if feature_dir is not None else feature.strip(),
        role=role,
        wp_id=wp or None,
        agent=agent.strip() if agent and agent.strip() else None,
        model=model or None,
        capture_changes=changes and feature_dir is not None,
        junit=junit or (),
        tags=tags,
        phase=phase or None,
    )
    for message in outcome.warnings:
        print_warning(message)
    if not outcome.started:
        typer.echo(f"Error: {outcome.result.error}", err=True)
    if outcome.recording is not None:
        for message in outcome.recording.warnings:
            print_warning(message)
        if outcome.recording.problem is not None:
            print_warning(outcome.recording.problem)
    if feature_dir is not None and outcome.record is not None and not existed:
        print_warning(new_folder_warning(feature_dir))
    raise typer.Exit(outcome.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``run`` to the ``telemetry`` command group."""
    from ._command import Command

    app.command(
        "run",
        cls=Command,
        context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
    )(run)
