"""Alerts: one record type, deduplicated by key, sent to the configured sinks without waiting.

An :class:`Alert` says who (the group or budget), what (its kind), why (the
message), when, and carries a stable ``key``. Every alert raised is appended
to the alert log (``alerts.log``, default ``.kittify/alerts.jsonl``), which is
also what deduplicates: a key already in the log within the cooldown (or,
for ``once`` alerts such as a budget crossing, ever) is not raised again.

Sinks: a line on stderr, a JSONL file, a webhook (generic JSON or a Slack
``text`` body) and a command (the alert as JSON on its stdin). Webhooks and
commands run in daemon threads with a timeout; :func:`wait_for_sinks` lets a
short-lived command give them that long before it exits. Nothing a sink does
is raised to the caller: a failed sink is one warning in the log.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .settings import AlertSettings, Sink

if TYPE_CHECKING:
    from .anomalies import Anomaly
    from .budget import BudgetStatus

__all__ = [
    "Alert",
    "anomaly_alert",
    "budget_alerts",
    "raise_alerts",
    "read_alerts",
    "send",
    "wait_for_sinks",
]

logger = logging.getLogger(__name__)

_PENDING: list[threading.Thread] = []
_MAX_WAIT: Final = 10.0


@dataclass(frozen=True)
class Alert:
    """Who, what, why and when, with the key that deduplicates it."""

    key: str
    who: str
    what: str
    why: str
    when: str
    severity: str = "warning"
    once: bool = False
    event_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the alert as the log, the JSONL sink, webhooks and commands receive it."""
        return asdict(self)

    def line(self) -> str:
        """Return the alert as one line of text (stderr, Slack)."""
        return f"telemetry alert [{self.severity}] {self.what}: {self.why}"


def anomaly_alert(anomaly: Anomaly) -> Alert:
    """Return the alert of an anomaly: keyed by kind and group, so one per cooldown per group."""
    return Alert(
        key=f"anomaly:{anomaly.kind}:{anomaly.group}",
        who=anomaly.group,
        what=anomaly.kind,
        why=anomaly.message,
        when=anomaly.timestamp,
        severity=anomaly.severity,
        event_id=anomaly.event_id,
    )


def budget_alerts(status: BudgetStatus) -> list[Alert]:
    """Return the alerts a budget's status calls for (red, exhausted), once per period each."""
    found = []
    name, start = status.budget.name, status.start.isoformat()
    when = status.at.isoformat()
    percent = f"{status.percent:.1f}%"
    if status.level == "RED":
        found.append(
            Alert(
                f"budget:{name}:{start}:red",
                name,
                "budget_red",
                f"budget {name} has used {percent} of its {status.budget.period}ly limit "
                f"(red above {status.budget.red:g}%)",
                when,
                "warning",
                once=True,
            )
        )
    if status.exhausted:
        found.append(
            Alert(
                f"budget:{name}:{start}:exhausted",
                name,
                "budget_exhausted",
                f"budget {name} is exhausted ({percent}) before its reset at "
                f"{status.end.isoformat()}",
                when,
                "critical",
                once=True,
            )
        )
    return found


def _log_path(root: str | Path, settings: AlertSettings) -> Path:
    return settings.log if settings.log.is_absolute() else Path(root) / settings.log


def read_alerts(root: str | Path, settings: AlertSettings) -> list[dict[str, Any]]:
    """Return the alerts in the log, oldest first; lines that are not alerts are skipped."""
    path = _log_path(root, settings)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    alerts = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("key"), str):
            alerts.append(record)
    return alerts


def _is_duplicate(alert: Alert, last: dict[str, datetime], now: datetime, cooldown: float) -> bool:
    seen = last.get(alert.key)
    if seen is None:
        return False
    return alert.once or now - seen < timedelta(seconds=cooldown)


def raise_alerts(
    root: str | Path,
    alerts: Iterable[Alert],
    settings: AlertSettings,
    *,
    now: datetime | None = None,
) -> list[Alert]:
    """Log and send the alerts whose key is not within its cooldown; return those raised.

    Never raises: telemetry's own alerting must not break what it watches.
    """
    moment = now if now is not None else datetime.now(UTC)
    raised: list[Alert] = []
    try:
        last: dict[str, datetime] = {}
        for record in read_alerts(root, settings):
            try:
                last[record["key"]] = datetime.fromisoformat(record["raised_at"])
            except (KeyError, TypeError, ValueError):
                continue
        lines = []
        for alert in alerts:
            if _is_duplicate(alert, last, moment, settings.cooldown_seconds):
                continue
            last[alert.key] = moment
            raised.append(alert)
            lines.append(json.dumps({**alert.to_dict(), "raised_at": moment.isoformat()}) + "\n")
        if lines:
            _append(_log_path(root, settings), "".join(lines))
    except Exception as exc:  # noqa: BLE001 - alerting must never fail its caller
        logger.warning("telemetry: alerts not logged: %s", exc)
    for alert in raised:
        for sink in settings.sinks:
            send(alert, sink, root)
    return raised


def _append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def send(alert: Alert, sink: Sink, root: str | Path = ".") -> None:
    """Send one alert to one sink; webhooks and commands in the background. Never raises."""
    try:
        if sink.kind == "stderr":
            print(alert.line(), file=sys.stderr, flush=True)
        elif sink.kind == "jsonl":
            target = Path(str(sink.target))
            path = target if target.is_absolute() else Path(root) / target
            _append(path, json.dumps(alert.to_dict()) + "\n")
        else:
            thread = threading.Thread(target=_deliver, args=(alert, sink), daemon=True)
            thread.start()
            _PENDING.append(thread)
    except Exception as exc:  # noqa: BLE001 - a sink must never fail its caller
        logger.warning("telemetry: alert %s not sent to %s: %s", alert.key, sink.kind, exc)


def _deliver(alert: Alert, sink: Sink) -> None:
    try:
        if sink.kind == "command":
            import subprocess

            subprocess.run(
                list(sink.target or []),
                input=json.dumps(alert.to_dict()).encode(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=sink.timeout,
                check=False,
            )
            return
        import urllib.request

        body = {"text": alert.line()} if sink.kind == "slack" else alert.to_dict()
        request = urllib.request.Request(
            str(sink.target),
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=sink.timeout) as response:
            response.read()
    except Exception as exc:  # noqa: BLE001 - fire-and-forget
        logger.warning("telemetry: alert %s not delivered to %s: %s", alert.key, sink.kind, exc)


def wait_for_sinks(timeout: float = _MAX_WAIT) -> None:
    """Give background deliveries up to ``timeout`` seconds in all to finish (before exiting)."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while _PENDING:
        thread = _PENDING.pop()
        left = (deadline - datetime.now(UTC)).total_seconds()
        if left <= 0:
            return
        thread.join(left)
