"""The HTTP API: events in and out, the cost summary, health.

Every ``/api/v1`` route is scoped to the project of the request's bearer
token: a project is never named in a URL or a filter, so no request can reach
another project's rows. Events are judged by the line rule every backend
uses (``PostgresEventStore.save_records``), filtered by the CLI's
``EventFilter`` and priced by the library's ``cost_report``: the server has
no rule of its own for any of them.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from ..errors import InvalidEventError
from ..postgres_store import PostgresEventStore
from ..query import EventFilter, parse_time_range
from .app import Limits
from .auth import Project, project_of_token
from .models import BatchResult, EventPage, Health

__all__ = ["router"]

router = APIRouter()

#: Rows read per round trip while a page of filtered events is filled.
_SCAN: Final = 1000


def _pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.pool
    return pool


def _project(request: Request) -> Project:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    project = project_of_token(_pool(request), token.strip())
    if project is None:
        raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
    return project


ProjectDep = Annotated[Project, Depends(_project)]


@router.get("/api/v1/project")
def whoami(project: ProjectDep) -> Any:
    """Name the project the request's token belongs to."""
    return {"project": project.name}


def store_of(request: Request, project: Project) -> PostgresEventStore:
    """Return the store of the request's project."""
    return PostgresEventStore(_pool(request), project.name, project_id=project.id)


@router.get("/healthz", response_model=Health)
def healthz(request: Request) -> Any:
    """Say whether the server is up and reaches its database (503 when it does not)."""
    with _pool(request).connection() as connection:
        connection.execute("SELECT 1")
    return {"status": "ok"}


async def read_body(request: Request, limits: Limits) -> bytes:
    """Return the request's body, or answer 413 as soon as it is longer than allowed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise HTTPException(413, f"the body is over {limits.max_body_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise HTTPException(413, f"the body is over {limits.max_body_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def json_body(body: bytes) -> Any:
    """Decode a JSON body, answering 400 for one that is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"the body is not JSON: {exc}") from None


def batch_of(document: Any, limits: Limits) -> list[Any]:
    """Return the events of a ``{"events": [...]}`` body: 422 for another shape, 413 if too many."""
    if type(document) is not dict or type(document.get("events")) is not list:
        raise HTTPException(422, 'expected a JSON object {"events": [event, ...]}')
    events: list[Any] = document["events"]
    if len(events) > limits.max_batch_events:
        raise HTTPException(
            413, f"{len(events)} events in one batch; at most {limits.max_batch_events}"
        )
    return events


def save_batch(store: PostgresEventStore, events: list[Any]) -> dict[str, int]:
    """Store a batch whole or not at all; 422 names the first bad event and its field."""
    for index, event in enumerate(events):
        try:
            store.check(event)
        except InvalidEventError as exc:
            raise HTTPException(422, _bad_event(index, event, exc)) from None
    try:
        new, duplicates = store.save_records(events)
    except InvalidEventError as exc:  # a value PostgreSQL refuses though the line rule took it
        raise HTTPException(422, {"event": None, "field": None, "message": str(exc)}) from None
    return {"received": len(events), "new": new, "duplicates": duplicates}


def _bad_event(index: int, event: Any, exc: InvalidEventError) -> dict[str, Any]:
    message = str(exc)
    field, sep, _ = message.partition(":")
    ident = event.get("event_id") if type(event) is dict else None
    return {
        "event": index,
        "event_id": ident if type(ident) is str and len(ident) <= 64 else None,
        "field": field if sep and " " not in field else None,
        "message": message,
    }


@router.post(
    "/api/v1/events",
    response_model=BatchResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["events"],
                        "properties": {
                            "events": {
                                "type": "array",
                                "items": {"type": "object"},
                                "description": "Events as log lines hold them.",
                            }
                        },
                    }
                }
            },
        }
    },
)
async def post_events(request: Request, project: ProjectDep) -> Any:
    """Store a batch of events; each id once. One bad event rejects the whole batch (422).

    The answer counts the events that were new and those already stored
    (a retried batch is all duplicates), so a client may resend freely.
    """
    limits: Limits = request.app.state.limits
    events = batch_of(json_body(await read_body(request, limits)), limits)
    return await run_in_threadpool(save_batch, store_of(request, project), events)


def event_filter_of(
    feature: list[str] | None,
    since: str | None,
    until: str | None,
    **fields: Any,
) -> EventFilter:
    """Build the CLI's filter from query parameters (a bad bound raises QueryError: 422)."""
    lower, upper = parse_time_range(since, until)
    return EventFilter(
        feature=tuple(feature) if feature else None, since=lower, until=upper, **fields
    )


FeatureQuery = Annotated[list[str] | None, Query(description="Feature slug or glob; repeatable.")]
TextQuery = Annotated[str | None, Query(max_length=500)]


@router.get("/api/v1/events", response_model=EventPage)
def get_events(
    request: Request,
    project: ProjectDep,
    feature: FeatureQuery = None,
    wp: TextQuery = None,
    agent: TextQuery = None,
    model: TextQuery = None,
    role: TextQuery = None,
    type: TextQuery = None,
    since: TextQuery = None,
    until: TextQuery = None,
    success: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
) -> Any:
    """Return a page of the project's events in the order they were stored, and the next cursor.

    Filters are the CLI's (``events``): all given must match. Pass
    ``next_cursor`` back as ``cursor`` for the next page; it is null at the end.
    """
    filters = event_filter_of(
        feature,
        since,
        until,
        wp_id=wp,
        agent=agent,
        model=model,
        role=role,
        event_type=type,
        success=success,
    )
    store = store_of(request, project)
    after = int(cursor) if cursor is not None else 0
    page, next_cursor = store.page(after, limit, filters.predicate, scan=_SCAN)
    return {"events": page, "next_cursor": None if next_cursor is None else str(next_cursor)}


