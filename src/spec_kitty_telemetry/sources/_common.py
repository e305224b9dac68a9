"""What every session-log importer shares: usage pieces, hour segments, ids, the write.

An importer (one module per agent) reads its agent's files and yields
:class:`Piece` objects, one per API response, each counted once with the
package's token semantics. Everything after that is the same for every agent
and lives here:

* **Granularity.** Pieces are summed into one ``ExecutionEvent`` per session,
  role (main session or subagent), model, working folder, git branch and UTC
  hour. A real session makes hundreds of responses an hour; one line each
  would grow a committed log by megabytes for no report the package has,
  while an hour still places usage on the day and time reports group by.
* **Idempotency.** An event's id is derived from the source's own ids (agent,
  session id, and the segment's key), never from the import's history, so
  importing the same files twice, on two branches or two machines, makes the
  same ids, and a union merge of the logs keeps one. An hour is imported only
  once it is over (plus :data:`GRACE` for responses still streaming), so an
  event never stands for part of an hour: a session that grew adds the new
  hours only.
* **Runs recorded otherwise.** A session whose id is already on an event that
  ``run`` or a hook recorded (``payload.session_id``, any source but an
  importer) is skipped whole: its usage is in the log already.

Records are made by ``_records`` (the writers' validation and redaction) and
written through the store interface (``EventStore.save_events``), which
keeps an event whose id is already stored untouched.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO
from operator import attrgetter, itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NamedTuple, ParamSpec, TypeVar

import orjson

from .._lines import utc_timestamp
from .._records import EXECUTION_EVENT, event_record, execution_payload
from ..clock import next_timestamp
from ..config import load_config
from ..ids import _encode
from ..project import SPECS_DIRNAME, feature_store, project_stores
from ..usage import CACHE_WRITE_1H_FIELD, COST_FIELD, TOKEN_FIELDS, Usage, counts_valid, lenient
from ._mapping import SessionMapper

__all__ = [
    "GRACE",
    "SOURCE_PREFIX",
    "Counts",
    "FileProblem",
    "ImportSummary",
    "Piece",
    "SourceRead",
    "cyclic_gc_paused",
    "import_pieces",
    "iter_blocks",
    "json_objects",
    "segment_id",
    "skimmer",
    "without_cyclic_gc",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")
#: ``payload.source`` of an imported event starts with this, then the importer's name.
SOURCE_PREFIX: Final = "import:"
#: How long after an hour ends its responses may still be streaming in.
GRACE: Final = timedelta(minutes=10)
_HOUR: Final = timedelta(hours=1)
_MALFORMED_LISTED: Final = 20
_BLOCK: Final = 4 << 20
#: How a whole object's line ends: ``}``, then its newline (none on a last line), CR allowed.
_CLOSINGS: Final = (b"}\n", b"}\r\n", b"}", b"}\r")


#: Token counts in :data:`~spec_kitty_telemetry.usage.TOKEN_FIELDS` order (None: not reported).
Counts = tuple[int | None, int | None, int | None, int | None, int | None]
_NO_EXTRA: Final[Mapping[str, int]] = MappingProxyType({})


class Piece(NamedTuple):
    """The usage of one API response, counted once, in the package's token semantics.

    A named tuple holding the counts as a tuple, not a frozen dataclass
    holding a :class:`Usage`: an import makes one piece per response, and
    building two dataclasses each cost about as much as parsing the
    response's line (the importers' speed target is 2x that parse). The
    counts are checked with ``usage.read_count``/``counts_valid`` when the
    piece is made; :attr:`usage` gives them as a ``Usage``.
    """

    #: When the response was made, in UTC (what ``parse_moment`` returns).
    at: datetime
    session_id: str
    model: str
    counts: Counts
    cwd: str | None = None
    branch: str | None = None
    #: For agents that log no folder (Gemini CLI): SHA-256 of the project root's path.
    project_hash: str | None = None
    #: ``session`` for the main conversation, ``subagent`` for a sidechain or subagent.
    role: str = "session"
    #: Figures a source reports beyond the usage fields (kept raw, for re-pricing later).
    extra: Mapping[str, int] = _NO_EXTRA
    #: What the usage rules dropped from this response's figures, and why.
    notes: tuple[str, ...] = ()

    @property
    def usage(self) -> Usage:
        """The counts as the package's :class:`Usage` (no cost: importers read none)."""
        return Usage(*self.counts)


