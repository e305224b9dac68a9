"""Gemini CLI's chat logs: where they are and what each model reply used.

Gemini CLI keeps ``~/.gemini/tmp/<project hash>/chats/session-*.json``: one
JSON document (``sessionId``, ``projectHash``, ``messages``), or JSON Lines of
the same records in newer versions. Messages of ``type: "gemini"`` carry
``model`` and ``tokens{input, output, cached, thoughts, tool, total}``. As in
the CLI's own ``--output-format json`` (see ``agent_usage``), ``cached`` is
part of ``input`` and ``thoughts`` bill as output, so the package's output
is ``output + thoughts`` with ``thoughts`` as its reasoning part. ``tool``
(prompt tokens of tool results) is kept beside them as ``tool_tokens``.

The log names no working folder, only the project hash (a SHA-256 of the
project's root path): the session is placed by the folder of this project
whose hash it is (see ``_mapping.SessionMapper.folder_for_hash``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from ..usage import Usage, read_count
from ._common import FileProblem, Piece, SourceRead, home_dir, iter_lines, parse_moment

__all__ = ["AGENT", "SOURCE", "default_roots", "find_session_files", "read_sessions"]

SOURCE: Final = "gemini"
AGENT: Final = "gemini"
_REPLY: Final = "gemini"


def default_roots() -> list[Path]:
    """Return the folder Gemini CLI keeps its per-project chats under."""
    return [base / "tmp" for base in home_dir("GEMINI_CLI_HOME", "~/.gemini")]


def find_session_files(roots: Iterable[Path]) -> list[Path]:
    """Every ``session-*.json``/``.jsonl`` under the given folders (a file root is one), sorted."""
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(
                sorted(
                    p
                    for p in root.rglob("session-*.json*")
                    if p.is_file() and p.suffix in (".json", ".jsonl")
                )
            )
    return found


def read_sessions(
    files: Sequence[Path], progress: Callable[[int], None] | None = None
) -> SourceRead:
    """Read every model reply of every chat once (by session and message id)."""
    read = SourceRead()
    seen: set[tuple[str, str]] = set()
    for done, path in enumerate(files, 1):
        header: dict[str, Any] = {"sessionId": path.stem, "projectHash": path.parent.parent.name}
        for number, record in _records(path, read):
            if "messages" in record or "projectHash" in record:
                for key in ("sessionId", "projectHash"):
                    if type(record.get(key)) is str and record[key]:
                        header[key] = record[key]
            messages = record.get("messages")
            for message in messages if type(messages) is list else [record]:
                if type(message) is dict and message.get("type") == _REPLY:
                    _reply(message, header, path, number, read, seen)
        if progress is not None:
            progress(done)
    return read


def _records(path: Path, read: SourceRead) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """Yield the records of a chat file: the whole document, or each line of a JSONL one."""
    if path.suffix == ".json":
        try:
            data = path.read_bytes()
        except OSError as exc:
            read.unreadable.append(FileProblem(path, None, f"cannot read: {exc.strerror or exc}"))
            return
        read.files += 1
        read.lines += data.count(b"\n") + 1
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            document = None
        if type(document) is dict:
            yield None, document
            return
        if document is not None:
            read.malformed.append(FileProblem(path, None, "not a JSON object"))
            return
        # Not one document: perhaps JSON Lines under the old name.
        yield from _lines(enumerate(data.splitlines(), 1), path, read)
        return
    yield from _lines(iter_lines(path, read), path, read)


def _lines(
    lines: Iterable[tuple[int, bytes]], path: Path, read: SourceRead
) -> Iterator[tuple[int | None, dict[str, Any]]]:
    for number, line in lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            if line.strip():
                read.malformed.append(FileProblem(path, number, "not JSON"))
            continue
        if type(obj) is dict:
            yield number, obj
        else:
            read.malformed.append(FileProblem(path, number, "not a JSON object"))


def _reply(
    message: dict[str, Any],
    header: dict[str, Any],
    path: Path,
    number: int | None,
    read: SourceRead,
    seen: set[tuple[str, str]],
) -> None:
    tokens = message.get("tokens")
    if type(tokens) is not dict:
        return
    at = parse_moment(message.get("timestamp"))
    if at is None:
        read.malformed.append(FileProblem(path, number, "a gemini message without a timestamp"))
        return
    session = str(header["sessionId"])
    ident = message.get("id")
    if type(ident) is str and ident:
        if (session, ident) in seen:
            read.duplicates += 1
            return
        seen.add((session, ident))
    notes: list[str] = []
    prompt = read_count(tokens.get("input"), "tokens.input", notes)
    output = read_count(tokens.get("output"), "tokens.output", notes)
    cached = read_count(tokens.get("cached", 0), "tokens.cached", notes)
    thoughts = read_count(tokens.get("thoughts", 0), "tokens.thoughts", notes)
    tool = read_count(tokens.get("tool", 0), "tokens.tool", notes)
    model = message.get("model")
    read.pieces.append(
        Piece(
            at=at,
            session_id=session,
            model=model if type(model) is str and model else "",
            usage=Usage(
                input_tokens=prompt,
                output_tokens=None if output is None else output + (thoughts or 0),
                cache_read_tokens=cached,
                reasoning_tokens=thoughts,
            ),
            project_hash=str(header["projectHash"]),
            extra={"tool_tokens": tool} if tool else {},
            notes=tuple(notes),
        )
    )
