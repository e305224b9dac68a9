"""Reading events back: filters, one feature's log, or every log of a project.

A project keeps one log per feature, ``kitty-specs/<feature>/execution.events.jsonl``.
The functions over one feature take its folder or any
:class:`~spec_kitty_telemetry.store.EventStore`; the project-wide ones take
the project's root and read each feature's store (``project.project_stores``).
Every read goes through :meth:`EventStore.iter_records`. The ``query_*``
functions return events sorted in causal order (Lamport clock, then node
id); the ``iter_*`` functions stream them unsorted, for folds over large
projects that must not hold every event in memory. Filters are applied
to the raw records, so events that do not match are never built.
"""

from __future__ import annotations

import fnmatch
import heapq
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._model_names import canonical_model_name
from .config import find_project_root
from .errors import QueryError
from .project import SPECS_DIRNAME, project_stores, store_for
from .store import EventStore

if TYPE_CHECKING:
    from .events import Event

__all__ = [
    "SPECS_DIRNAME",
    "EventFilter",
    "feature_logs",
    "iter_execution_events",
    "iter_feature_records",
    "iter_project_events",
    "iter_project_records",
    "parse_time_bound",
    "parse_time_range",
    "query_execution_events",
    "query_project_events",
    "record_order",
    "resolve_repo_root",
    "unmatched_features",
]

logger = logging.getLogger(__name__)

Record = dict[str, Any]


def record_order(record: Mapping[str, Any]) -> tuple[int, str, str]:
    """Sort key of a raw record: the same causal order as ``store.causal_order``."""
    return (record["lamport_clock"], record["node_id"], record["event_id"])


@dataclass(frozen=True)
class EventFilter:
    """Which events a query returns; every field is optional and all given fields must match.

    ``feature`` is a feature slug or a glob (``"00*-cost-*"``), or several (any
    may match); it is matched against the event's ``aggregate_id``, which is
    the feature's folder name, and when querying a project it also selects
    which folders are read. ``wp_id``, ``agent``, ``role`` and ``success`` are
    compared with the payload's fields. ``model`` matches by canonical name
    (``sonnet`` matches ``claude-sonnet-4.5``), against the event's model or
    any model in its per-model breakdown, under ``model_aliases`` (default:
    the agent CLIs' aliases; pass ``pricing.load_aliases(root)`` for a
    project's own). ``since`` and ``until`` bound the event's timestamp: naive
    datetimes are UTC, a date alone means the whole day, and both bounds are
    inclusive. ``tags`` (key to value) must all be among the event's
    ``payload["tags"]``, exactly as written.
    """

    event_type: str | None = None
    feature: str | Sequence[str] | None = None
    wp_id: str | None = None
    agent: str | None = None
    model: str | None = None
    role: str | None = None
    since: datetime | date | None = None
    until: datetime | date | None = None
    success: bool | None = None
    tags: Mapping[str, str] | None = field(default=None, hash=False)
    model_aliases: Mapping[str, str] | None = field(default=None, compare=False)

    @cached_property
    def features(self) -> tuple[str, ...]:
        """The feature patterns, as a tuple (empty: every feature)."""
        if self.feature is None:
            return ()
        if isinstance(self.feature, str):
            return (self.feature,)
        return tuple(self.feature)

    def selects_feature(self, slug: str) -> bool:
        """Whether events of the feature ``slug`` can match (its folder is worth reading)."""
        return not self.features or any(
            fnmatch.fnmatchcase(slug, pattern) for pattern in self.features
        )

    def matches(self, event: Event | Mapping[str, Any]) -> bool:
        """Whether an event (or its stored record) passes the filter."""
        record = event if isinstance(event, Mapping) else event.to_dict()
        predicate = self.predicate
        return predicate is None or predicate(record)

    @cached_property
    def predicate(self) -> Callable[[Mapping[str, Any]], bool] | None:
        """A test of raw records compiled from the given fields; None when nothing is filtered."""
        checks: list[Callable[[Mapping[str, Any]], bool]] = []
        if self.event_type is not None:
            wanted_type = self.event_type
            checks.append(lambda r: r["event_type"] == wanted_type)
        if self.features:
            known: dict[str, bool] = {}

            def in_features(r: Mapping[str, Any]) -> bool:
                slug = r["aggregate_id"]
                verdict = known.get(slug)
                if verdict is None:
                    verdict = known[slug] = self.selects_feature(slug)
                return verdict

            checks.append(in_features)
        for name in ("wp_id", "agent", "role", "success"):
            value = getattr(self, name)
            if value is not None:
                checks.append(_payload_equals(name, value))
        if self.model is not None:
            aliases = self.model_aliases
            if aliases is None:
                from ._model_names import AGENT_ALIASES

                aliases = AGENT_ALIASES
            checks.append(_uses_model(canonical_model_name(self.model, aliases), aliases))
        if self.tags:
            checks.append(_has_tags(dict(self.tags)))
        if self.since is not None or self.until is not None:
            checks.append(_within(_lower_bound(self.since), _upper_bound(self.until)))
        if not checks:
            return None
        if len(checks) == 1:
            return checks[0]
        return lambda r: all(check(r) for check in checks)


