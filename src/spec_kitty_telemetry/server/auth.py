"""API tokens: one per project, shown once, stored only as a hash.

A token is 32 random bytes (``secrets.token_urlsafe``) behind a ``skt_``
prefix, so it is recognisable in a leaked file and impossible to guess. With
that much entropy a fast hash (SHA-256) is enough: a slow password hash guards
against guessing low-entropy secrets, and there is nothing to guess here. The
server looks a request's token up by its hash; the token itself is never
stored or logged.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from psycopg_pool import ConnectionPool

from ..postgres_store import ensure_project

__all__ = ["TOKEN_PREFIX", "Project", "create_token", "hash_token", "project_of_token"]

TOKEN_PREFIX: Final = "skt_"


@dataclass(frozen=True)
class Project:
    """The project a request's token belongs to."""

    id: int
    name: str


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of a token: the only form of it the database holds."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(pool: ConnectionPool, project: str) -> str:
    """Make a new token for ``project`` (created when new), store its hash, return the token."""
    project_id = ensure_project(pool, project)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with pool.connection() as connection, connection.transaction():
        connection.execute(
            "INSERT INTO api_tokens (project_id, token_sha256) VALUES (%s, %s)",
            (project_id, hash_token(token)),
        )
    return token


def project_of_token(pool: ConnectionPool, token: str) -> Project | None:
    """Return the project whose token this is, or None for a token nobody issued."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with pool.connection() as connection:
        row = connection.execute(
            "SELECT p.id, p.name FROM api_tokens t JOIN projects p ON p.id = t.project_id"
            " WHERE t.token_sha256 = %s",
            (hash_token(token),),
        ).fetchone()
    return None if row is None else Project(int(row[0]), str(row[1]))
