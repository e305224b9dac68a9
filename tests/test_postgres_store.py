"""PostgresEventStore against a real PostgreSQL: the store contract, migrations, projects.

The cluster is the session's throwaway one (``tests/pg.py``); every test has
a database of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from spec_kitty_telemetry.errors import InvalidEventError, StoreError
from spec_kitty_telemetry.postgres_store import PostgresEventStore, open_pool
from spec_kitty_telemetry.server import schema
from spec_kitty_telemetry.server.devdb import TemporaryPostgres
from spec_kitty_telemetry.store import EventStore, StoreHead
from spec_kitty_telemetry.testing import make_event
from spec_kitty_telemetry.testing.contract import EventStoreContract, record_after

pytest_plugins = ["pg"]


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture(autouse=True)
    def _database(self, pg_url: str) -> Iterator[None]:
        self.pool = open_pool(pg_url, max_size=12)
        yield
        self.pool.close()

    def make_store(self, tmp_path: Path) -> EventStore:
        return PostgresEventStore(self.pool, "contract")

    def test_a_second_store_on_the_same_project_sees_the_events(self, store: EventStore):
        """The table is the store: another store (another pool) of the project reads the same."""
        assert isinstance(store, PostgresEventStore)
        event = make_event()
        store.save_event(event)
        other_pool = open_pool(self.pool.conninfo)
        try:
            other = PostgresEventStore(other_pool, "contract")
            assert other.load_all_events() == [event]
            assert other.save_event(event) is False
        finally:
            other_pool.close()

    def test_projects_do_not_see_each_others_events(self, store: EventStore):
        """The same event id in two projects is two events; neither project reads the other's."""
        assert isinstance(store, PostgresEventStore)
        event = make_event()
        store.save_event(event)
        other = PostgresEventStore(self.pool, "another-team")
        assert other.load_all_events() == []
        assert other.head() == StoreHead(None, None)
        assert other.save_event(event) is True
        assert store.load_all_events() == other.load_all_events() == [event]

    def test_records_come_back_exactly_as_the_log_line_holds_them(self, store: EventStore):
        """Floats JSONB would rewrite (1e308, -0.0, 0.1) and a NUL escape survive a round trip."""
        payload = {"big": 1e308, "neg_zero": -0.0, "tenth": 0.1, "nul": "a\x00b", "n": 2**62}
        event = make_event(payload=payload)
        store.save_event(event)
        (record,) = store.iter_records()
        assert record["payload"] == payload
        assert type(record["payload"]["big"]) is float
        assert str(record["payload"]["neg_zero"]) == "-0.0"

    def test_a_batch_with_one_bad_record_stores_nothing(self, store: EventStore):
        """save_records judges every record first: one that is not an event stores none."""
        assert isinstance(store, PostgresEventStore)
        good = make_event().to_dict()
        bad = {**make_event().to_dict(), "lamport_clock": "7"}
        with pytest.raises(InvalidEventError, match="lamport_clock"):
            store.save_records([good, bad])
        assert list(store.iter_records()) == []

    def test_save_records_counts_new_and_duplicates(self, store: EventStore):
        """A batch says how many of its records were new and how many were already stored."""
        assert isinstance(store, PostgresEventStore)
        first, second = make_event().to_dict(), make_event().to_dict()
        assert store.save_records([first]) == (1, 0)
        assert store.save_records([first, second, second]) == (1, 2)
        assert len(list(store.iter_records())) == 2

    def test_the_stream_reads_past_one_fetch(self, store: EventStore):
        """A read of more rows than one server-side fetch streams every one of them once."""
        assert isinstance(store, PostgresEventStore)
        store.save_events(make_event(lamport_clock=n) for n in range(4500))
        assert sum(1 for _ in store.iter_records()) == 4500
        assert store.last_read is not None
        assert store.last_read.events == 4500

    def test_appends_from_two_pools_are_stamped_after_each_other(self, store: EventStore):
        """The advisory lock holds across processes' pools: two pools racing never share a clock."""
        assert isinstance(store, PostgresEventStore)
        other_pool = open_pool(self.pool.conninfo, max_size=4)
        stores = [store, PostgresEventStore(other_pool, "contract")]

        def writer(target: PostgresEventStore) -> None:
            for _ in range(40):
                target.append_record(lambda head: record_after(head, node_id="w"))

        try:
            threads = [threading.Thread(target=writer, args=(s,)) for s in stores]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            other_pool.close()
        clocks = sorted(r["lamport_clock"] for r in store.iter_records())
        assert clocks == list(range(1, 81))


def test_migrations_apply_and_roll_back_cleanly(empty_pg_url: str):
    """upgrade makes the tables, downgrade leaves none, and upgrade works again after it."""

    def tables() -> set[str]:
        with psycopg.connect(empty_pg_url) as connection:
            rows = connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        return {row[0] for row in rows}

    assert schema.current_revision(empty_pg_url) is None
    schema.upgrade(empty_pg_url)
    assert {"projects", "api_tokens", "events"} <= tables()
    assert schema.current_revision(empty_pg_url) == "0002"
    schema.downgrade(empty_pg_url, "0001")
    assert schema.current_revision(empty_pg_url) == "0001"
    schema.upgrade(empty_pg_url)
    schema.downgrade(empty_pg_url)
    assert tables() == {"alembic_version"}
    assert schema.current_revision(empty_pg_url) is None
    schema.upgrade(empty_pg_url)
    pool = open_pool(empty_pg_url)
    try:
        store = PostgresEventStore(pool, "after-roundtrip")
        assert store.save_event(make_event()) is True
    finally:
        pool.close()


def test_a_database_without_the_schema_is_named_in_the_error(empty_pg_url: str):
    """A store over an unmigrated database raises StoreError saying to run the migrations."""
    pool = open_pool(empty_pg_url)
    try:
        with pytest.raises(StoreError, match="run the migrations"):
            PostgresEventStore(pool, "p")
    finally:
        pool.close()


def test_the_store_carries_on_after_postgresql_restarts(pg_cluster: TemporaryPostgres, pg_url):
    """Once PostgreSQL is stopped and started again, the same store (same pool) works again."""
    pool = open_pool(pg_url)
    try:
        store = PostgresEventStore(pool, "restart")
        first = make_event()
        store.save_event(first)
        pg_cluster.stop()
        pg_cluster.start()
        second = make_event()
        assert store.save_event(second) is True
        assert {e.event_id for e in store.load_all_events()} == {first.event_id, second.event_id}
    finally:
        pool.close()


def test_the_package_exports_the_store_without_importing_psycopg():
    """`import spec_kitty_telemetry` loads no psycopg; the name loads it on first use."""
    import subprocess
    import sys

    script = (
        "import sys, spec_kitty_telemetry as t\n"
        "assert 'psycopg' not in sys.modules, 'psycopg imported by the package'\n"
        "from spec_kitty_telemetry.postgres_store import PostgresEventStore\n"
        "assert t.PostgresEventStore is PostgresEventStore\n"
        "assert 'psycopg' in sys.modules\n"
        "assert 'PostgresEventStore' in t.__all__\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
