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
the largest figure each field reached. Lines whose model is ``<synthetic>``
are messages Claude Code made up itself (no API call) and are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from ..usage import Usage, read_count
from ._common import (
    FileProblem,
    Piece,
    SourceRead,
    home_dir,
    iter_blocks,
    parse_moment,
    to_parse,
)

__all__ = ["AGENT", "SOURCE", "default_roots", "find_session_files", "read_sessions"]

#: ``payload.source`` names this importer as ``import:claude-code``.
SOURCE: Final = "claude-code"
#: ``payload.agent`` of the events it writes (the name ``run`` gives Claude Code too).
AGENT: Final = "claude"
_SYNTHETIC: Final = "<synthetic>"
_ONE_HOUR_WRITES: Final = "cache_write_1h_tokens"
#: Bytes every line with usage holds: the key of ``message.usage``.
_MARKER: Final = b'"usage"'
_ABSENT: Final = object()


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


def read_sessions(
    files: Sequence[Path],
    progress: Callable[[int], None] | None = None,
    *,
    skim: bool = True,
) -> SourceRead:
    """Read the usage of every API response in ``files``, each response once.

    ``progress`` is called with the number of files read so far. Responses are
    gathered as raw figures first and turned into pieces once, at the end: a
    response streamed on three lines then costs one piece, not three.

    With ``skim`` (the default) a line without ``"usage"`` in its bytes is not
    parsed (see :func:`._common.to_parse`): prompts and tool results, most
    of a transcript's bytes, cost a byte search instead of a parse. The
    pieces are the same either way; ``skim=False`` is the full parse the
    tests hold the fast path to.
    """
    read = SourceRead()
    # (message id, request id) -> largest usage so far; and what its first line said
    usages: dict[tuple[str, Any], dict[str, Any]] = {}
    firsts: dict[tuple[str, Any], _First] = {}
    unkeyed: list[tuple[dict[str, Any], _First]] = []
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    for done, path in enumerate(files, 1):
        subagent_file = "subagents" in path.parts
        for first, lines in iter_blocks(path, read):
            numbered = to_parse(first, lines, _MARKER) if skim else enumerate(lines, first)
            for number, line in numbered:
                try:
                    obj = loads(line)
                except decode_error:
                    if line.strip():
                        read.malformed.append(FileProblem(path, number, "not JSON"))
                    continue
                if type(obj) is not dict:
                    read.malformed.append(FileProblem(path, number, "not a JSON object"))
                    continue
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
                message_id = message.get("id")
                if type(message_id) is not str or not message_id:
                    unkeyed.append((usage, _first(obj, model, path, subagent_file, number)))
                    continue
                key = (message_id, obj.get("requestId"))
                kept = usages.get(key)
                if kept is None:
                    usages[key] = usage
                    firsts[key] = _first(obj, model, path, subagent_file, number)
                else:
                    read.duplicates += 1
                    if kept != usage:
                        usages[key] = _larger(kept, usage)
        if progress is not None:
            progress(done)
    responses = [(usage, firsts[key]) for key, usage in usages.items()]
    for usage, said in [*responses, *unkeyed]:
        piece = _piece(usage, said)
        if piece is None:
            read.malformed.append(FileProblem(said[6], said[7], "no valid timestamp"))
        else:
            read.pieces.append(piece)
    return read


#: What a response's first line said: timestamp, session id, model, cwd,
#: branch, whether a sidechain, and where it is (file, line). Kept instead of
#: the parsed line, so hundreds of thousands of responses hold a tuple each.
_First = tuple[Any, Any, Any, Any, Any, bool, Path, int]


def _first(obj: dict[str, Any], model: Any, path: Path, subagent: bool, number: int) -> _First:
    return (
        obj.get("timestamp"),
        obj.get("sessionId"),
        model,
        obj.get("cwd"),
        obj.get("gitBranch"),
        obj.get("isSidechain") is True or subagent,
        path,
        number,
    )


def _piece(raw: dict[str, Any], said: _First) -> Piece | None:
    stamp, session, model, cwd, branch, sidechain, path, _number = said
    at = parse_moment(stamp)
    if at is None:
        return None
    notes: list[str] = []
    uncached = read_count(raw.get("input_tokens"), "input_tokens", notes)
    written = read_count(
        raw.get("cache_creation_input_tokens"), "cache_creation_input_tokens", notes
    )
    cached = read_count(raw.get("cache_read_input_tokens"), "cache_read_input_tokens", notes)
    output = read_count(raw.get("output_tokens"), "output_tokens", notes)
    # A cache field left out counts 0 (older versions, models without a cache).
    total_input = None if uncached is None else uncached + (written or 0) + (cached or 0)
    extra: dict[str, int] = {}
    split = raw.get("cache_creation")
    if type(split) is dict:
        hour_writes = read_count(
            split.get("ephemeral_1h_input_tokens"), "ephemeral_1h_input_tokens", notes
        )
        if hour_writes:
            extra[_ONE_HOUR_WRITES] = hour_writes
    return Piece(
        at=at,
        session_id=session if type(session) is str and session else path.stem,
        model=model if type(model) is str and model else "",
        usage=Usage(
            input_tokens=total_input,
            output_tokens=output,
            cache_read_tokens=cached,
            cache_write_tokens=written,
        ),
        cwd=cwd if type(cwd) is str and cwd else None,
        branch=branch if type(branch) is str and branch else None,
        role="subagent" if sidechain else "session",
        extra=extra,
        notes=tuple(notes),
    )


def _larger(kept: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Merge two copies of a response's usage: the largest of each count (bad ones kept as seen).

    A value the same in both (same type too: ``True`` is not ``1`` here) is
    left as it is; most fields of consecutive streamed copies are.
    """
    merged = dict(kept)
    for name, value in other.items():
        before = merged.get(name, _ABSENT)
        if before == value and type(before) is type(value) and type(value) is not dict:
            continue
        if type(value) is int and (type(before) is not int or value > before):
            merged[name] = value
        elif type(value) is dict and type(before) is dict:
            merged[name] = _larger(before, value)
        elif before is _ABSENT:
            merged[name] = value
    return merged
