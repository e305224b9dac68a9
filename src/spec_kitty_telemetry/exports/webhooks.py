"""Webhooks: queue what the project's endpoints want, and let the detached sender deliver it.

The recording process calls :func:`spool_run` after a run is stored: it
writes one small file per endpoint and starts a sender, and never touches the
network (``sender.py`` does). Projects without ``exports.webhooks`` pay for one
read of their config file, and nothing when they have none.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._emit_result import warn
from ..config import CONFIG_PATH, emitting_project_root

if TYPE_CHECKING:
    from .sender import DrainResult

__all__ = ["flush_webhooks", "spool_alert", "spool_run"]

logger = logging.getLogger(__name__)


def _wants_webhooks(root: Path) -> bool:
    """Whether the project's config mentions webhooks at all (before any YAML is parsed)."""
    try:
        return b"webhooks" in (root / CONFIG_PATH).read_bytes()
    except OSError:
        return False


def spool_run(feature_dir: str | Path, record: Mapping[str, Any]) -> int:
    """Queue a stored run for every endpoint taking runs and start a sender; return how many.

    Never raises (the emitter calls it): a bad config or an unwritable spool is
    one warning, and the run itself is already recorded.
    """
    try:
        root = emitting_project_root(feature_dir)
        if root is None or not _wants_webhooks(root):
            return 0
        return _queue(root, "runs", "run", str(record["event_id"]), dict(record))
    except Exception as exc:  # noqa: BLE001 - telemetry must not break its host
        warn(logger, f"telemetry: webhook for {record.get('event_id')} not queued: {exc}")
        return 0


def spool_alert(root: str | Path, key: str, alert: Mapping[str, Any]) -> int:
    """Queue an alert (idempotency key ``key``) for endpoints taking alerts; return how many.

    For the analytics that raise alerts. Raises ConfigError for a bad config and
    ValueError for a key that is not a safe file name.
    """
    return _queue(Path(root), "alerts", "alert", key, dict(alert))


def _queue(root: Path, records: str, kind: str, key: str, data: dict[str, Any]) -> int:
    from .launch import start_sender
    from .spool import Spool
    from .webhook_config import load_webhooks

    spool = Spool(root)
    queued = 0
    for target in load_webhooks(root):
        if records in target.records:
            queued += spool.enqueue(target.target_id, target.url, kind, key, data)
    if queued:
        start_sender(root)
    return queued


def flush_webhooks(root: str | Path) -> DrainResult:
    """Try every pending delivery once now, stuck ones too, in this process (``export --flush``).

    Waits for a running sender to finish its current pass (the sender lock),
    so no delivery is attempted by two processes at once.
    """
    from .._lock import FileLock
    from .sender import drain
    from .spool import Spool

    spool = Spool(root)
    with FileLock(spool.sender_lock_path(), timeout=120.0):
        return drain(root, force=True)
