"""The detached webhook sender: drains the spool with retries, off the recording process.

Started on demand (``start_sender``) by whatever queued a delivery, as its own
session with no terminal and no pipes to its starter, so the agent's process
exits at once whatever the network does. Only one sender runs per project (a
lock it holds while sending; a second one exits at once). It sends what is
due, waits for the next retry (exponential backoff, ``spool.backoff_seconds``)
and exits when nothing but stuck deliveries is left; the next run, or
``export --flush``, picks those up.

Each request is a JSON POST with ``Idempotency-Key`` (the delivery's key: a
run's event id) and, when the endpoint has a secret, ``X-Spec-Kitty-Signature:
sha256=<hex HMAC-SHA256 of the body>``.

Run as ``python -m spec_kitty_telemetry.exports.sender ROOT``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._lock import FileLock, LockTimeout
from .errors import ExportError
from .http import post_json
from .spool import Delivery, Spool
from .webhook_config import WebhookTarget, load_webhooks

if TYPE_CHECKING:
    from ..pricing import Pricing

__all__ = ["DrainResult", "drain", "render_body", "run_sender", "sign"]

#: Longest single wait for a retry before looking at the spool again.
_MAX_NAP: Final = 5.0
SIGNATURE_HEADER: Final = "X-Spec-Kitty-Signature"


def sign(secret: bytes, body: bytes) -> str:
    """Return the signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass
class DrainResult:
    """What one drain did: keys delivered, attempts that failed, deliveries still pending."""

    delivered: list[str] = field(default_factory=list)
    failed: int = 0
    left: list[Delivery] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data: ``export --flush --json``."""
        return {
            "delivered": len(self.delivered),
            "failed_attempts": self.failed,
            "pending": [
                {
                    "key": d.key,
                    "url": d.url,
                    "attempts": d.attempts,
                    "stuck": d.stuck,
                    "last_error": d.last_error,
                }
                for d in self.left
            ],
        }


def render_body(delivery: Delivery, pricing: Pricing) -> bytes:
    """Return the JSON body sent for ``delivery``; a run carries its report row and event."""
    data: Any = delivery.data
    if delivery.kind == "run":
        from ..events import Event
        from ..reports.runs import priced

        event = Event.from_dict(delivery.data)
        data = {"run": priced(event, pricing).to_dict(), "event": delivery.data}
    document = {
        "kind": delivery.kind,
        "idempotency_key": delivery.key,
        "queued_at": delivery.created_at,
        "data": data,
    }
    return json.dumps(document, sort_keys=True).encode()


def _attempt(spool: Spool, target: WebhookTarget, delivery: Delivery, pricing: Pricing) -> bool:
    try:
        body = render_body(delivery, pricing)
        headers = {
            "Idempotency-Key": delivery.key,
            "X-Spec-Kitty-Kind": delivery.kind,
            "User-Agent": "spec-kitty-telemetry webhook",
        }
        secret = target.secret()
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        post_json(target.url, body, headers=headers, timeout=target.timeout)
    except (ExportError, ValueError) as exc:
        spool.record_failure(delivery, str(exc), target.max_attempts)
        return False
    spool.mark_delivered(delivery)
    return True


def queue_daily_summaries(root: Path, spool: Spool, targets: list[WebhookTarget]) -> None:
    """Queue yesterday's (UTC) summary for the endpoints that want one, once per day."""
    wanting = [t for t in targets if "daily_summary" in t.records]
    if not wanting:
        return
    day = datetime.now(UTC).date() - timedelta(days=1)
    key = f"daily-summary-{day.isoformat()}"
    missing = [
        t
        for t in wanting
        if not spool.is_delivered(t.target_id, key)
        and not (spool.path / t.target_id / "pending" / f"{key}.json").exists()
    ]
    if not missing:
        return
    data = daily_summary(root, day)
    for target in missing:
        spool.enqueue(target.target_id, target.url, "daily_summary", key, data)


def daily_summary(root: Path, day: date) -> dict[str, Any]:
    """Return one UTC day's run summary, as ``report summary --json`` has it."""
    from ..query import EventFilter
    from ..reports import run_summary

    summary = run_summary(root, EventFilter(since=day, until=day))
    return {"day": day.isoformat(), **summary.to_dict()}


def drain(root: str | Path, *, force: bool = False) -> DrainResult:
    """Send what is due until only stuck deliveries (or nothing) are left.

    With ``force`` (``export --flush``), every pending delivery, stuck ones too,
    gets one attempt now and nothing is waited for. Holds no lock: callers do.
    """
    from ..pricing import load_pricing

    root = Path(root)
    spool = Spool(root)
    targets = {t.target_id: t for t in load_webhooks(root)}
    queue_daily_summaries(root, spool, list(targets.values()))
    pricing = load_pricing(root)
    result = DrainResult()
    tried: set[tuple[str, str]] = set()  # with force: one attempt each

    def ours() -> list[Delivery]:
        return [d for d in spool.pending() if d.target_id in targets]

    while True:
        now = time.time()
        if force:
            due = [d for d in ours() if (d.target_id, d.key) not in tried]
        else:
            due = [d for d in ours() if d.due(now)]
        for delivery in due:
            tried.add((delivery.target_id, delivery.key))
            if _attempt(spool, targets[delivery.target_id], delivery, pricing):
                result.delivered.append(delivery.key)
            else:
                result.failed += 1
        if force:
            break
        waiting = [d for d in ours() if not d.stuck]
        if not waiting:
            break
        if not due:
            nap = min(d.next_attempt_at for d in waiting) - time.time()
            time.sleep(min(max(nap, 0.01), _MAX_NAP))
    result.left = ours()
    return result


def run_sender(root: str | Path) -> DrainResult | None:
    """Be the project's sender: drain under the sender lock; None when another sender runs.

    After letting the lock go it looks once more, so a delivery queued while it
    was finishing (whose own sender found the lock taken) is not left behind.
    """
    spool = Spool(root)
    result: DrainResult | None = None
    while True:
        lock = FileLock(spool.sender_lock_path(), timeout=0)
        try:
            lock.acquire()
        except LockTimeout:
            return result
        try:
            spool.note_sender()
            result = drain(root)
        finally:
            lock.release()
        if not any(d.due(time.time()) for d in spool.pending()):
            return result


def main(argv: list[str] | None = None) -> int:
    """Run the sender for the project root given as the one argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m spec_kitty_telemetry.exports.sender ROOT", file=sys.stderr)
        return 2
    try:
        run_sender(Path(args[0]))
    except Exception:  # noqa: BLE001 - a detached process has no one to tell; the spool keeps all
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
