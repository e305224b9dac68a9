"""Claude Code's session logs: where they are and what one API response cost.

Claude Code writes one JSON Lines file per session,
``<projects>/<folder named after the cwd>/<sessionId>.jsonl``, and its
subagents' sessions under ``<sessionId>/subagents/agent-*.jsonl``, where
``<projects>`` is ``$CLAUDE_CONFIG_DIR/projects`` or, without it,
``~/.config/claude/projects`` and ``~/.claude/projects``. An ``assistant``
line carries ``message.usage`` with Anthropic's semantics: ``input_tokens``
*excludes* the cache, so the package's input is uncached + cache read +
cache write.

One API response is written on several lines while it streams, with the same
``(message.id, requestId)`` and usage that grows; it is counted once, with
the largest figure each field reached. A session resumed later starts a new
file that repeats the responses it continues (same ids): those count once
too, for one of the sessions, whichever file is read first. Lines whose model is ``<synthetic>``
are messages Claude Code made up itself (no API call) and are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from ..usage import CACHE_WRITE_1H_FIELD, counts_valid, read_count
from ._common import (
    _NO_EXTRA,
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

#: ``payload.source`` names this importer as ``import:claude-code``.
SOURCE: Final = "claude-code"
#: ``payload.agent`` of the events it writes (the name ``run`` gives Claude Code too).
AGENT: Final = "claude"
_SYNTHETIC: Final = "<synthetic>"
#: Bytes every line with usage holds: the key of ``message.usage``.
_skim: Final = skimmer(b'"usage"')


def default_roots() -> list[Path]:
    """Return the ``projects`` folders Claude Code may keep sessions in, most specific first."""
    bases = home_dir("CLAUDE_CONFIG_DIR", "~/.config/claude", "~/.claude")
    return [base / "projects" for base in bases]


def find_session_files(roots: Iterable[Path]) -> list[Path]:
    """Every session file (main and subagent) under the given folders, in a stable order.

    A root that is a file is taken as one session file; a missing root has none.
    """
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(sorted(path for path in root.rglob("*.jsonl") if path.is_file()))
    return found


@without_cyclic_gc
def read_sessions(
    files: Sequence[Path],
    progress: Callable[[int], None] | None = None,
    *,
    skim: bool = True,
) -> SourceRead:
    """Read the usage of every API response in ``files``, each response once.

    ``progress`` is called with the number of files read so far. A response
    is kept as its five raw figures and what its first line said; copies
    merge into the figures, and pieces are made once, at the end: a response
    streamed on three lines costs one piece, not three.

    A response seen in several sessions (a resumed session's file repeats
    the responses of the one it continues) is credited to the copy that
    sorts first by (timestamp, session id, file): which file happens to be
    read first must not move usage between sessions, or a second import
    would count it again under the other one.

    With ``skim`` (the default) a line without ``"usage"`` in its bytes is not
    parsed (see :func:`._common.skimmer`): prompts and tool results, most
    of a transcript's bytes, cost a byte search instead of a parse. The
    pieces are the same either way; ``skim=False`` is the full parse the
    tests hold the fast path to.
    """
    read = SourceRead()
    # (message id, request id) -> [largest figures so far, what the credited line said]
    responses: dict[tuple[str, Any], list[Any]] = {}
    unkeyed: list[tuple[_Raw, _First]] = []
    # One copy of each session id, model, folder and branch text, not one per response:
    # the responses held for de-duplication would otherwise repeat them all.
    same: dict[str, str] = {}
    for done, path in enumerate(files, 1):
        subagent_file = "subagents" in path.parts
        for first, lines in iter_blocks(path, read):
            numbered = _skim(first, lines) if skim else enumerate(lines, first)
            for number, obj in json_objects(numbered, path, read.malformed):
                if obj.get("type") != "assistant":
                    continue
                message = obj.get("message")
                if type(message) is not dict:
                    continue
                usage = message.get("usage")
                if type(usage) is not dict:
                    continue
                model = message.get("model")
                if model == _SYNTHETIC:
                    read.synthetic += 1
                    continue
                split = usage.get("cache_creation")
                raw = (
                    usage.get("input_tokens"),
                    usage.get("cache_creation_input_tokens"),
                    usage.get("cache_read_input_tokens"),
                    usage.get("output_tokens"),
                    split.get("ephemeral_1h_input_tokens") if type(split) is dict else None,
                )
                message_id = message.get("id")
                if type(message_id) is not str or not message_id:
                    unkeyed.append((raw, _first(obj, model, path, subagent_file, number, same)))
                    continue
                key = (message_id, obj.get("requestId"))
                kept = responses.get(key)
                if kept is None:
                    responses[key] = [raw, _first(obj, model, path, subagent_file, number, same)]
                    continue
                read.duplicates += 1
                if kept[0] != raw:
                    kept[0] = _larger(kept[0], raw)
                said = kept[1]
                if obj.get("sessionId") != said[1]:
                    other = _first(obj, model, path, subagent_file, number, same)
                    if _credit_order(other) < _credit_order(said):
                        kept[1] = other
        if progress is not None:
            progress(done)
    for raw, said in [*responses.values(), *unkeyed]:
        piece = _piece(raw, said)
        if piece is None:
            read.malformed.append(FileProblem(said[6], said[7], "no valid timestamp"))
        else:
            read.pieces.append(piece)
    return read


#: The figures of a response as logged: input, cache write, cache read, output, 1-hour writes.
_Raw = tuple[Any, Any, Any, Any, Any]
#: What a response's first line said: timestamp, session id, model, cwd,
#: branch, whether a sidechain, and where it is (file, line). Kept instead of
#: the parsed line, so hundreds of thousands of responses hold a tuple each.
_First = tuple[Any, Any, Any, Any, Any, bool, Path, int]


def _first(
    obj: dict[str, Any], model: Any, path: Path, subagent: bool, number: int, same: dict[str, str]
) -> _First:
    session, cwd, branch = obj.get("sessionId"), obj.get("cwd"), obj.get("gitBranch")
    return (
        obj.get("timestamp"),
        same.setdefault(session, session) if type(session) is str else session,
        same.setdefault(model, model) if type(model) is str else model,
        same.setdefault(cwd, cwd) if type(cwd) is str else cwd,
        same.setdefault(branch, branch) if type(branch) is str else branch,
        obj.get("isSidechain") is True or subagent,
        path,
        number,
    )


def _credit_order(said: _First) -> tuple[str, str, str, int]:
    """Which copy of a response in several sessions gets the credit: the first in this order."""
    stamp, session = said[0], said[1]
    return (
        stamp if type(stamp) is str else "",
        session if type(session) is str else "",
        str(said[6]),
        said[7],
    )


def _piece(raw: _Raw, said: _First) -> Piece | None:
    stamp, session, model, cwd, branch, sidechain, path, _number = said
    at = parse_moment(stamp)
    if at is None:
        return None
    uncached, written, cached, output, hour_writes = raw
    notes: list[str] = []
    # The whole rule in one call when every count is a plain int (nearly
    # always): valid counts, and cache within the total input, which holds
    # exactly when the uncached count is not negative.
    if not (
        type(uncached) is int
        and type(written) is int
        and type(cached) is int
        and type(output) is int
        and counts_valid(uncached + written + cached, output, cached, written)
    ):
        uncached = read_count(uncached, "input_tokens", notes)
        written = read_count(written, "cache_creation_input_tokens", notes)
        cached = read_count(cached, "cache_read_input_tokens", notes)
        output = read_count(output, "output_tokens", notes)
    # A cache field left out counts 0 (older versions, models without a cache).
    total_input = None if uncached is None else uncached + (written or 0) + (cached or 0)
    extra: Mapping[str, int] = _NO_EXTRA
    if hour_writes is not None and not (type(hour_writes) is int and hour_writes == 0):
        hour_writes = read_count(hour_writes, "ephemeral_1h_input_tokens", notes)
        if hour_writes and not counts_valid(
            cache_write_tokens=written, cache_write_1h_tokens=hour_writes
        ):
            notes.append(
                f"ephemeral_1h_input_tokens {hour_writes} exceeds cache_creation_input_tokens "
                f"({written}), which must include them: dropped"
            )
        elif hour_writes:
            extra = {CACHE_WRITE_1H_FIELD: hour_writes}
    return Piece(
        at,
        session if type(session) is str and session else path.stem,
        model if type(model) is str and model else "",
        (total_input, output, cached, written, None),
        cwd if type(cwd) is str and cwd else None,
        branch if type(branch) is str and branch else None,
        None,
        "subagent" if sidechain else "session",
        extra,
        tuple(notes) if notes else (),
    )


def _larger(kept: _Raw, other: _Raw) -> _Raw:
    """Merge two copies of a response's figures: the largest int each reached, else the first seen.

    An int beats anything that is not one (a bad figure on one streamed line
    does not hide a good one on the next); two non-ints keep the first
    reported, so a bad figure is still noted once the piece is made. One
    loop, no call per figure: two of every three lines of a transcript's
    responses are streamed copies.
    """
    k0, k1, k2, k3, k4 = kept
    o0, o1, o2, o3, o4 = other
    hour_writes: Any = k4  # both None or both ints below; Any spares mypy the pairing
    if (
        type(k0) is int
        and type(o0) is int
        and type(k1) is int
        and type(o1) is int
        and type(k2) is int
        and type(o2) is int
        and type(k3) is int
        and type(o3) is int
        and ((k4 is None and o4 is None) or (type(k4) is int and type(o4) is int))
    ):  # plain figures on both lines (nearly always): the larger of each, unrolled
        return (
            k0 if k0 >= o0 else o0,
            k1 if k1 >= o1 else o1,
            k2 if k2 >= o2 else o2,
            k3 if k3 >= o3 else o3,
            hour_writes if o4 is None or hour_writes >= o4 else o4,
        )
    merged = list(kept)
    for index, value in enumerate(other):
        before = merged[index]
        if type(value) is int:
            if type(before) is not int or value > before:
                merged[index] = value
        elif before is None:
            merged[index] = value
    return (merged[0], merged[1], merged[2], merged[3], merged[4])
