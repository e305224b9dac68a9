"""Executions with phases: the metrics service's model, kept as events.

An execution is a run of an agent on a work package, reported at its
boundaries: a start, a phase completion after each phase, a completion, and
bug-fix records found later. Each report is one event appended to the
project's log (event types :data:`STARTED_EVENT`, :data:`PHASE_EVENT`,
:data:`COMPLETED_EVENT`, :data:`BUG_FIX_EVENT`), carrying the execution's id
(the id of its start event) in ``payload["execution_id"]``; nothing is ever
updated in place, and what ``GET /api/v1/executions`` answers is folded from
those events when it is asked.

Statuses are pinned (:data:`STATUSES`); phase names are the project's own
(``PUT /api/v1/project/phases``), :data:`DEFAULT_PHASES` until it sets them.
A report may carry its ``event_id``: the same id posted again is ignored
(the answer says ``new: false``), so a client retries safely. A report is
judged and appended under the project's append lock, so two completions
racing cannot both land.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from .._lines import utc_timestamp
from .._records import event_record
from ..errors import InvalidEventError
from ..ids import new_event_id, normalize_event_id
from ..postgres_store import PostgresEventStore
from ..query import EventFilter, parse_time_range
from .routes import ProjectDep, store_of

__all__ = [
    "BUG_FIX_EVENT",
    "COMPLETED_EVENT",
    "DEFAULT_PHASES",
    "PHASE_EVENT",
    "STARTED_EVENT",
    "STATUSES",
    "router",
]

STARTED_EVENT: Final = "ExecutionStarted"
PHASE_EVENT: Final = "ExecutionPhaseCompleted"
COMPLETED_EVENT: Final = "ExecutionCompleted"
BUG_FIX_EVENT: Final = "BugFixRecorded"
_TYPES: Final = [STARTED_EVENT, PHASE_EVENT, COMPLETED_EVENT, BUG_FIX_EVENT]
#: The statuses an execution or phase may report (the metrics service's).
STATUSES: Final = ("STARTED", "COMPLETED", "FAILED", "HARD_STOP", "BLOCKED")
#: Phase names of a project that has not set its own.
DEFAULT_PHASES: Final = ("failing_tests", "implement", "verify", "do_no_harm_audit")
_PHASE_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_NODE_ID: Final = "server"

Status = Literal["STARTED", "COMPLETED", "FAILED", "HARD_STOP", "BLOCKED"]
Ending = Literal["COMPLETED", "FAILED", "HARD_STOP", "BLOCKED"]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _event_id(value: str) -> str:
    return normalize_event_id(value)


def _moment(value: str) -> str:
    try:
        return utc_timestamp(value).isoformat()
    except (InvalidEventError, ValueError) as exc:
        raise ValueError(str(exc)) from None


Text = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_nul)]
LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=10_000), AfterValidator(_no_nul)
]
EventId = Annotated[str, StringConstraints(max_length=40), AfterValidator(_event_id)]
Moment = Annotated[str, StringConstraints(max_length=40), AfterValidator(_moment)]
Count = Annotated[int, Field(ge=0, le=2**63 - 1, strict=True)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: EventId | None = Field(None, description="Send one to make a retry harmless.")
    timestamp: Moment | None = Field(
        None, description="When it happened (ISO 8601); now if absent."
    )


class StartBody(_Body):
    """``POST /api/v1/executions``: an execution starts."""

    feature: Text
    wp_id: Text | None = None
    agent: Text | None = None
    role: Text | None = None
    model: Text | None = None


class PhaseBody(_Body):
    """``POST /api/v1/executions/{id}/phases``: a phase of it completed."""

    phase: Annotated[str, StringConstraints(max_length=64)]
    status: Status
    duration_ms: Count | None = None
    notes: LongText | None = None


class CompletionBody(_Body):
    """``POST /api/v1/executions/{id}/completion``: the execution ended."""

    status: Ending
    notes: LongText | None = None


class BugFixBody(_Body):
    """``POST /api/v1/executions/{id}/bug-fixes``: a bug found in what the execution made."""

    description: LongText
    phase: Annotated[str, StringConstraints(max_length=64)] | None = None
    commit: Text | None = None


class PhasesBody(BaseModel):
    """``PUT /api/v1/project/phases``: the project's phase names, in order."""

    model_config = ConfigDict(extra="forbid")

    phases: Annotated[list[str], Field(min_length=1, max_length=50)]


router = APIRouter()


def phases_of(store: PostgresEventStore) -> tuple[str, ...]:
    """Return the project's phase names (the defaults until it sets its own)."""
    with store.pool.connection() as connection:
        row = connection.execute(
            "SELECT phase_names FROM projects WHERE id = %s", (store.project_id,)
        ).fetchone()
    return tuple(row[0]) if row is not None and row[0] else DEFAULT_PHASES


