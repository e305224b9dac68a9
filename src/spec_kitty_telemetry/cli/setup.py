"""``init`` and ``doctor``: set a repository up, and check the health of its logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

RepoOption = Annotated[
    Path | None,
    typer.Option(
        help="Project root (default: the nearest folder above the current one holding "
        "kitty-specs/ or .kittify/, else the current folder)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def init(repo: RepoOption = None, as_json: JsonOption = False) -> None:
    """Set this repository up: union merges for event logs, ignore rules, a commented config.

    Appends to .gitattributes and .gitignore only the lines they lack, and
    creates .kittify/telemetry.yaml when there is none; existing content is
    never changed, so running it again changes nothing.

    Examples:
      spec-kitty agent telemetry init

      spec-kitty agent telemetry init --repo ../other-project --json

    """
    from ..query import resolve_repo_root
    from ..repo_setup import init_repository

    report = init_repository(resolve_repo_root(repo))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
        return
    if not report.changes:
        typer.echo(f"{report.root}: already set up, nothing changed.")
        return
    typer.echo(f"{report.root}:")
    for change in report.changes:
        typer.echo(f"  {change.path}: {change.action}")
        for line in change.lines:
            typer.echo(f"    + {line}")


def register(app: typer.Typer) -> None:
    """Add ``init`` to the ``telemetry`` command group."""
    app.command("init")(init)