@dataclass(frozen=True)
class FileProblem:
    """A file (and line, when one) that an importer could not read in full."""

    path: Path
    line: int | None
    what: str

    def describe(self) -> str:
        """One line naming the file and line."""
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.what}"


@dataclass
class SourceRead:
    """What an importer read: its pieces, and what it had to skip."""

    files: int = 0
    lines: int = 0
    pieces: list[Piece] = field(default_factory=list)
    malformed: list[FileProblem] = field(default_factory=list)
    unreadable: list[FileProblem] = field(default_factory=list)
    #: API responses seen more than once (streamed copies), counted once.
    duplicates: int = 0
    #: Lines of calls that are not API calls (Claude Code's ``<synthetic>`` model).
    synthetic: int = 0


#: A piece's fields by place (a named tuple's ``itemgetter`` is cheaper than its attributes).
_AT, _EXTRA, _NOTES = itemgetter(0), itemgetter(8), itemgetter(9)


@dataclass
class _Segment:
    """The pieces of one event: a session's role, model, folder and branch in one UTC hour.

    The pieces are only gathered while reading; their figures are summed
    once per segment, column by column (``zip``, ``sum``), which costs far
    less per response than adding each piece's counts as it comes.
    """

    key: tuple[str, ...]
    start: datetime
    piece: Piece
    #: The segment's working folder: the piece's, or the project folder its hash names.
    cwd: str | None
    pieces: list[Piece] = field(default_factory=list)

    def totals(self) -> dict[str, int | None]:
        """Return each count summed over the pieces (None when no piece reported it)."""
        columns = zip(*map(attrgetter("counts"), self.pieces), strict=True)
        return {
            name: None if column.count(None) == len(column) else sum(filter(None, column))
            for name, column in zip(TOKEN_FIELDS, columns, strict=True)
        }

    def extra(self) -> dict[str, int]:
        """Return the pieces' extra figures, summed by name."""
        summed: dict[str, int] = {}
        for extra in filter(None, map(_EXTRA, self.pieces)):  # most pieces have none
            for name, value in extra.items():
                summed[name] = summed.get(name, 0) + value
        return summed

    def notes(self) -> list[str]:
        """Return what the usage rules dropped from the pieces' figures, in order."""
        return [note for notes in filter(None, map(_NOTES, self.pieces)) for note in notes]

    def last(self) -> datetime:
        """Return when the segment's last response was made."""
        latest: datetime = max(map(_AT, self.pieces))
        return latest


