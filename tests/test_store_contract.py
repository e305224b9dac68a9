"""The EventStore contract (``spec_kitty_telemetry.testing.contract``), run against every backend.

Each backend subclasses :class:`EventStoreContract` and says how to make a
fresh store; every test of the contract then runs against it. Tests only one
backend can have (real processes on one file, a real git merge) follow its class.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spec_kitty_telemetry import Event, EventStore, InMemoryEventStore, SimpleJsonStore
from spec_kitty_telemetry.testing import make_event
from spec_kitty_telemetry.testing.contract import EventStoreContract, record_after

WORKER = Path(__file__).with_name("emit_worker.py")


class TestInMemoryEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return InMemoryEventStore()


class TestSimpleJsonStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return SimpleJsonStore(tmp_path / "feature" / "execution.events.jsonl")

    def inject_malformed(self, store: EventStore) -> bool:
        """Leave a line torn by a crash: half an event, no newline."""
        assert isinstance(store, SimpleJsonStore)
        with store.path.open("ab") as log:
            log.write(b'{"aggregate_id": "001-test-feature", "causation_id": nu')
        return True

    def inject_duplicate(self, store: EventStore, event: Event) -> bool:
        """Append the event's line again, as a union merge of two branches holding it does."""
        assert isinstance(store, SimpleJsonStore)
        with store.path.open("a") as log:
            log.write(json.dumps(event.to_dict(), sort_keys=True) + "\n")
        return True

    def test_a_second_store_over_the_same_file_sees_the_events(self, store: EventStore):
        """The file is the store: a new SimpleJsonStore on the same path reads what was saved."""
        assert isinstance(store, SimpleJsonStore)
        event = make_event()
        store.save_event(event)
        assert SimpleJsonStore(store.path).load_all_events() == [event]
        assert SimpleJsonStore(store.path).save_event(event) is False

    def test_torn_line_is_reported_by_number_and_the_append_starts_a_new_line(
        self, store: EventStore
    ):
        """After a torn last line, append_record writes a whole line of its own; line 2 is named."""
        assert isinstance(store, SimpleJsonStore)
        store.save_event(make_event())
        self.inject_malformed(store)
        stored = store.append_record(record_after)
        lines = store.path.read_bytes().split(b"\n")
        assert json.loads(lines[2]) == stored
        list(store.iter_records())
        assert store.last_read is not None
        assert store.last_read.malformed_lines == [2]
        assert store.last_read.describe().startswith(f"{store.path}: skipped 1 malformed line (2)")

    def test_appends_from_real_processes_are_each_stamped_after_the_last(self, store: EventStore):
        """Four emitting processes on one log: every record once, clocks rising in file order."""
        assert isinstance(store, SimpleJsonStore)
        workers = [
            subprocess.Popen(
                [sys.executable, str(WORKER), str(store.path.parent), "40", f"proc{n}"],
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(4)
        ]
        printed = set()
        for worker in workers:
            out, _ = worker.communicate(timeout=120)
            assert worker.returncode == 0
            printed.update(out.split())
        records = list(store.iter_records())
        assert {r["event_id"] for r in records} == printed
        assert len(records) == 160
        clocks = [r["lamport_clock"] for r in records]
        assert clocks == list(range(1, 161))
        assert store.head().max_lamport_clock == 160
        assert store.append_record(record_after)["lamport_clock"] == 161

    def test_a_real_union_merge_leaves_a_duplicate_that_is_read_once(
        self, store: EventStore, tmp_path: Path
    ):
        """Two branches that both hold a cherry-picked event, merged with merge=union: read once."""
        assert isinstance(store, SimpleJsonStore)
        repo = store.path.parent
        repo.mkdir()

        def git(*args: str) -> None:
            subprocess.run(
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                cwd=repo,
                check=True,
                capture_output=True,
            )

        base, shared, ours, theirs = (make_event(lamport_clock=n) for n in range(1, 5))
        git("init", "-q", "-b", "main")
        (repo / ".gitattributes").write_text("*.jsonl merge=union\n")
        (repo / ".gitignore").write_text(".execution.events.jsonl.*\n")  # the sidecars
        store.save_event(base)
        git("add", "-A")
        git("commit", "-qm", "base")
        git("checkout", "-qb", "other")
        store.save_events([theirs, shared])
        git("commit", "-qam", "other")
        git("checkout", "-q", "main")
        store.save_events([shared, ours])
        git("commit", "-qam", "main")
        git("merge", "-q", "--no-edit", "other")
        assert store.path.read_text().count(shared.event_id) == 2
        ids = [r["event_id"] for r in store.iter_records()]
        assert sorted(ids) == sorted(e.event_id for e in (base, shared, ours, theirs))
        assert store.last_read is not None
        assert store.last_read.duplicates == 1


def test_the_contract_cannot_be_run_without_a_store_maker():
    """EventStoreContract is abstract: a subclass that does not say how to make a store fails."""

    class Incomplete(EventStoreContract):
        pass

    with pytest.raises(TypeError, match="make_store"):
        Incomplete()  # type: ignore[abstract]


def test_the_contract_module_is_not_loaded_by_the_testing_helpers():
    """Importing spec_kitty_telemetry.testing does not import pytest or the contract."""
    code = (
        "import sys, spec_kitty_telemetry.testing\n"
        "print('pytest' in sys.modules, 'spec_kitty_telemetry.testing.contract' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
