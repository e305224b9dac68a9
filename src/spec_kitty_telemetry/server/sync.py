"""Pushing a project's feature logs to a team server, resumably and idempotently.

The server stores each event id once, so sending an event twice is harmless;
what sync remembers only saves sending. Per log it keeps, beside the log
(``.execution.events.jsonl.sync.json``, covered by the ignore rule for the
log's machine-local files), how many bytes of the log the server has
confirmed and a SHA-256 of those bytes, per server and project. A log is only
ever appended to, except by a merge, which may put lines anywhere: when the
confirmed bytes are no longer the log's first bytes, the log is sent again
from the start and the server counts the old events as duplicates.

A batch is recorded as confirmed only after the server answered for it; a
sync cut off at any point resumes after the last confirmed batch. Failures
the server says are passing (503, a timeout, a refused connection) are
retried with a growing pause before sync gives up.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from .._atomic import write_atomically
from .._lines import is_blank, parse_line
from ..errors import InvalidEventError, TelemetryError
from ..project import project_stores

__all__ = ["STATE_SUFFIX", "SyncError", "SyncReport", "sync_project"]

#: Appended to a log's name (hidden) to name its sync state.
STATE_SUFFIX: Final = ".sync.json"
_READ: Final = 1 << 20
_RETRIES: Final = 10  # about 30 s of pauses: long enough for a server restart
_TRANSIENT: Final = frozenset({408, 429, 502, 503, 504})

Progress = Callable[[int, int], None]


class SyncError(TelemetryError):
    """The server refused a batch, or could not be reached after every retry."""


@dataclass
class FeatureSync:
    """What sync did with one feature's log."""

    feature: str
    sent: int = 0
    new: int = 0
    duplicates: int = 0
    skipped_lines: int = 0
    restarted: bool = False


@dataclass
class SyncReport:
    """What one sync did, per feature and in all."""

    server: str
    project: str
    features: list[FeatureSync] = field(default_factory=list)

    @property
    def sent(self) -> int:
        """Events sent (or, in a dry run, that would be)."""
        return sum(f.sent for f in self.features)

    @property
    def new(self) -> int:
        """Events the server stored for the first time."""
        return sum(f.new for f in self.features)

    @property
    def duplicates(self) -> int:
        """Events the server already had."""
        return sum(f.duplicates for f in self.features)

    def describe(self, *, dry_run: bool = False) -> list[str]:
        """Lines for the command to print: one per feature with something to say, then totals."""
        lines = []
        for f in self.features:
            if f.sent or f.skipped_lines or f.restarted:
                note = " (log changed before the synced part: sent from the start)" * f.restarted
                skipped = f", {f.skipped_lines} malformed lines skipped" * bool(f.skipped_lines)
                verb = "would send" if dry_run else "sent"
                lines.append(f"{f.feature}: {verb} {f.sent} events{skipped}{note}")
        if dry_run:
            lines.append(f"Dry run: {self.sent} events would be sent to {self.server}")
        else:
            lines.append(
                f"Synced to {self.server} (project {self.project}): {self.sent} events sent, "
                f"{self.new} new, {self.duplicates} already there"
            )
        return lines


def sync_project(
    root: str | Path,
    server: str,
    token: str,
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> SyncReport:
    """Push every feature log of the project at ``root`` to ``server``; return what happened."""
    import httpx

    base = server.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise SyncError(f"expected http(s)://host[:port], got {server!r}", parameter="server")
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    ) as client:
        project = _request(client, "GET", "/api/v1/project")["project"]
        report = SyncReport(base, project)
        stores = project_stores(root)
        total = sum(store.path.stat().st_size for _, store in stores)
        done = 0
        for feature, store in stores:
            key = f"{base} {project}"
            outcome = FeatureSync(feature)
            report.features.append(outcome)
            state_path = store.path.with_name(f".{store.path.name}{STATE_SUFFIX}")
            for batch, end, digest in _batches(store.path, state_path, key, batch_size, outcome):
                outcome.sent += len(batch)
                if not dry_run:
                    answer = _request(client, "POST", "/api/v1/events", {"events": batch})
                    outcome.new += answer["new"]
                    outcome.duplicates += answer["duplicates"]
                    _save_state(state_path, key, end, digest)
                if progress is not None:
                    progress(done + end, total)
            done += store.path.stat().st_size
            if progress is not None:
                progress(done, total)
    return report


def _batches(
    log: Path, state_path: Path, key: str, size: int, outcome: FeatureSync
) -> Iterator[tuple[list[dict[str, Any]], int, str]]:
    """Yield the log's events after the confirmed part, in batches, with the offset each ends at.

    The digest yielded with a batch is the SHA-256 of the log up to its end.
    """
    offset, digest = _load_state(state_path).get(key, (0, ""))
    hasher = hashlib.sha256()
    with log.open("rb") as handle:
        if offset:
            remaining = offset
            while remaining > 0:
                chunk = handle.read(min(_READ, remaining))
                if not chunk:
                    break
                hasher.update(chunk)
                remaining -= len(chunk)
            if remaining or hasher.hexdigest() != digest:
                outcome.restarted = True
                offset = 0
                hasher = hashlib.sha256()
                handle.seek(0)
        batch: list[dict[str, Any]] = []
        position = offset
        for line in handle:
            if not line.endswith(b"\n"):
                break  # a line still being written: the next sync sends it
            position += len(line)
            hasher.update(line)
            if is_blank(line):
                continue
            try:
                batch.append(parse_line(line)[1])
            except InvalidEventError:
                outcome.skipped_lines += 1
                continue
            if len(batch) == size:
                yield batch, position, hasher.hexdigest()
                batch = []
        if batch or position != offset:
            yield batch, position, hasher.hexdigest()


def _load_state(path: Path) -> dict[str, tuple[int, str]]:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    state: dict[str, tuple[int, str]] = {}
    if type(data) is dict:
        for key, value in data.items():
            if type(value) is dict and type(value.get("offset")) is int:
                state[key] = (value["offset"], str(value.get("sha256", "")))
    return state


def _save_state(path: Path, key: str, offset: int, digest: str) -> None:
    state = _load_state(path)
    state[key] = (offset, digest)
    document = {k: {"offset": o, "sha256": d} for k, (o, d) in sorted(state.items())}
    write_atomically(path, orjson.dumps(document, option=orjson.OPT_INDENT_2))


def _request(client: Any, method: str, path: str, body: Any = None) -> Any:
    """Send one request, retrying passing failures; return the decoded answer."""
    import httpx

    pause = 0.2
    for attempt in range(_RETRIES + 1):
        try:
            if body is None:
                response = client.request(method, path)
            else:
                response = client.request(
                    method,
                    path,
                    content=orjson.dumps(body),
                    headers={"Content-Type": "application/json"},
                )
        except httpx.TransportError as exc:
            if attempt == _RETRIES:
                raise SyncError(f"{client.base_url}: {exc or type(exc).__name__}") from None
        else:
            if response.status_code < 400:
                return response.json()
            if response.status_code not in _TRANSIENT or attempt == _RETRIES:
                raise SyncError(
                    f"{client.base_url}{path}: {response.status_code} {_detail(response)}"
                )
        time.sleep(pause)
        pause = min(pause * 2, 5.0)
    raise AssertionError("unreachable")


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail"))
    except ValueError:
        return str(response.text[:200])
