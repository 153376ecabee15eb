"""Initial schema: stacks, resource state, runs, action outcomes, stack locks.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON()


def upgrade() -> None:
    op.create_table(
        "stacks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("directory", sa.Text, nullable=False),
        sa.Column("state_serial", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "resource_states",
        sa.Column("stack_id", sa.Integer, sa.ForeignKey("stacks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("address", sa.String(400), primary_key=True),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("attributes", Json, nullable=False),
        sa.Column("outputs", Json, nullable=False),
        sa.Column("depends_on", Json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("stack_id", sa.Integer, sa.ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("action_count", sa.Integer, nullable=True),
        sa.Column("summary", Json, nullable=False),
        sa.Column("errors", Json, nullable=False),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
    )
    op.create_index("ix_runs_stack_started", "runs", ["stack_id", "started_at"])
    op.create_table(
        "action_outcomes",
        sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(400), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("outputs", Json, nullable=False),
        sa.Column("attempted", sa.Boolean, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("finished_at", sa.Float, nullable=True),
    )
    op.create_table(
        "stack_locks",
        sa.Column("stack_id", sa.Integer, sa.ForeignKey("stacks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("run_id", sa.String(36), nullable=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("acquired_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("stack_locks", "action_outcomes", "runs", "resource_states", "stacks"):
        op.drop_table(table)