#: ``?by=`` of the scoreboard: the grouping ``scoreboard --by`` takes.
_BY: Final = r"^(agent|model|role)$"


def _records_of(store: PostgresEventStore) -> Any:
    """Read ``store`` for a library report: the records a filter selects, streamed."""

    def read(filters: EventFilter) -> Any:
        predicate = filters.predicate
        records = store.iter_records()
        return records if predicate is None else (r for r in records if predicate(r))

    return read


@router.get("/api/v1/scoreboard")
def scoreboard(
    request: Request,
    project: ProjectDep,
    window: Annotated[str, Query(pattern=r"^(24h|7d|30d|90d|all)$")] = "7d",
    by: Annotated[str | None, Query(max_length=40, pattern=_BY)] = None,
) -> Any:
    """Return the scoreboard of the project's events: the document ``scoreboard --json`` prints.

    The analytics package's own scoreboard over the store's records, priced by
    the shipped tables (as ``cost-summary``).
    """
    from ..analytics.scoreboard import scoreboard_of
    from ..pricing import load_pricing

    groups = (by,) if by else ()
    read = _records_of(store_of(request, project))
    board = scoreboard_of(read, window, by=groups, pricing=load_pricing())
    return JSONResponse(board.to_dict())


@router.get("/api/v1/dashboard")
def dashboard(
    request: Request,
    project: ProjectDep,
    weeks: Annotated[int, Query(ge=1, le=52)] = 8,
    until: TextQuery = None,
) -> Any:
    """Return per ISO week (the last ``weeks``, ``until``'s included) its scoreboard total.

    Each week's row is its scoreboard total (work packages completed, mean
    duration, total cost, mean rework cycles, cost per completed work package),
    oldest week first. ``until`` (an ISO date or datetime, default now) ends
    the last week, as ``--until`` ends a report.
    """
    from datetime import UTC, datetime, timedelta

    from ..analytics.scoreboard import scoreboard_of
    from ..pricing import load_pricing
    from ..query import _upper_bound, parse_time_bound

    now = datetime.now(UTC)
    if until is not None:
        now = _upper_bound(parse_time_bound(until, "until")) or now
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    read = _records_of(store_of(request, project))
    pricing = load_pricing()
    rows = []
    for back in range(weeks - 1, -1, -1):
        start = monday - timedelta(weeks=back)
        end = min(start + timedelta(weeks=1) - timedelta(microseconds=1), now)
        total = scoreboard_of(read, "all", end, pricing=pricing, start=start).to_dict()["total"]
        year, week, _ = start.isocalendar()
        rows.append({"week": f"{year}-W{week:02d}", "start": start.isoformat(), **total})
    return JSONResponse({"weeks": rows})


@router.get("/api/v1/cost-summary")
def cost_summary(
    request: Request,
    project: ProjectDep,
    group_by: Annotated[str, Query(max_length=40)] = "agent",
    feature: FeatureQuery = None,
    wp: TextQuery = None,
    agent: TextQuery = None,
    model: TextQuery = None,
    role: TextQuery = None,
    since: TextQuery = None,
    until: TextQuery = None,
    success: bool | None = None,
) -> Any:
    """Return the cost report of the project's events: the document ``cost --json`` prints.

    Priced by the shipped tables (a project's own price overrides live in its
    repository, which the server does not have).
    """
    from ..cost import cost_report
    from ..pricing import load_pricing

    filters = event_filter_of(
        feature, since, until, wp_id=wp, agent=agent, model=model, role=role, success=success
    )
    predicate = filters.predicate
    records = store_of(request, project).iter_records()
    if predicate is not None:
        records = (r for r in records if predicate(r))
    # The cost module orders the rows as `cost` does (periods oldest first).
    report = cost_report(records, group_by, pricing=load_pricing())
    return JSONResponse(report.to_dict())


@router.post(
    "/v1/logs",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def post_otlp_logs(request: Request, project: ProjectDep) -> Any:
    """OTLP/HTTP logs intake (JSON or protobuf, optionally gzip): agents' own usage records.

    Claude Code's ``claude_code.api_request`` and Codex's completed responses
    become ExecutionEvents of the token's project; other records are accepted
    and dropped. A retried export stores nothing twice. Records that cannot be
    recorded (no time) are counted in ``partialSuccess``.
    """
    from . import otlp

    limits: Limits = request.app.state.limits
    content_type = request.headers.get("content-type", "")
    body = await read_body(request, limits)
    try:
        document = otlp.decode(
            body, content_type, request.headers.get("content-encoding", ""), limits.max_body_bytes
        )
        found = otlp.intake(document)
    except otlp.OtlpError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    if found.executions:
        store = store_of(request, project)
        await run_in_threadpool(store.append_records, found.build)
    kind = otlp.PROTOBUF if content_type.lower().startswith(otlp.PROTOBUF) else otlp.JSON
    return Response(otlp.response_body(found, content_type), media_type=kind)
