"""The durable webhook spool: what is still to be sent, and what was, per endpoint.

The recording process only writes a file here; a detached sender does the
network (``sender.py``). Layout, under ``.kittify/webhook-spool/`` (git-ignored:
it is this machine's queue, not a record)::

    <target id>/pending/<key>.json     a delivery still to send, with its attempts
    <target id>/delivered/<key>.json   a delivery the endpoint accepted

``key`` is the idempotency key (a run's event id). A key already pending or
delivered is never queued again, and a delivered key is never sent again, so
an endpoint gets each key once unless it accepts a request and the reply is
lost (it then sees the same ``Idempotency-Key`` twice and can drop the copy).
A delivery that keeps failing stays pending, marked stuck, for ``doctor`` to
report and ``export --flush`` to retry: nothing is dropped.

Files are replaced atomically, so a crash leaves the old state or the new.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from .._atomic import write_atomically
from .._safe_paths import open_folder

__all__ = ["SPOOL_DIR", "Delivery", "Spool", "backoff_seconds"]

#: The spool, relative to the project root.
SPOOL_DIR: Final = Path(".kittify") / "webhook-spool"
_KEY: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: Retry delays double from this, up to :data:`_BACKOFF_CAP`.
_BACKOFF_BASE: Final = 0.5
_BACKOFF_CAP: Final = 60.0


def backoff_seconds(attempts: int) -> float:
    """Return the wait after ``attempts`` failed attempts: 0.5 s, 1 s, 2 s, ... at most 60 s."""
    return float(min(_BACKOFF_BASE * 2 ** max(attempts - 1, 0), _BACKOFF_CAP))


@dataclass
class Delivery:
    """One record to send to one endpoint, and how its attempts went."""

    target_id: str
    url: str
    key: str
    kind: str
    data: dict[str, Any]
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None
    stuck: bool = False

    def due(self, now: float) -> bool:
        """Whether the sender should try it now (stuck ones wait for ``export --flush``)."""
        return not self.stuck and self.next_attempt_at <= now


class Spool:
    """The spool of the project at ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.path = self.root / SPOOL_DIR

    def _folder(self, target_id: str, state: str) -> Path:
        return self.path / target_id / state

    def _write(self, path: Path, document: dict[str, Any]) -> None:
        with open_folder(path.parent, create=True):
            pass
        write_atomically(path, json.dumps(document, sort_keys=True).encode())

    def enqueue(self, target_id: str, url: str, kind: str, key: str, data: dict[str, Any]) -> bool:
        """Queue a delivery; return False when the key is already pending or delivered.

        Raises ValueError for a key that is not a safe file name.
        """
        if not _KEY.fullmatch(key):
            raise ValueError(f"webhook key {key!r}: letters, digits, '.', '_' or '-' only")
        pending = self._folder(target_id, "pending") / f"{key}.json"
        delivered = self._folder(target_id, "delivered") / f"{key}.json"
        if pending.exists() or delivered.exists():
            return False
        self._write(pending, asdict(Delivery(target_id, url, key, kind, data)))
        return True

    def pending(self, target_id: str | None = None) -> list[Delivery]:
        """Return the deliveries still to send (of one endpoint, or all), oldest first.

        A pending file whose key was delivered (a crash between the two writes)
        is not pending: it is removed.
        """
        found = []
        targets = [target_id] if target_id else self._targets()
        for target in targets:
            folder = self._folder(target, "pending")
            for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
                if (self._folder(target, "delivered") / path.name).exists():
                    path.unlink(missing_ok=True)
                    continue
                delivery = self._read(path)
                if delivery is not None:
                    found.append(delivery)
        return sorted(found, key=lambda d: (d.created_at, d.key))

    def _targets(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if p.is_dir())

    def _read(self, path: Path) -> Delivery | None:
        try:
            return Delivery(**json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError):
            return None  # a file being replaced, or one we did not write: left alone

    def is_delivered(self, target_id: str, key: str) -> bool:
        """Whether the endpoint already accepted ``key``."""
        return (self._folder(target_id, "delivered") / f"{key}.json").exists()

    def mark_delivered(self, delivery: Delivery) -> None:
        """Record that the endpoint accepted it; it is never sent again."""
        marker = self._folder(delivery.target_id, "delivered") / f"{delivery.key}.json"
        self._write(
            marker,
            {"delivered_at": datetime.now(UTC).isoformat(), "attempts": delivery.attempts},
        )
        (self._folder(delivery.target_id, "pending") / f"{delivery.key}.json").unlink(
            missing_ok=True
        )

    def record_failure(self, delivery: Delivery, error: str, max_attempts: int) -> None:
        """Count a failed attempt and schedule the next; stuck after ``max_attempts``."""
        delivery.attempts += 1
        delivery.last_error = error
        delivery.next_attempt_at = time.time() + backoff_seconds(delivery.attempts)
        delivery.stuck = delivery.attempts >= max_attempts
        path = self._folder(delivery.target_id, "pending") / f"{delivery.key}.json"
        self._write(path, asdict(delivery))

    def stuck(self) -> list[Delivery]:
        """Return the deliveries that failed every attempt and wait for ``export --flush``."""
        return [d for d in self.pending() if d.stuck]

    def sender_lock_path(self) -> Path:
        """Return the lock file only one sender at a time holds."""
        return self.path / "sender.lock"

    def sender_pid(self) -> int | None:
        """Return the pid recorded by the last sender, or None."""
        try:
            return int((self.path / "sender.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def note_sender(self) -> None:
        """Record this process as the sender (for tests and ``doctor``)."""
        with open_folder(self.path, create=True):
            pass
        write_atomically(self.path / "sender.pid", f"{os.getpid()}\n".encode())