@router.get("/api/v1/project/phases")
def get_phases(request: Request, project: ProjectDep) -> Any:
    """Name the phases the project's executions may report."""
    return {"phases": list(phases_of(store_of(request, project)))}


@router.put("/api/v1/project/phases")
def put_phases(request: Request, project: ProjectDep, body: PhasesBody) -> Any:
    """Set the project's phase names (lowercase identifiers; no duplicates)."""
    for index, name in enumerate(body.phases):
        if not _PHASE_NAME.fullmatch(name):
            raise HTTPException(
                422, f"phases[{index}]: {name[:80]!r} is not a name like do_no_harm_audit"
            )
    if len(set(body.phases)) != len(body.phases):
        raise HTTPException(422, "phases: a name is listed twice")
    store = store_of(request, project)
    with store.pool.connection() as connection:
        connection.execute(
            "UPDATE projects SET phase_names = %s WHERE id = %s", (body.phases, store.project_id)
        )
    return {"phases": body.phases}


def _events(connection: Any, store: PostgresEventStore, execution_id: str) -> list[dict[str, Any]]:
    rows = connection.execute(
        "SELECT line FROM events WHERE project_id = %s AND payload ->> 'execution_id' = %s"
        " AND event_type = ANY(%s) ORDER BY seq",
        (store.project_id, execution_id, _TYPES),
    ).fetchall()
    return [orjson.loads(line) for (line,) in rows]


def _append(
    store: PostgresEventStore,
    execution_id: str,
    event_type: str,
    body: _Body,
    payload: dict[str, Any],
    *,
    feature: str | None = None,
) -> dict[str, Any]:
    """Judge a report against the execution's events and append it, under the project lock."""
    with store.locked() as connection:
        events = _events(connection, store, execution_id)
        if body.event_id is not None and any(e["event_id"] == body.event_id for e in events):
            return {"execution_id": execution_id, "event_id": body.event_id, "new": False}
        if event_type == STARTED_EVENT:
            if events:
                raise HTTPException(409, f"execution {execution_id} is already started")
        else:
            start = next((e for e in events if e["event_type"] == STARTED_EVENT), None)
            if start is None:
                raise HTTPException(404, f"no execution {execution_id}")
            feature = start["aggregate_id"]
            ended = any(e["event_type"] == COMPLETED_EVENT for e in events)
            if ended and event_type in (PHASE_EVENT, COMPLETED_EVENT):
                raise HTTPException(409, f"execution {execution_id} is already complete")
        head = store.head_in(connection)
        event_id = (
            execution_id
            if event_type == STARTED_EVENT
            else body.event_id or new_event_id(after=head.max_event_id)
        )
        record = event_record(
            event_id=event_id,
            event_type=event_type,
            aggregate_id=feature or "",
            payload={"execution_id": execution_id, **payload},
            timestamp=utc_timestamp(body.timestamp) if body.timestamp else datetime.now(UTC),
            node_id=_NODE_ID,
            lamport_clock=(head.max_lamport_clock or 0) + 1,
            causation_id=None if event_type == STARTED_EVENT else execution_id,
        )
        new, _ = store.insert(connection, [record])
        if not new:  # not one of this execution's events (checked above), yet stored
            raise HTTPException(409, f"event id {event_id} is another event's")
    return {"execution_id": execution_id, "event_id": event_id, "new": True}


def _fields(body: BaseModel, *names: str) -> dict[str, Any]:
    return {name: getattr(body, name) for name in names}


@router.post("/api/v1/executions")
async def start_execution(request: Request, project: ProjectDep, body: StartBody) -> Any:
    """Start an execution; its id is the start event's (``event_id`` if sent)."""
    store = store_of(request, project)
    head_id = None if body.event_id else await run_in_threadpool(lambda: store.head().max_event_id)
    execution_id = body.event_id or new_event_id(after=head_id)
    payload = {"status": "STARTED", **_fields(body, "wp_id", "agent", "role", "model")}
    return await run_in_threadpool(
        _append, store, execution_id, STARTED_EVENT, body, payload, feature=body.feature
    )


def _known_id(execution_id: str) -> str:
    try:
        return normalize_event_id(execution_id)
    except ValueError:
        raise HTTPException(404, f"no execution {execution_id[:80]!r}") from None


@router.post("/api/v1/executions/{execution_id}/phases")
async def complete_phase(
    request: Request, project: ProjectDep, execution_id: str, body: PhaseBody
) -> Any:
    """Record that a phase completed (422 for a phase the project does not name)."""
    store = store_of(request, project)
    known = await run_in_threadpool(phases_of, store)
    if body.phase not in known:
        raise HTTPException(
            422, f"phase: {body.phase[:80]!r} is not one of the project's: {', '.join(known)}"
        )
    payload = _fields(body, "phase", "status", "duration_ms", "notes")
    return await run_in_threadpool(
        _append, store, _known_id(execution_id), PHASE_EVENT, body, payload
    )