@dataclass
class ImportSummary:
    """What an import did or, with ``dry_run``, would do; the ``--json`` document."""

    source: str
    dry_run: bool
    files: int = 0
    lines: int = 0
    responses: int = 0
    duplicate_responses: int = 0
    synthetic_lines: int = 0
    malformed: list[FileProblem] = field(default_factory=list)
    unreadable: list[FileProblem] = field(default_factory=list)
    #: Events written (or, in a dry run, that would be), and those already in the logs.
    events_new: int = 0
    events_present: int = 0
    #: Hours not over yet (their responses are imported by a later run).
    segments_open: int = 0
    sessions: int = 0
    sessions_other_projects: int = 0
    sessions_recorded_by_run: int = 0
    #: Usage of the new events, per feature and in total.
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))
    features: dict[str, dict[str, int]] = field(default_factory=dict)

    def add_new(self, feature: str, figures: Mapping[str, int | None]) -> None:
        """Count one new event's figures into the totals and its feature's."""
        self.events_new += 1
        per = self.features.setdefault(feature, {"events": 0, **dict.fromkeys(TOKEN_FIELDS, 0)})
        per["events"] += 1
        for name in TOKEN_FIELDS:
            value = figures.get(name) or 0
            self.totals[name] += value
            per[name] += value

    def to_dict(self) -> dict[str, Any]:
        """Return the ``--json`` document (problems as ``path:line: what`` lines)."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "files": self.files,
            "lines": self.lines,
            "responses": self.responses,
            "duplicate_responses": self.duplicate_responses,
            "synthetic_lines": self.synthetic_lines,
            "malformed_lines": len(self.malformed),
            "malformed": [p.describe() for p in self.malformed[:_MALFORMED_LISTED]],
            "unreadable_files": [p.describe() for p in self.unreadable],
            "sessions": self.sessions,
            "sessions_other_projects": self.sessions_other_projects,
            "sessions_recorded_by_run": self.sessions_recorded_by_run,
            "segments_open": self.segments_open,
            "events_new": self.events_new,
            "events_present": self.events_present,
            "totals": dict(self.totals),
            "features": {name: dict(per) for name, per in sorted(self.features.items())},
        }


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while reading transcripts, then restore it.

    A read parses hundreds of thousands of lines into dicts that reference
    counting frees at once, and keeps one small tuple per response: nothing
    that forms a cycle, so the collector, which runs every few hundred new
    containers and walks the kept ones, finds nothing and costs about a
    tenth of the read (measured, 2026-12-02: Claude Code reader 2.53x ->
    2.29x the floor, Codex 2.09x -> 1.82x, CPU time). It is left as it was
    found, disabled or not.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def without_cyclic_gc(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``function`` inside :func:`cyclic_gc_paused`: the importers' readers are wrapped so."""

    @functools.wraps(function)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with cyclic_gc_paused():
            return function(*args, **kwargs)

    return paused


def segment_id(source: str, key: Iterable[str], start: datetime) -> str:
    """Return the event id of a segment: a ULID of its hour and a hash of the source's ids.

    The first 48 bits are the hour's start in milliseconds (so ids sort by
    time, as the emitters' do), the other 80 a BLAKE2b digest of the
    importer's name and the segment key: the same segment always gets the
    same id, and two segments practically never share one.
    """
    digest = hashlib.blake2b("\x1f".join((source, *key)).encode(), digest_size=10).digest()
    millis = int(start.timestamp() * 1000)
    return _encode((millis << 80) | int.from_bytes(digest, "big"))


def parse_moment(value: object) -> datetime | None:
    """Read a source's ISO 8601 timestamp (``Z`` or an offset; naive is UTC), else None."""
    if not isinstance(value, str):
        return None
    try:
        return utc_timestamp(value)
    except ValueError:
        return None


def lower_bound(since: datetime | date | None) -> datetime | None:
    """``since`` as the first instant it admits (a date means from its midnight UTC)."""
    if since is None:
        return None
    if isinstance(since, datetime):
        return utc_timestamp(since)
    return datetime.combine(since, time.min, tzinfo=UTC)


def home_dir(variable: str, *defaults: str) -> list[Path]:
    """Folders an agent keeps its data in: ``$variable`` (comma-separated) or the defaults."""
    configured = os.environ.get(variable, "").strip()
    if configured:
        return [Path(part).expanduser() for part in configured.split(",") if part.strip()]
    return [Path(default).expanduser() for default in defaults]


