"""Helpers shared by the tests: real projects on disk, real processes, event builders.

One module, so a test finds every helper in one place: running the real CLI
(``spec_kitty``) and the fake agents beside this file (``agent``, the
programs in ``fake_agents/``), reading a feature's log as written
(``log_records``), building events and projects for the query, pricing and
cost tests (``run_event``, ``other``, ``write_project``, ``write_foreign``,
``pricing_for_tests``), and holding a lock from another process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from spec_kitty_telemetry import EVENTS_FILENAME, SimpleJsonStore
from spec_kitty_telemetry._rates import ModelRates
from spec_kitty_telemetry.events import Event
from spec_kitty_telemetry.pricing import Pricing
from spec_kitty_telemetry.testing import make_event, make_execution_event

_HOLDER = """
import fcntl, sys, time
handle = open(sys.argv[1], "a")
fcntl.flock(handle, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


@contextmanager
def lock_held_by_another_process(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` from a separate process for the block's duration."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()


HERE = Path(__file__).resolve().parent / "fake_agents"

#: The console script's code path (``spec_kitty_telemetry.__main__.main``) in a real process.
SPEC_KITTY = [sys.executable, "-m", "spec_kitty_telemetry"]


def agent(name: str, *args: str) -> list[str]:
    """Return the command line that runs fake agent ``name`` with ``args``."""
    return [sys.executable, str(HERE / f"{name}.py"), *args]


def spec_kitty(
    *args: str,
    cwd: Path,
    stdin: bytes | None = None,
    timeout: float = 120,
    columns: int | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``spec-kitty <args>`` in ``cwd`` and capture what it prints.

    The environment is ``os.environ`` plus ``COLUMNS=columns`` when given:
    passed explicitly, because GNU readline (loaded by some test plugins)
    exports ``COLUMNS`` behind ``os.environ``'s back, and tables follow it.
    """
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [*SPEC_KITTY, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def log_records(feature_dir: Path) -> list[dict[str, Any]]:
    """Return the raw records in a feature's log, in file order."""
    path = feature_dir / "execution.events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def new_project(root: Path) -> Path:
    """Create an empty spec-kitty project at ``root``; return it."""
    (root / "kitty-specs").mkdir(parents=True)
    return root


#: A made-up model with round rates, so expected costs are easy to compute by hand.
TEST_RATES = ModelRates(
    input=Decimal(2),
    output=Decimal(10),
    cache_read=Decimal("0.2"),
    cache_write=Decimal("2.5"),
    source="test",
)


def pricing_for_tests(**extra: ModelRates) -> Pricing:
    """Pricing knowing only ``test-model`` (and ``extra``): no shipped table, no catalogue."""
    return Pricing(shipped={"test-model": TEST_RATES, **extra}, catalogue=False)


def at(text: str) -> datetime:
    """A UTC datetime from ISO text."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_clock = [0]


def run_event(
    feature: str = "001-alpha",
    *,
    when: str = "2025-11-03T10:00:00",
    lamport: int | None = None,
    node: str = "test",
    **payload: Any,
) -> Event:
    """An ExecutionEvent of ``feature`` at ``when``; clocks increase unless given."""
    _clock[0] += 1
    return make_execution_event(
        aggregate_id=feature,
        lamport_clock=_clock[0] if lamport is None else lamport,
        node_id=node,
        timestamp=at(when),
        **payload,
    )


def other(
    feature: str = "001-alpha", *, event_type: str = "PhaseTransition", **payload: Any
) -> Event:
    """A non-execution event of ``feature``."""
    _clock[0] += 1
    return make_event(
        event_type=event_type,
        aggregate_id=feature,
        payload=payload,
        lamport_clock=_clock[0],
        timestamp=at("2025-11-03T10:00:00"),
    )


def write_project(root: Path, *events: Event) -> Path:
    """Store each event in ``root/kitty-specs/<aggregate_id>/execution.events.jsonl``."""
    for event in events:
        log = root / "kitty-specs" / event.aggregate_id / EVENTS_FILENAME
        SimpleJsonStore(log).save_event(event)
    return root


def write_foreign(root: Path, feature: str, *payloads: dict[str, Any]) -> Path:
    """Append ExecutionEvents another tool wrote, payloads unchecked, to a feature's real log.

    The envelopes are valid; the payloads are whatever the caller gives (negative
    counts, costs like 1e300), as a log merged from another tool may hold.
    """
    from spec_kitty_telemetry.ids import new_event_id

    log = root / "kitty-specs" / feature / EVENTS_FILENAME
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        for payload in payloads:
            _clock[0] += 1
            record = {
                "aggregate_id": feature,
                "causation_id": None,
                "event_id": new_event_id(),
                "event_type": "ExecutionEvent",
                "lamport_clock": _clock[0],
                "node_id": "other-tool",
                "payload": {"agent": "other", "role": "implementer", **payload},
                "timestamp": "2025-11-03T10:00:00+00:00",
            }
            handle.write(json.dumps(record) + "\n")
    return log
