"""Fuzz every reader of a log with generated lines; check they agree and never raise.

Usage: python bench/fuzz_readers.py [--lines 20000] [--logs 20] [--seed 7]

Writes ``--lines`` generated lines (valid events; garbage JSON; envelope
fields of the wrong type or out of range; timestamps that overflow in UTC;
payloads nested past what printers handle; integers up to 2**64-1; odd
payload values; byte-order marks; ids in every form) over ``--logs`` feature
logs of a fresh project, then checks, per log and for the project:

* ``iter_records`` (the cost fold's reader) and ``iter_events`` (the Event
  reader of ``events`` and the query API) keep the same events and report the
  same malformed lines, and ``Event.from_dict`` accepts exactly the lines the
  store keeps (before de-duplication);
* the log's head (largest Lamport clock and ULID) is within the bounds;
* ``cost`` TOTAL events equals the number of ExecutionEvents ``events`` lists,
  through the library and through the CLI (``cost --json``, ``events --jsonl``,
  the ``events`` table, ``cost --group-by day``), every command exiting 0;
* an emit after the garbage is recorded above every valid Lamport clock (at
  the bound, 2**53-1, when a line already holds it).

Prints the counts and exits 1 on the first disagreement.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _commands import console_script

from spec_kitty_telemetry import Event, InvalidEventError, SimpleJsonStore
from spec_kitty_telemetry._records import MAX_LAMPORT_CLOCK, event_record
from spec_kitty_telemetry.cost import project_cost_report
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.ids import new_event_id
from spec_kitty_telemetry.query import EventFilter, query_project_events

BOM = b"\xef\xbb\xbf"
ODD: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**63, 2**64 - 1, -(2**63) - 1, 1e300, "", " ", "x",
    "[/bold]", [], [1], {}, {"a": 1},
]  # fmt: skip
STAMPS = [
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-01:00", "2025-11-03", "20251103T100000Z",
    "2025-11-03T10:00:00Z", "2025-02-30T00:00:00", "2025-11-03T10:00:00+05:30", "noon", "",
]  # fmt: skip


def _id(rng: random.Random) -> Any:
    choice = rng.randrange(9)
    if choice == 0:
        return new_event_id().lower()
    if choice == 1:
        return str(uuid.uuid4())
    if choice == 2:
        return uuid.uuid4().hex
    if choice == 3:
        return uuid.uuid4().hex[:26]  # spec-kitty's fallback ids
    if choice == 4:
        return "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZILOU-") for _ in range(26))
    if choice == 5:
        return rng.choice(ODD)
    return new_event_id()


def _valid(rng: random.Random, feature: str) -> dict[str, Any]:
    payload = {
        "agent": rng.choice(["claude", "codex"]),
        "role": "implementer",
        "wp_id": f"WP0{rng.randint(1, 3)}",
        "model": rng.choice(["claude-sonnet-4.5", "gpt-5", None]),
        "input_tokens": rng.randint(0, 10_000),
        "output_tokens": rng.randint(0, 1_000),
        "cost_usd": rng.choice([None, 0.25]),
        "success": rng.random() > 0.1,
    }
    from datetime import UTC, datetime, timedelta

    moment = datetime(2025, 11, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**7))
    return event_record(
        event_id=new_event_id(at=moment),
        event_type=rng.choice(["ExecutionEvent"] * 9 + ["PhaseTransition"]),
        aggregate_id=feature,
        payload=payload,
        timestamp=moment,
        node_id=rng.choice(["a", "b"]),
        lamport_clock=rng.randint(0, 1000),
    )


def line(rng: random.Random, feature: str) -> bytes:
    """One generated line (no newline)."""
    kind = rng.randrange(12)
    if kind == 0:
        return rng.choice([b"", b"{", b"[]", b"null", b"\x00\xff", b"{}", b'"x"', b"{'a': 1}"])
    record = _valid(rng, feature)
    deep = 0
    if kind in (1, 2, 3):
        name = rng.choice(sorted(record))
        if name == "timestamp" and rng.random() < 0.7:
            record[name] = rng.choice(STAMPS)
        elif name in ("event_id", "causation_id"):
            record[name] = _id(rng)
        elif name == "lamport_clock" and rng.random() < 0.5:
            record[name] = rng.choice([MAX_LAMPORT_CLOCK, MAX_LAMPORT_CLOCK + 1, 2**63, -1])
        else:
            record[name] = rng.choice(ODD)
    elif kind == 4:
        del record[rng.choice(sorted(record))]
    elif kind == 5:
        record[rng.choice(["extra", "Payload"])] = 1
    elif kind in (6, 7):
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(["success", "cost_usd", "input_tokens", "model", "wp_id", "agent"])
            record["payload"][name] = rng.choice(ODD)
    elif kind == 8:
        deep = rng.choice([50, 600, 1020, 1100])
        record["payload"]["deep"] = "DEEP"
    text = json.dumps(record, sort_keys=True).encode()
    if deep:
        text = text.replace(b'"DEEP"', b'{"a": ' * deep + b"1" + b"}" * deep)
    if rng.random() < 0.05:
        text = BOM + text
    return text


def fail(message: str) -> None:
    print(f"FAIL: {message}")
    sys.exit(1)


def check_log(path: Path) -> tuple[int, int]:
    """Check the readers of one log agree; return (events kept, malformed lines)."""
    store = SimpleJsonStore(path)
    records = [r["event_id"] for r in store.iter_records()]
    assert store.last_read is not None
    malformed, duplicates = store.last_read.malformed_lines, store.last_read.duplicates
    events = [e.event_id for e in store.iter_events()]
    if events != records or store.last_read.malformed_lines != malformed:
        fail(f"{path}: iter_records and iter_events disagree")
    accepted = 0
    for text in path.read_bytes().split(b"\n"):
        try:
            Event.from_dict(orjson.loads(text.removeprefix(BOM)))
        except (InvalidEventError, orjson.JSONDecodeError):
            continue
        accepted += 1
    if accepted != len(records) + duplicates:
        fail(f"{path}: from_dict accepts {accepted} lines, the store {len(records) + duplicates}")
    head = store.head()
    if head.max_lamport_clock is not None and not 0 <= head.max_lamport_clock <= MAX_LAMPORT_CLOCK:
        fail(f"{path}: head clock {head.max_lamport_clock} out of range")
    return len(records), len(malformed)


def cli(root: Path, *args: str) -> bytes:
    result = subprocess.run(
        [console_script(), "agent", "telemetry", *args, "--repo", str(root)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        fail(f"{' '.join(args)} exited {result.returncode}: {result.stderr.decode()[-400:]}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--logs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the skipped-lines warnings are expected here
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-readers-") as tmp:
        root = Path(tmp)
        logs = []
        for number in range(args.logs):
            feature = f"{number:03d}-fuzz"
            path = root / "kitty-specs" / feature / "execution.events.jsonl"
            path.parent.mkdir(parents=True)
            count = args.lines // args.logs
            path.write_bytes(b"\n".join(line(rng, feature) for _ in range(count)) + b"\n")
            logs.append(path)
        kept = malformed = 0
        for path in logs:
            events, bad = check_log(path)
            kept, malformed = kept + events, malformed + bad

        executions = EventFilter(event_type="ExecutionEvent")
        listed = len(query_project_events(root, executions))
        for group_by in ("agent", "day", "feature"):
            counted = project_cost_report(root, group_by=group_by).total.event_count
            if counted != listed:
                fail(f"library: cost --group-by {group_by} counts {counted}, events {listed}")
        cost = json.loads(cli(root, "cost", "--json"))["total"]["event_count"]
        printed = cli(root, "events", "--jsonl", "--type", "ExecutionEvent").count(b"\n")
        if not cost == printed == listed:
            fail(f"CLI: cost --json {cost}, events --jsonl {printed}, library {listed}")
        cli(root, "events")
        cli(root, "cost", "--group-by", "day")

        print(
            f"{args.lines:,} lines in {args.logs} logs (seed {args.seed}): {kept:,} events "
            f"kept, {malformed:,} malformed, {listed:,} ExecutionEvents; readers, cost and "
            f"events agree (library and CLI), every command exited 0"
        )
        emitted = 0
        for path in logs:
            highest = SimpleJsonStore(path).head().max_lamport_clock or 0
            record = emit_execution_record(path.parent, path.parent.name, "WP01", "x", "fuzzer")
            # Above every valid clock, or at the bound itself when a line already holds it.
            emitted += record is not None and (
                record["lamport_clock"] > highest or record["lamport_clock"] == MAX_LAMPORT_CLOCK
            )
    print(f"emits after the garbage recorded above every valid clock: {emitted} of {len(logs)}")
    print(f"{time.perf_counter() - started:.0f} s")
    if emitted < len(logs):
        sys.exit(1)


if __name__ == "__main__":
    main()
