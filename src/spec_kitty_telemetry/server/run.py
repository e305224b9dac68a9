"""Starting the server: over a given database, or over a throwaway one (``serve --dev``)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType

__all__ = ["serve_dev", "serve_forever"]


def serve_forever(database_url: str, host: str, port: int) -> None:
    """Apply the migrations to ``database_url``, then serve until interrupted."""
    import uvicorn

    from . import schema
    from .app import create_app

    schema.upgrade(database_url)
    uvicorn.run(create_app(database_url), host=host, port=port, log_level="info")


def serve_dev(host: str, port: int, *, echo: Callable[[str], None]) -> None:
    """Serve over a PostgreSQL made for this run in a temporary folder, deleted on exit."""
    import psycopg

    from ..postgres_store import open_pool
    from . import schema
    from .auth import create_token
    from .devdb import TemporaryPostgres

    # uvicorn re-raises the SIGTERM it stopped on once it is done; as an exception,
    # it unwinds through the with-block below, so the cluster is deleted, not orphaned.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with TemporaryPostgres() as cluster:
        with psycopg.connect(cluster.url, autocommit=True) as connection:
            connection.execute("CREATE DATABASE telemetry")
        url = cluster.url_for("telemetry")
        schema.upgrade(url)
        pool = open_pool(url, max_size=1)
        try:
            token = create_token(pool, "dev")
        finally:
            pool.close()
        echo(f"Throwaway PostgreSQL at {url} (deleted when the server stops)")
        echo(f"API token for project 'dev': {token}")
        echo(
            f"Sync a repository: SPEC_KITTY_TELEMETRY_TOKEN={token} "
            f"spec-kitty agent telemetry sync --server http://{host}:{port}"
        )
        serve_forever(url, host, port)


def _exit_on_signal(number: int, frame: FrameType | None) -> None:
    sys.exit(128 + number)
