"""Forge hosts: which forge serves a host, detected once by asking its API and recorded.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forge_hosts",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detected_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("forge_hosts")