@router.post("/api/v1/executions/{execution_id}/completion")
async def complete_execution(
    request: Request, project: ProjectDep, execution_id: str, body: CompletionBody
) -> Any:
    """Record how the execution ended (409 once it has)."""
    payload = _fields(body, "status", "notes")
    return await run_in_threadpool(
        _append, store_of(request, project), _known_id(execution_id), COMPLETED_EVENT, body, payload
    )


@router.post("/api/v1/executions/{execution_id}/bug-fixes")
async def record_bug_fix(
    request: Request, project: ProjectDep, execution_id: str, body: BugFixBody
) -> Any:
    """Link a bug fix to the execution that made the bug (allowed after it completed)."""
    payload = _fields(body, "description", "phase", "commit")
    return await run_in_threadpool(
        _append, store_of(request, project), _known_id(execution_id), BUG_FIX_EVENT, body, payload
    )


def fold(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return one execution as the API shows it, from its events in storage order."""
    start = next((e for e in events if e["event_type"] == STARTED_EVENT), None)
    if start is None:
        return None
    end = next((e for e in events if e["event_type"] == COMPLETED_EVENT), None)
    phases = [
        {"event_id": e["event_id"], "timestamp": e["timestamp"], **_without_id(e["payload"])}
        for e in events
        if e["event_type"] == PHASE_EVENT
    ]
    fixes = [
        {"event_id": e["event_id"], "timestamp": e["timestamp"], **_without_id(e["payload"])}
        for e in events
        if e["event_type"] == BUG_FIX_EVENT
    ]
    status = "STARTED"
    if end is not None:
        status = end["payload"]["status"]
    elif phases and phases[-1]["status"] in ("FAILED", "HARD_STOP", "BLOCKED"):
        status = phases[-1]["status"]
    duration = None
    if end is not None:
        elapsed = utc_timestamp(end["timestamp"]) - utc_timestamp(start["timestamp"])
        duration = max(0, round(elapsed.total_seconds() * 1000))
    payload = start["payload"]
    return {
        "execution_id": start["event_id"],
        "feature": start["aggregate_id"],
        **{key: payload.get(key) for key in ("wp_id", "agent", "role", "model")},
        "status": status,
        "started_at": start["timestamp"],
        "completed_at": None if end is None else end["timestamp"],
        "duration_ms": duration,
        "phases": phases,
        "bug_fixes": fixes,
    }


def _without_id(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "execution_id"}


def _all(store: PostgresEventStore) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Return every execution of the project with its start event."""
    groups: dict[str, list[dict[str, Any]]] = {}
    with store.pool.connection() as connection:
        rows = connection.execute(
            "SELECT line FROM events WHERE project_id = %s AND event_type = ANY(%s) ORDER BY seq",
            (store.project_id, _TYPES),
        ).fetchall()
    for (line,) in rows:
        record = orjson.loads(line)
        key = record["payload"].get("execution_id")
        if type(key) is str:
            groups.setdefault(key, []).append(record)
    found = []
    for events in groups.values():
        execution = fold(events)
        if execution is not None:
            found.append((events[0], execution))
    return found


FilterText = Annotated[str | None, Query(max_length=200)]


@router.get("/api/v1/executions")
def list_executions(
    request: Request,
    project: ProjectDep,
    wp: FilterText = None,
    status: Status | None = None,
    since: FilterText = None,
    until: FilterText = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """List executions, newest start first: by work package, status, start date.

    ``since`` and ``until`` are the CLI's bounds (inclusive; a date is its
    whole day), applied to the start event by the CLI's own filter.
    """
    lower, upper = parse_time_range(since, until)  # QueryError: a 422 naming the bound
    in_range = EventFilter(since=lower, until=upper).predicate
    found = []
    for start, execution in _all(store_of(request, project)):
        if wp is not None and execution["wp_id"] != wp:
            continue
        if status is not None and execution["status"] != status:
            continue
        if in_range is not None and not in_range(start):
            continue
        found.append(execution)
    found.sort(key=lambda e: (e["started_at"], e["execution_id"]), reverse=True)
    return {"executions": found[:limit]}


@router.get("/api/v1/executions/{execution_id}")
def get_execution(request: Request, project: ProjectDep, execution_id: str) -> Any:
    """Show one execution with its phases and bug fixes (404 for another project's)."""
    store = store_of(request, project)
    with store.pool.connection() as connection:
        execution = fold(_events(connection, store, _known_id(execution_id)))
    if execution is None:
        raise HTTPException(404, f"no execution {execution_id[:80]!r}")
    return execution