@without_cyclic_gc
def import_pieces(
    root: Path,
    source: str,
    agent: str,
    read: SourceRead,
    *,
    since: datetime | date | None = None,
    dry_run: bool = False,
    all_projects: bool = False,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Record the pieces an importer read as ExecutionEvents in the project at ``root``.

    Returns what was (or, with ``dry_run``, would be) imported. Raises
    ConfigError for a bad ``import:`` section, StoreError when a log cannot
    be written.
    """
    mapper = SessionMapper.for_project(root)
    node_id = load_config(root).node_id
    moment = now or datetime.now(UTC)
    first = lower_bound(since)
    summary = ImportSummary(
        source=source,
        dry_run=dry_run,
        files=read.files,
        lines=read.lines,
        duplicate_responses=read.duplicates,
        synthetic_lines=read.synthetic,
        malformed=list(read.malformed),
        unreadable=list(read.unreadable),
    )
    known_ids, run_sessions = _recorded(root)
    segments: dict[tuple[Any, ...], _Segment] = {}
    outside: set[tuple[Any, ...]] = set()  # segment keys less the hour, of other repositories
    sessions: set[str] = set()
    skipped_other: set[str] = set()
    skipped_run: set[str] = set()
    last_session: object = None  # pieces come session by session: look each up once
    recorded = False
    # The last piece's segment, what placed it there and the hour it spans: a run of
    # pieces of one session, model and hour (nearly all of them) skips the key.
    segment: _Segment | None = None
    same: tuple[Any, ...] = ()
    hour_start = hour_end = moment
    for piece in read.pieces:
        at, session, model, _counts, cwd, branch, project_hash, role, _extra, _notes = piece
        if first is not None and at < first:
            continue
        if (
            segment is not None
            and hour_start <= at < hour_end
            and session == same[0]  # text compares by identity first: nearly always shared
            and model == same[1]
            and role == same[2]
            and cwd == same[3]
            and branch == same[4]
            and project_hash == same[5]
        ):
            segment.pieces.append(piece)
            continue
        if session is not last_session:
            last_session = session
            sessions.add(session)
            recorded = session in run_sessions
            if recorded:
                skipped_run.add(session)
        if recorded:
            continue
        where = (
            session,
            role,
            model,
            project_hash or cwd or "",  # what the source logged, not our path
            branch or "",
            (at.year, at.month, at.day, at.hour),  # the UTC hour (pieces are in UTC)
        )
        segment = segments.get(where)
        if segment is None:
            # A new segment: placed once, here, not for each of its responses.
            if where[:5] in outside:
                skipped_other.add(session)
                continue
            cwd = piece.cwd
            if cwd is None and piece.project_hash is not None:
                folder = mapper.folder_for_hash(piece.project_hash)
                cwd = None if folder is None else str(folder)
            if not mapper.place(cwd, piece.branch).in_project and not all_projects:
                outside.add(where[:5])
                skipped_other.add(session)
                continue
            start = at.replace(minute=0, second=0, microsecond=0)
            key = (*where[:5], start.strftime("%Y-%m-%dT%H"))
            segment = segments[where] = _Segment(key, start, piece, cwd)
        segment.pieces.append(piece)
        same = (session, model, role, piece.cwd, branch, project_hash)
        hour_start, hour_end = segment.start, segment.start + _HOUR
    summary.responses = sum(len(segment.pieces) for segment in segments.values())
    summary.sessions = len(sessions)
    summary.sessions_other_projects = len(skipped_other)
    summary.sessions_recorded_by_run = len(skipped_run)

    by_feature: dict[str, list[dict[str, Any]]] = {}
    done = 0
    identified = sorted(
        ((segment_id(source, s.key, s.start), s) for s in segments.values()),
        key=lambda item: item[0],
    )
    for event_id, segment in identified:
        done += 1
        if progress is not None:
            progress(done)
        if segment.start + _HOUR + GRACE > moment:
            summary.segments_open += 1
            continue
        if event_id in known_ids:
            summary.events_present += 1
            continue
        placement = mapper.place(segment.cwd, segment.piece.branch)
        payload = _payload(source, agent, segment, placement.wp_id)
        summary.add_new(placement.feature, payload)
        by_feature.setdefault(placement.feature, []).append(
            {"event_id": event_id, "payload": payload, "at": segment.start}
        )
    if not dry_run:
        for feature, events in sorted(by_feature.items()):
            _write(root / SPECS_DIRNAME / feature, feature, events, node_id)
    return summary


def _payload(source: str, agent: str, segment: _Segment, wp_id: str | None) -> dict[str, Any]:
    piece = segment.piece
    usage, notes = lenient(segment.totals())
    notes = [*dict.fromkeys([*segment.notes(), *notes])]
    summed = segment.extra()
    hour = summed.get(CACHE_WRITE_1H_FIELD)
    if hour and not counts_valid(
        cache_write_tokens=usage.cache_write_tokens, cache_write_1h_tokens=hour
    ):  # the cache writes they are part of were dropped
        del summed[CACHE_WRITE_1H_FIELD]
        notes.append(f"{CACHE_WRITE_1H_FIELD} {hour} without their cache writes: dropped")
    extra: dict[str, Any] = {
        "source": f"{SOURCE_PREFIX}{source}",
        "session_id": piece.session_id,
        "responses": len(segment.pieces),
        "last_response_at": segment.last().isoformat(),
    }
    if segment.cwd:
        extra["cwd"] = segment.cwd
    if piece.branch:
        extra["git_branch"] = piece.branch
    extra.update(summed)
    if notes:
        extra["usage_error"] = "; ".join(notes)
    figures = usage.to_dict()
    figures.pop(COST_FIELD)
    return execution_payload(
        agent=agent,
        role=piece.role,
        wp_id=wp_id,
        model=piece.model or None,
        duration_ms=None,
        success=True,
        error=None,
        exit_code=None,
        **figures,
        **extra,
    )


def _write(folder: Path, feature: str, events: list[dict[str, Any]], node_id: str) -> int:
    """Save the events in the feature's log under one lock; return how many were new."""
    from ..events import Event

    store = feature_store(folder)
    lamport = next_timestamp(store.head().max_lamport_clock or 0)
    built = [
        Event.from_dict(
            event_record(
                event_id=item["event_id"],
                event_type=EXECUTION_EVENT,
                aggregate_id=feature,
                payload=item["payload"],
                timestamp=item["at"],
                node_id=node_id,
                lamport_clock=lamport,
            )
        )
        for item in events
    ]
    return store.save_events(built)


def _recorded(root: Path) -> tuple[set[str], set[str]]:
    """Every event id in the project's logs, and the session ids runs and hooks recorded."""
    ids: set[str] = set()
    sessions: set[str] = set()
    for _feature, store in project_stores(root):
        for record in store.iter_records():
            ids.add(record["event_id"])
            payload = record["payload"]
            session = payload.get("session_id")
            if type(session) is str and session:
                origin = payload.get("source")
                if not (type(origin) is str and origin.startswith(SOURCE_PREFIX)):
                    sessions.add(session)
    return ids, sessions


def iter_blocks(path: Path, read: SourceRead) -> Iterator[tuple[int, list[bytes]]]:
    """Yield ``(number of the first line, lines)`` of a JSONL file, a few MiB at a time.

    Lines come with their newline (the last one perhaps without), split at
    newline bytes only: what iterating the file in binary mode gives.
    Reading big blocks and splitting them at once costs far less per line
    than a file iterator, which matters at hundreds of MB of transcripts.
    A block is split by ``BytesIO.readlines``, which finds each newline
    with ``memchr``, where splitting the bytes at newlines tests every byte:
    over 110 MB of Gemini chats 0.10 s against 0.25 s (2026-12-02; the
    split was a quarter of the instructions the reader spent beyond the
    floor). An unreadable file is noted, not raised. (Measured, 2026-12-02:
    finding the marked lines of a block by searching it, without splitting
    it, was 1.7x slower than splitting and testing each line; splitting stays.)
    """
    try:
        with path.open("rb") as handle:
            read.files += 1
            first = 1
            carry = b""
            while block := handle.read(_BLOCK):
                lines = BytesIO(carry + block if carry else block).readlines()
                carry = b"" if lines[-1].endswith(b"\n") else lines.pop()  # the next block's
                if lines:
                    read.lines += len(lines)
                    yield first, lines
                    first += len(lines)
            if carry:
                read.lines += 1
                yield first, [carry]
    except OSError as exc:
        read.unreadable.append(FileProblem(path, None, f"cannot read: {exc.strerror or exc}"))


def json_objects(
    lines: Iterable[tuple[int, bytes]], path: Path, malformed: list[FileProblem]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield the numbered lines that are JSON objects: the readers' one rule for a line.

    A line that is not JSON, or JSON but not an object, is named in
    ``malformed`` with its file and number; a blank line is passed over.
    """
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    for number, line in lines:
        try:
            obj = loads(line)
        except decode_error:
            if line.strip():
                malformed.append(FileProblem(path, number, "not JSON"))
            continue
        if type(obj) is dict:
            yield number, obj
        else:
            malformed.append(FileProblem(path, number, "not a JSON object"))


#: How far into a line ``skimmer(chatter=...)`` looks for the record's kind.
_CHATTER_WITHIN: Final = 64


def skimmer(
    *markers: bytes,
    often: bytes | None = None,
    shapes: tuple[bytes, ...] = (),
    chatter: bytes | None = None,
) -> Callable[[int, list[bytes]], list[tuple[int, bytes]]]:
    """Return the importers' fast path for lines holding one of ``markers``: the one rule.

    The function returned takes a block of lines and returns the numbered
    ones that must be parsed; the rest cannot hold what the importer reads.
    A line holding none of ``markers`` (bytes every line an importer reads
    holds: ``"usage"`` for Claude Code) has nothing to import; if it also
    starts with ``{`` and ends with ``}`` (a carriage return allowed) it is not
    counted malformed either: a line cut off mid-write (the malformed lines
    agents' logs actually have) ends with ``}`` only if cut right after an
    inner object. Every other line is parsed in full, so a skipped line
    changes only this: a well-shaped but invalid line without a marker is
    not named as malformed. Done per block, in one comprehension, because a
    call per line would cost as much as the test. Several markers are
    searched for with one compiled pattern of the alternatives: over text
    like a transcript's it took 0.47x the floor's time where three ``in``
    tests took 0.77x and ``any(map(line.__contains__, ...))`` 0.71x
    (2026-12-02, Codex rollouts of ``bench/import_speed.py``).

    ``often`` is a marker most marked lines hold, searched for first on its
    own (and the pattern of the others, with ``shapes``, regular
    expressions a marked line may match instead, only on lines without
    it): Gemini CLI's replies with tokens hold ``"tokens":{``, where a
    search of five alternatives scanned each line as long as parsing it
    did (0.23 s against 0.12 s for one marker over 120 MB of chats,
    2026-12-02).

    ``chatter`` is what a line the importer never reads holds in its first
    bytes (:data:`_CHATTER_WITHIN`), where its writer puts the record's kind:
    such a line, whole (ending with ``}``), is passed over before any marker
    is searched for in it, so the long lines of a log (Codex's response
    items: messages, tool calls, their output) cost a bounded search.

    A marker is looked for with ``line.find``, not ``in``: ``bytes.__contains__``
    first tries its operand as an int (``65 in b"A"``), and a bytes operand
    makes it raise and clear a TypeError on every line, about 1,800
    instructions each (4 % of the Gemini reader's, callgrind, 2026-12-02).
    """
    if chatter is not None and (often is not None or len(markers) < 2):
        raise ValueError("chatter is read by the skim of several markers without often")
    if often is not None:
        rest = re.compile(b"|".join([*map(re.escape, markers), *shapes])).search

        def skim_often(first: int, lines: list[bytes]) -> list[tuple[int, bytes]]:
            return [
                (number, line)
                for number, line in enumerate(lines, first)
                if line.find(often) >= 0
                or rest(line)
                or not (line.startswith(b"{") and line.endswith(_CLOSINGS))
            ]

        return skim_often
    if len(markers) == 1:
        (marker,) = markers

        def skim(first: int, lines: list[bytes]) -> list[tuple[int, bytes]]:
            return [
                (number, line)
                for number, line in enumerate(lines, first)
                if line.find(marker) >= 0
                or not (line.startswith(b"{") and line.endswith(_CLOSINGS))
            ]

        return skim

    search = re.compile(b"|".join(re.escape(marker) for marker in markers)).search
    if chatter is not None:

        def skim_chatter(first: int, lines: list[bytes]) -> list[tuple[int, bytes]]:
            return [
                (number, line)
                for number, line in enumerate(lines, first)
                if not (
                    line.find(chatter, 0, _CHATTER_WITHIN) > 0
                    and line.startswith(b"{")
                    and line.endswith(_CLOSINGS)
                )
                and (search(line) or not (line.startswith(b"{") and line.endswith(_CLOSINGS)))
            ]

        return skim_chatter

    def skim_any(first: int, lines: list[bytes]) -> list[tuple[int, bytes]]:
        return [
            (number, line)
            for number, line in enumerate(lines, first)
            if search(line) or not (line.startswith(b"{") and line.endswith(_CLOSINGS))
        ]

    return skim_any
