"""Projects, their API tokens (hashed) and their events.

Revision ID: 0001
Revises:
Create Date: 2026-12-02

Every event row belongs to one project, and its key is (project, event id):
the same id in two projects is two events, and one project can never see or
overwrite another's. ``line`` is the event exactly as a log line holds it,
the copy every read returns; ``payload`` is the same payload as JSONB for
SQL by hand, NULL where JSONB cannot hold it (a NUL escape in a string).
The filter columns are taken from the line when it is stored.
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE projects (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE api_tokens (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            token_sha256 text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE events (
            project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            event_id text NOT NULL,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            aggregate_id text NOT NULL,
            event_type text NOT NULL,
            lamport_clock bigint NOT NULL,
            node_id text NOT NULL,
            ts timestamptz NOT NULL,
            is_ulid boolean NOT NULL,
            wp_id text,
            agent text,
            role text,
            model text,
            success boolean,
            payload jsonb,
            line text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (project_id, event_id)
        )
        """
    )
    op.execute("CREATE UNIQUE INDEX events_project_seq ON events (project_id, seq)")
    op.execute("CREATE INDEX events_project_ts ON events (project_id, ts)")
    op.execute("CREATE INDEX events_project_clock ON events (project_id, lamport_clock)")
    op.execute("CREATE INDEX events_project_feature ON events (project_id, aggregate_id)")
    op.execute("CREATE INDEX events_project_type ON events (project_id, event_type)")
    op.execute("CREATE INDEX events_project_wp ON events (project_id, wp_id)")
    op.execute("CREATE INDEX events_project_agent ON events (project_id, agent)")


def downgrade() -> None:
    op.execute("DROP TABLE events")
    op.execute("DROP TABLE api_tokens")
    op.execute("DROP TABLE projects")
