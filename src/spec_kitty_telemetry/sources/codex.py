"""Codex CLI's session logs ("rollouts"): where they are and what each turn used.

Codex writes ``${CODEX_HOME:-~/.codex}/sessions/YYYY/MM/DD/rollout-*.jsonl``
(and moves old ones to ``archived_sessions/``). Each line has a ``type`` and
a ``payload``: ``session_meta`` names the session (``id``, ``cwd``, ``git``),
``turn_context`` the model in use, and ``event_msg`` lines whose payload is
a ``token_count`` carry ``info.total_token_usage``, the session's running
totals (``info`` may be null). OpenAI's semantics are the package's: input
includes cached input, output includes reasoning.

The same totals are often repeated on consecutive ``token_count`` lines, so
usage is the *change* of ``total_token_usage`` from one line to the next: a
repeat adds nothing. If the totals ever go down (a session restarted within
the file), the line's ``last_token_usage`` is taken for that step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from ..usage import counts_valid, read_count
from ._common import (
    FileProblem,
    Piece,
    SourceRead,
    home_dir,
    iter_blocks,
    json_objects,
    parse_moment,
    skimmer,
    without_cyclic_gc,
)

__all__ = ["AGENT", "SOURCE", "default_roots", "find_session_files", "read_sessions"]

SOURCE: Final = "codex"
AGENT: Final = "codex"
_FIELDS: Final = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")
#: Bytes every line the reader uses holds: its kind, in quotes (see ``_common.skimmer``).
#: Codex writes a line as ``timestamp``, ``type``, ``payload``: a response item (a
#: message, a tool call, its output: most of a rollout's bytes) says so at once.
_skim: Final = skimmer(
    b'"token_count"',
    b'"turn_context"',
    b'"session_meta"',
    chatter=b'","type":"response_item"',
)
_SESSION_IN_NAME: Final = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$"
)


def default_roots() -> list[Path]:
    """Return the folders Codex keeps rollouts in: ``sessions`` and ``archived_sessions``."""
    return [
        base / folder
        for base in home_dir("CODEX_HOME", "~/.codex")
        for folder in ("sessions", "archived_sessions")
    ]


def find_session_files(roots: Iterable[Path]) -> list[Path]:
    """Every rollout file under the given folders (a root that is a file is one), sorted."""
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(sorted(p for p in root.rglob("rollout-*.jsonl") if p.is_file()))
    return found


class _Session:
    """What the lines read so far say about the session of one file."""

    def __init__(self, path: Path) -> None:
        named = _SESSION_IN_NAME.search(path.name)
        self.session_id = named.group(1) if named else path.stem
        self.cwd: str | None = None
        self.branch: str | None = None
        self.model = ""
        self.totals: tuple[int, ...] | None = None
        #: The ``total_token_usage`` object ``totals`` was read from: a repeat is told by it.
        self.raw_totals: dict[str, Any] | None = None
        #: The bytes from ``"payload":`` on of the line being read (``_repeats_passed``),
        #: and of the last token_count line that set or repeated ``raw_totals``.
        self.payload_bytes: bytes | None = None
        self.counted_payload: bytes | None = None

    def meta(self, payload: dict[str, Any]) -> None:
        ident, cwd, git = payload.get("id"), payload.get("cwd"), payload.get("git")
        if type(ident) is str and ident:
            self.session_id = ident
        if type(cwd) is str and cwd:
            self.cwd = cwd
        if type(git) is dict and type(git.get("branch")) is str and git["branch"]:
            self.branch = git["branch"]

    def context(self, payload: dict[str, Any]) -> None:
        model, cwd = payload.get("model"), payload.get("cwd")
        if type(model) is str and model:
            self.model = model
        if type(cwd) is str and cwd:
            self.cwd = cwd


@without_cyclic_gc
def read_sessions(
    files: Sequence[Path],
    progress: Callable[[int], None] | None = None,
    *,
    skim: bool = True,
) -> SourceRead:
    """Read each rollout's usage as one piece per change of its running totals.

    With ``skim`` (the default) only lines holding ``"session_meta"``,
    ``"turn_context"`` or ``"token_count"`` are parsed, and lines shaped
    unlike an object (see :func:`._common.skimmer`): the responses, tool
    calls and their output, most of a rollout's bytes, cost a byte search.
    ``skim=False`` is the full parse the tests hold the fast path to.
    """
    read = SourceRead()
    for done, path in enumerate(files, 1):
        session = _Session(path)
        for first, lines in iter_blocks(path, read):
            numbered = (
                _repeats_passed(_skim(first, lines), session, read)
                if skim
                else enumerate(lines, first)
            )
            for number, obj in json_objects(numbered, path, read.malformed):
                kind, payload = obj.get("type"), obj.get("payload")
                if type(payload) is not dict:
                    continue
                if kind == "session_meta":
                    session.meta(payload)
                elif kind == "turn_context":
                    session.context(payload)
                elif kind == "event_msg" and payload.get("type") == "token_count":
                    problem = _token_count(obj, payload, session, read)
                    if problem is not None:
                        read.malformed.append(FileProblem(path, number, problem))
        if progress is not None:
            progress(done)
    return read


_PAYLOAD: Final = b'"payload":'
_EVENT_MSG: Final = b'"type":"event_msg"'


def _repeats_passed(
    numbered: Iterable[tuple[int, bytes]], session: _Session, read: SourceRead
) -> Iterator[tuple[int, bytes]]:
    """Pass over, unparsed, token_count lines repeating the last counted one byte for byte.

    Codex writes the same running totals again in the next ``token_count``
    event; Codex writes a rollout line as ``timestamp``, ``type``, then
    ``payload``. A line whose bytes from ``"payload":`` on are those of the
    last token_count line that set (or repeated) the session's totals, after
    ``"type":"event_msg"``, holds the same totals: a repeat, which the full
    parse also counts as one before reading its timestamp. Lazy, so the
    session is as the lines before left it. Against the full parse, only a
    line damaged before its payload differs (a repeat, not malformed).
    """
    for number, line in numbered:
        at = line.find(_PAYLOAD)
        payload = line[at:] if at > 0 else None
        if (
            payload is not None
            and payload == session.counted_payload
            and line.find(_EVENT_MSG, 0, at) > 0
        ):
            read.duplicates += 1
            continue
        session.payload_bytes = payload
        yield number, line


def _token_count(
    obj: dict[str, Any], payload: dict[str, Any], session: _Session, read: SourceRead
) -> str | None:
    """Turn one ``token_count`` line into a piece; return what is wrong with it, if anything."""
    info = payload.get("info")
    if info is None:
        return None  # Codex writes these before the first response: nothing used yet
    if type(info) is not dict or type(info.get("total_token_usage")) is not dict:
        return "token_count info without total_token_usage"
    raw = info["total_token_usage"]
    if raw == session.raw_totals:  # the same object again: a repeat, told without reading it
        read.duplicates += 1
        session.counted_payload = session.payload_bytes
        return None
    at = parse_moment(obj.get("timestamp"))
    if at is None:
        return "no valid timestamp"
    notes: list[str] = []
    total = _figures(raw, notes)
    if total is None:
        return "total_token_usage figures are not counts"
    before = session.totals
    session.totals, session.raw_totals = total, raw
    session.counted_payload = session.payload_bytes
    if before is None:
        step = total
    elif total == before:
        read.duplicates += 1
        return None
    elif (
        total[0] >= before[0]
        and total[1] >= before[1]
        and total[2] >= before[2]
        and total[3] >= before[3]
    ):
        step = (
            total[0] - before[0],
            total[1] - before[1],
            total[2] - before[2],
            total[3] - before[3],
        )
    else:
        last = info.get("last_token_usage")
        step_or_none = _figures(last, notes) if type(last) is dict else None
        if step_or_none is None:
            return "running totals went down and last_token_usage is unusable"
        step = step_or_none
    uncached_and_cached, cached, output, reasoning = step
    read.pieces.append(
        Piece(
            at,
            session.session_id,
            session.model,
            (uncached_and_cached, output, cached, None, reasoning),
            session.cwd,
            session.branch,
            notes=tuple(notes) if notes else (),
        )
    )
    return None


def _figures(raw: dict[str, Any], notes: list[str]) -> tuple[int, ...] | None:
    """Return the four counts of a usage object (a missing part counts 0), or None if one is bad.

    Plain ints that pass the usage rule as a whole (``counts_valid``: cached
    within input, reasoning within output) are taken in one call, nearly
    always; anything else is judged field by field, as the rule's notes say.
    """
    figures = (
        raw.get("input_tokens"),
        raw.get("cached_input_tokens", 0),
        raw.get("output_tokens", 0),
        raw.get("reasoning_output_tokens", 0),
    )
    uncached_and_cached, cached, output, reasoning = figures
    if (
        type(uncached_and_cached) is int
        and type(cached) is int
        and type(output) is int
        and type(reasoning) is int
        and counts_valid(uncached_and_cached, output, cached, None, reasoning)
    ):
        return (uncached_and_cached, cached, output, reasoning)
    values = []
    for name in _FIELDS:
        value = raw.get(name, 0 if name != "input_tokens" else None)
        count = read_count(value, name, notes)
        if count is None:
            return None
        values.append(count)
    return tuple(values)
