"""The team-server commands: ``serve`` (and ``serve token create``) and ``sync``.

Thin as every command here: options are parsed, one library function runs.
The server's libraries (FastAPI, uvicorn, psycopg) are imported inside the
commands, so the other commands never load them and work without the
``server`` extra installed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Final

import typer

from ..errors import InvalidOptionError

__all__ = ["DATABASE_URL_ENV", "TOKEN_ENV", "register"]

#: Where ``serve`` and ``serve token create`` find the database when no option names it.
DATABASE_URL_ENV: Final = "SPEC_KITTY_TELEMETRY_DATABASE_URL"
#: Where ``sync`` finds the API token when no ``--token-file`` is given.
TOKEN_ENV: Final = "SPEC_KITTY_TELEMETRY_TOKEN"

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help=f"PostgreSQL URL (postgresql://user@host:port/db); default: ${DATABASE_URL_ENV}.",
        show_default=False,
    ),
]

serve_app = typer.Typer(
    help="Run the team server: the HTTP API over a PostgreSQL store.",
    invoke_without_command=True,
    add_completion=False,
)
token_app = typer.Typer(help="Manage the API tokens of projects.", no_args_is_help=True)
serve_app.add_typer(token_app, name="token")


def _database_url(option: str | None) -> str:
    url = option or os.environ.get(DATABASE_URL_ENV)
    if not url:
        raise InvalidOptionError(
            f"no database given: pass --database-url or set ${DATABASE_URL_ENV} (or use --dev)",
            parameter="database_url",
        )
    return url


@serve_app.callback()
def serve(
    ctx: typer.Context,
    database_url: DatabaseUrlOption = None,
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on.")] = 8000,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Start a throwaway PostgreSQL in a temporary folder (deleted on exit) "
            "and print a token for the project 'dev'.",
        ),
    ] = False,
) -> None:
    """Serve the team API (POST/GET /api/v1/events, /api/v1/cost-summary, /healthz, /docs).

    Applies the database migrations first. Stop it with Ctrl-C.

    Examples:
      spec-kitty agent telemetry serve --database-url postgresql://telemetry@db/telemetry

      spec-kitty agent telemetry serve --dev

      spec-kitty agent telemetry serve token create --project web-shop

    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = database_url
        return
    from ..server.run import serve_dev, serve_forever

    if dev:
        serve_dev(host, port, echo=typer.echo)
    else:
        serve_forever(_database_url(database_url), host, port)


@token_app.command("create")
def create_token(
    ctx: typer.Context,
    project: Annotated[
        str, typer.Option("--project", metavar="NAME", help="The project the token may write.")
    ],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Print a new API token for a project (created if new). It is shown once, stored hashed."""
    from ..postgres_store import open_pool
    from ..server import schema
    from ..server.auth import create_token as make_token

    url = _database_url(database_url or ctx.obj)
    schema.upgrade(url)
    pool = open_pool(url, max_size=1)
    try:
        typer.echo(make_token(pool, project))
    finally:
        pool.close()


def sync(
    server: Annotated[
        str, typer.Option("--server", metavar="URL", help="The team server, http(s)://host:port.")
    ],
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            metavar="PATH",
            help=f"File holding the API token (default: ${TOKEN_ENV}).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be sent; send nothing.")
    ] = False,
    repo: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH", help="Project root (default: the nearest above).", show_default=False
        ),
    ] = None,
) -> None:
    """Push every feature's event log to a team server: resumable, each event sent until stored.

    A sync cut off resumes where the server last confirmed; a second sync
    sends nothing new. The token comes from $SPEC_KITTY_TELEMETRY_TOKEN or --token-file.

    Examples:
      spec-kitty agent telemetry sync --server https://telemetry.example.com

      spec-kitty agent telemetry sync --server http://127.0.0.1:8000 --token-file ~/.telemetry-token

    """
    import sys

    from ..server.sync import sync_project
    from ._project import report_root

    root, _ = report_root(repo)
    token = _token(token_file)
    progress = _progress_bar() if sys.stderr.isatty() and not dry_run else None
    try:
        report = sync_project(root, server, token, dry_run=dry_run, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    for line in report.describe(dry_run=dry_run):
        typer.echo(line)


def _token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise InvalidOptionError(
                f"{token_file}: {exc.strerror}", parameter="token_file"
            ) from None
        if not token:
            raise InvalidOptionError(f"{token_file} is empty", parameter="token_file")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise InvalidOptionError(
            f"no token: set ${TOKEN_ENV} or pass --token-file PATH", parameter="token_file"
        )
    return token


def _progress_bar() -> _Progress:
    return _Progress()


class _Progress:
    """A Rich progress bar of the bytes of log synced, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("sync", total=None)

    def __call__(self, done: int, total: int) -> None:
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        self._bar.stop()


def register(app: typer.Typer) -> None:
    """Add ``serve`` (with ``serve token create``) and ``sync`` to the telemetry group."""
    from ._command import Command

    app.add_typer(serve_app, name="serve")
    app.command("sync", cls=Command)(sync)
