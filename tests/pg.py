"""Fixtures for tests against a real PostgreSQL: one throwaway cluster per session.

Use with ``pytest_plugins = ["pg"]`` in a test module. The cluster is started
from the installed server binaries (``server/devdb.py``, as ``serve --dev``
starts one) and removed after the session. Each test gets a database of its
own: ``pg_url`` is copied from a template already migrated to the newest
revision; ``empty_pg_url`` has no schema (for the migration tests).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import psycopg
import pytest

from spec_kitty_telemetry.server import schema
from spec_kitty_telemetry.server.devdb import TemporaryPostgres

_TEMPLATE = "skt_template"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[TemporaryPostgres]:
    """A running PostgreSQL cluster, for the whole session."""
    cluster = TemporaryPostgres()
    try:
        cluster.start()
        with psycopg.connect(cluster.url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {_TEMPLATE}")
        schema.upgrade(cluster.url_for(_TEMPLATE))
        yield cluster
    finally:
        cluster.close()


def _new_database(cluster: TemporaryPostgres, template: str) -> str:
    name = f"t{next(_numbers)}"
    with psycopg.connect(cluster.url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return name


def _drop(cluster: TemporaryPostgres, name: str) -> None:
    if not cluster.running:
        cluster.start()
    with psycopg.connect(cluster.url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_cluster: TemporaryPostgres) -> Iterator[str]:
    """The URL of a database of this test's own, at the newest schema revision."""
    name = _new_database(pg_cluster, _TEMPLATE)
    yield pg_cluster.url_for(name)
    _drop(pg_cluster, name)


@pytest.fixture
def empty_pg_url(pg_cluster: TemporaryPostgres) -> Iterator[str]:
    """The URL of a database of this test's own, without any schema."""
    name = _new_database(pg_cluster, "template0")
    yield pg_cluster.url_for(name)
    _drop(pg_cluster, name)


@pytest.fixture(scope="module")
def server_db(pg_cluster: TemporaryPostgres) -> Iterator[str]:
    """The URL of a migrated database shared by the tests of one module (one server's)."""
    name = _new_database(pg_cluster, _TEMPLATE)
    yield pg_cluster.url_for(name)
    _drop(pg_cluster, name)
