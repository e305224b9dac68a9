"""What a writer remembers about a JSONL log so that an append does not re-read it.

Before appending, a writer must know the largest Lamport clock and the largest
event id in the log (to stamp the next event after them, and to know a fresh
id cannot be a duplicate). Scanning the log for them costs time proportional
to its size, so the answer is cached in a small sidecar file together with how
far into the log it is valid: the log's identity (device, inode), a byte
offset, and the bytes just before that offset.

On the next append, if the log is still the same file and still holds those
bytes at that offset, only what lies beyond the offset (usually nothing; after
another tool appended, a few lines) is scanned. If the file was replaced (a git
checkout or merge writes a new file), shrank, or changed under the offset, the
whole log is scanned once and the cache rebuilt. The cache is never trusted for
more than it can check cheaply, and losing it costs one scan, never data.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ._lines import parse_line
from ._records import MAX_LAMPORT_CLOCK
from ._safe_paths import SafeFolder, open_file, read_sidecar
from .errors import InvalidEventError
from .ids import MAX_ULID, is_ulid, normalize_event_id
from .store import StoreHead

_VERSION = 1
_TAIL_BYTES = 32
_CHUNK = 1 << 20
_LONG_SCAN_BYTES = 4 << 20  # about 10,000 events: tens of milliseconds to scan
_MAX_INDEX_BYTES = 4096  # a real index is under 300 bytes


@dataclass(frozen=True)
class LogIndex:
    """The head of a log, valid for its first ``offset`` bytes.

    ``offset`` always ends a line. ``unterminated`` counts the bytes after it
    that form an unfinished last line (a torn write, or one still being
    written by a tool that does not lock); they are rescanned every time until
    a newline completes them, so a line finished later is never half-read.
    """

    device: int
    inode: int
    offset: int
    tail: bytes
    head: StoreHead
    unterminated: int = field(default=0, compare=False)

    def after_append(self, data: bytes, head: StoreHead) -> LogIndex:
        """Return the index once ``data`` (whole lines) has been appended at the end."""
        before = b"" if self.unterminated else self.tail
        return LogIndex(
            self.device,
            self.inode,
            self.offset + self.unterminated + len(data),
            (before + data)[-_TAIL_BYTES:],
            head,
        )


def far_behind(cached: LogIndex | None, st: os.stat_result) -> bool:
    """Whether catching ``cached`` up with a file of status ``st`` means a long scan.

    Writers do such scans (a fresh clone, a git pull that brought many lines)
    before taking the log's lock, so the others are not kept waiting.
    """
    if cached is None or (cached.device, cached.inode) != (st.st_dev, st.st_ino):
        return st.st_size > _LONG_SCAN_BYTES
    return not cached.offset <= st.st_size <= cached.offset + _LONG_SCAN_BYTES


def catch_up(fd: int, cached: LogIndex | None) -> LogIndex:
    """Return an index covering every byte of the open log ``fd``.

    Starts from ``cached`` when it still describes this file (same device and
    inode, at least as long, the same bytes before its offset), scanning only
    the bytes appended since; otherwise scans the whole file.
    """
    st = os.fstat(fd)
    if (
        cached is not None
        and (cached.device, cached.inode) == (st.st_dev, st.st_ino)
        and cached.offset <= st.st_size
        and _pread(fd, len(cached.tail), cached.offset - len(cached.tail)) == cached.tail
    ):
        start = cached
    else:
        start = LogIndex(st.st_dev, st.st_ino, 0, b"", StoreHead())
    if start.offset == st.st_size:
        return start
    head, line_end = _scan(fd, start.offset, st.st_size, start.head)
    if line_end == start.offset:
        tail = start.tail
    else:
        length = min(_TAIL_BYTES, line_end)
        tail = _pread(fd, length, line_end - length)
    return LogIndex(st.st_dev, st.st_ino, line_end, tail, head, st.st_size - line_end)


if hasattr(os, "pread"):
    _pread = os.pread
else:  # pragma: no cover - Windows has no pread; each writer has its own descriptor

    def _pread(fd: int, size: int, offset: int) -> bytes:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)


def save(index_path: Path, index: LogIndex, folder: SafeFolder | None = None) -> None:
    """Persist ``index`` (it is a cache: callers may ignore a failure to write it).

    Written in place under the log's lock rather than through a rename, which
    costs more than the rest of an emit on ext4. A write torn by a crash fails
    the checksum on load and costs one rescan.
    """
    fields = [
        index.device,
        index.inode,
        index.offset,
        index.tail.hex(),
        index.head.max_lamport_clock,
        index.head.max_event_id,
    ]
    body = json.dumps(fields)
    data = json.dumps({"version": _VERSION, "index": fields, "crc": zlib.crc32(body.encode())})
    flags = os.O_WRONLY | os.O_CREAT  # opened by the rule of _safe_paths (in ``folder``, if given)
    fd = open_file(index_path, flags) if folder is None else folder.open(index_path.name, flags)
    try:
        view = memoryview(data.encode())
        size = len(view)
        while view:  # a fresh descriptor writes from the start of the file
            view = view[os.write(fd, view) :]
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def load(index_path: Path) -> LogIndex | None:
    """Return the index stored at ``index_path``, or None if it is missing or damaged."""
    try:
        doc = orjson.loads(read_sidecar(index_path, _MAX_INDEX_BYTES))
        fields = doc["index"]
        if doc["version"] != _VERSION or doc["crc"] != zlib.crc32(json.dumps(fields).encode()):
            return None
        device, inode, offset, tail, lamport, event_id = fields
        index = LogIndex(
            device=int(device),
            inode=int(inode),
            offset=int(offset),
            tail=bytes.fromhex(tail),
            head=StoreHead(
                None if lamport is None else int(lamport),
                None if event_id is None else normalize_event_id(event_id),
            ),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if index.offset < len(index.tail) or (index.offset > 0 and not index.tail):
        return None
    lamport = index.head.max_lamport_clock
    if lamport is not None and not 0 <= lamport <= MAX_LAMPORT_CLOCK:
        return None  # no scan yields that: the file is not ours to trust
    if index.head.max_event_id is not None and not is_ulid(index.head.max_event_id):
        return None
    return index


def _scan(fd: int, start: int, end: int, head: StoreHead) -> tuple[StoreHead, int]:
    """Fold the lines in bytes [start, end) into ``head``; return it and where the last one ends.

    A final piece without a newline is folded in too (it may be a complete
    event whose writer never wrote the newline: counting it can only raise the
    maxima, which is safe), but the returned position stops before it. Lines
    that are not events by the readers' rule (``_lines.parse_line``) are
    ignored: a clock beyond ``MAX_LAMPORT_CLOCK`` is never followed.
    """
    max_lamport = -1 if head.max_lamport_clock is None else head.max_lamport_clock
    max_id = "" if head.max_event_id is None else head.max_event_id
    pending = b""
    line_end = start
    position = start
    while position < end:
        chunk = _pread(fd, min(_CHUNK, end - position), position)
        if not chunk:
            break
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            line_end = position + newline + 1
        position += len(chunk)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        if position >= end and pending:
            lines.append(pending)
        for line in lines:
            try:
                event_id, record = parse_line(line)
            except InvalidEventError:
                continue
            lamport = record["lamport_clock"]
            if lamport > max_lamport:
                max_lamport = lamport
            if max_id < event_id <= MAX_ULID:
                max_id = event_id
    return StoreHead(max_lamport if max_lamport >= 0 else None, max_id or None), line_end
