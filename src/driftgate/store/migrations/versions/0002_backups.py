"""Backups: one row per artifact taken before stateful changes.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backups",
        sa.Column("ref", sa.String(255), primary_key=True),
        sa.Column("stack_id", sa.Integer, sa.ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
    )
    op.create_index("ix_backups_stack_module", "backups", ["stack_id", "module", "created_at"])


def downgrade() -> None:
    op.drop_table("backups")
