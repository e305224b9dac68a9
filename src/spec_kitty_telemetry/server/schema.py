"""The team server's database schema: applying and rolling back its Alembic migrations.

The migrations live in ``migrations/`` beside this module; the store and the
server assume the schema is at the newest revision (``serve`` applies it on
start). Alembic talks to PostgreSQL through SQLAlchemy over psycopg 3, the
driver the store itself uses, so one libpq URL serves both.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["current_revision", "downgrade", "sqlalchemy_url", "upgrade"]

_MIGRATIONS: Final = Path(__file__).with_name("migrations")


def sqlalchemy_url(database_url: str) -> str:
    """Return a libpq URL (``postgresql://...``) in the form SQLAlchemy needs for psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {database_url!r} (expected postgresql://...)")


def _config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    # configparser interpolation: a % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (all of them by default)."""
    from alembic import command

    command.upgrade(_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Roll the migrations back to ``revision`` (an empty database by default)."""
    from alembic import command

    command.downgrade(_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """Return the revision the database is at (None before any migration)."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        exists = connection.execute("SELECT to_regclass('alembic_version')").fetchone()
        if exists is None or exists[0] is None:
            return None
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return None if row is None else str(row[0])
