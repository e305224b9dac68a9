"""Gemini CLI's chat logs: where they are and what each model reply used.

Gemini CLI keeps ``~/.gemini/tmp/<project hash>/chats/session-*.json``
(``~`` being ``$GEMINI_CLI_HOME`` when set): one JSON document
(``sessionId``, ``projectHash``, ``messages``) in older versions; in newer
ones ``session-*.jsonl``, an append-only log whose first record is the
metadata (``sessionId``, ``projectHash``, ``kind``), then each message in
full every time it changes (its tool calls, its tokens), ``{"$set": {...}}``
metadata updates, ``{"$rewindTo": id}`` and ``{"$snapshot": true,
"messages": [...]}`` records. A subagent's chat (``kind: "subagent"``) is
``chats/<parent session id>/<its session id>.jsonl``. Messages of ``type:
"gemini"`` carry ``model`` and ``tokens{input, output, cached, thoughts,
tool, total}``; a message's tokens are set once, so its first copy with
tokens is the one counted. A rewind drops messages from the context, not
from the bill: their usage stays counted. As in
the CLI's own ``--output-format json`` (see ``agent_usage``), ``cached`` is
part of ``input`` and ``thoughts`` bill as output, so the package's output
is ``output + thoughts`` with ``thoughts`` as its reasoning part. ``tool``
(the API's ``toolUsePromptTokenCount``: tool results given back to the model
as input, outside ``promptTokenCount``, since ``total`` is the sum of all
four) is input too: the package's input is ``input + tool``, and the tool
share is also kept as ``tool_tokens``.

The log names no working folder, only the project hash (a SHA-256 of the
project's root path): the session is placed by the folder of this project
whose hash it is (see ``_mapping.SessionMapper.folder_for_hash``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from ..usage import counts_valid, read_count
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

SOURCE: Final = "gemini"
AGENT: Final = "gemini"
_REPLY: Final = "gemini"
_SUBAGENT: Final = "subagent"
#: Bytes every record the reader uses holds (see ``_common.skimmer``): a
#: reply's tokens (an object: ``"tokens":null``, a reply written before its
#: tokens, adds nothing), or the session's metadata (also inside
#: ``$set``/``$snapshot``). ``"tokens":{`` is how Gemini CLI writes them; the
#: shape catches any other spacing, so only ``null`` (or no tokens) is passed by.
_skim: Final = skimmer(
    b'"messages"',
    b'"sessionId"',
    b'"projectHash"',
    b'"kind"',
    often=b'"tokens":{',
    shapes=(rb'"tokens"\s*:\s*[^n\s]',),
)


def default_roots() -> list[Path]:
    """Return the folder Gemini CLI keeps its per-project chats under.

    ``$GEMINI_CLI_HOME`` stands for the home folder, as in Gemini CLI
    (``packages/core/src/utils/paths.ts``): the chats are in its ``.gemini/tmp``.
    """
    return [base / ".gemini" / "tmp" for base in home_dir("GEMINI_CLI_HOME", "~")]


def find_session_files(roots: Iterable[Path]) -> list[Path]:
    """Every chat under the given folders (a file root is one), sorted.

    That is ``session-*.json``/``.jsonl`` anywhere, and the subagents'
    ``chats/<parent id>/*.jsonl``.
    """
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(sorted(p for p in root.rglob("*.json*") if _is_chat(p)))
    return found


def _is_chat(path: Path) -> bool:
    if path.suffix not in (".json", ".jsonl") or not path.is_file():
        return False
    if path.name.startswith("session-"):
        return True
    return path.suffix == ".jsonl" and path.parent.parent.name == "chats"


@without_cyclic_gc
def read_sessions(
    files: Sequence[Path],
    progress: Callable[[int], None] | None = None,
    *,
    skim: bool = True,
) -> SourceRead:
    """Read every model reply of every chat once (by session and message id).

    With ``skim`` (the default) a JSONL chat's lines without tokens or
    session metadata are not parsed (see :func:`._common.skimmer`); a JSON
    chat is one document and always parsed. ``skim=False`` is the full
    parse the tests hold the fast path to.
    """
    read = SourceRead()
    seen: set[tuple[str, str]] = set()
    for done, path in enumerate(files, 1):
        header: dict[str, Any] = {"sessionId": path.stem, "projectHash": _hash_folder(path)}
        for number, record in _records(path, read, skim, header, seen):
            if (
                record.get("type") == _REPLY
                and "$set" not in record
                and "messages" not in record
                and "sessionId" not in record
                and "projectHash" not in record
            ):  # a reply and nothing else (nearly every record): what the rest does with it
                _reply(record, header, path, number, read, seen)
                continue
            update = record.get("$set")
            if type(update) is dict:
                record = update
            if "messages" in record or "projectHash" in record or "sessionId" in record:
                for key in ("sessionId", "projectHash", "kind"):
                    if type(record.get(key)) is str and record[key]:
                        header[key] = record[key]
            messages = record.get("messages")
            for message in messages if type(messages) is list else [record]:
                if type(message) is dict and message.get("type") == _REPLY:
                    _reply(message, header, path, number, read, seen)
        if progress is not None:
            progress(done)
    return read


def _hash_folder(path: Path) -> str:
    """Return the project hash a chat's folders name: ``<hash>/chats/[<parent>/]<file>``."""
    chats = path.parent if path.parent.name == "chats" else path.parent.parent
    return chats.parent.name


def _records(
    path: Path,
    read: SourceRead,
    skim: bool,
    header: dict[str, Any],
    seen: set[tuple[str, str]],
) -> Iterator[tuple[int | None, dict[str, Any]]]:
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
        yield from json_objects(enumerate(data.splitlines(), 1), path, read.malformed)
        return
    for first, lines in iter_blocks(path, read):
        if skim:
            numbered = _copies_passed(_skim(first, lines), header, seen, read)
            yield from json_objects(numbered, path, read.malformed)
        else:
            yield from json_objects(enumerate(lines, first), path, read.malformed)


#: How Gemini CLI starts a message record (``newMessage``: ``id`` first, then
#: ``timestamp`` and ``type``); metadata and update records start otherwise.
_MESSAGE_HEAD: Final = b'{"id":"'
_REPLY_TYPE: Final = b'"type":"gemini"'
#: Where a message's ``type`` is looked for: after its id and timestamp.
_TYPE_WITHIN: Final = 160


def _copies_passed(
    numbered: Iterable[tuple[int, bytes]],
    header: dict[str, Any],
    seen: set[tuple[str, str]],
    read: SourceRead,
) -> Iterator[tuple[int, bytes]]:
    """Pass over, unparsed, the copies of replies already counted; yield the other lines.

    A reply is appended again each time it changes (its tool calls, their
    results), so most lines holding tokens are copies, and the last ones the
    largest. A line starting as Gemini CLI starts a message, with the id of a
    reply counted in this session and its ``type`` ``gemini`` right after, is
    such a copy: counted as one without parsing (lines reach here only if
    their tokens are not null: the skim passes over the others). Lazy, so
    ``header`` and ``seen`` are as the lines before left them. What it
    changes, against the full parse: a copy torn while being written is
    counted as a copy, not as a malformed line. Any line of another shape is
    parsed as before.
    """
    for number, line in numbered:
        if line.startswith(_MESSAGE_HEAD):
            end = line.find(b'"', 7)
            ident = line[7:end]
            if (
                end > 7
                and ident.find(b"\\") < 0
                and line.find(_REPLY_TYPE, end, end + _TYPE_WITHIN) > 0
                and (header["sessionId"], ident.decode("utf-8", "replace")) in seen
            ):
                read.duplicates += 1
                continue
        yield number, line


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
    session: str = header["sessionId"]  # a string: path.stem, or a record's checked value
    ident = message.get("id")
    if type(ident) is str and ident:
        if (session, ident) in seen:  # told before anything is read: most copies are repeats
            read.duplicates += 1
            return
        seen.add((session, ident))
    at = parse_moment(message.get("timestamp"))
    if at is None:
        read.malformed.append(FileProblem(path, number, "a gemini message without a timestamp"))
        return
    notes: list[str] = []
    prompt, output = tokens.get("input"), tokens.get("output")
    cached, thoughts, tool = (
        tokens.get("cached", 0),
        tokens.get("thoughts", 0),
        tokens.get("tool", 0),
    )
    # The usage rule in one call when the figures are plain ints (nearly always);
    # else field by field, with the rule's notes.
    if not (
        type(prompt) is int
        and type(output) is int
        and type(cached) is int
        and type(thoughts) is int
        and type(tool) is int
        and counts_valid(prompt, output + thoughts, cached, None, thoughts)
        and counts_valid(tool)
    ):
        prompt = read_count(prompt, "tokens.input", notes)
        output = read_count(output, "tokens.output", notes)
        cached = read_count(cached, "tokens.cached", notes)
        thoughts = read_count(thoughts, "tokens.thoughts", notes)
        tool = read_count(tool, "tokens.tool", notes)
    model = message.get("model")
    read.pieces.append(
        Piece(  # positional: a named tuple's keywords cost a call of their own
            at,
            session,
            model if type(model) is str and model else "",
            (
                None if prompt is None else prompt + (tool or 0),  # tool results are input too
                None if output is None else output + (thoughts or 0),
                cached,
                None,
                thoughts,
            ),
            None,
            None,
            header["projectHash"],
            "subagent" if header.get("kind") == _SUBAGENT else "session",
            {"tool_tokens": tool} if tool else _NO_EXTRA,
            tuple(notes) if notes else (),
        )
    )
