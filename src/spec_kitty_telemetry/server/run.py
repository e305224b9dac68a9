"""Starting the server: over a given database, or over a throwaway one (``serve --dev``)."""

from __future__ import annotations

from collections.abc import Callable

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
