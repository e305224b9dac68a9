"""The team server's ASGI app: FastAPI over one psycopg pool, errors mapped to HTTP once.

:func:`create_app` builds it for one database. Every route is in
``routes.py``; this module owns what is shared: the pool (opened when the
app starts, without waiting for PostgreSQL, so the server comes up while the
database is still starting and recovers when it comes back), the limits, and
how failures become responses. Bad input is a 4xx naming what is wrong; a
database that cannot be reached is a 503 the client may retry; nothing the
client sends can make a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from ..errors import TelemetryError
from ..postgres_store import open_pool

__all__ = ["DEFAULT_LIMITS", "Limits", "create_app"]


@dataclass(frozen=True)
class Limits:
    """How much one request may carry: beyond either, the answer is 413."""

    max_batch_events: int = 1000
    max_body_bytes: int = 8 << 20


DEFAULT_LIMITS: Final = Limits()


def create_app(
    database_url: str, *, limits: Limits = DEFAULT_LIMITS, pool_size: int = 20
) -> FastAPI:
    """Return the server's app for the database at ``database_url`` (its schema migrated)."""
    from . import executions, routes

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = open_pool(database_url, max_size=pool_size, timeout=10.0)
        try:
            yield
        finally:
            app.state.pool.close()

    app = FastAPI(
        title="spec-kitty-telemetry team server",
        version="1",
        summary="Agent execution events of many repositories in one PostgreSQL.",
        lifespan=lifespan,
        # An API has one spelling per route: a path with a stray slash (an id that
        # is "/") is a 404, not a redirect to a route the client did not ask for.
        redirect_slashes=False,
    )
    app.state.limits = limits
    app.include_router(routes.router)
    app.include_router(executions.router)

    @app.exception_handler(TelemetryError)
    async def bad_request(request: Request, exc: TelemetryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "the database is unavailable; retry later"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    return app
