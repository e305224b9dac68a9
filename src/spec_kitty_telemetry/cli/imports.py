"""``import claude-code|codex|gemini``: bring an agent's own session history into the logs.

The work is the library's (:func:`spec_kitty_telemetry.sources.import_sessions`);
this module parses the options, shows a progress bar on a terminal (nothing
on a pipe) and prints the summary.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._json_output import print_document
from ..usage import TOKEN_FIELDS
from ._format import count
from ._reports import RepoOption

if TYPE_CHECKING:
    from ..sources import ImportSummary

__all__ = ["register"]

_LISTED_PROBLEMS = 5

PathOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--path",
        metavar="DIR",
        help="Read session files from this folder or file instead of the agent's own "
        "(repeat for several).",
        show_default=False,
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        metavar="DATE",
        help="Only responses at or after this ISO 8601 date or datetime (UTC if naive).",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would be imported, with totals; write nothing.")
]
AllProjectsOption = Annotated[
    bool,
    typer.Option(
        "--all-projects",
        help="Also import sessions of other repositories (into the catch-all feature).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON document.")]


def _run(
    source: str,
    paths: list[Path] | None,
    since: str | None,
    dry_run: bool,
    all_projects: bool,
    as_json: bool,
    repo: Path | None,
) -> None:
    from ..config import find_project_root
    from ..errors import ProjectNotFoundError
    from ..query import parse_time_bound, resolve_repo_root
    from ..sources import import_sessions

    start = resolve_repo_root(repo)
    root = find_project_root(start)
    if root is None:
        raise ProjectNotFoundError(
            f"no spec-kitty project (a folder with kitty-specs/ or .kittify/) at or above {start}"
        )
    bound = None if since is None else parse_time_bound(since, "since")
    with _progress(enabled=not as_json and sys.stderr.isatty()) as (on_files, advance):
        summary = import_sessions(
            source,
            root,
            paths=paths,
            since=bound,
            dry_run=dry_run,
            all_projects=all_projects,
            on_files=on_files,
            progress=advance,
        )
    for problem in summary.unreadable:
        typer.echo(f"Warning: {problem.describe()}", err=True)
    if summary.malformed:
        shown = "; ".join(p.describe() for p in summary.malformed[:_LISTED_PROBLEMS])
        more = len(summary.malformed) - _LISTED_PROBLEMS
        tail = f" and {more} more" if more > 0 else ""
        typer.echo(
            f"Warning: skipped {len(summary.malformed)} malformed line(s): {shown}{tail}", err=True
        )
    if as_json:
        print_document(summary.to_dict())
    else:
        _print_summary(summary)


@contextmanager
def _progress(
    *, enabled: bool
) -> Iterator[tuple[Callable[[int], None] | None, Callable[[int], None] | None]]:
    """Show a rich progress bar over the files read, on a terminal; no callbacks otherwise."""
    if not enabled:
        yield None, None
        return
    from rich.progress import Progress

    from ._format import console

    with Progress(console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("Reading sessions", total=None)

        def on_files(total: int) -> None:
            bar.update(task, total=total)

        def advance(done: int) -> None:
            bar.update(task, completed=done)

        yield on_files, advance


def _figures(per: dict[str, int]) -> str:
    """Say the token counts of a summary line: ``input 3,788, output 312, ...``."""
    return ", ".join(
        f"{name.removesuffix('_tokens').replace('_', ' ')} {count(per[name])}"
        for name in TOKEN_FIELDS
        if name in per
    )


def _print_summary(summary: ImportSummary) -> None:
    verb = "Would import" if summary.dry_run else "Imported"
    typer.echo(
        f"{verb} {count(summary.events_new)} event(s) from {count(summary.responses)} "
        f"response(s) in {count(summary.files)} file(s) ({summary.source}); "
        f"{count(summary.events_present)} already in the logs."
    )
    for feature, per in sorted(summary.features.items()):
        typer.echo(f"  {feature}: {count(per['events'])} event(s), {_figures(per)}")
    typer.echo(f"Total: {_figures(summary.totals)}")
    skipped = []
    if summary.duplicate_responses:
        skipped.append(f"{count(summary.duplicate_responses)} streamed copies counted once")
    if summary.synthetic_lines:
        skipped.append(f"{count(summary.synthetic_lines)} <synthetic> lines")
    if summary.sessions_other_projects:
        skipped.append(
            f"{count(summary.sessions_other_projects)} session(s) of other repositories "
            "(--all-projects imports them)"
        )
    if summary.sessions_recorded_by_run:
        skipped.append(
            f"{count(summary.sessions_recorded_by_run)} session(s) already recorded by run"
        )
    if summary.segments_open:
        skipped.append(f"{count(summary.segments_open)} hour(s) not over yet (imported next time)")
    if skipped:
        typer.echo("Skipped: " + "; ".join(skipped) + ".")


def _command(source: str, agent_name: str, where: str) -> Callable[..., None]:
    def command(
        paths: PathOption = None,
        since: SinceOption = None,
        dry_run: DryRunOption = False,
        all_projects: AllProjectsOption = False,
        as_json: JsonOption = False,
        repo: RepoOption = None,
    ) -> None:
        _run(source, paths, since, dry_run, all_projects, as_json, repo)

    command.__doc__ = (
        f"Import {agent_name}'s session history ({where}) as ExecutionEvents.\n\n"
        "Each session's usage becomes one event per model and UTC hour in the log of the "
        "feature its working folder and git branch map to. Importing again adds only "
        "what is new; sessions already recorded by `run` are not counted twice.\n\n"
        "Examples:\n"
        f"  spec-kitty agent telemetry import {source} --dry-run\n\n"
        f"  spec-kitty agent telemetry import {source} --since 2026-11-01 --json\n"
    )
    return command


def register(app: typer.Typer) -> None:
    """Add the ``import`` group and its one command per agent to ``app``."""
    from ._command import Command, CommandLine

    group = typer.Typer(
        cls=CommandLine,
        help="Import agents' own session logs (usage history) into the feature logs.",
        no_args_is_help=True,
    )
    group.command("claude-code", cls=Command)(
        _command(
            "claude-code",
            "Claude Code",
            "$CLAUDE_CONFIG_DIR/projects, ~/.config/claude/projects, ~/.claude/projects",
        )
    )
    group.command("codex", cls=Command)(
        _command("codex", "Codex CLI", "$CODEX_HOME or ~/.codex: sessions/, archived_sessions/")
    )
    group.command("gemini", cls=Command)(
        _command("gemini", "Gemini CLI", "~/.gemini/tmp/<project hash>/chats")
    )
    app.add_typer(group, name="import")
