"""Executions with phases: each project's phase names, and looking events up by execution.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Executions are events like any other (``server/executions.py``); what this
adds is where a project's own phase names are kept (NULL: the defaults) and
an index finding an execution's events by the ``execution_id`` in their payload.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE projects ADD COLUMN phase_names text[]")
    op.execute(
        "CREATE INDEX events_project_execution ON events (project_id, (payload ->> 'execution_id'))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX events_project_execution")
    op.execute("ALTER TABLE projects DROP COLUMN phase_names")
