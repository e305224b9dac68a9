"""Reading events back: filters, one feature's log, or every log of a project.

A project keeps one log per feature, ``kitty-specs/<feature>/execution.events.jsonl``.
The functions over one feature take its folder or any
:class:`~spec_kitty_telemetry.store.EventStore`; the project-wide ones take
the project's root and read each feature's store (``project.project_stores``).
Every read goes through :meth:`EventStore.iter_records`. The ``query_*``
functions return events in order (:func:`query_project_events` says which);
the ``iter_*`` functions stream them unsorted, for folds over large projects
that must not hold every event in memory. Filters are applied to the raw
records, so events that do not match are never built.

Lamport clocks order the events of one log only: each feature's log keeps
its own clock, so clock 40 of one feature says nothing about clock 3 of
another. Across features the only common measure is the wall clock, which
is why the project order merges the features' causal orders by timestamp.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ._log import lazy_logger
from ._model_names import canonical_model_name
from .errors import QueryError
from .project import SPECS_DIRNAME, project_logs, project_stores, resolve_repo_root, store_for
from .store import EventStore, record_order

if TYPE_CHECKING:
    from .events import Event

__all__ = [
    "SPECS_DIRNAME",
    "EventFilter",
    "FilterMiss",
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
    "unmatched_filters",
]

logger = lazy_logger(__name__)

Record = dict[str, Any]


@dataclass(frozen=True)
class EventFilter:
    """Which events a query returns; every field is optional and all given fields must match.

    ``feature`` is a feature slug or a glob (``"00*-cost-*"``), or several (any
    may match); it is matched against the event's ``aggregate_id``, which is
    the feature's folder name, and when querying a project it also selects
    which folders are read. ``wp_id``, ``agent``, ``role`` and ``success`` are
    compared with the payload's fields; ``agent``, ``role`` and
    ``event_type`` ignore case (``Claude`` is ``claude``: agent CLIs and
    templates spell them both ways, while a work package id is written by the
    package itself). ``model`` matches by canonical name
    (``sonnet`` matches ``claude-sonnet-4.5``), against the event's model or
    any model in its per-model breakdown, under ``model_aliases`` (default:
    the agent CLIs' aliases; pass ``pricing.load_aliases(root)`` for a
    project's own). ``since`` and ``until`` bound the event's timestamp: a
    datetime, a date, or ISO 8601 text for either (``"2025-11-10"``, parsed as
    the command line parses ``--since``); naive datetimes are UTC, a date
    alone means the whole day, and both bounds are inclusive. Text that is
    not ISO 8601, or a bound of another type, raises QueryError naming the
    field. ``tags`` (key to value) must all be among the event's
    ``payload["tags"]``, exactly as written.
    """

    event_type: str | None = None
    feature: str | Sequence[str] | None = None
    wp_id: str | None = None
    agent: str | None = None
    model: str | None = None
    role: str | None = None
    since: datetime | date | str | None = None
    until: datetime | date | str | None = None
    success: bool | None = None
    tags: Mapping[str, str] | None = field(default=None, hash=False)
    model_aliases: Mapping[str, str] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Text becomes the date or datetime it names, so the fields read back parsed.
        for name in ("since", "until"):
            object.__setattr__(self, name, _time_bound(getattr(self, name), name))

    @property
    def bounds(self) -> tuple[datetime | date | None, datetime | date | None]:
        """``(since, until)`` as parsed: a date, a datetime or None (never text)."""
        since, until = self.since, self.until
        assert not isinstance(since, str)  # parsed by __post_init__
        assert not isinstance(until, str)
        return since, until

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
        import fnmatch

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
            wanted_type = self.event_type.casefold()
            checks.append(lambda r: r["event_type"].casefold() == wanted_type)
        if self.features:
            known: dict[str, bool] = {}

            def in_features(r: Mapping[str, Any]) -> bool:
                slug = r["aggregate_id"]
                verdict = known.get(slug)
                if verdict is None:
                    verdict = known[slug] = self.selects_feature(slug)
                return verdict

            checks.append(in_features)
        for name in ("wp_id", "success"):
            value = getattr(self, name)
            if value is not None:
                checks.append(_payload_equals(name, value))
        for name in ("agent", "role"):
            text = getattr(self, name)
            if text is not None:
                checks.append(_payload_text_is(name, text))
        if self.model is not None:
            aliases = _aliases(self)
            checks.append(_uses_model(canonical_model_name(self.model, aliases), aliases))
        if self.tags:
            checks.append(_has_tags(dict(self.tags)))
        since, until = _time_bound(self.since, "since"), _time_bound(self.until, "until")
        if since is not None or until is not None:
            checks.append(_within(_lower_bound(since), _upper_bound(until)))
        if not checks:
            return None
        if len(checks) == 1:
            return checks[0]
        return lambda r: all(check(r) for check in checks)


def _payload_equals(name: str, value: object) -> Callable[[Mapping[str, Any]], bool]:
    return lambda r: r["payload"].get(name) == value


def _payload_text_is(name: str, text: str) -> Callable[[Mapping[str, Any]], bool]:
    """Match a payload field equal to ``text`` but for case (a non-string never matches)."""
    wanted = text.casefold()

    def check(r: Mapping[str, Any]) -> bool:
        value = r["payload"].get(name)
        return isinstance(value, str) and value.casefold() == wanted

    return check


def _has_tags(wanted: dict[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    def check(r: Mapping[str, Any]) -> bool:
        tags = r["payload"].get("tags")
        return isinstance(tags, dict) and all(tags.get(k) == v for k, v in wanted.items())

    return check


def _time_bound(value: object, name: str) -> datetime | date | None:
    """Return a since/until bound as given, or parsed from ISO 8601 text; else QueryError."""
    if value is None or isinstance(value, date):  # a datetime is a date too
        return value
    if isinstance(value, str):
        return parse_time_bound(value, name)
    raise QueryError(
        f"expected a date, a datetime or ISO 8601 text, got {type(value).__name__}",
        parameter=name,
    )


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
    import fnmatch

    slugs = [slug for slug, _log in project_logs(repo_root)]
    return [
        pattern
        for pattern in patterns
        if not any(fnmatch.fnmatchcase(slug, pattern) for slug in slugs)
    ]


@dataclass(frozen=True)
class FilterMiss:
    """A filter that no event matches even on its own, and what the events hold instead.

    ``fields`` names the :class:`EventFilter` fields (``("role",)``, or
    ``("since", "until")`` for a time range) and ``values`` what was asked of
    them. ``known`` is what those events hold in that field, sorted: the
    values (for ``model``, canonical names; for ``success``, ``"failure"``
    and ``"success"``), or, for a time range, the first and last timestamp.
    """

    fields: tuple[str, ...]
    values: tuple[object, ...]
    known: tuple[str, ...]


#: The filter fields checked one by one, each with what an event holds in it.
_KNOWN_VALUES: Final[dict[str, Callable[[Mapping[str, Any], Mapping[str, str]], list[str]]]] = {
    "event_type": lambda r, _aliases: [r["event_type"]],
    "wp_id": lambda r, _aliases: _texts(r["payload"].get("wp_id")),
    "agent": lambda r, _aliases: _texts(r["payload"].get("agent")),
    "role": lambda r, _aliases: _texts(r["payload"].get("role")),
    "model": lambda r, aliases: _models_of(r["payload"], aliases),
    "success": lambda r, _aliases: _outcome(r["payload"].get("success")),
}


def _texts(value: object) -> list[str]:
    return [value] if isinstance(value, str) and value else []


def _models_of(payload: Mapping[str, Any], aliases: Mapping[str, str]) -> list[str]:
    breakdown = payload.get("models")
    names = [payload.get("model"), *(breakdown if isinstance(breakdown, dict) else ())]
    return [canonical_model_name(name, aliases) for name in names if isinstance(name, str) and name]


def _outcome(value: object) -> list[str]:
    return ["success"] if value is True else ["failure"] if value is False else []


def unmatched_filters(repo_root: str | Path, filters: EventFilter) -> list[FilterMiss]:
    """Return the filters of ``filters`` that no event matches on its own, with the known values.

    For a query that found nothing: it says which filter is the reason (a
    typo, a role that is spelled otherwise) rather than only that nothing
    matched. The events looked at are those of the features ``filters``
    selects; none there (an empty project, feature patterns matching no
    folder) gives an empty list, as does a query whose every filter matches
    some event (only their combination matches none). The time range counts
    as one filter.
    """
    aliases = _aliases(filters)
    checks: list[tuple[tuple[str, ...], tuple[object, ...], Callable[[Record], bool]]] = []
    for name in _KNOWN_VALUES:
        value = getattr(filters, name)
        if value is not None:
            alone = EventFilter(**{name: value}, model_aliases=aliases).predicate
            assert alone is not None  # a given field always makes a check
            checks.append(((name,), (value,), alone))
    bounds = [(name, getattr(filters, name)) for name in ("since", "until")]
    given = [(name, value) for name, value in bounds if value is not None]
    if given:
        in_range = EventFilter(since=filters.since, until=filters.until).predicate
        assert in_range is not None
        checks.append((tuple(n for n, _ in given), tuple(v for _, v in given), in_range))
    if not checks:
        return []
    matched = [False] * len(checks)
    known: list[set[str]] = [set() for _ in checks]
    first: str | None = None
    last: str | None = None
    seen = False
    scope = EventFilter(feature=filters.feature) if filters.features else None
    for record in iter_project_records(repo_root, scope):
        seen = True
        stamp = _as_utc(datetime.fromisoformat(record["timestamp"])).isoformat()
        first = stamp if first is None or stamp < first else first
        last = stamp if last is None or stamp > last else last
        for index, (fields, _values, check) in enumerate(checks):
            if not matched[index] and check(record):
                matched[index] = True
            if fields[0] in _KNOWN_VALUES:
                known[index].update(_KNOWN_VALUES[fields[0]](record, aliases))
    if not seen:
        return []
    misses = []
    for index, (fields, values, _check) in enumerate(checks):
        if matched[index]:
            continue
        if fields[0] in _KNOWN_VALUES:
            shown = tuple(sorted(known[index], key=lambda text: (text.casefold(), text)))
        else:
            shown = (str(first), str(last))
        misses.append(FilterMiss(fields, values, shown))
    return misses


def _aliases(filters: EventFilter) -> Mapping[str, str]:
    """Return the model aliases ``filters`` reads model names under."""
    if filters.model_aliases is not None:
        return filters.model_aliases
    from ._model_names import AGENT_ALIASES

    return AGENT_ALIASES


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
    repo_root: str | Path,
    filters: EventFilter | None = None,
    *,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[Event]:
    """Every feature's matching events, in the project order; oldest first unless ``newest_first``.

    The project order: within a feature, causal order (``record_order``),
    always; across features, by timestamp (UTC), then the causal key. Built
    from the newest end: the newest event is the latest, by (timestamp,
    Lamport clock, node id, event id), of the features' newest events; the
    one before it is chosen the same way from what remains, and so on. When
    each feature's clocks and timestamps agree, that is every event sorted by
    timestamp; when a machine's wall clock was wrong, its feature's events
    still keep their causal order.

    With ``limit``, only the newest ``limit`` events of that order. Because
    the order is built from the newest end, they are the merge of each
    feature's newest ``limit``: at most that many records are held per
    feature, and only the returned ones become Events. A project without
    ``kitty-specs/``, or with empty feature folders, gives an empty list; a
    ``repo_root`` that is not a folder raises ProjectNotFoundError.
    """
    import heapq

    if limit is not None and limit < 0:
        raise QueryError(f"must be a whole number >= 0, got {limit}", parameter="limit")
    features: list[list[Record]] = []
    for _slug, store in project_stores(repo_root, _selector(filters)):
        records = _matching(store, filters)
        if limit is None:
            features.append(sorted(records, key=record_order, reverse=True))
        else:  # a feature's newest ``limit``, newest first; older ones cannot be chosen
            features.append(heapq.nlargest(limit, records, key=record_order))
    chosen = list(itertools.islice(_newest_first(features), limit))
    if not newest_first:
        chosen.reverse()
    return list(_as_events(iter(chosen)))


def _project_key(record: Mapping[str, Any]) -> tuple[datetime, int, str, str]:
    """Where a feature's newest remaining event stands among the other features' newest."""
    stamp = datetime.fromisoformat(record["timestamp"])  # valid: the line rule checked it
    return (_as_utc(stamp), *record_order(record))


def _newest_first(features: Sequence[Sequence[Record]]) -> Iterator[Record]:
    """Yield the records of features given newest first (causal order), in project order reversed.

    heapq is a smallest-first heap; :class:`_Latest` inverts its comparison.
    A tie on the whole key (one event copied into two logs) goes to the
    feature listed first, so the order never depends on the heap's history.
    """
    import heapq

    heads = [
        _Latest(_project_key(records[0]), index, 0)
        for index, records in enumerate(features)
        if records
    ]
    heapq.heapify(heads)
    while heads:
        head = heads[0]
        records = features[head.feature]
        yield records[head.position]
        following = head.position + 1
        if following < len(records):
            heapq.heapreplace(
                heads, _Latest(_project_key(records[following]), head.feature, following)
            )
        else:
            heapq.heappop(heads)


@dataclass(frozen=True, slots=True)
class _Latest:
    """A feature's newest remaining record, ordered so that the latest comes first on a heap."""

    key: tuple[datetime, int, str, str]
    feature: int
    position: int

    def __lt__(self, other: _Latest) -> bool:
        if self.key != other.key:
            return self.key > other.key
        return self.feature < other.feature


def _event_order(event: Event) -> tuple[int, str, str]:
    return (event.lamport_clock, event.node_id, event.event_id)


def _as_events(records: Iterator[Record]) -> Iterator[Event]:
    """Build Events from records the store's line rule accepted (so none is rejected here)."""
    from .events import Event

    return map(Event.from_accepted_record, records)