def _payload_equals(name: str, value: object) -> Callable[[Mapping[str, Any]], bool]:
    return lambda r: r["payload"].get(name) == value


def _has_tags(wanted: dict[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    def check(r: Mapping[str, Any]) -> bool:
        tags = r["payload"].get("tags")
        return isinstance(tags, dict) and all(tags.get(k) == v for k, v in wanted.items())

    return check


def _uses_model(wanted: str, aliases: Mapping[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    known: dict[str, bool] = {}

    def same(raw: object) -> bool:
        if not isinstance(raw, str):
            return False
        verdict = known.get(raw)
        if verdict is None:
            verdict = known[raw] = canonical_model_name(raw, aliases) == wanted
        return verdict

    def check(r: Mapping[str, Any]) -> bool:
        payload = r["payload"]
        if same(payload.get("model")):
            return True
        breakdown = payload.get("models")
        return isinstance(breakdown, dict) and any(same(name) for name in breakdown)

    return check


def _within(lower: datetime | None, upper: datetime | None) -> Callable[[Mapping[str, Any]], bool]:
    def check(r: Mapping[str, Any]) -> bool:
        try:
            stamp = datetime.fromisoformat(r["timestamp"])
        except (TypeError, ValueError):
            return False
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return (lower is None or stamp >= lower) and (upper is None or stamp <= upper)

    return check


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _lower_bound(bound: datetime | date | None) -> datetime | None:
    if bound is None:
        return None
    if isinstance(bound, datetime):
        return _as_utc(bound)
    return datetime.combine(bound, time.min, tzinfo=UTC)


def _upper_bound(bound: datetime | date | None) -> datetime | None:
    if bound is None:
        return None
    if isinstance(bound, datetime):
        return _as_utc(bound)
    # The whole day: up to its last representable instant.
    return datetime.combine(bound, time.min, tzinfo=UTC) + timedelta(days=1, microseconds=-1)


def parse_time_bound(text: str, name: str = "time") -> datetime | date:
    """Parse an ISO 8601 date (``2025-11-03``, ``20251103``) or datetime (``2025-11-03T14:00``).

    A date, in either form, stays a date (the whole day), never midnight.
    Raises QueryError whose ``parameter`` is ``name`` when ``text`` is neither.
    """
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"not an ISO 8601 date or datetime: {text!r} "
            "(expected e.g. 2025-11-03 or 2025-11-03T14:00:00Z)",
            parameter=name,
        ) from None


def parse_time_range(
    since: str | None, until: str | None
) -> tuple[datetime | date | None, datetime | date | None]:
    """Parse the ``since`` and ``until`` bounds; raise QueryError when since is after until."""
    lower = None if since is None else parse_time_bound(since, "since")
    upper = None if until is None else parse_time_bound(until, "until")
    start, end = _lower_bound(lower), _upper_bound(upper)
    if start is not None and end is not None and start > end:
        raise QueryError(
            f"{since} is later than the until bound {until}: no event can match "
            "(both bounds are inclusive; a date means its whole day)",
            parameter="since",
        )
    return lower, upper


def unmatched_features(repo_root: str | Path, patterns: Sequence[str]) -> list[str]:
    """Return the feature patterns that match no feature folder with an event log."""
    slugs = [slug for slug, _store in project_stores(repo_root)]
    return [
        pattern
        for pattern in patterns
        if not any(fnmatch.fnmatchcase(slug, pattern) for slug in slugs)
    ]


def resolve_repo_root(repo: str | Path | None = None) -> Path:
    """Return the project to report on: ``repo``, else the nearest project above the cwd.

    The nearest project is the closest folder holding ``kitty-specs/`` or
    ``.kittify/``; with none, the current directory (which then has no events).
    Raises QueryError when ``repo`` is given but is not a directory.
    """
    if repo is not None:
        path = Path(repo)
        if not path.is_dir():
            raise QueryError(f"not a directory: {path}", parameter="repo")
        return path.resolve()
    return find_project_root() or Path.cwd()


def feature_logs(repo_root: str | Path, filters: EventFilter | None = None) -> list[Path]:
    """List the event logs of a project's features (those ``filters`` selects), by folder."""
    return [store.path for _slug, store in project_stores(repo_root, _selector(filters))]


def _selector(filters: EventFilter | None) -> Callable[[str], bool] | None:
    return None if filters is None or not filters.features else filters.selects_feature


def iter_feature_records(
    feature_dir: str | Path | EventStore, filters: EventFilter | None = None
) -> Iterator[Record]:
    """Stream one feature's matching events as raw records (``EventStore.iter_records``).

    ``feature_dir`` is the feature's folder, or any store.
    """
    return _matching(store_for(feature_dir), filters)


def _matching(store: EventStore, filters: EventFilter | None) -> Iterator[Record]:
    records = store.iter_records()
    predicate = None if filters is None else filters.predicate
    if predicate is None:
        return records
    return (record for record in records if predicate(record))


def iter_project_records(
    repo_root: str | Path, filters: EventFilter | None = None
) -> Iterator[Record]:
    """Stream every matching event of a project as raw records, feature by feature, unsorted."""
    for _slug, store in project_stores(repo_root, _selector(filters)):
        yield from _matching(store, filters)


def iter_execution_events(
    feature_dir: str | Path | EventStore, filters: EventFilter | None = None
) -> Iterator[Event]:
    """Stream one feature's matching events (its folder's or a store's), unsorted.

    Only matching records become Events.
    """
    return _as_events(iter_feature_records(feature_dir, filters))


def iter_project_events(
    repo_root: str | Path, filters: EventFilter | None = None
) -> Iterator[Event]:
    """Stream every matching event of a project, unsorted; only matching lines become Events."""
    return _as_events(iter_project_records(repo_root, filters))


def query_execution_events(
    feature_dir: str | Path | EventStore, filters: EventFilter | None = None
) -> list[Event]:
    """One feature's matching events (its folder's or a store's) in causal order.

    A missing log gives an empty list.
    """
    return sorted(iter_execution_events(feature_dir, filters), key=_event_order)


def query_project_events(
    repo_root: str | Path, filters: EventFilter | None = None, *, limit: int | None = None
) -> list[Event]:
    """Every feature's matching events, merged in causal order.

    With ``limit``, only the latest ``limit`` events (still in causal order),
    selected without holding the others. A project without ``kitty-specs/``,
    or with empty feature folders, gives an empty list.
    """
    if limit is None:
        return sorted(iter_project_events(repo_root, filters), key=_event_order)
    # Only the records of the events to return are held, and only those become Events.
    latest = heapq.nlargest(limit, iter_project_records(repo_root, filters), key=record_order)
    return list(_as_events(iter(latest[::-1])))


def _event_order(event: Event) -> tuple[int, str, str]:
    return (event.lamport_clock, event.node_id, event.event_id)


def _as_events(records: Iterator[Record]) -> Iterator[Event]:
    """Build Events from records the store's line rule accepted (so none is rejected here)."""
    from .events import Event

    return map(Event.from_accepted_record, records)
